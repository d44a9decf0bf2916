"""What a REPL and Jupyter show: short reprs, summaries of big derivations, cards and tables."""
import xml.etree.ElementTree as ET

import pytest

import symbackprop as sb


def _objects():
    net = sb.network("2-3-1", activation="tanh")
    rnn = sb.rnn(1, 2, 1, 3, activation="tanh")
    yield net
    yield rnn
    yield sb.derive(net)
    yield sb.derive(rnn)
    yield sb.verify(net, "dE/dw11[2] = delta1[3]*a1[2]")
    yield sb.verify(net, "dE/dw11[2] = delta1[3]*a2[2]")
    yield sb.check(net, samples=1)
    yield sb.check(rnn, samples=1)


@pytest.mark.parametrize("obj", list(_objects()), ids=lambda o: type(o).__name__)
def test_every_public_object_has_a_short_repr(obj):
    text = repr(obj)
    assert len(text) < 200 and "\n" not in text
    assert text.startswith(f"<{type(obj).__name__} ")


def test_a_big_derivation_is_summarised_small():
    # (how fast: benchmarks/run.py, "notebook display")
    d = sb.derive("784-128-10")
    shown = d._repr_markdown_() + repr(d)
    assert len(shown) < 5_000
    # the counts are the network's: 784·128 + 128·10 weights
    assert "101,632 parameters" in shown and "138 error signals" in shown
    # one weight per layer, each ∂E/∂wij[k] = ai[k]·δj[k+1] (a[1] = x)
    assert "\\frac{\\partial E}{\\partial w_{11}^{[1]}} &= x_{1} \\cdot \\delta_{1}^{[2]}" in shown
    assert "\\frac{\\partial E}{\\partial w_{11}^{[2]}} &= a_{1}^{[2]} \\cdot \\delta_{1}^{[3]}" in shown


def test_verdict_card_says_right_or_wrong_and_why():
    net = sb.network("2-3-1")
    good = sb.verify(net, "dE/dw11[2] = delta1[3]*a1[2]")._repr_html_()
    bad = sb.verify(net, "dE/dw11[2] = -delta1[3]*a1[2]")._repr_html_()
    assert "✓" in good and "✗" not in good
    assert "✗" in bad and "wrong sign" in bad and "expected" in bad
    for card in (good, bad):
        ET.fromstring(card)           # well-formed


def test_report_is_its_table():
    report = sb.check(sb.network("2-2-1", activation="sigmoid"), samples=2)
    text = str(report)
    assert text.startswith("Cross-check of 2-2-1") and "| pair" in text and text.rstrip().endswith("All agree.")
    table = ET.fromstring(report._repr_html_())
    rows = table.findall(".//tbody/tr")
    assert len(rows) == len(report.rows)
    assert [r.find("td").text for r in rows] == [r.pair for r in report.rows]


@pytest.mark.notebook
def test_the_example_notebook_runs_and_stays_small(tmp_path):
    """examples/notebook.ipynb, executed as Jupyter would: every cell runs, a 784-128-10 derivation
    is shown as a summary, and the saved notebook stays under 200 KB."""
    nbformat = pytest.importorskip("nbformat")
    from nbconvert.preprocessors import ExecutePreprocessor
    from pathlib import Path
    nb = nbformat.read(Path(__file__).parent.parent / "examples" / "notebook.ipynb", as_version=4)
    ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    out = tmp_path / "run.ipynb"
    nbformat.write(nb, out)
    assert out.stat().st_size < 200_000
    shown = [o["data"] for c in nb.cells if c.cell_type == "code" for o in c.outputs if "data" in o]
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    big = shown[-1]
    assert "text/markdown" in big and "101,632 parameters" in big["text/markdown"]
    assert "text/latex" not in big and len(big["text/plain"]) < 200
    assert "✗" in shown[3]["text/html"] and "<table>" in shown[4]["text/html"]


def test_a_disagreement_names_the_parameter_with_twelve_digits():
    from symbackprop._tally import Row
    row = Row("vectorized vs reference", "layer 1", 2e-3, 1.6e-2, 1e-10, 1e-13, "w11[1]", 0.123456789012345, 0.125)
    report = sb.Report(sb.network("2-2-1"), 1, (row,))
    assert not report and "✗" in report._repr_html_()
    assert ("DISAGREE: vectorized vs reference, layer 1: at w11[1] 0.123456789012 vs 0.125 "
            "(abs error 2.00e-03, rel error 1.60e-02, tolerance 1e-10)") in str(report)
    assert "All agree." not in str(report) and "1 of 1 rows disagree" in repr(report)
