"""Batch norm and layer norm as one model each: the staged graph (CS231n), its sweep, the compact form.

Names (DESIGN.md §1.1 in spirit; ``<s>`` is the sample of the batch, as ``<t>`` is the
step of an RNN; k is the feature, j a dense layer's node)

=====================  ==================================================================
``xk<s>``              the layer's input, feature k of sample s (a leaf; with ``dense=m``
                       the weighted sum ``zk<s>`` instead, see below)
``mu1`` ``var1``       batch norm: feature 1's mean and variance over the N samples;
``sigma1``             ``sigma1`` = sqrt(var1 + epsilon)
``mu<2>`` ``var<2>``   layer norm: sample 2's statistics over the n features
``sigma<2>``
``dk<s>``              xk<s> − μ (centred input)
``xhatk<s>``           dk<s>/σ (normalised input)
``yk<s>``              γk·xhatk<s> + βk, the output; ∂E/∂yk<s> is named ``deltayk<s>`` (dy)
``gammak`` ``betak``   the parameters, one of each per feature (batch norm and layer norm)
``tk<s>``              target of yk<s>
``epsilon``            ε, a positive symbol; 1e-5 in numbers (EPSILON)
``xi<s>``, ``wij[1]``  with ``dense=m``: m inputs, the dense layer's weights and biases
``bj[2]``, ``zj<s>``   and its weighted sums zj<s> = Σ_i wij[1]·xi<s> + bj[2]
=====================  ==================================================================

A norm name has one index before the brackets, so ``x12<3>`` (feature 12, sample 3) reads
one way only; the dense weights follow §1.1 (``w12,3[1]`` when an index has two digits).
σ is a positive symbol, every other name a real one.  The loss is
E = Σ_{k,s} ½(yk<s> − tk<s>)², so every y matters and dy = y − t.

The staged graph, per feature k (batch norm; layer norm: per sample s, over k)::

    μk = (1/N)Σ_s xk<s>    dk<s> = xk<s> − μk    vark = (1/N)Σ_s dk<s>²
    σk = sqrt(vark + ε)    x̂k<s> = dk<s>/σk      yk<s> = γk·x̂k<s> + βk

Each equation carries its local derivatives in the staged symbols (∂σ/∂var = 1/(2σ),
∂x̂/∂σ = −d/σ², …), so the one sweep (``_graph.sweep``) is the textbook's staged
backward pass, without a ``sympy.diff``.  The compact form, per feature k of batch norm,

    dxk<s> = (γk/(N·σk))·(N·dyk<s> − Σ_r dyk<r> − x̂k<s>·Σ_r dyk<r>·x̂k<r>)

and for layer norm, per sample s, with g = γ·dy (γ differs per feature, so it stays inside):

    dxk<s> = (1/(n·σ<s>))·(n·gk<s> − Σ_j gj<s> − x̂k<s>·Σ_j gj<s>·x̂j<s>)

:func:`prove_compact` shows the sweep's ∂E/∂x equal to it, by algebra.

>>> bn = build("batchnorm", 2, 1)
>>> [str(eq.node) for eq in bn.model.equations][:6]
['mu1', 'd1<1>', 'd1<2>', 'var1', 'sigma1', 'xhat1<1>']
>>> prove_compact("batchnorm", 3, 1)
'expand'
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import sympy

from ._graph import E, Equation, Model, sweep
from ._proof import equal_by_algebra

KINDS = ("batchnorm", "layernorm")
EPSILON = 1e-5
epsilon = sympy.Symbol("epsilon", positive=True)


def _sym(text: str, positive: bool = False) -> sympy.Symbol:
    return sympy.Symbol(text, positive=True) if positive else sympy.Symbol(text, real=True)


def _at(letter: str, k: int | None, s: int | None, **kw) -> sympy.Symbol:
    """``letter k <s>``: _at("xhat", 1, 2) is xhat1<2>; k or s None leaves it out."""
    return _sym(letter + ("" if k is None else str(k)) + ("" if s is None else f"<{s}>"), **kw)


@dataclass(frozen=True)
class Norm:
    """A built normalisation layer: the model and its symbols, keyed by (k, s) or by k / s.

    inputs: (k, s) → the norm's input (xk<s>, or zk<s> after a dense layer); stats: a
    group (k for batch norm, s for layer norm) → (μ, var, σ); samples N, features n.
    """

    kind: str
    samples: int
    features: int
    model: Model
    inputs: dict
    d: dict
    xhat: dict
    y: dict
    dy: dict
    target: dict
    gamma: dict
    beta: dict
    stats: dict

    def groups(self) -> list:
        """Each group of (k, s) sharing statistics: per feature (batch norm) or per sample."""
        N, n = self.samples, self.features
        if self.kind == "batchnorm":
            return [[(k, s) for s in range(1, N + 1)] for k in range(1, n + 1)]
        return [[(k, s) for k in range(1, n + 1)] for s in range(1, N + 1)]

    def group_of(self, k: int, s: int):
        return k if self.kind == "batchnorm" else s


def build(kind: str, samples: int, features: int, dense: int | None = None) -> Norm:
    """The model of a batch-norm or layer-norm layer on N = samples and n = features.

    dense=m puts a dense layer (m inputs, bias) in front; its weights are parameters too.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if samples < 1 or features < 1 or (dense is not None and dense < 1):
        raise ValueError("a norm layer needs at least one sample and one feature")
    N, n = samples, features
    eqs: list = []
    params: list = []
    cells = [(k, s) for s in range(1, N + 1) for k in range(1, n + 1)]
    if dense is None:
        inputs = {(k, s): _at("x", k, s) for k, s in cells}
    else:
        inputs = {(k, s): _at("z", k, s) for k, s in cells}
        ws = {(i, k): _sym(f"w{i}{k}[1]" if i < 10 and k < 10 else f"w{i},{k}[1]")
              for i in range(1, dense + 1) for k in range(1, n + 1)}
        bs = {k: _sym(f"b{k}[2]") for k in range(1, n + 1)}
        params += list(ws.values()) + list(bs.values())
        for k, s in cells:
            terms = tuple((ws[i, k], _at("x", i, s)) for i in range(1, dense + 1)) + ((bs[k], sympy.S.One),)
            eqs.append(Equation(inputs[k, s], sympy.Add(*[p * q for p, q in terms]), terms=terms))
    gamma = {k: _at("gamma", k, None) for k in range(1, n + 1)}
    beta = {k: _at("beta", k, None) for k in range(1, n + 1)}
    params += list(gamma.values()) + list(beta.values())
    d = {c: _at("d", *c) for c in cells}
    xhat = {c: _at("xhat", *c) for c in cells}
    y = {c: _at("y", *c) for c in cells}
    dy = {c: _at("deltay", *c) for c in cells}
    target = {c: _at("t", *c) for c in cells}
    norm = Norm(kind, N, n, None, inputs, d, xhat, y, dy, target, gamma, beta, {})
    for group in norm.groups():
        g = norm.group_of(*group[0])
        mu, var = (_at(x, g, None) if kind == "batchnorm" else _at(x, None, g) for x in ("mu", "var"))
        sigma = _at("sigma", g, None, positive=True) if kind == "batchnorm" else _at("sigma", None, g, positive=True)
        norm.stats[g] = (mu, var, sigma)
        m = sympy.Integer(len(group))
        eqs.append(Equation(mu, sympy.Add(*[inputs[c] for c in group]) / m,
                            local=tuple((inputs[c], 1 / m) for c in group)))
        for c in group:
            eqs.append(Equation(d[c], inputs[c] - mu, local=((inputs[c], sympy.S.One), (mu, -sympy.S.One))))
        eqs.append(Equation(var, sympy.Add(*[d[c] ** 2 for c in group]) / m,
                            local=tuple((d[c], 2 * d[c] / m) for c in group)))
        eqs.append(Equation(sigma, sympy.sqrt(var + epsilon), local=((var, 1 / (2 * sigma)),)))
        for c in group:
            eqs.append(Equation(xhat[c], d[c] / sigma, local=((d[c], 1 / sigma), (sigma, -d[c] / sigma ** 2))))
    for k, s in cells:
        c = (k, s)
        eqs.append(Equation(y[c], gamma[k] * xhat[c] + beta[k], delta=dy[c],
                            terms=((gamma[k], xhat[c]), (beta[k], sympy.S.One))))
    loss = sympy.Add(*[(y[c] - target[c]) ** 2 for c in cells]) / 2
    eqs.append(Equation(E, loss, local=tuple((y[c], y[c] - target[c]) for c in cells)))
    object.__setattr__(norm, "model", Model(tuple(eqs), tuple(params)))
    return norm


def input_gradient(norm: Norm, sw) -> dict:
    """(k, s) → ∂E/∂(the norm's input k, s) from the sweep: the adjoint of zk<s> after a dense
    layer; for a leaf xk<s>, the sweep's own rule Σ over its uses c of ∂c/∂x · ∂E/∂c."""
    found = {}
    for c, x in norm.inputs.items():
        if x in sw.adjoint:
            found[c] = sw.adjoint[x]
        else:
            found[c] = sympy.Add(*[eq.derivative(x) * sw.upstream(eq) for eq in norm.model.equations
                                   if x in eq.expr.free_symbols])
    return found


def compact(norm: Norm, k: int, s: int, drop=()) -> sympy.Expr:
    """The compact form of ∂E/∂(input k, s), in x̂, σ, γ and dy (the named δ of y).

    drop: parts to leave out, to see a proof fail ("sum_dy", "sum_dy_xhat", "gamma_inside").
    """
    group = next(gr for gr in norm.groups() if (k, s) in gr)
    sigma = norm.stats[norm.group_of(k, s)][2]
    m = sympy.Integer(len(group))
    if norm.kind == "batchnorm" or "gamma_inside" in drop:
        # batch norm: γk is the same in the whole group and factors out
        g = {c: norm.dy[c] for c in group}
        scale = norm.gamma[k] / (m * sigma)
    else:
        g = {c: norm.gamma[c[0]] * norm.dy[c] for c in group}
        scale = 1 / (m * sigma)
    total = 0 if "sum_dy" in drop else sympy.Add(*g.values())
    moment = 0 if "sum_dy_xhat" in drop else sympy.Add(*[g[c] * norm.xhat[c] for c in group])
    return scale * (m * g[k, s] - total - norm.xhat[k, s] * moment)


def staged_substitution(norm: Norm) -> dict:
    """x̂ and d in terms of the inputs (σ kept as a free symbol), for the proof."""
    table = {}
    for group in norm.groups():
        mu, _, sigma = norm.stats[norm.group_of(*group[0])]
        mean = sympy.Add(*[norm.inputs[c] for c in group]) / len(group)
        for c in group:
            table[norm.d[c]] = norm.inputs[c] - mean
            table[norm.xhat[c]] = (norm.inputs[c] - mean) / sigma
        table[mu] = mean
    return table


def prove_compact(kind: str, samples: int, features: int, drop=()) -> str | bool:
    """Whether the sweep's ∂E/∂x equals the compact form at every input: "expand"/"cancel" or False.

    Both sides are written in the staged symbols; x̂, d, μ are replaced by their
    definitions in x, and σ is kept as a free symbol, so the identity shown holds for
    every σ > 0, σ = sqrt(var + ε) among them (Σ_s d = 0 is what it needs, not σ's value).
    dy is the named δ of y, so the identity holds for every upstream gradient, not only
    this loss's.
    """
    norm = build(kind, samples, features)
    sw = sweep(norm.model)
    table = staged_substitution(norm)
    dx = input_gradient(norm, sw)
    how = set()
    for (k, s) in norm.inputs:
        diff = (dx[k, s] - compact(norm, k, s, drop)).xreplace(table)
        found = equal_by_algebra(diff, {}, ())
        if found is False:
            return False
        how.add(found)
    return "cancel" if "cancel" in how else "expand"


def check_at_points(kind: str, samples: int, features: int, points: int = 20, seed: int = 0, drop=()) -> bool:
    """The same identity as :func:`prove_compact` at random exact rational points, for large N or n.

    x, dy, γ and σ (free, as in the proof) are drawn as fractions, so each point's check
    is exact: a nonzero difference (a rational function) vanishes at 20 random points
    only by a coincidence of probability near 0 (Schwartz–Zippel).
    """
    rng = random.Random(seed)
    norm = build(kind, samples, features)
    dx = input_gradient(norm, sweep(norm.model))
    diffs = [dx[c] - compact(norm, *c, drop) for c in norm.inputs]
    table = staged_substitution(norm)

    def draw(positive=False):
        q = sympy.Rational(rng.randint(-99, 99) or 1, rng.randint(1, 50))
        return abs(q) if positive else q

    for _ in range(points):
        at = {v: draw() for v in [*norm.inputs.values(), *norm.dy.values(), *norm.gamma.values()]}
        at.update({sigma: draw(positive=True) for _, _, sigma in norm.stats.values()})
        at.update({v: table[v].xreplace(at) for v in [*norm.d.values(), *norm.xhat.values(),
                                                        *(st[0] for st in norm.stats.values())]})
        if any(d.xreplace(at) != 0 for d in diffs):
            return False
    return True


def local_derivatives_hold(norm: Norm) -> bool:
    """Every local derivative given in closed form equals sympy.diff of its equation.

    The staged symbols in the given forms are replaced by their definitions
    (σ by sqrt(var + ε), x̂ by d/σ), so 1/(2σ) is checked against diff(sqrt(var + ε), var).
    """
    back = {}
    for _, var, sigma in norm.stats.values():
        back[sigma] = sympy.sqrt(var + epsilon)
    for c, xh in norm.xhat.items():
        back[xh] = norm.d[c] / back[norm.stats[norm.group_of(*c)][2]]
    for eq in norm.model.equations:
        for by, value in eq.local:
            expected = sympy.diff(eq.expr, by).xreplace(back)
            if sympy.simplify(value.xreplace(back) - expected) != 0:
                return False
    return True
