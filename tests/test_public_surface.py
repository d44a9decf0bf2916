"""Tests go through the public API; a test may import a private helper only to test that helper.

The public surface is what ``symbackprop`` exports (``import symbackprop as sb``: the functions,
the classes, the error classes), ``symbackprop.extend``, the command line (``symbackprop.cli``)
and the methods of the objects these return.  Every private module a test file reaches (``from
symbackprop._x import …``, ``from symbackprop import _x``, ``import symbackprop._x``, ``sb._x``,
or the text ``"symbackprop._x…"`` given to ``monkeypatch`` or ``importlib``) must be on ``ALLOWED``
below, under that file, with a one-line reason; the list only shrinks (an entry no longer used
fails too).
"""
import ast
from pathlib import Path

import pytest

PACKAGE = "symbackprop"
TESTS = Path(__file__).resolve().parent

SUBJECT = "its subject"
REFERENCE = "the independent reference"
PRINTED = "printed_formulas: evaluates exactly the printed formulas, in order; no plain-library equal"
FD = "finite_differences: the shared central differences; no plain-library equal"
PARSE_BACK = ("parse_expression with the network's resolver: the JSON read back exactly as verify reads it; "
              "no public parser")

#: test file → {private module: why it may import it}
ALLOWED = {
    "test_batch_derive.py": {
        "_program": PRINTED,
        "_batch_forms": f"{SUBJECT}: check_forms(drop=) makes a wrong compact form fail; no public handle",
        "_exercise": "make_exercise: the exercise maker has no Python API, only the exercise command",
        "_exercise_sheets": "question_sheet, solution_sheet: no Python API, only the exercise command",
    },
    "test_batch_draw.py": {
        "_batch_draw": f"{SUBJECT}: the batch drawer's picture, rows, R, LINE",
        "_batch_draw_svg": f"{SUBJECT}: the SVG writer's label width",
    },
    "test_batch_numeric.py": {
        "_batch_numeric": f"{SUBJECT}: BatchFunction",
        "_batch_check": f"{SUBJECT}: check_batch, random points, plain names",
        "_batch_reference": REFERENCE,
        "_norm_reference": REFERENCE,
        "_check": FD,
        "_program": PRINTED,
        "_losses": "configured: a batch stack's spec has no huber_delta key, so the threshold is set by hand",
    },
    "test_batch_verify.py": {
        "_batch_verify": f"{SUBJECT}: verify_lines, reading, RULES, the kind's VERIFIER",
    },
    "test_circuit.py": {
        "_circuit_numeric": "valid_points: the test of that helper (points off kinks and bad domains)",
        "_circuit_reference": f"{REFERENCE} (and the test that it reads no SymPy)",
        "_circuit_functions": f"{SUBJECT}: every function of the grammar has a reference entry",
    },
    "test_conv_derive.py": {
        "_conv_forms": "check_forms: the test that a wrong gradient fails the forms' check",
        "_conv_names": "MapName: the test of the fast product of two map names",
        "_names": "product: the test that the fast product is SymPy's own",
        "_conv_patterns": "reads, reached: the test of the printed index rules",
    },
    "test_conv_draw.py": {
        "_conv_draw": f"{SUBJECT}: draw_conv, picture, WIDTH, conv_network_section",
        "_conv_build": "window: the model's own window, the oracle the drawing is held against",
        "_document": "PREAMBLE: the article preamble the section is compiled in; no public equal",
    },
    "test_conv_numeric.py": {
        "_conv_numeric": f"{SUBJECT}: ConvFunction",
        "_conv_check": f"{SUBJECT}: check_conv, element_name",
        "_conv_reference": f"{REFERENCE} (and the test that it reads nothing symbolic)",
        "_conv_names": "plain: the names of the inputs and targets the printed formulas are given",
        "_program": PRINTED,
    },
    "test_cost.py": {
        "_cost": f"{SUBJECT}: backprop_counts, cost",
    },
    "test_document.py": {
        "_general": f"{SUBJECT}: general_form and the GeneralFormError of its check",
    },
    "test_drawing.py": {
        "_layout": f"{SUBJECT}: the one layout",
        "_labels": f"{SUBJECT}: rects_overlap keeps the labels apart",
        "_svg": f"{SUBJECT}: the SVG writer (link= has no public handle)",
        "_document": f"{SUBJECT}: the TikZ writer (bias= has no public handle)",
    },
    "test_errors.py": {
        module: f"{SUBJECT}: the old private names are the public classes"
        for module in ("_compile", "_errors", "_grammar", "_names", "_network", "_values")
    } | {
        "_files": f"{SUBJECT}: the old names; and write_atomic, the only way to an OutputError from Python",
        "_report": "cost_text, patched to raise each kind of error where the cost command makes its text",
    },
    "test_exercise.py": {
        "_exercise": f"{SUBJECT}: the exercise maker",
        "_exercise_sheets": f"{SUBJECT}: the question and solution sheets",
        "_prairielearn": f"{SUBJECT}: the PrairieLearn writer",
        "_cli_teach": f"{SUBJECT}: the exercise command and its BadInput",
        "_names": "latex_name: how a sheet writes a parameter's name; no public equal",
    },
    "test_extend.py": {
        "_reference": f"{REFERENCE}: its loss table, which extend registers into",
    },
    "test_features.py": {
        "_reference": f"{REFERENCE}: backprop_general",
        "_graph": "Model: the test that it refuses terms the sweep cannot read",
    },
    "test_gated.py": {
        "_gated": f"{SUBJECT}: the LSTM and GRU graphs",
        "_gated_names": f"{SUBJECT}: gsym, parse",
        "_graph": f"{SUBJECT}: the sweep over those graphs",
        "_gated_reference": REFERENCE,
    },
    "test_gated_derive.py": {
        "_gated_forms": "the test of the general forms' check: matrix_holds, a wrong local form fails",
        "_gated_reference": REFERENCE,
        "_program": PRINTED,
    },
    "test_gated_draw.py": {
        "_gated_draw": f"{SUBJECT}: draw_gated, picture, steps_drawn",
    },
    "test_gated_numeric.py": {
        "_gated_numeric": f"{SUBJECT}: GatedFunction",
        "_gated_check": f"{SUBJECT}: check_gated, random_gated_point, flat, element_name",
        "_gated_reference": REFERENCE,
        "_check": FD,
    },
    "test_gated_values.py": {
        "_gated_values": f"{SUBJECT}: evaluate, evaluate_gated",
        "_gated_reference": f"{REFERENCE}, its one-step functions too",
    },
    "test_gated_verify.py": {
        "_gated_verify": f"{SUBJECT}: verify_lines, reading, RULES, the kind's VERIFIER",
    },
    "test_grade.py": {
        "_grade": f"{SUBJECT}: grade, the weights, the CSV, Gradescope, JSON and text writers",
    },
    "test_hardening.py": {
        "_chain": "read_steps: the equation-chain reader fuzzed directly, steps and all",
        "_kinds": "kind_of: the reading and rules read_steps takes; no public lookup of a network's kind",
    },
    "test_html.py": {
        "_mathml": f"{SUBJECT}: the MathML printer",
        "_html_format": f"{SUBJECT}: HtmlFormat, chunks",
        "_names": "the symbols the printer is given, generic ones (δj[k+1]) too, made as the tool makes them",
        "_timed": "sym: the recurrent symbols the printer is given",
    },
    "test_json.py": {
        "_dense": "build: the test of pairs_text on every builder's sums",
        "_printing": "plain_printer().pairs_text: the test that a sum written from its terms prints as the sum",
    },
    "test_losses_coupled.py": {
        "_tables": f"{REFERENCE}: its NumPy loss rows",
        "_equation": PARSE_BACK,
        "_grammar": PARSE_BACK,
        "_check": "random_targets: the test that check draws one-hot targets",
    },
    "test_losses_new.py": {
        "_losses": f"{SUBJECT}: huber(δ), the configured Huber loss (cached), and its NumPy FUNCTIONS",
        "_tables": f"{REFERENCE}: its loss rows and loss_entry",
        "_equation": PARSE_BACK,
        "_grammar": PARSE_BACK,
        "_check": "random_targets: the test that check draws the hinge loss's targets as ±1",
    },
    "test_names.py": {
        "_names": f"{SUBJECT}: parse and the name helpers",
    },
    "test_norm.py": {
        "_norm": f"{SUBJECT}: the batch-norm and layer-norm graphs and their compact forms",
        "_graph": f"{SUBJECT}: the sweep over those graphs",
        "_norm_reference": REFERENCE,
    },
    "test_properties.py": {
        "_equation": PARSE_BACK,
        "_grammar": f"{PARSE_BACK}; MAX_LENGTH, the reader's limit",
        "_timed": PARSE_BACK,
    },
    "test_reference_general.py": {
        "_reference": f"{SUBJECT}: {REFERENCE} itself",
        "_tables": f"{SUBJECT}: {REFERENCE}'s tables",
    },
    "test_registry.py": {
        "_losses": "HUBER: the named function huber, an entry no public registry lists",
        "_tables": f"{REFERENCE}: its activation and loss rows",
    },
    "test_typesetting.py": {
        "_tex_width": f"{SUBJECT}: one width estimate for every LaTeX writer",
        "_formats_tex": f"{SUBJECT}: LatexFormat's line breaking",
        "_beamer_parts": f"{SUBJECT}: the slides use the same estimate",
    },
    "test_views.py": {
        "_tally": "Row: a disagreeing row made by hand, to test how a report words it; no public way to make one",
    },
    # ---------------------------------------------------------------- files edited this session, reviewed after
    "test_batch_values.py": {"_batch_values": f"{SUBJECT}: evaluate and evaluate_batch, the batch kind's eval"},
    "test_bptt_speed_paths.py": {
        "_bptt": f"{SUBJECT}: the compiled BPTT's work arrays and stacked products",
        "_check": "random_rnn_point: check's own random RNN points, the ones the reference is held at",
        "_reference": REFERENCE,
    },
    "test_check_grads.py": {
        "_check_grads": SUBJECT, "_tally": f"{SUBJECT}: Tally compares arrays and dicts alike",
        "_check": "finite_differences, _layer_of, random_point: the comparison by names it is held against",
        "_compile": "vectorized: the compiled gradients compared", "_names": "weight names of planted errors",
        "_reference": REFERENCE,
    },
    "test_inplace.py": {
        "_inplace": f"{SUBJECT}: the rewrite of printed code, and KEEP_BYTES",
        "_fused": f"{SUBJECT}: SCRATCH_FROM, so that small test networks run the kernel that keeps arrays",
    },
    "test_float32.py": {
        "_compile": f"{SUBJECT}: the float32 kernels", "_scalar": f"{SUBJECT}: the scalar kernel for batch 1",
        "_check": "random_point: check's random points, in float32 and float64",
    },
    "test_graph.py": {
        "_graph": SUBJECT, "_dense": f"{SUBJECT}: the dense builder's model and its fast sums",
        "_elman": f"{SUBJECT}: the recurrent builder's model", "_names": "Name, the class of the model's symbols",
        "_activations": "ACTIVATIONS: every named activation's closed form against sympy.diff",
        "_program": "numpy_function: the model's expressions at a point; no plain-library equal for the names",
    },
    "test_numeric.py": {
        "_check": f"{SUBJECT}: check's kernel and random points", "_reference": REFERENCE,
        "_values": f"{SUBJECT}: parse_values and its ValuesError", "_evaluate": f"{SUBJECT}: evaluate",
        "_activations": "ACTIVATIONS and Z: every activation's NumPy form against its SymPy form",
    },
    "test_rnn.py": {
        "_bptt": f"{SUBJECT}: RNNVectorized and flat", "_check": f"{SUBJECT}: check_rnn and its random points",
        "_elman": f"{SUBJECT}: the recurrent builder, derive_rnn", "_elman_print": f"{SUBJECT}: the recurrent JSON",
        "_timed": f"{SUBJECT}: TimeName, its functions and resolver", "_rnn": "RNN: the class (sb.RNN is the same)",
        "_evaluate": f"{SUBJECT}: evaluate_rnn's report", "_values": f"{SUBJECT}: parse_rnn_values",
        "_reference": REFERENCE, "_grammar": PARSE_BACK,
        "_graph": "sweep: run with sympy.diff patched to raise", "_printing": "plain: the printer it is held to",
        "_dense": "weighted_sum: time names through the fast sum", "_names": "product: time names through it",
    },
    "test_verify.py": {"_equation": PARSE_BACK, "_grammar": PARSE_BACK},
    "test_verify_fast.py": {
        "_sample_dense": SUBJECT, "_sampler": "Sampler: the SymPy path the matrix path is held to",
        "_chain": "check_chain: one verdict, by each path", "_equation": "ETA: the learning rate's symbol",
        "_kinds": "kind_of: the kind's reading and rules for check_chain; no public lookup",
    },
}


def _private_part(dotted: str) -> str | None:
    """``"symbackprop._check.x"`` → ``"_check"``: the path up to its first private part, without the
    package; None for a public path (``symbackprop.extend``) or one outside the package."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    for k, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[1:k + 1])
    return None


def private_imports(source: str) -> set:
    """The private package modules (and private names of public ones) that ``source`` reaches."""
    tree = ast.parse(source)
    found, aliases = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_private_part(alias.name))
                if alias.name == PACKAGE:
                    aliases.add(alias.asname or PACKAGE)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                found.add(_private_part(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value and all(
                part.isidentifier() for part in node.value.split(".")):         # monkeypatch, importlib
            found.add(_private_part(node.value))
    for node in ast.walk(tree):                                                   # sb._check
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.add(_private_part(f"{PACKAGE}.{node.attr}"))
    return found - {None}


def _test_files() -> dict:
    return {path.name: private_imports(path.read_text(encoding="utf-8")) for path in sorted(TESTS.glob("*.py"))}


def test_the_walker_sees_every_way_in():
    source = (
        "import symbackprop as sb\nimport symbackprop._files\nimport numpy\n"
        "from symbackprop import _losses, network, extend\nfrom symbackprop._grammar import parse_expression\n"
        "from symbackprop.extend import register_activation, _private\nfrom symbackprop.cli import main\n"
        "from .conftest import HIDDEN\n"
        "def f(monkeypatch):\n    from symbackprop._check import check\n"
        "    monkeypatch.setattr('symbackprop._tally.Row', None)\n    return sb._spec, sb.derive, sb.__file__\n"
        "text = 'a sentence. symbackprop._x is not a name'\n")
    assert private_imports(source) == {"_files", "_losses", "_grammar", "extend._private", "_check", "_tally",
                                       "_spec"}
    assert private_imports("import symbackprop\nfrom symbackprop import SpecError\nsymbackprop.network\n") == set()
    assert private_imports("import symbackprop\nx = symbackprop._names.parse\n") == {"_names"}


def test_every_private_import_is_on_the_allow_list():
    """A test reaches the package through its public API; a private module only when it is the subject."""
    extra = {name: sorted(found - set(ALLOWED.get(name, {}))) for name, found in _test_files().items()}
    extra = {name: modules for name, modules in extra.items() if modules}
    assert not extra, (
        "private imports not on ALLOWED in tests/test_public_surface.py: "
        + "; ".join(f"{name}: {', '.join(modules)}" for name, modules in sorted(extra.items()))
        + ". Use the public API (symbackprop, symbackprop.extend, the CLI); if the module is what the test "
          "is about, or the independent reference, add it to ALLOWED with a one-line reason.")


def test_the_allow_list_only_shrinks():
    """An entry whose file no longer imports the module (or no longer exists) is taken out."""
    files = _test_files()
    stale = {name: sorted(set(allowed) - files.get(name, set())) for name, allowed in ALLOWED.items()}
    stale = {name: modules for name, modules in stale.items() if modules}
    assert not stale, f"remove from ALLOWED (no longer imported): {stale}"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_entry_gives_a_one_line_reason(name):
    for module, reason in ALLOWED[name].items():
        assert _private_part(f"{PACKAGE}.{module}") == module, f"{name}: {module!r} is not a private module"
        assert isinstance(reason, str) and len(reason) > 8 and "\n" not in reason, (name, module)
