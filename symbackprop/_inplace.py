r"""Elementwise NumPy code rewritten to write into arrays kept between calls.

A fresh batch-sized array is new memory: at batch 1024 and width 128 a float64 array is a
megabyte, about 250 page faults on first touch, and the C library hands it back to the system
when it is freed, so every call pays them again.  Measured on a 128-128-10 gradient at batch
1024, that was 920 page faults and more time than the matrix products.  The grad kernels of
``_fused.py`` therefore keep their hidden layers' arrays (``Scratch``), and the elementwise code
printed for a layer (``_numpy_code.code_of``) is rewritten here into ufunc calls with ``out=``:
the same operations on the same operands in the same order, so the numbers are the same bit for
bit.  ``numpy.where`` becomes two copies (no arithmetic either).  Code of a form the rewrite
does not know (a Python-level ``frompyfunc``, a function of constants, a bare name) is left as
printed.

>>> lines, temps = rewrite("(1.0/(1.0 + numpy.exp(-(z2))))", "a2", np.float64, {"z2"})
>>> print("\n".join(lines))
numpy.negative(z2, out=a2)
numpy.exp(a2, out=a2)
numpy.add(1.0, a2, out=a2)
numpy.divide(1.0, a2, out=a2)
>>> lines, temps = rewrite("numpy.where(z2 > 0, z2, 0.01*z2)", "a2", np.float64, {"z2"})
>>> print("\n".join(lines)); temps
numpy.multiply(0.01, z2, out=a2)
numpy.greater(z2, 0, out=_t0)
numpy.copyto(a2, z2, where=_t0)
{'_t0': dtype('bool')}
>>> rewrite("numpy.asarray(numpy.frompyfunc(f, 1, 1)(z2), dtype=float)", "a2", np.float64, {"z2"}) is None
True
"""
from __future__ import annotations

import ast
import operator

import numpy as np

_BINARY = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Pow: "power"}
_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
         ast.Pow: operator.pow}
_COMPARE = {ast.Gt: "greater", ast.Lt: "less", ast.GtE: "greater_equal", ast.LtE: "less_equal",
            ast.Eq: "equal", ast.NotEq: "not_equal"}
#: x ** c for these c, x a float array: NumPy's operator has taken these shortcuts, so the rewrite
#: takes them too (for other x, numpy.power as the operator would)
_POWERS = {2: "square", 0.5: "sqrt", -1: "reciprocal", 1: "positive"}
#: scratch kept between calls only up to this many bytes; a larger batch's is made per call
KEEP_BYTES = 1 << 28


class _Refused(Exception):
    """The code has a form the rewrite leaves as printed."""


#: what leaves code as printed: a form the rewrite does not know, no NumPy loop for the dtypes
#: (TypeError), a fold of constants that would divide by zero or overflow
_LEFT_AS_PRINTED = (_Refused, SyntaxError, TypeError, ArithmeticError, ValueError)


class _Rewrite:
    """One expression's ufunc calls, in post-order.  Each writes into a scratch array of its result's
    dtype: an operand's own temporary where there is one, else a free one (the layer's temporaries,
    then the target unless the expression reads it), else a new temporary (``temps``: name → dtype,
    shared by a layer's expressions, named ``prefix`` and a number).  The outermost call writes the
    target.

    A value is ``("scalar", number, kind, text)`` (kind: ``float``/``int`` for Python's numbers, which
    NumPy treats as weak, or a NumPy dtype for ``numpy.float32(…)``) or ``("array", name, dtype)``."""

    def __init__(self, target: str, dtype, arrays: dict, temps: dict, prefix: str):
        self.target, self.dtype, self.arrays = target, np.dtype(dtype), arrays
        self.temps, self.prefix, self.lines = temps, prefix, []
        self.free = list(temps) + ([] if target in arrays else [target])

    def value(self, node, root: bool = False):
        """The node's value, emitting the calls that make it when it is an array."""
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return ("scalar", node.value, type(node.value), repr(node.value))
        if isinstance(node, ast.Name) and node.id in self.arrays:
            return ("array", node.id, self.arrays[node.id])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.value(node.operand, root)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return self.call("negative", [node.operand], root, operator.neg)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node, root)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return self.call(_COMPARE[type(node.ops[0])], [node.left, node.comparators[0]], root)
        if isinstance(node, ast.Call) and not node.keywords:
            return self.function(node, root)
        raise _Refused

    def binary(self, node, root: bool):
        right = node.right.operand if isinstance(node.right, ast.UnaryOp) else node.right
        if isinstance(node.op, ast.Pow) and isinstance(right, ast.Constant):   # a constant exponent
            exponent, base = self.value(node.right), self.value(node.left)
            if exponent[0] == "scalar" and _python(exponent) and exponent[1] in _POWERS \
                    and base[0] == "array" and base[2].kind == "f":     # x ** 2 is NumPy's square(x)
                return self.call(_POWERS[exponent[1]], [], root, values=[base])
            return self.call("power", [], root, operator.pow, values=[base, exponent])
        return self.call(_BINARY[type(node.op)], [node.left, node.right], root, _FOLD[type(node.op)])

    def function(self, node, root: bool):
        """``abs(x)``, a NumPy ufunc, ``numpy.where``, ``numpy.asarray(x, numpy.T)`` or a NumPy scalar
        of a constant; anything else is refused."""
        func, args = node.func, node.args
        if isinstance(func, ast.Name) and func.id == "abs" and len(args) == 1:
            return self.call("absolute", args, root, abs)              # abs(array) is numpy.absolute
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "numpy"):
            raise _Refused
        fn = getattr(np, func.attr, None)
        if isinstance(fn, np.ufunc) and fn.nout == 1 and fn.nin == len(args):
            return self.call(func.attr, args, root)
        if func.attr == "where" and len(args) == 3:
            return self.where(args, root)
        if func.attr == "asarray" and len(args) == 2:
            return self.cast(self.value(args[0]), _scalar_type(args[1]), root)
        kind = _scalar_type(func)
        if len(args) == 1:
            value = self.value(args[0])
            if value[0] == "scalar" and _python(value):
                return _scalar(kind(value[1]))
        raise _Refused

    def call(self, name: str, operands: list, root: bool, fold=None, values: list | None = None):
        values = values or [self.value(n) for n in operands]
        if all(v[0] == "scalar" for v in values):
            if fold is None:
                raise _Refused                       # a NumPy function of constants: left as printed
            with np.errstate(all="raise"):           # 1/0 and the like: left as printed
                return _scalar(fold(*(v[1] for v in values)))   # what Python does with the printed code
        kinds = tuple(v[2] for v in values)
        out = np.dtype(getattr(np, name).resolve_dtypes(kinds + (None,))[-1])
        reg = self.register(out, [v[1] for v in values if v[0] == "array"], root)
        self.lines.append(f"numpy.{name}({', '.join(_text(v) for v in values)}, out={reg})")
        return ("array", reg, out)

    def where(self, args: list, root: bool):
        """numpy.where(c, x, y) as two copies: y everywhere, then x where c (no arithmetic: the same
        numbers).  y is made first, so that it, and not c or x, may take the target."""
        other = self.value(args[2])
        held = self.target in self.free and (other[0] == "scalar" or other[1] != self.target)
        if held:
            self.free.remove(self.target)            # c and x must not be made in the array written
        condition, chosen = self.value(args[0]), self.value(args[1])
        if held:
            self.free.insert(0, self.target)
        if condition[0] != "array" or condition[2] != np.dtype(bool):
            raise _Refused
        if chosen[0] == "array" and chosen[1] == self.target:
            root = False                             # the target read as x: written after, by a copy
        out = np.result_type(*(v[1] if v[0] == "scalar" and _python(v) else v[2]
                               for v in (chosen, other)))
        reg = self.register(out, [other[1]] if other[0] == "array" else [], root)
        if other[0] == "scalar" or other[1] != reg:
            self.lines.append(f"numpy.copyto({reg}, {_text(other)})")
        self.lines.append(f"numpy.copyto({reg}, {_text(chosen)}, where={condition[1]})")
        self.free += [v[1] for v in (condition, chosen) if v[0] == "array" and v[1] in self.temps]
        return ("array", reg, out)

    def cast(self, value, kind, root: bool):
        if value[0] != "array":
            raise _Refused
        if value[2] == np.dtype(kind):
            return value                             # asarray of its own dtype: the same array
        reg = self.register(np.dtype(kind), [value[1]], root)
        self.lines.append(f"numpy.copyto({reg}, {value[1]})")
        return ("array", reg, np.dtype(kind))

    def register(self, dtype, operands: list, root: bool) -> str:
        """The scratch array a call writes: the target for the outermost one (of the target's dtype),
        else an operand's own temporary, a free one or a new one; the other operands' become free."""
        own = [n for n in operands if n in self.temps or (n == self.target and n not in self.arrays)]
        if root and dtype == self.dtype:
            reg = self.target
        else:
            reg = next((n for n in own + self.free if self._dtype(n) == dtype), None)
            if reg is None:
                reg = f"{self.prefix}{len(self.temps)}"
                self.temps[reg] = dtype
        self.free = [n for n in dict.fromkeys(self.free + own) if n != reg]
        return reg

    def _dtype(self, name: str):
        return self.temps.get(name, self.dtype)


def _scalar_type(node):
    """The NumPy scalar type ``numpy.float32`` and the like names; refused for anything else."""
    kind = getattr(np, node.attr, None) if isinstance(node, ast.Attribute) else None
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "numpy"
            and isinstance(kind, type) and issubclass(kind, (np.floating, np.integer, np.bool_))):
        raise _Refused
    return kind


def _python(value) -> bool:
    """A Python number (weak in NumPy's type rules), not a NumPy scalar."""
    return value[2] is int or value[2] is float


def _scalar(number):
    """A folded constant as a value; refused unless a finite real number (no inf, nan or complex)."""
    python = type(number) in (int, float)
    if not (python or isinstance(number, (np.floating, np.integer))) or not np.isfinite(number):
        raise _Refused
    if python:
        return ("scalar", number, type(number), repr(number))
    # exact: a float32 is a Python float exactly
    return ("scalar", number, number.dtype, f"numpy.{number.dtype.name}({number.item()!r})")


def _text(value) -> str:
    return value[1] if value[0] == "array" else value[3]


def rewrite(code: str, target: str, dtype, arrays: set, temps: dict | None = None, prefix: str = "_t"):
    """Statements leaving ``code``'s value (printed NumPy code over the batch-sized ``arrays``) in the
    scratch array ``target`` of ``dtype``, and the temporaries they use (name → dtype, added to
    ``temps``); None, and ``temps`` as it was, when the code has a form the rewrite leaves alone.
    ``target`` may be one of ``arrays``: then only the outermost call writes it."""
    temps = {} if temps is None else temps
    before = dict(temps)
    try:
        work = _Rewrite(target, dtype, dict.fromkeys(arrays, np.dtype(dtype)), temps, prefix)
        result = work.value(ast.parse(code, mode="eval").body, root=True)
        if not work.lines or result[0] != "array" or result[2] != np.dtype(dtype):
            raise _Refused                           # a constant, a bare name (kept as a view), another dtype
        if result[1] != target:
            work.lines.append(f"numpy.copyto({target}, {result[1]})")
    except _LEFT_AS_PRINTED:
        temps.clear()
        temps.update(before)
        return None
    return work.lines, temps


def result_dtype(code: str, arrays: dict):
    """The dtype of ``code``'s value when its names are the arrays ``arrays`` (name → dtype): what
    NumPy's type rules give for a form the rewrite knows; None for a scalar or any other form.

    >>> f32 = np.dtype(np.float32)
    >>> result_dtype("a3*(1 - a3)", {"a3": f32}), result_dtype("a3 > 0", {"a3": f32})
    (dtype('float32'), dtype('bool'))
    >>> result_dtype("a3*numpy.float64(2.0)", {"a3": f32}), result_dtype("x*2", {"a3": f32})
    (dtype('float64'), None)
    """
    try:
        value = _Rewrite("", np.float64, arrays, {}, "_t").value(ast.parse(code, mode="eval").body)
    except _LEFT_AS_PRINTED:
        return None
    return value[2] if value[0] == "array" else None


class Scratch:
    """A kernel's batch-sized arrays (name → (width, dtype)): ``make(n)`` makes a set for n rows, and
    ``most`` is the most rows whose set is kept between calls (``KEEP_BYTES``; ``_spare.Spare``)."""

    def __init__(self, shapes: dict):
        self.shapes = dict(shapes)
        row = sum(w * np.dtype(dt).itemsize for w, dt in self.shapes.values())
        self.most = KEEP_BYTES // max(row, 1)

    def make(self, n: int) -> tuple:
        return tuple(np.empty((n, w), dt) for w, dt in self.shapes.values())
