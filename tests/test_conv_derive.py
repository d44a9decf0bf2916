"""Conv nets, symbolically: every printed gradient against sympy.diff of E built here from the textbook
equations (explicit loops over channels, positions and kernel offsets), the general forms against every
instance, and the command line."""
from __future__ import annotations

import json
from itertools import product

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

import symbackprop as sb
from symbackprop.cli import cli as main

SIGMOID = lambda z: 1 / (1 + sympy.exp(-z))          # noqa: E731
ACT = {"tanh": sympy.tanh, "sigmoid": SIGMOID, "linear": lambda z: z}


def _sym(name):
    return sympy.Symbol(name, real=True)


def _name(letter, idx, layer=None):
    sep = "," if any(i >= 10 for i in idx) else ""
    return letter + sep.join(map(str, idx)) + ("" if layer is None else f"[{layer}]")


def textbook_E(spec: dict):
    """E of a conv net from the textbook equations: zero padding, correlation with stride, pooling over
    windows, dense over the maps flattened in C order. Positions 0-based here, names 1-based."""
    C, *dims = spec["inputs"]
    maps = np.empty([C, *dims], dtype=object)
    for idx in product(*[range(n) for n in maps.shape]):
        maps[idx] = _sym(_name("x", [i + 1 for i in idx]))
    k = 1
    for lay in spec["layer"]:
        kind = lay.get("kind", "dense")
        if kind == "conv":
            n = len(dims)
            ker = [lay["kernel"]] * n if isinstance(lay["kernel"], int) else lay["kernel"]
            s = [lay.get("stride", 1)] * n
            p = [lay.get("padding", 0)] * n
            padded = np.full([maps.shape[0], *[d + 2 * q for d, q in zip(maps.shape[1:], p)]], sympy.S.Zero,
                             dtype=object)
            padded[(slice(None), *[slice(q, q + d) for q, d in zip(p, maps.shape[1:])])] = maps
            out_dims = [(d + 2 * q - kk) // st + 1 for d, q, kk, st in zip(maps.shape[1:], p, ker, s)]
            out = np.empty([lay["channels"], *out_dims], dtype=object)
            for c, *pos in product(range(lay["channels"]), *[range(m) for m in out_dims]):
                total = sympy.S.Zero
                for d, *offs in product(range(maps.shape[0]), *[range(kk) for kk in ker]):
                    at = tuple(st * i + u for st, i, u in zip(s, pos, offs))
                    total += _sym(_name("k", [c + 1, d + 1, *[u + 1 for u in offs]], k)) * padded[(d, *at)]
                if lay.get("bias"):
                    total += _sym(f"b{c + 1}[{k + 1}]")
                out[(c, *pos)] = ACT[lay.get("activation", "linear")](total)
            maps, dims = out, out_dims
        elif kind in ("avgpool", "maxpool"):
            n = len(dims)
            size = [lay["size"]] * n
            s = [lay.get("stride", lay["size"])] * n
            out_dims = [(d - w) // st + 1 for d, w, st in zip(dims, size, s)]
            out = np.empty([maps.shape[0], *out_dims], dtype=object)
            for c, *pos in product(range(maps.shape[0]), *[range(m) for m in out_dims]):
                cells = [maps[(c, *[st * i + u for st, i, u in zip(s, pos, offs)])]
                         for offs in product(*[range(w) for w in size])]
                out[(c, *pos)] = sympy.Add(*cells) / len(cells)
            maps, dims = out, out_dims
        else:
            flat = list(maps.reshape(-1))
            out = [sum((_sym(_name("w", [m + 1, j + 1], k)) * a for m, a in enumerate(flat)), sympy.S.Zero)
                   + (_sym(f"b{j + 1}[{k + 1}]") if lay.get("bias") else 0) for j in range(lay["size"])]
            maps = np.array([ACT[lay.get("activation", "linear")](z) for z in out], dtype=object)
        k += 1
    ts = [_sym(f"t{j + 1}") for j in range(len(maps))]
    if spec.get("loss") == "bce":
        return sympy.Add(*[-(t * sympy.log(a) + (1 - t) * sympy.log(1 - a)) for a, t in zip(maps, ts)])
    return sympy.Add(*[(a - t) ** 2 / 2 for a, t in zip(maps, ts)])


#: the printed functions and derivatives, by their textbook formulas
TEXTBOOK = {"sigmoid": SIGMOID, "sigmoid'": lambda u: SIGMOID(u) * (1 - SIGMOID(u)), "tanh": sympy.tanh,
            "tanh'": lambda u: 1 - sympy.tanh(u) ** 2}


def textbook_functions(expr):
    return expr.replace(lambda e: isinstance(e, sympy.Function) and type(e).__name__ in TEXTBOOK,
                        lambda e: TEXTBOOK[type(e).__name__](e.args[0]))


SMALL = [
    {"inputs": [1, 4, 4], "layer": [{"kind": "conv", "channels": 1, "kernel": 2, "activation": "tanh"},
                                    {"size": 1, "activation": "sigmoid"}]},
    {"inputs": [1, 5], "loss": "bce",
     "layer": [{"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh",
                "bias": True}, {"kind": "avgpool", "size": 2, "stride": 1}, {"size": 1, "activation": "sigmoid"}]},
    {"inputs": [2, 3, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2, "padding": 1, "activation": "sigmoid"},
                                    {"kind": "avgpool", "size": 2}, {"size": 2, "bias": True, "activation": "linear"}]},
]


@pytest.mark.parametrize("spec", SMALL, ids=["1x4x4", "1d-stride2-pad1-avg", "2ch-pad1-avg"])
def test_every_printed_gradient_is_sympy_diff_of_the_textbook_E(spec):
    net = sb.network(spec)
    d = sb.derive(net)
    E = textbook_E(spec)
    rng = np.random.default_rng(1)
    by_name = {s.name: s for s in E.free_symbols}
    assert set(d.gradients) == {n for n in by_name if n[0] in "kwb"}
    order = sorted(by_name)
    point = [rng.uniform(-1, 1) if n[0] != "t" else rng.uniform(0.1, 0.9) for n in order]
    args = sympy.symbols(f"v0:{len(order)}", real=True)
    plain = {by_name[n]: v for n, v in zip(order, args)}
    for name in d.gradients:
        ours = d.expanded(name)
        ours = textbook_functions(ours.xreplace({s: plain[by_name[s.name]] for s in ours.free_symbols}))
        want = sympy.lambdify(args, sympy.diff(E, by_name[name]).xreplace(plain), "math")(*point)
        got = sympy.lambdify(args, ours, "math")(*point)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name


CONFIGS = [((1, 6, 6), 3, 1, 0), ((1, 6, 6), 3, 1, 1), ((2, 7, 7), 3, 2, 1), ((1, 8, 8), 2, 2, 0),
           ((2, 9), 3, 2, 2), ((1, 7, 6), 3, 3, 1), ((1, 5, 5), 1, 2, 0)]


@pytest.mark.parametrize("shape,kernel,stride,padding", CONFIGS)
def test_general_and_compact_forms_hold_for_every_instance(shape, kernel, stride, padding):
    spec = {"inputs": list(shape), "layer": [
        {"kind": "conv", "channels": 2, "kernel": kernel, "stride": stride, "padding": padding, "bias": True},
        {"kind": "maxpool", "size": 2, "stride": 1}, {"size": 2}]}
    d = sb.derive(sb.network(spec))
    kinds = {f.kind: f for f in d.forms}
    assert {"kernel", "input", "bias", "maxpool", "weight"} <= set(kinds)
    assert all(f.holds and f.instances > 0 for f in d.forms), d.forms
    assert kinds["kernel"].instances == 2 * shape[0] * kernel ** (len(shape) - 1)


def test_the_forms_check_finds_a_wrong_gradient():
    from symbackprop import _conv_forms
    net = sb.network(SMALL[0])
    d = sb.derive(net)
    s = d.sweep
    k = d.symbols["k1111[1]"]
    wrong = dict(s.gradient)
    wrong[k] = s.gradient[k] - s.uses[k][0][1]          # one position's term left out
    bad = type(s)(s.model, s.adjoint, s.terms, wrong, s.uses)
    kernel = next(f for f in _conv_forms.check_forms(net, s.model, bad) if f.kind == "kernel")
    assert not kernel.holds and kernel.failed == "k1111[1]"


def _spec_file(tmp_path, text):
    path = tmp_path / "net.toml"
    path.write_text(text)
    return str(path)


def test_derive_writes_every_format(tmp_path):
    spec = "examples/conv-2x6x6.toml"
    runner = CliRunner()
    for args in ([], ["--ascii"], ["--format", "latex"], ["--format", "markdown"], ["--format", "json"]):
        r = runner.invoke(main, ["derive", spec, *args])
        assert r.exit_code == 0, r.output
    data = json.loads(runner.invoke(main, ["derive", spec, "--format", "json"]).output)
    assert data["gradient"]["b1[2]"].count("delta1") == 36
    assert all(f["holds"] for f in data["forms"])
    text = runner.invoke(main, ["derive", spec]).output
    assert "∂E/∂k1111[1]" in text and "[a111[2] = max]" in text


def test_prove_on_a_1x4x4_input_with_a_2x2_kernel():
    r = CliRunner().invoke(main, ["derive", "examples/conv-1x4x4.toml", "--prove", "--format", "json"])
    assert r.exit_code == 0, r.output
    proof = json.loads(r.output)["proof"]
    assert len(proof) == 13 and all(proof.values())


@pytest.mark.parametrize("text,words", [
    ('inputs = [1, 2, 2]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 3\n[[layer]]\nsize = 1\n', "larger than"),
    ('inputs = [1, 4, 4]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\n', "end with a dense layer"),
    ('inputs = [1, 4, 4]\n[[layer]]\nkind = "pool"\nsize = 2\n[[layer]]\nsize = 1\n', "conv, maxpool, avgpool"),
    ('inputs = [1, 4, 4]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\npadding = -1\n[[layer]]\nsize = 1\n',
     "padding"),
    ('inputs = [1, 4, 4]\n[[layer]]\nkind = "maxpool"\nsize = 2\n[[layer]]\nsize = 1\n', "--prove"),
])
def test_bad_conv_specs_get_one_line_and_exit_2(tmp_path, text, words):
    args = ["derive", _spec_file(tmp_path, text)] + (["--prove"] if words == "--prove" else [])
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert words in r.output and len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_weight_option_picks_a_kernel_element_and_refuses_a_bad_name(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["derive", "examples/conv-2x6x6.toml", "--weight", "k2133[1]"])
    assert r.exit_code == 0 and "∂E/∂k2133[1]:" in r.output and "∂E/∂k1111[1]:" not in r.output
    r = runner.invoke(main, ["derive", "examples/conv-2x6x6.toml", "--weight", "k21[1]"])
    assert r.exit_code == 2 and "4 indices" in r.output


def test_the_fast_product_of_two_map_names_is_sympys_own():
    from symbackprop._conv_names import MapName
    from symbackprop._names import product
    names = [MapName("k", (1, 2, 1, 1), 1), MapName("x", (1, 1, 2)), MapName("delta", (2, 1, 1), 2),
             MapName("a", (1, 10, 2), 3), MapName("w", (27, 3), 3)]
    for a in names:
        for b in names:
            if a != b:
                assert product(a, b) == a * b and product(a, b).args == (a * b).args


def test_every_other_output_a_conv_derivation_has(tmp_path):
    import shutil
    import subprocess
    d = sb.derive("examples/conv-2x6x6.toml")
    page = d.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1 and "<math" in page
    assert "ismax" not in page and "[" in page
    documents = {"slides.tex": d.to_beamer(), "notes.tex": d.to_latex(standalone=True)}
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    for name, text in documents.items():
        (tmp_path / name).write_text(text)
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=240)
        assert run.returncode == 0, run.stdout[-2000:]


def test_json_gradients_read_back_in_verify_grammar():
    net = sb.network("examples/conv-2x6x6.toml")
    data = json.loads(sb.derive(net).to_json())
    for name in ("k1111[1]", "b2[2]", "w27,3[3]"):
        assert sb.verify(net, f"dE/d{name} = {data['gradient'][name]}"), name
    for name in ("delta111[2]", "delta366[2]"):
        assert sb.verify(net, f"{name} = {data['delta'][name]}"), name


def test_eval_matches_a_hand_computation(tmp_path):
    """1×4×4 → conv 1 2×2 (generic g given as linear here: tanh) → dense 1 sigmoid, mse, computed with loops."""
    spec = tmp_path / "net.toml"
    spec.write_text('inputs = [1, 3, 3]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\nactivation = "tanh"\n'
                    '[[layer]]\nsize = 1\nactivation = "sigmoid"\n')
    rng = np.random.default_rng(3)
    x, K, w, t = rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, 4), 0.3
    values = {f"x1{i + 1}{j + 1}": float(x[i, j]) for i in range(3) for j in range(3)}
    values.update({f"k11{u + 1}{v + 1}[1]": float(K[u, v]) for u in range(2) for v in range(2)})
    values.update({f"w{m + 1}1[2]": float(w[m]) for m in range(4)})
    values["t1"] = t
    (tmp_path / "v.json").write_text(json.dumps(values))
    r = CliRunner().invoke(main, ["eval", str(spec), "--values", str(tmp_path / "v.json"), "--format", "json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    z = np.array([[sum(K[u, v] * x[i + u, j + v] for u in range(2) for v in range(2)) for j in range(2)]
                  for i in range(2)])
    a = np.tanh(z).reshape(-1)
    y = 1 / (1 + np.exp(-(w @ a)))
    assert got["loss"] == pytest.approx((y - t) ** 2 / 2, rel=1e-12)
    d_out = (y - t) * y * (1 - y)
    d_map = (d_out * w * (1 - a ** 2)).reshape(2, 2)
    for u in range(2):
        for v in range(2):
            want = sum(d_map[i, j] * x[i + u, j + v] for i in range(2) for j in range(2))
            assert got["gradient"][f"k11{u + 1}{v + 1}[1]"] == pytest.approx(want, rel=1e-10)
    assert got["delta"]["delta112[2]"] == pytest.approx(d_map[0, 1], rel=1e-10)


def test_draw_is_the_maps(tmp_path):
    r = CliRunner().invoke(main, ["draw", "examples/conv-2x6x6.toml"])
    assert r.exit_code == 0 and r.output.startswith("\\begin{tikzpicture}") and "grid" in r.output


def test_an_exercise_on_a_conv_net_has_the_tools_numbers(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text('inputs = [1, 3, 3]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\nactivation = "relu"\n'
                    '[[layer]]\nsize = 1\nactivation = "sigmoid"\n')
    net = sb.network(str(spec))
    assert [p.name for p in net.parameters()] == ["k1111[1]", "k1112[1]", "k1121[1]", "k1122[1]",
                                                  "w11[2]", "w21[2]", "w31[2]", "w41[2]"]
    r = CliRunner().invoke(main, ["exercise", str(spec), "--seed", "1", "--solution"])
    assert r.exit_code == 0, r.output
    assert "∂E/∂k1122[1] = " in r.output and "Weights K[1]:" in r.output


def test_the_printed_index_rules_are_the_index_arithmetic():
    """The general forms print s(i − 1) + u − p and (p + pad − u)/s + 1 as simplified text; read back,
    each equals the arithmetic written here (and the forms' check uses its own)."""
    from sympy.parsing.sympy_parser import implicit_multiplication, parse_expr, standard_transformations
    from symbackprop._conv_patterns import reached, reads
    i, u, x = sympy.symbols("i u x")
    read = lambda text: parse_expr(text, transformations=standard_transformations + (implicit_multiplication,),
                                   local_dict={"i": i, "u": u, "x": x})          # noqa: E731 (our own text)
    for s in (1, 2, 3):
        for pad in (0, 1, 2):
            assert sympy.expand(read(reads("i", "u", s, pad)) - (s * (i - 1) + u - pad)) == 0, (s, pad)
            assert sympy.simplify(read(reached("x", "u", s, pad)) - ((x + pad - u) / s + 1)) == 0, (s, pad)
