"""The formats a derivation is written in: plain text (unicode or ASCII), LaTeX, Markdown.

A format decides only how a partial, a product, a sum or a block of equations
looks; the walks (``_render.py``, ``_render_recurrent.py``) decide what is said.

>>> TextFormat(ascii_only=True).partial_sign
'd'
"""
from __future__ import annotations

import sympy

from . import _printing as printing
from ._graph import E


class Written(str):
    """A derivation written out; ``omitted`` right sides were too long to show ("omitted; N terms")."""

    omitted = 0

    @property
    def note(self) -> str | None:
        """What the command line tells on stderr when something was left out; None when nothing was."""
        if not self.omitted:
            return None
        return (f"{self.omitted} expression{'s' if self.omitted > 1 else ''} too long to show "
                "(\"omitted; N terms\"); --format json --expanded has them in full")


def written(text: str, fmt) -> Written:
    """The text a writer returns, with what ``fmt`` left out."""
    out = Written(text)
    out.omitted = fmt.omitted
    return out


class _Format:
    """How a piece of the derivation looks; subclasses set the symbols."""

    omitted = 0           # how many right sides were too long to show, so far

    mul = "·"
    partial_sign = "∂"
    eta = "η"
    arrow = "←"
    sum_sign = "Σ"

    def expr(self, e) -> str:
        raise NotImplementedError

    def partial(self, of, by) -> str:
        return f"{self.partial_sign}{self.expr(of)}/{self.partial_sign}{self.expr(by)}"

    def definition(self, name, of) -> str:
        """name = ∂E/∂of, as math in prose (a δ's definition)."""
        return self.inline_math(f"{self.expr(name)} = {self.partial(E, of)}")

    def factor(self, e) -> str:
        """An expression as a factor of a product: parenthesised when a sum, negative or a fraction."""
        s = self.expr(e)
        fraction = isinstance(e, sympy.Mul) and any(
            isinstance(f, sympy.Pow) and f.exp.is_negative for f in e.args)
        wrap = isinstance(e, sympy.Add) or e.could_extract_minus_sign() or fraction or (
            e.is_Rational and not e.is_Integer)
        return self.paren(s) if wrap else s

    def paren(self, s: str) -> str:
        return f"({s})"

    def product(self, factors) -> str:
        """Factors in the given order, the 1's left out; a lone factor is not parenthesised."""
        factors = [f for f in factors if f != 1]
        if len(factors) == 1:
            return self.expr(factors[0])
        return self.joined([(self.mul if n else "", self.factor(f)) for n, f in enumerate(factors)]) or "1"

    ellipsis = "…"
    max_paths = 4

    def total(self, products) -> str:
        """A sum of terms; more than ``max_paths`` show as the first two, …, the last."""
        products = list(products)
        if len(products) > self.max_paths:
            products = products[:2] + [self.ellipsis] + products[-1:]
        return self.plus(products)

    def plus(self, terms) -> str:
        """Written terms joined by +, or by − before a term written with a leading minus (never "+ −")."""
        pieces = []
        for n, term in enumerate(terms):
            sign = " + " if n else ""
            if n and term.startswith(self.minus):
                sign, term = f" {self.minus} ", str(term)[len(self.minus):].lstrip()
            pieces.append((sign, term))
        return self.joined(pieces)

    def joined(self, pieces) -> str:
        """(operator, text) pieces written one after the other; formats that break long lines keep them."""
        return "".join(op + text for op, text in pieces)

    def left_out(self, side) -> str:
        """What stands for a right side too long to show: (omitted; N terms), N its terms written out."""
        self.omitted += 1
        source = getattr(side, "source", None)
        n = printing.term_count(source) if source is not None else 1 + sum(map(str(side).count, (" + ", " - ", " − ")))
        return f"(omitted; {n:,} term{'s' if n != 1 else ''})"

    def greek(self, name: str) -> str:
        """delta or eta as prose shows it."""
        return {"delta": "δ", "eta": "η"}[name]

    # -- vector and matrix notation (the matrix forms): each format writes these its own way
    times, hadamard, juxtapose = "×", "⊙", " "

    def letter(self, name: str) -> str:
        """A letter of the notation: delta, lambda or a Latin letter."""
        return {"delta": "δ", "lambda": "λ", "sigma": "σ", "gamma": "γ"}.get(name, name)

    def indexed(self, name: str, index, time: bool = False) -> str:
        """A whole layer's vector or matrix, W[k] (or a step's, h<t> with time)."""
        return f"{self.letter(name)}<{index}>" if time else f"{self.letter(name)}[{index}]"

    def transpose(self, s: str) -> str:
        return f"({s})ᵀ" if (" " in s or "/" in s) else f"{s}ᵀ"

    def words(self, name: str) -> str:
        """A registry name (cross_entropy) in running prose."""
        return name

    def fname(self, function: str) -> str:
        """A function's name (tanh, diag, g', tanh'), upright where the format sets names upright."""
        return function

    def call(self, function: str, argument: str) -> str:
        return f"{self.fname(function)}({argument})"

    brief = False          # plain text leaves out the introductory sentences
    le, minus = "≤", "−"

    def partial_of(self, of: str, by: str) -> str:
        """∂of/∂by as a display, of written names."""
        return self.inline_partial(of, by)

    def inline_partial(self, of: str, by: str) -> str:
        """∂of/∂by in one line (headings, prose), of written names."""
        return f"{self.partial_sign}{of}/{self.partial_sign}{by}"

    def dE(self, by: str) -> str:
        """∂E/∂ of an already written vector or matrix."""
        return f"{self.partial_sign}E/{self.partial_sign}{by}"

    def summed(self, index: str, lower, upper, body: str, product: bool = False) -> str:
        """Σ (or Π) over index = lower … upper of body (text: a sum shows its index only)."""
        if product:
            return f"product over {index} = {lower} {self.ellipsis} {upper} of {body}"
        return f"{self.sum_sign}_{index} {body}"


class TextFormat(_Format):
    brief = True

    def inline_math(self, s: str) -> str:
        """Math inside prose: as it is in text."""
        return s

    def run_in(self, parameter) -> str:
        """The heading of one parameter's steps: ∂E/∂p."""
        return f"{self.partial(E, parameter)}:"

    def update_rule(self, p) -> str:
        """p ← p − η·∂E/∂p."""
        minus = "-" if self.ascii_only else "−"
        return f"{self.expr(p)} {self.arrow} {self.expr(p)} {minus} {self.eta}{self.mul}{self.partial(E, p)}"

    def __init__(self, ascii_only: bool = False):
        self.ascii_only = ascii_only
        if ascii_only:
            self.ellipsis = "..."
            self.mul, self.partial_sign, self.eta, self.arrow, self.sum_sign = "*", "d", "eta", "<-", "sum"
            self.times, self.hadamard, self.le, self.minus = "x", "(.)", "<=", "-"

    def letter(self, name):
        if self.ascii_only and name == "sigma":
            return "sigmoid"
        return name if self.ascii_only and name in ("delta", "lambda", "gamma") else super().letter(name)

    def transpose(self, s):
        return super().transpose(s).replace("ᵀ", "^T") if self.ascii_only else super().transpose(s)

    def expr(self, e) -> str:
        return printing.math(printing.text(e, self.ascii_only), source=e)

    #: a right side longer than this many characters (ten lines of a terminal) is left out
    longest = 800

    def side(self, side: str) -> str:
        return side if len(side) <= self.longest else self.left_out(side)


    def greek(self, name):
        return name if self.ascii_only else super().greek(name)

    def document(self, title, subtitle, sections) -> str:
        out = [title, subtitle, ""]
        for heading, items in sections:
            out += [heading, "-" * len(heading)]
            for kind, content in items:
                if kind == "para":
                    out.append(content)
                elif kind == "head":
                    out.append(self.run_in(content))
                elif kind == "update":
                    out += [f"  {self.update_rule(p)}" for p in content]
                else:
                    width = max((len(label or "") for label, _ in content), default=0)
                    for label, sides in content:
                        line = " = ".join([sides[0]] + [self.side(s) for s in sides[1:]])
                        out.append(f"  {(label or '').ljust(width)}  {line}" if width else f"  {line}")
            out.append("")
        return "\n".join(out).rstrip() + "\n"
