"""Issue 16, numbers: the compiled conv code, the loop-by-loop reference and the printed formulas
against explicit loops written here; check on random configurations; torch's layout; float32;
the compact forms (∂E/∂K a correlation, ∂E/∂a a full convolution with the rotated kernel)."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import symbackprop as sb
from symbackprop import _conv_reference as reference
from symbackprop._conv_check import check_conv, element_name
from symbackprop._conv_names import plain
from symbackprop._conv_numeric import ConvFunction
from symbackprop._program import printed_formulas

NET_2D = {"inputs": [2, 6, 6], "loss": "cross_entropy", "layer": [
    {"kind": "conv", "channels": 3, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu", "bias": True},
    {"kind": "maxpool", "size": 2},
    {"size": 3, "activation": "softmax", "bias": True}]}
NET_1D = {"inputs": [2, 9], "loss": "bce", "layer": [
    {"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
    {"kind": "avgpool", "size": 2, "stride": 1},
    {"size": 1, "activation": "sigmoid"}]}


# ---------------------------------------------------------------- explicit loops, written here
def loop_conv(x, K, b, stride, pad):
    """One sample x (in channels, *maps): z[c, i] = b[c] + Σ_d Σ_u K[c, d, u]·xpad[d, s·i + u]."""
    xp = np.pad(x, [(0, 0)] + [(p, p) for p in pad])
    out = [(n - k) // s + 1 for n, k, s in zip(xp.shape[1:], K.shape[2:], stride)]
    z = np.zeros((K.shape[0], *out))
    for c in range(K.shape[0]):
        for i in np.ndindex(*out):
            total = 0.0 if b is None else b[c]
            for d in range(K.shape[1]):
                for u in np.ndindex(*K.shape[2:]):
                    total += K[(c, d, *u)] * xp[(d, *[s * ii + uu for s, ii, uu in zip(stride, i, u)])]
            z[(c, *i)] = total
    return z


def loop_conv_back(x, K, delta, stride, pad):
    """(dK, db, dx) for one sample: every δ[c, i] goes to K[c, d, u] times xpad and to xpad times K."""
    xp = np.pad(x, [(0, 0)] + [(p, p) for p in pad])
    dK, dxp = np.zeros(K.shape), np.zeros(xp.shape)
    for c in range(K.shape[0]):
        for i in np.ndindex(*delta.shape[1:]):
            for d in range(K.shape[1]):
                for u in np.ndindex(*K.shape[2:]):
                    at = (d, *[s * ii + uu for s, ii, uu in zip(stride, i, u)])
                    dK[(c, d, *u)] += delta[(c, *i)] * xp[at]
                    dxp[at] += delta[(c, *i)] * K[(c, d, *u)]
    crop = tuple(slice(p, p + n) for p, n in zip(pad, x.shape[1:]))
    return dK, delta.reshape(len(delta), -1).sum(axis=1), dxp[(slice(None), *crop)]


def loop_pool(a, mode, size, stride):
    """One sample: (pooled, the flat window index of each first maximum)."""
    out = [(n - w) // s + 1 for n, w, s in zip(a.shape[1:], size, stride)]
    pooled, where = np.zeros((a.shape[0], *out)), np.zeros((a.shape[0], *out), dtype=int)
    for c in range(a.shape[0]):
        for i in np.ndindex(*out):
            window = a[(c, *[slice(s * ii, s * ii + w) for s, ii, w in zip(stride, i, size)])].ravel()
            pooled[(c, *i)] = window.max() if mode == "max" else window.mean()
            where[(c, *i)] = np.argmax(window)             # NumPy's argmax: the first maximum
    return pooled, where


def loop_pool_back(shape, up, where, mode, size, stride):
    da = np.zeros(shape)
    for c in range(shape[0]):
        for i in np.ndindex(*up.shape[1:]):
            for m, u in enumerate(np.ndindex(*size)):
                at = (c, *[s * ii + uu for s, ii, uu in zip(stride, i, u)])
                if mode == "avg":
                    da[at] += up[(c, *i)] / np.prod(size)
                elif m == where[(c, *i)]:
                    da[at] += up[(c, *i)]
    return da


def loops_2d(P, X, T):
    """conv 3×3 pad 1 relu +b → max pool 2 → dense softmax +b, cross-entropy; sums over the batch."""
    E, g = 0.0, {key: np.zeros_like(v) for key, v in P.items()}
    for x, t in zip(X, T):
        z2 = loop_conv(x, P["K[1]"], P["b[2]"], (1, 1), (1, 1))
        a2 = np.maximum(z2, 0.0)
        a3, where = loop_pool(a2, "max", (2, 2), (2, 2))
        flat = a3.ravel()
        z4 = np.array([P["b[4]"][j] + sum(flat[m] * P["W[3]"][m, j] for m in range(len(flat))) for j in range(3)])
        a4 = np.exp(z4 - z4.max()) / np.exp(z4 - z4.max()).sum()
        E += -sum(t[j] * np.log(a4[j]) for j in range(3))
        d4 = a4 - t                                               # softmax with cross-entropy
        g["W[3]"] += np.outer(flat, d4)
        g["b[4]"] += d4
        da3 = (P["W[3]"] @ d4).reshape(a3.shape)
        d2 = loop_pool_back(a2.shape, da3, where, "max", (2, 2), (2, 2)) * (z2 > 0)
        dK, db, _ = loop_conv_back(x, P["K[1]"], d2, (1, 1), (1, 1))
        g["K[1]"] += dK
        g["b[2]"] += db
    return E, g


def loops_1d(P, X, T):
    """conv 3 stride 2 pad 1 tanh → avg pool 2 stride 1 → dense 1 sigmoid, bce; sums over the batch."""
    E, g = 0.0, {key: np.zeros_like(v) for key, v in P.items()}
    for x, t in zip(X, T):
        z2 = loop_conv(x, P["K[1]"], None, (2,), (1,))
        a2 = np.tanh(z2)
        a3, where = loop_pool(a2, "avg", (2,), (1,))
        flat = a3.ravel()
        z4 = sum(flat[m] * P["W[3]"][m, 0] for m in range(len(flat)))
        a4 = 1.0 / (1.0 + np.exp(-z4))
        E += -(t[0] * np.log(a4) + (1 - t[0]) * np.log(1 - a4))
        d4 = a4 - t[0]                                            # sigmoid with bce
        g["W[3]"][:, 0] += flat * d4
        da3 = (P["W[3]"][:, 0] * d4).reshape(a3.shape)
        d2 = loop_pool_back(a2.shape, da3, where, "avg", (2,), (1,)) * (1 - a2 ** 2)
        g["K[1]"] += loop_conv_back(x, P["K[1]"], d2, (2,), (1,))[0]
    return E, g


def _point(net, rng, batch=3):
    f = ConvFunction(net)
    P = {name: rng.normal(0.0, 0.6, shape) for name, shape in f.shapes.items()}
    X = rng.uniform(-1.0, 1.0, (batch, *net.inputs))
    n = net.layers[-1].size
    T = np.eye(n)[rng.integers(0, n, batch)] if net.loss.name == "cross_entropy" else rng.uniform(0.1, 0.9, (batch, n))
    return f, P, X, T


def _printed(net, P, X, T) -> tuple:
    """E and every gradient from the printed formulas, summed over the batch, as arrays."""
    values = {element_name(name, index): v for name, M in P.items() for index, v in np.ndenumerate(M)}
    values |= {plain("x", tuple(i + 1 for i in index), None): X[(slice(None), *index)] for index in np.ndindex(*net.inputs)}
    values |= {plain("t", (j + 1,), None): T[:, j] for j in range(T.shape[1])}
    out = printed_formulas(sb.derive(net, weights=()))(values)
    grads = {name: np.array([np.sum(out[element_name(name, index)]) for index in np.ndindex(*M.shape)]).reshape(M.shape)
             for name, M in P.items()}
    return np.sum(out["E"]), grads


@pytest.mark.parametrize("spec,loops", [(NET_2D, loops_2d), (NET_1D, loops_1d)], ids=["2d", "1d"])
def test_three_computations_agree_with_explicit_loops(spec, loops):
    net = sb.network(spec)
    f, P, X, T = _point(net, np.random.default_rng(7))
    E, want = loops(P, X, T)
    layers = net.as_dict()["layer"]
    got = {"compiled": f(P, X, T), "reference": reference.backprop_conv(net.inputs, layers, net.loss.name, P, X, T)[:2],
           "printed": _printed(net, P, X, T)}
    for who, (E_got, grads) in got.items():
        assert float(E_got) == pytest.approx(E, rel=1e-9, abs=1e-12), who
        assert sorted(grads) == sorted(want), who
        for name in want:
            assert np.abs(want[name]).max() > 1e-3, name           # nothing vanishes unseen
            np.testing.assert_allclose(grads[name], want[name], rtol=1e-9, atol=1e-12, err_msg=f"{who} {name}")


# ---------------------------------------------------------------- check on random configurations
HIDDEN = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "softplus", "z/(1+abs(z))"]
OUTPUTS = [("sigmoid", "bce"), ("softmax", "cross_entropy"), ("linear", "mse"), ("tanh", "mse")]


@st.composite
def conv_nets(draw):
    dims = draw(st.sampled_from([1, 2]))
    maps = [draw(st.integers(3, 6 if dims == 2 else 9)) for _ in range(dims)]
    kernel, stride, pad = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    out = min((n + 2 * pad - kernel) // stride + 1 for n in maps)
    conv = {"kind": "conv", "channels": draw(st.integers(1, 2)), "kernel": kernel, "stride": stride,
            "padding": pad, "activation": draw(st.sampled_from(HIDDEN)), "bias": draw(st.booleans())}
    pool = {"kind": draw(st.sampled_from(["maxpool", "avgpool"])), "size": draw(st.integers(1, min(2, out))),
            "stride": draw(st.integers(1, 2))}
    act, loss = draw(st.sampled_from(OUTPUTS))
    dense = {"size": draw(st.integers(2 if act == "softmax" else 1, 3)), "activation": act, "bias": draw(st.booleans())}
    return sb.network({"inputs": [draw(st.integers(1, 2)), *maps], "loss": loss, "layer": [conv, pool, dense]})


@settings(max_examples=20, deadline=None)
@given(conv_nets(), st.integers(0, 2**16), st.integers(1, 2))
def test_check_passes_on_random_configurations(net, seed, batch):
    report = check_conv(net, samples=2, seed=seed, batch=batch)
    assert report, str(report)
    assert {r.pair for r in report.rows} == {"printed vs reference", "vectorized vs reference", "printed vs vectorized",
                                            "finite differences vs reference"}


def test_check_finds_a_max_pool_gradient_spread_to_every_entry(monkeypatch):
    net = sb.network({"inputs": [1, 5, 5], "loss": "mse", "layer": [
        {"kind": "conv", "channels": 2, "kernel": 2, "activation": "tanh"}, {"kind": "maxpool", "size": 2},
        {"size": 2, "activation": "linear"}]})
    monkeypatch.setattr(reference, "pool_backward", lambda shape, mode, size, stride, up, chosen: np.repeat(
        np.repeat(up, size[0], axis=2), size[1], axis=3))
    report = check_conv(net, samples=1)
    assert not report
    assert {(r.pair, r.layer) for r in report.failures} >= {("vectorized vs reference", "K[1]"),
                                                            ("finite differences vs reference", "K[1]")}


def test_the_reference_reads_nothing_symbolic():
    source = Path(reference.__file__).read_text(encoding="utf-8").split('"""', 2)[2]
    assert "sympy" not in source
    assert [line for line in source.splitlines() if line.startswith("from .")] == [
        "from ._tables import _loss_value, _output_delta, act_prime, act_value"]


# ---------------------------------------------------------------- layout, dtype, shapes
@pytest.mark.parametrize("inputs,kernel,stride,pad", [([3, 5, 6], [2, 3], [2, 1], [1, 0]), ([3, 7], [3], [2], [1])],
                         ids=["2d", "1d"])
def test_kernels_are_laid_out_as_torch_conv_weight(inputs, kernel, stride, pad):
    """K[1][c, d, u, v]: out channel c, in channel d, kernel row u, column v (torch.nn.Conv2d.weight)."""
    net = sb.network({"inputs": inputs, "layer": [{"kind": "conv", "channels": 2, "kernel": kernel, "stride": stride,
                                                   "padding": pad, "activation": "linear", "bias": True},
                                                  {"size": 1, "activation": "linear"}]})
    f, P, X, T = _point(net, np.random.default_rng(3), batch=2)
    assert f.shapes["K[1]"] == (2, 3, *kernel) and f.shapes["b[2]"] == (2,)
    _, _, info = f(P, X, T, details=True)
    for n in range(2):
        np.testing.assert_allclose(info["z"][2][n], loop_conv(X[n], P["K[1]"], P["b[2]"], stride, pad), rtol=1e-12)


def test_torch_agrees_when_installed():
    torch = pytest.importorskip("torch")
    net = sb.network(NET_2D)
    f, P, X, T = _point(net, np.random.default_rng(5))
    _, _, info = f(P, X, T, details=True)
    z = torch.nn.functional.conv2d(torch.tensor(X), torch.tensor(P["K[1]"]), torch.tensor(P["b[2]"]), padding=1)
    np.testing.assert_allclose(info["z"][2], z.numpy(), rtol=1e-10)


def test_float32_in_float32_out():
    net = sb.network(NET_2D)
    f, P, X, T = _point(net, np.random.default_rng(1))
    E64, g64 = f(P, X, T)
    E32, g32 = f({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), T.astype(np.float32))
    assert E32.dtype == np.float32 and all(g.dtype == np.float32 for g in g32.values())
    assert float(E32) == pytest.approx(float(E64), rel=1e-5)
    for name, g in g64.items():
        np.testing.assert_allclose(g32[name], g, atol=1e-5 * np.abs(g).max())
    assert f(P, X.astype(np.float32), T)[0].dtype == np.float64          # float32 only when everything is


def test_mean_reduction():
    net = sb.network(NET_1D)
    f, P, X, T = _point(net, np.random.default_rng(2), batch=4)
    (E, g), (Em, gm) = f(P, X, T), ConvFunction(net, reduction="mean")(P, X, T)
    assert Em == pytest.approx(E / 4) and all(np.allclose(gm[k], g[k] / 4) for k in g)


@pytest.mark.parametrize("change,message", [
    (lambda P, X, T: ({**P, "K[1]": P["K[1]"][0]}, X, T), r"K\[1\] has shape \(2, 3, 3\); the network needs \(3, 2, 3, 3\)"),
    (lambda P, X, T: (P, X[:, :1], T), r"X has shape \(3, 1, 6, 6\); the network needs \(batch, 2, 6, 6\)"),
    (lambda P, X, T: (P, X, T[:, :2]), r"T has shape \(3, 2\); the network needs \(batch, 3\)"),
    (lambda P, X, T: ({k: v for k, v in P.items() if k != "b[4]"}, X, T), r"missing b\[4\]"),
], ids=["kernel", "inputs", "targets", "missing"])
def test_wrong_shapes_name_the_expected_one(change, message):
    net = sb.network(NET_2D)
    f, P, X, T = _point(net, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        f(*change(P, X, T))


# ---------------------------------------------------------------- the compact forms, numerically
def correlate(x, w):
    """'valid' correlation of maps x with w (same number of axes): out[i] = Σ_u w[u]·x[i + u]."""
    windows = sliding_window_view(x, w.shape)
    return np.tensordot(windows, w, axes=w.ndim)


def dilate(delta, stride):
    """δ (…, *out) with s − 1 zeros between neighbours along each position axis."""
    out = delta.shape[-len(stride):]
    D = np.zeros((*delta.shape[:-len(stride)], *[s * (o - 1) + 1 for s, o in zip(stride, out)]))
    D[(Ellipsis, *[slice(None, None, s) for s in stride])] = delta
    return D


@pytest.mark.parametrize("inputs,kernel,stride,pad", [
    ([2, 7, 7], [3, 3], [1, 1], [0, 0]), ([2, 7, 7], [3, 3], [1, 1], [1, 1]), ([2, 7, 8], [3, 3], [2, 2], [0, 0]),
    ([2, 8, 7], [3, 3], [2, 2], [1, 1]), ([2, 7, 7], [2, 2], [3, 3], [2, 2]), ([1, 6, 7], [2, 3], [2, 1], [1, 2]),
    ([2, 9], [3], [2], [1])], ids=["s1p0", "s1p1", "s2p0", "s2p1", "s3p2", "rect", "1d"])
def test_compact_forms(inputs, kernel, stride, pad):
    """∂E/∂K = correlation(padded input, dilated δ); ∂E/∂a = full convolution(dilated δ, rotated K), cropped."""
    net = sb.network({"inputs": inputs, "loss": "mse", "layer": [
        {"kind": "conv", "channels": 2, "kernel": kernel, "stride": stride, "padding": pad, "activation": "tanh"},
        {"size": 2, "activation": "linear"}]})
    f, P, X, T = _point(net, np.random.default_rng(4), batch=2)
    _, grads, info = reference.backprop_conv(net.inputs, net.as_dict()["layer"], "mse", P, X, T)
    D, K, dims = dilate(info["delta"][2], stride), P["K[1]"], len(kernel)
    Xp = np.pad(X, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    dK = np.zeros(K.shape)
    for n in range(len(X)):
        for c in range(K.shape[0]):
            for d in range(K.shape[1]):
                dK[c, d] += correlate(Xp[n, d], D[n, c])[tuple(slice(0, k) for k in kernel)]
    np.testing.assert_allclose(dK, grads["K[1]"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dK, f(P, X, T)[1]["K[1]"], rtol=1e-12, atol=1e-14)
    rotated = np.flip(K, axis=tuple(range(2, 2 + dims)))
    for turn, agree in ((rotated, True), (K, False)):          # the kernel not flipped is the classic mistake
        dX = np.zeros(Xp.shape)
        for n in range(len(X)):
            for d in range(K.shape[1]):
                for c in range(K.shape[0]):
                    full = correlate(np.pad(D[n, c], [(k - 1, k - 1) for k in kernel]), turn[c, d])
                    dX[(n, d, *[slice(0, m) for m in full.shape])] += full
        crop = dX[(slice(None), slice(None), *[slice(p, p + m) for p, m in zip(pad, inputs[1:])])]
        assert np.allclose(crop, info["da"][1], rtol=1e-12, atol=1e-14) == agree
