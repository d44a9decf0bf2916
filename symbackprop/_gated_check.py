"""check for LSTM and GRU cells: the printed formulas, the compiled BPTT (``GatedFunction``), the
NumPy reference (``_gated_reference.bptt``) and central finite differences, pair by pair.

The same loop and tolerances as every kind (``_tally.run``); the report's rows are the arrays
(``U_i``, ``W_f``, ``b_o``, ``V``, ``c``; the GRU candidate's are ``U_h``, ``W_h``, ``b_h``).
The printed formulas are compiled only while the unrolled network is small (``MAX_PRINTED_RNN``
terms); finite differences are of the full E, so not with truncation.

>>> from symbackprop._gated import GatedRNN
>>> report = check_gated(GatedRNN.build("gru", 1, 2, 1, 2, bias=True), samples=2)
>>> bool(report), sorted({r.layer for r in report.rows})
(True, ['E', 'U_h', 'U_r', 'U_z', 'V', 'W_h', 'W_r', 'W_z', 'b_h', 'b_r', 'b_z', 'c'])
"""
from __future__ import annotations

import numpy as np
import sympy

from . import _gated_reference as reference
from ._activations import Z
from ._check import finite_differences, random_targets, recurrent_setup
from ._gated import GatedRNN
from ._gated_derive import derive_gated
from ._gated_names import gsym, parse
from ._gated_numeric import GatedFunction
from ._tally import Kernel, Report, run


def element_name(key: str, index: tuple) -> str:
    """The plain name of an array's entry (index from 0): ("U_i", (0, 1)) → ui12, GRU ("W_h", (1, 0)) → wn21."""
    kind, _, gate = key.partition("_")
    return gsym(kind.lower(), *(i + 1 for i in index), gate="n" if gate == "h" else gate).name


def array_of(name: str) -> str:
    """The array a plain parameter name belongs to: ui12 → U_i, wn21 → W_h, bo1 → b_o, v11 → V, c1 → c."""
    kind, gate, _, _ = parse(name)
    if kind in ("v", "c"):
        return "V" if kind == "v" else "c"
    return f"{kind if kind == 'b' else kind.upper()}_{'h' if gate == 'n' else gate}"


def flat(grads: dict) -> dict:
    """Plain parameter name → value, from the arrays."""
    return {element_name(k, at): float(v) for k, M in grads.items() for at, v in np.ndenumerate(np.asarray(M))}


def numpy_activation(act):
    """An activation as the reference takes it: its name, or a NumPy function for a custom one."""
    return sympy.lambdify(Z, act.definition, modules="numpy") if act.function_name else act.name


def random_gated_point(net: GatedRNN, shapes: dict, rng, batch: int = 1):
    """(P, X, T, h0, c0): weights scaled by 1/√fan-in, biases N(0, 0.5), inputs in (−1, 1), targets
    valid for the loss (±1 for hinge), h0 and (LSTM) c0 N(0, 0.5); c0 is None for a GRU."""
    P = {key: rng.normal(0.0, 0.5 if len(shape) == 1 else 1 / np.sqrt(shape[0]), shape)
         for key, shape in shapes.items()}
    X = rng.uniform(-1.0, 1.0, (batch, net.steps, net.inputs))
    T = random_targets(net.loss, net.output_activation.name, rng, (batch, net.steps), net.outputs)
    h0 = rng.normal(0.0, 0.5, (batch, net.hidden))
    c0 = rng.normal(0.0, 0.5, (batch, net.hidden)) if net.cell == "lstm" else None
    return P, X, T, h0, c0


def values_of(net: GatedRNN, P, X, T, h0, c0) -> dict:
    """Plain name → value (arrays over the batch for x, t, h<0> and c<0>)."""
    V = {element_name(key, at): float(v) for key, M in P.items() for at, v in np.ndenumerate(M)}
    for t in range(1, net.steps + 1):
        V.update({gsym("x", i + 1, t=t).name: X[:, t - 1, i] for i in range(net.inputs)})
        V.update({gsym("t", j + 1, t=t).name: T[:, t - 1, j] for j in range(net.outputs)})
    V.update({gsym("h", j + 1, t=0).name: h0[:, j] for j in range(net.hidden)})
    if c0 is not None:
        V.update({gsym("c", j + 1, t=0).name: c0[:, j] for j in range(net.hidden)})
    return V


class _Gated(Kernel):
    """What check compares for an LSTM or GRU."""

    group_of = staticmethod(array_of)

    def __init__(self, net: GatedRNN, truncate: int | None):
        self.network, self.truncate = net, truncate
        self.compiled = GatedFunction(net, truncate=truncate)
        self.cell, self.output = numpy_activation(net.activation), numpy_activation(net.output_activation)
        recurrent_setup(self, derive_gated, callable(self.cell) or callable(self.output),
                        "random entries of each array larger than that")

    def point(self, rng, batch):
        return random_gated_point(self.network, self.compiled.shapes, rng, batch)

    def vectorized(self, point) -> dict:
        E, grads = self.compiled(*point)
        return {"E": float(E), **flat(grads)}

    def reference(self, point):
        if not self.known:
            return None
        net = self.network
        P, X, T, h0, c0 = point
        E, grads = reference.bptt(net.cell, P, X, T, activation=self.cell, output_activation=self.output,
                                  loss=net.loss.name, output=net.output, h0=h0, c0=c0, truncate=self.truncate)
        return {"E": float(E), **flat(grads)}

    def values(self, point) -> dict:
        return values_of(self.network, *point)

    def fd(self, point, rng):
        if not self.whole:
            return None
        P = point[0]
        groups = [[(P[key], at, element_name(key, at)) for at in np.ndindex(P[key].shape)] for key in P]
        return finite_differences(lambda: float(self.compiled.loss(*point)), groups, rng if self.sample_fd else None)


def check_gated(net: GatedRNN, samples: int = 5, seed: int = 0, batch: int = 1, truncate: int | None = None) -> Report:
    """Printed formulas, compiled BPTT, the reference BPTT and finite differences, pair by pair; the
    report is truthy when all agree."""
    return run(_Gated(net, truncate), samples, seed, batch)
