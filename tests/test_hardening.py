"""Issue 8: bad input of every kind, resource guards, no lost output, stable numbers, fuzzing.

The catalogue runs the real entry point (``symbackprop.cli.main``) on each malformed
input: exit 2, one line on stderr naming the problem and the fix, nothing on stdout,
no traceback.
"""
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop import ParseError, SpecError
from symbackprop._chain import read_steps
from symbackprop._kinds import kind_of

RNN_SPEC = 'kind = "rnn"\ninputs = 1\nhidden = 2\noutputs = 1\nsteps = 3\nactivation = "tanh"\n'
GOOD_VALUES = {"w11[1]": 0.1, "w21[1]": 0.2, "w11[2]": 0.3, "x1": 1.0, "x2": 0.5, "t1": 0.2}
LONG = "dE/dw11[2] = " + "a1[2]+" * 4000 + "1"


def _files(root: Path) -> dict:
    """Every file a row may name, made once per test in ``root``."""
    files = {
        "empty.toml": "", "blank.json": "  \n", "bad.toml": "layers = [2, 3", "bad.json": "{\"layers\": [2, 3",
        "unknown.toml": "layers = [2, 1]\ncolour = \"red\"\n", "type.toml": "layers = \"2-3-1\"\n",
        "negative.toml": "layers = [2, -3, 1]\n", "zero.toml": "layers = [2, 0, 1]\n",
        "float.toml": "layers = [2, 3.5, 1]\n", "huge.toml": "layers = [100000, 100000, 1]\n",
        "nolayers.toml": "activation = \"tanh\"\n", "list.json": "[2, 3, 1]", "spec.txt": "layers = [2, 1]\n",
        "bool.toml": "layers = [2, 1]\nbias = \"yes\"\n", "rnn.toml": RNN_SPEC,
        "rnn-kind.toml": RNN_SPEC.replace("rnn", "gru"), "rnn-steps.toml": RNN_SPEC.replace("steps = 3", "steps = -1"),
        "v-missing.json": json.dumps({k: v for k, v in GOOD_VALUES.items() if k != "w11[2]"}),
        "v-nan.json": json.dumps({**GOOD_VALUES, "w11[1]": float("nan")}),
        "v-inf.json": json.dumps({**GOOD_VALUES, "x1": float("inf")}),
        "v-text.json": json.dumps({**GOOD_VALUES, "t1": "high"}),
        "v-unknown.json": json.dumps({**GOOD_VALUES, "w99[1]": 1.0}),
        "v-samples.json": json.dumps({**{k: v for k, v in GOOD_VALUES.items() if k[0] == "w"}, "samples": []}),
        "v-reduction.json": json.dumps({**GOOD_VALUES, "reduction": "max"}),
        "v-bad.toml": "w11[1] = ", "v-list.json": "[1, 2]",
        "v-rnn.json": json.dumps({"u11": 1, "u12": 1, "w11": 0, "w12": 0, "w21": 0, "w22": 0, "v11": 1, "v21": 1,
                                  "x1<1>": 1, "x1<2>": 1, "t1<1>": 0, "t1<2>": 0, "t1<3>": 0}),
        "equations.txt": "dE/dw11[2] = a1[2]*delta1[3]\ndE/dw11[2] = a1[2] *\n",
        "bad-equations.txt": "# nothing here can be read\n  x = 1\nnot math = \n",
        "latin1.toml": b"layers = [2, 1] # \xe9\xff\n",
    }
    for name, text in files.items():
        (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    (root / "folder.toml").mkdir()
    (root / "values.json").write_text(json.dumps(GOOD_VALUES))
    (root / "plain").write_text("a file, not a folder")
    return files


def _f(name):
    return ("FILE", name)


# (arguments, a fragment of the message) — FILE names resolve inside the test's folder
CATALOGUE = [
    # spec strings
    (["derive", "2-0-1"], "positive whole number"),
    (["derive", "2--1"], "neither layer sizes"),
    (["derive", "two-three"], "neither layer sizes"),
    (["derive", "7"], "neither layer sizes"),
    (["derive", "2-3-1", "--activation", "swish"], "unknown activation"),
    (["derive", "2-3-1", "--activation", "z+"], "not an expression in z"),
    (["derive", "2-3-1", "--activation", "__import__('os')"], "not an expression in z"),
    (["derive", "2-3-1", "--activation", "exp(y)"], "not an expression in z"),
    (["derive", "2-3-1", "--loss", "quartic"], "unknown loss"),
    (["derive", "2-3-2", "--activation", "tanh", "--loss", "bce"], "takes the log"),
    (["derive", "2-3-1", "--activation", "softmax"], "output layer only"),
    (["derive", "100000-100000-1"], "the limit is 2,000,000"),
    (["draw", "0-1"], "positive whole number"),
    (["cost", "2-3-1"], "generic activation g"),
    # spec files
    (["derive", _f("missing.toml")], "does not exist"),
    (["derive", _f("folder.toml")], "is a folder"),
    (["derive", _f("empty.toml")], "is empty"),
    (["derive", _f("blank.json")], "is empty"),
    (["derive", _f("latin1.toml")], "not UTF-8"),
    (["derive", _f("bad.toml")], "not valid TOML"),
    (["derive", _f("bad.json")], "not valid JSON"),
    (["derive", _f("list.json")], "must hold a table"),
    (["derive", _f("unknown.toml")], "unknown key 'colour'"),
    (["derive", _f("type.toml")], "wrong type"),
    (["derive", _f("bool.toml")], "wrong type"),
    (["derive", _f("negative.toml")], "positive whole number"),
    (["derive", _f("zero.toml")], "positive whole number"),
    (["derive", _f("float.toml")], "positive whole number"),
    (["derive", _f("huge.toml")], "the limit is 2,000,000"),
    (["derive", _f("nolayers.toml")], "missing key 'layers'"),
    (["derive", _f("spec.txt")], "must end in .toml"),
    (["check", _f("rnn-kind.toml")], "kind = 'gru'"),
    (["eval", _f("rnn-steps.toml"), "--values", _f("v-rnn.json")], "steps = -1"),
    # values files
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("nothere.json")], "does not exist"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-missing.json")], "missing w11[2]"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-nan.json")], "give a finite number"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-inf.json")], "give a finite number"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-text.json")], "is not a number"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-unknown.json")], "unknown name 'w99[1]'"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-samples.json")], "non-empty list"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-reduction.json")], "reduction"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-bad.toml")], "not valid TOML"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("v-list.json")], "must map names"),
    (["eval", "2-1-1", "--values", _f("values.json")], "generic activation g"),
    (["eval", _f("rnn.toml"), "--values", _f("v-rnn.json")], "missing x1<3>"),
    # equations for verify
    (["verify", "2-3-1", "dE/dw11[2] = ((a1[2]"], "column"),
    (["verify", "2-3-1", "dE/dw11[2] = foo(a1[2])"], "column"),
    (["verify", "2-3-1", "dE/dw11[2] a1[2]"], "no '='"),
    (["verify", "2-3-1", "dE/dw11[2] = a1[2] = "], "the right side is empty"),
    (["verify", "2-3-1", "dE/dw99[2] = 1"], "not in the 2-3-1 network"),
    (["verify", "2-3-1", "x = 1"], "is not ∂E/∂name"),
    (["verify", "2-3-1", "dE/dw11[2] = a9[2]"], "not in the 2-3-1 network"),
    (["verify", "2-3-1", r"\frac{\partial E}{\partial w_{11}^{[2]}} = \unknown{a}"], "unknown LaTeX command"),
    (["verify", "2-3-1", "dE/dw11[2] = " + "(" * 200 + "1" + ")" * 200], "nested more than"),
    (["verify", "2-3-1", LONG], "the limit is"),
    (["verify", "2-3-1", "dE/dw11[2] = a1[2]^99999"], "exponent"),
    (["verify", "2-3-1", "dE/dw11[2] = __import__"], "column"),
    (["verify", "2-3-1"], "no equation given"),
    (["verify", "2-3-1", "--file", _f("nothere.txt")], "does not exist"),
    (["verify", "2-3-1", "--file", _f("bad-equations.txt")], "bad-equations.txt:2:3"),
    (["verify", _f("rnn.toml"), "dE/dw11[2] = 1"], "not a name of a recurrent network"),
    (["verify", _f("rnn.toml"), "dE/dw11<2> = 1"], "takes no time step"),
    (["verify", "2-3-1", "dE/dw11[2] = a1[2] \\"], "lone backslash"),
    (["verify", _f("rnn.toml"), "dE/dw11 = h1<9>"], "not in the RNN"),
    # options out of range
    (["check", "2-3-1", "--activation", "tanh", "--samples", "0"], "--samples"),
    (["check", "2-3-1", "--activation", "tanh", "--batch", "0"], "--batch"),
    (["check", "2-3-1", "--activation", "tanh", "--seed", "x"], "--seed"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("values.json"), "--lr", "-1"], "--lr"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("values.json"), "--lr", "nan"], "--lr"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("values.json"), "--report"], "recurrent"),
    (["derive", "2-3-1", "--max-weights", "0"], "--max-weights"),
    (["derive", "2-3-1", "--format", "pdf"], "--format"),
    (["derive", "2-3-1", "--standalone"], "--format latex"),
    (["derive", "2-3-1", "--truncate", "2"], "recurrent networks"),
    (["derive", _f("rnn.toml"), "--truncate", "0"], "--truncate"),
    (["derive", "2-3-1", "--weight", "w9[1]"], "2 node indices"),
    (["derive", "2-3-1", "--bogus"], "No such option"),
    (["cost", "2-3-1", "--activation", "tanh", "--repeat", "0"], "--repeat"),
    (["frobnicate"], "No such command"),
    # resource guards
    (["derive", "784-128-10", "--max-weights", "1000000"], "the limit is 5,000"),
    (["derive", "2-2-2-2-2-2-2-2-2-2-2", "--prove"], "the limit is 300,000"),
    (["derive", "10-10-10-10-10", "--expanded"], "the limit is"),
    (["derive", "30-30-30", "--prove"], "at most 50"),
    (["derive", _f("rnn.toml"), "--prove", "--truncate", "1"], "leave out --truncate"),
    # output files
    (["derive", "2-3-1", "-o", _f("missing/out.txt")], "does not exist"),
    (["derive", "2-3-1", "-o", _f("folder.toml")], "it is a folder"),
    (["derive", "2-3-1", "-o", _f("plain/out.txt")], "does not exist"),
    (["draw", "2-3-1", "-o", _f("missing/x.tex")], "does not exist"),
    (["eval", "2-1-1", "--activation", "sigmoid", "--values", _f("values.json"), "-o", _f("nope/x.json")],
     "does not exist"),
]


def _resolve(args, root):
    return [str(root / a[1]) if isinstance(a, tuple) else a for a in args]


def test_the_catalogue_is_large():
    commands = {args[0] for args, _ in CATALOGUE}
    assert len(CATALOGUE) >= 40
    assert {"derive", "eval", "check", "verify", "draw", "cost"} <= commands


@pytest.mark.parametrize("args,fragment", CATALOGUE, ids=[f"{n}-{a[0]}" for n, (a, _) in enumerate(CATALOGUE)])
def test_bad_input(tmp_path, capfd, args, fragment):
    from symbackprop.cli import main
    _files(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(_resolve(args, tmp_path))
    out, err = capfd.readouterr()
    assert stop.value.code == 2, (out, err)
    assert out == ""
    assert err.startswith("symbackprop: error: ") and err.count("\n") == 1, err
    assert fragment in err, err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("**/.symbackprop-*"))        # no temporary file left behind


def test_unwritable_place(tmp_path, capfd):
    """A folder the tool may not write in: the message says so and the run exits 2."""
    from symbackprop.cli import main
    place = Path("/proc/symbackprop-test.txt")       # /proc takes no new files, even from root
    with pytest.raises(SystemExit) as stop:
        main(["derive", "2-3-1", "-o", str(place)])
    _, err = capfd.readouterr()
    assert stop.value.code == 2 and "cannot write" in err and err.count("\n") == 1


def test_failing_run_keeps_the_old_file(tmp_path, capfd):
    from symbackprop.cli import main
    keep = tmp_path / "notes.tex"
    keep.write_text("the lecturer's notes")
    for args in (["derive", "2-0-1", "-o", str(keep)], ["derive", "784-128-10", "--max-weights", "999999", "-o", str(keep)],
                 ["verify", "2-3-1", "dE/dw11[2] = ("]):
        with pytest.raises(SystemExit):
            main(args)
    capfd.readouterr()
    assert keep.read_text() == "the lecturer's notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.tex"]


def test_ctrl_c_leaves_no_partial_file(tmp_path):
    """SIGINT during a long derive -o: exit 130, a short message, the old file as it was, no temporary file."""
    out = tmp_path / "net.json"
    out.write_text("old")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "symbackprop", "derive", "784-256-128-10", "--activation",
                             "sigmoid", "--format", "json", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)                     # past start-up (under a second), into the derivation (several)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "symbackprop: interrupted"
    assert stdout == ""
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


# ---------------------------------------------------------------- stable numbers
@pytest.mark.parametrize("spec,kw", [
    ("3-2", dict(activation="softmax", loss="cross_entropy")),
    ("3-2", dict(activation="softmax", loss="mse")),
    ("3-1", dict(activation="sigmoid", loss="bce")),
    ("3-1", dict(activation="sigmoid", loss="cross_entropy")),
    ("3-2-1", dict(activation="softplus,sigmoid", loss="bce")),
    ("3-2-1", dict(activation="tanh,sigmoid", loss="mse")),
])
@pytest.mark.parametrize("scale", [1e3, -1e3])
def test_large_z_is_finite_without_warnings(spec, kw, scale):
    """|z| up to 1e3: E, every gradient finite; NumPy raises on any overflow or invalid value."""
    f = sb.compile(spec, **kw)
    net = sb.network(spec, **kw)
    W = [np.full((a, b), scale / a) for a, b in zip(net.layers, net.layers[1:])]
    X = np.ones((2, net.layers[0]))
    T = np.zeros((2, net.layers[-1]))
    T[:, 0] = 1.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):     # underflow to 0 is harmless
        E, dW, _ = f(W, None, X, T)
    assert np.isfinite(E) and all(np.isfinite(m).all() for m in dW)


def test_eval_of_extreme_values_prints_no_warning(tmp_path, capfd):
    from symbackprop.cli import main
    values = tmp_path / "v.json"
    values.write_text(json.dumps({"w11[1]": 1000.0, "w21[1]": 1000.0, "x1": 1.0, "x2": 1.0, "t1": 0.0}))
    with pytest.raises(SystemExit) as stop:
        main(["eval", "2-1", "--activation", "sigmoid", "--loss", "bce", "--values", str(values), "--format", "json"])
    out, err = capfd.readouterr()
    assert stop.value.code == 0 and err == ""
    data = json.loads(out)
    assert np.isfinite(data["loss"]) and data["loss"] == pytest.approx(2000.0)
    assert all(np.isfinite(v) for v in data["gradient"].values())


# ---------------------------------------------------------------- fuzzing
TOKENS = ["w11[2]", "w12,3[1]", "a1[2]", "z1[2]", "delta1[3]", "δ1[3]", "x1", "t1", "b1[2]", "g", "g'", "σ",
          "sigmoid'", "exp", "log", "sqrt", "(", ")", "+", "-", "*", "/", "^", "**", "·", "−", "²", "2", "0.5",
          "1e3", "1e999", "=", "dE/d", "∂E/∂", ",", "[", "]", "\\frac", "{", "}", "\\partial", "_", "\\left(",
          "\\right)", "h1<2>", "<", ">", " ", "eta", "η", "'", "9" * 30, "__import__", "lambda", "\\cdot", "e"]

# the profile's example count (200 in CI; HYPOTHESIS_PROFILE=fuzz for long local runs)
fuzz_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@fuzz_settings
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join) | st.text(max_size=40))
@example("\\")                  # found by fuzzing: a lone backslash crashed the LaTeX reader
@example("x = \\\n")
def test_fuzz_equation_parsers(text):
    """Any text: a parsed chain of steps or a ParseError with a column; nothing else escapes."""
    for where in (_FUZZ_NET, _FUZZ_RNN):
        kind = kind_of(where)
        try:
            _, _, steps = read_steps(_derived(where), kind.reading(where), kind.rules[0], text)
        except ParseError as err:
            assert err.column >= 1
        else:
            assert steps and all(rhs is not None for _, _, rhs in steps)


_FUZZ_NET, _FUZZ_RNN = sb.network("2-3-1"), sb.rnn(1, 2, 1, 2, activation="tanh")


@functools.lru_cache(maxsize=None)
def _derived(net):
    return sb.derive(net, weights=())


@fuzz_settings
@given(st.lists(st.sampled_from(["z", "(", ")", "+", "-", "*", "/", "^", "abs", "exp", "log", "tanh", "2",
                                 "0", "1e308", "sqrt", ",", " ", "x"]), max_size=20).map("".join))
@example("1e30822^2")                        # found by fuzzing: a number Python will not print escaped
@example("*".join(["1e308"] * 15) + "*z")     # a product of numbers too long to print
def test_fuzz_custom_activations(text):
    try:
        sb.network("1-1", activation=text)
    except SpecError as err:
        assert str(err)
    except ParseError:
        raise AssertionError("a ParseError escaped as such, not as a SpecError")


@fuzz_settings
@given(st.text(alphabet="0123456789-x,. ", max_size=20) | st.lists(st.integers(-3, 10**7), max_size=6).map(
    lambda ns: "-".join(map(str, ns))))
def test_fuzz_spec_strings(text):
    try:
        net = sb.network(text)
    except SpecError as err:
        assert str(err)
    else:
        assert net.n_parameters <= 2_000_000


@fuzz_settings
@given(st.dictionaries(st.sampled_from(["layers", "activation", "loss", "bias", "kind", "inputs", "hidden",
                                        "outputs", "steps", "output_activation", "colour"]),
                       st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=8)
                       | st.lists(st.integers(-2, 4), max_size=4), max_size=6))
def test_fuzz_spec_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("spec") / "net.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    try:
        sb.network(str(path))
    except SpecError as err:
        assert str(err)
