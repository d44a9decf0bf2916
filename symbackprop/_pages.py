"""A derivation of any kind as a web page and as beamer slides, from its walk and its drawing.

The page's style is the network pages' (``_html.py``), the slides' preamble the network decks'
(``_beamer_parts.py``): the drawing first, then a frame (or a few) a section.  The conv and
gated kinds use these (``_conv_pages.py``, ``_gated_pages.py``).
"""
from __future__ import annotations

import html
import re

from ._beamer_parts import PREAMBLE
from ._formats_tex import LatexFormat
from ._html import STYLE, ZOOM
from ._html_format import NETWORK_ID, HtmlFormat, plain_text


def page(walk, svg: str, caption: str) -> str:
    """One self-contained page: ``walk(fmt)`` in HTML, the drawing (SVG, zoomed) at the top with its caption."""
    header, _, sections = walk(HtmlFormat()).partition("</header>\n")
    drawing = re.sub(r' (width|height)="([0-9.]+)"', lambda m: f' {m[1]}="{float(m[2]) * ZOOM:.0f}"', svg, count=2)
    figure = (f'<section id="{NETWORK_ID}">\n<h2>The network</h2>\n<figure>\n{drawing}\n<figcaption>{caption}'
              "</figcaption>\n</figure>\n</section>\n")
    title = html.escape(plain_text(header.split("</h1>")[0]))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n"
            f'<body id="top">\n<main>\n{header}</header>\n{figure}{sections}</main>\n</body>\n</html>\n')


class SlideFormat(LatexFormat):
    def equations(self, content) -> str:
        """Each row a display of its own, so that a frame with allowframebreaks can break between them
        (it cannot inside one align*)."""
        return "\n".join(super(SlideFormat, self).equations([row]) for row in content)

    def aligned(self, rows: str) -> str:
        """The update rules, one display each, for the same reason."""
        return "\n".join(super(SlideFormat, self).aligned(row) for row in rows.split(" \\\\\n"))

    def run_in(self, parameter) -> str:
        """A parameter's heading on a slide (beamer has no \\paragraph)."""
        return f"\\par\\textbf{{$\\partial E / \\partial {self.expr(parameter)}$}}\\par"


def _fitted(tikz: str) -> str:
    """The drawing scaled down to the frame's width and, if still too tall, to 0.8 of its height."""
    return ("\\sbox0{" + tikz + "}%\n"
            "\\ifdim\\wd0>\\linewidth\\sbox0{\\resizebox{\\linewidth}{!}{\\usebox0}}\\fi\n"
            "\\ifdim\\dimexpr\\ht0+\\dp0\\relax>0.8\\textheight\\sbox0{\\resizebox{!}{0.8\\textheight}{\\usebox0}}\\fi\n"
            "\\usebox0")


def slides(walk, titles, tikz: str) -> str:
    """Slides: the drawing, then each section of ``walk(fmt)`` on frames of its own (broken where long)."""
    fmt = SlideFormat()
    title, sub = titles(fmt)
    body = walk(fmt).split("\\subsection*{")[1:]
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}",
              "\\begin{frame}{The network}\n\\centering\n" + _fitted(tikz) + "\n\\end{frame}"]
    for part in body:
        heading, _, content = part.partition("}\n")
        frames.append(f"\\begin{{frame}}[allowframebreaks]{{{heading}}}\n\\footnotesize\n{content.strip()}\n"
                      "\\end{frame}")
    return (PREAMBLE + f"\\title{{{title}}}\n\\subtitle{{{sub}}}\n\\date{{}}\n\\begin{{document}}\n\n"
            + "\n\n".join(frames) + "\n\n\\end{document}\n")
