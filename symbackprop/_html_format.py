"""The HTML format: math as presentation MathML, prose as HTML, a document as sections with ids.

The walks (``_render.py``, ``_render_recurrent.py``) glue the format's pieces together
with plain math text (`` = ``, `` + ``, ``k+1``); ``fragment`` turns such a mix into
MathML.  Every parameter's steps get a section, and every row that defines a name
(``z1[2] = …``, ``δ1[3] = …``) an id, so that the page's drawing can link to them.

>>> fragment("<mi>a</mi> + k+1")
'<mi>a</mi><mo>+</mo><mi>k</mi><mo>+</mo><mn>1</mn>'
>>> HtmlFormat().indexed("W", 2)
'<msup><mi>W</mi><mrow><mo>[</mo><mn>2</mn><mo>]</mo></mrow></msup>'
"""
from __future__ import annotations

import html
import re

import sympy

from ._formats import _Format
from ._graph import E
from ._layout import slug
from ._mathml import from_latex, mathml, tokens

_TAG = re.compile(r"(<[^<>]*>)")
_MATH = re.compile(r"(<math\b.*?</math>)", re.S)
#: operators before which a long line may break (see ``chunks``)
_BREAKS = ("<mo>+</mo>", "<mo>−</mo>", "<mo>=</mo>", "<mo>·</mo>")
#: the id of the drawing's section; every parameter's section links back to it
NETWORK_ID = "network"


def fragment(s) -> str:
    """Our MathML with plain math text between its elements (`` = ``, ``k+1``) → MathML only."""
    out, depth = [], 0
    for piece in _TAG.split(str(s)):
        if piece.startswith("<"):
            out.append(piece)
            depth += 0 if piece.endswith("/>") else -1 if piece.startswith("</") else 1
        elif piece:
            out.append(tokens(piece) if depth == 0 else piece)
    return "".join(out)


def top_level(s: str) -> list:
    """The elements at the top of a MathML fragment, each with everything inside it."""
    out, depth = [], 0
    for piece in _TAG.split(s):
        if not piece:
            continue
        if depth == 0:
            out.append(piece)
        else:
            out[-1] += piece
        if piece.startswith("<"):
            depth += 0 if piece.endswith("/>") else -1 if piece.startswith("</") else 1
    return out


#: a side longer than this many characters may also wrap inside its parentheses
LONG = 110
_OPEN, _CLOSE, _NEGATED = "<mrow><mo>(</mo>", "<mo>)</mo></mrow>", "<mrow><mo>−</mo>"


def _flat(s: str, deep: bool) -> list:
    """The elements of a fragment with every <mrow> opened: parenthesised ones only when ``deep``
    (their parentheses then no longer stretch, so that every piece has the same)."""
    out = []
    for part in top_level(s):
        if part.startswith(_OPEN) and part.endswith(_CLOSE):
            if deep:
                out += ['<mo stretchy="false">(</mo>', *_flat(part[len(_OPEN):-len(_CLOSE)], deep),
                        '<mo stretchy="false">)</mo>']
            else:
                out.append(part)
        elif part.startswith("<mrow>") and not part.startswith("<mrow><mo>"):    # a signed term stays whole
            out += _flat(part[len("<mrow>"):-len("</mrow>")], deep)
        else:
            out.append(part)
    return out


def chunks(side: str) -> list:
    """A side cut before each +, −, = and · outside fractions and scripts (and, in a long side,
    inside parentheses): the places a long line may wrap."""
    side = fragment(side)
    out = []
    for part in _flat(side, len(plain_text(side)) > LONG):
        if out and part in _BREAKS:
            out.append(part.replace("<mo>", '<mo form="infix">'))
        elif out:
            out[-1] += part
        else:
            out.append(part)
    return out


def prose(s: str) -> str:
    """Text with inline math: the text escaped, the math as it is."""
    return "".join(p if p.startswith("<math") else html.escape(p, quote=False) for p in _MATH.split(s))


def plain_text(s: str) -> str:
    """Text with its tags taken out: a page's <title>, or how long a side reads."""
    return html.unescape(re.sub(r"<[^>]*>", "", s))


class HtmlFormat(_Format):
    """Math as MathML fragments; ``document`` writes sections of HTML.  One instance per page:
    it records the ids it gives (``parameters``, ``rows``, ``sections``)."""

    mul, eta, arrow, sum_sign, ellipsis = "<mo>·</mo>", "<mi>η</mi>", "<mo>←</mo>", "<mo>∑</mo>", "<mo>⋯</mo>"
    times, hadamard, juxtapose = "<mo>×</mo>", "<mo>⊙</mo>", " "
    le, minus = "<mo>≤</mo>", "<mo>−</mo>"

    def __init__(self):
        self.parameters: dict = {}      # plain name → id of its section
        self.rows: dict = {}            # plain name → id of the row that defines it
        self.sections: list = []        # ids of the sections, in order
        self._names: dict = {}          # a lone name's MathML → its plain name

    def expr(self, e) -> str:
        out = mathml(e)
        if isinstance(e, sympy.Symbol):
            self._names.setdefault(out, e.name)
        return out

    def plus(self, terms) -> str:
        """Terms joined by +, or by − before a term that is a negation (never "+ −")."""
        out = []
        for n, term in enumerate(fragment(t) for t in terms):
            parts = top_level(term)
            if n and len(parts) == 1 and term.startswith(_NEGATED):
                out.append(self.minus + term[len(_NEGATED):-len("</mrow>")])
            else:
                out.append(("<mo>+</mo>" if n else "") + term)
        return "".join(out)

    def inline_math(self, s: str) -> str:
        return f"<math>{fragment(s)}</math>"

    def partial(self, of, by) -> str:
        return self.partial_of(self.expr(of), self.expr(by))

    def partial_of(self, of, by) -> str:
        return f"<mfrac><mrow><mi>∂</mi>{fragment(of)}</mrow><mrow><mi>∂</mi>{fragment(by)}</mrow></mfrac>"

    def inline_partial(self, of, by) -> str:
        return f"<mi>∂</mi>{fragment(of)}<mo>/</mo><mi>∂</mi>{fragment(by)}"

    def dE(self, by) -> str:
        return self.partial_of("<mi>E</mi>", by)

    def paren(self, s) -> str:
        return f"<mrow><mo>(</mo>{fragment(s)}<mo>)</mo></mrow>"

    def indexed(self, name, index, time=False) -> str:
        left, right = ("⟨", "⟩") if time else ("[", "]")
        return f"<msup><mi>{self.letter(name)}</mi><mrow><mo>{left}</mo>{fragment(index)}<mo>{right}</mo></mrow></msup>"

    def transpose(self, s) -> str:
        s = fragment(s)
        base = s if re.fullmatch(r"<mi>[^<]*</mi>", s) else self.paren(s)
        return f"<msup>{base}<mi>⊤</mi></msup>"

    def fname(self, function) -> str:
        bare = function.rstrip("'")
        head = f"<mi>{html.escape(from_latex(bare))}</mi>"
        return head + "<mo>′</mo>" * (len(function) - len(bare))

    def call(self, function, argument) -> str:
        return f"<mrow>{self.fname(function)}<mrow><mo>(</mo>{fragment(argument)}<mo>)</mo></mrow></mrow>"

    def summed(self, index, lower, upper, body, product=False) -> str:
        sign = "<mo>∏</mo>" if product else "<mo>∑</mo>"
        if upper is None:
            return f"<munder>{sign}<mrow>{fragment(index)}</mrow></munder>{fragment(body)}"
        return (f"<munderover>{sign}<mrow>{fragment(f'{index}={lower}')}</mrow><mrow>{fragment(upper)}</mrow>"
                f"</munderover>{fragment(body)}")

    # ---------------------------------------------------------------- the document
    def _section_id(self, heading: str) -> str:
        words = re.sub(r"[^a-z0-9]+", "-", plain_text(heading.split("<math")[0]).lower()).strip("-")
        sid, n = "sec-" + (words or "part"), 1
        while sid in self.sections:
            n += 1
            sid = f"sec-{words}-{n}"
        self.sections.append(sid)
        return sid

    def equations(self, rows, relation: str = "=") -> str:
        """A block of equations as a table: label, left side, then each right side on its own row,
        cut into pieces that wrap at top-level operators."""
        out = ['<div class="eqs"><table>']
        for label, sides in rows:
            name = self._names.get(sides[0])
            attr = ""
            if name is not None and name not in self.rows:
                self.rows[name] = "eq-" + slug(name)
                attr = f' id="{self.rows[name]}"'
            lhs = f'<math displaystyle="true">{fragment(sides[0])}</math>'
            for n, side in enumerate(sides[1:]):
                pieces = "<wbr>".join(f'<math displaystyle="true">{c}</math>' for c in chunks(side))
                out.append(f'<tr{attr if n == 0 else ""}><td class="label">{prose(label or "") if n == 0 else ""}'
                           f'</td><td class="lhs">{lhs if n == 0 else ""}</td><td class="rel"><math><mo>{relation}'
                           f'</mo></math></td><td class="rhs">{pieces}</td></tr>')
        out.append("</table></div>")
        return "\n".join(out)

    def update_rule(self, p) -> tuple:
        """(p, p − η·∂E/∂p), for a row with ←."""
        return (None, [self.expr(p), f"{self.expr(p)}{self.minus}{self.eta}{self.mul}{self.partial(E, p)}"])

    def document(self, title, subtitle, sections) -> str:
        """The page's body: a header, then a <section> per section, one per parameter inside."""
        out = [f'<header><h1>{prose(title)}</h1><p class="subtitle">{prose(subtitle)}</p></header>']
        for heading, items in sections:
            out.append(f'<section id="{self._section_id(heading)}">\n<h2>{prose(heading)}</h2>')
            inside = False
            for kind, content in items:
                if kind == "head":
                    out.append("</section>" if inside else "")
                    pid = self.parameters.setdefault(content.name, "dE-" + slug(content.name))
                    out.append(f'<section class="parameter" id="{pid}"><h3>'
                               f'{self.inline_math(self.inline_partial("E", self.expr(content)))} '
                               f'<a class="up" href="#{NETWORK_ID}" '
                               f'title="back to the drawing">↑</a></h3>')
                    inside = True
                elif kind == "para":
                    out.append(f"<p>{prose(content)}</p>")
                elif kind == "update":
                    out.append(self.equations([self.update_rule(p) for p in content], "←"))
                else:
                    out.append(self.equations(content))
            out.append("</section>\n</section>" if inside else "</section>")
        return "\n".join(line for line in out if line) + "\n"
