"""The formats a derivation is written in: plain text (unicode or ASCII), LaTeX, Markdown.

A format decides only how a partial, a product, a sum or a block of equations
looks; the walks (``_render.py``, ``_render_recurrent.py``) decide what is said.

>>> TextFormat(ascii_only=True).partial_sign
'd'
"""
from __future__ import annotations

import re

import sympy

from . import _printing as printing
from ._graph import E


class _Format:
    """How a piece of the derivation looks; subclasses set the symbols."""

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
        return self.mul.join(self.factor(f) for f in factors) or "1"

    ellipsis = "…"
    max_paths = 4

    def total(self, products) -> str:
        """A sum of terms; more than ``max_paths`` show as the first two, …, the last."""
        products = list(products)
        if len(products) > self.max_paths:
            products = products[:2] + [self.ellipsis] + products[-1:]
        return " + ".join(products)

    def name_of(self, ascii_text: str, unicode_text: str) -> str:
        return unicode_text

    def greek(self, name: str) -> str:
        """delta or eta as prose shows it."""
        return {"delta": "δ", "eta": "η"}[name]


class TextFormat(_Format):
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

    def expr(self, e) -> str:
        return printing.text(e, self.ascii_only)

    def name_of(self, ascii_text, unicode_text):
        return ascii_text if self.ascii_only else unicode_text

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
                        line = " = ".join(sides)
                        out.append(f"  {(label or '').ljust(width)}  {line}" if width else f"  {line}")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


class LatexFormat(_Format):
    def inline_math(self, s: str) -> str:
        """Math inside prose: between dollars."""
        return f"${s}$"

    def run_in(self, parameter) -> str:
        """The heading of one parameter's steps: ∂E/∂p."""
        return f"\\paragraph{{$\\partial E / \\partial {self.expr(parameter)}$}}"

    def item(self, kind: str, content) -> str:
        """One item of a section: a paragraph, a run-in heading, update rules, or a block of equations."""
        return {"para": lambda: content, "head": lambda: self.run_in(content),
                "update": lambda: self.aligned(" \\\\\n".join(self.update_rule(p) for p in content)),
                "eqs": lambda: self.equations(content)}[kind]()

    def update_rule(self, p) -> str:
        """p ← p − η·∂E/∂p, aligned at the arrow."""
        w = self.expr(p)
        return f"{w} &\\leftarrow {w} - \\eta \\cdot \\frac{{\\partial E}}{{\\partial {w}}}"

    def aligned(self, rows: str) -> str:
        return "\\begin{align*}\n" + rows + "\n\\end{align*}"

    ellipsis = "\\cdots"
    mul = " \\cdot "
    eta = "\\eta"
    arrow = "\\leftarrow"
    sum_sign = "\\sum"

    def expr(self, e) -> str:
        return printing.latex(e)

    def partial(self, of, by) -> str:
        return f"\\frac{{\\partial {self.expr(of)}}}{{\\partial {self.expr(by)}}}"

    def paren(self, s):
        return f"\\left({s}\\right)"

    def name_of(self, ascii_text, unicode_text):
        return unicode_text

    def greek(self, name):
        return f"$\\{name}$"

    @staticmethod
    def prose(text: str) -> str:
        """Prose with $…$ math as it is (the walk writes inline math with $)."""
        return text

    #: a line of an equation holds about this many characters of visible math
    line_width = 52

    def _side(self, side: str) -> str:
        broken = _break(side, self.line_width)
        if max(_visible(line) for line in broken.split("\\\\\n")) > 1.25 * self.line_width:
            # nothing to break at (a huge fraction): say so rather than run off the page
            return "\\text{(too long to typeset; \\texttt{--format json --expanded} has it)}"
        return broken

    def equations(self, content) -> str:
        rows = []
        for label, sides in content:
            pieces = [sides[0] + " &= " + self._side(sides[1])]
            pieces += ["  &= " + self._side(side) for side in sides[2:]]
            row = " \\\\\n".join(pieces)
            if label:
                row += f" \\tag*{{\\small {label}}}"
            rows.append(row)
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def document(self, title, subtitle, sections) -> str:
        out = [f"\\section*{{{title}}}", subtitle, ""]
        for heading, items in sections:
            out.append(f"\\subsection*{{{heading}}}")
            for kind, content in items:
                out.append(self.item(kind, content))
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def _visible(s: str) -> int:
    """Roughly how wide LaTeX math prints: commands count as one character, markup as none."""
    s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m.group(1), m.group(2), key=len), s)
    s = re.sub(r"\^\{\[[0-9]+\]\}", "", s)
    s = re.sub(r"\\(left|right|bigl|bigr)", "", s)
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    return len(re.sub(r"[{}_ ]", "", s))


def _break(s: str, width: int) -> str:
    """Split a long right side at + − · between groups: lines of align*, \\bigl( \\bigr) spanning them."""
    if _visible(s) <= width:
        return s
    s = s.replace("\\left(", "\\bigl(").replace("\\right)", "\\bigr)")
    out, line, depth, i = [], "", 0, 0
    tokens = []
    while i < len(s):      # split into tokens at the operators that lie outside braces
        for op in (" + ", " - ", " \\cdot "):
            if depth == 0 and s.startswith(op, i):
                tokens.append(op)
                i += len(op)
                break
        else:
            depth += (s[i] == "{") - (s[i] == "}")
            if tokens and tokens[-1] not in (" + ", " - ", " \\cdot "):
                tokens[-1] += s[i]
            else:
                tokens.append(s[i])
            i += 1
    for tok in tokens:
        if tok in (" + ", " - ", " \\cdot ") and _visible(line) > width:
            out.append(line)
            line = "\\quad " + tok.strip() + " "
        else:
            line += tok
    out.append(line)
    return " \\\\\n  &\\phantom{=}\\; ".join(out)


class MarkdownFormat(LatexFormat):
    def run_in(self, parameter) -> str:
        """The heading of one parameter's steps: ∂E/∂p, in bold."""
        return f"**$\\partial E / \\partial {self.expr(parameter)}$**"

    def aligned(self, rows: str) -> str:
        return "$$\n\\begin{aligned}\n" + rows + "\n\\end{aligned}\n$$"

    def equations(self, content) -> str:
        rows = []
        for label, sides in content:
            row = sides[0] + " &= " + " \\\\\n  &= ".join(sides[1:])
            rows.append(row + (f" && \\text{{{label}}}" if label else ""))
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def document(self, title, subtitle, sections) -> str:
        out = [f"## {title}", "", subtitle, ""]
        for heading, items in sections:
            out += [f"### {heading}", ""]
            for kind, content in items:
                out += [self.item(kind, content), ""]
        return "\n".join(out).rstrip() + "\n"
