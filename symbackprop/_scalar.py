"""Straight-line scalar code for a small dense network at batch 1: every z, a and δ one Python float.

On a 2-3-1 network each NumPy call works on three numbers and costs as much as a hundred float
operations, so at batch 1 the matrix code is all overhead.  This prints the same backprop node
by node instead (z1[2] = x1·w11[1] + x2·w21[1] + b1[2], …), once, with the activations written
out through their definitions and the math module.  A float32 call computes in float64 and
returns float32.  An OverflowError, ZeroDivisionError or math domain error (e^800, log 0)
raises here, where NumPy gives inf or nan: the caller then runs the NumPy code instead.

>>> import numpy as np
>>> from symbackprop._spec import from_spec
>>> from symbackprop._compile import vectorized
>>> f = scalar_kernel(vectorized(from_spec("1-1", activation="linear")))
>>> E, dW, db = f(np.array([[2.0]]), np.array([[1.0]]), np.array([[0.0]]))
>>> float(E), dW[0].tolist()
(2.0, [[2.0]])
"""
from __future__ import annotations

import math
import re

import sympy
from sympy.printing.pycode import PythonCodePrinter

from ._numpy_code import define

#: parameters per weight layer up to which scalar code is faster than NumPy's matrix code at batch 1
#: (about 0.1 µs per parameter against 7 µs of NumPy calls per layer, measured on 2-3-1 … 32-16-4)
PER_LAYER = 64


def _logaddexp(x: float, y: float) -> float:
    """log(e^x + e^y) without overflow."""
    top = x if x > y else y
    return top + math.log1p(math.exp(-abs(x - y)))


class _Printer(PythonCodePrinter):
    """Python code with the math module; each argument symbol printed as a numbered token."""

    def __init__(self, tokens: dict):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False, "strict": True})
        self.tokens = tokens

    def _print_Symbol(self, sym):
        return self.tokens[sym]

    def _print_logaddexp(self, expr):
        return f"_logaddexp({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Pow(self, expr, rational=False):
        """A power with an exponent that need not be whole: math.pow, a ValueError where the base is
        negative (Python's ** would give a complex number; NumPy gives nan)."""
        if expr.exp.is_integer or expr.exp in (sympy.S.Half, -sympy.S.Half):
            return super()._print_Pow(expr, rational)
        return f"math.pow({self._print(expr.base)}, {self._print(expr.exp)})"


def _elementary(expr: sympy.Expr) -> sympy.Expr:
    """Every named function (σ, relu, huber, their derivatives) written out as its definition."""
    def named(e):
        return isinstance(e, sympy.Function) and "_eval_rewrite_as_exp" in type(e).__dict__
    return expr.replace(named, lambda e: type(e)._eval_rewrite_as_exp(e, *e.args))


class _Template:
    """One expression's code; ``fill(*names)`` puts each argument's name in its place."""

    _TOKEN = re.compile(r"\bARG(\d+)_\b")

    def __init__(self, expr: sympy.Expr, args):
        tokens = {s: f"ARG{n}_" for n, s in enumerate(args)}
        self.code = _Printer(tokens).doprint(_elementary(expr))
        self.constant = not expr.free_symbols

    def fill(self, *names: str) -> str:
        return self._TOKEN.sub(lambda m: names[int(m.group(1))], f"({self.code})")


def scalar_kernel(v, mode: str = "grad"):
    """``(W1, …, b2, …, X, T)`` with X of one row -> (E, dW, db), or E for mode "loss", for ``v`` (a
    Vectorized of a plain network up to PER_LAYER parameters per weight layer); None where it does
    not apply or an expression has no math-module form."""
    net = v.network
    if not net.plain or net.n_parameters > PER_LAYER * (net.depth - 1):
        return None
    try:
        return _build(v, mode)
    except (NotImplementedError, KeyError, TypeError, ValueError):     # no math form: NumPy only
        return None


def _build(v, mode: str):
    net = v.network
    L, n = net.depth, net.layers
    lines = []
    emit = lines.append
    W = [f"W{k}" for k in range(1, L)]
    b = [f"b{k}" for k in range(2, L + 1)] if net.bias else []

    def w(k, i, j):
        return f"w{k}_{i}_{j}"

    for k in range(1, L):
        rows = ", ".join("(" + "".join(f"{w(k, i, j)}, " for j in range(1, n[k] + 1)) + ")"
                         for i in range(1, n[k - 1] + 1))
        emit(f"{rows}, = W{k}.tolist()")
        if net.bias:
            emit(f"{''.join(f'b{k + 1}_{j}, ' for j in range(1, n[k] + 1))}= b{k + 1}.tolist()")
    emit(f"({''.join(f'a1_{i}, ' for i in range(1, n[0] + 1))}), = X.tolist()")
    emit(f"({''.join(f't_{j}, ' for j in range(1, n[-1] + 1))}), = T.tolist()")
    for k in range(2, L + 1):                                   # forward: z = Σ a·w + b, a = f(z)
        for j in range(1, n[k - 1] + 1):
            terms = [f"a{k - 1}_{i}*{w(k - 1, i, j)}" for i in range(1, n[k - 2] + 1)]
            emit(f"z{k}_{j} = {' + '.join(terms + ([f'b{k}_{j}'] if net.bias else []))}")
        f = v.f[k - 2]
        if f is None:                                           # softmax and the like, shifted by the max
            zs = [f"z{k}_{j}" for j in range(1, n[k - 1] + 1)]
            emit(f"m = max({', '.join(zs)})")
            for j in range(1, n[k - 1] + 1):
                emit(f"e{j} = math.exp(z{k}_{j} - m)")
            emit(f"q = {' + '.join(f'e{j}' for j in range(1, n[k - 1] + 1))}")
            code = v.coupled[k - 2].numpy.replace("numpy.", "math.")
            for j in range(1, n[k - 1] + 1):
                emit(f"a{k}_{j} = {code.format(s=f'(z{k}_{j} - m)', e=f'e{j}', q='q')}")
            if v.loss_term.args[3] in v.loss_term.expr.free_symbols:   # log-softmax, from the shifted z
                emit("m += math.log(q)")
                for j in range(1, n[k - 1] + 1):
                    emit(f"la{k}_{j} = z{k}_{j} - m")
        else:
            template = _Template(f.expr, f.args)
            for j in range(1, n[k - 1] + 1):
                emit(f"a{k}_{j} = {template.fill(f'z{k}_{j}')}")
    _output(v, emit, L, n[-1], mode)
    # a product or sum may overflow to inf without an exception (e^704·e^704): leave it to NumPy then
    if mode == "loss":
        emit("if not math.isfinite(E): raise OverflowError('E overflowed')")
        emit("return dt.type(E)")
    else:
        _backward(v, emit, L, n)
        grads = [f"a{k}_{i}*d{k + 1}_{j}" for k in range(1, L) for i in range(1, n[k - 1] + 1)
                 for j in range(1, n[k] + 1)]
        grads += [f"d{k}_{j}" for k in range(2, L + 1) for j in range(1, n[k - 1] + 1)] if net.bias else []
        emit(f"gl = [{', '.join(grads)}]")
        emit("if not math.isfinite(E + sum(gl)): raise OverflowError('a gradient overflowed')")
        emit("g = numpy.array(gl, dt)")
        at, dW, db = 0, [], []
        for k in range(1, L):
            dW.append(f"g[{at}:{at + n[k - 1] * n[k]}].reshape({n[k - 1]}, {n[k]})")
            at += n[k - 1] * n[k]
        for k in range(2, L + 1) if net.bias else ():
            db.append(f"g[{at}:{at + n[k - 1]}]")
            at += n[k - 1]
        emit(f"return dt.type(E), [{', '.join(dW)}], {'[' + ', '.join(db) + ']' if net.bias else 'None'}")
    return define("_scalar", [f"def _scalar({', '.join(W + b)}, X, T):", "    dt = X.dtype"]
                  + ["    " + line for line in lines], {"math": math, "_logaddexp": _logaddexp})


def _output(v, emit, L: int, n_out: int, mode: str) -> None:
    """E = Σ the loss term, and δ[L]; the two share their common subexpressions (a − t)."""
    z, a, t, la = v.loss_term.args[:4]
    exprs = [v.loss_term.expr]
    if mode != "loss":
        parts = v.scores or (v.output_delta if v.output_delta is not None else v.dE_da,)
        exprs += [part.expr for part in parts]
    temps, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_c"))
    args = [z, a, t, la, *v.loss_term.args[4:]] + [tmp for tmp, _ in temps]
    filled = [_Template(value, args) for _, value in temps] + [_Template(e, args) for e in reduced]
    if v.scores is not None:                                    # a coupled loss reads s = Σ t·a
        emit(f"sc = {' + '.join(f't_{j}*a{L}_{j}' for j in range(1, n_out + 1))}")
    for j in range(1, n_out + 1):
        names = [f"z{L}_{j}", f"a{L}_{j}", f"t_{j}", f"la{L}_{j}"] + (["sc"] if v.scores is not None else [])
        names += [f"c{m}_{j}" for m in range(len(temps))]
        for m, template in enumerate(filled[:len(temps)]):
            emit(f"c{m}_{j} = {template.fill(*names)}")
        emit(f"l_{j} = {filled[len(temps)].fill(*names)}")
        if mode != "loss":
            emit(f"{'d' if v.output_delta is not None else 'u'}{L}_{j} = {filled[len(temps) + 1].fill(*names)}")
            if v.scores is not None:
                emit(f"r{L}_{j} = {filled[len(temps) + 2].fill(*names)}")
    emit(f"E = {' + '.join(f'l_{j}' for j in range(1, n_out + 1))}")
    if mode != "loss" and v.scores is not None:     # ∂E/∂a = ∂term/∂a + t·Σ ∂term/∂s, times f'
        fp = v.fprime[L - 2]
        template = _Template(fp.expr, fp.args)
        emit(f"rs = {' + '.join(f'r{L}_{j}' for j in range(1, n_out + 1))}")
        for j in range(1, n_out + 1):
            arg = f"a{L}_{j}" if v.prime_of_output[L - 2] else f"z{L}_{j}"
            prime = "" if template.constant and fp.expr == 1 else f"{template.fill(arg)}*"
            emit(f"d{L}_{j} = {prime}(u{L}_{j} + t_{j}*rs)")
        return
    if mode != "loss" and v.output_delta is None:               # softmax: Jacobian times ∂E/∂a
        emit(f"s = {' + '.join(f'u{L}_{j}*a{L}_{j}' for j in range(1, n_out + 1))}")
        for j in range(1, n_out + 1):
            emit(f"d{L}_{j} = a{L}_{j}*(u{L}_{j} - s)")


def _backward(v, emit, L: int, n) -> None:
    """δi[k] = f'(·)·Σj wij[k]·δj[k+1]."""
    for k in range(L - 1, 1, -1):
        fp = v.fprime[k - 2]
        template = _Template(fp.expr, fp.args)
        for i in range(1, n[k - 1] + 1):
            total = " + ".join(f"w{k}_{i}_{j}*d{k + 1}_{j}" for j in range(1, n[k] + 1))
            arg = f"a{k}_{i}" if v.prime_of_output[k - 2] else f"z{k}_{i}"
            prime = "" if template.constant and fp.expr == 1 else f"{template.fill(arg)}*"
            emit(f"d{k}_{i} = {prime}({total})")
