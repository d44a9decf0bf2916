"""How a derivation shows itself: text, LaTeX, Markdown, JSON, HTML, and in Jupyter.

The math modules make derivations; the render modules write them.  So that data
flows one way, a derivation class holds a table of writers that the render layer
fills when it is imported (the package's ``__init__`` imports it).
"""
from __future__ import annotations

from . import _views as views
from ._graph import E, collector_paused


class Displays:
    """Jupyter shows a derivation as LaTeX (or Markdown); str() gives the text.

    Each subclass has its own ``writers``: format → writer(derivation, **options).
    """

    writers: dict = {}

    def _write(self, fmt: str, **options) -> str:
        writer = type(self).writers.get(fmt)
        if writer is None:
            raise RuntimeError(f"no {fmt} writer for {type(self).__name__}: import symbackprop (the package)")
        with collector_paused():
            return writer(self, **options)

    def to_text(self, ascii_only: bool = False) -> str:
        return self._write("text", ascii_only=ascii_only)

    def to_latex(self, standalone: bool = False) -> str:
        return self._write("latex", standalone=standalone)

    def to_beamer(self) -> str:
        """Slides (a complete beamer document): each weight's chain rule lit up path by path."""
        return self._write("beamer")

    def to_html(self) -> str:
        """A self-contained web page: MathML, and the drawing as SVG linking to each weight's steps."""
        return self._write("html")

    def to_markdown(self) -> str:
        return self._write("markdown")

    def to_json(self, expanded: bool | None = None) -> str:
        return self._write("json", expanded=expanded)

    def _repr_markdown_(self) -> str:
        """Jupyter's view: the whole derivation for a small network, a summary for a big one
        (a notebook keeps what it shows)."""
        if self.network.n_parameters <= views.MAX_SHOWN_WHOLE:
            return self.to_markdown()
        from ._formats_tex import MarkdownFormat
        return views.derivation_summary(self, MarkdownFormat(), E)

    def __repr__(self) -> str:
        return views.short(type(self).__name__, f"of the {self.network.describe()}: {len(self.gradients):,} "
                                                f"gradients, {len(self.deltas):,} error signals")

    def __str__(self) -> str:
        return self.to_text()
