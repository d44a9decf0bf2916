"""A network with convolution and pooling layers (DESIGN.md §5.2): feature maps, then dense layers.

Layer 1 is the input maps (channels × length, or channels × height × width); each
``[[layer]]`` of the spec is the next layer: ``conv`` (a kernel K[k] from layer k to k+1,
shared over positions), ``maxpool`` / ``avgpool``, or ``dense``.  A dense layer after maps
reads them flattened in C order over (channel, row, column), as ``torch.flatten`` does; the
last layer is dense, and the loss reads its outputs.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 4, 4], "layer": [{"kind": "conv", "channels": 1, "kernel": 2},
...                  {"size": 1, "activation": "sigmoid"}]}, "spec")
>>> net.describe(), [net.shape(k) for k in (1, 2, 3)], net.n_parameters
('1×4×4 → conv 1 2×2 g → dense 1 sigmoid, mse', [(1, 4, 4), (1, 3, 3), (1,)], 13)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product

from . import _views as views
from ._activations import Activation
from ._errors import SpecError
from ._losses import Loss

#: the most entries one feature map may have, channels included
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class Conv:
    """A convolution (as deep-learning libraries compute it: a correlation with the kernel)."""

    channels: int
    kernel: tuple
    stride: tuple
    padding: tuple
    activation: Activation
    bias: bool = False
    kind = "conv"

    def describe(self) -> str:
        extra = "" if set(self.stride) == {1} else f" stride {_dims(self.stride)}"
        extra += "" if set(self.padding) == {0} else f" pad {_dims(self.padding)}"
        return f"conv {self.channels} {'×'.join(map(str, self.kernel))}{extra} {self.activation.name}" + (
            " +b" if self.bias else "")


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over windows of ``size``, moved by ``stride``; channel by channel."""

    mode: str
    size: tuple
    stride: tuple
    bias = False

    @property
    def kind(self) -> str:
        return self.mode + "pool"

    def describe(self) -> str:
        extra = "" if self.stride == self.size else f" stride {_dims(self.stride)}"
        return f"{self.mode} pool {'×'.join(map(str, self.size))}{extra}"


@dataclass(frozen=True)
class Dense:
    size: int
    activation: Activation
    bias: bool = False
    kind = "dense"

    def describe(self) -> str:
        return f"dense {self.size} {self.activation.name}" + (" +b" if self.bias else "")


def _dims(t: tuple) -> str:
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


@dataclass(frozen=True)
class ConvNet:
    """Input maps, a tuple of layers (Conv, Pool, Dense; the last Dense) and the loss.

    >>> import symbackprop as sb
    >>> net = sb.network("examples/conv-1x4x4.toml")
    >>> net.shape(2), net.n_parameters, next(net.parameters())
    ((1, 3, 3), 13, k1111[1])
    """

    inputs: tuple
    layers: tuple
    loss: Loss

    @cached_property
    def shapes(self) -> tuple:
        """The shape of every layer, 1 … L: ``(channels, *positions)`` for maps, ``(n,)`` for a dense layer."""
        return _shapes(self.inputs, self.layers)

    @property
    def depth(self) -> int:
        return len(self.layers) + 1

    @property
    def spatial(self) -> int:
        """1 or 2: how many position indices a map entry has."""
        return len(self.inputs) - 1

    def shape(self, k: int) -> tuple:
        return self.shapes[k - 1]

    def layer(self, k: int):
        """The layer that makes layer k (2 ≤ k ≤ L)."""
        return self.layers[k - 2]

    @property
    def activations(self) -> tuple:
        return tuple(dict.fromkeys(lay.activation for lay in self.layers if not isinstance(lay, Pool)))

    @property
    def bias(self) -> bool:
        return any(lay.bias for lay in self.layers)

    @property
    def plain(self) -> bool:
        return False

    def entries(self, k: int):
        """Every index tuple of layer k, in C order."""
        return product(*[range(1, n + 1) for n in self.shape(k)])

    def parameter_shapes(self) -> list:
        """(letter, k, shape) of each parameter array in order: ``K[k] (out, in, *kernel)``, ``W[k] (n_k, n_k+1)``,
        ``b[k+1]``."""
        found = []
        for k in range(1, self.depth):
            lay = self.layer(k + 1)
            if isinstance(lay, Conv):
                found.append(("k", k, (lay.channels, self.shape(k)[0], *lay.kernel)))
                if lay.bias:
                    found.append(("b", k + 1, (lay.channels,)))
            elif isinstance(lay, Dense):
                found.append(("w", k, (_size(self.shape(k)), lay.size)))
                if lay.bias:
                    found.append(("b", k + 1, (lay.size,)))
        return found

    @property
    def n_parameters(self) -> int:
        return sum(_size(shape) for _, _, shape in self.parameter_shapes())

    @property
    def n_weights(self) -> int:
        return sum(_size(shape) for letter, _, shape in self.parameter_shapes() if letter != "b")

    def parameters(self):
        """Every parameter as its symbol, array by array as ``parameter_shapes`` lists them: each kernel
        element kcduv[k], each weight wmj[k], each bias bj[k+1]."""
        from ._conv_names import MapName
        for letter, k, shape in self.parameter_shapes():
            for idx in product(*[range(1, n + 1) for n in shape]):
                yield MapName(letter, idx, k)

    def index_count(self, kind: str, layer) -> int | None:
        """How many indices a name of ``kind`` in ``layer`` takes in this network; None: no such name."""
        if kind in ("x", "t"):
            return None if layer is not None else (len(self.inputs) if kind == "x" else 1)
        if layer is None or not 1 <= layer <= self.depth:
            return None
        below = self.layer(layer + 1) if layer < self.depth else None
        if kind in ("k", "w"):
            return (2 + self.spatial if isinstance(below, Conv) else None) if kind == "k" else (
                2 if isinstance(below, Dense) else None)
        if layer == 1 or (kind in ("b", "z", "delta") and isinstance(self.layer(layer), Pool)):
            return None
        return 1 if kind == "b" else len(self.shape(layer))

    def name_of(self, text: str) -> str:
        """The plain name of a name typed for this network; NotationError saying how to write it."""
        from . import _conv_names
        kind, idx, layer = _conv_names.read(text, self.index_count)
        return _conv_names.plain(kind, idx, layer)

    def has(self, text: str) -> bool:
        """Whether ``text`` names a parameter (kernel element, weight or bias) of this network."""
        from . import _conv_names
        kind, idx, layer = _conv_names.read(text, self.index_count)
        if kind not in ("k", "w", "b"):
            return False
        if kind == "b":
            lay = self.layer(layer)
            size = lay.channels if isinstance(lay, Conv) else lay.size
            return lay.bias and idx[0] <= size
        shape = next(shape for letter, k, shape in self.parameter_shapes() if (letter, k) == (kind, layer))
        return all(i <= n for i, n in zip(idx, shape))

    def describe(self) -> str:
        return (f"{'×'.join(map(str, self.inputs))} → " + " → ".join(lay.describe() for lay in self.layers)
                + f", {self.loss.name}")

    def __repr__(self) -> str:
        return views.short("ConvNet", self.describe())

    def as_dict(self) -> dict:
        layers = []
        for lay in self.layers:
            if isinstance(lay, Conv):
                layers.append({"kind": "conv", "channels": lay.channels, "kernel": list(lay.kernel),
                               "stride": list(lay.stride), "padding": list(lay.padding),
                               "activation": lay.activation.name, "bias": lay.bias})
            elif isinstance(lay, Pool):
                layers.append({"kind": lay.kind, "size": list(lay.size), "stride": list(lay.stride)})
            else:
                layers.append({"kind": "dense", "size": lay.size, "activation": lay.activation.name, "bias": lay.bias})
        return {"inputs": list(self.inputs), "loss": self.loss.name, "layer": layers}


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _shapes(inputs: tuple, layers: tuple) -> tuple:
    shapes = [tuple(inputs)]
    for n, lay in enumerate(layers, start=2):
        here = shapes[-1]
        if isinstance(lay, Dense):
            shapes.append((lay.size,))
            continue
        if len(here) == 1:
            raise SpecError(f"layer {n} ({lay.kind}) follows a dense layer; put conv and pool layers before the dense ones")
        window = lay.kernel if isinstance(lay, Conv) else lay.size
        pad = lay.padding if isinstance(lay, Conv) else (0,) * len(window)
        out = []
        for size, w, s, p in zip(here[1:], window, lay.stride, pad):
            if size + 2 * p < w:
                raise SpecError(f"layer {n} ({lay.kind}): its window {'×'.join(map(str, window))} is larger than the "
                                f"{'×'.join(map(str, here[1:]))} maps it reads (with padding {p}); use a smaller "
                                "kernel or size, or more padding")
            out.append((size + 2 * p - w) // s + 1)
        shapes.append((lay.channels if isinstance(lay, Conv) else here[0], *out))
        if _size(shapes[-1]) > MAX_ENTRIES:
            raise SpecError(f"layer {n} has {_size(shapes[-1]):,} entries; the limit is {MAX_ENTRIES:,}: use fewer "
                            "channels or a larger stride")
    return tuple(shapes)
