"""A graph's derivation as a web page (MathML, the drawing as inline SVG) and as beamer slides.

The walk is ``_circuit_walk.walk``; the page's style is the network pages' (``_html.py``), the
slides' preamble the network decks' (``_beamer_parts.py``): one gate a frame, lit up in the drawing.

>>> import symbackprop as sb
>>> d = sb.derive(sb.graph("q = x + y; f = q*z"), at="x=-2,y=5,z=-4")
>>> page = d.to_html()
>>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "<math" in page
True
>>> d.to_beamer().count("\\\\begin{frame}")
4
"""
from __future__ import annotations

import html
import re

from ._beamer_parts import PREAMBLE
from ._circuit_derive import GraphDerivation
from ._circuit_draw import svg, tikz
from ._circuit_walk import _gate, _sentence, titles, walk
from ._formats_tex import LatexFormat
from ._html import STYLE, ZOOM
from ._html_format import NETWORK_ID, HtmlFormat, plain_text


def render_html(d: GraphDerivation) -> str:
    """The derivation as one self-contained page, the graph drawn at the top."""
    fmt = HtmlFormat()
    header, _, sections = walk(d, fmt).partition("</header>\n")
    said = " Values flow above the edges (green), gradients below (red)." if d.values is not None else ""
    drawing = re.sub(r' (width|height)="([0-9.]+)"', lambda m: f' {m[1]}="{float(m[2]) * ZOOM:.0f}"', svg(d), count=2)
    figure = (f'<section id="{NETWORK_ID}">\n<h2>The graph</h2>\n<figure>\n{drawing}<figcaption>Each circle is a gate, '
              f"its node's name above it; the leaves are on the left.{said}</figcaption>\n</figure>\n</section>\n")
    title = html.escape(plain_text(header.split("</h1>")[0]))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n"
            f'<body id="top">\n<main>\n{header}</header>\n{figure}{sections}</main>\n</body>\n</html>\n')


def render_beamer(d: GraphDerivation) -> str:
    """Slides: the graph, then one frame a gate from the output back, the gate lit up in the drawing."""
    fmt = LatexFormat()
    title, sub = titles(d, fmt)
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}",
              f"\\begin{{frame}}{{The graph}}\n\\centering\n{tikz(d, (13.5, 6.2))}\\end{{frame}}"]
    for step in d.steps:
        if step.kind == "leaf":
            continue
        rows = [f"{sides[0]} &= {' = '.join(sides[1:])}" + (f" && \\text{{{label}}}" if label else "")
                for label, sides in _gate(d, fmt, step)]
        frames.append(f"\\begin{{frame}}{{Gate ${fmt.expr(step.node)}$}}\n\\centering\n"
                      f"{tikz(d, (12.0, 3.4), lit=step.node)}\\par\\medskip\n{{\\footnotesize {_sentence(d, fmt, step)}\n"
                      "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}}\n\\end{frame}")
    return (PREAMBLE + f"\\title{{{title}}}\n\\subtitle{{{sub}}}\n\\date{{}}\n\\begin{{document}}\n\n"
            + "\n\n".join(frames) + "\n\n\\end{document}\n")


GraphDerivation.writers.update(html=render_html, beamer=render_beamer)
