"""The LSTM and GRU derivation: proofs against brute force, the general forms, the printed formulas
against the NumPy reference, every output format, the spec keys and the command line."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

import symbackprop as sb
from symbackprop import _gated_forms
from symbackprop._gated_reference import bptt, from_plain, plain_names
from symbackprop._program import printed_formulas
from symbackprop.cli import cli

CELLS = ("lstm", "gru")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("inputs,steps,output,bias", [(1, 1, "hidden", False), (1, 2, "hidden", True),
                                                       (1, 2, "dense", True), (2, 2, "hidden", True)])
def test_prove_against_brute_force(cell, inputs, steps, output, bias):
    """--prove: every δ-form gradient, all intermediates substituted, equals sympy.diff of the nested E."""
    net = sb.rnn(inputs, 1, 1, steps, cell=cell, output=output, bias=bias)
    d = sb.derive(net, prove=True)
    assert set(d.proof) == set(d.gradients) and len(d.proof) == net.n_parameters
    assert all(d.proof.values()), d.proof


def test_prove_with_softmax_outputs():
    """One step keeps it quick (13 s at T = 2): the softmax output layer is what is proved here."""
    net = sb.rnn(1, 1, 2, 1, cell="lstm", output_activation="softmax", loss="cross_entropy")
    assert all(sb.derive(net, prove=True).proof.values())


@pytest.mark.parametrize("cell", CELLS)
def test_prove_and_expanded_refuse_large_cells(cell):
    with pytest.raises(sb.LimitError, match="1 unit"):
        sb.derive(sb.rnn(1, 2, 1, 2, cell=cell), prove=True)
    with pytest.raises(sb.SpecError, match="truncate"):
        sb.derive(sb.rnn(1, 1, 1, 2, cell=cell), prove=True, truncate=1)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("truncate", [None, 1, 2])
@pytest.mark.parametrize("output", ["dense", "hidden"])
def test_general_forms_hold_at_every_instance(cell, truncate, output):
    net = sb.rnn(2, 3, 3 if output == "hidden" else 2, 4, cell=cell, output=output, bias=True)
    d = sb.derive(net, truncate=truncate)
    kinds = {f.kind for f in d.forms}
    assert {"h", *net.gates, "u", "w", "b"} <= kinds
    assert all(f.holds and f.instances > 0 for f in d.forms), [f for f in d.forms if not f.holds]
    assert _gated_forms.matrix_holds(d)


def test_a_wrong_form_fails_its_check(monkeypatch):
    """The check can fail: the cell path without its forget gate is caught, at the steps that have one."""
    real = _gated_forms._local_forms

    def forgetful(d, kind, j, t):
        right = real(d, kind, j, t)
        if kind != "c" or t == d.network.steps:
            return right
        return right.xreplace({_gated_forms.gsym("f", j, t=t + 1): 1})
    monkeypatch.setattr(_gated_forms, "_local_forms", forgetful)
    d = sb.derive(sb.rnn(1, 2, 1, 3, cell="lstm"))
    c = next(f for f in d.forms if f.kind == "c")
    assert not c.holds and c.failed == "deltac1<1>"
    assert "FAILS at deltac1<1>" in d.to_text()


def _point(net, rng):
    params = {p.name: float(rng.normal(scale=0.6)) for p in net.parameters()}
    X = rng.normal(size=(3, net.steps, net.inputs))
    Y = rng.uniform(0.1, 0.9, size=(3, net.steps, net.outputs))
    h0, c0 = rng.normal(size=(3, net.hidden)), rng.normal(size=(3, net.hidden))
    return params, X, Y, h0, c0


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("output,out_act,loss", [("hidden", "linear", "mse"), ("dense", "sigmoid", "bce"),
                                                  ("dense", "softmax", "cross_entropy"), ("dense", "tanh", "huber")])
@pytest.mark.parametrize("truncate", [None, 2])
def test_printed_formulas_agree_with_the_reference(cell, output, out_act, loss, truncate):
    """The printed forward pass, δ's and gradients, evaluated as they are printed, against BPTT written from the
    textbook (``_gated_reference``), on a batch of 3 with nonzero starting states."""
    net = sb.rnn(2, 2, 2, 3, cell=cell, output=output, output_activation=out_act, loss=loss, bias=True)
    d = sb.derive(net, weights=(), truncate=truncate)
    params, X, Y, h0, c0 = _point(net, np.random.default_rng(len(loss) + (truncate or 0)))
    if out_act == "softmax":
        Y = Y / Y.sum(axis=2, keepdims=True)
    values = dict(params)
    for t in range(1, net.steps + 1):
        values.update({f"x{i}<{t}>": X[:, t - 1, i - 1] for i in range(1, net.inputs + 1)})
        values.update({f"t{j}<{t}>": Y[:, t - 1, j - 1] for j in range(1, net.outputs + 1)})
    values.update({f"h{j}<0>": h0[:, j - 1] for j in range(1, net.hidden + 1)})
    values.update({f"c{j}<0>": c0[:, j - 1] for j in range(1, net.hidden + 1)} if cell == "lstm" else {})
    out = printed_formulas(d)(values)
    P = from_plain(cell, params, net.inputs, net.hidden, net.outputs, True, output)
    E, grads = bptt(cell, P, X, Y, activation="tanh", output_activation=out_act, loss=loss, output=output,
                    h0=h0, c0=c0 if cell == "lstm" else None, truncate=truncate)
    want = plain_names(cell, grads)
    assert np.sum(out["E"]) == pytest.approx(float(E), rel=1e-10)
    for name in d.gradients:
        assert np.sum(out[name]) == pytest.approx(want[name], rel=1e-8, abs=1e-10), name


@pytest.mark.parametrize("cell", CELLS)
def test_every_format(cell):
    net = sb.rnn(2, 2, 1, 3, cell=cell, output_activation="sigmoid", loss="bce", bias=True)
    d = sb.derive(net)
    data = json.loads(d.to_json())
    assert data["spec"]["cell"] == cell and set(data["gradient"]) == set(d.gradients)
    assert data["delta"]["deltah1<3>"] == "v11*(y1<3> - t1<3>)"
    assert all(f["holds"] for f in data["forms"])
    text = d.to_text()
    for name in ("δh1<1>", "δ" + net.gates[0] + "2<3>", "Why the error reaches back", "Vector forms"):
        assert name in text
    assert "δ" not in d.to_text(ascii_only=True)
    assert "\\delta_{h,1}^{\\langle 1 \\rangle}" in d.to_latex()
    assert d.to_markdown().startswith("## Backpropagation through time")
    page = d.to_html()
    assert page.count("<svg") == 1 and "<math" in page and "FAILS" not in page
    assert d.to_beamer().count("\\begin{frame}") >= 8


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("cell", CELLS)
def test_the_standalone_document_compiles(cell, tmp_path):
    d = sb.derive(sb.rnn(2, 1, None, 2, cell=cell, output="hidden", bias=True))
    (tmp_path / "d.tex").write_text(d.to_latex(standalone=True), encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 10_000


def test_names_and_symbols():
    d = sb.derive(sb.rnn(1, 1, 1, 2, cell="lstm", bias=True))
    assert d.symbol("δc1<1>") == d.symbol("deltac1<1>") and d.symbol("c1<1>") != d.symbol("c1")
    assert d.subs(d.gradient("v11"), {"h1<1>": 0, "h1<2>": 1}) == d.symbol("y1<2>") - d.symbol("t1<2>")
    assert d.gradient("c1") == d.errors["q1<1>"] + d.errors["q1<2>"]
    with pytest.raises(sb.NotationError, match="needs a time step"):
        d.gradient("q11")


def test_spec_files_and_the_api_agree(tmp_path):
    spec = tmp_path / "g.toml"
    spec.write_text('kind = "rnn"\ncell = "gru"\ninputs = 2\nhidden = 2\noutputs = 1\nsteps = 3\nbias = true\n')
    assert sb.network(str(spec)) == sb.rnn(2, 2, 1, 3, cell="gru", bias=True)
    elman = {"kind": "rnn", "cell": "elman", "inputs": 1, "hidden": 1, "outputs": 1, "steps": 2}
    assert sb.network(elman) == sb.rnn(1, 1, 1, 2)
    assert sb.network(str(spec), activation="relu,sigmoid").output_activation.name == "sigmoid"


@pytest.mark.parametrize("data,message", [
    ({"cell": "lstmm"}, "use \"lstm\" or \"gru\""),
    ({"cell": "lstm", "outputs": None}, "outputs = "),
    ({"cell": "lstm", "output": "hidden", "outputs": 2}, "outputs must be 1"),
    ({"cell": "elman", "output": "hidden"}, "for gated cells"),
    ({"cell": "gru", "gates": 3}, "unknown key 'gates'"),
])
def test_bad_specs_exit_2_with_one_line(tmp_path, data, message):
    table = {"kind": "rnn", "inputs": 2, "hidden": 1, "outputs": 1, "steps": 2, **data}
    table = {k: v for k, v in table.items() if v is not None}
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps(table))
    result = CliRunner().invoke(cli, ["derive", str(spec)])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_the_command_line():
    runner = CliRunner()
    result = runner.invoke(cli, ["derive", "examples/lstm-2-1.toml", "--prove"])
    assert result.exit_code == 0 and result.output.count("proved by") == 16 and "NOT PROVED" not in result.output
    result = runner.invoke(cli, ["derive", "examples/gru-2-2-1.toml", "--truncate", "1", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["truncate"] == 1
    result = runner.invoke(cli, ["derive", "examples/gru-2-2-1.toml", "--prove"])
    assert result.exit_code == 2 and "use check" in result.output


@pytest.mark.parametrize("spec", ["examples/lstm-2-1.toml", "examples/batchnorm-2-2-1.toml"])
def test_the_slides_compile_and_every_frame_fits(spec, tmp_path, monkeypatch):
    """Each equation a display of its own, so frames break between them; the drawing fits the frame."""
    from pathlib import Path
    from .test_document import _compile
    monkeypatch.chdir(Path(__file__).parent.parent)
    log = _compile(tmp_path, "slides", sb.derive(sb.network(spec)).to_beamer())
    assert "pt too high" not in log


def test_the_vector_form_check_can_fail():
    """A δh that lost its path through the next step's h is caught by the vector form's check too."""
    import dataclasses
    d = sb.derive(sb.rnn(1, 2, 1, 3, cell="gru"))
    assert _gated_forms.matrix_holds(d)
    broken = dict(d.deltas)
    broken["deltah1<1>"] = broken["deltah1<1>"].xreplace({d.symbol("deltah1<2>"): 0})
    assert not _gated_forms.matrix_holds(dataclasses.replace(d, deltas=broken))
