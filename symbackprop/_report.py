"""Numeric results as text and JSON: eval's values and cost's table (check's table is str(report), _views.py).

>>> print(number(0.1 + 0.2))
0.3
"""
from __future__ import annotations

import json

from ._evaluate import Evaluation, RNNEvaluation
from ._names import text_name
from ._views import number


def _values(vs) -> str:
    return number(vs[0]) if len(vs) == 1 else "[" + ", ".join(number(v) for v in vs) + "]"


def _evaluation_lines(r, ascii_only: bool, what: str, unit: str) -> list:
    """The lines every evaluation has: title, forward values, E, error signals, gradients."""
    name = (lambda n: text_name(n, ascii_only))
    d = "d" if ascii_only else "∂"
    samples = f"{r.batch} {unit}{'s' if r.batch > 1 else ''}"
    how = "" if r.batch == 1 else f"; E and the gradients are the {r.reduction} over the {unit}s"
    out = [f"Values for {what} ({samples}{how})", "", "Forward pass"]
    out += [f"  {name(k)} = {_values(v)}" for k, v in r.forward.items()]
    out += ["", "Loss", f"  E = {number(r.loss)}", "", "Error signals"]
    out += [f"  {name(k)} = {_values(v)}" for k, v in r.delta.items()]
    return out + ["", "Gradients"] + [f"  {d}E/{d}{k} = {number(v)}" for k, v in r.gradient.items()]


def evaluation_text(r: Evaluation, ascii_only: bool = False) -> str:
    out = _evaluation_lines(r, ascii_only, r.network.describe(), "sample")
    if r.updated is not None:
        eta = "eta" if ascii_only else "η"
        out += ["", f"After one step ({eta} = {number(r.lr)}; every parameter from its value before the update)"]
        out += [f"  {k} = {number(v)}" for k, v in r.updated.items()]
    return "\n".join(out) + "\n"


def evaluation_json(r: Evaluation) -> str:
    single = r.batch == 1
    data = {
        "loss": r.loss,
        "forward": {k: (v[0] if single else v) for k, v in r.forward.items()},
        "delta": {k: (v[0] if single else v) for k, v in r.delta.items()},
        "gradient": r.gradient,
        "updated": r.updated,
    }
    return json.dumps(data, indent=1) + "\n"


def cost_text(net, batch: int, rows) -> str:
    """The cost table: operations and times, forward against forward + backward."""
    def fmt(v, spec):
        return "—" if v is None else format(v, spec)
    head = ("approach", "forward ops", "fwd+bwd ops", "ratio (ops)", "forward time", "fwd+bwd time", "ratio (time)")
    body = [(r.approach, fmt(r.forward_ops, ","), fmt(r.total_ops, ","), fmt(r.op_ratio, ".2f"),
             fmt(r.forward_s and r.forward_s * 1e6, ",.1f") + (" µs" if r.forward_s else ""),
             fmt(r.total_s and r.total_s * 1e6, ",.1f") + (" µs" if r.total_s else ""), fmt(r.time_ratio, ".2f"))
            for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    line = "| " + " | ".join("{:<%d}" % w for w in widths) + " |"
    out = [f"Cost of the gradient for {net.describe()} ({net.n_parameters:,} parameters), "
           f"batch {batch}: multiplications and additions per sample, and median times", "",
           line.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line.format(*row) for row in body]
    out.append("")
    out += [f"note: {r.note}" for r in rows if r.note]
    out.append("Backprop gets every gradient for about the cost of two forward passes; taking each "
               "weight's derivative on its own costs about a forward pass per weight.")
    return "\n".join(out) + "\n"


def rnn_evaluation_text(r: RNNEvaluation, ascii_only: bool = False) -> str:
    out = _evaluation_lines(r, ascii_only, f"the {r.network.describe()}", "sequence")
    d = "d" if ascii_only else "∂"
    if r.truncated is not None:
        cut = ", ".join(str(t) for t in range(r.truncate, r.network.steps, r.truncate))
        delta = "delta" if ascii_only else "δ"
        out += ["", f"Truncated to chunks of {r.truncate} step{'s' if r.truncate > 1 else ''} "
                    + (f"({delta}<t+1> is not carried back to steps {cut})" if cut else "(nothing is cut)")]
        out += [f"  {d}E/{d}{k} = {number(v)}   (full − truncated = {number(r.gradient[k] - v)})"
                for k, v in r.truncated.items()]
        out.append(f"  relative distance from the full gradient: {r.distance:.3e}")
    if r.report is not None:
        dh, prod = ("|dE/dh<t>|", "|dh<T>/dh<t>|") if ascii_only else ("‖∂E/∂h<t>‖", "‖∂h<T>/∂h<t>‖")
        out += ["", "Vanishing and exploding gradients" + (" (first sequence)" if r.batch > 1 else ""),
                f"  {'t':>4}  {dh:>14}  {prod:>14}"]
        out += [f"  {t:>4}  {('' if g is None else f'{g:.4e}'):>14}  {p:>14.4e}" for t, g, p in r.report]
    if r.updated is not None:
        eta = "eta" if ascii_only else "η"
        which = "the truncated gradient" if r.truncated is not None else "the gradient"
        out += ["", f"After one step ({eta} = {number(r.lr)}, with {which}; every parameter from its value before the update)"]
        out += [f"  {k} = {number(v)}" for k, v in r.updated.items()]
    return "\n".join(out) + "\n"


def rnn_evaluation_json(r: RNNEvaluation) -> str:
    single = r.batch == 1
    data = {"loss": r.loss, "forward": {k: (v[0] if single else v) for k, v in r.forward.items()},
            "delta": {k: (v[0] if single else v) for k, v in r.delta.items()}, "gradient": r.gradient,
            "updated": r.updated}
    if r.truncated is not None:
        data["truncated"] = {"steps": r.truncate, "gradient": r.truncated, "relative_distance": r.distance}
    if r.report is not None:
        data["report"] = [{"t": t, "dE_dh_norm": g, "dhT_dht_norm": p} for t, g, p in r.report]
    return json.dumps(data, indent=1) + "\n"
