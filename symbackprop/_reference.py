"""The second opinion: backprop in plain NumPy matrices, written from the textbook.

It imports nothing symbolic and keeps its own table of derivatives, so that a
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


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# name → (f, f') written out by hand, independently of the SymPy registry
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),
    "linear": (lambda z: z, np.ones_like),
}


def five_point_derivative(f, z, h=1e-4):
    """f'(z) by the five-point stencil: for activations given only as a function (custom ones)."""
    return (-f(z + 2 * h) + 8 * f(z + h) - 8 * f(z - h) + f(z - 2 * h)) / (12 * h)


def _softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _output_delta(act, loss, z, a, t):
    """δ[L] = ∂E/∂z[L] for the output activation and loss, by hand."""
    if act == "softmax":
        if loss == "cross_entropy":
            return a * t.sum(axis=1, keepdims=True) - t        # = a − t for targets summing to 1
        dE_da = _loss_derivative(loss, a, t)
        return a * (dE_da - (dE_da * a).sum(axis=1, keepdims=True))   # softmax Jacobian times ∂E/∂a
    if act == "sigmoid" and loss == "bce":
        return a - t
    if act == "sigmoid" and loss == "cross_entropy":
        return -t * (1.0 - a)
    return _loss_derivative(loss, a, t) * act_prime(act, z)


def _loss_derivative(loss, a, t):
    if loss == "mse":
        return a - t
    if loss == "cross_entropy":
        return -t / a
    return -t / a + (1.0 - t) / (1.0 - a)


def _loss_value(act, loss, z, a, t):
    """E summed over outputs, per sample, in a stable form where the math allows."""
    if loss == "mse":
        return 0.5 * ((a - t) ** 2).sum(axis=1)
    if act == "softmax" and loss == "cross_entropy":
        shifted = z - z.max(axis=1, keepdims=True)
        log_a = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -(t * log_a).sum(axis=1)
    if act == "sigmoid":
        log_a = -np.logaddexp(0.0, -z)          # log σ(z)
        log_1ma = -np.logaddexp(0.0, z)         # log(1 − σ(z))
    else:
        log_a, log_1ma = np.log(a), np.log1p(-a)
    if loss == "cross_entropy":
        return -(t * log_a).sum(axis=1)
    return -(t * log_a + (1.0 - t) * log_1ma).sum(axis=1)


def act_value(act, z):
    if act == "softmax":
        return _softmax(z)
    if callable(act):
        return act(z)
    return ACTIVATIONS[act][0](z)


def act_prime(act, z):
    if callable(act):
        return five_point_derivative(act, z)
    return ACTIVATIONS[act][1](z)


def forward(layers, acts, W, b, X):
    """Lists Z[k], A[k] (index 0 = the inputs' layer; Z[0] is None)."""
    A, Z = [np.asarray(X, dtype=float)], [None]
    for k in range(len(layers) - 1):
        z = A[-1] @ W[k] + (b[k] if b is not None else 0.0)    # z[k+1] = a[k] W[k] + b
        Z.append(z)
        A.append(act_value(acts[k], z))
    return Z, A


def backprop(layers, acts, loss, W, b, X, T):
    """(E, dW, db, info) summed over the batch; info holds Z, A and the δ's per layer.

    acts: one per layer after the inputs, a name of ACTIVATIONS, "softmax", or a
    NumPy function (a custom activation, differentiated by the five-point stencil).
    """
    T = np.asarray(T, dtype=float)
    Z, A = forward(layers, acts, W, b, X)
    L = len(layers) - 1
    E = _loss_value(acts[-1], loss, Z[L], A[L], T)
    deltas = [None] * (L + 1)
    deltas[L] = _output_delta(acts[-1], loss, Z[L], A[L], T)
    for k in range(L - 1, 0, -1):
        deltas[k] = (deltas[k + 1] @ W[k].T) * act_prime(acts[k - 1], Z[k])   # δ = (δ' Wᵀ) ⊙ g'(z)
    dW = [A[k].T @ deltas[k + 1] for k in range(L)]                           # ∂E/∂W = aᵀ δ
    db = [deltas[k + 1].sum(axis=0) for k in range(L)] if b is not None else None
    return E.sum(), dW, db, {"Z": Z, "A": A, "delta": deltas, "E": E}
