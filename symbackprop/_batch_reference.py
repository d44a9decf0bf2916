"""The batch stack's second opinion: dense, batch-norm, layer-norm and dropout layers from the textbook.

Nothing symbolic is imported.  Activations and losses come from the hand-written tables of
``_tables.py``; the norm layers' forward pass and their staged backward pass (CS231n's graph,
x → μ → d → d² → var → σ → 1/σ → x̂ → γx̂ → y, one local derivative per step back) from
``_norm_reference.py``: batch norm over the batch (training mode, biased variance), layer norm
over the nodes of each sample, ε = 1e-5 inside the square root.  A dense layer is
z = a·W + b, backwards ∂E/∂W = aᵀ·δ, ∂E/∂b = Σ_s δ, ∂E/∂a = δ·Wᵀ.  Dropout is inverted:
a = m·a_below/(1 − p), so ∂E/∂a_below = m·∂E/∂a/(1 − p).  E is the loss summed over the samples.

The network is plain data, as ``BatchNet.as_dict()`` writes it: ``inputs``, ``loss`` (a name of
the tables) and ``layer``, one dict per layer after the inputs (``kind`` dense — the default —,
batchnorm, layernorm or dropout; ``size``, ``activation`` (a name, "softmax", or a NumPy function
of z, differentiated by a five-point stencil), ``bias``, ``rate``).  Layer 1 is the inputs.
Arrays are keyed as the compiled function keys them: ``W[k]`` (n_k, n_{k+1}), ``b[k]``,
``gamma[k]``, ``beta[k]`` (n_k,); X (batch, inputs), T (batch, outputs); masks {k: (batch, n_k)}
per dropout layer k, every mask 1 where left out.

>>> import numpy as np
>>> net = {"inputs": 1, "loss": "mse", "layer": [{"kind": "batchnorm"},
...        {"kind": "dense", "size": 1, "activation": "linear", "bias": False}]}
>>> P = {"gamma[2]": np.ones(1), "beta[2]": np.zeros(1), "W[2]": np.array([[2.0]])}
>>> E, grads = forward_backward(net, P, np.array([[1.0], [3.0]]), np.zeros((2, 1)))
>>> round(E, 3), np.round(grads["gamma[2]"], 3).tolist(), np.round(grads["W[2]"], 3).tolist()
(4.0, [8.0], [[4.0]])
"""
from __future__ import annotations

import numpy as np

from ._norm_reference import EPSILON
from ._norm_reference import forward as norm_forward
from ._norm_reference import staged_backward
from ._tables import _loss_value, _output_delta, act_prime, act_value


def _kind(lay: dict) -> str:
    return lay.get("kind", "dense")


def _mask(masks, k: int, like):
    """Dropout layer k's mask; all ones when none is given."""
    if masks is None or k not in masks:
        return np.ones_like(like)
    return np.asarray(masks[k], dtype=float)


def _forward(layers, P, X, masks, eps):
    """Z and A of every layer (1 = the inputs) and the norm layers' caches of staged values."""
    A, Z, caches = {1: X}, {}, {}
    for k, lay in enumerate(layers, start=2):            # lay makes layer k from layer k − 1
        kind = _kind(lay)
        if kind == "dropout":
            A[k] = _mask(masks, k, A[k - 1]) * A[k - 1] / (1.0 - float(lay["rate"]))
            continue
        if kind == "dense":
            Z[k] = A[k - 1] @ P[f"W[{k - 1}]"]
            if lay.get("bias"):
                Z[k] = Z[k] + P[f"b[{k}]"]
        else:
            Z[k], caches[k] = norm_forward(kind, A[k - 1], P[f"gamma[{k}]"], P[f"beta[{k}]"], eps)
        A[k] = act_value(lay.get("activation", "linear"), Z[k])
    return Z, A, caches


def _plain(P, X, T):
    return ({key: np.asarray(v, dtype=float) for key, v in P.items()}, np.asarray(X, dtype=float),
            np.asarray(T, dtype=float))


def loss_batch(net: dict, P: dict, X, T, masks=None, eps: float = EPSILON) -> float:
    """E alone (the loss summed over the samples), as finite differences need it."""
    P, X, T = _plain(P, X, T)
    Z, A, _ = _forward(net["layer"], P, X, masks, eps)
    L = len(net["layer"]) + 1
    return float(_loss_value(net["layer"][-1]["activation"], net["loss"], Z[L], A[L], T).sum())


def backprop_batch(net: dict, P: dict, X, T, masks=None, eps: float = EPSILON):
    """(E, grads, info): info holds per layer "z", "a", "delta" (∂E/∂z of dense and norm layers) and
    "da" (∂E/∂a of every layer below the outputs, the inputs' left out)."""
    P, X, T = _plain(P, X, T)
    layers = net["layer"]
    if X.ndim != 2 or X.shape[1] != net["inputs"]:
        raise ValueError(f"X has shape {X.shape}; the network needs (batch, {net['inputs']})")
    Z, A, caches = _forward(layers, P, X, masks, eps)
    L, out = len(layers) + 1, layers[-1]["activation"]
    E = float(_loss_value(out, net["loss"], Z[L], A[L], T).sum())
    up = _output_delta(out, net["loss"], Z[L], A[L], T)   # δ of layer k, or ∂E/∂a of a dropout layer k
    delta, da, grads = {L: up}, {}, {}
    for k in range(L, 1, -1):
        lay = layers[k - 2]
        kind = _kind(lay)
        if kind == "dropout":
            below = _mask(masks, k, A[k - 1]) * up / (1.0 - float(lay["rate"]))
        elif kind == "dense":
            grads[f"W[{k - 1}]"] = A[k - 1].T @ up                     # ∂E/∂w_ij = Σ_s a_i δ_j
            if lay.get("bias"):
                grads[f"b[{k}]"] = up.sum(axis=0)
            below = up @ P[f"W[{k - 1}]"].T                              # ∂E/∂a_i = Σ_j w_ij δ_j
        else:
            below, grads[f"gamma[{k}]"], grads[f"beta[{k}]"] = staged_backward(up, caches[k])
        if k == 2:
            break
        da[k - 1] = below
        under = layers[k - 3]
        up = below if _kind(under) == "dropout" else below * act_prime(under.get("activation", "linear"), Z[k - 1])
        if _kind(under) != "dropout":
            delta[k - 1] = up
    return E, grads, {"z": Z, "a": A, "delta": delta, "da": da}


def forward_backward(net: dict, P: dict, X, T, masks=None, eps: float = EPSILON):
    """(E, grads): E summed over the samples and every array's gradient, keyed as ``P``."""
    E, grads, _ = backprop_batch(net, P, X, T, masks, eps)
    return E, grads
