"""The written steps of a derivation, read off the sweep: each δ's chain rule and its shortcuts.

A :class:`DeltaStep` is one error signal's chain (a sum over paths of products of
partials), its value as a product, and, at the outputs, the steps that turn it
into a − t where the loss and the output activation make it so.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ._activations import Activation
from ._graph import Partial, Sweep


@dataclass(frozen=True)
class DeltaStep:
    """δ = ∂E/∂z: its chain (a sum of products of partials), its value, simplifications."""

    delta: sympy.Symbol
    chain: tuple[tuple[Partial, ...], ...]
    factors: tuple[sympy.Expr, ...]       # the value as an ordered product
    simplified: tuple[tuple[str, sympy.Expr], ...] = ()   # (reason, expression) after the product


@dataclass(frozen=True)
class Output:
    """What the shortcut needs to know of one output node: its activation a = f(z), target t,
    and the targets of its group (which sum to 1 for softmax with cross-entropy, log_softmax with nll)."""

    activation: Activation
    a: sympy.Symbol
    t: sympy.Symbol
    z: sympy.Symbol
    a_value: sympy.Expr
    targets: tuple


def shortcut(out: Output, value: sympy.Expr) -> tuple:
    """The steps to δ = a − t when it holds (sigmoid + bce, softmax + cross-entropy), to δ = e^a − t
    (log_softmax + nll: a coupled activation's probability minus t), else ()."""
    act = out.activation
    candidate = (act.coupled.probability(out.a) if act.coupled else out.a) - out.t
    if value == candidate:
        return ()
    if act.derivative_in_output is not None and not act.inline:
        prime = sympy.diff(out.a_value, out.z)
        in_output = act.derivative_in_output(out.a)
        substituted = value.xreplace({prime: in_output})
        in_a = sympy.factor(substituted)
        if sympy.expand(in_a - candidate) == 0:
            in_a = candidate
        # keep it when the output's derivative cancels the loss's division by a
        if in_a == candidate or (sympy.denom(in_a) == 1 and sympy.denom(sympy.together(value)) != 1):
            shown = value.xreplace({prime: sympy.Mul(in_output, evaluate=False)})
            return (("substitute", shown), ("cancel", in_a))
    if act.coupled:
        last = out.targets[-1]
        constrained = sympy.expand((value - candidate).xreplace({last: 1 - sympy.Add(*out.targets[:-1])}))
        if constrained == 0:
            return (("sum_targets", sympy.expand(value)), ("sum_targets_one", candidate))
    return ()


class Shortcuts:
    """The sweep's refine hook for output nodes: remembers each node's steps for the write-up."""

    def __init__(self, outputs: dict):
        self.outputs = outputs          # node → Output
        self.steps: dict = {}

    def __call__(self, eq, value):
        out = self.outputs.get(eq.node)
        if out is None:
            return value
        self.steps[eq.node] = shortcut(out, value)
        return self.steps[eq.node][-1][1] if self.steps[eq.node] else value


def output_step(s: Sweep, node: sympy.Symbol, named: sympy.Symbol, simplified: tuple) -> DeltaStep:
    """The δ of an output node, E → a → z, from the sweep's local derivatives."""
    chain = tuple(tuple(path) for path in s.paths(node))
    value = sympy.Add(*[c[0].value * c[1].value for c in chain])
    factors = chain[0] and (tuple(f.value for f in chain[0]) if len(chain) == 1 else (value,))
    return DeltaStep(named, chain, factors, simplified)
