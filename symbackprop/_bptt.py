"""Compiled backpropagation through time: the recurrent kind's matrix code, and its names.

The vectorized form takes its elementwise parts (g, g', ∂E/∂o at the outputs, the
loss term) from the derivation of a one-step proxy, exactly as the feedforward
compile does; the sums over nodes and steps are matrix products.  Only h<t−1>·W and
δ<t+1>·Wᵀ need the step before, so they alone run in a loop over time; x·U, the output
layer, e·Vᵀ and the weights' sums over steps are each one stacked product for all steps,
in time-major work arrays kept between calls (``_bptt_scratch``, lent by ``_spare``).

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
from ._bptt_scratch import Scratch
from ._spare import Spare
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
        self._spare = Spare()                          # work arrays kept between calls

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
        P, X, T, h0, dt = self._arrays(P, X, T, h0)
        n, ops = X.shape[0], self.ops(dt)
        # details hands out views of the work arrays, so those are the call's own, never lent again
        key = (net.steps, net.inputs, net.hidden, net.outputs, n, dt)
        work = Scratch(net, n, dt) if details else self._spare.take(key, Scratch, net, n, dt)
        Xt = X.transpose(1, 0, 2)                     # time-major (step, sample, node), as every work array
        np.copyto(work.T, T.transpose(1, 0, 2))       # a copy: the output layer takes all steps as one matrix
        S, Hs = self._forward(P, work, Xt, h0, ops[0])
        total, Y, errors = self._outputs(P, work, ops)
        deltas, dEdh = self._backward(P, work, errors, ops)
        grads = {"U": _summed(Xt, deltas, work.stack["U"]), "W": _summed(Hs[:-1], deltas, work.stack["W"]),
                 "V": _summed(Hs[1:], errors, work.stack["V"])}
        if net.bias:                                  # Σ over samples as products with a row of ones, step by
            ones = np.ones(n, dt)                     # step: a third of the time of .sum over two axes
            grads["b"], grads["c"] = np.matmul(ones, deltas).sum(axis=0), np.matmul(ones, errors).sum(axis=0)
        grads = {k: grads[k] for k in P if k in GROUPS}
        if self.reduction == "mean":
            total /= n
            grads = {k: v / n for k, v in grads.items()}
        if details:
            def by_step(A):
                return [None, *A]
            return total, grads, {"s": by_step(S), "h": list(Hs), "o": by_step(work.O), "y": by_step(Y),
                                  "error": by_step(errors), "delta": [*by_step(deltas), None],
                                  "dE/dh": by_step(dEdh)}
        self._spare.give(key, work)
        return total, grads

    def _forward(self, P, work, Xt, h0, f) -> tuple:
        """(s, h) in ``work``: s (steps, batch, hidden), h (steps + 1, batch, hidden) with h<0> first."""
        net, S, Hs, product = self.network, work.S, work.H, work.step
        np.matmul(Xt, P["U"], out=S)                  # x<t>·U of every step before the loop: only h<t−1>·W
        if net.bias:                                  # needs the step before
            S += P["b"]
        Hs[0] = h0
        W = np.ascontiguousarray(P["W"])
        for t in range(net.steps):                    # index t is step t + 1
            np.matmul(Hs[t], W, out=product)
            S[t] += product
            Hs[t + 1] = f(S[t])
        return S, Hs

    def _outputs(self, P, work, ops) -> tuple:
        """(E, y, ∂E/∂o) of every step at once (o in ``work``; y, ∂E/∂o time-major): the output layer does not
        feed the recurrence.  The elementwise parts see (steps·batch) × outputs rows, the output layer's samples."""
        net = self.network
        _, _, _, f_out, loss_term, output_delta, dE_da = ops
        steps, n, _ = work.O.shape
        np.matmul(work.H[1:], P["V"], out=work.O)
        if net.bias:
            work.O += P["c"]
        O, target = work.O.reshape(steps * n, net.outputs), work.T.reshape(steps * n, net.outputs)
        Y, la = self._output(O, f_out, self.parts.coupled[1])
        total = O.dtype.type(loss_term(O, Y, target, la).sum())
        if output_delta is not None:
            errors = output_delta(O, Y, target)
        else:                                          # softmax without the shortcut: Jacobian times ∂E/∂y
            u = dE_da(O, Y, target)
            errors = Y * (u - (u * Y).sum(axis=1, keepdims=True))
        return total, Y.reshape(work.O.shape), errors.reshape(work.O.shape)

    def _backward(self, P, work, errors, ops) -> tuple:
        """(δ, ∂E/∂h) in ``work``, (steps, batch, hidden): δ<t> = (e<t>·Vᵀ + δ<t+1>·Wᵀ) ⊙ g'(s<t>), the second
        term only where ``flows`` (not after the last step, nor across a truncation cut)."""
        net, dEdh, deltas, product = self.network, work.dEdh, work.delta, work.step
        fp, of_output = ops[1], ops[2]
        np.matmul(errors, P["V"].T, out=dEdh)         # the output layer's part, every step at once
        slopes = work.H[1:] if of_output else work.S
        WT = np.ascontiguousarray(P["W"].T)
        for t in range(net.steps - 1, -1, -1):        # index t is step t + 1
            if flows(net, t + 1, self.truncate):
                np.matmul(deltas[t + 1], WT, out=product)
                dEdh[t] += product
            np.multiply(dEdh[t], fp(slopes[t]), out=deltas[t])   # g' step by step: no big fresh array
        return deltas, dEdh

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


def _summed(A, B, stack):
    """Σ_t A[t]ᵀ·B[t] over the first axis (steps) of two time-major stacks: a weight's gradient.

    One stacked matmul makes the per-step products (into ``stack``), each the size of one step's:
    OpenBLAS gives such products one thread, where a single (steps·batch)-long product gets several,
    whose hand-offs cost milliseconds when the cores are busy with other work.
    """
    return np.matmul(A.transpose(0, 2, 1), B, out=stack).sum(axis=0)


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
