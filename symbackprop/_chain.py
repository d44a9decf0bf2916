"""Checking a hand derivation step by step, the way it is written on paper.

A line may be a chain ``lhs = step 1 = step 2 = …`` (a line that starts with ``=``
continues the previous line's chain).  Inside a step, ``∂a1[3]/∂z1[3]`` is the local
derivative it names (the derivative of a1[3]'s definition by z1[3]) and ``∂E/∂a1[3]``
the derivative of E; each step is held against the left side, and the first wrong one is
reported against the step before it, with the named mistake.

>>> import symbackprop as sb
>>> v = sb.verify("2-3-1", "dE/dw11[2] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂w11[2] = (a1[3] - t1)·g'(z1[3])·a1[2]")
>>> bool(v), len(v.steps)
(True, 2)
>>> v = sb.verify("2-3-1", "dE/dw11[2] = (a1[3] - t1)·g'(z1[3])·a1[2] = (a1[3] - t1)·a1[2]")
>>> print(v.steps[1].line().split("; e.g.")[0])
step 2 ≠ step 1: a missing g'(z1[3]) factor; expected a1[2]·(a1[3] − t1)·g'(z1[3])
"""
from __future__ import annotations

import dataclasses
import re

import sympy

from ._equation import Equation, read_left, read_right
from ._latex_reading import NAME, looks_like_latex, plain_text, undelimited
from ._errors import ParseError
from ._grammar import MAX_LENGTH
from ._indexed import instances

_PARTIAL = re.compile(r"(?:∂|(?<![A-Za-z0-9_\]>])d)\s*(E|" + NAME + r")\s*/\s*(?:∂|d)\s*(" + NAME + r")")


def split_steps(text: str) -> list[tuple[int, str]]:
    """(column, text) of the parts between the '=' signs outside brackets and braces."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "=" and depth == 0:
            parts.append((start + 1, text[start:i]))
            start = i + 1
    parts.append((start + 1, text[start:]))
    return parts


def _local(d, reading, expected_of, num: str, den: str, column: int) -> sympy.Expr:
    """The value of ∂num/∂den written inside a step."""
    def plain(name):
        try:
            kind, key, inside = reading.target(name)
        except Exception as err:            # NameError_: say where
            raise ParseError(f"∂{num}/∂{den}: {err}", column) from None
        if not inside:
            raise ParseError(f"∂{num}/∂{den}: {name} is not in the {reading.shape}", column)
        return kind, key
    kind, key = plain(den)
    if num == "E":
        symbol = _named(d.loss, key)
        if symbol is not None:
            return sympy.diff(d.loss, symbol)                   # the loss reads it directly
        if kind not in reading.partials:
            raise ParseError(f"∂E/∂{den}: write ∂E/∂ of a weight, bias, {reading.nodes}", column)
        return expected_of(d, Equation("", "partial", key, sympy.S.Zero))
    _, top = plain(num)
    if top not in d.forward:
        raise ParseError(f"∂{num}/∂{den}: {num} has no definition to differentiate (write ∂ of a node)", column)
    symbol = _named(d.forward[top], key)
    return sympy.S.Zero if symbol is None else sympy.diff(d.forward[top], symbol)


def _named(expr: sympy.Expr, name: str):
    """The symbol called ``name`` in ``expr``, or None: looked up there, not in ``d.symbols``, which
    gathers every name of every formula (1.5 s for 784-128-10)."""
    return next((s for s in expr.free_symbols if s.name == name), None)


def read_steps(d, reading, expected_of, text: str) -> tuple[str, str, list]:
    """(kind, name, [(column, step text, expression)]) of a chain; ParseError with the column."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the equation is {len(text):,} characters long; the limit is {MAX_LENGTH:,}", MAX_LENGTH)
    parts = split_steps(undelimited(text))
    if len(parts) < 2:
        raise ParseError(f"no '=': write e.g. {reading.example}", len(text) + 1)
    left = parts[0][1]
    try:
        kind, name = read_left(plain_text(left), reading)
    except ParseError as err:               # at the left side's first character
        raise ParseError(str(err).rsplit(" (at column", 1)[0], len(left) - len(left.lstrip()) + 1) from None
    steps = []
    for column, part in parts[1:]:
        plain = plain_text(part)
        found = {}

        def placeholder(m, column=column):
            value = _local(d, reading, expected_of, m.group(1), m.group(2), column + m.start())
            key = str(len(found))
            name = "_" * max(1, len(m.group(0)) - len(key)) + key
            found[name] = value
            return name
        swapped = _PARTIAL.sub(placeholder, plain)

        def resolve(word, col):
            return found[word] if word in found else reading.resolve(word, col)
        rhs = read_right(swapped, reading, column - 1, resolve)
        steps.append((column + len(part) - len(part.lstrip()), part.strip(), rhs))
    return kind, name, steps


def check_chain(d, reading, rules, sampler, text: str):
    """One Verdict for the whole line (truthy when every step is right), its ``steps`` one per step."""
    general = instances(plain_text(text) if looks_like_latex(undelimited(text)) else text, reading)
    if general is not None:
        return _every_instance(d, reading, rules, sampler, text, general)
    kind, name, steps = read_steps(d, reading, rules[0], text)
    return decide_steps(d, rules, sampler, text, kind, name, steps, _foreign(d.network, [r for _, _, r in steps]))


def decide_steps(d, rules, sampler, text: str, kind: str, name: str, steps, hint: str | None = None):
    """Each step [(column, text, expression)] decided against the left side; one Verdict for the line,
    or the step's own when there is one step. ``hint`` joins the diagnosis of every wrong step."""
    from ._verify import Verdict, decide
    verdicts = []
    for n, (column, part, rhs) in enumerate(steps, start=1):
        v = decide(d, Equation(part, kind, name, rhs), rules=rules, sampler=sampler)
        if hint and not v:
            v = dataclasses.replace(v, diagnosis="; ".join(filter(None, (v.diagnosis, hint))))
        verdicts.append(dataclasses.replace(v, step=n, column=column, after=_after(verdicts)))
    if len(verdicts) == 1:
        return dataclasses.replace(verdicts[0], equation=text, step=0)
    first = next((v for v in verdicts if not v), verdicts[-1])
    return Verdict(text, all(verdicts), first.expected, first.diagnosis, first.counterexample,
                   all(v.confirmed for v in verdicts), first.shown, steps=tuple(verdicts))


def _every_instance(d, reading, rules, sampler, text: str, general) -> object:
    """A general form: right when every instance is; else the first wrong instance, named."""
    from ._verify import Verdict
    checked = []
    for values, instance in general:
        v = check_chain(d, reading, rules, sampler, instance)
        where = ", ".join(f"{k} = {n}" for k, n in values.items())
        if not v:
            why = f"for {where or 'the sums written out'} ({' '.join(instance.split())})"
            return dataclasses.replace(v, equation=text, diagnosis=f"{why}: {v.diagnosis}" if v.diagnosis else why)
        checked.append(v)
    free = sorted(general[0][0])
    every = ", ".join(f"{k} = 1…{max(vals[k] for vals, _ in general)}" for k in free) or "the sums written out"
    return Verdict(text, True, checked[0].expected, confirmed=all(v.confirmed for v in checked), instances=every)


def _foreign(net, exprs) -> str | None:
    """A hint when an answer uses an activation (or its derivative) the network does not have."""
    from ._activations import ACTIVATIONS
    own = {a.name for a in net.activations}
    loss, mine = getattr(net, "loss", None), set()   # a loss written with relu (hinge) may use relu'
    if loss is not None:
        a, t, s = sympy.symbols("a t s", real=True)
        term = loss.term(a, t, s) if loss.coupled else loss.term(a, t)
        mine = {type(f).__name__.rstrip("'") for f in sympy.sympify(term).atoms(sympy.Function)}
    used = sorted({type(f).__name__ for e in exprs for f in e.atoms(sympy.Function)})
    foreign = [n for n in used if n.rstrip("'") in ACTIVATIONS and n.rstrip("'") not in own | {"g"} | mine]
    if not foreign:
        return None
    name = foreign[0].rstrip("'")
    return (f"you wrote {foreign[0]}, but this network's activation is {' and '.join(sorted(own))}: "
            f"--activation {name} would check it against {name}")


def _after(verdicts) -> int | None:
    """The step a new step is held against in the report: the one before, when all so far are right."""
    return len(verdicts) if verdicts and all(verdicts) else None


def group_lines(lines) -> list:
    """Join each line that starts with '=' to the chain before it.

    [(where, text)] → [(text, marks)], marks [(start in text, where, column offset)] mapping a
    column of the joined text back to its line.
    """
    out = []
    for where, text in lines:
        if text.lstrip().startswith("=") and out:
            joined, marks = out[-1]
            start = len(joined) + 1
            out[-1] = (joined + " " + text, [*marks, (start, where, start)])
        else:
            out.append((text, [(0, where, 0)]))
    return out


def locate(marks, column: int) -> str:
    """FILE:LINE:COLUMN of a column of a joined chain ("equation N, column C" on the command line)."""
    _, where, offset = [m for m in marks if m[0] <= column - 1 or m is marks[0]][-1]
    return f"{where}:{column - offset}" if ":" in where else f"{where}, column {column - offset}"


def verify_lines(d, reading, rules, sampler, lines, check=check_chain) -> tuple[list[str], bool, bool]:
    """Check every line of a file (or the command line); (report lines, all right, any read).

    An unreadable line is reported at its line and column and the others are still checked;
    a chain's wrong steps are reported compiler-style, FILE:LINE:COLUMN: step 3 ≠ step 2: …
    ``check``: the kind's reader of one line (a graph's own, for df/dx).
    """
    out, right, read = [], True, False
    for text, marks in group_lines(lines):
        try:
            verdict = check(d, reading, rules, sampler, text)
        except ParseError as err:
            out.append(f"{locate(marks, err.column)}: {str(err).rsplit(' (at column', 1)[0]}")
            right = False
            continue
        read, right = True, right and bool(verdict)
        if not verdict.steps:
            out.append(str(verdict))
            continue
        if verdict:
            out.append(f"✓ {' '.join(text.split())} ({len(verdict.steps)} steps, each equal to the left side)")
            continue
        out.append(f"✗ {marks[0][1]}: {' '.join(text.split())}")
        out.extend(f"{locate(marks, v.column)}: {v.line()}" for v in verdict.steps)
    return out, right, read
