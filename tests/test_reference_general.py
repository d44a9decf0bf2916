"""The independent NumPy reference for general dense stacks: skips, tied weights, penalties.

``backprop_general`` is checked three ways: against central finite differences of its own
E, against the plain ``backprop`` on plain stacks (exactly), and against small cases
worked out by hand in the comments.
"""
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symbackprop._reference import LOSSES, backprop, backprop_general, bptt
from symbackprop._tables import ROW_LOSSES

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear"]
H = 1e-6
TOL = 1e-6


def a(*rows):
    return np.array(rows, dtype=float)


# ---------------------------------------------------------------- finite differences
def numeric_gradient(f, params):
    """Central differences of f() in every entry of every array of the dict ``params``."""
    grads = {}
    for key, arr in params.items():
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + H
            up = f()
            arr[idx] = old - H
            down = f()
            arr[idx] = old
            g[idx] = (up - down) / (2 * H)
        grads[key] = g
    return grads


def assert_close(numeric, analytic):
    assert set(numeric) == set(analytic)
    scale = max([1.0] + [float(np.abs(g).max()) for g in analytic.values()])
    for key in analytic:
        err = float(np.abs(numeric[key] - analytic[key]).max())
        assert err <= TOL * scale, (key, err, numeric[key], analytic[key])


def check_against_fd(sizes, acts, loss, W, b, X, T, **kw):
    E, dW, db = backprop_general(sizes, acts, loss, W, b, X, T, **kw)
    assert np.isfinite(E)
    f = lambda: float(backprop_general(sizes, acts, loss, W, b, X, T, **kw)[0])  # noqa: E731
    assert float(E) == f()
    assert_close(numeric_gradient(f, W), dW)
    if b is not None:
        assert_close(numeric_gradient(f, b), db)
    else:
        assert db is None
    return E, dW, db


def random_net(rng, sizes, ties=(), bias=True, scale=0.7):
    W = {k: rng.normal(scale=scale, size=(sizes[k - 1], sizes[k])) for k in range(1, len(sizes))
         if k not in ties}
    b = {k: rng.normal(scale=0.3, size=sizes[k - 1]) for k in range(2, len(sizes) + 1)} if bias else None
    return W, b


def data(rng, sizes, batch, out_act, loss):
    X = rng.normal(size=(batch, sizes[0]))
    if out_act == "softmax":
        T = rng.dirichlet(np.ones(sizes[-1]), size=batch)
    elif loss in ("bce", "cross_entropy"):
        T = rng.uniform(0.05, 0.95, size=(batch, sizes[-1]))
    else:
        T = rng.normal(size=(batch, sizes[-1]))
    return X, T


# ---------------------------------------------------------------- plain stacks
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(2, 4), batch=st.integers(1, 4),
       hidden=st.sampled_from(HIDDEN), bias=st.booleans(),
       out=st.sampled_from([("linear", "mse"), ("tanh", "mse"), ("sigmoid", "bce"),
                            ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"),
                            ("softmax", "mse")]))
def test_plain_stack_equals_backprop_and_fd(seed, depth, batch, hidden, bias, out):
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 5, size=depth)]
    if out[0] == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    acts = [hidden] * (depth - 2) + [out[0]]
    W, b = random_net(rng, sizes, bias=bias)
    X, T = data(rng, sizes, batch, out[0], out[1])
    E, dW, db = check_against_fd(sizes, acts, out[1], W, b, X, T)
    # the existing list-based function on the same inputs: exactly the same numbers
    Wl = [W[k] for k in range(1, depth)]
    bl = [b[k] for k in range(2, depth + 1)] if bias else None
    E0, dW0, db0, _ = backprop(sizes, acts, out[1], Wl, bl, X, T)
    assert E == E0
    assert all(np.array_equal(dW[k], dW0[k - 1]) for k in range(1, depth))
    assert db is None if not bias else all(np.array_equal(db[k], db0[k - 2]) for k in range(2, depth + 1))


# ---------------------------------------------------------------- skips, ties, penalties (FD)
CASES = [
    # (sizes, activations, loss, skips, ties, penalty)
    ([3, 3, 3, 2], ["tanh", "sigmoid", "linear"], "mse", {3: 2}, {}, None),
    ([2, 2, 2], ["tanh", "linear"], "mse", {3: 1}, {}, None),                      # skip from inputs
    ([2, 2], ["linear"], "mse", {2: 1}, {}, None),                                  # s = 1 into the output
    ([3, 3, 3, 3, 3], ["softplus", "tanh", "leaky_relu", "linear"], "mse", {3: 1, 4: 2, 5: 3}, {}, None),
    ([3, 3, 3, 3], ["tanh", "tanh", "softmax"], "cross_entropy", {4: 2, 3: 1}, {}, None),
    ([4, 3, 4], ["tanh", "linear"], "mse", {}, {2: 1}, None),                       # tied autoencoder
    ([4, 3, 4], ["sigmoid", "sigmoid"], "bce", {}, {2: 1}, None),
    ([4, 2, 4], ["relu", "softmax"], "cross_entropy", {}, {1: 2}, None),            # tie to a later W
    ([5, 3, 2, 3, 5], ["tanh", "softplus", "tanh", "linear"], "mse", {}, {3: 2, 4: 1}, None),
    ([3, 3, 2], ["tanh", "linear"], "mse", {}, {}, {"l2": 0.3}),
    ([3, 3, 2], ["tanh", "linear"], "mse", {}, {}, {"l1": 0.2}),
    ([3, 3, 2], ["sigmoid", "softmax"], "cross_entropy", {}, {}, {"l2": 0.1, "l1": 0.05}),
    ([4, 3, 4], ["tanh", "linear"], "mse", {}, {2: 1}, {"l2": 0.2, "l1": 0.1}),     # tie + penalty
    ([4, 3, 3, 4], ["tanh", "tanh", "linear"], "mse", {3: 2}, {3: 1}, {"l2": 0.1}),  # all three
    ([3, 3, 3, 3], ["sigmoid", "tanh", "softmax"], "cross_entropy", {4: 1}, {}, {"l1": 0.1}),
    ([2, 3, 3, 2], ["tanh", "tanh", "linear"], "mse", {3: 2}, {3: 1}, {"l1": 0.3, "l2": 0.0}),
]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-skips{c[3]}-ties{c[4]}-{c[5]}")
def test_general_against_fd(case, bias, batch, reduction):
    sizes, acts, loss, skips, ties, penalty = case
    rng = np.random.default_rng(zlib.crc32(repr((case, bias, batch, reduction)).encode()))
    W, b = random_net(rng, sizes, ties, bias)
    X, T = data(rng, sizes, batch, acts[-1], loss)
    _, dW, _ = check_against_fd(sizes, acts, loss, W, b, X, T, skips=skips, ties=ties, penalty=penalty,
                                reduction=reduction)
    assert sorted(dW) == sorted(W)


@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 4), hidden=st.sampled_from(HIDDEN),
       reduction=st.sampled_from(["sum", "mean"]), bias=st.booleans(),
       l2=st.sampled_from([0.0, 0.25]), l1=st.sampled_from([0.0, 0.1]))
def test_random_architectures_against_fd(seed, batch, hidden, reduction, bias, l2, l1):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(2, 6))
    sizes = [int(n) for n in rng.integers(1, 4, size=L)]
    skips = {}
    for k in range(2, L + 1):
        sources = [s for s in range(1, k) if sizes[s - 1] == sizes[k - 1]]
        if sources and rng.random() < 0.6:
            skips[k] = int(rng.choice(sources))
    ties = {}
    for k in range(1, L):
        targets = [m for m in range(1, L) if m != k and m not in ties and k not in ties.values()
                   and (sizes[k - 1], sizes[k]) == (sizes[m], sizes[m - 1])]
        if targets and rng.random() < 0.6:
            ties[k] = int(rng.choice(targets))
    acts = [hidden] * (L - 2) + ["linear"]
    W, b = random_net(rng, sizes, ties, bias)
    X, T = data(rng, sizes, batch, "linear", "mse")
    check_against_fd(sizes, acts, "mse", W, b, X, T, skips=skips, ties=ties, reduction=reduction,
                     penalty={"l2": l2, "l1": l1})


def test_mean_is_sum_over_batch_and_penalty_added_after():
    rng = np.random.default_rng(7)
    sizes, acts = [3, 3, 2], ["tanh", "linear"]
    W, b = random_net(rng, sizes)
    X, T = data(rng, sizes, 6, "linear", "mse")
    Es, dWs, dbs = backprop_general(sizes, acts, "mse", W, b, X, T)
    Em, dWm, dbm = backprop_general(sizes, acts, "mse", W, b, X, T, reduction="mean")
    assert np.isclose(Em, Es / 6) and all(np.allclose(dWm[k], dWs[k] / 6) for k in W)
    assert all(np.allclose(dbm[k], dbs[k] / 6) for k in b)
    pen = {"l2": 0.4, "l1": 0.3}
    Ep, dWp, dbp = backprop_general(sizes, acts, "mse", W, b, X, T, reduction="mean", penalty=pen)
    extra = sum(0.2 * (w ** 2).sum() + 0.3 * np.abs(w).sum() for w in W.values())
    assert np.isclose(Ep, Em + extra)
    assert all(np.allclose(dWp[k], dWm[k] + 0.4 * W[k] + 0.3 * np.sign(W[k])) for k in W)
    assert all(np.array_equal(dbp[k], dbm[k]) for k in b)          # biases are not penalised


# ---------------------------------------------------------------- worked by hand
def test_hand_skip_from_inputs():
    # 1-1-1 linear, no bias, skip {3: 1}: x = 2, w1 = 0.5, w2 = 3, t = 1.
    # a2 = 2·0.5 = 1; z3 = a2·w2 + x = 3 + 2 = 5; E = ½(5 − 1)² = 8.
    # δ3 = 5 − 1 = 4; dW2 = a2·δ3 = 4; δ2 = δ3·w2 = 12 (the skip sends δ3 to the inputs only);
    # dW1 = x·δ2 = 24.
    E, dW, db = backprop_general([1, 1, 1], ["linear", "linear"], "mse", {1: a([0.5]), 2: a([3.0])},
                                 None, a([2.0]), a([1.0]), skips={3: 1})
    assert (float(E), dW[1].item(), dW[2].item(), db) == (8.0, 24.0, 4.0, None)


def test_hand_skip_from_hidden_with_bias():
    # 1-1-1 linear, skip {3: 2}, biases b2 = 1, b3 = −1: x = 2, w1 = 0.5, w2 = 3, t = 1.
    # a2 = 2·0.5 + 1 = 2; z3 = a2·3 − 1 + a2 = 7; E = ½·6² = 18; δ3 = 6.
    # dW2 = a2·δ3 = 12; db3 = 6; ∂E/∂a2 = δ3·w2 + δ3 = 18 + 6 = 24 = δ2 (linear);
    # dW1 = x·δ2 = 48; db2 = 24.
    E, dW, db = backprop_general([1, 1, 1], ["linear", "linear"], "mse", {1: a([0.5]), 2: a([3.0])},
                                 {2: np.array([1.0]), 3: np.array([-1.0])}, a([2.0]), a([1.0]), skips={3: 2})
    assert float(E) == 18.0
    assert (dW[1].item(), dW[2].item(), db[2].item(), db[3].item()) == (48.0, 12.0, 24.0, 6.0)


def test_hand_tied_autoencoder():
    # sizes [2, 1, 2], linear, W1 = [[1], [2]], ties {2: 1} (layer 2 uses W1ᵀ = [[1, 2]]),
    # x = [1, 1], t = [0, 0].  With s = w1 + w2 = 3 and q = w1² + w2² = 5:
    # a2 = s = 3; a3 = s·[w1, w2] = [3, 6]; E = ½ s² q = ½·9·5 = 22.5.
    # ∂E/∂w1 = s·q + s²·w1 = 15 + 9 = 24; ∂E/∂w2 = s·q + s²·w2 = 15 + 18 = 33.
    E, dW, _ = backprop_general([2, 1, 2], ["linear", "linear"], "mse", {1: a([1.0], [2.0])}, None,
                                a([1.0, 1.0]), a([0.0, 0.0]), ties={2: 1})
    assert float(E) == 22.5
    assert list(dW) == [1] and dW[1].tolist() == [[24.0], [33.0]]
    # with l2 = 0.1 the penalty counts W1 once: E += 0.05·5 = 0.25, dW1 += 0.1·W1
    E, dW, _ = backprop_general([2, 1, 2], ["linear", "linear"], "mse", {1: a([1.0], [2.0])}, None,
                                a([1.0, 1.0]), a([0.0, 0.0]), ties={2: 1}, penalty={"l2": 0.1})
    assert np.isclose(float(E), 22.75) and np.allclose(dW[1], [[24.1], [33.2]])


def test_hand_l2_penalty():
    # 1-1 linear, x = 2, w = 0.5, t = 0, λ2 = 0.1: z = 1, E = ½·1² + 0.1/2·0.25 = 0.5125;
    # dW = x·(z − t) + λ2·w = 2 + 0.05 = 2.05.
    E, dW, _ = backprop_general([1, 1], ["linear"], "mse", {1: a([0.5])}, None, a([2.0]), a([0.0]),
                                penalty={"l2": 0.1})
    assert np.isclose(float(E), 0.5125) and np.isclose(dW[1].item(), 2.05)


def test_hand_l1_penalty():
    # 1-1 linear, x = 2, t = 0, λ1 = 0.1.
    # w = 0.5: E = ½·1 + 0.1·0.5 = 0.55, dW = 2 + 0.1 = 2.1.
    # w = −0.5: z = −1, E = 0.55, dW = 2·(−1) − 0.1 = −2.1.
    # w = 0: E = 0, dW = 0 (data term 2·0, subgradient sign(0) = 0).
    for w, E_hand, dW_hand in [(0.5, 0.55, 2.1), (-0.5, 0.55, -2.1), (0.0, 0.0, 0.0)]:
        E, dW, _ = backprop_general([1, 1], ["linear"], "mse", {1: a([w])}, None, a([2.0]), a([0.0]),
                                    penalty={"l1": 0.1})
        assert np.isclose(float(E), E_hand) and np.isclose(dW[1].item(), dW_hand)


def test_hand_mean_reduction_with_penalty():
    # 1-1 linear, w = 0.5, X = [[2], [4]], T = 0: per sample E = ½·1, ½·4, sum 2.5, mean 1.25;
    # dW per sample 2·1, 4·2, sum 10, mean 5.  l2 = 0.1 after the mean: E = 1.2625, dW = 5.05.
    args = ([1, 1], ["linear"], "mse", {1: a([0.5])}, None, a([2.0], [4.0]), a([0.0], [0.0]))
    E, dW, _ = backprop_general(*args)
    assert (float(E), dW[1].item()) == (2.5, 10.0)
    E, dW, _ = backprop_general(*args, reduction="mean")
    assert (float(E), dW[1].item()) == (1.25, 5.0)
    E, dW, _ = backprop_general(*args, reduction="mean", penalty={"l2": 0.1})
    assert np.isclose(float(E), 1.2625) and np.isclose(dW[1].item(), 5.05)


def test_hand_softmax_cross_entropy():
    # sizes [1, 2], softmax, W = [[0, 0]], x = 1, t = [1, 0]: a = [½, ½], E = −ln ½ = ln 2;
    # δ = a − t = [−½, ½]; dW = x·δ = [[−0.5, 0.5]].
    E, dW, _ = backprop_general([1, 2], ["softmax"], "cross_entropy", {1: a([0.0, 0.0])}, None,
                                a([1.0]), a([1.0, 0.0]))
    assert np.isclose(float(E), np.log(2)) and np.allclose(dW[1], [[-0.5, 0.5]])


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kw, W, message", [
    ({"skips": {3: 1}}, {1: np.ones((2, 3)), 2: np.ones((3, 3))}, "sizes 3 and 2 differ"),
    ({"skips": {2: 2}}, {1: np.ones((2, 3)), 2: np.ones((3, 3))}, "needs 1 <= s < k"),
    ({"ties": {2: 1}}, {1: np.ones((2, 3))}, "transposed"),
    ({}, {1: np.ones((2, 3))}, r"missing W\[2\]"),
    ({}, {1: np.ones((2, 3)), 2: np.ones((3, 2))}, r"W\[2\] has shape"),
    ({"ties": {2: 1}}, {1: np.ones((2, 3)), 2: np.ones((3, 2))}, "no W of its own"),
    ({"penalty": {"l3": 1.0}}, {1: np.ones((2, 3)), 2: np.ones((3, 3))}, "unknown penalty"),
    ({"reduction": "max"}, {1: np.ones((2, 3)), 2: np.ones((3, 3))}, "reduction"),
])
def test_inconsistent_shapes_raise(kw, W, message):
    sizes = [2, 3, 2] if "no W of its own" in message else [2, 3, 3]
    with pytest.raises(ValueError, match=message):
        backprop_general(sizes, ["tanh", "linear"], "mse", W, None, np.ones((1, 2)),
                         np.ones((1, sizes[-1])), **kw)


def test_bad_data_and_bias_shapes_raise():
    W = {1: np.ones((2, 2))}
    with pytest.raises(ValueError, match="X must be"):
        backprop_general([2, 2], ["linear"], "mse", W, None, np.ones((1, 3)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="X must be"):
        backprop_general([2, 2], ["linear"], "mse", W, None, np.ones((2, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"b\[2\]"):
        backprop_general([2, 2], ["linear"], "mse", W, {2: np.ones(3)}, np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="softmax only at the output"):
        backprop_general([2, 2, 2], ["softmax", "linear"], "mse", {1: W[1], 2: W[1]}, None,
                         np.ones((1, 2)), np.ones((1, 2)))


# ---------------------------------------------------------------- the loss table
@pytest.mark.parametrize("loss", sorted(set(LOSSES) - ROW_LOSSES))
def test_each_loss_derivative_is_the_derivative_of_its_value(loss):
    """Entry by entry (a loss whose entries read the whole row is tested row by row, in test_losses_coupled)."""
    value, derivative = LOSSES[loss]
    a, t = np.meshgrid(np.linspace(0.05, 0.95, 7), [0.0, 0.3, 1.0])
    numeric = (value(a + H, t) - value(a - H, t)) / (2 * H)
    assert np.allclose(derivative(a, t), numeric, rtol=1e-6, atol=1e-8)


def test_an_unknown_loss_raises_instead_of_falling_back():
    args = ([1, 1], ["sigmoid"], "quartic")
    with pytest.raises(ValueError, match="no loss 'quartic'.*register_loss"):
        backprop(*args, [np.ones((1, 1))], None, np.ones((1, 1)), np.full((1, 1), 0.5))
    with pytest.raises(ValueError, match="no loss 'quartic'"):
        backprop_general(*args, {1: np.ones((1, 1))}, None, np.ones((1, 1)), np.full((1, 1), 0.5))
    P = {"U": np.ones((1, 1)), "W": np.ones((1, 1)), "V": np.ones((1, 1))}
    with pytest.raises(ValueError, match="no loss 'quartic'"):
        bptt("tanh", "sigmoid", "quartic", P, np.ones((1, 2, 1)), np.full((1, 2, 1), 0.5))
