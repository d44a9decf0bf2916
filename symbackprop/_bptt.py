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
    E and the gradients are sums over the batch (means with reduction="mean").
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

    def _params(self, P):
        net = self.network
        P = {k: np.asarray(v, dtype=float) for k, v in P.items()}
        want = {"U": (net.inputs, net.hidden), "W": (net.hidden, net.hidden), "V": (net.hidden, net.outputs)}
        if net.bias:
            want.update({"b": (net.hidden,), "c": (net.outputs,)})
        for key, shape in want.items():
            if key not in P or P[key].shape != shape:
                raise ValueError(f"P[{key!r}] must have shape {shape}")
        return P

    def run(self, P, X, T, h0=None, details: bool = False):
        net, parts = self.network, self.parts
        P = self._params(P)
        X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
        n = X.shape[0]
        if X.shape != (n, net.steps, net.inputs) or T.shape != (n, net.steps, net.outputs):
            raise ValueError(f"X must be (batch, {net.steps}, {net.inputs}) and T (batch, {net.steps}, {net.outputs})")
        f, fp, of_output = parts.f[0], parts.fprime[0], parts.prime_of_output[0]
        h = np.zeros((n, net.hidden)) if h0 is None else np.broadcast_to(np.asarray(h0, dtype=float), (n, net.hidden))
        Hs, Ss, Os, Ys, errors = [h], [None], [None], [None], [None]
        total = 0.0
        for t in range(1, net.steps + 1):
            s = X[:, t - 1] @ P["U"] + Hs[-1] @ P["W"]
            if net.bias:
                s = s + P["b"]
            h = _full(f(s), s)
            o = h @ P["V"]
            if net.bias:
                o = o + P["c"]
            y, la = self._output(o)
            target = T[:, t - 1]
            total += _full(parts.loss_term(o, y, target, la), o).sum()
            if parts.output_delta is not None:
                e = _full(parts.output_delta(o, y, target), o)
            else:                                      # softmax without the shortcut: Jacobian times ∂E/∂y
                u = _full(parts.dE_da(o, y, target), o)
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

    def _output(self, o):
        f_out = self.parts.f[1]
        if f_out is not None:
            return _full(f_out(o), o), 0.0
        shifted = o - o.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        return e / total, shifted - np.log(total)

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
