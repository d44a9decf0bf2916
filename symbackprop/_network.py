"""The network: layer sizes, one activation per layer after the inputs, a loss, biases.

>>> net = Network.build([2, 3, 1])
>>> net.n_weights, net.describe()
(9, '2-3-1, g, mse, no biases')
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import _names as names
from . import _views as views
from ._activations import ACTIVATIONS, CUSTOM_LETTERS, Activation, Z, custom
from ._errors import SpecError
from ._grammar import ELEMENTARY, ParseError, parse_expression
from ._losses import LOSSES, Loss, configured

MAX_PARAMETERS = 2_000_000


def activation_named(text: str, letter: str = "f") -> Activation:
    """A registered activation, or a custom one parsed (safely) from an expression in z."""
    if text in ACTIVATIONS:
        return ACTIVATIONS[text]
    if any(ch in text for ch in "()+-*/^") or text.strip() == "z":
        try:
            expr = parse_expression(text, lambda n, c: Z if n == "z" else None, ELEMENTARY)
        except ParseError as err:
            raise SpecError(f"activation {text!r} is not an expression in z: {err}") from None
        if Z not in expr.free_symbols:
            raise SpecError(f"activation {text!r} does not use z: write a function of z, e.g. z/(1+abs(z))")
        return custom(expr, text, letter)
    raise SpecError(f"unknown activation {text!r}: use one of {', '.join(ACTIVATIONS)} "
                    "or an expression in z such as z/(1+abs(z))")


def whole(n) -> bool:
    """A positive whole number (True and False are not numbers here)."""
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1


def checked_parts(n_params: int, activations, loss) -> Loss:
    """Checks every kind makes first: the parameter limit, each activation given as text, a known loss."""
    if n_params > MAX_PARAMETERS:
        raise SpecError(f"the network has {n_params:,} parameters; the limit is {MAX_PARAMETERS:,}: use smaller layers")
    for text in activations:
        if not isinstance(text, str):
            raise SpecError(f"activation {text!r} must be one name or an expression in z, as text")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise SpecError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    return LOSSES[loss]


def check_outputs(loss: Loss, out: Activation, outputs: int, bias, hint: str, coupled_outputs: bool = False,
                  coupled_losses: bool = False) -> None:
    """Checks every kind makes last: outputs that suit the loss (``hint`` names the fix), the
    pairings a loss or an output activation insists on, a coupled layer's outputs, bias a boolean.

    coupled_outputs, coupled_losses: the kind handles every coupled output activation (log_softmax
    as well as softmax), every coupled loss (multiclass_hinge); without them, softmax only.
    """
    if out.coupled and out.name != "softmax" and not coupled_outputs:
        raise SpecError(f"output activation {out.name} is not available for this kind of network yet: "
                        "use softmax with cross_entropy here")
    if loss.coupled and not coupled_losses:
        raise SpecError(f"loss {loss.name} is not available for this kind of network yet: use it in a dense "
                        "network, or softmax with cross_entropy here")
    if loss.activations and out.name not in loss.activations:
        raise SpecError(f"loss {loss.name} takes {' or '.join(loss.activations)} outputs, not {out.name}: "
                        f"use --activation …,{loss.activations[0]}")
    if out.coupled and out.coupled.losses and loss.name not in out.coupled.losses:
        raise SpecError(f"{out.name} outputs go with loss {' or '.join(out.coupled.losses)} only, not {loss.name}: "
                        f"use loss {out.coupled.losses[0]}, or softmax outputs for {loss.name}")
    if loss.coupled and out.coupled:
        raise SpecError(f"loss {loss.name} reads the outputs as scores, which {out.name} couples: "
                        "use linear outputs (or another elementwise activation)")
    if loss.needs_unit_range and not out.unit_range:
        raise SpecError(f"loss {loss.name} takes the log of the outputs, which {out.name} does not keep in (0, 1): "
                        f"{hint}")
    if out.output_only and outputs < 2:
        raise SpecError(f"{out.name} needs at least 2 output nodes: use sigmoid for a single output")
    if loss.outputs and outputs != loss.outputs:
        raise SpecError(f"loss {loss.name} takes one output node (its sign the class, targets +1 or -1), not "
                        f"{outputs}: use one output node, with any output activation but softmax")
    if (loss.coupled or loss.one_hot) and outputs < 2:
        raise SpecError(f"loss {loss.name} needs at least 2 output nodes, one per class: use hinge for 2 classes "
                        "on one output")
    if not isinstance(bias, bool):
        raise SpecError(f"bias must be true or false, got {bias!r}")


@dataclass(frozen=True)
class Network:
    """A feedforward network; ``activations[k-2]`` is the activation of layer k.

    >>> import symbackprop as sb
    >>> net = sb.network("2-3-1", activation="sigmoid")
    >>> net.depth, net.n_weights, net.activation(3).name
    (3, 9, 'sigmoid')
    """

    layers: tuple[int, ...]
    activations: tuple[Activation, ...]
    loss: Loss
    bias: bool = False
    skips: tuple[tuple[int, int], ...] = ()        # (k, s): z[k] adds a[s]
    ties: tuple[tuple[int, int], ...] = ()         # (k, m): the weights W[k] are W[m] transposed
    penalty: tuple[tuple[str, float], ...] = ()    # ("l1" | "l2", λ), biases excluded

    @classmethod
    def build(cls, layers, activation="g", loss="mse", bias=False, skips=(), ties=(), penalty=(),
              huber_delta=None) -> "Network":
        """Check every part and make the network; raise SpecError naming what is wrong.

        skips: (k, s) pairs, layer k's z adds a[s]; ties: (k, m) pairs, layer k's weights
        (into layer k+1) are W[m] transposed; penalty: ("l1" | "l2", λ) pairs; huber_delta: the
        Huber loss's threshold (loss huber only; 1 when not given).
        """
        layers = tuple(layers)
        if len(layers) < 2:
            raise SpecError(f"a network needs at least 2 layers (inputs and outputs), got {len(layers)}: write e.g. 2-3-1")
        if not all(whole(n) for n in layers):
            bad = next(n for n in layers if not whole(n))
            raise SpecError(f"layer size {bad!r} is not a positive whole number: write e.g. 2-3-1")
        n_params = sum(a * b for a, b in zip(layers, layers[1:])) + (sum(layers[1:]) if bias else 0)
        names_ = [activation] * (len(layers) - 1) if isinstance(activation, str) else list(activation)
        lossobj = configured(checked_parts(n_params, names_, loss), huber_delta)
        if len(names_) != len(layers) - 1:
            raise SpecError(f"{len(names_)} activations given for {len(layers) - 1} layers after the inputs: "
                            "give one name, or one per layer after the inputs")
        acts, letters = [], {}
        for k, text in enumerate(names_, start=2):
            text = text.strip()
            if text not in ACTIVATIONS and text not in letters:
                if len(letters) == len(CUSTOM_LETTERS):
                    raise SpecError(f"at most {len(CUSTOM_LETTERS)} different custom activations in one network")
                letters[text] = CUSTOM_LETTERS[len(letters)]
            act = activation_named(text, letters.get(text, "f"))
            if act.output_only and k != len(layers):
                raise SpecError(f"{act.name} is for the output layer only, but layer {k} is hidden: "
                                "choose another activation for the hidden layers")
            acts.append(act)
        check_outputs(lossobj, acts[-1], layers[-1], bias, "use sigmoid or softmax outputs, or loss mse",
                      coupled_outputs=True, coupled_losses=True)
        return cls(layers, tuple(acts), lossobj, bias, *_structure(layers, skips, ties, penalty))

    # -- shape
    @property
    def depth(self) -> int:
        """L, the number of the output layer."""
        return len(self.layers)

    @property
    def n_weights(self) -> int:
        """The weights that are parameters of their own (a tied layer's are another's)."""
        tied = dict(self.ties)
        return sum(a * b for k, (a, b) in enumerate(zip(self.layers, self.layers[1:]), start=1) if k not in tied)

    @property
    def plain(self) -> bool:
        """A plain stack: no skip connections, tied weights or penalty."""
        return not (self.skips or self.ties or self.penalty)

    @property
    def n_parameters(self) -> int:
        return self.n_weights + (sum(self.layers[1:]) if self.bias else 0)

    def activation(self, k: int) -> Activation:
        """The activation of layer k (2 ≤ k ≤ L)."""
        return self.activations[k - 2]

    def parameters(self):
        """Every weight, then bias, as symbols, layer by layer: wij[k] for k = 1 … L-1."""
        tied = dict(self.ties)
        for k in range(1, self.depth):
            if k not in tied:
                for i in range(1, self.layers[k - 1] + 1):
                    for j in range(1, self.layers[k] + 1):
                        yield names.weight(i, j, k)
            if self.bias:
                for j in range(1, self.layers[k] + 1):
                    yield names.bias(j, k + 1)

    def has(self, name: str) -> bool:
        """Whether the plain name is a weight or bias of this network."""
        parts = names.parse(name)
        if parts.kind == "w":
            i, j = parts.indices
            k = parts.layer
            return 1 <= k < self.depth and i <= self.layers[k - 1] and j <= self.layers[k] and k not in dict(self.ties)
        if parts.kind == "b":
            return self.bias and 2 <= parts.layer <= self.depth and parts.indices[0] <= self.layers[parts.layer - 1]
        return False

    def describe(self) -> str:
        acts = sorted({a.name for a in self.activations}, key=[a.name for a in self.activations].index)
        extra = [f"a[{s}] added to z[{k}]" for k, s in self.skips]
        extra += [f"W[{k}] = W[{m}]ᵀ" for k, m in self.ties]
        extra += [f"{kind} penalty {lam:g}" for kind, lam in self.penalty]
        extra += [f"{key} {value:g}" for key, value in self.loss.settings]
        return (f"{'-'.join(map(str, self.layers))}, {', '.join(acts)}, {self.loss.name}, "
                f"{'biases' if self.bias else 'no biases'}" + "".join(f", {e}" for e in extra))

    def __repr__(self) -> str:
        return views.short("Network", self.describe())

    def as_dict(self) -> dict:
        """The spec as a file would hold it: the compact keys, or a layer list (DESIGN.md §5.2)."""
        settings = dict(self.loss.settings)          # huber_delta, when not the default
        if self.plain:
            return {"layers": list(self.layers), "activation": [a.name for a in self.activations],
                    "loss": str(self.loss.name), **settings, "bias": self.bias}
        skips, ties = dict(self.skips), dict(self.ties)
        layers = []
        for k, (size, act) in enumerate(zip(self.layers[1:], self.activations), start=2):
            entry = {"size": size, "activation": act.name, "bias": self.bias}
            entry.update({"skip": skips[k]} if k in skips else {})
            entry.update({"tied": ties[k - 1]} if k - 1 in ties else {})
            layers.append(entry)
        data = {"inputs": self.layers[0], "loss": str(self.loss.name), **settings, "layer": layers}
        return {**data, "penalty": dict(self.penalty)} if self.penalty else data

    def penalty_symbol(self, kind: str) -> names.Constant:
        """λ of the l1 or l2 penalty: λ alone, or λ1 and λ2 when both are given."""
        return names.constant("lambda" + (kind[1] if len(self.penalty) > 1 else ""))

    # -- the equations' right-hand sides, over named intermediates
    def activation_value(self, j: int, k: int) -> sympy.Expr:
        """aj[k] in terms of zj[k] (a coupled one, softmax: of every z of the layer)."""
        act = self.activation(k)
        if act.coupled:
            return act.coupled.value([names.zsym(m, k) for m in range(1, self.layers[k - 1] + 1)], j - 1)
        return act.apply(names.zsym(j, k))

    def loss_value(self) -> sympy.Expr:
        """E in terms of the outputs aj[L] and targets tj."""
        L, n = self.depth, range(1, self.layers[-1] + 1)
        return self.loss.value([names.asym(j, L) for j in n], [names.target(j) for j in n])


def _structure(layers: tuple, skips, ties, penalty) -> tuple:
    """Check skip connections, tied weights and penalties against the layer sizes."""
    L = len(layers)
    found_skips = []
    for k, s in sorted(dict(skips).items()):
        if not (2 <= k <= L and 1 <= s < k):
            raise SpecError(f"skip = {s} in layer {k}: a skip adds a[s] of an earlier layer, 1 ≤ s < {k}")
        if layers[s - 1] != layers[k - 1]:
            raise SpecError(f"skip = {s} in layer {k}: a[{s}] has {layers[s - 1]} entries and z[{k}] has "
                            f"{layers[k - 1]}; a skip joins layers of the same size")
        found_skips.append((k, s))
    ties = dict(ties)
    for k, m in sorted(ties.items()):
        if not (1 <= k < L and 1 <= m < L) or m == k or m in ties:
            raise SpecError(f"tied = {m} for the weights W[{k}]: name another layer's own weights, "
                            f"W[m] with 1 ≤ m < {L}, that are not tied themselves")
        if (layers[k - 1], layers[k]) != (layers[m], layers[m - 1]):
            raise SpecError(f"tied = {m}: W[{k}] is {layers[k - 1]}×{layers[k]} but W[{m}] transposed is "
                            f"{layers[m]}×{layers[m - 1]}; tie layers of matching sizes")
    found_penalty = []
    for kind, lam in sorted(dict(penalty).items()):
        if kind not in ("l1", "l2"):
            raise SpecError(f"unknown penalty {kind!r}: use l2 (λ/2·Σw²) and/or l1 (λ·Σ|w|), e.g. penalty = {{ l2 = 0.01 }}")
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam >= 0 or lam == float("inf"):
            raise SpecError(f"penalty {kind} = {lam!r}: give a number λ ≥ 0, e.g. penalty = {{ {kind} = 0.01 }}")
        found_penalty.append((kind, float(lam)))
    return tuple(found_skips), tuple(sorted(ties.items())), tuple(found_penalty)
