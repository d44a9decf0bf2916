import json

import sympy

import symbackprop as sb


def test_contract_keys_and_values():
    data = json.loads(sb.derive("2-3-1").to_json())
    assert set(data) == {"spec", "forward", "loss", "delta", "gradient", "expanded"}
    assert data["spec"] == {"layers": [2, 3, 1], "activation": ["g", "g"], "loss": "mse", "bias": False}
    assert data["forward"]["z1[2]"] == "w11[1]*x1 + w21[1]*x2"
    assert data["forward"]["a1[2]"] == "g(z1[2])"
    assert data["loss"] == "(a1[3] - t1)**2/2"
    assert data["delta"]["delta1[3]"] == "(a1[3] - t1)*g'(z1[3])"
    assert data["gradient"]["w11[2]"] == "a1[2]*delta1[3]"
    assert len(data["gradient"]) == 9 and set(data["expanded"]) == set(data["gradient"])


def test_expanded_only_for_small_nets():
    assert "expanded" not in json.loads(sb.derive("8-8-1").to_json())
    assert "expanded" in json.loads(sb.derive("8-8-1").to_json(expanded=True))


def test_softmax_written_with_exp_and_two_digit_names():
    data = json.loads(sb.derive("2-10", activation="softmax", loss="cross_entropy").to_json())
    assert data["forward"]["a1[2]"].startswith("exp(z1[2])/(")
    assert "w2,10[1]" in data["gradient"]
    assert data["delta"]["delta10[2]"] == "a10[2] - t10"


def test_json_is_ascii():
    assert sb.derive("2-2-2", activation="tanh,softmax", loss="cross_entropy", bias=True).to_json().isascii()


def test_markdown_has_math_blocks():
    md = sb.derive("2-3-1").to_markdown()
    assert md.startswith("## Backpropagation") and "$$\n\\begin{aligned}" in md


def test_jupyter_shows_a_small_derivation_whole():
    d = sb.derive("2-2-1")
    assert d._repr_markdown_() == d.to_markdown()
    assert not hasattr(d, "_repr_latex_")     # a notebook stores every form it is given: one is enough


def test_api_gradient_lookup():
    d = sb.derive("2-3-1", activation="sigmoid")
    a, delta = d.symbols["a1[2]"], d.symbols["delta1[3]"]
    assert sympy.expand(d.gradient("w11[2]") - a * delta) == 0
    assert set(d.deltas) == {"delta1[3]", "delta1[2]", "delta2[2]", "delta3[2]"}


def test_sums_written_from_their_terms_print_as_the_sums_do():
    """The JSON writes each weighted sum from its (coefficient, value) pairs; that text must be what
    printing the sum itself gives, for every builder's sums; a term held twice is not written so."""
    from symbackprop._dense import build
    from symbackprop._printing import plain, plain_printer
    nets = [sb.network("12-11-3", bias=True), sb.network(layers=[2, 2, 2, 2], activation="sigmoid", bias=True,
                                                         skips={4: 2}, ties={3: 1}, penalty={"l2": 0.1})]
    for net in nets:
        p = plain_printer()
        sums = [eq for eq in build(net).equations if eq.terms]
        assert sums and all(p.pairs_text(eq.terms) == plain(eq.expr, plain_printer()) for eq in sums)
    w, a = sb.derive("1-1").symbol("w11[1]"), sb.derive("1-1").symbol("x1")
    assert plain_printer().pairs_text(((w, a), (w, a))) is None
    assert plain_printer().pairs_text(((w, sympy.sin(a)),)) is None
