"""A layer stack over a batch of N samples: dense, batch-norm, layer-norm and dropout layers (issue 18).

Batch norm couples the samples of a batch (its statistics are taken over them), so this kind
derives on N symbolic samples at once: ``batch = N`` in the spec (2 by default), E the loss
summed over the samples.  Layer 1 is the inputs; each ``[[layer]]`` is the next layer:

- ``dense``: ``size``, ``activation``, ``bias`` (zj[k]<s> = Σ_i wij[k−1]·ai[k−1]<s> (+ bj[k]));
- ``batchnorm`` / ``layernorm``: the same size as the layer below; per node the parameters
  gammaj[k], betaj[k] (z = γ·x̂ + β), then ``activation`` (linear by default), ε = 1e-5;
  statistics over the batch (batch norm, per node) or over the nodes (layer norm, per sample);
- ``dropout``: ``rate`` p; aj[k]<s> = mj[k]<s>·aj[k−1]<s>/(1 − p), the mask m (0 or 1) an
  input of the values file, or drawn (``--seed``) by eval and check (inverted dropout).

>>> net = from_data({"inputs": 2, "batch": 3, "layer": [{"size": 2, "activation": "linear"},
...                  {"kind": "batchnorm", "activation": "relu"}, {"kind": "dropout", "rate": 0.5},
...                  {"size": 1}]}, "spec")
>>> net.describe(), net.sizes, net.n_parameters
('2 → dense 2 linear → batchnorm relu → dropout 0.5 → dense 1 g, N = 3, mse', (2, 2, 2, 2, 1), 10)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import _views as views
from ._activations import ACTIVATIONS, Activation
from ._conv import Dense
from ._errors import SpecError, check_table
from ._losses import Loss
from ._network import activation_named, check_outputs, checked_parts, whole

KINDS = ("batchnorm", "layernorm", "dropout")
EPSILON = 1e-5
#: the most samples a symbolic batch may have
MAX_BATCH = 16


@dataclass(frozen=True)
class Norm:
    """Batch norm or layer norm, then an activation (linear: none)."""

    kind: str
    activation: Activation
    bias = True

    def describe(self) -> str:
        return self.kind + ("" if self.activation.name == "linear" else f" {self.activation.name}")


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout: each node kept with probability 1 − rate, and scaled by 1/(1 − rate)."""

    rate: Fraction
    kind = "dropout"
    bias = False

    def describe(self) -> str:
        return f"dropout {float(self.rate):g}"


@dataclass(frozen=True)
class BatchNet:
    """Layers over a batch of ``samples`` symbolic samples; the loss reads the last (dense) layer."""

    inputs: int
    layers: tuple
    loss: Loss
    samples: int = 2

    @property
    def sizes(self) -> tuple:
        found = [self.inputs]
        for lay in self.layers:
            found.append(lay.size if isinstance(lay, Dense) else found[-1])
        return tuple(found)

    @property
    def depth(self) -> int:
        return len(self.layers) + 1

    def norm_layers(self) -> list:
        """(k, layer) of every batch-norm and layer-norm layer."""
        return [(k, lay) for k, lay in enumerate(self.layers, start=2) if isinstance(lay, Norm)]

    def dropout_layers(self) -> list:
        return [(k, lay) for k, lay in enumerate(self.layers, start=2) if isinstance(lay, Dropout)]

    def layer(self, k: int):
        """Layer k ≥ 2 (layer 1 is the inputs)."""
        return self.layers[k - 2]

    @property
    def activations(self) -> tuple:
        return tuple(lay.activation for lay in self.layers if hasattr(lay, "activation"))

    @property
    def n_parameters(self) -> int:
        n, sizes = 0, self.sizes
        for k, lay in enumerate(self.layers, start=2):
            if isinstance(lay, Dense):
                n += sizes[k - 2] * lay.size + (lay.size if lay.bias else 0)
            elif isinstance(lay, Norm):
                n += 2 * sizes[k - 1]
        return n

    @property
    def size(self) -> int:
        """Terms of the model over the batch: what a symbolic derivation costs."""
        return self.samples * sum(self.sizes[k - 2] * self.sizes[k - 1] for k in range(2, self.depth + 1))

    def parameters(self):
        """Every parameter as a symbol, layer by layer: w (row by row), b; γ, β."""
        from ._batch_names import BName
        sizes = self.sizes
        for k, lay in enumerate(self.layers, start=2):
            if isinstance(lay, Dense):
                yield from (BName("w", (i, j), k - 1) for i in range(1, sizes[k - 2] + 1)
                            for j in range(1, lay.size + 1))
                if lay.bias:
                    yield from (BName("b", (j,), k) for j in range(1, lay.size + 1))
            elif isinstance(lay, Norm):
                for letter in ("gamma", "beta"):
                    yield from (BName(letter, (j,), k) for j in range(1, sizes[k - 1] + 1))

    def describe(self) -> str:
        parts = [str(self.inputs)] + [lay.describe() for lay in self.layers]
        return " → ".join(parts) + f", N = {self.samples}, {self.loss.name}"

    def shape(self) -> str:
        return "-".join(map(str, self.sizes))

    def __repr__(self) -> str:
        return views.short("BatchNet", self.describe())

    def as_dict(self) -> dict:
        """The spec as a file would hold it."""
        layers = []
        for lay in self.layers:
            if isinstance(lay, Dense):
                layers.append({"size": lay.size, "activation": lay.activation.name, "bias": lay.bias})
            elif isinstance(lay, Norm):
                layers.append({"kind": lay.kind, "activation": lay.activation.name})
            else:
                layers.append({"kind": "dropout", "rate": float(lay.rate)})
        return {"inputs": self.inputs, "batch": self.samples, "loss": str(self.loss.name), "layer": layers}


_TOP = {"inputs": int, "batch": int, "loss": str, "layer": list}
_DENSE = {"kind": str, "size": int, "activation": str, "bias": bool}
_NORM = {"kind": str, "activation": str}
_DROP = {"kind": str, "rate": (int, float)}


def is_batch(data: dict) -> bool:
    """Whether a spec file's table has a normalisation or dropout layer (or a batch size)."""
    layers = data.get("layer")
    kinds = {t.get("kind") for t in layers if isinstance(t, dict)} if isinstance(layers, list) else set()
    return bool(kinds & set(KINDS)) or "batch" in data


def from_data(data: dict, source: str, activation=None, loss=None, bias=None) -> BatchNet:
    """A BatchNet from a spec file's table; one line naming what is wrong and how to write it."""
    if activation is not None or bias is not None:
        raise SpecError("--activation and --bias are for dense stacks; a spec with norm or dropout layers gives "
                        "them per [[layer]]")
    check_table(data, _TOP, ("inputs", "layer"), source, "a spec with norm or dropout layers has",
                'inputs = 3, batch = 2, loss = "mse" and one [[layer]] table per layer')
    samples = data.get("batch", 2)
    if not whole(samples) or samples > MAX_BATCH:
        raise SpecError(f"{source}: batch = {samples!r}; give the number of symbolic samples, 1 to {MAX_BATCH} "
                        "(batch norm needs at least 2)")
    if not whole(data["inputs"]):
        raise SpecError(f"{source}: inputs = {data['inputs']!r}; give a positive whole number")
    if not data["layer"] or not all(isinstance(t, dict) for t in data["layer"]):
        raise SpecError(f"{source}: give one [[layer]] table per layer after the inputs")
    layers = []
    for k, entry in enumerate(data["layer"], start=2):
        where, kind = f"{source}, layer {k}", entry.get("kind", "dense")
        if kind == "dense":
            check_table(entry, _DENSE, ("size",), where, "a dense layer has", 'size = 3, activation = "tanh"')
            if not whole(entry["size"]):
                raise SpecError(f"{where}: size = {entry['size']!r}; give a positive whole number")
            layers.append(Dense(entry["size"], _activation(entry, "g", where), entry.get("bias", False)))
        elif kind in ("batchnorm", "layernorm"):
            check_table(entry, _NORM, (), where, f"a {kind} layer has", 'kind = "batchnorm", activation = "relu"')
            if kind == "batchnorm" and samples < 2:
                raise SpecError(f"{where}: batch norm takes its statistics over the batch: set batch = 2 or more")
            below = data["inputs"] if not layers else ([lay.size for lay in layers if isinstance(lay, Dense)] or
                                                       [data["inputs"]])[-1]
            if kind == "layernorm" and below < 2:
                raise SpecError(f"{where}: layer norm takes its statistics over the nodes of the layer below, which "
                                "has one: its output would be β alone; put it after a layer of 2 or more nodes")
            layers.append(Norm(kind, _activation(entry, "linear", where)))
        elif kind == "dropout":
            check_table(entry, _DROP, ("rate",), where, "a dropout layer has", "kind = \"dropout\", rate = 0.5")
            rate = entry["rate"]
            if isinstance(rate, bool) or not 0 <= rate < 1:
                raise SpecError(f"{where}: rate = {rate!r}; give the probability of dropping a node, 0 ≤ rate < 1")
            layers.append(Dropout(Fraction(str(rate))))
        else:
            raise SpecError(f"{where}: kind = {kind!r}; a layer here is dense, batchnorm, layernorm or dropout")
    if not isinstance(layers[-1], Dense):
        raise SpecError(f"{source}: the last layer is {layers[-1].kind}; end with a dense layer, whose outputs the "
                        "loss reads")
    lossobj = checked_parts(0, [], loss if loss is not None else data.get("loss", "mse"))
    net = BatchNet(data["inputs"], tuple(layers), lossobj, samples)
    checked_parts(net.n_parameters, [], lossobj.name)
    for k, lay in enumerate(layers[:-1], start=2):
        if hasattr(lay, "activation") and lay.activation.output_only:
            raise SpecError(f"{lay.activation.name} is for the output layer only, but layer {k} is hidden: "
                            "choose another activation for the hidden layers")
    check_outputs(lossobj, layers[-1].activation, layers[-1].size, layers[-1].bias,
                  "use sigmoid or softmax outputs, or loss mse", coupled_outputs=True)
    return net


def _activation(entry: dict, default: str, where: str) -> Activation:
    text = entry.get("activation", default).strip()
    if text not in ACTIVATIONS:
        raise SpecError(f"{where}: activation {text!r}; choose one of {', '.join(sorted(ACTIVATIONS))}")
    return activation_named(text)
