"""A batch stack's derivation as a web page (MathML, the network drawn as inline SVG) and as beamer slides.

>>> import symbackprop as sb
>>> d = sb.derive(sb.network({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1}]}))
>>> page = d.to_html()
>>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "<math" in page
True
>>> d.to_beamer().count("\\\\begin{frame}") >= 6
True
"""
from __future__ import annotations

from ._batch_derive import BatchDerivation
from ._batch_render import titles, walk
from ._pages import page, slides


def render_html(d: BatchDerivation) -> str:
    """The derivation as one self-contained page, the network drawn at the top."""
    from ._batch_draw import draw_batch
    return page(lambda fmt: walk(d, fmt), draw_batch(d.network, fmt="svg"),
                f"The layers, each computed for every one of the N = {d.network.samples} samples of the batch.")


def render_beamer(d: BatchDerivation) -> str:
    """Slides: the network, then each section of the derivation on frames of its own (broken where long)."""
    from ._batch_draw import draw_batch
    return slides(lambda fmt: walk(d, fmt), lambda fmt: titles(d, fmt), draw_batch(d.network))


BatchDerivation.writers.update(html=render_html, beamer=render_beamer)
