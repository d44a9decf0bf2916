"""Every command's output, pinned byte for byte for a set of networks.

These files pin the output while the inside of the tool changes: they say nothing
about whether a formula is right (the proof, property and numeric tests do that),
only that a change of design changed no printed character. A change that alters a
file on purpose regenerates it with ``SYMBACKPROP_GOLDEN=update python -m pytest
tests/test_golden.py`` and says why in its commit.  The residual-tied example's files
were added after the redesign, with the features they show: they pin its output
from then on; the features' formulas are checked in tests/test_features.py.
"""
import os
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "golden"
SPECS = HERE / "specs"
EXAMPLES = Path(__file__).parent.parent / "examples"

NETWORKS = {
    "seed": ["2-3-1"],
    "sigmoid-bias": ["2-3-1", "--activation", "sigmoid", "--bias"],
    "softmax": [str(EXAMPLES / "softmax-4-5-3.toml")],
    "mixed": [str(SPECS / "mixed-2-2-2-1.toml")],
    "rnn": [str(EXAMPLES / "rnn-1-1-1.toml")],
    "rnn-softmax": [str(SPECS / "rnn-2-3-2-softmax.toml")],
    "residual-tied": [str(EXAMPLES / "residual-tied.toml")],
}
FORMATS = {
    "txt": ["--format", "text"],
    "ascii.txt": ["--ascii"],
    "tex": ["--format", "latex"],
    "standalone.tex": ["--format", "latex", "--standalone"],
    "md": ["--format", "markdown"],
    "json": ["--format", "json"],
}

CASES = {}
for net, spec in NETWORKS.items():
    for ext, options in FORMATS.items():
        CASES[f"derive-{net}.{ext}"] = ["derive", *spec, *options]
    CASES[f"draw-{net}.tex"] = ["draw", *spec]
    CASES[f"draw-{net}.standalone.tex"] = ["draw", *spec, "--standalone"]
    if net != "seed":                       # the generic g has no numbers
        CASES[f"check-{net}.txt"] = ["check", *spec, "--seed", "3"]
for ext, options in FORMATS.items():
    CASES[f"derive-rnn-truncate.{ext}"] = ["derive", *NETWORKS["rnn"], "--truncate", "1", *options]
CASES["derive-seed-weights.txt"] = ["derive", "2-3-1", "--weight", "w12[1]", "--weight", "w31[2]"]
CASES["derive-seed-prove.txt"] = ["derive", "2-3-1", "--prove", "--format", "json"]
CASES["derive-rnn-prove.json"] = ["derive", *NETWORKS["rnn"], "--prove", "--format", "json"]
CASES["derive-residual-tied-weights.txt"] = ["derive", *NETWORKS["residual-tied"], "--weight", "w11[1]"]
CASES["check-rnn-truncate.txt"] = ["check", *NETWORKS["rnn"], "--truncate", "2", "--seed", "3", "--batch", "2"]

VALUES = {"dense": (NETWORKS["sigmoid-bias"], SPECS / "2-3-1-values.json"),
          "rnn": (NETWORKS["rnn"], EXAMPLES / "rnn-1-1-1-values.json"),
          "rnn-softmax": (NETWORKS["rnn-softmax"], SPECS / "rnn-2-3-2-values.json"),
          "residual-tied": (NETWORKS["residual-tied"], EXAMPLES / "residual-tied-values.json")}
for key, (spec, values) in VALUES.items():
    CASES[f"eval-{key}.txt"] = ["eval", *spec, "--values", str(values), "--lr", "0.5"]
    CASES[f"eval-{key}.json"] = ["eval", *spec, "--values", str(values), "--lr", "0.5", "--format", "json"]
CASES["eval-rnn-report.txt"] = ["eval", *NETWORKS["rnn"], "--values", str(EXAMPLES / "rnn-1-1-1-values.json"),
                                "--truncate", "1", "--report"]

CASES["verify-seed.txt"] = [
    "verify", "2-3-1", "dE/dw11[1] = δ1[3]·w11[2]·g'(z1[2])·x1", "dE/dw21[1] = δ1[3]·w11[2]·x2",
    "dE/dw11[2] = a1[2]*(a1[3]-t1)", "δ1[2] = g'(z1[2])·w11[2]·δ1[3]", "dE/dw12[1] = δ1[2]·x1"]
CASES["verify-softmax.txt"] = [
    "verify", *NETWORKS["softmax"], "delta1[3] = a1[3] - t1", "dE/dw11[2] = a1[2]*delta1[3]*tanh'(z1[3])",
    "dE/db2[3] = delta2[3]"]
CASES["verify-rnn.txt"] = [
    "verify", *NETWORKS["rnn"], "dE/dw11 = h1<0>·δ1<1> + h1<1>·δ1<2> + h1<2>·δ1<3>", "dE/dw11 = h1<2>·δ1<3>",
    "dE/du11 = x1<1>·δ1<1>", "δ1<3> = (y1<3> − t1<3>)·v11·tanh'(s1<3>)"]


def run(argv):
    from click.testing import CliRunner

    from symbackprop.cli import cli
    result = CliRunner().invoke(cli, argv)
    return f"{result.output}[exit {result.exit_code}]\n"


def steady(text: str) -> str:
    """The text without what the machine's floating point decides.

    The errors in check's table (1e-17 and the like) are rounding noise whose digits
    change with the CPU's BLAS kernels; every other number is kept to 8 digits.
    """
    text = re.sub(r"\b\d\.\d\de[-+]\d\d\b", "#.##e-##", text)
    return re.sub(r"-?\d+\.\d{7,}(?:e[-+]?\d+)?", lambda m: f"{float(m.group()):.8g}", text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    got = run(CASES[name])
    # paths in the output are the repository's, whoever runs the test
    got = steady(got.replace(str(EXAMPLES.parent) + os.sep, ""))
    path = HERE / "engine" / name
    if os.environ.get("SYMBACKPROP_GOLDEN") == "update":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")
