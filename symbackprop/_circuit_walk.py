"""A graph's backprop written out, gate by gate, in every format (text, LaTeX, Markdown, HTML, JSON).

One walk over the derivation's steps decides what is said; the formats (``_formats.py``,
``_formats_tex.py``, ``_html_format.py``) decide how it looks.  Each gate, from the output
back: the upstream gradient (summed over its consumers where it has several), the local
gradient of each input, and upstream × local = the gradient handed down.

>>> import symbackprop as sb
>>> text = sb.derive(sb.graph("q = x + y; f = q*z"), at="x=-2,y=5,z=-4").to_text()
>>> for line in text.splitlines():
...     if "downstream" in line:
...         print(line)
  downstream  ∂f/∂f·∂f/∂q = 1·z = 1·(−4) = −4
  downstream  ∂f/∂q·∂q/∂x = ∂f/∂q·1 = (−4)·1 = −4
"""
from __future__ import annotations

import json

import sympy

from ._circuit_derive import MAX_JSON_SIZE, GraphDerivation, size
from ._document import TEXT_WIDTH, _article, fragment
from ._formats import TextFormat, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._circuit_functions import SIGMOID
from ._printing import plain

_X, _N = sympy.Symbol("u"), sympy.Symbol("n")
#: what each gate does to the gradient, in words; {0}, {1}: the formulas after it, set as math
GATES = {
    "add": ("an add gate: it hands the upstream gradient on to each input unchanged (local gradient {0}, or {1} "
            "for a subtracted input)", (sympy.S.One, sympy.S.NegativeOne)),
    "multiply": ("a multiply gate: each input's local gradient is the other input, so the inputs swap", ()),
    "scale": ("a scale gate: the local gradient is the constant", ()),
    "max": ("a max gate: it routes the upstream gradient to the larger input; the other gets {0}", (sympy.S.Zero,)),
    "min": ("a min gate: it routes the upstream gradient to the smaller input; the other gets {0}", (sympy.S.Zero,)),
    "reciprocal": ("a {0} gate: its local gradient is {1}", (1 / _X, -1 / _X ** 2)),
    "square": ("a square gate, {0}: its local gradient is {1}", (_X ** 2, 2 * _X)),
    "power": ("a power gate, {0}: its local gradient is {1}", (_X ** _N, _N * _X ** (_N - 1))),
    "exp": ("an exp gate: its local gradient is its own output", ()),
    "log": ("a log gate, {0}: its local gradient is {1}", (sympy.log(_X), 1 / _X)),
    "sigmoid": ("a sigmoid gate, {0}: its local gradient is its output times one minus its output, {1}",
                (SIGMOID(_X), SIGMOID(_X) * (1 - SIGMOID(_X)))),
    "tanh": ("a tanh gate, {0}: its local gradient is one minus its output squared, {1}",
             (sympy.tanh(_X), 1 - sympy.tanh(_X) ** 2)),
    "relu": ("a ReLU gate: it passes the upstream gradient where its input is positive and blocks it elsewhere", ()),
    "abs": ("an abs gate: its local gradient is the sign of its input", ()),
    "identity": ("a copy: its local gradient is {0}", (sympy.S.One,)),
    "expression": ("an equation of several operations: its local gradients come from differentiating it", ()),
}


def shown(v: float) -> sympy.Expr:
    """A number as lecture notes write it: whole numbers exactly, others to 4 significant digits
    (0.5, not 0.5000)."""
    r = f"{v:.4g}"
    if v == int(v) and abs(v) < 1e15 or float(r) == int(float(r)) and "e" not in r:
        return sympy.Integer(int(v if v == int(v) else float(r)))
    digits = r.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return sympy.Float(r, max(1 + ("e" in r), len(digits)))


def _math(fmt, e) -> str:
    return fmt.inline_math(fmt.expr(e))


def _times(fmt, a: str, b: str) -> str:
    return fmt.joined([("", a), (fmt.mul, b)])


def _sentence(d: GraphDerivation, fmt, step, seen=None) -> str:
    """What the gate is and does; a kind of gate ``seen`` before is only named."""
    net = d.network
    words, formulas = GATES.get(step.kind, (f"a {fmt.words(step.kind)} gate", ()))
    if seen is not None and step.kind in seen:
        words = words.split(":")[0].split(", {")[0] + " (as above)"
    elif seen is not None:
        seen.add(step.kind)
    said = words.format(*[_math(fmt, f) for f in formulas])
    m = fmt.inline_math(f"{fmt.expr(step.node)} = {fmt.expr(d.forward[step.node.name])}")
    if step.kind in ("max", "min") and d.values is not None:
        winner = next((loc.by for loc in step.locals if loc.number == 1), None)
        if winner is not None:
            said += f"; here {_math(fmt, winner)} takes it"
    return f"{m} is {said}" + ("; it is the output." if step.node == net.output else ".")


def _row(fmt, label, lhs: str, *sides) -> tuple:
    """One row, its sides on one line: lhs = side = side … (a long one breaks at an = in LaTeX)."""
    return (label, [lhs, fmt.joined([("", sides[0])] + [(" = ", side) for side in sides[1:]])])


def _named(d: GraphDerivation, fmt, step) -> str:
    """∂f/∂n over its consumers' named gradients, each term upstream · local (no nested fractions)."""
    out = d.network.output
    return fmt.total([fmt.product([sympy.S.One if c == out else d.symbols[f"d{out.name}/d{c.name}"], local])
                      for c, local in step.upstream])


def _gate(d: GraphDerivation, fmt, step) -> list:
    """The rows of one gate: upstream, local gradients, downstream."""
    out = d.network.output
    number = (lambda v: [fmt.expr(shown(v))] if v is not None else [])
    grad_of = (lambda n: fmt.partial(out, n))
    if step.node == out:
        rows = [_row(fmt, "upstream", grad_of(out), fmt.expr(sympy.S.One))]
    else:
        fan = len(step.upstream) > 1      # a fan-out: what the consumers hand down adds up
        chain = [fmt.total([_times(fmt, grad_of(c), fmt.partial(c, step.node)) for c, _ in step.upstream])] * fan
        rows = [_row(fmt, "upstream" + ", summed" * fan, grad_of(step.node), *chain, _named(d, fmt, step),
                     *number(step.gradient_number))]
    for n, loc in enumerate(step.locals):
        sides = [fmt.expr(loc.value)] + ([fmt.expr(loc.alt)] if loc.alt is not None else [])
        sides += number(loc.number) if not loc.value.is_Number else []
        rows.append(_row(fmt, "" if n else "local", fmt.partial(step.node, loc.by), *sides))
    upstream = fmt.expr(sympy.S.One if step.node == out else d.symbols[f"d{out.name}/d{step.node.name}"])
    for n, loc in enumerate(step.locals):
        sides = [_times(fmt, upstream, fmt.factor(loc.value))]
        if loc.number is not None:
            sides += [_times(fmt, fmt.factor(shown(step.gradient_number)), fmt.factor(shown(loc.number)))]
            sides += number(loc.down_number)
        rows.append(_row(fmt, "" if n else "downstream", _times(fmt, grad_of(step.node),
                                                                   fmt.partial(step.node, loc.by)), *sides))
    return rows


def _forward(d: GraphDerivation, fmt):
    net, items = d.network, []
    leaves = ", ".join(_math(fmt, s) for s in net.leaves)
    if net.staged:
        whole = fmt.inline_math(f"{fmt.expr(net.output)} = {fmt.expr(d.nested_loss())}")
        gates = [_math(fmt, n) for n in net.nodes]
        items.append(("para", f"The equation {whole} is staged into gates, one operation each, named after the "
                              f"output: {', '.join(gates)}; the last is the output. The leaves are {leaves}."))
    else:
        items.append(("para", f"Each equation is a node; the leaves {leaves} are the names no equation defines, "
                              f"and the output is {_math(fmt, net.output)}."))
    if d.values is not None:
        at = ", ".join(f"{fmt.expr(s)} = {fmt.expr(shown(d.values[s.name]))}" for s in net.leaves)
        items.append(("para", f"At {fmt.inline_math(at)}:"))
    rows = [_row(fmt, None, fmt.expr(n), fmt.expr(e), *([fmt.expr(shown(d.values[n.name]))] if d.values else []))
            for n, e in net.equations]
    return ("Forward pass", items + [("eqs", rows)])


def _backward(d: GraphDerivation, fmt):
    out = d.network.output
    items = [] if fmt.brief else [("para", (
        f"Backwards from {fmt.inline_math(fmt.partial(out, out) + ' = 1')}, each gate multiplies the gradient "
        "it receives from above (upstream) by its local gradient for each input, and hands the product down; "
        "where a value feeds several gates, what they hand down adds up."))]
    seen: set = set()
    for step in d.steps:
        if step.kind != "leaf":
            items += [("para", _sentence(d, fmt, step, seen)), ("eqs", _gate(d, fmt, step))]
    return ("Backward pass, gate by gate", items)


def _results(d: GraphDerivation, fmt):
    out, rows, fans = d.network.output, [], []
    for step in d.steps:
        if step.kind != "leaf" or step.node.name not in d.selected:
            continue
        sides = [fmt.partial(out, step.node)]
        if [c for c, _ in step.upstream] != [out]:
            sides.append(fmt.total([_times(fmt, fmt.partial(out, c), fmt.partial(c, step.node))
                                    for c, _ in step.upstream]))
        sides.append(_named(d, fmt, step))
        expanded = d.shown_expanded(step.node.name)
        sides += [fmt.expr(expanded)] if expanded is not None else []
        sides += [fmt.expr(shown(step.gradient_number))] if step.gradient_number is not None else []
        rows.append((f"{len(step.upstream)} paths" if len(step.upstream) > 1 else None, sides))
        if len(step.upstream) > 1:
            fans.append(f"{_math(fmt, step.node)} feeds {len(step.upstream)} gates")
    items = [("eqs", rows)]
    if fans:
        items.append(("para", "Where a value feeds several gates, its gradient is the sum of what each hands "
                              f"down (+=): {'; '.join(fans)}."))
    return (f"Gradients of {fmt.inline_math(fmt.expr(out))} by the leaves", items)


def _proof(d: GraphDerivation, fmt):
    rows = [(f"proved by {how}" if how else "NOT PROVED", [fmt.partial(d.network.output, d.symbols[k]),
                                                           fmt.expr(d.gradients[k])]) for k, how in d.proof.items()]
    return ("Proof", [("para", "Each gradient, every named gradient and node substituted, minus sympy.diff of the "
                               "nested output, is zero."), ("eqs", rows)])


def titles(d: GraphDerivation, fmt) -> tuple[str, str]:
    net = d.network
    leaves = ", ".join(_math(fmt, s) for s in net.leaves)
    return (f"Backpropagation through the graph of {_math(fmt, net.output)}",
            f"leaves {leaves}; {len(net.equations)} node{'s' * (len(net.equations) > 1)}")


def walk(d: GraphDerivation, fmt) -> str:
    sections = [_forward(d, fmt), _backward(d, fmt), _results(d, fmt)]
    if d.proof is not None:
        sections.append(_proof(d, fmt))
    return fmt.document(*titles(d, fmt), sections)


def render_text(d: GraphDerivation, ascii_only: bool = False) -> str:
    fmt = TextFormat(ascii_only)
    return written(walk(d, fmt), fmt)


def render_latex(d: GraphDerivation, standalone: bool = False) -> str:
    from ._circuit_draw import tikz
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk(d, fmt)
    if not standalone:
        return written(fragment(body), fmt)
    legend = " Values are above the edges (green), gradients below (red)." if d.values is not None else ""
    drawing = ("\\subsection*{The graph}\nEach gate is a circle, its node's name above it; the leaves are on the "
               f"left.{legend}\n\n\\begin{{center}}\n{tikz(d, (16.0, 20.0))}\\end{{center}}\n\n")
    return written(_article(*titles(d, fmt), drawing, body), fmt)


def render_markdown(d: GraphDerivation) -> str:
    fmt = MarkdownFormat()
    return written(walk(d, fmt), fmt)


def as_dict(d: GraphDerivation) -> dict:
    out = {"spec": d.network.as_dict(), "forward": {k: plain(v) for k, v in d.forward.items()},
           "output": d.network.output.name, "delta": {k: plain(v) for k, v in d.deltas.items()},
           "gradient": {k: plain(v) for k, v in d.gradients.items()}}
    if d.expanded_wanted is not False and d.expandable:        # each one short enough to write out
        forms = {k: d.expanded(k) for k in d.gradients}
        out["expanded"] = {k: plain(e) for k, e in forms.items() if size(e) <= MAX_JSON_SIZE}
    if d.values is not None:
        out["values"] = d.values
    if d.proof is not None:
        out["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return out


def render_json(d: GraphDerivation, expanded: bool | None = None) -> str:
    return json.dumps(as_dict(d), indent=1, ensure_ascii=True) + "\n"


GraphDerivation.writers.update(text=render_text, latex=render_latex, markdown=render_markdown, json=render_json)
