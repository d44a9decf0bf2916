"""The checks a registration passes before ``extend`` makes it: names, expressions, numbers."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from . import _activations
from ._program import _print_numpy, numpy_function
from ._errors import CompileError, ParseError, SpecError
from ._grammar import ELEMENTARY, parse_expression

_NAME = re.compile(r"[A-Za-z][A-Za-z_]*[A-Za-z]\Z")
#: words the expression grammar already gives a meaning (functions, η, δ, σ)
_RESERVED = frozenset(ELEMENTARY) | {"eta", "delta", "sigma"}
_GRID = np.linspace(-6.0, 6.0, 25)      # where a definition must be finite (includes 0)
_A = sympy.Symbol("a", real=True)       # a loss's output; real, so nothing assumes a > 0
_T = sympy.Symbol("t", real=True)


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
