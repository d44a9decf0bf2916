"""Issue 3: compiled gradients agree with an independent NumPy backprop and finite differences."""
import json
import math
import re

import numpy as np
import pytest

import symbackprop as sb
from symbackprop import _reference as reference
from symbackprop._values import ValuesError, parse_values

from .conftest import valid_combinations

# 3-4-2: small; 2-12-3: a layer of 12 (two-digit names); 3-4-3-2: three layers of weights
SHAPES = ["3-4-2", "2-12-3", "3-4-3-2"]
NUMERIC = [c for c in valid_combinations() if "g" not in c[:2]]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("hidden,out,loss", NUMERIC)
def test_check_passes(shape, bias, hidden, out, loss):
    n = len(shape.split("-"))
    report = sb.check(shape, samples=3, activation=",".join([hidden] * (n - 2) + [out]), loss=loss, bias=bias)
    assert report, [r for r in report.failures]
    pairs = {r.pair for r in report.rows}
    assert pairs == {"printed vs reference", "vectorized vs reference", "printed vs vectorized",
                     "finite differences vs reference"}


def test_check_detects_a_wrong_derivative(monkeypatch):
    """Break the reference's tanh' and the check must say so."""
    f, _ = reference.ACTIVATIONS["tanh"]
    monkeypatch.setitem(reference.ACTIVATIONS, "tanh", (f, lambda z: 1.0 - np.tanh(z) ** 3))
    report = sb.check("2-3-2", activation="tanh", samples=2)
    assert not report
    bad = {(r.pair, r.layer) for r in report.failures}
    assert ("vectorized vs reference", "layer 1") in bad
    assert ("finite differences vs reference", "layer 1") in bad     # both sides blame the reference
    assert not any(pair == "printed vs vectorized" for pair, _ in bad)


def test_check_cli_exit_1_on_disagreement(monkeypatch, cli_run):
    f, _ = reference.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(reference.ACTIVATIONS, "sigmoid", (f, lambda z: f(z)))
    result = cli_run("check", "2-2-1", "--activation", "sigmoid")
    assert result.exit_code == 1
    assert "DISAGREE: vectorized vs reference, layer 1: at w" in result.output


def test_generic_g_cannot_be_evaluated(cli_run):
    result = cli_run("check", "2-3-1")
    assert result.exit_code == 2
    with pytest.raises(sb.CompileError, match="generic activation g"):
        sb.compile("2-3-1")


def test_hand_worked_example():
    """2-2-2, sigmoid, biases, mse: every step worked out here by hand, with math.exp."""
    w1 = {(1, 1): 0.1, (1, 2): -0.2, (2, 1): 0.4, (2, 2): 0.3}      # wij[1]
    w2 = {(1, 1): 0.7, (1, 2): -0.5, (2, 1): 0.2, (2, 2): 0.6}      # wij[2]
    b2, b3 = {1: 0.05, 2: -0.1}, {1: 0.2, 2: 0.0}
    x, t, eta = {1: 1.0, 2: -2.0}, {1: 1.0, 2: 0.0}, 0.25

    def sig(v):
        return 1.0 / (1.0 + math.exp(-v))
    z2 = {j: w1[1, j] * x[1] + w1[2, j] * x[2] + b2[j] for j in (1, 2)}   # z1[2] = 0.1 - 0.8 + 0.05 = -0.65
    assert z2[1] == pytest.approx(-0.65) and z2[2] == pytest.approx(-0.9)
    a2 = {j: sig(z2[j]) for j in (1, 2)}
    z3 = {j: w2[1, j] * a2[1] + w2[2, j] * a2[2] + b3[j] for j in (1, 2)}
    a3 = {j: sig(z3[j]) for j in (1, 2)}
    E = sum(0.5 * (a3[j] - t[j]) ** 2 for j in (1, 2))
    d3 = {j: (a3[j] - t[j]) * a3[j] * (1 - a3[j]) for j in (1, 2)}        # δj[3] = (a − t)·σ'(z)
    d2 = {i: a2[i] * (1 - a2[i]) * (w2[i, 1] * d3[1] + w2[i, 2] * d3[2]) for i in (1, 2)}
    g1 = {(i, j): x[i] * d2[j] for i in (1, 2) for j in (1, 2)}            # ∂E/∂wij[1] = xi·δj[2]
    g2 = {(i, j): a2[i] * d3[j] for i in (1, 2) for j in (1, 2)}
    values = {f"w{i}{j}[1]": v for (i, j), v in w1.items()}
    values |= {f"w{i}{j}[2]": v for (i, j), v in w2.items()}
    values |= {f"b{j}[2]": v for j, v in b2.items()} | {f"b{j}[3]": v for j, v in b3.items()}
    values |= {"x1": x[1], "x2": x[2], "t1": t[1], "t2": t[2]}
    net = sb.network("2-2-2", activation="sigmoid", bias=True)
    from symbackprop._evaluate import evaluate
    r = evaluate(net, parse_values(net, values), lr=eta)
    assert r.loss == pytest.approx(E, abs=1e-9)
    for j in (1, 2):
        assert r.forward[f"a{j}[3]"][0] == pytest.approx(a3[j], abs=1e-9)
        assert r.delta[f"delta{j}[3]"][0] == pytest.approx(d3[j], abs=1e-9)
        assert r.delta[f"delta{j}[2]"][0] == pytest.approx(d2[j], abs=1e-9)
        assert r.gradient[f"b{j}[3]"] == pytest.approx(d3[j], abs=1e-9)
        assert r.updated[f"b{j}[2]"] == pytest.approx(b2[j] - eta * d2[j], abs=1e-9)
    for (i, j) in g1:
        assert r.gradient[f"w{i}{j}[1]"] == pytest.approx(g1[i, j], abs=1e-9)
        assert r.gradient[f"w{i}{j}[2]"] == pytest.approx(g2[i, j], abs=1e-9)
        assert r.updated[f"w{i}{j}[1]"] == pytest.approx(w1[i, j] - eta * g1[i, j], abs=1e-9)
        assert r.updated[f"w{i}{j}[2]"] == pytest.approx(w2[i, j] - eta * g2[i, j], abs=1e-9)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_batch_is_sum_or_mean_of_samples(reduction):
    net = sb.network("3-4-2", activation="tanh,sigmoid", loss="bce", bias=True)
    from symbackprop._check import random_point
    W, b, X, T = random_point(net, np.random.default_rng(3), batch=6)
    f = sb.compile(net, reduction=reduction)
    E, dW, db = f(W, b, X, T)
    one = sb.compile(net)
    singles = [one(W, b, X[n:n + 1], T[n:n + 1]) for n in range(6)]
    combine = np.sum if reduction == "sum" else np.mean
    assert E == pytest.approx(combine([s[0] for s in singles]), rel=1e-12)
    for k in range(2):
        assert np.allclose(dW[k], combine([s[1][k] for s in singles], axis=0), rtol=1e-12, atol=1e-15)
        assert np.allclose(db[k], combine([s[2][k] for s in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_compile_accepts_dicts_and_checks_biases():
    f = sb.compile("2-2-1", activation="sigmoid")
    W = {1: np.ones((2, 2)), 2: np.ones((2, 1))}
    E, dW, db = f(W, None, np.ones((1, 2)), np.zeros((1, 1)))
    assert db is None and dW[0].shape == (2, 2)
    with pytest.raises(ValueError, match="exactly when"):
        f(W, [np.zeros(2), np.zeros(1)], np.ones((1, 2)), np.zeros((1, 1)))


@pytest.mark.parametrize("act,loss", [("sigmoid", "bce"), ("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"),
                                      ("softplus", "mse")])
def test_large_z_stays_finite(act, loss):
    n_out = 3 if act == "softmax" else 1
    net = sb.network(f"1-{n_out}", activation=act, loss=loss)
    f = sb.compile(net)
    for w in (1000.0, -1000.0):
        W = [np.full((1, n_out), w) * np.arange(1, n_out + 1)]
        T = np.eye(n_out)[[0]] if act == "softmax" else np.array([[0.3]])
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            E, dW, _ = f(W, None, np.ones((1, 1)), T)
        assert np.isfinite(E) and all(np.isfinite(m).all() for m in dW)


def test_relu_derivative_zero_at_zero_everywhere():
    import sympy

    from symbackprop._activations import ACTIVATIONS, Z
    assert ACTIVATIONS["relu"].derivative.subs(Z, 0) == 0
    f = sb.compile("1-1-1", activation="relu,linear")
    # z1[2] = 0 exactly: no gradient flows to the first layer
    E, dW, _ = f([np.array([[1.0]]), np.array([[1.0]])], None, np.zeros((1, 1)), np.ones((1, 1)))
    assert dW[0][0, 0] == 0.0
    assert reference.ACTIVATIONS["relu"][1](np.array([0.0]))[0] == 0.0
    assert sympy.lambdify(Z, ACTIVATIONS["relu"].prime(Z), "numpy")(0.0) == 0.0


def _values_file(tmp_path, data, name="v.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else data)
    return str(path)


FULL = {"w11[1]": 0.1, "w21[1]": 0.2, "w11[2]": 0.3, "x1": 1, "x2": 2, "t1": 0.5}


def test_eval_json_contract(tmp_path, cli_run):
    result = cli_run("eval", "2-1-1", "--activation", "tanh", "--values", _values_file(tmp_path, FULL),
                     "--lr", "0.1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"loss", "forward", "delta", "gradient", "updated"}
    assert isinstance(data["forward"]["a1[3]"], float) and set(data["updated"]) == {"w11[1]", "w21[1]", "w11[2]"}


def test_eval_toml_batch(tmp_path, cli_run):
    text = ('"w11[1]" = 0.1\n"w21[1]" = 0.2\n"w11[2]" = 0.3\nreduction = "mean"\n'
            "samples = [{x1 = 1, x2 = 2, t1 = 0.5}, {x1 = -1, x2 = 0, t1 = 0.1}]\n")
    result = cli_run("eval", "2-1-1", "--activation", "tanh", "--values", _values_file(tmp_path, text, "v.toml"),
                     "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["forward"]["z1[2]"]) == 2


@pytest.mark.parametrize("change,fragment", [
    ({"w11[1]": None}, "missing w11[1]"),
    ({"w99[1]": 1.0}, "unknown name 'w99[1]'"),
    ({"y1": 1.0}, "unknown name 'y1'"),
    ({"w11[1]": "one"}, "not a number"),
    ({"w11[1]": True}, "not a number"),
    ({"x1": None}, "missing x1"),
    ({"reduction": "median"}, "reduction"),
])
def test_bad_values(change, fragment):
    data = {k: v for k, v in {**FULL, **change}.items() if v is not None}
    net = sb.network("2-1-1", activation="tanh")
    with pytest.raises(ValuesError, match=re.escape(fragment)):
        parse_values(net, data)


@pytest.mark.parametrize("text,fragment", [
    ('{"w11[1]": NaN, "w21[1]": 0.2, "w11[2]": 0.3, "x1": 1, "x2": 2, "t1": 0.5}', "finite"),
    ('{"w11[1]": Infinity, "w21[1]": 0.2, "w11[2]": 0.3, "x1": 1, "x2": 2, "t1": 0.5}', "finite"),
    ('{"w11[1]": 0.1, "w21[1]": 0.2, "w11[2]": 0.3, "samples": []}', "non-empty"),
    ('{"w11[1]": 0.1, "w21[1]": 0.2, "w11[2]": 0.3, "samples": [{"x1": 1, "x2": 2, "t1": 0}, {"x1": 1}]}',
     "samples[2]: missing"),
    ('{"w11[1]": 0.1', "not valid JSON"),
    ("", "empty"),
])
def test_bad_values_files(tmp_path, text, fragment):
    from symbackprop.cli import main
    path = tmp_path / "v.json"
    path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        main(["eval", "2-1-1", "--activation", "tanh", "--values", str(path)])
    assert stop.value.code == 2


@pytest.mark.parametrize("args", [["check", "2-2-1", "--activation", "tanh", "--samples", "0"],
                                  ["eval", "2-1-1", "--activation", "tanh", "--values", "x.json", "--lr", "-1"],
                                  ["eval", "2-1-1", "--activation", "tanh", "--values", "x.json", "--lr", "fast"]])
def test_bad_options(args, capfd):
    from symbackprop.cli import main
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2 and capfd.readouterr().err.count("\n") == 1
