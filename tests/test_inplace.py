"""The grad kernels' scratch arrays (``_inplace.py``): the same numbers bit for bit, nothing shared
between calls or threads.

The reference for the numbers is NumPy evaluating the printed code as it is: ``f(..., details=True)``
runs the kernel written without scratch arrays (its gradients come from the same printed
expressions), and, for the rewrite alone, the expression strings are evaluated as written.
"""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symbackprop as sb
from symbackprop import _inplace
from symbackprop._inplace import rewrite
from symbackprop.extend import activations

#: every hidden activation with numbers (the generic g has none), a custom one included
HIDDEN = [name for name, a in activations().items() if not a.output_only and name != "g"] + ["z/(1+abs(z))"]


def _arrays(net, dt, batch, rng, scale=2.0):
    L = net.layers
    W = [rng.normal(0, 1, (a, b)).astype(dt) for a, b in zip(L, L[1:])]
    b = [rng.normal(0, 1, n).astype(dt) for n in L[1:]] if net.bias else None
    X = (rng.normal(0, scale, (batch, L[0]))).astype(dt)
    T = rng.uniform(0, 1, (batch, L[-1])).astype(dt)
    return W, b, X, T


@pytest.fixture
def kept(monkeypatch):
    """Every batch runs the kernel that keeps its arrays (by default only from 64 KB a hidden array)."""
    monkeypatch.setattr("symbackprop._fused.SCRATCH_FROM", 1)


def _same(one, two) -> bool:
    if one is None or two is None:
        return one is two
    return all(p is None and q is None or np.array_equal(p, q, equal_nan=True) for p, q in zip(one, two))


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_bit_for_bit_as_printed(activation, dtype, kept):
    """Every hidden activation, both dtypes, with and without biases: the scratch kernel's dW and db
    equal the plain kernel's exactly (batch > 1: batch 1 of a small net takes the scalar code)."""
    rng = np.random.default_rng(7)
    for bias in (False, True):
        net = sb.network("5-7-6-3", activation=activation, bias=bias)
        f = sb.compile(net)
        for batch in (2, 9, 33):
            W, b, X, T = _arrays(net, dtype, batch, rng)
            E, dW, db = f(W, b, X, T)
            _, dW_plain, db_plain, _ = f(W, b, X, T, details=True)
            assert type(E) is np.dtype(dtype).type and dW[0].dtype == np.dtype(dtype)
            assert _same(dW, dW_plain) and _same(db, db_plain), (activation, bias, batch)
            assert E == f.loss(W, b, X, T)              # the loss kernel: the same sum, as printed


@pytest.mark.parametrize("options, reduction", [
    (dict(layers=[4, 6, 5, 6, 2], activation="tanh", bias=True, skips={4: 2}), "sum"),
    (dict(layers=[4, 6, 5, 2], activation="relu", penalty={"l2": 0.1}), "mean"),
    (dict(layers=[4, 6, 5, 6], activation="sigmoid", ties={3: 2}), "sum"),
    (dict(spec="4-6-6-2", activation="sigmoid", loss="cross_entropy", bias=True), "mean"),
])
def test_skips_penalties_ties_and_losses(options, reduction, kept):
    net = sb.network(**options)
    f = sb.compile(net, reduction=reduction)
    rng = np.random.default_rng(3)
    W, b, X, T = _arrays(net, np.float64, 11, rng, scale=0.5)
    if net.ties:
        W[2] = None                                  # the tied layer's W is the other one's, transposed
    E, dW, db = f(W, b, X, T)
    _, dW_plain, db_plain, _ = f(W, b, X, T, details=True)
    assert _same(dW, dW_plain) and _same(db, db_plain)
    for dt in (np.float32, np.float64):                 # E's type, penalties and the mean included
        cast = [None if m is None else m.astype(dt) for m in W], b and [v.astype(dt) for v in b]
        for batch in (1, 11):
            args = (*cast, X[:batch].astype(dt), T[:batch].astype(dt))
            assert type(f(*args)[0]) is np.dtype(dt).type and type(f.loss(*args)) is np.dtype(dt).type


def test_results_are_not_the_scratch_arrays(kept):
    """A call's gradients stay as they were after later calls, of the same batch and of others."""
    net = sb.network("6-40-30-3", activation="sigmoid", bias=True)
    f = sb.compile(net)
    rng = np.random.default_rng(1)
    first = _arrays(net, np.float64, 64, rng)
    E1, dW1, db1 = f(*first)
    kept = [m.copy() for m in dW1] + [v.copy() for v in db1]
    for batch in (64, 17, 64, 1, 64):
        f(*_arrays(net, np.float64, batch, rng))
    assert all(np.array_equal(p, q) for p, q in zip(kept, list(dW1) + list(db1)))
    again = f(*first)                            # the same inputs give the same numbers
    assert again[0] == E1 and _same(again[1], dW1) and _same(again[2], db1)


def test_threads_running_one_function(kept):
    """Two threads calling one compiled function at once each get the numbers a lone call gives."""
    net = sb.network("8-64-32-4", activation="tanh", bias=True)
    f = sb.compile(net)
    rng = np.random.default_rng(5)
    inputs = [_arrays(net, np.float64, n, rng) for n in (50, 50, 31, 50)]
    expected = [f(*args) for args in inputs]
    failures = []

    def work(offset):
        for round_ in range(60):
            k = (round_ + offset) % len(inputs)
            E, dW, db = f(*inputs[k])
            if not (E == expected[k][0] and _same(dW, expected[k][1]) and _same(db, expected[k][2])):
                failures.append(k)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_large_batches_are_not_kept(monkeypatch, kept):
    """Arrays over KEEP_BYTES are made per call and let go (nothing is left in the kernel's store);
    under it they stay for the next call of that batch; the numbers are the same either way."""
    net = sb.network("5-9-3", activation="sigmoid", bias=True)     # a row of scratch: 4 arrays × 9 × 8 bytes
    rng = np.random.default_rng(2)
    args = _arrays(net, np.float64, 40, rng)
    small = sb.compile(net)
    expected = small(*args)
    store = small._kernel(np.dtype(np.float64), "grad").__globals__["_spare"]
    assert store.kept() == [40]                                    # kept for the next call of 40 rows
    monkeypatch.setattr(_inplace, "KEEP_BYTES", 1000)              # 3 rows of scratch at most
    f = sb.compile(net)
    store = f._kernel(np.dtype(np.float64), "grad").__globals__["_spare"]
    for batch in (40, 3, 40):
        again = f(args[0], args[1], args[2][:batch], args[3][:batch])
        if batch == 40:
            assert again[0] == expected[0] and _same(again[1], expected[1]) and _same(again[2], expected[2])
        assert store.kept() == ([3] if batch == 3 else [])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_either_side_of_the_batch_where_arrays_are_kept(dtype):
    """Without the fixture: a 100-wide hidden layer keeps its arrays from 82 samples (float64) or 164
    (float32); the batches just below and at that size give what the plain kernel gives."""
    net = sb.network("20-100-3", activation="tanh", bias=True)
    f = sb.compile(net)
    rng = np.random.default_rng(4)
    rows = -(-64 * 1024 // (100 * np.dtype(dtype).itemsize))
    for batch in (rows - 1, rows, rows + 1, rows - 1):
        W, b, X, T = _arrays(net, dtype, batch, rng)
        E, dW, db = f(W, b, X, T)
        _, dW_plain, db_plain, _ = f(W, b, X, T, details=True)
        assert _same(dW, dW_plain) and _same(db, db_plain)


# ---------------------------------------------------------------- the rewrite against NumPy itself
_LEAVES = st.sampled_from(["z2", "a2", "z2", "a2", "0.5", "2", "1.0", "(1/3)", "numpy.float64(0.25)",
                           "numpy.float32(1/6)", "-3"])
_UNARY = ["numpy.exp({})", "numpy.tanh({})", "-({})", "abs({})", "numpy.log(1 + numpy.exp(-abs({})))",
          "numpy.minimum({}, 700.0)", "({})**2", "({})**(-1)", "({})**0.5", "({})**3", "numpy.sqrt(abs({}))",
          "(({}) > 0)**2", "numpy.asarray(numpy.less({}, 0), numpy.float32)",
          "numpy.asarray(numpy.greater({}, 0), numpy.float64)"]
_BINARY = ["({} + {})", "({} - {})", "({} * {})", "({} / {})", "numpy.maximum({}, {})", "(({})*numpy.greater({}, 0))"]


def _expressions():
    def extend(children):
        unary = st.tuples(st.sampled_from(_UNARY), children).map(lambda p: p[0].format(p[1]))
        binary = st.tuples(st.sampled_from(_BINARY), children, children).map(lambda p: p[0].format(p[1], p[2]))
        where = st.tuples(children, children, children).map(
            lambda p: f"numpy.where(({p[0]}) > 0, {p[1]}, {p[2]})")
        return unary | binary | where
    return st.recursive(_LEAVES, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_expressions(), st.sampled_from(["a3", "z2"]), st.sampled_from([np.float64, np.float32]))
def test_rewrite_computes_what_numpy_computes(code, target, dtype):
    """Any expression of the forms the printer writes: the rewritten calls leave in the target what
    NumPy's own evaluation of the code gives, bit for bit, without touching the inputs (the target may
    be one of them: then it is written last)."""
    rng = np.random.default_rng(0)
    inputs = {"z2": rng.normal(0, 2, (4, 3)).astype(dtype), "a2": rng.uniform(-1, 1, (4, 3)).astype(dtype),
              "a3": np.zeros((4, 3), dtype)}
    with np.errstate(all="ignore"):
        try:   # the kernel's own form: numpy.asarray(code, dtype), of our own test expressions
            raw = eval(code, {"numpy": np}, dict(inputs))
        except (ArithmeticError, ValueError, TypeError):
            return                                   # 0.0 ** -1, (-3) ** 0.5 and the like: never printed
        if np.iscomplexobj(raw):
            return                                   # complex constants: never printed either
        expected = np.asarray(raw, dtype)
        found = rewrite(code, target, dtype, {"z2", "a2"}, {}, "_t")
        if found is None:
            return                                                   # left as printed: nothing to compare
        lines, temps = found
        space = {"numpy": np, **{k: v.copy() for k, v in inputs.items()}}
        space.update({name: np.empty((4, 3), dt) for name, dt in temps.items()})
        exec("\n".join(lines), space)                                    # the rewrite of that expression
    assert space[target].dtype == np.dtype(dtype)
    assert np.array_equal(space[target], np.broadcast_to(expected, (4, 3)), equal_nan=True), (code, lines)
    for name in ("z2", "a2"):
        if name != target:
            assert np.array_equal(space[name], inputs[name])


def test_rewrite_leaves_unknown_forms():
    assert rewrite("numpy.select([z2 > 0], [z2], 0.0)", "a2", np.float64, {"z2"}) is None
    assert rewrite("z2", "a2", np.float64, {"z2"}) is None              # a view stays a view
    assert rewrite("numpy.exp(1.0)", "a2", np.float64, {"z2"}) is None  # a constant
    temps = {"_t0": np.dtype(bool)}
    assert rewrite("numpy.frompyfunc(f, 1, 1)(z2)", "a2", np.float64, {"z2"}, temps, "_t") is None
    assert temps == {"_t0": np.dtype(bool)}                              # left as it was
