"""Expression printers: plain text (unicode or ASCII), the JSON grammar, and LaTeX.

Names and activation functions print themselves (``_sympystr`` / ``_latex`` on
their classes); these printers only choose the operators.

>>> import sympy
>>> from symbackprop import _names as n
>>> text((n.asym(1, 3) - n.target(1)) ** 2 / 2)
'(a1[3] − t1)²/2'
>>> plain(n.asym(1, 2) * n.delta(1, 3))
'a1[2]*delta1[3]'
"""
from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from . import _names as names
from ._printing_order import CheapOrder


class _Plain(CheapOrder, StrPrinter):
    """The grammar JSON is written in (and verify reads): ASCII names, ``*``, ``**``.

    The operators are the class's own: ``_mul_symbol``, ``_minus``, ``_power``, and
    ``_squares`` (x² for x**2); the text printers below only change them.
    """

    unicode_names = False
    display = False       # True in the text printers: names may print a reader's form, not the grammar's
    _mul_symbol = "*"
    _minus = "-"
    _power = "**"
    _squares = False

    def _print_Piecewise(self, expr):
        # only relu-like definitions reach a printer; written as a readable condition
        parts = [f"{self._print(e)} if {self._print(c)}" for e, c in expr.args[:-1]]
        return "(" + "; ".join(parts + [f"{self._print(expr.args[-1][0])} otherwise"]) + ")"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _signed(self, text: str) -> str:
        """A printed negative number or product, with this printer's minus sign."""
        return self._minus + text[1:] if text.startswith("-") else text

    def _print_Integer(self, expr):
        return self._signed(super()._print_Integer(expr))

    def _print_Rational(self, expr):
        return self._signed(super()._print_Rational(expr))

    def _print_Float(self, expr):
        return self._signed(super()._print_Float(expr))

    def _print_Mul(self, expr):
        out = super()._print_Mul(expr)
        if self._mul_symbol != "*":     # SymPy's own Mul joins with *; every factor is printed already
            out = out.replace("*", self._mul_symbol)
        return self._signed(out)

    def _print_Pow(self, expr, rational=False):
        if expr.exp is sympy.S.Half or (expr.is_commutative and (-expr.exp is sympy.S.Half
                                                                 or expr.exp is sympy.S.NegativeOne)):
            return super()._print_Pow(expr, rational)      # sqrt(x), 1/sqrt(x), 1/x: no power sign
        prec = precedence(expr)
        base = self.parenthesize(expr.base, prec, strict=False)
        if self._squares and expr.exp == 2:
            return base + "²"
        return base + self._power + self.parenthesize(expr.exp, prec, strict=False)

    def _signed_term(self, term, first: bool, expr) -> tuple:
        """One term of a sum and the sign before it, as StrPrinter's, with this printer's minus."""
        t, sign = self._print(term), "+"
        if t[:1] in ("-", self._minus) and not term.is_Add:
            sign, t = self._minus, t[1:]
        if precedence(term) < precedence(expr) or term.is_Add:
            t = f"({t})"
        if first:
            return "", ("" if sign == "+" else sign) + t
        return f" {sign} ", t


class _Text(_Plain):
    unicode_names = True
    display = True
    max_terms = 8
    _mul_symbol = "·"
    _minus = "−"
    _power = "^"
    _squares = True

    def _print_Sum(self, expr):
        (index, *_), = expr.limits
        return f"Σ_{self._print(index)}({self._print(expr.function)})"


class _AsciiText(_Plain):
    display = True
    max_terms = 8
    ellipsis = "..."
    _power = "^"

    def _print_Sum(self, expr):
        (index, *_), = expr.limits
        return f"sum_{self._print(index)}({self._print(expr.function)})"


def plain(expr: sympy.Expr, printer=None) -> str:
    """ASCII, in the grammar that verification reads back; ``printer`` (``plain_printer()``) to reuse one
    for many expressions of one network (it remembers how it wrote each name)."""
    printer = printer or _Plain()
    return printer.names_product(expr) or printer.doprint(expr)


def plain_printer():
    """A printer for ``plain``, to write many expressions of one network with."""
    return _Plain()


def text(expr: sympy.Expr, ascii_only: bool = False) -> str:
    """Plain text for reading: unicode δ · − ² (or ASCII delta * - ^ with ``ascii_only``)."""
    return (_AsciiText() if ascii_only else _Text()).doprint(expr)


class _Latex(CheapOrder, LatexPrinter):
    _mul_symbol = " \\cdot "
    max_terms = 6
    ellipsis = "\\cdots"

    def __init__(self):
        super().__init__({"mul_symbol": "dot"})

    def _signed_term(self, term, first: bool, expr) -> tuple:
        """One term of a sum and the sign before it, as LatexPrinter's."""
        sign = "" if first else " + "
        if not first and term.could_extract_minus_sign():
            sign, term = " - ", -term
        tex = self._print(term)
        return sign, (f"\\left({tex}\\right)" if self._needs_add_brackets(term) else tex)

    def mul_pieces(self, expr, tex: str) -> list:
        """A product's factors as pieces, when its printed form ``tex`` is just those factors joined by
        a dot (no fraction, no sign); [] otherwise."""
        for order in (sorted(expr.args, key=lambda f: names.name_key(f) is None), expr.as_ordered_factors()):
            parts = [self.parenthesize(f, precedence(expr), strict=False) for f in order]
            if self._mul_symbol.join(parts) == tex:
                return [("" if n == 0 else self._mul_symbol, p) for n, p in enumerate(parts)]
        return []


_LATEX = _Latex()


class Math(str):
    """Printed math that keeps its top-level pieces, (operator, text) with "" before the first, so that
    a line may break between them (never inside parentheses); ``source``: the expression printed."""

    pieces: tuple = ()
    source = None


def math(text: str, pieces=(), source=None) -> Math:
    out = Math(text)
    out.pieces, out.source = tuple(pieces), source
    return out


def latex(expr: sympy.Expr) -> Math:
    """LaTeX through SymPy's printer (names give their own ``w_{11}^{[2]}``), with the terms of a
    sum or the factors of a product as its pieces."""
    if isinstance(expr, sympy.Add):
        pieces = _LATEX.add_pieces(expr)
        return math("".join(sign + text for sign, text in pieces), pieces, expr)
    tex = _LATEX.doprint(expr)
    return math(tex, _LATEX.mul_pieces(expr, tex) if isinstance(expr, sympy.Mul) else (), expr)


def term_count(expr) -> int:
    """How many terms an expression has written out: one, and one more for every + or − of its sums."""
    return 1 + sum(len(a.args) - 1 for a in sympy.preorder_traversal(expr) if isinstance(a, sympy.Add))
