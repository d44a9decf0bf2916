"""The seed's 2-3-1 network: its equations, written out here by hand from DESIGN.md §1.2-1.3."""
from pathlib import Path

import sympy

import symbackprop as sb

GOLDEN = Path(__file__).parent / "golden"

# The seed's equations, typed from the document (not from the tool's output).
SEED_LINES = [
    "z1[2] = w11[1]·x1 + w21[1]·x2",
    "a1[2] = g(z1[2])",
    "z2[2] = w12[1]·x1 + w22[1]·x2",
    "z3[2] = w13[1]·x1 + w23[1]·x2",
    "z1[3] = w11[2]·a1[2] + w21[2]·a2[2] + w31[2]·a3[2]",
    "a1[3] = g(z1[3])",
    "E = (a1[3] − t1)²/2",
    # chain rule for a last-layer weight, its three factors, the product and the δ form
    "∂E/∂w11[2] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂w11[2]",
    "∂E/∂a1[3] = a1[3] − t1",
    "∂a1[3]/∂z1[3] = g'(z1[3])",
    "∂z1[3]/∂w11[2] = a1[2]",
    "∂E/∂w11[2] = (a1[3] − t1)·g'(z1[3])·a1[2]",
    "∂E/∂w21[2] = (a1[3] − t1)·g'(z1[3])·a2[2]",
    "∂E/∂w31[2] = (a1[3] − t1)·g'(z1[3])·a3[2]",
    "δ1[3] = ∂E/∂z1[3] = ∂E/∂a1[3]·∂a1[3]/∂z1[3] = (a1[3] − t1)·g'(z1[3])",
    "∂E/∂w11[2] = δ1[3]·a1[2]",
    # one layer back
    "∂E/∂w11[1] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂a1[2]·∂a1[2]/∂z1[2]·∂z1[2]/∂w11[1]",
    "∂E/∂w11[1] = (a1[3] − t1)·g'(z1[3])·w11[2]·g'(z1[2])·x1",
    "∂E/∂w11[1] = δ1[3]·w11[2]·g'(z1[2])·x1 = δ1[2]·x1",
    "∂E/∂w21[1] = δ1[3]·w11[2]·g'(z1[2])·x2 = δ1[2]·x2",
    "∂E/∂w12[1] = δ1[3]·w21[2]·g'(z2[2])·x1 = δ2[2]·x1",
    "∂E/∂w23[1] = δ1[3]·w31[2]·g'(z3[2])·x2 = δ3[2]·x2",
    "wij[k] ← wij[k] − η·∂E/∂wij[k]",
]


def test_seed_equations_are_printed():
    text = sb.derive("2-3-1").to_text()
    lines = {" ".join(line.split()) for line in text.splitlines()}
    stripped = set()
    for line in lines:   # drop a leading step label such as "product"
        for label in ("chain rule ", "factors ", "product ", "expanded ", "δ form "):
            if line.startswith(label):
                line = line[len(label):]
        stripped.add(line)
    missing = [want for want in SEED_LINES if want not in stripped]
    assert not missing, missing


def test_all_nine_weights_have_steps():
    d = sb.derive("2-3-1")
    assert [s.parameter.name for s in d.steps] == [
        "w11[2]", "w21[2]", "w31[2]", "w11[1]", "w12[1]", "w13[1]", "w21[1]", "w22[1]", "w23[1]"]


def test_seed_gradients_against_sympy_diff():
    """Every printed δ-form gradient of the seed's net equals sympy.diff of the nested E."""
    d = sb.derive("2-3-1")
    nested = d.nested_loss()
    for name in d.gradients:
        assert sympy.expand(sympy.diff(nested, d.symbols[name]) - d.expanded(name)) == 0


def test_golden_text():
    assert sb.derive("2-3-1").to_text() == (GOLDEN / "2-3-1.txt").read_text(encoding="utf-8")


def test_golden_latex():
    assert sb.derive("2-3-1").to_latex() == (GOLDEN / "2-3-1.tex").read_text(encoding="utf-8")


def test_latex_notation():
    tex = sb.derive("2-3-1").to_latex()
    for piece in ["w_{11}^{[2]}", "\\delta_{1}^{[3]}", "g'\\left(z_{1}^{[3]}\\right)", "\\begin{align*}"]:
        assert piece in tex
    for banned in ["\\frac{d}{d\\xi}", "Subs", "\\operatorname"]:
        assert banned not in tex
    assert tex.isascii()


def test_ascii_text():
    text = sb.derive("2-3-1").to_text(ascii_only=True)
    assert text.isascii()
    assert "delta1[3]*a1[2]" in text and "eta" in text
