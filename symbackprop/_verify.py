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

import re
from dataclasses import dataclass

import numpy as np
import sympy

from . import _names as names
from . import _views as views
from ._derivation import Derivation
from ._proof import _atomize
from ._equation import ETA, Equation
from ._printing import plain, text
from ._sampler import POINTS, Sampler, _agree  # noqa: F401 (Sampler: verify's random points)



@dataclass(frozen=True)
class Verdict:
    """Truthy when the equation is right."""

    equation: str
    right: bool
    expected: sympy.Expr                  # the tool's own answer (δ form where there is one)
    diagnosis: str | None = None          # the named mistake, when one matches
    counterexample: dict | None = None    # {"point": {name: value}, "yours": v, "expected": v}
    confirmed: bool = False               # also shown symbolically
    shown: sympy.Expr | None = None       # the expected answer in the terms the answer used
    steps: tuple = ()                     # a chain's steps, each a Verdict against the left side
    step: int = 0                         # this step's number in its chain (0: not a step)
    column: int = 1                       # where the step starts in its line
    after: int | None = None              # the step it is reported against (the last right one before it)
    instances: str = ""                   # a general form's free indices, every instance right: "i = 1…3"

    def __bool__(self) -> bool:
        return self.right

    def __str__(self) -> str:
        if self.steps:
            return "\n".join([f"{'✓' if self else '✗'} {self.equation}",
                               *(f"  column {v.column}: {v.line()}" for v in self.steps)])
        if self.right:
            how = "confirmed symbolically" if self.confirmed else f"agrees at {POINTS} random points"
            return f"✓ {self.equation} ({f'every instance, {self.instances}: ' if self.instances else ''}{how})"
        return f"✗ {self.equation}" + self._why()

    def line(self) -> str:
        """A step's report: ✓, or what it is held against, the mistake and the expected answer."""
        if self.right:
            return f"step {self.step} ✓ (equals the left side)"
        against = f"step {self.after}" if self.after else "the left side"
        return f"step {self.step} ≠ {against}" + self._why()

    def _why(self) -> str:
        out = f": {self.diagnosis}" if self.diagnosis else ""
        out += f"; expected {text(self.shown if self.shown is not None else self.expected)}"
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


def _deltas_expanded(d: Derivation, expr: sympy.Expr, keep_outputs: bool = False, keep=frozenset()) -> sympy.Expr:
    """Replace δ's by their definitions (repeatedly) but keep z and a: the seed's long form.

    keep_outputs: leave the output layer's δ's as they are (each term is then one path);
    keep: δ's to leave as they are (those an answer is written in: the expected answer in its terms).
    """
    symbols = _delta_symbols(d)
    deltas = {symbols[k]: v for k, v in d.deltas.items() if symbols[k] not in keep
              and not (keep_outputs and names.parse(k).layer == d.network.depth)}
    for _ in range(len(deltas) + 1):
        new = expr.xreplace(deltas)
        if new == expr:
            break
        expr = new
    return expr


def _delta_symbols(d) -> dict:
    """Plain name → symbol of every δ: the sweep's, when its equations name them all (``d.symbols``
    gathers the names of every formula, 1.5 s for 784-128-10's weighted sums)."""
    sweep = getattr(d, "sweep", None)
    if sweep is not None:
        found = {eq.delta.name: eq.delta for eq in sweep.model.equations if eq.delta is not None}
        if found.keys() >= d.deltas.keys():
            return found
    return {k: d.symbols[k] for k in d.deltas}


def _levels_used(d, rhs: sympy.Expr) -> set:
    """The δ's of every layer (every step, in time) an answer writes a δ of: the expected answer is
    shown with those kept and the others replaced by their definitions, in the answer's own terms."""
    level = lambda name: re.sub(r"<[0-9]+>", "<>", re.sub(r"[0-9]+(,[0-9]+)*", "", name, count=1))  # noqa: E731
    used = {level(s.name) for s in rhs.free_symbols if s.name in d.deltas}
    symbols = _delta_symbols(d)
    return {symbols[k] for k in d.deltas if level(k) in used}


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
        uses = d.sweep.uses.get(d.parameter(eq.lhs_name), ())
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
        yield "the updated weight used in place of the old one", long.xreplace(
            {w: w - ETA * d.gradient(w.name) for w in later})
    p = names.parse(eq.lhs_name)
    other = names.plain(names.Parts("w", p.indices[::-1], p.layer)) if p.kind == "w" else None
    if other and other != eq.lhs_name and net.has(other):
        yield f"the from- and to-node swapped ({other}'s gradient)", d.gradient(other)


# ---------------------------------------------------------------- deciding
def decide(d: Derivation, eq: Equation, seed: int = 0, rules=None, sampler=None) -> Verdict:
    """Right or wrong, with a counterexample and a diagnosis.

    rules: (expected_for, mistakes) for another kind of network (the recurrent one's);
    sampler: the random points of ``Sampler(d, seed)``, made once for many equations.
    """
    expected_of, mistakes = rules or RULES
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
    shown = _deltas_expanded(d, expected, keep=_levels_used(d, eq.rhs))
    diagnosis = None
    for name, wrong in mistakes(d, eq, expected):
        if _agree(yours, sampler.evaluate(wrong)).all():
            diagnosis = name
            break
    return Verdict(eq.text, False, expected, diagnosis, counter, shown=shown)


RULES = (expected_for, _mistakes)        # the dense stack's right answers and mistakes
