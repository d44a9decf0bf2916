"""Compiled gradients of a layer stack over a batch: dense, batch-norm, layer-norm and dropout layers as
matrix code, no Python loop over samples or nodes.

A dense layer is one product each way: z = a·W + b, ∂E/∂W = aᵀ·δ, ∂E/∂a = δ·Wᵀ.  A norm layer
takes its statistics over the batch (batch norm, per node: training mode) or over the nodes of
each sample (layer norm): μ, var (biased), σ = √(var + ε), ε = 1e-5, x̂ = (x − μ)/σ, z = γ·x̂ + β;
backwards the compact form ∂E/∂x = (m·g − Σg − x̂·Σ(g·x̂))/(m·σ), g = γ·δ, m the count averaged
over.  Dropout is inverted: a = m·a_below/(1 − p), so ∂E/∂a_below = m·∂E/∂a/(1 − p).  The
elementwise parts (f, f', δ at the outputs, the loss term in its stable form) are those of the
dense compile (``_compile.Vectorized``), from a small proxy's derivation, as for conv nets.

Arrays (DESIGN.md §5.4), k the layer number of the names: ``W[k]`` (n_k, n_{k+1}) with
``W[k][i−1, j−1]`` = wij[k], ``b[k]``, ``gamma[k]``, ``beta[k]`` (n_k,); X (batch, inputs),
T (batch, outputs); ``masks`` {k: (batch, n_k) array of 0 and 1} for each dropout layer k.
Without masks no node is dropped: every mask is 1 (the layer still scales by 1/(1 − p), as in
training).  Any batch size works: the spec's N is the derivation's only.  float32 in (X, T and
the arrays), float32 out; a wrong shape is a ValuesError (a ValueError) naming the shape needed.

>>> import numpy as np
>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1, "activation": "linear"}]}, "spec")
>>> f = BatchFunction(net)
>>> f.shapes
{'gamma[2]': (1,), 'beta[2]': (1,), 'W[2]': (1, 1)}
>>> E, g = f({"gamma[2]": [1.0], "beta[2]": [0.0], "W[2]": [[2.0]]}, [[1.0], [3.0]], [[0.0], [0.0]])
>>> round(float(E), 3), round(float(g["gamma[2]"][0]), 3), round(float(g["W[2]"][0, 0]), 3)
(4.0, 8.0, 4.0)
"""
from __future__ import annotations

import numpy as np

from ._batch import EPSILON, BatchNet, Dropout, Norm
from ._conv import Dense
from ._conv_numeric import OutputLayer, _Parts, _same, named_arrays
from ._derivation import derive
from ._errors import CompileError, ValuesError
from ._network import Network
from ._numpy_code import dtype_of


def parameter_shapes(net: BatchNet) -> dict:
    """Array name → shape, in the order of ``net.parameters()``: W[k] (b[k+1]) of each dense layer k+1,
    gamma[k], beta[k] of each norm layer k."""
    sizes, found = net.sizes, {}
    for k, lay in enumerate(net.layers, start=2):
        if isinstance(lay, Dense):
            found[f"W[{k - 1}]"] = (sizes[k - 2], lay.size)
            if lay.bias:
                found[f"b[{k}]"] = (lay.size,)
        elif isinstance(lay, Norm):
            found[f"gamma[{k}]"] = (sizes[k - 1],)
            found[f"beta[{k}]"] = (sizes[k - 1],)
    return found


class BatchFunction(OutputLayer):
    """f(params, X, T, masks=None) -> (E, grads) for a BatchNet; ``f.shapes`` gives every array's shape.

    E and the gradients are sums over the samples (divided by the batch size with reduction="mean").
    ``f(params, X, T, masks, details=True)`` adds "z", "a" and "delta" (∂E/∂z), dicts by layer k (the
    dense and norm layers'; "a" every layer's, 1 the inputs).
    """

    def __init__(self, net: BatchNet, reduction: str = "sum"):
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        made = [(k, lay) for k, lay in enumerate(net.layers, start=2) if not isinstance(lay, Dropout)]
        for k, lay in made:
            if lay.activation.name == "g":
                raise CompileError(f"layer {k} uses the generic activation g, which has no numbers: choose one, "
                                   'e.g. activation = "relu"')
        acts = tuple(lay.activation for _, lay in made)
        proxy = Network((1,) * len(acts) + (net.layers[-1].size,), acts, net.loss, False)
        self.parts = _Parts(derive(proxy, weights=()))      # f, f', δ at the outputs, the loss term
        self.network, self.reduction = net, reduction
        self._act = {k: n for n, (k, _) in enumerate(made)}   # layer → index into the parts' lists
        self._keep = {k: float(1 / (1 - lay.rate)) for k, lay in net.dropout_layers()}

    @property
    def shapes(self) -> dict:
        """Array name → shape: W[k] (b[k+1]), gamma[k], beta[k] in the network's order."""
        return parameter_shapes(self.network)

    def _masks(self, masks, n: int, dtype) -> dict:
        """Each dropout layer's mask, checked: (batch, n_k), 0 or 1; all ones without masks."""
        sizes, drops = self.network.sizes, [k for k, _ in self.network.dropout_layers()]
        if masks is None:
            return {k: np.ones((n, sizes[k - 1]), dtype) for k in drops}
        unknown, missing = sorted(set(masks) - set(drops), key=str), sorted(set(drops) - set(masks))
        if unknown or missing:
            raise ValuesError(f"masks must have exactly the dropout layers {drops} as keys; "
                              f"{'unknown ' + repr(unknown[0]) if unknown else 'missing ' + str(missing[0])}")
        found = {}
        for k in drops:
            m = np.asarray(masks[k])
            if m.shape != (n, sizes[k - 1]):
                raise ValuesError(f"the mask of layer {k} has shape {m.shape}; the network needs (batch, "
                                  f"{sizes[k - 1]}) = {(n, sizes[k - 1])}")
            if not np.isin(m, (0, 1)).all():
                raise ValuesError(f"the mask of layer {k} has entries other than 0 and 1: 1 keeps a node, 0 drops it")
            found[k] = m.astype(dtype)
        return found

    def _arrays(self, params: dict, X, T, masks):
        """The params, X, T and masks as arrays of one float type (float32 when they all are), checked."""
        shapes, net = self.shapes, self.network
        arrays = named_arrays(shapes, params)
        X, T = np.asarray(X), np.asarray(T)
        dtype = dtype_of([X, T, *arrays.values()])
        if X.ndim != 2 or X.shape[1] != net.inputs:
            raise ValuesError(f"X has shape {X.shape}; the network needs (batch, {net.inputs})")
        outputs = net.layers[-1].size
        if T.shape != (len(X), outputs):
            raise ValuesError(f"T has shape {T.shape}; the network needs (batch, {outputs}) = {(len(X), outputs)}")
        P = {name: a.astype(dtype, copy=False) for name, a in arrays.items()}
        return P, X.astype(dtype, copy=False), T.astype(dtype, copy=False), self._masks(masks, len(X), dtype)

    # ------------------------------------------------------------ forward
    def _activate(self, k: int, z):
        f = self.parts.f[self._act[k]]
        if f is None:                                                    # softmax (…), from the shifted z
            shifted = z - z.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            return self.parts.coupled[self._act[k]].evaluate(shifted, e, e.sum(axis=1, keepdims=True))
        return _same(f(z), z)

    def forward(self, P: dict, X, M: dict):
        """Z, A (index k: layer k) and each norm layer's (x̂, σ, axis) for the backward pass."""
        eps, Z, A, kept = X.dtype.type(EPSILON), {}, {1: X}, {}
        for k, lay in enumerate(self.network.layers, start=2):           # lay makes layer k
            below = A[k - 1]
            if isinstance(lay, Dropout):
                A[k] = below * M[k] * X.dtype.type(self._keep[k])
                continue
            if isinstance(lay, Norm):
                axis = 0 if lay.kind == "batchnorm" else 1
                d = below - below.mean(axis=axis, keepdims=True)
                sigma = np.sqrt((d * d).mean(axis=axis, keepdims=True) + eps)
                xhat = d / sigma
                z = P[f"gamma[{k}]"] * xhat + P[f"beta[{k}]"]
                kept[k] = (xhat, sigma, axis)
            else:
                z = below @ P[f"W[{k - 1}]"]
                if lay.bias:
                    z += P[f"b[{k}]"]
            Z[k], A[k] = z, self._activate(k, z)
        return Z, A, kept

    # ------------------------------------------------------------ backward
    def __call__(self, params: dict, X, T, masks=None, details: bool = False):
        net, parts = self.network, self.parts
        P, X, T, M = self._arrays(params, X, T, masks)
        Z, A, kept = self.forward(P, X, M)
        L = net.depth
        E = self._loss(Z[L], A[L], T)
        up = self._output_delta(Z[L], A[L], T)         # δ of layer k (∂E/∂a of a dropout layer)
        deltas, grads = {L: up}, {}
        for k in range(L, 1, -1):
            lay, need = net.layer(k), k > 2
            if isinstance(lay, Dropout):
                da = up * M[k] * X.dtype.type(self._keep[k])
            elif isinstance(lay, Dense):
                grads[f"W[{k - 1}]"] = A[k - 1].T @ up                      # ∂E/∂W = aᵀ δ
                if lay.bias:
                    grads[f"b[{k}]"] = up.sum(axis=0)
                da = up @ P[f"W[{k - 1}]"].T if need else None
            else:
                xhat, sigma, axis = kept[k]
                grads[f"gamma[{k}]"], grads[f"beta[{k}]"] = (up * xhat).sum(axis=0), up.sum(axis=0)
                if need:
                    g, m = up * P[f"gamma[{k}]"], X.dtype.type(xhat.shape[axis])
                    da = (m * g - g.sum(axis=axis, keepdims=True)
                          - xhat * (g * xhat).sum(axis=axis, keepdims=True)) / (m * sigma)
            if not need:
                break
            if isinstance(net.layer(k - 1), Dropout):
                up = da
            else:
                i = self._act[k - 1]
                up = da * _same(parts.fprime[i](A[k - 1] if parts.prime_of_output[i] else Z[k - 1]), Z[k - 1])
                deltas[k - 1] = up
        return self._finish(E, grads, X, details, {"z": Z, "a": A, "delta": deltas})

    def loss(self, params: dict, X, T, masks=None):
        """E alone (summed, or the mean)."""
        P, X, T, M = self._arrays(params, X, T, masks)
        Z, A, _ = self.forward(P, X, M)
        L = self.network.depth
        E = self._loss(Z[L], A[L], T)
        return E / len(X) if self.reduction == "mean" else E
