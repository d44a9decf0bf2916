import json
import os

import pytest


def test_derive_default(cli_run):
    result = cli_run("derive", "2-3-1")
    assert result.exit_code == 0
    assert "∂E/∂w11[1] = δ1[3]·w11[2]·g'(z1[2])·x1 = δ1[2]·x1" in result.output


def test_derive_weight_option(cli_run):
    result = cli_run("derive", "2-3-1", "--weight", "w11[1]", "--weight", "w21[2]")
    assert result.exit_code == 0
    assert "∂E/∂w11[1]:" in result.output and "∂E/∂w21[2]:" in result.output
    assert "∂E/∂w12[1]:" not in result.output


def test_derive_prove(cli_run):
    result = cli_run("derive", "2-2-2", "--activation", "sigmoid,softmax", "--loss", "cross_entropy", "--prove")
    assert result.exit_code == 0
    assert "(8 of 8 parameters)" in result.output and "NOT PROVED" not in result.output


def test_output_file_only(cli_run, tmp_path):
    out = tmp_path / "d.json"
    result = cli_run("derive", "2-3-1", "--format", "json", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(out.read_text())["gradient"]["w31[2]"] == "a3[2]*delta1[3]"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".symbackprop-")]


def test_help_shows_examples(cli_run):
    result = cli_run("derive", "--help")
    assert result.exit_code == 0 and "symbackprop derive 2-3-1" in result.output


@pytest.mark.parametrize("args,fragment", [
    (["derive", "2-0-1"], "positive whole number"),
    (["derive", "two-three"], "layer sizes"),
    (["derive", "2"], "layer sizes"),
    (["derive", "2-3-1", "--activation", "swish"], "unknown activation"),
    (["derive", "2-3-1", "--loss", "quartic"], "unknown loss"),
    (["derive", "2-3-2", "--activation", "softmax"], "output layer only"),
    (["derive", "2-3-2", "--activation", "a,b,c"], "activations given"),
    (["derive", "nofile.toml"], "does not exist"),
    (["derive", "2-3-1", "--weight", "w99[2]"], "no such weight"),
    (["derive", "2-3-1", "--weight", "w123[1]"], "comma"),
    (["derive", "2-3-1", "--format", "pdf"], "Invalid value"),
    (["derive", "30-30-30", "--prove"], "at most 50"),
    (["derive", "2-3-1", "--standalone"], "--format latex"),
])
def test_bad_input_is_one_line_exit_2(args, fragment, capfd):
    from symbackprop.cli import main
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capfd.readouterr()
    assert stop.value.code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("symbackprop: error: ") and fragment in err
    assert "Traceback" not in err


def test_failed_output_keeps_existing_file(tmp_path, capfd):
    from symbackprop.cli import main
    out = tmp_path / "keep.txt"
    out.write_text("precious")
    with pytest.raises(SystemExit) as stop:
        main(["derive", "2-0-1", "-o", str(out)])
    assert stop.value.code == 2 and out.read_text() == "precious"
    with pytest.raises(SystemExit) as stop:
        main(["derive", "2-3-1", "-o", str(tmp_path / "missing" / "x.txt")])
    assert stop.value.code == 2 and "does not exist" in capfd.readouterr().err
