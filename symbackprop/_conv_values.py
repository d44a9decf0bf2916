"""eval for a conv net: a values file's numbers through the printed formulas themselves.

The file names every parameter (``k1111[1]``, ``w11[3]``, ``b1[2]``) and, per sample, every input
``x…`` and target ``t…`` (at the top, or in ``samples = [{…}, …]``); ``reduction`` is "sum" or "mean".

>>> import symbackprop as sb
>>> net = sb.network({"inputs": [1, 2], "layer": [{"kind": "conv", "channels": 1, "kernel": 1,
...                   "activation": "linear"}, {"size": 1, "activation": "linear"}]})
>>> r = evaluate_conv(net, {"k111[1]": 2, "w11[2]": 1, "w21[2]": 1, "x11": 1, "x12": 3, "t1": 0}, lr=0.5)
>>> r.loss, r.gradient["k111[1]"], r.updated["w21[2]"]
(32.0, 32.0, -23.0)
"""
from __future__ import annotations

import numpy as np

from ._conv_derive import derive_conv
from ._errors import NotationError, ValuesError
from ._evaluate import Evaluation
from ._program import printed_formulas
from ._values import _number, _reduction, _tables


def _name(d, key: str, where: str) -> str:
    """The plain name of a values file's key; ValuesError saying how to write it."""
    try:
        return d.name_of(key)
    except NotationError as err:
        raise ValuesError(f"{where}unknown name {key!r}: {err}") from None


def _entries(d, entries: dict, where: str, wanted: set) -> dict:
    found = {}
    for key, value in entries.items():
        name = _name(d, key, f"{where}: ")
        if name not in wanted:
            raise ValuesError(f"{where}: {key!r} is not a name a sample holds; it holds every x… input and t… target")
        found[name] = _number(key, value)
    missing = sorted(wanted - set(found))
    if missing:
        raise ValuesError(f"{where}: missing {missing[0]} (every input x… and target t… is needed)")
    return found


def evaluate_conv(net, data: dict, lr: float | None = None) -> Evaluation:
    """Forward values, E, every δ and every gradient (the sum or mean over the samples), and with ``lr``
    every parameter after one step from its value before the update."""
    d = derive_conv(net, weights=())
    reduction = _reduction(data)
    params = {p.name for p in d.sweep.model.parameters}
    per_sample = {k: v for k, v in data.items() if k not in ("reduction", "samples") and k[:1] in ("x", "t")}
    values = {}
    for key, value in data.items():
        if key in ("reduction", "samples") or key in per_sample:
            continue
        name = _name(d, key, "")
        if name not in params:
            raise ValuesError(f"unknown name {key!r}: not a kernel element, weight or bias of {net.describe()}")
        values[name] = _number(key, value)
    missing = [p for p in d.sweep.model.parameters if p.name not in values]
    if missing:
        raise ValuesError(f"missing {missing[0].name}: the values file needs every kernel element, weight and bias")
    wanted = {s.name for s in d.base_symbols()} - params
    rows = [_entries(d, entries, where, wanted) for where, entries in _tables(
        data, per_sample, "x and t", "{x111 = …, t1 = …} tables", "such as {x111 = 0.5, t1 = 1}")]
    batch = {name: np.array([row[name] for row in rows]) for name in wanted}
    with np.errstate(all="ignore"):
        out = printed_formulas(d)({**values, **batch})
    scale = 1 / len(rows) if reduction == "mean" else 1.0
    loss = float(np.sum(out["E"]) * scale)
    if not np.isfinite(loss):
        raise ValuesError("E is not a finite number at these values (a log of 0?): choose other values")
    per = lambda v: np.broadcast_to(v, (len(rows),)).tolist()            # noqa: E731
    forward = {k: per(out[k]) for k in d.forward}
    delta = {k: per(out[k]) for k in d.deltas}
    gradient = {p.name: float(np.sum(np.broadcast_to(out[p.name], (len(rows),))) * scale)
                for p in d.sweep.model.parameters}
    updated = {n: values[n] - lr * g for n, g in gradient.items()} if lr is not None else None
    return Evaluation(net, len(rows), loss, forward, delta, gradient, updated, lr, reduction)
