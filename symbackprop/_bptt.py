"""Compiled backpropagation through time: the recurrent kind's matrix code, and its names.

The vectorized form takes its elementwise parts (g, g', ∂E/∂o at the outputs, the
loss term) from the derivation of a one-step proxy, exactly as the feedforward
compile does; the sums over nodes and steps are matrix products in a loop over time.

>>> import numpy as np
>>> from symbackprop._rnn import RNN
>>> f = RNNVectorized(RNN.build(1, 1, 1, 2, activation="linear"))
>>> E, g = f({"U": [[1.0]], "W": [[0.0]], "V": [[1.0]]}, np.ones((1, 2, 1)), np.zeros((1, 2, 1)))
>>> float(E), float(g["U"][0, 0])
(1.0, 2.0)
"""
from __future__ import annotations

import numpy as np

from ._compile import CompileError, Vectorized, _full
from ._errors import ValuesError
from ._numpy_code import dtype_of, elementwise
from ._network import Network
from ._elman import flows
from ._rnn import RNN, sym

GROUPS = ("U", "W", "V", "b", "c")
LETTER = {"U": "u", "W": "w", "V": "v", "b": "b", "c": "c"}


def _check_truncate(truncate):
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1):
        raise ValueError(f"truncate = {truncate!r}: give a whole number of steps ≥ 1")


class RNNVectorized:
    """f(P, X, T, h0=None) -> (E, grads): BPTT as matrix code; P and grads map U, W, V (b, c) to arrays.

    X is (batch, steps, inputs), T (batch, steps, outputs), h0 (batch, hidden) or (hidden,);
    E and the gradients are sums over the batch (means with reduction="mean"), in the arrays'
    dtype: float32 when they are float32 (``_numpy_code.dtype_of``), else float64.
    """

    def __init__(self, net: RNN, truncate: int | None = None, reduction: str = "sum"):
        _check_truncate(truncate)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        for where, act in (("hidden", net.activation), ("output", net.output_activation)):
            if act.name == "g":
                raise CompileError(f"the {where} activation is the generic g, which has no numbers: "
                                   "choose one, e.g. activation = \"tanh\"")
        from ._derivation import derive
        proxy = Network((1, 1, net.outputs), net.activations, net.loss, False)
        self.parts = Vectorized(derive(proxy, weights=()))
        self.network, self.truncate, self.reduction = net, truncate, reduction
        self._ops: dict = {}

    @property
    def shapes(self) -> dict:
        """Array name → shape, for ``f(P, X, T)``."""
        net = self.network
        want = {"U": (net.inputs, net.hidden), "W": (net.hidden, net.hidden), "V": (net.hidden, net.outputs)}
        if net.bias:
            want.update({"b": (net.hidden,), "c": (net.outputs,)})
        return want

    def _arrays(self, P, X, T, h0) -> tuple:
        """P, X, T, h0 as arrays of one dtype, every shape checked (a ValueError names the one needed)."""
        net, want = self.network, self.shapes
        if not isinstance(P, dict):
            raise ValuesError(f"give P as a dict of arrays {', '.join(want)}")
        P = {k: np.asarray(v) for k, v in P.items()}
        unknown = sorted(set(P) - set(want))
        if unknown:
            raise ValuesError(f"P has an unknown array {unknown[0]!r}: give {', '.join(want)}")
        for key, shape in want.items():
            if key not in P or P[key].shape != shape:
                raise ValuesError(f"P[{key!r}] must have shape {shape}"
                                  + (f", not {P[key].shape}" if key in P else " (it is missing)"))
        X, T = np.asarray(X), np.asarray(T)
        h0 = None if h0 is None else np.asarray(h0)
        dt = dtype_of([*P.values(), X, T, h0])
        n = X.shape[0] if X.ndim else 0
        if X.shape != (n, net.steps, net.inputs):
            raise ValuesError(f"X has shape {X.shape}; the network needs (batch, {net.steps}, {net.inputs})")
        if T.shape != (n, net.steps, net.outputs):
            raise ValuesError(f"T has shape {T.shape}; the network needs (batch, {net.steps}, {net.outputs}) "
                              f"with the batch of X: {(n, net.steps, net.outputs)}")
        if h0 is None:
            h0 = np.zeros((n, net.hidden), dt)
        elif h0.shape not in ((net.hidden,), (1, net.hidden), (n, net.hidden)):
            raise ValuesError(f"h0 has shape {h0.shape}; the network needs ({net.hidden},) or (batch, {net.hidden})")
        P = {k: v.astype(dt, copy=False) for k, v in P.items()}
        h0 = np.broadcast_to(h0.astype(dt, copy=False), (n, net.hidden))
        return P, X.astype(dt, copy=False), T.astype(dt, copy=False), h0, dt

    def ops(self, dt) -> tuple:
        """(g, g', g' of the output?, the output activation or None for softmax, loss term, output δ or
        None, ∂E/∂y) as NumPy functions for dtype ``dt`` (``_numpy_code.elementwise``), made once."""
        if dt not in self._ops:
            parts = self.parts

            def made(part):
                return None if part is None else elementwise(part, dt)
            self._ops[dt] = (made(parts.f[0]), made(parts.fprime[0]), parts.prime_of_output[0], made(parts.f[1]),
                             made(parts.loss_term), made(parts.output_delta), made(parts.dE_da))
        return self._ops[dt]

    def run(self, P, X, T, h0=None, details: bool = False):
        net = self.network
        P, X, T, h, dt = self._arrays(P, X, T, h0)
        n = X.shape[0]
        f, fp, of_output, f_out, loss_term, output_delta, dE_da = self.ops(dt)
        Hs, Ss, Os, Ys, errors = [h], [None], [None], [None], [None]
        total = dt.type(0)
        for t in range(1, net.steps + 1):
            s = X[:, t - 1] @ P["U"] + Hs[-1] @ P["W"]
            if net.bias:
                s = s + P["b"]
            h = f(s)
            o = h @ P["V"]
            if net.bias:
                o = o + P["c"]
            y, la = self._output(o, f_out, self.parts.coupled[1])
            target = T[:, t - 1]
            total += loss_term(o, y, target, la).sum()
            if output_delta is not None:
                e = output_delta(o, y, target)
            else:                                      # softmax without the shortcut: Jacobian times ∂E/∂y
                u = dE_da(o, y, target)
                e = y * (u - (u * y).sum(axis=1, keepdims=True))
            Ss.append(s), Hs.append(h), Os.append(o), Ys.append(y), errors.append(e)
        grads = {k: np.zeros_like(P[k]) for k in P if k in GROUPS}
        deltas, dEdh = [None] * (net.steps + 2), [None] * (net.steps + 1)
        for t in range(net.steps, 0, -1):
            dh = errors[t] @ P["V"].T
            if flows(net, t, self.truncate):
                dh = dh + deltas[t + 1] @ P["W"].T
            dEdh[t] = dh
            delta = dh * fp(Hs[t] if of_output else Ss[t])
            deltas[t] = delta
            grads["U"] += X[:, t - 1].T @ delta
            grads["W"] += Hs[t - 1].T @ delta
            grads["V"] += Hs[t].T @ errors[t]
            if net.bias:
                grads["b"] += delta.sum(axis=0)
                grads["c"] += errors[t].sum(axis=0)
        if self.reduction == "mean":
            total /= n
            grads = {k: v / n for k, v in grads.items()}
        if details:
            return total, grads, {"s": Ss, "h": Hs, "o": Os, "y": Ys, "error": errors, "delta": deltas, "dE/dh": dEdh}
        return total, grads

    __call__ = run

    @staticmethod
    def _output(o, f_out, coupled=None):
        """(a, log-softmax) of an output layer: f_out's, or a coupled one's (softmax when not given)."""
        if f_out is not None:
            return f_out(o), 0.0
        shifted = o - o.max(axis=1, keepdims=True)                 # softmax and the like
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        a = e / total if coupled is None else coupled.evaluate(shifted, e, total)
        return a, shifted - np.log(total)

    def loss(self, P, X, T, h0=None) -> float:
        return self.run(P, X, T, h0)[0]

    def jacobian_products(self, P, info, sample: int = 0):
        """‖∂h<T>/∂h<t>‖₂ for t = T … 0, and ‖∂E/∂h<t>‖₂ for t = T … 1, for one sample."""
        net, parts = self.network, self.parts
        fp, of_output = parts.fprime[0], parts.prime_of_output[0]
        W = np.asarray(P["W"], dtype=float)
        product = np.eye(net.hidden)
        rows = []
        for t in range(net.steps, -1, -1):
            dEdh = float(np.linalg.norm(info["dE/dh"][t][sample])) if t >= 1 else None
            rows.append((t, dEdh, float(np.linalg.norm(product, 2))))
            if t >= 1:
                g = _full(fp(info["h"][t] if of_output else info["s"][t]), info["s"][t])[sample]
                product = product @ (g[:, None] * W.T)      # ∂h<t>/∂h<t-1>: row j, column i = g'(sj<t>)·wij
        return rows


# ---------------------------------------------------------------- names and values
def values_of(net: RNN, P, X, T, h0) -> dict:
    """Plain name → value (arrays over the batch for x, t and h<0>)."""
    V = {}
    for key in GROUPS:
        if key in P:
            for index, value in np.ndenumerate(np.asarray(P[key])):
                V[sym(LETTER[key], *(i + 1 for i in index)).name] = float(value)
    for t in range(1, net.steps + 1):
        for i in range(net.inputs):
            V[f"x{i + 1}<{t}>"] = X[:, t - 1, i]
        for j in range(net.outputs):
            V[f"t{j + 1}<{t}>"] = T[:, t - 1, j]
    for i in range(net.hidden):
        V[f"h{i + 1}<0>"] = h0[:, i]
    return V


def flat(grads: dict) -> dict:
    """Parameter name → gradient."""
    out = {}
    for key in GROUPS:
        if key in grads:
            for index, value in np.ndenumerate(np.asarray(grads[key])):
                out[sym(LETTER[key], *(i + 1 for i in index)).name] = float(value)
    return out
