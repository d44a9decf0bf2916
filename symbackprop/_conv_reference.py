"""The conv net's second opinion: forward and backward from the textbook, one Python loop per index.

Nothing symbolic is imported: activations and losses come from the hand-written tables of
``_tables.py`` and the layer arithmetic is written here again, not taken from ``_conv.py``.
Every sample, channel, position and kernel offset is a loop, over Python floats.
Positions count from 0 in the code: output position i with kernel offset u reads input
position s·i + u − p (the design's s(i−1)+u−p counted from 1); outside the maps it reads the
padding, 0.  Max pooling routes the gradient to the first maximum of its window (C order),
average pooling spreads it evenly.

The network is plain data: ``inputs`` (channels, length) or (channels, height, width) and one
dict per layer as ``ConvNet.as_dict()["layer"]`` writes them; an activation is a name of the
tables, "softmax", or a NumPy function (a custom one, differentiated by a five-point stencil).
Arrays are keyed as the compiled function keys them: ``K[k]`` (out, in, *kernel), ``W[k]``
(flattened layer k, n_{k+1}) and ``b[k+1]``.

>>> import numpy as np
>>> layers = [{"kind": "conv", "channels": 1, "kernel": [2], "stride": [1], "padding": [0],
...            "activation": "linear", "bias": False},
...           {"kind": "dense", "size": 1, "activation": "linear", "bias": False}]
>>> P = {"K[1]": np.array([[[1.0, -1.0]]]), "W[2]": np.array([[1.0], [1.0]])}
>>> E, grads, _ = backprop_conv((1, 3), layers, "mse", P, np.array([[[1.0, 2.0, 4.0]]]), np.array([[0.0]]))
>>> float(E), grads["K[1]"].ravel().tolist(), grads["W[2]"].ravel().tolist()
(4.5, [-9.0, -18.0], [3.0, 6.0])
"""
from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from ._tables import _loss_value, _output_delta, act_prime, act_value


def _positions(shape) -> list:
    """Every index tuple of ``shape``, in C order."""
    return list(product(*[range(n) for n in shape]))


def _cells(array) -> dict:
    """index tuple → value (a Python float) of every entry: scalar arithmetic in the loops below."""
    return dict(zip(np.ndindex(array.shape), np.asarray(array, dtype=float).ravel().tolist()))


def _out_size(n: int, window: int, stride: int, pad: int) -> int:
    return (n + 2 * pad - window) // stride + 1


def _taps(out, window, stride, padding, maps) -> dict:
    """Output position i → the pairs (offset u, input position s·i + u − p) that fall inside the maps
    (the rest read the padding, 0, and add nothing)."""
    return _taps_of(*(tuple(int(v) for v in t) for t in (out, window, stride, padding, maps)))


@lru_cache(maxsize=64)
def _taps_of(out, window, stride, padding, maps) -> dict:
    found = {}
    for i in _positions(out):
        found[i] = []
        for u in _positions(window):
            x = tuple(s * ii + uu - p for ii, uu, s, p in zip(i, u, stride, padding))
            if all(0 <= q < n for q, n in zip(x, maps)):
                found[i].append((u, x))
    return found


def conv_forward(a, K, b, stride, padding):
    """z[n, c, i] = b[c] + Σ_d Σ_u K[c, d, u]·a[n, d, s·i + u − p]; a is (batch, channels, *positions)."""
    maps = a.shape[2:]
    out = tuple(_out_size(m, k, s, p) for m, k, s, p in zip(maps, K.shape[2:], stride, padding))
    taps, k = _taps(out, K.shape[2:], stride, padding, maps), _cells(K)
    z = np.zeros((a.shape[0], K.shape[0], *out))
    for n in range(a.shape[0]):
        x_of = _cells(a[n])
        for c in range(K.shape[0]):
            for i in _positions(out):
                total = 0.0 if b is None else float(b[c])
                for d in range(K.shape[1]):
                    for u, x in taps[i]:
                        total += k[(c, d, *u)] * x_of[(d, *x)]
                z[(n, c, *i)] = total
    return z


def conv_backward(a, K, delta, stride, padding):
    """(∂E/∂K, ∂E/∂b, ∂E/∂a): each term K[c,d,u]·a[d,x] of z[c,i] passes δ[c,i] to both factors."""
    out = delta.shape[2:]
    taps, k = _taps(out, K.shape[2:], stride, padding, a.shape[2:]), _cells(K)
    dK, db, da = dict.fromkeys(k, 0.0), [0.0] * K.shape[0], np.zeros(a.shape)
    for n in range(a.shape[0]):
        x_of, up, dx = _cells(a[n]), _cells(delta[n]), dict.fromkeys(np.ndindex(a.shape[1:]), 0.0)
        for c in range(K.shape[0]):
            for i in _positions(out):
                db[c] += up[(c, *i)]                                       # ∂z/∂b = 1
                for d in range(K.shape[1]):
                    for u, x in taps[i]:
                        dK[(c, d, *u)] += up[(c, *i)] * x_of[(d, *x)]      # ∂z/∂K = a
                        dx[(d, *x)] += up[(c, *i)] * k[(c, d, *u)]         # ∂z/∂a = K
        for index, v in dx.items():
            da[(n, *index)] = v
    return np.array(list(dK.values())).reshape(K.shape), np.array(db), da


def pool_forward(a, mode: str, size, stride):
    """(pooled maps, the window index of each output's first maximum (max pooling) or None)."""
    maps = a.shape[2:]
    out = tuple(_out_size(m, w, s, 0) for m, w, s in zip(maps, size, stride))
    taps = _taps(out, size, stride, [0] * len(size), maps)
    pooled = np.zeros((a.shape[0], a.shape[1], *out))
    chosen = np.zeros(pooled.shape, dtype=int) if mode == "max" else None
    for n in range(a.shape[0]):
        x_of = _cells(a[n])
        for c in range(a.shape[1]):
            for i in _positions(out):
                cells = [x_of[(c, *x)] for _, x in taps[i]]
                if mode == "avg":
                    pooled[(n, c, *i)] = sum(cells) / len(cells)
                    continue
                best, where = cells[0], 0
                for m, v in enumerate(cells):
                    if v > best:                                           # strictly greater: ties keep the first
                        best, where = v, m
                pooled[(n, c, *i)], chosen[(n, c, *i)] = best, where
    return pooled, chosen


def pool_backward(shape, mode: str, size, stride, up, chosen):
    """∂E/∂a of the maps below a pool: to the chosen cell of each window (max) or 1/size to each (avg)."""
    out, cells = up.shape[2:], int(np.prod(size))
    taps = _taps(out, size, stride, [0] * len(size), shape[2:])
    da = np.zeros(shape)
    for n in range(shape[0]):
        for c in range(shape[1]):
            for i in _positions(out):
                g = float(up[(n, c, *i)])
                for m, (_, x) in enumerate(taps[i]):
                    if mode == "avg":
                        da[(n, c, *x)] += g / cells
                    elif m == chosen[(n, c, *i)]:
                        da[(n, c, *x)] += g
    return da


def dense_forward(a, W, b):
    """z[n, j] = b[j] + Σ_m a[n, m]·W[m, j], over the flattened a (batch, m)."""
    w = W.tolist()
    z = np.zeros((a.shape[0], W.shape[1]))
    for n, row in enumerate(a.tolist()):
        for j in range(W.shape[1]):
            total = 0.0 if b is None else float(b[j])
            for m, v in enumerate(row):
                total += v * w[m][j]
            z[n, j] = total
    return z


def dense_backward(a, W, delta):
    """(∂E/∂W, ∂E/∂b, ∂E/∂a) of z = a W + b: ∂E/∂w_mj = Σ_n a_m δ_j, ∂E/∂a_m = Σ_j w_mj δ_j."""
    w, dW, da = W.tolist(), [[0.0] * W.shape[1] for _ in range(W.shape[0])], np.zeros(a.shape)
    for n, (row, up) in enumerate(zip(a.tolist(), delta.tolist())):
        for m, v in enumerate(row):
            total = 0.0
            for j, g in enumerate(up):
                dW[m][j] += v * g
                total += w[m][j] * g
            da[n, m] = total
    return np.array(dW), delta.sum(axis=0), da


def _forward(layers, P, X):
    """Z and A of every layer (1 = the inputs) and the max pools' choices."""
    A, Z, chosen = {1: np.asarray(X, dtype=float)}, {}, {}
    for k, lay in enumerate(layers, start=1):           # lay makes layer k+1 from layer k
        b = P[f"b[{k + 1}]"] if lay.get("bias") else None
        if lay["kind"] == "conv":
            Z[k + 1] = conv_forward(A[k], P[f"K[{k}]"], b, lay["stride"], lay["padding"])
        elif lay["kind"] == "dense":
            Z[k + 1] = dense_forward(A[k].reshape(len(A[k]), -1), P[f"W[{k}]"], b)   # C order, as torch.flatten
        else:
            A[k + 1], chosen[k + 1] = pool_forward(A[k], lay["kind"][:3], lay["size"], lay["stride"])
            continue
        A[k + 1] = act_value(lay["activation"], Z[k + 1])
    return Z, A, chosen


def loss_conv(inputs, layers, loss, params, X, T, reduction="sum") -> float:
    """E alone, as the finite differences need it (summed over the batch, or the mean)."""
    Z, A, _ = _forward(layers, {key: np.asarray(v, dtype=float) for key, v in params.items()}, X)
    L = len(layers) + 1
    E = _loss_value(layers[-1]["activation"], loss, Z[L], A[L], np.asarray(T, dtype=float)).sum()
    return E / len(A[1]) if reduction == "mean" else E


def backprop_conv(inputs, layers, loss, params, X, T, reduction="sum"):
    """(E, grads, info): E and every array's gradient summed over the batch (or the mean); info holds
    per layer "z", "a", "delta" (∂E/∂z) and "da" (∂E/∂a, the inputs' included)."""
    P = {key: np.asarray(v, dtype=float) for key, v in params.items()}
    X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
    if X.shape[1:] != tuple(inputs):
        raise ValueError(f"X has shape {X.shape}; the network needs (batch, {', '.join(map(str, inputs))})")
    Z, A, chosen = _forward(layers, P, X)
    L, out = len(layers) + 1, layers[-1]["activation"]
    E = _loss_value(out, loss, Z[L], A[L], T).sum()
    delta, da, grads = {L: _output_delta(out, loss, Z[L], A[L], T)}, {}, {}
    for k in range(L - 1, 0, -1):                        # layer k+1's δ (or ∂E/∂a for a pool) → layer k
        lay = layers[k - 1]
        if lay["kind"] == "conv":
            grads[f"K[{k}]"], db, da[k] = conv_backward(A[k], P[f"K[{k}]"], delta[k + 1], lay["stride"], lay["padding"])
        elif lay["kind"] == "dense":
            grads[f"W[{k}]"], db, flat = dense_backward(A[k].reshape(len(X), -1), P[f"W[{k}]"], delta[k + 1])
            da[k] = flat.reshape(A[k].shape)
        else:
            da[k] = pool_backward(A[k].shape, lay["kind"][:3], lay["size"], lay["stride"], da[k + 1], chosen[k + 1])
        if lay.get("bias"):
            grads[f"b[{k + 1}]"] = db
        if k > 1 and layers[k - 2]["kind"] in ("conv", "dense"):
            delta[k] = da[k] * act_prime(layers[k - 2]["activation"], Z[k])    # δ = ∂E/∂a ⊙ g'(z)
    if reduction == "mean":
        E, grads = E / len(X), {key: g / len(X) for key, g in grads.items()}
    return E, grads, {"z": Z, "a": A, "delta": delta, "da": da}
