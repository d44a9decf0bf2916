"""Numbers for graphs: the compiled function of the leaves, eval's values, and check's four opinions.

The compiled function is the expanded gradients (every node substituted) as NumPy code; check
holds it against the printed named formulas, the NumPy reference (``_circuit_reference.py``)
and central finite differences, at random points where the graph is defined and smooth.

>>> import symbackprop as sb
>>> f = sb.compile(sb.graph("q = x + y; f = q*z"))
>>> value, grads = f({"x": -2.0, "y": 5.0, "z": -4.0})
>>> float(value), float(grads["x"]), float(grads["z"])
(-12.0, -4.0, 3.0)
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import sympy

from . import _circuit_reference as reference
from ._circuit import Circuit
from ._circuit_derive import MAX_EXPANDED_NODES, derive_graph
from ._errors import SpecError, ValuesError
from ._numpy_code import dtype_of
from ._program import printed_formulas, program
from ._tally import Kernel, Report, run
from ._views import number

_VALUE = sympy.Symbol("[value]")


class GraphFunction:
    """``f(params, X=None, T=None) -> (value, grads)``: the output and its gradient by every leaf,
    vectorised over arrays of leaf values; ``params`` and ``grads`` are dicts keyed by leaf names
    (``f.shapes`` gives each one's shape, () for a number; arrays of one shape, or shapes that
    broadcast, go too).  float32 values give float32 results.  X and T are not used by a graph."""

    def __init__(self, net: Circuit, d=None):
        if net.generic:
            raise SpecError("the graph calls the generic g, which has no numbers: name a function (sigmoid, tanh, …)")
        d = d or derive_graph(net)
        self.network, self.leaves, self.expanded = net, [s.name for s in net.leaves], d.expandable
        if self.expanded:
            stage = [(_VALUE, d.nested_loss())] + [(sympy.Symbol(f"grad[{k}]"), d.expanded(k)) for k in d.gradients]
            self._run = program(list(net.leaves), [stage])
        else:           # a large graph: its named formulas, node by node (substituting all would be slow)
            self._run = _with_value(printed_formulas(d), net.output.name)
        self.shapes = {k: () for k in self.leaves}

    def __call__(self, params: dict, X=None, T=None):
        if not isinstance(params, dict):
            raise ValuesError(f"give the leaves' values as a dict, e.g. {{{', '.join(repr(k) + ': 1.0' for k in self.leaves)}}}")
        _same_names(params, self.leaves)
        values = {k: np.asarray(v) for k, v in params.items()}
        dt = dtype_of(values.values())                  # float32 in, float32 out; integers as float64
        values = {k: v.astype(dt, copy=False) for k, v in values.items()}
        try:
            shape = np.broadcast_shapes(*(v.shape for v in values.values()))
        except ValueError:
            given = ", ".join(f"{k} {v.shape}" for k, v in values.items())
            raise ValuesError(f"the leaves' arrays must have one shape, or shapes that broadcast to one (a "
                              f"number, shape (), goes with any): {given}") from None
        with np.errstate(all="ignore"):
            out = self._run(values)

        def full(value):
            return np.broadcast_to(np.asarray(value, dtype=dt), shape)
        return full(out.pop("[value]")), {k: full(out[k]) for k in self.leaves}

    def loss(self, params: dict, X=None, T=None):
        return self(params)[0]


def _with_value(run, output: str):
    def staged(values: dict) -> dict:
        found = run(values)
        return {**found, "[value]": found[output]}
    return staged


def _same_names(given: dict, leaves: list) -> None:
    unknown = [k for k in given if k not in leaves]
    missing = [k for k in leaves if k not in given]
    if unknown or missing:
        what = f"{unknown[0]} is not a leaf" if unknown else f"{missing[0]} is missing"
        raise ValuesError(f"{what}: give a value for each leaf of the graph, {', '.join(leaves)}")


def valid_points(net: Circuit, rng, n: int, margin: float = 1e-2) -> dict:
    """n random points (leaf → array) where every node and gradient is finite and no kink (relu at 0,
    a tie of max, a division by 0) is within ``margin``: normal values, then positive ones (log, sqrt).
    SpecError when there are none (a negative margin accepts any finite point)."""
    program_, names = net.program, [s.name for s in net.leaves]
    kept = {k: [] for k in names}
    for attempt in range(40):
        draw = (lambda: rng.normal(0.0, 1.0, 64)) if attempt % 2 == 0 else (lambda: rng.uniform(0.1, 2.0, 64))
        env = {k: draw() for k in names}
        values, grads, near = reference.evaluate(program_, env)
        every = [*values.values(), *grads.values()]
        ok = (near > margin) & np.all([np.isfinite(v) & (np.abs(v) < 1e6) for v in every], axis=0)
        for k in names:
            kept[k].extend(env[k][ok])
        if len(kept[names[0]]) >= n:
            return {k: np.array(v[:n]) for k, v in kept.items()}
    raise SpecError("no point was found where the graph is defined, finite and smooth (tried 2,560 random points)")


def finite_differences(f, point: dict, names) -> dict:
    """Central differences of Σ f(point) by each leaf (each sample's value moved at once)."""
    out = {}
    for k in names:
        x = point[k]
        h = np.cbrt(np.finfo(float).eps) * max(1.0, float(np.max(np.abs(x))))
        up, down = np.sum(f({**point, k: x + h})), np.sum(f({**point, k: x - h}))
        out[k] = float((up - down) / (2 * h))
    return out


class GraphKernel(Kernel):
    """What check compares for a graph: the compiled (expanded) function, the printed named formulas,
    the NumPy reference and finite differences; the output's value is one row, the gradients another."""

    custom = False

    def __init__(self, net: Circuit):
        d = derive_graph(net)
        self.network, self.out = net, net.output.name
        self.vec, self.formulas = GraphFunction(net, d), printed_formulas(d)
        self.notes = [] if self.vec.expanded else [
            f"vectorized: the named formulas, node by node (over {MAX_EXPANDED_NODES} nodes, nothing is substituted)"]
        self.leaves, self.smooth = [s.name for s in net.leaves], True

    def group_of(self, name: str) -> str:
        return f"value of {self.out}" if name == self.out else "gradients"

    def point(self, rng, batch):
        if self.smooth:
            try:
                return valid_points(self.network, rng, batch)
            except SpecError:           # kinks wherever it was tried (sign(relu(a)), max(a, a)): no derivative
                self.smooth = False
                self.notes.append("no point was found away from a kink (a derivative jumps there): finite "
                                  "differences are not compared")
        return valid_points(self.network, rng, batch, margin=-1.0)

    def vectorized(self, point) -> dict:
        value, grads = self.vec(point)
        return {self.out: float(np.sum(value)), **{k: float(np.sum(g)) for k, g in grads.items()}}

    def reference(self, point):
        values, grads, _ = reference.evaluate(self.network.program, point)
        return {self.out: float(np.sum(values[self.out])), **{k: float(np.sum(grads[k])) for k in self.leaves}}

    def values(self, point) -> dict:
        return point

    def fd(self, point, rng):
        return finite_differences(self.vec.loss, point, self.leaves) if self.smooth else None


def check_graph(net: Circuit, samples: int = 5, seed: int = 0, batch: int = 1) -> Report:
    """Every pair of the four computations at ``samples`` random points; truthy when all agree."""
    return run(GraphKernel(net), samples, seed, batch)


# ---------------------------------------------------------------- eval
@dataclass(frozen=True)
class GraphEvaluation:
    network: Circuit
    value: float
    forward: dict           # node → value
    gradient: dict          # leaf (with every_node, every node too) → ∂output/∂it
    updated: dict | None    # with a learning rate: parameters (or every leaf) after one step
    lr: float | None

    def __repr__(self) -> str:
        return f"<GraphEvaluation of the {self.network.describe()}: {self.network.output.name} = {self.value:.6g}>"


def evaluate_graph(net: Circuit, data: dict, lr: float | None = None, every_node: bool = False) -> GraphEvaluation:
    """The numbers of a values file (leaf → number): every node, the output, its gradients."""
    names = [s.name for s in net.leaves]
    _same_names(data, names)
    for k in names:
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ValuesError(f"{k} = {v!r}: give a finite number")
    d = derive_graph(net, at={k: data[k] for k in names})
    V, out = d.values, net.output.name
    wanted = [*names, *([n.name for n in reversed(net.nodes)] if every_node else [])]
    gradient = {k: V[f"d{out}/d{k}"] for k in wanted}
    trained = list(net.parameters) or names
    updated = {k: V[k] - lr * V[f"d{out}/d{k}"] for k in trained} if lr is not None else None
    return GraphEvaluation(net, V[out], {n.name: V[n.name] for n in net.nodes}, gradient, updated, lr)


def evaluation_text(r: GraphEvaluation, ascii_only: bool = False) -> str:
    d, out = ("d" if ascii_only else "∂"), r.network.output.name
    lines = [f"Values for the {r.network.describe()}", "", "Forward pass"]
    lines += [f"  {k} = {number(v)}" for k, v in r.forward.items()]
    lines += ["", f"Gradients of {out}"] + [f"  {d}{out}/{d}{k} = {number(v)}" for k, v in r.gradient.items()]
    if r.updated is not None:
        lines += ["", f"After one step ({'eta' if ascii_only else 'η'} = {number(r.lr)})"]
        lines += [f"  {k} = {number(v)}" for k, v in r.updated.items()]
    return "\n".join(lines) + "\n"


def evaluation_json(r: GraphEvaluation) -> str:
    return json.dumps({"output": r.network.output.name, "value": r.value, "forward": r.forward,
                       "gradient": r.gradient, "updated": r.updated}, indent=1) + "\n"
