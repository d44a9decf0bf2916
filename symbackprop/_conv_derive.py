"""Backprop through convolution and pooling: the one reverse sweep over a ConvNet's model.

Every map entry's gradient is the sum over the entries it feeds; a kernel element's, the
sum over the positions where it is used.  The general and compact forms
(``_conv_forms.py``) are checked against every instance the sweep found.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2},
...                  {"size": 1}]}, "spec")
>>> d = derive_conv(net)
>>> d.gradients["k111[1]"], d.gradients["w21[2]"]
(x11*delta11[2] + x12*delta12[2], a12[2]*delta1[3])
>>> [f.holds for f in d.forms]
[True, True, True]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import sympy

from . import _conv_names as cn
from ._conv import ConvNet, Pool
from ._conv_build import build, entry, target
from ._display import Displays, SweptNames
from ._errors import LimitError
from ._graph import Sweep, collector_paused, sweep
from ._steps import Output, Shortcuts, output_step

#: --prove and expanded forms work on networks of up to this many parameters
MAX_PROVE = 30


@dataclass(frozen=True)
class ParameterStep:
    """∂E/∂p as the sum over its uses: ((z, ∂z/∂p, ∂E/∂z named), …)."""

    parameter: cn.MapName
    uses: tuple
    expanded: sympy.Expr | None = None


@dataclass(frozen=True, repr=False)
class ConvDerivation(Displays, SweptNames):
    """A ConvNet's backprop; every dict is keyed by plain names.

    Made by ``symbackprop.derive`` of a spec with conv or pool layers (DESIGN.md §5.2).

    >>> import symbackprop as sb
    >>> spec = {"inputs": [1, 3, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2}, {"size": 1}]}
    >>> d = sb.derive(sb.network(spec))
    >>> d.gradient("w11[2]")
    a111[2]*delta1[3]
    """

    network: ConvNet
    forward: dict
    loss: sympy.Expr
    deltas: dict
    gradients: dict
    delta_steps: tuple
    selected: tuple
    forms: tuple = ()
    proof: dict | None = None
    expanded_wanted: bool | None = None
    sweep: Sweep | None = field(default=None, compare=False, repr=False)

    writers: ClassVar[dict] = {}
    writer_modules: ClassVar[tuple] = ("_conv_render", "_conv_pages")

    def name_of(self, text: str) -> str:
        """The plain name of a typed name of this network; NotationError saying how to write it."""
        return self.network.name_of(text)

    def base_symbols(self) -> list:
        net = self.network
        return [*self.sweep.model.parameters, *[entry(net, "x", 1, idx) for idx in net.entries(1)],
                *[target(j) for j in range(1, net.shape(net.depth)[0] + 1)]]

    def target_groups(self) -> list:
        net = self.network
        if net.layers[-1].activation.coupled and net.loss.targets == "distribution":
            return [[target(j) for j in range(1, net.shape(net.depth)[0] + 1)]]
        return []

    def confirmable(self) -> bool:
        return self.network.n_parameters <= MAX_PROVE

    @cached_property
    def steps(self) -> tuple:
        s = self.sweep
        found = []
        for name in self.selected:
            p = self.symbols[name]
            uses = tuple((eq.node, eq.derivative(p), s.upstream(eq)) for eq, _ in s.uses[p])
            want = self.expanded_wanted if self.expanded_wanted is not None else self.network.n_parameters <= 12
            found.append(ParameterStep(p, uses, self.expanded(name) if want and self.confirmable() else None))
        return tuple(found)


def derive_conv(net: ConvNet, weights=None, expanded: bool | None = None, prove: bool = False,
                max_weights: int = 30) -> ConvDerivation:
    """Every δ and every gradient of ``net``, the forms checked; ``weights``: the parameters shown step by step."""
    if (prove or expanded) and net.n_parameters > MAX_PROVE:
        raise LimitError(f"{'--prove' if prove else '--expanded'} works on conv networks of at most {MAX_PROVE} "
                         f"parameters; this one has {net.n_parameters:,}: use check")
    if prove and any(isinstance(lay, Pool) and lay.mode == "max" for lay in net.layers):
        raise LimitError("--prove: max pooling has no derivative where a window's maximum is tied, so brute force "
                         "cannot stand in for it; prove a network with average pooling, and check this one")
    with collector_paused():
        d = _derive(net, weights, expanded, max_weights)
        if prove:
            d = dataclasses.replace(d, proof=prove_conv(d))
    return d


def _derive(net: ConvNet, weights, expanded, max_weights) -> ConvDerivation:
    from ._conv_forms import check_forms
    model = build(net)
    L, last = net.depth, net.layers[-1]
    targets = tuple(target(j) for j in range(1, last.size + 1))
    outputs = {}
    for eq in model.equations:
        if isinstance(eq.node, cn.MapName) and eq.node.letter == "a" and eq.node.layer == L:
            j = eq.node.indices[0]
            z = entry(net, "z", L, (j,))
            outputs[z] = Output(last.activation, eq.node, target(j), z, eq.expr, targets)
    shortcuts = Shortcuts(outputs)
    s = sweep(model, refine=shortcuts)
    forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
    deltas, steps = {}, []
    for z in outputs:
        named = model.by_node[z].delta
        deltas[named.name] = s.adjoint[z]
        steps.append(output_step(s, z, named, shortcuts.steps[z]))
    for eq in reversed(model.equations[:-1]):
        if eq.delta is not None and eq.delta.name not in deltas:
            deltas[eq.delta.name] = s.adjoint[eq.node]
    gradients = {p.name: s.gradient[p] for p in model.parameters}
    d = ConvDerivation(net, forward, model.output.expr, deltas, gradients, tuple(steps), (), expanded_wanted=expanded,
                       sweep=s)
    selected = tuple(d.name_of(w) for w in weights) if weights else select(net, model, max_weights)
    for name in selected:
        d.gradient(name)
    return dataclasses.replace(d, selected=selected, forms=check_forms(net, model, s))


def select(net: ConvNet, model, max_weights: int) -> tuple:
    """Every parameter, from the last layer back, when there are at most ``max_weights``; else the first
    kernel element or weight of each layer (and bias)."""
    params = sorted(model.parameters, key=lambda p: (-p.layer + (0.5 if p.letter == "b" else 0)))
    if len(params) <= max_weights:
        return tuple(p.name for p in params)
    seen, found = set(), []
    for p in params:
        if (p.letter, p.layer) not in seen:
            seen.add((p.letter, p.layer))
            found.append(p.name)
    return tuple(found)


def prove_conv(d: ConvDerivation) -> dict:
    """name → how the named gradient, fully substituted, was shown equal to sympy.diff of the nested E."""
    from ._proof import equal_by_algebra
    net = d.network
    nested = d.nested_loss()
    constraint = {}
    for group in d.target_groups():
        constraint = {group[-1]: 1 - sympy.Add(*group[:-1])}
    return {p.name: equal_by_algebra(sympy.diff(nested, p) - d.expanded(p.name), constraint, net.activations)
            for p in d.sweep.model.parameters}
