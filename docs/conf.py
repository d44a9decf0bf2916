"""Sphinx configuration of symbackprop's API reference, built from the docstrings.

Build it with warnings as errors (CI does, through tests/test_docs_build.py)::

    pip install '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/build/html    # build/ is git-ignored
"""
from __future__ import annotations

import os
import sys
import textwrap

# Document the checkout this file is in, installed or not (the package is pure Python).
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import symbackprop  # noqa: E402

project = "symbackprop"
author = "the symbackprop authors"
copyright = "the symbackprop authors, MIT License"  # noqa: A001 (Sphinx's name)
version = release = symbackprop.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]

# The docstrings are Google style (Args:, Returns:, Raises:) with ``>>>`` examples.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Signatures as written, annotations in them; an annotation naming a class documented here
# (Network, DeltaStep, …) links to it, any other stays plain text (nitpicky is off).
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
# Members with a docstring; bases only where docs/api.rst asks (the errors: their hierarchy is API).
autodoc_default_options = {"members": True}
nitpicky = False

# The docstrings are plain text with their own Unicode (δ, →, …): keep "quotes" and --options
# as written rather than curling them and making -- an en dash.
smartquotes = False

html_theme = "alabaster"
# wider than alabaster's 940px: the examples and the command-line help are long lines
html_theme_options = {"page_width": "1200px"}
html_title = f"symbackprop {release}"
html_static_path: list = []
templates_path: list = []
exclude_patterns = ["build"]
html_show_sourcelink = False

#: where docs/cli.rst wants the help of every command
CLI_HELP_MARKER = ".. the help of every command goes here (conf.py, cli_help)"


def cli_help() -> str:
    """reST for ``symbackprop --help`` and every command's ``--help``, as click prints them."""
    import click

    from symbackprop.cli import cli

    def block(title: str, command: click.Command, parent: click.Context | None) -> tuple[str, click.Context]:
        # 78 columns: what click prints in an 80-column terminal; context_settings: -h as well as --help
        settings = {"terminal_width": 78, **command.context_settings}
        ctx = click.Context(command, info_name=title.split()[-1], parent=parent, **settings)
        text = command.get_help(ctx)
        underline = "-" * len(title)
        return f"{title}\n{underline}\n\n.. code-block:: text\n\n{textwrap.indent(text, '    ')}\n\n", ctx

    top, root = block("symbackprop", cli, None)
    parts = [top]
    for name in sorted(cli.commands):
        parts.append(block(f"symbackprop {name}", cli.commands[name], root)[0])
    return "".join(parts)


def _insert_cli_help(app, docname: str, source: list) -> None:
    if docname == "cli":
        source[0] = source[0].replace(CLI_HELP_MARKER, cli_help())


def setup(app) -> dict:
    app.connect("source-read", _insert_cli_help)
    return {"parallel_read_safe": True}
