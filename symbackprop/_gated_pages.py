"""An LSTM's or GRU's derivation as a web page (MathML, the cell drawn as inline SVG) and as beamer slides.

The walk is ``_gated_render.walk``; the page's style is the network pages' (``_html.py``), the
slides' preamble the network decks' (``_beamer_parts.py``): the drawing, then a frame (or a few)
a section.

>>> import symbackprop as sb
>>> d = sb.derive(sb.rnn(1, 1, 1, 2, cell="lstm"))
>>> page = d.to_html()
>>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "<math" in page
True
>>> d.to_beamer().count("\\\\begin{frame}") >= 8
True
"""
from __future__ import annotations

from ._gated_derive import GatedDerivation
from ._gated_draw import draw_gated
from ._gated_render import titles, walk
from ._pages import page, slides


def render_html(d: GatedDerivation) -> str:
    """The derivation as one self-contained page, the cell and the unrolled network drawn at the top."""
    return page(lambda fmt: walk(d, fmt), draw_gated(d.network, fmt="svg"),
                "The cell once, with its gates, and the network unrolled over the steps: every box is the same cell "
                "with the same weights.")


def render_beamer(d: GatedDerivation) -> str:
    """Slides: the cell and the unrolled network, then each section on frames of its own (broken where long)."""
    return slides(lambda fmt: walk(d, fmt), lambda fmt: titles(d, fmt), draw_gated(d.network))


GatedDerivation.writers.update(html=render_html, beamer=render_beamer)
