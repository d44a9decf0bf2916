"""Grading a class: every student's derivation checked step by step, scored with partial credit.

A submission is what ``verify --file`` reads (one equation or chain per line, ``#``
comments, lines starting with ``=`` continuing a chain): one file per student in a folder
(the student is the file's name without its suffix), or a CSV file with a ``student`` and
an ``answer`` column.  Each question (a left side: ``dE/dw11[1]``, ``δ1[2]``) scores the
student's best line for it: the mean over its steps of 1 for a right step, the credit of
the named mistake for a wrong one, ``unnamed`` for a wrong step with no name; a question
with no line scores 0.  The score is the mean over the questions, in [0, 1].

>>> import symbackprop as sb
>>> subs = [("ada", [("ada:1", "dE/dw11[2] = δ1[3]·a1[2]")]), ("bo", [("bo:1", "dE/dw11[2] = -δ1[3]·a1[2]")])]
>>> [(r.student, r.score) for r in grade(sb.network("2-3-1"), subs)]
[('ada', 1.0), ('bo', 0.5)]
"""
from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ._chain import check_chain, group_lines, locate, split_steps
from ._equation import read_left
from ._latex_reading import plain_text, undelimited
from ._errors import ParseError, SpecError
from ._files import read_text
from ._indexed import instances
from ._kinds import kind_of
from ._sampler import Sampler

#: a named mistake's kind (the key in the weights file) and the words that name it
MISTAKES = {
    "missing-derivative": r"a missing \S+' factor", "extra-derivative": r"an extra \S+'\(",
    "transposed": "transposed", "swapped": "from- and to-node swapped", "missing-sum": "missing sum",
    "sign": "wrong sign", "factor-2": "½", "off-by-one": "off by one", "updated-weight": "updated weight",
    "recurrent-term": "recurrent term", "time-shift": "in place of h<t−1>", "left-out": "left out",
}
SUFFIXES = (".txt", ".tex", ".md")


@dataclass(frozen=True)
class Weights:
    """Credit for a wrong step by its named mistake (``mistakes``, else ``named``), one with no name
    (``unnamed``), an unreadable line; ``questions``: the left sides asked (default: every one seen)."""

    mistakes: dict = field(default_factory=dict)
    named: float = 0.5
    unnamed: float = 0.0
    unreadable: float = 0.0
    questions: tuple = ()


def read_weights(path: str) -> Weights:
    """A weights file (TOML): named = 0.5, unnamed = 0, unreadable = 0, questions = [...], and a
    [mistakes] table, e.g. sign = 0.75, missing-derivative = 0.25."""
    try:
        data = tomllib.loads(read_text(path, "weights file", SpecError))
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"weights file {path!r} is not valid TOML: {err}") from None
    known = {"mistakes", "named", "unnamed", "unreadable", "questions"}
    if set(data) - known:
        raise SpecError(f"{path}: unknown key {sorted(set(data) - known)[0]!r}; the keys are {', '.join(sorted(known))}")
    mistakes = data.get("mistakes", {})
    if not isinstance(mistakes, dict) or set(mistakes) - set(MISTAKES):
        raise SpecError(f"{path}: [mistakes] takes {', '.join(MISTAKES)}")
    credits = {**mistakes, **{k: data[k] for k in ("named", "unnamed", "unreadable") if k in data}}
    for key, value in credits.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise SpecError(f"{path}: {key} = {value!r}: give a credit between 0 and 1")
    questions = data.get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise SpecError(f"{path}: questions is a list of left sides, e.g. questions = [\"dE/dw11[1]\", \"δ1[2]\"]")
    return Weights({k: float(v) for k, v in mistakes.items()}, *(float(data.get(k, d)) for k, d in
                   (("named", 0.5), ("unnamed", 0.0), ("unreadable", 0.0))), tuple(questions))


def read_submissions(path: str) -> list[tuple[str, list]]:
    """[(student, [(FILE:LINE, text)])] from a folder of files or a CSV file."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and f.is_file())
        if not files:
            raise SpecError(f"{path}: no submissions ({', '.join('*' + s for s in SUFFIXES)} files) in the folder")
        return [(f.stem, _lines(read_text(str(f), "submission", SpecError), str(f))) for f in files]
    text = read_text(path, "submissions", SpecError)
    if p.suffix != ".csv":
        return [(p.stem, _lines(text, path))]
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"student", "answer"} <= set(rows[0]):
        raise SpecError(f"{path}: a CSV of submissions needs the columns student and answer")
    students: dict = {}
    for n, row in enumerate(rows, start=2):
        students.setdefault(row["student"], []).extend(_lines(row["answer"] or "", f"{path}:{n}", row=True))
    return list(students.items())


def _lines(text: str, where: str, row: bool = False) -> list:
    found = [(f"{where}" if row else f"{where}:{n}", line.split("#", 1)[0].rstrip())
             for n, line in enumerate(text.splitlines(), start=1)]
    return [(w, line) for w, line in found if line.strip()]


@dataclass(frozen=True)
class Answer:
    """One line (or chain) of a submission: its question, its score and the feedback on it."""

    where: str
    text: str
    question: str | None
    score: float
    feedback: tuple


@dataclass(frozen=True)
class Result:
    student: str
    score: float
    answers: tuple
    questions: dict                  # question → the score it got


def _question(text: str, reading) -> str | None:
    """The left side a line answers, in its plain form ("dE/dw11[1]", "δ1[2]"), or None."""
    left = split_steps(undelimited(text))[0][1]
    try:
        kind, name = read_left(plain_text(left), reading)
    except ParseError:                      # a general form's left side (δi[2]) is a question too
        return " ".join(left.split()) if instances(left, reading) else None
    return f"dE/d{name}" if kind == "partial" else name.replace("delta", "δ")


def mistake_kind(diagnosis: str | None) -> str | None:
    if not diagnosis:
        return None
    return next((k for k, words in MISTAKES.items() if re.search(words, diagnosis)), "other")


def _credit(verdict, weights: Weights) -> float:
    def one(v):
        if v:
            return 1.0
        kind = mistake_kind(v.diagnosis)
        return weights.unnamed if kind is None else weights.mistakes.get(kind, weights.named)
    steps = verdict.steps or (verdict,)
    return sum(one(v) for v in steps) / len(steps)


def grade(net, submissions, weights: Weights | None = None) -> list[Result]:
    """Every submission scored; one derivation and one set of random points for the whole class."""
    weights = weights or Weights()
    kind = kind_of(net)
    d, reading = kind.derive(net, weights=()), kind.reading(net)
    chain, sampler = (kind.verifier[0], kind.verifier[2](d, 0)) if kind.verifier else (check_chain, Sampler(d, 0))
    checked = []
    for student, lines in submissions:
        answers = []
        for text, marks in group_lines(lines):
            where = marks[0][1]
            try:
                v = chain(d, reading, kind.rules, sampler, text)
            except ParseError as err:
                answers.append(Answer(where, text, _question(text, reading), weights.unreadable,
                                      (f"{locate(marks, err.column)}: {str(err).rsplit(' (at column', 1)[0]}",)))
                continue
            feedback = tuple(f"{locate(marks, s.column)}: {s.line()}" for s in v.steps if not s) if v.steps else \
                (() if v else (f"{where}: {str(v)[2:]}",))
            answers.append(Answer(where, text, _question(text, reading), _credit(v, weights), feedback))
        checked.append((student, answers))
    asked = weights.questions and [_question(q + " = 0", reading) for q in weights.questions]
    questions = list(asked or dict.fromkeys(a.question for _, answers in checked for a in answers if a.question))
    out = []
    for student, answers in checked:
        best = {q: max([a.score for a in answers if a.question == q], default=0.0) for q in questions}
        score = round(sum(best.values()) / len(best), 4) if best else 0.0
        out.append(Result(student, score, tuple(answers), best))
    return out


# ---------------------------------------------------------------- writing the results
def as_text(results) -> str:
    width = max([len(r.student) for r in results] + [7])
    lines = [f"{'student':<{width}}  score"]
    for r in results:
        right = sum(1 for s in r.questions.values() if s == 1.0)
        lines.append(f"{r.student:<{width}}  {r.score:.2f}  ({right} of {len(r.questions)} questions right)")
        lines += [f"{'':<{width}}    {f}" for a in r.answers for f in a.feedback]
    return "\n".join(lines) + "\n"


def as_json(results, net) -> str:
    return json.dumps({"network": net.describe(), "students": [
        {"student": r.student, "score": r.score, "questions": r.questions,
         "answers": [{"where": a.where, "text": a.text, "question": a.question, "score": round(a.score, 4),
                      "feedback": list(a.feedback)} for a in r.answers]} for r in results]},
        ensure_ascii=False, indent=2) + "\n"


def as_csv(results) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "feedback"])
    for r in results:
        writer.writerow([r.student, f"{r.score:.4f}", " | ".join(f for a in r.answers for f in a.feedback)])
    return buffer.getvalue()


def as_gradescope(results, points: float = 1.0) -> str:
    """Gradescope's results.json for one submission: a test per question, worth ``points``."""
    if len(results) != 1:
        raise SpecError(f"--format gradescope grades one submission (Gradescope runs once per student), "
                        f"not {len(results)}: give the student's file")
    r = results[0]
    tests = []
    for q, s in r.questions.items():
        feedback = [f for a in r.answers if a.question == q for f in a.feedback]
        tests.append({"name": q, "score": round(s * points, 4), "max_score": points,
                      "status": "passed" if s == 1.0 else "failed",
                      "output": "\n".join(feedback) or ("right" if s == 1.0 else "no answer")})
    return json.dumps({"score": round(r.score * points * len(tests), 4), "output": f"{r.score:.0%} of the marks",
                       "tests": tests}, ensure_ascii=False, indent=2) + "\n"
