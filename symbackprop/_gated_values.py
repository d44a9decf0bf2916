"""eval for an LSTM or GRU: a values file's numbers through the printed formulas themselves.

The file names every parameter (``ui11``, ``wf12``, ``bo1``, ``v11``, ``c1``) and, per sequence,
every input ``xi<t>`` and target ``tj<t>``, optionally ``hj<0>`` and (LSTM) ``cj<0>`` (0 when left
out): at the top, or in ``samples = [{…}, …]``; ``reduction`` is "sum" or "mean".  With
``truncate`` also the gradient of truncated BPTT and its distance from the full one; with
``report`` the table of why the cell path keeps the gradient from vanishing (``_gated_report``).

>>> from symbackprop._gated import GatedRNN
>>> net = GatedRNN.build("gru", 1, 1, 1, 1, activation="linear", output="hidden")
>>> P = {"ur11": 0, "wr11": 0, "uz11": 0, "wz11": 0, "un11": 2, "wn11": 0}
>>> r = evaluate_gated(net, {**P, "x1<1>": 1, "t1<1>": 0}, lr=0.5)[2]
>>> r.forward["h1<1>"], r.loss, r.gradient["un11"], r.updated["un11"]
([1.0], 0.5, 0.5, 1.75)
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from . import _views as views
from ._errors import NotationError, ValuesError
from ._evaluate import RNNEvaluation
from ._gated_derive import derive_gated
from ._gated_names import gsym, parse
from ._program import printed_formulas, program
from ._report import rnn_evaluation_json, rnn_evaluation_text
from ._values import _number, _reduction, _tables


@dataclasses.dataclass(frozen=True)
class GatedEvaluation(RNNEvaluation):
    """eval's numbers for a gated cell: as an RNN's, and ``report`` rows (t, ‖Π gate‖, ‖∂c<T>/∂c<t>‖ or
    None, ‖∂h<T>/∂h<t>‖) for the first sequence, the gate the forget gate f (LSTM) or update gate z (GRU)."""

    __repr__ = views.evaluation_repr


def _name(d, key: str, where: str) -> str:
    """The plain name of a values file's key; ValuesError saying how to write it."""
    try:
        return d.name_of(key)
    except NotationError as err:
        raise ValuesError(f"{where}unknown name {key!r}: {err}") from None


def _starts(net) -> tuple:
    """hj<0> (and cj<0>): the states a sequence may start from, 0 unless given."""
    kinds = ("h", "c") if net.cell == "lstm" else ("h",)
    return tuple(f"{k}{j}<0>" for k in kinds for j in range(1, net.hidden + 1))


def _sequence(d, entries: dict, where: str, wanted: set) -> dict:
    """One sequence's x, t (and h<0>, c<0>) by plain name; ValuesError for a missing or unknown one."""
    starts = _starts(d.network)
    found = dict.fromkeys(starts, 0.0)
    for key, value in entries.items():
        name = _name(d, key, f"{where}: ")
        if name not in wanted:
            optional = " and ".join(sorted({s[0] + "j<0>" for s in starts}))
            raise ValuesError(f"{where}: {key!r} is not a name a sequence holds; it holds every xi<t> and tj<t> "
                              f"(t = 1 … {d.network.steps}) and optionally {optional}")
        found[name] = _number(key, value)
    missing = sorted(wanted - set(found), key=lambda n: (parse(n)[3], n))
    if missing:
        n = d.network
        raise ValuesError(f"{where}: missing {missing[0]} (every x1<t> … x{n.inputs}<t> and t1<t> … "
                          f"t{n.outputs}<t> "
                          f"for t = 1 … {n.steps} is needed)")
    return found


def read_values(d, data: dict) -> tuple:
    """(parameters {name: number}, the sequences' leaves {name: array over the batch}, reduction)."""
    net = d.network
    reduction = _reduction(data)
    params = {p.name for p in d.sweep.model.parameters}
    leaves = {s.name for s in d.base_symbols()} - params
    values, per_sample = {}, {}
    for key, value in data.items():
        if key in ("reduction", "samples"):
            continue
        name = _name(d, key, "")
        if name in leaves:
            per_sample[key] = value
        elif name in params:
            values[name] = _number(key, value)
        else:
            raise ValuesError(f"unknown name {key!r}: not a weight, bias, input xi<t>, target tj<t> or start state "
                              f"of the {net.describe()} (the forward pass computes the other nodes)")
    missing = [p for p in d.sweep.model.parameters if p.name not in values]
    if missing:
        raise ValuesError(f"missing {missing[0].name}: the values file needs every weight"
                          f"{' and bias' if net.bias else ''} of the {net.describe()}")
    rows = [_sequence(d, entries, where, leaves) for where, entries in _tables(
        data, per_sample, "x, t and h<0>", "tables of xi<t> and tj<t>", "of xi<t> and tj<t>")]
    return values, {name: np.array([row[name] for row in rows]) for name in leaves}, reduction


def _run(d, inputs: dict, batch: int, scale: float) -> tuple:
    """(E, every printed value per sequence, every gradient summed or averaged) of the printed formulas."""
    with np.errstate(all="ignore"):
        out = printed_formulas(d)(inputs)
    loss = float(np.sum(out["E"]) * scale)
    if not np.isfinite(loss):
        raise ValuesError("E is not a finite number at these values (a log of 0?): choose other values")
    per = {k: np.broadcast_to(np.asarray(v, dtype=float), (batch,)) for k, v in out.items()}
    gradient = {p.name: float(np.sum(per[p.name]) * scale) for p in d.sweep.model.parameters}
    return loss, per, gradient


def evaluate(net, data: dict, lr: float | None = None, truncate: int | None = None,
             report: bool = False) -> GatedEvaluation:
    """Forward values of every node per step, E, every δ, every gradient (sum or mean over the
    sequences), with ``lr`` every parameter after one step; ``truncate`` K: also truncated BPTT's."""
    d = derive_gated(net, weights=())
    values, leaves, reduction = read_values(d, data)
    batch = len(next(iter(leaves.values())))
    scale = 1 / batch if reduction == "mean" else 1.0
    inputs = {**values, **leaves}
    loss, per, gradient = _run(d, inputs, batch, scale)
    forward = {k: per[k].tolist() for k in d.forward}
    delta = {k: per[k].tolist() for k in d.deltas}
    truncated = distance = None
    if truncate is not None:
        cut = derive_gated(net, weights=(), truncate=truncate)
        truncated = _run(cut, inputs, batch, scale)[2]
        a, b = np.array(list(truncated.values())), np.array(list(gradient.values()))
        norm = np.linalg.norm(b)
        distance = float(np.linalg.norm(a - b) / norm) if norm > 0 else float(np.linalg.norm(a - b))
    rows = report_rows(d, {k: (v[0] if np.ndim(v) else v) for k, v in inputs.items()}, per) if report else None
    used = truncated if truncated is not None else gradient
    updated = {n: values[n] - lr * g for n, g in used.items()} if lr is not None else None
    return GatedEvaluation(net, batch, loss, forward, delta, gradient, updated, lr, reduction, truncate, truncated,
                           distance, rows)


# ---------------------------------------------------------------- --report: the cell path
#: the step of the central differences of the forward pass
EPS = 1e-6


def _step(d):
    """Step 1's forward equations as NumPy code: (parameters, x<1>, h<0>, c<0>) → each node of step 1."""
    net = d.network
    eqs = [(d.symbols[k], v) for k, v in d.forward.items() if parse(k)[3] == 1 and parse(k)[0] not in ("q", "y")]
    inputs = [*d.sweep.model.parameters, *(gsym("x", i, t=1) for i in range(1, net.inputs + 1)),
              *(d.symbols[n] for n in _starts(net))]
    return program(inputs, [[pair] for pair in eqs])


def _jacobian(d, step, first: dict, t: int) -> np.ndarray:
    """∂(h<T>, c<T>)/∂(h<t>, c<t>) at the first sequence's values, by central differences."""
    net = d.network
    states = [n.split("<")[0] for n in _starts(net)]                   # h1, …, (c1, …)
    m = len(states)
    start = np.array([first[f"{s}<{t}>"] for s in states])
    batch = np.repeat(start[None, :], 2 * m, axis=0) + np.kron(np.eye(m), [[EPS], [-EPS]])
    params = {p.name: first[p.name] for p in d.sweep.model.parameters}
    for k in range(t + 1, net.steps + 1):
        xs = {gsym("x", i, t=1).name: first[gsym("x", i, t=k).name] for i in range(1, net.inputs + 1)}
        out = step({**params, **xs, **{f"{s}<0>": batch[:, n] for n, s in enumerate(states)}})
        batch = np.stack([np.broadcast_to(out[f"{s}<1>"], (2 * m,)) for s in states], axis=1)
    return (batch[0::2] - batch[1::2]).T / (2 * EPS)


def report_rows(d, first: dict, per: dict) -> list:
    """(t, ‖Π_{k=t+1..T} gate<k>‖, ‖∂c<T>/∂c<t>‖ or None, ‖∂h<T>/∂h<t>‖) for t = T … 0: 2-norms, the
    gate f (LSTM) or z (GRU), the Jacobians by central differences."""
    net = d.network
    H, T, lstm = net.hidden, net.steps, net.cell == "lstm"
    gate = "f" if lstm else "z"
    values = {**{k: float(v[0]) for k, v in per.items()}, **first}      # per holds the gradients by parameter name
    step, rows = _step(d), []
    product = np.ones(H)
    for t in range(T, -1, -1):
        J = _jacobian(d, step, values, t) if t < T else np.eye(2 * H if lstm else H)
        cell = float(np.linalg.norm(J[H:, H:], 2)) if lstm else None
        rows.append((t, float(np.max(np.abs(product))), cell, float(np.linalg.norm(J[:H, :H], 2))))
        if t >= 1:
            product = product * np.array([values[gsym(gate, j, t=t).name] for j in range(1, H + 1)])
    return rows


_ASCII = str.maketrans({"‖": "|", "∂": "d", "Π": "prod", "⊙": "*", "→": "->", "σ": "sigma", "φ": "phi",
                        "…": "...", "−": "-"})


def report_lines(net, rows: list, batch: int, ascii_only: bool = False) -> list:
    """The table of ``--report`` and what it says, in words."""
    lstm, T = net.cell == "lstm", net.steps
    gate = "f" if lstm else "z"
    head = ["t", f"‖Π {gate}<k>‖", *(["‖∂c<T>/∂c<t>‖"] if lstm else []), "‖∂h<T>/∂h<t>‖"]
    out = [("Why the cell path keeps the gradient from vanishing" if lstm else
            "Why the update gate's path keeps the gradient from vanishing") + (" (first sequence)" if batch > 1 else ""),
           f"  (Π over k = t+1 … T; norms: the largest singular value; the Jacobians by central differences of "
           f"the forward pass)", "  " + "  ".join(f"{h:>14}" for h in head)]
    for t, prod, cell, full in rows:
        cells = [f"{prod:.4e}", *([f"{cell:.4e}"] if lstm else []), f"{full:.4e}"]
        out.append("  " + "  ".join(f"{c:>14}" for c in [str(t), *cells]))
    _, prod, cell, full = rows[-1]
    if lstm:
        words = ("On the cell path c<t> → c<t+1> = f<t+1>⊙c<t> + i<t+1>⊙g<t+1> the error is multiplied by the "
                 "forget gate alone: no weight matrix and no activation derivative, so ∂c<T>/∂c<t> keeps the size "
                 "of Π f<k>, near 1 while the forget gates stay open; the path through h<t> multiplies W and σ', φ' "
                 "at every step, as an Elman RNN's does.")
        here = f"‖Π f<k>‖ = {prod:.4g}, ‖∂c<T>/∂c<0>‖ = {cell:.4g}, ‖∂h<T>/∂h<0>‖ = {full:.4g}"
    else:
        words = ("On the direct path h<t> → h<t+1> = z<t+1>⊙h<t> + (1 − z<t+1>)⊙n<t+1> the error is multiplied "
                 "by the update gate alone: no weight matrix and no activation derivative, so that path keeps the "
                 "size of Π z<k>, near 1 while the update gates keep h; the path through n multiplies W and σ', φ' "
                 "at every step, as an Elman RNN's does.")
        here = f"‖Π z<k>‖ = {prod:.4g}, ‖∂h<T>/∂h<0>‖ = {full:.4g} through every path"
    out += ["", "  " + words, f"  Here, from t = 0 to T = {T}: {here}."]
    return [line.translate(_ASCII) for line in out] if ascii_only else out


def report_json(net, rows: list) -> list:
    gate = "f" if net.cell == "lstm" else "z"
    return [{"t": t, "gate": gate, "gate_product_norm": prod, **({"dcT_dct_norm": cell} if cell is not None else {}),
             "dhT_dht_norm": full} for t, prod, cell, full in rows]


def gated_evaluation_text(r: GatedEvaluation, ascii_only: bool = False) -> str:
    """eval's text: as an RNN's, with the cell path's table (``--report``) before the update."""
    text = rnn_evaluation_text(dataclasses.replace(r, report=None), ascii_only)
    if r.report is None:
        return text
    head, marker, tail = text.partition("\n\nAfter one step")
    table = "\n".join(report_lines(r.network, r.report, r.batch, ascii_only))
    return head.rstrip("\n") + "\n\n" + table + (marker + tail if marker else "\n")


def gated_evaluation_json(r: GatedEvaluation) -> str:
    data = json.loads(rnn_evaluation_json(dataclasses.replace(r, report=None)))
    if r.report is not None:
        data["report"] = report_json(r.network, r.report)
    return json.dumps(data, indent=1) + "\n"


def evaluate_gated(net, data: dict, lr: float | None = None, truncate: int | None = None, report: bool = False):
    """eval for the kind: (text writer, JSON writer, GatedEvaluation), as every kind's evaluate."""
    return gated_evaluation_text, gated_evaluation_json, evaluate(net, data, lr, truncate, report)
