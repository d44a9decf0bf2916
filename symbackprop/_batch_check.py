"""check for batch stacks: the printed formulas, the compiled matrix code, the textbook NumPy
reference (staged norm backward pass) and central finite differences of the reference's loss.

The same loop and tolerances as every kind (``_tally.run``); the report's rows are the layers'
arrays (``W[1], b[2]``, ``gamma[3], beta[3]``).  Each point draws its dropout masks from the seed
(each node kept with probability 1 − p), and every side is given the same masks.  The printed
formulas are written for the spec's N samples, so each point is a batch of N (``batch`` = 1, the
default, means N); another batch size compares the rest without them (a note says so).

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 2, "batch": 3, "loss": "mse", "layer": [
...     {"size": 2, "activation": "tanh", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
...     {"kind": "dropout", "rate": 0.5}, {"size": 1, "activation": "sigmoid"}]}, "spec")
>>> report = check_batch(net, samples=2)
>>> bool(report), sorted({r.layer for r in report.rows})
(True, ['E', 'W[1], b[2]', 'W[4]', 'gamma[3], beta[3]'])
"""
from __future__ import annotations

import re

import numpy as np
import sympy

from . import _batch_reference as reference
from ._activations import Z
from ._batch import EPSILON, BatchNet, Dropout, Norm
from ._batch_derive import derive_batch
from ._batch_names import BName
from ._batch_numeric import BatchFunction
from ._check import FD_PER_LAYER, MAX_FD_ALL, finite_differences, random_targets, unknown_loss_note
from ._conv import Dense
from ._errors import SpecError
from ._program import printed_formulas
from ._tally import CUSTOM_RTOL, Kernel, Report, run

#: terms of the model over the batch (``BatchNet.size``) and samples up to which the printed formulas are
#: compiled (the derivation's cost grows faster than the samples: 16 over layers of 4 nodes take 30 s)
MAX_PRINTED_SIZE = 1500
MAX_PRINTED_BATCH = 8
_LETTER = {"W": "w", "b": "b", "gamma": "gamma", "beta": "beta"}
_PLAIN = re.compile(r"([a-z]+)[0-9,]+\[([0-9]+)\]\Z")


def array_of(name: str) -> str:
    """The array a plain parameter name belongs to: w12[1] → W[1], b1[2] → b[2], gamma1[3] → gamma[3]."""
    letter, layer = _PLAIN.match(name).groups()
    return f"{'W' if letter == 'w' else letter}[{layer}]"


def rows_of(net: BatchNet):
    """group_of for the report: a parameter's row is its layer's arrays, "W[1], b[2]" or "gamma[3], beta[3]"
    (one scale for a layer: a bias before a batch norm has a gradient of 0, all rounding, as has a β whose
    shift a later batch norm takes out again)."""
    rows = {}
    for k, lay in enumerate(net.layers, start=2):
        if isinstance(lay, Norm):
            rows[f"gamma[{k}]"] = rows[f"beta[{k}]"] = f"gamma[{k}], beta[{k}]"
        elif isinstance(lay, Dense):
            rows[f"W[{k - 1}]"] = rows[f"b[{k}]"] = f"W[{k - 1}]" + (f", b[{k}]" if lay.bias else "")
    return lambda name: rows[array_of(name)]


def element_name(array: str, index: tuple) -> str:
    """The plain name of an array's element (index from 0): ("W[1]", (0, 1)) → w12[1]."""
    letter, layer = array[:-1].split("[")
    return BName(_LETTER[letter], tuple(i + 1 for i in index), int(layer)).name


def plain_description(net: BatchNet) -> dict:
    """The network as the reference reads it: plain data, the loss's own name (it carries a Huber
    threshold), a custom activation as a NumPy function of z."""
    data = net.as_dict()
    data["loss"] = net.loss.name
    for lay, entry in zip(net.layers, data["layer"]):
        entry.setdefault("kind", "dense")
        if not isinstance(lay, Dropout) and lay.activation.function_name:
            entry["activation"] = sympy.lambdify(Z, lay.activation.definition, modules="numpy")
    return data


def random_batch_point(net: BatchNet, shapes: dict, rng, batch: int):
    """(P, X, T, masks): W by 1/√fan-in, b and β N(0, 0.5), γ N(1, 0.5), inputs in (−1, 1), targets valid
    for the loss, and each dropout layer's mask (a node kept with probability 1 − p)."""
    P = {}
    for name, shape in shapes.items():
        scale = 1 / np.sqrt(shape[0]) if name[0] == "W" else 0.5
        P[name] = rng.normal(1.0 if name.startswith("gamma") else 0.0, scale, shape)
    X = rng.uniform(-1.0, 1.0, (batch, net.inputs))
    last = net.layers[-1]
    T = random_targets(net.loss, last.activation.name, rng, (batch,), last.size)
    masks = {k: (rng.random((batch, net.sizes[k - 1])) >= float(lay.rate)).astype(float)
             for k, lay in net.dropout_layers()}
    return P, X, T, masks


def flat_gradients(grads: dict) -> dict:
    """Plain parameter name → value, from the arrays."""
    return {element_name(name, index): float(v) for name, M in grads.items() for index, v in np.ndenumerate(M)}


def values_of(net: BatchNet, P: dict, X, T, masks: dict) -> dict:
    """Plain name → value of every base symbol of the derivation: parameters, x…<s>, t…<s>, m…[k]<s>, ε."""
    V = {element_name(name, index): float(v) for name, M in P.items() for index, v in np.ndenumerate(M)}
    for (s, i), v in np.ndenumerate(X):
        V[BName("x", (i + 1,), None, s + 1).name] = float(v)
    for (s, j), v in np.ndenumerate(T):
        V[BName("t", (j + 1,), None, s + 1).name] = float(v)
    for k, M in masks.items():
        for (s, j), v in np.ndenumerate(M):
            V[BName("m", (j + 1,), k, s + 1).name] = float(v)
    V["epsilon"] = EPSILON
    return V


class _Batch(Kernel):
    """What check compares for a batch stack, at points of ``batch`` samples."""

    def __init__(self, net: BatchNet, batch: int):
        self.network, self.batch, self.group_of = net, batch, rows_of(net)
        self.compiled = BatchFunction(net)
        self.description = plain_description(net)
        self.custom = any(callable(lay.get("activation")) for lay in self.description["layer"])
        small = net.size <= MAX_PRINTED_SIZE and net.samples <= MAX_PRINTED_BATCH
        whole = batch == net.samples
        self.formulas = printed_formulas(derive_batch(net, weights=())) if small and whole else None
        self.sample_fd = net.n_parameters > MAX_FD_ALL
        unknown = unknown_loss_note(net.loss.name)
        self.known = unknown is None
        self.notes = [note for note, when in (
            (f"printed formulas not compiled: the model has {net.size:,} terms over a batch of {net.samples} (they "
             f"are up to {MAX_PRINTED_SIZE:,} terms and {MAX_PRINTED_BATCH} samples; the matrix code is compared)",
             not small),
            (f"printed formulas not compared: they are written for batch = {net.samples}, the points have "
             f"{batch} samples", small and not whole),
            (f"custom activation: the reference differentiates it by a five-point stencil, so pairs with the "
             f"reference use tolerance {CUSTOM_RTOL:.0e}", self.custom),
            (f"finite differences on {FD_PER_LAYER} random entries of each array larger than that", self.sample_fd),
            (unknown, not self.known)) if when]

    def point(self, rng, batch):
        return random_batch_point(self.network, self.compiled.shapes, rng, self.batch)

    def vectorized(self, point) -> dict:
        E, grads = self.compiled(*point)
        return {"E": float(E), **flat_gradients(grads)}

    def reference(self, point):
        if not self.known:
            return None
        E, grads = reference.forward_backward(self.description, *point)
        return {"E": float(E), **flat_gradients(grads)}

    def values(self, point) -> dict:
        return values_of(self.network, *point)

    def fd(self, point, rng):
        P = point[0]
        if self.known:
            def loss():
                return reference.loss_batch(self.description, *point)
        else:
            def loss():
                return float(self.compiled.loss(*point))
        groups = [[(P[name], index, element_name(name, index)) for index in np.ndindex(P[name].shape)] for name in P]
        return finite_differences(loss, groups, rng if self.sample_fd else None)


def check_batch(net: BatchNet, samples: int = 5, seed: int = 0, batch: int = 1, truncate: int | None = None) -> Report:
    """Compare every pair at ``samples`` random points of ``batch`` samples each (1: the spec's N);
    the report is truthy when all agree."""
    if truncate is not None:
        raise SpecError("truncate (--truncate) is for recurrent networks: a spec file with kind = \"rnn\"")
    size = net.samples if batch == 1 else batch
    return run(_Batch(net, size), samples, seed, size)
