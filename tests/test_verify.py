"""Issue 4: verify hand derivations — right forms accepted, mistakes named, hostile text refused."""
import json
import re
import time

import pytest

import symbackprop as sb
from symbackprop import ParseError

SEED = "2-3-1"
SOFTMAX = dict(spec="2-2-2", activation="sigmoid,softmax", loss="cross_entropy")
SIGBCE = dict(spec="2-2-1", activation="sigmoid", loss="bce", bias=True)

RIGHT = [
    (SEED, "dE/dw11[2] = delta1[3]*a1[2]"),
    (SEED, "dE/dw11[2] = a1[2] delta1[3]"),                                  # juxtaposition
    (SEED, "∂E/∂w11[2] = δ1[3]·a1[2]"),                                       # unicode
    (SEED, "dE/dw11[2] = (a1[3] - t1)*g'(z1[3])*a1[2]"),                      # product of factors
    (SEED, "dE/dw11[2] = (a1[3] − t1) × g'(z1[3]) × a1[2]"),                   # unicode operators
    (SEED, "dE/dw21[2] = (g(z1[3]) - t1) g'(z1[3]) g(z2[2])"),                # a written as g(z)
    (SEED, "dE/dw11[1] = δ1[3]·w11[2]·g'(z1[2])·x1"),                          # the seed's δ form
    (SEED, "dE/dw11[1] = delta1[2]*x1"),
    (SEED, "dE/dw11[1] = x1 g'(z1[2]) w11[2] (a1[3]-t1) g'(z1[3])"),          # factored differently
    (SEED, "dE/dw23[1] = x2*g'(w13[1]*x1 + w23[1]*x2)*w31[2]*delta1[3]"),      # z written out
    (SEED, "dE/dw11[1] = x1*w11[2]*(a1[3]*g'(z1[3]) - t1*g'(z1[3]))*g'(z1[2])"),
    (SEED, "delta1[3] = (a1[3]-t1)*g'(z1[3])"),
    (SEED, "delta2[2] = g'(z2[2]) w21[2] delta1[3]"),
    (SEED, "dE/dz1[2] = delta1[2]"),
    (SEED, "dE/da1[3] = a1[3] - t1"),
    (SEED, "dE/da2[2] = w21[2]*delta1[3]"),
    (SEED, "dE/dw11[2] = 2*(a1[3]-t1)/2*g'(z1[3])*a1[2]"),
    (SEED, r"\frac{\partial E}{\partial w_{11}^{[2]}} = \delta_{1}^{[3]} a_{1}^{[2]}"),
    (SEED, r"\frac{\partial E}{\partial w_{11}^{[1]}} = \delta_{1}^{[3]} \cdot w_{11}^{[2]} \cdot g'\left(z_{1}^{[2]}\right) \cdot x_{1}"),
    (SEED, r"\delta_{1}^{[3]} = \left(a_{1}^{[3]} - t_{1}\right) \times g'\left(z_{1}^{[3]}\right)"),
    (SEED, r"\frac{\partial E}{\partial w_{21}^{[2]}} = \frac{2 \left(a_{1}^{[3]} - t_{1}\right)}{2} g'(z_{1}^{[3]}) a_{2}^{[2]}"),
    (SOFTMAX, "delta1[3] = a1[3] - t1"),                                      # the softmax shortcut
    (SOFTMAX, "dE/dw11[1] = (w11[2]*delta1[3]+w12[2]*delta2[3])*sigmoid'(z1[2])*x1"),
    (SOFTMAX, "dE/dw11[1] = (w11[2]*delta1[3]+w12[2]*delta2[3])*a1[2]*(1-a1[2])*x1"),  # σ' = a(1-a)
    (SOFTMAX, "dE/dw11[1] = (w11[2]*(a1[3]-t1)+w12[2]*(a2[3]-t2))*σ'(z1[2])*x1"),
    (SOFTMAX, "dE/dw12[2] = a1[2]*(a2[3]-t2)"),
    (SIGBCE, "delta1[3] = a1[3] - t1"),                                       # sigmoid + bce shortcut
    (SIGBCE, "dE/db1[3] = a1[3] - t1"),
    (SIGBCE, "dE/db2[2] = w21[2]*(a1[3]-t1)*sigmoid(z2[2])*(1-sigmoid(z2[2]))"),
    (SIGBCE, "dE/dw11[2] = (a1[3]-t1) a1[2]"),
    (SIGBCE, "dE/dw11[2] = ((1-t1)/(1-a1[3]) - t1/a1[3]) * a1[3]*(1-a1[3]) * a1[2]"),
    ("2-2-1", "dE/dw11[1] = delta1[3]*w11[2]*g'(z1[2])*x1"),
]

WRONG = [
    (SEED, "dE/dw11[1] = δ1[3]·w11[2]·x1", "missing g'(z1[2])"),
    (SEED, "dE/dw11[2] = (a1[3]-t1)*a1[2]", "missing g'(z1[3])"),
    (SEED, "dE/dw11[1] = δ1[3]·w11[2]·g'(z1[2])·g'(z1[2])·x1", "extra g'(z1[2])"),
    (SEED, "dE/dw11[2] = delta1[3]*a1[2]*g'(z1[2])", "extra g'(z1[2])"),
    (SEED, "dE/dw11[2] = (t1-a1[3])*g'(z1[3])*a1[2]", "wrong sign"),
    (SEED, "delta1[3] = (t1-a1[3])*g'(z1[3])", "wrong sign"),
    (SEED, "dE/dw11[2] = 2*(a1[3]-t1)*g'(z1[3])*a1[2]", "missing ½"),
    (SEED, "dE/dw11[2] = (a1[3]-t1)*g'(z1[3])*a1[2]/2", "extra ½"),
    (SEED, "dE/dw11[1] = δ1[3]·w11[2]·g'(z2[2])·x1", "node off by one"),
    (SEED, "dE/dw12[1] = δ1[3]·w21[2]·g'(z3[2])·x1", "node off by one"),
    (SEED, "dE/dw11[1] = δ1[3]·(w11[2] - eta*delta1[3]*a1[2])·g'(z1[2])·x1", "updated weight"),
    (SEED, "dE/dw11[1] = δ1[3]·w11[2]·g'(z1[2])·x2", None),
    (SEED, "dE/dw11[2] = a1[2]", None),
    (SOFTMAX, "dE/dw11[1] = w11[2]*delta1[3]*sigmoid'(z1[2])*x1", "missing sum over the output nodes"),
    (SOFTMAX, "dE/dw11[1] = w12[2]*delta2[3]*sigmoid'(z1[2])*x1", "missing sum over the output nodes"),
    (SOFTMAX, "dE/dw11[1] = (w11[2]*delta1[3]+w21[2]*delta2[3])*sigmoid'(z1[2])*x1", "transposed"),
    (SOFTMAX, "dE/dw11[1] = (w11[2]*delta1[3]+w12[2]*delta2[3])*x1", "missing sigmoid'(z1[2])"),
    (SOFTMAX, "delta1[3] = t1 - a1[3]", "wrong sign"),
    (SOFTMAX, "dE/dw12[2] = a2[2]*(a2[3]-t2)", None),
    (SIGBCE, "delta1[3] = (a1[3]-t1)*a1[3]*(1-a1[3])", "extra sigmoid'(z1[3])"),
    (SIGBCE, "dE/db1[3] = t1 - a1[3]", "wrong sign"),
    ("3-2-2-2", "dE/dw11[1] = (w11[2]*delta1[3] + w12[2]*delta2[3])*g'(z1[3])*x1", "layer off by one"),
]


def _net(which):
    if isinstance(which, str):
        return sb.network(which)
    kw = dict(which)
    return sb.network(kw.pop("spec"), **kw)


@pytest.mark.parametrize("spec,equation", RIGHT, ids=[e for _, e in RIGHT])
def test_right_answers_accepted(spec, equation):
    verdict = sb.verify(_net(spec), equation)
    assert verdict, str(verdict)
    assert verdict.counterexample is None


def test_enough_cases():
    assert len(RIGHT) >= 25 and len(WRONG) >= 20


@pytest.mark.parametrize("spec,equation,diagnosis", WRONG, ids=[e for _, e, _ in WRONG])
def test_wrong_answers_rejected_with_diagnosis(spec, equation, diagnosis):
    verdict = sb.verify(_net(spec), equation)
    assert not verdict
    c = verdict.counterexample
    assert c is not None and c["yours"] != pytest.approx(c["expected"], rel=1e-8) and c["point"]
    if diagnosis is None:
        assert verdict.diagnosis is None or verdict.diagnosis
    else:
        assert verdict.diagnosis is not None and diagnosis in verdict.diagnosis, verdict.diagnosis
    assert str(verdict).startswith("✗")


def _own_equations(text_lines):
    """'lhs = rhs1 = rhs2' lines of the tool's output whose right sides use no ∂."""
    for line in text_lines:
        pieces = [p.strip() for p in line.split(" = ")]
        if len(pieces) < 2 or not pieces[0].startswith(("∂E/∂", "δ")):
            continue
        if re.search(r"(δ|∂E/∂[wbW])([a-z]|\[)", pieces[0]):   # general and matrix forms
            continue
        for rhs in pieces[1:]:
            if "∂" not in rhs:
                yield f"{pieces[0].split()[-1]} = {rhs}"


OWN = [("2-3-1", {}), ("2-2-2", dict(activation="sigmoid,softmax", loss="cross_entropy", bias=True)),
       ("3-2-2", dict(activation="tanh", loss="mse", bias=True))]


@pytest.mark.parametrize("spec,kw", OWN)
def test_own_text_output_verifies(spec, kw):
    d = sb.derive(spec, **kw)
    lines = [re.sub(r"^\s*(chain rule|factors|product|expanded|δ form)?\s*", "", line)
             for line in d.to_text().splitlines()]
    equations = list(_own_equations(lines))
    assert len(equations) >= d.network.n_parameters
    for eq in equations:
        assert sb.verify(d.network, eq), eq


@pytest.mark.parametrize("spec,kw", OWN)
def test_own_latex_output_verifies(spec, kw):
    d = sb.derive(spec, **kw)
    checked = 0
    tex = d.to_latex().replace(" \\\\\n  &\\phantom{=}\\; ", " ")     # rejoin broken lines
    for row in re.findall(r"^(\\frac\{\\partial E\}.*?&= .*?)(?: \\tag\*.*)?(?: \\\\)?$", tex, re.M):
        lhs, rhs = row.split("&=", 1)
        if "too long to typeset" in rhs or re.search(r"_\{[a-z]|W\^", lhs):   # general, matrix forms
            continue
        if "\\partial" in rhs:
            continue
        assert sb.verify(d.network, f"{lhs} = {rhs}"), row
        checked += 1
    assert checked >= d.network.n_parameters


@pytest.mark.parametrize("spec,kw", OWN)
def test_json_round_trips_through_the_parser(spec, kw):
    d = sb.derive(spec, **kw)
    data = json.loads(d.to_json())
    for name, expr in data["gradient"].items():
        assert sb.verify(d.network, f"dE/d{name} = {expr}")
        assert sb.verify(d.network, f"dE/d{name} = {data['expanded'][name]}")
    for name, expr in data["delta"].items():
        assert sb.verify(d.network, f"{name} = {expr}")
    from symbackprop._equation import functions_for, resolver
    from symbackprop._grammar import parse_expression
    for name, expr in data["forward"].items():
        parsed = parse_expression(expr, resolver(d.network), functions_for(d.network))
        assert parsed == d.forward[name]


HOSTILE = [
    "dE/dw11[2] = __import__('os').system('echo hacked')",
    "dE/dw11[2] = x1.__class__",
    "dE/dw11[2] = (lambda: 1)()",
    "dE/dw11[2] = exp(x1)[0]",
    "dE/dw11[2] = 9**9**9**9",
    "dE/dw11[2] = " + "(" * 5000 + "x1" + ")" * 5000,
    "dE/dw11[2] = " + "x1*" * 40000 + "x1",
    "dE/dw11[2] = " + "-" * 3000 + "x1",
    "dE/dw99[2] = x1",
    "dE/dw11[2] = (x1",
    "dE/dw11[2] x1",
    "dE/dw11[2] = ",
    " = x1",
    "dE/dw123[1] = x1",
    "dE/dw11[2] = open('/etc/passwd')",
]


@pytest.mark.parametrize("equation", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_refused_quickly(equation):
    start = time.perf_counter()
    with pytest.raises(ParseError) as err:
        sb.verify("2-3-1", equation)
    assert time.perf_counter() - start < 2.0
    assert "column" in str(err.value)


def test_valid_but_wrong_huge_math_is_exit_1_quickly(cli_run):
    start = time.perf_counter()
    result = cli_run("verify", "2-3-1", "dE/dw11[2] = (x1+x2)^1000 * 10^999")
    assert result.exit_code == 1 and time.perf_counter() - start < 2.0


def test_cli_lines_and_exit_codes(cli_run, tmp_path):
    ok = cli_run("verify", "2-3-1", "dE/dw11[2] = delta1[3]*a1[2]", "dE/dw11[1] = delta1[2]*x1")
    assert ok.exit_code == 0 and ok.output.count("✓") == 2
    bad = cli_run("verify", "2-3-1", "dE/dw11[2] = delta1[3]*a1[2]", "dE/dw11[1] = δ1[3]·w11[2]·x1")
    assert bad.exit_code == 1 and "✗" in bad.output and "missing g'(z1[2])" in bad.output
    path = tmp_path / "hw.txt"
    path.write_text("# homework 3\n\ndE/dw11[2] = delta1[3]*a1[2]  # the last layer\ndelta1[3] = (a1[3]-t1)*g'(z1[3])\n")
    res = cli_run("verify", "2-3-1", "--file", str(path))
    assert res.exit_code == 0 and res.output.count("✓") == 2


def test_cli_bad_equation_points_at_column(capfd):
    from symbackprop.cli import main
    with pytest.raises(SystemExit) as stop:
        main(["verify", "2-3-1", "dE/dw11[2] = (a1[2]*delta1[3]"])
    err = capfd.readouterr().err
    assert stop.value.code == 2 and "column 30" in err and err.count("\n") == 1


def test_verdict_api():
    v = sb.verify("2-3-1", "dE/dw11[2] = (t1-a1[3])*g'(z1[3])*a1[2]")
    assert not v and "wrong sign" in v.diagnosis
    assert str(v.expected) == "a1[2]*delta1[3]"
    assert set(v.counterexample) == {"point", "yours", "expected"}
