"""The general form of a dense stack, read off the derivation and checked against every result."""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import _names as names

@dataclass(frozen=True)
class GeneralForm:
    """The indexed results, each checked against every per-node and per-weight result.

    output_delta: δj[L] in generic names; hidden_delta: δi[k] = f'(zi[k])·Σ_j wij[k]·δj[k+1]
    (as (f' part, summand)); weight: ai[k]·δj[k+1]; bias: δj[k].
    """

    output_delta: sympy.Expr
    hidden: tuple              # (k, f'(zi[k])·Σ_j wij[k]·δj[k+1]) per hidden layer, last first
    summand: sympy.Expr
    weight: sympy.Expr
    bias: sympy.Expr
    checked: int               # how many per-node and per-weight results were checked
    weights: tuple = ()        # (k, ∂E/∂wij[k]) per own layer, when a skip, tie or penalty changes it


class GeneralFormError(AssertionError):
    """A per-weight result that is not an instance of the general form (a bug, if ever)."""


def _softmax_u(d, o: int):
    """∂E/∂ao[L] as the loss gives it."""
    return sympy.diff(d.loss, names.asym(o, d.network.depth))


def _softmax_general(d) -> sympy.Expr:
    """δj[L] = aj[L]·(uj − Σ_m am[L]·um), u = ∂E/∂a, in generic names."""
    L = d.network.depth
    m = sympy.Symbol("m", integer=True, positive=True)
    generic = {names.asym(1, L): names.generic("a", "j", "L"), names.target(1): names.generic("t", "j")}
    u_j = _softmax_u(d, 1).xreplace(generic)
    u_m = _softmax_u(d, 1).xreplace({names.asym(1, L): names.generic("a", "m", "L"),
                                      names.target(1): names.generic("t", "m")})
    total = sympy.Sum(names.generic("a", "m", "L") * u_m, (m, 1, sympy.Symbol("n_L")))
    return names.generic("a", "j", "L") * (u_j - total)


def _softmax_instance(d, j: int) -> sympy.Expr:
    net, L = d.network, d.network.depth
    total = sympy.Add(*[names.asym(o, L) * _softmax_u(d, o) for o in range(1, net.layers[-1] + 1)])
    return names.asym(j, L) * (_softmax_u(d, j) - total)


def _scores_general(d, j_: str, m_: str):
    """A coupled loss's δj[L] = f'(zj[L])·(∂term/∂a (aj, tj, s) + tj·Σ_m ∂term/∂s (am, tm, s)), s = Σ_m tm·am:
    (the general form in generic names, node j's instance); the loss's own partials, nothing assumed."""
    net, L = d.network, d.network.depth
    a, t, s = (sympy.Dummy(n, real=True) for n in "ats")
    term = net.loss.term(a, t, s)
    du, dv = sympy.diff(term, a), sympy.diff(term, s)
    act = net.activation(L)

    def prime(z):
        return act.prime(z) if not act.inline else act.derivative.xreplace({next(iter(act.definition.free_symbols)): z})

    def delta(z, a_j, t_j, others, total):
        """f'(z)·(∂term/∂a + t·Σ ∂term/∂s), ``others`` the (am, tm) the sum runs over."""
        partial = sympy.Add(*[dv.xreplace({a: a_m, t: t_m, s: total}) for a_m, t_m in others])
        return prime(z) * (du.xreplace({a: a_j, t: t_j, s: total}) + t_j * partial)
    m, o, n_L = sympy.Symbol(m_, integer=True, positive=True), sympy.Symbol("o", integer=True, positive=True), \
        sympy.Symbol("n_L")
    am, tm = names.generic("a", m_, "L"), names.generic("t", m_)
    total = sympy.Sum(names.generic("t", "o") * names.generic("a", "o", "L"), (o, 1, n_L))   # s, the right score
    inside = sympy.Sum(dv.xreplace({a: am, t: tm, s: total}), (m, 1, n_L))
    aj, tj = names.generic("a", j_, "L"), names.generic("t", j_)
    general = prime(names.generic("z", j_, "L")) * (du.xreplace({a: aj, t: tj, s: total}) + tj * inside)
    outs = [(names.asym(o, L), names.target(o)) for o in range(1, net.layers[-1] + 1)]
    S = sympy.Add(*[t_o * a_o for a_o, t_o in outs])
    return general, lambda j: delta(names.zsym(j, L), *outs[j - 1], outs, S)


def general_form(d) -> GeneralForm:
    """Read the general form off the derivation and check every result is an instance of it."""
    net, L = d.network, d.network.depth
    j_, i_ = "j", "i"
    # δj[L]: node 1's δ with its names made generic, then checked for every output node j
    one = {names.asym(1, L): names.generic("a", j_, "L"), names.target(1): names.generic("t", j_),
           names.zsym(1, L): names.generic("z", j_, "L")}
    output = d.deltas[names.delta(1, L).name].xreplace(one)
    checked = 0
    if net.loss.coupled:                   # every δj[L] reads every output through s = Σ_m tm·am
        output, instance = _scores_general(d, j_, "m")
        for j in range(1, net.layers[-1] + 1):
            if sympy.expand(instance(j) - d.deltas[names.delta(j, L).name]) != 0:
                raise GeneralFormError(f"delta{j}[{L}] is not an instance of the general δ of {net.loss.name}")
            checked += 1
    for j in range(1, net.layers[-1] + 1) if not net.loss.coupled else ():
        back = {names.generic("a", j_, "L"): names.asym(j, L), names.generic("t", j_): names.target(j),
                names.generic("z", j_, "L"): names.zsym(j, L)}
        if output.free_symbols - set(back):
            output = _softmax_general(d)  # without the shortcut, δj[L] involves every output
        if output.free_symbols - set(back):
            want = _softmax_instance(d, j)
            if sympy.expand(want - d.deltas[names.delta(j, L).name]) != 0:
                raise GeneralFormError(f"delta{j}[{L}] is not an instance of the general softmax δ")
        elif output.xreplace(back) != d.deltas[names.delta(j, L).name]:
            raise GeneralFormError(f"delta{j}[{L}] is not an instance of the general output δ")
        checked += 1
    hidden = []
    j_sym = sympy.Symbol("j", integer=True, positive=True)
    ties = dict(net.ties)
    skipped_to = {}                        # s → the layers k whose z adds a[s]
    for k, s in net.skips:
        skipped_to.setdefault(s, []).append(k)

    def weight(i, j, k):                   # the coefficient of ai[k] in zj[k+1]: wij[k], or wji[m] if tied
        return names.weight(j, i, ties[k]) if k in ties else names.weight(i, j, k)

    for k in range(L - 1, 1, -1):
        act = net.activation(k)
        zi = names.generic("z", i_, str(k))
        prime = act.prime(zi) if not act.inline else act.derivative
        w = names.generic("w", "ji", str(ties[k])) if k in ties else names.generic("w", "ij", str(k))
        summand = w * names.generic("delta", "j", str(k + 1))
        skips = sympy.Add(*[names.generic("delta", "i", str(above)) for above in skipped_to.get(k, [])])
        hidden.append((k, prime * (sympy.Sum(summand, (j_sym, 1, net.layers[k])) + skips)))
        for i in range(1, net.layers[k - 1] + 1):
            want = net.activation(k).prime(names.zsym(i, k)) if not act.inline else act.derivative.subs(
                act.definition.free_symbols.pop() if act.definition.free_symbols else names.zsym(i, k), names.zsym(i, k))
            want = want * sympy.Add(*[weight(i, j, k) * names.delta(j, k + 1) for j in range(1, net.layers[k] + 1)],
                                    *[names.delta(i, above) for above in skipped_to.get(k, [])])
            if sympy.expand(want - d.deltas[names.delta(i, k).name]) != 0:
                raise GeneralFormError(f"delta{i}[{k}] is not f'(z{i}[{k}])·Σ_j w{i}j[{k}]·δj[{k + 1}]")
            checked += 1
    tied_to = {}                           # m → the layers whose weights are W[m] transposed
    for k, m in net.ties:
        tied_to.setdefault(m, []).append(k)
    extra = penalty_terms(net)
    checked += _check_gradients(d, tied_to, extra)
    weights = ()
    if not net.plain:                      # each own layer's ∂E/∂wij[k]: the sum over its uses
        i_, j_ = "i", "j"
        weights = tuple((k, names.generic("a", i_, str(k)) * names.generic("delta", j_, str(k + 1)) + sympy.Add(
            *[names.generic("a", j_, str(t)) * names.generic("delta", i_, str(t + 1)) for t in tied_to.get(k, [])])
            + extra.xreplace({_W: names.generic("w", "ij", str(k))})) for k in range(1, L) if k not in ties)
    return GeneralForm(output, tuple(hidden),
                       names.generic("w", "ij", "k") * names.generic("delta", "j", "k+1"),
                       names.generic("a", "i", "k") * names.generic("delta", "j", "k+1"),
                       names.generic("delta", "j", "k"), checked, weights)


_W = sympy.Symbol("_w", real=True)


def _check_gradients(d, tied_to: dict, extra: sympy.Expr) -> int:
    """Hold every ∂E/∂p against its general form: ai[k]·δj[k+1] (+ the tied uses' aj[t]·δi[t+1], + the
    penalty's term) for a weight, δj[k] for a bias; how many were checked.

    Most are the very product the form gives, which == sees at once; only the others are expanded
    (100k gradients in 784-128-10).
    """
    a_of, delta_of, plain = {}, {}, extra == 0
    for name, grad in d.gradients.items():
        rank, k, indices = names.key_of(name)
        if rank == names.RANK_WEIGHT:
            i, j = indices
            a = a_of.get((i, k)) or a_of.setdefault((i, k), names.asym(i, k))
            delta = delta_of.get((j, k + 1)) or delta_of.setdefault((j, k + 1), names.delta(j, k + 1))
            if plain and k not in tied_to and type(grad) is sympy.Mul and len(grad.args) == 2 and \
                    {type(f) for f in grad.args} == {names.Name} and \
                    (grad.args[0].name, grad.args[1].name) == tuple(sorted((a.name, delta.name))):
                continue                      # the product itself: two real names, those of a and δ
            want = names.product(a, delta)
            if k in tied_to or not plain:
                want = want + sympy.Add(*[names.asym(j, t) * names.delta(i, t + 1) for t in tied_to.get(k, [])])
                want += extra.xreplace({_W: names.weight(i, j, k)})
        else:
            want = names.delta(indices[0], k)
        if grad != want and sympy.expand(grad - want) != 0:
            raise GeneralFormError(f"dE/d{name} is not an instance of the general form")
    return len(d.gradients)


def penalty_terms(net) -> sympy.Expr:
    """What the penalty adds to ∂E/∂w, in a stand-in _w for the weight: λ·w (l2), λ·sign(w) (l1)."""
    found = {"l2": lambda lam: lam * _W, "l1": lambda lam: lam * sympy.sign(_W)}
    return sympy.Add(*[found[kind](net.penalty_symbol(kind)) for kind, _ in net.penalty])
