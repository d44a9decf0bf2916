"""The LaTeX and Markdown formats: math as LaTeX, in align* (LaTeX) or $$ aligned (Markdown).

Long right sides break into lines that fit the page (``_tex_width.width`` estimates how wide
LaTeX sets): before a top-level + or − of the printed expression, then before a · of a
term too wide for a line, never inside parentheses; what cannot break is "(omitted; N terms)".

>>> LatexFormat().indexed("W", 2)
'W^{[2]}'
"""
from __future__ import annotations

import re

from . import _printing as printing
from ._formats import _Format
from ._tex_width import width


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
        return f"\\{name}" if name in ("delta", "lambda", "sigma", "gamma") else name

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

    def __init__(self, text_width: float | None = None):
        if text_width is not None:
            self.text_width = text_width

    #: the width lines of math may take, in points of 10pt type: a plain article's text width
    text_width = 345.0

    def joined(self, pieces) -> str:
        return printing.math("".join(op + text for op, text in pieces), pieces)

    def lines(self, side: str, room: float) -> list | None:
        """A right side in lines of at most ``room`` pt: broken before its top-level + and − (then, in a
        term too wide for a line, before its ·), never inside parentheses; a continuation line starts
        with a quad and the operator.  None when one piece is wider than a line."""
        if width(side) <= room:
            return [side]
        items, rows, row, used = list(getattr(side, "pieces", ())), [], [], 0.0
        if not items:
            return None
        while items:
            op, text = items.pop(0)
            w = width(text) + (width(op.strip()) + 4.4 if op else 0.0)
            # a term keeps the "+ ⋯" after it on its line, so that a line starts with the ellipsis
            # only when the term alone fills one
            glue = width(self.ellipsis) + 12.2 if items and items[0][1] == self.ellipsis else 0.0
            if row and used + w + glue > room - (10.0 if rows else 0.0):
                rows.append(row)
                row, used = [], 0.0
            if used + w > room - (10.0 if rows else 0.0):
                if not getattr(text, "pieces", ()):
                    return None
                items[:0] = [(op if n == 0 else o, t) for n, (o, t) in enumerate(text.pieces)]
                continue
            row.append((op, text))
            used += w
        rows.append(row)
        return ["".join(o + t for o, t in rows[0])] + [
            "\\quad " + r[0][0].strip() + " " + r[0][1] + "".join(o + t for o, t in r[1:]) for r in rows[1:]]

    def side(self, side: str, room: float | None = None, lead: str = "  &") -> str:
        """A right side broken into lines (rows of an align: ``lead`` opens each continuation row);
        too wide to break, "(omitted; N terms)"."""
        lines = self.lines(side, room if room is not None else 0.9 * self.text_width)
        if lines is None:
            return f"\\text{{{self.left_out(side)}}}"
        return f" \\\\\n{lead}\\phantom{{=}}\\; ".join(lines)

    def equations(self, content) -> str:
        """Rows ``lhs = side = side …``, each side after the first on its own line; with step labels,
        the labels in a column of their own at the left (alignat), not tags that move the equations."""
        labels = [f"\\text{{\\small {label}}}" if label else "" for label, _ in content]
        labelled = any(labels)
        room = 0.96 * self.text_width - max(width(sides[0]) for _, sides in content) - 13.3
        if labelled:
            room -= max(width(label) for label in labels) + 10
        lead = "  & & &" if labelled else "  &"
        rows = []
        for label, (_, sides) in zip(labels, content):
            first = (f"& {label}\\quad & " if label else "& & ") if labelled else ""
            rows.append(" \\\\\n".join([f"{first}{sides[0]} &= {self.side(sides[1], room, lead)}"]
                                       + [f"{lead}= {self.side(side, room, lead)}" for side in sides[2:]]))
        env = "alignat*" if labelled else "align*"
        return f"\\begin{{{env}}}{'{2}' if labelled else ''}\n" + " \\\\\n".join(rows) + f"\n\\end{{{env}}}"

    def document(self, title, subtitle, sections) -> str:
        out = [f"\\section*{{{title}}}", subtitle, ""]
        for heading, items in sections:
            out.append(f"\\subsection*{{{heading}}}")
            for n, (kind, content) in enumerate(items):
                if kind == "para" and n and items[n - 1][0] == "para":
                    out.append("")              # a paragraph of its own, not run on from the one before
                out.append(self.item(kind, content))
            out.append("")
        return "\n".join(out).rstrip() + "\n"


class MarkdownFormat(LatexFormat):
    def words(self, name):
        return name

    def run_in(self, parameter) -> str:
        """The heading of one parameter's steps: ∂E/∂p, in bold."""
        return f"**$\\partial E / \\partial {self.expr(parameter)}$**"

    def aligned(self, rows: str) -> str:
        return "$$\n\\begin{aligned}\n" + rows + "\n\\end{aligned}\n$$"

    #: the width lines of math may take on a GitHub or Jupyter page, in points of 10pt type
    text_width = 500.0

    def equations(self, content) -> str:
        """Rows ``lhs = side = side …`` in an aligned block, the step's label at the right of its first line."""
        room = 0.96 * self.text_width - max(width(sides[0]) for _, sides in content) - 13.3
        room -= max((width(f"\\text{{{label}}}") + 20 for label, _ in content if label), default=0)
        rows = []
        for label, sides in content:
            row = sides[0] + " &= " + " \\\\\n  &= ".join(self.side(side, room) for side in sides[1:])
            first, *rest = row.split(" \\\\\n", 1)
            rows.append(" \\\\\n".join([first + (f" && {_label(label)}" if label else "")] + rest))
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def document(self, title, subtitle, sections) -> str:
        out = [f"## {title}", "", subtitle, ""]
        for heading, items in sections:
            out += [f"### {heading}", ""]
            for kind, content in items:
                out += [self.item(kind, content), ""]
        return "\n".join(out).rstrip() + "\n"


def _label(label: str) -> str:
    """A step's label as math for MathJax and KaTeX: words in \\text, its $…$ pieces as math
    (``$\\delta$ form`` → ``\\delta\\text{ form}``)."""
    return re.sub(r"\\text\{\}", "", re.sub(r"\$([^$]*)\$", r"}\1\\text{", f"\\text{{{label}}}"))
