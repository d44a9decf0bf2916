"""Adding activations and losses: one registry entry each, checked when it is made.

An activation is a function of ``z`` (SymPy finds its derivative); a loss is a
term in one output ``a`` and its target ``t`` (E sums it over the output nodes).
Both are given as SymPy expressions, or as text read by the package's own
grammar: user text is never evaluated as Python.  A registered name works
wherever a built-in one does, in this process: ``network``, ``derive``,
``compile``, ``check``, ``verify`` and spec files.  ``check``'s NumPy reference
keeps its own loss table (a second opinion must not share the registry's
mistakes): a loss joins it only through ``reference=``, your NumPy formulas.

>>> import sympy
>>> import symbackprop as sb
>>> from symbackprop import extend
>>> z = sympy.Symbol("z")
>>> with extend.temporary():            # registrations made inside are undone at the end
...     extend.register_activation("softsign", z / (1 + sympy.Abs(z)))
...     net = sb.network("2-2-1", activation="softsign")
...     print(sb.derive(net).gradient("w11[1]"), bool(sb.check(net, samples=2)))
x1*delta1[2] True
>>> "softsign" in extend.activations()
False
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from . import _activations, _losses, _reference
from ._compile import _print_numpy, numpy_function
from ._errors import CompileError, ParseError, SpecError
from ._grammar import ELEMENTARY, parse_expression

__all__ = ["register_activation", "register_loss", "unregister_activation", "unregister_loss",
           "activations", "losses", "temporary"]

_NAME = re.compile(r"[A-Za-z][A-Za-z_]*[A-Za-z]\Z")
#: words the expression grammar already gives a meaning (functions, η, δ, σ)
_RESERVED = frozenset(ELEMENTARY) | {"eta", "delta", "sigma"}
_A = sympy.Symbol("a", real=True)       # a loss's output; real, so nothing assumes a > 0
_T = sympy.Symbol("t", real=True)
_GRID = np.linspace(-6.0, 6.0, 25)      # where a definition must be finite (includes 0)


def activations() -> MappingProxyType:
    """The activation registry, read-only: name → entry, built-in and registered.

    >>> list(activations())[:3]
    ['g', 'sigmoid', 'tanh']
    """
    return MappingProxyType(_activations.ACTIVATIONS)


def losses() -> MappingProxyType:
    """The loss registry, read-only: name → entry, built-in and registered.

    >>> list(losses())
    ['mse', 'cross_entropy', 'bce']
    """
    return MappingProxyType(_losses.LOSSES)


def register_activation(name: str, expression_in_z, *, latex: str | None = None, numpy=None,
                        numpy_prime=None, unit_range: bool = False) -> None:
    """Add the activation ``name``: f(z) = ``expression_in_z``; f' is ``sympy.diff`` of it.

    expression_in_z: a SymPy expression whose only symbol is one named ``z``, or text in z
    (``"z/(1+abs(z))"``; exp, log, sqrt, abs, tanh, … may be used); it must be finite for
    every real z and NumPy must be able to evaluate it and its derivative.
    latex: how LaTeX writes the function (default ``\\operatorname{name}``).
    numpy, numpy_prime: optional forms equal to f and f' that NumPy evaluates without
    overflow (as sigmoid uses (1 + tanh(z/2))/2); they are checked against f and f'.
    unit_range: f maps into [0, 1], so log losses may follow it (checked on a grid).
    Raises SpecError (ParseError for text it cannot read, CompileError for what NumPy
    cannot evaluate) naming the fix.  Undo it with ``unregister_activation(name)``.
    """
    _check_name(name, _activations.ACTIVATIONS, _activations.BUILT_IN, "activation", "unregister_activation")
    what = f"activation {name!r}"
    expr = _expression(expression_in_z, {"z": _activations.Z}, what, "a function of z such as 'z/(1+abs(z))'")
    prime = sympy.diff(expr, _activations.Z)
    values = _finite(what, expr, prime)
    numeric = numeric_prime = None
    if numpy is not None:
        numeric = _expression(numpy, {"z": _activations.Z}, f"the numpy form of {what}", "an expression in z")
        _same(f"the numpy form of {what}", numeric, values[0])
    if numpy_prime is not None:
        numeric_prime = _expression(numpy_prime, {"z": _activations.Z}, f"the numpy_prime form of {what}",
                                    "an expression in z")
        _same(f"the numpy_prime form of {what}", numeric_prime, values[1])
    if not isinstance(unit_range, bool):
        raise SpecError(f"{what}: unit_range must be True or False, not {unit_range!r}")
    if unit_range and not np.all((values[0] >= 0) & (values[0] <= 1)):
        z = _GRID[np.argmax((values[0] < 0) | (values[0] > 1))]
        raise SpecError(f"{what} is not in [0, 1] at z = {z:g}: leave out unit_range=True")
    if latex is None:
        latex = "\\operatorname{" + name.replace("_", "\\_") + "}"
    elif not isinstance(latex, str) or not latex.strip():
        raise SpecError(f"{what}: latex must be LaTeX text such as '\\\\operatorname{{{name}}}', not {latex!r}")
    # function_name marks it custom: check's NumPy reference evaluates the definition and
    # differentiates it by a five-point stencil, a second opinion independent of sympy.diff
    _activations.register(_activations.Activation(
        name, expr, latex=latex, unit_range=unit_range, numeric=numeric, numeric_prime=numeric_prime,
        function_name=name))


def register_loss(name: str, term, *, needs_unit_range: bool = False, description: str = "",
                  reference=None) -> None:
    """Add the loss ``name``: E = Σ_j term(aj[L], tj) over the output nodes.

    term: a SymPy expression in symbols named ``a`` (one output) and ``t`` (its target),
    or text such as ``"(a - t)^4/4"``; NumPy must be able to evaluate it and ∂/∂a of it.
    needs_unit_range: the term needs a in (0, 1) (a log of a): then only sigmoid, softmax
    or unit_range outputs may precede it.  description: words for it (default the name).
    reference: ``(value, derivative)``, NumPy functions of arrays a and t giving the term and
    its ∂/∂a elementwise, written by you: the second opinion ``check`` compares with (without
    it, check leaves out the reference and says so).  At registration they must agree with
    the term and its ``sympy.diff`` to 1e-6 on a grid of points.
    Raises SpecError (ParseError, CompileError) naming the fix; undo with ``unregister_loss``.

    >>> import symbackprop as sb
    >>> a, t = sympy.symbols("a t")
    >>> with temporary():
    ...     register_loss("quartic", "(a - t)^4/4", reference=(lambda a, t: (a - t)**4 / 4,
    ...                                                        lambda a, t: (a - t)**3))
    ...     net = sb.network("2-1", activation="tanh", loss="quartic")
    ...     print(losses()["quartic"].term(a, t), bool(sb.check(net, samples=2)))
    (a - t)**4/4 True
    """
    _check_name(name, _losses.LOSSES, _losses.BUILT_IN, "loss", "unregister_loss")
    what = f"loss {name!r}"
    expr = _expression(term, {"a": _A, "t": _T}, what, "a term in a and t such as '(a - t)^2/2'", _A)
    if not isinstance(needs_unit_range, bool):
        raise SpecError(f"{what}: needs_unit_range must be True or False, not {needs_unit_range!r}")
    if not isinstance(description, str):
        raise SpecError(f"{what}: description must be text, not {description!r}")
    outputs = np.linspace(0.05, 0.95, 7) if needs_unit_range else np.linspace(-2.0, 2.0, 9)
    a, t = np.meshgrid(outputs, [0.0, 0.5, 1.0] if needs_unit_range else [-1.0, 0.0, 0.5, 1.0])
    values = []
    for form in (expr, sympy.diff(expr, _A)):
        v = _evaluate(what, form, [_A, _T], [a, t])
        if not (np.isrealobj(v) and np.all(np.isfinite(v))):
            n = np.argmin(np.isfinite(v))
            hint = "" if needs_unit_range else ": if it needs outputs in (0, 1), pass needs_unit_range=True"
            raise SpecError(f"{what} {'or its derivative ' if form is not expr else ''}is not finite at "
                            f"a = {a.flat[n]:g}, t = {t.flat[n]:g}{hint}")
        values.append(v.astype(float))
    if reference is not None:
        _check_reference(what, reference, a, t, values)
    _losses.register(_losses.Loss(name, _Term(expr), needs_unit_range, description or name))
    if reference is not None:
        _reference.LOSSES[name] = tuple(reference)      # the reference's own table, not the registry


def unregister_activation(name: str) -> None:
    """Remove an activation added by ``register_activation``; built-in ones stay."""
    _unregister(name, _activations.ACTIVATIONS, _activations.BUILT_IN, "activation")


def unregister_loss(name: str) -> None:
    """Remove a loss added by ``register_loss`` (and its reference, if given); built-in ones stay."""
    _unregister(name, _losses.LOSSES, _losses.BUILT_IN, "loss")
    _reference.LOSSES.pop(name, None)


@contextmanager
def temporary():
    """A block whose registrations (and removals) are undone when it ends: for tests and examples."""
    tables = (_activations.ACTIVATIONS, _losses.LOSSES, _reference.LOSSES)
    saved = [dict(table) for table in tables]
    try:
        yield
    finally:
        for table, before in zip(tables, saved):
            table.clear()
            table.update(before)


# ---------------------------------------------------------------- checks
@dataclass(frozen=True)
class _Term:
    """A registered loss's term: its expression with the network's a and t put in."""

    expr: sympy.Expr

    def __call__(self, a, t):
        return self.expr.xreplace({_A: a, _T: t})


def _check_name(name, registry, built_in, kind: str, undo: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"{kind} name {name!r}: write letters and underscores, starting and ending with a "
                        "letter, e.g. 'softsign' or 'hard_tanh'")
    if name in built_in:
        raise SpecError(f"{name} is a built-in {kind}: choose another name")
    if name in _RESERVED:
        raise SpecError(f"{name} already means something in expressions: choose another name")
    if name in registry:
        raise SpecError(f"{kind} {name} is already registered: call {undo}({name!r}) first, "
                        "or choose another name")


def _unregister(name, registry, built_in, kind: str) -> None:
    if name in built_in:
        raise SpecError(f"{name} is a built-in {kind} and cannot be removed")
    if name not in registry:
        added = sorted(set(registry) - built_in)
        raise SpecError(f"no {kind} {name!r} is registered; registered ones: {', '.join(added) or 'none'}")
    del registry[name]


def _expression(value, symbols: dict, what: str, example: str, needed=None) -> sympy.Expr:
    """``value`` as a SymPy expression in ``symbols`` (name → symbol), which must use ``needed``."""
    needed = needed if needed is not None else next(iter(symbols.values()))
    if isinstance(value, str):
        try:
            return _uses(parse_expression(value, lambda n, c: symbols.get(n), ELEMENTARY), needed, what, example)
        except ParseError as err:
            raise ParseError(f"{what}: {str(err).removesuffix(f' (at column {err.column})')}", err.column) from None
    if not isinstance(value, sympy.Expr):
        raise SpecError(f"{what} must be a SymPy expression or text, {example}; not {value!r}")
    others = sorted(s.name for s in value.free_symbols if s.name not in symbols)
    if others:
        raise SpecError(f"{what} uses {', '.join(others)}: write it in {' and '.join(symbols)} only")
    undefined = sorted({type(f).__name__ for f in value.atoms(AppliedUndef)})
    if undefined:
        raise SpecError(f"{what} uses the undefined function {', '.join(undefined)}: write it out, {example}")
    expr = value.xreplace({s: symbols[s.name] for s in value.free_symbols})
    return _uses(expr, needed, what, example)


def _uses(expr, needed, what, example):
    if needed not in expr.free_symbols:
        raise SpecError(f"{what} does not use {needed}: write {example}")
    return expr


def _finite(what: str, expr, prime):
    """f and f' on the grid; SpecError where either is not a finite real number."""
    out = []
    for form, label in ((expr, ""), (prime, "the derivative of ")):
        v = _evaluate(what, form, [_activations.Z], [_GRID])
        if not (np.isrealobj(v) and np.all(np.isfinite(v))):
            z = _GRID[np.argmin(np.isfinite(v))] if np.isrealobj(v) else _GRID[0]
            raise SpecError(f"{label}{what} is not a finite real number at z = {z:g}: an activation must be "
                            "defined for every real z")
        out.append(v.astype(float))
    return out


def _same(what: str, form, want) -> None:
    got = _evaluate(what, form, [_activations.Z], [_GRID])
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-12)
    if bad.any():
        n = int(np.argmax(bad))
        raise SpecError(f"{what} is {got[n]:.6g} at z = {_GRID[n]:g} where it should be {want[n]:.6g}: "
                        "give a form equal to it")


def _check_reference(what: str, pair, a, t, want) -> None:
    """The user's NumPy (value, derivative) against the term and its sympy.diff on the grid (a, t)."""
    fix = ("give reference=(value, derivative) with value(a, t) the term and derivative(a, t) its "
           "derivative in a, as NumPy functions of arrays")
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(callable(f) for f in pair)):
        raise SpecError(f"{what}: reference must be a pair of functions, not {pair!r}: {fix}")
    for f, good, label in zip(pair, want, ("value", "derivative")):
        try:
            with np.errstate(all="ignore"):
                got = np.asarray(f(a.copy(), t.copy()))
            if not (np.isrealobj(got) and np.issubdtype(got.dtype, np.number)):
                raise TypeError(f"it returned {got.dtype} values")
            got = np.broadcast_to(got, a.shape).astype(float)
        except Exception as err:        # the user's code: any failure is theirs to fix
            reason = (str(err).splitlines() or [""])[0]
            raise SpecError(f"{what}: the reference {label} fails on arrays a and t "
                            f"({type(err).__name__}: {reason}): {fix}") from None
        # 1e-6 relative, with a floor far below the grid's scale for points where the term is 0
        bad = ~(np.abs(got - good) <= 1e-6 * np.abs(good) + 1e-12 * (1.0 + np.abs(good).max()))
        if bad.any():
            n = int(np.argmax(bad))
            term = "the term" if label == "value" else "∂/∂a of the term"
            raise SpecError(f"{what}: the reference {label} is {got.flat[n]:.6g} at a = {a.flat[n]:g}, "
                            f"t = {t.flat[n]:g}, where {term} is {good.flat[n]:.6g}: {fix}")


def _evaluate(what: str, form, args: list, points: list) -> np.ndarray:
    """``form`` at ``points`` (one array per symbol of ``args``), by the code compile makes.

    Raises CompileError when NumPy cannot evaluate it: fail when registering, not when used.
    """
    try:
        _print_numpy(form)
        with np.errstate(all="ignore"):
            value = numpy_function(args, form)(*points)
    except CompileError as err:
        raise CompileError(f"{what}: {err}") from None
    except Exception:       # the printer's refusal, or a math.* function handed an array
        raise CompileError(f"{what}: NumPy cannot evaluate {form}: write it with exp, log, sqrt, abs, "
                           "tanh and the like") from None
    return np.broadcast_to(np.asarray(value), np.shape(points[0]))
