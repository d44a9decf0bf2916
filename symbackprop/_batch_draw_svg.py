"""A layer stack over a batch drawn as inline SVG, from the same geometry as the TikZ picture.

Every node is a ``<g class="unit">`` (a dropped one ``class="unit dropped"``, its cross two
``<path class="cross">``), a norm layer's box a ``<rect class="normbox">``, a sample's card a
``<rect class="card">``, every line a ``<path>`` of class ``edge`` or ``dropedge`` (dashed, grey),
every text a ``<text>`` of class ``label`` or ``weight``, so a page can style them.

>>> from symbackprop._batch_draw import Picture, sym, words
>>> pic = Picture(units=[(0, 0, words("1[1]"), False), (2, 0, words("1[2]"), True)],
...               lines=[([(0.4, 0), (1.6, 0)], "dropedge")], texts=[(1, 0.2, "center", sym("w", "11", "[1]"), "weight")])
>>> s = svg(pic, "two nodes")
>>> s.startswith("<svg") and s.count('class="unit') == 2 and 'class="unit dropped"' in s
True
>>> width((("w", "i"), ("11", "sub")), "script") < width((("w11", "r"),), "script")
True
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ._svg import FONT, SCALE, _fmt

PAD = 0.3
RADIUS = 0.38
#: a text's size (px), and the width (cm) of one of its characters
SIZES = {"small": (13, 0.17), "script": (10.5, 0.135), "weight": (10.5, 0.135)}
SHIFT = {"sub": 0.3, "sup": -0.45, "i": 0.0, "r": 0.0}       # em, down
FILLS = {"card": ("white", "#8c8c8c", 4), "normbox": ("#f0f0ff", "#00008c", 6), "loss": ("#ebebeb", "black", 0)}
#: a line's class → (stroke, width, dashes, marker)
LINES = {"edge": ("black", 0.8, "", "sb-batch-arrow"), "dropedge": ("#a6a6a6", 0.8, ' stroke-dasharray="4 3"',
                                                                      "sb-batch-grey"),
         "cross": ("#b30000", 1.6, "", "")}
ANCHORS = {"center": ("middle", "0.35em"), "base": ("middle", "0"), "east": ("end", "0.35em"),
           "west": ("start", "0.35em")}


def width(pieces, size: str) -> float:
    """A label's width (cm), estimated from its characters: sub- and superscripts are smaller."""
    per = SIZES[size][1]
    return sum(len(text) * per * (0.7 if kind in ("sub", "sup") else 1) for text, kind in pieces)


def _rich(pieces, px: float) -> str:
    """A label's pieces as tspans: italic letters, roman words, sub- and superscripts shifted and smaller."""
    out, now = "", 0.0
    for text, kind in pieces:
        shift = SHIFT[kind] * px
        dy = f' dy="{_fmt(round(shift - now, 1))}"' if abs(shift - now) > 0.01 else ""
        style = ' font-style="italic"' if kind == "i" else ' font-size="70%"' if kind in ("sub", "sup") else ""
        if kind in ("sub", "sup"):      # ⟨s⟩ and j slanted, [1] and 11 upright
            style += f' font-style="{"italic" if any(c.isalpha() for c in text) else "normal"}"'
        out += f"<tspan{dy}{style}>{escape(text)}</tspan>"
        now = shift
    return out


def extent(pic) -> tuple:
    """(x0, y0, x1, y1) of a picture, its texts' extent estimated from their characters."""
    xs = [x for r in pic.rects for x in r[0:3:2]] + [x for points, _ in pic.lines for x, _ in points]
    ys = [y for r in pic.rects for y in r[1:4:2]] + [y for points, _ in pic.lines for _, y in points]
    for x, y, *_ in pic.units:
        xs += [x - RADIUS, x + RADIUS]
        ys += [y - RADIUS, y + RADIUS]
    for x, y, anchor, label, size in pic.texts:
        w, h = width(label[1], size) + 0.1, SIZES[size][0] / SCALE * 1.2
        left = {"east": x - w, "west": x}.get(anchor, x - w / 2)
        low = y - 0.25 * h if anchor == "base" else y - h / 2
        xs += [left, left + w]
        ys += [low, low + h]
    return min(xs), min(ys), max(xs), max(ys)


def svg(pic, label: str) -> str:
    """The drawing (``_batch_draw.Picture``) as a complete ``<svg>`` element to put inline in an HTML page;
    ``label``: what it shows, for screen readers."""
    x0, y0, x1, y1 = extent(pic)

    def X(x):
        return _fmt(round((x - x0 + PAD) * SCALE, 2))

    def Y(y):
        return _fmt(round((y1 + PAD - y) * SCALE, 2))

    def text(x, y, anchor, pieces, size, cls="label", extra=""):
        how, dy = ANCHORS[anchor]
        px = SIZES[size][0] if size in SIZES else size
        return (f'<text class="{cls}" x="{X(x)}" y="{Y(y)}" dy="{dy}" text-anchor="{how}" '
                f'font-size="{_fmt(px)}"{extra}>{_rich(pieces, px)}</text>')

    w, h = _fmt(round((x1 - x0 + 2 * PAD) * SCALE, 1)), _fmt(round((y1 - y0 + 2 * PAD) * SCALE, 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'class="symbackprop-batch" role="img" aria-label={quoteattr(label)} {FONT}>', "<defs>"]
    out += [f'<marker id="{mid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>'
            for mid, colour in (("sb-batch-arrow", "black"), ("sb-batch-grey", "#a6a6a6"))]
    out.append("</defs>")
    rect = '<rect class="{}" x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{}" stroke="{}" stroke-width="0.9"/>'
    for rx0, ry0, rx1, ry1, style, lab in pic.rects:
        if lab is None:
            fill, stroke, corner = FILLS[style]
            out.append(rect.format(style, X(rx0), Y(ry1), _fmt(round((rx1 - rx0) * SCALE, 2)),
                                   _fmt(round((ry1 - ry0) * SCALE, 2)), corner, fill, stroke))

    def path(points, style):
        colour, stroke, dashes, marker = LINES[style]
        end = f' marker-end="url(#{marker})"' if marker else ""
        d = "M" + " L".join(f"{X(x)},{Y(y)}" for x, y in points)
        return f'<path class="{style}" d="{d}" fill="none" stroke="{colour}" stroke-width="{stroke}"{dashes}{end}/>'

    out += [path(points, style) for points, style in pic.lines if style != "cross"]
    r = _fmt(round(RADIUS * SCALE, 2))
    for x, y, lab, dropped in pic.units:
        fill, stroke, ink = ("#e0e0e0", "#8c8c8c", "#8c8c8c") if dropped else ("white", "black", "black")
        out.append(f'<g class="unit{" dropped" if dropped else ""}"><circle cx="{X(x)}" cy="{Y(y)}" r="{r}" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="0.9"/>'
                   + text(x, y, "center", lab[1], 10, "name", f' fill="{ink}"') + "</g>")
    out += [path(points, style) for points, style in pic.lines if style == "cross"]
    for rx0, ry0, rx1, ry1, style, lab in pic.rects:
        if lab is not None:
            fill, stroke, _ = FILLS[style]
            out.append(f'<g class="{style}">' + rect.format(style, X(rx0), Y(ry1), _fmt(round((rx1 - rx0) * SCALE, 2)),
                                                            _fmt(round((ry1 - ry0) * SCALE, 2)), 0, fill, stroke)
                       + text((rx0 + rx1) / 2, (ry0 + ry1) / 2, "center", lab[1], 14, "name") + "</g>")
    for x, y, anchor, lab, size in pic.texts:
        if size == "weight":      # a white box underneath keeps the edges off the label
            w, h = width(lab[1], size) + 0.08, 0.42
            out.append(f'<rect class="halo" x="{X(x - w / 2)}" y="{Y(y + h / 2)}" width="{_fmt(round(w * SCALE, 2))}" '
                       f'height="{_fmt(round(h * SCALE, 2))}" fill="white"/>')
        out.append(text(x, y, anchor, lab[1], size, "weight" if size == "weight" else "label"))
    return "\n".join(out + ["</svg>"]) + "\n"
