"""The second opinion for normalisation layers: batch norm and layer norm in plain NumPy.

Written from the textbook (Ioffe & Szegedy 2015, Ba et al. 2016, CS231n's staged
computational graph), importing nothing symbolic.  X is (batch, features) as DESIGN.md
§5.4; ``gamma``, ``beta`` are (features,).  Batch norm takes its statistics over the
batch (axis 0, training mode), layer norm over the features of each sample (axis 1).

    μ = mean(x)   d = x − μ   var = mean(d²)   σ = sqrt(var + ε)   x̂ = d/σ   y = γ·x̂ + β

:func:`staged_backward` runs the nine steps of that graph (ten nodes, x to y) backwards by hand;
:func:`compact_backward` is the one-line form, with m the size of the averaged axis,

    dx = (1/(m·σ))·(m·g − Σg − x̂·Σ(g·x̂)),   g = γ·dy.

>>> X = np.array([[1.0, 2.0], [3.0, 5.0]])
>>> y, cache = forward("batchnorm", X, np.ones(2), np.zeros(2))
>>> np.round(y, 6).tolist()
[[-0.999995, -0.999998], [0.999995, 0.999998]]
>>> dx, dgamma, dbeta = staged_backward(np.ones((2, 2)), cache)
>>> np.allclose(dx, 0), dbeta.tolist()
(True, [2.0, 2.0])
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-5
_AXIS = {"batchnorm": 0, "layernorm": 1}


def forward(kind: str, x, gamma, beta, eps: float = EPSILON):
    """y and the cache of every staged value (the ten nodes of the graph)."""
    axis = _AXIS[kind]
    m = x.shape[axis]
    mu = x.sum(axis=axis, keepdims=True) / m         # 1  mean
    d = x - mu                                       # 2  centred
    sq = d ** 2                                      # 3  squares
    var = sq.sum(axis=axis, keepdims=True) / m       # 4  variance
    sigma = np.sqrt(var + eps)                       # 5  standard deviation
    inv = 1.0 / sigma                                # 6  its inverse
    xhat = d * inv                                   # 7  normalised
    gx = gamma * xhat                                # 8  scaled
    y = gx + beta                                    # 9  shifted
    return y, {"axis": axis, "m": m, "d": d, "var": var, "sigma": sigma, "inv": inv,
               "xhat": xhat, "gamma": gamma, "eps": eps}


def staged_backward(dy, cache):
    """(dx, dgamma, dbeta): the staged graph's steps in reverse, one local derivative each."""
    axis, m, d, sigma, inv, xhat, gamma = (cache[k] for k in ("axis", "m", "d", "sigma", "inv", "xhat", "gamma"))
    dbeta = dy.sum(axis=0)                           # 9  y = gx + β
    dgx = dy
    dgamma = (dgx * xhat).sum(axis=0)                # 8  gx = γ·x̂
    dxhat = dgx * gamma
    dinv = (dxhat * d).sum(axis=axis, keepdims=True)  # 7  x̂ = d·inv
    dd = dxhat * inv
    dsigma = -dinv / sigma ** 2                      # 6  inv = 1/σ
    dvar = dsigma * 0.5 / np.sqrt(cache["var"] + cache["eps"])  # 5  σ = sqrt(var + ε)
    dsq = np.ones_like(d) * dvar / m                 # 4  var = Σ sq / m
    dd = dd + 2.0 * d * dsq                          # 3  sq = d²
    dmu = -dd.sum(axis=axis, keepdims=True)          # 2  d = x − μ
    dx = dd + dmu / m                                # 1  μ = Σ x / m
    return dx, dgamma, dbeta


def compact_backward(dy, cache):
    """(dx, dgamma, dbeta) by the compact form."""
    axis, m, sigma, xhat, gamma = (cache[k] for k in ("axis", "m", "sigma", "xhat", "gamma"))
    g = gamma * dy
    dx = (m * g - g.sum(axis=axis, keepdims=True) - xhat * (g * xhat).sum(axis=axis, keepdims=True)) / (m * sigma)
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


def dense_norm_mse(kind: str, P: dict, X, T, eps: float = EPSILON):
    """E and its gradients for dense → norm → ½Σ(y − t)²: z = X W + b, then the norm.

    P has ``W`` (inputs, features), ``b``, ``gamma``, ``beta`` (features,); X (batch,
    inputs), T (batch, features).  Returns (E, {name: gradient}, dX).
    """
    z = X @ P["W"] + P["b"]
    y, cache = forward(kind, z, P["gamma"], P["beta"], eps)
    E = 0.5 * float(((y - T) ** 2).sum())
    dz, dgamma, dbeta = staged_backward(y - T, cache)
    grads = {"W": X.T @ dz, "b": dz.sum(axis=0), "gamma": dgamma, "beta": dbeta}
    return E, grads, dz @ P["W"].T
