"""The LaTeX and Markdown formats: math as LaTeX, in align* (LaTeX) or $$ aligned (Markdown).

>>> LatexFormat().indexed("W", 2)
'W^{[2]}'
"""
from __future__ import annotations

import re

from . import _printing as printing
from ._formats import _Format


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


    def greek(self, name):
        return f"$\\{name}$"

    times, hadamard = " \\times ", "\\odot"

    def letter(self, name):
        return f"\\{name}" if name in ("delta", "lambda", "sigma") else name

    def indexed(self, name, index, time=False):
        return f"{self.letter(name)}^{{\\langle {index} \\rangle}}" if time else f"{self.letter(name)}^{{[{index}]}}"

    def transpose(self, s):
        return f"\\left({s}\\right)^{{\\top}}" if (" " in s or "^" in s or "\\frac" in s) else f"{s}^{{\\top}}"

    def words(self, name):
        return name.replace("_", " ")

    def fname(self, function):
        bare = function.rstrip("'")
        if bare.startswith("\\"):
            return function
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


    #: a line of an equation holds about this many characters of visible math
    line_width = 52

    def side(self, side: str) -> str:
        broken = _break(side, self.line_width)
        if max(_visible(line) for line in broken.split("\\\\\n")) > 1.25 * self.line_width:
            # nothing to break at (a huge fraction): say so rather than run off the page
            return "\\text{(too long to typeset; \\texttt{--format json --expanded} has it)}"
        return broken

    def equations(self, content) -> str:
        rows = []
        for label, sides in content:
            pieces = [sides[0] + " &= " + self.side(sides[1])]
            pieces += ["  &= " + self.side(side) for side in sides[2:]]
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
    def words(self, name):
        return name

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
