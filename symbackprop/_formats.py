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

    # -- vector and matrix notation (the matrix forms): each format writes these its own way
    times, hadamard, juxtapose = "×", "⊙", " "

    def letter(self, name: str) -> str:
        """A letter of the notation: delta, lambda or a Latin letter."""
        return {"delta": "δ", "lambda": "λ"}.get(name, name)

    def indexed(self, name: str, index, time: bool = False) -> str:
        """A whole layer's vector or matrix, W[k] (or a step's, h<t> with time)."""
        return f"{self.letter(name)}<{index}>" if time else f"{self.letter(name)}[{index}]"

    def transpose(self, s: str) -> str:
        return f"({s})ᵀ" if (" " in s or "/" in s) else f"{s}ᵀ"

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
        return name if self.ascii_only and name in ("delta", "lambda") else super().letter(name)

    def transpose(self, s):
        return super().transpose(s).replace("ᵀ", "^T") if self.ascii_only else super().transpose(s)

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

    times, hadamard = " \\times ", "\\odot"

    def letter(self, name):
        return f"\\{name}" if name in ("delta", "lambda") else name

    def indexed(self, name, index, time=False):
        return f"{self.letter(name)}^{{\\langle {index} \\rangle}}" if time else f"{self.letter(name)}^{{[{index}]}}"

    def transpose(self, s):
        return f"\\left({s}\\right)^{{\\top}}" if (" " in s or "^" in s or "\\frac" in s) else f"{s}^{{\\top}}"

    def fname(self, function):
        bare = function.rstrip("'")
        return f"\\operatorname{{{bare}}}{function[len(bare):]}" if len(bare) > 1 else function

    def call(self, function, argument):
        return f"{self.fname(function)}\\left({argument}\\right)"

    le, minus = "\\le", "-"

    def inline_partial(self, of, by):
        return f"\\partial {of} / \\partial {by}"

    def partial_of(self, of, by):
        return f"\\frac{{\\partial {of}}}{{\\partial {by}}}"

    def dE(self, by):
        return f"\\frac{{\\partial E}}{{\\partial {by}}}"

    def summed(self, index, lower, upper, body, product=False):
        sign = "\\prod" if product else "\\sum"
        return f"{sign}_{{{index}}} {body}" if upper is None else f"{sign}_{{{index}={lower}}}^{{{upper}}} {body}"

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
