"""Random points for verify: inputs, targets valid for the loss, weights, η, and the generic g
as a random smooth function; every intermediate's value follows from them."""
from __future__ import annotations

import numpy as np
import sympy

from ._equation import ETA
from ._program import numpy_function

POINTS = 24
RTOL, ATOL = 1e-8, 1e-10


class Sampler:
    """Random points: inputs, targets valid for the loss, weights, η, and g as a random smooth function."""

    def __init__(self, d, seed: int = 0):
        self.d, self.rng = d, np.random.default_rng(seed)
        self.symbols = [*d.base_symbols(), ETA]
        n = POINTS
        self.values = {}
        for s in self.symbols:
            kind = s.name[0]
            if s is ETA or s.is_positive:        # η, the penalty's λ
                self.values[s] = self.rng.uniform(0.05, 1.0, n)
            elif kind == "x":
                self.values[s] = self.rng.uniform(-1.0, 1.0, n)
            elif kind == "t":
                self.values[s] = self.rng.uniform(0.05, 0.95, n)
            else:
                self.values[s] = self.rng.normal(0.0, 1.0, n)
        for ts in d.target_groups():
            total = sum(self.values[t] for t in ts)
            for t in ts:                     # targets summing to 1, as the shortcut δ = a − t needs
                self.values[t] = self.values[t] / total
        # the generic g: tanh(αu + β) + γu, the same random instance on both sides at each point
        self.g_params = self.rng.uniform(0.5, 1.5, n), self.rng.uniform(-0.5, 0.5, n), self.rng.uniform(0.1, 0.4, n)

        # every intermediate, in the printed order, from the values before it
        for key, rhs in [*d.forward.items(), *d.deltas.items()]:
            self.values[d.symbols[key]] = self._lambdified(rhs)
        self.values[sympy.Symbol("E", real=True)] = self._lambdified(d.loss)

    def _concrete(self, expr: sympy.Expr) -> sympy.Expr:
        from ._activations import ACTIVATIONS
        g, gp = ACTIVATIONS["g"].functions
        al, be, ga = _G_PARAMS
        expr = expr.replace(g, lambda u: sympy.tanh(al * u + be) + ga * u)
        return expr.replace(gp, lambda u: al * (1 - sympy.tanh(al * u + be) ** 2) + ga)

    def _lambdified(self, expr: sympy.Expr) -> np.ndarray:
        expr = self._concrete(expr)
        args = sorted(expr.free_symbols - set(_G_PARAMS), key=lambda s: s.name)
        unknown = [a for a in args if a not in self.values]
        if unknown:
            raise KeyError(f"no value for {unknown[0]}")
        f = numpy_function([*args, *_G_PARAMS], expr)
        with np.errstate(all="ignore"):
            out = f(*[self.values[a] for a in args], *self.g_params)
        return np.broadcast_to(np.asarray(out, dtype=float), (POINTS,))

    def evaluate(self, expr: sympy.Expr) -> np.ndarray:
        """expr (in x, t, w, b, η, any z, a, δ and the activation functions) at every point."""
        return self._lambdified(expr)


_G_PARAMS = sympy.symbols("_alpha _beta _gamma")


def _agree(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ok = np.abs(u - v) <= ATOL + RTOL * np.maximum(np.abs(u), np.abs(v))
    return ok & np.isfinite(u) & np.isfinite(v)
