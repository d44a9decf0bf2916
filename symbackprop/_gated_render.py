"""An LSTM's or GRU's derivation written out: one walk, every format (text, LaTeX, Markdown; JSON).

Forward pass per step; the loss; back through time (each output's error, then per step,
from the last back, ∂E/∂h, ∂E/∂c and every gate's δ, each by the chain rule over what the
node feeds); each shared weight's gradient as a sum over the steps; the general and matrix
forms with their checks (``_gated_forms.py``); why the cell path keeps the error alive; the
update.  No math is done here.

>>> import symbackprop as sb
>>> d = sb.derive(sb.rnn(2, 1, None, 2, cell="lstm", output="hidden"))
>>> print(d.to_text().splitlines()[0])
Backpropagation through time for the LSTM 2-1 network (T = 2)
"""
from __future__ import annotations

import json

from ._conv_patterns import prose
from ._conv_render import proof_section
from ._document import TEXT_WIDTH, fragment
from ._formats import TextFormat, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._gated_derive import GatedDerivation
from ._gated_patterns import forms_section, forward_rules, matrix_section, path_section
from ._gated_names import gsym, parse
from ._graph import E
from ._printing import plain
from ._render_recurrent import output_rows

#: a model of at most this many equations is listed whole; a larger one, the first and last steps
MAX_LISTED = 60


def titles(d: GatedDerivation, fmt) -> tuple:
    net = d.network
    head = prose(fmt, f"Backpropagation through time for the {net.cell.upper()} {net.shape()} network (T = {net.steps})")
    parts = [f"{net.activation.name} cell", f"{net.output_activation.name} outputs" if net.dense else "loss on h",
             f"loss {fmt.words(net.loss.name)}", "biases" if net.bias else "no biases"]
    if d.truncate is not None:
        parts.append(f"truncated every {d.truncate} step{'s' if d.truncate > 1 else ''}")
    return head, "; ".join(parts)


def shown_steps(d: GatedDerivation) -> list:
    """The steps written out: all, or the first two and the last when the network is large."""
    T = d.network.steps
    if len(d.sweep.model.equations) <= MAX_LISTED or T <= 3:
        return list(range(1, T + 1))
    return [1, 2, T]


def _cut(d, fmt) -> list:
    shown = shown_steps(d)
    if len(shown) == d.network.steps:
        return []
    return [("para", f"(shown for steps {', '.join(map(str, shown))}; the other steps are alike)")]


def _forward(d: GatedDerivation, fmt):
    items = forward_rules(d.network, fmt)
    for t in shown_steps(d):
        rows = [(None, [fmt.expr(eq.node), fmt.expr(eq.expr)]) for eq in d.sweep.model.equations[:-1]
                if parse(eq.node.name)[3] == t]
        items += [("para", f"Step {t}:"), ("eqs", rows)]
    items += _cut(d, fmt)
    start = fmt.inline_math(fmt.expr(gsym("h", 1, t=0)))
    if d.network.cell == "lstm":
        start += " and " + fmt.inline_math(fmt.expr(gsym("c", 1, t=0)))
    items.append(("para", f"The starting state ({start} and the rest of step 0) is given: 0 unless a values file says "
                          "otherwise."))
    return ("Forward pass", items)


def _loss(d: GatedDerivation, fmt):
    net = d.network
    items = [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])]
    if net.loss.kink:
        items.append(("para", f"The derivative of each term is {net.loss.kink}."))
    return (f"Loss ({net.loss.description}, summed over the steps)", items)


def _upstream_name(d, fmt, node):
    """How the chain rule names ∂E/∂node of a node a path starts from: its δ, ∂E/∂q, or E itself."""
    eq = d.sweep.model.by_node.get(node)
    if node == E:
        return None, 1
    if eq is not None and eq.delta is not None:
        return fmt.expr(eq.delta), eq.delta
    return fmt.partial(E, node), d.errors.get(node.name, d.sweep.adjoint.get(node))


def _row(d: GatedDerivation, fmt, eq) -> tuple:
    """δ = ∂E/∂n = the chain rule over every path to a named δ (or an output's error) = its factors = the sum."""
    s = d.sweep
    stop = lambda c: c.delta is not None or c.node.name in d.errors        # noqa: E731
    paths = s.paths(eq.node, stop)
    chains, values = [], []
    for path in paths:
        name, up = _upstream_name(d, fmt, path[0].of)
        links = [fmt.partial(p.of, p.by) for p in path]
        chains.append(fmt.mul.join(([name] if name else []) + links))
        values.append(fmt.product([up, *[p.value for p in path]]))
    sides = [fmt.expr(eq.delta), fmt.partial(E, eq.node), fmt.total(chains) if chains else "0",
             fmt.total(values) if values else "0", fmt.expr(s.adjoint[eq.node])]
    for n in (4, 3, 2):
        if sides[n] == sides[n - 1]:
            del sides[n]
    return (None, sides)


def _backward(d: GatedDerivation, fmt):
    net, items = d.network, []
    intro = ("The error reaches each hidden state from its own step's output and from every gate of the next step; "
             "the LSTM's cell state also from the next cell state, through the forget gate. ") if net.cell == "lstm" \
        else "The error reaches each hidden state from its own step's output and from the next step's gates and h. "
    items.append(("para", prose(fmt, intro + "Each row is the chain rule over every path to a named δ, its factors, "
                                             "and the sum.")))
    if d.output_steps:
        rows = output_rows(d.output_steps, shown_steps(d), fmt)
        items += [("para", "Output errors, each step's own:"), ("eqs", rows)]
    by_step: dict = {}
    for eq in d.sweep.model.equations[:-1]:
        if eq.delta is not None:
            by_step.setdefault(parse(eq.node.name)[3], []).append(eq)
    for t in sorted(shown_steps(d), reverse=True):
        order = sorted(by_step[t], key=lambda eq: ("hcifogznr".index(parse(eq.delta.name)[1]), eq.node.name))
        items += [("para", f"Step {t}:"), ("eqs", [_row(d, fmt, eq) for eq in order])]
    items += _cut(d, fmt)
    if d.truncate is not None:
        items.append(("para", prose(fmt, f"Truncated BPTT (K = {d.truncate}): no error crosses back from step mK + 1 "
                                         "to step mK (m = 1, 2, …): the states of step mK are detached there.")))
    return ("Back through time " + fmt.inline_math(f"{fmt.letter('delta')} = {fmt.inline_partial('E', 's')}"), items)


def _gradients(d: GatedDerivation, fmt):
    items = []
    for step in d.steps:
        p, lhs = step.parameter, fmt.partial(E, step.parameter)
        chain = fmt.total([fmt.mul.join([fmt.expr(up) if up != 1 else "1", fmt.partial(node, p)])
                           for _, node, _, up in step.uses]) or "0"
        product = fmt.total([fmt.product([up, local]) for _, _, local, up in step.uses]) or "0"
        rows = [("chain rule", [lhs, chain]), ("product", [lhs, product])]
        if step.expanded is not None:
            rows.append(("expanded", [lhs, fmt.expr(step.expanded)]))
        items += [("head", p), ("eqs", rows)]
    items.append(("para", prose(fmt, f"Every weight is shared over the {d.network.steps} steps: its gradient is the sum "
                                     "over the steps of what it multiplies times the δ of the sum it feeds.")))
    skipped = d.network.n_parameters - len(d.steps)
    if skipped:
        items.append(("para", f"The other {skipped:,} parameters follow the general forms below."))
    return ("Gradients, step by step", items)


def walk(d: GatedDerivation, fmt) -> str:
    firsts: dict = {}
    for p in d.network.parameters():
        firsts.setdefault(parse(p.name)[:2], p)
    params = list(firsts.values())
    sections = [_forward(d, fmt), _loss(d, fmt), _backward(d, fmt), _gradients(d, fmt), forms_section(d, fmt),
                matrix_section(d, fmt), path_section(d, fmt),
                ("Update", [("update", params),
                            ("para", f"for every parameter of each kind (shown: the first), where "
                                     f"{fmt.inline_math(fmt.eta)} is the learning rate; every parameter is updated at "
                                     "once, from its value before the update.")])]
    if d.proof is not None:
        sections.append(proof_section(d, fmt))
    if getattr(fmt, "ascii_only", False):        # the prose's few symbols as words
        sections = [(prose(fmt, head), [(kind, prose(fmt, c) if kind == "para" else c) for kind, c in items])
                    for head, items in sections]
    return fmt.document(*titles(d, fmt), sections)


def render_text(d: GatedDerivation, ascii_only: bool = False) -> str:
    fmt = TextFormat(ascii_only)
    return written(walk(d, fmt), fmt)


def render_latex(d: GatedDerivation, standalone: bool = False) -> str:
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk(d, fmt)
    if not standalone:
        return written(fragment(body), fmt)
    from ._document import _article
    from ._gated_draw import draw_gated
    cell = "LSTM" if d.network.cell == "lstm" else "GRU"
    section = ("\\subsection*{The network}\nThe cell once, with its gates, and the network unrolled over the steps; "
               f"every {cell} box is the same cell with the same weights.\n\n\\begin{{center}}\n"
               "\\resizebox{\\linewidth}{!}{" + draw_gated(d.network) + "}\n\\end{center}\n\n")
    return written(_article(*titles(d, fmt), section, body), fmt)


def render_markdown(d: GatedDerivation) -> str:
    fmt = MarkdownFormat()
    return written(walk(d, fmt), fmt)


def as_dict(d: GatedDerivation, expanded: bool | None = None) -> dict:
    """The derivation as plain data (DESIGN.md §2.4), with each general form's check."""
    out = {"spec": d.network.as_dict(), "truncate": d.truncate,
           "forward": {k: plain(v) for k, v in d.forward.items()}, "loss": plain(d.loss),
           "output_error": {k: plain(v) for k, v in d.errors.items()},
           "delta": {k: plain(v) for k, v in d.deltas.items()},
           "gradient": {k: plain(v) for k, v in d.gradients.items()},
           "forms": [{"kind": f.kind, "instances": f.instances, "holds": f.holds} for f in d.forms]}
    if expanded if expanded is not None else d.expanded_wanted:
        out["expanded"] = {k: plain(d.expanded(k)) for k in d.gradients}
    if d.proof is not None:
        out["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return out


def render_json(d: GatedDerivation, expanded: bool | None = None) -> str:
    return json.dumps(as_dict(d, expanded), indent=1, ensure_ascii=True) + "\n"


GatedDerivation.writers.update(text=render_text, latex=render_latex, markdown=render_markdown, json=render_json)
