"""The command line: option parsing and glue; the only module that prints or exits.

Exit codes: 0 success, 1 a check found a disagreement, 2 bad input (one line on
stderr naming the problem and the fix), 130 interrupted.
"""
from __future__ import annotations

import math
import os
import sys

import click

from . import _names as names
from ._derivation import MAX_EXPANDED
from ._errors import SymbackpropError
from ._files import read_text
from ._graph import collector_paused
from ._kinds import kind_of
from ._spec import from_spec
from ._cli_options import at_for, at_option, emit, progress, run, spec_options
from ._cli_teach import COMMANDS


class BadInput(click.ClickException):
    exit_code = 2


class _Commands(click.Group):
    """The command group; any SymbackpropError that reaches it is bad input: one line, exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SymbackpropError as err:
            raise BadInput(str(err)) from None


def _emit(text: str, output: str | None) -> None:
    emit(text, output, BadInput)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="symbackprop")
def cli():
    """Derive backpropagation symbolically, in the seed's notation.

    SPEC is layer sizes joined by '-' (2-3-1), equations ("q = x + y; f = q*z"), or a
    .toml/.json/.yaml file.
    """


@cli.command()
@spec_options
@click.option("--weight", "weights", multiple=True, metavar="NAME",
              help="Show the steps for this weight or bias only (repeatable), e.g. w11[2].")
@click.option("--format", "fmt", type=click.Choice(["text", "latex", "markdown", "json", "beamer", "html"]), default="text",
              show_default=True, help="beamer: slides, each path of a weight lit up in turn; html: a web page, its drawing linked.")
@click.option("--ascii", "ascii_only", is_flag=True, help="Text in ASCII: delta, eta, dE/dw, *.")
@click.option("--standalone", is_flag=True, help="With --format latex: a complete document.")
@click.option("--prove", is_flag=True,
              help=f"Check every δ form against brute-force sympy.diff of the nested E (≤ {MAX_EXPANDED} parameters).")
@click.option("--expanded/--no-expanded", default=None,
              help=f"Show the forms in x, t, w, b and g only (default: for ≤ {MAX_EXPANDED} parameters).")
@click.option("--max-weights", type=click.IntRange(min=1), default=30, show_default=True,
              help="Above this many parameters, show the steps for one weight per layer.")
@click.option("--truncate", type=click.IntRange(min=1), default=None, metavar="K",
              help="Recurrent networks: backpropagate through chunks of K steps only (truncated BPTT).")
@at_option
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (whole or not at all) instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def derive_cmd(spec, activation, loss, bias, weights, fmt, ascii_only, standalone, prove, expanded,
               max_weights, truncate, at, output, quiet):
    """The whole derivation: forward pass, E, every δ and ∂E/∂w, step by step.

    \b
    Examples:
      symbackprop derive 2-3-1
      symbackprop derive 2-3-1 --activation sigmoid --weight 'w11[1]'
      symbackprop derive 4-5-3 --activation tanh,softmax --loss cross_entropy --format latex
      symbackprop derive net.toml --format json -o net.json
      symbackprop derive "q = x + y; f = q*z" --at x=-2,y=5,z=-4
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    kind = kind_of(net)
    extra = at_for(kind, at)
    for w in weights:
        try:
            known = net.has(w)
        except names.NameError_ as err:
            raise BadInput(f"--weight: {err}") from None
        if not known:
            raise BadInput(f"--weight {w}: no such weight or bias in {net.describe()}; the weights are {kind.weights}")
    if standalone and fmt != "latex":
        raise BadInput("--standalone goes with --format latex")
    stages = 3 * (net.depth - 1) + 1 if kind.name == "dense" else 1
    with progress(net, quiet, stages=stages, label="deriving") as bar:
        d = kind.derive(net, weights or None, expanded=expanded, prove=prove, max_weights=max_weights,
                        truncate=truncate, progress=bar.update, **extra)
        text = _written(d, fmt, ascii_only, standalone, expanded)
        bar.update(1)
    _emit(text, output)
    if getattr(text, "note", None):          # what the document left out, and the option that has it
        click.echo(f"symbackprop: note: {text.note}", err=True)
    if d.proof is not None and not all(d.proof.values()):
        click.get_current_context().exit(1)


cli.add_command(derive_cmd, name="derive")


def _written(d, fmt, ascii_only, standalone, expanded) -> str:
    """The derivation in the chosen format."""
    if _KEPT is not None:               # the command: its derivation stays until the process leaves
        _KEPT.append(d)
    options = {"text": {"ascii_only": ascii_only}, "latex": {"standalone": standalone}, "json": {"expanded": expanded}}
    return d._write(fmt, **options.get(fmt, {}))


@cli.command(name="eval")
@spec_options
@click.option("--values", "values_file", required=True, metavar="FILE",
              help="JSON or TOML: every weight (and bias), and x…/t… or samples = [{x1 = …, t1 = …}, …].")
@click.option("--lr", type=float, default=None, metavar="ETA", help="Also show the parameters after one step.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ascii", "ascii_only", is_flag=True, help="Text in ASCII.")
@click.option("--truncate", type=click.IntRange(min=1), default=None, metavar="K",
              help="Recurrent networks: also the truncated gradient (chunks of K steps) and its distance from the full one.")
@click.option("--report", is_flag=True,
              help="Recurrent networks: per step, the size of dE/dh<t> and of dh<T>/dh<t> (vanishing or exploding).")
@click.option("--all", "every_node", is_flag=True, help="Equation specs: the gradient by every node, not only the leaves.")
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="N",
              help="Specs with dropout: draw the masks the values file leaves out from seed N (as seed = N in it).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def eval_cmd(spec, activation, loss, bias, values_file, lr, fmt, ascii_only, truncate, report, every_node, seed,
             output):
    """Numbers: forward values, E, every δ and gradient (and, with --lr, one update).

    \b
    Examples:
      symbackprop eval 2-2-2 --activation sigmoid --bias --values values.json --lr 0.5
      symbackprop eval net.toml --values batch.toml --format json
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    if lr is not None and (not math.isfinite(lr) or lr < 0):
        raise BadInput(f"--lr {lr}: the learning rate must be a finite number ≥ 0")
    kind = kind_of(net)
    if every_node and kind.name != "graph":
        raise BadInput("--all lists the gradient by every node of an equation spec; a network's eval lists them all")
    extra = {"every_node": True} if every_node else {}
    from ._values import read_values_file     # each command imports its own modules: start-up stays short
    data = read_values_file(values_file)
    if seed is not None:
        if not getattr(net, "dropout_layers", lambda: [])():
            raise BadInput("--seed draws dropout masks: it is for specs with a dropout layer")
        data.setdefault("seed", seed)
    as_text, as_json, result = kind.evaluate(net, data, lr, truncate, report, **extra)
    _emit(as_json(result) if fmt == "json" else as_text(result, ascii_only), output)


@cli.command(name="check")
@spec_options
@click.option("--samples", type=click.IntRange(min=1, max=10_000), default=5, show_default=True,
              help="How many random points.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random points.")
@click.option("--batch", type=click.IntRange(min=1, max=100_000), default=1, show_default=True,
              help="Samples per point (E and gradients are sums over them).")
@click.option("--truncate", type=click.IntRange(min=1), default=None, metavar="K",
              help="Recurrent networks: check truncated BPTT (chunks of K steps).")
def check_cmd(spec, activation, loss, bias, samples, seed, batch, truncate):
    """Cross-check printed formulas, vectorized code, a NumPy reference and finite differences.

    Exit 0 when every pair agrees within its tolerance, 1 when any does not.

    \b
    Examples:
      symbackprop check 2-3-1 --activation sigmoid
      symbackprop check 4-5-3 --activation tanh,softmax --loss cross_entropy --samples 20
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    report = kind_of(net).check(net, samples, seed, batch, truncate)
    click.echo(str(report), nl=False)
    if not report:
        click.get_current_context().exit(1)


@cli.command(name="cost")
@spec_options
@click.option("--batch", type=click.IntRange(min=1, max=100_000), default=1, show_default=True,
              help="Samples per call for the timings.")
@click.option("--repeat", type=click.IntRange(min=1, max=10_000), default=50, show_default=True,
              help="Timed runs; the table gives medians.")
def cost_cmd(spec, activation, loss, bias, batch, repeat):
    """Operation counts and times of backprop against one derivative per weight.

    \b
    Examples:
      symbackprop cost 2-3-1 --activation sigmoid
      symbackprop cost 784-128-10 --activation sigmoid --bias --batch 1024
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    kind = kind_of(net)
    if kind.cost is None:
        raise BadInput(f"cost is for feedforward networks; for a network of kind {kind.name} use eval or check")
    rows = kind.cost(net, batch=batch, repeat=repeat)
    from ._report import cost_text
    click.echo(cost_text(net, batch, rows), nl=False)


@cli.command(name="draw")
@spec_options
@click.option("--standalone", is_flag=True, help="A cropped LaTeX figure (standalone class), not just the tikzpicture.")
@click.option("--format", "fmt", type=click.Choice(["tikz", "svg"]), default="tikz", show_default=True)
@at_option
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def draw_cmd(spec, activation, loss, bias, standalone, fmt, at, output):
    """The network as a TikZ picture (or SVG): layers left to right, nodes j[k], weights on the edges.

    \b
    Examples:
      symbackprop draw 2-3-1 --bias
      symbackprop draw 784-128-10 --standalone -o net.tex
      symbackprop draw "q = x + y; f = q*z" --at x=-2,y=5,z=-4 --standalone -o circuit.tex
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    if fmt == "svg" and standalone:
        raise BadInput("--standalone goes with --format tikz (an SVG is complete as it is)")
    kind = kind_of(net)
    _emit(kind.draw(net, standalone, fmt, **at_for(kind, at)), output)


@cli.command(name="verify")
@spec_options
@click.argument("equations", nargs=-1, metavar="[EQUATION]...")
@click.option("--file", "file_", metavar="FILE", help="Equations, one per line; '#' starts a comment.")
def verify_cmd(spec, activation, loss, bias, equations, file_):
    """Say whether hand-derived equations are right; name the mistake when not.

    A line may be a chain, lhs = step 1 = step 2 = …; one starting with '=' continues it. Exit 0 when
    all are right, 1 when any is wrong or unreadable (reported at FILE:LINE:COLUMN), 2 when none is read.

    \b
    Examples:
      symbackprop verify 2-3-1 "dE/dw11[2] = delta1[3]*a1[2]"
      symbackprop verify 2-3-1 "∂E/∂w11[1] = δ1[3]·w11[2]·g'(z1[2])·x1"
      symbackprop verify 2-3-1 '\\frac{\\partial E}{\\partial w_{11}^{[2]}} = \\delta_{1}^{[3]} a_{1}^{[2]}'
      symbackprop verify 4-5-3 --activation tanh,softmax --loss cross_entropy --file homework.txt
    """
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    lines = [(f"equation {n}", e) for n, e in enumerate(equations, start=1)]
    if file_:
        text = read_text(file_, "equation file", BadInput)
        lines += [(f"{file_}:{n}", line.split("#", 1)[0].rstrip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(where, line) for where, line in lines if line.strip()]
    if not lines:
        raise BadInput("no equation given: pass one in quotes, e.g. \"dE/dw11[2] = delta1[3]*a1[2]\", or --file FILE")
    kind = kind_of(net)
    d = kind.derive(net, weights=())
    from ._chain import verify_lines
    from ._verify import Sampler
    lines_of, sampler = (kind.verifier[1], kind.verifier[2]) if kind.verifier else (verify_lines, Sampler)
    out, right, read = lines_of(d, kind.reading(net), kind.rules, sampler(d, 0), lines)
    if not read:                          # nothing could be read: bad input
        raise BadInput(out[0] + (f" (and {len(out) - 1} more lines that cannot be read)" if len(out) > 1 else ""))
    click.echo("\n".join(out))
    if not right:
        click.get_current_context().exit(1)


for command in COMMANDS:          # exercise, grade
    cli.add_command(command)


_KEPT: list | None = None    # what the command made (run as the command: kept, never freed)


def main(argv=None) -> None:
    """Run the CLI; bad input → one line on stderr and exit 2, never a traceback.

    Run as the command (no ``argv``), the process leaves as soon as its output is flushed, and
    its derivation is never freed: a large one is a million objects, freed one by one in a second.
    """
    global _KEPT
    _KEPT = [] if argv is None else None
    with collector_paused():              # and left paused by the command: it would scan every object
        code = run(cli, argv)
        if argv is None:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    sys.exit(code)
