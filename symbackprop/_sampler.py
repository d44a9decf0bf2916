"""Random points for verify: inputs, targets valid for the loss, weights, η, and the generic g
as a random smooth function; every intermediate's value follows from them.

A large dense stack's intermediates are found by matrix products (``_sample_dense``) rather
than by printing each formula; the points are the same.
"""
from __future__ import annotations

import numpy as np
import sympy

from ._equation import ETA
from ._sample_code import Printer, evaluate_at
from ._sample_dense import DenseValues, fits

POINTS = 24
RTOL, ATOL = 1e-8, 1e-10


class Sampler:
    """Random points: inputs, targets valid for the loss, weights, η, and g as a random smooth function.

    ``values`` maps every base symbol, η and intermediate (z, a, δ, E) to its values at the points.
    """

    def __init__(self, d, seed: int = 0):
        self.d, self.rng = d, np.random.default_rng(seed)
        self.printer = Printer()
        n = POINTS
        if fits(d):                          # the same points, its intermediates by matrix products
            self.values = DenseValues(d, self.rng, n, self.printer)
            self.g_params = self.values.g_params
            return
        self.values = {}
        for s in [*d.base_symbols(), ETA]:
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

    def _lambdified(self, expr: sympy.Expr) -> np.ndarray:
        return evaluate_at(expr, self.values, self.g_params, self.printer)

    def evaluate(self, expr: sympy.Expr) -> np.ndarray:
        """expr (in x, t, w, b, η, any z, a, δ and the activation functions) at every point."""
        return self._lambdified(expr)


def _agree(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ok = np.abs(u - v) <= ATOL + RTOL * np.maximum(np.abs(u), np.abs(v))
    return ok & np.isfinite(u) & np.isfinite(v)
