"""Options the commands share, and how they are read: SPEC and its options, --at, the progress bar.

Parsing only: cli.py prints and exits.
"""
from __future__ import annotations

import contextlib
import sys

import click

from ._errors import OutputError, SpecError
from ._files import write_atomic

#: above this many parameters a derivation takes a couple of seconds: show a progress bar
PROGRESS_FROM = 20_000


class _Silent:
    """No progress bar: a progress bar's interface, doing nothing."""

    def update(self, n):
        pass


def progress(net, quiet: bool, stages: int, label: str):
    """click's progress bar on stderr for long runs; silent for small ones, pipes and --quiet."""
    if quiet or net.n_parameters < PROGRESS_FROM or not sys.stderr.isatty():
        return contextlib.nullcontext(_Silent())
    return click.progressbar(length=stages, label=label, file=sys.stderr)


def spec_options(f):
    """The options every command takes after SPEC."""
    f = click.option("--bias/--no-bias", default=None, help="Biases on every layer after the inputs (default: off).")(f)
    f = click.option("--loss", metavar="NAME", help="mse (default), cross_entropy, bce, mae, kl, huber, hinge, "
                  "nll (after log_softmax) or multiclass_hinge.")(f)
    f = click.option("--activation", metavar="NAME[,NAME…]",
                     help="One activation, or one per layer after the inputs: g (default), sigmoid, tanh, "
                          "relu, leaky_relu, softplus, linear, softmax or log_softmax (outputs), "
                          "or an expression in z.")(f)
    return click.argument("spec", metavar="SPEC")(f)


def _at(ctx, param, value):
    if value is None:
        return None
    try:
        from ._circuit_values import parse_at     # the graph kind's modules load when --at is given
        return parse_at(value)
    except SpecError as err:
        raise click.BadParameter(str(err).removeprefix(f"--at {value}: ")) from None


def at_option(f):
    """--at NAME=V,…: the leaves' values of an equation spec."""
    return click.option("--at", metavar="NAME=V,…", callback=_at,
                        help="Equation specs: the leaves' values, e.g. --at x=-2,y=5,z=-4; every value and "
                             "gradient is then a number too.")(f)


def at_for(kind, at) -> dict:
    """The keyword a kind's command gets for --at: {} without it; SpecError for a network, which has no leaves."""
    if at is None:
        return {}
    if kind.name != "graph":
        raise SpecError("--at gives the leaves' values of an equation spec, e.g. \"q = x + y; f = q*z\" --at "
                        "x=-2,y=5,z=-4; a layered network takes a values file: eval SPEC --values FILE")
    return {"at": at}


def run(group: click.Group, argv) -> int:
    """Run the command group; its exit code, with click's errors as one line on stderr (exit 2)."""
    try:
        code = group.main(args=argv, prog_name="symbackprop", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help(), err=False)
        return 0
    except click.UsageError as err:
        click.echo(f"symbackprop: error: {err.format_message()}", err=True)
        return 2
    except click.ClickException as err:
        click.echo(f"symbackprop: error: {err.format_message()}", err=True)
        return err.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("symbackprop: interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def emit(text: str, output: str | None, bad_input: type) -> None:
    """Write a command's output to stdout, or whole to the file ``output`` (bad_input: the exit-2 error)."""
    if output is None:               # written as it is: click.echo would search 5 MB of JSON for colour codes
        sys.stdout.write(text)
        sys.stdout.flush()            # before any note on stderr, as click.echo does
        return
    try:
        write_atomic(output, text)
    except OutputError as err:
        raise bad_input(str(err)) from None
    except OSError as err:
        raise bad_input(f"cannot write {output}: {err.strerror}; choose another path") from None
