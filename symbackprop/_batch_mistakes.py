"""The classic mistakes of backprop through batch norm, layer norm and dropout, as wrong answers.

A norm layer's stages are derived again here, from the layer's own formulas (x̂ = d/σ, d = x − μ,
σ = √(var + ε), var = Σ d²/N, μ = Σ x/N; N the batch, or a layer norm's n nodes), each slip a
change to one local derivative: γ left out of ∂E/∂x̂; the path through the mean left out of the
input's gradient (the Σ δ term of the compact form); the path through the variance left out (the
x̂·Σ δ·x̂ term); the 1/N of ∂μ/∂x or of ∂var/∂d left out; N − 1 in place of N (the unbiased
variance); the mean's path through the variance (∂var/∂μ) left out of ∂E/∂μ — that term is
Σ d = 0 times something, so leaving it out is no numeric mistake and verify accepts it.  For the
compact form also its 1/N left out.  Dropout: the mask left out, the 1/(1 − p) scale left out,
1/p in place of it.  Then the usual: one sample's term of a gradient (the sum over the samples
left out), one node's term of a sum over the next layer, a missing f', the sign, a factor 2.

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1}]}, "spec")
>>> staged(net, 2, "batchnorm", [(1, 1), (1, 2)])["xhat1[2]<1>"], staged(net, 2, "batchnorm",
...        [(1, 1), (1, 2)], ("gamma",))["xhat1[2]<1>"]
(gamma1[2]*delta1[2]<1>, delta1[2]<1>)
"""
from __future__ import annotations

from itertools import chain

import sympy

from ._batch import Dropout, Norm
from ._batch_forms import _input, compact, groups
from ._batch_names import BName, read
from ._conv import Dense
from ._conv_mistakes import _primes


def staged(net, k: int, kind: str, group: list, slips=()) -> dict:
    """name → ∂E/∂ of each node of one norm group (x̂, σ, var, d, μ and the layer's inputs) in terms of
    the named δ's, with the ``slips`` made."""
    m = sympy.Integer(len(group))
    j0, s0 = group[0]
    at = ((j0,), k, None) if kind == "batchnorm" else ((), k, s0)
    mu, var, sigma = (BName(x, *at) for x in ("mu", "var", "sigma"))
    d = {c: BName("d", (c[0],), k, c[1]) for c in group}
    gx = {c: (1 if "gamma" in slips else BName("gamma", (c[0],), k)) * BName("delta", (c[0],), k, c[1])
          for c in group}
    gsigma = sympy.Add(*[gx[c] * -d[c] / sigma ** 2 for c in group])
    gvar = gsigma / (2 * sigma)
    m_var = m - 1 if "unbiased" in slips else 1 if "scale_var" in slips else m
    gd = {c: gx[c] / sigma + (0 if "no_var" in slips else gvar * 2 * d[c] / m_var) for c in group}
    gmu = -sympy.Add(*[gx[c] / sigma for c in group]) if "no_muvar" in slips else -sympy.Add(*gd.values())
    m_mu = 1 if "scale_mu" in slips else m
    found = {BName("xhat", (c[0],), k, c[1]).name: gx[c] for c in group}
    found.update({sigma.name: gsigma, var.name: gvar, mu.name: gmu})
    for c in group:
        found[d[c].name] = gd[c]
        found[_input(net, k, *c).name] = gd[c] + (0 if "no_mean" in slips else gmu / m_mu)
    return found


def _norm(d, k: int, lay, name: str):
    """The slips of a norm layer k, for the node ``name`` of one of its groups (a stage or an input)."""
    net = d.network
    N = "N" if lay.kind == "batchnorm" else "n"
    slips = [
        (("gamma",), "γ left out (∂E/∂x̂ = γ·δ, not δ)"),
        (("no_mean",), f"the Σ δ term left out (the path through the mean: ∂E/∂μ·1/{N})"),
        (("no_var",), f"the x̂·Σ δ·x̂ term left out (the path through the variance: ∂E/∂var·2d/{N})"),
        (("scale_mu",), f"1/{N} left out of the mean's path (∂μ/∂x = 1/{N})"),
        (("scale_var",), f"1/{N} left out of the variance's path (∂var/∂d = 2d/{N})"),
        (("scale_mu", "scale_var"), f"1/{N} left out (of ∂μ/∂x and of ∂var/∂d)"),
        (("unbiased",), f"{N} − 1 in place of {N} (the variance of a norm layer divides by {N})"),
        (("no_muvar",), "the mean's path through the variance left out (∂var/∂μ)")]
    for group in groups(lay.kind, net.sizes[k - 1], net.samples):
        right = staged(net, k, lay.kind, group)
        if name not in right:
            continue
        for change, what in slips:
            yield what, staged(net, k, lay.kind, group, change)[name]
        for j, s in group:
            if _input(net, k, j, s).name == name:
                sigma = BName("sigma", (j,), k) if lay.kind == "batchnorm" else BName("sigma", (), k, s)
                form = compact(lay.kind, k, group, j, s, sigma)
                yield f"the compact form without its 1/{N} (γ/σ in place of γ/({N}·σ))", len(group) * form
                yield "the Σ δ term left out", compact(lay.kind, k, group, j, s, sigma, ("sum",))
                yield "the x̂·Σ δ·x̂ term left out", compact(lay.kind, k, group, j, s, sigma, ("moment",))


def _dropout(d, lay, right: sympy.Expr):
    p = sympy.Rational(lay.rate.numerator, lay.rate.denominator)
    unmasked = right.xreplace({m: 1 for m in right.free_symbols if getattr(m, "letter", "") == "m"})
    yield "the mask left out of δ (∂E/∂a[k−1] = m·∂E/∂a[k]/(1 − p))", unmasked
    yield "the 1/(1 − p) scale left out (inverted dropout scales the kept nodes)", right * (1 - p)
    yield "the mask and the 1/(1 − p) scale left out", unmasked * (1 - p)
    if p:
        yield "1/p in place of 1/(1 − p)", right * (1 - p) / p


def _input_of(d, j: int, k: int, s: int, right: sympy.Expr):
    """The mistakes of ∂E/∂aj[k]<s> (k = 1: the input), by the layer that reads it."""
    net = d.network
    lay = net.layer(k + 1)
    name = BName("x", (j,), None, s).name if k == 1 else BName("a", (j,), k, s).name
    if isinstance(lay, Norm):
        yield from _norm(d, k + 1, lay, name)
    elif isinstance(lay, Dropout):
        yield from _dropout(d, lay, right)
    elif isinstance(lay, Dense) and lay.size > 1:
        for m in range(1, lay.size + 1):
            yield (f"a missing sum over the next layer's nodes (only node {m})",
                   BName("w", (j, m), k) * BName("delta", (m,), k + 1, s))


def _one_sample(d, name: str):
    """A parameter's gradient with one sample's terms only: the sum over the samples left out."""
    uses = d.sweep.uses[d.symbols[name]]
    by_sample: dict = {}
    for eq, term in uses:
        by_sample[eq.node.sample] = by_sample.get(eq.node.sample, 0) + term
    for s, term in by_sample.items() if len(by_sample) > 1 else ():
        yield f"the sum over the samples left out (only sample {s}'s term)", term
    if len(by_sample) > 1:
        yield f"the mean over the samples (1/{len(by_sample)}), but E is their sum", \
            sympy.Add(*by_sample.values()) / len(by_sample)


def mistakes(d, eq, right: sympy.Expr):
    """(name, wrong answer) for each classic mistake that applies to the equation's left side."""
    net = d.network
    letter, indices, layer, sample = read(eq.lhs_name)
    found = ()
    if letter in ("w", "b", "gamma", "beta"):
        found = _one_sample(d, eq.lhs_name)
    elif letter in ("xhat", "sigma", "var", "d", "mu"):
        found = _norm(d, layer, net.layer(layer), eq.lhs_name)
    elif letter == "a" and layer < net.depth:
        found = _input_of(d, indices[0], layer, sample, right)
    elif letter in ("z", "delta") and layer < net.depth:
        a, z = BName("a", indices, layer, sample), BName("z", indices, layer, sample)
        factor = d.sweep.model.by_node[a].derivative(z)           # f'(z): δ = f'(z)·∂E/∂a
        upstream = d.stages[a.name]
        found = ((what, factor * wrong) for what, wrong in _input_of(d, indices[0], layer, sample, upstream))
    if letter == "w" and layer >= 2 and isinstance(net.layer(layer), Dropout):   # w…[k] reads a dropout's a[k]
        before = {a: _input(net, layer, a.indices[0], a.sample) for a in right.free_symbols
                  if getattr(a, "letter", "") == "a" and a.layer == layer}
        found = chain(found, [("a[k−1] (before dropout) in place of the dropout's a[k] = m·a[k−1]/(1 − p)",
                               right.xreplace(before))])
    generic = (("the wrong sign (t − a in place of a − t)", -right),
               ("a missing ½ factor, or an extra 2", 2 * right), ("an extra ½ factor, or a missing 2", right / 2))
    named: dict = {}                   # wrong answer → its names (two slips may give the same answer)
    for what, wrong in chain(found, _primes(d, right), generic):
        if wrong != right and what not in named.setdefault(wrong, []):
            named[wrong].append(what)
    for wrong, names in named.items():
        yield ", or ".join(names), wrong
