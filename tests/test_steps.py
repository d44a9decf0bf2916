"""verify, step by step: chains of steps, continuation lines, every line reported, LaTeX as people type it.

The derivations below were written by hand from the chain rule for the nets named (2-3-1 and
3-3-3 with the generic g and mse, 2-2-1 with sigmoid): z_j[k+1] = Σ_i w_ij[k]·a_i[k],
a = g(z), E = ½Σ(a_j[L] − t_j)², δ_j[k] = ∂E/∂z_j[k].
"""
from __future__ import annotations

import pytest

import symbackprop as sb

# (net, chain) that are right at every step
RIGHT = [
    ("2-3-1", "dE/dw11[1] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂a1[2]·∂a1[2]/∂z1[2]·∂z1[2]/∂w11[1]"
              " = (a1[3] − t1)·g'(z1[3])·w11[2]·g'(z1[2])·x1 = δ1[3]·w11[2]·g'(z1[2])·x1 = δ1[2]·x1"),
    ("2-3-1", "dE/dw21[2] = ∂E/∂z1[3]·∂z1[3]/∂w21[2] = δ1[3]·a2[2] = (a1[3] − t1)·g'(z1[3])·a2[2]"),
    ("2-3-1", "δ1[2] = g'(z1[2])·w11[2]·δ1[3] = g'(z1[2])·w11[2]·(a1[3] − t1)·g'(z1[3])"),
    ("2-3-1", "dE/dw23[1] = δ3[2]·x2 = g'(z3[2])·w31[2]·δ1[3]·x2 = ∂E/∂z3[2]·∂z3[2]/∂w23[1]"),
    ("2-3-1", r"$\frac{\partial E}{\partial w^{[1]}_{12}} = \frac{\partial E}{\partial a^{[2]}_2}"
              r"\frac{\partial a_2^{[2]}}{\partial z_2^{[2]}}\frac{\partial z_2^{[2]}}{\partial w_{12}^{[1]}}"
              r" = \delta^{[3]}_1 \, w^{[2]}_{21} \, g^{\prime}(z^{[2]}_2) \, x_1$"),
    ("3-3-3", "dE/dw12[1] = δ2[2]·x1 = g'(z2[2])·(w21[2]·δ1[3] + w22[2]·δ2[3] + w23[2]·δ3[3])·x1"),
]

# (net, chain, the first wrong step, the mistake it is named by)
WRONG = [
    ("2-3-1", "dE/dw11[1] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂a1[2]·∂a1[2]/∂z1[2]·∂z1[2]/∂w11[1]"
              " = (a1[3] − t1)·g'(z1[3])·w11[2]·g'(z1[2])·x1 = δ1[3]·w11[2]·x1 = δ1[2]·x1",
     3, "a missing g'(z1[2]) factor"),
    ("2-3-1", "dE/dw21[2] = δ1[3]·a2[2] = (t1 − a1[3])·g'(z1[3])·a2[2]", 2, "the wrong sign"),
    ("3-3-3", "dE/dw12[1] = δ2[2]·x1 = g'(z2[2])·(w12[2]·δ1[3] + w22[2]·δ2[3] + w32[2]·δ3[3])·x1",
     2, "transposed weight indices"),
    ("3-3-3", "dE/dw11[1] = δ1[2]·x1 = g'(z1[2])·w11[2]·δ1[3]·x1", 2, "a missing sum over the output nodes"),
    ("2-3-1", "dE/dw11[2] = ∂E/∂z1[3]·a1[3] = (a1[3] − t1)·g'(z1[3])·a1[3]", 1, "the layer off by one"),
    ("2-3-1", "dE/dw11[2] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂w11[2] = 2·(a1[3] − t1)·g'(z1[3])·a1[2]",
     2, "a missing ½ factor, or an extra 2"),
]


@pytest.mark.parametrize("net, chain", RIGHT)
def test_right_chains_pass_at_every_step(net, chain):
    v = sb.verify(net, chain)
    assert v and len(v.steps) == chain.count("=") and all(v.steps)


@pytest.mark.parametrize("net, chain, step, mistake", WRONG)
def test_the_first_wrong_step_is_named(net, chain, step, mistake):
    v = sb.verify(net, chain)
    assert not v and v.diagnosis.startswith(mistake)
    assert [bool(s) for s in v.steps[:step]] == [True] * (step - 1) + [False]
    line = v.steps[step - 1].line()
    against = f"step {step - 1}" if step > 1 else "the left side"
    assert line.startswith(f"step {step} ≠ {against}: {mistake}")
    assert chain[v.steps[step - 1].column - 1:].startswith(chain.split(" = ")[step].split(" ")[0][:3])


def test_later_steps_are_still_checked_against_the_left_side():
    v = sb.verify("2-3-1", WRONG[0][1])
    assert [bool(s) for s in v.steps] == [True, True, False, True]
    assert v.steps[3].line() == "step 4 ✓ (equals the left side)"


def test_a_sigmoid_chain_over_continuation_lines(cli_run, tmp_path):
    path = tmp_path / "hw.txt"
    path.write_text("dE/dw11[2] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂w11[2]\n"
                    "   = (a1[3] − t1)·σ'(z1[3])·a1[2]\n"
                    "   = (a1[3] − t1)·a1[3]·(1 − a1[3])·a1[2]   # σ' = σ(1 − σ)\n")
    res = cli_run("verify", "2-2-1", "--activation", "sigmoid", "--file", str(path))
    assert res.exit_code == 0 and "(3 steps, each equal to the left side)" in res.output
    path.write_text("dE/dw11[2] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂w11[2]\n"
                    "   = (a1[3] − t1)·σ'(z1[3])·a1[2]\n"
                    "   = (a1[3] − t1)·(1 − a1[3])·a1[2]\n")
    res = cli_run("verify", "2-2-1", "--activation", "sigmoid", "--file", str(path))
    assert res.exit_code == 1
    assert f"{path}:3:6: step 3 ≠ step 2" in res.output          # the line and column of the step


def test_an_unreadable_middle_line_leaves_the_others_checked(cli_run, tmp_path):
    path = tmp_path / "hw.txt"
    path.write_text("dE/dw11[2] = δ1[3]·a1[2]\ndE/dw21[2] = δ1[3]·(a2[2]\nδ1[2] = g'(z1[2])·w11[2]·δ1[3]\n")
    res = cli_run("verify", "2-3-1", "--file", str(path))
    lines = res.output.splitlines()
    assert res.exit_code == 1 and len(lines) == 3
    assert lines[0].startswith("✓ dE/dw11[2]") and lines[2].startswith("✓ δ1[2]")
    assert lines[1].startswith(f"{path}:2:26: expected ')'")      # where the line ends


def test_nothing_readable_is_bad_input(cli_run, tmp_path):
    path = tmp_path / "hw.txt"
    path.write_text("hello\nx = 1\n")
    res = cli_run("verify", "2-3-1", "--file", str(path))
    assert res.exit_code == 2


@pytest.mark.parametrize("text", [
    r"\delta^{[3]}_1 = (a^{[3]}_1 - t_1) g'(z^{[3]}_1)",
    r"$\delta_1^{(3)} = \left(a_1^{(3)} - t_1\right) \cdot g^{\prime}(z_1^{(3)})$",
    r"\(\delta_{1}^{[3]} = (a_1^{[3]} - t_1)\, g′(z_1^{[3]})\)",
    r"\frac{\mathrm{d}E}{\mathrm{d}w_{11}^{[2]}} = \delta_1^{[3]} \times a_1^{[2]}",
    r"$$\frac{\partial E}{\partial w^{[2]}_{21}} = a^{[2]}_2\,\delta^{[3]}_1$$",
    "δ1[3] = (a1[3] − t1)·g′(z1[3])",
])
def test_latex_as_people_type_it(text):
    assert sb.verify("2-3-1", text)


def test_a_wrong_delta_shows_a_formula_in_the_answer_s_own_terms():
    v = sb.verify("2-3-1", "δ1[2] = w11[2]·δ1[3]")
    assert not v and "expected δ1[2]" not in str(v)
    assert "g'(z1[2])" in str(v).split("expected ")[1] and "δ1[3]" in str(v).split("expected ")[1]
    # written without δ: the expected answer without δ too
    v = sb.verify("2-3-1", "dE/dw11[2] = a1[2]·(a1[3] − t1)")
    assert "δ" not in str(v).split("expected ")[1].split(";")[0]


def test_another_activation_s_derivative_gets_a_hint():
    v = sb.verify("2-3-1", "dE/dw11[2] = (a1[3] − t1)·σ'(z1[3])·a1[2]")
    assert not v and "--activation sigmoid" in v.diagnosis
    assert sb.verify("2-3-1", "dE/dw11[2] = (a1[3] − t1)·σ'(z1[3])·a1[2]", activation="sigmoid")


def test_a_recurrent_chain():
    v = sb.verify(sb.rnn(1, 1, 1, 2, activation="tanh"),
                  "dE/dw11 = ∂E/∂s1<2>·∂s1<2>/∂w11 + ∂E/∂s1<1>·∂s1<1>/∂w11 = δ1<2>·h1<1> + δ1<1>·h1<0>")
    assert v and len(v.steps) == 2


def test_a_local_derivative_of_a_leaf_is_refused_with_its_column():
    with pytest.raises(sb.ParseError) as err:
        sb.verify("2-3-1", "dE/dw11[2] = ∂x1/∂w11[2]")
    assert err.value.column == 14 and "no definition" in str(err.value)


# ---------------------------------------------------------------- the general form, every instance
GENERAL_RIGHT = [
    "δi[2] = g'(zi[2])·Σ_j wij[2]·δj[3]",
    "δi[2] = g'(zi[2])·Σ_{j=1}^{3} wij[2]·δj[3]",
    r"\delta_i^{[2]} = g'(z_i^{[2]}) \sum_{j} w_{ij}^{[2]} \delta_j^{[3]}",
    "dE/dwij[1] = δj[2]·xi",
    "δj[3] = (aj[3] − tj)·g'(zj[3])",
    "dE/dwij[1] = ∂E/∂zj[2]·∂zj[2]/∂wij[1] = xi·g'(zj[2])·sum_k wjk[2]·δk[3]",
]


@pytest.mark.parametrize("text", GENERAL_RIGHT)
def test_the_general_form_holds_for_every_instance(text):
    v = sb.verify("3-3-3", text)
    assert v and "every instance" in str(v)


def test_the_transposed_general_form_names_the_instance():
    v = sb.verify("3-3-3", "δi[2] = g'(zi[2])·Σ_j wji[2]·δj[3]")
    assert not v and v.diagnosis.startswith("for i = 1 (δ1[2] = g'(z1[2])·(w11[2]·δ1[3] + w21[2]·δ2[3]")
    assert "transposed weight indices" in v.diagnosis
    v = sb.verify("3-3-3", "dE/dwij[1] = δi[2]·xj")
    assert not v and v.diagnosis.startswith("for i = 1, j = 2") and "w21[1]'s gradient" in v.diagnosis


def test_a_general_form_that_holds_for_some_instances_only():
    # right for j = 1 only: the first output's target written for every j
    v = sb.verify("3-3-3", "δj[3] = (aj[3] − t1)·g'(zj[3])")
    assert not v and v.diagnosis.startswith("for j = 2")


@pytest.mark.parametrize("text, fragment", [
    ("δi[2] = Σ_j wij[2]·δj[4]", "no range"),                 # there is no layer 4
    ("δi[2] = Σ_{j=1}^{5} wij[2]·δj[3]", "goes up to 5, but the layer has 3"),
    ("δi[2] = δj[3]·Σ_j wij[2]", "also used outside the sum"),
])
def test_general_forms_that_cannot_be_read(text, fragment):
    with pytest.raises(sb.ParseError, match=fragment):
        sb.verify("3-3-3", text)


def test_indices_that_disagree_are_refused():
    with pytest.raises(sb.ParseError, match=r"i runs over 2 values in δi\[3\] but 3 in wii\[2\]"):
        sb.verify("3-3-2", "δi[3] = wii[2]")
