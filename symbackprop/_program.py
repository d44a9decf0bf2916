"""Printed formulas as NumPy code: exactly the assignments a derivation prints, in order.

Checking their numbers checks the printed formulas themselves.  Any derivation
works: the forward equations, E, every named error signal, then every gradient,
each group of assignments that do not use one another compiled as one block with
its common subexpressions shared.
"""
from __future__ import annotations

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ._errors import CompileError
from ._graph import E


def _print_numpy(expr: sympy.Expr) -> str:
    return checked_print(NumPyPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False}), expr)


def checked_print(printer, expr: sympy.Expr) -> str:
    """``expr`` as ``printer`` writes it; CompileError for what NumPy cannot evaluate."""
    try:
        code = printer.doprint(expr)
    except TypeError as err:
        raise CompileError(f"cannot compile {expr}: {err}") from None
    if printer._not_supported:
        bad = ", ".join(sorted({type(e).__name__ for e in printer._not_supported}))
        raise CompileError(f"NumPy cannot evaluate {bad} (in {expr})")
    return code


class _ArgPrinter(NumPyPrinter):
    """NumPy code with each argument symbol printed as a given identifier."""

    def __init__(self, idents: dict):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})
        self.idents = idents

    def _print_Symbol(self, sym):
        return self.idents[sym]


def numpy_function(args, expr: sympy.Expr):
    """f(*values) evaluating ``expr`` with NumPy: lambdify without its renaming pass.

    lambdify rebuilds an expression whose arguments are not identifiers (``w11[1]``),
    and rebuilding a large nested one asks SymPy's assumptions system questions that can
    take minutes; printing the names as identifiers directly costs one walk.
    """
    idents = {a: f"_v{n}" for n, a in enumerate(args)}
    printer = _ArgPrinter(idents)
    code = printer.doprint(expr)
    if printer._not_supported:
        bad = ", ".join(sorted({type(e).__name__ for e in printer._not_supported}))
        raise CompileError(f"NumPy cannot evaluate {bad}")
    source = f"def _f({', '.join(idents.values())}):\n    return {code}\n"
    namespace = {"numpy": np}
    exec(compile(source, "<symbackprop expression>", "exec"), namespace)   # our own printed code
    return namespace["_f"]


def printed_formulas(d):
    """A function ``values -> results`` that evaluates the printed formulas in order.

    values maps plain names (every parameter, input and target: ``d.base_symbols()``)
    to numbers or arrays over a batch; results maps every printed name (the nodes, E,
    every δ, and each parameter's gradient under its own name) to its value.  Sums over
    a batch are left to the caller.
    """
    grads = [(sympy.Symbol(f"grad[{name}]"), g) for name, g in d.gradients.items()]
    stages = (_levels([(d.symbols[k], v) for k, v in d.forward.items()]) + [[(E, d.loss)]]
              + _levels([(d.symbols[k], v) for k, v in d.deltas.items()]) + [grads])
    run = program(d.base_symbols(), stages)
    groups = [[t.name for t in group] for group in d.target_groups()]
    if not groups:
        return run

    def checked(values):
        """The targets the δ shortcut p − t needs summing to 1 are checked first (ValuesError)."""
        from ._values import check_targets
        check_targets([(g, np.stack(np.broadcast_arrays(*[np.asarray(values[n], float) for n in g]), axis=-1))
                       for g in groups], d.network.loss)
        return run(values)
    return checked


def _levels(assignments: list) -> list:
    """The assignments in stages: each one's stage is one past the latest it uses."""
    level, stages = {}, []
    for lhs, rhs in assignments:
        n = 1 + max((level[s] for s in rhs.free_symbols if s in level), default=-1)
        level[lhs] = n
        while len(stages) <= n:
            stages.append([])
        stages[n].append((lhs, rhs))
    return stages


def program(inputs, stages):
    """NumPy code that assigns each stage's (symbol, right side) in order, from ``inputs``.

    Returns ``run(values) -> results``: values maps the inputs' names to numbers or
    arrays; results maps every assigned name (``grad[p]`` as ``p``) to its value.
    """
    ident: dict = {}

    def var(sym) -> sympy.Symbol:
        return ident.setdefault(sym, sympy.Symbol(f"v{len(ident)}"))

    for s in inputs:
        var(s)
    lines, outputs, n_tmp = ["def _evaluate(V):"], [], 0
    for s in inputs:
        lines.append(f"    {var(s)} = V[{s.name!r}]")
    for stage in stages:
        rhs = [r.xreplace({s: var(s) for s in r.free_symbols}) for _, r in stage]
        subs, reduced = sympy.cse(rhs, symbols=sympy.numbered_symbols(f"c{n_tmp}_"))
        n_tmp += 1
        for tmp, value in subs:
            lines.append(f"    {tmp} = {_print_numpy(value)}")
        for (lhs, _), value in zip(stage, reduced):
            lines.append(f"    {var(lhs)} = {_print_numpy(value)}")
            outputs.append((lhs.name, var(lhs)))
    lines.append("    return {" + ", ".join(f"{name!r}: {v}" for name, v in outputs) + "}")
    namespace = {"numpy": np}
    exec(compile("\n".join(lines), "<symbackprop printed formulas>", "exec"), namespace)  # our own code
    evaluate = namespace["_evaluate"]

    def run(values: dict) -> dict:
        out = evaluate(values)
        return {(k[5:-1] if k.startswith("grad[") else k): v for k, v in out.items()}
    run.source = "\n".join(lines)
    return run
