"""The API reference builds from the docstrings, warnings as errors (issue 19).

``docs/`` is a Sphinx project (autodoc + napoleon, the default alabaster theme); the ``test``
extra installs Sphinx, so CI builds it here, as ``sphinx-build -W --keep-going`` in a fresh
directory.  The build runs in a subprocess: Sphinx's own deprecation warnings are not this
suite's (``filterwarnings = error``), and a build never shares state with the tests.
"""
import html
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symbackprop as sb
from symbackprop import extend

pytest.importorskip("sphinx", reason="the docs build needs Sphinx: pip install '.[docs]' (or '.[test]')")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: warnings the build still gives for docstrings in modules outside the change that added this
#: test, as "path:object: message"; each entry must still occur (the test fails once one is
#: fixed: remove it here then).  With the set empty, ``-W`` must give a clean exit.
KNOWN_DOCSTRING_WARNINGS: set = set()

#: public objects whose docstring has an example the page shows as prose: a ``>>>`` line right
#: after text, with no blank line before it, is read as part of the paragraph (doctest still runs
#: it).  As above: each entry must still occur; remove it once its docstring is fixed.
KNOWN_EXAMPLES_IN_PROSE: set = set()

_WARNING = re.compile(r"^(?P<path>\S+?):docstring of (?P<obj>[\w.]+):\d+: (?:WARNING|ERROR|CRITICAL): "
                      r"(?P<msg>.*?)(?: \[\w+\])?$")


def _normalized(line: str) -> str:
    """A warning about a docstring as "path:object: message", the path relative to the checkout."""
    found = _WARNING.match(line)
    if not found:
        return line
    path = Path(found["path"])
    if path.is_absolute() and path.is_relative_to(ROOT):
        path = path.relative_to(ROOT)
    return f"{path.as_posix()}:{found['obj']}: {found['msg']}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(exit status, warnings, output directory) of ``sphinx -W --keep-going -b html docs <tmp>``."""
    out = tmp_path_factory.mktemp("docs") / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    warnings = {_normalized(line) for line in done.stderr.splitlines() if re.search(r"WARNING|ERROR|CRITICAL", line)}
    return done.returncode, warnings, out, done.stderr


def test_the_docs_build_with_warnings_as_errors(built):
    status, warnings, _, stderr = built
    new = sorted(warnings - KNOWN_DOCSTRING_WARNINGS)
    assert not new, "the docs build warns (fix the docstring, or docs/conf.py):\n" + "\n".join(new) + "\n" + stderr
    fixed = sorted(KNOWN_DOCSTRING_WARNINGS - warnings)
    assert not fixed, f"{fixed} no longer occur: remove them from KNOWN_DOCSTRING_WARNINGS"
    assert status == (1 if KNOWN_DOCSTRING_WARNINGS else 0), stderr


def _page(out: Path, name: str) -> str:
    page = out / f"{name}.html"
    assert page.is_file(), f"{name}.html was not built"
    return page.read_text(encoding="utf-8")


def _entry(page: str, anchor: str) -> str:
    """The text of the signature line (<dt id=anchor>) of one documented object."""
    found = re.search(rf'<dt class="sig sig-object py" id="{re.escape(anchor)}">(.*?)</dt>', page, re.S)
    assert found, f"{anchor} is not documented"
    text = html.unescape(re.sub(r"<[^>]+>", "", found[1]))
    return " ".join(text.replace("¶", "").split())


@pytest.mark.parametrize("module", [sb, extend], ids=["symbackprop", "symbackprop.extend"])
def test_every_public_name_has_an_entry(built, module):
    out = built[2]
    page = _page(out, "api" if module is sb else "extend")
    missing = [name for name in module.__all__ if f'id="{module.__name__}.{name}"' not in page]
    assert not missing, f"in {module.__name__}.__all__ but not in docs/: {missing}"


def test_the_entries_show_the_signatures_and_docstrings(built):
    page = _page(built[2], "api")
    derive = _entry(page, "symbackprop.derive")
    assert derive == f"symbackprop.derive{inspect.signature(sb.derive)}", derive
    for name in ("network", "rnn", "graph", "derive", "prove", "compile", "check", "verify", "evaluate", "draw"):
        shown = _entry(page, f"symbackprop.{name}")
        for parameter in inspect.signature(getattr(sb, name)).parameters:
            assert parameter in shown, f"{name}'s signature lacks {parameter}: {shown}"
    assert "The whole derivation of a network" in page          # derive's summary line
    assert "a1[2]*delta1[3]" in _page(built[2], "index")        # the package's example
    assert 'id="symbackprop.Derivation.to_latex"' in page       # the inherited writers are listed


def test_every_example_is_shown_as_an_example(built):
    in_prose = set()
    for name in ("api", "extend"):
        page = _page(built[2], name)
        for paragraph in re.finditer(r"<p>(?:(?!</p>).)*?&gt;&gt;&gt;", page, re.S):
            owner = re.findall(r'<dt class="sig sig-object py" id="([^"]+)">', page[:paragraph.start()])
            in_prose.add(owner[-1] if owner else name)
    new = sorted(in_prose - KNOWN_EXAMPLES_IN_PROSE)
    assert not new, f"{new}: a '>>>' example is run into the text before it (put a blank line before it)"
    fixed = sorted(KNOWN_EXAMPLES_IN_PROSE - in_prose)
    assert not fixed, f"{fixed} now show their examples: remove them from KNOWN_EXAMPLES_IN_PROSE"


def test_the_command_line_page_has_every_command(built):
    from symbackprop.cli import cli

    page = html.unescape(_page(built[2], "cli"))
    for name, command in cli.commands.items():
        assert f"symbackprop {name}" in page
        for param in command.params:
            for option in param.opts if param.param_type_name == "option" else ():
                assert option in page, f"symbackprop {name} {option} is not on the command-line page"
    assert "Exit codes" in page or "exit codes" in page


def test_every_page_is_linked_from_the_index(built):
    index = _page(built[2], "index")
    for name in ("api", "extend", "cli"):
        assert f'href="{name}.html"' in index
