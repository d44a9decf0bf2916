"""Dense gradients as NumPy code generated once: one straight-line function per network, dtype and use.

``Vectorized`` (``_compile.py``) holds the elementwise parts (f, f', the output δ, the loss
term) as SymPy expressions of a generic z, a, t and la (the log-softmax).  Here they are
printed (``_numpy_code.py``) into the layer loop, unrolled: matrix products, the elementwise
code inlined, no per-call dispatch; and ``entry`` checks a call's arrays with one comparison
each before it runs a kernel.

>>> import numpy as np
>>> from symbackprop._spec import from_spec
>>> from symbackprop._compile import vectorized
>>> source = kernel(vectorized(from_spec("2-1", activation="sigmoid")), np.float32, "loss").source
>>> print(source.splitlines()[2])
    a2 = ((1.0/(1.0 + numpy.exp(numpy.minimum(-(z2), 87.0)))))
"""
from __future__ import annotations

import numpy as np
import sympy

from ._inplace import Scratch, result_dtype, rewrite
from ._numpy_code import F32, F64, code_of, define
from ._spare import Spare


#: the kept arrays (``_inplace.py``) pay from about this size of a hidden layer's array: below it a
#: fresh array comes from memory the C library holds, and the kernel with kept arrays was about 1 µs
#: slower (2-3-1 at batch 32); at 512 KB the plain one took 1.6× as long (128-128-10)
SCRATCH_FROM = 64 * 1024
#: NumPy 2's type rules: a Python number does not widen an array or a NumPy scalar, so E (the sum of
#: an array of the dtype) keeps the dtype through penalties and the mean without a last conversion
_WEAK_SCALARS = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
#: dW[k] = a[k]ᵀ δ[k+1] of at least this many entries uses matmul past batch 1: measured on 784×128
#: (batches 2 to 64), matmul is 1.1-1.5× faster than dot; at 128×10 and below dot is faster at every
#: batch, and at batch 1 (an outer product) dot is 2-7× faster everywhere
_MATMUL_FROM = 128 * 128


class _Lines:
    """The kernel's lines, and the elementwise parts printed into them."""

    def __init__(self, dtype):
        self.dtype, self.lines = np.dtype(dtype), []
        self.known = {"X": self.dtype, "T": self.dtype}      # arrays whose dtype is certain: name → dtype

    def __call__(self, line: str):
        self.lines.append("    " + line)

    def value(self, expr, idents: dict, like: str) -> str:
        """An elementwise expression as an array of the dtype, ``like``'s shape when it is a constant."""
        code = code_of(expr, idents, self.dtype)
        if not expr.free_symbols:
            return f"numpy.full({like}.shape, {code}, numpy.{self.dtype.name})"
        if result_dtype(code, self.known) == self.dtype:
            return f"({code})"                                  # an array of the dtype already
        return f"numpy.asarray({code}, numpy.{self.dtype.name})"


def kernel(v, dtype, mode: str = "grad"):
    """The generated function ``(W1, …, b2, …, X, T)`` for ``v`` (a Vectorized), checked arrays of ``dtype``.

    mode "grad" returns (E, dW, db), keeping the hidden layers' arrays between calls, and "plain" the
    same without; "loss" returns E; "details" returns (E, dW, db, info) with
    info = {"Z", "A", "delta", "E" per sample} as lists indexed like the layers (index 0: the inputs).
    A tied layer's weights come in as the shared matrix transposed; its gradient is None.
    """
    net, dt = v.network, np.dtype(dtype)
    L = net.depth
    args = [f"W{k}" for k in range(1, L)] + ([f"b{k}" for k in range(2, L + 1)] if net.bias else []) + ["X", "T"]
    emit = _Lines(dt)
    scratch = {} if mode == "grad" else None    # the hidden layers' arrays kept between calls: name → (width, dtype)
    mode = "grad" if mode == "plain" else mode  # "plain": the gradients without kept arrays
    if v.reduction == "mean" or mode == "details":
        emit("n = X.shape[0]")
    skips = dict(net.skips)
    a = {1: "X"}
    for k in range(2, L + 1):
        hidden = scratch is not None and k < L
        emit.known[f"z{k}"] = dt
        if hidden:
            scratch[f"z{k}"] = (net.layers[k - 1], dt)
            emit(f"numpy.dot({a[k - 1]}, W{k - 1}, out=z{k})")
        else:
            emit(f"z{k} = numpy.dot({a[k - 1]}, W{k - 1})")
        if net.bias:
            emit(f"z{k} += b{k}")
        if k in skips:                                          # z[k] adds a[s]
            emit(f"z{k} += {a[skips[k]]}")
        a[k] = f"a{k}"
        if v.f[k - 2] is None:                                  # softmax and the like, shifted by the max
            emit(f"s{k} = z{k} - z{k}.max(axis=1, keepdims=True)")
            emit(f"e{k} = numpy.exp(s{k})")
            emit(f"q{k} = e{k}.sum(axis=1, keepdims=True)")
            emit(f"a{k} = {v.coupled[k - 2].numpy.format(s=f's{k}', e=f'e{k}', q=f'q{k}')}")
        else:
            f = v.f[k - 2]
            code = code_of(f.expr, {f.args[0]: f"z{k}"}, dt)
            if not (hidden and _in_place(emit, scratch, code, f"a{k}", {f"z{k}"}, k)):
                emit(f"a{k} = {emit.value(f.expr, {f.args[0]: f'z{k}'}, f'z{k}')}")
            emit.known[f"a{k}"] = dt
    _output_stage(v, emit, L, mode)
    if mode != "loss":
        _backward(v, emit, L, scratch)
    _reduce_and_penalise(v, emit, L, mode)
    if not _WEAK_SCALARS:                  # NumPy 1.x: float32 E / n and E + λ·Σw² become float64
        emit(f"E = numpy.{dt.name}(E)")
    if mode == "loss":
        emit("return E")
    else:
        dW = "[" + ", ".join("None" if k in dict(net.ties) else f"dW{k}" for k in range(1, L)) + "]"
        db = "[" + ", ".join(f"db{k}" for k in range(2, L + 1)) + "]" if net.bias else "None"
        if mode == "details":
            info = (f'{{"Z": [None, {", ".join(f"z{k}" for k in range(2, L + 1))}], '
                    f'"A": [{", ".join(a[k] for k in range(1, L + 1))}], '
                    f'"delta": [None, {", ".join(f"d{k}" for k in range(2, L + 1))}], "E": per}}')
            emit(f"return E, {dW}, {db}, {info}")
        else:
            emit(f"return E, {dW}, {db}")
    head, namespace = [f"def _kernel({', '.join(args)}):"], {}
    if scratch:
        kept = Scratch(scratch)
        namespace.update(_spare=Spare(), _make=kept.make)
        head += ["    _n = X.shape[0]", "    _s = _spare.take(_n, _make, _n)", f"    {', '.join(scratch)}, = _s"]
        emit.lines.insert(-1, f"    if _n <= {kept.most}:\n        _spare.give(_n, _s)")
    return define("_kernel", head + emit.lines, namespace)


def _in_place(emit: _Lines, scratch: dict, code: str, target: str, arrays: set, k: int) -> bool:
    """``target`` = ``code`` (over layer k's batch-sized ``arrays``) as ufunc calls into layer k's
    scratch arrays (``_inplace.py``); False, emitting nothing, for code of another form."""
    width = scratch[f"z{k}"][0]
    temps = {name: dt for name, (_, dt) in scratch.items() if name.startswith(f"_t{k}_")}
    found = rewrite(code, target, emit.dtype, arrays, temps, f"_t{k}_")
    if found is None:
        return False
    for line in found[0]:
        emit(line)
    scratch.setdefault(target, (width, emit.dtype))
    scratch.update({name: (width, dt) for name, dt in found[1].items()})
    return True


def _output_stage(v, emit: _Lines, L: int, mode: str) -> None:
    """E (and per sample, for details) and δ[L]: the loss term and the output δ share their
    common subexpressions (a − t)."""
    term = v.loss_term.expr
    z, a, t, la = v.loss_term.args[:4]
    idents = {z: f"z{L}", a: f"a{L}", t: "T", la: f"la{L}"}
    if la in term.free_symbols:
        emit(f"la{L} = s{L} - numpy.log(q{L})")                # log-softmax, from the shifted z
    if v.scores is not None:                                    # a coupled loss reads s = Σ t·a per sample
        idents[v.loss_term.args[4]] = f"sc{L}"
        emit(f"sc{L} = (a{L} * T).sum(axis=1, keepdims=True)")
    second = None
    if mode != "loss":
        parts = v.scores or (v.output_delta if v.output_delta is not None else v.dE_da,)
        second = [part.expr.xreplace(dict(zip(part.args, v.loss_term.args[:2] + (t,) + v.loss_term.args[4:])))
                  for part in parts]
    exprs = [term] if second is None else [term, *second]
    temps, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_c"))
    for tmp, value in temps:
        idents[tmp] = tmp.name
        code = code_of(value, idents, emit.dtype)
        emit(f"{tmp.name} = {code}")
        known = result_dtype(code, emit.known)
        if known is not None:
            emit.known[tmp.name] = known
    loss = emit.value(reduced[0], idents, f"z{L}")
    if mode == "details":
        emit(f"per = {loss}.sum(axis=1)")
        emit("E = per.sum()")
    else:
        emit(f"E = {loss}.sum()")
    if second is None:
        return
    if v.output_delta is not None:
        emit(f"d{L} = {emit.value(reduced[1], idents, f'z{L}')}")
    elif v.scores is not None:                  # ∂E/∂a = ∂term/∂a + t·Σ ∂term/∂s, times f'
        emit(f"u = {emit.value(reduced[1], idents, f'z{L}')}")
        emit(f"d{L} = u + T * {emit.value(reduced[2], idents, f'z{L}')}.sum(axis=1, keepdims=True)")
        _times_prime(v, emit, L)
    else:                                                       # softmax: Jacobian times ∂E/∂a
        emit(f"u = {emit.value(reduced[1], idents, f'z{L}')}")
        emit(f"d{L} = a{L} * (u - (u * a{L}).sum(axis=1, keepdims=True))")


def _times_prime(v, emit: _Lines, k: int, scratch: dict | None = None) -> None:
    """d{k} *= f'(z{k}) (or f' written in a{k}), nothing for a constant 1; into scratch arrays when given."""
    fp = v.fprime[k - 2]
    if not fp.expr.free_symbols:                                # a constant f' (linear: 1)
        if fp.expr != 1:
            emit(f"d{k} *= {code_of(fp.expr, {}, emit.dtype)}")
        return
    arg = f"a{k}" if v.prime_of_output[k - 2] else f"z{k}"
    code = code_of(fp.expr, {fp.args[0]: arg}, emit.dtype)
    if scratch is None or not _in_place(emit, scratch, f"d{k} * ({code})", f"d{k}", {f"d{k}", arg}, k):
        emit(f"d{k} *= {code}")                                # δ = (δ' Wᵀ) ⊙ f'


def _backward(v, emit: _Lines, L: int, scratch: dict | None = None) -> None:
    """δ[k] = (δ[k+1] W[k]ᵀ + δ of the layers that add a[k]) ⊙ f'; ∂E/∂W[k] = a[k]ᵀ δ[k+1]."""
    net = v.network
    skipped_to: dict = {}
    for above, s in net.skips:
        skipped_to.setdefault(s, []).append(above)
    for k in range(L - 1, 0, -1):
        a, size = "X" if k == 1 else f"a{k}", net.layers[k - 1] * net.layers[k]
        if size < _MATMUL_FROM:
            emit(f"dW{k} = numpy.dot({a}.T, d{k + 1})")
        else:                                   # a large aᵀδ: matmul is faster, except at batch 1
            emit(f"dW{k} = numpy.dot({a}.T, d{k + 1}) if X.shape[0] == 1 else numpy.matmul({a}.T, d{k + 1})")
        if net.bias:
            emit(f"db{k + 1} = d{k + 1}.sum(axis=0)")
        if k == 1:
            continue
        if scratch is None:
            emit(f"d{k} = d{k + 1} @ W{k}.T")                 # matmul: faster than dot with Wᵀ
        else:
            scratch[f"d{k}"] = (net.layers[k - 1], emit.dtype)
            emit(f"numpy.matmul(d{k + 1}, W{k}.T, out=d{k})")
        for above in skipped_to.get(k, []):
            emit(f"d{k} += d{above}")
        _times_prime(v, emit, k, scratch)


def _reduce_and_penalise(v, emit: _Lines, L: int, mode: str) -> None:
    net, tied = v.network, dict(v.network.ties)
    grads = mode != "loss"
    if v.reduction == "mean":
        emit("E = E / n")
        if grads:
            for k in range(1, L):
                emit(f"dW{k} /= n")
                if net.bias:
                    emit(f"db{k + 1} /= n")
    if grads:
        for k, m in net.ties:                                   # a tied layer's gradient joins W[m]'s
            emit(f"dW{m} = dW{m} + dW{k}.T")
    for kind, lam in net.penalty:                               # λ/2·Σw² (l2), λ·Σ|w| (l1)
        for k in range(1, L):
            if k in tied:
                continue
            if kind == "l2":
                emit(f"E = E + {lam / 2!r} * numpy.sum(W{k} * W{k})")
                if grads:
                    emit(f"dW{k} += {lam!r} * W{k}")
            else:
                emit(f"E = E + {lam!r} * numpy.sum(numpy.abs(W{k}))")
                if grads:
                    emit(f"dW{k} += {lam!r} * numpy.sign(W{k})")


def _no_entry(W, b, X, T):
    return None


def entry(v, kernels: dict, scalar=None):
    """``f(W, b, X, T)`` for arrays already right: ndarrays of one dtype with kernels in ``kernels``
    (dtype → ``by_batch``'s triple) and the network's shapes; the scalar code for one sample when there is one.
    It returns None for anything else (lists, ints, mixed dtypes, wrong shapes), which the caller
    converts and checks; so every check here is one comparison.  A tied network's says None to every
    call (``Vectorized._arrays`` converts and checks them all)."""
    net = v.network
    if net.ties:
        return _no_entry
    L, n = net.depth, net.layers
    W = [f"W{k}" for k in range(1, L)]
    b = [f"b{k}" for k in range(2, L + 1)] if net.bias else []
    checks = ["type(X) is ndarray", "type(T) is ndarray", "X.ndim == 2", f"X.shape[1] == {n[0]}",
              f"T.shape == (X.shape[0], {n[-1]})", "T.dtype is dt"]
    for k, name in enumerate(W, start=1):
        checks += [f"type({name}) is ndarray", f"{name}.shape == {n[k - 1:k + 1]}", f"{name}.dtype is dt"]
    for k, name in enumerate(b, start=2):
        checks += [f"type({name}) is ndarray", f"{name}.shape == ({n[k - 1]},)", f"{name}.dtype is dt"]
    arrays = ", ".join(W + b + ["X", "T"])
    lines = ["def _entry(W, b, X, T):", "    try:", f"        {', '.join(W)}, = W",
             f"        {', '.join(b)}, = b" if b else "        if b is not None:\n            return None",
             "        dt = X.dtype", f"        ok = {' and '.join(checks)}",
             "    except (TypeError, ValueError, AttributeError):", "        return None",
             "    run = kernels.get(dt) if ok else None", "    if run is None:", "        return None"]
    if scalar is not None:
        lines += ["    if X.shape[0] == 1:", "        try:", f"            return scalar({arrays})",
                  "        except (ArithmeticError, ValueError):      # e^800, log 0: NumPy's inf and nan",
                  "            pass"]
    lines += ["    rows, plain, kept = run", f"    return (plain if X.shape[0] < rows else kept)({arrays})"]
    return define("_entry", lines, {"ndarray": np.ndarray, "kernels": kernels, "scalar": scalar})


def by_batch(v, kernel_of) -> dict:
    """dtype → (rows, plain kernel, kernel with kept arrays): below ``rows`` samples a hidden layer's
    array is under ``SCRATCH_FROM`` bytes and the plain kernel (mode "plain") runs; from there on
    the one that keeps its arrays between calls (mode "grad").  ``kernel_of(dtype, mode)`` makes them."""
    widest = max(v.network.layers[1:-1], default=0)
    found = {}
    for dt in (F64, F32):
        rows = -(-SCRATCH_FROM // (widest * dt.itemsize)) if widest else 1 << 62
        found[dt] = (rows, kernel_of(dt, "plain"), kernel_of(dt, "grad"))
    return found
