"""The functions a graph's equations may call, and their local gradients.

The grammar's elementary functions (erf aside: NumPy has none; huber aside: a loss's), every activation (σ too),
the generic g, and max(u, v), min(u, v), whose local gradient is a step: the larger (smaller)
input takes the whole gradient.  Answers checked by verify may also use the activations'
derivatives (σ'(y)) and step.  :class:`Reader` is the grammar's parser with these added.

>>> import sympy
>>> u, v = sympy.symbols("u v", real=True)
>>> local(Max(u, v), u), local(FUNCTIONS["abs"](u), u), local(FUNCTIONS["sign"](u), u)
(step(u - v), sign(u), 0)
"""
from __future__ import annotations

import sympy

from ._activations import ACTIVATIONS
from ._errors import ParseError
from ._grammar import ELEMENTARY, LOSS_FUNCTIONS, _Parser


class step(sympy.Function):  # noqa: N801 (a function's name, as it prints)
    """step(u): 1 for u > 0, 0 for u < 0, ½ at 0; the local gradient of max and min.

    >>> u = sympy.Symbol("u")
    >>> step(2), sympy.diff(step(u), u)
    (1, 0)
    """

    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.is_Number:
            return sympy.S.One if u > 0 else sympy.S.Zero if u < 0 else sympy.S.Half

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    def _numpycode(self, printer):
        return f"numpy.heaviside({printer._print(self.args[0])}, 0.5)"

    def _latex(self, printer):
        return f"\\operatorname{{step}}\\left({printer._print(self.args[0])}\\right)"


class _Extreme(sympy.Function):
    """max(u, v) or min(u, v) of two values; its local gradient is a step: the larger (smaller) takes it."""

    nargs = 2
    sign = 1

    @classmethod
    def eval(cls, u, v):
        if u == v:
            return u
        if u.is_Number and v.is_Number:
            return u if (u - v) * cls.sign > 0 else v

    def fdiff(self, argindex=1):
        u, v = self.args if argindex == 1 else self.args[::-1]
        return step(self.sign * (u - v))

    def _sympystr(self, printer):
        return f"{type(self).__name__}({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer):
        return f"\\{type(self).__name__}\\left({printer._print(self.args[0])}, {printer._print(self.args[1])}\\right)"

    def _numpycode(self, printer):
        return f"numpy.{type(self).__name__}imum({printer._print(self.args[0])}, {printer._print(self.args[1])})"


Max = type("max", (_Extreme,), {"sign": 1, "__doc__": "max(u, v)"})
Min = type("min", (_Extreme,), {"sign": -1, "__doc__": "min(u, v)"})


def _functions() -> dict:
    """The one-argument functions an equation may call: the grammar's (erf aside: NumPy has none),
    every activation (σ too), and the generic g."""
    table = {k: v for k, v in ELEMENTARY.items() if k != "erf" and k not in LOSS_FUNCTIONS}
    for name in ("sigmoid", "relu", "leaky_relu", "softplus", "g"):
        table[name] = ACTIVATIONS[name].functions[0]
    table["σ"] = table["sigmoid"]
    table["linear"] = lambda u: u
    return table


FUNCTIONS = _functions()
TWO_ARGUMENTS = {"max": Max, "min": Min}
#: what an answer may also use: the activations' derivatives (σ'(y), relu'(u), g'(u)) and step
ANSWER_FUNCTIONS = {**FUNCTIONS, "step": step, "σ'": ACTIVATIONS["sigmoid"].functions[1],
                    **{f"{n}'": ACTIVATIONS[n].functions[1] for n in ("sigmoid", "relu", "leaky_relu", "softplus", "g")}}
SIGMOID, SIGMOID_PRIME = ACTIVATIONS["sigmoid"].functions


def local(expr: sympy.Expr, by: sympy.Symbol) -> sympy.Expr:
    """∂expr/∂by, with Heaviside written step and the Dirac delta of sign's kink taken as 0 (the
    derivative almost everywhere, which finite differences also see)."""
    d = sympy.diff(expr, by)
    d = d.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    return d.replace(lambda e: isinstance(e, sympy.Heaviside), lambda e: step(e.args[0]))


class Reader(_Parser):
    """The grammar's parser with two-argument max and min, an unknown function named as one (not
    read as a product), and the column where each subexpression starts (``where``)."""

    def __init__(self, text: str, resolve, functions: dict, two: dict = TWO_ARGUMENTS):
        super().__init__(text, resolve, functions)
        self.two, self.where = two, {}

    @staticmethod
    def _pow(base, exponent, column):
        with sympy.evaluate(True):          # the grammar's size guards, on the values
            _Parser._pow(evaluated(base), evaluated(exponent), column)
        return sympy.Pow(base, exponent)

    def unary(self):
        column = self.tok.column
        expr = super().unary()
        self.where.setdefault(expr, column)
        return expr

    def atom(self):
        tok, after = self.tok, self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else self.tok
        if tok.kind != "name" or after.text != "(" or tok.text in self.functions:
            return super().atom()
        if tok.text not in self.two:
            known = ", ".join(sorted([*self.functions, *self.two]))
            raise ParseError(f"unknown function {tok.text!r}: use one of {known}", tok.column)
        self.take()
        self.take("(")
        first = self.sum()
        self.take(",")
        second = self.sum()
        self.take(")")
        return self.two[tok.text](first, second)


def evaluated(expr):
    """An unevaluated expression built again, evaluated (atoms as they are)."""
    return expr if not expr.args else expr.func(*[evaluated(a) for a in expr.args])
