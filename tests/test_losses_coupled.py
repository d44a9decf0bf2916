"""Issue 18, item 4: log_softmax + nll and the multiclass hinge loss (CS231n's SVM loss), in every command.

The numbers are held against backprop written out here from the textbook: for log_softmax + nll,
E = −Σ t·log softmax(z) and δ = softmax(z) − t; for the multiclass hinge loss, the per-class loop
of the CS231n notes (Σ over j ≠ y of max(0, aj − ay + 1), its gradient class by class).
"""
import json
import math

import numpy as np
import pytest
import sympy

import symbackprop as sb
from symbackprop import SpecError
from symbackprop.extend import losses

LOSSES = losses()               # the loss registry, read-only


# ---------------------------------------------------------------- the textbook, by hand
def log_softmax_by_hand(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def svm_by_hand(scores, y):
    """CS231n's loop: per sample, the sum over wrong classes of max(0, s_j - s_y + 1), and ∂/∂s."""
    E, grad = 0.0, np.zeros_like(scores)
    for n, row in enumerate(scores):
        for j in range(len(row)):
            if j == y[n]:
                continue
            margin = row[j] - row[y[n]] + 1.0
            if margin > 0:
                E += margin
                grad[n, j] += 1.0
                grad[n, y[n]] -= 1.0
    return E, grad


def two_layer_by_hand(loss, W1, W2, X, y):
    """x → tanh → (log_softmax + nll | linear + multiclass hinge): E, dW1, dW2."""
    a2 = np.tanh(X @ W1)
    z3 = a2 @ W2
    if loss == "nll":
        logp = log_softmax_by_hand(z3)
        E = -logp[np.arange(len(y)), y].sum()
        d3 = np.exp(logp) - np.eye(W2.shape[1])[y]
    else:
        E, d3 = svm_by_hand(z3, y)
    d2 = (d3 @ W2.T) * (1.0 - a2 ** 2)
    return E, X.T @ d2, a2.T @ d3


NETS = {"nll": ("tanh,log_softmax", "nll"), "multiclass_hinge": ("tanh,linear", "multiclass_hinge")}


def _point(rng, batch):
    W1, W2 = rng.normal(0, 1.5, (3, 4)), rng.normal(0, 1.5, (4, 3))
    return W1, W2, rng.uniform(-2, 2, (batch, 3)), rng.integers(0, 3, batch)


# ---------------------------------------------------------------- the registry entries
def test_multiclass_hinge_term_summed_is_the_svm_loss():
    a = sympy.symbols("a1:4", real=True)
    t = sympy.symbols("t1:4", real=True)
    E = sympy.lambdify(a + t, LOSSES["multiclass_hinge"].value(list(a), list(t)), modules="numpy")
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores, y = rng.normal(0, 1.5, (1, 3)), rng.integers(0, 3, 1)
        assert math.isclose(float(E(*scores[0], *np.eye(3)[y[0]])), svm_by_hand(scores, y)[0], abs_tol=1e-12)


def test_the_reference_rows_are_the_svm_loss_and_its_gradient():
    from symbackprop._tables import LOSSES as BY_HAND
    value, slope = BY_HAND["multiclass_hinge"]
    rng = np.random.default_rng(1)
    scores, y = rng.normal(0, 1.5, (40, 4)), rng.integers(0, 4, 40)
    E, grad = svm_by_hand(scores, y)
    T = np.eye(4)[y]
    assert math.isclose(value(scores, T).sum(), E, rel_tol=1e-13)
    assert np.array_equal(slope(scores, T), grad)
    h = 1e-6                                      # and entry by entry, against finite differences
    for idx in np.ndindex(scores.shape):
        up, down = scores.copy(), scores.copy()
        up[idx] += h
        down[idx] -= h
        fd = (value(up, T).sum() - value(down, T).sum()) / (2 * h)
        assert math.isclose(slope(scores, T)[idx], fd, abs_tol=1e-6)


def test_the_kink_is_stated_and_the_subgradient_there_is_zero():
    kink = LOSSES["multiclass_hinge"].kink
    assert "taken as 0" in kink and kink.isascii()
    from symbackprop._tables import LOSSES as BY_HAND
    scores, T = np.array([[2.0, 1.0, 0.5]]), np.array([[1.0, 0.0, 0.0]])     # class 2's margin is exactly 0
    assert np.array_equal(BY_HAND["multiclass_hinge"][1](scores, T), [[0.0, 0.0, 0.0]])
    f = sb.compile(sb.network("3-3", activation="linear", loss="multiclass_hinge"))
    E, dW, _ = f([np.eye(3)], None, scores, T)
    assert E == 0.0 and np.array_equal(dW[0], np.zeros((3, 3)))


# ---------------------------------------------------------------- pairings
@pytest.mark.parametrize("act,loss,fragment", [
    ("tanh,softmax", "nll", "loss nll takes log_softmax outputs, not softmax"),
    ("tanh,sigmoid", "nll", "loss nll takes log_softmax outputs, not sigmoid"),
    ("tanh,log_softmax", "cross_entropy", "log_softmax outputs go with loss nll only, not cross_entropy"),
    ("tanh,log_softmax", "mse", "log_softmax outputs go with loss nll only, not mse"),
    ("tanh,softmax", "multiclass_hinge", "reads the outputs as scores.*use linear outputs"),
    ("tanh,log_softmax", "multiclass_hinge", "log_softmax outputs go with loss nll only"),
    ("log_softmax,linear", "mse", "log_softmax is for the output layer only"),
])
def test_invalid_pairings_are_one_line_errors_naming_the_valid_ones(act, loss, fragment):
    with pytest.raises(SpecError, match=fragment) as err:
        sb.network("2-2-3", activation=act, loss=loss)
    assert "\n" not in str(err.value)


def test_one_output_node_is_refused(cli_run):
    for act, loss, fragment in (("linear", "multiclass_hinge", "needs at least 2 output nodes, one per class"),
                                ("log_softmax", "nll", "log_softmax needs at least 2 output nodes")):
        result = cli_run("derive", "2-1", "--activation", act, "--loss", loss)
        assert result.exit_code == 2 and fragment in result.output and result.output.count("\n") == 1


# ---------------------------------------------------------------- the derivation
def test_the_nll_delta_shows_the_shortcut_to_softmax_minus_t():
    d = sb.derive(sb.network("2-3", activation="log_softmax", loss="nll"))
    a, t = d.symbols["a2[2]"], d.symbols["t2"]
    assert d.deltas["delta2[2]"] == sympy.exp(a) - t
    step = next(s for s in d.delta_steps if s.delta.name == "delta2[2]")
    assert [reason for reason, _ in step.simplified] == ["sum_targets", "sum_targets_one"]
    assert d.target_groups() == [[d.symbols["t1"], d.symbols["t2"], d.symbols["t3"]]]


@pytest.mark.parametrize("spec,act,loss", [
    ("2-3", "log_softmax", "nll"), ("2-2-2", "sigmoid,log_softmax", "nll"),
    ("2-3", "linear", "multiclass_hinge"), ("1-2-3", "tanh,sigmoid", "multiclass_hinge"),
    ("2-2-2", "relu,relu", "multiclass_hinge"),
])
def test_delta_form_equals_sympy_diff_of_the_nested_loss(spec, act, loss):
    proof = sb.prove(sb.derive(sb.network(spec, activation=act, loss=loss, bias=True)))
    assert proof and all(proof.values()), proof


@pytest.mark.parametrize("loss", sorted(NETS))
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "beamer", "html"])
def test_derive_writes_every_format_with_prove(cli_run, loss, fmt):
    act, name = NETS[loss]
    result = cli_run("derive", "1-2-2", "--activation", act, "--loss", name, "--format", fmt, "--prove", "-q")
    assert result.exit_code == 0, result.output
    if fmt == "text":
        assert "General form" in result.output and "proved by" in result.output
        if loss == "multiclass_hinge":
            assert LOSSES[loss].kink in result.output


@pytest.mark.parametrize("loss", sorted(NETS))
def test_json_reads_back_through_verifys_grammar(loss):
    from symbackprop._equation import functions_for, resolver
    from symbackprop._grammar import parse_expression
    act, name = NETS[loss]
    net = sb.network("2-2-2", activation=act, loss=name, bias=True)
    d = sb.derive(net)
    data = json.loads(d.to_json())
    resolve, functions = resolver(net), functions_for(net)
    assert parse_expression(data["loss"], resolve, functions) == d.loss
    for section, exprs in (("forward", d.forward), ("delta", d.deltas), ("gradient", d.gradients)):
        for key, text in data[section].items():
            assert parse_expression(text, resolve, functions) == exprs[key], (section, key, text)


@pytest.mark.parametrize("loss,right,wrong", [
    ("nll", "a1[2]*(exp(a1[3]) - t1)", "a1[2]*(a1[3] - t1)"),
    ("multiclass_hinge", "a1[2]*((1 - t1)*relu'(a1[3] - t1*a1[3] - t2*a2[3] + 1) - t1*((1 - t1)*relu'(a1[3] - "
                         "t1*a1[3] - t2*a2[3] + 1) + (1 - t2)*relu'(a2[3] - t1*a1[3] - t2*a2[3] + 1)))",
     "a1[2]*(1 - t1)*relu'(a1[3] - t1*a1[3] - t2*a2[3] + 1)"),
])
def test_verify_grades_hand_derivations(cli_run, loss, right, wrong):
    act, name = NETS[loss]
    base = ["verify", "2-2-2", "--activation", act, "--loss", name]
    assert cli_run(*base, f"dE/dw11[2] = {right}").exit_code == 0
    result = cli_run(*base, f"dE/dw11[2] = {wrong}")
    assert result.exit_code == 1 and "e.g. at" in result.output and "you wrote relu'" not in result.output


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("loss", sorted(NETS))
@pytest.mark.parametrize("batch", [1, 7])
def test_compiled_gradients_equal_the_hand_written_backprop(loss, batch):
    act, name = NETS[loss]
    f = sb.compile(sb.network("3-4-3", activation=act, loss=name))
    rng = np.random.default_rng(11 + batch)
    W1, W2, X, y = _point(rng, batch)
    T = np.eye(3)[y]
    E, dW, _ = f([W1, W2], None, X, T)
    E_hand, dW1, dW2 = two_layer_by_hand(loss, W1, W2, X, y)
    assert math.isclose(E, E_hand, rel_tol=1e-12, abs_tol=1e-12)
    assert np.allclose(dW[0], dW1, rtol=1e-10, atol=1e-12) and np.allclose(dW[1], dW2, rtol=1e-10, atol=1e-12)
    E32, dW32, _ = f([W1.astype(np.float32), W2.astype(np.float32)], None, X.astype(np.float32), T.astype(np.float32))
    assert E32.dtype == np.float32 and dW32[0].dtype == np.float32
    assert math.isclose(E32, E_hand, rel_tol=1e-4, abs_tol=1e-4)
    assert np.allclose(dW32[1], dW2, rtol=1e-3, atol=1e-4)


def test_log_softmax_stays_finite_for_large_z():
    f = sb.compile(sb.network("1-3", activation="log_softmax", loss="nll"))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for batch in (1, 2):
            E, dW, _ = f([np.array([[900.0, 0.0, -900.0]])], None, np.ones((batch, 1)), np.tile([[0.0, 0.0, 1.0]], (batch, 1)))
            assert math.isclose(E, 1800.0 * batch) and np.isfinite(dW[0]).all()


@pytest.mark.parametrize("loss", sorted(NETS))
def test_eval_command_gives_the_hand_numbers(tmp_path, cli_run, loss):
    act, name = NETS[loss]
    rng = np.random.default_rng(5)
    W1, W2, X, y = _point(rng, 1)
    values = {f"w{i + 1}{j + 1}[1]": W1[i, j] for i in range(3) for j in range(4)}
    values.update({f"w{i + 1}{j + 1}[2]": W2[i, j] for i in range(4) for j in range(3)})
    values.update({f"x{i + 1}": X[0, i] for i in range(3)})
    values.update({f"t{j + 1}": float(j == y[0]) for j in range(3)})
    vfile = tmp_path / "values.json"
    vfile.write_text(json.dumps(values))
    result = cli_run("eval", "3-4-3", "--activation", act, "--loss", name, "--values", str(vfile), "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    E, dW1, dW2 = two_layer_by_hand(loss, W1, W2, X, y)
    assert math.isclose(out["loss"], E, rel_tol=1e-12)
    assert math.isclose(out["gradient"]["w23[1]"], dW1[1, 2], rel_tol=1e-10, abs_tol=1e-14)
    assert math.isclose(out["gradient"]["w32[2]"], dW2[2, 1], rel_tol=1e-10, abs_tol=1e-14)


@pytest.mark.parametrize("spec,act,loss", [
    ("3-4-3", "tanh,log_softmax", "nll"), ("2-3-4", "relu,linear", "multiclass_hinge"),
    ("2-3-3", "tanh,sigmoid", "multiclass_hinge"), ("2-3-3", "tanh,elu", "multiclass_hinge"),
])
def test_check_agrees_on_every_pair(spec, act, loss):
    report = sb.check(sb.network(spec, activation=act, loss=loss, bias=True), samples=4, batch=3, seed=2)
    assert report, [str(r) for r in report.failures]


def test_check_and_exercises_draw_one_hot_targets(cli_run):
    from symbackprop._check import random_targets
    rng = np.random.default_rng(0)
    for loss, out in (("nll", "log_softmax"), ("multiclass_hinge", "linear")):
        t = random_targets(LOSSES[loss], out, rng, (30,), 4)
        assert set(np.unique(t)) == {0.0, 1.0} and np.array_equal(t.sum(axis=1), np.ones(30))
        act = "tanh," + out
        r = cli_run("exercise", "2-2-3", "--activation", act, "--loss", loss, "--seed", "3")
        assert r.exit_code == 0, r.output
        line = next(part for part in r.output.splitlines() if part.startswith("Targets:"))
        assert sorted(v.split("=")[1].strip() for v in line[8:].split(",")) == ["0.00", "0.00", "1.00"], line


@pytest.mark.parametrize("loss", sorted(NETS))
def test_cost_and_draw_run(cli_run, loss):
    act, name = NETS[loss]
    for command in (["cost", "2-3-3", "--activation", act, "--loss", name, "--repeat", "1"],
                    ["draw", "2-3-3", "--activation", act, "--loss", name]):
        result = cli_run(*command)
        assert result.exit_code == 0, (command, result.output)


# ---------------------------------------------------------------- other kinds of network
def test_recurrent_networks_take_log_softmax_with_nll():
    net = sb.rnn(2, 2, 3, 3, activation="tanh", output_activation="log_softmax", loss="nll", bias=True)
    assert sb.check(net, samples=3, seed=5)
    small = sb.rnn(1, 1, 2, 2, activation="tanh", output_activation="log_softmax", loss="nll")
    proof = sb.prove(sb.derive(small))
    assert proof and all(proof.values())
    out = json.loads(sb.derive(net).to_json())
    assert sb.verify(net, f"dE/dv11 = {out['gradient']['v11']}")


def test_conv_networks_take_log_softmax_with_nll(tmp_path):
    spec = tmp_path / "conv.toml"
    spec.write_text('inputs = [1, 3, 3]\nloss = "nll"\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\n'
                    'activation = "tanh"\n[[layer]]\nsize = 3\nactivation = "log_softmax"\nbias = true\n')
    net = sb.network(str(spec))
    assert sb.check(net, samples=3, seed=1)


def test_kinds_without_the_coupled_loss_refuse_it_in_one_line():
    with pytest.raises(SpecError, match="loss multiclass_hinge is not available for this kind") as err:
        sb.rnn(2, 2, 3, 3, activation="tanh", output_activation="linear", loss="multiclass_hinge")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_take_log_softmax_with_nll(cell):
    """Printed, compiled, reference and finite differences agree; the δ shortcut exp(y) − t; --prove passes."""
    assert sb.check(sb.rnn(2, 2, 3, 3, cell=cell, output_activation="log_softmax", loss="nll", bias=True),
                    samples=2)
    d = sb.derive(sb.rnn(1, 1, 2, 2, cell=cell, output_activation="log_softmax", loss="nll"), prove=True)
    assert all(d.proof.values())
    assert d.errors["q1<2>"] == sympy.exp(d.symbol("y1<2>")) - d.symbol("t1<2>")


def test_batch_stacks_take_log_softmax_with_nll():
    spec = {"inputs": 2, "batch": 3, "loss": "nll", "layer": [{"size": 3, "activation": "linear"},
                                                               {"kind": "batchnorm"},
                                                               {"size": 3, "activation": "log_softmax", "bias": True}]}
    net = sb.network(spec)
    assert sb.check(net, samples=2)
    d = sb.derive(net)
    assert d.deltas["delta2[4]<3>"] == sympy.exp(d.symbol("a2[4]<3>")) - d.symbol("t2<3>")
    small = sb.network({"inputs": 1, "batch": 2, "loss": "nll",
                        "layer": [{"kind": "batchnorm"}, {"size": 2, "activation": "log_softmax"}]})
    assert all(sb.derive(small, prove=True).proof.values())


def test_eval_refuses_targets_the_shortcut_cannot_take():
    """δ = p − t needs targets summing to 1, the multiclass hinge one class: eval says so rather than print
    gradients of another E (every kind: the dense code, the RNN's, and the printed formulas of the rest)."""
    weights = {"w11[1]": 0.5, "w21[1]": -0.2, "w12[1]": 0.1, "w22[1]": 0.3, "x1": 1.0, "x2": 0.5}
    net = sb.network("2-2", activation="log_softmax", loss="nll")
    with pytest.raises(sb.ValuesError, match="summing to 1"):
        sb.evaluate(net, {**weights, "t1": 1, "t2": 1})
    assert sb.evaluate(net, {**weights, "t1": 0.25, "t2": 0.75}).loss > 0
    hinge = sb.network("2-2", activation="linear", loss="multiclass_hinge")
    with pytest.raises(sb.ValuesError, match="one-hot"):
        sb.evaluate(hinge, {**weights, "t1": 0.5, "t2": 0.5})
    gated = sb.rnn(1, 1, 2, 1, cell="gru", output_activation="softmax", loss="cross_entropy")
    values = {p.name: 0.3 for p in gated.parameters()} | {"x1<1>": 1.0, "t1<1>": 0.6, "t2<1>": 0.6}
    with pytest.raises(sb.ValuesError, match="t1<1>, t2<1>"):
        sb.evaluate(gated, values)
