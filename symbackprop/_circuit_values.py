"""A graph's numbers at a point (``--at x=-2,y=5``): every leaf, node and named gradient.

The values come from the very formulas the derivation prints; where one is not a finite
number (a division by 0, the log of a negative number) the error says which and why.

>>> parse_at("x=-2, y=5")
{'x': -2.0, 'y': 5.0}
"""
from __future__ import annotations

import numpy as np
import sympy

from ._circuit import Circuit, Grad
from ._errors import SpecError
from ._printing import text
from ._program import numpy_function


def parse_at(text) -> dict:
    """``x=-2,y=5`` (or a dict) → {name: float}; SpecError for anything else."""
    if isinstance(text, dict):
        pairs = list(text.items())
    else:
        pairs = []
        for part in str(text).split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise SpecError(f"--at {text}: write NAME=VALUE pairs joined by commas, e.g. --at x=-2,y=5,z=-4")
            pairs.append((name.strip(), value.strip()))
    out = {}
    for name, value in pairs:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not np.isfinite(number):
            raise SpecError(f"--at {name}={value}: give a finite number, e.g. {name}=-2")
        if name in out:
            raise SpecError(f"--at gives {name} twice")
        out[name] = number
    return out


def at_point(net: Circuit, at: dict) -> dict:
    leaves = [s.name for s in net.leaves]
    unknown = [k for k in at if k not in leaves]
    if unknown:
        raise SpecError(f"--at {unknown[0]}: no leaf of that name; the leaves are {', '.join(leaves)}")
    missing = [k for k in leaves if k not in at]
    if missing:
        raise SpecError(f"--at: give a value for every leaf; {', '.join(missing)} missing (e.g. "
                        f"--at {','.join(f'{k}=1' for k in leaves)})")
    if net.generic:
        raise SpecError("the graph calls the generic g, which has no numbers: name a function (sigmoid, tanh, …)")
    return {net.by_name[k]: float(v) for k, v in at.items()}


def evaluate(expr, values: dict) -> float:
    """expr at the point: values maps each of its symbols to a number."""
    args = sorted(expr.free_symbols, key=lambda s: s.name)
    with np.errstate(all="ignore"):
        return float(numpy_function(args, expr)(*[np.float64(values[a]) for a in args]))


def values_at(net: Circuit, m, s, point: dict) -> dict:
    """Every leaf, node and named gradient at the point (m: the graph's model, s: its sweep);
    SpecError where one is not a finite number."""
    V = dict(point)
    where = ", ".join(f"{k.name}={v:g}" for k, v in point.items())
    for node, expr in net.equations:
        V[node] = evaluate(expr, V)
        if not np.isfinite(V[node]):
            raise SpecError(f"at {where}, {node.name} = {text(expr)} is not a number: {_why(expr, V)}; "
                            "choose other values with --at")
    for eq in reversed(m.equations[:-1]):
        V[eq.delta] = evaluate(s.adjoint[eq.node], V)
    V[Grad(net.output.name, net.output.name)] = 1.0
    for leaf in net.leaves:
        V[Grad(net.output.name, leaf.name)] = evaluate(s.gradient[leaf], V)
    bad = next((k for k, v in V.items() if not np.isfinite(v)), None)
    if bad is not None:
        raise SpecError(f"at {where}, the gradient {text(bad)} is not a finite number (a local gradient divides by "
                        "zero there, e.g. the square root's at 0): choose other values with --at")
    return V


def _why(expr, V: dict) -> str:
    """Why expr is not a number at the point: a division by 0, a root or log of a negative number."""
    for p in sorted(expr.atoms(sympy.Pow), key=sympy.default_sort_key):
        base = evaluate(p.base, V) if p.base.free_symbols else float(p.base)
        if p.exp.is_negative and base == 0:
            return f"a division by {text(p.base)} = 0"
        if not p.exp.is_integer and base < 0:
            return f"a root of {text(p.base)} = {base:g} < 0"
    for f in expr.atoms(sympy.log):
        return f"the log of {text(f.args[0])} = {evaluate(f.args[0], V) if f.args[0].free_symbols else 0:g}"
    return "it overflows there"
