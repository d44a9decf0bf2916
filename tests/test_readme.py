"""The README's promises: its quick start, its pasted output, and CI running its test command."""
import re
from pathlib import Path

import symbackprop as sb

from .test_golden import steady

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands():
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_has_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("symbackprop derive 2-3-1")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quick_start_commands()[1] in ci.splitlines()


def test_pasted_output_is_real():
    pasted = README.split("<!-- output of: symbackprop derive 2-3-1 -->\n```text\n", 1)[1].split("```", 1)[0]
    assert pasted == sb.derive("2-3-1").to_text()


def test_pasted_check_output_is_real():
    pasted = README.split("<!-- output of: symbackprop check 2-3-1 --activation sigmoid -->\n```text\n", 1)[1]
    pasted = pasted.split("```", 1)[0]
    # the errors' digits are rounding noise that the CPU's BLAS kernels decide: compare the rest
    assert steady(pasted) == steady(str(sb.check(sb.network("2-3-1", activation="sigmoid"))))


def test_readme_python_example_runs():
    block = README.split("Compiled gradients, for any size and batches of samples:\n\n```python\n", 1)[1]
    namespace = {}
    exec(block.split("```", 1)[0], namespace)   # the README's own example, run as a user would
    assert namespace["E"] > 0 and namespace["dW"][0].shape == (784, 128)


def test_pasted_verify_output_is_real(cli_run):
    marker = '<!-- output of: symbackprop verify 2-3-1 "dE/dw11[1] = δ1[3]·w11[2]·g\'(z1[2])·x1" "dE/dw21[1] = δ1[3]·w11[2]·x2" -->\n```text\n'
    pasted = README.split(marker, 1)[1].split("```", 1)[0]
    result = cli_run("verify", "2-3-1", "dE/dw11[1] = δ1[3]·w11[2]·g'(z1[2])·x1", "dE/dw21[1] = δ1[3]·w11[2]·x2")
    assert result.exit_code == 1 and result.output == pasted


def test_every_pasted_command_output_is_real(cli_run, monkeypatch):
    """Each block marked "output of: symbackprop …" is what that command prints now."""
    import shlex
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"<!-- output of: symbackprop (.*?) -->\n```text\n(.*?)```", README, re.S)
    assert len(blocks) >= 4
    for command, pasted in blocks:
        args = shlex.split(command)
        if args[0] == "cost":          # its timings change from run to run; its op counts are tested
            continue
        assert steady(cli_run(*args).output) == steady(pasted), command


def test_readme_dict_form_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    first = README.split("Compiled gradients, for any size and batches of samples:\n\n```python\n", 1)[1]
    second = README.split("naming the shape the network needs.\n\n```python\n", 1)[1]
    namespace = {}
    exec(first.split("```", 1)[0], namespace)    # the README's own examples, run as a user would
    exec(second.split("```", 1)[0], namespace)
    assert set(namespace["grads"]) == set(namespace["f"].shapes) and namespace["E"] > 0
    assert namespace["f"].shapes["W[1]"] == (3, 2) and "W[3]" not in namespace["f"].shapes
