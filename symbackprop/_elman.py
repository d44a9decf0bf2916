"""The simple recurrent network, unrolled, as a graph.

Per step t: sj<t> = Σ_i uij·xi<t> + Σ_i wij·hi<t−1> (+ bj), hj<t> = g(sj<t>),
oj<t> = Σ_i vij·hi<t> (+ cj), yj<t> the output activation of oj<t>; E is the loss
summed over the steps.  The weights are shared: each is used once per step.
With truncation every K steps, hi<t−1> is detached from sj<t> at each cut.

>>> from symbackprop._rnn import RNN
>>> net = RNN.build(1, 1, 1, 2, activation="tanh")
>>> derive_rnn(net).gradients["w11"]
h1<0>*delta1<1> + h1<1>*delta1<2>
>>> m = build(net)
>>> [str(eq.node) for eq in m.equations]
['s1<1>', 'h1<1>', 'o1<1>', 'y1<1>', 's1<2>', 'h1<2>', 'o1<2>', 'y1<2>', 'E']
"""
from __future__ import annotations

import dataclasses

import sympy

from . import _names as names
from ._dense import softmax_local, weighted_sum
from ._graph import E, Equation, Model, sweep
from ._errors import LimitError, SpecError
from ._rnn import MAX_SYMBOLIC, RNN, RNNDerivation, expand_limit_message, expandable
from ._steps import Output, Shortcuts, output_step
from ._timed import TimeName, parse_name, sym


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
    """The unrolled equations, step by step: s, h for each hidden node, then o, then y.

    Every local derivative is given (terms, local): the sweep takes none with sympy.diff, which
    on E, a sum over every step, cost more than the rest of the derivation (a test holds each
    equal to sympy.diff).
    """
    I, H, O, T = net.inputs, net.hidden, net.outputs, net.steps
    U = [[sym("u", i, j) for j in range(1, H + 1)] for i in range(1, I + 1)]
    W = [[sym("w", i, j) for j in range(1, H + 1)] for i in range(1, H + 1)]
    V = [[sym("v", i, j) for j in range(1, O + 1)] for i in range(1, H + 1)]
    b = [sym("b", j) for j in range(1, H + 1)] if net.bias else []
    c = [sym("c", j) for j in range(1, O + 1)] if net.bias else []
    parameters = [p for M in (U, W, V) for row in M for p in row] + b + c
    one_step = net.output_network()
    hidden_prime = _LocalForm(net.activation.apply(sym("s", 1, t=1)), sym("s", 1, t=1))
    output_primes = [_LocalForm(one_step.activation_value(j, 2), names.zsym(j, 2)) for j in range(1, O + 1)]
    loss = one_step.loss_value()
    loss_primes = [_LocalForm(loss, names.asym(j, 2)) for j in range(1, O + 1)]
    equations, step_losses, loss_local = [], [], []
    for t in range(1, T + 1):
        x = [sym("x", i, t=t) for i in range(1, I + 1)]
        h_prev = [sym("h", i, t=t - 1) for i in range(1, H + 1)]
        cut = frozenset() if t == 1 or flows(net, t - 1, truncate) else frozenset(h_prev)
        for j in range(1, H + 1):
            pairs = [(U[i][j - 1], x[i]) for i in range(I)] + [(W[i][j - 1], h_prev[i]) for i in range(H)]
            pairs += [(b[j - 1], sympy.S.One)] if b else []
            s_jt = sym("s", j, t=t)
            equations.append(Equation(s_jt, weighted_sum(pairs), sym("delta", j, t=t), tuple(pairs), detached=cut))
            equations.append(Equation(sym("h", j, t=t), net.activation.apply(s_jt),
                                      local=((s_jt, hidden_prime.at({sym("s", 1, t=1): s_jt})),)))
        h = [sym("h", i, t=t) for i in range(1, H + 1)]
        for j in range(1, O + 1):
            pairs = [(V[i][j - 1], h[i]) for i in range(H)] + ([(c[j - 1], sympy.S.One)] if c else [])
            equations.append(Equation(sym("o", j, t=t), weighted_sum(pairs), terms=tuple(pairs)))
        rename = _at(net, t)
        ys = [sym("y", j, t=t) for j in range(1, O + 1)]
        os_ = [sym("o", j, t=t) for j in range(1, O + 1)]
        coupled = net.output_activation.coupled is not None
        for j in range(1, O + 1):
            local = softmax_local(ys, os_, j - 1, net.output_activation) if coupled else \
                ((os_[j - 1], output_primes[j - 1].at(rename)),)
            equations.append(Equation(ys[j - 1], one_step.activation_value(j, 2).xreplace(rename), local=local))
        step_losses.append(loss.xreplace(rename))
        loss_local += [(ys[j], loss_primes[j].at(rename)) for j in range(O)]
    equations.append(Equation(E, sympy.Add(*step_losses), local=tuple(loss_local)))
    return Model(tuple(equations), tuple(parameters))


class _LocalForm:
    """∂expr/∂by, taken with sympy.diff once (on one step's or one node's names) and renamed for
    each step: each step's loss term holds only that step's names, so ∂E/∂yj<t> is the one step's
    derivative renamed, and every hj<t> = g(sj<t>) has the one g'."""

    def __init__(self, expr, by):
        self.value = sympy.diff(expr, by)

    def at(self, rename: dict) -> sympy.Expr:
        """The derivative in the names ``rename`` maps to."""
        return self.value.xreplace(rename)


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


# ---------------------------------------------------------------- the derivation
def _expanded_one(selected) -> str:
    """The weight whose fully expanded form is shown: w11, where the recursion shows most."""
    return "w11" if "w11" in selected else selected[0]


def derive_rnn(net: RNN, weights=None, truncate: int | None = None, prove: bool = False,
               max_weights: int = 30, expanded: bool | None = None) -> RNNDerivation:
    """Unroll (each local derivative taken once and renamed per step) and run the δ's back through time.

    truncate: the sequence is cut into chunks of K steps (1…K, K+1…2K, …) and δ does not
    flow back across a cut (as when the hidden state is detached every K steps).
    """
    if net.size > MAX_SYMBOLIC:
        raise SpecError(f"the unrolled network has {net.size:,} weighted terms; symbolic derivation stops at "
                        f"{MAX_SYMBOLIC:,}: use fewer steps or smaller layers (eval, check and compile have no "
                        "such limit)")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1):
        raise SpecError(f"truncate = {truncate!r}: give a whole number of steps ≥ 1")
    if (prove or expanded) and not expandable(net):
        raise LimitError(expand_limit_message(net, "--prove" if prove else "--expanded"))
    if prove and truncate is not None:
        raise SpecError("--prove checks the full gradient against brute force: leave out --truncate")
    model = build(net, truncate)
    shortcuts = Shortcuts(outputs(net))
    s = sweep(model, refine=shortcuts)
    forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
    errors = {o.name: s.adjoint[o] for o in shortcuts.outputs}
    # ∂E/∂oj<t> step by step, as the output layer's δ of a feedforward net
    output_steps = [(parse_name(o.name)[2], output_step(s, o, o, shortcuts.steps[o])) for o in shortcuts.outputs]
    hidden = [eq for eq in model.equations if eq.delta is not None]
    deltas = {eq.delta.name: s.adjoint[eq.node] for eq in sorted(hidden, key=lambda eq: -parse_name(eq.node.name)[2])}
    per_step = {p.name: tuple(v for _, v in s.uses[p]) for p in model.parameters}
    gradients = {p.name: s.gradient[p] for p in model.parameters}
    if weights:
        selected = tuple(plain_name(w) for w in weights)
    else:       # the output weights first, as the seed starts from the outputs; then back through time
        order = sorted(gradients, key=lambda k: "vcwub".index(k[0]))
        selected = tuple(order) if net.n_parameters <= max_weights else \
            tuple(k for k in ("v11", "c1", "w11", "u11", "b1") if k in gradients)
    # each selected parameter's chain rule: per step, the node E flows through and its local derivative
    chains = {}
    for name in selected:
        kind, indices, _ = parse_name(name)
        p = sym(kind, *indices)
        chains[name] = tuple((parse_name(eq.node.name)[2], eq.node, eq.derivative(p)) for eq, _ in s.uses[p])
    d = RNNDerivation(net, forward, model.output.expr, errors, tuple(output_steps), deltas, gradients, selected, truncate,
                      per_step=per_step, chains=chains)
    if expandable(net) and truncate is None:
        shown = _expanded_one(selected)
        d = dataclasses.replace(d, expanded_form=(shown, d.expanded(shown)))
    if prove:
        if truncate is not None:
            raise SpecError("--prove checks the full gradient against brute force: leave out --truncate")
        d = dataclasses.replace(d, proof=prove_rnn(d))
    return d


def plain_name(text: str) -> str:
    """A parameter's name in its plain form (δ → delta, spaces gone)."""
    kind, indices, t = parse_name(text)
    return sym(kind, *indices, t=t).name


def prove_rnn(d: RNNDerivation) -> dict:
    """name → how its δ form, fully substituted, was shown equal to sympy.diff of the unrolled E."""
    from ._proof import equal_by_algebra
    net = d.network
    if not expandable(net):
        raise SpecError(expand_limit_message(net, "--prove"))
    constraint = {g[-1]: 1 - sympy.Add(*g[:-1]) for g in d.target_groups()}
    nested = d.nested_loss()
    return {name: equal_by_algebra(sympy.diff(nested, d.symbols[name]) - d.expanded(name), constraint,
                                   net.activations)
            for name in d.gradients}


# ---------------------------------------------------------------- right answers and mistakes
def expected_rnn(d: RNNDerivation, eq) -> sympy.Expr:
    """verify's right answer: one step of the recursion, as one writes it."""
    net = d.network
    kind, (j, *_), t = parse_name(eq.lhs_name)
    if kind in ("u", "w", "v", "b", "c"):
        return d.gradient(eq.lhs_name)
    if kind in ("s", "delta"):
        return d.deltas[f"delta{j}<{t}>"]
    if kind == "o":
        return d.output_errors[eq.lhs_name]
    # ∂E/∂hj<t>: through this step's outputs and the next step's s
    terms = [sym("v", j, k) * d.output_errors[f"o{k}<{t}>"] for k in range(1, net.outputs + 1)]
    if flows(net, t, d.truncate):
        terms += [sym("w", j, k) * sym("delta", k, t=t + 1) for k in range(1, net.hidden + 1)]
    return sympy.Add(*terms)


def mistakes_rnn(d: RNNDerivation, eq, expected):
    """(name, wrong answer) for the usual mistakes of backpropagation through time.

    >>> import symbackprop as sb
    >>> net = sb.rnn(1, 1, 1, 2, activation="tanh")
    >>> bool(sb.verify(net, "dE/dw11 = h1<0>*delta1<1> + h1<1>*delta1<2>"))
    True
    >>> sb.verify(net, "dE/dw11 = h1<1>*delta1<2>").diagnosis
    'a missing sum over time (only step 2)'
    """
    net = d.network
    kind, _, _ = parse_name(eq.lhs_name)
    from ._verify import _deltas_expanded
    long = expected if kind in ("s", "delta", "h", "o") else _deltas_expanded(d, expected)
    primes = sorted({f for f in long.atoms(sympy.Function) if type(f).__name__.endswith("'")},
                    key=sympy.default_sort_key)
    if primes:
        yield "a missing g' factor", long.xreplace({f: sympy.S.One for f in primes})
    if kind in ("u", "w", "v", "b", "c") and net.steps > 1:
        for t, term in enumerate(d.per_step[eq.lhs_name], start=1):
            yield f"a missing sum over time (only step {t})", term
    # δ<t+1> not carried back through w: the derivation truncated to one step
    once = derive_rnn(net, weights=(), truncate=1)
    wrong = expected_rnn(once, eq)
    if wrong != expected:
        yield "the recurrent term left out (δ<t+1> not carried back through w)", _deltas_expanded(once, wrong)
    swap = {}
    for s in long.free_symbols:
        if isinstance(s, TimeName) and s.parts()[0] in ("u", "w", "v"):
            k, (i, j), _ = s.parts()
            other = sym(k, j, i)
            if net.exists(k, (j, i), None):
                swap[s] = other
    if swap:
        yield "transposed weight indices (wji in place of wij)", long.xreplace(swap)
    if kind in ("u", "w", "v"):
        _, (i, j), _ = parse_name(eq.lhs_name)
        if net.exists(kind, (j, i), None) and i != j:
            yield (f"the from- and to-node swapped ({kind}{names._index_text((j, i))}'s gradient)",
                   d.gradient(kind + names._index_text((j, i))))
    if kind == "w":
        shift = {s: sym("h", s.parts()[1][0], t=s.parts()[2] + 1) for s in expected.free_symbols
                 if isinstance(s, TimeName) and s.parts()[0] == "h" and s.parts()[2] < net.steps}
        yield "h<t> in place of h<t−1>", expected.xreplace(shift)
    yield "the wrong sign (t − y in place of y − t)", -expected
    yield "a missing ½ factor, or an extra 2", 2 * expected
    yield "an extra ½ factor, or a missing 2", expected / 2


RULES = (expected_rnn, mistakes_rnn)
