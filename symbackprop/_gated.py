"""Gated recurrent cells, LSTM and GRU, unrolled over T steps as a graph (DESIGN.md §5.4).

LSTM, per step t and unit j (σ the logistic sigmoid, φ the cell activation, tanh by default):

    sγj<t> = Σ_i uγij·xi<t> + Σ_i wγij·hi<t−1> (+ bγj)      for the gates γ = i, f, o, g
    ij<t> = σ(sij<t>), fj<t> = σ(sfj<t>), oj<t> = σ(soj<t>), gj<t> = φ(sgj<t>)
    cj<t> = fj<t>·cj<t−1> + ij<t>·gj<t>,      hj<t> = oj<t>·φ(cj<t>)

GRU: rj<t> = σ(srj<t>), zj<t> = σ(szj<t>) with sums as above, rhj<t> = rj<t>·hj<t−1>,
snj<t> = Σ_i unij·xi<t> + Σ_i wnij·rhi<t> (+ bnj), nj<t> = φ(snj<t>),
hj<t> = zj<t>·hj<t−1> + (1 − zj<t>)·nj<t>.

Output = "dense": qj<t> = Σ_i vij·hi<t> (+ cj), yj<t> its output activation, E the loss of
y<t> against t<t> summed over the steps; output = "hidden": E is the loss of h<t> itself.
hj<0> and cj<0> are leaves.  Every weight is shared over the steps.  The names are those
of ``_gated_names`` (``ui11``, ``wf12``, ``bo1``, ``si1<2>``, ``deltai1<2>``, ``c1<2>``, ``deltac1<2>``).

Every weighted sum carries its (coefficient, value) terms and every gate and product its
local derivatives, so that the sweep needs no ``sympy.diff``.  The gate pre-activations
have δ's (``deltaγj<t>`` = ∂E/∂sγj<t>), and so do the states that carry the error back
in time: ``deltahj<t>`` = ∂E/∂hj<t>, ``deltacj<t>`` = ∂E/∂cj<t>.  With truncation every
K steps, hi<t−1> and ci<t−1> are detached from step t's equations at each cut.

>>> from symbackprop._graph import sweep
>>> net = GatedRNN.build("lstm", 1, 1, 1, 2, output="hidden")
>>> net.describe()
'LSTM 1-1, T = 2, tanh cell, loss on h, mse, no biases'
>>> s = sweep(build(net))
>>> s.adjoint[gsym("c", 1, t=1)]
f1<2>*deltac1<2> + o1<1>*deltah1<1>*tanh'(c1<1>)
>>> s.gradient[gsym("w", 1, 1, gate="f")]
h1<0>*deltaf1<1> + h1<1>*deltaf1<2>
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import _names as names
from . import _views as views
from ._activations import ACTIVATIONS, Activation
from ._dense import softmax_local, weighted_sum
from ._elman import flows
from ._errors import SpecError
from ._gated_names import GATES, gsym
from ._graph import E, Equation, Model
from ._losses import Loss
from ._network import Network, activation_named, check_outputs, checked_parts, whole
from ._rnn import MAX_STEPS

SIGMOID = ACTIVATIONS["sigmoid"]
OUTPUTS = ("dense", "hidden")


@dataclass(frozen=True)
class GatedRNN:
    """An LSTM or GRU layer unrolled over ``steps`` steps, with a dense output layer or the
    loss read off the hidden state (``output = "hidden"``, outputs = hidden, no v or c)."""

    cell: str
    inputs: int
    hidden: int
    outputs: int
    steps: int
    activation: Activation          # φ: the candidate's and (LSTM) the cell output's, tanh in the textbook
    output_activation: Activation   # linear when output = "hidden"
    loss: Loss
    bias: bool = False
    output: str = "dense"

    kind = "gated"

    @classmethod
    def build(cls, cell, inputs, hidden, outputs, steps, activation="tanh", output_activation="linear",
              loss="mse", bias=False, output="dense") -> "GatedRNN":
        """Check every part and make the network; raise SpecError naming what is wrong.

        outputs may be None with output = "hidden" (it is then the hidden size).
        """
        if cell not in GATES:
            raise SpecError(f"cell = {cell!r}: use \"lstm\" or \"gru\" (or kind = \"rnn\" without a cell for Elman)")
        if output not in OUTPUTS:
            raise SpecError(f"output = {output!r}: use \"dense\" (o = V·h + c, then the output activation) or "
                            "\"hidden\" (the loss reads h directly)")
        if output == "hidden" and outputs is None:
            outputs = hidden
        for key, n in (("inputs", inputs), ("hidden", hidden), ("outputs", outputs), ("steps", steps)):
            if not whole(n):
                raise SpecError(f"{key} = {n!r} is not a positive whole number: e.g. inputs = 2, hidden = 3, "
                                "outputs = 1, steps = 4")
        if steps > MAX_STEPS:
            raise SpecError(f"steps = {steps:,}: the limit is {MAX_STEPS:,} steps")
        if output == "hidden" and outputs != hidden:
            raise SpecError(f"output = \"hidden\" reads the loss off the {hidden} hidden units, so outputs must be "
                            f"{hidden}, not {outputs}: set outputs = {hidden}, or use output = \"dense\"")
        n_params = _count(cell, inputs, hidden, outputs, bias, output)
        lossobj = checked_parts(n_params, (activation, output_activation), loss)
        cell_act = activation_named(activation.strip(), "phi")
        out = activation_named(output_activation.strip(), "psi")
        if cell_act.output_only:
            raise SpecError(f"{cell_act.name} is for outputs only: choose another cell activation, "
                            "e.g. activation = \"tanh\"")
        if output == "hidden" and out.name != "linear":
            raise SpecError(f"output = \"hidden\" has no output layer, so no output activation "
                            f"({out.name}): leave it out, or use output = \"dense\"")
        hint = ("with output = \"hidden\" the loss reads h, which is not in (0, 1): use loss mse, or "
                "output = \"dense\" with sigmoid outputs") if output == "hidden" else \
            "use output_activation = \"sigmoid\" or \"softmax\", or loss mse"
        check_outputs(lossobj, out, outputs, bias, hint, coupled_outputs=True)
        return cls(cell, inputs, hidden, outputs, steps, cell_act, out, lossobj, bias, output)

    @property
    def gates(self) -> tuple[str, ...]:
        """The gate letters: i, f, o, g (LSTM) or r, z, n (GRU)."""
        return GATES[self.cell]

    @property
    def activations(self) -> tuple:
        return (self.activation, self.output_activation)

    @property
    def dense(self) -> bool:
        return self.output == "dense"

    @property
    def n_parameters(self) -> int:
        return _count(self.cell, self.inputs, self.hidden, self.outputs, self.bias, self.output)

    @property
    def size(self) -> int:
        """Terms of the unrolled network: what a symbolic derivation costs."""
        I, H, O = self.inputs, self.hidden, self.outputs
        return H * (len(self.gates) * (I + H) + (O if self.dense else 0)) * self.steps

    def parameters(self):
        """Every shared parameter as a symbol: per gate u then w, then v; then per gate b, then c."""
        I, H, O = self.inputs, self.hidden, self.outputs
        blocks = [(kind, gate, rows, H) for gate in self.gates for kind, rows in (("u", I), ("w", H))]
        blocks += [("v", "", H, O)] if self.dense else []
        for kind, gate, rows, cols in blocks:
            for i in range(1, rows + 1):
                for j in range(1, cols + 1):
                    yield gsym(kind, i, j, gate=gate)
        if self.bias:
            for gate in self.gates:
                yield from (gsym("b", j, gate=gate) for j in range(1, H + 1))
            if self.dense:
                yield from (gsym("c", j) for j in range(1, O + 1))

    def shape(self) -> str:
        return f"{self.inputs}-{self.hidden}" + (f"-{self.outputs}" if self.dense else "")

    def describe(self) -> str:
        out = (f"{self.output_activation.name} outputs" if self.dense else "loss on h")
        return (f"{self.cell.upper()} {self.shape()}, T = {self.steps}, {self.activation.name} cell, {out}, "
                f"{self.loss.name}, {'biases' if self.bias else 'no biases'}")

    def __repr__(self) -> str:
        return views.short("GatedRNN", self.describe())

    def as_dict(self) -> dict:
        """The spec as a file would hold it (DESIGN.md §5.2: kind "rnn" with a cell)."""
        data = {"kind": "rnn", "cell": self.cell, "inputs": self.inputs, "hidden": self.hidden,
                "outputs": self.outputs, "steps": self.steps, "activation": self.activation.name,
                "output": self.output, "loss": str(self.loss.name), "bias": self.bias}
        return {**data, "output_activation": self.output_activation.name} if self.dense else data

    def output_network(self) -> Network:
        """One step's output layer as a feedforward network (1 → outputs)."""
        return Network((1, self.outputs), (self.output_activation,), self.loss, False)


def _count(cell, I, H, O, bias, output) -> int:
    per_gate = I * H + H * H + (H if bias else 0)
    dense = (H * O + (O if bias else 0)) if output == "dense" else 0
    return len(GATES[cell]) * per_gate + dense


# ---------------------------------------------------------------- the unrolled graph
def _gate(s: sympy.Symbol, value: sympy.Symbol, act: Activation) -> Equation:
    """value = act(s), its derivative given: act'(s)."""
    return Equation(value, act.apply(s), local=((s, act.prime(s)),))


def _sum(node, delta, pairs, cut) -> Equation:
    return Equation(node, weighted_sum(pairs), delta, tuple(pairs), detached=cut)


def _at(t: int, outputs: int) -> dict:
    """The one-step output layer's names (a feedforward 1 → outputs net) → this step's names."""
    table = {}
    for j in range(1, outputs + 1):
        table[names.asym(j, 2)] = gsym("y", j, t=t)
        table[names.zsym(j, 2)] = gsym("q", j, t=t)
        table[names.target(j)] = gsym("t", j, t=t)
    return table


def build(net: GatedRNN, truncate: int | None = None) -> Model:
    """The unrolled equations, step by step: the gates' sums and values, (c,) h, then q and y; E last.

    >>> m = build(GatedRNN.build("gru", 1, 1, 1, 1, output="hidden"))
    >>> [str(eq.node) for eq in m.equations]
    ['sr1<1>', 'r1<1>', 'sz1<1>', 'z1<1>', 'rh1<1>', 'sn1<1>', 'n1<1>', 'h1<1>', 'E']
    >>> m.equations[-2].expr
    z1<1>*h1<0> + n1<1>*(1 - z1<1>)
    """
    I, H, O, T = net.inputs, net.hidden, net.outputs, net.steps
    U = {g: [[gsym("u", i, j, gate=g) for j in range(1, H + 1)] for i in range(1, I + 1)] for g in net.gates}
    W = {g: [[gsym("w", i, j, gate=g) for j in range(1, H + 1)] for i in range(1, H + 1)] for g in net.gates}
    b = {g: [gsym("b", j, gate=g) if net.bias else None for j in range(1, H + 1)] for g in net.gates}
    V = [[gsym("v", i, j) for j in range(1, O + 1)] for i in range(1, H + 1)]
    c = [gsym("c", j) for j in range(1, O + 1)] if net.bias else []
    lstm = net.cell == "lstm"
    equations = []

    def gate_sums(g, t, below, cut, act):
        x = [gsym("x", i, t=t) for i in range(1, I + 1)]
        for j in range(1, H + 1):
            pairs = [(U[g][i][j - 1], x[i]) for i in range(I)] + [(W[g][i][j - 1], below[i]) for i in range(H)]
            pairs += [(b[g][j - 1], sympy.S.One)] if net.bias else []
            s = gsym("s", j, gate=g, t=t)
            equations.append(_sum(s, gsym("delta", j, gate=g, t=t), pairs, cut))
            equations.append(_gate(s, gsym(g, j, t=t), act))

    for t in range(1, T + 1):
        h_prev = [gsym("h", i, t=t - 1) for i in range(1, H + 1)]
        c_prev = [gsym("c", i, t=t - 1) for i in range(1, H + 1)] if lstm else []
        cut = frozenset() if t == 1 or flows(net, t - 1, truncate) else frozenset(h_prev + c_prev)
        if lstm:
            for g in net.gates:
                gate_sums(g, t, h_prev, cut, net.activation if g == "g" else SIGMOID)
            for j in range(1, H + 1):
                i_, f, g_ = (gsym(k, j, t=t) for k in ("i", "f", "g"))
                cp = c_prev[j - 1]
                equations.append(Equation(gsym("c", j, t=t), f * cp + i_ * g_, gsym("delta", j, gate="c", t=t),
                                          local=((f, cp), (cp, f), (i_, g_), (g_, i_)), detached=cut))
            for j in range(1, H + 1):
                o, cj = gsym("o", j, t=t), gsym("c", j, t=t)
                equations.append(Equation(gsym("h", j, t=t), o * net.activation.apply(cj),
                                          gsym("delta", j, gate="h", t=t),
                                          local=((o, net.activation.apply(cj)), (cj, o * net.activation.prime(cj)))))
        else:
            for g in ("r", "z"):
                gate_sums(g, t, h_prev, cut, SIGMOID)
            rh = [gsym("rh", j, t=t) for j in range(1, H + 1)]
            for j in range(1, H + 1):
                r, hp = gsym("r", j, t=t), h_prev[j - 1]
                equations.append(Equation(rh[j - 1], r * hp, local=((r, hp), (hp, r)), detached=cut))
            gate_sums("n", t, rh, frozenset(), net.activation)
            for j in range(1, H + 1):
                z, n, hp = gsym("z", j, t=t), gsym("n", j, t=t), h_prev[j - 1]
                equations.append(Equation(gsym("h", j, t=t), z * hp + (1 - z) * n, gsym("delta", j, gate="h", t=t),
                                          local=((z, hp - n), (hp, z), (n, 1 - z)), detached=cut))
        if net.dense:
            _outputs(net, t, V, c, equations)
    if net.dense:
        loss = net.output_network().loss_value()
        total = [loss.xreplace(_at(t, O)) for t in range(1, T + 1)]
    else:
        total = [net.loss.term(gsym("h", j, t=t), gsym("t", j, t=t)) for t in range(1, T + 1) for j in range(1, H + 1)]
    equations.append(Equation(E, sympy.Add(*total)))
    return Model(tuple(equations), tuple(net.parameters()))


def _outputs(net: GatedRNN, t: int, V, c, equations: list) -> None:
    """qj<t> = Σ vij·hi<t> (+ cj) and yj<t> = the output activation of qj<t>."""
    H, O = net.hidden, net.outputs
    h = [gsym("h", i, t=t) for i in range(1, H + 1)]
    for j in range(1, O + 1):
        pairs = [(V[i][j - 1], h[i]) for i in range(H)] + ([(c[j - 1], sympy.S.One)] if c else [])
        equations.append(Equation(gsym("q", j, t=t), weighted_sum(pairs), terms=tuple(pairs)))
    one_step, rename = net.output_network(), _at(t, O)
    ys = [gsym("y", j, t=t) for j in range(1, O + 1)]
    qs = [gsym("q", j, t=t) for j in range(1, O + 1)]
    coupled = net.output_activation.coupled is not None
    for j in range(1, O + 1):
        local = softmax_local(ys, qs, j - 1, net.output_activation) if coupled else ()
        equations.append(Equation(ys[j - 1], one_step.activation_value(j, 2).xreplace(rename), local=local))
