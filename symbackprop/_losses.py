"""The loss registry: one entry per loss, a term in one output a and its target t.

E is the sum of the term over the output nodes.

>>> LOSSES["mse"].term(A, T)
(a - t)**2/2
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

A = sympy.Symbol("a", positive=True)
T = sympy.Symbol("t", real=True)


@dataclass(frozen=True)
class Loss:
    """name; term(a, t) for one output node; needs_unit_range: its log needs a in (0, 1);
    targets: "distribution" when they sum to 1 over the outputs (so softmax's δ is a − t), else any;
    kink: the derivative chosen where the term has none, as the write-up states it."""

    name: str
    term: object
    needs_unit_range: bool = False
    description: str = ""
    targets: str = ""
    kink: str = ""


LOSSES: dict[str, Loss] = {}


def register(entry: Loss) -> Loss:
    """Add a loss to the registry."""
    LOSSES[entry.name] = entry
    return entry


register(Loss("mse", lambda a, t: (a - t) ** 2 / 2, description="half the squared error"))
register(Loss("cross_entropy", lambda a, t: -t * sympy.log(a), needs_unit_range=True,
              description="cross-entropy", targets="distribution"))
register(Loss("bce", lambda a, t: -(t * sympy.log(a) + (1 - t) * sympy.log(1 - a)),
              needs_unit_range=True, description="binary cross-entropy"))
register(Loss("mae", lambda a, t: sympy.Abs(a - t), description="the absolute error",
              kink="sign(a - t), taken as 0 at a = t"))
register(Loss("kl", lambda a, t: t * sympy.log(t / a), needs_unit_range=True,
              description="the Kullback-Leibler divergence of a from t", targets="distribution"))

#: the losses defined here; extend.py neither replaces nor removes them
BUILT_IN = frozenset(LOSSES)
