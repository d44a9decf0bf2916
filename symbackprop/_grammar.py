"""A small recursive-descent parser for the notation's expressions.

The user's text is tokenised and parsed here; nothing of it is ever handed to
``eval``, ``sympify`` or ``parse_expr``.  Names are turned into symbols by a
``resolve`` callback, functions by a table, so one grammar serves custom
activations (``z/(1+abs(z))``) and hand derivations (``a1[2]·δ1[3]``).

>>> import sympy
>>> z = sympy.Symbol("z")
>>> parse_expression("z/(1+abs(z))", lambda n, c: z if n == "z" else None, {"abs": sympy.Abs})
z/(Abs(z) + 1)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import sympy

from ._errors import NotationError, ParseError
from ._losses import FUNCTIONS as LOSS_FUNCTIONS

MAX_LENGTH = 20_000
MAX_DEPTH = 100
MAX_EXPONENT = 1000


@dataclass(frozen=True)
class Token:
    kind: str      # num, name, op, end
    text: str
    column: int


_UNICODE = {"·": "*", "×": "*", "−": "-", "⋅": "*", "∗": "*", "÷": "/", "′": "'"}
_NAME = r"(?:[A-Za-zδσηλΣ_][A-Za-z_]*)(?:[0-9]+(?:,[0-9]+)*)?(?:\[[0-9]+\]|<[0-9t+\-]+>)?'?"
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+(?![A-Za-z\[]))?)"
    r"|(?P<name>" + _NAME + r")"
    r"|(?P<op>\*\*|[-+*/^()²³,=]))")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, or raise ParseError at the first bad character."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH)
    text = "".join(_UNICODE.get(ch, ch) for ch in text)
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ParseError(f"unexpected character {text[col - 1]!r}", col)
        kind = m.lastgroup
        tokens.append(Token(kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    depth = 0
    for tok in tokens:  # refuse deep nesting before any recursion
        depth += (tok.text == "(") - (tok.text == ")")
        if depth > MAX_DEPTH:
            raise ParseError(f"parentheses nested more than {MAX_DEPTH} deep", tok.column)
    return tokens


Resolver = Callable[[str, int], "sympy.Expr | None"]


class _Parser:
    def __init__(self, text: str, resolve: Resolver, functions: dict):
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.resolve = resolve
        self.functions = functions

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self, text: str | None = None) -> Token:
        tok = self.tok
        if text is not None and tok.text != text:
            want = "end of input" if text == "" else repr(text)
            got = "end of input" if tok.kind == "end" else repr(tok.text)
            raise ParseError(f"expected {want}, found {got}", tok.column)
        self.pos += 1
        return tok

    def deeper(self, column: int):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"expression nested more than {MAX_DEPTH} deep", column)

    # -- grammar:  sum := term (('+'|'-') term)* ; term := unary (('*'|'/'|juxtaposed) unary)*
    #              unary := ('-'|'+') unary | power ; power := atom postfix* ('^' unary)?
    def parse(self) -> sympy.Expr:
        expr = self.sum()
        self.take("")
        return expr

    def sum(self) -> sympy.Expr:
        self.deeper(self.tok.column)
        terms = [self.term()]
        while self.tok.text in ("+", "-"):
            sign = self.take().text
            term = self.term()
            terms.append(-term if sign == "-" else term)
        self.depth -= 1
        return sympy.Add(*terms)

    def _starts_atom(self) -> bool:
        return self.tok.kind in ("num", "name") or self.tok.text == "("

    def term(self) -> sympy.Expr:
        factors = [self.unary()]
        while self.tok.text in ("*", "/") or self._starts_atom():
            if self.tok.text == "/":
                self.take()
                factors.append(sympy.Pow(self.unary(), -1))
            else:
                if self.tok.text == "*":
                    self.take()
                factors.append(self.unary())
        return sympy.Mul(*factors)

    def unary(self) -> sympy.Expr:
        if self.tok.text in ("-", "+"):
            tok = self.take()
            self.deeper(tok.column)
            inner = self.unary()
            self.depth -= 1
            return -inner if tok.text == "-" else inner
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        while self.tok.text in ("²", "³"):
            base = self._pow(base, sympy.Integer(2 if self.take().text == "²" else 3), self.tok.column)
        if self.tok.text in ("^", "**"):
            tok = self.take()
            self.deeper(tok.column)
            exponent = self.unary()
            self.depth -= 1
            return self._pow(base, exponent, tok.column)
        return base

    @staticmethod
    def _pow(base, exponent, column):
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise ParseError(f"exponent {exponent} is too large (at most {MAX_EXPONENT})", column)
        # digits of the result ≈ exponent × digits of the base: refuse what would be huge
        if base.is_Number and exponent.is_Number and abs(exponent) * _digits(base) > 4 * MAX_EXPONENT:
            raise ParseError("that power is too large a number", column)
        return sympy.Pow(base, exponent)

    def atom(self) -> sympy.Expr:
        tok = self.tok
        if tok.text == "(":
            self.take()
            inner = self.sum()
            self.take(")")
            return inner
        if tok.kind == "num":
            self.take()
            if abs(int(tok.text.lower().partition("e")[2] or 0)) > MAX_EXPONENT:
                raise ParseError(f"the number {tok.text[:20]} is too large or too small (exponent at most "
                                 f"{MAX_EXPONENT})", tok.column)
            return sympy.Rational(tok.text) if len(tok.text) < 40 else sympy.Float(tok.text)
        if tok.kind == "name":
            self.take()
            if self.tok.text == "(" and tok.text in self.functions:
                self.take("(")
                f, args = self.functions[tok.text], [self.sum()]
                while self.tok.text == "," and len(args) < getattr(f, "most_arguments", 1):
                    self.take(",")
                    args.append(self.sum())
                self.take(")")
                try:
                    return f(*args)
                except NotationError as err:        # a function's refusal of its arguments, at its name
                    raise ParseError(str(err), tok.column) from None
            if tok.text in self.functions:
                raise ParseError(f"{tok.text} is a function: write {tok.text}(…)", tok.column)
            value = self.resolve(tok.text, tok.column)
            if value is None:
                raise ParseError(f"unknown name {tok.text!r}", tok.column)
            return value
        found = "end of input" if tok.kind == "end" else repr(tok.text)
        raise ParseError(f"expected a number, a name or '(', found {found}", tok.column)


def _digits(n: sympy.Number) -> float:
    """About how many digits a number has, without printing it (Python refuses to print huge ints)."""
    if n.is_Rational:
        return max(abs(n.p).bit_length(), n.q.bit_length()) * 0.302 + 1
    return len(str(n))


def parse_expression(text: str, resolve: Resolver, functions: dict) -> sympy.Expr:
    """Parse ``text`` into a SymPy expression; names via ``resolve``, calls via ``functions``."""
    if not text.strip():
        raise ParseError("the expression is empty", 1)
    expr = _Parser(text, resolve, functions).parse()
    if any(_digits(n) > 4 * MAX_EXPONENT for n in expr.atoms(sympy.Number)):
        raise ParseError(f"a number in it has over {4 * MAX_EXPONENT:,} digits: write a smaller one", 1)
    return expr


#: functions a custom activation may use, by the name the user writes
ELEMENTARY = {
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sqrt": sympy.sqrt,
    "abs": sympy.Abs, "tanh": sympy.tanh, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "sin": sympy.sin, "cos": sympy.cos, "atan": sympy.atan, "erf": sympy.erf, "sign": sympy.sign,
    **LOSS_FUNCTIONS,       # huber and huber', which the Huber loss prints
}
