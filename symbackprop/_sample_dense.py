"""verify's random points on a large dense stack: the forward pass and the δ's as matrix products.

Printing every z, a and δ of a derivation as NumPy code (what ``Sampler`` does for other
networks) took 20 s for 784-128-10's 138 weighted sums of up to 785 terms.  Here the same
random values, drawn in the same order (the points are the very ones ``Sampler`` would make),
fill one array per layer, and at every point at once

    z[k] = a[k-1]·W[k-1] + b[k] (+ a[s], a skip),    a[k] = f(z[k]),
    δ[k] = f'(z[k]) ⊙ (W[k]·δ[k+1] (+ δ[k'], a skip from k into k'))

with W[k] = W[m]ᵀ for a tied layer.  SymPy is kept for what is small: one NumPy function per
layer for f and for f', and, as the derivation writes them, the output δ's, a coupled output
layer's a's (softmax) and E.  A name's values are found from the name itself, so the 100k
weights' symbols are never made.

>>> import symbackprop as sb
>>> from symbackprop._derivation import derive
>>> import numpy as np
>>> d = derive(sb.network("2-3-1", activation="tanh"), weights=())
>>> values = DenseValues(d, np.random.default_rng(0), 4)
>>> values[d.symbol("a1[2]")].shape
(4,)
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy

from . import _names as names
from ._activations import Z
from ._dense import R
from ._derivation import Derivation
from ._equation import ETA
from ._errors import NotationError
from ._graph import E
from ._network import Network
from ._sample_code import G_PARAMS, Printer, concrete, evaluate_at

#: dense stacks with more parameters than this take the matrix path; smaller ones print each
#: formula, as every other kind of network does (a few milliseconds there)
FAST_ABOVE = 200


def fits(d) -> bool:
    """Whether ``d`` is a dense stack's derivation with more than ``FAST_ABOVE`` parameters."""
    return type(d) is Derivation and type(d.network) is Network and d.network.n_parameters > FAST_ABOVE


class DenseValues(Mapping):
    """symbol → its values at the points, for every name ``Sampler`` gives values to: the parameters,
    x, t, λ, η, every z, a and δ, R and E.

    rng: the generator, at the state ``Sampler`` draws from: the parameters (normal), x, t (summing
    to 1 where the loss needs it), λ, η, then the generic g's (α, β, γ) are drawn from it, in that order.
    """

    def __init__(self, d, rng: np.random.Generator, points: int, printer: Printer | None = None):
        net = self.net = d.network
        self.d, self.points, self.printer = d, points, printer or Printer()
        layers, L, ties = net.layers, net.depth, dict(net.ties)
        normal = rng.normal(0.0, 1.0, (net.n_parameters, points))   # as many draws as one per parameter
        self.W, self.b, row = {}, {}, 0           # W[k]: (points, n_k, n_k+1); b[k]: (points, n_k)
        for k in range(1, L):
            n_in, n_out = layers[k - 1], layers[k]
            if k not in ties:
                self.W[k] = normal[row:row + n_in * n_out].reshape(n_in, n_out, points).transpose(2, 0, 1)
                row += n_in * n_out
            if net.bias:
                self.b[k + 1] = normal[row:row + n_out].T
                row += n_out
        x = rng.uniform(-1.0, 1.0, (layers[0], points))
        t = rng.uniform(0.05, 0.95, (layers[-1], points))
        self.constants = {net.penalty_symbol(kind).name: rng.uniform(0.05, 1.0, points) for kind, _ in net.penalty}
        self.constants[ETA.name] = rng.uniform(0.05, 1.0, points)
        if d.target_groups():                  # targets summing to 1, added up as Sampler adds them
            total = 0
            for values in t:
                total = total + values
            t = t / total
        self.g_params = rng.uniform(0.5, 1.5, points), rng.uniform(-0.5, 0.5, points), rng.uniform(0.1, 0.4, points)
        self.x, self.t = x.T, t.T
        for k, m in ties.items():              # W[k] = W[m]ᵀ
            self.W[k] = self.W[m].transpose(0, 2, 1)
        self._symbols: dict = {}
        self.z, self.a, self.delta, self.r, self.e = {}, {1: self.x}, {}, None, None
        self._forward()
        self._backward()

    # ------------------------------------------------------------ the passes
    def _forward(self) -> None:
        net, skips = self.net, dict(self.net.skips)
        for k in range(2, net.depth + 1):
            z = np.matmul(self.a[k - 1][:, None, :], self.W[k - 1])[:, 0, :]
            if net.bias:
                z = z + self.b[k]
            if k in skips:
                z = z + self.a[skips[k]]
            self.z[k] = z
            act = net.activation(k)
            if act.coupled:                    # softmax: each a reads every z of its layer, as derived
                self.a[k] = self._columns(self.d.forward, "a", k)
            else:
                self.a[k] = self._layerwise(act.apply(Z), z)
        if net.penalty:                        # R = λ/2·Σw² (+ λ·Σ|w|): each weight once, biases excluded
            own = [w for k, w in self.W.items() if k not in dict(net.ties)]
            self.r = 0
            for kind, _ in net.penalty:
                lam = self.constants[net.penalty_symbol(kind).name]
                if kind == "l2":
                    self.r = self.r + lam / 2 * sum((w ** 2).sum(axis=(1, 2)) for w in own)
                else:
                    self.r = self.r + lam * sum(np.abs(w).sum(axis=(1, 2)) for w in own)
        self.e = evaluate_at(self.d.loss, self, self.g_params, self.printer)

    def _backward(self) -> None:
        net, L = self.net, self.net.depth
        self.delta[L] = self._columns(self.d.deltas, "delta", L)
        for k in range(L - 1, 1, -1):          # δ[k] = f'(z[k]) ⊙ (W[k]·δ[k+1] + the δ's of skips from k)
            back = np.matmul(self.W[k], self.delta[k + 1][:, :, None])[:, :, 0]
            for into, s in net.skips:
                if s == k:
                    back = back + self.delta[into]
            self.delta[k] = self._layerwise(net.activation(k).prime(Z), self.z[k]) * back

    def _layerwise(self, expr: sympy.Expr, z: np.ndarray) -> np.ndarray:
        """f(z) for a whole layer's z (points × nodes) at once: one NumPy function per layer."""
        f = self.printer.function([Z, *G_PARAMS], concrete(expr))
        with np.errstate(all="ignore"):
            out = f(z, *(p[:, None] for p in self.g_params))
        return np.broadcast_to(np.asarray(out, dtype=float), z.shape)

    def _columns(self, table: dict, kind: str, k: int) -> np.ndarray:
        """Layer k's values of ``kind`` from the derivation's own formulas (``table``), node by node."""
        n = self.net.layers[k - 1]
        return np.stack([evaluate_at(table[names.plain(names.Parts(kind, (j,), k))], self, self.g_params, self.printer)
                         for j in range(1, n + 1)], axis=1)

    # ------------------------------------------------------------ the mapping
    def _lookup(self, name: str):
        """(the symbol named ``name``, its values), or None for a name without values."""
        if name in self.constants:
            return (ETA if name == ETA.name else names.constant(name)), self.constants[name]
        if name in (E.name, R.name):
            symbol, values = (E, self.e) if name == E.name else (R, self.r)
            return None if values is None else (symbol, values)
        try:
            p = names.parse(name)
        except NotationError:
            return None
        if names.plain(p) != name:
            return None
        j, k, L = p.indices[0], p.layer, self.net.depth
        if p.kind in ("x", "t"):
            table, column = (self.x, self.t)[p.kind == "t"], j
        elif p.kind == "w":
            if not self.net.has(name):
                return None
            table, column = self.W[k][:, j - 1, :], p.indices[1]
        elif p.kind == "b":
            table, column = (self.b[k] if self.net.has(name) else None), j
        else:                                  # z, a, δ of layers 2 … L
            tables = {"z": self.z, "a": self.a, "delta": self.delta}[p.kind]
            table = tables.get(k) if 2 <= k <= L else None
            column = j
        if table is None or not 1 <= column <= table.shape[1]:
            return None
        return names.Name(name, real=True), table[:, column - 1]

    def _found(self, key):
        if not isinstance(key, sympy.Symbol):
            return None
        found = self._symbols.get(key.name) or self._lookup(key.name)
        if found is None:
            return None
        self._symbols[key.name] = found
        symbol, values = found
        return values if symbol == key else None

    def __getitem__(self, key) -> np.ndarray:
        values = self._found(key)
        if values is None:
            raise KeyError(key)
        return values

    def __contains__(self, key) -> bool:
        return self._found(key) is not None

    def __iter__(self):
        d = self.d
        yield from d.base_symbols()
        yield ETA
        yield from (names.Name(key, real=True) if key != R.name else R for key in [*d.forward, *d.deltas])
        yield E

    def __len__(self) -> int:
        return self.net.n_parameters + self.net.layers[0] + self.net.layers[-1] + len(self.net.penalty) + 1 \
            + len(self.d.forward) + len(self.d.deltas) + 1
