"""The network's drawing as inline SVG, from the same layout as the TikZ picture.

Every weight edge is a ``<g id="edge-w11-1" data-name="w11[1]">`` holding its line and
its label, every node a ``<g id="node-n2_1" data-name="a1[2]">``, so a page can style
them, find them, or link them to its sections (``link``).

>>> from symbackprop._spec import from_spec
>>> s = svg(from_spec("2-3-1"))
>>> s.startswith("<svg") and 'id="edge-w11-1"' in s and 'data-name="w11[1]"' in s
True
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ._labels import arc, segments
from ._layout import RADIUS, Layout, layout

#: pixels per centimetre of the layout
SCALE = 40
PAD = 0.35
FONT = "font-family=\"'Latin Modern Roman','CMU Serif','Times New Roman',serif\""


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


class _Canvas:
    def __init__(self, lay: Layout):
        self.x0, self.y0, x1, self.y1 = lay.bbox()
        self.width = (x1 - self.x0 + 2 * PAD) * SCALE
        self.height = (self.y1 - self.y0 + 2 * PAD) * SCALE

    def at(self, x: float, y: float) -> tuple[str, str]:
        return _fmt((x - self.x0 + PAD) * SCALE), _fmt((self.y1 + PAD - y) * SCALE)


def _rich(script: tuple, text: str) -> str:
    """A name as SVG text: (w, 11, [1]) as w with 11 below and [1] above; without a script, the text."""
    if not script:
        return escape(text)
    letter, below, above = script
    out = escape(letter)
    if below:
        out += f'<tspan font-size="70%" dy="3">{escape(below)}</tspan>'
    if above:
        out += f'<tspan font-size="70%" dy="{-8 if below else -5}">{escape(above)}</tspan>'
    return out


def _edge(c: _Canvas, lay: Layout, e, link) -> str:
    cls = f"edge {e.kind}"
    attrs = f'id="{e.id}" class="{cls}"' + (f" data-name={quoteattr(e.name)}" if e.name else "")
    if e.step is not None:
        attrs += f' data-step="{e.step}"'
    dash = ' stroke-dasharray="5 3"' if e.kind == "skip" else ""
    if e.bend:
        (p0, p1, p2, p3) = [c.at(*p) for p in arc(lay, e, RADIUS)]
        line = (f'<path d="M{p0[0]},{p0[1]} C{p1[0]},{p1[1]} {p2[0]},{p2[1]} {p3[0]},{p3[1]}" fill="none"'
                f'{dash} marker-end="url(#sb-arrow)"/>')
    else:
        (a, b), = segments(lay, e, RADIUS)
        (xa, ya), (xb, yb) = c.at(*a), c.at(*b)
        line = f'<line x1="{xa}" y1="{ya}" x2="{xb}" y2="{yb}"{dash} marker-end="url(#sb-arrow)"/>'
    parts = [f"<g {attrs}>"]
    if e.name:
        parts.append(f"<title>{escape(e.name)}</title>")
    parts.append(line)
    if e.label is not None:
        lab = e.label
        x, y = c.at(lab.x, lab.y)
        anchor = {"center": "middle", "west": "start", "south": "middle"}[lab.anchor]
        turn = f' transform="rotate({_fmt(-lab.angle)} {x} {y})"' if lab.angle else ""
        text = (f'<text x="{x}" y="{y}" dy="{"0.35em" if lab.anchor != "south" else "-0.2em"}" '
                f'text-anchor="{anchor}" font-size="13"{turn}@STYLE@>{_rich(lab.script, lab.text)}</text>')
        # a white copy underneath, wider by its outline, keeps the edge's line off the label
        parts += [text.replace("@STYLE@", ' fill="white" stroke="white" stroke-width="5" stroke-linejoin="round"'),
                  text.replace("@STYLE@", ' stroke="none"')]
    parts.append("</g>")
    out = "".join(parts)
    if link is not None and e.name:
        out = f"<a href={quoteattr(link(e.name))}>{out}</a>"
    return out


def _node(c: _Canvas, n) -> str:
    x, y = c.at(n.x, n.y)
    attrs = f'id="node-{n.id}" class="node {n.kind}"' + (f" data-name={quoteattr(n.name)}" if n.name else "")
    r = _fmt(RADIUS[n.kind] * SCALE)
    shape = ""
    if n.kind == "neuron":
        shape = f'<circle cx="{x}" cy="{y}" r="{r}" fill="white" stroke="black"/>'
    elif n.kind == "bias":
        shape = f'<circle cx="{x}" cy="{y}" r="{r}" fill="white" stroke="black" stroke-dasharray="3 2"/>'
    elif n.kind == "state":
        w, h = 1.3 * SCALE, 0.8 * SCALE
        shape = (f'<rect x="{_fmt(float(x) - w / 2)}" y="{_fmt(float(y) - h / 2)}" width="{_fmt(w)}" '
                 f'height="{_fmt(h)}" rx="5" fill="white" stroke="black"/>')
    anchor = {"input": "end", "output": "start", "note": "start"}.get(n.kind, "middle")
    size = 12 if n.kind in ("text", "note") else 14
    label = (f'<text x="{x}" y="{y}" dy="0.35em" text-anchor="{anchor}" '
             f'font-size="{size}">{_rich(n.script, n.text)}</text>')
    title = f"<title>{escape(n.name)}</title>" if n.name else ""
    return f"<g {attrs}>{title}{shape}{label}</g>"


def svg(net, bias: bool | None = None, link=None) -> str:
    """The drawing as a complete ``<svg>`` element; ``link`` (name → href), if given, makes every
    weight's edge a link, e.g. ``lambda name: "#" + name``.  ``bias`` as for ``tikz``."""
    lay = layout(net, bias)
    c = _Canvas(lay)
    desc = getattr(net, "describe", lambda: "network")()
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(c.width)} {_fmt(c.height)}" '
           f'width="{_fmt(c.width)}" height="{_fmt(c.height)}" class="symbackprop-network" role="img" '
           f"aria-label={quoteattr(desc)} {FONT}>",
           '<defs><marker id="sb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z"/></marker></defs>']
    if lay.note:
        out.append(f"<desc>{escape(lay.note)}</desc>")
    out.append('<g class="edges" stroke="black" stroke-width="1">')
    out += [_edge(c, lay, e, link) for e in lay.edges if e.label is None]
    out.append("</g>")
    out.append('<g class="nodes" stroke-width="1">')
    out += [_node(c, n) for n in lay.nodes]
    out.append("</g>")
    out.append('<g class="labelled" stroke="black" stroke-width="1">')
    out += [_edge(c, lay, e, link) for e in lay.edges if e.label is not None]
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
