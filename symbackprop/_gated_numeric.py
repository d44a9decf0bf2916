"""Compiled gradients of an LSTM or GRU: BPTT as matrix code, one loop over time each way.

The gates' input weights are stacked, (inputs, 4H) (GRU: 3H), and every step's inputs multiplied
at once; the recurrent weights too, one (hidden, 4H) product per step (GRU: r and z, then the
candidate's after the reset); the output layer is one product over all steps.  σ is the stable
0.5·(1 + tanh(z/2)); φ, φ', the output activation, δ at the outputs and the stable loss term are
the dense compile's elementwise parts (``_compile.Vectorized``) of a one-step proxy, as for the
Elman network (``_bptt``).  Arrays as ``_gated_reference.shapes``: ``U_γ``, ``W_γ``, ``b_γ`` per
gate (GRU candidate: h), ``V``, ``c``; X (batch, steps, inputs), T (batch, steps, outputs).

>>> import numpy as np
>>> from symbackprop._gated import GatedRNN
>>> f = GatedFunction(GatedRNN.build("lstm", 1, 1, 1, 1, output="hidden"))
>>> list(f.shapes)
['U_i', 'W_i', 'U_f', 'W_f', 'U_o', 'W_o', 'U_g', 'W_g']
>>> E, g = f({k: np.full(s, 0.5) for k, s in f.shapes.items()}, np.ones((1, 1, 1)), np.zeros((1, 1, 1)))
>>> round(float(E), 6), round(float(g["U_g"][0, 0]), 6)
(0.015185, 0.04894)
"""
from __future__ import annotations

import threading

import numpy as np

from ._bptt import RNNVectorized, _check_truncate
from ._compile import CompileError, Vectorized
from ._derivation import derive
from ._elman import flows
from ._errors import ValuesError
from ._gated import GatedRNN
from ._network import Network
from ._numpy_code import dtype_of

#: the arrays' gate letters (DESIGN.md §5.4: the GRU candidate's arrays are U_h, W_h, b_h)
ARRAY_GATES = {"lstm": ("i", "f", "o", "g"), "gru": ("r", "z", "h")}


def array_shapes(net: GatedRNN) -> dict:
    """Array name → shape: per gate U, W (b), then V (c) for a dense output layer."""
    I, H, O = net.inputs, net.hidden, net.outputs
    found = {f"{M}_{g}": shape for g in ARRAY_GATES[net.cell]
             for M, shape in (("U", (I, H)), ("W", (H, H)), ("b", (H,))) if M != "b" or net.bias}
    dense = {"V": (H, O)} | ({"c": (O,)} if net.bias else {})
    return found | (dense if net.dense else {})


def _sigmoid(z, out):
    """σ(z) = 0.5·(1 + tanh(z/2)) into out: no overflow, no new array."""
    np.tanh(np.multiply(z, 0.5, out=out), out=out)
    out += 1
    out *= 0.5


class GatedFunction:
    """f(P, X, T, h0=None, c0=None) -> (E, grads) for an LSTM or GRU; ``f.shapes`` names every array.

    E and the gradients are sums over the batch (means with reduction="mean"), float32 when the arrays
    are (``_numpy_code.dtype_of``); h0, c0 are (hidden,) or (batch, hidden), zeros when left out (c0:
    the LSTM's cell state only).  truncate K: no error flows back from step t+1 to step t when t is a
    multiple of K.  The large work arrays are kept from call to call (per thread), never returned.
    """

    def __init__(self, net: GatedRNN, reduction: str = "sum", truncate: int | None = None):
        _check_truncate(truncate)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        for where, act in (("cell", net.activation), ("output", net.output_activation)):
            if act.name == "g":
                raise CompileError(f"the {where} activation is the generic g, which has no numbers: "
                                   "choose one, e.g. activation = \"tanh\"")
        proxy = Network((1, 1, net.outputs), (net.activation, net.output_activation), net.loss, False)
        self.parts = Vectorized(derive(proxy, weights=()))
        self.network, self.reduction, self.truncate = net, reduction, truncate
        self._ops, self._work = {}, {}

    def _empty(self, name: str, shape: tuple, dt) -> np.ndarray:
        """A work array kept between calls, one per name and thread (fresh pages cost more than the sums)."""
        key = (name, threading.get_ident())
        found = self._work.get(key)
        if found is None or found.shape != shape or found.dtype != dt:
            found = self._work[key] = np.empty(shape, dt)
        return found

    @property
    def shapes(self) -> dict:
        """Array name → shape, for ``f(P, X, T)``."""
        return array_shapes(self.network)

    ops = RNNVectorized.ops        # (φ, φ', …, ∂E/∂y) for a dtype, made once: the Elman network's parts

    def _arrays(self, P, X, T, h0, c0) -> tuple:
        """Everything as arrays of one dtype, time-major, every shape checked (ValueError names the shape)."""
        net, want = self.network, self.shapes
        unknown = sorted(set(P) - set(want)) if isinstance(P, dict) else ["?"]
        if unknown:
            raise ValuesError(f"give P as a dict of the arrays {', '.join(want)}; not {unknown[0]!r}")
        P = {k: np.asarray(v) for k, v in P.items()}
        for key, shape in want.items():
            if key not in P or P[key].shape != shape:
                raise ValuesError(f"P[{key!r}] must have shape {shape}"
                                  + (f", not {P[key].shape}" if key in P else " (it is missing)"))
        if c0 is not None and net.cell != "lstm":
            raise ValuesError("c0 is the LSTM's cell state: a GRU has none, leave it out")
        X, T = np.asarray(X), np.asarray(T)
        h0, c0 = (None if a is None else np.asarray(a) for a in (h0, c0))
        dt = dtype_of([*P.values(), X, T, h0, c0])
        n = X.shape[0] if X.ndim else 0
        if X.shape != (n, net.steps, net.inputs):
            raise ValuesError(f"X has shape {X.shape}; the network needs (batch, {net.steps}, {net.inputs})")
        if T.shape != (n, net.steps, net.outputs):
            raise ValuesError(f"T has shape {T.shape}; the network needs (batch, {net.steps}, {net.outputs}) "
                              f"with the batch of X: {(n, net.steps, net.outputs)}")
        states = []
        for name, s in (("h0", h0), ("c0", c0)):
            if s is not None and s.shape not in ((net.hidden,), (1, net.hidden), (n, net.hidden)):
                raise ValuesError(f"{name} has shape {s.shape}; the network needs ({net.hidden},) or "
                                  f"(batch, {net.hidden}) = {(n, net.hidden)}")
            states.append(np.zeros((n, net.hidden), dt) if s is None else
                          np.broadcast_to(s.astype(dt, copy=False), (n, net.hidden)))
        P = {k: v.astype(dt, copy=False) for k, v in P.items()}
        X, T = (np.ascontiguousarray(A.astype(dt, copy=False).transpose(1, 0, 2)) for A in (X, T))
        return P, X, T, states[0], states[1], dt

    # ------------------------------------------------------------ forward
    def _forward(self, P, X, h0, c0, dt) -> dict:
        """Every step's gates (step, gate, batch, unit), states and what the backward pass reads."""
        net, gates = self.network, ARRAY_GATES[self.network.cell]
        phi, steps, n, H = self.ops(dt)[0], net.steps, X.shape[1], net.hidden
        U, W = (np.concatenate([P[f"{M}_{g}"] for g in gates], axis=1) for M in "UW")
        XU = self._empty("XU", (steps, n, len(gates) * H), dt)          # every step's inputs at once
        np.matmul(X.reshape(steps * n, -1), U, out=XU.reshape(steps * n, -1))
        if net.bias:
            XU += np.concatenate([P[f"b_{g}"] for g in gates])
        G = self._empty("G", (steps, len(gates), n, H), dt)             # the gates' values, each contiguous
        S = self._empty("S", (steps, n, H), dt)                         # φ's argument (φ' may need it)
        Hs = self._empty("H", (steps + 1, n, H), dt)
        Hs[0] = h0
        k = {"W": W, "G": G, "S": S, "H": Hs, "XU": XU}
        if net.cell == "lstm":
            Cs, PC = self._empty("C", (steps + 1, n, H), dt), self._empty("PC", (steps, n, H), dt)
            Cs[0] = c0
            for t in range(steps):
                s = Hs[t] @ W
                s += XU[t]
                s = s.reshape(n, 4, H).transpose(1, 0, 2)             # (gate, batch, unit)
                _sigmoid(s[:3], G[t, :3])
                G[t, 3] = phi(s[3])
                S[t] = s[3]
                i, f, o, g = G[t]
                np.add(f * Cs[t], i * g, out=Cs[t + 1])
                PC[t] = phi(Cs[t + 1])
                np.multiply(o, PC[t], out=Hs[t + 1])
            k.update(C=Cs, PC=PC)
        else:
            RH = self._empty("RH", (steps, n, H), dt)
            for t in range(steps):
                s = XU[t, :, :2 * H] + Hs[t] @ W[:, :2 * H]
                _sigmoid(s.reshape(n, 2, H).transpose(1, 0, 2), G[t, :2])
                r, z = G[t, 0], G[t, 1]
                np.multiply(r, Hs[t], out=RH[t])
                s = XU[t, :, 2 * H:] + RH[t] @ W[:, 2 * H:]
                S[t] = s
                G[t, 2] = nt = phi(s)
                np.add(z * Hs[t], (1 - z) * nt, out=Hs[t + 1])
            k["RH"] = RH
        return k

    def _outputs(self, P, k, T, dt, grads) -> tuple:
        """E and ∂E/∂h of each step's own output (time-major); V's and c's gradients into grads."""
        net, (_, _, _, f_out, loss_term, output_delta, dE_da) = self.network, self.ops(dt)
        steps, n, H = k["H"].shape[0] - 1, k["H"].shape[1], net.hidden
        hs, t2 = k["H"][1:].reshape(steps * n, H), T.reshape(steps * n, -1)
        q = (hs @ P["V"] + P.get("c", 0)) if net.dense else hs
        y, la = RNNVectorized._output(q, f_out, self.parts.coupled[-1])     # softmax (…) from the shifted q
        E = np.sum(loss_term(q, y, t2, la), dtype=dt)
        if grads is None:
            return E, None
        if output_delta is not None:
            e = output_delta(q, y, t2)
        else:                                              # softmax without the shortcut: Jacobian times ∂E/∂y
            u = dE_da(q, y, t2)
            e = y * (u - (u * y).sum(axis=1, keepdims=True))
        if not net.dense:
            return E, e.reshape(steps, n, H)
        grads.update({"V": hs.T @ e} | ({"c": e.sum(axis=0)} if net.bias else {}))
        return E, (e @ P["V"].T).reshape(steps, n, H)

    # ------------------------------------------------------------ backward
    def _backward(self, k, dH, dt) -> np.ndarray:
        """The δ's of every step's gate sums (time-major, the gates side by side)."""
        net, (_, phi_prime, of_output) = self.network, self.ops(dt)[:3]
        steps, H, G, W, S = net.steps, net.hidden, k["G"], k["W"], k["S"]
        D = k["XU"]                                        # its memory: the forward pass is done with it
        lstm, dh_next, dc_next = net.cell == "lstm", None, 0
        for t in range(steps - 1, -1, -1):
            dh = dH[t] if dh_next is None else dH[t] + dh_next
            if lstm:
                (i, f, o, g), pc = G[t], k["PC"][t]
                dc = dh * o * phi_prime(pc if of_output else k["C"][t + 1]) + dc_next      # and along the cell path
                D[t, :, :H] = dc * g * i * (1 - i)
                D[t, :, H:2 * H] = dc * k["C"][t] * f * (1 - f)
                D[t, :, 2 * H:3 * H] = dh * pc * o * (1 - o)
                D[t, :, 3 * H:] = dc * i * phi_prime(g if of_output else S[t])
            else:
                (r, z, nt), hp = G[t], k["H"][t]
                dn = D[t, :, 2 * H:]
                np.multiply(dh * (1 - z), phi_prime(nt if of_output else S[t]), out=dn)
                drh = dn @ W[:, 2 * H:].T
                D[t, :, :H] = drh * hp * r * (1 - r)
                D[t, :, H:2 * H] = dh * (hp - nt) * z * (1 - z)
            if t > 0 and flows(net, t, self.truncate):     # t counted from 0 is the 1-based step before
                if lstm:
                    dh_next, dc_next = D[t] @ W.T, dc * f
                else:
                    dh_next = dh * z + drh * r + D[t, :, :2 * H] @ W[:, :2 * H].T
            else:
                dh_next, dc_next = None, 0
        return D

    def run(self, P, X, T, h0=None, c0=None, grads: bool = True):
        """(E, grads), or E alone with grads=False."""
        net, steps, H = self.network, self.network.steps, self.network.hidden
        P, X, T, h0, c0, dt = self._arrays(P, X, T, h0, c0)
        n, k = X.shape[1], self._forward(P, X, h0, c0, dt)
        found: dict | None = {} if grads else None
        E, dH = self._outputs(P, k, T, dt, found)
        if not grads:
            return E / n if self.reduction == "mean" else E
        D = self._backward(k, dH, dt).reshape(steps * n, -1)
        dU, h_prev = X.reshape(steps * n, -1).T @ D, k["H"][:-1].reshape(steps * n, H)
        if net.cell == "lstm":
            dW = h_prev.T @ D
        else:                                          # the candidate reads r ⊙ h<t−1>, not h<t−1>
            dW = np.concatenate([h_prev.T @ D[:, :2 * H], k["RH"].reshape(steps * n, H).T @ D[:, 2 * H:]], axis=1)
        db = D.sum(axis=0) if net.bias else None
        for m, g in enumerate(ARRAY_GATES[net.cell]):
            part = slice(m * H, (m + 1) * H)
            found.update({f"U_{g}": dU[:, part], f"W_{g}": dW[:, part]} | ({f"b_{g}": db[part]} if net.bias else {}))
        if self.reduction == "mean":
            E, found = E / n, {key: v / n for key, v in found.items()}
        return E, {key: found[key] for key in self.shapes}

    __call__ = run

    def loss(self, P, X, T, h0=None, c0=None):
        """E alone (summed, or the mean)."""
        return self.run(P, X, T, h0, c0, grads=False)
