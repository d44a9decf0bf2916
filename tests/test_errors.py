"""One error hierarchy: every bad input is a SymbackpropError (and a ValueError), one line at the CLI."""
import json

import pytest

import symbackprop as sb
from symbackprop import _compile, _errors, _files, _grammar, _names, _network, _values

KINDS = [sb.SpecError, sb.ParseError, sb.NotationError, sb.ValuesError, sb.LimitError, sb.OutputError,
         sb.CompileError]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_kind_is_a_symbackprop_error_and_a_value_error(kind):
    err = kind("what is wrong: how to fix it", 3) if kind is sb.ParseError else kind("what is wrong: how to fix it")
    assert isinstance(err, sb.SymbackpropError) and isinstance(err, ValueError)
    assert str(err).startswith("what is wrong: how to fix it")
    assert kind.__name__ in sb.__all__ and getattr(sb, kind.__name__) is kind


def test_the_base_is_public():
    assert "SymbackpropError" in sb.__all__ and issubclass(sb.SymbackpropError, ValueError)


def test_old_names_are_the_same_classes():
    assert _network.SpecError is _errors.SpecError is sb.SpecError
    assert _grammar.ParseError is _errors.ParseError is sb.ParseError
    assert _names.NameError_ is _errors.NotationError
    assert _values.ValuesError is _errors.ValuesError
    assert _files.OutputError is _errors.OutputError
    assert _compile.CompileError is _errors.CompileError is sb.CompileError


def test_output_error_is_still_an_os_error():
    assert issubclass(sb.OutputError, OSError)


def test_parse_error_keeps_its_column():
    err = sb.ParseError("unexpected character '$'", 7)
    assert err.column == 7 and str(err) == "unexpected character '$' (at column 7)"


def _values_file(tmp_path):
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"w11[1]": 0.5, "x1": 1.0}))       # t1 is missing
    return path


#: (what fails, the error, a fragment of its message); each a public way in
FAILURES = [
    ("bad spec", lambda tmp: sb.network("2-0-1"), sb.SpecError, "positive whole number"),
    ("bad name", lambda tmp: sb.network("2-3-1").has("w1"), sb.NotationError, "needs a layer"),
    ("bad values file", lambda tmp: sb.evaluate("1-1", str(_values_file(tmp))), sb.ValuesError, "t1"),
    ("missing values file", lambda tmp: sb.evaluate("1-1", str(tmp / "none.json")), sb.ValuesError,
     "does not exist"),
    ("unparseable equation", lambda tmp: sb.verify("2-3-1", "dE/dw11[2] = a1[2] *"), sb.ParseError, "column"),
    ("generic g compiled", lambda tmp: sb.compile("2-3-1"), sb.CompileError, "generic activation g"),
    ("unwritable output", lambda tmp: _files.write_atomic(str(tmp / "no" / "x.txt"), "x"), sb.OutputError,
     "does not exist"),
]


@pytest.mark.parametrize("what,call,kind,fragment", FAILURES, ids=[f[0] for f in FAILURES])
def test_each_public_failure_raises_its_kind(tmp_path, what, call, kind, fragment):
    with pytest.raises(kind, match=fragment) as info:
        call(tmp_path)
    assert isinstance(info.value, sb.SymbackpropError)
    assert "\n" not in str(info.value)


def _cli_cases(tmp_path):
    return [
        (["derive", "2-0-1"], "positive whole number"),
        (["derive", "2-3-1", "--weight", "w1"], "--weight: 'w1': w needs a layer in brackets"),
        (["eval", "1-1", "--activation", "tanh", "--values", str(_values_file(tmp_path))], "t1"),
        (["eval", "1-1", "--activation", "tanh", "--values", str(tmp_path / "none.json")], "does not exist"),
        (["verify", "2-3-1", "dE/dw11[2] = a1[2] *"], "equation 1, column 21: expected a number"),
        (["check", "2-3-1"], "layer 2 uses the generic activation g, which has no numbers"),
        (["derive", "2-3-1", "-o", str(tmp_path / "no" / "x.txt")], "does not exist; create it first"),
    ]


@pytest.mark.parametrize("n", range(7))
def test_the_cli_says_each_in_one_line_and_exits_2(tmp_path, capfd, n):
    from symbackprop.cli import main
    args, fragment = _cli_cases(tmp_path)[n]
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capfd.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.startswith("symbackprop: error: ") and err.count("\n") == 1 and fragment in err, err


def test_the_cli_message_is_the_error_message(capfd):
    from symbackprop.cli import main
    with pytest.raises(sb.CompileError) as info:
        sb.compile("2-3-1")
    with pytest.raises(SystemExit):
        main(["check", "2-3-1"])
    assert capfd.readouterr().err == f"symbackprop: error: {info.value}\n"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_any_symbackprop_error_reaching_the_cli_is_exit_2(monkeypatch, capfd, cli_run, kind):
    """The boundary maps the whole hierarchy, not a list of known raisers."""
    from symbackprop import cli

    def fail(*args, **kw):
        raise kind("too big: use a smaller network", 1) if kind is sb.ParseError else kind(
            "too big: use a smaller network")
    monkeypatch.setattr("symbackprop._report.cost_text", fail)     # cli imports it when cost runs
    with pytest.raises(SystemExit) as stop:
        cli.main(["cost", "2-1", "--activation", "tanh"])
    _, err = capfd.readouterr()
    assert stop.value.code == 2 and err.startswith("symbackprop: error: too big: use a smaller network")
    assert err.count("\n") == 1
    result = cli_run("cost", "2-1", "--activation", "tanh")
    assert result.exit_code == 2 and "too big: use a smaller network" in result.output
