"""Issue 15: computational graphs, backprop through any expression node by node.

The lecture circuits are worked here by hand (the numbers of CS231n's notes, written out as
their backward pass is), and held against every computation the tool makes; random graphs
hold the printed formulas, the compiled function, the NumPy reference and finite differences
against one another; verify names the usual mistakes; bad input is one line and exit 2.
"""
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop._circuit_numeric import valid_points
from symbackprop._circuit_reference import evaluate as reference

CS231N = "q = x + y; f = q*z"
STAGED = "f = (x + sigmoid(y))/(sigmoid(x) + (x + y)^2)"
NEURON = "f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
FAN3 = "f = x*y + x*z + sigmoid(x)"


def _sigmoid(u):
    return 1.0 / (1.0 + math.exp(-u))


def _all_ways(spec, at):
    """(value, {leaf: gradient}) from the printed walk's numbers, the compiled function, the reference."""
    g = sb.graph(spec)
    d = sb.derive(g, at=at)
    out = g.output.name
    printed = (d.values[out], {k: d.values[f"d{out}/d{k}"] for k in at})
    value, grads = sb.compile(g)({k: np.array([v]) for k, v in at.items()})
    compiled = (float(value[0]), {k: float(v[0]) for k, v in grads.items()})
    values, rgrads, _ = reference(g.program, {k: np.array([v]) for k, v in at.items()})
    ref = (float(values[out][0]), {k: float(rgrads[k][0]) for k in at})
    return printed, compiled, ref


def _close(got, want):
    value, grads = got
    assert value == pytest.approx(want[0], abs=1e-12, rel=1e-12)
    assert grads == pytest.approx(want[1], abs=1e-12, rel=1e-12)


# ---------------------------------------------------------------- the lecture's circuits, by hand
def test_cs231n_circuit():
    x, y, z = -2.0, 5.0, -4.0
    q = x + y                       # the add gate
    f = q * z                       # the multiply gate
    df_dq, df_dz = z, q             # the multiply gate swaps its inputs
    df_dx = df_dy = df_dq * 1.0     # the add gate passes the gradient on
    assert (f, df_dx, df_dy, df_dz) == (-12.0, -4.0, -4.0, 3.0)
    for way in _all_ways(CS231N, {"x": x, "y": y, "z": z}):
        _close(way, (f, {"x": df_dx, "y": df_dy, "z": df_dz}))


def test_staged_expression_gate_by_gate():
    x, y = 3.0, -4.0
    sigy = _sigmoid(y)              # the forward pass, staged as in the notes
    num = x + sigy
    sigx = _sigmoid(x)
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum, dinvden = invden, num     # backwards, gate by gate
    dden = (-1.0 / den ** 2) * dinvden
    dsigx, dxpysqr = dden, dden
    dxpy = 2 * xpy * dxpysqr
    dx, dy = dxpy, dxpy
    dx += (1 - sigx) * sigx * dsigx
    dx += dnum
    dy += (1 - sigy) * sigy * dnum
    for way in _all_ways(STAGED, {"x": x, "y": y}):
        _close(way, (f, {"x": dx, "y": dy}))
    g = sb.graph(STAGED)
    assert g.staged and [n.name for n in g.nodes] == ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f"]
    forward = json.loads(sb.derive(g).to_json())["forward"]          # each node's right side, as written
    assert list(forward) == [n.name for n in g.nodes]
    assert list(forward.values()) == ["sigmoid(y)", "x + f1", "sigmoid(x)", "x + y", "f4**2", "f3 + f5", "1/f6",
                                      "f2*f7"]


@pytest.mark.parametrize("spec", [NEURON, "f = sigmoid(w0*x0 + w1*x1 + w2)"])
def test_sigmoid_neuron(spec):
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0
    dot = w0 * x0 + w1 * x1 + w2
    f = 1.0 / (1.0 + math.exp(-dot))
    ddot = (1 - f) * f              # the sigmoid's local gradient, in its output
    want = {"w0": x0 * ddot, "x0": w0 * ddot, "w1": x1 * ddot, "x1": w1 * ddot, "w2": ddot}
    for way in _all_ways(spec, {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}):
        _close(way, (f, want))


def test_fan_out_of_three_sums_the_paths():
    x, y, z = 0.7, -1.3, 2.1
    paths = [y, z, _sigmoid(x) * (1 - _sigmoid(x))]        # through x·y, x·z and σ(x)
    f = x * y + x * z + _sigmoid(x)
    for way in _all_ways(FAN3, {"x": x, "y": y, "z": z}):
        _close(way, (f, {"x": sum(paths), "y": x, "z": x}))
    d = sb.derive(sb.graph(FAN3), at={"x": x, "y": y, "z": z})
    leaf = next(s for s in d.steps if s.kind == "leaf" and s.node.name == "x")
    assert len(leaf.upstream) == 3
    text = d.to_text()
    assert "3 paths  ∂f/∂x = ∂f/∂f1·∂f1/∂x + ∂f/∂f2·∂f2/∂x + ∂f/∂f3·∂f3/∂x" in text
    assert "x feeds 3 gates" in text


# ---------------------------------------------------------------- what derive writes
def test_the_walk_reads_like_the_notes():
    text = sb.derive(sb.graph(CS231N), at="x=-2,y=5,z=-4").to_text()
    assert "f = q·z is a multiply gate: each input's local gradient is the other input, so the inputs swap" in text
    assert "q = x + y is an add gate: it hands the upstream gradient on to each input unchanged" in text
    assert "  downstream  ∂f/∂f·∂f/∂q = 1·z = 1·(−4) = −4" in text
    assert "  downstream  ∂f/∂q·∂q/∂x = ∂f/∂q·1 = (−4)·1 = −4" in text
    assert "  ∂f/∂x = ∂f/∂q·∂q/∂x = ∂f/∂q = z = −4" in text
    staged = sb.derive(sb.graph(STAGED), at="x=3,y=-4").to_text()
    assert "is staged into gates, one operation each, named after the output: f1, f2" in staged
    assert "f1 = sigmoid(y) is a sigmoid gate (as above)." in staged
    assert "  local       ∂f1/∂y = sigmoid'(y) = f1·(1 − f1) = 0.01766" in staged
    routed = sb.derive(sb.graph("f = max(x, y)*z"), at="x=1,y=2,z=3").to_text()
    assert "a max gate: it routes the upstream gradient to the larger input; the other gets 0; here y takes it" in routed


@pytest.mark.parametrize("fmt", ["text", "ascii", "latex", "standalone", "markdown", "json", "html", "beamer"])
def test_every_format(fmt):
    d = sb.derive(sb.graph(STAGED), at="x=3,y=-4")
    out = {"ascii": lambda: d.to_text(ascii_only=True), "standalone": lambda: d.to_latex(standalone=True)}.get(
        fmt, lambda: getattr(d, f"to_{fmt}")())()
    assert "f_{7}" in out or "f7" in out
    if fmt == "ascii":
        out.encode("ascii")
    if fmt == "standalone":
        assert out.startswith("\\documentclass") and "\\begin{tikzpicture}" in out and "{$1.55$}" in out
    if fmt == "json":
        data = json.loads(out)
        assert data["values"]["df/dx"] == pytest.approx(d.values["df/dx"])
        assert data["forward"]["f7"] == "1/f6" and data["delta"]["df/df6"] == "-df/df7/f6**2"


def test_json_round_trips_through_verify():
    g = sb.graph(STAGED)
    data = json.loads(sb.derive(g).to_json())
    for leaf, answer in [*data["gradient"].items(), *data["expanded"].items()]:
        assert sb.verify(g, f"df/d{leaf} = {answer}"), (leaf, answer)
    for name, answer in data["delta"].items():
        assert sb.verify(g, f"{name} = {answer}"), (name, answer)


def test_drawing_values_above_gradients_below():
    g, at = sb.graph(CS231N), {"x": -2, "y": 5, "z": -4}
    picture = sb.draw(g, at=at)
    assert "node[pos=0.5,above=1pt,sloped,val] {$-12$} node[pos=0.5,below=1pt,sloped,grad] {$1$}" in picture
    root = ET.fromstring(sb.draw(g, at=at, fmt="svg"))
    texts = [(t.get("class"), t.text) for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class")]
    assert ("val", "−12") in texts and ("grad", "3") in texts


# ---------------------------------------------------------------- verify
@pytest.mark.parametrize("equation, diagnosis", [
    ("df/dx = 1", "the upstream gradient dropped"),
    ("df/dz = z", "a multiply gate not swapped (∂f/∂z taken as z, not q)"),
    ("df/dx = -z", "the wrong sign"),
    ("df/dx = ∂f/∂q·∂q/∂x = q", "a multiply gate not swapped (∂f/∂q taken as q, not z)"),
])
def test_verify_names_the_mistake(equation, diagnosis):
    v = sb.verify(sb.graph(CS231N), equation)
    assert not v and diagnosis in v.diagnosis


def test_verify_fan_out_and_signs():
    g = sb.graph(FAN3)
    assert sb.verify(g, "df/dx = y + z + sigmoid'(x)")
    assert "a fan-out not summed (only the path through f1)" in sb.verify(g, "df/dx = y").diagnosis
    assert "the path through f3 left out" in sb.verify(g, "df/dx = y + z").diagnosis
    assert "a sign lost at f" in sb.verify(sb.graph("f = a - b*c"), "df/dc = b").diagnosis


@pytest.mark.parametrize("equation", [
    "df/dx = z", "∂f/∂x = ∂f/∂q·∂q/∂x = z", r"\frac{\partial f}{\partial y} = z", "dq/dx = 1", "df/dq = z",
])
def test_verify_accepts_the_ways_one_writes_it(equation):
    assert sb.verify(sb.graph(CS231N), equation)


# ---------------------------------------------------------------- property: random graphs
_ONE = ["exp", "tanh", "sinh", "cosh", "sin", "cos", "atan", "sign", "sigmoid", "σ", "relu", "leaky_relu",
        "softplus", "linear", "abs"]
_POSITIVE = ["log", "ln", "sqrt"]          # given a positive argument: 1 + u²


@st.composite
def graphs(draw):
    """Equations n1 … nk (k ≤ 12) over leaves a, b, c, every function of the grammar; the output sums
    whatever no other node uses."""
    lines, names, unused = [], ["a", "b", "c"], []
    for i in range(1, draw(st.integers(1, 11)) + 1):
        op = draw(st.sampled_from(["+", "-", "*", "/", "^2", "max", "min", *_ONE, *_POSITIVE]))
        u = draw(st.sampled_from(names))
        v = draw(st.sampled_from([n for n in names if n != u])) if op in ("+", "-", "*", "/", "max", "min") else u
        rhs = {"+": f"{u} + {v}", "-": f"{u} - {v}", "*": f"{u}*{v}", "/": f"{u}/(1 + {v}^2)", "^2": f"{u}^2",
               "max": f"max({u}, {v})", "min": f"min({u}, {v})"}.get(op, f"{op}(1 + {u}^2)" if op in _POSITIVE
                                                                        else f"{op}({u})")
        lines.append(f"n{i} = {rhs}")
        unused = [n for n in unused if n not in (u, v)] + [f"n{i}"]
        names.append(f"n{i}")
    lines.append("out = " + " + ".join(unused))
    return "; ".join(lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_agree_four_ways(spec):
    g = sb.graph(spec)
    assert sb.check(g, samples=2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_verify_accepts_the_tools_own_answers(spec):
    g = sb.graph(spec)
    data = json.loads(sb.derive(g).to_json())
    assert set(data["gradient"]) == {leaf.name for leaf in g.leaves}
    for leaf, answer in data["gradient"].items():
        assert sb.verify(g, f"dout/d{leaf} = {answer}")


def test_every_function_has_a_reference_entry():
    from symbackprop._circuit_functions import FUNCTIONS
    from symbackprop._circuit_reference import FUNCTIONS as NUMPY
    for name in FUNCTIONS:
        if name not in ("g", "linear", "sqrt", "σ", "ln"):
            assert type(FUNCTIONS[name](sb.graph("f = x").leaves[0])).__name__.lower() in {*NUMPY, "abs"}, name


def test_the_reference_reads_no_sympy():
    import symbackprop._circuit_reference as module
    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "sympy" not in source.split('"""', 2)[2] and "from ." not in source


def test_compile_is_vectorised():
    f = sb.compile(sb.graph(STAGED))
    x, y = np.linspace(1, 2, 5), np.linspace(-3, -1, 5)
    value, grads = f({"x": x, "y": y})
    assert value.shape == (5,) and grads["x"].shape == (5,) and f.shapes == {"x": (), "y": ()}
    one, _ = f({"x": x[2], "y": y[2]})
    assert float(one) == pytest.approx(value[2], rel=1e-14)


def test_kinks_everywhere():
    """sign(relu(a)) sits on relu's kink for every a < 0, max(relu(a), a) ties for every a > 0."""
    g = sb.graph("n1 = relu(a); n2 = max(n1, a); n5 = sign(n1); out = n2 + b + n5")
    report = sb.check(g, samples=2)
    assert report and "finite differences are not compared" in str(report)
    assert sb.verify(g, "dout/db = 1")


def test_valid_points_avoid_kinks_and_bad_domains():
    g = sb.graph("f = log(x)*relu(y - 1)")
    p = valid_points(g, np.random.default_rng(0), 50)
    assert (p["x"] > 0).all() and (np.abs(p["y"] - 1) > 1e-2).all()


# ---------------------------------------------------------------- spec files, eval, CLI
def test_spec_file_and_eval(tmp_path, capsys):
    from symbackprop.cli import main
    spec = tmp_path / "neuron.toml"
    spec.write_text('kind = "graph"\nequations = """\nz = w*x + b\na = sigmoid(z)\nE = (a - t)^2/2\n"""\n'
                    'parameters = ["w", "b"]\n')
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"w": 0.5, "x": 2.0, "b": -1.0, "t": 1.0}))
    with pytest.raises(SystemExit) as stop:
        main(["eval", str(spec), "--values", str(values), "--lr", "0.1", "--all", "--format", "json"])
    assert stop.value.code == 0
    data = json.loads(capsys.readouterr().out)
    a = _sigmoid(0.0)
    delta = (a - 1.0) * a * (1 - a)
    assert data["gradient"]["w"] == pytest.approx(2.0 * delta) and data["gradient"]["z"] == pytest.approx(delta)
    assert set(data["updated"]) == {"w", "b"} and data["value"] == pytest.approx((a - 1) ** 2 / 2)


BAD = [
    (["derive", "f = foo(x)"], "unknown function 'foo'"),
    (["derive", "a = b + 1; b = a*2"], "cycle (a uses b, b uses a)"),
    (["derive", "q = x; q = y"], "q is defined twice"),
    (["derive", "f = "], "the right side of f is empty"),
    (["derive", "f = x/y", "--at", "x=1,y=0"], "a division by y = 0"),
    (["derive", "f = 1/(x - y)", "--at", "x=2,y=2"], "f = 1/f1 is not a number: a division by f1 = 0"),
    (["derive", "f = " + "x*y+" * 6000 + "x"], "characters long; the limit is 20,000"),
    (["derive", "f = " + "(" * 150 + "x" + ")" * 150], "nested more than 100 deep"),
    (["derive", "f = " + "+".join(f"u{i}*v{i}" for i in range(400))], "the limit is 300 gates"),
    (["derive", "f = x", "--at", "y=1"], "no leaf of that name"),
    (["derive", "f = x*y", "--at", "x=1"], "y missing"),
    (["derive", "f = x", "--at", "x=nan"], "give a finite number"),
    (["derive", "f = x", "--activation", "tanh"], "--activation, --loss and --bias are for layered networks"),
    (["derive", "2-3-1", "--at", "x=1"], "--at gives the leaves' values of an equation spec"),
    (["derive", "f = __import__('os')"], "unexpected character"),
    (["derive", "f = w11[2]*x"], "is not a name of a graph"),
    (["derive", "f = x; h = y"], "f is defined but the output h does not use it"),
    (["derive", "f = 2*3"], "it is a constant"),
    (["derive", "f = x/0"], "a division by zero"),
    (["verify", CS231N, "df/dw = 1"], "left side 'df/dw'"),
    (["eval", "2-3-1", "--values", "v.json", "--all"], "--all lists the gradient by every node"),
]


@pytest.mark.parametrize("args, fragment", BAD)
def test_bad_input_is_one_line_and_exit_2(args, fragment, capfd, tmp_path, monkeypatch):
    from symbackprop.cli import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.json").write_text("{}")
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capfd.readouterr()
    assert stop.value.code == 2 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and fragment in err, err
