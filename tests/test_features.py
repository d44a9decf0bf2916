"""Skip connections, tied weights and penalties: what falls out of the one reverse sweep.

The expected gradients here are written from the textbook rules (a parameter's gradient
is the sum over its uses; a skip passes δ back unchanged; the l2 penalty λ/2·Σw² adds
λ·w, the l1 penalty λ·Σ|w| adds λ·sign(w)), and checked three ways: symbolically
against brute-force sympy.diff of the nested E, numerically against the independent
NumPy reference, and against finite differences.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop._reference import backprop_general

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "residual-tied.toml")


def test_example_gradients_are_the_sum_over_their_uses():
    d = sb.derive(EXAMPLE, weights=())
    S, lam = d.symbol, d.symbol("lambda")            # a plain name as the tool's symbol
    # w11[1] feeds z1[2] from x1, and (tied, W[3] = W[1]ᵀ) z1[4] from a1[3]; the penalty adds λ·w11[1]
    assert sympy.expand(d.gradient("w11[1]") - (S("x1") * S("delta1[2]") + S("a1[3]") * S("delta1[4]")
                                                 + lam * S("w11[1]"))) == 0
    # layer 2 is not tied: one use, plus the penalty
    assert sympy.expand(d.gradient("w21[2]") - (S("a2[2]") * S("delta1[3]") + lam * S("w21[2]"))) == 0
    # biases are not penalised
    assert d.gradient("b1[4]") == S("delta1[4]")
    # the skip z[3] += a[2] sends δ[3] straight back to a[2]: δ1[2] = tanh'(z1[2])·(Σ_j w1j[2]·δj[3] + δ1[3])
    tanh_p = sb.network("2-1", activation="tanh").activation(2).prime(S("z1[2]"))
    want = tanh_p * (S("w11[2]") * S("delta1[3]") + S("w12[2]") * S("delta2[3]") + S("delta1[3]"))
    assert sympy.expand(d.deltas["delta1[2]"] - want) == 0


@pytest.mark.parametrize("penalty", [(("l2", 0.1),), (("l1", 0.1),), (("l1", 0.1), ("l2", 0.05))])
def test_every_form_equals_brute_force(penalty):
    net = sb.network(layers=[2, 2, 2], activation="tanh", bias=True, skips={3: 1}, ties={2: 1}, penalty=dict(penalty))
    d = sb.derive(net, weights=())
    proof = sb.prove(d)
    assert proof and all(proof.values()), proof


def test_l1_subgradient_is_zero_at_zero():
    net = sb.network(layers=[1, 1], activation="linear", penalty={"l1": 0.5})
    f = sb.compile(net)
    E, grads = f({"W[1]": np.zeros((1, 1))}, np.array([[1.0]]), np.array([[0.0]]))
    assert E == 0.0 and grads["W[1]"][0, 0] == 0.0     # (0·1 − 0)² / 2 and sign(0) = 0


def test_hand_computed_tied_autoencoder():
    # sizes 1-1-1, linear, W[2] = W[1]ᵀ = w, x = 2, t = 3: a = w·(w·2) = 2w², E = (2w² − 3)²/2;
    # at w = 1: E = 0.5 and dE/dw = (2w² − 3)·4w = −4.  With l2 λ = 0.1: E += 0.05, dE/dw += 0.1.
    net = sb.network(layers=[1, 1, 1], activation="linear", ties={2: 1}, penalty={"l2": 0.1})
    E, grads = sb.compile(net)({"W[1]": np.array([[1.0]])}, np.array([[2.0]]), np.array([[3.0]]))
    assert E == pytest.approx(0.55) and grads["W[1]"][0, 0] == pytest.approx(-3.9)


def test_hand_computed_skip():
    # sizes 1-1-1, linear, no biases, skip from the inputs into layer 3: a3 = v·(w·x) + x;
    # x = 1, w = 2, v = 3, t = 0: a3 = 7, E = 24.5, dE/dv = 7·2 = 14, dE/dw = 7·3·1 = 21
    net = sb.network(layers=[1, 1, 1], activation="linear", skips={3: 1})
    E, grads = sb.compile(net)({"W[1]": np.array([[2.0]]), "W[2]": np.array([[3.0]])},
                               np.array([[1.0]]), np.array([[0.0]]))
    assert E == 24.5 and grads["W[1]"][0, 0] == 21.0 and grads["W[2]"][0, 0] == 14.0


@st.composite
def structured(draw):
    sizes = draw(st.lists(st.integers(1, 3), min_size=3, max_size=5))
    L = len(sizes)
    skips = [(k, s) for k in range(3, L + 1) for s in range(1, k - 1)
             if sizes[s - 1] == sizes[k - 1] and draw(st.booleans())]
    skips = list(dict(skips).items())
    ties = {}
    for k in range(2, L):
        m = draw(st.integers(1, k - 1))
        if m not in ties and (sizes[k - 1], sizes[k]) == (sizes[m], sizes[m - 1]) and draw(st.booleans()):
            ties[k] = m
    penalty = draw(st.sampled_from([(), (("l2", 0.3),), (("l1", 0.2),), (("l1", 0.1), ("l2", 0.2))]))
    acts = [draw(st.sampled_from(["tanh", "sigmoid", "softplus", "linear"])) for _ in range(L - 2)]
    out, loss = draw(st.sampled_from([("linear", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy")]))
    if out == "softmax" and sizes[-1] < 2:
        sizes[-1] = 2
        skips = [(k, s) for k, s in skips if k != L]
        ties = {k: m for k, m in ties.items() if k != L - 1 and m != L - 1}
    return sb.network(layers=sizes, activation=acts + [out], loss=loss, bias=draw(st.booleans()), skips=dict(skips),
                      ties=ties, penalty=dict(penalty))


@settings(max_examples=40, deadline=None)
@given(structured(), st.integers(1, 3), st.integers(0, 2**31))
def test_compiled_agrees_with_reference_and_finite_differences(net, batch, seed):
    rng = np.random.default_rng(seed)
    f = sb.compile(net)
    params = {name: rng.normal(0, 1, shape) for name, shape in f.shapes.items()}
    X = rng.uniform(-1, 1, (batch, net.layers[0]))
    T = np.eye(net.layers[-1])[rng.integers(0, net.layers[-1], batch)] if net.loss.name == "cross_entropy" \
        else rng.uniform(0.1, 0.9, (batch, net.layers[-1]))
    E, grads = f(params, X, T)
    ties = dict(net.ties)
    W = {int(k[2:-1]): v for k, v in params.items() if k.startswith("W")}
    b = {int(k[2:-1]): v for k, v in params.items() if k.startswith("b")} or None
    E_ref, dW_ref, db_ref = backprop_general(list(net.layers), [a.name for a in net.activations], net.loss.name,
                                             W, b, X, T, skips=dict(net.skips), ties=ties, penalty=dict(net.penalty))
    assert E == pytest.approx(E_ref, rel=1e-12, abs=1e-12)
    for k, M in dW_ref.items():
        np.testing.assert_allclose(grads[f"W[{k}]"], M, rtol=1e-9, atol=1e-12)
    for k, v in (db_ref or {}).items():
        np.testing.assert_allclose(grads[f"b[{k}]"], v, rtol=1e-9, atol=1e-12)
    # central differences of E by each parameter, away from the l1 kink at 0
    for name, M in params.items():
        for index in np.ndindex(M.shape):
            if "l1" in dict(net.penalty) and abs(M[index]) < 1e-3:
                continue
            old, h = M[index], 1e-6
            M[index] = old + h
            up = f(params, X, T)[0]
            M[index] = old - h
            down = f(params, X, T)[0]
            M[index] = old
            assert (up - down) / (2 * h) == pytest.approx(grads[name][index], rel=1e-6, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(structured())
def test_check_agrees_for_structured_networks(net):
    report = sb.check(net, samples=2, batch=2)
    assert report, [r for r in report.rows if not r.ok]


def test_spec_file_reads_layers(tmp_path):
    net = sb.network(EXAMPLE)
    assert net.layers == (3, 2, 2, 3) and net.skips == ((3, 2),) and net.ties == ((3, 1),)
    assert net.penalty == (("l2", 0.01),) and net.n_weights == 3 * 2 + 2 * 2
    assert "w11[3]" not in [p.name for p in net.parameters()]


@pytest.mark.parametrize("layer, message", [
    ('size = 3\nskip = 1', "a skip joins layers of the same size"),
    ('size = 2\ntied = 2', "name another layer's own weights"),
    ('size = 3\ntied = 1', "tie layers of matching sizes"),
    ('size = 2\nkind = "conv"', "e.g. inputs = [1, 6, 6]"),
    ('size = 2\nwidth = 2', "unknown key 'width'"),
])
def test_bad_structure_is_one_line_exit_2(tmp_path, cli_run, layer, message):
    spec = tmp_path / "net.toml"
    spec.write_text(f"inputs = 2\n[[layer]]\nsize = 2\n[[layer]]\n{layer}\n", encoding="utf-8")
    result = cli_run("derive", str(spec))
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_bad_penalty(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text("inputs = 2\npenalty = { l3 = 1 }\n[[layer]]\nsize = 1\n", encoding="utf-8")
    with pytest.raises(sb.SpecError, match="unknown penalty 'l3'"):
        sb.network(str(spec))


def test_every_command_takes_the_example(cli_run):
    values = str(Path(EXAMPLE).with_name("residual-tied-values.json"))
    for args in (["derive", EXAMPLE, "--format", fmt] for fmt in ("text", "latex", "markdown", "json")):
        assert cli_run(*args).exit_code == 0
    assert cli_run("check", EXAMPLE).exit_code == 0
    assert cli_run("draw", EXAMPLE).exit_code == 0
    assert cli_run("eval", EXAMPLE, "--values", values, "--lr", "0.1").exit_code == 0
    result = cli_run("verify", EXAMPLE, "dE/dw11[1] = x1·δ1[2] + a1[3]·δ1[4] + λ·w11[1]", "dE/dw11[1] = x1·δ1[2]")
    assert result.exit_code == 1 and result.output.startswith("✓") and "\n✗" in result.output


def test_json_round_trips_the_penalty():
    data = json.loads(sb.derive(EXAMPLE).to_json())
    assert data["gradient"]["w11[2]"] == "lambda*w11[2] + a1[2]*delta1[3]"
    assert data["spec"]["penalty"] == {"l2": 0.01} and data["forward"]["R"].startswith("lambda*(")
    assert sb.verify(EXAMPLE, "dE/dw11[2] = " + data["gradient"]["w11[2]"])


def test_eval_matches_the_reference():
    data = json.loads(Path(EXAMPLE).with_name("residual-tied-values.json").read_text(encoding="utf-8"))
    net = sb.network(EXAMPLE)
    W = {1: np.array([[data[f"w{i}{j}[1]"] for j in (1, 2)] for i in (1, 2, 3)]),
         2: np.array([[data[f"w{i}{j}[2]"] for j in (1, 2)] for i in (1, 2)])}
    b = {k: np.array([data[f"b{j}[{k}]"] for j in range(1, n + 1)]) for k, n in ((2, 2), (3, 2), (4, 3))}
    X, T = np.array([[data["x1"], data["x2"], data["x3"]]]), np.array([[data["t1"], data["t2"], data["t3"]]])
    E_ref, dW_ref, _ = backprop_general(list(net.layers), ["tanh", "tanh", "linear"], "mse", W, b, X, T,
                                        skips={3: 2}, ties={3: 1}, penalty={"l2": 0.01})
    result = sb.evaluate(net, data)
    assert result.loss == pytest.approx(E_ref, rel=1e-12)
    assert result.gradient["w32[1]"] == pytest.approx(dW_ref[1][2, 1], rel=1e-12)


@pytest.mark.parametrize("equation, diagnosis", [
    ("dE/dw11[1] = x1*delta1[2] + lambda*w11[1]", "the use in z1[4] left out"),
    ("dE/dw11[1] = x1*delta1[2] + a1[3]*delta1[4]", "the penalty's term lambda*w11[1] left out"),
    ("delta1[2] = tanh'(z1[2])*(w11[2]*delta1[3] + w12[2]*delta2[3])", "the skip's delta1[3] left out"),
])
def test_verify_names_the_mistakes_of_shared_weights_and_skips(equation, diagnosis):
    v = sb.verify(EXAMPLE, equation)
    assert not v and v.diagnosis.startswith(diagnosis)


def test_verify_accepts_the_skip_delta():
    assert sb.verify(EXAMPLE, "delta1[2] = tanh'(z1[2])*(w11[2]*delta1[3] + w12[2]*delta2[3] + delta1[3])")


def _write(tmp_path, text):
    spec = tmp_path / "net.toml"
    spec.write_text(text, encoding="utf-8")
    return str(spec)


def test_matrix_form_sums_every_skip_from_one_layer(tmp_path):
    layers = "".join(f"[[layer]]\nsize = 2\nactivation = \"tanh\"\n{extra}" for extra in
                     ("", "", "skip = 2\n", "skip = 2\n"))
    net = sb.network(_write(tmp_path, "inputs = 2\n" + layers))
    text = sb.derive(net, weights=()).to_text()
    # z[4] and z[5] both add a[2], so δ[2] takes both: one row, two extra terms
    assert "δ[2] = (W[2] δ[3] + δ[4] + δ[5]) ⊙ g'(z[2])" in text
    assert text.count("δ[2] = (") == 1


def test_l1_gradient_round_trips_through_verify(tmp_path):
    spec = _write(tmp_path, "inputs = 1\npenalty = { l1 = 0.1, l2 = 0.2 }\n[[layer]]\nsize = 1\nactivation = \"tanh\"\n")
    data = json.loads(sb.derive(spec).to_json())
    assert data["gradient"]["w11[1]"] == "lambda1*sign(w11[1]) + lambda2*w11[1] + x1*delta1[2]"
    assert sb.verify(spec, "dE/dw11[1] = " + data["gradient"]["w11[1]"])
    with pytest.raises(sb.ParseError, match="write λ1 .l1. or λ2 .l2."):
        sb.verify(spec, "dE/dw11[1] = x1*delta1[2] + lambda*w11[1]")


def test_penalised_listing_with_chosen_weights(cli_run):
    result = cli_run("derive", EXAMPLE, "--weight", "w11[1]", "--format", "markdown")
    assert result.exit_code == 0 and "\nR &= \\frac{\\lambda" in result.output


def test_spec_of_a_structured_network_reads_back(tmp_path):
    net = sb.network(EXAMPLE)
    data = json.loads(sb.derive(net, weights=()).to_json())["spec"]
    again = tmp_path / "again.json"
    again.write_text(json.dumps(data), encoding="utf-8")
    assert sb.network(str(again)) == net


def test_compiled_function_checks_its_arrays():
    f = sb.compile(EXAMPLE)
    X, T = np.ones((1, 3)), np.zeros((1, 3))
    good = {name: np.ones(shape) for name, shape in f.shapes.items()}
    with pytest.raises(sb.ValuesError, match=r"W\[1\] has shape \(3, 3\); the network needs \(3, 2\)"):
        f({**good, "W[1]": np.ones((3, 3))}, X, T)
    with pytest.raises(sb.ValuesError, match=r"W\[3\] is W\[1\] transposed"):
        f([good["W[1]"], good["W[2]"], np.full((2, 3), 2.0)], [good["b[2]"], good["b[3]"], good["b[4]"]], X, T)


def test_the_model_refuses_terms_the_sweep_cannot_read():
    from symbackprop._graph import E as E_, Equation, Model
    S = sb.derive("1-1", bias=True).symbol          # a plain name as the tool's symbol
    w, b, x, z = (S(n) for n in ("w11[1]", "b1[2]", "x1", "z1[2]"))
    with pytest.raises(ValueError, match="must be .parameter or 1, value. pairs"):
        Model((Equation(z, w * x + b, terms=((w, x), (sympy.S.One, b))), Equation(E_, z ** 2)), (w, b))
