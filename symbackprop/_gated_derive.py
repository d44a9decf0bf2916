"""Backpropagation through time for LSTM and GRU cells: the one reverse sweep over the unrolled graph.

The error reaches hj<t> from this step's output (or loss) and from every gate of step t+1;
it reaches the LSTM cell cj<t> from hj<t> and, along the cell path, from cj<t+1> through the
forget gate.  Every gate's δ is then its value's error times its activation's derivative, and
each shared weight's gradient is the sum over the steps of (what it multiplies)·δ.

>>> from symbackprop._gated import GatedRNN
>>> d = derive_gated(GatedRNN.build("lstm", 1, 1, 1, 2, output="hidden"))
>>> d.deltas["deltac1<1>"]
f1<2>*deltac1<2> + o1<1>*deltah1<1>*tanh'(c1<1>)
>>> d.gradient("wf11")
h1<0>*deltaf1<1> + h1<1>*deltaf1<2>
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import sympy

from . import _names as names
from ._conv_derive import ParameterStep   # (parameter, uses, expanded); a use here is (t, node, ∂node/∂p, δ)
from ._display import Displays, SweptNames
from ._errors import LimitError, NotationError, SpecError
from ._gated import SIGMOID, GatedRNN, build
from ._gated_names import gsym, parse
from ._graph import Sweep, collector_paused, sweep
from ._steps import Output, Shortcuts, output_step

#: --prove and the expanded forms: cells of one unit, at most this many steps
MAX_PROVE_STEPS = 2


@dataclass(frozen=True, repr=False)
class GatedDerivation(Displays, SweptNames):
    """An LSTM's or GRU's backprop through time; every dict is keyed by plain names.

    Made by ``symbackprop.derive`` of a spec with kind = "rnn" and cell = "lstm" or "gru".

    >>> import symbackprop as sb
    >>> d = sb.derive(sb.rnn(1, 1, 1, 2, cell="gru", output="hidden"))
    >>> d.gradient("wz11")
    h1<0>*deltaz1<1> + h1<1>*deltaz1<2>
    """

    network: GatedRNN
    forward: dict
    loss: sympy.Expr
    errors: dict            # ∂E/∂qj<t> of a dense output layer
    output_steps: tuple     # (t, DeltaStep) of each qj<t>
    deltas: dict            # deltaγj<t>, deltacj<t>, deltahj<t>: from the last step back
    gradients: dict
    selected: tuple
    truncate: int | None = None
    forms: tuple = ()
    proof: dict | None = None
    expanded_wanted: bool | None = None
    sweep: Sweep | None = field(default=None, compare=False, repr=False)

    writers: ClassVar[dict] = {}
    writer_modules: ClassVar[tuple] = ("_gated_render", "_gated_pages")

    def name_of(self, text: str) -> str:
        """The plain name of a typed name (δ or delta, no spaces); NotationError saying how to write it."""
        plain = text.strip().replace(" ", "").replace("δ", "delta")
        try:
            kind, gate, indices, t = parse(plain)
        except names.NameError_ as err:
            raise NotationError(str(err)) from None
        return gsym(kind, *indices, gate=gate, t=t).name

    def base_symbols(self) -> list:
        """The leaves: parameters, then per step the inputs and targets, then h<0> (and c<0>)."""
        net = self.network
        leaves = [gsym(k, j, t=t) for t in range(1, net.steps + 1)
                  for k, n in (("x", net.inputs), ("t", net.outputs)) for j in range(1, n + 1)]
        start = [gsym(k, j, t=0) for k in ("h", "c")[:2 if net.cell == "lstm" else 1]
                 for j in range(1, net.hidden + 1)]
        return [*self.sweep.model.parameters, *leaves, *start]

    def target_groups(self) -> list:
        net = self.network
        if net.dense and net.output_activation.coupled and net.loss.targets == "distribution":
            return [[gsym("t", j, t=t) for j in range(1, net.outputs + 1)] for t in range(1, net.steps + 1)]
        return []

    def confirmable(self) -> bool:
        return provable(self.network) and self.truncate is None

    @property
    def activations(self) -> tuple:
        net = self.network
        return (SIGMOID, net.activation, net.output_activation)

    @cached_property
    def steps(self) -> tuple:
        """Each selected parameter's chain rule, step by step."""
        s, found = self.sweep, []
        want = bool(self.expanded_wanted)         # hundreds of terms each already at T = 2: only when asked
        for name in self.selected:
            p = self.symbols[name]
            uses = tuple((parse(eq.node.name)[3], eq.node, eq.derivative(p), s.upstream(eq)) for eq, _ in s.uses[p])
            found.append(ParameterStep(p, uses, self.expanded(name) if want and self.confirmable() else None))
        return tuple(found)


def provable(net: GatedRNN) -> bool:
    """Whether the expanded forms (and --prove) are in reach: one unit, at most two inputs, T ≤ 2."""
    return net.hidden == 1 and net.inputs <= 2 and net.steps <= MAX_PROVE_STEPS


def _outputs(net: GatedRNN) -> dict:
    """Each qj<t> → what the y − t shortcut needs to know of it."""
    if not net.dense:
        return {}
    one_step, found = net.output_network(), {}
    for t in range(1, net.steps + 1):
        targets = tuple(gsym("t", j, t=t) for j in range(1, net.outputs + 1))
        rename = {names.asym(j, 2): gsym("y", j, t=t) for j in range(1, net.outputs + 1)}
        rename |= {names.zsym(j, 2): gsym("q", j, t=t) for j in range(1, net.outputs + 1)}
        rename |= {names.target(j): gsym("t", j, t=t) for j in range(1, net.outputs + 1)}
        for j in range(1, net.outputs + 1):
            q = gsym("q", j, t=t)
            found[q] = Output(net.output_activation, gsym("y", j, t=t), gsym("t", j, t=t), q,
                              one_step.activation_value(j, 2).xreplace(rename), targets)
    return found


def derive_gated(net: GatedRNN, weights=None, truncate: int | None = None, prove: bool = False,
                 max_weights: int = 30, expanded: bool | None = None) -> GatedDerivation:
    """Unroll, sweep back through time, and check the general forms against every instance.

    truncate: δ does not flow back across every K-th step (h and c detached there).
    """
    from ._gated_forms import check_forms
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1):
        raise SpecError(f"truncate = {truncate!r}: give a whole number of steps ≥ 1")
    if (prove or expanded) and not provable(net):
        raise LimitError(f"{'--prove' if prove else '--expanded'} works on gated cells of 1 unit and at most 2 inputs, with at "
                         f"most {MAX_PROVE_STEPS} steps (the expanded forms grow as 4^T); this is the "
                         f"{net.shape()} {net.cell.upper()} with T = {net.steps}: use check")
    if prove and truncate is not None:
        raise SpecError("--prove checks the full gradient against brute force: leave out --truncate")
    with collector_paused():
        model = build(net, truncate)
        shortcuts = Shortcuts(_outputs(net))
        s = sweep(model, refine=shortcuts)
        forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
        errors = {q.name: s.adjoint[q] for q in shortcuts.outputs}
        steps = tuple((parse(q.name)[3], output_step(s, q, q, shortcuts.steps[q])) for q in shortcuts.outputs)
        named = [(n, eq) for n, eq in enumerate(model.equations) if eq.delta is not None]
        named = [eq for _, eq in sorted(named, key=lambda pair: -pair[0])]     # h, c, the gates; the last step first
        deltas = {eq.delta.name: s.adjoint[eq.node] for eq in named}
        gradients = {p.name: s.gradient[p] for p in model.parameters}
        d = GatedDerivation(net, forward, model.output.expr, errors, steps, deltas, gradients, (), truncate,
                            expanded_wanted=expanded, sweep=s)
        selected = tuple(d.name_of(w) for w in weights) if weights else select(net, max_weights)
        for name in selected:
            d.gradient(name)
        d = dataclasses.replace(d, selected=selected, forms=check_forms(d))
        if prove:
            d = dataclasses.replace(d, proof=prove_gated(d))
    return d


def select(net: GatedRNN, max_weights: int) -> tuple:
    """Every parameter when there are at most ``max_weights`` (the output layer first, then each gate's
    u, w, b); else the first of each kind and gate."""
    order = "vcuwb"
    params = sorted(net.parameters(), key=lambda p: order.index(p.name[0]))
    if len(params) <= max_weights:
        return tuple(p.name for p in params)
    seen, found = set(), []
    for p in params:
        kind, gate, _, _ = parse(p.name)
        if (kind, gate) not in seen:
            seen.add((kind, gate))
            found.append(p.name)
    return tuple(found)


def prove_gated(d: GatedDerivation) -> dict:
    """name → how its δ form, fully substituted, was shown equal to sympy.diff of the nested E."""
    from ._proof import equal_by_algebra
    constraint = {g[-1]: 1 - sympy.Add(*g[:-1]) for g in d.target_groups()}
    nested = d.nested_loss()
    return {name: equal_by_algebra(sympy.diff(nested, d.symbols[name]) - d.expanded(name), constraint,
                                   d.activations)
            for name in d.gradients}
