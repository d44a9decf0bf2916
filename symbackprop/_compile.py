"""Compiled gradients of a dense stack: per-layer matrix code.

The elementwise parts (f, f', ∂E/∂z at the outputs, the loss term) are lambdified
from the derivation; building it refuses what NumPy cannot evaluate (the generic g).
The printed formulas, compiled as they are, are in ``_program.py``.

>>> import numpy as np
>>> from symbackprop._spec import from_spec
>>> f = vectorized(from_spec("2-1", activation="linear"))
>>> E, dW, db = f([np.array([[1.0], [2.0]])], None, np.array([[1.0, 1.0]]), np.array([[0.0]]))
>>> float(E), dW[0].ravel().tolist()
(4.5, [3.0, 3.0])
"""
from __future__ import annotations

import numpy as np
import sympy
from sympy.codegen.numpy_nodes import logaddexp

from . import _names as names
from ._activations import Activation
from ._derivation import Derivation
from ._errors import CompileError, ValuesError
from ._program import _print_numpy
from ._network import Network


def _check_evaluable(net: Network) -> None:
    for k, act in enumerate(net.activations, start=2):
        if act.name == "g":
            raise CompileError(f"layer {k} uses the generic activation g, which has no numbers: "
                               "choose one, e.g. --activation sigmoid")


# ---------------------------------------------------------------- vectorized
_Z, _A, _T, _LA = sympy.symbols("z a t la", real=True)


def _elementwise(expr, *args):
    """lambdify an elementwise expression of z, a, t, refusing what NumPy cannot do."""
    _print_numpy(expr)                           # fails now, naming the function
    return sympy.lambdify(args, expr, modules="numpy")


def _node_one(net: Network, expr):
    """An output-layer expression of node 1 (a1[L], t1, z1[L]) in generic z, a, t."""
    L = net.depth
    generic = {names.asym(1, L): _A, names.target(1): _T, names.zsym(1, L): _Z}
    extra = expr.free_symbols - set(generic)
    if extra:
        return None                              # not elementwise (softmax without the shortcut)
    return expr.xreplace(generic)


class Vectorized:
    """f(W, b, X, T) -> (E, dW, db): matrix products per layer, elementwise parts from SymPy."""

    def __init__(self, d: Derivation, reduction: str = "sum"):
        net = d.network
        _check_evaluable(net)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        self.network, self.reduction = net, reduction
        self.f, self.fprime, self.prime_of_output = [], [], []
        for act in net.activations:
            if act.name == "softmax":
                self.f.append(None)
                self.fprime.append(None)
                self.prime_of_output.append(False)
            elif act.derivative_in_output is not None:
                # f'(z) written through a = f(z) (σ' = a(1 − a), tanh' = 1 − a²): no second transcendental
                self.f.append(_elementwise(act.apply(_Z), _Z))
                self.fprime.append(_elementwise(sympy.sympify(act.derivative_in_output(_A)), _A))
                self.prime_of_output.append(True)
            else:
                self.f.append(_elementwise(act.apply(_Z), _Z))
                self.fprime.append(_elementwise(act.prime(_Z), _Z))
                self.prime_of_output.append(False)
        out: Activation = net.activations[-1]
        L = net.depth
        delta = d.deltas[names.delta(1, L).name]
        if out.derivative_in_output is not None and not out.inline:
            delta = delta.xreplace({out.prime(names.zsym(1, L)): out.derivative_in_output(names.asym(1, L))})
        delta_one = _node_one(net, delta)
        self.output_delta = _elementwise(delta_one, _Z, _A, _T) if delta_one is not None else None
        dE_da = sympy.diff(net.loss.term(names.asym(1, L), names.target(1)), names.asym(1, L))
        self.dE_da = _elementwise(_node_one(net, dE_da), _Z, _A, _T)
        self.loss_term = self._stable_loss(out, net)

    @staticmethod
    def _stable_loss(out: Activation, net: Network):
        """The loss term with log a written through z where that keeps it finite."""
        term = net.loss.term(_A, _T)
        if out.name == "sigmoid":
            # log σ(z) = −log(1 + e^(−z)), log(1 − σ(z)) = −log(1 + e^z)
            term = term.xreplace({sympy.log(_A): -logaddexp(0, -_Z), sympy.log(1 - _A): -logaddexp(0, _Z)})
        elif out.name == "softmax":
            term = term.xreplace({sympy.log(_A): _LA})   # la = log-softmax, computed shifted
        return _elementwise(term, _Z, _A, _T, _LA)

    def _weights(self, W) -> list:
        """Every layer's weight matrix, checked: a tied layer's is the other layer's, transposed
        (give None, or nothing, in its place)."""
        net, ties = self.network, dict(self.network.ties)
        W = _as_list(W)
        if len(W) < net.depth - 1 and ties:
            W += [None] * (net.depth - 1 - len(W))
        if len(W) != net.depth - 1:
            raise ValuesError(f"give {net.depth - 1} weight matrices W[1] … W[{net.depth - 1}], not {len(W)}")
        for k in range(1, net.depth):
            if k in ties:
                given, shared = W[k - 1], W[ties[k] - 1].T
                if given is not None and given.size and not np.isnan(given).all() and not np.array_equal(given, shared):
                    raise ValuesError(f"W[{k}] is W[{ties[k]}] transposed (tied): give None in its place")
                W[k - 1] = shared
            elif W[k - 1] is None or W[k - 1].shape != net.layers[k - 1:k + 1]:
                shape = None if W[k - 1] is None else W[k - 1].shape
                raise ValuesError(f"W[{k}] has shape {shape}; the network needs {net.layers[k - 1:k + 1]}")
        return W

    def _penalty(self, W) -> tuple:
        """(R, [∂R/∂W per layer]) for the network's own weights: λ/2·Σw² (l2), λ·Σ|w| (l1)."""
        tied = dict(self.network.ties)
        R, dR = 0.0, [None if k + 1 in tied else np.zeros_like(M) for k, M in enumerate(W)]
        for kind, lam in self.network.penalty:
            for k, M in enumerate(W):
                if k + 1 not in tied:
                    R += lam / 2 * np.sum(M * M) if kind == "l2" else lam * np.sum(np.abs(M))
                    dR[k] += lam * M if kind == "l2" else lam * np.sign(M)
        return R, dR

    def loss(self, W, b, X, T) -> float:
        """E alone (summed, or the mean), as the finite differences need it."""
        W = self._weights(W)
        Z, A = self.forward(W, b, X)
        z, a = Z[-1], A[-1]
        la = 0.0
        if self.f[-1] is None:
            shifted = z - z.max(axis=1, keepdims=True)
            la = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        T = np.asarray(T, dtype=float)
        total = np.broadcast_to(self.loss_term(z, a, T, la), z.shape).sum()
        return (total / len(T) if self.reduction == "mean" else total) + self._penalty(W)[0]

    def forward(self, W, b, X):
        A, Z = [np.asarray(X, dtype=float)], [None]
        skips = dict(self.network.skips)
        for k, f in enumerate(self.f):
            z = A[-1] @ W[k]
            if b is not None:
                z += b[k]
            if k + 2 in skips:                              # z[k] adds a[s]
                z += A[skips[k + 2] - 1]
            Z.append(z)
            if f is None:                                   # softmax, shifted by the max
                e = np.exp(z - z.max(axis=1, keepdims=True))
                e /= e.sum(axis=1, keepdims=True)
                A.append(e)
            else:
                A.append(_full(f(z), z))
        return Z, A

    def _deltas(self, W, Z, A, T, la) -> list:
        """δ of every layer from the outputs back (index k: layer k+1): δ = (δ' Wᵀ + δ of the skips) ⊙ f'."""
        L = len(self.f)
        z, a = Z[L], A[L]
        if self.output_delta is not None:
            delta = _full(self.output_delta(z, a, T), z)
        else:                                               # softmax: Jacobian times ∂E/∂a
            u = _full(self.dE_da(z, a, T), z)
            delta = a * (u - (u * a).sum(axis=1, keepdims=True))
        deltas = [None] * (L + 1)
        deltas[L] = delta
        skipped_to: dict = {}                               # s → the layers whose z adds a[s]
        for above, s in self.network.skips:
            skipped_to.setdefault(s, []).append(above)
        for k in range(L - 1, 0, -1):
            deltas[k] = deltas[k + 1] @ W[k].T
            for above in skipped_to.get(k + 1, []):         # ∂E/∂a[s] also takes δ[k] through the skip
                deltas[k] += deltas[above - 1]
            deltas[k] *= self.fprime[k - 1](A[k] if self.prime_of_output[k - 1] else Z[k])  # δ = (δ' Wᵀ) ⊙ f'
        return deltas

    @property
    def shapes(self) -> dict:
        """Array name → shape, for the dict form ``f(params, X, T)``."""
        net, tied = self.network, dict(self.network.ties)
        found = {f"W[{k}]": (net.layers[k - 1], net.layers[k]) for k in range(1, net.depth) if k not in tied}
        if net.bias:
            found.update({f"b[{k}]": (net.layers[k - 1],) for k in range(2, net.depth + 1)})
        return found

    def _call_dict(self, params: dict, X, T):
        unknown = sorted(set(params) - set(self.shapes))
        missing = sorted(set(self.shapes) - set(params))
        if unknown or missing:
            raise ValuesError(f"params must have exactly the arrays {', '.join(self.shapes)}; "
                              f"{'unknown ' + unknown[0] if unknown else 'missing ' + missing[0]}")
        for name, shape in self.shapes.items():
            if np.shape(params[name]) != shape:
                raise ValuesError(f"{name} has shape {np.shape(params[name])}; the network needs {shape}")
        net = self.network
        W = [params.get(f"W[{k}]") for k in range(1, net.depth)]
        b = [params[f"b[{k}]"] for k in range(2, net.depth + 1)] if net.bias else None
        E, dW, db = self(W, b, X, T)
        grads = {f"W[{k}]": M for k, M in enumerate(dW, start=1) if M is not None}
        if db is not None:
            grads.update({f"b[{k}]": v for k, v in enumerate(db, start=2)})
        return E, grads

    def __call__(self, W, b, X=None, T=None, details: bool = False):
        if isinstance(W, dict) and all(isinstance(k, str) for k in W):
            return self._call_dict(W, b, X)          # f(params, X, T)
        W = self._weights(W)
        b = _as_list(b) if b is not None else None
        if (b is None) == self.network.bias:
            raise ValueError("give b (one vector per layer after the inputs) exactly when the network has biases")
        T = np.asarray(T, dtype=float)
        Z, A = self.forward(W, b, X)
        L = len(self.f)
        z, a = Z[L], A[L]
        la = 0.0
        if self.f[-1] is None:
            shifted = z - z.max(axis=1, keepdims=True)
            la = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        per_sample = _full(self.loss_term(z, a, T, la), z).sum(axis=1)
        deltas = self._deltas(W, Z, A, T, la)
        if len(T) == 1:     # one sample: ∂E/∂W = aᵀδ is an outer product, cheaper broadcast than matmul
            dW = [np.multiply(A[k].T, deltas[k + 1]) for k in range(L)]
        else:
            dW = [A[k].T @ deltas[k + 1] for k in range(L)]
        db = [deltas[k + 1].sum(axis=0) for k in range(L)] if b is not None else None
        E_total = per_sample.sum()
        if self.reduction == "mean":
            n = len(T)
            E_total /= n
            dW = [m / n for m in dW]
            db = [v / n for v in db] if db is not None else None
        if not self.network.plain:
            for k, m in self.network.ties:                  # a tied layer's gradient joins W[m]'s
                dW[m - 1] = dW[m - 1] + dW[k - 1].T
                dW[k - 1] = None
            R, dR = self._penalty(W)
            E_total += R
            dW = [M if M is None else M + dR[k] for k, M in enumerate(dW)]
        if details:
            return E_total, dW, db, {"Z": Z, "A": A, "delta": deltas, "E": per_sample}
        return E_total, dW, db


def _full(value, like):
    """An elementwise result as an array of ``like``'s shape (constants come back as scalars)."""
    if isinstance(value, np.ndarray) and value.shape == like.shape:
        return value
    return np.broadcast_to(np.asarray(value, dtype=float), like.shape)


def _as_list(M):
    """W as a list indexed from 0 (layer 1 first); a dict {1: …, 2: …} is accepted too."""
    if isinstance(M, dict):
        M = [M[k] for k in sorted(M)]
    return [None if m is None else np.asarray(m, dtype=float) for m in M]


def proxy(net: Network) -> Network:
    """The smallest network with the same activations, loss and output width.

    Its per-layer expressions (f, f', δ1[L], the loss term) are those of ``net``, so
    compiling needs only its derivation, not one of every weight.
    """
    if all(n == 1 for n in net.layers[:-1]):
        return net
    layers = (1,) * (net.depth - 1) + (net.layers[-1],)
    return Network(layers, net.activations, net.loss, net.bias)


def vectorized(net: Network, reduction: str = "sum", derivation: Derivation | None = None) -> Vectorized:
    """The vectorized form for ``net``; the derivation supplies the elementwise parts."""
    from ._derivation import derive
    if derivation is None:
        derivation = derive(proxy(net), weights=())
        derivation = _Retarget(derivation, net)
    return Vectorized(derivation, reduction)


class _Retarget:
    """A proxy's derivation, presented as the network's own (only network and deltas are read)."""

    def __init__(self, d: Derivation, net: Network):
        self.network, self.deltas = net, d.deltas
