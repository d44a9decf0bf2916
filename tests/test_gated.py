"""Issue 17, first step: LSTM and GRU graphs (_gated) against the NumPy reference (_gated_reference)."""
import math
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop import SpecError
from symbackprop._gated import GatedRNN, build
from symbackprop._gated_names import gsym, parse
from symbackprop import _gated_reference
from symbackprop._gated_reference import bptt, from_plain, plain_names, shapes
from symbackprop._graph import E, sweep

from .conftest import swept_values, value_at

SMOOTH = [("linear", "mse"), ("tanh", "mse"), ("sigmoid", "mse"), ("sigmoid", "bce"),
          ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")]


def numeric_sweep(model, sw, values: dict):
    """(E, gradient by plain name, every node's value and δ by plain name) at the leaves' values."""
    env = {s: float(v) for s, v in values.items()}
    swept_values(model, sw, env)
    gradient = {p.name: value_at(sw.gradient[p], env) for p in model.parameters}
    return env[E], gradient, {s.name: v for s, v in env.items()}


# ---------------------------------------------------------------- random points, the reference, FD
def _point(net, rng):
    """Random parameters (plain names → floats), X (1, T, I), Y (1, T, O), h0, c0 (1, H)."""
    params = {p.name: rng.uniform(-1, 1) for p in net.parameters()}
    X = rng.uniform(-1, 1, (1, net.steps, net.inputs))
    O = net.outputs
    out, loss = net.output_activation.name, net.loss.name
    if out == "softmax":
        Y = rng.dirichlet(np.ones(O), (1, net.steps))
    elif loss in ("bce", "cross_entropy", "kl"):
        Y = rng.uniform(0.05, 0.95, (1, net.steps, O))
    else:
        Y = rng.uniform(-1, 1, (1, net.steps, O))
    h0, c0 = rng.uniform(-1, 1, (1, net.hidden)), rng.uniform(-1, 1, (1, net.hidden))
    return params, X, Y, h0, c0


def _leaves(net, params, X, Y, h0, c0) -> dict:
    symbols = {p.name: p for p in net.parameters()}
    values = {symbols[name]: v for name, v in params.items()}
    for t in range(1, net.steps + 1):
        values.update({gsym("x", i, t=t): X[0, t - 1, i - 1] for i in range(1, net.inputs + 1)})
        values.update({gsym("t", j, t=t): Y[0, t - 1, j - 1] for j in range(1, net.outputs + 1)})
    values.update({gsym("h", j, t=0): h0[0, j - 1] for j in range(1, net.hidden + 1)})
    if net.cell == "lstm":
        values.update({gsym("c", j, t=0): c0[0, j - 1] for j in range(1, net.hidden + 1)})
    return values


def _reference(net, params, X, Y, h0, c0, truncate=None):
    P = from_plain(net.cell, params, net.inputs, net.hidden, net.outputs, net.bias, net.output)
    E_, grads = bptt(net.cell, P, X, Y, activation=net.activation.name, output_activation=net.output_activation.name,
                     loss=net.loss.name, output=net.output, h0=h0, c0=c0 if net.cell == "lstm" else None,
                     truncate=truncate)
    return float(E_), plain_names(net.cell, grads)


def _finite_differences(net, params, X, Y, h0, c0, h=1e-3):
    """∂E/∂p of the reference's loss by the five-point central stencil (error ~h⁴)."""
    found = {}
    for name in params:
        at = [_reference(net, {**params, name: params[name] + k * h}, X, Y, h0, c0)[0] for k in (-2, -1, 1, 2)]
        found[name] = (at[0] - 8 * at[1] + 8 * at[2] - at[3]) / (12 * h)
    return found


def _close(a: dict, b: dict, tol=1e-8):
    assert a.keys() == b.keys()
    bad = {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > tol * max(1.0, abs(b[k]))}
    assert not bad, bad


def _agree(net, seed, truncate=None, fd=True):
    rng = np.random.default_rng(seed)
    point = _point(net, rng)
    model = build(net, truncate)
    E_sweep, g_sweep, _ = numeric_sweep(model, sweep(model), _leaves(net, *point))
    E_ref, g_ref = _reference(net, *point, truncate=truncate)
    assert abs(E_sweep - E_ref) <= 1e-10 * max(1.0, abs(E_ref))
    _close(g_sweep, g_ref)
    if fd:
        _close(_finite_differences(net, *point), g_ref)


# ---------------------------------------------------------------- (a) small specs
SMALL = [(cell, I, H, O, T, output, bias) for cell in ("lstm", "gru")
         for (I, H, O, T) in ((1, 1, 1, 1), (1, 1, 1, 3), (2, 1, 1, 2), (1, 2, 2, 2), (2, 2, 1, 3))
         for output in ("hidden", "dense") for bias in (False, True) if output == "dense" or O == H]


@pytest.mark.parametrize("cell,I,H,O,T,output,bias", SMALL)
def test_sweep_reference_and_finite_differences_agree(cell, I, H, O, T, output, bias):
    net = GatedRNN.build(cell, I, H, O, T, output=output, bias=bias)
    _agree(net, seed=I + 10 * H + 100 * T + 1000 * bias)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("out,loss", [("linear", "mae"), ("tanh", "huber"), ("linear", "hinge"), ("softmax", "kl"),
                                      ("sigmoid", "kl"), ("softmax", "mse")])
def test_every_loss_agrees_with_the_reference(cell, out, loss):
    """Losses with kinks too (no finite differences there): the sweep and the reference agree."""
    net = GatedRNN.build(cell, 2, 2, 1 if loss == "hinge" else 2, 3, output_activation=out, loss=loss, bias=True)
    _agree(net, seed=len(loss), fd=False)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("truncate", [1, 2])
def test_truncation_agrees_with_the_reference(cell, truncate):
    net = GatedRNN.build(cell, 2, 2, 1, 4, bias=True)
    _agree(net, seed=truncate, truncate=truncate, fd=False)
    full, cut = sweep(build(net)), sweep(build(net, truncate))
    h, c = gsym("h", 1, t=truncate), gsym("delta", 1, gate="c", t=truncate + 1)
    assert full.adjoint[h] != cut.adjoint[h]                  # no error back across the cut
    if cell == "lstm":                                        # nor along the cell path
        assert c in full.adjoint[gsym("c", 1, t=truncate)].free_symbols
        assert c not in cut.adjoint[gsym("c", 1, t=truncate)].free_symbols


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_local_derivatives_equal_sympy_diff(cell):
    """The terms and local derivatives the builder gives are sympy.diff's (detached ones 0)."""
    for truncate in (None, 1):
        model = build(GatedRNN.build(cell, 2, 2, 2, 2, bias=True, output_activation="softmax",
                                     loss="cross_entropy"), truncate)
        outputs = {eq.node: eq.expr for eq in model.equations if eq.node.name.startswith("y")}
        for eq in [eq for eq in model.equations if eq.terms or eq.local]:
            for s in eq.expr.free_symbols:
                want = 0 if s in eq.detached else sympy.diff(eq.expr, s)
                gap = eq.derivative(s).xreplace(outputs) - want      # softmax's is in its outputs y
                assert sympy.expand(gap) == 0 or sympy.simplify(gap) == 0, (eq.node, s)


# ---------------------------------------------------------------- (b) a published worked example
# Aidan Gomez, "Backpropogating an LSTM: A Numerical Example" (2016): 2 inputs, 1 unit, loss
# ½(h − t)² on h at each of 2 steps.  His W (input weights), U (recurrent), b per gate, his "a"
# is the candidate g and "state" the cell c.  Published forward values, 5 decimals:
PUBLISHED = {"g1<1>": 0.81775, "i1<1>": 0.96083, "f1<1>": 0.85195, "o1<1>": 0.81757, "c1<1>": 0.78572,
             "h1<1>": 0.53631, "h1<2>": 0.77197}
UX = {"g": (0.45, 0.25), "i": (0.95, 0.8), "f": (0.7, 0.45), "o": (0.6, 0.4)}
UH = {"g": 0.15, "i": 0.8, "f": 0.1, "o": 0.25}
B = {"g": 0.2, "i": 0.65, "f": 0.15, "o": 0.1}
XS, TARGETS = ((1.0, 2.0), (0.5, 3.0)), (0.5, 1.25)


def _by_hand():
    """Forward values, δ's and gradients with plain floats and the textbook formulas."""
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h, c, steps, loss = 0.0, 0.0, [], 0.0
    for x, target in zip(XS, TARGETS):
        s = {k: UX[k][0] * x[0] + UX[k][1] * x[1] + UH[k] * h + B[k] for k in "ifog"}
        v = {k: sig(s[k]) for k in "ifo"} | {"g": math.tanh(s["g"])}
        c_new = v["f"] * c + v["i"] * v["g"]
        h_new = v["o"] * math.tanh(c_new)
        steps.append({"x": x, "h_prev": h, "c_prev": c, "v": v, "c": c_new, "h": h_new, "t": target})
        h, c, loss = h_new, c_new, loss + 0.5 * (h_new - target) ** 2
    grads = {f"{k}{g}{n}": 0.0 for g in "ifog" for k, n in (("u", "11"), ("u", "21"), ("w", "11"), ("b", "1"))}
    named, dh_next, dc_next = {}, 0.0, 0.0
    for t in (2, 1):
        st_ = steps[t - 1]
        i, f, o, g = (st_["v"][k] for k in "ifog")
        dh = (st_["h"] - st_["t"]) + dh_next                      # ∂E/∂h<t>: its own loss and step t+1
        dc = dh * o * (1 - math.tanh(st_["c"]) ** 2) + dc_next     # through h<t>, and the cell path
        d = {"o": dh * math.tanh(st_["c"]) * o * (1 - o), "i": dc * g * i * (1 - i),
             "f": dc * st_["c_prev"] * f * (1 - f), "g": dc * i * (1 - g * g)}
        for k in "ifog":
            grads[f"u{k}11"] += d[k] * st_["x"][0]
            grads[f"u{k}21"] += d[k] * st_["x"][1]
            grads[f"w{k}11"] += d[k] * st_["h_prev"]
            grads[f"b{k}1"] += d[k]
            named[f"delta{k}1<{t}>"] = d[k]
        named |= {f"deltah1<{t}>": dh, f"deltac1<{t}>": dc, f"h1<{t}>": st_["h"], f"c1<{t}>": st_["c"]}
        named |= {f"{k}1<{t}>": st_["v"][k] for k in "ifog"}
        dh_next, dc_next = sum(d[k] * UH[k] for k in "ifog"), dc * f
    return loss, grads, named


def test_published_lstm_example():
    loss, grads, named = _by_hand()
    for key, published in PUBLISHED.items():
        assert round(named[key], 5) == pytest.approx(published, abs=1.5e-5), key
    net = GatedRNN.build("lstm", 2, 1, 1, 2, output="hidden", bias=True)
    params = {f"u{k}11": UX[k][0] for k in "ifog"} | {f"u{k}21": UX[k][1] for k in "ifog"}
    params |= {f"w{k}11": UH[k] for k in "ifog"} | {f"b{k}1": B[k] for k in "ifog"}
    X, Y = np.array([XS]), np.array(TARGETS).reshape(1, 2, 1)
    zeros = np.zeros((1, 1))
    model = build(net)
    E_sweep, g_sweep, env = numeric_sweep(model, sweep(model), _leaves(net, params, X, Y, zeros, zeros))
    E_ref, g_ref = _reference(net, params, X, Y, zeros, zeros)
    for E_, g in ((E_sweep, g_sweep), (E_ref, g_ref)):
        assert E_ == pytest.approx(loss, abs=1e-12)
        _close(g, grads, 1e-12)
    _close({k: env[k] for k in named}, named, 1e-12)         # every node and δ of the graph, too
    assert grads["wf11"] == pytest.approx(named["deltaf1<2>"] * named["h1<1>"])   # f<1> meets c<0> = 0: no δf1<1>
    assert named["deltaf1<1>"] == 0.0


# ---------------------------------------------------------------- (c) random specs
@st.composite
def specs(draw):
    cell, output = draw(st.sampled_from(["lstm", "gru"])), draw(st.sampled_from(["hidden", "dense"]))
    I, H, T = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    out, loss = draw(st.sampled_from(SMOOTH)) if output == "dense" else ("linear", "mse")
    O = H if output == "hidden" else draw(st.integers(2 if out == "softmax" else 1, 2))
    net = GatedRNN.build(cell, I, H, O, T, activation=draw(st.sampled_from(["tanh", "sigmoid", "softplus"])),
                         output_activation=out, loss=loss, bias=draw(st.booleans()), output=output)
    return net, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=60, deadline=None)
@given(specs())
def test_random_specs_agree(spec):
    net, seed = spec
    _agree(net, seed)


# ---------------------------------------------------------------- the network and its names
def test_network_and_names():
    lstm = GatedRNN.build("lstm", 2, 3, 1, 4, bias=True)
    assert lstm.describe() == "LSTM 2-3-1, T = 4, tanh cell, linear outputs, mse, biases"
    assert len(list(lstm.parameters())) == lstm.n_parameters == 4 * (6 + 9 + 3) + 3 + 1
    gru = GatedRNN.build("gru", 1, 2, None, 2, output="hidden")
    assert gru.outputs == 2 and gru.n_parameters == 3 * (2 + 4)
    assert {p.name for p in gru.parameters()} >= {"un11", "wn21", "ur12", "wz22"}
    assert shapes("gru", 1, 2, output="hidden") == {f"{M}_{g}": s for g in "rzh"
                                                    for M, s in (("U", (1, 2)), ("W", (2, 2)))}
    assert parse("deltac12<3>") == ("delta", "c", (12,), 3) and parse("ui12,3") == ("u", "i", (12, 3), None)
    assert parse("c1") == ("c", "", (1,), None) and parse("rh2<1>") == ("rh", "", (2,), 1)
    assert sympy.latex(gsym("u", 1, 2, gate="i")) == "u_{i,12}"


@pytest.mark.parametrize("kwargs,message", [
    ({"cell": "rnn"}, "use \"lstm\" or \"gru\""),
    ({"output": "hidden", "outputs": 2}, "outputs must be 1"),
    ({"output": "hidden", "output_activation": "sigmoid"}, "no output activation"),
    ({"output": "hidden", "loss": "bce"}, "not in (0, 1)"),
    ({"output": "both"}, "use \"dense\""),
    ({"steps": 0}, "positive whole number"),
    ({"activation": "softmax"}, "outputs only"),
])
def test_bad_specs(kwargs, message):
    spec = {"cell": "lstm", "inputs": 1, "hidden": 1, "outputs": 1, "steps": 2} | kwargs
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GatedRNN.build(**spec)


def test_the_reference_reads_nothing_symbolic():
    source = Path(_gated_reference.__file__).read_text(encoding="utf-8").split('"""', 2)[2]
    assert "sympy" not in source
    assert [line for line in source.splitlines() if line.startswith(("from .", "import ", "from "))] == [
        "from __future__ import annotations", "import numpy as np",
        "from ._tables import _loss_value, _output_delta, act_prime, act_value"]
