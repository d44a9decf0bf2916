"""Backprop through a graph, node by node: the one reverse sweep (``_graph.sweep``) over its equations.

Every node n but the output gets a named gradient ∂f/∂n (a :class:`Grad`); the sweep writes
∂f/∂n = Σ over the consumers c of n of ∂c/∂n · ∂f/∂c, and ∂f/∂leaf likewise.  At a point
(``at``), every value, local gradient and product is also a number.

>>> from symbackprop._circuit_parse import parse_circuit
>>> d = derive_graph(parse_circuit("q = x + y; f = q*z"), at={"x": -2, "y": 5, "z": -4})
>>> d.gradients["x"], d.deltas["df/dq"], d.values["f"], d.values["df/dx"], d.values["df/dz"]
(df/dq, z, -12.0, -4.0, 3.0)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import sympy

from ._circuit import Circuit, Grad
from ._circuit_functions import SIGMOID, SIGMOID_PRIME, local
from ._circuit_values import at_point, evaluate, parse_at, values_at
from ._derivation import Derivation
from ._display import Displays
from ._errors import LimitError
from ._graph import Equation, Model, Sweep, sweep

#: expanded forms are shown up to this many nodes written out (a fan-out repeats what it feeds)
MAX_EXPANDED_SIZE = 400
#: JSON holds expanded forms up to this many; --prove works on graphs of up to MAX_PROVE nodes; expanded
#: forms are made unasked for graphs of up to MAX_EXPANDED_NODES nodes
MAX_JSON_SIZE, MAX_PROVE, MAX_EXPANDED_NODES = 20_000, 30, 40


@dataclass(frozen=True)
class Local:
    """One input of a gate: ∂node/∂by, the same in the gate's own output (σ' = f1·(1 − f1)) when
    that is shorter to say, and the product with the upstream gradient, handed down to ``by``."""

    by: sympy.Symbol
    value: sympy.Expr
    alt: sympy.Expr | None
    down: sympy.Expr
    number: float | None = None
    down_number: float | None = None


@dataclass(frozen=True)
class Step:
    """A node (or a leaf: no locals) on the way back: where its gradient comes from (its consumers
    c and ∂c/∂node), that gradient named, and its inputs' local gradients."""

    node: sympy.Symbol
    kind: str                   # the gate (add, multiply, …), or "leaf"
    upstream: tuple             # ((consumer, ∂consumer/∂node), …); () for the output
    value: sympy.Expr           # ∂f/∂node over the named gradients of its consumers (1 for the output)
    locals: tuple = ()
    number: float | None = None             # the node's value at the point
    gradient_number: float | None = None    # ∂f/∂node there


def grad(net: Circuit, node) -> Grad:
    return Grad(net.output.name, node.name)


def model(net: Circuit) -> Model:
    """The graph as the one model: every node but the output named by its gradient ∂f/∂n."""
    out = net.output
    equations = tuple(Equation(n, e, None if n == out else grad(net, n), local=tuple(
        (s, local(e, s)) for s in net.inputs(n))) for n, e in net.equations)
    return Model(equations, net.leaves)


@dataclass(frozen=True, repr=False)
class GraphDerivation(Displays):
    """A graph's backprop; every dict is keyed by plain names (gradients by leaf, deltas by "df/dn").

    Made by ``symbackprop.derive`` of a graph; with ``at=`` its ``values`` hold every number.

    >>> import symbackprop as sb
    >>> d = sb.derive(sb.graph("q = x + y; f = q*z"))
    >>> d.gradients, d.deltas
    ({'x': df/dq, 'y': df/dq, 'z': q}, {'df/dq': z})
    >>> d.subs(d.gradient("x"), {"df/dq": "z"})
    z
    """

    network: Circuit
    forward: dict               # node → its right side, in evaluation order (the output last)
    loss: sympy.Expr            # the output, which check and compile call E
    deltas: dict                # "df/dq" → ∂f/∂q over the named gradients of q's consumers, output first
    gradients: dict             # leaf → ∂f/∂leaf, named
    steps: tuple                # a Step per node, from the output back, then one per leaf
    sweep: Sweep | None = field(default=None, compare=False, repr=False)
    values: dict | None = None  # at a point: name → value of every leaf, node and "df/dn"
    selected: tuple = ()
    proof: dict | None = None
    expanded_wanted: bool | None = None

    writers: ClassVar[dict] = {}
    writer_modules: ClassVar[tuple] = ("_circuit_walk", "_circuit_pages")

    def gradient(self, name: str) -> sympy.Expr:
        if name not in self.gradients:
            raise KeyError(f"{name} is not a leaf of the {self.network.describe()}")
        return self.gradients[name]

    @cached_property
    def symbols(self) -> dict:
        found = dict(self.network.by_name)
        for s in self.sweep.model.equations:
            if s.delta is not None:
                found[s.delta.name] = s.delta
        return found

    full = Derivation.full              # every node and named gradient in terms of the leaves

    def base_symbols(self) -> list:
        return list(self.network.leaves)

    def target_groups(self) -> list:
        return []

    def confirmable(self) -> bool:
        return len(self.forward) <= 12

    def expanded(self, name: str) -> sympy.Expr:
        return self.gradient(name).xreplace(self.full)

    @property
    def expandable(self) -> bool:
        """Small enough to substitute everything unasked (substituting costs the square of the depth)."""
        return self.expanded_wanted is True or len(self.forward) <= MAX_EXPANDED_NODES

    def shown_expanded(self, name: str) -> sympy.Expr | None:
        """The expanded form, when it is short enough to read (and says more than the named one)."""
        if self.expanded_wanted is False or not self.expandable:
            return None
        found = self.expanded(name)
        if found == self.gradients[name] or (self.expanded_wanted is None and size(found) > MAX_EXPANDED_SIZE):
            return None
        return found

    def nested_loss(self) -> sympy.Expr:
        return self.loss.xreplace(self.full)


def size(expr) -> int:
    """How many nodes the expression has written out (a shared subexpression once per use)."""
    seen, todo = {}, [expr]
    while todo:                 # children first, without recursion (an expression may be deep)
        e = todo[-1]
        waiting = [a for a in e.args if a not in seen]
        if waiting:
            todo += waiting
        else:
            seen[e] = 1 + sum(seen[a] for a in e.args)
            todo.pop()
    return seen[expr]


def _alt(expr, node, value):
    """∂node/∂u in the gate's own output, where that is the shorter lecture form: exp → the node,
    σ' → node·(1 − node), 1 − tanh² → 1 − node²."""
    swap = value.replace(lambda e: isinstance(e, SIGMOID_PRIME), lambda e: SIGMOID(e.args[0]) * (1 - SIGMOID(e.args[0])))
    swap = swap.xreplace({expr: node})
    return swap if swap != value and node in swap.free_symbols and not (swap.free_symbols - {node}) else None


def derive_graph(net: Circuit, at=None, weights=None, expanded: bool | None = None, prove: bool = False):
    """The gradient of the output by every node and leaf, gate by gate; with ``at`` ({leaf: value}
    or "x=-2,y=5"), every value and gradient as a number too."""
    point = None if at is None else at_point(net, parse_at(at))
    m = model(net)
    s = sweep(m)
    out = net.output
    deltas = {grad(net, eq.node).name: s.adjoint[eq.node] for eq in reversed(m.equations[:-1])}
    gradients = {leaf.name: s.gradient[leaf] for leaf in net.leaves}
    V = None if point is None else values_at(net, m, s, point)
    number = (lambda e: None) if V is None else (lambda e: evaluate(e, V))
    steps = []
    for eq in reversed(m.equations):
        up = sympy.S.One if eq.node == out else eq.delta
        locals_ = []
        for by in net.inputs(eq.node):
            value = eq.derivative(by)
            down = up * value
            locals_.append(Local(by, value, _alt(eq.expr, eq.node, value), down, number(value), number(down)))
        steps.append(Step(eq.node, net.gate(eq.node), tuple((c.node, d) for c, d in s.terms.get(eq.node, ())),
                          sympy.S.One if eq.node == out else s.adjoint[eq.node], tuple(locals_),
                          number(eq.node), number(up)))
    for leaf in net.leaves:
        terms = tuple((c.node, c.derivative(leaf)) for c, _ in s.uses[leaf])
        steps.append(Step(leaf, "leaf", terms, gradients[leaf.name], (), number(leaf), number(grad(net, leaf))))
    selected = tuple(w.strip() for w in weights) if weights else tuple(gradients)
    values = None if V is None else {k.name: v for k, v in V.items()}
    d = GraphDerivation(net, {n.name: e for n, e in net.equations}, out, deltas, gradients, tuple(steps), s,
                        values, selected, expanded_wanted=expanded)
    if prove:
        if len(net.equations) > MAX_PROVE:
            raise LimitError(f"--prove works on graphs of at most {MAX_PROVE} nodes; this one has "
                             f"{len(net.equations)}: use check")
        d = dataclasses.replace(d, proof=prove_graph(d))
    return d


def prove_graph(d: GraphDerivation) -> dict:
    """leaf → how its named gradient, fully substituted, was shown equal to the derivative of the
    nested output ("expand" or "cancel"), or False."""
    from ._activations import ACTIVATIONS
    from ._proof import equal_by_algebra
    nested = d.nested_loss()
    acts = [ACTIVATIONS[n] for n in ("sigmoid", "relu", "leaky_relu", "softplus")]
    return {name: equal_by_algebra(local(nested, d.symbols[name]) - d.expanded(name), {}, acts)
            for name in d.gradients}
