"""NumPy code for one dtype: the printer of the generated kernels, and the dtype rule.

The activations' NumPy code is written for float64; printed for float32, their exp caps
are float32's: e^700 is finite in float64 and 1/(1 + e^700) still a normal number; in float32 the
same holds up to about e^87.
Piecewise functions print without ``numpy.select`` (20 µs on a 3-vector).

>>> import sympy
>>> z = sympy.Symbol("z", real=True)
>>> code_of(sympy.Piecewise((0, z <= 0), (z, True)), {z: "z2"}, np.float32)
'((z2)*numpy.greater(z2, 0))'
"""
from __future__ import annotations

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ._errors import CompileError
from ._program import checked_print

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
#: the largest argument exp is given, by dtype (e^cap finite, 1/(1 + e^cap) above the smallest normal
#: number, so no overflow and no slow subnormals): the activations' NumPy code is written for float64
EXP_CAP = {F64: "700.0", F32: "87.0"}


def dtype_of(arrays) -> np.dtype:
    """The dtype a compiled function computes in: float32 when every floating-point array is float32
    (or narrower) and there is one; float64 otherwise. Integer and boolean arrays follow the others.

    >>> dtype_of([np.ones(2, np.float32), np.arange(2)]), dtype_of([np.arange(2)])
    (dtype('float32'), dtype('float64'))
    """
    floats = [a.dtype for a in arrays if a is not None and a.dtype.kind == "f"]
    return F32 if floats and all(d.itemsize <= 4 for d in floats) else F64


class Printer(NumPyPrinter):
    """NumPy code for one dtype, each argument symbol printed as a given identifier.

    A Piecewise of two pieces, one of them 0, is the other times its condition (relu: z·(z > 0),
    no branch per element); other Piecewise are nested ``numpy.where`` (``select`` costs 20 µs
    on tiny arrays).  In float32 code an activation's exp cap is float32's.
    """

    def __init__(self, idents: dict, dtype):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})
        self.idents, self.dtype = idents, np.dtype(dtype)

    def _print(self, expr, **kwargs):
        code = super()._print(expr, **kwargs)
        if self.dtype != F64 and isinstance(expr, sympy.Function) and hasattr(expr, "_numpycode"):
            code = code.replace(f", {EXP_CAP[F64]})", f", {EXP_CAP[self.dtype]})")
        return code

    def _print_Symbol(self, sym):
        if sym not in self.idents:
            raise CompileError(f"cannot compile: {sym} is not an argument of the elementwise code")
        return self.idents[sym]

    def _constant(self, value) -> str:
        return f"numpy.{self.dtype.name}({self._print(value)})"

    def _print_Piecewise(self, expr):
        pieces = [(e, c) for e, c in expr.args]
        if pieces[-1][1] != sympy.true:
            pieces.append((sympy.nan, sympy.true))
        if len(pieces) == 2 and sympy.S.Zero in (pieces[0][0], pieces[1][0]):
            (e1, c1), (e2, _) = pieces
            value, mask = (e1, c1) if e2 == 0 else (e2, sympy.Not(c1))
            if value.is_Number and value.is_finite:              # relu': (z > 0) as 0.0 or 1.0
                cast = f"numpy.asarray({self._print(mask)}, numpy.{self.dtype.name})"
                return cast if value == 1 else f"({self._print(value)}*{cast})"
            if not value.is_Number:
                return f"(({self._print(value)})*{self._print(mask)})"
        code = self._constant(pieces[-1][0]) if pieces[-1][0].is_Number else self._print(pieces[-1][0])
        for e, c in reversed(pieces[:-1]):
            branch = self._constant(e) if e.is_Number else self._print(e)
            code = f"numpy.where({self._print(c)}, {branch}, {code})"
        return code


def code_of(expr, idents: dict, dtype) -> str:
    """``expr`` as NumPy code for ``dtype``; CompileError for what NumPy cannot evaluate."""
    return checked_print(Printer(idents, dtype), expr)


def define(name: str, lines: list, namespace: dict | None = None):
    """The function ``name`` that ``lines`` (generated code) define, run with ``numpy`` and ``namespace``;
    its text is its ``source``."""
    source = "\n".join(lines) + "\n"
    namespace = {"numpy": np, **(namespace or {})}
    exec(compile(source, f"<symbackprop {name}>", "exec"), namespace)   # our own printed code
    fn = namespace[name]
    fn.source = source
    return fn


def elementwise(part, dtype):
    """One lambdified elementwise part (``part.expr`` in ``part.args``) as a function for ``dtype``,
    its result always an array of that dtype and of the first argument's shape."""
    idents = {a: f"_v{n}" for n, a in enumerate(part.args)}
    code = code_of(part.expr, idents, dtype)
    body = f"numpy.asarray({code}, numpy.{np.dtype(dtype).name})"
    if not part.expr.free_symbols:
        body = f"numpy.full(numpy.shape(_v0), {code}, numpy.{np.dtype(dtype).name})"
    return define("_part", [f"def _part({', '.join(idents.values())}):", f"    return {body}"])
