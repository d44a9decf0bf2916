"""Simple recurrent networks, unrolled over T steps: backpropagation through time.

Weights are shared across time: ``uij`` (input i → hidden j), ``wij`` (hidden i at
t−1 → hidden j at t), ``vij`` (hidden i → output j), biases ``bj`` and ``cj``.  Per
step, ``sj<t> = Σ_i uij·xi<t> + Σ_i wij·hi<t−1> + bj``, ``hj<t> = g(sj<t>)``,
``oj<t> = Σ_i vij·hi<t> + cj``, ``yj<t>`` the output activation of ``oj<t>``,
E the loss summed over every step, and ``δj<t> = ∂E/∂sj<t>``.

>>> net = RNN.build(1, 1, 1, 2, activation="tanh")
>>> d = derive_rnn(net)
>>> d.gradients["w11"]
h1<0>*delta1<1> + h1<1>*delta1<2>
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy

from . import _names as names
from ._activations import Activation
from . import _elman
from ._derivation import Displays
from ._elman import flows  # noqa: F401 (the renderer and numbers ask it here)
from ._graph import sweep
from ._losses import LOSSES, Loss
from ._network import MAX_PARAMETERS, Network, SpecError, activation_named
from ._steps import Shortcuts, output_step

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
    """A simple recurrent network unrolled over ``steps`` time steps."""

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
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise SpecError(f"{key} = {n!r} is not a positive whole number: e.g. inputs = 2, hidden = 3, "
                                "outputs = 1, steps = 4")
        if steps > MAX_STEPS:
            raise SpecError(f"steps = {steps:,}: the limit is {MAX_STEPS:,} steps")
        n_params = inputs * hidden + hidden * hidden + hidden * outputs + ((hidden + outputs) if bias else 0)
        if n_params > MAX_PARAMETERS:
            raise SpecError(f"the network has {n_params:,} parameters; the limit is {MAX_PARAMETERS:,}: "
                            "use smaller layers")
        for key, text in (("activation", activation), ("output_activation", output_activation)):
            if not isinstance(text, str):
                raise SpecError(f"{key} must be one name or an expression in z, as text, not {text!r}")
        hid = activation_named(activation.strip(), "f")
        out = activation_named(output_activation.strip(), "h" if hid.function_name else "f")
        if hid.output_only:
            raise SpecError(f"{hid.name} is for outputs only: choose another hidden activation, "
                            "e.g. activation = \"tanh\"")
        if not isinstance(loss, str) or loss not in LOSSES:
            raise SpecError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
        lossobj = LOSSES[loss]
        if lossobj.needs_unit_range and not out.unit_range:
            raise SpecError(f"loss {loss} takes the log of the outputs, which {out.name} does not keep in "
                            "(0, 1): use output_activation = \"sigmoid\" or \"softmax\", or loss mse")
        if out.output_only and outputs < 2:
            raise SpecError("softmax needs at least 2 outputs: use sigmoid for a single output")
        if not isinstance(bias, bool):
            raise SpecError(f"bias must be true or false, got {bias!r}")
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
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SpecError(f"{source}: unknown key {unknown[0]!r}; an RNN spec has {', '.join(KEYS)}")
    for key in ("inputs", "hidden", "outputs", "steps"):
        if key not in data:
            raise SpecError(f"{source}: missing key {key!r}; an RNN spec needs inputs, hidden, outputs and steps")
    for key, kind in KEYS.items():
        value = data.get(key)
        if key in data and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise SpecError(f"{source}: {key} has the wrong type ({type(value).__name__}); e.g. kind = \"rnn\", "
                            "inputs = 2, hidden = 3, outputs = 1, steps = 4, activation = \"tanh\", bias = true")
    if isinstance(activation, list):
        raise SpecError("an RNN takes one hidden --activation (its output_activation is set in the spec file)")
    merged = {"activation": "g", "output_activation": "linear", "loss": "mse", "bias": False, **data}
    for key, value in (("activation", activation), ("loss", loss), ("bias", bias)):
        if value is not None:
            merged[key] = value
    merged.pop("kind")
    return RNN.build(**merged)


# ---------------------------------------------------------------- the derivation
@dataclass(frozen=True)
class RNNDerivation(Displays):
    """Forward equations, E, ∂E/∂o, every δ<t> and every shared gradient, keyed by plain names."""

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

    @cached_property
    def symbols(self) -> dict:
        found = {}
        for expr in [*self.forward.values(), self.loss, *self.deltas.values(), *self.gradients.values()]:
            for s in expr.free_symbols:
                found[s.name] = s
        for key in [*self.forward, *self.deltas]:
            found.setdefault(key, TimeName(key, real=True))
        for p in self.network.parameters():
            found[p.name] = p
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
        """Targets that must sum to 1 (softmax with cross-entropy): one group per step."""
        net = self.network
        if not (net.output_activation.name == "softmax" and net.loss.name == "cross_entropy"):
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

    def to_text(self, ascii_only: bool = False) -> str:
        from ._render import TextFormat
        return walk_rnn(self, TextFormat(ascii_only))

    def to_latex(self, standalone: bool = False) -> str:
        from ._render import LatexFormat
        body = walk_rnn(self, LatexFormat())
        if not standalone:
            return body
        from ._document import standalone_rnn_document
        return standalone_rnn_document(self, body)

    def to_markdown(self) -> str:
        from ._render import MarkdownFormat
        return walk_rnn(self, MarkdownFormat())

    def to_json(self, expanded: bool | None = None) -> str:
        import json

        from ._printing import plain
        if expanded is None:
            expanded = expandable(self.network)
        data = {"spec": self.network.as_dict(), "truncate": self.truncate,
                "forward": {k: plain(v) for k, v in self.forward.items()}, "loss": plain(self.loss),
                "output_error": {k: plain(v) for k, v in self.output_errors.items()},
                "delta": {k: plain(v) for k, v in self.deltas.items()},
                "gradient": {k: plain(v) for k, v in self.gradients.items()}}
        if expanded:
            data["expanded"] = {k: plain(self.expanded(k)) for k in self.gradients}
        if self.proof is not None:
            data["proof"] = {k: (v or False) for k, v in self.proof.items()}
        return json.dumps(data, indent=1, ensure_ascii=True) + "\n"



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


def _expanded_one(selected) -> str:
    """The weight whose fully expanded form is shown: w11, where the recursion shows most."""
    return "w11" if "w11" in selected else selected[0]


def derive_rnn(net: RNN, weights=None, truncate: int | None = None, prove: bool = False,
               max_weights: int = 30) -> RNNDerivation:
    """Unroll, take the local derivatives with sympy.diff, and run the δ's back through time.

    truncate: the sequence is cut into chunks of K steps (1…K, K+1…2K, …) and δ does not
    flow back across a cut (as when the hidden state is detached every K steps).
    """
    if net.size > MAX_SYMBOLIC:
        raise SpecError(f"the unrolled network has {net.size:,} weighted terms; symbolic derivation stops at "
                        f"{MAX_SYMBOLIC:,}: use fewer steps or smaller layers (eval, check and compile have no "
                        "such limit)")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1):
        raise SpecError(f"truncate = {truncate!r}: give a whole number of steps ≥ 1")
    model = _elman.build(net, truncate)
    shortcuts = Shortcuts(_elman.outputs(net))
    s = sweep(model, refine=shortcuts)
    forward = {eq.node.name: eq.expr for eq in model.equations[:-1]}
    errors = {o.name: s.adjoint[o] for o in shortcuts.outputs}
    # ∂E/∂oj<t> step by step, as the output layer's δ of a feedforward net
    output_steps = [(parse_name(o.name)[2], output_step(s, o, o, shortcuts.steps[o])) for o in shortcuts.outputs]
    hidden = [eq for eq in model.equations if eq.delta is not None]
    deltas = {eq.delta.name: s.adjoint[eq.node] for eq in sorted(hidden, key=lambda eq: -parse_name(eq.node.name)[2])}
    per_step = {p.name: tuple(v for _, v in s.uses[p]) for p in model.parameters}
    gradients = {p.name: s.gradient[p] for p in model.parameters}
    if weights:
        selected = tuple(w for w in weights)
    else:       # the output weights first, as the seed starts from the outputs; then back through time
        order = sorted(gradients, key=lambda k: "vcwub".index(k[0]))
        selected = tuple(order) if net.n_parameters <= max_weights else \
            tuple(k for k in ("v11", "c1", "w11", "u11", "b1") if k in gradients)
    # each selected parameter's chain rule: per step, the node E flows through and its local derivative
    chains = {}
    for name in selected:
        kind, indices, _ = parse_name(name)
        p = sym(kind, *indices)
        chains[name] = tuple((parse_name(eq.node.name)[2], eq.node, eq.derivative(p)) for eq, _ in s.uses[p])
    d = RNNDerivation(net, forward, model.output.expr, errors, tuple(output_steps), deltas, gradients, selected, truncate,
                      per_step=per_step, chains=chains)
    if expandable(net) and truncate is None:
        shown = _expanded_one(selected)
        d = dataclasses.replace(d, expanded_form=(shown, d.expanded(shown)))
    if prove:
        if truncate is not None:
            raise SpecError("--prove checks the full gradient against brute force: leave out --truncate")
        d = dataclasses.replace(d, proof=prove_rnn(d))
    return d


def prove_rnn(d: RNNDerivation) -> dict:
    """name → how its δ form, fully substituted, was shown equal to sympy.diff of the unrolled E."""
    from ._proof import equal_by_algebra
    net = d.network
    if not expandable(net):
        raise SpecError(expand_limit_message(net, "--prove"))
    constraint = {g[-1]: 1 - sympy.Add(*g[:-1]) for g in d.target_groups()}
    nested = d.nested_loss()
    return {name: equal_by_algebra(sympy.diff(nested, d.symbols[name]) - d.expanded(name), constraint,
                                   net.activations)
            for name in d.gradients}


# ---------------------------------------------------------------- the written derivation
def _math(fmt, s: str) -> str:
    from ._render import TextFormat
    return s if isinstance(fmt, TextFormat) else f"${s}$"


def _is_text(fmt) -> bool:
    from ._render import TextFormat
    return isinstance(fmt, TextFormat)


def _shown_steps(T: int) -> list:
    """Time steps listed in full: all of them up to 4, else 1, 2, T−1, T."""
    return list(range(1, T + 1)) if T <= 4 else [1, 2, T - 1, T]


def _forward_section(d: RNNDerivation, fmt):
    net = d.network
    rows = []
    shown = _shown_steps(net.steps)
    for t in shown:
        rows += [(f"t = {t}" if n == 0 else None, [fmt.expr(d.symbols[k]), fmt.expr(v)])
                 for n, (k, v) in enumerate((k, v) for k, v in d.forward.items() if k.endswith(f"<{t}>"))]
    h0 = _math(fmt, fmt.expr(sym("h", 1, t=0)))
    items = [("para", f"The hidden state starts at {h0}, … (zero unless given); the weights u, w, v"
                      f"{' and biases b, c' if net.bias else ''} are the same at every step."), ("eqs", rows)]
    if len(shown) < net.steps:
        items.append(("para", f"(steps 3 to {net.steps - 2} are alike)"))
    if net.activation.name == "g":
        items.append(("para", f"{_math(fmt, 'g')} is a generic activation and {_math(fmt, chr(103) + chr(39))} "
                              "its derivative."))
    return ("Forward pass, unrolled over time", items)


def _loss_section(d: RNNDerivation, fmt):
    return (f"Loss ({d.network.loss.description}, summed over the {d.network.steps} steps)",
            [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])])


def _errors_section(d: RNNDerivation, fmt):
    rows = []
    for t, step in d.output_steps:
        if t not in _shown_steps(d.network.steps):
            continue
        chain = fmt.total([fmt.mul.join(fmt.partial(p.of, p.by) for p in path) for path in step.chain])
        sides = [fmt.partial(E, step.delta), chain,
                 fmt.total([fmt.product([p.value for p in path]) for path in step.chain])]
        sides += [fmt.expr(expr) for _, expr in step.simplified]
        if len(sides) > 3 and sides[-1] == sides[-2]:
            sides.pop()
        rows.append((None, sides))
    items = [("para", "Each step's outputs add their own term to E, so the error at an output depends on "
                      "that step only:"), ("eqs", rows)]
    reasons = {r for _, s in d.output_steps for r, _ in s.simplified}
    if "sum_targets_one" in reasons:
        items.append(("para", "The last form holds because each step's targets sum to 1 (one-hot targets)."))
    elif "substitute" in reasons:
        items.append(("para", "The output's derivative, written through y, cancels the loss's denominator."))
    return ("Output errors", items)


def _delta_section(d: RNNDerivation, fmt):
    net = d.network
    word = fmt.greek("delta")
    rows = []
    for t in sorted(_shown_steps(net.steps), reverse=True):
        j = 1
        s_jt, h_jt = sym("s", j, t=t), sym("h", j, t=t)
        delta = sym("delta", j, t=t)
        paths = [f"{fmt.partial(E, sym('o', k, t=t))}{fmt.mul}{fmt.partial(sym('o', k, t=t), h_jt)}"
                 for k in range(1, net.outputs + 1)]
        if flows(net, t, d.truncate):
            paths += [f"{fmt.partial(E, sym('s', k, t=t + 1))}{fmt.mul}{fmt.partial(sym('s', k, t=t + 1), h_jt)}"
                      for k in range(1, net.hidden + 1)]
        chain = f"{fmt.paren(fmt.total(paths))}{fmt.mul}{fmt.partial(h_jt, s_jt)}" if len(paths) > 1 else \
            f"{paths[0]}{fmt.mul}{fmt.partial(h_jt, s_jt)}"
        rows.append((f"t = {t}", [fmt.expr(delta), fmt.partial(E, s_jt), chain, fmt.expr(d.deltas[delta.name])]))
    others = f" (and likewise for every hidden node j = 1 … {net.hidden})" if net.hidden > 1 else ""
    cut = ""
    if d.truncate is not None and d.truncate < net.steps:
        K = d.truncate
        cut = (f" Truncated to {K} step{'s' if K > 1 else ''}: the sequence is cut into chunks of {K} "
               f"and {word} does not flow back across a cut (after steps {', '.join(str(t) for t in range(K, net.steps, K))}),"
               " as when the hidden state is detached every K steps.")
    items = [("para", f"The error signal of hidden node j at step t is {_delta_definition(fmt)}. "
                      f"At the last step it comes from that step's outputs only; earlier, also from the "
                      f"next step's {word}'s through w{others}.{cut}"), ("eqs", rows)]
    if len(_shown_steps(net.steps)) < net.steps:
        items.append(("para", f"(steps 3 to {net.steps - 2} are alike)"))
    return ("Error signals through time", items)


def _delta_definition(fmt) -> str:
    if _is_text(fmt):
        return fmt.name_of("deltaj<t> = dE/dsj<t>", "δj<t> = ∂E/∂sj<t>")
    return "$\\delta_{j}^{\\langle t \\rangle} = \\frac{\\partial E}{\\partial s_{j}^{\\langle t \\rangle}}$"


def _gradient_section(d: RNNDerivation, fmt):
    net = d.network
    T = net.steps
    items = []
    for name in d.selected:
        p = d.symbols[name]
        lhs = fmt.partial(E, p)
        chain = d.chains[name]
        shown = list(chain) if T <= 4 else [chain[0], chain[1], None, chain[-1]]
        parts, factors, values = [], [], []
        for entry in shown:
            if entry is None:
                parts.append(fmt.ellipsis)
                values.append(fmt.ellipsis)
                continue
            t, node, local = entry
            parts.append(f"{fmt.partial(E, node)}{fmt.mul}{fmt.partial(node, p)}")
            factors.append((None, [fmt.partial(node, p), fmt.expr(local)]))
            upstream = sym("delta", parse_name(node.name)[1][0], t=t) if node.name[0] == "s" else \
                d.output_errors[node.name]
            values.append(fmt.product([local, upstream]))
        rows = [("chain rule", [lhs, " + ".join(parts)])]
        rows += [("factors" if n == 0 else "", sides) for n, (_, sides) in enumerate(factors)]
        rows.append((fmt.greek("delta") + " form", [lhs, " + ".join(values)]))
        if d.expanded_form is not None and d.expanded_form[0] == name:
            rows.append(("expanded", [lhs, fmt.expr(d.expanded_form[1])]))
        if _is_text(fmt):
            items.append(("para", f"{lhs}:"))
        else:
            head = f"$\\partial E / \\partial {fmt.expr(p)}$"
            items.append(("para", f"\\paragraph{{{head}}}" if type(fmt).__name__ == "LatexFormat" else f"**{head}**"))
        items.append(("eqs", rows))
    rest = net.n_parameters - len(d.selected)
    if rest:
        items.append(("para", f"The other {rest:,} parameters follow the same forms (see the summary below)."))
    word = fmt.greek("delta")
    intro = (f"A shared weight is used at every step, so its gradient is the sum over time of each step's "
             f"contribution: the {word} (or output error) at that step times what the weight multiplies there.")
    return ("Gradients: sums over time", [("para", intro)] + items)


def _summary_section(d: RNNDerivation, fmt):
    net = d.network
    if _is_text(fmt):
        a = fmt.ascii_only
        S = "sum_t " if a else "Σ_t "
        dd = "delta" if a else "δ"
        pd = "d" if a else "∂"
        m = "*" if a else "·"
        lines = [f"{pd}E/{pd}uij = {S}xi<t>{m}{dd}j<t>", f"{pd}E/{pd}wij = {S}hi<t-1>{m}{dd}j<t>",
                 f"{pd}E/{pd}vij = {S}hi<t>{m}{pd}E/{pd}oj<t>"]
        if net.bias:
            lines += [f"{pd}E/{pd}bj = {S}{dd}j<t>", f"{pd}E/{pd}cj = {S}{pd}E/{pd}oj<t>"]
        rows = [(None, [line]) for line in lines]
        hadamard, tr = ("(.)", "^T") if a else ("⊙", "ᵀ")
        matrix = [f"{dd}<t> = g'(s<t>) {hadamard} (V {pd}E/{pd}o<t> + W {dd}<t+1>)",
                  f"{pd}E/{pd}W = {S}h<t-1> {dd}<t>{tr},   {pd}E/{pd}U = {S}x<t> {dd}<t>{tr},   "
                  f"{pd}E/{pd}V = {S}h<t> ({pd}E/{pd}o<t>){tr}"]
        mrows = [(None, [line]) for line in matrix]
    else:
        tt = "^{\\langle t \\rangle}"
        t1 = "^{\\langle t-1 \\rangle}"
        S = "\\sum_{t=1}^{" + str(net.steps) + "} "
        rows = [(None, ["\\frac{\\partial E}{\\partial u_{ij}}", f"{S}x_{{i}}{tt} \\delta_{{j}}{tt}"]),
                (None, ["\\frac{\\partial E}{\\partial w_{ij}}", f"{S}h_{{i}}{t1} \\delta_{{j}}{tt}"]),
                (None, ["\\frac{\\partial E}{\\partial v_{ij}}", f"{S}h_{{i}}{tt} \\frac{{\\partial E}}{{\\partial o_{{j}}{tt}}}"])]
        if net.bias:
            rows += [(None, ["\\frac{\\partial E}{\\partial b_{j}}", f"{S}\\delta_{{j}}{tt}"]),
                     (None, ["\\frac{\\partial E}{\\partial c_{j}}", f"{S}\\frac{{\\partial E}}{{\\partial o_{{j}}{tt}}}"])]
        mrows = [(None, [f"\\delta{tt}", f"g'\\left(s{tt}\\right) \\odot \\left(V \\frac{{\\partial E}}{{\\partial o{tt}}}"
                                         f" + W \\delta^{{\\langle t+1 \\rangle}}\\right)"]),
                 (None, ["\\frac{\\partial E}{\\partial W}", f"{S}h{t1} \\left(\\delta{tt}\\right)^{{\\top}}"])]
    shapes = (f"U is {net.inputs}×{net.hidden}, W is {net.hidden}×{net.hidden}, V is {net.hidden}×{net.outputs}, "
              "rows the from-node and columns the to-node, as in uij, wij, vij; "
              f"{fmt.greek('delta')}<T+1> = 0.")
    if not _is_text(fmt):
        shapes = shapes.replace("×", "$\\times$").replace("<T+1>", "$^{\\langle T+1 \\rangle}$")
    elif fmt.ascii_only:
        shapes = shapes.replace("×", "x")
    return ("Summary: general and matrix form", [("eqs", rows), ("para", "In matrix form:"), ("eqs", mrows),
                                                 ("para", shapes)])


def _vanishing_section(d: RNNDerivation, fmt):
    net = d.network
    g = "g'" if net.activation.name == "g" else f"{net.activation.name}'"
    if _is_text(fmt):
        a = fmt.ascii_only
        pd, m = ("d", "*") if a else ("∂", "·")
        rows = [(None, [f"{pd}hj<t>/{pd}hi<t-1> = {g}(sj<t>){m}wij"]),
                (None, [f"{pd}h<T>/{pd}h<t> = product over r = t+1 … T of diag({g}(s<r>)) W" + ("^T" if a else "ᵀ")])]
    else:
        rows = [(None, ["\\frac{\\partial h_{j}^{\\langle t \\rangle}}{\\partial h_{i}^{\\langle t-1 \\rangle}}",
                        f"{g}\\left(s_{{j}}^{{\\langle t \\rangle}}\\right) \\cdot w_{{ij}}"]),
                (None, ["\\frac{\\partial h^{\\langle T \\rangle}}{\\partial h^{\\langle t \\rangle}}",
                        f"\\prod_{{r=t+1}}^{{T}} \\operatorname{{diag}}\\left({g}\\left(s^{{\\langle r \\rangle}}\\right)"
                        f"\\right) W^{{\\top}}"])]
    bound = {"tanh": "tanh' ≤ 1", "sigmoid": "σ' ≤ 1/4"}.get(net.activation.name)
    why = (f" Here {bound}, so unless the weights are large the factors are small." if bound else "")
    if bound and not _is_text(fmt):
        why = why.replace("tanh' ≤ 1", "$\\tanh' \\le 1$").replace("σ' ≤ 1/4", "$\\sigma' \\le 1/4$")
    elif bound and fmt.ascii_only:
        why = why.replace("σ'", "sigmoid'").replace("≤", "<=")
    text = ("A step back in time multiplies the error by one factor of w·g' per path. Reaching from step T back to "
            "step t multiplies T − t of them, so over long sequences the product shrinks towards zero when the factors "
            "are below 1 (vanishing gradients: early steps barely learn) and grows without bound when they are above 1 "
            f"(exploding gradients).{why} With numbers, eval --report prints the size of each step's ∂E/∂h<t> "
            "and of this product.")
    if not _is_text(fmt):
        text = text.replace("w·g'", "$w \\cdot g'$").replace("T − t", "$T - t$").replace(
            "∂E/∂h<t>", "$\\partial E / \\partial h^{\\langle t \\rangle}$").replace("eval --report", "\\texttt{eval --report}")
    elif fmt.ascii_only:
        text = text.replace("·", "*").replace("−", "-").replace("∂", "d")
    return ("Vanishing and exploding gradients", [("eqs", rows), ("para", text)])


def _update_section(d: RNNDerivation, fmt):
    if _is_text(fmt):
        rule = f"wij {fmt.arrow} wij − {fmt.eta}{fmt.mul}{fmt.partial_sign}E/{fmt.partial_sign}wij"
        if fmt.ascii_only:
            rule = rule.replace("−", "-")
        rows = [(None, [rule])]
    else:
        from ._render import MarkdownFormat
        rule = r"w_{ij} &\leftarrow w_{ij} - \eta \cdot \frac{\partial E}{\partial w_{ij}}"
        block = ("$$\n\\begin{aligned}\n" + rule + "\n\\end{aligned}\n$$" if isinstance(fmt, MarkdownFormat)
                 else "\\begin{align*}\n" + rule + "\n\\end{align*}")
        return ("Update", [("para", block), ("para",
                f"and likewise u, v{', b, c' if d.network.bias else ''}, with {_math(fmt, fmt.eta)} the learning "
                "rate; all at once, from the values before the update.")])
    return ("Update", [("eqs", rows), ("para", f"and likewise u, v{', b, c' if d.network.bias else ''}, "
                                               f"with {_math(fmt, fmt.eta)} the learning rate; all at once, from the "
                                               "values before the update.")])


def _proof_section(d: RNNDerivation, fmt):
    ok = sum(1 for v in d.proof.values() if v)
    rows = [(("proved by " + how) if how else "NOT PROVED", [fmt.partial(E, d.symbols[n]), fmt.expr(d.gradients[n])])
            for n, how in d.proof.items()]
    return ("Proof", [("para", f"Each {fmt.greek('delta')} form, with every intermediate substituted, minus "
                               f"sympy.diff of the unrolled E, is zero ({ok} of {len(d.proof)} parameters)."),
                      ("eqs", rows)])


def walk_rnn(d: RNNDerivation, fmt) -> str:
    net = d.network
    title = f"Backpropagation through time for the {net.shape()} recurrent network, T = {net.steps}"
    sub = (f"hidden activation {net.activation.function_name or net.activation.name}; outputs "
           f"{net.output_activation.function_name or net.output_activation.name}; loss {net.loss.name}; "
           f"{'with' if net.bias else 'no'} biases" + (f"; truncated to {d.truncate} steps" if d.truncate else ""))
    sections = [_forward_section(d, fmt), _loss_section(d, fmt), _errors_section(d, fmt), _delta_section(d, fmt),
                _gradient_section(d, fmt), _summary_section(d, fmt), _vanishing_section(d, fmt), _update_section(d, fmt)]
    if d.proof is not None:
        sections.append(_proof_section(d, fmt))
    return fmt.document(title, sub, sections)

