"""The simple recurrent network, unrolled, as a graph.

Per step t: sj<t> = Σ_i uij·xi<t> + Σ_i wij·hi<t−1> (+ bj), hj<t> = g(sj<t>),
oj<t> = Σ_i vij·hi<t> (+ cj), yj<t> the output activation of oj<t>; E is the loss
summed over the steps.  The weights are shared: each is used once per step.
With truncation every K steps, hi<t−1> is detached from sj<t> at each cut.

>>> from symbackprop._rnn import RNN
>>> m = build(RNN.build(1, 1, 1, 2))
>>> [str(eq.node) for eq in m.equations]
['s1<1>', 'h1<1>', 'o1<1>', 'y1<1>', 's1<2>', 'h1<2>', 'o1<2>', 'y1<2>', 'E']
"""
from __future__ import annotations

import sympy

from . import _names as names
from ._dense import softmax_local, weighted_sum
from ._graph import E, Equation, Model
from ._steps import Output
from ._timed import sym


def flows(net, t: int, truncate: int | None) -> bool:
    """Whether δ<t+1> reaches δ<t>: not past the last step, nor across a truncation boundary."""
    if t >= net.steps:
        return False
    return truncate is None or t % truncate != 0


def _at(net, t: int) -> dict:
    """The one-step output layer's names (a feedforward 1 → outputs net) → this step's names."""
    table = {}
    for j in range(1, net.outputs + 1):
        table[names.asym(j, 2)] = sym("y", j, t=t)
        table[names.zsym(j, 2)] = sym("o", j, t=t)
        table[names.target(j)] = sym("t", j, t=t)
    return table


def build(net, truncate: int | None = None) -> Model:
    """The unrolled equations, step by step: s, h for each hidden node, then o, then y."""
    I, H, O, T = net.inputs, net.hidden, net.outputs, net.steps
    U = [[sym("u", i, j) for j in range(1, H + 1)] for i in range(1, I + 1)]
    W = [[sym("w", i, j) for j in range(1, H + 1)] for i in range(1, H + 1)]
    V = [[sym("v", i, j) for j in range(1, O + 1)] for i in range(1, H + 1)]
    b = [sym("b", j) for j in range(1, H + 1)] if net.bias else []
    c = [sym("c", j) for j in range(1, O + 1)] if net.bias else []
    parameters = [p for M in (U, W, V) for row in M for p in row] + b + c
    one_step = net.output_network()
    equations = []
    for t in range(1, T + 1):
        x = [sym("x", i, t=t) for i in range(1, I + 1)]
        h_prev = [sym("h", i, t=t - 1) for i in range(1, H + 1)]
        cut = frozenset() if t == 1 or flows(net, t - 1, truncate) else frozenset(h_prev)
        for j in range(1, H + 1):
            pairs = [(U[i][j - 1], x[i]) for i in range(I)] + [(W[i][j - 1], h_prev[i]) for i in range(H)]
            pairs += [(b[j - 1], sympy.S.One)] if b else []
            s_jt = sym("s", j, t=t)
            equations.append(Equation(s_jt, weighted_sum(pairs), sym("delta", j, t=t), tuple(pairs), detached=cut))
            equations.append(Equation(sym("h", j, t=t), net.activation.apply(s_jt)))
        h = [sym("h", i, t=t) for i in range(1, H + 1)]
        for j in range(1, O + 1):
            pairs = [(V[i][j - 1], h[i]) for i in range(H)] + ([(c[j - 1], sympy.S.One)] if c else [])
            equations.append(Equation(sym("o", j, t=t), weighted_sum(pairs), terms=tuple(pairs)))
        rename = _at(net, t)
        ys = [sym("y", j, t=t) for j in range(1, O + 1)]
        os_ = [sym("o", j, t=t) for j in range(1, O + 1)]
        softmax = net.output_activation.name == "softmax"
        for j in range(1, O + 1):
            local = softmax_local(ys, os_, j - 1) if softmax else ()
            equations.append(Equation(ys[j - 1], one_step.activation_value(j, 2).xreplace(rename), local=local))
    loss = one_step.loss_value()
    equations.append(Equation(E, sympy.Add(*[loss.xreplace(_at(net, t)) for t in range(1, T + 1)])))
    return Model(tuple(equations), tuple(parameters))


def outputs(net) -> dict:
    """Each oj<t> → what the a − t shortcut needs to know of it."""
    one_step = net.output_network()
    found = {}
    for t in range(1, net.steps + 1):
        rename = _at(net, t)
        targets = tuple(sym("t", j, t=t) for j in range(1, net.outputs + 1))
        for j in range(1, net.outputs + 1):
            found[sym("o", j, t=t)] = Output(net.output_activation, sym("y", j, t=t), sym("t", j, t=t),
                                             sym("o", j, t=t), one_step.activation_value(j, 2).xreplace(rename),
                                             targets)
    return found
