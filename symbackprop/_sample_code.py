"""NumPy code for verify's points: the generic g made a concrete function, expressions printed
as NumPy code with each sub-expression printed once.

>>> import numpy as np, sympy
>>> x = sympy.Symbol("x", real=True)
>>> evaluate_at(2 * x, {x: np.arange(3.0)}, (np.ones(3),) * 3)
array([0., 2., 4.])
"""
from __future__ import annotations

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ._activations import ACTIVATIONS
from ._errors import CompileError

G_PARAMS = sympy.symbols("_alpha _beta _gamma")


def concrete(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with the generic g as tanh(αu + β) + γu (and g' its derivative), α, β, γ the ``G_PARAMS``."""
    g, gp = ACTIVATIONS["g"].functions
    if not expr.has(g, gp):                  # a quarter of the time of the two replaces
        return expr
    al, be, ga = G_PARAMS
    expr = expr.replace(g, lambda u: sympy.tanh(al * u + be) + ga * u)
    return expr.replace(gp, lambda u: al * (1 - sympy.tanh(al * u + be) ** 2) + ga)


class Printer(NumPyPrinter):
    """NumPy code of expressions, each symbol a fixed identifier, each sub-expression printed once.

    The answers a verdict tries (the right one changed by each known mistake) share most of
    their parts: printing them anew took most of a wrong answer's time on 784-128-10.  Only
    the identifiers differ from lambdify's code, so the numbers are the same.
    """

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})
        self.idents: dict = {}
        self._printed: dict = {}

    def ident(self, symbol: sympy.Symbol) -> str:
        found = self.idents.get(symbol)
        if found is None:
            found = self.idents[symbol] = f"_v{len(self.idents)}"
        return found

    def _print_Symbol(self, symbol):
        return self.ident(symbol)

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sympy.Basic):
            return super()._print(expr, **kwargs)
        code = self._printed.get(expr)
        if code is None:
            code = super()._print(expr)
            if not self._not_supported:        # kept only when it needs nothing NumPy lacks
                self._printed[expr] = code
        return code

    def function(self, args: list, expr: sympy.Expr):
        """f(*values of args) evaluating ``expr`` with NumPy; CompileError for what NumPy cannot."""
        params = [self.ident(a) for a in args]
        code = self.doprint(expr)
        if self._not_supported:
            bad = ", ".join(sorted({type(e).__name__ for e in self._not_supported}))
            raise CompileError(f"NumPy cannot evaluate {bad}")
        namespace = {"numpy": np}
        source = f"def _f({', '.join(params)}):\n    return {code}\n"
        exec(compile(source, "<symbackprop expression>", "exec"), namespace)   # our own printed code
        return namespace["_f"]


def evaluate_at(expr: sympy.Expr, values, g_params, printer: Printer | None = None) -> np.ndarray:
    """``expr`` at every point: ``values`` maps each of its symbols to its values (KeyError naming
    one it lacks), ``g_params`` holds α, β, γ of the generic g at each point; ``printer`` keeps
    the code of sub-expressions for the next expression."""
    expr = concrete(expr)
    args = sorted(expr.free_symbols - set(G_PARAMS), key=lambda s: s.name)
    unknown = [a for a in args if a not in values]
    if unknown:
        raise KeyError(f"no value for {unknown[0]}")
    f = (printer or Printer()).function([*args, *G_PARAMS], expr)
    with np.errstate(all="ignore"):
        out = f(*[values[a] for a in args], *g_params)
    return np.broadcast_to(np.asarray(out, dtype=float), np.shape(g_params[0]))
