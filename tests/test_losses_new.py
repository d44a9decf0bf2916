"""Issue 18, item 4: the Huber loss (with huber_delta) and the hinge loss, in every command.

Every number here is compared with an independent computation: the textbook formulas in NumPy
(written out below, not taken from the package), a hand-written backprop of a small network,
central finite differences, and ``sympy.diff`` of the nested E.
"""
import json
import math

import numpy as np
import pytest
import sympy

import symbackprop as sb
import symbackprop.extend  # noqa: F401 (sb.extend)
from symbackprop import SpecError
from symbackprop._equation import functions_for, resolver
from symbackprop._grammar import parse_expression
from symbackprop._losses import huber

LOSSES = sb.extend.losses()                                       # the loss registry, read-only
A, T = sympy.Symbol("a", positive=True), sympy.Symbol("t", real=True)     # the symbols a loss term is written in

# every activation an output node may have with these losses (softmax: huber only)
ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear", "elu", "gelu", "silu", "softsign",
               "hardtanh", "hard_sigmoid", "z/(1+abs(z))"]


# ---------------------------------------------------------------- the textbook, by hand
def huber_by_hand(u, d):
    """Huber (1964): u²/2 for |u| ≤ δ, δ(|u| − δ/2) beyond; its derivative u clipped to [−δ, δ]."""
    u = np.asarray(u, dtype=float)
    return np.array([x * x / 2 if abs(x) <= d else d * (abs(x) - d / 2) for x in u.ravel()]).reshape(u.shape)


def huber_slope_by_hand(u, d):
    u = np.asarray(u, dtype=float)
    return np.array([x if abs(x) <= d else math.copysign(d, x) for x in u.ravel()]).reshape(u.shape)


def hinge_by_hand(a, t):
    return np.maximum(0.0, 1.0 - t * a)


def hinge_slope_by_hand(a, t):
    """−t where the margin t·a is under 1, else 0 (0 at t·a = 1, the subgradient the package states)."""
    return np.where(t * a < 1.0, -t, 0.0)


def _lambdified(expr):
    return sympy.lambdify((A, T), expr, modules="numpy")


GRID_A = np.array([-3.0, -1.5, -0.5, -0.1, 0.0, 0.2, 0.9, 1.0, 1.7, 4.0])
GRID_T = np.array([-1.0, -0.3, 0.0, 0.5, 1.0])


@pytest.mark.parametrize("d", [1.0, 0.5, 2.0, 1.35])
def test_huber_term_and_its_derivative_are_the_textbook_ones(d):
    a, t = np.meshgrid(GRID_A, GRID_T)
    term = huber(d).term(A, T)
    assert np.allclose(_lambdified(term)(a, t), huber_by_hand(a - t, d), rtol=1e-14, atol=1e-15)
    assert np.allclose(_lambdified(sympy.diff(term, A))(a, t), huber_slope_by_hand(a - t, d), rtol=1e-14, atol=1e-15)


def test_hinge_term_and_its_derivative_are_the_textbook_ones():
    a, t = np.meshgrid(GRID_A, np.array([-1.0, 1.0, 0.5]))
    term = LOSSES["hinge"].term(A, T)
    assert np.allclose(_lambdified(term)(a, t), hinge_by_hand(a, t), rtol=0, atol=1e-15)
    assert np.allclose(_lambdified(sympy.diff(term, A))(a, t), hinge_slope_by_hand(a, t), rtol=0, atol=1e-15)


def test_hinge_term_is_max_of_zero_and_the_margin_symbolically():
    relu = sb.extend.activations()["relu"].functions[0]
    term = LOSSES["hinge"].term(A, T).replace(relu, lambda u: sympy.Max(0, u))
    assert term == sympy.Max(0, 1 - A * T)


@pytest.mark.parametrize("d", [1.0, 0.25, 3.0])
def test_huber_at_the_threshold_both_branches_meet(d):
    """At |a − t| = δ the value and the slope of both branches agree, so the one taken (stated) is the
    only one there is: checked against the hand formula from either side, by finite differences."""
    for u in (d, -d):
        term = huber(d).term(A, T)
        f, fp = _lambdified(term), _lambdified(sympy.diff(term, A))
        for side in (-1e-7, 0.0, 1e-7):
            assert math.isclose(float(f(u + side, 0.0)), float(huber_by_hand(np.array([u + side]), d)[0]),
                                rel_tol=1e-12)
        fd = (float(f(u + 1e-6, 0.0)) - float(f(u - 1e-6, 0.0))) / 2e-6
        assert math.isclose(float(fp(u, 0.0)), math.copysign(d, u), rel_tol=1e-12)
        assert math.isclose(fd, math.copysign(d, u), rel_tol=1e-5)     # h/2 of a jump in curvature


def test_hinge_at_the_kink_takes_zero_as_stated():
    fp = _lambdified(sympy.diff(LOSSES["hinge"].term(A, T), A))
    assert float(fp(1.0, 1.0)) == 0.0 and float(fp(-1.0, -1.0)) == 0.0
    from symbackprop._tables import LOSSES as BY_HAND        # the reference takes the same subgradient
    assert float(BY_HAND["hinge"][1](np.array(1.0), np.array(1.0))) == 0.0
    assert "taken as 0" in LOSSES["hinge"].kink


@pytest.mark.parametrize("loss", [LOSSES["huber"], LOSSES["hinge"], huber(2.5)], ids=lambda l: str(l.settings or l.name))
def test_stated_words_print_as_they_stand_in_every_format(loss):
    """The kink and description go into text, Markdown and LaTeX as they are: plain ASCII with nothing
    those formats would read as markup (* in Markdown; _ < > | in LaTeX text)."""
    for words in (loss.kink, loss.description):
        assert words and words.isascii() and not set(words) & set("*_<>|$%&#")


def test_huber_numpy_forms_equal_the_definition_and_stay_finite():
    from symbackprop._losses import FUNCTIONS
    u = np.array([-1e300, -40.0, -1.0, -0.999, -0.3, 0.0, 0.3, 1.0, 1.001, 40.0, 1e300])
    with np.errstate(all="raise"):
        value = sympy.lambdify(A, FUNCTIONS["huber"](A), modules="numpy")(u)
        slope = sympy.lambdify(A, FUNCTIONS["huber'"](A), modules="numpy")(u)
    assert np.allclose(value, huber_by_hand(u, 1.0), rtol=1e-15)
    assert np.array_equal(slope, huber_slope_by_hand(u, 1.0))


# ---------------------------------------------------------------- pairings
@pytest.mark.parametrize("out", ELEMENTWISE)
def test_every_output_activation_pairs_with_both(out):
    for loss in ("huber", "hinge"):
        net = sb.network("2-2-1", activation=f"tanh,{out}", loss=loss)
        assert net.loss.name == loss
    assert sb.network("2-2-3", activation="tanh,softmax", loss="huber").loss.name == "huber"


@pytest.mark.parametrize("spec,kw,fragment", [
    ("2-2-2", {"activation": "tanh,linear", "loss": "hinge"}, "takes one output node .* not 2: use one output node"),
    ("2-2-3", {"activation": "tanh,softmax", "loss": "hinge"}, "any output activation but softmax"),
    ("2-2-1", {"activation": "tanh,softmax", "loss": "hinge"}, "softmax needs at least 2 output nodes"),
    ("2-2-1", {"loss": "huberr"}, "unknown loss 'huberr': use one of .*huber, hinge"),
])
def test_invalid_pairings_are_one_line_errors_naming_the_valid_ones(spec, kw, fragment):
    with pytest.raises(SpecError, match=fragment) as err:
        sb.network(spec, **kw)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- huber_delta in specs
SPECS = {
    "compact.toml": 'layers = [2, 2, 1]\nactivation = ["tanh", "linear"]\nloss = "huber"\nhuber_delta = 0.5\n',
    "compact.json": '{"layers": [2, 2, 1], "activation": ["tanh", "linear"], "loss": "huber", "huber_delta": 0.5}',
    "list.toml": ('inputs = 2\nloss = "huber"\nhuber_delta = 0.5\n[[layer]]\nsize = 2\nactivation = "tanh"\n'
                  '[[layer]]\nsize = 1\nactivation = "linear"\n'),
    "list.json": ('{"inputs": 2, "loss": "huber", "huber_delta": 0.5, "layer": [{"size": 2, "activation": "tanh"}, '
                  '{"size": 1, "activation": "linear"}]}'),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_huber_delta_is_read_from_every_spec_form(tmp_path, name):
    path = tmp_path / name
    path.write_text(SPECS[name])
    net = sb.network(str(path))
    assert net.loss.settings == (("huber_delta", 0.5),)
    assert net.describe() == "2-2-1, tanh, linear, huber, no biases, huber_delta 0.5"
    d = sb.derive(net)
    a, t = d.symbols["a1[3]"], d.symbols["t1"]
    assert d.loss == sympy.Rational(1, 4) * sb.extend.losses()["huber"].term(2 * a, 2 * t)
    # the spec the derivation reports reads back to the same network
    again = tmp_path / "again.json"
    again.write_text(json.dumps(json.loads(d.to_json())["spec"]))
    assert sb.network(str(again)) == net


def test_the_default_threshold_is_one_and_is_not_written_out():
    net = sb.network("2-1", loss="huber")
    assert net.loss is huber(1.0) and net.loss.settings == ()
    assert net.as_dict() == {"layers": [2, 1], "activation": ["g"], "loss": "huber", "bias": False}


@pytest.mark.parametrize("value,fragment", [
    ("-1", "huber_delta = -1: give a positive number"),
    ("0", "huber_delta = 0: give a positive number"),
    ("nan", "huber_delta = nan: give a positive number"),
    ("inf", "huber_delta = inf: give a positive number"),
    ("true", "huber_delta = True: give a positive number"),
    ('"2"', "huber_delta has the wrong type"),
])
def test_a_bad_huber_delta_is_refused(tmp_path, value, fragment):
    path = tmp_path / "spec.toml"
    path.write_text(f'layers = [2, 1]\nloss = "huber"\nhuber_delta = {value}\n')
    with pytest.raises(SpecError, match=fragment):
        sb.network(str(path))


def test_huber_delta_belongs_to_huber_only(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('layers = [2, 1]\nloss = "mse"\nhuber_delta = 2\n')
    with pytest.raises(SpecError, match="huber_delta is a setting of loss huber, but the loss is mse"):
        sb.network(str(path))
    path.write_text('layers = [2, 1]\nloss = "huber"\nhuber_delta = 2\n')
    assert sb.network(str(path), loss="mae").loss.name == "mae"         # --loss puts another loss in its place
    for kept in ({"activation": "tanh"}, {"loss": "huber"}):        # a network given again keeps its threshold
        assert sb.network(sb.network(str(path)), **kept).loss.settings == (("huber_delta", 2.0),)


def test_the_reference_is_told_the_threshold():
    """The reference is handed the loss's name; the name carries the threshold."""
    from symbackprop._tables import loss_entry
    name = huber(3.0).name
    assert name == "huber" and str(name) == "huber" and json.dumps(name) == '"huber"'
    value, slope = loss_entry(name)
    assert float(value(np.array(5.0), np.array(0.0))) == 3.0 * (5.0 - 1.5)
    assert float(slope(np.array(-5.0), np.array(0.0))) == -3.0
    assert float(loss_entry("huber")[1](np.array(5.0), np.array(0.0))) == 1.0


# ---------------------------------------------------------------- numbers, against a hand-written backprop
def _by_hand(loss_value, loss_slope, W1, W2, x, t):
    """x → tanh → linear output, E = Σ term(a, t): backprop written out for this net alone."""
    z2 = x @ W1
    a2 = np.tanh(z2)
    a3 = a2 @ W2
    E = loss_value(a3, t).sum()
    d3 = loss_slope(a3, t)
    d2 = (d3 @ W2.T) * (1.0 - a2 ** 2)
    return E, x.T @ d2, a2.T @ d3


CASES = [
    ("huber", 1.0, lambda a, t: huber_by_hand(a - t, 1.0), lambda a, t: huber_slope_by_hand(a - t, 1.0)),
    ("huber", 0.5, lambda a, t: huber_by_hand(a - t, 0.5), lambda a, t: huber_slope_by_hand(a - t, 0.5)),
    ("huber", 2.5, lambda a, t: huber_by_hand(a - t, 2.5), lambda a, t: huber_slope_by_hand(a - t, 2.5)),
    ("hinge", None, hinge_by_hand, hinge_slope_by_hand),
]


def _network(tmp_path, loss, d):
    if d is None:
        return sb.network("3-4-1", activation="tanh,linear", loss=loss)
    path = tmp_path / "spec.toml"
    path.write_text(f'layers = [3, 4, 1]\nactivation = ["tanh", "linear"]\nloss = "huber"\nhuber_delta = {d}\n')
    return sb.network(str(path))


@pytest.mark.parametrize("loss,d,value,slope", CASES, ids=["huber", "huber0.5", "huber2.5", "hinge"])
def test_compiled_gradients_equal_the_hand_written_backprop_and_finite_differences(tmp_path, loss, d, value, slope):
    net = _network(tmp_path, loss, d)
    f = sb.compile(net)
    rng = np.random.default_rng(7)
    W1, W2 = rng.normal(0, 1.5, (3, 4)), rng.normal(0, 1.5, (4, 1))
    X = rng.uniform(-2, 2, (12, 3))
    T_ = rng.choice([-1.0, 1.0], (12, 1)) if loss == "hinge" else rng.uniform(-3, 3, (12, 1))
    E, dW, _ = f([W1, W2], None, X, T_)
    E_hand, dW1, dW2 = _by_hand(value, slope, W1, W2, X, T_)
    assert math.isclose(E, E_hand, rel_tol=1e-12)
    assert np.allclose(dW[0], dW1, rtol=1e-10, atol=1e-12) and np.allclose(dW[1], dW2, rtol=1e-10, atol=1e-12)
    h = 1e-6                                     # finite differences of the hand-written E
    for k, W in ((0, W1), (1, W2)):
        for idx in np.ndindex(W.shape):
            Wp, Wm = W.copy(), W.copy()
            Wp[idx] += h
            Wm[idx] -= h
            args = lambda M: (M, W2) if k == 0 else (W1, M)         # noqa: E731
            fd = (_by_hand(value, slope, *args(Wp), X, T_)[0] - _by_hand(value, slope, *args(Wm), X, T_)[0]) / (2 * h)
            assert math.isclose(dW[k][idx], fd, rel_tol=1e-5, abs_tol=1e-7)
    # both branches (and, for hinge, both sides of the margin) are visited by these points
    a3 = np.tanh(X @ W1) @ W2
    inside = (np.abs(a3 - T_) <= (d or 0)) if loss == "huber" else (T_ * a3 < 1)
    assert inside.any() and (~inside).any()


@pytest.mark.parametrize("loss,d,value,slope", CASES, ids=["huber", "huber0.5", "huber2.5", "hinge"])
def test_eval_command_gives_the_hand_numbers(tmp_path, cli_run, loss, d, value, slope):
    net = _network(tmp_path, loss, d)
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(0, 1.5, (3, 4)), rng.normal(0, 1.5, (4, 1))
    x, t = rng.uniform(-2, 2, (1, 3)), np.array([[1.0 if loss == "hinge" else 2.2]])
    values = {f"w{i + 1}{j + 1}[1]": W1[i, j] for i in range(3) for j in range(4)}
    values.update({f"w{i + 1}1[2]": W2[i, 0] for i in range(4)})
    values.update({"x1": x[0, 0], "x2": x[0, 1], "x3": x[0, 2], "t1": t[0, 0]})
    vfile = tmp_path / "values.json"
    vfile.write_text(json.dumps(values))
    spec = str(tmp_path / "spec.toml") if d is not None else "3-4-1"
    extra = [] if d is not None else ["--activation", "tanh,linear", "--loss", loss]
    result = cli_run("eval", spec, *extra, "--values", str(vfile), "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    E, dW1, dW2 = _by_hand(value, slope, W1, W2, x, t)
    assert math.isclose(out["loss"], E, rel_tol=1e-12)
    assert math.isclose(out["gradient"]["w23[1]"], dW1[1, 2], rel_tol=1e-10, abs_tol=1e-14)
    assert math.isclose(out["gradient"]["w31[2]"], dW2[2, 0], rel_tol=1e-10, abs_tol=1e-14)


@pytest.mark.parametrize("loss", ["huber", "hinge"])
@pytest.mark.parametrize("out", ["linear", "sigmoid", "tanh", "relu", "z/(1+abs(z))"])
def test_delta_form_equals_sympy_diff_of_the_nested_loss(loss, out):
    proof = sb.prove(sb.derive(sb.network("2-2-1", activation=f"tanh,{out}", loss=loss, bias=True)))
    assert proof and all(proof.values()), proof


def test_huber_delta_form_with_a_threshold_equals_sympy_diff(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('layers = [2, 2, 2]\nactivation = ["sigmoid", "softmax"]\nloss = "huber"\nhuber_delta = 0.3\n')
    proof = sb.prove(sb.derive(sb.network(str(path))))
    assert all(proof.values()), proof


# ---------------------------------------------------------------- every command and format
@pytest.mark.parametrize("loss", ["huber", "hinge"])
def test_json_reads_back_through_verifys_grammar(loss):
    net = sb.network("2-2-1", activation="sigmoid,tanh", loss=loss, bias=True)
    d = sb.derive(net)
    data = json.loads(d.to_json())
    resolve, functions = resolver(net), functions_for(net)
    assert parse_expression(data["loss"], resolve, functions) == d.loss
    for section, exprs in (("forward", d.forward), ("delta", d.deltas), ("gradient", d.gradients)):
        for name, text in data[section].items():
            assert parse_expression(text, resolve, functions) == exprs[name], (section, name, text)
    for name, text in data["expanded"].items():
        assert sb.verify(net, f"dE/d{name} = {text}")


def test_json_of_a_threshold_reads_back(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('layers = [2, 1]\nactivation = "linear"\nloss = "huber"\nhuber_delta = 0.25\n')
    net = sb.network(str(path))
    data = json.loads(sb.derive(net).to_json())
    assert data["loss"] == "huber(4*a1[2] - 4*t1)/16"
    assert data["delta"]["delta1[2]"] == "huber'(4*a1[2] - 4*t1)/4"
    assert data["spec"]["huber_delta"] == 0.25


@pytest.mark.parametrize("loss,right,wrong", [
    ("huber", "a1[2]*huber'(a1[3] - t1)", "a1[2]*(a1[3] - t1)"),
    ("hinge", "-t1*a1[2]*relu'(1 - t1*a1[3])", "-t1*a1[2]"),
])
def test_verify_grades_hand_derivations(cli_run, loss, right, wrong):
    base = ["verify", "2-2-1", "--activation", "tanh,linear", "--loss", loss]
    assert cli_run(*base, f"dE/dw11[2] = {right}").exit_code == 0
    result = cli_run(*base, f"dE/dw11[2] = {wrong}")
    assert result.exit_code == 1 and "e.g. at" in result.output


@pytest.mark.parametrize("loss", ["huber", "hinge"])
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "html"])
def test_derive_writes_every_format(cli_run, loss, fmt):
    result = cli_run("derive", "2-2-1", "--activation", "tanh,linear", "--loss", loss, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt != "json":
        assert LOSSES[loss].kink in result.output
    if fmt == "latex":
        assert ("\\mathrm{huber}" if loss == "huber" else "\\mathrm{ReLU}") in result.output


@pytest.mark.parametrize("loss", ["huber", "hinge"])
def test_ascii_text_and_the_other_commands(cli_run, loss):
    base = ["2-3-1", "--activation", "tanh,linear", "--loss", loss]
    ascii_text = cli_run("derive", *base, "--ascii")
    assert ascii_text.exit_code == 0 and ascii_text.output.isascii()
    for command in (["check", *base, "--samples", "4", "--batch", "3"], ["cost", *base, "--repeat", "1"],
                    ["draw", *base]):
        result = cli_run(*command)
        assert result.exit_code == 0, (command, result.output)


@pytest.mark.parametrize("loss", ["huber", "hinge"])
def test_recurrent_networks_take_them(loss):
    net = sb.rnn(2, 2, 1, 3, activation="tanh", output_activation="linear", loss=loss, bias=True)
    assert sb.check(net, samples=3, seed=5)
    out = json.loads(sb.derive(net).to_json())
    assert sb.verify(net, f"dE/dv11 = {out['gradient']['v11']}")


def test_graphs_do_not_take_the_loss_functions():
    with pytest.raises(SpecError, match="unknown function 'huber'"):
        sb.graph("f = huber(x - y)")


def test_hinge_targets_are_classes_in_check_and_in_exercises():
    """check and exercises draw the hinge loss's targets as +1 or −1, the classes it is defined for."""
    from symbackprop._check import random_targets
    rng = np.random.default_rng(0)
    t = random_targets(LOSSES["hinge"], "linear", rng, (50,), 1)
    assert set(np.unique(t)) == {-1.0, 1.0}
    net = sb.network("2-2-1", activation="tanh,linear", loss="hinge")
    assert sb.check(net, samples=3, seed=4)
    from click.testing import CliRunner
    from symbackprop.cli import cli
    for seed in range(1, 6):
        r = CliRunner().invoke(cli, ["exercise", "2-2-1", "--activation", "tanh,linear", "--loss", "hinge",
                                     "--seed", str(seed)])
        assert r.exit_code == 0, r.output
        line = next(part for part in r.output.splitlines() if part.startswith("Targets:"))
        assert line.split("=")[1].strip() in ("1", "1.00", "−1", "−1.00", "-1", "-1.00"), line
