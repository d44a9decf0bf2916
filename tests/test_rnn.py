"""Issue 7: backpropagation through time for simple recurrent networks."""
import json
from pathlib import Path

import numpy as np
import pytest
import sympy

import symbackprop as sb
from symbackprop import _bptt, _check
from symbackprop._grammar import parse_expression
from symbackprop._elman import derive_rnn
from symbackprop._rnn import RNN
from symbackprop._bptt import RNNVectorized, flat
from symbackprop._check import check_rnn
from symbackprop._check import random_rnn_point as random_point
from symbackprop._reference import bptt
from symbackprop._timed import functions as functions_rnn, resolver as resolver_rnn

from .conftest import HIDDEN
from .test_document import _compile

GOLDEN = Path(__file__).parent / "golden"
EXAMPLE = Path(__file__).parent.parent / "examples" / "rnn-1-1-1.toml"
OUTPUTS = [("linear", "mse"), ("tanh", "mse"), ("sigmoid", "mse"), ("sigmoid", "bce"),
           ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"), ("softmax", "mse")]
SIZES = [(1, 1, 1), (2, 3, 1), (3, 2, 2), (2, 4, 3)]
NUMERIC_HIDDEN = [h for h in HIDDEN if h != "g"]


def _net(T, n, out, loss, bias=True):
    inputs, hidden, outputs = SIZES[n % len(SIZES)]
    if out == "softmax":
        outputs = max(outputs, 2)
    return sb.rnn(inputs, hidden, outputs, T, activation=NUMERIC_HIDDEN[n % len(NUMERIC_HIDDEN)],
                  output_activation=out, loss=loss, bias=bias)


CASES = [(T, n, out, loss) for T in range(1, 7) for n, (out, loss) in enumerate(OUTPUTS)]


@pytest.mark.parametrize("T,n,out,loss", CASES, ids=[f"T{T}-{o}-{l}-{n}" for T, n, o, l in CASES])
def test_check_agrees(T, n, out, loss):
    """Printed formulas, vectorized BPTT, the reference BPTT and finite differences agree."""
    net = _net(T, n + T, out, loss, bias=(n + T) % 2 == 0)
    report = check_rnn(net, samples=2, seed=T, batch=1 + T % 3)
    assert report, [str(r) for r in report.failures]
    pairs = {r.pair for r in report.rows}
    assert "finite differences vs reference" in pairs
    assert ("printed vs reference" in pairs) == (net.size <= _check.MAX_PRINTED_RNN)


def test_check_fails_when_the_recursion_is_wrong(monkeypatch):
    """The check can fail: drop δ's flow back through w in the vectorized code only."""
    net = sb.rnn(2, 3, 1, 4, activation="tanh")
    monkeypatch.setattr(_bptt, "flows", lambda net, t, truncate: False)
    report = check_rnn(net, samples=1)
    assert not report
    assert {r.pair for r in report.failures} >= {"vectorized vs reference"}


PROOFS = [(1, "g", "linear", "mse"), (2, "g", "linear", "mse"), (3, "g", "sigmoid", "mse"),
          (2, "tanh", "softmax", "cross_entropy"), (3, "sigmoid", "sigmoid", "bce"), (2, "relu", "softmax", "mse")]


@pytest.mark.parametrize("T,hidden,out,loss", PROOFS)
def test_delta_form_equals_brute_force(T, hidden, out, loss):
    outputs = 2 if out == "softmax" else 1
    net = sb.rnn(1, 2 if T < 3 else 1, outputs, T, activation=hidden, output_activation=out, loss=loss,
                 bias=T != 2)
    d = sb.derive(net, prove=True)
    assert d.proof and all(d.proof.values()), d.proof
    assert set(d.proof) == {p.name for p in net.parameters()}


def test_brute_force_proof_can_fail():
    """A wrong δ (no g' at the last step) is not proved."""
    import dataclasses
    d = derive_rnn(sb.rnn(1, 1, 1, 2, activation="tanh"))
    wrong = dict(d.deltas)
    wrong["delta1<2>"] = wrong["delta1<2>"].replace(lambda e: type(e).__name__ == "tanh'", lambda e: sympy.S.One)
    bad = dataclasses.replace(d, deltas=wrong)
    proof = sb.prove(bad)
    assert proof["w11"] is False and proof["v11"] == "expand"


def test_golden_text_and_latex():
    d = sb.derive(str(EXAMPLE))
    assert d.to_text() == (GOLDEN / "rnn-1-1-1.txt").read_text(encoding="utf-8")
    assert d.to_latex() == (GOLDEN / "rnn-1-1-1.tex").read_text(encoding="utf-8")


def test_document_compiles(tmp_path):
    _compile(tmp_path, "rnn", sb.derive(str(EXAMPLE)).to_latex(standalone=True))
    big = sb.rnn(3, 4, 2, 8, activation="sigmoid", output_activation="softmax", loss="cross_entropy", bias=True)
    _compile(tmp_path, "rnn-big", sb.derive(big, truncate=3).to_latex(standalone=True))


def test_text_explains_bptt():
    text = sb.derive(sb.rnn(2, 2, 1, 3, activation="tanh", bias=True)).to_text()
    for piece in ["δ1<3> = ∂E/∂s1<3>", "∂E/∂w11 = h1<0>·δ1<1> + h1<1>·δ1<2> + h1<2>·δ1<3>",
                  "∂E/∂wij = Σ_t hi<t-1>·δj<t>", "Vanishing and exploding", "tanh'(sj<t>)·wij"]:
        assert piece in text, piece


def test_truncation():
    net = sb.rnn(2, 3, 1, 6, activation="tanh", bias=True)
    rng = np.random.default_rng(1)
    P, X, T, h0 = random_point(net, rng)
    full = RNNVectorized(net)(P, X, T, h0)[1]
    for K in (1, 2, 4):
        E, cut = RNNVectorized(net, K)(P, X, T, h0)
        _, ref = bptt("tanh", "linear", "mse", P, X, T, h0, truncate=K)
        for key in cut:
            assert np.allclose(cut[key], ref[key], rtol=1e-12, atol=1e-14)
        assert not np.allclose(cut["W"], full["W"])       # something was cut
        assert np.allclose(cut["V"], full["V"])           # the output weights never need the recursion
    same = RNNVectorized(net, 6)(P, X, T, h0)[1]
    assert all(np.array_equal(same[k], full[k]) for k in full)
    assert check_rnn(net, samples=2, truncate=2)
    d = derive_rnn(net, truncate=2)
    assert all("delta" not in s.name for s in d.deltas["delta1<2>"].free_symbols)   # cut after step 2
    assert any("delta" in s.name for s in d.deltas["delta1<3>"].free_symbols)       # not after step 3


def _values_file(tmp_path, net, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    P, X, T, h0 = random_point(net, rng)
    values = {}
    for key, M in P.items():
        letter = {"U": "u", "W": "w", "V": "v", "b": "b", "c": "c"}[key]
        for index, v in np.ndenumerate(M):
            values[letter + "".join(str(i + 1) for i in index)] = float(v) * (scale if key == "W" else 1.0)
    for t in range(net.steps):
        for i in range(net.inputs):
            values[f"x{i + 1}<{t + 1}>"] = float(X[0, t, i])
        for j in range(net.outputs):
            values[f"t{j + 1}<{t + 1}>"] = float(T[0, t, j])
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    return path, values


def test_eval_report_and_truncate(tmp_path, cli_run):
    spec = tmp_path / "rnn.toml"
    spec.write_text('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 6\nactivation = "tanh"\nbias = true\n')
    net = sb.network(str(spec))
    path, values = _values_file(tmp_path, net)
    result = cli_run("eval", str(spec), "--values", str(path), "--truncate", "2", "--report", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert 0 < data["truncated"]["relative_distance"] < 10
    report = data["report"]
    assert [r["t"] for r in report] == list(range(6, -1, -1))
    assert report[0]["dhT_dht_norm"] == pytest.approx(1.0)
    # the product of Jacobians against finite differences of h<T> by h<t>
    f = RNNVectorized(net)
    P = {"U": np.array([[values[f"u{i}{j}"] for j in range(1, 4)] for i in range(1, 3)]),
         "W": np.array([[values[f"w{i}{j}"] for j in range(1, 4)] for i in range(1, 4)]),
         "V": np.array([[values[f"v{i}1"]] for i in range(1, 4)]),
         "b": np.array([values[f"b{j}"] for j in range(1, 4)]), "c": np.array([values["c1"]])}
    X = np.array([[[values[f"x{i}<{t}>"] for i in (1, 2)] for t in range(1, 7)]])
    T = np.array([[[values[f"t1<{t}>"]] for t in range(1, 7)]])

    def h_T(h_t, t):
        h = h_t
        for r in range(t + 1, 7):
            h = np.tanh(X[0, r - 1] @ P["U"] + h @ P["W"] + P["b"])
        return h
    _, _, info = f(P, X, T, details=True)
    for row in report:
        t = row["t"]
        h = info["h"][t][0]
        J = np.column_stack([(h_T(h + e, t) - h_T(h - e, t)) / 2e-6 for e in np.eye(3) * 1e-6])
        assert np.linalg.norm(J, 2) == pytest.approx(row["dhT_dht_norm"], rel=1e-6, abs=1e-9)
    text = cli_run("eval", str(spec), "--values", str(path), "--report", "--truncate", "2").output
    assert "relative distance from the full gradient" in text and "‖∂h<T>/∂h<t>‖" in text


def test_vanishing_shows_in_the_report(tmp_path):
    """Small recurrent weights: the products shrink step by step."""
    from symbackprop._evaluate import evaluate_rnn
    from symbackprop._values import parse_rnn_values
    net = sb.rnn(1, 2, 1, 8, activation="sigmoid")
    _, values = _values_file(tmp_path, net, scale=0.3)
    r = evaluate_rnn(net, parse_rnn_values(net, values), report=True)
    norms = [p for _, _, p in r.report]
    assert all(a > b for a, b in zip(norms, norms[1:]))
    assert norms[-1] < 1e-4


def test_eval_matches_the_reference_and_updates(tmp_path, cli_run):
    net = sb.rnn(2, 2, 2, 3, activation="softplus", output_activation="softmax", loss="cross_entropy", bias=True)
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps(net.as_dict()))
    path, values = _values_file(tmp_path, net, seed=3)
    data = json.loads(cli_run("eval", str(spec), "--values", str(path), "--lr", "0.5", "--format", "json").output)
    from symbackprop._values import parse_rnn_values
    v = parse_rnn_values(net, values)
    E, g = bptt("softplus", "softmax", "cross_entropy", v.P, v.X, v.T, v.h0)
    assert data["loss"] == pytest.approx(E, rel=1e-12)
    for name, value in flat(g).items():
        assert data["gradient"][name] == pytest.approx(value, rel=1e-10, abs=1e-13)
        assert data["updated"][name] == pytest.approx(values[name] - 0.5 * value, rel=1e-10, abs=1e-13)


def test_h0_from_the_values_file(tmp_path):
    from symbackprop._evaluate import evaluate_rnn
    from symbackprop._values import parse_rnn_values
    net = sb.rnn(1, 1, 1, 2, activation="tanh")
    _, values = _values_file(tmp_path, net)
    zero = evaluate_rnn(net, parse_rnn_values(net, values))
    given = evaluate_rnn(net, parse_rnn_values(net, {**values, "h1<0>": 0.7}))
    assert zero.gradient["w11"] != given.gradient["w11"]
    # with h<0> = 0 the first step's w-term vanishes: dE/dw11 = h1<1>·δ1<2>
    assert zero.gradient["w11"] == pytest.approx(zero.forward["h1<1>"][0] * zero.delta["delta1<2>"][0])


def test_json_round_trips_and_verifies():
    net = sb.rnn(2, 2, 2, 2, activation="g", output_activation="softmax", loss="cross_entropy", bias=True)
    d = sb.derive(net)
    data = json.loads(d.to_json())
    resolve, functions = resolver_rnn(net), functions_rnn(net)
    for section, exprs in (("forward", d.forward), ("delta", d.deltas), ("gradient", d.gradients),
                           ("output_error", d.output_errors)):
        for name, text in data[section].items():
            assert parse_expression(text, resolve, functions) == exprs[name], (section, name)
    for name, text in data["gradient"].items():
        assert sb.verify(net, f"dE/d{name} = {text}"), name
    assert data["spec"]["kind"] == "rnn"
    small = sb.rnn(1, 1, 2, 2, activation="tanh", output_activation="softmax", loss="cross_entropy", bias=True)
    expanded = json.loads(sb.derive(small).to_json())["expanded"]
    for name, text in expanded.items():
        assert sb.verify(small, f"dE/d{name} = {text}"), name


@pytest.mark.parametrize("equation,diagnosis", [
    ("dE/dw12 = h1<2>*delta2<3>", "a missing sum over time (only step 3)"),
    ("delta1<2> = tanh'(s1<2>)*v11*(y1<2> - t1<2>)", "the recurrent term left out"),
    ("delta1<2> = v11*(y1<2> - t1<2>) + w11*delta1<3> + w12*delta2<3>", "a missing g' factor"),
    ("dE/dv11 = h1<1>*(t1<1> - y1<1>) + h1<2>*(t1<2> - y1<2>) + h1<3>*(t1<3> - y1<3>)", "the wrong sign"),
    ("dE/dw12 = h2<0>*delta1<1> + h2<1>*delta1<2> + h2<2>*delta1<3>", "the from- and to-node swapped"),
    ("dE/dw12 = h1<1>*delta2<1> + h1<2>*delta2<2> + h1<3>*delta2<3>", "h<t> in place of h<t−1>"),
    ("dE/db1 = 2*(delta1<1> + delta1<2> + delta1<3>)", "a missing ½ factor"),
])
def test_verify_names_bptt_mistakes(equation, diagnosis):
    net = sb.rnn(2, 2, 1, 3, activation="tanh", bias=True)
    v = sb.verify(net, equation)
    assert not v and v.diagnosis and v.diagnosis.startswith(diagnosis), v.diagnosis
    assert v.counterexample["yours"] != pytest.approx(v.counterexample["expected"])


def test_verify_accepts_latex_and_the_tools_own_output():
    net = sb.rnn(1, 1, 1, 2, activation="tanh")
    tex = r"\frac{\partial E}{\partial w_{11}} = h_{1}^{\langle 0 \rangle} \delta_{1}^{\langle 1 \rangle} + h_{1}^{\langle 1 \rangle} \delta_{1}^{\langle 2 \rangle}"
    assert sb.verify(net, tex)
    assert sb.verify(net, "δ1<2> = g'(s1<2>)·v11·(y1<2> − t1<2>)")      # g names the hidden activation


def test_cli_commands(tmp_path, cli_run):
    spec = str(EXAMPLE)
    for fmt in ("text", "latex", "markdown", "json"):
        result = cli_run("derive", spec, "--format", fmt)
        assert result.exit_code == 0 and "w11" in result.output.replace("w_{11}", "w11"), result.output
    assert cli_run("derive", spec, "--prove").exit_code == 0
    assert cli_run("derive", spec, "--weight", "w11").exit_code == 0
    assert cli_run("check", spec, "--samples", "2").exit_code == 0
    assert cli_run("check", spec, "--truncate", "1").exit_code == 0
    good = cli_run("verify", spec, "dE/dc1 = y1<1> - t1<1> + y1<2> - t1<2> + y1<3> - t1<3>")
    assert good.exit_code == 0 and good.output.startswith("✓")
    bad = cli_run("verify", spec, "dE/dc1 = y1<3> - t1<3>")
    assert bad.exit_code == 1 and "missing sum over time" in bad.output
    assert "tikzpicture" in cli_run("draw", spec).output
    _compile(tmp_path, "draw", cli_run("draw", spec, "--standalone").output)
    f = sb.compile(spec)
    E, grads = f({"U": [[1.0]], "W": [[0.5]], "V": [[1.0]], "b": [0.0], "c": [0.0]},
                 np.ones((2, 3, 1)), np.zeros((2, 3, 1)))
    assert set(grads) == {"U", "W", "V", "b", "c"} and E > 0


@pytest.mark.parametrize("body,message", [
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\n', "missing key 'steps'"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 0\n', "steps = 0"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 2.5\n', "steps has the wrong type"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 2\nlayers = [1]\n', "unknown key 'layers'"),
    ('kind = "lstm"\ninputs = 2\n', "kind = 'lstm'"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 2\nactivation = "softmax"\n', "outputs only"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 2\nloss = "bce"\n', "takes the log"),
    ('kind = "rnn"\ninputs = 2\nhidden = 3\noutputs = 1\nsteps = 2\noutput_activation = "softmax"\n', "at least 2"),
])
def test_bad_rnn_specs(tmp_path, cli_run, body, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(body)
    result = cli_run("derive", str(spec))
    assert result.exit_code == 2 and message in result.output, result.output


def test_too_large_to_derive_symbolically_but_numbers_work(tmp_path, cli_run):
    spec = tmp_path / "big.toml"
    spec.write_text('kind = "rnn"\ninputs = 50\nhidden = 64\noutputs = 10\nsteps = 20\nactivation = "tanh"\n')
    result = cli_run("derive", str(spec))
    assert result.exit_code == 2 and "symbolic derivation stops at" in result.output
    assert cli_run("check", str(spec), "--samples", "1").exit_code == 0


# ---------------------------------------------------------------- local derivatives and the JSON printer
LOCALS = [("tanh", "linear", "mse", 3), ("sigmoid", "sigmoid", "bce", 2), ("relu", "softmax", "cross_entropy", 2),
          ("g", "tanh", "mse", 2), ("softplus", "log_softmax", "nll", 2), ("elu", "sigmoid", "cross_entropy", 3)]


@pytest.mark.parametrize("hidden,out,loss,T", LOCALS, ids=[f"{h}-{o}-{l}" for h, o, l, _ in LOCALS])
def test_every_local_derivative_is_sympy_diff(hidden, out, loss, T):
    """The builder gives every local derivative (g' renamed per node, the one step's loss and output
    activation renamed per step): each the very expression sympy.diff makes."""
    from symbackprop._elman import build
    net = sb.rnn(2, 2, 2, T, activation=hidden, output_activation=out, loss=loss, bias=T == 2)
    model = build(net)
    nodes = {eq.node for eq in model.equations}
    for eq in model.equations:
        if eq.terms:
            continue
        given = dict(eq.local)
        assert set(given) == eq.expr.free_symbols & nodes, eq.node      # the sweep asks for no other
        if net.output_activation.coupled and eq.node.name.startswith("y"):
            continue            # softmax's closed form, in the outputs: tests/test_graph.py holds it
        for by, value in given.items():
            assert value == sympy.diff(eq.expr, by), (eq.node, by)


def test_the_sweep_takes_no_sympy_diff(monkeypatch):
    from symbackprop._elman import build
    from symbackprop._graph import sweep
    model = build(sb.rnn(2, 3, 2, 4, activation="tanh", bias=True))

    def refuse(*args, **kwargs):
        raise AssertionError("sympy.diff in the sweep")
    monkeypatch.setattr(sympy, "diff", refuse)
    assert sweep(model).gradient


PRINTED = [("tanh", "linear", "mse", None), ("sigmoid", "sigmoid", "bce", 1), ("g", "softmax", "cross_entropy", None),
           ("relu", "sigmoid", "mse", None), ("softplus", "log_softmax", "nll", 2), ("elu", "tanh", "mse", None)]


@pytest.mark.parametrize("hidden,out,loss,truncate", PRINTED, ids=[f"{h}-{o}-{l}" for h, o, l, _ in PRINTED])
def test_the_recurrent_printer_writes_what_plain_writes(hidden, out, loss, truncate):
    """One printer for a whole derivation (its sums ordered from remembered keys) writes every
    expression as a fresh plain printer does; its order of a sum's terms is SymPy's own."""
    from symbackprop._elman_print import lex_terms, printer
    from symbackprop._printing import plain
    net = sb.rnn(2, 3, 2, 4, activation=hidden, output_activation=out, loss=loss, bias=True)
    d = derive_rnn(net, truncate=truncate)
    exprs = [*d.forward.values(), d.loss, *d.output_errors.values(), *d.deltas.values(), *d.gradients.values()]
    p = printer()
    assert [plain(e, p) for e in exprs] == [plain(e) for e in exprs]
    sums = {a for e in exprs for a in sympy.preorder_traversal(e) if isinstance(a, sympy.Add)}
    ordered = [(a, lex_terms(a, {})) for a in sums]
    assert sum(found is not None for _, found in ordered) > len(sums) / 2     # the fast order is taken
    for a, found in ordered:
        assert found is None or found == a.as_ordered_terms(), a


def test_lex_terms_leaves_numbers_and_powers_to_sympy():
    from symbackprop._elman_print import lex_terms
    from symbackprop._timed import sym
    y, t = sym("y", 1, t=1), sym("t", 1, t=1)
    assert lex_terms(1 - y, {}) is None and lex_terms(y ** 2 + t, {}) is None
    assert lex_terms(3 * y - 2 * t, {}) == (3 * y - 2 * t).as_ordered_terms()


def test_symbols_are_the_names_inside_the_expressions():
    net = sb.rnn(2, 2, 2, 3, activation="tanh", output_activation="softmax", loss="cross_entropy", bias=True)
    d = derive_rnn(net, truncate=2)
    inside = set()
    for expr in [*d.forward.values(), d.loss, *d.deltas.values(), *d.gradients.values()]:
        inside |= expr.free_symbols
    inside |= {d.symbols[k] for k in [*d.forward, *d.deltas]}
    assert d.symbols == {s.name: s for s in inside}


def test_time_names_multiply_and_add_as_sympy_does():
    """TimeName is ordered_by_name: products and weighted sums of them skip SymPy's flatten, and
    must come out as SymPy's own (multi-digit indices sort as text: w10,1 before w2,1)."""
    from symbackprop._dense import weighted_sum
    from symbackprop._names import product
    from symbackprop._timed import sym
    ws = [sym("w", i, 1) for i in (1, 2, 10, 11)]
    hs = [sym("h", i, t=t) for i, t in ((1, 0), (2, 10), (10, 2), (11, 1))]
    for w, h in zip(ws, hs):
        assert product(w, h).args == (w * h).args and product(h, w).args == (w * h).args
    every = ws + hs + [sym("delta", 1, t=2), sym("b", 3), sympy.Symbol("q", real=True), 2 * ws[0]]
    for a in every[:-2]:              # TimeName.compare, from the names: Basic.compare's own answer
        assert [a.compare(b) for b in every] == [sympy.Basic.compare(a, b) for b in every], a
    pairs = list(zip(ws, hs)) + [(sym("b", 3), sympy.S.One)]
    rebuilt = sympy.Add(*[w * h for w, h in pairs])
    assert weighted_sum(pairs) == rebuilt and weighted_sum(pairs).args == rebuilt.args
