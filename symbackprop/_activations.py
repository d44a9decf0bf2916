"""The activation registry: one entry per activation, a function of ``z`` only.

Each named activation becomes a SymPy ``Function`` subclass ``f`` whose
derivative is a second class printed ``f'``; SymPy finds the derivative from
the definition.  ``linear`` and custom expressions are written out inline.

>>> import sympy
>>> s = ACTIVATIONS["sigmoid"]
>>> sympy.diff(s.apply(Z), Z)
sigmoid'(z)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable

import sympy

Z = sympy.Symbol("z", real=True)


def _call_latex(head: str):
    def _latex(self, printer):
        return f"{head}\\left({printer._print(self.args[0])}\\right)"
    return _latex


def _numpy_from(expr: sympy.Expr | None, template: str | None = None):
    def _numpycode(self, printer):
        if template is not None:
            return "(" + template.format(z=printer._print(self.args[0])) + ")"
        if expr is None:
            raise TypeError(f"{type(self).__name__} has no numeric form")
        return "(" + printer._print(expr.subs(Z, self.args[0])) + ")"
    return _numpycode


@dataclass(frozen=True)
class Coupled:
    """What an output activation that reads every z of its layer (softmax, log_softmax) brings.

    value(zs, j): aj from the layer's z's (zs[j] is zj); local(ao, aj, same): ∂ao/∂zj written in
    the outputs, ``same`` when o = j (tests check it against sympy.diff); probability(a): softmax(z)j
    written in aj, so that δj = probability − tj where the loss makes it so; numpy: NumPy code of a
    from s = z − max z, e = exp(s) and q = Σ e, as {s}, {e}, {q} (the scalar code fills the same);
    losses: the only losses it pairs with (empty: any loss that suits its range).
    """

    value: Callable
    local: Callable
    probability: Callable
    numpy: str
    losses: tuple = ()

    def evaluate(self, s, e, q):
        """a from NumPy arrays s, e and q, by the code ``numpy`` (what the generated kernels run)."""
        import numpy
        return eval(self.numpy.format(s="s", e="e", q="q"), {"numpy": numpy}, {"s": s, "e": e, "q": q})


@dataclass(frozen=True)
class Activation:
    """One registry entry.

    name: the spec name; definition: f(z) in ``Z`` (None for the generic g);
    latex: LaTeX of the function's name; unit_range: outputs lie in (0, 1), so
    log losses may follow; inline: written out as its formula instead of f(z);
    numeric / numeric_prime: equal, overflow-free forms for NumPy (tests check
    they equal the definition and its derivative).
    """

    name: str
    definition: sympy.Expr | None
    latex: str = ""
    unit_range: bool = False
    inline: bool = False
    output_only: bool = False
    numeric: sympy.Expr | None = None
    numeric_prime: sympy.Expr | None = None
    derivative_in_output: object = field(default=None, compare=False)
    numpy_template: str | None = None   # NumPy code for f, {z} the argument (tests check it)
    function_name: str = ""      # the name it is printed by, when not its spec name (custom ones)
    numpy_prime_template: str | None = None   # NumPy code for f' (tests check it)
    kink: str = ""               # the derivative chosen where f has none, as the write-up states it
    coupled: Coupled | None = field(default=None, compare=False)   # reads every z of its layer

    @cached_property
    def derivative(self) -> sympy.Expr | None:
        """f'(z) from the definition, by ``sympy.diff``."""
        return None if self.definition is None else sympy.diff(self.definition, Z)

    @cached_property
    def functions(self):
        """The pair (f, f') of SymPy Function classes for a named activation."""
        name, d, num = self.function_name or self.name, self.derivative, self.numeric
        prime_numeric = self.numeric_prime if self.numeric_prime is not None else d
        prime_attrs = {"nargs": 1, "_latex": _call_latex(self.latex + "'"),
                       "_numpycode": _numpy_from(prime_numeric, self.numpy_prime_template)}
        if d is not None:
            prime_attrs["fdiff"] = lambda self_, argindex=1: sympy.diff(d, Z).subs(Z, self_.args[0])
            prime_attrs["_eval_rewrite_as_exp"] = lambda self_, arg, **kw: d.subs(Z, arg)
        prime = type(name + "'", (sympy.Function,), prime_attrs)
        attrs = {"nargs": 1, "_latex": _call_latex(self.latex),
                 "_numpycode": _numpy_from(num if num is not None else self.definition, self.numpy_template),
                 "fdiff": lambda self_, argindex=1: prime(self_.args[0])}
        if self.definition is not None:
            attrs["_eval_rewrite_as_exp"] = lambda self_, arg, **kw: self.definition.subs(Z, arg)
        return type(name, (sympy.Function,), attrs), prime

    @property
    def evaluable(self) -> bool:
        return self.definition is not None

    def apply(self, arg: sympy.Expr) -> sympy.Expr:
        """f(arg)."""
        return self.definition.subs(Z, arg) if self.inline else self.functions[0](arg)

    def prime(self, arg: sympy.Expr) -> sympy.Expr:
        """f'(arg)."""
        return self.derivative.subs(Z, arg) if self.inline else self.functions[1](arg)


def _relu(slope):
    return sympy.Piecewise((slope * Z, Z <= 0), (Z, True))


ACTIVATIONS: dict[str, Activation] = {}


def register(entry: Activation) -> Activation:
    """Add an activation to the registry (one entry is all it takes)."""
    ACTIVATIONS[entry.name] = entry
    return entry


register(Activation("g", None, latex="g", unit_range=True))
register(Activation(
    "sigmoid", 1 / (1 + sympy.exp(-Z)), latex="\\sigma", unit_range=True,
    numeric=(1 + sympy.tanh(Z / 2)) / 2,
    numeric_prime=(1 - sympy.tanh(Z / 2) ** 2) / 4,
    # the exp form is the fastest; its argument capped so that exp never overflows (e^700 is
    # finite), with the ufunc minimum rather than clip, whose Python wrapper costs more
    numpy_template="1.0/(1.0 + numpy.exp(numpy.minimum(-({z}), 700.0)))",
    derivative_in_output=lambda a: a * (1 - a)))
register(Activation("tanh", sympy.tanh(Z), latex="\\tanh",
                    derivative_in_output=lambda a: 1 - a ** 2))
register(Activation("relu", _relu(0), latex="\\mathrm{ReLU}", kink="relu'(0) = 0"))
register(Activation("leaky_relu", _relu(sympy.Rational(1, 100)), latex="\\mathrm{LReLU}",
                    kink="leaky_relu'(0) = 0.01"))
register(Activation(
    "softplus", sympy.log(1 + sympy.exp(Z)), latex="\\mathrm{softplus}",
    numeric=sympy.Piecewise((Z, Z > 0), (0, True)) + sympy.log(1 + sympy.exp(-sympy.Abs(Z))),
    numeric_prime=(1 + sympy.tanh(Z / 2)) / 2))
register(Activation("linear", Z, inline=True, derivative_in_output=lambda a: sympy.S.One))
register(Activation(
    "elu", sympy.Piecewise((sympy.exp(Z) - 1, Z <= 0), (Z, True)), latex="\\mathrm{ELU}",
    numpy_template="numpy.where({z} > 0, {z}, numpy.expm1(numpy.minimum({z}, 0.0)))",
    numpy_prime_template="numpy.where({z} > 0, 1.0, numpy.exp(numpy.minimum({z}, 0.0)))"))
# GELU(z) = z·Φ(z) = z·(1 + erf(z/√2))/2; numerically Φ(z) = erfc(−z/√2)/2, with no cancellation for z ≪ 0
# (NumPy has no erfc: math's, entry by entry)
_PHI = "0.5*numpy.asarray(numpy.frompyfunc(__import__('math').erfc, 1, 1)(-({z})/1.4142135623730951), dtype=float)"
register(Activation(
    "gelu", Z * (1 + sympy.erf(Z / sympy.sqrt(2))) / 2, latex="\\mathrm{GELU}",
    numpy_template="({z})*" + _PHI,
    numpy_prime_template=_PHI + " + ({z})*numpy.exp(-0.5*({z})**2)/2.5066282746310002"))
register(Activation(
    "silu", Z / (1 + sympy.exp(-Z)), latex="\\mathrm{SiLU}",
    numeric=Z * (1 + sympy.tanh(Z / 2)) / 2,
    numeric_prime=(1 + sympy.tanh(Z / 2)) / 2 * (1 + Z * (1 - sympy.tanh(Z / 2)) / 2)))
register(Activation("softsign", Z / (1 + sympy.Abs(Z)), latex="\\mathrm{softsign}",
                    numeric_prime=1 / (1 + sympy.Abs(Z)) ** 2))
register(Activation("hardtanh", sympy.Piecewise((-1, Z <= -1), (Z, Z < 1), (1, True)), latex="\\mathrm{hardtanh}",
                    kink="hardtanh'(-1) = hardtanh'(1) = 0"))
register(Activation(
    "hard_sigmoid", sympy.Piecewise((0, Z <= -3), (Z / 6 + sympy.Rational(1, 2), Z < 3), (1, True)),
    latex="\\mathrm{hardsigmoid}", kink="hard_sigmoid'(-3) = hard_sigmoid'(3) = 0"))
# softmax and log_softmax are not elementwise: each a reads every z of the layer (see Coupled)
def _exps(zs: list) -> sympy.Expr:
    return sympy.Add(*[sympy.exp(z) for z in zs])


register(Activation("softmax", None, latex="\\mathrm{softmax}", unit_range=True, output_only=True, coupled=Coupled(
    value=lambda zs, j: sympy.exp(zs[j]) / _exps(zs),
    local=lambda ao, aj, same: ao * ((1 if same else 0) - aj),
    probability=lambda a: a, numpy="{e} / {q}")))
# aj = zj − log Σ e^zk, computed as s − log q (s = z − max z): no overflow, no log of 0
register(Activation("log_softmax", None, latex="\\mathrm{logsoftmax}", output_only=True, coupled=Coupled(
    value=lambda zs, j: zs[j] - sympy.log(_exps(zs)),
    local=lambda ao, aj, same: (1 if same else 0) - sympy.exp(aj),
    probability=sympy.exp, numpy="{s} - numpy.log({q})", losses=("nll",))))

#: the activations defined here; extend.py neither replaces nor removes them
BUILT_IN = frozenset(ACTIVATIONS)


#: names given to custom activations, in the order they appear in a spec
CUSTOM_LETTERS = ("f", "h", "q", "r", "s")


@lru_cache(maxsize=None)
def custom(definition: sympy.Expr, text: str, letter: str = "f") -> Activation:
    """An activation from a user's expression in z (already parsed safely), called ``letter``.

    Cached, so that the same spec always gives the same SymPy function class.
    """
    return Activation(text, definition, latex=letter, function_name=letter)
