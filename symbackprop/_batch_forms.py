"""The compact form of a norm layer's input gradient, checked against the staged sweep.

Batch norm, node j of layer k, sample s (δ the named ∂E/∂z of the layer, z = γ·x̂ + β)::

    ∂E/∂aj[k−1]<s> = (γj/(N·σj))·(N·δj<s> − Σ_r δj<r> − x̂j<s>·Σ_r δj<r>·x̂j<r>)

layer norm, with n nodes and γ inside the sums (it differs per node)::

    ∂E/∂aj[k−1]<s> = (1/(n·σ<s>))·(n·γj·δj<s> − Σ_i γi·δi<s> − x̂j<s>·Σ_i γi·δi<s>·x̂i<s>)

The check writes x̂ and d in terms of the layer's inputs (σ stays a free positive symbol, so it
holds for every σ, the true one among them) and expands the difference, for every instance;
--prove also shows the identity for N = 2…6 (``_norm.prove_compact``, any upstream δ).

>>> from symbackprop._batch import from_data
>>> from symbackprop._batch_derive import derive_batch
>>> net = from_data({"inputs": 2, "batch": 3, "layer": [{"kind": "layernorm"}, {"size": 1}]}, "spec")
>>> [(f.kind, f.layer, f.instances, f.holds) for f in derive_batch(net).forms]
[('layernorm', 2, 6, True)]
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import sympy

from ._batch_names import BName
from ._norm import prove_compact

#: batches up to this size are checked by algebra; larger ones at exact random rational points
MAX_ALGEBRA = 6
PROVED = range(2, 7)


@dataclass(frozen=True)
class Form:
    kind: str
    layer: int
    instances: int
    holds: bool
    failed: str = ""


def _input(net, k: int, j: int, s: int) -> sympy.Symbol:
    return BName("x", (j,), None, s) if k == 2 else BName("a", (j,), k - 1, s)


def input_gradient(d, x: sympy.Symbol) -> sympy.Expr:
    """∂E/∂x from the sweep: the adjoint of a node; of a leaf, the sum over its uses."""
    s = d.sweep
    if x in s.adjoint:
        return s.adjoint[x]
    return sympy.Add(*[eq.derivative(x) * s.upstream(eq) for eq in s.model.equations if x in eq.expr.free_symbols])


def groups(kind: str, n: int, N: int) -> list:
    if kind == "batchnorm":
        return [[(j, s) for s in range(1, N + 1)] for j in range(1, n + 1)]
    return [[(j, s) for j in range(1, n + 1)] for s in range(1, N + 1)]


def compact(kind: str, k: int, group: list, j: int, s: int, sigma, drop=()) -> sympy.Expr:
    """The compact form at (j, s) of its group; ``drop`` leaves a part out (to see the check fail)."""
    m = sympy.Integer(len(group))
    delta = {c: BName("delta", (c[0],), k, c[1]) for c in group}
    xhat = {c: BName("xhat", (c[0],), k, c[1]) for c in group}
    if kind == "batchnorm":
        g, scale = delta, BName("gamma", (j,), k) / (m * sigma)
    else:
        g, scale = {c: BName("gamma", (c[0],), k) * delta[c] for c in group}, 1 / (m * sigma)
    total = 0 if "sum" in drop else sympy.Add(*g.values())
    moment = 0 if "moment" in drop else sympy.Add(*[g[c] * xhat[c] for c in group])
    return scale * (m * g[j, s] - total - xhat[j, s] * moment)


def _staged(net, k: int, group: list, sigma) -> dict:
    """x̂, d and μ of a group in terms of the layer's inputs, σ kept free."""
    mean = sympy.Add(*[_input(net, k, *c) for c in group]) / len(group)
    table = {}
    for c in group:
        centred = _input(net, k, *c) - mean
        table[BName("d", (c[0],), k, c[1])] = centred
        table[BName("xhat", (c[0],), k, c[1])] = centred / sigma
    return table


def _holds(diffs: list, free: list, seed: int, algebra: bool) -> str:
    """The first instance whose difference is not 0 ('' when all are): by expansion for small groups,
    else at 20 exact random rational points."""
    if algebra:
        for name, diff in diffs:
            if sympy.expand(diff) != 0 and sympy.cancel(sympy.together(diff)) != 0:
                return name
        return ""
    rng = random.Random(seed)
    for _ in range(20):
        at = {v: sympy.Rational(rng.randint(-99, 99) or 1, rng.randint(1, 50)) for v in free}
        at.update({v: abs(at[v]) for v in free if v.is_positive})
        for name, diff in diffs:
            if diff.xreplace(at) != 0:
                return name
    return ""


def check_forms(d, drop=()) -> tuple:
    """Each norm layer's compact form against the sweep, at every (node, sample)."""
    net, found = d.network, []
    for k, lay in net.norm_layers():
        n, diffs = net.sizes[k - 1], []
        for group in groups(lay.kind, n, net.samples):
            j0, s0 = group[0]
            sigma = BName("sigma", (j0,), k) if lay.kind == "batchnorm" else BName("sigma", (), k, s0)
            table = _staged(net, k, group, sigma)
            mu = BName("mu", (j0,), k) if lay.kind == "batchnorm" else BName("mu", (), k, s0)
            table[mu] = sympy.Add(*[_input(net, k, *c) for c in group]) / len(group)
            for j, s in group:
                diff = input_gradient(d, _input(net, k, j, s)) - compact(lay.kind, k, group, j, s, sigma, drop)
                diffs.append((_input(net, k, j, s).name, diff.xreplace(table)))
        free = sorted({v for _, e in diffs for v in e.free_symbols}, key=str)
        size = len(groups(lay.kind, n, net.samples)[0])
        failed = _holds(diffs, free, k, size <= MAX_ALGEBRA)
        found.append(Form(lay.kind, k, len(diffs), not failed, failed))
    return tuple(found)


def prove_forms(d) -> dict:
    """"compact form, layer k": how the identity was shown for N (or n) = 2…6 (any upstream δ)."""
    found = {}
    for k, lay in d.network.norm_layers():
        hows = [prove_compact(lay.kind, m, 1) if lay.kind == "batchnorm" else prove_compact(lay.kind, 1, m)
                for m in PROVED]
        found[f"compact form, layer {k}"] = (False if False in hows else
                                              ("cancel" if "cancel" in hows else "expand") + " for "
                                              + ("N" if lay.kind == "batchnorm" else "n") + " = 2…6")
    return found
