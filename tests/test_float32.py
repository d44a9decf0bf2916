"""Issue 19, items 3 and 4: compiled functions keep float32, stay stable in it and check every shape;
the code generated once (scalar for small networks at batch 1, NumPy kernels otherwise) agrees with
hand-written NumPy backprop, with a float64 run of the same function and with finite differences."""
import numpy as np
import pytest

import symbackprop as sb
from symbackprop._check import random_point
from symbackprop._compile import vectorized
from symbackprop._scalar import scalar_kernel

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _cast(W, b, X, T, dt):
    W = [None if w is None else np.asarray(w, dt) for w in W]
    return W, None if b is None else [np.asarray(v, dt) for v in b], np.asarray(X, dt), np.asarray(T, dt)


def _flat(E, dW, db) -> np.ndarray:
    parts = [np.ravel(E)] + [m.ravel() for m in dW if m is not None] + [v.ravel() for v in db or []]
    return np.concatenate(parts).astype(F64)


def _dtypes(E, dW, db) -> set:
    return {np.asarray(E).dtype} | {m.dtype for m in dW if m is not None} | {v.dtype for v in db or []}


SPECS = {
    "2-3-1 sigmoid mse": ("2-3-1", dict(activation="sigmoid", bias=True)),
    "3-4-3 tanh softmax ce": ("3-4-3", dict(activation="tanh,softmax", loss="cross_entropy", bias=True)),
    "3-4-1 relu sigmoid bce": ("3-4-1", dict(activation="relu,sigmoid", loss="bce")),
    "2-3-2 leaky_relu softmax mse": ("2-3-2", dict(activation="leaky_relu,softmax", bias=True)),
    "3-5-4-2 softplus elu linear": ("3-5-4-2", dict(activation="softplus,elu,linear", bias=True)),
    "3-4-2 custom": ("3-4-2", dict(activation="z/(1+abs(z)),sigmoid", loss="bce", bias=True)),
    "30-20-5 sigmoid (NumPy at batch 1)": ("30-20-5", dict(activation="sigmoid", bias=True)),
    "skip, tie, l2": (None, dict(layers=[3, 2, 2, 3], activation="tanh", skips={3: 2}, ties={3: 1},
                                 penalty={"l2": 0.01}, bias=True)),
}


def _network(key):
    spec, kw = SPECS[key]
    return sb.network(spec, **kw) if spec else sb.network(**kw)


@pytest.mark.parametrize("key", SPECS)
@pytest.mark.parametrize("batch", [1, 6])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_float32_in_float32_out_and_close_to_the_float64_run(key, batch, reduction):
    net = _network(key)
    f = sb.compile(net, reduction=reduction)
    W, b, X, T = random_point(net, np.random.default_rng(batch), batch)
    E64, dW64, db64 = f(W, b, X, T)
    E32, dW32, db32 = f(*_cast(W, b, X, T, F32))
    assert _dtypes(E64, dW64, db64) == {F64} and _dtypes(E32, dW32, db32) == {F32}
    ref, got = _flat(E64, dW64, db64), _flat(E32, dW32, db32)
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5 * (1 + np.abs(ref).max()))
    assert float(f.loss(*_cast(W, b, X, T, F32))) == pytest.approx(float(E64), rel=2e-4, abs=1e-5)
    assert f.loss(*_cast(W, b, X, T, F32)).dtype == F32


@pytest.mark.parametrize("key", ["3-4-3 tanh softmax ce", "skip, tie, l2"])
def test_dict_form_keeps_float32(key):
    net = _network(key)
    f = sb.compile(net)
    rng = np.random.default_rng(2)
    params = {name: rng.normal(0, 0.5, shape).astype(F32) for name, shape in f.shapes.items()}
    X = rng.uniform(-1, 1, (4, net.layers[0])).astype(F32)
    T = np.eye(net.layers[-1], dtype=F32)[rng.integers(0, net.layers[-1], 4)]
    E, grads = f(params, X, T)
    E64, grads64 = f({k: v.astype(F64) for k, v in params.items()}, X.astype(F64), T.astype(F64))
    assert E.dtype == F32 and {g.dtype for g in grads.values()} == {F32} and set(grads) == set(f.shapes)
    assert float(E) == pytest.approx(float(E64), rel=1e-5)
    for k in grads:
        np.testing.assert_allclose(grads[k], grads64[k], rtol=1e-4, atol=1e-5)


def test_the_dtype_rule():
    f = sb.compile("2-2-1", activation="tanh")
    W = [np.ones((2, 2)), np.ones((2, 1))]
    X, T = np.array([[1, 2]]), np.array([[0]])
    for given, want in [
        ((W, X, T), F64),                                                          # float64 stays
        (([w.astype(int) for w in W], X, T), F64),                                 # integers: float64
        (([w.astype(F32) for w in W], X, T), F32),                                 # integers follow float32
        (([w.astype(F32) for w in W], X.astype(F64), T), F64),                     # mixed: float64
        (([w.astype(np.float16) for w in W], X.astype(np.float16), T), F32),       # narrower: float32
        (([w.tolist() for w in W], X.tolist(), T.tolist()), F64),                  # lists: float64
    ]:
        Wg, Xg, Tg = given
        E, dW, _ = f(Wg, None, Xg, Tg)
        assert _dtypes(E, dW, None) == {want}, given
        assert f.loss(Wg, None, Xg, Tg).dtype == want


# ---------------------------------------------------------------- hand-written NumPy backprop (float64)
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _hand(W, b, X, T, hidden: str, out: str):
    """Backprop as one writes it by hand: hidden sigmoid/tanh/relu, outputs sigmoid+mse or softmax+ce
    or softmax+mse; E and the gradients summed over the batch."""
    f, fp = {"sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
             "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
             "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float))}[hidden]
    A, Z = [X], []
    for k, (Wk, bk) in enumerate(zip(W, b)):
        z = A[-1] @ Wk + bk
        Z.append(z)
        if k < len(W) - 1:
            A.append(f(z))
        elif out == "sigmoid mse":
            A.append(_sigmoid(z))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            A.append(e / e.sum(axis=1, keepdims=True))
    a = A[-1]
    if out == "sigmoid mse":
        E, delta = 0.5 * ((a - T) ** 2).sum(), (a - T) * a * (1 - a)
    elif out == "softmax ce":
        E, delta = -(T * np.log(a)).sum(), a - T
    else:                                                # softmax, mse: the Jacobian times a − t
        u = a - T
        E, delta = 0.5 * (u ** 2).sum(), a * (u - (u * a).sum(axis=1, keepdims=True))
    dW, db = [None] * len(W), [None] * len(W)
    for k in range(len(W) - 1, -1, -1):
        dW[k], db[k] = A[k].T @ delta, delta.sum(axis=0)
        if k:
            delta = (delta @ W[k].T) * fp(Z[k - 1])
    return E, dW, db


HAND = [("2-3-1", "sigmoid", "sigmoid mse", "sigmoid", "mse"),
        ("3-4-3", "tanh", "softmax ce", "softmax", "cross_entropy"),
        ("3-4-3", "relu", "softmax mse", "softmax", "mse"),
        ("4-5-4-2", "relu", "softmax ce", "softmax", "cross_entropy"),
        ("20-12-3", "tanh", "sigmoid mse", "sigmoid", "mse")]


@pytest.mark.parametrize("spec, hidden, out, out_act, loss", HAND)
@pytest.mark.parametrize("batch", [1, 5])
def test_compiled_equals_hand_written_backprop(spec, hidden, out, out_act, loss, batch):
    net = sb.network(spec, activation=f"{hidden},{out_act}" if spec.count("-") == 2 else f"{hidden},{hidden},{out_act}",
                     loss=loss, bias=True)
    rng = np.random.default_rng(7)
    W, b, X, T = random_point(net, rng, batch)
    if hidden == "relu":                         # a hidden z exactly 0 in every sample: relu(0) = relu'(0) = 0
        W[0][:, 0], b[0][0] = 0.0, 0.0
    want = _hand(W, b, X, T, hidden, out)
    f = sb.compile(net)
    np.testing.assert_allclose(_flat(*f(W, b, X, T)), _flat(*want), rtol=1e-10, atol=1e-12)
    got32 = f(*_cast(W, b, X, T, F32))
    assert _dtypes(*got32) == {F32}
    np.testing.assert_allclose(_flat(*got32), _flat(*want), rtol=1e-4, atol=1e-5)


def test_small_networks_have_scalar_code_and_large_ones_do_not():
    assert scalar_kernel(vectorized(sb.network("2-3-1", activation="sigmoid", bias=True))) is not None
    assert scalar_kernel(vectorized(sb.network("4-5-4-2", activation="relu,relu,softmax", loss="cross_entropy")))
    assert scalar_kernel(vectorized(sb.network("30-20-5", activation="sigmoid"))) is None


@pytest.mark.parametrize("spec, kw", [("2-3-1", dict(activation="sigmoid", bias=True)),
                                      ("3-4-2", dict(activation="relu,softmax", loss="cross_entropy")),
                                      ("2-3-1", dict(activation="tanh,sigmoid", loss="bce", bias=True))])
@pytest.mark.parametrize("batch", [1, 3])
def test_check_keeps_its_float64_reference(spec, kw, batch):
    """check draws float64 points: the compiled code and the reference agree to float64's rounding."""
    report = sb.check(spec, batch=batch, **kw)
    assert report and any("vectorized" in r.pair for r in report.rows)
    assert all(r.max_abs < 1e-10 or r.max_rel < 1e-10 for r in report.rows if "finite" not in r.pair)


# ---------------------------------------------------------------- stable in float32
@pytest.mark.parametrize("spec, kw", [
    ("3-1", dict(activation="sigmoid", loss="bce")),
    ("3-3", dict(activation="softmax", loss="cross_entropy")),
    ("3-1", dict(activation="sigmoid", loss="cross_entropy")),
    ("3-2-1", dict(activation="softplus,sigmoid", loss="bce")),
    ("3-2-1", dict(activation="tanh,sigmoid", loss="mse")),
    ("3-2-3", dict(activation="relu,softmax", loss="cross_entropy", bias=True)),
    ("3-2-1", dict(activation="sigmoid,sigmoid", loss="bce", bias=True)),
])
@pytest.mark.parametrize("scale", [1e3, -1e3, 60.0, -60.0])
@pytest.mark.parametrize("batch", [1, 2])
def test_large_z_in_float32_is_finite_without_warnings(spec, kw, scale, batch):
    """|z| up to 1e3 in float32: E and every gradient finite, NumPy raises on any overflow or invalid
    value, and the numbers are the float64 run's."""
    net = sb.network(spec, **kw)
    f = sb.compile(net)
    W = [np.full((m, n), scale / m) * np.where(np.arange(n) % 2, -1.0, 1.0) for m, n in zip(net.layers, net.layers[1:])]
    b = [np.zeros(n) for n in net.layers[1:]] if net.bias else None
    X = np.ones((batch, net.layers[0]))
    T = np.zeros((batch, net.layers[-1]))
    T[:, 0] = 1.0
    E64, dW64, db64 = f(W, b, X, T)
    with np.errstate(over="raise", invalid="raise", divide="raise"):     # underflow to 0 is harmless
        E, dW, db = f(*_cast(W, b, X, T, F32))
        E_alone = f.loss(*_cast(W, b, X, T, F32))
    assert _dtypes(E, dW, db) == {F32} and np.isfinite(_flat(E, dW, db)).all()
    assert float(E) == pytest.approx(float(E64), rel=1e-5) and float(E_alone) == pytest.approx(float(E64), rel=1e-5)
    ref = _flat(E64, dW64, db64)
    np.testing.assert_allclose(_flat(E, dW, db), ref, rtol=1e-4, atol=1e-5 * (1 + np.abs(ref).max()))


# ---------------------------------------------------------------- shapes
def _dense_args():
    W = [np.ones((2, 3)), np.ones((3, 1))]
    b = [np.zeros(3), np.zeros(1)]
    return W, b, np.ones((4, 2)), np.zeros((4, 1))


@pytest.mark.parametrize("change, message", [
    (lambda W, b, X, T: ([np.ones((3, 3)), W[1]], b, X, T), r"W\[1\] has shape \(3, 3\); the network needs \(2, 3\)"),
    (lambda W, b, X, T: ([W[0]], b, X, T), r"give 2 weight matrices"),
    (lambda W, b, X, T: (W, [np.zeros(2), b[1]], X, T), r"b\[2\] has shape \(2,\); the network needs \(3,\)"),
    (lambda W, b, X, T: (W, [b[0], np.zeros((1, 1))], X, T), r"b\[3\] has shape \(1, 1\); the network needs \(1,\)"),
    (lambda W, b, X, T: (W, [b[0]], X, T), r"give 2 bias vectors"),
    (lambda W, b, X, T: (W, b, np.ones(2), T), r"X has shape \(2,\); the network needs \(batch, 2\)"),
    (lambda W, b, X, T: (W, b, np.ones((4, 3)), T), r"X has shape \(4, 3\); the network needs \(batch, 2\)"),
    (lambda W, b, X, T: (W, b, X, np.zeros(4)), r"T has shape \(4,\); the network needs \(batch, 1\).*\(4, 1\)"),
    (lambda W, b, X, T: (W, b, X, np.zeros((3, 1))), r"T has shape \(3, 1\); the network needs .*\(4, 1\)"),
])
@pytest.mark.parametrize("dt", [F64, F32])
def test_wrong_shapes_name_the_shape_needed(change, message, dt):
    f = sb.compile("2-3-1", activation="sigmoid", bias=True)
    W, b, X, T = change(*_cast(*_dense_args(), dt))
    with pytest.raises(ValueError, match=message):
        f(W, b, X, T)
    with pytest.raises(ValueError, match=message):
        f.loss(W, b, X, T)
    if len(W) == 2 and len(b) == 2:                       # the dict form says the same
        params = {"W[1]": W[0], "W[2]": W[1], "b[2]": b[0], "b[3]": b[1]}
        with pytest.raises(ValueError, match=message.replace("; the network needs", ".*")):
            f(params, X, T)


def test_right_arrays_in_any_container_give_the_same_numbers():
    f = sb.compile("2-3-1", activation="sigmoid", bias=True)
    rng = np.random.default_rng(3)
    W, b, X, T = [rng.normal(size=(2, 3)), rng.normal(size=(3, 1))], [rng.normal(size=3), rng.normal(size=1)], \
        rng.normal(size=(1, 2)), rng.uniform(size=(1, 1))
    want = _flat(*f(W, b, X, T))
    for args in [(tuple(W), tuple(b), X, T), ({1: W[0], 2: W[1]}, b, X, T),
                 ([w.tolist() for w in W], [v.tolist() for v in b], X.tolist(), T.tolist()),
                 ([np.asfortranarray(w) for w in W], b, X, T)]:
        np.testing.assert_array_equal(_flat(*f(*args)), want)


# ---------------------------------------------------------------- recurrent networks and graphs
def _rnn_point(net, rng, batch, dt):
    P = {"U": rng.normal(0, 0.5, (net.inputs, net.hidden)), "W": rng.normal(0, 0.5, (net.hidden, net.hidden)),
         "V": rng.normal(0, 0.5, (net.hidden, net.outputs))}
    if net.bias:
        P.update({"b": rng.normal(0, 0.1, net.hidden), "c": rng.normal(0, 0.1, net.outputs)})
    X = rng.uniform(-1, 1, (batch, net.steps, net.inputs))
    T = np.eye(net.outputs)[rng.integers(0, net.outputs, (batch, net.steps))]
    return {k: v.astype(dt) for k, v in P.items()}, X.astype(dt), T.astype(dt)


@pytest.mark.parametrize("kw", [dict(activation="tanh", output_activation="softmax", loss="cross_entropy", bias=True),
                                dict(activation="sigmoid", output_activation="linear", loss="mse")])
def test_rnn_keeps_float32(kw):
    net = sb.rnn(2, 3, 2, 4, **kw)
    f = sb.compile(net)
    P, X, T = _rnn_point(net, np.random.default_rng(4), 3, F64)
    E64, g64 = f(P, X, T)
    E, g = f({k: v.astype(F32) for k, v in P.items()}, X.astype(F32), T.astype(F32))
    assert E64.dtype == F64 and E.dtype == F32 and {v.dtype for v in g.values()} == {F32}
    assert float(E) == pytest.approx(float(E64), rel=1e-5)
    for k in g64:
        np.testing.assert_allclose(g[k], g64[k], rtol=1e-4, atol=1e-5)
    assert f.shapes == {k: v.shape for k, v in P.items()}


def test_rnn_large_s_in_float32_without_warnings():
    net = sb.rnn(1, 2, 2, 3, activation="sigmoid", output_activation="softmax", loss="cross_entropy")
    f = sb.compile(net)
    P = {"U": np.array([[1e3, -1e3]]), "W": np.array([[1e3, -1e3], [-1e3, 1e3]]),
         "V": np.array([[1e3, -1e3], [0, 1e3]])}
    X, T = np.ones((2, 3, 1)), np.tile(np.array([0.0, 1.0]), (2, 3, 1))
    E64, g64 = f(P, X, T)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        E, g = f({k: v.astype(F32) for k, v in P.items()}, X.astype(F32), T.astype(F32))
    assert np.isfinite(E) and float(E) == pytest.approx(float(E64), rel=1e-5)
    for k in g64:
        assert np.isfinite(g[k]).all() and g[k].dtype == F32
        np.testing.assert_allclose(g[k], g64[k], rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("change, message", [
    (lambda P, X, T: ({**P, "U": np.ones((3, 3))}, X, T), r"P\['U'\] must have shape \(2, 3\), not \(3, 3\)"),
    (lambda P, X, T: ({k: v for k, v in P.items() if k != "V"}, X, T), r"P\['V'\] must have shape \(3, 2\)"),
    (lambda P, X, T: ({**P, "Q": np.ones(2)}, X, T), r"unknown array 'Q'"),
    (lambda P, X, T: (P, X[:, :2], T), r"X has shape \(3, 2, 2\); the network needs \(batch, 4, 2\)"),
    (lambda P, X, T: (P, X, T[:2]), r"T has shape \(2, 4, 2\); the network needs .*\(3, 4, 2\)"),
])
def test_rnn_wrong_shapes_name_the_shape_needed(change, message):
    net = sb.rnn(2, 3, 2, 4, activation="tanh", bias=False)
    f = sb.compile(net)
    with pytest.raises(ValueError, match=message):
        f(*change(*_rnn_point(net, np.random.default_rng(0), 3, F32)))


def test_rnn_h0_shapes():
    net = sb.rnn(2, 3, 2, 4, activation="tanh")
    f = sb.compile(net)
    P, X, T = _rnn_point(net, np.random.default_rng(1), 3, F64)
    h0 = np.linspace(-1, 1, 3)
    E = f(P, X, T, h0)[0]
    assert f(P, X, T, np.tile(h0, (3, 1)))[0] == E and f(P, X, T, h0[None])[0] == E
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 3\); the network needs \(3,\) or \(batch, 3\)"):
        f(P, X, T, np.zeros((2, 3)))


def test_graph_keeps_float32_and_checks_shapes():
    f = sb.compile(sb.graph("q = x*y; f = sigmoid(q) + log(1 + exp(-abs(y))) + q*q"))
    x, y = np.array([-1e3, -2.0, 0.5, 3.0, 1e3]), np.array([2.0, 1.5, -0.5, 0.25, 3.0])
    v64, g64 = f({"x": x, "y": y})
    v, g = f({"x": x.astype(F32), "y": y.astype(F32)})
    assert v.dtype == F32 and {a.dtype for a in g.values()} == {F32} and v64.dtype == F64
    np.testing.assert_allclose(v, v64, rtol=1e-5)
    for k in g:
        assert np.isfinite(g[k]).all()
        np.testing.assert_allclose(g[k], g64[k], rtol=1e-4, atol=1e-4)
    one, grads = f({"x": 2, "y": 3})                  # numbers, even integers: float64
    assert one.dtype == F64 and grads["x"].dtype == F64
    with pytest.raises(ValueError, match=r"broadcast to one .*: x \(2,\), y \(3,\)"):
        f({"x": np.ones(2), "y": np.ones(3)})
