"""Issue 14, items 5 and 7: seeded exercises (numbers or derivations), their sheets, and PrairieLearn questions.

The numbers are checked against a NumPy backprop written here from the textbook equations
(z = Wᵀa + b, a = g(z); δ at the outputs; δ = (W δ') ⊙ g'(z); ∂E/∂W = a δᵀ), not the tool's.
"""
import importlib.util
import json
import os
import re
import shutil
import uuid

import numpy as np
import pytest
from click.testing import CliRunner

import symbackprop as sb
from symbackprop import _prairielearn as pl
from symbackprop import cli
from symbackprop._cli_teach import BadInput, exercise_cmd
from symbackprop._exercise import UPDATED, make_exercise
from symbackprop._exercise_sheets import question_sheet, solution_sheet
from symbackprop._names import latex_name
from tests.test_document import _compile

# ---------------------------------------------------------------- the reference backprop
G = {"sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
     "tanh": (np.tanh, lambda a: 1 - a ** 2),
     "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(float))}


def reference(layers, acts, loss, bias, v, lr=None):
    """name → value of every z, a, δ, gradient and updated parameter, for the values ``v``."""
    L = len(layers)
    W = {k: np.array([[v[f"w{i}{j}[{k}]"] for j in range(1, layers[k] + 1)] for i in range(1, layers[k - 1] + 1)])
         for k in range(1, L)}
    b = {k: np.array([v[f"b{j}[{k}]"] for j in range(1, layers[k - 1] + 1)]) if bias else 0.0 for k in range(2, L + 1)}
    a = {1: np.array([v[f"x{i}"] for i in range(1, layers[0] + 1)])}
    t = np.array([v[f"t{j}"] for j in range(1, layers[-1] + 1)])
    z, out = {}, {}
    for k in range(2, L + 1):
        z[k] = W[k - 1].T @ a[k - 1] + b[k]                         # z = Wᵀa + b
        act = acts[k - 2]
        a[k] = np.exp(z[k]) / np.exp(z[k]).sum() if act == "softmax" else G[act][0](z[k])
        out.update({f"z{j + 1}[{k}]": z[k][j] for j in range(layers[k - 1])})
        out.update({f"a{j + 1}[{k}]": a[k][j] for j in range(layers[k - 1])})
    if loss == "mse":
        delta = {L: (a[L] - t) * G[acts[-1]][1](a[L])}              # δ = (a − t) ⊙ g'(z)
    else:                                                          # softmax + cross-entropy, sigmoid + bce
        delta = {L: a[L] - t}
    for k in range(L - 1, 1, -1):
        delta[k] = (W[k] @ delta[k + 1]) * G[acts[k - 2]][1](a[k])  # δ = (W δ') ⊙ g'(z)
    for k in range(2, L + 1):
        out.update({f"delta{j + 1}[{k}]": delta[k][j] for j in range(layers[k - 1])})
    for k in range(1, L):
        dW = np.outer(a[k], delta[k + 1])                          # ∂E/∂W = a δᵀ
        for i in range(layers[k - 1]):
            for j in range(layers[k]):
                out[f"w{i + 1}{j + 1}[{k}]"] = dW[i, j]
        for j in range(layers[k] if bias else 0):
            out[f"b{j + 1}[{k + 1}]"] = delta[k + 1][j]
    if lr is not None:
        grads = [n for n in out if n[0] in "wb"]
        out.update({n + "'": v[n] - lr * out[n] for n in grads})
    return out


NETWORKS = [("2-3-1", ["sigmoid"] * 2, "mse", False, 0.5), ("2-2-2", ["sigmoid"] * 2, "mse", True, 0.5),
            ("3-4-3", ["tanh", "softmax"], "cross_entropy", True, None),
            ("2-2-1", ["relu", "sigmoid"], "bce", False, 1.0),
            ("2-3-2-2", ["tanh", "sigmoid", "sigmoid"], "mse", True, 0.1)]


@pytest.mark.parametrize("spec,acts,loss,bias,lr", NETWORKS, ids=[n[0] + "-" + n[2] for n in NETWORKS])
def test_answers_agree_with_a_numpy_backprop(spec, acts, loss, bias, lr):
    net = sb.network(spec, activation=",".join(acts), loss=loss, bias=bias)
    for seed in (0, 11):
        ex = make_exercise(net, seed, lr=lr)
        want = reference([int(n) for n in spec.split("-")], acts, loss, bias, ex.values, lr)
        got = {**ex.intermediates, **ex.answers}
        assert set(got) == set(want)
        for name, value in want.items():
            assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
        parameters = [p.name for p in net.parameters()]
        assert set(ex.answers) == set(parameters) | ({p + UPDATED for p in parameters} if lr is not None else set())


def test_a_recurrent_exercise_agrees_with_a_numpy_bptt():
    net = sb.rnn(2, 2, 1, 3, activation="tanh", bias=True)
    ex = make_exercise(net, 5, lr=0.2)
    v = ex.values
    U, W, V = ([[v[f"{m}{i}{j}"] for j in range(1, c + 1)] for i in range(1, r + 1)] for m, r, c in
               (("u", 2, 2), ("w", 2, 2), ("v", 2, 1)))
    U, W, V = map(np.array, (U, W, V))
    b, c = np.array([v["b1"], v["b2"]]), np.array([v["c1"]])
    x = [np.array([v[f"x1<{t}>"], v[f"x2<{t}>"]]) for t in (1, 2, 3)]
    tt = [np.array([v[f"t1<{t}>"]]) for t in (1, 2, 3)]
    h, y = [np.zeros(2)], []
    for t in range(3):                                              # h<t> = tanh(x U + h<t−1> W + b), y = h V + c
        h.append(np.tanh(x[t] @ U + h[t] @ W + b))
        y.append(h[t + 1] @ V + c)
    grads = {"U": 0, "W": 0, "V": 0, "b": 0, "c": 0}
    later = np.zeros(2)
    for t in (2, 1, 0):
        dy = y[t] - tt[t]
        delta = (dy @ V.T + later @ W.T) * (1 - h[t + 1] ** 2)      # δ<t> = (dy Vᵀ + δ<t+1> Wᵀ) ⊙ tanh'
        grads["U"] = grads["U"] + np.outer(x[t], delta)
        grads["W"] = grads["W"] + np.outer(h[t], delta)
        grads["V"] = grads["V"] + np.outer(h[t + 1], dy)
        grads["b"], grads["c"], later = grads["b"] + delta, grads["c"] + dy, delta
        assert ex.intermediates[f"delta1<{t + 1}>"] == pytest.approx(delta[0])
    for name, g in ex.answers.items():
        if not name.endswith(UPDATED):
            m, idx = name[0], [int(ch) - 1 for ch in name[1:]]
            assert g == pytest.approx(grads[m.upper() if m in "uwv" else m][tuple(idx)]), name
            assert ex.answers[name + UPDATED] == pytest.approx(v[name] - 0.2 * g)


def test_seeds_give_variants_and_the_same_seed_the_same():
    net = sb.network("2-2-2", activation="sigmoid", bias=True)
    one, again, other = make_exercise(net, 1, 0.5), make_exercise(net, 1, 0.5), make_exercise(net, 2, 0.5)
    assert one == again and solution_sheet(one) == solution_sheet(again) and one.to_json() == again.to_json()
    assert one.values != other.values and one.answers != other.answers
    assert len({tuple(make_exercise(net, s).values.values()) for s in range(20)}) == 20


def test_values_have_two_decimals_and_targets_suit_the_loss():
    for spec, kw in [("3-4-3", dict(activation="tanh,softmax", loss="cross_entropy", bias=True)),
                     ("2-3-2", dict(activation="sigmoid", loss="bce")), ("2-2-1", dict(activation="tanh"))]:
        for seed in range(5):
            ex = make_exercise(sb.network(spec, **kw), seed)
            assert all(v == round(v, 2) and -1 <= v <= 1 for v in ex.values.values())
            assert all(v != 0 for n, v in ex.values.items() if n[0] in "wbx")
            targets = [v for n, v in ex.values.items() if n[0] == "t"]
            if kw.get("loss") == "cross_entropy":
                assert sorted(targets) == [0.0] * (len(targets) - 1) + [1.0]
            else:
                assert all(0 < v < 1 for v in targets)


def test_skips_ties_and_penalties_are_worked_out_too():
    net = sb.network(layers=[2, 2, 2], activation="tanh", skips={3: 1}, penalty={"l2": 0.1})
    ex = make_exercise(net, 1)
    weights = [v for n, v in ex.values.items() if n[0] == "w"]
    assert ex.intermediates["R"] == pytest.approx(0.1 / 2 * sum(w * w for w in weights))    # R = λ/2·Σw²
    assert "\n  R = λ·(" in solution_sheet(ex, "text") and "+ x1 = " in solution_sheet(ex, "text")
    tied = make_exercise(sb.network(layers=[2, 3, 2], activation="sigmoid", ties={2: 1}), 2)
    assert sorted(tied.answers) == sorted(p.name for p in tied.network.parameters()) and "w11[2]" not in tied.values


def test_symbolic_exercise_asks_for_derivations_picked_by_the_seed():
    net = sb.network("2-3-1")
    d = sb.derive(net)
    picks = set()
    for seed in range(8):
        ex = make_exercise(net, seed, symbolic=True)
        assert len(ex.asked) == 2 and {p[-3:] for p in ex.asked} == {"[1]", "[2]"}    # one per weight layer
        assert ex.values == {} and all(ex.answers[p] == d.gradient(p) for p in ex.asked)
        picks.add(ex.asked)
    assert len(picks) > 3
    data = json.loads(make_exercise(net, 3, symbolic=True).to_json())
    for name, answer in data["answers"].items():                # the JSON's text is what verify reads
        assert sb.verify(net, f"dE/d{name} = {answer}")
    rnn = make_exercise(sb.network("examples/rnn-1-1-1.toml"), 1, symbolic=True)
    assert set(rnn.asked) == {"u11", "w11", "v11"}


def test_json_shape():
    ex = make_exercise(sb.network("2-2-1", activation="sigmoid", bias=True), 4, lr=0.5)
    data = json.loads(ex.to_json())
    assert {"values", "answers", "intermediates", "loss", "seed", "lr", "spec", "asked"} <= set(data)
    assert data["values"] == ex.values and all(isinstance(v, float) for v in data["answers"].values())
    assert set(data["values"]) == {"x1", "x2", "t1", "w11[1]", "w12[1]", "w21[1]", "w22[1]", "b1[2]", "b2[2]",
                                   "w11[2]", "w21[2]", "b1[3]"}
    assert data["answers"]["w11[2]'"] == pytest.approx(data["values"]["w11[2]"] - 0.5 * data["answers"]["w11[2]"])
    result = CliRunner().invoke(exercise_cmd, ["2-2-1", "--activation", "sigmoid", "--bias", "--seed", "4",
                                               "--lr", "0.5", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == data


def test_text_sheets_work_every_value_out():
    ex = make_exercise(sb.network("2-2-1", activation="sigmoid"), 2, lr=0.5)
    question, solution = question_sheet(ex, "text"), solution_sheet(ex, "text")
    assert "Tasks" in question and "η = 0.5" in question and "z1[2] =" not in question
    w, x = ex.values["w11[1]"], ex.values["x1"]
    worked = rf"z1\[2\] = w11\[1\]·x1 \+ w21\[1\]·x2 = \(?{w:.2f}\)?·\(?{x:.2f}\)?"
    assert re.search(worked.replace("-", "−"), solution)
    for name in [*ex.intermediates, "E"]:
        assert f"\n  {name.replace('delta', 'δ')} = " in solution
    assert solution.count("∂E/∂w") >= 2 * 6 and "w11[1]' = w11[1] − η·∂E/∂w11[1] = " in solution


SHEETS = [("2-3-1", dict(activation="sigmoid"), 0.5, False), ("2-2-3", dict(activation="tanh,softmax",
          loss="cross_entropy", bias=True), None, False), ("examples/rnn-1-1-1.toml", {}, 0.1, False),
          ("2-3-1", {}, None, True)]


@pytest.mark.parametrize("spec,kw,lr,symbolic", SHEETS, ids=["sigmoid", "softmax", "rnn", "symbolic"])
def test_latex_sheets_compile(tmp_path, spec, kw, lr, symbolic):
    ex = make_exercise(sb.network(spec, **kw), 3, lr=lr, symbolic=symbolic)
    question, solution = question_sheet(ex), solution_sheet(ex)
    for tex in (question, solution):
        assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}") and tex.isascii()
    if symbolic:
        assert "chain rule" in solution and all(f"\\partial {latex_name(p)}" in solution for p in ex.asked)
    else:
        assert solution.count("&= ") >= len(ex.intermediates) + len(ex.asked)
    _compile(tmp_path, "question", question)
    _compile(tmp_path, "solution", solution)


# ---------------------------------------------------------------- the command
def _run(*args):
    return CliRunner().invoke(exercise_cmd, list(args))


@pytest.mark.parametrize("args,message", [
    (["nope", "--seed", "1"], "neither layer sizes"),
    (["2-2-1", "--activation", "sigmoid", "--seed", "1", "--lr", "-0.5"], "--lr -0.5"),
    (["2-2-1", "--activation", "sigmoid", "--seed", "1", "--lr", "nan"], "finite"),
    (["2-2-1", "--seed", "1"], "generic g"),
    (["2-2-1", "--activation", "sigmoid"], "--seed S is needed"),
    (["2-3-1", "--symbolic", "--seed", "1", "--lr", "0.5"], "numeric exercise"),
    (["2-2-1", "--activation", "sigmoid", "--seed", "1", "--solution", "--format", "json"], "--solution"),
    (["100-100", "--activation", "sigmoid", "--seed", "1"], "at most 100 parameters"),
    (["2-2-1", "--activation", "sigmoid", "--seed", "1", "-o", "/no/such/folder/x.tex"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = _run(*args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(BadInput) as caught:
        exercise_cmd.main(args, standalone_mode=False)
    assert caught.value.exit_code == 2 and "\n" not in caught.value.format_message()


def test_through_the_main_entry_point(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(cli.cli.commands, "exercise", exercise_cmd)     # what cli.py's hook will do
    with pytest.raises(SystemExit) as done:
        cli.main(["exercise", "2-2-1", "--activation", "sigmoid", "--seed", "1", "--lr", "-1"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("symbackprop: error: --lr -1.0") and err.count("\n") == 1
    out = tmp_path / "sheet.tex"
    with pytest.raises(SystemExit) as done:
        cli.main(["exercise", "2-2-1", "--activation", "sigmoid", "--seed", "1", "--solution", "--format", "latex",
                  "-o", str(out)])
    assert done.value.code == 0 and out.read_text().startswith("\\documentclass")


# ---------------------------------------------------------------- PrairieLearn
def _server(folder):
    spec = importlib.util.spec_from_file_location(f"server_{uuid.uuid4().hex}", os.path.join(folder, "server.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(seed):
    """The dictionary PrairieLearn passes to generate, parse and grade."""
    return {"params": {}, "correct_answers": {}, "submitted_answers": {}, "raw_submitted_answers": {},
            "format_errors": {}, "partial_scores": {}, "score": 0, "feedback": {}, "variant_seed": seed,
            "options": {}}


def _submit(data, answers):
    out = {**data, "submitted_answers": dict(answers), "raw_submitted_answers": dict(answers), "format_errors": {},
           "partial_scores": {}, "feedback": {}, "score": 0}
    return json.loads(json.dumps(out))                  # PrairieLearn keeps data as JSON


def test_prairielearn_numeric_question(tmp_path):
    folder = tmp_path / "backprop"
    result = _run("2-3-1", "--activation", "sigmoid", "--lr", "0.5", "--prairielearn", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(folder)) == ["info.json", "question.html", "server.py", "spec.json"]
    info = json.loads((folder / "info.json").read_text())
    assert info["type"] == "v3" and uuid.UUID(info["uuid"]) and info["title"] and info["topic"]
    page = (folder / "question.html").read_text()
    assert page.count("<pl-question-panel>") == 1 and page.count("<pl-number-input") == 8 and "<svg" in page
    server = _server(folder)
    data = _data(77)
    server.generate(data)
    json.dumps(data, allow_nan=False)                   # everything in data must be JSON
    keys = sorted(data["correct_answers"])
    assert keys == ["g1", "g2", "g3", "g4", "u1", "u2", "u3", "u4"]
    assert all(f'answers-name="{k}"' in page for k in keys)
    ex = make_exercise(sb.network("2-3-1", activation="sigmoid"), 77, lr=0.5)
    for key, name in data["params"]["names"].items():
        assert data["correct_answers"][key] == ex.answers[name + (UPDATED if key[0] == "u" else "")]
    assert "$x_{1} = " in data["params"]["given"]
    right = _submit(data, {k: round(v, 6) for k, v in data["correct_answers"].items()})
    server.parse(right)
    server.grade(right)
    assert right["score"] == 1 and all(s["score"] == 1 for s in right["partial_scores"].values())
    wrong = _submit(data, {**right["submitted_answers"], "g1": -data["correct_answers"]["g1"], "u2": 12.5})
    server.parse(wrong)
    server.grade(wrong)
    assert wrong["score"] == pytest.approx(6 / 8)
    g1 = wrong["partial_scores"]["g1"]
    assert g1["score"] == 0 and "the wrong sign" in g1["feedback"] and wrong["feedback"]["g1"] == g1["feedback"]
    assert wrong["partial_scores"]["u2"]["score"] == 0 and "not" in wrong["partial_scores"]["u2"]["feedback"]
    other = _data(78)
    server.generate(other)
    assert other["params"]["given"] != data["params"]["given"]


def test_prairielearn_names_numeric_mistakes(tmp_path):
    net = sb.network("2-3-1", activation="sigmoid")
    ex = make_exercise(net, 5, lr=0.5)
    gp = ex.intermediates["a1[2]"] * (1 - ex.intermediates["a1[2]"])                 # σ'(z1[2])
    assert "missing sigmoid'(z1[2])" in pl.numeric_mistake(ex, "w11[1]", ex.answers["w11[1]"] / gp)
    uphill = ex.values["w11[2]"] + 0.5 * ex.answers["w11[2]"]
    assert "uphill" in pl.numeric_mistake(ex, "w11[2]", uphill, updated=True)
    assert pl.numeric_mistake(ex, "w11[2]", 123.0) is None


def test_prairielearn_symbolic_question(tmp_path):
    folder = tmp_path / "derive"
    assert _run("2-3-1", "--symbolic", "--prairielearn", str(folder)).exit_code == 0
    page = (folder / "question.html").read_text()
    assert page.count("<pl-string-input") == 2 and "<pl-number-input" not in page
    server = _server(folder)
    data = _data(3)
    server.generate(data)
    names = data["params"]["names"]
    first, second = sorted(names)
    assert names[first].endswith("[1]") and names[second].endswith("[2]")
    # right answers typed as a student would: the chain rule's product, and the δ form
    i, j = names[first][1], names[first][2]                      # w_ij[1]: x_i, into node j of layer 2
    k = names[second][1]                                         # w_k1[2]: a_k[2]
    right = _submit(data, {first: f"(a1[3] - t1)*g'(z1[3])*w{j}1[2]*g'(z{j}[2])*x{i}", second: f"δ1[3]·a{k}[2]"})
    server.parse(right)
    assert right["format_errors"] == {}
    server.grade(right)
    assert right["score"] == 1
    wrong = _submit(data, {first: f"delta1[3]*w{j}1[2]*x{i}", second: "a1[2]*"})
    server.parse(wrong)
    assert list(wrong["format_errors"]) == [second]             # unreadable: a format error, no attempt used
    server.grade(wrong)
    assert wrong["score"] < 1 and f"a missing g'(z{j}[2]) factor" in wrong["partial_scores"][first]["feedback"]


def test_prairielearn_folder_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    result = _run("2-3-1", "--activation", "sigmoid", "--prairielearn", str(full))
    assert result.exit_code == 2 and "not an empty folder" in result.stderr
    assert os.listdir(full) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("2-3-1", "--activation", "sigmoid", "--prairielearn", str(empty)).exit_code == 0
    assert len(os.listdir(empty)) == 4
    assert _run("2-3-1", "--prairielearn", str(tmp_path / "g")).exit_code == 2      # no numbers for g: nothing
    seeded = _run("2-3-1", "--activation", "sigmoid", "--seed", "1", "--prairielearn", str(tmp_path / "s"))
    assert seeded.exit_code == 2 and "--seed does not go with --prairielearn" in seeded.stderr

    def broken(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(pl.os, "replace", broken)
    assert _run("2-3-1", "--activation", "sigmoid", "--prairielearn", str(tmp_path / "late")).exit_code == 2
    assert sorted(os.listdir(tmp_path)) == ["empty", "full"]             # no half-written or temporary folder
    shutil.rmtree(empty)
