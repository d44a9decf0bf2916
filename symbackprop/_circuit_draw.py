"""A graph drawn as a circuit: leaves on the left, one circle a gate, the output on the right.

Each node sits one column right of the latest node it uses; within a column, nodes follow
the mean height of their inputs.  At a point, every edge carries the value flowing along it
above (green) and the gradient flowing back below (red), as lecture slides draw them.  One
layout (``_layout.Layout``) is written as TikZ (``_document.picture``) and as SVG.

>>> import symbackprop as sb
>>> from symbackprop._circuit_derive import derive_graph
>>> picture = tikz(derive_graph(sb.graph("q = x + y; f = q*z"), at="x=-2,y=5,z=-4"))
>>> "$\\\\times$" in picture and "{$-12$}" in picture and "{$-4$}" in picture
True
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ._activations import ACTIVATIONS
from ._circuit import latex_of
from ._document import DRAWING_PREAMBLE, highlight, picture
from ._labels import RADIUS
from ._layout import Edge, Layout, Node
from ._svg import FONT, SCALE, _Canvas, _edge, _fmt, _node

#: the colours of values (above an edge) and gradients (below)
STYLES = "val/.style={font=\\scriptsize,text=green!45!black},grad/.style={font=\\scriptsize,text=red!75!black}"
SVG_COLOURS = {"val": "#2b7a2b", "grad": "#b22222"}
_OPS = {"multiply": ("\\times", "×"), "reciprocal": ("1/x", "1/x"), "square": ("x^{2}", "x²"), "max": ("\\max", "max"),
        "min": ("\\min", "min"), "abs": ("|x|", "|x|"), "identity": ("=", "="), "exp": ("\\exp", "exp"),
        "log": ("\\log", "log"), "tanh": ("\\tanh", "tanh"), "sin": ("\\sin", "sin"), "cos": ("\\cos", "cos")}


def number(v: float) -> str:
    """A number on an edge: whole numbers as they are, others to 3 significant digits."""
    return str(int(v)) if v == int(v) and abs(v) < 1e9 else f"{v:.3g}"


def _op(step, expr) -> tuple[str, str]:
    """What a gate's circle says, in LaTeX and in text: +, ×, σ, 1/x, ×(−1), +1, …"""
    kind = step.kind
    if kind == "add":
        constants = [a for a in expr.args if a.is_Number]
        negative = [a for a in expr.args if a.could_extract_minus_sign() and not a.is_Number]
        if constants and len(expr.args) == 2:
            c = constants[0]
            return (f"{'+' if c > 0 else '-'}{abs(c)}", f"{'+' if c > 0 else '−'}{abs(c)}")
        return ("-", "−") if negative and len(expr.args) == 2 else ("\\pm", "±") if negative else ("+", "+")
    if kind == "scale":
        c = next(a for a in expr.args if a.is_Number)
        return (f"\\times({c})", f"×({c})".replace("-", "−")) if c < 0 else (f"\\times {c}", f"×{c}")
    if kind == "power":
        return (f"x^{{{expr.exp}}}", f"x^{expr.exp}") if expr.exp.is_Number else ("x^{y}", "x^y")
    if kind in _OPS:
        return _OPS[kind]
    act = ACTIVATIONS.get(kind)
    if act is not None and act.latex:
        return (act.latex, "σ" if kind == "sigmoid" else kind)
    return (f"\\operatorname{{{kind}}}", kind)


def _script(name: str) -> tuple:
    """A name as SVG sets it: f1 as f with 1 below, x_in as x with in below."""
    m = re.fullmatch(r"([A-Za-z]+)_?([A-Za-z0-9]+)?", name) if "_" in name else re.fullmatch(r"([A-Za-z]+)([0-9]+)?", name)
    return (m.group(1), m.group(2) or "", "") if m else ()


def _places(ins: dict, outs: dict, column: dict, output) -> dict:
    """Each point's place in its column (0 the middle, counting down): first in the order a walk from
    the output meets them (what each node uses, as written), then a few sweeps moving each to the
    mean place of its inputs (left to right) or of its consumers (right to left): fewer crossings."""
    seen = []

    def visit(s):
        if s not in seen:
            seen.append(s)
            for i in ins.get(s, ()):
                visit(i)
    visit(output)
    last = max(column.values())
    cols = [[s for s in seen if column[s] == c] for c in range(last + 1)]

    def places():
        return {s: n - (len(col) - 1) / 2 for col in cols for n, s in enumerate(col)}
    for sweep in range(4):
        near = ins if sweep % 2 == 0 else outs
        for c in (range(1, last + 1) if sweep % 2 == 0 else range(last - 1, -1, -1)):
            at = places()
            cols[c].sort(key=lambda s: sum(at[t] for t in near[s]) / len(near[s]) if near.get(s) else at[s])
    return places()


@dataclass(frozen=True)
class Drawing:
    """The layout (nodes; the edges drawn straight), the edges bent through the columns they cross,
    and at a point the numbers on every edge."""

    layout: Layout
    bent: tuple             # (source id, target id, ((x, y), …))
    numbers: dict           # (source id, target id) → (value, gradient, where along the edge)


def drawing(d) -> Drawing:
    """Where the leaves, gates and output go; ids: l1… (leaves), g1… (gates), out.  A node sits one
    column right of the latest node it uses; an edge longer than a column bends through a point in each
    column it crosses, ordered with the nodes, so that it passes between them."""
    net, steps = d.network, {st.node: st for st in d.steps}
    column = {leaf: 0 for leaf in net.leaves}
    ins, outs = {}, {s: [] for s in net.leaves}
    for node in net.nodes:
        column[node] = 1 + max((column[s] for s in net.inputs(node)), default=0)
        ins[node], outs[node] = [], []
        for i in net.inputs(node):
            prev = i
            for c in range(column[i] + 1, column[node]):
                via = (i, node, c)
                column[via], ins[via], outs[via] = c, [prev], []
                outs[prev].append(via)
                prev = via
            ins[node].append(prev)
            outs[prev].append(node)
    spread = d.values is not None
    dx, dy = (3.0, 1.75) if spread else (2.2, 1.25)
    places = _places(ins, outs, column, net.output)
    tallest = max(sum(1 for s in column if column[s] == c) for c in set(column.values()))
    stretch = max(1.0, (tallest - 1) / max(1, len(net.leaves) - 1) * 0.8)     # the leaves spread out
    at = {s: (column[s] * dx, -place * dy * (stretch if s in net.leaves else 1)) for s, place in places.items()}
    ids = {s: f"l{n}" for n, s in enumerate(net.leaves, start=1)}
    ids.update({s: f"g{n}" for n, s in enumerate(net.nodes, start=1)})
    nodes = [Node(ids[s], -0.8 * spread, at[s][1], "input", f"${latex_of(s.name)}$", s.name, s.name, _script(s.name))
             for s in net.leaves]
    edges, bent = [], []
    for s, expr in net.equations:
        (x, y), kind = at[s], steps[s].kind
        if kind == "expression":
            nodes.append(Node(ids[s], x, y, "state", f"${latex_of(s.name)}$", s.name, s.name, _script(s.name)))
        else:
            tex, txt = _op(steps[s], expr)
            nodes += [Node(ids[s], x, y, "neuron", f"${tex}$", txt, s.name),
                      Node(f"name-{ids[s]}", x, y + 0.68, "text", f"${latex_of(s.name)}$", s.name, None,
                           _script(s.name))]
        for i in net.inputs(s):
            points = tuple(at[(i, s, c)] for c in range(column[i] + 1, column[s]))
            if points:
                bent.append((ids[i], ids[s], points))
            else:
                edges.append(Edge(f"edge-{ids[i]}-{ids[s]}", ids[i], ids[s], "weight"))
    out = net.output
    nodes.append(Node("out", at[out][0] + 1.5 + 0.4 * spread, at[out][1], "output", f"${latex_of(out.name)}$",
                      out.name, out.name, _script(out.name)))
    edges.append(Edge("edge-out", ids[out], "out", "output"))
    numbers = {}
    if spread:
        numbers[(ids[out], "out")] = (d.values[out.name], 1.0)
        for st in d.steps:
            numbers.update({(ids[loc.by], ids[st.node]): (d.values[loc.by.name], loc.down_number)
                            for loc in st.locals})
    lay = Layout(tuple(nodes), tuple(edges), False)
    return Drawing(lay, tuple(bent), _placed(lay, {(a, b): p for a, b, p in bent}, numbers))


def _placed(lay: Layout, bent: dict, numbers: dict) -> dict:
    """(value, gradient, pos) per edge: pos, the fraction along its first piece where its numbers go,
    the first of a few that keeps them off the numbers placed before and off the nodes."""
    taken = [(n.x, n.y, 0.5, 0.5) for n in lay.nodes if n.kind in ("neuron", "state")]
    found = {}
    for (a, b), (v, g) in sorted(numbers.items(), key=lambda kv: lay.node(kv[0][0]).kind == "input"):
        na = lay.node(a)
        ex, ey = bent[(a, b)][0] if (a, b) in bent else (lay.node(b).x, lay.node(b).y)
        half = 0.055 * max(len(number(v)), len(number(g))) + 0.05
        for pos in (0.5, 0.62, 0.38, 0.74, 0.28, 0.84):
            x, y = na.x + (ex - na.x) * pos, na.y + (ey - na.y) * pos
            if not any(abs(x - tx) < half + tw and abs(y - ty) < 0.3 + th for tx, ty, tw, th in taken):
                break
        taken.append((x, y, half, 0.3))
        found[(a, b)] = (v, g, pos)
    return found


def _first(lay: Layout, bent: dict, source: str, target: str) -> tuple:
    """The first straight piece of an edge, as TikZ ends (a node's name or a coordinate)."""
    points = bent.get((source, target))
    return (f"({source})", f"({points[0][0]:.2f},{points[0][1]:.2f})") if points else (f"({source})", f"({target})")


def tikz(d, fit: tuple | None = None, lit=None) -> str:
    """The tikzpicture; at a point, values above the edges and gradients below.  fit: (width, height)
    in cm to scale it into; lit: a node whose gate and input edges are drawn highlighted (style hl)."""
    pic = drawing(d)
    lay, bent = pic.layout, {(a, b): p for a, b, p in pic.bent}

    def through(a, b, style="->"):
        return f"\\draw[{style}] ({a}) -- " + " -- ".join(f"({x:.2f},{y:.2f})" for x, y in bent[(a, b)]) + f" -- ({b});"
    extra = [through(a, b) for a, b in bent]
    for (a, b), (v, g, pos) in pic.numbers.items():
        start, end = _first(lay, bent, a, b)
        extra.append(f"\\path {start} -- {end} node[pos={pos},above=1pt,sloped,val] {{${number(v)}$}} "
                     f"node[pos={pos},below=1pt,sloped,grad] {{${number(g)}$}};")
    if lit is not None:
        gate = next(n.id for n in lay.nodes if n.name == lit.name and n.kind in ("neuron", "state"))
        extra += highlight(lay, [e.id for e in lay.edges if e.target == gate], [gate], "hl")
        extra += [through(a, b, "->,hl") for a, b in bent if b == gate]
    options = [STYLES] if pic.numbers else []
    if fit is not None:
        x0, y0, x1, y1 = lay.bbox()
        options.insert(0, f"scale={min(1.0, fit[0] / (x1 - x0), fit[1] / (y1 - y0 + 0.8)):.3f},transform shape")
    return picture(lay, ",".join(options), extra)


def standalone_drawing(d) -> str:
    return DRAWING_PREAMBLE + "\\begin{document}\n" + tikz(d) + "\\end{document}\n"


class _Roomy(_Canvas):
    """The SVG canvas with room above and below for the numbers on the outer edges."""

    def __init__(self, lay: Layout):
        super().__init__(lay)
        self.y0, self.y1 = self.y0 - 0.4, self.y1 + 0.4
        self.height += 0.8 * SCALE


def _toward(p, q, r) -> tuple:
    """The point r along the way from p to q."""
    length = math.dist(p, q) or 1.0
    return p[0] + (q[0] - p[0]) * r / length, p[1] + (q[1] - p[1]) * r / length


def svg(d) -> str:
    """The drawing as a complete ``<svg>``, the numbers coloured as in the TikZ picture."""
    pic = drawing(d)
    lay, bent = pic.layout, {(a, b): p for a, b, p in pic.bent}
    c = _Roomy(lay)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(c.width)} {_fmt(c.height)}" '
           f'width="{_fmt(c.width)}" height="{_fmt(c.height)}" class="symbackprop-graph" role="img" '
           f'aria-label="{escape(d.network.describe())}" {FONT}>',
           '<defs><marker id="sb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z"/></marker></defs>',
           '<g class="edges" stroke="black" stroke-width="1">', *[_edge(c, lay, e, None) for e in lay.edges]]
    for (a, b), points in bent.items():
        na, nb = lay.node(a), lay.node(b)
        ends = [_toward((na.x, na.y), points[0], RADIUS[na.kind]), *points,
                _toward((nb.x, nb.y), points[-1], RADIUS[nb.kind])]
        line = " ".join(",".join(c.at(*p)) for p in ends)
        out.append(f'<polyline points="{line}" fill="none" marker-end="url(#sb-arrow)"/>')
    out += ["</g>", '<g class="nodes" stroke-width="1">', *[_node(c, n) for n in lay.nodes], "</g>"]
    for (a, b), (v, g, pos) in pic.numbers.items():
        na, nb = lay.node(a), lay.node(b)
        end = bent[(a, b)][0] if (a, b) in bent else (nb.x, nb.y)
        x, y = c.at(na.x + (end[0] - na.x) * pos + (0.15 if na.kind == "input" else 0), na.y + (end[1] - na.y) * pos)
        turn = -math.degrees(math.atan2(end[1] - na.y, end[0] - na.x))
        for text, cls, dy in ((number(v), "val", "-0.45em"), (number(g), "grad", "1.15em")):
            out.append(f'<text class="{cls}" x="{x}" y="{y}" dy="{dy}" text-anchor="middle" font-size="12" '
                       f'fill="{SVG_COLOURS[cls]}" transform="rotate({_fmt(turn)} {x} {y})">'
                       f'{escape(text.replace("-", "−"))}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"


def draw(d, standalone: bool = False, fmt: str = "tikz") -> str:
    """What ``draw`` prints for a graph."""
    if fmt == "svg":
        return svg(d)
    return standalone_drawing(d) if standalone else tikz(d)

