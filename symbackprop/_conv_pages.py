"""A conv net's derivation as a web page (MathML, the maps drawn as inline SVG) and as beamer slides.

The walk is ``_conv_render.walk``; the page's style is the network pages' (``_html.py``), the
slides' preamble the network decks' (``_beamer_parts.py``): the drawing, then a frame (or a few)
a section.

>>> import symbackprop as sb
>>> d = sb.derive("examples/conv-1x4x4.toml")
>>> page = d.to_html()
>>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "<math" in page
True
>>> d.to_beamer().count("\\\\begin{frame}") >= 6
True
"""
from __future__ import annotations

import html
import re

from ._beamer_parts import PREAMBLE
from ._conv_derive import ConvDerivation
from ._conv_draw import draw_conv
from ._conv_render import titles, walk
from ._formats_tex import LatexFormat
from ._html import STYLE, ZOOM
from ._html_format import NETWORK_ID, HtmlFormat, plain_text


def render_html(d: ConvDerivation) -> str:
    """The derivation as one self-contained page, the maps drawn at the top."""
    fmt = HtmlFormat()
    header, _, sections = walk(d, fmt).partition("</header>\n")
    drawing = re.sub(r' (width|height)="([0-9.]+)"', lambda m: f' {m[1]}="{float(m[2]) * ZOOM:.0f}"',
                     draw_conv(d.network, fmt="svg"), count=2)
    figure = (f'<section id="{NETWORK_ID}">\n<h2>The network</h2>\n<figure>\n{drawing}\n<figcaption>Each layer\'s '
              "maps, channel behind channel; one entry of each conv and pool layer is marked with the cells it "
              "reads (dashed: zero padding).</figcaption>\n</figure>\n</section>\n")
    title = html.escape(plain_text(header.split("</h1>")[0]))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n"
            f'<body id="top">\n<main>\n{header}</header>\n{figure}{sections}</main>\n</body>\n</html>\n')


class _SlideFormat(LatexFormat):
    def run_in(self, parameter) -> str:
        """A parameter's heading on a slide (beamer has no \\paragraph)."""
        return f"\\par\\textbf{{$\\partial E / \\partial {self.expr(parameter)}$}}\\par"


def render_beamer(d: ConvDerivation) -> str:
    """Slides: the maps, then each section of the derivation on frames of its own (broken where long)."""
    fmt = _SlideFormat()
    title, sub = titles(d, fmt)
    body = walk(d, fmt).split("\\subsection*{")[1:]
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}",
              "\\begin{frame}{The network}\n\\centering\n\\resizebox{\\linewidth}{!}{"
              + draw_conv(d.network) + "}\n\\end{frame}"]
    for part in body:
        heading, _, content = part.partition("}\n")
        frames.append(f"\\begin{{frame}}[allowframebreaks]{{{heading}}}\n\\footnotesize\n{content.strip()}\n"
                      "\\end{frame}")
    return (PREAMBLE + f"\\title{{{title}}}\n\\subtitle{{{sub}}}\n\\date{{}}\n\\begin{{document}}\n\n"
            + "\n\n".join(frames) + "\n\n\\end{document}\n")


ConvDerivation.writers.update(html=render_html, beamer=render_beamer)
