"""The model of a layer stack over a batch: layer by layer, each for every sample (a norm layer's
statistics need the whole batch below it), then E, the loss summed over the samples.

Every equation carries its local derivatives (weighted sums their terms), so the one sweep
is the staged backward pass: batch norm's μ, var, σ, x̂ each hand their gradient on, as in the
textbook's graph, without a ``sympy.diff``.

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1, "activation": "linear"}]}, "spec")
>>> [str(eq.node) for eq in build(net).equations][:7]
['mu1[2]', 'd1[2]<1>', 'd1[2]<2>', 'var1[2]', 'sigma1[2]', 'xhat1[2]<1>', 'xhat1[2]<2>']
"""
from __future__ import annotations

import sympy

from . import _names as names
from ._batch import BatchNet, Dropout, Norm
from ._batch_names import BName
from ._dense import softmax_local
from ._graph import E, Equation, Model
from ._network import Network
from ._steps import Output

epsilon = sympy.Symbol("epsilon", positive=True)


def one_step(net: BatchNet) -> Network:
    """The output layer as a feedforward network (1 → outputs): its activation and loss per sample."""
    last = net.layers[-1]
    return Network((1, last.size), (last.activation,), net.loss, False)


def rename(net: BatchNet, s: int) -> dict:
    """The one-step network's names → sample s's names at the last layer."""
    L, O = net.depth, net.layers[-1].size
    table = {}
    for j in range(1, O + 1):
        table[names.asym(j, 2)] = BName("a", (j,), L, s)
        table[names.zsym(j, 2)] = BName("z", (j,), L, s)
        table[names.target(j)] = BName("t", (j,), None, s)
    return table


def inputs(net: BatchNet, s: int) -> list:
    return [BName("x", (i,), None, s) for i in range(1, net.inputs + 1)]


def _dense(net, k, lay, below, eqs, s):
    bias = [BName("b", (j,), k) if lay.bias else None for j in range(1, lay.size + 1)]
    out = []
    for j in range(1, lay.size + 1):
        pairs = [(BName("w", (i, j), k - 1), a) for i, a in enumerate(below, start=1)]
        pairs += [(bias[j - 1], sympy.S.One)] if lay.bias else []
        z = BName("z", (j,), k, s)
        eqs.append(Equation(z, sympy.Add(*[p * q for p, q in pairs]), BName("delta", (j,), k, s), tuple(pairs)))
        out.append(z)
    return out


def _activate(net, k, lay, zs, eqs, s) -> list:
    """aj[k]<s> = f(zj[k]<s>); the last layer's through the one-step output network (softmax couples)."""
    a = [BName("a", (j,), k, s) for j in range(1, len(zs) + 1)]
    if k == net.depth:
        step, table = one_step(net), rename(net, s)
        coupled = lay.activation.coupled is not None
        for j in range(1, len(zs) + 1):
            local = softmax_local(a, zs, j - 1, lay.activation) if coupled else ()
            eqs.append(Equation(a[j - 1], step.activation_value(j, 2).xreplace(table), local=local))
        return a
    act = lay.activation
    for j, z in enumerate(zs, start=1):
        eqs.append(Equation(a[j - 1], act.apply(z), local=((z, act.prime(z)),)))
    return a


def _normalise(k, lay, below: dict, eqs: list, n: int, N: int) -> dict:
    """The staged graph of batch or layer norm over ``below`` ((j, s) → input); (j, s) → zj[k]<s>."""
    cells = [(j, s) for s in range(1, N + 1) for j in range(1, n + 1)]
    groups = ([[(j, s) for s in range(1, N + 1)] for j in range(1, n + 1)] if lay.kind == "batchnorm" else
              [[(j, s) for j in range(1, n + 1)] for s in range(1, N + 1)])
    d, xhat = {c: BName("d", (c[0],), k, c[1]) for c in cells}, {c: BName("xhat", (c[0],), k, c[1]) for c in cells}
    for group in groups:
        j0, s0 = group[0]
        at = ((j0,), k, None) if lay.kind == "batchnorm" else ((), k, s0)
        mu, var, sigma = (BName(x, *at) for x in ("mu", "var", "sigma"))
        m = sympy.Integer(len(group))
        eqs.append(Equation(mu, sympy.Add(*[below[c] for c in group]) / m, local=tuple((below[c], 1 / m) for c in group)))
        for c in group:
            eqs.append(Equation(d[c], below[c] - mu, local=((below[c], sympy.S.One), (mu, -sympy.S.One))))
        eqs.append(Equation(var, sympy.Add(*[d[c] ** 2 for c in group]) / m, local=tuple((d[c], 2 * d[c] / m)
                                                                                     for c in group)))
        eqs.append(Equation(sigma, sympy.sqrt(var + epsilon), local=((var, 1 / (2 * sigma)),)))
        for c in group:
            eqs.append(Equation(xhat[c], d[c] / sigma, local=((d[c], 1 / sigma), (sigma, -d[c] / sigma ** 2))))
    z = {}
    for j, s in cells:
        gamma, beta = BName("gamma", (j,), k), BName("beta", (j,), k)
        z[j, s] = BName("z", (j,), k, s)
        eqs.append(Equation(z[j, s], gamma * xhat[j, s] + beta, BName("delta", (j,), k, s),
                            ((gamma, xhat[j, s]), (beta, sympy.S.One))))
    return z


def build(net: BatchNet) -> Model:
    """Every layer for every sample, in evaluation order; E last."""
    N, sizes = net.samples, net.sizes
    eqs: list = []
    below = {s: inputs(net, s) for s in range(1, N + 1)}
    for k, lay in enumerate(net.layers, start=2):
        if isinstance(lay, Norm):
            n = sizes[k - 1]
            z = _normalise(k, lay, {(j, s): below[s][j - 1] for s in range(1, N + 1) for j in range(1, n + 1)},
                           eqs, n, N)
            below = {s: _activate(net, k, lay, [z[j, s] for j in range(1, n + 1)], eqs, s) for s in range(1, N + 1)}
        elif isinstance(lay, Dropout):
            keep = 1 / (1 - sympy.Rational(lay.rate.numerator, lay.rate.denominator))
            found = {}
            for s in range(1, N + 1):
                found[s] = []
                for j, a in enumerate(below[s], start=1):
                    m, out = BName("m", (j,), k, s), BName("a", (j,), k, s)
                    eqs.append(Equation(out, keep * m * a, local=((a, keep * m),)))
                    found[s].append(out)
            below = found
        else:
            below = {s: _activate(net, k, lay, _dense(net, k, lay, below[s], eqs, s), eqs, s) for s in range(1, N + 1)}
    step = one_step(net)
    loss = sympy.Add(*[step.loss_value().xreplace(rename(net, s)) for s in range(1, N + 1)])
    eqs.append(Equation(E, loss))
    return Model(tuple(eqs), tuple(net.parameters()))


def outputs(net: BatchNet) -> dict:
    """Each output zj[L]<s> → what the a − t shortcut needs to know of it."""
    L, O, step, found = net.depth, net.layers[-1].size, one_step(net), {}
    for s in range(1, net.samples + 1):
        table = rename(net, s)
        targets = tuple(BName("t", (j,), None, s) for j in range(1, O + 1))
        for j in range(1, O + 1):
            z = BName("z", (j,), L, s)
            found[z] = Output(net.layers[-1].activation, BName("a", (j,), L, s), targets[j - 1], z,
                              step.activation_value(j, 2).xreplace(table), targets)
    return found


def leaves(net: BatchNet) -> list:
    """Inputs, targets and dropout masks per sample, then ε (a number in numbers: 1e-5)."""
    found = []
    for s in range(1, net.samples + 1):
        found += inputs(net, s) + [BName("t", (j,), None, s) for j in range(1, net.layers[-1].size + 1)]
        for k, lay in enumerate(net.layers, start=2):
            if isinstance(lay, Dropout):
                found += [BName("m", (j,), k, s) for j in range(1, net.sizes[k - 1] + 1)]
    return found + [epsilon]
