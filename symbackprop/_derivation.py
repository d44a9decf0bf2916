"""The dense stack's derivation: its graph of equations (``_dense.py``) swept once (``_graph.py``);
the work grows with the number of weights, never with the depth of the nested E.

>>> from symbackprop._spec import from_spec
>>> d = derive(from_spec("2-3-1"))
>>> d.gradient("w11[1]")
x1*delta1[2]
>>> d.deltas["delta1[3]"]
(a1[3] - t1)*g'(z1[3])
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import sympy

from . import _dense, _names as names
from ._display import Displays
from ._errors import LimitError
from ._graph import E, Partial, Sweep, collector_paused, pair_symbols, sweep
from ._network import Network
from ._steps import DeltaStep, Output, Shortcuts, output_step
#: per-weight chains listed in full up to this many paths; beyond it, through δ of the layer above
MAX_PATHS = 12
#: the expanded form (x, t, w, b, g only) is made for networks up to this many parameters
MAX_EXPANDED = 50
#: the expanded forms grow with the product of the layer sizes and the depth: above the first estimate
#: they are refused (--expanded, --prove); above the second, not shown unasked
MAX_EXPANDED_SIZE, DEFAULT_EXPANDED_SIZE = 300_000, 20_000


def expanded_size(net) -> int:
    """An estimate of the terms in a first-layer weight's expanded form: every path to the
    outputs (the product of the sizes) times, in each layer, a fully nested z of that size."""
    return math.prod(net.layers) ** 2 * net.depth


def expanded_by_default(net) -> bool:
    """Whether derivations show expanded forms when not told: small and shallow enough."""
    return net.n_parameters <= MAX_EXPANDED and expanded_size(net) <= DEFAULT_EXPANDED_SIZE


@dataclass(frozen=True)
class WeightStep:
    """∂E/∂p for one weight or bias p, in the seed's order of steps (``Derivation.steps``).

    >>> derive(Network.build([2, 1])).steps[0].result
    ((delta1[2], x1),)"""

    parameter: names.Name
    chain: tuple[tuple[Partial, ...], ...]   # Σ over paths of Π ∂/∂
    through_delta: bool                      # the chain starts at δ of a layer above (too many paths)
    seed_form: tuple[tuple[sympy.Expr, ...], ...]   # Σ over terms of Π, the first factor a δ
    expanded: sympy.Expr | None
    result: tuple[tuple[sympy.Expr, ...], ...]   # Σ of Π: δj[k+1]·ai[k] (or δj[k] for a bias)
    uses: int = 1                            # how many equations use the parameter


@dataclass(frozen=True, repr=False)
class Derivation(Displays):
    """The whole derivation of one network (``symbackprop.derive``); dicts are keyed by plain names.

    >>> derive(Network.build([2, 1])).gradients
    {'w11[1]': x1*delta1[2], 'w21[1]': x2*delta1[2]}"""

    network: Network
    forward: dict
    loss: sympy.Expr
    deltas: dict
    gradients: dict
    delta_steps: tuple[DeltaStep, ...]
    selected: tuple[str, ...]
    proof: dict | None = None     # name → how the δ form was shown equal to brute force
    expanded_wanted: bool | None = None
    sweep: Sweep | None = field(default=None, compare=False, repr=False)   # what the reverse sweep found

    writers: ClassVar[dict] = {}  # format → writer, filled by the render modules
    writer_modules: ClassVar[tuple] = ("_render_json", "_render", "_html", "_beamer")
    # -- lookups
    def gradient(self, name: str) -> sympy.Expr:
        """∂E/∂name in δ form; raise KeyError naming the network's parameters if unknown."""
        key = names.plain(names.parse(name))
        if key not in self.gradients:
            raise KeyError(f"{name} is not a weight or bias of {self.network.describe()}")
        return self.gradients[key]

    def parameter(self, name: str) -> names.Name:
        """A parameter's symbol from its plain name."""
        return names.Name(name, real=True)

    @cached_property
    def symbols(self) -> dict:
        """Plain name → symbol for every intermediate and parameter."""
        found, model = {}, self.sweep.model if self.sweep is not None else None
        sums = {eq.node.name: eq.terms for eq in model.equations if eq.terms} if model is not None else {}
        for key, expr in [*self.forward.items(), ("", self.loss), *self.deltas.items()]:
            # a weighted sum's symbols from its pairs: its free_symbols walk 785 products in 784-128-10
            for s in pair_symbols(sums[key]) if key in sums else expr.free_symbols:
                found[s.name] = s
        for key in [*self.forward, *self.deltas]:
            found.setdefault(key, names.Name(key, real=True))
        for p in model.parameters if model is not None else self.network.parameters():
            found[p.name] = p
        return found

    @cached_property
    def full(self) -> dict:
        """Every intermediate (z, a, δ) in terms of x, t, w, b only (small networks)."""
        sub: dict = {}
        for key, rhs in self.forward.items():
            sub[self.symbols[key]] = rhs.xreplace(sub)
        for key in self.deltas:  # output layer first: each δ needs the one above
            sub[self.symbols[key]] = self.deltas[key].xreplace(sub)
        return sub

    def base_symbols(self) -> list:
        """The values everything is computed from: parameters, inputs, targets."""
        net = self.network
        return [*net.parameters(), *[names.asym(i, 1) for i in range(1, net.layers[0] + 1)],
                *[names.target(j) for j in range(1, net.layers[-1] + 1)],
                *[net.penalty_symbol(kind) for kind, _ in net.penalty]]

    def target_groups(self) -> list:
        """Targets that must sum to 1 (softmax with cross-entropy or KL, log_softmax with nll)."""
        net = self.network
        if net.activation(net.depth).coupled and net.loss.targets == "distribution":
            return [[names.target(j) for j in range(1, net.layers[-1] + 1)]]
        return []

    def confirmable(self) -> bool:
        """Small enough that verify may also compare answers with everything substituted."""
        return self.network.n_parameters <= 30 and expanded_by_default(self.network)

    def expanded(self, name: str) -> sympy.Expr:
        """∂E/∂name with every intermediate substituted: in x, t, w, b and g only."""
        return self.gradient(name).xreplace(self.full)

    def nested_loss(self) -> sympy.Expr:
        """E as one nested expression in x, t, w, b."""
        return self.loss.xreplace(self.full)

    @cached_property
    def steps(self) -> tuple[WeightStep, ...]:
        """The step-by-step chain rule for each selected parameter."""
        return tuple(_weight_step(self, name) for name in self.selected)


# ---------------------------------------------------------------- the derivation
def _outputs(net: Network) -> dict:
    """Each output node's z → what the a − t shortcut needs to know of it."""
    L, n = net.depth, net.layers[-1]
    targets = tuple(names.target(o) for o in range(1, n + 1))
    return {names.zsym(j, L): Output(net.activation(L), names.asym(j, L), names.target(j), names.zsym(j, L),
                                     net.activation_value(j, L), targets) for j in range(1, n + 1)}


def hidden_step(s: Sweep, node: sympy.Symbol) -> DeltaStep:
    """δ of a hidden weighted sum, through the δ's of the nodes it feeds: f'(z)·Σ w·δ."""
    eq = s.model.by_node[node]
    chain = tuple((Partial(E, path[0].of, s.model.by_node[path[0].of].delta), *path)
                  for path in s.paths(node, stop=lambda c: c.delta is not None))
    (consumer, local), = s.terms[node]
    return DeltaStep(eq.delta, chain, (local, s.upstream(consumer)))


def derive(net: Network, weights=None, expanded: bool | None = None, prove: bool = False,
           max_weights: int = 30, progress=None) -> Derivation:
    """Derive the forward equations, E, every δ and every gradient of ``net``.

    weights: plain names whose step-by-step chain rule is wanted (default: every
    parameter, or the first of each layer when there are over ``max_weights``);
    expanded: show the expanded forms (default: up to ``MAX_EXPANDED`` parameters);
    prove: check every δ form against brute-force ``sympy.diff`` (small nets);
    progress: called with the stages done, 3·(L−1) in all (for a progress bar).
    """
    _within_limits(net, weights, expanded, prove, max_weights)
    with collector_paused():
        return _derive(net, weights, expanded, prove, max_weights, progress)


def _derive(net: Network, weights, expanded, prove, max_weights, progress) -> Derivation:
    tick = progress or (lambda n: None)
    model = _dense.build(net)
    tick(net.depth - 1)
    shortcuts = Shortcuts(_outputs(net))
    s = sweep(model, refine=shortcuts)
    tick(net.depth - 1)
    forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
    deltas, delta_steps = {}, []
    for z, out in shortcuts.outputs.items():
        named = model.by_node[z].delta
        deltas[named.name] = s.adjoint[z]
        delta_steps.append(output_step(s, z, named, shortcuts.steps[z]))
    for k in range(net.depth - 1, 1, -1):
        for i in range(1, net.layers[k - 1] + 1):
            step = hidden_step(s, names.zsym(i, k))
            deltas[step.delta.name] = s.adjoint[names.zsym(i, k)]
            delta_steps.append(step)
    gradients = {p.name: s.gradient[p] for p in model.parameters}
    tick(net.depth - 1)
    selected = tuple(names.plain(names.parse(w)) for w in weights) if weights else select(net, max_weights)
    d = Derivation(net, forward, model.output.expr, deltas, gradients, tuple(delta_steps), selected,
                   expanded_wanted=expanded, sweep=s)
    if prove:
        from ._proof import prove_all
        d = dataclasses.replace(d, proof=prove_all(d))
    return d


#: the most parameters a derivation lists step by step (each takes about ten lines)
MAX_LISTED = 5_000


def _within_limits(net: Network, weights, expanded, prove: bool, max_weights: int) -> None:
    """Refuse, with the limit and a way out, what would take too long or print too much."""
    if prove and net.n_parameters > MAX_EXPANDED:
        raise LimitError(f"--prove works on networks of at most {MAX_EXPANDED} parameters; "
                         f"this one has {net.n_parameters:,}: use check for larger ones")
    if expanded and net.n_parameters > 500:
        raise LimitError(f"--expanded on {net.n_parameters:,} parameters would be enormous; the limit is 500: "
                         "leave out --expanded")
    if (expanded or prove) and expanded_size(net) > MAX_EXPANDED_SIZE:
        raise LimitError(f"{'--prove' if prove else '--expanded'}: the expanded forms of this network would have "
                         f"about {expanded_size(net):,} terms (the product of its layer sizes); the limit is "
                         f"{MAX_EXPANDED_SIZE:,}: use a shallower network, or check")
    listed = len(weights) if weights else (net.n_parameters if net.n_parameters <= max_weights else net.depth)
    if listed > MAX_LISTED:
        raise LimitError(f"--max-weights {max_weights:,} would list {listed:,} parameters step by step; the limit "
                         f"is {MAX_LISTED:,}: give a smaller --max-weights (the default 30 shows one weight per "
                         "layer) or name weights with --weight")


def backward_order(net: Network) -> list[str]:
    """Every parameter, from the last layer back to the first, as the seed derives them."""
    params = [p.name for p in net.parameters()]
    # bj[k+1] goes with the weights wij[k] that feed the same z
    return sorted(params, key=lambda n: -names.parse(n).layer + (1.5 if n.startswith("b") else 0))


def select(net: Network, max_weights: int = 30) -> tuple[str, ...]:
    """Every parameter when there are at most ``max_weights``; else the first of each layer."""
    if net.n_parameters <= max_weights:
        return tuple(backward_order(net))
    firsts = [names.weight(1, 1, k).name for k in range(net.depth - 1, 0, -1)]
    return tuple(firsts + ([names.bias(1, net.depth).name] if net.bias else []))


# ---------------------------------------------------------------- per-weight steps
def _weight_step(d: Derivation, name: str) -> WeightStep:
    """The chain rule for one parameter: every path from E to the sum it feeds, or, when there
    are over MAX_PATHS of them, the paths through the δ's of the layer above."""
    s = d.sweep
    param = d.symbols[names.plain(names.parse(name))]
    if len(s.uses[param]) > 1:
        return _shared_step(d, name, param)
    (eq, _), = s.uses[param]
    local = Partial(eq.node, param, eq.derivative(param))
    has_delta = lambda c: c.delta is not None  # noqa: E731
    if s.count_paths(eq.node) <= MAX_PATHS:
        paths = [path + [local] for path in s.paths(eq.node)]
        through = False
        seed = []
        for path in paths:
            # the partials down to the first named sum make up that node's δ
            cut = next(n for n, f in enumerate(path) if has_delta(s.model.by_node[f.by]))
            seed.append((s.model.by_node[path[cut].by].delta, *[f.value for f in path[cut + 1:]]))
        # the same δ and factors from several outputs' paths (softmax) are one term
        seed = list(dict.fromkeys(seed))
    else:
        through = True
        above = s.paths(eq.node, stop=has_delta)
        if any(p[0].of == E for p in above):     # nothing named above: start at this sum's own δ
            paths = [[Partial(E, eq.node, eq.delta), local]]
        else:
            paths = [[Partial(E, p[0].of, s.model.by_node[p[0].of].delta), *p, local] for p in above]
        seed = [tuple(f.value for f in path) for path in paths]
    want = d.expanded_wanted if d.expanded_wanted is not None else expanded_by_default(d.network)
    expanded = d.expanded(name) if want else None
    result = ((eq.delta,) if local.value == 1 else (eq.delta, local.value),)
    return WeightStep(param, tuple(tuple(p) for p in paths), through, tuple(seed), expanded, result)


def _shared_step(d: Derivation, name: str, param) -> WeightStep:
    """A parameter used in several places (tied weights, a penalty): the sum over its uses, each
    through the δ of the sum it feeds (or ∂R/∂w for the penalty term R of E)."""
    s = d.sweep
    paths, terms = [], []
    for eq, _ in s.uses[param]:
        local = Partial(eq.node, param, eq.derivative(param))
        up = s.upstream(s.model.by_node[eq.node])
        paths.append([local] if up == 1 else [Partial(E, eq.node, up), local])
        terms.append(tuple(f for f in (up, local.value) if f != 1))
    want = d.expanded_wanted if d.expanded_wanted is not None else expanded_by_default(d.network)
    return WeightStep(param, tuple(tuple(p) for p in paths), True, tuple(terms),
                      d.expanded(name) if want else None, tuple(terms), uses=len(terms))
