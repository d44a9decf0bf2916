"""Compiled gradients of a conv net: per-layer array code, no Python loop over positions.

A conv layer is im2col and one matrix product each way: the windows of the padded input
(``sliding_window_view``, every s-th) copied once into a (batch·positions, channels·kernel)
matrix ``cols``; z = cols·Kᵀ, ∂E/∂K = δᵀ·cols, and ∂E/∂a scatters δ·K back over the windows,
one slice per kernel offset (the full convolution of the dilated δ with the rotated kernel,
cropped by the padding).  Max pooling keeps the arg-max of each window (``argmax``: the first
maximum, as the derivation's [a = max]) and routes the gradient there; average pooling
spreads it.  The elementwise parts (f, f', δ at the outputs, the loss term in its stable
form) are those of the dense compile (``_compile.Vectorized``), from a small proxy's derivation.
Arrays: ``K[k]`` (out, in, *kernel) as torch's ``Conv2d.weight``, ``W[k]``, ``b[k+1]``;
X (batch, channels, *positions), T (batch, outputs); float32 in, float32 out.

>>> import numpy as np
>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2,
...     "activation": "linear"}, {"size": 1, "activation": "linear"}]}, "spec")
>>> f = ConvFunction(net)
>>> f.shapes
{'K[1]': (1, 1, 2), 'W[2]': (2, 1)}
>>> E, g = f({"K[1]": np.array([[[1.0, -1.0]]]), "W[2]": np.ones((2, 1))}, np.array([[[1.0, 2.0, 4.0]]]), [[0.0]])
>>> float(E), g["K[1]"].ravel().tolist(), g["W[2]"].ravel().tolist()
(4.5, [-9.0, -18.0], [3.0, 6.0])
"""
from __future__ import annotations

from itertools import product

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._compile import Vectorized
from ._conv import Conv, ConvNet, Pool
from ._derivation import derive
from ._errors import CompileError, ValuesError
from ._network import Network

_NAMES = {"k": "K", "w": "W", "b": "b"}


def named_arrays(shapes: dict, params: dict) -> dict:
    """``params`` as arrays: exactly the names of ``shapes`` (name → shape), each of its shape;
    ValuesError naming the first that is not (the dict form of a compiled function)."""
    unknown, missing = sorted(set(params) - set(shapes)), sorted(set(shapes) - set(params))
    if unknown or missing:
        raise ValuesError(f"params must have exactly the arrays {', '.join(shapes)}; "
                          f"{'unknown ' + unknown[0] if unknown else 'missing ' + missing[0]}")
    arrays = {name: np.asarray(params[name]) for name in shapes}
    for name, shape in shapes.items():
        if arrays[name].shape != shape:
            raise ValuesError(f"{name} has shape {arrays[name].shape}; the network needs {shape}")
    return arrays

class _Parts(Vectorized):
    """The dense compile's elementwise parts (f, f', δ at the outputs, ∂E/∂a, the stable loss term),
    without the dense stack's own generated kernels."""

    def _compiled(self) -> None:
        pass


def _same(value, like):
    """An elementwise result as an array of ``like``'s shape and dtype (constants come back as scalars)."""
    if isinstance(value, np.ndarray) and value.shape == like.shape and value.dtype == like.dtype:
        return value
    return np.broadcast_to(np.asarray(value, dtype=like.dtype), like.shape)


def _offset_slices(offsets, stride, out) -> tuple:
    """The input cells that kernel (or window) offset ``offsets`` meets over every output position."""
    return tuple(slice(u, u + s * (o - 1) + 1, s) for u, s, o in zip(offsets, stride, out))


class OutputLayer:
    """What a compiled layer stack (ConvFunction, BatchFunction) does at its dense output layer and at the
    end of a call: E in the loss term's stable form, the output δ, the sums or means in the arrays' dtype.
    The class has ``parts`` (``_compile.Vectorized`` of a proxy network), ``shapes`` and ``reduction``."""

    def _loss(self, z, a, T):
        """E summed over the batch, in the loss term's stable form (log-softmax shifted by the max)."""
        la = 0.0
        if self.parts.f[-1] is None:
            shifted = z - z.max(axis=1, keepdims=True)
            la = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return np.sum(_same(self.parts.loss_term(z, a, T, la), z), dtype=z.dtype)

    def _output_delta(self, z, a, T):
        parts = self.parts
        if parts.output_delta is not None:
            return _same(parts.output_delta(z, a, T), z)
        u = _same(parts.dE_da(z, a, T), z)                               # softmax: Jacobian times ∂E/∂a
        return a * (u - (u * a).sum(axis=1, keepdims=True))

    def _finish(self, E, grads: dict, X, details: bool, info: dict):
        """(E, grads[, info]): means with reduction="mean", every gradient in the inputs' dtype."""
        if self.reduction == "mean":
            E, grads = E / len(X), {key: g / len(X) for key, g in grads.items()}
        grads = {name: grads[name].astype(X.dtype, copy=False) for name in self.shapes}
        return (E, grads, info) if details else (E, grads)


class ConvFunction(OutputLayer):
    """f(params, X, T) -> (E, grads) for a ConvNet; ``f.shapes`` gives every array's shape.

    E and the gradients are sums over the batch (means with reduction="mean").
    ``f(params, X, T, details=True)`` adds per-layer "z", "a" and "delta" (index k: layer k).
    """

    def __init__(self, net: ConvNet, reduction: str = "sum"):
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        acts = tuple(lay.activation for lay in net.layers if not isinstance(lay, Pool))
        for k, lay in enumerate(net.layers, start=2):
            if not isinstance(lay, Pool) and lay.activation.name == "g":
                raise CompileError(f"layer {k} uses the generic activation g, which has no numbers: choose one, "
                                   'e.g. activation = "relu"')
        proxy = Network((1,) * len(acts) + (net.layers[-1].size,), acts, net.loss, False)
        self.parts = _Parts(derive(proxy, weights=()))      # f, f', δ at the outputs, the loss term
        self.network, self.reduction = net, reduction
        self._act = {}                                          # layer made → index into parts' lists
        for k, lay in enumerate(net.layers, start=2):
            if not isinstance(lay, Pool):
                self._act[k] = len(self._act)

    @property
    def shapes(self) -> dict:
        """Array name → shape: K[k], W[k], b[k+1] in the network's order."""
        return {f"{_NAMES[letter]}[{k}]": shape for letter, k, shape in self.network.parameter_shapes()}

    def _arrays(self, params: dict, X, T):
        """The params, X and T as arrays of one float type (float32 when they all are), checked."""
        shapes, net = self.shapes, self.network
        arrays = named_arrays(shapes, params)
        X, T = np.asarray(X), np.asarray(T)
        kinds = [a.dtype for a in (X, T, *arrays.values())]
        dtype = np.float32 if np.result_type(*kinds) == np.float32 else np.float64
        if X.ndim != len(net.inputs) + 1 or X.shape[1:] != tuple(net.inputs):
            raise ValuesError(f"X has shape {X.shape}; the network needs (batch, {', '.join(map(str, net.inputs))})")
        outputs = net.layers[-1].size
        if T.shape != (len(X), outputs):
            raise ValuesError(f"T has shape {T.shape}; the network needs (batch, {outputs}) = {(len(X), outputs)}")
        return {name: a.astype(dtype, copy=False) for name, a in arrays.items()}, X.astype(dtype, copy=False), \
            T.astype(dtype, copy=False)

    # ------------------------------------------------------------ forward
    def _conv(self, a, K, b, lay: Conv):
        """z of a conv layer and the im2col matrix it was made from."""
        n, dims = len(a), len(lay.kernel)
        pad = ((0, 0), (0, 0), *[(p, p) for p in lay.padding])
        padded = np.pad(a, pad) if any(lay.padding) else a
        windows = sliding_window_view(padded, lay.kernel, axis=tuple(range(2, 2 + dims)))
        windows = windows[(slice(None), slice(None), *[slice(None, None, s) for s in lay.stride])]
        out = windows.shape[2:2 + dims]
        order = (0, *range(2, 2 + dims), 1, *range(2 + dims, 2 + 2 * dims))   # (n, *out, in, *kernel)
        cols = windows.transpose(order).reshape(n * int(np.prod(out)), K[0].size)  # the one copy
        z = cols @ K.reshape(len(K), -1).T                                   # (n·positions, out channels)
        if b is not None:
            z += b
        z = z.reshape(n, *out, len(K))
        return np.moveaxis(z, -1, 1), cols                                   # (n, out channels, *out), a view

    def _pool(self, a, lay: Pool):
        dims = len(lay.size)
        windows = sliding_window_view(a, lay.size, axis=tuple(range(2, 2 + dims)))
        windows = windows[(slice(None), slice(None), *[slice(None, None, s) for s in lay.stride])]
        if lay.mode == "avg":
            return windows.mean(axis=tuple(range(-dims, 0))), None
        cells = windows.reshape(*windows.shape[:2 + dims], int(np.prod(lay.size)))  # window in C order
        first = cells.argmax(axis=-1)                                        # the first maximum on ties
        return np.take_along_axis(cells, first[..., None], axis=-1)[..., 0], first

    def forward(self, P: dict, X):
        """Z, A (index k: layer k) and what the backward pass keeps (im2col matrices, arg-maxes)."""
        net, parts = self.network, self.parts
        Z, A, kept = [None, None], [None, X], [None, None]
        for k, lay in enumerate(net.layers, start=1):                       # lay makes layer k+1
            b = P.get(f"b[{k + 1}]")
            if isinstance(lay, Pool):
                a, keep = self._pool(A[k], lay)
                Z.append(None), A.append(a), kept.append(keep)
                continue
            if isinstance(lay, Conv):
                z, keep = self._conv(A[k], P[f"K[{k}]"], b, lay)
            else:
                keep = A[k].reshape(len(X), int(np.prod(A[k].shape[1:])))    # flattened in C order
                z = keep @ P[f"W[{k}]"]
                if b is not None:
                    z += b
            f = parts.f[self._act[k + 1]]
            if f is None:                                                    # softmax and the like, shifted
                shifted = z - z.max(axis=1, keepdims=True)
                e = np.exp(shifted)
                a = parts.coupled[self._act[k + 1]].evaluate(shifted, e, e.sum(axis=1, keepdims=True))
            else:
                a = _same(f(z), z)
            Z.append(z), A.append(a), kept.append(keep)
        return Z, A, kept

    # ------------------------------------------------------------ backward
    def _conv_back(self, delta, K, cols, shape, lay: Conv, need_input: bool):
        """(∂E/∂K, ∂E/∂b, ∂E/∂a or None) from δ (n, out channels, *out)."""
        n, out = shape[0], delta.shape[2:]
        d2 = np.moveaxis(delta, 1, -1).reshape(-1, len(K))                  # (n·positions, out channels)
        dK = (d2.T @ cols).reshape(K.shape)                                  # Σ over positions of δ·a
        db = d2.sum(axis=0)
        if not need_input:
            return dK, db, None
        dcols = (d2 @ K.reshape(len(K), -1)).reshape(n, *out, shape[1], *lay.kernel)
        padded = np.zeros((n, shape[1], *[m + 2 * p for m, p in zip(shape[2:], lay.padding)]), dtype=delta.dtype)
        for offsets in product(*[range(w) for w in lay.kernel]):            # a loop over kernel offsets
            part = dcols[(Ellipsis, *offsets)]                               # (n, *out, in channels)
            padded[(slice(None), slice(None), *_offset_slices(offsets, lay.stride, out))] += np.moveaxis(part, -1, 1)
        crop = tuple(slice(p, p + m) for p, m in zip(lay.padding, shape[2:]))
        return dK, db, padded[(slice(None), slice(None), *crop)]

    def _pool_back(self, up, first, shape, lay: Pool, dtype):
        """∂E/∂a below a pool: to each window's first maximum, or spread over the window."""
        out, cells = up.shape[2:], int(np.prod(lay.size))
        apart = all(s >= w for s, w in zip(lay.stride, lay.size))          # windows do not overlap
        da = np.zeros(shape, dtype=dtype)
        for m, offsets in enumerate(product(*[range(w) for w in lay.size])):  # a loop over window offsets
            where = (slice(None), slice(None), *_offset_slices(offsets, lay.stride, out))
            share = (first == m) if first is not None else dtype.type(1 / cells)
            if apart:
                np.multiply(up, share, out=da[where])
            else:
                da[where] += up * share
        return da

    def __call__(self, params: dict, X, T, details: bool = False):
        net, parts = self.network, self.parts
        P, X, T = self._arrays(params, X, T)
        Z, A, kept = self.forward(P, X)
        L = net.depth
        z, a = Z[L], A[L]
        E = self._loss(z, a, T)
        delta = self._output_delta(z, a, T)
        deltas, grads, up = {L: delta}, {}, delta
        for k in range(L - 1, 0, -1):                   # up: layer k+1's δ (∂E/∂a when a pool made it)
            lay = net.layer(k + 1)
            if isinstance(lay, Pool):
                da = self._pool_back(up, kept[k + 1], A[k].shape, lay, X.dtype)
            elif isinstance(lay, Conv):
                grads[f"K[{k}]"], db, da = self._conv_back(up, P[f"K[{k}]"], kept[k + 1], A[k].shape, lay, k > 1)
            else:
                grads[f"W[{k}]"] = kept[k + 1].T @ up                          # ∂E/∂W = aᵀ δ
                db = up.sum(axis=0)
                da = (up @ P[f"W[{k}]"].T).reshape(A[k].shape) if k > 1 else None
            if lay.bias:
                grads[f"b[{k + 1}]"] = db
            if k > 1 and not isinstance(net.layer(k), Pool):
                i = self._act[k]
                up = da * _same(parts.fprime[i](A[k] if parts.prime_of_output[i] else Z[k]), Z[k])  # δ = ∂E/∂a ⊙ f'
                deltas[k] = up
            else:
                up = da
        return self._finish(E, grads, X, details, {"z": Z, "a": A, "delta": deltas})

    def loss(self, params: dict, X, T):
        """E alone (summed, or the mean)."""
        P, X, T = self._arrays(params, X, T)
        Z, A, _ = self.forward(P, X)
        E = self._loss(Z[-1], A[-1], T)
        return E / len(X) if self.reduction == "mean" else E
