"""A convolutional network's drawing as inline SVG, from the same geometry as the TikZ picture.

Every grid is one ``<path>`` in a ``<g class="map">``; marked cells are ``<rect>`` of class
``convwin``, ``convout``, ``poolwin``, ``poolout`` or ``pad``, so a page can style them.

>>> from symbackprop._conv_spec import from_data
>>> from symbackprop._conv_draw import picture
>>> net = from_data({"inputs": [1, 6], "layer": [{"kind": "conv", "channels": 1, "kernel": 3},
...                  {"size": 1}]}, "spec")
>>> s = svg(picture(net), net.describe())
>>> s.startswith("<svg") and s.count('class="convwin"') == 3 and s.count('class="grid"') == 2
True
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ._svg import FONT, SCALE, _fmt

PAD = 0.3
FILLS = {"convwin": "#c8d3f5", "convout": "#7a8fe0", "poolwin": "#ffdcb3", "poolout": "#ff9f40"}
LINKS = {"conv": "#2a3f9e", "pool": "#b35c00"}


def _rich(line: list) -> str:
    """A label's line as SVG text: names with their [k] raised (the text after one drops back)."""
    out, raised = "", False

    def text(t):
        nonlocal out, raised
        out += f'<tspan dy="4">{escape(t)}</tspan>' if raised else escape(t)
        raised = False
    for p in line:
        if isinstance(p, str):
            text(p)
            continue
        for n, name in enumerate(p[1]):
            text(", " if n else "")
            out += f'<tspan font-style="italic">{escape(name)}</tspan>'
            raised = False
            if p[2]:
                out += f'<tspan dy="-4" font-size="75%">[{p[2]}]</tspan>'
                raised = True
    return out


def svg(pic, label: str) -> str:
    """The drawing (``_conv_draw.Picture``) as a complete ``<svg>`` element to put inline in an HTML page;
    ``label``: what it shows, for screen readers."""
    x0, y0, x1, y1 = pic.bbox

    def X(x):
        return _fmt(round((x - x0 + PAD) * SCALE, 2))

    def Y(y):
        return _fmt(round((y1 + PAD - y) * SCALE, 2))

    def size(v):
        return _fmt(round(v * SCALE, 2))

    def rect(cls, box, extra=""):
        return (f'<rect class="{cls}" x="{X(box[0])}" y="{Y(box[3])}" width="{size(box[2] - box[0])}" '
                f'height="{size(box[3] - box[1])}"{extra}/>')
    w, h = (x1 - x0 + 2 * PAD) * SCALE, (y1 - y0 + 2 * PAD) * SCALE
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(round(w, 1))} {_fmt(round(h, 1))}" '
           f'width="{_fmt(round(w * pic.scale, 1))}" height="{_fmt(round(h * pic.scale, 1))}" class="symbackprop-conv" '
           'role="img" '
           f"aria-label={quoteattr(label)} {FONT}>",
           '<defs><marker id="sb-conv-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z"/></marker></defs>']
    for g in pic.grids:
        s, whole = g.cell, g.box(1, 1, g.rows, g.cols)
        out.append('<g class="map">' + rect("channel", whole, ' fill="white" stroke="none"'))
        out += [rect(style, g.box(r, c, r, c), f' fill="{FILLS[style]}"') for r, c, style in g.cells]
        lines = [f"M{X(whole[0] + c * s)} {Y(whole[1])}V{Y(whole[3])}" for c in range(1, g.cols)]
        lines += [f"M{X(whole[0])} {Y(whole[1] + r * s)}H{X(whole[2])}" for r in range(1, g.rows)]
        if lines:
            out.append(f'<path class="grid" d="{"".join(lines)}" fill="none" stroke="#999" stroke-width="0.4"/>')
        out.append(rect("border", whole, ' fill="none" stroke="black" stroke-width="0.8"'))
        out += [rect("pad", g.box(r, c, r, c), ' fill="none" stroke="#666" stroke-dasharray="3 2"')
                for r, c, _ in g.pads]
        out.append("</g>")
    for kind, win, cell, curve in pic.links:
        colour = f'fill="none" stroke="{LINKS[kind]}" stroke-width="1.2"'
        if curve:
            (ax, ay), (px, py), (qx, qy), (bx, by) = curve
            path = (f'M{X(ax)} {Y(ay)}C{X(px)} {Y(py)} {X(qx)} {Y(qy)} {X(bx)} {Y(by)}" '
                    f'marker-end="url(#sb-conv-arrow)')
        else:
            path = (f"M{X(win[2])} {Y(win[3])}L{X(cell[0])} {Y(cell[3])}"
                    f"M{X(win[2])} {Y(win[1])}L{X(cell[0])} {Y(cell[1])}")
        out.append(f'<g class="{kind}link">' + rect("window", win, " " + colour) + f'<path d="{path}" {colour}/></g>')
    if pic.edges:
        d = "".join(f"M{X(a)} {Y(b)}L{X(c)} {Y(e)}" for (a, b), (c, e) in pic.edges)
        out.append(f'<path class="dense-edges" d="{d}" fill="none" stroke="#aaa" stroke-width="0.6"/>')
    for xa, y, xb in pic.flatten:
        out.append(f'<g class="flatten"><line x1="{X(xa)}" y1="{Y(y)}" x2="{X(xb)}" y2="{Y(y)}" stroke="black" '
                   f'marker-end="url(#sb-conv-arrow)"/><text x="{X((xa + xb) / 2)}" y="{Y(y)}" dy="-0.4em" '
                   'text-anchor="middle" font-size="11">flatten</text></g>')
    for x, y, t in pic.nodes:
        if t:
            out.append(f'<g class="node"><circle cx="{X(x)}" cy="{Y(y)}" r="{size(pic.radius)}" fill="white" '
                       f'stroke="black"/><text x="{X(x)}" y="{Y(y)}" dy="0.35em" text-anchor="middle" '
                       f'font-size="8">{t}</text></g>')
        else:
            out.append(f'<text class="dots" x="{X(x)}" y="{Y(y)}" dy="0.35em" text-anchor="middle" '
                       'font-size="13">⋮</text>')
    for x, y, lines in pic.labels:
        out.append('<text class="label" text-anchor="middle" font-size="11">' + "".join(
            f'<tspan x="{X(x)}" y="{Y(y - 0.3 - n * pic.line)}">{_rich(line)}</tspan>' for n, line in enumerate(lines))
            + "</text>")
    return "\n".join(out + ["</svg>"]) + "\n"
