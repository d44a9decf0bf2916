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
...     extend.register_activation("isru", z / sympy.sqrt(1 + z**2))
...     net = sb.network("2-2-1", activation="isru")
...     print(sb.derive(net).gradient("w11[1]"), bool(sb.check(net, samples=2)))
x1*delta1[2] True
>>> "isru" in extend.activations()
False
"""
from __future__ import annotations

from contextlib import contextmanager
from types import MappingProxyType

import numpy as np
import sympy

from . import _activations, _losses, _reference
from ._errors import SpecError
from ._kinds import Kind, register as register_kind  # noqa: F401 (the layer-kind registry)
from ._registering import (_A, _GRID, _T, _check_name, _check_reference, _evaluate, _expression, _finite, _same,
                           _Term, _unregister)

__all__ = ["register_activation", "register_loss", "unregister_activation", "unregister_loss",
           "activations", "losses", "temporary", "register_kind", "Kind"]



def activations() -> MappingProxyType:
    """The activation registry, read-only: name → entry, built-in and registered.

    >>> list(activations())[:3]
    ['g', 'sigmoid', 'tanh']
    """
    return MappingProxyType(_activations.ACTIVATIONS)


def losses() -> MappingProxyType:
    """The loss registry, read-only: name → entry, built-in and registered.

    >>> list(losses())
    ['mse', 'cross_entropy', 'bce', 'mae', 'kl', 'huber', 'hinge', 'nll', 'multiclass_hinge']
    """
    return MappingProxyType(_losses.LOSSES)


def register_activation(name: str, expression_in_z, *, latex: str | None = None, numpy=None,
                        numpy_prime=None, unit_range: bool = False) -> None:
    """Add the activation ``name``: f(z) = ``expression_in_z``; f' is ``sympy.diff`` of it.

    Args:
        name: the activation's name, used in specs and on the command line.
        expression_in_z: a SymPy expression whose only symbol is one named ``z``, or text in z
            (``"z/(1+abs(z))"``; exp, log, sqrt, abs, tanh, … may be used); it must be finite for
            every real z and NumPy must be able to evaluate it and its derivative.
        latex: how LaTeX writes the function (default ``\\operatorname{name}``).
        numpy: an optional form equal to f that NumPy evaluates without overflow (as sigmoid
            uses (1 + tanh(z/2))/2); checked against f.
        numpy_prime: the same for f', checked against f'.
        unit_range: f maps into [0, 1], so log losses may follow it (checked on a grid).

    Returns:
        None: the name then works wherever a built-in activation's does; undo it with
        ``unregister_activation(name)``.

    Raises:
        SpecError: (ParseError for text it cannot read, CompileError for what NumPy cannot
            evaluate) naming the fix.

    >>> import symbackprop as sb
    >>> with temporary():
    ...     register_activation("soft", "z/(1+abs(z))")
    ...     print(sb.derive("1-1", activation="soft").deltas["delta1[2]"])
    (a1[2] - t1)*soft'(z1[2])
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

    Args:
        name: the loss's name, used in specs and on the command line.
        term: a SymPy expression in symbols named ``a`` (one output) and ``t`` (its target),
            or text such as ``"(a - t)^4/4"``; NumPy must be able to evaluate it and ∂/∂a of it.
        needs_unit_range: the term needs a in (0, 1) (a log of a): then only sigmoid, softmax
            or unit_range outputs may precede it.
        description: words for it (default the name).
        reference: ``(value, derivative)``, NumPy functions of arrays a and t giving the term and
            its ∂/∂a elementwise, written by you: the second opinion ``check`` compares with
            (without it, check leaves out the reference and says so).  At registration they must
            agree with the term and its ``sympy.diff`` to 1e-6 on a grid of points.

    Returns:
        None; undo it with ``unregister_loss(name)``.

    Raises:
        SpecError: (ParseError, CompileError) naming the fix.

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
    """Remove an activation added by ``register_activation``; built-in ones stay.

    name: the registered name; SpecError for a built-in or unknown one.  Returns None.

    >>> register_activation("cube", "z^3")
    >>> unregister_activation("cube")
    >>> "cube" in activations()
    False
    """
    _unregister(name, _activations.ACTIVATIONS, _activations.BUILT_IN, "activation")


def unregister_loss(name: str) -> None:
    """Remove a loss added by ``register_loss`` (and its reference, if given); built-in ones stay.

    name: the registered name; SpecError for a built-in or unknown one.  Returns None.

    >>> register_loss("quartic", "(a - t)^4/4")
    >>> unregister_loss("quartic")
    >>> "quartic" in losses()
    False
    """
    _unregister(name, _losses.LOSSES, _losses.BUILT_IN, "loss")
    _reference.LOSSES.pop(name, None)


@contextmanager
def temporary():
    """A block whose registrations (and removals) are undone when it ends: for tests and examples.

    Takes no arguments; a context manager (``with temporary(): …``) that yields None.

    >>> with temporary():
    ...     register_loss("quartic", "(a - t)^4/4")
    ...     "quartic" in losses()
    True
    >>> "quartic" in losses()
    False
    """
    tables = (_activations.ACTIVATIONS, _losses.LOSSES, _reference.LOSSES)
    saved = [dict(table) for table in tables]
    try:
        yield
    finally:
        for table, before in zip(tables, saved):
            table.clear()
            table.update(before)


# ---------------------------------------------------------------- checks
