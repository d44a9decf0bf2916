"""Simple recurrent networks, unrolled over T steps: backpropagation through time.

Weights are shared across time: ``uij`` (input i → hidden j), ``wij`` (hidden i at
t−1 → hidden j at t), ``vij`` (hidden i → output j), biases ``bj`` and ``cj``.  Per
step, ``sj<t> = Σ_i uij·xi<t> + Σ_i wij·hi<t−1> + bj``, ``hj<t> = g(sj<t>)``,
``oj<t> = Σ_i vij·hi<t> + cj``, ``yj<t>`` the output activation of ``oj<t>``,
E the loss summed over every step, and ``δj<t> = ∂E/∂sj<t>``.

The derivation itself is ``_elman.derive_rnn``.

>>> RNN.build(1, 1, 1, 2, activation="tanh").describe()
'RNN 1-1-1, T = 2, tanh hidden, linear outputs, mse, no biases'
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import sympy

from . import _names as names
from . import _views as views
from ._activations import Activation
from ._display import Displays
from ._losses import Loss
from ._errors import check_table
from ._network import Network, SpecError, activation_named, check_outputs, checked_parts, whole

E = sympy.Symbol("E", real=True)

#: the unrolled network's size (hidden × (inputs + hidden + outputs) × steps) up to which
#: it is derived symbolically; numbers (eval, check, compile) have no such limit
MAX_SYMBOLIC = 20_000
MAX_STEPS = 1000
#: brute-force proofs and expanded forms: at most this many parameters and steps
MAX_PROVE_PARAMETERS, MAX_PROVE_STEPS = 40, 4
MAX_EXPANDED_SIZE = 20_000

from ._timed import _SHARED, TimeName, parse_name, sym  # noqa: F401 (their home is _timed)


# ---------------------------------------------------------------- the network
@dataclass(frozen=True)
class RNN:
    """A simple recurrent network unrolled over ``steps`` time steps.

    Made by ``symbackprop.rnn`` or a spec file with kind = "rnn": ``inputs``, ``hidden`` and
    ``outputs`` sizes, the hidden and output activations, the loss, and whether it has biases.

    >>> import symbackprop as sb
    >>> sb.rnn(1, 1, 1, 2, activation="tanh").describe()
    'RNN 1-1-1, T = 2, tanh hidden, linear outputs, mse, no biases'
    """

    inputs: int
    hidden: int
    outputs: int
    steps: int
    activation: Activation
    output_activation: Activation
    loss: Loss
    bias: bool = False

    kind = "rnn"

    @classmethod
    def build(cls, inputs, hidden, outputs, steps, activation="g", output_activation="linear",
              loss="mse", bias=False) -> "RNN":
        """Check every part and make the network; raise SpecError naming what is wrong."""
        for key, n in (("inputs", inputs), ("hidden", hidden), ("outputs", outputs), ("steps", steps)):
            if not whole(n):
                raise SpecError(f"{key} = {n!r} is not a positive whole number: e.g. inputs = 2, hidden = 3, "
                                "outputs = 1, steps = 4")
        if steps > MAX_STEPS:
            raise SpecError(f"steps = {steps:,}: the limit is {MAX_STEPS:,} steps")
        n_params = inputs * hidden + hidden * hidden + hidden * outputs + ((hidden + outputs) if bias else 0)
        lossobj = checked_parts(n_params, (activation, output_activation), loss)
        hid = activation_named(activation.strip(), "f")
        out = activation_named(output_activation.strip(), "h" if hid.function_name else "f")
        if hid.output_only:
            raise SpecError(f"{hid.name} is for outputs only: choose another hidden activation, "
                            "e.g. activation = \"tanh\"")
        check_outputs(lossobj, out, outputs, bias,
                      "use output_activation = \"sigmoid\" or \"softmax\", or loss mse", coupled_outputs=True)
        return cls(inputs, hidden, outputs, steps, hid, out, lossobj, bias)

    @property
    def activations(self) -> tuple[Activation, Activation]:
        return (self.activation, self.output_activation)

    @property
    def n_parameters(self) -> int:
        I, H, O = self.inputs, self.hidden, self.outputs
        return I * H + H * H + H * O + ((H + O) if self.bias else 0)

    @property
    def size(self) -> int:
        """Terms of the unrolled network: what a symbolic derivation costs."""
        return self.hidden * (self.inputs + self.hidden + self.outputs) * self.steps

    def parameters(self):
        """Every shared parameter as a symbol: u, w, v, then b, c."""
        I, H, O = self.inputs, self.hidden, self.outputs
        for kind, rows, cols in (("u", I, H), ("w", H, H), ("v", H, O)):
            for i in range(1, rows + 1):
                for j in range(1, cols + 1):
                    yield sym(kind, i, j)
        if self.bias:
            yield from (sym("b", j) for j in range(1, H + 1))
            yield from (sym("c", j) for j in range(1, O + 1))

    def exists(self, kind: str, indices: tuple, t: int | None) -> bool:
        """Whether a parsed name belongs to this network (h<0> included)."""
        I, H, O, T = self.inputs, self.hidden, self.outputs, self.steps
        limits = {"u": (I, H), "w": (H, H), "v": (H, O), "b": (H,), "c": (O,), "x": (I,), "s": (H,),
                  "h": (H,), "delta": (H,), "o": (O,), "y": (O,), "t": (O,)}[kind]
        if kind in ("b", "c") and not self.bias:
            return False
        if t is not None and not ((0 if kind == "h" else 1) <= t <= T):
            return False
        return all(1 <= i <= n for i, n in zip(indices, limits))

    def has(self, name: str) -> bool:
        """Whether the plain name is a weight or bias of this network."""
        kind, indices, t = parse_name(name)
        return kind in _SHARED and self.exists(kind, indices, t)

    def shape(self) -> str:
        return f"{self.inputs}-{self.hidden}-{self.outputs}"

    def describe(self) -> str:
        return (f"RNN {self.shape()}, T = {self.steps}, {self.activation.name} hidden, "
                f"{self.output_activation.name} outputs, {self.loss.name}, {'biases' if self.bias else 'no biases'}")

    def __repr__(self) -> str:
        return views.short("RNN", self.describe().removeprefix("RNN "))

    def as_dict(self) -> dict:
        return {"kind": "rnn", "inputs": self.inputs, "hidden": self.hidden, "outputs": self.outputs,
                "steps": self.steps, "activation": self.activation.name,
                "output_activation": self.output_activation.name, "loss": self.loss.name, "bias": self.bias}

    def output_network(self) -> Network:
        """One step's output layer as a feedforward network (1 → outputs): its δ[2] is ∂E/∂o<t>."""
        return Network((1, self.outputs), (self.output_activation,), self.loss, False)


KEYS = {"kind": str, "inputs": int, "hidden": int, "outputs": int, "steps": int, "activation": str,
        "output_activation": str, "loss": str, "bias": bool}


def from_data(data: dict, source: str, activation=None, loss=None, bias=None) -> RNN:
    """An RNN from a spec file's table (kind = "rnn"); options override the file."""
    check_table(data, KEYS, ("inputs", "hidden", "outputs", "steps"), source, "an RNN spec has",
                "kind = \"rnn\", inputs = 2, hidden = 3, outputs = 1, steps = 4, activation = \"tanh\", bias = true")
    merged = {"activation": "g", "output_activation": "linear", "loss": "mse", "bias": False, **data}
    for key, value in (("activation", activation), ("loss", loss), ("bias", bias)):
        if value is not None:
            merged[key] = value
    merged.pop("kind")
    return RNN.build(**merged)


# ---------------------------------------------------------------- the derivation
@dataclass(frozen=True, repr=False)
class RNNDerivation(Displays):
    """Forward equations, E, ∂E/∂o, every δ<t> and every shared gradient, keyed by plain names.

    Made by ``symbackprop.derive`` of an RNN; ``symbol`` and ``subs`` read names such as "h1<2>".

    >>> import symbackprop as sb
    >>> d = sb.derive(sb.rnn(1, 1, 1, 2))
    >>> d.gradient("u11")
    x1<1>*delta1<1> + x1<2>*delta1<2>
    >>> d.subs(d.gradient("u11"), {"x1<1>": 0})
    x1<2>*delta1<2>
    """

    network: RNN
    forward: dict
    loss: sympy.Expr
    output_errors: dict         # "o1<2>" → ∂E/∂o1<2>
    output_steps: tuple         # per step t, the proxy's DeltaSteps renamed: (t, DeltaStep)
    deltas: dict                # "delta1<2>" → δ1<2>, from t = T down to 1
    gradients: dict
    selected: tuple
    truncate: int | None = None
    proof: dict | None = None
    per_step: dict = dataclasses.field(default_factory=dict)   # name → each step's term, t = 1 … T
    chains: dict = dataclasses.field(default_factory=dict)     # selected name → ((t, node, ∂node/∂name), …)
    expanded_form: tuple | None = None                         # (name, its gradient fully expanded)

    def upstream(self, node) -> sympy.Expr:
        """∂E/∂node where a weight feeds it: δj<t> for sj<t>, the output error for oj<t>."""
        kind, (j, *_), t = parse_name(node.name)
        return sym("delta", j, t=t) if kind == "s" else self.output_errors[node.name]

    def parameter(self, name: str) -> TimeName:
        """A parameter's symbol from its plain name."""
        return TimeName(name, real=True)

    @cached_property
    def symbols(self) -> dict:
        """Plain name → symbol of every leaf (``base_symbols``), node and δ: every name the
        expressions hold, known without walking them (tests hold the two equal)."""
        found = {s.name: s for s in self.base_symbols()}
        for key in [*self.forward, *self.deltas]:
            found[key] = TimeName(key, real=True)
        return found

    def gradient(self, name: str) -> sympy.Expr:
        kind, indices, t = parse_name(name)
        key = kind + names._index_text(indices)
        if key not in self.gradients:
            raise KeyError(f"{name} is not a weight or bias of the {self.network.describe()}")
        return self.gradients[key]

    def base_symbols(self) -> list:
        """The values everything is computed from: parameters, x<t>, t<t>, h<0>."""
        net = self.network
        out = list(net.parameters())
        out += [sym("h", i, t=0) for i in range(1, net.hidden + 1)]
        for t in range(1, net.steps + 1):
            out += [sym("x", i, t=t) for i in range(1, net.inputs + 1)]
            out += [sym("t", j, t=t) for j in range(1, net.outputs + 1)]
        return out

    def target_groups(self) -> list:
        """Targets that must sum to 1 (softmax with cross-entropy, log_softmax with nll): one group per step."""
        net = self.network
        if not (net.output_activation.coupled and net.loss.targets == "distribution"):
            return []
        return [[sym("t", j, t=t) for j in range(1, net.outputs + 1)] for t in range(1, net.steps + 1)]

    @cached_property
    def full(self) -> dict:
        """Every intermediate in terms of the base symbols (small networks)."""
        sub: dict = {}
        for key, rhs in self.forward.items():
            sub[self.symbols[key]] = rhs.xreplace(sub)
        for key in self.deltas:                      # t = T first: each δ needs the one after it
            sub[self.symbols[key]] = self.deltas[key].xreplace(sub)
        return sub

    def confirmable(self) -> bool:
        """Small enough that verify may also compare answers with everything substituted
        (the substituted forms grow like hidden^steps)."""
        net = self.network
        return net.n_parameters <= 20 and net.steps <= 3

    def expanded(self, name: str) -> sympy.Expr:
        return self.gradient(name).xreplace(self.full)

    def nested_loss(self) -> sympy.Expr:
        return self.loss.xreplace(self.full)

    writers: ClassVar[dict] = {}  # format → writer, filled by _render_recurrent
    writer_modules: ClassVar[tuple] = ("_render_recurrent", "_html", "_beamer")


def expanded_size(net: RNN) -> int:
    """An estimate of the terms in a fully expanded gradient: each step back in time nests
    every hidden node's sum again, so it grows like (hidden·(inputs + hidden + outputs))^steps."""
    return (net.hidden * (net.inputs + net.hidden + net.outputs)) ** net.steps * net.steps


def expand_limit_message(net: RNN, what: str) -> str:
    return (f"{what} works on recurrent networks of at most {MAX_PROVE_PARAMETERS} parameters, "
            f"{MAX_PROVE_STEPS} steps and about {MAX_EXPANDED_SIZE:,} terms expanded; this one has "
            f"{net.n_parameters} parameters, {net.steps} steps and about {expanded_size(net):,} terms: "
            "use fewer steps or smaller layers, or check")


def expandable(net: RNN) -> bool:
    """Small enough for expanded forms and brute-force proofs."""
    return (net.n_parameters <= MAX_PROVE_PARAMETERS and net.steps <= MAX_PROVE_STEPS
            and expanded_size(net) <= MAX_EXPANDED_SIZE)
