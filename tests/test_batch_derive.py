"""Layer stacks over a batch (batch norm, layer norm, dropout): the derivation, its proofs, the compact
forms and their checks, the printed formulas against finite differences of a forward pass written here,
every format, the spec keys and the command line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

import symbackprop as sb
from symbackprop._program import printed_formulas
from symbackprop.cli import cli


def stack(*layers, inputs=2, batch=2, loss="mse"):
    return sb.network({"inputs": inputs, "batch": batch, "loss": loss, "layer": list(layers)})


DENSE = {"size": 2, "activation": "linear", "bias": True}


@pytest.mark.parametrize("layers,batch", [
    (({"kind": "batchnorm"}, {"size": 1, "activation": "linear"}), 2),
    (({"kind": "layernorm", "activation": "tanh"}, {"size": 1, "activation": "sigmoid"}), 2),
    (({"kind": "dropout", "rate": 0.5}, {"size": 1, "activation": "tanh"}), 3),
    (({"size": 1, "activation": "linear"}, {"kind": "batchnorm", "activation": "sigmoid"}, {"size": 1}), 2),
])
def test_prove_against_brute_force(layers, batch):
    net = stack(*layers, inputs=1 if layers[0].get("kind") != "layernorm" else 2, batch=batch)
    if layers[-1].get("activation") == "sigmoid":
        net = sb.network({**net.as_dict(), "loss": "bce"})
    d = sb.derive(net, prove=True)
    assert all(d.proof.values()), d.proof
    params = {p.name for p in net.parameters()}
    assert params <= set(d.proof)
    norms = [k for k, _ in net.norm_layers()]
    assert {f"compact form, layer {k}" for k in norms} <= set(d.proof)


@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
@pytest.mark.parametrize("batch", [2, 3, 5, 8])
def test_compact_forms_hold_and_a_wrong_one_fails(kind, batch):
    from symbackprop._batch_forms import check_forms
    net = stack(DENSE, {"kind": kind, "activation": "relu"}, {"size": 2, "activation": "softmax"}, batch=batch,
                loss="cross_entropy")
    d = sb.derive(net)
    (form,) = d.forms
    assert form.holds and form.instances == 2 * batch and form.layer == 3
    for part in ("sum", "moment"):
        (wrong,) = check_forms(d, drop=(part,))
        assert not wrong.holds and wrong.failed == "a1[2]<1>"


def _forward(kinds, P, X, masks, eps=1e-5):
    """A forward pass written from the textbook: dense (linear), norm, dropout; E = ½Σ(y − t)² later."""
    a = X
    for k, kind in kinds:
        if kind == "dense":
            a = a @ P[f"W{k - 1}"] + P[f"b{k}"]
        elif kind == "batchnorm":
            mu, var = a.mean(axis=0), a.var(axis=0)
            a = P[f"gamma{k}"] * (a - mu) / np.sqrt(var + eps) + P[f"beta{k}"]
        elif kind == "layernorm":
            mu, var = a.mean(axis=1, keepdims=True), a.var(axis=1, keepdims=True)
            a = P[f"gamma{k}"] * (a - mu) / np.sqrt(var + eps) + P[f"beta{k}"]
        else:
            a = a * masks[k] / 0.5
    return a


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_printed_formulas_agree_with_finite_differences(norm):
    """The printed gradients, evaluated as printed, against central differences of the forward pass above."""
    net = stack(DENSE, {"kind": norm}, {"kind": "dropout", "rate": 0.5}, {"size": 1, "activation": "linear",
                                                                         "bias": True}, batch=3)
    rng = np.random.default_rng(7)
    P = {"W1": rng.normal(size=(2, 2)), "b2": rng.normal(size=2), "gamma3": rng.uniform(0.5, 1.5, 2),
         "beta3": rng.normal(size=2), "W4": rng.normal(size=(2, 1)), "b5": rng.normal(size=1)}
    X, T = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    masks = {4: np.array([[1, 0], [1, 1], [0, 1]])}
    kinds = [(2, "dense"), (3, norm), (4, "dropout"), (5, "dense")]

    def E(P):
        return 0.5 * float(np.sum((_forward(kinds, P, X, masks) - T) ** 2))
    values = {"epsilon": 1e-5}
    for key, A in P.items():
        letter, k = key.rstrip("0123456789"), int(key.lstrip("Wbgammaet"))
        for idx in np.ndindex(A.shape):
            name = {"W": "w", "b": "b", "gamma": "gamma", "beta": "beta"}[letter] + "".join(str(i + 1) for i in idx)
            values[f"{name}[{k}]"] = A[idx]
    for s in range(3):
        values.update({f"x{i + 1}<{s + 1}>": X[s, i] for i in range(2)} | {f"t1<{s + 1}>": T[s, 0]})
        values.update({f"m{j + 1}[4]<{s + 1}>": masks[4][s, j] for j in range(2)})
    out = printed_formulas(sb.derive(net, weights=()))(values)
    assert out["E"] == pytest.approx(E(P), rel=1e-12)
    h = 1e-6
    for key, A in P.items():
        for idx in np.ndindex(A.shape):
            up, down = {k: v.copy() for k, v in P.items()}, {k: v.copy() for k, v in P.items()}
            up[key][idx] += h
            down[key][idx] -= h
            letter, k = key.rstrip("0123456789"), int(key.lstrip("Wbgammaet"))
            name = {"W": "w", "b": "b", "gamma": "gamma", "beta": "beta"}[letter] + "".join(str(i + 1) for i in idx)
            assert out[f"{name}[{k}]"] == pytest.approx((E(up) - E(down)) / (2 * h), rel=1e-6, abs=1e-8), name


def test_every_format():
    net = stack(DENSE, {"kind": "batchnorm", "activation": "relu"}, {"kind": "dropout", "rate": 0.25},
                {"size": 1, "activation": "sigmoid"}, loss="bce")
    d = sb.derive(net)
    data = json.loads(d.to_json())
    assert set(data["gradient"]) == {p.name for p in net.parameters()}
    assert data["forms"] == [{"layer": 3, "kind": "batchnorm", "instances": 4, "holds": True}]
    by_hand = sympy.Rational(4, 3) * d.symbol("m1[4]<1>") * d.symbol("w11[4]") * d.symbol("δ1[5]<1>")
    assert d.stages["a1[3]<1>"] - by_hand == 0 and "m1[4]<1>" in data["stages"]["a1[3]<1>"]
    text = d.to_text()
    for piece in ("Compact form of the input gradient", "∂E/∂σ1[3]", "∂E/∂μ1[3]", "δ1[2]<2>", "mask"):
        assert piece in text
    assert not [ch for ch in d.to_text(ascii_only=True) if ord(ch) > 127]
    latex = d.to_latex()
    assert "\\hat{x}_{1}^{[3]\\langle 1 \\rangle}" in latex and "\\sigma_{1}^{[3]}" in latex
    assert d.to_markdown().startswith("## Backpropagation for the 2 $\\to$ dense 2")


@pytest.mark.parametrize("data,message", [
    ({"layer": [{"kind": "batchnorm"}, {"size": 1}], "batch": 1}, "set batch = 2 or more"),
    ({"layer": [{"size": 1}, {"kind": "dropout", "rate": 0.5}]}, "end with a dense layer"),
    ({"layer": [{"kind": "dropout", "rate": 1.0}, {"size": 1}]}, "0 ≤ rate < 1"),
    ({"layer": [{"kind": "groupnorm"}, {"size": 1}], "batch": 2}, "dense, batchnorm, layernorm or dropout"),
    ({"layer": [{"kind": "batchnorm", "size": 3}, {"size": 1}]}, "unknown key 'size'"),
    ({"layer": [{"kind": "batchnorm"}, {"size": 1}], "batch": 40}, "1 to 16"),
])
def test_bad_specs_exit_2_with_one_line(tmp_path, data, message):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"inputs": 2, **data}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["derive", str(spec)])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_the_command_line(tmp_path):
    spec = tmp_path / "bn.json"
    spec.write_text(json.dumps({"inputs": 1, "batch": 2, "layer": [{"kind": "batchnorm"},
                                                                   {"size": 1, "activation": "linear"}]}))
    runner = CliRunner()
    result = runner.invoke(cli, ["derive", str(spec), "--prove"])
    assert result.exit_code == 0 and "NOT PROVED" not in result.output
    assert "compact form, layer 2: proved by expand for N = 2…6" in result.output
    result = runner.invoke(cli, ["derive", str(spec), "--truncate", "2"])
    assert result.exit_code == 2 and "recurrent" in result.output
    assert runner.invoke(cli, ["derive", str(spec), "--activation", "tanh"]).exit_code == 2


@pytest.mark.parametrize("spec", ["examples/batchnorm-2-2-1.toml", "examples/lstm-2-1.toml", "examples/gru-2-2-1.toml"])
def test_exercises_for_the_new_kinds(spec, monkeypatch):
    """A numeric exercise: its answers are eval's numbers at its given values; the sheets are written."""
    from pathlib import Path
    from symbackprop._exercise import make_exercise
    from symbackprop._exercise_sheets import question_sheet, solution_sheet
    monkeypatch.chdir(Path(__file__).parent.parent)
    net = sb.network(spec)
    ex = make_exercise(net, seed=4, lr=0.1)
    result = sb.evaluate(net, ex.values, lr=0.1)
    assert ex.answers == {**result.gradient, **{k + "'": v for k, v in result.updated.items()}}
    assert all(v in (0.0, 1.0) for k, v in ex.values.items() if k.startswith("m"))
    assert "Given" in question_sheet(ex, "text") and "Gradients" in solution_sheet(ex, "text")
    assert solution_sheet(ex, "latex").startswith("\\documentclass")
    assert make_exercise(net, seed=4, symbolic=True).asked
