"""How a derivation shows itself: text, LaTeX, Markdown, JSON, HTML, and in Jupyter.

The math modules make derivations; the render modules write them.  So that data
flows one way, a derivation class holds a table of writers that the render layer
fills when it is imported (the package's ``__init__`` imports it).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cached_property

import sympy

from . import _names as names
from . import _views as views
from ._errors import SymbackpropError
from ._graph import E, collector_paused
from ._timed import parse_name, sym


def _layered_name(text: str) -> str:
    """The plain form of a name of a layered network: δ1[3] → delta1[3]."""
    return names.plain(names.parse(text))


def _graph_name(text: str) -> str:
    """The plain form of a named gradient of a graph: ∂f/∂q → df/dq."""
    return text.strip().replace("∂", "d")


def _timed_name(text: str) -> str:
    """The plain form of a name of a recurrent network: δ1<2> → delta1<2>."""
    kind, indices, t = parse_name(text)
    return sym(kind, *indices, t=t).name


class Displays:
    """Jupyter shows a derivation as LaTeX (or Markdown); str() gives the text.

    Each subclass has its own ``writers``: format → writer(derivation, **options).  It also
    turns names into the derivation's SymPy symbols (``symbol``, ``subs``), for every kind.
    """

    writers: dict = {}
    #: the render modules whose import fills ``writers``: imported at the first write, so that a
    #: command loads the writers of the kind it writes and no others
    writer_modules: tuple = ()

    def _write(self, fmt: str, **options) -> str:
        writer = type(self).writers.get(fmt)
        if writer is None:
            for module in type(self).writer_modules:       # until one of them writes fmt
                importlib.import_module(f"{__package__}.{module}")
                writer = type(self).writers.get(fmt)
                if writer is not None:
                    break
        if writer is None:
            raise RuntimeError(f"no {fmt} writer for {type(self).__name__}: import symbackprop (the package)")
        with collector_paused():
            return writer(self, **options)

    def to_text(self, ascii_only: bool = False) -> str:
        """The derivation as plain text (what ``str()`` and ``symbackprop derive`` print).

        Args:
            ascii_only: write δ, ∂, Σ … as delta, d, sum.

        Returns:
            The text, ending with a newline.

        >>> import symbackprop as sb
        >>> print(sb.derive("1-1", activation="linear").to_text().splitlines()[0])
        Backpropagation for the 1-1 network
        """
        return self._write("text", ascii_only=ascii_only)

    def to_latex(self, standalone: bool = False) -> str:
        """The derivation as LaTeX, for ``\\input`` into a document.

        Args:
            standalone: a complete document (article class) that compiles by itself.

        Returns:
            The LaTeX source.

        >>> import symbackprop as sb
        >>> print(sb.derive("1-1", activation="linear").to_latex().splitlines()[1])
        \\section*{Backpropagation for the 1-1 network}
        """
        return self._write("latex", standalone=standalone)

    def to_beamer(self) -> str:
        """Slides (a complete beamer document): each weight's chain rule lit up path by path."""
        return self._write("beamer")

    def to_html(self) -> str:
        """A self-contained web page: MathML, and the drawing as SVG linking to each weight's steps."""
        return self._write("html")

    def to_markdown(self) -> str:
        """The derivation as Markdown with ``$…$`` math (what Jupyter shows of a small network).

        Returns:
            The Markdown text.

        >>> import symbackprop as sb
        >>> print(sb.derive("1-1", activation="linear").to_markdown().splitlines()[0])
        ## Backpropagation for the 1-1 network
        """
        return self._write("markdown")

    def to_json(self, expanded: bool | None = None) -> str:
        """The derivation as JSON: every formula as text, keyed by plain names.

        Args:
            expanded: also the expanded forms (in x, t, w, b only); default: for small networks.

        Returns:
            The JSON text.

        >>> import json, symbackprop as sb
        >>> data = json.loads(sb.derive("1-1", activation="linear").to_json())
        >>> data["gradient"]["w11[1]"]
        'x1*delta1[2]'
        """
        return self._write("json", expanded=expanded)

    def symbol(self, name: str) -> sympy.Symbol:
        """The SymPy symbol this derivation uses for ``name``.

        Args:
            name: a name as the derivation prints it or as verify reads it: ``"a1[2]"``,
                ``"w11[1]"``, ``"delta1[3]"`` (or ``"δ1[3]"``), ``"x1"``; ``"h1<2>"`` in a recurrent
                network, ``"q"`` or ``"df/dq"`` (``"∂f/∂q"``) in a graph, ``"k1111[1]"`` in a convolution.

        Returns:
            The very symbol inside the derivation's expressions (they are ``real=True``, so a
            new ``sympy.Symbol("a1[2]")`` is a different symbol): use it as a key of ``subs``.

        Raises:
            KeyError: the derivation has no such name; the message lists a few it has.

        >>> import symbackprop as sb
        >>> d = sb.derive("2-3-1")
        >>> d.symbol("a1[2]")
        a1[2]
        >>> d.gradient("w11[2]").subs({d.symbol("a1[2]"): 2})
        2*delta1[3]
        """
        if not isinstance(name, str):
            raise TypeError(f"a name is text such as 'a1[2]', not {type(name).__name__}")
        table = self.symbols
        found = table.get(name.strip())
        readers = [getattr(self, "name_of", None), _layered_name, _timed_name, _graph_name]
        for read in readers if found is None else ():
            try:
                found = table.get(read(name)) if read is not None else None
            except (SymbackpropError, ValueError):
                continue
            if found is not None:
                break
        if found is None:
            examples = [next(iter(part), None) for part in (self.gradients, self.forward, self.deltas)]
            few = ", ".join(e for e in examples if e is not None and e in table)
            raise KeyError(f"{name!r} is not a name of the {self.network.describe()}: write e.g. {few}")
        return found

    def subs(self, expr, mapping) -> sympy.Expr:
        """``expr`` with names replaced: ``expr.subs`` that also takes names as keys.

        SymPy's own ``expr.subs({"a1[2]": 2})`` silently does nothing (the text becomes a
        new symbol that is not ``real=True``); this reads every text key (and every text
        value) with ``symbol``.

        Args:
            expr: a SymPy expression of this derivation, e.g. ``d.gradient("w11[2]")``.
            mapping: a dict (or pairs) name or symbol → number, SymPy expression or name.

        Returns:
            The substituted expression (SymPy's ``subs``).

        Raises:
            KeyError: a name the derivation does not have (the message lists a few it has).

        >>> import symbackprop as sb
        >>> d = sb.derive("2-3-1")
        >>> d.subs(d.gradient("w11[2]"), {"a1[2]": 2, "δ1[3]": 0.5})
        1.00000000000000
        >>> d.subs(d.gradient("w11[2]"), {"a1[2]": "x1"})
        x1*delta1[3]
        """
        if isinstance(expr, str):
            raise TypeError(f"subs takes a SymPy expression, e.g. d.gradient({expr!r}) or d.symbol({expr!r}); "
                            "text is not read as an expression")
        pairs = mapping.items() if isinstance(mapping, Mapping) else mapping
        table = {}
        for key, value in pairs:
            key = self.symbol(key) if isinstance(key, str) else sympy.sympify(key, strict=True)
            table[key] = self.symbol(value) if isinstance(value, str) else sympy.sympify(value, strict=True)
        return sympy.sympify(expr, strict=True).subs(table)

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


class SweptNames:
    """A derivation made by the one sweep (``self.sweep``) and read by ``self.name_of``: its gradients and
    symbols by name (conv nets, gated cells)."""

    def gradient(self, name: str) -> sympy.Expr:
        """∂E/∂p of the parameter named ``name`` (typed as printed, or plain)."""
        key = self.name_of(name)
        if key not in self.gradients:
            raise KeyError(f"{name} is not a parameter of the {self.network.describe()}")
        return self.gradients[key]

    def parameter(self, name: str):
        return self.symbols[self.name_of(name)]

    @cached_property
    def symbols(self) -> dict:
        """Plain name → symbol, of every leaf, node and δ."""
        found = {s.name: s for s in self.base_symbols()}
        for eq in self.sweep.model.equations[:-1]:
            found[eq.node.name] = eq.node
            if eq.delta is not None:
                found[eq.delta.name] = eq.delta
        return found

    @cached_property
    def full(self) -> dict:
        """Every node and δ in terms of the leaves (small networks); the δ's in the order of ``deltas``,
        which puts each after the ones it is written in."""
        sub: dict = {}
        for eq in self.sweep.model.equations[:-1]:
            sub[eq.node] = eq.expr.xreplace(sub)
        for name, value in self.deltas.items():
            sub[self.symbols[name]] = value.xreplace(sub)
        return sub

    def expanded(self, name: str) -> sympy.Expr:
        """∂E/∂(name) with every intermediate substituted: in the leaves only."""
        return self.gradient(name).xreplace(self.full)

    def nested_loss(self) -> sympy.Expr:
        """E with every intermediate substituted."""
        return self.loss.xreplace(self.full)
