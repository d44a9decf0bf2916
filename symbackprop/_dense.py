"""The dense stack as a graph: zj[k] = Σ_i wij[k-1]·ai[k-1] (+ bj[k]), aj[k] = g(zj[k]), then E.

>>> from symbackprop._network import Network
>>> m = build(Network.build([2, 1]))
>>> [str(eq.node) for eq in m.equations]
['z1[2]', 'a1[2]', 'E']
"""
from __future__ import annotations

import sympy

from . import _names as names
from ._activations import ACTIVATIONS
from ._graph import E, Equation, Model
from ._network import Network

#: the penalty term of E
R = sympy.Symbol("R", real=True)


def softmax_local(outs: list, zs: list, o: int, act=None) -> tuple:
    """((zj, ∂ao/∂zj), …) of a coupled output activation, written in the outputs: softmax's (the
    default) ao·([o = j] − aj), log_softmax's [o = j] − e^aj (tests check them against sympy.diff)."""
    local = (act or ACTIVATIONS["softmax"]).coupled.local
    return tuple((zs[j], local(outs[o], outs[j], o == j)) for j in range(len(zs)))


def build(net: Network) -> Model:
    """The network's equations in the seed's order: per layer z1, a1, z2, a2, … (coupled: z's first).

    A skip adds (1, aj[s]) to zj[k]'s terms; a tied layer's coefficients are another
    layer's weights, transposed; a penalty adds its terms to E.
    """
    equations, parameters = [], []
    ties, skips = dict(net.ties), dict(net.skips)
    for k in range(2, net.depth + 1):
        nodes = range(1, net.layers[k - 1] + 1)
        below = [names.asym(i, k - 1) for i in range(1, net.layers[k - 2] + 1)]
        if k - 1 in ties:                          # W[k-1] = W[m]ᵀ: wij[k-1] is wji[m]
            m = ties[k - 1]
            W = [list(col) for col in zip(*names.layer_symbols(net.layers[m - 1], net.layers[m], m))]
        else:
            W = names.layer_symbols(net.layers[k - 2], net.layers[k - 1], k - 1)
            parameters += [w for row in W for w in row]
        if net.bias:
            parameters += [names.bias(j, k) for j in nodes]
        coupled = net.activation(k).coupled is not None
        if coupled:                                # each a needs every z of its layer (softmax)
            order = [(kind, j) for kind in "za" for j in nodes]
            outs = [names.asym(j, k) for j in nodes]
            zs = [names.zsym(j, k) for j in nodes]
        else:                                      # the seed's order: z1, a1, z2, a2, …
            order = [(kind, j) for j in nodes for kind in "za"]
        for kind, j in order:
            if kind == "z":
                pairs = [(W[i][j - 1], a) for i, a in enumerate(below)]
                if k in skips:
                    pairs.append((sympy.S.One, names.asym(j, skips[k])))
                if net.bias:
                    pairs.append((names.bias(j, k), sympy.S.One))
                equations.append(Equation(names.zsym(j, k), weighted_sum(pairs), names.delta(j, k), tuple(pairs)))
            else:
                act = net.activation(k)
                # ∂a/∂z: softmax's closed forms, or a named activation's f'(z), sympy.diff of f(z) (a test holds
                # them equal) without differentiating each of 138 nodes in 784-128-10
                local = softmax_local(outs, zs, j - 1, act) if coupled else () if act.inline else \
                    ((names.zsym(j, k), act.prime(names.zsym(j, k))),)
                equations.append(Equation(names.asym(j, k), net.activation_value(j, k), local=local))
    loss = net.loss_value()
    if net.penalty:                                # R = λ/2·Σw² (+ λ·Σ|w|), and E = loss + R
        equations.append(Equation(R, penalty(net, parameters)))
        loss = loss + R
    equations.append(Equation(E, loss))
    # the parameters in the order of net.parameters(), as the same symbols the equations hold
    return Model(tuple(equations), tuple(parameters))


def penalty(net: Network, parameters: list) -> sympy.Expr:
    """λ/2·Σw² (l2) and λ·Σ|w| (l1) over the weights, each parameter once; biases excluded."""
    weights = [p for p in parameters if p.name.startswith("w")]
    total = sympy.S.Zero
    for kind, _ in net.penalty:
        lam = net.penalty_symbol(kind)
        if kind == "l2":
            total += lam / 2 * sympy.Add(*[w ** 2 for w in weights])
        else:
            total += lam * sympy.Add(*[sympy.Abs(w) for w in weights])
    return total


def weighted_sum(pairs: list) -> sympy.Expr:
    """Σ w·a (+ b): the products made without Mul's flatten, and the sum without Add's, its terms
    put in the order Add gives them: products before names, each by its names (a test holds
    the result equal to ``sympy.Add`` of the terms). Anything else goes through Add."""
    one, make = sympy.S.One, sympy.Mul._from_args
    keyed, classes = [], set()
    for w, a in pairs:                       # one pass: 100k terms in 784-128-10
        if a is one or w is one:
            t = w if a is one else a
            keyed.append(((1, getattr(t, "name", None), ""), t))
            classes.add(type(t))
        else:
            wn, an = getattr(w, "name", None), getattr(a, "name", None)
            if wn is None or an is None:
                classes.add(None)
                break
            keyed.append(((0, wn, an), make((w, a), True)) if wn < an else ((0, an, wn), make((a, w), True)))
            classes.add(type(w))
            classes.add(type(a))
    if len(classes) != 1 or not getattr(classes.pop(), "ordered_by_name", False):
        return _added(pairs)                 # names of several kinds (Mul orders by kind first), or others
    keyed.sort(key=lambda kt: kt[0])
    if any(a[0] == b[0] for a, b in zip(keyed, keyed[1:])):
        return _added(pairs)                 # a term twice: Add collects it
    return sympy.Add._from_args([t for _, t in keyed], is_commutative=True)


def _added(pairs: list) -> sympy.Expr:
    one = sympy.S.One
    return sympy.Add(*[w if a is one else a if w is one else names.product(w, a) for w, a in pairs])
