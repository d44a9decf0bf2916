"""The second opinion: backprop (and through time) in plain NumPy matrices, written from the textbook.

It imports nothing symbolic and keeps its own tables of activations and losses, so that a
mistake in the registries or the derivation cannot fool both sides.  Shapes:
``W[k]`` is (n_k, n_{k+1}) with ``W[k][i-1, j-1] = wij[k]``; X is (batch, n_1).

>>> import numpy as np
>>> W = [np.array([[0.5]])]
>>> E, dW, db, _ = backprop([1, 1], ["linear"], "mse", W, None, np.array([[2.0]]), np.array([[0.0]]))
>>> float(E), float(dW[0][0, 0])
(0.5, 2.0)
"""
from __future__ import annotations

import numpy as np


from ._tables import (ACTIVATIONS, COUPLED, LOSSES, _loss_value, _output_delta, act_prime, act_value,  # noqa: F401
                      five_point_derivative, loss_entry)


def backprop(layers, acts, loss, W, b, X, T):
    """(E, dW, db, info) summed over the batch; info holds Z, A and the δ's per layer.

    acts: one per layer after the inputs, a name of ACTIVATIONS, "softmax", "log_softmax", or a
    NumPy function (a custom activation, differentiated by the five-point stencil).
    """
    T, A, Z, L = np.asarray(T, dtype=float), [np.asarray(X, dtype=float)], [None], len(layers) - 1
    for k in range(L):
        Z.append(A[-1] @ W[k] + (b[k] if b is not None else 0.0))    # z[k+1] = a[k] W[k] + b
        A.append(act_value(acts[k], Z[-1]))
    E = _loss_value(acts[-1], loss, Z[L], A[L], T)
    deltas = [None] * (L + 1)
    deltas[L] = _output_delta(acts[-1], loss, Z[L], A[L], T)
    for k in range(L - 1, 0, -1):
        deltas[k] = (deltas[k + 1] @ W[k].T) * act_prime(acts[k - 1], Z[k])   # δ = (δ' Wᵀ) ⊙ g'(z)
    dW = [A[k].T @ deltas[k + 1] for k in range(L)]                           # ∂E/∂W = aᵀ δ
    db = [deltas[k + 1].sum(axis=0) for k in range(L)] if b is not None else None
    return E.sum(), dW, db, {"Z": Z, "A": A, "delta": deltas, "E": E}


def _add(acc, key, value):
    acc[key] = value if key not in acc else acc[key] + value


def _general_checks(sizes, acts, loss, W, b, skips, ties, penalty, reduction):
    """Validate the general network; return the matrices M[k] (layer k → k+1) and the biases."""
    L = len(sizes)
    if L < 2 or len(acts) != L - 1:
        raise ValueError(f"need at least 2 layer sizes and one activation per layer 2..{L}")
    names = [*ACTIVATIONS, *COUPLED]
    if any(not callable(a) and a not in names for a in acts) or any(a in COUPLED for a in acts[:-1]):
        raise ValueError(f"activations must be in {names} (softmax and log_softmax only at the output) "
                         "or functions")
    loss_entry(loss)
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
    if set(penalty) - {"l2", "l1"}:
        raise ValueError(f"unknown penalty keys {sorted(set(penalty) - {'l2', 'l1'})} (allowed: l2, l1)")
    for k, m in ties.items():
        if not (1 <= k < L and 1 <= m < L) or m == k or m in ties:
            raise ValueError(f"tie {k} -> {m}: both must be weight layers 1..{L - 1} and W[{m}] its own")
        if (sizes[k - 1], sizes[k]) != (sizes[m], sizes[m - 1]):
            raise ValueError(f"tie {k} -> {m}: layer {k}'s weights are {sizes[k - 1]}x{sizes[k]} "
                             f"but W[{m}] transposed is {sizes[m]}x{sizes[m - 1]}")
    own = [k for k in range(1, L) if k not in ties]
    if set(W) - set(own):
        raise ValueError(f"W has entries {sorted(set(W) - set(own), key=str)} that are not own "
                         f"weight layers {own} (a tied layer has no W of its own)")
    M = {}
    for k in own:
        if k not in W:
            raise ValueError(f"missing W[{k}]")
        M[k] = np.asarray(W[k], dtype=float)
        if M[k].shape != (sizes[k - 1], sizes[k]):
            raise ValueError(f"W[{k}] has shape {M[k].shape}, expected {(sizes[k - 1], sizes[k])}")
    for k, m in ties.items():
        M[k] = M[m].T
    bias = {k: np.asarray(v, dtype=float) for k, v in (b or {}).items()}
    for k, v in bias.items():
        if not (k in range(2, L + 1) and v.shape == (sizes[k - 1],)):
            raise ValueError(f"b[{k}]: layers 2..{L} only, of shape (n_k,); got shape {v.shape}")
    for k, s in skips.items():
        if not (2 <= k <= L and 1 <= s < k):
            raise ValueError(f"skip into layer {k} from layer {s}: needs 1 <= s < k <= {L}")
        if sizes[s - 1] != sizes[k - 1]:
            raise ValueError(f"skip into layer {k} from layer {s}: sizes {sizes[k - 1]} and {sizes[s - 1]} differ")
    return M, bias


def backprop_general(sizes, activations, loss, W, b, X, T, *, skips=None, ties=None, penalty=None,
                     reduction="sum"):
    """(E, dW, db) for a dense stack with residual skips, tied weights and a weight penalty.

    Layers are numbered 1..L (1 = inputs); ``W``, ``b``, ``dW``, ``db`` are dicts keyed by
    layer.  ``skips={k: s}``: z[k] = a[k-1] W[k-1] + b[k] + a[s].  ``ties={k: m}``: layer k
    uses W[m]ᵀ and has no W[k]; its gradient is added into dW[m].  ``penalty={"l2": λ2,
    "l1": λ1}`` adds λ2/2·Σw² + λ1·Σ|w| over every own W once, after the batch reduction.
    A layer missing from ``b`` has no bias (``db`` has the keys of ``b``, or is None).

    >>> E, dW, _ = backprop_general([1, 1, 1], ["linear"] * 2, "mse", {1: np.array([[0.5]]),
    ...     2: np.array([[3.0]])}, None, np.array([[2.0]]), np.array([[1.0]]), skips={3: 1})
    >>> float(E), float(dW[1][0, 0]), float(dW[2][0, 0])
    (8.0, 24.0, 4.0)
    """
    skips, ties, penalty = dict(skips or {}), dict(ties or {}), dict(penalty or {})
    sizes, acts = [int(n) for n in sizes], list(activations)
    M, bias = _general_checks(sizes, acts, loss, W, b, skips, ties, penalty, reduction)
    L = len(sizes)
    X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
    if X.ndim != 2 or X.shape[1] != sizes[0] or T.shape != (X.shape[0], sizes[-1]):
        raise ValueError(f"X must be (batch, {sizes[0]}) and T (batch, {sizes[-1]}); got {X.shape}, {T.shape}")
    A, Z = {1: X}, {}
    for k in range(2, L + 1):
        z = A[k - 1] @ M[k - 1] + bias.get(k, 0.0)                   # z[k] = a[k-1] W[k-1] + b[k]
        Z[k] = z + A[skips[k]] if k in skips else z                   #        (+ a[s] for a skip)
        A[k] = act_value(acts[k - 2], Z[k])
    E = _loss_value(acts[-1], loss, Z[L], A[L], T).sum()
    dE_da, delta = {}, {}                                             # ∂E/∂a[k] summed over its uses
    for k in range(L, 1, -1):
        delta[k] = (_output_delta(acts[-1], loss, Z[L], A[L], T) if k == L
                    else dE_da[k] * act_prime(acts[k - 2], Z[k]))    # δ = ∂E/∂a ⊙ g'(z)
        if k > 2:
            _add(dE_da, k - 1, delta[k] @ M[k - 1].T)
        if skips.get(k, 1) > 1:
            _add(dE_da, skips[k], delta[k])                          # the skip passes δ unchanged
    dW = {}
    for k in range(1, L):
        g = A[k].T @ delta[k + 1]                                     # ∂E/∂(matrix of layer k) = aᵀ δ
        if k in ties:
            _add(dW, ties[k], g.T)                                    # tied: (aᵀ δ)ᵀ into its W[m]
        else:
            _add(dW, k, g)
    dW = {m: dW[m] for m in sorted(dW)}
    db = {k: delta[k].sum(axis=0) for k in bias} if b is not None else None
    if reduction == "mean":
        n = X.shape[0]
        E, dW = E / n, {m: g / n for m, g in dW.items()}
        db = {k: g / n for k, g in db.items()} if db is not None else None
    if penalty:
        l2, l1 = float(penalty.get("l2", 0.0)), float(penalty.get("l1", 0.0))
        for m in dW:
            w = M[m]
            E = E + 0.5 * l2 * (w * w).sum() + l1 * np.abs(w).sum()
            dW[m] = dW[m] + l2 * w + l1 * np.sign(w)
    return E, dW, db


def bptt(hidden, output, loss, P, X, Y, h0=None, truncate=None):
    """Backpropagation through time for the recurrent network: (E, grads) summed over the batch.

    Shapes: U (n_in, n_h), W (n_h, n_h), V (n_h, n_out), b (n_h,), c (n_out,); X (batch, T, n_in),
    Y (batch, T, n_out), h0 (batch, n_h); grads has U, W, V (and b, c when P has them).
    truncate K: δ does not flow from step t+1 back to step t when t is a multiple of K.

    >>> P = {"U": np.array([[1.0]]), "W": np.array([[0.0]]), "V": np.array([[1.0]])}
    >>> E, grads = bptt("linear", "linear", "mse", P, np.ones((1, 2, 1)), np.zeros((1, 2, 1)))
    >>> float(E), float(grads["U"][0, 0])
    (1.0, 2.0)
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
