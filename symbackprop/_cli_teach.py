"""The teaching commands: ``exercise`` makes a seeded exercise, its question and solution sheets, or a
PrairieLearn question folder; ``grade`` scores a class's derivations.  Glue only: options in,
``_exercise``, ``_exercise_sheets``, ``_prairielearn`` and ``_grade`` out.

cli.py adds them to its command group (``for c in COMMANDS: cli.add_command(c)``); since cli.py
imports this module, this one cannot import cli.py, so it raises its own exit-2 ClickException.
"""
from __future__ import annotations

import functools
import math

import click

from ._errors import SymbackpropError
from ._files import write_atomic
from ._spec import from_spec


class BadInput(click.ClickException):
    """Bad input: one line on stderr, exit 2 (what cli.py's BadInput is)."""

    exit_code = 2


def _bad_input(f):
    """Any SymbackpropError of the command is bad input, whether it runs in cli.py's group or alone."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except SymbackpropError as err:
            raise BadInput(str(err)) from None
        except OSError as err:
            where = err.filename or "the output"
            raise BadInput(f"cannot write {where}: {err.strerror}; choose another path") from None
    return wrapper


@click.command(name="exercise")
@click.argument("spec", metavar="SPEC")
@click.option("--activation", metavar="NAME[,NAME…]", help="As for derive; a numeric exercise needs a named one.")
@click.option("--loss", metavar="NAME", help="mse (default), cross_entropy, bce, mae, kl, huber, hinge, "
                  "nll (after log_softmax) or multiclass_hinge.")
@click.option("--bias/--no-bias", default=None, help="Biases on every layer after the inputs (default: off).")
@click.option("--seed", type=click.IntRange(min=0), metavar="S",
              help="The variant: each seed gives other numbers (or weights to derive), the same seed the same.")
@click.option("--lr", type=float, metavar="ETA", help="Also ask for one step of gradient descent (numeric exercises).")
@click.option("--symbolic", is_flag=True, help="Ask to derive ∂E/∂w of a few weights the seed picks, not numbers.")
@click.option("--solution", is_flag=True, help="The solution sheet, every intermediate value worked out.")
@click.option("--format", "fmt", type=click.Choice(["text", "latex", "json"]), default=None,
              help="text (default), latex (a complete article) or json (values and answers).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (whole or not at all) instead of stdout.")
@click.option("--prairielearn", "folder", metavar="DIR",
              help="Write a PrairieLearn question into the new folder DIR: each student's variant seeded by "
                   "PrairieLearn, graded by symbackprop (info.json, question.html, server.py, spec.json).")
@_bad_input
def exercise_cmd(spec, activation, loss, bias, seed, lr, symbolic, solution, fmt, output, folder):
    """An exercise like the classic worked examples: random weights, inputs and targets to two
    decimals, a question sheet and a solution sheet with every intermediate value.

    \b
    Examples:
      symbackprop exercise 2-2-2 --activation sigmoid --bias --seed 7 --lr 0.5
      symbackprop exercise 2-2-2 --activation sigmoid --seed 7 --solution --format latex -o sol.tex
      symbackprop exercise 2-3-1 --symbolic --seed 3
      symbackprop exercise 2-3-1 --activation sigmoid --prairielearn questions/backprop231
    """
    if lr is not None and (not math.isfinite(lr) or lr < 0):
        raise BadInput(f"--lr {lr}: the learning rate must be a finite number ≥ 0")
    if lr is not None and symbolic:
        raise BadInput("--lr goes with a numeric exercise; a symbolic one asks for derivations")
    from ._exercise import make_exercise        # the teaching modules load for this command only
    from ._exercise_sheets import question_sheet, solution_sheet
    from ._prairielearn import write_question
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    if folder is not None:
        given = [name for name, v in (("--seed", seed), ("--solution", solution or None), ("--format", fmt),
                                      ("-o", output)) if v is not None]
        if given:
            raise BadInput(f"{given[0]} does not go with --prairielearn: PrairieLearn seeds each variant, "
                           "and the folder holds the question")
        make_exercise(net, 0, lr, symbolic)             # a network without numbers fails here, not in PrairieLearn
        write_question(net, folder, lr, symbolic)
        click.echo(f"wrote the PrairieLearn question {folder} (info.json, question.html, server.py, spec.json)",
                   err=True)
        return
    if seed is None:
        raise BadInput("--seed S is needed: each seed makes another variant, e.g. --seed 1")
    fmt = fmt or "text"
    if solution and fmt == "json":
        raise BadInput("--solution goes with --format text or latex; the JSON holds the answers already")
    ex = make_exercise(net, seed, lr, symbolic)
    text = ex.to_json() if fmt == "json" else (solution_sheet if solution else question_sheet)(ex, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)


@click.command(name="grade")
@click.argument("spec", metavar="SPEC")
@click.argument("submissions", metavar="PATH")
@click.option("--activation", metavar="NAME[,NAME…]", help="As for derive and verify.")
@click.option("--loss", metavar="NAME", help="mse (default), cross_entropy, bce, mae, kl, huber, hinge, "
                  "nll (after log_softmax) or multiclass_hinge.")
@click.option("--bias/--no-bias", default=None, help="Biases on every layer after the inputs (default: off).")
@click.option("--weights", "weights_file", metavar="FILE",
              help="Credits (TOML): named, unnamed, unreadable, questions = [...], a [mistakes] table by kind.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "gradescope"]), default="text",
              show_default=True, help="gradescope: results.json for one submission.")
@click.option("--points", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="With --format gradescope: what each question is worth.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (whole or not at all) instead of stdout.")
@_bad_input
def grade_cmd(spec, submissions, activation, loss, bias, weights_file, fmt, points, output):
    """Score every student's derivation, step by step, with partial credit and feedback.

    PATH is a folder with one file per student (.txt, .tex or .md; lines as verify --file
    reads them), a CSV file with student and answer columns, or one student's file. Each
    question (a left side) scores the student's best line for it: the mean over its steps of
    1 for a right step and the credit of its named mistake for a wrong one.

    \b
    Examples:
      symbackprop grade 2-3-1 submissions/
      symbackprop grade 2-3-1 class.csv --weights credit.toml --format csv -o grades.csv
      symbackprop grade 2-3-1 /autograder/submission/answer.txt --format gradescope --points 2
    """
    from ._grade import as_csv, as_gradescope, as_json, as_text, grade, read_submissions, read_weights
    net = from_spec(spec, activation=activation, loss=loss, bias=bias)
    results = grade(net, read_submissions(submissions), read_weights(weights_file) if weights_file else None)
    text = {"text": lambda: as_text(results), "json": lambda: as_json(results, net), "csv": lambda: as_csv(results),
            "gradescope": lambda: as_gradescope(results, points)}[fmt]()
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)


COMMANDS = [exercise_cmd, grade_cmd]
