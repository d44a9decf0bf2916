"""sb.evaluate, sb.draw, Derivation.symbol and Derivation.subs (issue 19, item 2).

Numbers are compared with the CLI's JSON (the same kind's code, reached another way) and
with hand computations; names with the symbols inside the derivation's own expressions.
"""
import json
import math
from pathlib import Path

import pytest
import sympy

import symbackprop as sb
from symbackprop import SpecError, ValuesError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONV = {"inputs": [1, 3, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2, "activation": "tanh"},
                                      {"size": 1, "activation": "sigmoid"}]}
CONV_TOML = ('inputs = [1, 3, 3]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\nactivation = "tanh"\n'
             '[[layer]]\nsize = 1\nactivation = "sigmoid"\n')


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


# ---------------------------------------------------------------- evaluate
def test_evaluate_a_1_1_sigmoid_net_by_hand():
    w, b, x, t, lr = 0.5, 0.1, 2.0, 1.0, 0.3
    r = sb.evaluate("1-1", {"w11[1]": w, "b1[2]": b, "x1": x, "t1": t}, activation="sigmoid", bias=True, lr=lr)
    a = _sigmoid(w * x + b)
    delta = (a - t) * a * (1 - a)
    assert r.loss == pytest.approx((a - t) ** 2 / 2, rel=1e-12)
    assert r.forward["z1[2]"] == [pytest.approx(w * x + b)]
    assert r.forward["a1[2]"] == [pytest.approx(a, rel=1e-12)]
    assert r.delta["delta1[2]"] == [pytest.approx(delta, rel=1e-12)]
    assert r.gradient == pytest.approx({"w11[1]": delta * x, "b1[2]": delta}, rel=1e-12)
    assert r.updated == pytest.approx({"w11[1]": w - lr * delta * x, "b1[2]": b - lr * delta}, rel=1e-12)


def test_evaluate_without_lr_has_no_update():
    r = sb.evaluate("1-1", {"w11[1]": 0.5, "x1": 2, "t1": 0}, activation="linear")
    assert r.updated is None and r.loss == 0.5


def _cli_json(cli_run, tmp_path, spec, values, *extra):
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    result = cli_run("eval", *spec, "--values", str(path), "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _same_numbers(ours, theirs):
    assert set(ours) == set(theirs)
    for k, v in ours.items():
        assert theirs[k] == pytest.approx(v[0] if isinstance(v, list) and len(v) == 1 else v, rel=1e-12, abs=1e-15)


def test_evaluate_equals_the_cli_json_for_a_dense_batch(cli_run, tmp_path):
    values = {"w11[1]": 0.1, "w12[1]": -0.4, "w21[1]": 0.7, "w22[1]": 0.2, "w11[2]": 0.3, "w12[2]": -0.6,
              "w21[2]": 0.5, "w22[2]": 0.9, "b1[2]": 0.05, "b2[2]": -0.1, "b1[3]": 0.2, "b2[3]": 0.0,
              "samples": [{"x1": 1.0, "x2": -2.0, "t1": 0.0, "t2": 1.0}, {"x1": 0.5, "x2": 0.25, "t1": 1.0, "t2": 0.0}]}
    ours = sb.evaluate("2-2-2", values, activation="sigmoid", bias=True, lr=0.5)
    theirs = _cli_json(cli_run, tmp_path, ["2-2-2", "--activation", "sigmoid", "--bias"], values, "--lr", "0.5")
    assert theirs["loss"] == pytest.approx(ours.loss, rel=1e-12)
    assert ours.batch == 2
    _same_numbers(ours.forward, theirs["forward"])
    _same_numbers(ours.delta, theirs["delta"])
    _same_numbers(ours.gradient, theirs["gradient"])
    _same_numbers(ours.updated, theirs["updated"])


def test_evaluate_reads_values_files_by_path(tmp_path):
    spec = str(EXAMPLES / "rnn-1-1-1.toml")
    from_path = sb.evaluate(spec, EXAMPLES / "rnn-1-1-1-values.json")
    from_text = sb.evaluate(spec, str(EXAMPLES / "rnn-1-1-1-values.json"))
    data = json.loads((EXAMPLES / "rnn-1-1-1-values.json").read_text(encoding="utf-8"))
    toml = tmp_path / "values.toml"
    toml.write_text("\n".join(f'"{k}" = {v}' for k, v in data.items()) + "\n", encoding="utf-8")
    from_toml = sb.evaluate(spec, toml)
    from_dict = sb.evaluate(spec, data)
    assert from_path.gradient == from_text.gradient == from_toml.gradient == from_dict.gradient
    assert from_path.loss == from_dict.loss


def test_evaluate_an_rnn_equals_the_cli_and_passes_truncate_and_report(cli_run):
    spec, values = str(EXAMPLES / "rnn-1-1-1.toml"), str(EXAMPLES / "rnn-1-1-1-values.json")
    ours = sb.evaluate(spec, values, lr=0.1, truncate=1, report=True)
    result = cli_run("eval", spec, "--values", values, "--lr", "0.1", "--truncate", "1", "--report", "--format", "json")
    assert result.exit_code == 0, result.output
    theirs = json.loads(result.output)
    assert theirs["loss"] == pytest.approx(ours.loss, rel=1e-12)
    assert theirs["gradient"] == pytest.approx(ours.gradient, rel=1e-12)
    assert ours.truncate == 1 and ours.truncated is not None and ours.report is not None
    assert ours.truncated != ours.gradient            # one-step chunks drop the recurrent terms


def test_evaluate_a_graph_by_hand_and_every_node():
    g = sb.graph("q = x + y; f = q*z")
    r = sb.evaluate(g, {"x": -2, "y": 5, "z": -4}, lr=0.5)
    assert (r.value, r.forward) == (-12.0, {"q": 3.0, "f": -12.0})
    assert r.gradient == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert r.updated == {"x": 0.0, "y": 7.0, "z": -5.5}
    every = sb.evaluate(g, {"x": -2, "y": 5, "z": -4}, every_node=True)
    assert every.gradient["q"] == -4.0 and every.gradient["f"] == 1.0


def test_evaluate_a_conv_net_equals_the_cli_json(cli_run, tmp_path):
    net = sb.network(CONV)
    names = [s.name for s in sb.derive(net).base_symbols()]
    values = {n: round(0.1 * (i % 7) - 0.3, 2) for i, n in enumerate(names)}
    ours = sb.evaluate(net, values, lr=0.5)
    spec = tmp_path / "conv.toml"
    spec.write_text(CONV_TOML, encoding="utf-8")
    theirs = _cli_json(cli_run, tmp_path, [str(spec)], values, "--lr", "0.5")
    assert theirs["loss"] == pytest.approx(ours.loss, rel=1e-12)
    _same_numbers(ours.gradient, theirs["gradient"])
    _same_numbers(ours.updated, theirs["updated"])


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_evaluate_refuses_a_bad_learning_rate(lr):
    with pytest.raises(ValuesError, match="learning rate"):
        sb.evaluate("1-1", {"w11[1]": 0.5, "x1": 2, "t1": 0}, activation="linear", lr=lr)


def test_evaluate_refuses_bad_values_and_options(tmp_path):
    with pytest.raises(ValuesError, match="must be a dict"):
        sb.evaluate("1-1", [("w11[1]", 0.5)], activation="linear")
    with pytest.raises(ValuesError, match="missing"):
        sb.evaluate("1-1", {"w11[1]": 0.5}, activation="linear")
    with pytest.raises(ValuesError):
        sb.evaluate("1-1", tmp_path / "absent.json", activation="linear")
    with pytest.raises(SpecError, match="every_node"):
        sb.evaluate("1-1", {"w11[1]": 0.5, "x1": 2, "t1": 0}, every_node=True)
    with pytest.raises(SpecError, match="truncate"):
        sb.evaluate("1-1", {"w11[1]": 0.5, "x1": 2, "t1": 0}, truncate=2)


# ---------------------------------------------------------------- draw
@pytest.mark.parametrize("spec", ["2-3-1", str(EXAMPLES / "rnn-1-1-1.toml"), "q = x + y; f = q*z",
                                  str(EXAMPLES / "conv-1x4x4.toml")])
@pytest.mark.parametrize("options", [[], ["--standalone"], ["--format", "svg"]])
def test_draw_equals_the_cli_for_every_kind(cli_run, spec, options):
    result = cli_run("draw", spec, *options)
    assert result.exit_code == 0, result.output
    ours = sb.draw(spec, standalone="--standalone" in options, fmt="svg" if "svg" in options else "tikz")
    assert ours == result.output.rstrip("\n") or ours == result.output
    assert ours.startswith("<svg" if "svg" in options else "\\")


def test_draw_a_graph_at_a_point_equals_the_cli(cli_run):
    result = cli_run("draw", "q = x + y; f = q*z", "--at", "x=-2,y=5,z=-4")
    assert result.exit_code == 0, result.output
    ours = sb.draw(sb.graph("q = x + y; f = q*z"), at={"x": -2, "y": 5, "z": -4})
    assert ours in (result.output, result.output.rstrip("\n"))
    assert ours != sb.draw(sb.graph("q = x + y; f = q*z"))


def test_draw_refuses_bad_options():
    with pytest.raises(SpecError, match="tikz"):
        sb.draw("2-3-1", fmt="png")
    with pytest.raises(SpecError, match="standalone"):
        sb.draw("2-3-1", standalone=True, fmt="svg")
    with pytest.raises(SpecError, match="at="):
        sb.draw("2-3-1", at={"x": 1})


# ---------------------------------------------------------------- symbol and subs
KINDS = [("2-3-1", ["a1[2]", "w11[1]", "δ1[3]", "delta1[3]", "x1", "t1", "z2[2]"]),
         (sb.rnn(1, 2, 1, 2), ["h1<1>", "u11", "δ1<2>", "x1<2>", "h1<0>"]),
         (sb.graph("q = x + y; f = q*z"), ["x", "q", "f", "df/dq", "∂f/∂q"]),
         (sb.network(CONV), ["k1111[1]", "w11[2]", "x111", "x1,1,1", "δ1[3]", "a111[2]"])]


@pytest.mark.parametrize("spec, names", KINDS, ids=["dense", "rnn", "graph", "conv"])
def test_symbol_is_the_symbol_inside_the_expressions(spec, names):
    d = sb.derive(spec)
    inside = set()
    for expr in [*d.forward.values(), *d.deltas.values(), *d.gradients.values(), d.loss]:
        inside |= expr.free_symbols
    inside |= set(d.symbols.values())
    for name in names:
        s = d.symbol(name)
        assert isinstance(s, sympy.Symbol) and s in inside
        assert d.symbol(f"  {name} ") is s


@pytest.mark.parametrize("spec, names", KINDS, ids=["dense", "rnn", "graph", "conv"])
def test_an_unknown_name_is_a_key_error_naming_valid_ones(spec, names):
    d = sb.derive(spec)
    with pytest.raises(KeyError) as err:
        d.symbol("nonsense9")
    message = str(err.value)
    assert "nonsense9" in message and "e.g." in message
    given = message.rsplit("e.g. ", 1)[1].rstrip("\"'").split(", ")
    assert len(given) == 3 and all(d.symbol(n) for n in given)


def test_symbol_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="text"):
        sb.derive("2-3-1").symbol(3)


def test_subs_with_names_works_where_sympy_subs_does_nothing():
    d = sb.derive("2-3-1")
    g = d.gradient("w11[2]")
    assert g.subs({"a1[2]": 2}) == g                  # the pitfall: SymPy makes a new, other symbol
    assert d.subs(g, {"a1[2]": 2}) == 2 * d.symbol("delta1[3]")
    assert d.subs(g, {"a1[2]": 2}) == g.subs({d.symbol("a1[2]"): 2})
    assert d.subs(g, [("a1[2]", 2), ("δ1[3]", sympy.Rational(1, 4))]) == sympy.Rational(1, 2)
    assert d.subs(g, {d.symbol("a1[2]"): "x1"}) == d.symbol("x1") * d.symbol("delta1[3]")


def test_subs_refuses_unknown_names_and_text_expressions():
    d = sb.derive("2-3-1")
    with pytest.raises(KeyError, match="a9"):
        d.subs(d.gradient("w11[2]"), {"a9[2]": 1})
    with pytest.raises(KeyError):
        d.subs(d.gradient("w11[2]"), {"a1[2]": "not a name"})
    with pytest.raises(TypeError, match="SymPy expression"):
        d.subs("a1[2]*delta1[3]", {"a1[2]": 1})


def test_subs_at_evaluate_s_numbers_gives_evaluate_s_gradient():
    values = {"w11[1]": 0.5, "b1[2]": 0.1, "x1": 2.0, "t1": 1.0}
    r = sb.evaluate("1-1", values, activation="sigmoid", bias=True)
    d = sb.derive("1-1", activation="sigmoid", bias=True)
    point = {"x1": 2.0, "delta1[2]": r.delta["delta1[2]"][0]}
    for name in ("w11[1]", "b1[2]"):
        assert float(d.subs(d.gradient(name), point)) == pytest.approx(r.gradient[name], rel=1e-12)


def test_subs_in_the_other_kinds():
    r = sb.derive(sb.rnn(1, 1, 1, 2))
    assert r.subs(r.gradient("u11"), {"x1<1>": 0, "x1<2>": 1}) == r.symbol("delta1<2>")
    g = sb.derive(sb.graph("q = x + y; f = q*z"))
    assert g.subs(g.gradient("z"), {"q": 3}) == 3
    c = sb.derive(sb.network(CONV))
    assert c.subs(c.gradient("w11[2]"), {"a111[2]": 0}) == 0


def test_the_readme_example_of_evaluate_draw_and_names_runs(monkeypatch):
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("Numbers, drawings, and names as SymPy symbols (every kind: dense, recurrent, graph, conv):"
                         "\n\n```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    namespace = {"sb": sb}
    exec(block, namespace)   # the README's own example, run as a user would
    assert namespace["g"].subs({namespace["a"]: 2}) == 2 * namespace["d"].symbol("delta1[3]")
    assert namespace["tikz"].startswith("\\documentclass")
    assert namespace["r"].gradient["u11"] == pytest.approx(0.1642, abs=1e-4)
