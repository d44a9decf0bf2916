"""The loss registry: one entry per loss, a term in one output a and its target t.

E is the sum of the term over the output nodes.

>>> LOSSES["mse"].term(A, T)
(a - t)**2/2
>>> LOSSES["huber"].term(A, T), huber(2).term(A, T)
(huber(a - t), 4*huber(a/2 - t/2))
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import sympy

from ._activations import ACTIVATIONS, Activation, Z
from ._errors import SpecError

A = sympy.Symbol("a", positive=True)
T = sympy.Symbol("t", real=True)


@dataclass(frozen=True)
class Loss:
    """name; term(a, t) for one output node; needs_unit_range: its log needs a in (0, 1);
    targets: "distribution" when they sum to 1 over the outputs (so softmax's δ is a − t), "sign"
    for ±1, else any; kink: the derivative chosen where the term has none, as the write-up states it;
    outputs: 1 when the loss takes exactly one output node, 0 for any number; settings: the spec
    keys it was made with beyond its defaults ((key, value) pairs, e.g. huber_delta); one_hot: check
    and the exercises draw one-hot targets; activations: the only output activations it pairs with
    (empty: any that suits it); coupled: the term reads every output through s = Σk tk·ak (the
    target class's score), as term(a, t, s)."""

    name: str
    term: object
    needs_unit_range: bool = False
    description: str = ""
    targets: str = ""
    kink: str = ""
    outputs: int = 0
    settings: tuple = ()
    one_hot: bool = False
    activations: tuple = ()
    coupled: bool = False

    def value(self, outs: list, targets: list) -> sympy.Expr:
        """E over the output nodes ``outs`` with targets ``targets``: the sum of the term."""
        if self.coupled:
            s = sympy.Add(*[t * a for a, t in zip(outs, targets)])
            return sympy.Add(*[self.term(a, t, s) for a, t in zip(outs, targets)])
        return sympy.Add(*[self.term(a, t) for a, t in zip(outs, targets)])


LOSSES: dict[str, Loss] = {}


def register(entry: Loss) -> Loss:
    """Add a loss to the registry."""
    LOSSES[entry.name] = entry
    return entry


class LossName(str):
    """A loss's name that carries its settings (``huber_delta``) as attributes: it equals, hashes and
    prints as the plain name, so that the NumPy reference, which is handed names, reads them too."""

    def __new__(cls, name: str, **settings):
        out = super().__new__(cls, name)
        out.__dict__.update(settings)
        return out


# huber(u) = u²/2 for |u| ≤ 1, |u| − 1/2 beyond: the Huber loss with δ = 1, a named function that
# prints as huber(u) in every format and that verify reads back; huber'(u) is u clipped to [−1, 1].
# (Built by the activations' machinery, which makes f and f' classes; it is no activation.)
HUBER = Activation(
    "huber", sympy.Piecewise((-Z - sympy.S.Half, Z < -1), (Z ** 2 / 2, Z <= 1), (Z - sympy.S.Half, True)),
    latex="\\mathrm{huber}",
    # min(|u|, 1)·(|u| − min(|u|, 1)/2): no square of a large u, so nothing overflows
    numpy_template="numpy.minimum(numpy.abs({z}), 1.0)*(numpy.abs({z}) - 0.5*numpy.minimum(numpy.abs({z}), 1.0))",
    numpy_prime_template="numpy.clip({z}, -1.0, 1.0)")
#: the loss functions the derivation prints, by name (verify's grammar reads them: see _grammar.py)
FUNCTIONS = dict(zip(("huber", "huber'"), HUBER.functions))
_RELU = ACTIVATIONS["relu"].functions[0]


def huber(delta: float = 1.0) -> Loss:
    """The Huber loss with threshold δ = ``delta``: (a − t)²/2 for |a − t| ≤ δ, δ·(|a − t| − δ/2)
    beyond, written δ²·huber((a − t)/δ).  One entry (and one term) per δ."""
    return _huber(float(delta))


@lru_cache(maxsize=None)
def _huber(delta: float) -> Loss:
    d = sympy.Rational(repr(delta))
    f = FUNCTIONS["huber"]
    one = d == 1
    shown = "1" if one else f"{float(delta):g}"
    return Loss(
        "huber" if one else LossName("huber", huber_delta=float(delta)),
        lambda a, t: d ** 2 * f((a - t) / d),
        description="the Huber loss" + ("" if one else f" with threshold {shown}"),
        # prose, in every format as it stands: ASCII with no * (Markdown), _ < > or | (LaTeX text)
        kink=(f"a - t where abs(a - t) is at most {shown}, and {'' if one else shown + ' '}sign(a - t) beyond "
              f"(huber'(u) is u clipped to [-1, 1]); at abs(a - t) = {shown} the quadratic branch is taken, "
              "and both branches have the same value and slope there"),
        settings=() if one else (("huber_delta", float(delta)),))


def configured(loss: Loss, huber_delta=None) -> Loss:
    """``loss`` with the spec's settings: huber_delta, a positive number, for huber only."""
    if huber_delta is None:
        return loss
    if loss.name != "huber":
        raise SpecError(f"huber_delta is a setting of loss huber, but the loss is {loss.name}: "
                        "remove huber_delta or write loss = \"huber\"")
    if (isinstance(huber_delta, bool) or not isinstance(huber_delta, (int, float))
            or not math.isfinite(huber_delta) or huber_delta <= 0):
        raise SpecError(f"huber_delta = {huber_delta!r}: give a positive number, e.g. huber_delta = 1.5")
    return huber(float(huber_delta))


register(Loss("mse", lambda a, t: (a - t) ** 2 / 2, description="half the squared error"))
register(Loss("cross_entropy", lambda a, t: -t * sympy.log(a), needs_unit_range=True,
              description="cross-entropy", targets="distribution"))
register(Loss("bce", lambda a, t: -(t * sympy.log(a) + (1 - t) * sympy.log(1 - a)),
              needs_unit_range=True, description="binary cross-entropy"))
register(Loss("mae", lambda a, t: sympy.Abs(a - t), description="the absolute error",
              kink="sign(a - t), taken as 0 at a = t"))
register(Loss("kl", lambda a, t: t * sympy.log(t / a), needs_unit_range=True,
              description="the Kullback-Leibler divergence of a from t", targets="distribution"))
register(huber())
# max(0, 1 − t·a) is relu(1 − t·a): relu's own function, which verify reads, with relu'(0) = 0
register(Loss("hinge", lambda a, t: _RELU(1 - t * a), description="the hinge loss max(0, 1 - t a), targets +1 or -1",
              targets="sign", outputs=1,
              kink="-t relu'(1 - t a), that is -t where t a is below 1 and 0 above; at t a = 1 it is taken as 0 "
                   "(relu'(0) = 0)"))

# nll on log-probabilities a (log_softmax outputs): −Σ tj·aj, so that δj = e^aj − tj
register(Loss("nll", lambda a, t: -t * a, description="the negative log-likelihood",
              targets="distribution", one_hot=True, activations=("log_softmax",)))
# CS231n's SVM loss: Σ over the wrong classes j of max(0, aj − s + 1), s = Σk tk·ak the right class's
# score (one-hot t); (1 − t)·relu(…) drops the right class's own term, relu'(0) = 0 as for hinge
register(Loss("multiclass_hinge", lambda a, t, s: (1 - t) * _RELU(a - s + 1), coupled=True, one_hot=True,
              description="the multiclass hinge loss with margin 1",
              kink="(1 - t) relu'(a - s + 1) in a and -(1 - t) relu'(a - s + 1) in s, where s is the sum of t a "
                   "over the outputs (the right class's score): 1 where a wrong class's margin a - s + 1 is above 0 "
                   "and 0 below; at a margin of exactly 0 it is taken as 0 (relu'(0) = 0)"))

#: the losses defined here; extend.py neither replaces nor removes them
BUILT_IN = frozenset(LOSSES)
