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

from ._conv_derive import ConvDerivation
from ._conv_draw import draw_conv
from ._conv_render import titles, walk
from ._pages import page, slides


def render_html(d: ConvDerivation) -> str:
    """The derivation as one self-contained page, the maps drawn at the top."""
    return page(lambda fmt: walk(d, fmt), draw_conv(d.network, fmt="svg"),
                "Each layer's maps, channel behind channel; one entry of each conv and pool layer is marked with the "
                "cells it reads (dashed: zero padding).")


def render_beamer(d: ConvDerivation) -> str:
    """Slides: the maps, then each section of the derivation on frames of its own (broken where long)."""
    return slides(lambda fmt: walk(d, fmt), lambda fmt: titles(d, fmt), draw_conv(d.network))


ConvDerivation.writers.update(html=render_html, beamer=render_beamer)
