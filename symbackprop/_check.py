"""Cross-checks: printed formulas, vectorized code, the NumPy reference, finite differences.

At random points (weights, inputs, targets valid for the loss) every pair is
compared layer by layer; the report names the worst parameter of any pair that
disagrees, with both values and the errors.  A loss the reference does not know (registered
without ``reference=``) leaves out the pairs with it, and finite differences are compared with
the vectorized code instead; a note says so.

>>> from symbackprop._spec import from_spec
>>> bool(check(from_spec("2-2-1", activation="tanh"), samples=2))
True
"""
from __future__ import annotations

import numpy as np
import sympy

from . import _names as names
from . import _reference as reference
from ._activations import ACTIVATIONS, Z
from ._check_grads import Grads, central, dense_fd, dense_grads
from ._compile import vectorized
from ._bptt import GROUPS, LETTER, RNNVectorized, flat, values_of
from ._program import printed_formulas
from ._derivation import derive
from ._elman import derive_rnn
from ._network import Network
from ._rnn import RNN, sym
from ._tally import CUSTOM_RTOL, Kernel, Report, run

MAX_PRINTED = 3000        # parameters up to which the printed formulas are compiled
MAX_PRINTED_RNN = 400     # terms of the unrolled network up to which its printed formulas are compiled
MAX_FD_ALL = 400          # above this many, finite differences sample each layer
FD_PER_LAYER = 40


def unknown_loss_note(loss: str) -> str | None:
    """The note for a loss the NumPy reference has no entry for (registered without reference=), else None.

    With no second opinion there is no pair with the reference: a guess would be a false report.
    """
    if loss in reference.LOSSES:
        return None
    return (f"the NumPy reference does not know the loss {loss}, so nothing is compared with it: register "
            f"it with extend.register_loss({loss!r}, term, reference=(value, derivative)), NumPy functions "
            "of a and t")


def custom_numpy(net) -> list:
    """Activations as the references take them: names, or NumPy functions for custom ones (f only,
    not f': the reference differentiates them itself)."""
    return [sympy.lambdify(Z, a.definition, modules="numpy") if a.function_name else a.name
            for a in net.activations]


def random_point(net: Network, rng, batch: int = 1):
    """Weights, biases, inputs and targets valid for the loss (one-hot for softmax cross-entropy)."""
    L = net.layers
    W = [rng.normal(0.0, 1.0, size=(L[k], L[k + 1])) for k in range(len(L) - 1)]
    b = [rng.normal(0.0, 0.5, size=L[k + 1]) for k in range(len(L) - 1)] if net.bias else None
    for k, m in net.ties:
        W[k - 1] = W[m - 1].T
    X = rng.uniform(-1.0, 1.0, size=(batch, L[0]))
    return W, b, X, random_targets(net.loss, net.activations[-1].name, rng, (batch,), L[-1])


def random_targets(loss, out: str, rng, shape: tuple, n: int):
    """Targets valid for the loss: one-hot for softmax cross-entropy and the losses of one-hot targets
    (nll, multiclass_hinge), a distribution for softmax KL, in (0, 1) for log losses and (0, 1)
    outputs, else in (−1, 1); ``shape`` (batch[, steps]) then ``n`` outputs; ±1 for a loss of sign
    targets (hinge)."""
    coupled = out in ACTIVATIONS and ACTIVATIONS[out].coupled is not None
    if loss.targets == "sign":
        return rng.choice([-1.0, 1.0], size=(*shape, n))
    if loss.one_hot or (coupled and loss.name == "cross_entropy"):
        return np.eye(n)[rng.integers(0, n, size=shape)]
    if coupled and loss.targets == "distribution":
        t = rng.uniform(0.05, 1.0, size=(*shape, n))
        return t / t.sum(axis=-1, keepdims=True)
    if loss.needs_unit_range or out in ("sigmoid", "softmax"):
        return rng.uniform(0.05, 0.95, size=(*shape, n))
    return rng.uniform(-1.0, 1.0, size=(*shape, n))


def values_dict(net: Network, W, b, X, T) -> dict:
    """Plain name → value (arrays over the batch for x and t)."""
    # the printed formulas are per sample and the penalty counts once per batch: λ/N in each of
    # N samples sums to λ, as R (hence ∂R/∂w) is linear in λ
    V = {net.penalty_symbol(kind).name: lam / len(X) for kind, lam in net.penalty}
    tied = dict(net.ties)
    for k in range(net.depth - 1):
        for i in range(net.layers[k] if k + 1 not in tied else 0):
            for j in range(net.layers[k + 1]):
                V[names.weight(i + 1, j + 1, k + 1).name] = W[k][i, j]
        if b is not None:
            for j in range(net.layers[k + 1]):
                V[names.bias(j + 1, k + 2).name] = b[k][j]
    for i in range(net.layers[0]):
        V[names.asym(i + 1, 1).name] = X[:, i]
    for j in range(net.layers[-1]):
        V[names.target(j + 1).name] = T[:, j]
    return V


def finite_differences(loss, groups, rng=None) -> dict:
    """Central differences of ``loss()`` by each (array, index, name) of each group, the array
    changed in place and put back; with ``rng``, FD_PER_LAYER random entries of a larger group."""
    out = {}
    for group in groups:
        if rng is not None and len(group) > FD_PER_LAYER:
            group = [group[n] for n in rng.choice(len(group), FD_PER_LAYER, replace=False)]
        for M, index, name in group:
            out[name] = central(loss, M, index)
    return out


def _reference(net: Network, acts, W, b, X, T):
    """The NumPy reference's (E, dW, db), as lists per layer (None for a tied layer's dW)."""
    if net.plain:
        return reference.backprop(net.layers, acts, net.loss.name, W, b, X, T)[:3]
    tied = dict(net.ties)
    E, dW, db = reference.backprop_general(
        list(net.layers), acts, net.loss.name, {k: W[k - 1] for k in range(1, net.depth) if k not in tied},
        None if b is None else {k + 2: v for k, v in enumerate(b)}, X, T, skips=dict(net.skips), ties=tied,
        penalty=dict(net.penalty))
    return E, [dW.get(k) for k in range(1, net.depth)], None if db is None else [db[k] for k in sorted(db)]


def _layer_of(name: str) -> str:
    p = names.parse(name)
    return f"layer {p.layer if p.kind == 'w' else p.layer - 1}"


class _Dense(Kernel):
    """What check compares for a dense stack: per-layer matrix code, the printed formulas, the
    NumPy reference and finite differences."""

    group_of = staticmethod(_layer_of)

    def __init__(self, net: Network):
        self.network = net
        # past MAX_PRINTED the printed formulas are not compiled, and the vectorized code is what
        # sb.compile makes: from a small network's derivation, so the large one is not derived
        d = derive(net, weights=()) if net.n_parameters <= MAX_PRINTED else None
        self.vec = vectorized(net, derivation=d)
        self.formulas = printed_formulas(d) if d is not None else None
        self.acts = custom_numpy(net)
        self.custom = any(callable(a) for a in self.acts)
        self.sample_fd = net.n_parameters > MAX_FD_ALL
        self.known = unknown_loss_note(net.loss.name) is None
        self.notes = [note for note, when in (
            (f"custom activation: the reference differentiates it by a five-point stencil, so pairs with the "
             f"reference use tolerance {CUSTOM_RTOL:.0e}", self.custom),
            (f"printed formulas not compiled: over {MAX_PRINTED:,} parameters (the vectorized form is)",
             self.formulas is None),
            (f"finite differences on {FD_PER_LAYER} random parameters per layer", self.sample_fd),
            (unknown_loss_note(net.loss.name), not self.known)) if when]

    def point(self, rng, batch):
        return random_point(self.network, rng, batch)

    def vectorized(self, point) -> Grads:
        return dense_grads(*self.vec(*point))

    def reference(self, point):
        if not self.known:
            return None
        return dense_grads(*_reference(self.network, self.acts, *point))

    def values(self, point) -> dict:
        return values_dict(self.network, *point)

    def fd(self, point, rng):
        W, b, X, T = point
        return dense_fd(self.network, W, b, lambda: self.vec.loss(*point), FD_PER_LAYER,
                        rng if self.sample_fd else None)


def check(net: Network, samples: int = 5, seed: int = 0, batch: int = 1) -> Report:
    """Compare every pair at ``samples`` random points; the report is truthy when all agree."""
    return run(_Dense(net), samples, seed, batch)


# ---------------------------------------------------------------- the recurrent network
def random_rnn_point(net: RNN, rng, batch: int = 1):
    """U, W, V (b, c), inputs, targets and h<0>, scaled by 1/√fan-in, so that wide layers neither
    saturate nor explode over many steps."""
    I, H, O = net.inputs, net.hidden, net.outputs
    P = {"U": rng.normal(0, 1 / np.sqrt(I), (I, H)), "W": rng.normal(0, 1 / np.sqrt(H), (H, H)),
         "V": rng.normal(0, 1 / np.sqrt(H), (H, O))}
    if net.bias:
        P["b"], P["c"] = rng.normal(0, 0.5, net.hidden), rng.normal(0, 0.5, net.outputs)
    X = rng.uniform(-1, 1, (batch, net.steps, net.inputs))
    h0 = rng.normal(0, 0.5, (batch, net.hidden))
    return P, X, random_targets(net.loss, net.output_activation.name, rng, (batch, net.steps), net.outputs), h0


def _group_of(name: str) -> str:
    """A parameter's row in the report: its matrix (u, w, v) or its biases (b, c)."""
    return f"{name[0]} weights" if name[0] in "uwv" else f"{name[0]} biases"


def recurrent_setup(kernel, derive, custom: bool, sampled: str) -> None:
    """What a recurrent kernel (``network``, ``truncate`` set) compares and says: the printed formulas when
    the unrolled net is small, finite differences (sampled on large nets, not when truncated), its notes."""
    net, truncate = kernel.network, kernel.truncate
    small = net.size <= MAX_PRINTED_RNN
    kernel.formulas = printed_formulas(derive(net, weights=(), truncate=truncate)) if small else None
    kernel.custom = custom
    kernel.sample_fd = net.n_parameters > MAX_FD_ALL
    kernel.whole = truncate is None or truncate >= net.steps
    unknown = unknown_loss_note(net.loss.name)
    kernel.known = unknown is None
    kernel.notes = [note for note, when in (
        (f"printed formulas not compiled: the unrolled network has over {MAX_PRINTED_RNN} terms", not small),
        (f"custom activation: the reference differentiates it numerically, tolerance {CUSTOM_RTOL:.0e}", custom),
        (f"finite differences on {FD_PER_LAYER} {sampled}", kernel.sample_fd),
        (f"truncated to {truncate} steps: finite differences (of the full E) are not compared", not kernel.whole),
        (unknown, not kernel.known)) if when]


class _Recurrent(Kernel):
    """What check compares for a recurrent network: vectorized BPTT, the printed formulas, the
    NumPy reference BPTT and finite differences (of the full E, so not when truncated)."""

    group_of = staticmethod(_group_of)

    def __init__(self, net: RNN, truncate: int | None):
        self.network, self.truncate = net, truncate
        self.vec = RNNVectorized(net, truncate)
        self.hidden, self.output = custom_numpy(net)
        recurrent_setup(self, derive_rnn, callable(self.hidden) or callable(self.output),
                        "random parameters of each of U, W, V, b, c")

    def point(self, rng, batch):
        return random_rnn_point(self.network, rng, batch)

    def vectorized(self, point) -> dict:
        E, grads = self.vec(*point)
        return {"E": float(E), **flat(grads)}

    def reference(self, point):
        if not self.known:
            return None
        E, grads = reference.bptt(self.hidden, self.output, self.network.loss.name, *point, self.truncate)
        return {"E": float(E), **flat(grads)}

    def values(self, point) -> dict:
        return values_of(self.network, *point)

    def fd(self, point, rng):
        if not self.whole:
            return None
        P = point[0]
        groups = [[(P[key], index, sym(LETTER[key], *(i + 1 for i in index)).name) for index in np.ndindex(P[key].shape)]
                  for key in GROUPS if key in P]
        return finite_differences(lambda: self.vec.loss(*point), groups, rng if self.sample_fd else None)


def check_rnn(net: RNN, samples: int = 5, seed: int = 0, batch: int = 1, truncate: int | None = None) -> Report:
    """Printed formulas, vectorized BPTT, the reference BPTT and finite differences, pair by pair."""
    return run(_Recurrent(net, truncate), samples, seed, batch)
