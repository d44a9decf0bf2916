"""The second opinion for recurrent networks: backpropagation through time in plain NumPy.

Like ``_reference`` (whose hand-written activation and loss tables it uses) it imports
nothing symbolic; a loss missing from that table raises ValueError.  Shapes: ``U`` (n_in, n_h),
``W`` (n_h, n_h), ``V`` (n_h, n_out), ``b`` (n_h,), ``c`` (n_out,); X is (batch, T, n_in),
Y targets (batch, T, n_out), h0 (batch, n_h).

>>> import numpy as np
>>> P = {"U": np.array([[1.0]]), "W": np.array([[0.0]]), "V": np.array([[1.0]])}
>>> E, grads = bptt("linear", "linear", "mse", P, np.ones((1, 2, 1)), np.zeros((1, 2, 1)))
>>> float(E), float(grads["U"][0, 0])
(1.0, 2.0)
"""
from __future__ import annotations

import numpy as np

from ._reference import _loss_value, _output_delta, act_prime, act_value


def bptt(hidden, output, loss, P, X, Y, h0=None, truncate=None):
    """(E, grads) summed over the batch; grads has U, W, V (and b, c when P has them).

    truncate K: δ does not flow from step t+1 back to step t when t is a multiple of K.
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    batch, T, _ = X.shape
    U, W, V = P["U"], P["W"], P["V"]
    b, c = P.get("b"), P.get("c")
    H = [np.zeros((batch, W.shape[0])) if h0 is None else np.asarray(h0, dtype=float)]
    S, O, A = [None], [None], [None]
    E = 0.0
    for t in range(1, T + 1):
        s = X[:, t - 1] @ U + H[t - 1] @ W + (b if b is not None else 0.0)
        h = act_value(hidden, s)
        o = h @ V + (c if c is not None else 0.0)
        a = act_value(output, o)
        E += _loss_value(output, loss, o, a, Y[:, t - 1]).sum()
        S.append(s), H.append(h), O.append(o), A.append(a)
    grads = {"U": np.zeros_like(U), "W": np.zeros_like(W), "V": np.zeros_like(V)}
    if b is not None:
        grads["b"], grads["c"] = np.zeros_like(b), np.zeros_like(c)
    after = np.zeros_like(H[0])          # δ<t+1>
    for t in range(T, 0, -1):
        e = _output_delta(output, loss, O[t], A[t], Y[:, t - 1])
        dh = e @ V.T
        if t < T and (truncate is None or t % truncate != 0):
            dh = dh + after @ W.T
        delta = dh * act_prime(hidden, S[t])
        grads["U"] += X[:, t - 1].T @ delta
        grads["W"] += H[t - 1].T @ delta
        grads["V"] += H[t].T @ e
        if b is not None:
            grads["b"] += delta.sum(axis=0)
            grads["c"] += e.sum(axis=0)
        after = delta
    return E, grads
