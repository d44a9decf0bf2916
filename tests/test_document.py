"""Issue 5: standalone LaTeX documents compile with pdflatex; the drawing; the general and matrix forms."""
import dataclasses
import re
import shutil
import subprocess

import pytest
import sympy

import symbackprop as sb
from symbackprop._general import GeneralFormError, general_form

PDFLATEX = shutil.which("pdflatex")
DOCUMENTS = [
    ("2-3-1", {}),
    ("2-2-2", dict(activation="sigmoid", bias=True)),
    ("4-5-3", dict(activation="tanh,softmax", loss="cross_entropy")),
    ("784-128-10", dict(activation="sigmoid")),
]


def _compile(tmp_path, name, tex):
    if PDFLATEX is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base "
                    "texlive-latex-recommended texlive-pictures); .ci/run installs it")
    if "{standalone}" in tex and subprocess.run(["kpsewhich", "standalone.cls"], capture_output=True,
                                                  text=True).stdout.strip() == "":
        pytest.skip("the standalone class is not installed (apt-get install texlive-latex-extra); "
                    ".ci/run installs it")
    (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / f"{name}.log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and not errors, errors or run.stdout[-2000:]
    assert "Undefined control sequence" not in log
    assert not _overfull(log), f"overfull boxes: {_overfull(log)}"
    return log


def _overfull(log: str) -> list:
    """The overfull boxes of a LaTeX log wider than 1 pt."""
    return [w for w in map(float, re.findall(r"Overfull \\[hv]box \(([0-9.]+)pt too wide\)", log)) if w > 1.0]


@pytest.mark.parametrize("spec,kw", DOCUMENTS, ids=[s for s, _ in DOCUMENTS])
def test_standalone_document_compiles(tmp_path, spec, kw):
    d = sb.derive(spec, **kw)
    tex = d.to_latex(standalone=True)
    assert tex.startswith("\\documentclass") and "\\begin{tikzpicture}" in tex
    for section in ["Forward pass", "Loss", "Error signals", "Gradients, step by step", "General form",
                    "Matrix form", "Update", "\\eta"]:
        assert section in tex
    assert tex.isascii()
    log = _compile(tmp_path, spec, tex)
    pages = int(re.search(r"Output written on .*?\((\d+) pages?", log).group(1))
    assert pages <= 12


def test_drawing_compiles_alone(tmp_path, cli_run):
    result = cli_run("draw", "3-4-2", "--standalone")
    assert result.exit_code == 0
    _compile(tmp_path, "draw", result.output)


def test_drawing_labels_small_networks_and_elides_large_layers():
    small = sb.draw(sb.network("2-3-1"))
    assert small.count("node[neuron]") == 6 and "w_{31}^{[2]}" in small and "{2[2]}" in small
    assert "x_{1}" in small and "a_{1}^{[3]}" in small
    big = sb.draw(sb.network("784-128-10"))
    assert "\\vdots" in big and "784 nodes" in big and "{784[1]}" in big
    assert "w_{" not in big                          # too many edges to label
    assert big.count("node[neuron]") == 12           # nodes 1, 2, 3 and the last, per layer


def test_general_form_is_checked_against_every_result():
    d = sb.derive("3-4-2", activation="tanh,sigmoid", loss="bce", bias=True)
    g = general_form(d)
    assert g.checked == len(d.deltas) + len(d.gradients)
    broken = dict(d.gradients)
    broken["w11[1]"] = broken["w11[1]"] * 2
    with pytest.raises(GeneralFormError, match="w11"):
        general_form(dataclasses.replace(d, gradients=broken))


def test_general_form_text():
    text = sb.derive("2-3-1").to_text()
    assert "δj[L] = (aj[L] − tj)·g'(zj[L])" in text
    assert "δi[2] = g'(zi[2])·Σ_j(wij[2]·δj[3])" in text
    assert "∂E/∂wij[k] = δj[k+1]·ai[k]" in text
    assert "W[1] is 2×3, W[2] is 3×1" in text


def test_softmax_without_the_shortcut_has_a_general_form():
    tex = sb.derive("2-3-3", activation="relu,softmax").to_latex()
    assert "\\sum_{m=1}^{n_{L}}" in tex


def test_large_network_is_summarised():
    d = sb.derive("784-128-10", activation="sigmoid", bias=True)
    assert [s.parameter.name for s in d.steps] == ["w11[2]", "w11[1]", "b1[3]"]
    text = d.to_text()
    assert "The other 101,767 parameters follow the same form" in text
    assert "(shown for the first and last node of each layer; the others are alike)" in text
    assert len(text.splitlines()) < 200
    assert sb.derive("4-4-4", max_weights=100).steps and len(sb.derive("4-4-4", max_weights=100).steps) == 32


def test_max_weights_option(cli_run):
    few = cli_run("derive", "3-3-3", "--max-weights", "5")
    assert few.exit_code == 0 and "The other 16 parameters" in few.output


def test_markdown_and_fragment():
    d = sb.derive("2-2-1", activation="sigmoid")
    assert not d.to_latex().startswith("\\documentclass") and "\\begin{align*}" in d.to_latex()
    md = d.to_markdown()
    assert "$$" in md and "\\tag" not in md
    assert sympy.Symbol("x") not in d.gradients.values()


@pytest.mark.parametrize("name", ["seed-2-3-1", "softmax-4-5-3"])
def test_examples_are_current(name):
    from pathlib import Path
    here = Path(__file__).parent.parent / "examples"
    d = sb.derive(str(here / f"{name}.toml"))
    assert (here / f"{name}.tex").read_text(encoding="utf-8") == d.to_latex(standalone=True)


def test_structured_network_document_compiles(tmp_path):
    """Skip arcs, tied labels, R and the extra general and matrix terms all typeset."""
    from pathlib import Path
    spec = str(Path(__file__).parent.parent / "examples" / "residual-tied.toml")
    tex = sb.derive(spec, weights=["w11[1]", "w21[2]"]).to_latex(standalone=True)
    assert "bend left=25" in tex and "R &=" in tex and "\\lambda W^{[1]}" in tex
    _compile(tmp_path, "residual-tied", tex)


@pytest.mark.parametrize("spec", ["2-3-1", "examples/softmax-4-5-3.toml", "examples/rnn-1-1-1.toml"])
def test_the_fragment_compiles_in_a_bare_article(tmp_path, spec):
    """--format latex pasted into \\documentclass{article} with amsmath: no LaTeX error (a loss
    name such as cross_entropy in the subtitle used to be a bare underscore in text mode) and no
    overfull box (its lines are broken for an article's text width; there were 9 for 2-3-1)."""
    if PDFLATEX is None:
        pytest.skip("pdflatex is not installed; .ci/run installs it")
    from pathlib import Path
    path = Path(__file__).parent.parent / spec
    body = sb.derive(str(path) if path.exists() else spec).to_latex()
    (tmp_path / "frag.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                                       + body + "\\end{document}\n", encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "frag.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-1500:]
    log = (tmp_path / "frag.log").read_text(encoding="latin-1")
    assert _overfull(log) == []


@pytest.mark.parametrize("name", ["softmax-4-5-3", "rnn-1-1-1"])
def test_the_examples_notes_compile_without_overfull_boxes(tmp_path, name):
    """The standalone notes of the examples: no overfull box, no command-line words."""
    from pathlib import Path
    tex = sb.derive(str(Path(__file__).parent.parent / "examples" / f"{name}.toml")).to_latex(standalone=True)
    assert "--format" not in tex and "texttt" not in tex
    _compile(tmp_path, name, tex)
