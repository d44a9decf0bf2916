"""A gated recurrent network's drawing as inline SVG, from the same geometry as the TikZ picture.

Every box is a ``<g>`` of class ``cell``, ``gate``, ``act``, ``stepbox`` or ``loss`` holding its
``<rect>`` and its text, every line a ``<path>`` of class ``link``, ``wire``, ``cpath`` (the LSTM's cell state, blue),
``hpath`` or ``bridge``, every ⊙, + and 1− a ``<g class="op">``, so a page can style them.

>>> from symbackprop._gated import GatedRNN
>>> from symbackprop._gated_draw import picture
>>> s = svg(picture(GatedRNN.build("gru", 1, 2, 2, 3, output="hidden")), "GRU")
>>> s.startswith("<svg") and s.count('class="gate"') == 3 and s.count('class="stepbox"') == 3
True
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ._svg import FONT, SCALE, _fmt

PAD = 0.3
R, ONE_R = 0.18, 0.25                   # the radius of a ⊙ or +, of a 1− (cm)
FILLS = {"cell": "#f5f5f5", "gate": "#ffdfbf", "act": "#fff2e6", "stepbox": "#f5f5f5", "loss": "#ebebeb"}
BLUE = "#000099"                                   # blue!60!black
#: a line's class → (stroke, width, the marker at its end)
LINES = {"link": ("black", 0.9, ""), "wire": ("black", 0.9, "sb-gated-arrow"),
         "bridge": ("black", 0.9, "sb-gated-arrow"),
         "cpath": (BLUE, 2.2, "sb-gated-carrow"), "hpath": ("black", 2.2, "sb-gated-harrow")}
MARKERS = (("sb-gated-arrow", "black", 8), ("sb-gated-carrow", BLUE, 11), ("sb-gated-harrow", "black", 11))
ANCHORS = {"center": ("middle", "0.35em", 0), "north": ("middle", "1.2em", 0), "south": ("middle", "-0.3em", 0),
           "east": ("end", "0.35em", -4), "west": ("start", "0.35em", 4)}


def _rich(pieces) -> str:
    """A label's pieces as SVG text: italic letters, roman words, raised ⟨t⟩ (the text after drops back)."""
    out, raised = "", False
    for text, kind in pieces:
        back = ' dy="0.36em"' if raised else ""
        if kind == "sup":
            slant = ' font-style="italic"' if any(c.isalpha() for c in text) else ""     # ⟨t−1⟩, not ⟨2⟩
            out += f'<tspan dy="-0.5em" font-size="72%"{slant}>{escape(text)}</tspan>'
        elif kind == "i":
            out += f'<tspan font-style="italic"{back}>{escape(text)}</tspan>'
        else:
            out += f"<tspan{back}>{escape(text)}</tspan>"
        raised = kind == "sup"
    return out


def extent(pic) -> tuple:
    """(x0, y0, x1, y1) of a picture, its texts' extent estimated from their characters."""
    xs = [x for r in pic.rects for x in r[0:3:2]] + [x for points, _ in pic.wires for x, _ in points]
    ys = [y for r in pic.rects for y in r[1:4:2]] + [y for points, _ in pic.wires for _, y in points]
    for x, y, anchor, label, size in pic.texts:
        w, h = sum(len(t) * (0.13 if kind == "sup" else 0.19) for t, kind in label[1]) + 0.1, 0.45
        left = {"east": x - w, "west": x}.get(anchor, x - w / 2)
        low = {"north": y - h, "south": y}.get(anchor, y - h / 2)
        xs += [left, left + w]
        ys += [low, low + h]
    return min(xs), min(ys), max(xs), max(ys)


def svg(pic, label: str) -> str:
    """The drawing (``_gated_draw.Picture``) as a complete ``<svg>`` element to put inline in an HTML page;
    ``label``: what it shows, for screen readers."""
    x0, y0, x1, y1 = extent(pic)

    def X(x):
        return _fmt(round((x - x0 + PAD) * SCALE, 2))

    def Y(y):
        return _fmt(round((y1 + PAD - y) * SCALE, 2))

    def text(x, y, anchor, pieces, size, cls="label"):
        how, dy, shift = ANCHORS[anchor]
        return (f'<text class="{cls}" x="{_fmt(float(X(x)) + shift)}" y="{Y(y)}" dy="{dy}" text-anchor="{how}" '
                f'font-size="{size}">{_rich(pieces)}</text>')

    width, height = _fmt(round((x1 - x0 + 2 * PAD) * SCALE, 1)), _fmt(round((y1 - y0 + 2 * PAD) * SCALE, 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" class="symbackprop-gated" role="img" aria-label={quoteattr(label)} '
           f"{FONT}>", "<defs>"]
    out += [f'<marker id="{mid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{size}" markerHeight="{size}" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>'
            for mid, colour, size in MARKERS]
    out.append("</defs>")
    for rx0, ry0, rx1, ry1, style, lab in pic.rects:
        corner = {"cell": 9, "gate": 3, "act": 7, "stepbox": 5}.get(style, 0)
        box = (f'<rect x="{X(rx0)}" y="{Y(ry1)}" width="{_fmt(round((rx1 - rx0) * SCALE, 2))}" '
               f'height="{_fmt(round((ry1 - ry0) * SCALE, 2))}" rx="{corner}" fill="{FILLS[style]}" '
               f'stroke="{"#666" if style == "cell" else "black"}" stroke-width="0.9"/>')
        size = 10 if style == "act" else 13
        inside = text((rx0 + rx1) / 2, (ry0 + ry1) / 2, "center", lab[1], size, "name") if lab else ""
        out.append(f'<g class="{style}">{box}{inside}</g>')
    for points, style in sorted(pic.wires, key=lambda w: w[1] == "bridge"):
        colour, stroke, marker = LINES[style]
        d = "M" + " L".join(f"{X(x)},{Y(y)}" for x, y in points)
        if style == "bridge":          # a halo in the cell's colour: it passes over the line it crosses
            out.append(f'<path d="{d}" fill="none" stroke="{FILLS["cell"]}" stroke-width="6"/>')
        end = f' marker-end="url(#{marker})"' if marker else ""
        out.append(f'<path class="{style}" d="{d}" fill="none" stroke="{colour}" stroke-width="{stroke}"{end}/>')
    r = _fmt(round(R * SCALE, 2))
    for x, y, kind in pic.ops:
        cx, cy = X(x), Y(y)
        if kind == "oneminus":
            inner = text(x, y, "center", (("1−", "r"),), 10, "name")
            out.append(f'<g class="op"><circle cx="{cx}" cy="{cy}" r="{_fmt(ONE_R * SCALE)}" fill="white" '
                       f'stroke="black" stroke-width="0.9"/>{inner}</g>')
            continue
        mark = f'<circle cx="{cx}" cy="{cy}" r="1.8"/>' if kind == "odot" else (
            f'<path d="M{X(x - R)},{cy} H{X(x + R)} M{cx},{Y(y - R)} V{Y(y + R)}" stroke="black" '
            'stroke-width="0.9"/>')
        out.append(f'<g class="op"><circle cx="{cx}" cy="{cy}" r="{r}" fill="white" stroke="black" '
                   f'stroke-width="0.9"/>{mark}</g>')
    out += [f'<circle class="join" cx="{X(x)}" cy="{Y(y)}" r="2"/>' for x, y in pic.joins]
    out += [text(x, y, anchor, lab[1], 11 if size == "script" else 13) for x, y, anchor, lab, size in pic.texts]
    return "\n".join(out + ["</svg>"]) + "\n"
