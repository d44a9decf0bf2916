"""Exercises of the classic worked-example kind: a seeded variant of random numbers, or of weights to derive.

A numeric exercise draws every weight (and bias), input and target at random, rounded to
two decimals (targets valid for the loss: one-hot for cross-entropy, in (0, 1) otherwise),
and works out every intermediate with the tool's own evaluation (``_kinds.Kind.evaluate``).
A symbolic one asks for the gradients of a few parameters, picked by the seed (one per
weight layer), answered by the derivation.  The same seed gives the same variant.

>>> from symbackprop._spec import from_spec
>>> ex = make_exercise(from_spec("2-1", activation="linear"), seed=3, lr=0.5)
>>> sorted(ex.values)
['t1', 'w11[1]', 'w21[1]', 'x1', 'x2']
>>> ex.answers["w11[1]"] == ex.intermediates["delta1[2]"] * ex.values["x1"]
True
>>> ex.answers["w11[1]" + UPDATED] == ex.values["w11[1]"] - 0.5 * ex.answers["w11[1]"]
True
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from . import _views as views
from ._errors import LimitError, SpecError, SymbackpropError
from ._kinds import kind_of
from ._losses import LOSSES
from ._printing import plain
from ._program import numpy_function

#: an updated parameter's key in ``answers``: its plain name and this suffix (``w11[2]'``)
UPDATED = "'"
#: exercises are worked by hand: at most this many parameters
MAX_PARAMETERS = 100
#: a symbolic exercise asks for at most this many gradients (one per weight layer, last first)
SYMBOLIC_ASKED = 3


@dataclass(frozen=True)
class Exercise:
    """One variant: ``values`` (plain name → the given number), ``answers`` (plain name → ∂E/∂name,
    a float, or a SymPy expression in a symbolic exercise; ``name + UPDATED`` → the parameter after one
    step with ``lr``), ``intermediates`` (every forward value, then every δ), ``loss`` (E), and
    ``asked``: the parameters whose gradients the sheet asks for."""

    network: object
    seed: int
    lr: float | None
    symbolic: bool
    values: dict
    answers: dict
    intermediates: dict
    loss: float | None
    asked: tuple
    derivation: object = field(repr=False, compare=False, default=None)
    constants: dict = field(default_factory=dict)          # the spec's own numbers: a penalty's λ

    def __repr__(self) -> str:
        what = "symbolic" if self.symbolic else "numeric"
        return views.short("Exercise", f"{self.seed} ({what}) of the {self.network.describe()}: "
                                       f"{len(self.values)} values, {len(self.answers)} answers")

    def as_dict(self) -> dict:
        """Plain data: floats, and a symbolic answer as text in the grammar ``verify`` reads."""
        answers = {k: (plain(v) if self.symbolic else v) for k, v in self.answers.items()}
        return {"spec": self.network.as_dict(), "seed": self.seed, "lr": self.lr,
                "kind": "symbolic" if self.symbolic else "numeric", "asked": list(self.asked),
                "values": dict(self.values), "answers": answers,
                "intermediates": dict(self.intermediates), "loss": self.loss}

    def to_json(self) -> str:
        """``{"values": {name: number}, "answers": {name: gradient, name' : updated}, …}``."""
        return json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n"


def checked_options(seed, lr, symbolic: bool) -> None:
    """SymbackpropError naming a bad seed or learning rate."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SymbackpropError(f"seed {seed!r}: give a whole number ≥ 0; each seed is another variant")
    if lr is not None:
        if symbolic:
            raise SymbackpropError("a learning rate goes with a numeric exercise, not a symbolic one")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
            raise SymbackpropError(f"learning rate {lr!r}: give a finite number ≥ 0, e.g. 0.5")


def make_exercise(net, seed: int, lr: float | None = None, symbolic: bool = False) -> Exercise:
    """A seeded variant for ``net`` (a dense or recurrent network).

    Numeric: random values rounded to two decimals, every intermediate and gradient (and, with
    ``lr``, every parameter after one step).  Symbolic: the gradients of a few parameters picked
    by the seed, as the derivation's δ forms.  Raises SymbackpropError for a bad seed or rate,
    SpecError for a network without numbers (the generic g), LimitError above MAX_PARAMETERS.
    """
    kind = kind_of(net)
    checked_options(seed, lr, symbolic)
    if net.n_parameters > MAX_PARAMETERS:
        raise LimitError(f"an exercise is worked by hand: at most {MAX_PARAMETERS} parameters, and the "
                         f"{net.describe()} network has {net.n_parameters}; use smaller layers")
    rng = np.random.default_rng(int(seed))
    parameters = [p.name for p in net.parameters()]
    if symbolic:
        asked = pick(parameters, rng, min(SYMBOLIC_ASKED, len(weight_groups(parameters))))
        d = kind.derive(net, list(asked), expanded=False)
        return Exercise(net, int(seed), None, True, {}, {p: d.gradient(p) for p in asked}, {}, None, asked, d)
    if any(a.name == "g" for a in net.activations):
        raise SpecError("a numeric exercise needs numbers, and the generic g has none: name the activation "
                        "(e.g. --activation sigmoid, as in the classic worked examples), or make a symbolic "
                        "exercise (--symbolic)")
    d = kind.derive(net, weights=())
    values = random_values(d, parameters, net.loss.name, rng)
    _, _, r = kind.evaluate(net, values, lr)
    found = {k: float(v[0]) for k, v in [*r.forward.items(), *r.delta.items()]}
    constants = {net.penalty_symbol(k).name: lam for k, lam in getattr(net, "penalty", ())}
    intermediates = {}
    for k, rhs in [*d.forward.items(), *d.deltas.items()]:      # in the derivation's order; a penalty's R,
        intermediates[k] = found[k] if k in found else value_of(rhs, {**values, **constants, **intermediates})
    answers = {k: float(v) for k, v in r.gradient.items()}
    answers.update({k + UPDATED: float(v) for k, v in (r.updated or {}).items()})
    return Exercise(net, int(seed), None if lr is None else float(lr), False, values, answers, intermediates,
                    float(r.loss), tuple(parameters), d, constants)     # which the evaluation adds to E only


def value_of(expr, known: dict) -> float:
    """``expr`` at the numbers ``known`` (plain name → number) of every name it uses; KeyError naming one
    that is not known."""
    args = sorted(expr.free_symbols, key=lambda s: s.name)
    with np.errstate(all="ignore"):
        return float(numpy_function(args, expr)(*[known[a.name] for a in args]))


def _draw(rng, low: float, high: float) -> float:
    """A number in [low, high) rounded to two decimals, never 0.00 (a zero weight teaches nothing)."""
    while True:
        v = round(float(rng.uniform(low, high)), 2)
        if v != 0:
            return v


def random_values(d, parameters, loss: str, rng) -> dict:
    """Inputs, then targets, then every parameter, each rounded to two decimals; targets one-hot for
    cross-entropy, nll and multiclass_hinge (per time step in a recurrent network), ±1 for hinge, in (0, 1)
    otherwise; hj<0> = cj<0> = 0; each dropout mask 0 or 1."""
    base = [s.name for s in d.base_symbols()]
    inputs = [n for n in base if n.startswith("x")]
    targets = [n for n in base if n.startswith("t")]
    values = {n: _draw(rng, -1.0, 1.0) for n in inputs}
    if loss == "cross_entropy" or LOSSES[loss].one_hot:     # nll, multiclass_hinge: one class per group
        groups: dict = {}
        for n in targets:                       # t1 … tm, or t1<t> … tm<t> for each step t
            groups.setdefault(n.partition("<")[2], []).append(n)
        for group in groups.values():
            hot = int(rng.integers(len(group)))
            values.update({n: float(j == hot) for j, n in enumerate(group)})
    elif LOSSES[loss].targets == "sign":                # hinge: a class, +1 or −1
        values.update({n: float(rng.choice([-1.0, 1.0])) for n in targets})
    else:
        values.update({n: _draw(rng, 0.01, 0.99) for n in targets})
    values.update({n: _draw(rng, -1.0, 1.0) for n in parameters})
    values.update({n: 0.0 for n in base if n.startswith(("h", "c")) and n.endswith("<0>")})   # h<0>, c<0>
    values.update({n: float(rng.integers(2)) for n in base if re.match(r"m[0-9]", n)})   # dropout masks
    return values


def weight_groups(parameters) -> dict:
    """Parameters by weight matrix (``w[1]``, ``w[2]``; ``u``, ``w``, ``v``), biases left out."""
    groups: dict = {}
    for p in parameters:
        if not p.startswith(("b", "c")):
            groups.setdefault(re.sub(r"[0-9,]+", "", p, count=1), []).append(p)
    return groups


def pick(parameters, rng, n: int) -> tuple:
    """``n`` parameters by ``rng``: one of each weight matrix, the last first, then any others; in the
    network's order.

    >>> pick(["w11[1]", "w21[1]", "w11[2]", "w21[2]"], np.random.default_rng(0), 2)
    ('w21[1]', 'w21[2]')
    """
    chosen = []
    for group in reversed(list(weight_groups(parameters).values())):
        if len(chosen) < n:
            chosen.append(group[int(rng.integers(len(group)))])
    rest = [p for p in parameters if p not in chosen]
    while len(chosen) < n and rest:
        chosen.append(rest.pop(int(rng.integers(len(rest)))))
    return tuple(p for p in parameters if p in chosen)
