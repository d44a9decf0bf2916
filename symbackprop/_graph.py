"""The one model: a frozen graph of named equations, and the one reverse sweep over it.

A :class:`Model` lists equations ``node = expr`` in evaluation order, E last.  Its
leaves (inputs, targets, parameters) are the symbols no equation defines; each
parameter knows every equation that uses it.  :func:`sweep` walks the equations
backwards once and finds, for every node n,

    ∂E/∂n = Σ over the consumers c of n of ∂c/∂n · ∂E/∂c,

where ∂E/∂c is written as c's named error signal (δ) when it has one, and as its
value otherwise; then ∂E/∂p = Σ over the uses of p of ∂c/∂p · ∂E/∂c.

>>> import sympy
>>> x, w, t, z, E = sympy.symbols("x w t z E")
>>> m = Model((Equation(z, w * x), Equation(E, (z - t) ** 2 / 2)), parameters=(w,))
>>> s = sweep(m)
>>> s.adjoint[z], s.gradient[w]
(-t + z, x*(-t + z))
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import sympy

from ._names import product

E = sympy.Symbol("E", real=True)


@contextmanager
def collector_paused():
    """Pause Python's cycle collector while a derivation is built.

    A large derivation makes millions of SymPy objects, none in a reference cycle; the
    collector's passes over them took half of derive 784-128-10's time, for nothing.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@dataclass(frozen=True)
class Partial:
    """One factor of a chain rule: ∂of/∂by = value."""

    of: sympy.Expr
    by: sympy.Expr
    value: sympy.Expr


@dataclass(frozen=True)
class Equation:
    """``node = expr``.

    delta: the symbol that names ∂E/∂node in the derivation (weighted sums), or None
    to write ∂E/∂node out; terms: for a weighted sum, its terms as (coefficient,
    value) pairs, the coefficient a parameter or 1 (w·a is (w, a), a bias (b, 1), a
    skip (1, a)), so that a local derivative is a look-up, not a ``sympy.diff`` of a
    sum of 785 terms (tests hold the two equal); local: local
    derivatives given in closed form, ((by, value), …) (softmax's aₒ·([o = j] − aⱼ));
    detached: symbols whose local derivative the sweep takes as 0 (truncated BPTT).
    """

    node: sympy.Symbol
    expr: sympy.Expr
    delta: sympy.Symbol | None = None
    terms: tuple = ()
    local: tuple = ()
    detached: frozenset = frozenset()

    @cached_property
    def _lookup(self) -> dict:
        # value → coefficient; a coefficient's own derivative is found by a scan (few are asked)
        table: dict = {}
        for p, q in self.terms:
            if q is not sympy.S.One:       # a value held twice (w·a + a, a skip) has both coefficients
                table[q] = table[q] + p if q in table else p
        table.update(self.local)
        return table

    def derivative(self, by: sympy.Symbol) -> sympy.Expr:
        """∂node/∂by, the local derivative."""
        if by in self.detached:
            return sympy.S.Zero
        found = self._lookup.get(by)
        if found is not None:
            return found
        if self.terms:
            return sympy.Add(*[q for p, q in self.terms if p == by])
        return sympy.diff(self.expr, by)


@dataclass(frozen=True)
class Model:
    """Equations in evaluation order (E last) and the parameters among their leaves."""

    equations: tuple[Equation, ...]
    parameters: tuple[sympy.Symbol, ...]

    def __post_init__(self):
        # the look-ups of Equation.terms hold only for (coefficient, value) pairs whose
        # coefficient is a parameter or 1 and whose value is neither: refuse anything else
        params, nodes = set(self.parameters), {eq.node for eq in self.equations}
        allowed = (params - nodes) | {sympy.S.One}
        for eq in self.equations:
            if not eq.terms:
                continue
            coefficients, values = zip(*eq.terms)      # whole sets at a time: 100k terms in 784-128-10
            if allowed.issuperset(coefficients) and params.isdisjoint(values):
                continue
            p, q = next((p, q) for p, q in eq.terms if p not in allowed or q in params)
            raise ValueError(f"{eq.node} = {eq.expr}: its terms must be (parameter or 1, value) "
                             f"pairs with a value that is no parameter, not ({p}, {q})")

    @cached_property
    def by_node(self) -> dict:
        return {eq.node: eq for eq in self.equations}

    @cached_property
    def consumers(self) -> dict:
        """node → the equations whose right side holds it, in evaluation order (leaves: see sweep)."""
        nodes = self.by_node
        found: dict = {}
        for eq in self.equations:
            held = [q for p, q in eq.terms if q in nodes] if eq.terms else eq.expr.free_symbols & nodes.keys()
            for s in dict.fromkeys(held):
                found.setdefault(s, []).append(eq)
        return found

    @property
    def output(self) -> Equation:
        return self.equations[-1]


@dataclass(frozen=True)
class Sweep:
    """What the reverse sweep found.

    adjoint: node → ∂E/∂node, over the named δ's of its consumers; terms: node →
    ((consumer, ∂consumer/∂node), …); gradient: parameter → ∂E/∂p; uses: parameter →
    ((consumer, ∂consumer/∂p · ∂E/∂consumer), …), the gradient's terms, one per use.
    """

    model: Model
    adjoint: dict
    terms: dict
    gradient: dict
    uses: dict

    def upstream(self, eq: Equation) -> sympy.Expr:
        """∂E/∂c as the derivation writes it: c's δ, or its value when c has none."""
        return _upstream(self.model, eq, self.adjoint)

    def paths(self, node: sympy.Symbol, stop=None) -> list:
        """Every chain of partials from E down to node (E → … → node), as lists of Partials.

        stop(equation) → True ends a path at that equation (its δ stands for the rest).
        """
        if node == self.model.output.node:
            return [[]]
        found = []
        for eq, local in self.terms[node]:
            link = Partial(eq.node, node, local)
            if stop is not None and stop(eq):
                found.append([link])
                continue
            found.extend(path + [link] for path in self.paths(eq.node, stop))
        return found

    def count_paths(self, node: sympy.Symbol) -> int:
        """How many chain-rule paths lead from E to node."""
        counts = {self.model.output.node: 1}
        for eq in reversed(self.model.equations):
            if eq.node not in counts:
                counts[eq.node] = sum(counts[c.node] for c, _ in self.terms.get(eq.node, ()))
        return counts.get(node, 0)


def sweep(model: Model, refine=None) -> Sweep:
    """The one reverse sweep.

    refine(equation, value) → value: a simpler equal form of ∂E/∂node (the loss and
    output-activation pairs whose δ is a − t).
    """
    adjoint, terms = {}, {}
    for eq in reversed(model.equations[:-1]):
        pairs = [(c, c.derivative(eq.node)) for c in model.consumers.get(eq.node, ())]
        pairs = [(c, d) for c, d in pairs if d is not sympy.S.Zero]
        terms[eq.node] = tuple(pairs)
        value = _sum([_product(d, _upstream(model, c, adjoint)) for c, d in pairs])
        adjoint[eq.node] = refine(eq, value) if refine is not None else value
    # ∂E/∂p = Σ over the uses of p: each equation hands its upstream on to its parameters
    uses: dict = {p: [] for p in model.parameters}
    for eq in model.equations:
        up = _upstream(model, eq, adjoint)
        if eq.terms:
            detached = eq.detached
            for p, q in eq.terms:
                found = uses.get(p)
                if found is not None and not (detached and p in detached):
                    found.append((eq, _product(q, up)))
        else:
            for p in sorted(eq.expr.free_symbols & uses.keys(), key=str):
                d = eq.derivative(p)
                if d is not sympy.S.Zero:
                    uses[p].append((eq, _product(d, up)))
    gradient = {p: parts[0][1] if len(parts) == 1 else _sum([v for _, v in parts]) for p, parts in uses.items()}
    return Sweep(model, adjoint, terms, gradient, uses)


def _upstream(model: Model, eq: Equation, adjoint: dict) -> sympy.Expr:
    """∂E/∂c as the derivation writes it: c's δ, or its value when c has none."""
    if eq is model.output:
        return sympy.S.One
    return eq.delta if eq.delta is not None else adjoint[eq.node]


def _sum(terms: list) -> sympy.Expr:
    # one term is most gradients' lot: spare SymPy's Add its work 100k times
    if len(terms) == 1:
        return terms[0]
    return sympy.Add(*terms) if terms else sympy.S.Zero


def pair_symbols(terms) -> list:
    """The symbols of a weighted sum, from its (coefficient, value) pairs (``Equation.terms``)."""
    return [s for pair in terms for q in pair for s in ((q,) if q.is_Symbol else q.free_symbols)]


def _product(local: sympy.Expr, upstream: sympy.Expr) -> sympy.Expr:
    # SymPy's 0 and 1 are singletons: compared by identity, 100k times over
    if local is sympy.S.One:
        return upstream
    if upstream is sympy.S.One:
        return local
    if isinstance(local, sympy.Symbol) and isinstance(upstream, sympy.Symbol) and local is not upstream:
        return product(local, upstream)   # two names, without SymPy's general flatten
    return local * upstream
