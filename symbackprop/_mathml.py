"""Presentation MathML: SymPy's printer with our names, and plain math text turned into MathML.

Names print as in LaTeX (``w11[2]`` → w with 11 below and [2] above, ``delta1<3>`` → δ with
⟨3⟩ above); functions as their LaTeX heads (σ, tanh, ReLU, g′).  Both functions return a
fragment, the children of an ``<mrow>``; the page wraps them in ``<math>``.

>>> import sympy
>>> from symbackprop import _names as n
>>> mathml(n.weight(1, 1, 2))
'<msubsup><mi>w</mi><mn>11</mn><mrow><mo>[</mo><mn>2</mn><mo>]</mo></mrow></msubsup>'
>>> tokens("T+1")
'<mi>T</mi><mo>+</mo><mn>1</mn>'
"""
from __future__ import annotations

import re
from xml.sax.saxutils import escape

import sympy
from sympy.printing.mathml import MathMLPresentationPrinter

from . import _names as names
from ._activations import ACTIVATIONS
from ._labels import script_of

#: LaTeX commands our names and functions use, as the characters MathML shows
_COMMANDS = {"delta": "δ", "lambda": "λ", "sigma": "σ", "eta": "η", "langle": "⟨", "rangle": "⟩", "gamma": "γ", "beta": "β",
             "mu": "μ", "varepsilon": "ε", "odot": "⊙", "xhat": "x\u0302"}
_LATEX_NAME = re.compile(r"(\\?[A-Za-z]+)(?:_\{([^{}]*)\})?(?:\^\{([^{}]*)\})?\Z")
_TOKEN = re.compile(r"\s+|[0-9]+(?:\.[0-9]+)?|'+|[^\W\d_]|.", re.S)
_MO = {"-": "−", "*": "·", "'": "′", "''": "″"}


def from_latex(text: str) -> str:
    """A name's LaTeX pieces as plain characters: ``\\langle t \\rangle`` → ⟨t⟩, ``\\mathrm{ReLU}`` → ReLU."""
    text = re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", text)
    return re.sub(r"\\([A-Za-z]+)\s*", lambda m: _COMMANDS.get(m.group(1), m.group(1)), text).replace(" ", "")


def token_list(text: str) -> list:
    """(tag, text) for each token of plain math text: letters are <mi>, numbers <mn>, the rest <mo>."""
    out = []
    for m in _TOKEN.finditer(text):
        t = m.group()
        if t.isspace():
            continue
        if t[0].isdigit():
            out.append(("mn", t))
        elif t.isalpha():
            out.append(("mi", t))
        else:
            out.append(("mo", _MO.get(t, t)))
    return out


def tokens(text: str) -> str:
    """Plain math text (``k+1``, ``L = 3``, ``g'``) as MathML tokens."""
    out = []
    for tag, t in token_list(text):
        out.append(f"<{tag}>{escape(t)}</{tag}>")
    return "".join(out)


def script(sym) -> tuple:
    """A name's (letter, subscript, superscript) as plain characters: w11[2] → (w, 11, [2]);
    None for a symbol that is not one of our names."""
    if isinstance(sym, names.Name):
        return script_of(sym.name)
    latex = sym._latex(None).replace("\\hat{x}", "\\xhat").replace("\\operatorname{var}", "var") \
        if hasattr(sym, "_latex") else ""
    m = _LATEX_NAME.match(latex)
    return None if m is None else tuple(from_latex(g or "") for g in m.groups())


class _MathML(MathMLPresentationPrinter):
    """SymPy's presentation MathML printer, with our names, function heads and long sums cut."""

    max_terms = 8

    def __init__(self):
        super().__init__({"mul_symbol": "dot"})

    def _row(self, pieces: list):
        """The (tag, text) tokens as one element: alone, or in an <mrow>."""
        elements = []
        for tag, text in pieces:
            el = self.dom.createElement(tag)
            el.appendChild(self.dom.createTextNode(escape(text)))
            elements.append(el)
        if len(elements) == 1:
            return elements[0]
        row = self.dom.createElement("mrow")
        for el in elements:
            row.appendChild(el)
        return row

    def _scripted(self, letter: str, below: str, above: str):
        tag = "msubsup" if below and above else "msub" if below else "msup" if above else None
        head = self._row([("mi", letter)])
        if tag is None:
            return head
        el = self.dom.createElement(tag)
        el.appendChild(head)
        for part in (below, above):
            if part:
                el.appendChild(self._row(token_list(part)))
        return el

    def _print_Symbol(self, sym, style="plain"):
        parts = script(sym)
        # a symbol of no kind of ours (E, z, n_L): as SymPy prints it
        return super()._print_Symbol(sym, style) if parts is None else self._scripted(*parts)

    def _head(self, function) -> str:
        """A function's name as it is set: an activation's LaTeX head (σ, tanh, ReLU) and its primes."""
        name = type(function).__name__
        bare = name.rstrip("'")
        entry = ACTIVATIONS.get(bare)
        return (from_latex(entry.latex) if entry is not None and entry.latex else bare) + name[len(bare):]

    def _print_Function(self, e):
        if type(e).__module__.startswith("sympy."):
            return super()._print_Function(e)
        head = self._head(e)
        bare = head.rstrip("'")
        row = self.dom.createElement("mrow")
        # g′ as g then ′ (an <msup> sets the prime a second time higher)
        for tag, text in [("mi", bare)] + [("mo", "′")] * (len(head) - len(bare)):
            row.appendChild(self._row([(tag, text)]))
        row.appendChild(self._paren_comma_separated(*e.args))
        return row

    def _print_Pow(self, e):
        parts = script(e.base) if e.base.is_Symbol else None
        if not (parts and parts[2] and e.exp.is_Integer and e.exp > 0):
            return super()._print_Pow(e)
        # a name with a superscript, raised to a power: (w_{11}^{[1]})², as LaTeX has it
        power = self.dom.createElement("msup")
        power.appendChild(self._paren_comma_separated(e.base))
        power.appendChild(self._print(e.exp))
        return power

    def _print_Exp1(self, e):
        return self._row([("mi", "e")])

    def _print_Piecewise(self, expr):
        # cases under a brace: value, then "if" condition or "otherwise" (relu-like definitions)
        table = self.dom.createElement("mtable")
        table.setAttribute("columnalign", "left left")
        for n, (value, cond) in enumerate(expr.args):
            tr = self.dom.createElement("mtr")
            for cell in (self._print(value), self._case(cond, n == len(expr.args) - 1)):
                td = self.dom.createElement("mtd")
                td.appendChild(cell)
                tr.appendChild(td)
            table.appendChild(tr)
        row = self.dom.createElement("mrow")
        row.appendChild(self._row([("mo", "{")]))
        row.appendChild(table)
        return row

    def _case(self, cond, last: bool):
        if last and cond == sympy.true:
            return self._row([("mtext", "otherwise")])
        row = self.dom.createElement("mrow")
        row.appendChild(self._row([("mtext", "if\u00a0")]))
        row.appendChild(self._print(cond))
        return row

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if len(terms) <= self.max_terms:
            return super()._print_Add(expr, order)
        row = self.dom.createElement("mrow")     # first two + ⋯ + last two, as the other printers
        for n, term in enumerate(terms[:2] + [None] + terms[-2:]):
            if term is None:
                row.appendChild(self._row([("mo", "+")]))
                row.appendChild(self._row([("mo", "⋯")]))
                continue
            negative = term.could_extract_minus_sign()
            if n or negative:
                row.appendChild(self._row([("mo", "−" if negative else "+")]))
            row.appendChild(self._print(-term if negative else term))
        return row


_PRINTER = _MathML()


def mathml(expr) -> str:
    """An expression as a presentation-MathML fragment (no ``<math>`` around it), minus signs as −."""
    out = _PRINTER._print(sympy.sympify(expr) if isinstance(expr, (int, float)) else expr).toxml()
    return out.replace("<mo>-</mo>", "<mo>−</mo>").replace("&#xB7;", "·")
