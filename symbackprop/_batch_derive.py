"""Backprop through a layer stack over a batch: the one sweep over every sample at once.

A norm layer's staged graph is swept stage by stage (x̂, σ, var, d, μ: each stage's gradient
is written out), and the compact form of its input gradient is stated and checked against the
sweep's (``_batch_forms.py``).  A dropout layer hands back the mask: ∂E/∂a[k−1] = m·∂E/∂a[k]/(1 − p).

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "layer": [{"kind": "dropout", "rate": 0.5},
...                  {"size": 1, "activation": "linear"}]}, "spec")
>>> d = derive_batch(net)
>>> d.gradient("w11[2]"), d.stages["a1[2]<1>"]
(a1[2]<1>*delta1[3]<1> + a1[2]<2>*delta1[3]<2>, w11[2]*delta1[3]<1>)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import sympy

from ._batch import BatchNet
from ._batch_build import build, leaves, outputs
from ._batch_names import BName, read
from ._conv_derive import ParameterStep
from ._display import Displays, SweptNames
from ._errors import LimitError
from ._graph import Sweep, collector_paused, sweep
from ._steps import Shortcuts, output_step

#: --prove and expanded forms: networks of at most this many parameters, batches of at most MAX_PROVE_BATCH
MAX_PROVE = 12
MAX_PROVE_BATCH = 3


@dataclass(frozen=True, repr=False)
class BatchDerivation(Displays, SweptNames):
    """A batch stack's backprop; every dict is keyed by plain names.

    stages: ∂E/∂n of every node that has no δ of its own (a norm's x̂, σ, var, d, μ; each a),
    in the order the sweep found them (the last layer first).
    """

    network: BatchNet
    forward: dict
    loss: sympy.Expr
    deltas: dict
    stages: dict
    gradients: dict
    delta_steps: tuple
    selected: tuple
    forms: tuple = ()
    proof: dict | None = None
    expanded_wanted: bool | None = None
    sweep: Sweep | None = field(default=None, compare=False, repr=False)

    writers: ClassVar[dict] = {}
    writer_modules: ClassVar[tuple] = ("_batch_render", "_batch_pages")

    def name_of(self, text: str) -> str:
        """The plain name of a typed name of this network; NotationError saying how to write it."""
        letter, indices, layer, sample = read(text)
        return BName(letter, indices, layer, sample).name

    def base_symbols(self) -> list:
        return [*self.sweep.model.parameters, *leaves(self.network)]

    def target_groups(self) -> list:
        net, last = self.network, self.network.layers[-1]
        if last.activation.coupled and net.loss.targets == "distribution":
            return [[BName("t", (j,), None, s) for j in range(1, last.size + 1)] for s in range(1, net.samples + 1)]
        return []

    def confirmable(self) -> bool:
        return self.network.n_parameters <= MAX_PROVE and self.network.samples <= MAX_PROVE_BATCH

    @cached_property
    def steps(self) -> tuple:
        """Each selected parameter's chain rule: the sum over its uses (every sample)."""
        s, found = self.sweep, []
        for name in self.selected:
            p = self.symbols[name]
            uses = tuple((eq.node, eq.derivative(p), s.upstream(eq)) for eq, _ in s.uses[p])
            want = bool(self.expanded_wanted) and self.confirmable()
            found.append(ParameterStep(p, uses, self.expanded(name) if want else None))
        return tuple(found)


def derive_batch(net: BatchNet, weights=None, expanded: bool | None = None, prove: bool = False,
                 max_weights: int = 30) -> BatchDerivation:
    """Every δ, every stage and every gradient of ``net``; the compact forms checked."""
    from ._batch_forms import check_forms, prove_forms
    if (prove or expanded) and not (net.n_parameters <= MAX_PROVE and net.samples <= MAX_PROVE_BATCH):
        raise LimitError(f"{'--prove' if prove else '--expanded'} works on batch stacks of at most {MAX_PROVE} "
                         f"parameters and batch = {MAX_PROVE_BATCH}; this one has {net.n_parameters} and batch = "
                         f"{net.samples}: use check (the compact forms are still checked at every instance)")
    with collector_paused():
        model = build(net)
        shortcuts = Shortcuts(outputs(net))
        s = sweep(model, refine=shortcuts)
        forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
        deltas, steps = {}, []
        for z in shortcuts.outputs:
            named = model.by_node[z].delta
            deltas[named.name] = s.adjoint[z]
            steps.append(output_step(s, z, named, shortcuts.steps[z]))
        stages = {}
        for eq in reversed(model.equations[:-1]):
            if eq.delta is not None and eq.delta.name not in deltas:
                deltas[eq.delta.name] = s.adjoint[eq.node]
            elif eq.delta is None and eq.node.name not in (a.a.name for a in shortcuts.outputs.values()):
                stages[eq.node.name] = s.adjoint[eq.node]
        gradients = {p.name: s.gradient[p] for p in model.parameters}
        d = BatchDerivation(net, forward, model.output.expr, deltas, stages, gradients, tuple(steps), (),
                            expanded_wanted=expanded, sweep=s)
        selected = tuple(d.name_of(w) for w in weights) if weights else select(net, max_weights)
        for name in selected:
            d.gradient(name)
        d = dataclasses.replace(d, selected=selected, forms=check_forms(d))
        if prove:
            d = dataclasses.replace(d, proof={**prove_batch(d), **prove_forms(d)})
    return d


def select(net: BatchNet, max_weights: int) -> tuple:
    """Every parameter, the last layer first, when there are at most ``max_weights``; else the first of each
    kind in each layer."""
    params = sorted(net.parameters(), key=lambda p: -p.layer)
    if len(params) <= max_weights:
        return tuple(p.name for p in params)
    seen, found = set(), []
    for p in params:
        if (p.letter, p.layer) not in seen:
            seen.add((p.letter, p.layer))
            found.append(p.name)
    return tuple(found)


def prove_batch(d: BatchDerivation) -> dict:
    """name → how the named gradient, fully substituted, was shown equal to sympy.diff of the nested E."""
    from ._proof import equal_by_algebra
    constraint = {g[-1]: 1 - sympy.Add(*g[:-1]) for g in d.target_groups()}
    nested = d.nested_loss()
    return {p.name: equal_by_algebra(sympy.diff(nested, p) - d.expanded(p.name), constraint, d.network.activations)
            for p in d.sweep.model.parameters}
