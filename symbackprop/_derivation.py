"""Backprop, symbolically: local derivatives by ``sympy.diff``, combined layer by layer.

z, a and E are SymPy expressions over named intermediates; every δ and every
gradient is built from the layer above, so the work grows with the number of
weights, never with the depth of the nested E.

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
from dataclasses import dataclass
from functools import cached_property, reduce
from operator import mul

import sympy

from . import _names as names
from ._network import Network

E = sympy.Symbol("E", real=True)
#: per-weight chains listed in full up to this many paths; beyond it, through δ of the layer above
MAX_PATHS = 12
#: the expanded form (x, t, w, b, g only) is made for networks up to this many parameters
MAX_EXPANDED = 50
#: the expanded forms grow with the product of the layer sizes and the depth: above this
#: estimate they are refused (--expanded, --prove); above the second, not shown unasked
MAX_EXPANDED_SIZE = 300_000
DEFAULT_EXPANDED_SIZE = 20_000


def expanded_size(net) -> int:
    """An estimate of the terms in a first-layer weight's expanded form: every path to the
    outputs (the product of the sizes) times, in each layer, a fully nested z of that size."""
    return math.prod(net.layers) ** 2 * net.depth


def expanded_by_default(net) -> bool:
    """Whether derivations show expanded forms when not told: small and shallow enough."""
    return net.n_parameters <= MAX_EXPANDED and expanded_size(net) <= DEFAULT_EXPANDED_SIZE


@dataclass(frozen=True)
class Partial:
    """One factor of a chain rule: ∂of/∂by = value."""

    of: sympy.Expr
    by: sympy.Expr
    value: sympy.Expr


@dataclass(frozen=True)
class DeltaStep:
    """δj[k] = ∂E/∂zj[k]: its chain (a sum of products of partials), its value, simplifications."""

    delta: names.Name
    chain: tuple[tuple[Partial, ...], ...]
    factors: tuple[sympy.Expr, ...]       # the value as an ordered product
    simplified: tuple[tuple[str, sympy.Expr], ...] = ()   # (reason, expression) after the product


@dataclass(frozen=True)
class WeightStep:
    """∂E/∂p for one weight or bias p, in the seed's order of steps."""

    parameter: names.Name
    chain: tuple[tuple[Partial, ...], ...]   # Σ over paths of Π ∂/∂
    through_delta: bool                      # the chain starts at δ of a layer above (too many paths)
    seed_form: tuple[tuple[sympy.Expr, ...], ...]   # Σ over terms of Π, the first factor a δ
    expanded: sympy.Expr | None
    result: tuple[sympy.Expr, ...]           # δj[k+1]·ai[k] (or δj[k] for a bias)


def _product(factors) -> sympy.Expr:
    return reduce(mul, factors, sympy.S.One)


class Displays:
    """Jupyter shows a derivation as LaTeX (or Markdown); str() gives the text."""

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True)
class Derivation(Displays):
    """The whole derivation of one network; every dict is keyed by plain names."""

    network: Network
    forward: dict
    loss: sympy.Expr
    deltas: dict
    gradients: dict
    delta_steps: tuple[DeltaStep, ...]
    selected: tuple[str, ...]
    proof: dict | None = None     # name → how the δ form was shown equal to brute force
    expanded_wanted: bool | None = None

    # -- lookups
    def gradient(self, name: str) -> sympy.Expr:
        """∂E/∂name in δ form; raise KeyError naming the network's parameters if unknown."""
        key = names.plain(names.parse(name))
        if key not in self.gradients:
            raise KeyError(f"{name} is not a weight or bias of {self.network.describe()}")
        return self.gradients[key]

    @cached_property
    def symbols(self) -> dict:
        """Plain name → symbol for every intermediate and parameter."""
        found = {}
        for expr in [*self.forward.values(), self.loss, *self.deltas.values()]:
            for s in expr.free_symbols:
                found[s.name] = s
        for key in [*self.forward, *self.deltas]:
            found.setdefault(key, names.Name(key, real=True))
        for p in self.network.parameters():
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
                *[names.target(j) for j in range(1, net.layers[-1] + 1)]]

    def target_groups(self) -> list:
        """Targets that must sum to 1 (softmax with cross-entropy)."""
        net = self.network
        if net.activation(net.depth).name == "softmax" and net.loss.name == "cross_entropy":
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

    # -- rendering (the renderers do the printing; nothing is computed there)
    def to_text(self, ascii_only: bool = False) -> str:
        from ._render import render_text
        return render_text(self, ascii_only=ascii_only)

    def to_latex(self, standalone: bool = False) -> str:
        from ._render import render_latex
        return render_latex(self, standalone=standalone)

    def to_markdown(self) -> str:
        from ._render import render_markdown
        return render_markdown(self)

    def to_json(self, expanded: bool | None = None) -> str:
        from ._render_json import render_json
        return render_json(self, expanded=expanded)



# ---------------------------------------------------------------- the derivation
def _output_deltas(net: Network, loss: sympy.Expr):
    """δj[L] = Σ_o ∂E/∂ao[L]·∂ao[L]/∂zj[L], with the shortcut a − t where it holds."""
    L, n = net.depth, net.layers[-1]
    act = net.activation(L)
    outs = [names.asym(o, L) for o in range(1, n + 1)]
    dE_da = [sympy.diff(loss, a) for a in outs]          # ∂E/∂ao[L]
    targets = [names.target(o) for o in range(1, n + 1)]
    steps, deltas = [], {}
    for j in range(1, n + 1):
        zj = names.zsym(j, L)
        if act.name == "softmax":
            # ∂ao/∂zj of exp(zo)/Σ exp(zm) is ao·([o = j] − aj); tests check it against sympy.diff.
            partials = [Partial(outs[o - 1], zj, outs[o - 1] * ((1 if o == j else 0) - outs[j - 1]))
                        for o in range(1, n + 1)]
        else:
            partials = [Partial(outs[j - 1], zj, sympy.diff(net.activation_value(j, L), zj))]
        chain = tuple((Partial(E, p.of, dE_da[int(names.parse(p.of.name).indices[0]) - 1]), p) for p in partials)
        value = sympy.Add(*[c[0].value * c[1].value for c in chain])
        factors = chain[0] and (tuple(f.value for f in chain[0]) if len(chain) == 1 else (value,))
        simplified = _shortcut(net, j, value, outs, targets)
        final = simplified[-1][1] if simplified else value
        deltas[names.delta(j, L).name] = final
        steps.append(DeltaStep(names.delta(j, L), chain, factors, simplified))
    return deltas, steps


def _shortcut(net: Network, j: int, value, outs, targets):
    """The steps to δj[L] = aj[L] − tj when it holds (sigmoid + bce, softmax + cross-entropy)."""
    L = net.depth
    act = net.activation(L)
    aj, tj = outs[j - 1], targets[j - 1]
    candidate = aj - tj
    if value == candidate:
        return ()
    if act.derivative_in_output is not None and not act.inline:
        prime = sympy.diff(net.activation_value(j, L), names.zsym(j, L))
        in_output = act.derivative_in_output(aj)
        substituted = value.xreplace({prime: in_output})
        in_a = sympy.factor(substituted)
        if sympy.expand(in_a - candidate) == 0:
            in_a = candidate
        # keep it when the output's derivative cancels the loss's division by a
        if in_a == candidate or (sympy.denom(in_a) == 1 and sympy.denom(sympy.together(value)) != 1):
            shown = value.xreplace({prime: sympy.Mul(in_output, evaluate=False)})
            return (("substitute", shown), ("cancel", in_a))
    if act.name == "softmax":
        last = targets[-1]
        constrained = sympy.expand((value - candidate).xreplace({last: 1 - sympy.Add(*targets[:-1])}))
        if constrained == 0:
            return (("sum_targets", sympy.expand(value)), ("sum_targets_one", candidate))
    return ()


def _hidden_deltas(net: Network, k: int):
    """δi[k] = g'(zi[k])·Σ_j wij[k]·δj[k+1], each factor by sympy.diff of the local equations."""
    steps, deltas = [], {}
    # ∂zj[k+1]/∂ai[k]: sympy.diff of the one term of zj[k+1] that holds ai[k], taken once for the
    # layer on a representative pair; every pair's term has the same form w·a, so it is w for each
    w11, a1 = names.weight(1, 1, k), names.asym(1, k)
    if sympy.diff(w11 * a1, a1) != w11:
        raise AssertionError(f"∂z/∂a is not the weight in layer {k + 1}")
    W = names.layer_symbols(net.layers[k - 1], net.layers[k], k)
    above = [names.delta(j, k + 1) for j in range(1, net.layers[k] + 1)]
    z_above = [names.zsym(j, k + 1) for j in range(1, net.layers[k] + 1)]
    for i in range(1, net.layers[k - 1] + 1):
        zi, ai = names.zsym(i, k), names.asym(i, k)
        da_dz = sympy.diff(net.activation_value(i, k), zi)
        row = W[i - 1]
        chain = tuple((Partial(E, z_above[j], above[j]), Partial(z_above[j], ai, row[j]), Partial(ai, zi, da_dz))
                      for j in range(len(above)))
        total = sympy.Add(*[names.product(row[j], above[j]) for j in range(len(above))])
        deltas[names.delta(i, k).name] = da_dz * total
        steps.append(DeltaStep(names.delta(i, k), chain, (da_dz, total)))
    return deltas, steps


def derive(net: Network, weights=None, expanded: bool | None = None, prove: bool = False,
           max_weights: int = 30, progress=None) -> Derivation:
    """Derive the forward equations, E, every δ and every gradient of ``net``.

    weights: plain names whose step-by-step chain rule is wanted (default: every
    parameter, or the first of each layer when there are over ``max_weights``);
    expanded: show the expanded forms (default: up to ``MAX_EXPANDED`` parameters);
    prove: check every δ form against brute-force ``sympy.diff`` (small nets);
    progress: called with 1 after each of the 3·(L−1) layer stages (for a progress bar).
    """
    tick = progress or (lambda n: None)
    forward = {}
    wsym = {k: names.layer_symbols(net.layers[k - 1], net.layers[k], k) for k in range(1, net.depth)}
    for k in range(2, net.depth + 1):
        nodes = range(1, net.layers[k - 1] + 1)
        below = [names.asym(i, k - 1) for i in range(1, net.layers[k - 2] + 1)]
        W = wsym[k - 1]
        if net.activation(k).name == "softmax":    # each a needs every z of its layer
            order = [(kind, j) for kind in "za" for j in nodes]
        else:                                      # the seed's order: z1, a1, z2, a2, …
            order = [(kind, j) for j in nodes for kind in "za"]
        for kind, j in order:
            if kind == "z":                        # zj[k] = Σ_i wij[k-1]·ai[k-1] (+ bj[k])
                terms = [names.product(W[i][j - 1], a) for i, a in enumerate(below)]
                # in (nearly) the order Add sorts its terms, by the weights' names: its sort
                # then takes one comparison per term instead of n log n
                terms.sort(key=lambda term: term.args[0].name)
                if net.bias:
                    terms.append(names.bias(j, k))
                forward[names.zsym(j, k).name] = sympy.Add(*terms)
            else:
                forward[names.asym(j, k).name] = net.activation_value(j, k)
        tick(1)
    loss = net.loss_value()
    deltas, delta_steps = _output_deltas(net, loss)
    tick(1)
    for k in range(net.depth - 1, 1, -1):
        d, s = _hidden_deltas(net, k)
        deltas.update(d)
        delta_steps.extend(s)
        tick(1)
    gradients = {}
    for k in range(1, net.depth):
        # ∂zj[k+1]/∂wij[k] = ai[k] and ∂zj[k+1]/∂bj[k+1] = 1, the same for every j
        acts = [names.asym(i, k) for i in range(1, net.layers[k - 1] + 1)]
        above = [names.delta(j, k + 1) for j in range(1, net.layers[k] + 1)]
        for i, ai in enumerate(acts):
            for j, dj in enumerate(above):
                gradients[wsym[k][i][j].name] = names.product(ai, dj)
        if net.bias:
            for j, dj in enumerate(above, start=1):
                gradients[names.bias(j, k + 1).name] = dj
        tick(1)
    selected = tuple(names.plain(names.parse(w)) for w in weights) if weights else select(net, max_weights)
    d = Derivation(net, forward, loss, deltas, gradients, tuple(delta_steps), selected,
                   expanded_wanted=expanded)
    if prove:
        d = dataclasses.replace(d, proof=prove_all(d))
    return d


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
def _paths(net: Network, j: int, k: int):
    """Every path from E down to zj[k], as lists of partials (E → ao[L] → zm[L] → a → z … → zj[k])."""
    L = net.depth
    out_step = {s.delta.name: s for s in _output_deltas(net, net.loss_value())[1]}
    if k == L:
        return [list(c) for c in out_step[names.delta(j, L).name].chain]
    result = []
    for m in range(1, net.layers[k] + 1):
        z_above = names.zsym(m, k + 1)
        aj, zj = names.asym(j, k), names.zsym(j, k)
        link = [Partial(z_above, aj, sympy.diff(names.weight(j, m, k) * aj, aj)),
                Partial(aj, zj, sympy.diff(net.activation_value(j, k), zj))]
        for path in _paths(net, m, k + 1):
            result.append(path + link)
    return result


def _count_paths(net: Network, k: int) -> int:
    """How many chain-rule paths lead from E to a node of layer k."""
    L = net.depth
    n = net.layers[-1] if net.activation(L).name == "softmax" else 1
    for width in net.layers[k:L - 1]:
        n *= width
    return n


def _weight_step(d: Derivation, name: str) -> WeightStep:
    net = d.network
    p = names.parse(name)
    param = d.symbols[names.plain(p)]
    if p.kind == "w":
        i, j = p.indices
        k = p.layer + 1                      # the weight feeds zj[k]
        local = Partial(names.zsym(j, k), param, sympy.diff(net.weighted_sum(j, k), param))
        below = (names.asym(i, k - 1),)
    else:
        j, k = p.indices[0], p.layer
        local = Partial(names.zsym(j, k), param, sympy.diff(net.weighted_sum(j, k), param))
        below = ()
    L = net.depth
    if _count_paths(net, k) <= MAX_PATHS:
        paths = [path + [local] for path in _paths(net, j, k)]
        through = False
        seed = []
        for path in paths:
            # the partials down to the first z of layer L make up that output's δ
            cut = next(n for n, f in enumerate(path) if f.by.name.startswith("z"))
            delta_sym = names.delta(int(names.parse(path[cut].by.name).indices[0]), L)
            seed.append((delta_sym, *[f.value for f in path[cut + 1:]]))
        # the same δ and factors from several outputs' paths (softmax) are one term
        seed = list(dict.fromkeys(seed))
    else:
        through = True
        if k == L:
            paths = [[Partial(E, names.zsym(j, k), names.delta(j, k)), local]]
        else:
            aj, zj = names.asym(j, k), names.zsym(j, k)
            paths = [[Partial(E, names.zsym(m, k + 1), names.delta(m, k + 1)),
                      Partial(names.zsym(m, k + 1), aj, names.weight(j, m, k)),
                      Partial(aj, zj, sympy.diff(net.activation_value(j, k), zj)), local]
                     for m in range(1, net.layers[k] + 1)]
        seed = [tuple(f.value for f in path) for path in paths]
    chain = tuple(tuple(path) for path in paths)
    want = d.expanded_wanted if d.expanded_wanted is not None else expanded_by_default(net)
    expanded = d.expanded(name) if want else None
    return WeightStep(param, chain, through, tuple(seed), expanded, (names.delta(j, k), *below))


# ---------------------------------------------------------------- proof
def _atomize(expr: sympy.Expr) -> sympy.Expr:
    """Every applied function as a symbol, exp(c·u) as s_u**c: what is left is a rational function.

    Both sides of a proof call the same functions on the same arguments, so this loses
    nothing, and spares expand and cancel a walk through the huge nested arguments.
    """
    table: dict = {}

    def symbol_for(key):
        return table.setdefault(key, sympy.Symbol(f"_f{len(table)}", positive=True))

    def as_power(arg):
        coeff, base = arg.as_content_primitive()   # exp(-2u) and exp(2u) share u
        if base.could_extract_minus_sign():
            coeff, base = -coeff, -base
        return symbol_for(("exp", base)) ** coeff

    expr = expr.replace(lambda e: isinstance(e, sympy.exp), lambda e: as_power(e.args[0]))
    return expr.replace(lambda e: isinstance(e, sympy.Function) or isinstance(e, sympy.Piecewise),
                        lambda e: symbol_for(e))


def prove_all(d: Derivation, which=None) -> dict:
    """For each parameter: does the δ form, fully substituted, equal ``sympy.diff`` of the nested E?

    Returns name → the method that showed it ("expand" or "cancel"), or False.
    With softmax + cross-entropy the targets are taken to sum to 1, as the δ's shortcut needs;
    f'(u) is rewritten by the registry's identities (σ' = σ(1 − σ), …), proved in its tests.
    """
    net = d.network
    nested = d.nested_loss()
    constraint = {}
    if net.activation(net.depth).name == "softmax" and net.loss.name == "cross_entropy":
        ts = [names.target(o) for o in range(1, net.layers[-1] + 1)]
        constraint = {ts[-1]: 1 - sympy.Add(*ts[:-1])}
    return {name: equal_by_algebra(sympy.diff(nested, d.symbols[name]) - d.expanded(name), constraint,
                                   net.activations)
            for name in which or [p.name for p in net.parameters()]}


def equal_by_algebra(diff: sympy.Expr, constraint: dict, activations) -> str | bool:
    """Whether ``diff`` (brute force minus δ form) is zero: "expand", "cancel", or False.

    The constraint (targets summing to 1) is applied first; f'(u) is rewritten by the
    registry's identities (σ' = σ(1 − σ), …), proved in its tests.
    """
    identities = {}
    for act in set(activations):
        if act.derivative_in_output is not None and not act.inline:
            f, fp = act.functions
            identities[fp] = lambda u, f=f, act=act: act.derivative_in_output(f(u))
    diff = diff.xreplace(constraint)
    diff = diff.replace(lambda e: type(e) in identities, lambda e: identities[type(e)](e.args[0]))
    diff = _atomize(diff)
    if sympy.expand(diff) == 0:
        return "expand"
    if sympy.cancel(sympy.together(diff)) == 0:
        return "cancel"
    return False


# ---------------------------------------------------------------- the general form
@dataclass(frozen=True)
class GeneralForm:
    """The indexed results, each checked against every per-node and per-weight result.

    output_delta: δj[L] in generic names; hidden_delta: δi[k] = f'(zi[k])·Σ_j wij[k]·δj[k+1]
    (as (f' part, summand)); weight: ai[k]·δj[k+1]; bias: δj[k].
    """

    output_delta: sympy.Expr
    hidden: tuple              # (k, f'(zi[k])·Σ_j wij[k]·δj[k+1]) per hidden layer, last first
    summand: sympy.Expr
    weight: sympy.Expr
    bias: sympy.Expr
    checked: int               # how many per-node and per-weight results were checked


class GeneralFormError(AssertionError):
    """A per-weight result that is not an instance of the general form (a bug, if ever)."""


def _softmax_u(d: Derivation, o: int):
    """∂E/∂ao[L] as the loss gives it."""
    return sympy.diff(d.loss, names.asym(o, d.network.depth))


def _softmax_general(d: Derivation) -> sympy.Expr:
    """δj[L] = aj[L]·(uj − Σ_m am[L]·um), u = ∂E/∂a, in generic names."""
    L = d.network.depth
    m = sympy.Symbol("m", integer=True, positive=True)
    generic = {names.asym(1, L): names.generic("a", "j", "L"), names.target(1): names.generic("t", "j")}
    u_j = _softmax_u(d, 1).xreplace(generic)
    u_m = _softmax_u(d, 1).xreplace({names.asym(1, L): names.generic("a", "m", "L"),
                                      names.target(1): names.generic("t", "m")})
    total = sympy.Sum(names.generic("a", "m", "L") * u_m, (m, 1, sympy.Symbol("n_L")))
    return names.generic("a", "j", "L") * (u_j - total)


def _softmax_instance(d: Derivation, j: int) -> sympy.Expr:
    net, L = d.network, d.network.depth
    total = sympy.Add(*[names.asym(o, L) * _softmax_u(d, o) for o in range(1, net.layers[-1] + 1)])
    return names.asym(j, L) * (_softmax_u(d, j) - total)


def general_form(d: Derivation) -> GeneralForm:
    """Read the general form off the derivation and check every result is an instance of it."""
    net, L = d.network, d.network.depth
    j_, i_ = "j", "i"
    # δj[L]: node 1's δ with its names made generic, then checked for every output node j
    one = {names.asym(1, L): names.generic("a", j_, "L"), names.target(1): names.generic("t", j_),
           names.zsym(1, L): names.generic("z", j_, "L")}
    output = d.deltas[names.delta(1, L).name].xreplace(one)
    checked = 0
    for j in range(1, net.layers[-1] + 1):
        back = {names.generic("a", j_, "L"): names.asym(j, L), names.generic("t", j_): names.target(j),
                names.generic("z", j_, "L"): names.zsym(j, L)}
        if output.free_symbols - set(back):
            output = _softmax_general(d)  # without the shortcut, δj[L] involves every output
        if output.free_symbols - set(back):
            want = _softmax_instance(d, j)
            if sympy.expand(want - d.deltas[names.delta(j, L).name]) != 0:
                raise GeneralFormError(f"delta{j}[{L}] is not an instance of the general softmax δ")
        elif output.xreplace(back) != d.deltas[names.delta(j, L).name]:
            raise GeneralFormError(f"delta{j}[{L}] is not an instance of the general output δ")
        checked += 1
    hidden = []
    j_sym = sympy.Symbol("j", integer=True, positive=True)
    for k in range(L - 1, 1, -1):
        act = net.activation(k)
        zi = names.generic("z", i_, str(k))
        prime = act.prime(zi) if not act.inline else act.derivative
        summand = names.generic("w", "ij", str(k)) * names.generic("delta", "j", str(k + 1))
        hidden.append((k, prime * sympy.Sum(summand, (j_sym, 1, net.layers[k]))))
        for i in range(1, net.layers[k - 1] + 1):
            want = net.activation(k).prime(names.zsym(i, k)) if not act.inline else act.derivative.subs(
                act.definition.free_symbols.pop() if act.definition.free_symbols else names.zsym(i, k), names.zsym(i, k))
            want = want * sympy.Add(*[names.weight(i, j, k) * names.delta(j, k + 1)
                                      for j in range(1, net.layers[k] + 1)])
            if sympy.expand(want - d.deltas[names.delta(i, k).name]) != 0:
                raise GeneralFormError(f"delta{i}[{k}] is not f'(z{i}[{k}])·Σ_j w{i}j[{k}]·δj[{k + 1}]")
            checked += 1
    for name, grad in d.gradients.items():
        p = names.parse(name)
        if p.kind == "w":
            want = names.asym(p.indices[0], p.layer) * names.delta(p.indices[1], p.layer + 1)
        else:
            want = names.delta(p.indices[0], p.layer)
        if grad != want:
            raise GeneralFormError(f"dE/d{name} is not an instance of the general form")
        checked += 1
    return GeneralForm(output, tuple(hidden),
                       names.generic("w", "ij", "k") * names.generic("delta", "j", "k+1"),
                       names.generic("a", "i", "k") * names.generic("delta", "j", "k+1"),
                       names.generic("delta", "j", "k"), checked)
