"""The cost of backprop, shown: operations and times, forward against forward + backward.

Backprop (the compiled per-layer code) costs about two forward passes; taking
∂E/∂w one weight at a time (one lambdified expression per weight) costs about a
forward pass per weight.  Operations are multiplications and additions (a
subtraction is an addition, a division a multiplication) in the generated code,
per sample; activation functions such as exp and tanh are counted apart.

>>> from symbackprop._spec import from_spec
>>> rows = backprop_counts(from_spec("2-3-1", activation="sigmoid"))
>>> rows["forward"]["mul+add"] > 0
True
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import sympy

from ._check import random_point
from ._compile import proxy, vectorized
from ._derivation import MAX_EXPANDED, derive
from ._network import Network

_ARITH = {"ADD", "SUB", "MUL", "DIV", "NEG", "POW"}


def _ops(expr) -> tuple[int, int]:
    """(multiplications + additions, other function calls) in one expression."""
    visual = sympy.count_ops(expr, visual=True)
    arith = other = 0
    for term in sympy.Add.make_args(visual):
        coeff, sym = term.as_coeff_Mul()
        if sym == 0 or not isinstance(sym, sympy.Symbol):
            continue
        if sym.name in _ARITH:
            arith += int(coeff)
        else:
            other += int(coeff)
    return arith, other


def backprop_counts(net: Network) -> dict:
    """Per-sample operation counts of the compiled code: forward, and forward + backward."""
    from ._activations import Z
    from ._compile import _A, _T
    d = derive(proxy(net), weights=())
    L = net.depth
    fwd = [0, 0]
    bwd = [0, 0]
    for k in range(1, L):
        n_in, n_out = net.layers[k - 1], net.layers[k]
        fwd[0] += n_in * n_out + (n_in - 1) * n_out + (n_out if net.bias else 0)   # z = a W (+ b)
        act = net.activation(k + 1)
        if act.coupled:
            fwd[0] += 3 * n_out                       # shift, sum, divide (or subtract the log)
            fwd[1] += n_out                           # exp
        else:
            a, o = _ops(act.apply(Z))
            fwd[0] += a * n_out
            fwd[1] += o * n_out
    from ._names import asym, delta, target, zsym
    scores = sympy.Symbol("s", real=True)               # a coupled loss's Σ t·a: one product and sum per output
    term = net.loss.term(asym(1, L), target(1), *([scores] if net.loss.coupled else []))
    a, o = _ops(term)
    fwd[0] += (a + 1 + (2 if net.loss.coupled else 0)) * net.layers[-1]     # + summing over outputs
    fwd[1] += o * net.layers[-1]
    if net.loss.coupled:                              # ∂term/∂a + t·Σ ∂term/∂s, times f'
        one = sympy.diff(term, asym(1, L)) + target(1) * sympy.diff(term, scores)
        a, o = _ops(one * net.activation(L).prime(zsym(1, L)) if not net.activation(L).inline else one)
        a += 1
    else:
        a, o = _ops(d.deltas[delta(1, L).name].xreplace({zsym(1, L): Z, asym(1, L): _A, target(1): _T}))
    bwd[0] += a * net.layers[-1]
    bwd[1] += o * net.layers[-1]
    for k in range(L - 1, 0, -1):
        n_in, n_out = net.layers[k - 1], net.layers[k]
        bwd[0] += n_in * n_out                                   # ∂E/∂W = aᵀ δ: one product each
        if k > 1:                                                # δ[k] = (δ W ᵀ) ⊙ f'(z)
            bwd[0] += n_out * n_in + (n_out - 1) * n_in + n_in
            act = net.activation(k)
            a, o = _ops(sympy.sympify(act.derivative_in_output(_A)) if act.derivative_in_output
                        else act.prime(Z))
            bwd[0] += a * n_in
            bwd[1] += o * n_in
    return {"forward": {"mul+add": fwd[0], "functions": fwd[1]},
            "forward+backward": {"mul+add": fwd[0] + bwd[0], "functions": fwd[1] + bwd[1]}}


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class CostRow:
    approach: str
    forward_ops: int | None
    total_ops: int | None
    forward_s: float | None
    total_s: float | None
    note: str = ""

    @property
    def op_ratio(self):
        return None if not self.forward_ops else self.total_ops / self.forward_ops

    @property
    def time_ratio(self):
        return None if not self.forward_s else self.total_s / self.forward_s


def per_weight(net: Network, repeat: int = 20):
    """One lambdified expression (with cse) per parameter, against one for the nested E."""
    d = derive(net, weights=(), expanded=True)
    params = [p for p in net.parameters()]
    inputs = [*params, *sorted({s for s in d.nested_loss().free_symbols if s not in set(params)},
                               key=lambda s: s.name)]
    E = d.nested_loss()

    def lam(expr):
        return sympy.lambdify(inputs, expr, modules="numpy", cse=True)

    def counted(expr):
        subs, reduced = sympy.cse(expr)
        a = sum(_ops(v)[0] for _, v in subs) + sum(_ops(r)[0] for r in reduced)
        o = sum(_ops(v)[1] for _, v in subs) + sum(_ops(r)[1] for r in reduced)
        return a, o
    forward_fn = lam(E)
    grads = [lam(d.expanded(p.name)) for p in params]
    fwd_ops = counted(E)[0]
    grad_ops = sum(counted(d.expanded(p.name))[0] for p in params)
    rng = np.random.default_rng(0)
    values = [float(v) for v in rng.normal(0, 1, len(inputs))]
    forward_s = _median_time(lambda: forward_fn(*values), repeat)
    total_s = _median_time(lambda: [forward_fn(*values)] + [g(*values) for g in grads], repeat)
    return CostRow("one expression per weight", fwd_ops, fwd_ops + grad_ops, forward_s, total_s)


def cost(net: Network, batch: int = 1, repeat: int = 50) -> list[CostRow]:
    """Backprop's and (for small networks) the per-weight approach's cost, side by side."""
    counts = backprop_counts(net)
    f = vectorized(net)
    W, b, X, T = random_point(net, np.random.default_rng(0), batch)
    forward_s = _median_time(lambda: f.loss(W, b, X, T), repeat)
    total_s = _median_time(lambda: f(W, b, X, T), repeat)
    rows = [CostRow("backprop (compiled per-layer code)", counts["forward"]["mul+add"],
                    counts["forward+backward"]["mul+add"], forward_s, total_s)]
    coupled = [a.name for a in net.activations if a.coupled]
    if all(a.evaluable for a in net.activations) and net.n_parameters <= MAX_EXPANDED:
        rows.append(per_weight(net))
    else:
        why = (f"{coupled[0]} outputs read the whole layer; this comparison takes elementwise activations only"
               if coupled else f"over {MAX_EXPANDED} parameters the expanded expressions grow too large")
        rows.append(CostRow("one expression per weight", None, None, None, None, f"not run: {why}"))
    return rows
