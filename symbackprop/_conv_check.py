"""check for conv nets: the printed formulas, the compiled per-layer code, the loop-by-loop NumPy
reference and central finite differences of the reference's loss, at random points.

The same loop and tolerances as every kind (``_tally.run``); the report's rows are the arrays
(``K[1]``, ``b[2]``, ``W[3]``).  The printed formulas are compiled per entry, so for large maps
they are left out (a note says so); finite differences sample the larger arrays.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 4, 4], "layer": [{"kind": "conv", "channels": 1, "kernel": 2,
...     "activation": "tanh"}, {"kind": "maxpool", "size": 2, "stride": 1},
...     {"size": 1, "activation": "sigmoid"}]}, "spec")
>>> report = check_conv(net, samples=2)
>>> bool(report), sorted({r.layer for r in report.rows})
(True, ['E', 'K[1]', 'W[3]'])
"""
from __future__ import annotations

import numpy as np
import sympy

from . import _conv_names as cn
from . import _conv_reference as reference
from ._activations import Z
from ._check import FD_PER_LAYER, MAX_FD_ALL, finite_differences, random_targets, unknown_loss_note
from ._conv import ConvNet, Pool
from ._conv_derive import derive_conv
from ._conv_numeric import ConvFunction
from ._program import printed_formulas
from ._tally import CUSTOM_RTOL, Kernel, Report, run

#: feature-map entries (every layer after the inputs) up to which the printed formulas are compiled
MAX_PRINTED_ENTRIES = 1500
_LETTER = {"K": "k", "W": "w", "b": "b"}


def array_of(name: str) -> str:
    """The array a plain parameter name belongs to: k1111[1] → K[1], w27,3[3] → W[3], b1[2] → b[2]."""
    letter, layer = name[0], name[name.index("[") + 1:-1]
    return f"{'b' if letter == 'b' else letter.upper()}[{layer}]"


def element_name(array: str, index: tuple) -> str:
    """The plain name of an array's element (index from 0): ("K[1]", (0, 1, 0, 2)) → k1213[1]."""
    return cn.plain(_LETTER[array[0]], tuple(i + 1 for i in index), int(array[2:-1]))


def plain_layers(net: ConvNet) -> list:
    """The layers as the reference reads them: plain dicts, a custom activation as a NumPy function of z."""
    layers = net.as_dict()["layer"]
    for lay, entry in zip(net.layers, layers):
        if not isinstance(lay, Pool) and lay.activation.function_name:
            entry["activation"] = sympy.lambdify(Z, lay.activation.definition, modules="numpy")
    return layers


def random_conv_point(net: ConvNet, shapes: dict, rng, batch: int = 1):
    """Arrays scaled by 1/√fan-in (so that no layer saturates), biases N(0, 0.5), inputs in (−1, 1) and
    targets valid for the loss."""
    P = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if name[0] == "K" else shape[0]
        P[name] = rng.normal(0.0, 0.5 if name[0] == "b" else 1 / np.sqrt(fan_in), shape)
    X = rng.uniform(-1.0, 1.0, (batch, *net.inputs))
    last = net.layers[-1]
    return P, X, random_targets(net.loss, last.activation.name, rng, (batch,), last.size)


def flat_gradients(grads: dict) -> dict:
    """Plain parameter name → value, from the arrays."""
    return {element_name(name, index): float(v) for name, M in grads.items() for index, v in np.ndenumerate(M)}


class _Conv(Kernel):
    """What check compares for a conv net."""

    group_of = staticmethod(array_of)

    def __init__(self, net: ConvNet):
        self.network = net
        self.compiled = ConvFunction(net)
        self.layers = plain_layers(net)
        self.custom = any(callable(lay.get("activation")) for lay in self.layers)
        entries = sum(int(np.prod(net.shape(k))) for k in range(2, net.depth + 1))
        small = entries <= MAX_PRINTED_ENTRIES
        self.formulas = printed_formulas(derive_conv(net, weights=())) if small else None
        self.sample_fd = net.n_parameters > MAX_FD_ALL
        unknown = unknown_loss_note(net.loss.name)
        self.known = unknown is None
        self.notes = [note for note, when in (
            (f"printed formulas not compiled: the maps have {entries:,} entries, over {MAX_PRINTED_ENTRIES:,}, "
             "and the formulas are compiled entry by entry (the per-layer code is compared)", not small),
            (f"custom activation: the reference differentiates it by a five-point stencil, so pairs with the "
             f"reference use tolerance {CUSTOM_RTOL:.0e}", self.custom),
            (f"finite differences on {FD_PER_LAYER} random entries of each array larger than that", self.sample_fd),
            (unknown, not self.known)) if when]

    def point(self, rng, batch):
        return random_conv_point(self.network, self.compiled.shapes, rng, batch)

    def vectorized(self, point) -> dict:
        E, grads = self.compiled(*point)
        return {"E": float(E), **flat_gradients(grads)}

    def _reference_loss(self, P, X, T) -> float:
        net = self.network
        return reference.loss_conv(net.inputs, self.layers, net.loss.name, P, X, T)

    def reference(self, point):
        if not self.known:
            return None
        net = self.network
        E, grads, _ = reference.backprop_conv(net.inputs, self.layers, net.loss.name, *point)
        return {"E": float(E), **flat_gradients(grads)}

    def values(self, point, n: int) -> dict:
        """Plain name → value at sample n of the point."""
        P, X, T = point
        V = {element_name(name, index): float(v) for name, M in P.items() for index, v in np.ndenumerate(M)}
        for index in np.ndindex(*self.network.inputs):
            V[cn.plain("x", tuple(i + 1 for i in index), None)] = float(X[(n, *index)])
        for j in range(T.shape[1]):
            V[cn.plain("t", (j + 1,), None)] = float(T[n, j])
        return V

    def printed(self, point, wanted):
        """The printed formulas summed over the batch, sample by sample: a map entry that reads only
        the padding is a constant, which NumPy's maximum of a window would not broadcast with arrays."""
        if self.formulas is None:
            return None
        found = dict.fromkeys(wanted, 0.0)
        for n in range(len(point[1])):
            out = self.formulas(self.values(point, n))
            for name in wanted:
                found[name] += float(out[name])
        return found

    def fd(self, point, rng):
        P = point[0]
        loss = (lambda: self._reference_loss(*point)) if self.known else (lambda: self.compiled.loss(*point))
        groups = [[(P[name], index, element_name(name, index)) for index in np.ndindex(P[name].shape)] for name in P]
        return finite_differences(loss, groups, rng if self.sample_fd else None)


def check_conv(net: ConvNet, samples: int = 5, seed: int = 0, batch: int = 1) -> Report:
    """Compare every pair at ``samples`` random points; the report is truthy when all agree."""
    return run(_Conv(net), samples, seed, batch)
