"""Compiled gradients of a dense stack: per-layer matrix code.

The elementwise parts (f, f', ∂E/∂z at the outputs, the loss term) come from the
derivation as SymPy expressions; building it refuses what NumPy cannot evaluate (the
generic g).  They are printed once into straight-line code: NumPy matrix code per dtype
(``_fused.py``) and, for small networks at batch 1, scalar code (``_scalar.py``).  float32
arrays give float32 results; float64, integers and lists give float64.  The printed
formulas, compiled as they are, are in ``_program.py``.

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
from . import _fused as fused
from ._errors import CompileError, ValuesError
from ._numpy_code import dtype_of
from ._program import _print_numpy
from ._network import Network
from ._scalar import scalar_kernel


def _check_evaluable(net: Network) -> None:
    for k, act in enumerate(net.activations, start=2):
        if act.name == "g":
            raise CompileError(f"layer {k} uses the generic activation g, which has no numbers: "
                               "choose one, e.g. --activation sigmoid")


# ---------------------------------------------------------------- vectorized
_Z, _A, _T, _LA, _S = sympy.symbols("z a t la s", real=True)


def _elementwise(expr, *args):
    """An elementwise expression of z, a, t as a NumPy function, refusing what NumPy cannot do."""
    _print_numpy(expr)                           # fails now, naming the function
    return _Lambdified(expr, args)


class _Lambdified:
    """``expr`` in ``args``, printed again per dtype by _fused.py and _scalar.py, and callable as
    lambdify makes it, made at the first call: a dense stack's code never calls it, and the first
    lambdify to NumPy imports much of NumPy (a noticeable part of ``check`` on a large network)."""

    def __init__(self, expr, args: tuple):
        self.expr, self.args, self._fn = expr, args, None

    def __call__(self, *values):
        if self._fn is None:
            self._fn = sympy.lambdify(self.args, self.expr, modules="numpy")
        return self._fn(*values)


def _node_one(net: Network, expr):
    """An output-layer expression of node 1 (a1[L], t1, z1[L]) in generic z, a, t."""
    L = net.depth
    generic = {names.asym(1, L): _A, names.target(1): _T, names.zsym(1, L): _Z}
    extra = expr.free_symbols - set(generic)
    if extra:
        return None                              # not elementwise (softmax without the shortcut)
    return expr.xreplace(generic)


class Vectorized:
    """f(W, b, X, T) -> (E, dW, db): matrix products per layer, elementwise parts from SymPy.

    Also f(params, X, T) -> (E, grads) with dicts keyed by ``f.shapes``.  E and the gradients
    have the arrays' dtype (``_numpy_code.dtype_of``: float32 when they are float32); a wrong shape
    is a ValuesError (a ValueError) naming the array and the shape the network needs.  Once a
    hidden layer's array reaches 64 KB, it keeps its hidden layers' arrays between calls for the
    last batch size (up to 256 MB; ``_inplace.py``), so a training loop does not pay for fresh
    memory on every call; E and the gradients it returns are always new.
    """

    def __init__(self, d: Derivation, reduction: str = "sum"):
        net = d.network
        _check_evaluable(net)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        self.network, self.reduction = net, reduction
        self.f, self.fprime, self.prime_of_output = [], [], []
        for act in net.activations:
            if act.coupled:                      # written from the layer's shifted z (_fused.py, _scalar.py)
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
        self.coupled = [act.coupled for act in net.activations]
        self.scores = None                       # a coupled loss: (∂term/∂a, ∂term/∂s) in z, a, t, s
        if net.loss.coupled:
            term = net.loss.term(_A, _T, _S)
            self.output_delta = None
            self.scores = tuple(_elementwise(sympy.diff(term, x), _Z, _A, _T, _S) for x in (_A, _S))
            self.dE_da = self.scores[0]
            self.loss_term = _elementwise(term, _Z, _A, _T, _LA, _S)
        else:
            delta_one = _node_one(net, delta)
            self.output_delta = _elementwise(delta_one, _Z, _A, _T) if delta_one is not None else None
            if self.output_delta is None and out.coupled and out.name != "softmax":
                raise CompileError(f"{out.name} outputs compile with the shortcut δ of loss "
                                   f"{' or '.join(out.coupled.losses)} only")
            dE_da = sympy.diff(net.loss.term(names.asym(1, L), names.target(1)), names.asym(1, L))
            self.dE_da = _elementwise(_node_one(net, dE_da), _Z, _A, _T)
            self.loss_term = self._stable_loss(out, net)
        self._compiled()

    @staticmethod
    def _stable_loss(out: Activation, net: Network):
        """The loss term with log a written through z where that keeps it finite."""
        term = net.loss.term(_A, _T)
        if out.name == "sigmoid":
            # log σ(z) = −log(1 + e^(−z)), log(1 − σ(z)) = −log(1 + e^z)
            term = term.xreplace({sympy.log(_A): -logaddexp(0, -_Z), sympy.log(1 - _A): -logaddexp(0, _Z)})
        elif out.coupled and out.coupled.probability(_A) == _A:
            term = term.xreplace({sympy.log(_A): _LA})   # a is softmax: la = log a, computed shifted
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

    def _compiled(self) -> None:
        """The generated code (``_fused.py``, ``_scalar.py``): the float64 and float32 kernels, the
        scalar code for one sample, and the entry that runs them on arrays already right."""
        self._kernels: dict = {}
        self._scalar = {mode: scalar_kernel(self, mode) for mode in ("grad", "loss")}
        self._entry = fused.entry(self, fused.by_batch(self, self._kernel), self._scalar["grad"])

    def _kernel(self, dt, mode: str):
        """The generated NumPy function for dtype ``dt`` and ``mode`` (grad, plain, loss, details), made once."""
        if (dt, mode) not in self._kernels:
            self._kernels[dt, mode] = fused.kernel(self, dt, mode)
        return self._kernels[dt, mode]

    def _arrays(self, W, b, X, T) -> tuple:
        """The kernels' arguments W[1] …, b[2] …, X, T as arrays of one dtype (``_numpy_code.dtype_of``),
        every shape checked: a ValuesError names the array and the shape the network needs."""
        net = self.network
        W = _as_list(W)
        b = _as_list(b) if b is not None else None
        X, T = np.asarray(X), np.asarray(T)
        dt = dtype_of([*W, *(b or []), X, T])
        W = self._weights([None if m is None else m.astype(dt, copy=False) for m in W])
        if (b is None) == net.bias:
            raise ValueError("give b (one vector per layer after the inputs) exactly when the network has biases")
        if b is not None:
            if len(b) != net.depth - 1:
                raise ValuesError(f"give {net.depth - 1} bias vectors b[2] … b[{net.depth}], not {len(b)}")
            for k, v in enumerate(b, start=2):
                if v is None or v.shape != (net.layers[k - 1],):
                    raise ValuesError(f"b[{k}] has shape {None if v is None else v.shape}; "
                                      f"the network needs {(net.layers[k - 1],)}")
            b = [v.astype(dt, copy=False) for v in b]
        if X.ndim != 2 or X.shape[1] != net.layers[0]:
            raise ValuesError(f"X has shape {X.shape}; the network needs (batch, {net.layers[0]})")
        if T.shape != (len(X), net.layers[-1]):
            raise ValuesError(f"T has shape {T.shape}; the network needs (batch, {net.layers[-1]}) "
                              f"with the batch of X: {(len(X), net.layers[-1])}")
        return [*W, *(b or []), X.astype(dt, copy=False), T.astype(dt, copy=False)], dt

    def _one_sample(self, mode: str, args):
        """The scalar code's result for one sample, or None (no scalar code, or an overflow there)."""
        run = self._scalar[mode]
        if run is None or len(args[-1]) != 1:
            return None
        try:
            return run(*args)
        except (ArithmeticError, ValueError):       # e^800, log 0: NumPy's inf and nan instead
            return None

    def loss(self, W, b, X, T):
        """E alone (summed, or the mean), as the finite differences need it."""
        args, dt = self._arrays(W, b, X, T)
        E = self._one_sample("loss", args)
        return E if E is not None else self._kernel(dt, "loss")(*args)

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
        if not details:
            out = self._entry(W, b, X, T)            # arrays already right: no conversion, no copy
            if out is not None:
                return out
        if isinstance(W, dict) and all(isinstance(k, str) for k in W):
            return self._call_dict(W, b, X)          # f(params, X, T)
        args, dt = self._arrays(W, b, X, T)
        out = None if details else self._one_sample("grad", args)
        return out if out is not None else self._kernel(dt, "details" if details else "grad")(*args)


def _full(value, like):
    """An elementwise result as an array of ``like``'s shape and dtype (constants come back as scalars)."""
    if isinstance(value, np.ndarray) and value.shape == like.shape and value.dtype == like.dtype:
        return value
    return np.broadcast_to(np.asarray(value, dtype=like.dtype), like.shape)


def _as_list(M):
    """W as a list of arrays indexed from 0 (layer 1 first); a dict {1: …, 2: …} is accepted too."""
    if isinstance(M, dict):
        M = [M[k] for k in sorted(M)]
    return [None if m is None else np.asarray(m) for m in M]


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
