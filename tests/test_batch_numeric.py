"""Issue 18, numbers: batch norm, layer norm and dropout between dense layers.  The printed formulas,
the compiled matrix code (compact norm backward pass) and the textbook NumPy reference (the staged
backward pass) agree to 1e-9, and with central finite differences; float32; shape errors; check
passes, and fails when the compiled gradient is wrong; a property over random small stacks."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop import CompileError, SpecError, ValuesError
from symbackprop import _batch_check as bc
from symbackprop import _batch_reference as reference
from symbackprop import _norm_reference as norm
from symbackprop._batch_numeric import BatchFunction
from symbackprop._check import finite_differences
from symbackprop._losses import configured
from symbackprop._program import printed_formulas

STACKS = {
    "bn relu, dropout, ln elu, softmax ce": {"inputs": 3, "loss": "cross_entropy", "layer": [
        {"size": 4, "activation": "linear", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
        {"kind": "dropout", "rate": 0.3}, {"size": 3, "activation": "tanh"},
        {"kind": "layernorm", "activation": "elu"}, {"size": 3, "activation": "softmax", "bias": True}]},
    "ln on inputs, bn silu, sigmoid bce": {"inputs": 3, "loss": "bce", "layer": [
        {"kind": "layernorm"}, {"size": 3, "activation": "gelu"}, {"kind": "batchnorm", "activation": "silu"},
        {"size": 1, "activation": "sigmoid", "bias": True}]},
    "dropout, ln tanh, huber": {"inputs": 2, "loss": "huber", "layer": [
        {"size": 3, "activation": "softplus", "bias": True}, {"kind": "dropout", "rate": 0.5},
        {"kind": "layernorm", "activation": "tanh"}, {"size": 2, "activation": "linear", "bias": True}]},
    "bn on inputs, dropout, sigmoid mse": {"inputs": 2, "loss": "mse", "layer": [
        {"kind": "batchnorm", "activation": "leaky_relu"}, {"kind": "dropout", "rate": 0.25},
        {"size": 2, "activation": "sigmoid"}, {"kind": "batchnorm"}, {"size": 2, "activation": "sigmoid"}]},
}


def net_of(name: str, N: int):
    return sb.network({**STACKS[name], "batch": N})


def close(got: dict, want: dict, rtol: float, atol: float = 1e-12) -> None:
    """Every array (or E) of ``got`` within rtol of ``want``, relative to the array's largest entry."""
    assert set(got) == set(want)
    for key in want:
        g, w = np.asarray(got[key], dtype=float), np.asarray(want[key], dtype=float)
        scale = max(float(np.abs(w).max()), 1.0)
        assert np.abs(g - w).max() <= max(rtol * scale, atol), (key, g, w)


def four_ways(net, seed: int, batch=None):
    """(compiled, reference, printed or None, finite differences), each {plain name or "E": value}."""
    rng = np.random.default_rng(seed)
    f = BatchFunction(net)
    point = bc.random_batch_point(net, f.shapes, rng, batch or net.samples)
    E, grads = f(*point)
    compiled = {"E": float(E), **bc.flat_gradients(grads)}
    desc = bc.plain_description(net)
    E, grads = reference.forward_backward(desc, *point)
    ref = {"E": E, **bc.flat_gradients(grads)}
    printed = None
    if batch is None:
        out = printed_formulas(sb.derive(net, weights=()))(bc.values_of(net, *point))
        printed = {name: float(out[name]) for name in compiled}
    P = point[0]
    groups = [[(P[k], i, bc.element_name(k, i)) for i in np.ndindex(P[k].shape)] for k in P]
    fd = finite_differences(lambda: reference.loss_batch(desc, *point), groups)
    return compiled, ref, printed, fd


# ---------------------------------------------------------------- the four computations agree
@pytest.mark.parametrize("N", [2, 3, 4, 5])
@pytest.mark.parametrize("name", list(STACKS))
def test_printed_compiled_reference_and_finite_differences_agree(name, N):
    net = net_of(name, N)
    for seed in range(2):
        compiled, ref, printed, fd = four_ways(net, seed)
        close(compiled, ref, 1e-9)
        close(printed, ref, 1e-9)
        close(printed, compiled, 1e-9)
        close(fd, {k: v for k, v in ref.items() if k != "E"}, 1e-5, 1e-7)


def test_any_batch_size_compiles_and_matches_the_reference():
    net = net_of("bn relu, dropout, ln elu, softmax ce", 2)
    for batch in (1, 3, 7):
        compiled, ref, printed, fd = four_ways(net, batch, batch=batch)
        assert printed is None
        close(compiled, ref, 1e-9)
        close(fd, {k: v for k, v in ref.items() if k != "E"}, 1e-5, 1e-7)


@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
def test_the_norm_layer_matches_the_existing_textbook_reference(kind):
    """dense → norm → identity dense, mse: the E and gradients of ``_norm_reference.dense_norm_mse``."""
    net = sb.network({"inputs": 2, "batch": 4, "layer": [{"size": 3, "activation": "linear", "bias": True},
                                                         {"kind": kind}, {"size": 3, "activation": "linear"}]})
    rng = np.random.default_rng(5)
    P = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3), "gamma": rng.normal(1, 0.5, 3),
         "beta": rng.normal(size=3)}
    X, T = rng.uniform(-1, 1, (4, 2)), rng.uniform(-1, 1, (4, 3))
    E, want, _ = norm.dense_norm_mse(kind, P, X, T)
    params = {"W[1]": P["W"], "b[2]": P["b"], "gamma[3]": P["gamma"], "beta[3]": P["beta"], "W[3]": np.eye(3)}
    got_E, got = BatchFunction(net)(params, X, T)
    assert abs(got_E - E) <= 1e-12 * max(1, E)
    close({k: got[k] for k in ("W[1]", "b[2]", "gamma[3]", "beta[3]")},
          {"W[1]": want["W"], "b[2]": want["b"], "gamma[3]": want["gamma"], "beta[3]": want["beta"]}, 1e-10)


def test_a_huber_threshold_reaches_the_reference():
    base = net_of("dropout, ln tanh, huber", 3)
    net = dataclasses.replace(base, loss=configured(base.loss, 0.3))
    compiled, ref, printed, fd = four_ways(net, 4)
    close(compiled, ref, 1e-9)
    close(printed, ref, 1e-9)
    assert bc.check_batch(net, samples=2)


# ---------------------------------------------------------------- dropout and the masks
def test_dropout_is_inverted_and_masks_default_to_ones():
    net = sb.network({"inputs": 2, "batch": 2, "layer": [{"kind": "dropout", "rate": 0.5},
                                                         {"size": 1, "activation": "linear"}]})
    f = BatchFunction(net)
    X, T, W = np.array([[1.0, 2.0], [3.0, -1.0]]), np.zeros((2, 1)), {"W[2]": np.array([[1.0], [1.0]])}
    masks = {2: np.array([[1, 0], [0, 1]])}
    E, g = f(W, X, T, masks)                      # a = m·x/(1 − p): z = 2, −2
    assert float(E) == pytest.approx(4.0)
    assert g["W[2]"].ravel().tolist() == pytest.approx([4.0, 4.0])   # Σ_s a_i δ: 2·2, (−2)·(−2)
    ones = f(W, X, T, {2: np.ones((2, 2))})
    default = f(W, X, T)
    assert float(default[0]) == float(ones[0]) == pytest.approx(0.5 * (6 ** 2 + 4 ** 2))
    assert np.array_equal(default[1]["W[2]"], ones[1]["W[2]"])


def test_mean_reduction_and_details():
    net = net_of("bn relu, dropout, ln elu, softmax ce", 3)
    rng = np.random.default_rng(2)
    summed = BatchFunction(net)
    point = bc.random_batch_point(net, summed.shapes, rng, 3)
    E, g, info = summed(*point, details=True)
    Em, gm = BatchFunction(net, reduction="mean")(*point)
    assert float(Em) == pytest.approx(float(E) / 3)
    close(gm, {k: v / 3 for k, v in g.items()}, 1e-14)
    _, _, want = reference.backprop_batch(bc.plain_description(net), *point)
    assert sorted(info["delta"]) == sorted(want["delta"]) == [2, 3, 5, 6, 7]
    close({k: info["delta"][k] for k in want["delta"]}, want["delta"], 1e-10)
    with pytest.raises(ValueError, match="reduction"):
        BatchFunction(net, reduction="max")


# ---------------------------------------------------------------- float32 and shape errors
def test_float32_in_float32_out():
    net = net_of("bn relu, dropout, ln elu, softmax ce", 4)
    f = BatchFunction(net)
    P, X, T, masks = bc.random_batch_point(net, f.shapes, np.random.default_rng(3), 4)
    E64, g64 = f(P, X, T, masks)
    E32, g32 = f({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), T.astype(np.float32),
                 {k: m.astype(np.int8) for k, m in masks.items()})
    assert E32.dtype == np.float32 and all(v.dtype == np.float32 for v in g32.values())
    assert f.loss({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32),
                  T.astype(np.float32), masks).dtype == np.float32
    assert float(E32) == pytest.approx(float(E64), rel=1e-5)
    close(g32, g64, 1e-4)
    E_mixed, g_mixed = f(P, X.astype(np.float32), T, masks)
    assert np.asarray(E_mixed).dtype == np.float64 and g_mixed["W[1]"].dtype == np.float64


def test_wrong_shapes_name_the_shape_needed():
    net = net_of("bn relu, dropout, ln elu, softmax ce", 2)
    f = BatchFunction(net)
    P, X, T, masks = bc.random_batch_point(net, f.shapes, np.random.default_rng(0), 2)
    cases = [
        (({**P, "W[1]": np.ones((4, 3))}, X, T, masks), r"W\[1\] has shape \(4, 3\); the network needs \(3, 4\)"),
        ((P, np.ones((2, 2)), T, masks), r"X has shape \(2, 2\); the network needs \(batch, 3\)"),
        ((P, X, np.ones((3, 3)), masks), r"T has shape \(3, 3\); the network needs \(batch, 3\) = \(2, 3\)"),
        ((P, X, T, {4: np.ones((2, 3))}), r"mask of layer 4 has shape \(2, 3\); the network needs .* = \(2, 4\)"),
        ((P, X, T, {4: np.full((2, 4), 0.5)}), "other than 0 and 1"),
        ((P, X, T, {}), "missing 4"),
        ((P, X, T, {**masks, 3: np.ones((2, 4))}), "unknown 3"),
        (({k: v for k, v in P.items() if k != "beta[3]"}, X, T, masks), r"missing beta\[3\]"),
    ]
    for args, message in cases:
        with pytest.raises(ValuesError, match=message):
            f(*args)
    assert issubclass(ValuesError, ValueError)


def test_the_generic_activation_has_no_numbers():
    with pytest.raises(CompileError, match="generic activation g"):
        BatchFunction(sb.network({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1}]}))


# ---------------------------------------------------------------- check
def test_check_batch_passes_with_every_pair():
    net = net_of("bn relu, dropout, ln elu, softmax ce", 3)
    report = bc.check_batch(net, samples=3, seed=1)
    assert report, str(report)
    assert {r.pair for r in report.rows} == {"printed vs reference", "vectorized vs reference",
                                            "printed vs vectorized", "finite differences vs reference"}
    assert {r.layer for r in report.rows} == {"E", "W[1], b[2]", "gamma[3], beta[3]", "W[4]", "gamma[6], beta[6]",
                                             "W[6], b[7]"}
    with pytest.raises(SpecError, match="recurrent"):
        bc.check_batch(net, truncate=2)


def test_check_batch_at_another_batch_size_leaves_out_the_printed_formulas():
    net = net_of("dropout, ln tanh, huber", 2)
    report = bc.check_batch(net, samples=2, batch=5)
    assert report and not any(r.pair.startswith("printed") for r in report.rows)
    assert any("written for batch = 2" in note for note in report.notes)


def test_check_batch_of_a_large_batch_leaves_out_the_printed_formulas():
    report = bc.check_batch(net_of("ln on inputs, bn silu, sigmoid bce", bc.MAX_PRINTED_BATCH + 1), samples=1)
    assert report and not any(r.pair.startswith("printed") for r in report.rows)
    assert any("printed formulas not compiled" in note for note in report.notes)


def test_check_batch_fails_when_the_compiled_gradient_is_wrong(monkeypatch):
    net = net_of("ln on inputs, bn silu, sigmoid bce", 3)
    right = BatchFunction.__call__

    def wrong(self, *args, **kw):
        E, grads = right(self, *args, **kw)
        return E, {**grads, "gamma[4]": grads["gamma[4]"] * 1.001}
    monkeypatch.setattr(BatchFunction, "__call__", wrong)
    report = bc.check_batch(net, samples=2)
    assert not report
    assert {(r.pair, r.layer) for r in report.failures} == {("vectorized vs reference", "gamma[4], beta[4]"),
                                                           ("printed vs vectorized", "gamma[4], beta[4]")}
    assert {r.worst for r in report.failures} <= {f"gamma{j}[4]" for j in range(1, 4)}


def test_without_a_reference_finite_differences_face_the_compiled_code(monkeypatch):
    monkeypatch.setattr(bc, "unknown_loss_note", lambda loss: "no reference")
    report = bc.check_batch(net_of("dropout, ln tanh, huber", 2), samples=2)
    assert report and "no reference" in report.notes
    assert {r.pair for r in report.rows} == {"printed vs vectorized", "finite differences vs vectorized"}


# ---------------------------------------------------------------- random small stacks
HIDDEN = ["linear", "relu", "tanh", "sigmoid", "elu", "gelu", "silu", "softplus", "leaky_relu", "softsign"]
OUTPUTS = [("linear", "mse", 2), ("sigmoid", "bce", 1), ("softmax", "cross_entropy", 3), ("linear", "huber", 2),
           ("tanh", "mse", 1), ("softmax", "kl", 2), ("sigmoid", "cross_entropy", 2)]


@st.composite
def stacks(draw):
    width = inputs = draw(st.integers(1, 3))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["dense", "dense", "batchnorm", "layernorm", "dropout"]))
        if kind == "dense":
            width = draw(st.integers(1, 4))
            layers.append({"size": width, "activation": draw(st.sampled_from(HIDDEN)), "bias": draw(st.booleans())})
        elif kind == "dropout":
            layers.append({"kind": kind, "rate": draw(st.sampled_from([0, 0.25, 0.5]))})
        elif kind == "batchnorm" or width > 1:
            # (layer norm over one node is refused: see test_a_layer_norm_of_one_node_is_refused)
            layers.append({"kind": kind, "activation": draw(st.sampled_from(HIDDEN))})
    out, loss, size = draw(st.sampled_from(OUTPUTS))
    layers.append({"size": size, "activation": out, "bias": draw(st.booleans())})
    return sb.network({"inputs": inputs, "batch": draw(st.integers(2, 4)), "loss": loss, "layer": layers})


def test_a_layer_norm_of_one_node_is_refused():
    """Over one node x̂ = 0 and the output is β alone: the spec is refused, naming the fix."""
    layers = [{"size": 1, "activation": "tanh", "bias": True}, {"kind": "layernorm"},
              {"size": 1, "activation": "linear"}]
    with pytest.raises(SpecError, match="2 or more nodes"):
        sb.network({"inputs": 2, "batch": 3, "layer": layers})


@settings(max_examples=25)
@given(stacks(), st.integers(0, 2**32 - 1))
def test_random_stacks_agree(net, seed):
    report = bc.check_batch(net, samples=1, seed=seed)
    assert report, [str(r) for r in report.failures]
