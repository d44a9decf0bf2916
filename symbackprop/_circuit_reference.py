"""The second opinion for graphs: each equation evaluated forward and differentiated backwards in
plain NumPy, node by node, with its own table of derivatives.

It reads the equations as plain nested tuples (``_circuit.tree``) and imports nothing symbolic,
so that a mistake in SymPy's derivatives, the sweep or the printed code cannot fool both.

>>> import numpy as np
>>> program = (("q", ("add", [("var", "x"), ("var", "y")])), ("f", ("mul", [("var", "q"), ("var", "z")])))
>>> values, grads, _ = evaluate(program, {"x": np.array([-2.0]), "y": np.array([5.0]), "z": np.array([-4.0])})
>>> float(values["f"][0]), float(grads["x"][0]), float(grads["z"][0])
(-12.0, -4.0, 3.0)
"""
from __future__ import annotations

import numpy as np


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _step(u):
    return np.where(u > 0, 1.0, np.where(u < 0, 0.0, 0.5))


# name → (f, f') written out by hand, independently of SymPy and of the activation registry
FUNCTIONS = {
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda u: 1.0 / u),
    "abs": (np.abs, np.sign),
    "sign": (np.sign, lambda u: 0.0 * u),
    "tanh": (np.tanh, lambda u: 1.0 - np.tanh(u) ** 2),
    "sinh": (np.sinh, np.cosh),
    "cosh": (np.cosh, np.sinh),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda u: -np.sin(u)),
    "atan": (np.arctan, lambda u: 1.0 / (1.0 + u * u)),
    "sigmoid": (_sigmoid, lambda u: _sigmoid(u) * (1.0 - _sigmoid(u))),
    "relu": (lambda u: np.where(u > 0, u, 0.0), lambda u: np.where(u > 0, 1.0, 0.0)),
    "leaky_relu": (lambda u: np.where(u > 0, u, 0.01 * u), lambda u: np.where(u > 0, 1.0, 0.01)),
    "softplus": (lambda u: np.logaddexp(0.0, u), _sigmoid),
}
#: functions whose derivative jumps (or whose domain ends) at an argument of 0
KINKS = {"abs", "sign", "relu", "leaky_relu", "log"}


class _Pass:
    """One forward and backward pass over trees, at arrays of points; ``margin``: at each point, how
    far the nearest kink (relu at 0, max's tie, a division by 0) is from being hit."""

    def __init__(self, env: dict):
        self.env, self.memo, self.margin = env, {}, np.inf

    def near(self, distance) -> None:
        self.margin = np.minimum(self.margin, np.abs(distance))

    def value(self, t):
        if id(t) in self.memo:
            return self.memo[id(t)][1]
        kind = t[0]
        if kind == "var":
            v = self.env[t[1]]
        elif kind == "num":
            v = t[1]
        elif kind == "add":
            v = sum(self.value(a) for a in t[1])
        elif kind == "mul":
            v = np.prod(np.broadcast_arrays(*[self.value(a) for a in t[1]]), axis=0)
        elif kind == "pow":
            base, exponent = self.value(t[1]), self.value(t[2])
            if np.any(np.asarray(exponent) < 1) or t[2][0] != "num":
                self.near(base)
            v = np.power(base, exponent)
        else:
            name, args = t[1], [self.value(a) for a in t[2]]
            if name in ("max", "min"):
                stacked = np.stack(np.broadcast_arrays(*args))
                v = stacked.max(axis=0) if name == "max" else stacked.min(axis=0)
                for i in range(len(args)):
                    for j in range(i):
                        self.near(args[i] - args[j])
            else:
                if name not in FUNCTIONS:
                    raise ValueError(f"the NumPy reference has no numbers for {name}")
                if name in KINKS:
                    self.near(args[0])
                v = FUNCTIONS[name][0](args[0])
        self.memo[id(t)] = (t, v)       # the tree is kept so that its id stays its own
        return v

    def back(self, t, g, grads: dict) -> None:
        """Add g·∂t/∂name into grads for every name in t."""
        kind = t[0]
        if kind == "var":
            grads[t[1]] = grads.get(t[1], 0.0) + g
        elif kind == "add":
            for a in t[1]:
                self.back(a, g, grads)
        elif kind == "mul":
            values = [self.value(a) for a in t[1]]
            for i, a in enumerate(t[1]):                 # ∂(u·v·w)/∂u = v·w
                others = values[:i] + values[i + 1:]
                self.back(a, g * np.prod(np.broadcast_arrays(1.0, *others), axis=0), grads)
        elif kind == "pow":
            base, exponent = self.value(t[1]), self.value(t[2])
            self.back(t[1], g * exponent * np.power(base, exponent - 1), grads)
            if t[2][0] != "num":                          # ∂(b^e)/∂e = b^e·log b
                self.back(t[2], g * np.power(base, exponent) * np.log(base), grads)
        elif kind == "call":
            name, args = t[1], [self.value(a) for a in t[2]]
            if name in ("max", "min"):                    # the largest (smallest) input takes it all
                sign = 1.0 if name == "max" else -1.0
                for i, a in enumerate(t[2]):
                    share = np.prod(np.broadcast_arrays(1.0, *[_step(sign * (args[i] - args[j]))
                                                               for j in range(len(args)) if j != i]), axis=0)
                    self.back(a, g * share, grads)
            else:
                self.back(t[2][0], g * FUNCTIONS[name][1](args[0]), grads)


def evaluate(program, env: dict) -> tuple[dict, dict, np.ndarray]:
    """(value of every node, gradient of the last node by every name, margin) at the points in env.

    program: ((node, tree), …) in evaluation order, the output last; env: leaf → array.
    """
    env = dict(env)
    with np.errstate(all="ignore"):
        run = _Pass(env)
        for node, t in program:
            env[node] = run.value(t)
        shape = np.broadcast_shapes(*(np.shape(v) for v in env.values()))
        grads = {program[-1][0]: np.ones(shape)}
        for node, t in reversed(program):
            if node in grads:
                run.back(t, grads[node], grads)
    values = {node: np.broadcast_to(env[node], shape) for node, _ in program}
    found = {k: np.broadcast_to(v, shape) for k, v in grads.items()}
    return values, found, np.broadcast_to(run.margin, shape)
