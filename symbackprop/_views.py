"""How results look in a REPL and in Jupyter: short reprs, the check table, cards.

Every public object's ``repr`` is one line under 200 characters (what it is, its size,
what it holds); Jupyter shows a check report as an HTML table, a verdict as a ✓/✗ card
and a big derivation as a summary.  Functions here take the objects as they are and
import none of their classes.

>>> short("Network", "2-3-1, g, mse, no biases")
'<Network 2-3-1, g, mse, no biases>'
"""
from __future__ import annotations

from html import escape

MAX_REPR = 199
#: a derivation with at most this many parameters is shown whole in Jupyter; above, a summary
MAX_SHOWN_WHOLE = 200
SUMMARY_GRADIENTS = 6


def short(kind: str, what: str) -> str:
    """``<kind what>``, cut to fit under 200 characters."""
    room = MAX_REPR - len(kind) - 3
    return f"<{kind} {what if len(what) <= room else what[:room - 1] + '…'}>"


def number(v: float) -> str:
    """Twelve significant digits: enough to compare by eye, short enough to read.

    >>> number(0.1 + 0.2), number(-0.0)
    ('0.3', '0')
    """
    return f"{v + 0.0:.12g}"          # + 0.0: a product with a zero factor may be −0.0; it is 0


def evaluation_repr(r) -> str:
    """An evaluation (eval's numbers) in one line."""
    return short(type(r).__name__, f"of the {r.network.describe()}: E = {r.loss:.6g} over "
                                   f"{r.batch} sample{'s' if r.batch > 1 else ''}")


def check_table(report) -> str:
    """The check report as the CLI prints it: notes, a table of pairs, the verdict."""
    net = report.network
    lines = [f"Cross-check of {net.describe()}: {report.samples} random point{'s' if report.samples > 1 else ''}", ""]
    lines += [f"note: {n}" for n in report.notes] + ([""] if report.notes else [])
    header = ("pair", "layer", "max abs error", "max rel error", "tolerance (rel)", "ok")
    rows = [(r.pair, r.layer, f"{r.max_abs:.2e}", f"{r.max_rel:.2e}", f"{r.rtol:.0e}", "yes" if r.ok else "NO")
            for r in report.rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "| " + " | ".join("{:<%d}" % w for w in widths) + " |"
    lines += [fmt.format(*header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*row) for row in rows] + [""]
    if report:
        lines.append("All agree.")
    for r in report.failures:
        lines.append(f"DISAGREE: {r.pair}, {r.layer}: at {r.worst} {number(r.value)} vs {number(r.other)} "
                     f"(abs error {r.max_abs:.2e}, rel error {r.max_rel:.2e}, tolerance {r.rtol:.0e})")
    return "\n".join(lines) + "\n"


def check_html(report) -> str:
    """The check report as an HTML table, the disagreeing rows marked."""
    head = "".join(f"<th>{h}</th>" for h in ("pair", "layer", "max abs error", "max rel error", "tolerance", "ok"))
    body = "".join(
        f"<tr><td>{escape(r.pair)}</td><td>{escape(r.layer)}</td><td>{r.max_abs:.2e}</td><td>{r.max_rel:.2e}</td>"
        f"<td>{r.rtol:.0e}</td><td>{'✓' if r.ok else '<b>✗</b>'}</td></tr>" for r in report.rows)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    verdict = "All agree." if report else f"{len(report.failures)} row(s) disagree."
    return (f"<div><p><b>Cross-check of {escape(report.network.describe())}</b>: {report.samples} random "
            f"point{'s' if report.samples > 1 else ''}. {verdict}</p>" + (f"<ul>{notes}</ul>" if notes else "")
            + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def verdict_html(v, expected: str) -> str:
    """A ✓/✗ card: the equation, and for a wrong one the named mistake and the expected answer."""
    colour, mark = ("#1a7f37", "✓") if v.right else ("#cf222e", "✗")
    lines = [f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
             f"<span style='color:{colour};font-weight:bold'>{mark}</span> <code>{escape(v.equation)}</code>"]
    if v.right:
        lines.append(" — confirmed symbolically" if v.confirmed else " — agrees at random points")
    else:
        if v.diagnosis:
            lines.append(f"<br/>mistake: {escape(v.diagnosis)}")
        lines.append(f"<br/>expected: <code>{escape(expected)}</code>")
        if v.counterexample:
            c = v.counterexample
            lines.append(f"<br/>e.g. yours {c['yours']:.6g}, expected {c['expected']:.6g}")
    return "".join(lines) + "</div>"


def derivation_summary(d, fmt, loss) -> str:
    """A big derivation in a few lines (Markdown with math): what it is, its counts, the first
    gradients in δ form; the whole is one call away."""
    net = d.network
    rows = [f"{fmt.partial(loss, d.parameter(name))} &= {fmt.expr(d.gradients[name])}"
            for name in d.selected[:SUMMARY_GRADIENTS]]
    more = len(d.gradients) - len(rows)
    return "\n".join([
        f"**Backpropagation for the {escape(net.describe())}**", "",
        f"{net.n_parameters:,} parameters, {len(d.deltas):,} error signals; "
        f"{len(rows)} of its {len(d.gradients):,} gradients:", "",
        "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$", "",
        f"The other {more:,} have the same forms. The whole derivation: `print(d)`, `d.to_latex()` or `d.to_markdown()`." if more else
        "The whole derivation: `print(d)`, `d.to_latex()` or `d.to_markdown()`."])
