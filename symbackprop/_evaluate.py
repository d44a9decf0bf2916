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

from . import _names as names
from ._compile import vectorized
from ._network import Network
from ._values import Values


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


def evaluate(net: Network, values: Values, lr: float | None = None) -> Evaluation:
    """Run the vectorized code on the values; with ``lr``, one gradient step from the old values."""
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
