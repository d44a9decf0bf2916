"""Numbers for one values file: forward values, E, δ's, gradients, the updated weights.

>>> from symbackprop._spec import from_spec
>>> from symbackprop._values import parse_values
>>> net = from_spec("1-1", activation="linear")
>>> r = evaluate(net, parse_values(net, {"w11[1]": 0.5, "x1": 2, "t1": 0}), lr=0.1)
>>> r.loss, r.gradient["w11[1]"], r.updated["w11[1]"]
(0.5, 2.0, 0.3)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _names as names
from . import _views as views
from ._compile import vectorized
from ._network import Network
from ._rnn import RNN
from ._bptt import RNNVectorized, flat
from ._values import RNNValues, Values, check_targets


@dataclass(frozen=True)
class Evaluation:
    network: Network
    batch: int
    loss: float
    forward: dict      # name → list of per-sample values
    delta: dict        # name → list of per-sample values
    gradient: dict     # name → float (sum or mean over the batch)
    updated: dict | None
    lr: float | None
    reduction: str

    __repr__ = views.evaluation_repr


def _targets_checked(out, loss) -> bool:
    """Whether the targets must be a distribution (a coupled output's δ = p − t) or one-hot (a loss of one class)."""
    return bool(out.coupled and loss.targets == "distribution") or (loss.one_hot and loss.targets != "distribution")


def evaluate(net: Network, values: Values, lr: float | None = None) -> Evaluation:
    """Run the vectorized code on the values; with ``lr``, one gradient step from the old values."""
    if _targets_checked(net.activation(net.depth), net.loss):
        check_targets([([names.target(j).name for j in range(1, net.layers[-1] + 1)], values.T)], net.loss)
    f = vectorized(net, reduction=values.reduction)
    E, dW, db, info = f(values.W, values.b, values.X, values.T, details=True)
    forward, delta = {}, {}
    for k in range(2, net.depth + 1):
        for j in range(1, net.layers[k - 1] + 1):
            forward[names.zsym(j, k).name] = info["Z"][k - 1][:, j - 1].tolist()
            forward[names.asym(j, k).name] = info["A"][k - 1][:, j - 1].tolist()
    for k in range(net.depth, 1, -1):
        for j in range(1, net.layers[k - 1] + 1):
            delta[names.delta(j, k).name] = info["delta"][k - 1][:, j - 1].tolist()
    gradient, old = {}, {}
    for k, M in enumerate(dW, start=1):
        for (i, j), v in _cells(M) if M is not None else ():     # a tied layer's are W[m]'s
            name = names.weight(i + 1, j + 1, k).name
            gradient[name], old[name] = float(v), float(values.W[k - 1][i, j])
        if db is not None:
            for j, v in enumerate(db[k - 1]):
                name = names.bias(j + 1, k + 1).name
                gradient[name], old[name] = float(v), float(values.b[k - 1][j])
    # every parameter from its value before the update (the seed's note)
    updated = {n: old[n] - lr * g for n, g in gradient.items()} if lr is not None else None
    return Evaluation(net, len(values.X), float(E), forward, delta, gradient, updated, lr, values.reduction)


def _cells(M):
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            yield (i, j), M[i, j]


# ---------------------------------------------------------------- recurrent networks
@dataclass(frozen=True)
class RNNEvaluation:
    network: RNN
    batch: int
    loss: float
    forward: dict
    delta: dict
    gradient: dict
    updated: dict | None
    lr: float | None
    reduction: str
    truncate: int | None = None
    truncated: dict | None = None          # name → truncated gradient
    distance: float | None = None          # ‖truncated − full‖ / ‖full‖
    report: list | None = None             # (t, ‖∂E/∂h<t>‖, ‖∂h<T>/∂h<t>‖)

    __repr__ = views.evaluation_repr


def evaluate_rnn(net: RNN, values: RNNValues, lr: float | None = None, truncate: int | None = None,
                 report: bool = False) -> RNNEvaluation:
    if _targets_checked(net.output_activation, net.loss):
        check_targets([([f"t{j}<t>" for j in range(1, net.outputs + 1)], np.reshape(values.T, (-1, net.outputs)))],
                      net.loss)
    full = RNNVectorized(net, None, values.reduction)
    E_total, grads, info = full(values.P, values.X, values.T, values.h0, details=True)
    forward, delta = {}, {}
    for t in range(1, net.steps + 1):
        for letter, n in (("s", net.hidden), ("h", net.hidden), ("o", net.outputs), ("y", net.outputs)):
            for j in range(n):
                forward[f"{letter}{j + 1}<{t}>"] = info[letter][t][:, j].tolist()
    for t in range(net.steps, 0, -1):
        for j in range(net.hidden):
            delta[f"delta{j + 1}<{t}>"] = info["delta"][t][:, j].tolist()
    gradient = flat(grads)
    truncated = distance = None
    if truncate is not None:
        _, tgrads = RNNVectorized(net, truncate, values.reduction)(values.P, values.X, values.T, values.h0)
        truncated = flat(tgrads)
        a, b = np.array(list(truncated.values())), np.array(list(gradient.values()))
        norm = np.linalg.norm(b)
        distance = float(np.linalg.norm(a - b) / norm) if norm > 0 else float(np.linalg.norm(a - b))
    rows = full.jacobian_products(values.P, info) if report else None
    used = truncated if truncated is not None else gradient
    old = flat(values.P)
    updated = {n: old[n] - lr * g for n, g in used.items()} if lr is not None else None
    return RNNEvaluation(net, len(values.X), float(E_total), forward, delta, gradient, updated, lr, values.reduction,
                         truncate, truncated, distance, rows)
