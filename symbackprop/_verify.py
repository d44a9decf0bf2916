"""Deciding whether a hand derivation is right, and naming the mistake when it is not.

Both sides have every intermediate (z, a, δ) replaced by its definition and are
evaluated at many random points (a generic g becomes a random smooth function,
the same on both sides); agreement at every point means right, and is confirmed
symbolically where that is cheap.  A wrong answer is compared with the right one
transformed by each known mistake.

>>> import symbackprop as sb
>>> bool(sb.verify(sb.network("2-3-1"), "dE/dw11[2] = delta1[3]*a1[2]"))
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import _names as names
from . import _views as views
from ._program import numpy_function
from ._derivation import Derivation
from ._proof import _atomize
from ._equation import ETA, Equation
from ._printing import plain, text

POINTS = 24
RTOL, ATOL = 1e-8, 1e-10


@dataclass(frozen=True)
class Verdict:
    """Truthy when the equation is right."""

    equation: str
    right: bool
    expected: sympy.Expr                  # the tool's own answer (δ form where there is one)
    diagnosis: str | None = None          # the named mistake, when one matches
    counterexample: dict | None = None    # {"point": {name: value}, "yours": v, "expected": v}
    confirmed: bool = False               # also shown symbolically

    def __bool__(self) -> bool:
        return self.right

    def __str__(self) -> str:
        if self.right:
            how = " (confirmed symbolically)" if self.confirmed else f" (agrees at {POINTS} random points)"
            return f"✓ {self.equation}{how}"
        out = f"✗ {self.equation}"
        if self.diagnosis:
            out += f": {self.diagnosis}"
        out += f"; expected {text(self.expected)}"
        if self.counterexample:
            c = self.counterexample
            point = ", ".join(f"{k}={v:.4g}" for k, v in list(c["point"].items())[:8])
            more = "" if len(c["point"]) <= 8 else ", …"
            out += f"; e.g. at {point}{more}: yours {c['yours']:.6g}, expected {c['expected']:.6g}"
        return out

    def __repr__(self) -> str:
        return views.short("Verdict", f"{'✓' if self.right else '✗'} {self.equation}"
                                      + (f": {self.diagnosis}" if self.diagnosis else ""))

    def _repr_html_(self) -> str:
        return views.verdict_html(self, text(self.expected))


# ---------------------------------------------------------------- expected answers
def expected_for(d: Derivation, eq: Equation) -> sympy.Expr:
    """The right side the tool derives for the equation's left side (over intermediates)."""
    net, name = d.network, eq.lhs_name
    p = names.parse(name)
    if p.kind in ("w", "b"):
        return d.gradient(name)
    if p.kind in ("z", "delta"):
        return names.delta(p.indices[0], p.layer)
    # ∂E/∂aj[k]: at the outputs from the loss, inside as Σ_m wjm[k]·δm[k+1]
    if p.layer == net.depth:
        return sympy.diff(d.loss, d.symbols[name])
    j, k = p.indices[0], p.layer
    return sympy.Add(*[names.weight(j, m, k) * names.delta(m, k + 1) for m in range(1, net.layers[k] + 1)])


def _deltas_expanded(d: Derivation, expr: sympy.Expr, keep_outputs: bool = False) -> sympy.Expr:
    """Replace δ's by their definitions (repeatedly) but keep z and a: the seed's long form.

    keep_outputs: leave the output layer's δ's as they are (each term is then one path).
    """
    deltas = {d.symbols[k]: v for k, v in d.deltas.items()
              if not (keep_outputs and names.parse(k).layer == d.network.depth)}
    for _ in range(len(deltas) + 1):
        new = expr.xreplace(deltas)
        if new == expr:
            break
        expr = new
    return expr


# ---------------------------------------------------------------- numbers
class Sampler:
    """Random points: inputs, targets valid for the loss, weights, η, and g as a random smooth function."""

    def __init__(self, d: Derivation, seed: int = 0):
        self.d, self.rng = d, np.random.default_rng(seed)
        self.symbols = [*d.base_symbols(), ETA]
        n = POINTS
        self.values = {}
        for s in self.symbols:
            kind = s.name[0]
            if s is ETA or s.is_positive:        # η, the penalty's λ
                self.values[s] = self.rng.uniform(0.05, 1.0, n)
            elif kind == "x":
                self.values[s] = self.rng.uniform(-1.0, 1.0, n)
            elif kind == "t":
                self.values[s] = self.rng.uniform(0.05, 0.95, n)
            else:
                self.values[s] = self.rng.normal(0.0, 1.0, n)
        for ts in d.target_groups():
            total = sum(self.values[t] for t in ts)
            for t in ts:                     # targets summing to 1, as the shortcut δ = a − t needs
                self.values[t] = self.values[t] / total
        # the generic g: tanh(αu + β) + γu, the same random instance on both sides at each point
        self.g_params = self.rng.uniform(0.5, 1.5, n), self.rng.uniform(-0.5, 0.5, n), self.rng.uniform(0.1, 0.4, n)

        # every intermediate, in the printed order, from the values before it
        for key, rhs in [*d.forward.items(), *d.deltas.items()]:
            self.values[d.symbols[key]] = self._lambdified(rhs)
        self.values[sympy.Symbol("E", real=True)] = self._lambdified(d.loss)

    def _concrete(self, expr: sympy.Expr) -> sympy.Expr:
        from ._activations import ACTIVATIONS
        g, gp = ACTIVATIONS["g"].functions
        al, be, ga = _G_PARAMS
        expr = expr.replace(g, lambda u: sympy.tanh(al * u + be) + ga * u)
        return expr.replace(gp, lambda u: al * (1 - sympy.tanh(al * u + be) ** 2) + ga)

    def _lambdified(self, expr: sympy.Expr) -> np.ndarray:
        expr = self._concrete(expr)
        args = sorted(expr.free_symbols - set(_G_PARAMS), key=lambda s: s.name)
        unknown = [a for a in args if a not in self.values]
        if unknown:
            raise KeyError(f"no value for {unknown[0]}")
        f = numpy_function([*args, *_G_PARAMS], expr)
        with np.errstate(all="ignore"):
            out = f(*[self.values[a] for a in args], *self.g_params)
        return np.broadcast_to(np.asarray(out, dtype=float), (POINTS,))

    def evaluate(self, expr: sympy.Expr) -> np.ndarray:
        """expr (in x, t, w, b, η, any z, a, δ and the activation functions) at every point."""
        return self._lambdified(expr)


_G_PARAMS = sympy.symbols("_alpha _beta _gamma")


def _agree(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ok = np.abs(u - v) <= ATOL + RTOL * np.maximum(np.abs(u), np.abs(v))
    return ok & np.isfinite(u) & np.isfinite(v)


def _confirm(yours: sympy.Expr, expected: sympy.Expr, d: Derivation) -> bool:
    """Symbolic confirmation when it is cheap: small expressions, no large powers."""
    if not d.confirmable() or sympy.count_ops(yours) > 60:
        return False
    diff = yours.xreplace(d.full) - expected.xreplace(d.full)
    if sympy.count_ops(diff) > 400 or any(
            isinstance(p, sympy.Pow) and p.exp.is_Number and abs(p.exp) > 8 for p in diff.atoms(sympy.Pow)):
        return False
    atoms = _atomize(diff)
    return sympy.expand(atoms) == 0 or sympy.cancel(sympy.together(atoms)) == 0


# ---------------------------------------------------------------- mistakes
def _structure_mistakes(d: Derivation, eq: Equation, expected: sympy.Expr):
    """The mistakes of skips, tied weights and penalties: one of a parameter's uses, or a skip's δ, left out."""
    net = d.network
    if eq.lhs_kind == "partial" and d.sweep is not None:
        uses = d.sweep.uses.get(d.symbols.get(eq.lhs_name), ())
        for c, term in uses if len(uses) > 1 else ():
            if c.delta is None:
                yield f"the penalty's term {plain(term)} left out (E = … + R)", expected - term
            else:
                yield f"the use in {c.node.name} left out (a shared weight's gradient sums over its uses)", \
                    expected - term
    if eq.lhs_kind == "delta":
        p = names.parse(eq.lhs_name)
        for k, s in net.skips:
            if s == p.layer:
                i = p.indices[0]
                yield (f"the skip's {names.delta(i, k).name} left out (z[{k}] adds a[{s}])",
                       expected - net.activation(s).prime(names.zsym(i, s)) * names.delta(i, k))


def _mistakes(d: Derivation, eq: Equation, expected: sympy.Expr):
    """(name, wrong answer) for each known mistake, as a transformation of the right answer."""
    net = d.network
    yield from _structure_mistakes(d, eq, expected)
    long = _deltas_expanded(d, expected)
    primes = sorted({f for f in long.atoms(sympy.Function) if type(f).__name__.endswith("'")},
                    key=sympy.default_sort_key)
    for f in primes:
        yield f"a missing {plain(f)} factor", long.xreplace({f: sympy.S.One})
    zs = sorted({s for s in long.free_symbols if s.name.startswith(("z", "a")) and "[" in s.name},
                key=lambda s: s.name)
    for s in zs:
        p = names.parse(s.name)
        act = net.activation(p.layer)
        if not act.output_only:
            yield f"an extra {act.name}'({s.name.replace('a', 'z', 1)}) factor", long * act.prime(
                names.zsym(p.indices[0], p.layer))
    weights = sorted({s for s in long.free_symbols if s.name.startswith("w")}, key=lambda s: s.name)
    swap = {}
    for w in weights:
        p = names.parse(w.name)
        other = names.plain(names.Parts("w", p.indices[::-1], p.layer))
        if net.has(other):
            swap[w] = names.Name(other, real=True)
    if swap:
        yield "transposed weight indices (wji in place of wij)", long.xreplace(swap)
    paths = sympy.expand(_deltas_expanded(d, expected, keep_outputs=True))
    if isinstance(paths, sympy.Add) and net.layers[-1] > 1:
        for term in paths.args:
            yield "a missing sum over the output nodes (only one path)", term
    yield "the wrong sign (t − a in place of a − t)", -expected
    yield "a missing ½ factor, or an extra 2", 2 * expected
    yield "an extra ½ factor, or a missing 2", expected / 2
    for s in zs:
        p = names.parse(s.name)
        j, k = p.indices[0], p.layer
        for dj, dk in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            jj, kk = j + dj, k + dk
            if 2 <= kk <= net.depth and 1 <= jj <= net.layers[kk - 1]:
                moved = {names.zsym(j, k): names.zsym(jj, kk), names.asym(j, k): names.asym(jj, kk)}
                what = "node" if dk == 0 else "layer"
                yield (f"the {what} off by one ({names.zsym(jj, kk).name} in place of {names.zsym(j, k).name})",
                       long.xreplace(moved))
    later = [w for w in weights if names.parse(w.name).layer > (names.parse(eq.lhs_name).layer or 0)]
    if later:
        updated = {w: w - ETA * d.gradient(w.name) for w in later}
        yield "the updated weight used in place of the old one", long.xreplace(updated)


# ---------------------------------------------------------------- deciding
def decide(d: Derivation, eq: Equation, seed: int = 0, rules=None, sampler=None) -> Verdict:
    """Right or wrong, with a counterexample and a diagnosis.

    rules: (expected_for, mistakes) for another kind of network (the recurrent one's);
    sampler: the random points of ``Sampler(d, seed)``, made once for many equations.
    """
    expected_of, mistakes = rules or (expected_for, _mistakes)
    expected = expected_of(d, eq)
    sampler = sampler or Sampler(d, seed)
    want = sampler.evaluate(expected)
    yours = sampler.evaluate(eq.rhs)
    agree = _agree(yours, want)
    if agree.all():
        return Verdict(eq.text, True, expected, confirmed=_confirm(eq.rhs, expected, d))
    n = int(np.argmin(agree))
    # the values of the names the two answers are written in (intermediates included)
    used = eq.rhs.free_symbols | _deltas_expanded(d, expected).free_symbols
    point = {s.name: float(sampler.values[s][n])
             for s in sorted(used, key=sympy.default_sort_key) if s in sampler.values}
    counter = {"point": point, "yours": float(yours[n]), "expected": float(want[n])}
    diagnosis = None
    for name, wrong in mistakes(d, eq, expected):
        if _agree(yours, sampler.evaluate(wrong)).all():
            diagnosis = name
            break
    return Verdict(eq.text, False, expected, diagnosis, counter)
