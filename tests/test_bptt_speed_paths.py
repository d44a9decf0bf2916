"""The compiled Elman BPTT's fast paths against the textbook reference (``_reference.bptt``).

The compiled function keeps its work arrays from one call to the next, takes every step's
input and output layer at once, and sums each weight's gradient over all steps in one stacked
product; these tests hold it to the reference where those paths could go wrong: calls of other
sizes and dtypes in turn, truncation with the mean, views that are not contiguous, details kept
across later calls, and calls from several threads at once.
"""
import threading

import numpy as np
import pytest

import symbackprop as sb
from symbackprop._bptt import RNNVectorized
from symbackprop._check import random_rnn_point
from symbackprop._reference import bptt

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _expected(net, P, X, T, h0, truncate=None, reduction="sum"):
    """The reference's (E, grads), divided by the batch for the mean."""
    E, grads = bptt(net.activation.name, net.output_activation.name, net.loss.name, P, X, T, h0, truncate=truncate)
    n = X.shape[0] if reduction == "mean" else 1
    return E / n, {k: v / n for k, v in grads.items()}


def _agree(got, want, dt):
    """E and every gradient within dtype ``dt``'s tolerance, each gradient in ``dt``."""
    (E, grads), (E_ref, ref) = got, want
    rtol, atol = (1e-4, 1e-5) if dt == F32 else (1e-10, 1e-12)
    assert E.dtype == dt and float(E) == pytest.approx(E_ref, rel=rtol, abs=atol)
    assert set(grads) == set(ref)
    for key in ref:
        assert grads[key].dtype == dt, key
        np.testing.assert_allclose(grads[key], ref[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("truncate, reduction", [(None, "sum"), (2, "mean"), (3, "sum"), (1, "mean")])
def test_one_function_called_with_other_batches_and_dtypes_in_turn(truncate, reduction):
    """Work arrays kept from a call of another batch size or dtype do not leak into the next."""
    net = sb.rnn(3, 4, 2, 7, activation="tanh", output_activation="softmax", loss="cross_entropy", bias=True)
    f = RNNVectorized(net, truncate, reduction)
    rng = np.random.default_rng(11)
    for batch, dt in [(3, F64), (5, F64), (3, F32), (3, F64), (1, F32), (5, F64)]:
        P, X, T, h0 = random_rnn_point(net, rng, batch)
        got = f({k: v.astype(dt) for k, v in P.items()}, X.astype(dt), T.astype(dt), h0.astype(dt))
        _agree(got, _expected(net, P, X, T, h0, truncate, reduction), dt)


def test_truncation_cuts_only_at_its_steps():
    """With the stacked sums, K = 2 still differs from the full gradient in W, as the reference does."""
    net = sb.rnn(2, 3, 1, 6, activation="sigmoid", bias=False)
    P, X, T, h0 = random_rnn_point(net, np.random.default_rng(5), 4)
    cut, full = RNNVectorized(net, 2)(P, X, T, h0), RNNVectorized(net)(P, X, T, h0)
    _agree(cut, _expected(net, P, X, T, h0, 2), F64)
    assert not np.allclose(cut[1]["W"], full[1]["W"])


def test_views_that_are_not_contiguous():
    """X and T as transposed views, W in Fortran order, h0 one row for every sample."""
    net = sb.rnn(3, 5, 2, 4, activation="relu", output_activation="sigmoid", loss="bce", bias=True)
    P, X, T, _ = random_rnn_point(net, np.random.default_rng(2), 6)
    h0 = np.random.default_rng(3).normal(0, 0.5, net.hidden)
    Xv = np.ascontiguousarray(X.transpose(1, 0, 2)).transpose(1, 0, 2)
    Tv = np.ascontiguousarray(T.transpose(1, 0, 2)).transpose(1, 0, 2)
    Pv = {**P, "W": np.asfortranarray(P["W"])}
    assert not Xv.flags.c_contiguous and not Pv["W"].flags.c_contiguous
    got = RNNVectorized(net)(Pv, Xv, Tv, h0)
    _agree(got, _expected(net, P, X, T, np.tile(h0, (6, 1))), F64)


def test_details_are_not_overwritten_by_later_calls():
    """The h<t> of a call with details stay its own after calls on other data."""
    net = sb.rnn(2, 3, 1, 5, activation="tanh", bias=True)
    f = RNNVectorized(net)
    rng = np.random.default_rng(8)
    P, X, T, h0 = random_rnn_point(net, rng, 2)
    _, _, info = f(P, X, T, h0, details=True)
    for _ in range(2):
        f(*random_rnn_point(net, rng, 2))
    h = h0
    for t in range(1, net.steps + 1):                 # the forward pass, written out here
        h = np.tanh(X[:, t - 1] @ P["U"] + h @ P["W"] + P["b"])
        np.testing.assert_allclose(info["h"][t], h, rtol=1e-12, atol=1e-14)
    assert info["s"][0] is None and info["delta"][net.steps + 1] is None and len(info["dE/dh"]) == net.steps + 1


def test_calls_from_several_threads_at_once():
    """Threads sharing one compiled function each get their own numbers (NumPy lets go of the GIL in
    its products, so shared work arrays would mix them)."""
    net = sb.rnn(4, 24, 3, 12, activation="tanh", bias=True)
    f = RNNVectorized(net)
    rng = np.random.default_rng(21)
    points = [random_rnn_point(net, rng, 16) for _ in range(4)]
    wanted = [_expected(net, *point) for point in points]
    failures = []

    def work(k):
        for _ in range(15):
            try:
                _agree(f(*points[k]), wanted[k], F64)
            except AssertionError as error:           # pragma: no cover - shown by the assert below
                failures.append((k, error))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:1]
