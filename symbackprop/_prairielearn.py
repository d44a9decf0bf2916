"""A PrairieLearn question from an exercise: a folder with info.json, question.html, server.py, spec.json.

The written server.py is three calls back into this module, so the grading stays the package's
(and its tests'): ``generate(data)`` makes the variant of ``data["variant_seed"]`` (params,
correct answers), ``parse(data)`` turns an unreadable symbolic answer into a format error, and
``grade(data)`` scores each answer, ``data["partial_scores"][key] = {"score", "weight",
"feedback"}`` with the named mistake as feedback, and ``data["score"]`` their weighted mean.
Numbers count within RTOL (or ATOL); a derivation is checked by ``symbackprop.verify``.

>>> sorted(FILES)
['info.json', 'question.html', 'server.py', 'spec.json']
"""
from __future__ import annotations

import html
import json
import math
import os
import pprint
import shutil
import tempfile
import uuid
import zlib

import numpy as np

from ._api import network, verify
from ._document import dense_titles, rnn_titles
from ._errors import CompileError, OutputError, SymbackpropError
from ._exercise import UPDATED, Exercise, make_exercise, pick, value_of
from ._exercise_sheets import given_paragraphs
from ._formats_tex import LatexFormat
from ._kinds import kind_of
from ._printing import latex, plain
from ._svg import svg
from ._verify import Equation

FILES = ("info.json", "question.html", "server.py", "spec.json")
#: numeric answers asked per variant (gradients; with a learning rate, also those parameters after the step)
ASKED = 4
RTOL, ATOL = 0.01, 1e-4
#: how each kind's names are typed, for the symbolic question's instructions
TYPED = {"dense": "x1, w11[1], b1[2], z1[2], a1[2], t1, delta1[3] (or δ1[3]), g'(z1[2]) or the activation's "
                  "own name, e.g. sigmoid'(z1[2])",
         "rnn": "x1<1>, u11, w11, v11, b1, s1<1>, h1<1>, o1<1>, y1<1>, t1<1>, delta1<1>, tanh'(s1<1>)"}


# ---------------------------------------------------------------- the variant
def _seed(data: dict) -> int:
    seed = data.get("variant_seed", 0)
    return seed if isinstance(seed, int) and seed >= 0 else zlib.crc32(str(seed).encode())


def _variant(data: dict, spec, lr, symbolic: bool) -> tuple[Exercise, list]:
    """The exercise of the data's seed (``spec``: a spec file or a network) and its asked answers:
    (key, plain name, what) with what "gradient", "updated" or "derive"; keys g1, g2, … and u1, u2, …"""
    ex = make_exercise(network(spec), _seed(data), lr, symbolic)
    if symbolic:
        return ex, [(f"g{n}", p, "derive") for n, p in enumerate(ex.asked, start=1)]
    chosen = pick(list(ex.asked), np.random.default_rng([ex.seed, 1]), min(ASKED, len(ex.asked)))
    asked = [(f"g{n}", p, "gradient") for n, p in enumerate(chosen, start=1)]
    return ex, asked + ([(f"u{n}", p, "updated") for n, p in enumerate(chosen, start=1)] if lr is not None else [])


def _label(ex: Exercise, name: str, what: str) -> str:
    w = latex(ex.derivation.symbols[name])
    return f"new ${w}$ =" if what == "updated" else f"$\\partial E / \\partial {w} =$"


def generate(data: dict, spec: str, lr=None, symbolic: bool = False) -> None:
    """PrairieLearn's generate: the variant's given numbers, labels and correct answers."""
    ex, asked = _variant(data, spec, lr, symbolic)
    data["params"].update({"seed": ex.seed, "given": "".join(f"<p>{html.escape(p, quote=False)}</p>"
                                                             for p in ([] if symbolic else given_paragraphs(ex))),
                           "labels": {key: _label(ex, name, what) for key, name, what in asked},
                           "names": {key: name for key, name, _ in asked}})
    data["correct_answers"].update({key: plain(ex.answers[name]) if what == "derive" else
                                    ex.answers[name + (UPDATED if what == "updated" else "")]
                                    for key, name, what in asked})


def parse(data: dict, spec: str, lr=None, symbolic: bool = False) -> None:
    """PrairieLearn's parse: a derivation that cannot be read is a format error (no attempt used)."""
    if not symbolic:
        return
    net = network(spec)
    for key, name in data["params"].get("names", {}).items():
        submitted = data["submitted_answers"].get(key)
        if key in data["format_errors"]:
            continue
        if not isinstance(submitted, str) or not submitted.strip():
            data["format_errors"][key] = "give a derivation: an expression in the network's names"
            continue
        try:
            verify(net, f"dE/d{name} = {submitted}")
        except SymbackpropError as err:
            data["format_errors"][key] = str(err)


def grade(data: dict, spec: str, lr=None, symbolic: bool = False) -> None:
    """PrairieLearn's grade: each answer 1 (right) or 0, with feedback naming the mistake; data["score"]
    the weighted mean."""
    ex, asked = _variant(data, spec, lr, symbolic)
    for key, name, what in asked:
        if key in data["format_errors"]:
            continue
        submitted = data["submitted_answers"].get(key)
        score, feedback = (_grade_derivation if what == "derive" else _grade_number)(ex, name, what, submitted)
        data["partial_scores"][key] = {"score": score, "weight": 1, "feedback": feedback}
        data["feedback"][key] = feedback
    scores = data["partial_scores"].values()
    weights = sum(s.get("weight", 1) for s in scores)
    data["score"] = sum(s["score"] * s.get("weight", 1) for s in scores) / weights if weights else 0.0


def _grade_derivation(ex: Exercise, name: str, what: str, submitted) -> tuple[float, str]:
    if not isinstance(submitted, str) or not submitted.strip():
        return 0.0, "no answer given"
    try:
        verdict = verify(ex.network, f"dE/d{name} = {submitted}")
    except SymbackpropError as err:
        return 0.0, f"cannot be read: {err}"
    if verdict:
        return 1.0, "right"
    return 0.0, f"not ∂E/∂{name}" + (f": {verdict.diagnosis}" if verdict.diagnosis else
                                     " (it differs from it at some points; no common mistake explains it)")


def _grade_number(ex: Exercise, name: str, what: str, submitted) -> tuple[float, str]:
    try:
        value = float(submitted)
    except (TypeError, ValueError):
        return 0.0, "no number given"
    key = name + (UPDATED if what == "updated" else "")
    if _close(value, ex.answers[key]):
        return 1.0, "right"
    shown = f"{name} after the step" if what == "updated" else f"∂E/∂{name}"
    mistake = numeric_mistake(ex, name, value, updated=what == "updated")
    return 0.0, (f"{value:g} is {shown} with {mistake}" if mistake else
                 f"{value:g} is not {shown} (within {RTOL:.0%}); no common mistake gives it")


def _close(u: float, v: float) -> bool:
    return math.isfinite(u) and abs(u - v) <= max(ATOL, RTOL * abs(v))


def numeric_mistake(ex: Exercise, name: str, value: float, updated: bool = False) -> str | None:
    """The known mistake (verify's list) whose answer, at the exercise's numbers, is ``value``; None
    when none is. For an updated parameter also the step taken uphill."""
    d = ex.derivation
    expected_of, mistakes = kind_of(ex.network).rules
    eq = Equation(f"dE/d{name}", "partial", name, d.gradient(name))
    known = {**ex.values, **ex.constants, **ex.intermediates, **({"eta": ex.lr} if ex.lr is not None else {})}
    old, step = ex.values[name], (ex.lr or 0.0)
    if updated and _close(value, old + step * ex.answers[name]):
        return "the step taken uphill (p + η·∂E/∂p in place of p − η·∂E/∂p)"
    for mistake, wrong in mistakes(d, eq, expected_of(d, eq)):
        try:
            g = value_of(wrong, known)
        except (KeyError, CompileError):         # a mistake in names without a number here names nothing
            continue
        if _close(value, old - step * g if updated else g) and not _close(g, ex.answers[name]):
            return mistake
    return None


# ---------------------------------------------------------------- the folder
def question_files(net, lr=None, symbolic: bool = False) -> dict:
    """file name → text of the question folder for ``net``."""
    ex, asked = _variant({"variant_seed": 0}, net, lr, symbolic)
    kind = kind_of(net).name
    topic, subtitle = (rnn_titles if kind == "rnn" else dense_titles)(net, LatexFormat())
    if symbolic:
        task = ("Derive these gradients by the chain rule, in the network's names (" + TYPED[kind]
                + "), with * for products; the form with error signals δ is enough.")
        inputs = [f'<pl-string-input answers-name="{k}" label="{{{{params.labels.{k}}}}}" size="40" '
                  f'placeholder="an expression in the network\'s names"></pl-string-input>' for k, _, _ in asked]
    else:
        task = ("Work out the forward pass and backpropagation from these numbers, and give "
                + ("these gradients and these parameters after one step of gradient descent with "
                   f"$\\eta = {lr:g}$, each from the values before the step" if lr is not None else "these gradients")
                + f" (within {RTOL:.0%}):")
        inputs = [f'<pl-number-input answers-name="{k}" label="{{{{params.labels.{k}}}}}" comparison="relabs" '
                  f'rtol="{RTOL}" atol="{ATOL}"></pl-number-input>' for k, _, _ in asked]
    feedback = "\n".join(f"  {{{{#feedback.{k}}}}}<p>{{{{{{params.labels.{k}}}}}}} {{{{feedback.{k}}}}}</p>"
                         f"{{{{/feedback.{k}}}}}" for k, _, _ in asked)
    page = (f"<pl-question-panel>\n  <p>{topic}: {subtitle}.</p>\n  {svg(net)}\n  {{{{{{params.given}}}}}}\n"
            f"  <p>{task}</p>\n</pl-question-panel>\n\n" + "\n".join(inputs)
            + f"\n\n<pl-submission-panel>\n{feedback}\n</pl-submission-panel>\n")
    title = f"{'Derive' if symbolic else 'Work out'}: {topic[0].lower()}{topic[1:]}"
    info = {"uuid": str(uuid.uuid4()), "title": title,
            "topic": "Backpropagation", "tags": ["symbackprop", "symbolic" if symbolic else "numeric"], "type": "v3"}
    options = pprint.pformat({"lr": lr, "symbolic": symbolic})
    return {"info.json": json.dumps(info, indent=2) + "\n", "question.html": page,
            "spec.json": json.dumps(net.as_dict(), indent=1) + "\n",
            "server.py": SERVER.format(topic=topic, options=options)}


def write_question(net, folder: str, lr=None, symbolic: bool = False) -> None:
    """Write the question folder whole or not at all: into a temporary folder beside it, then renamed.
    OutputError when ``folder`` exists and is not empty, or cannot be written."""
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        raise OutputError(f"cannot write the question into {folder}: it exists and is not an empty folder; "
                          "give a new folder's name")
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write {folder}: the folder {parent} does not exist; create it first")
    files = question_files(net, lr, symbolic)
    try:
        tmp = tempfile.mkdtemp(prefix=".symbackprop-", dir=parent)
    except OSError as err:
        raise OutputError(f"cannot write in {parent}: {err.strerror}; choose another folder") from None
    try:
        for name, content in files.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as fh:
                fh.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        os.replace(tmp, folder)          # an empty folder is replaced; a file or a full one is refused above
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


SERVER = '''"""PrairieLearn question written by `symbackprop exercise --prairielearn`: {topic}.

generate() makes the variant of data["variant_seed"]; parse() and grade() read and score the answers
with symbackprop, which the question's Python needs: install it in the grading image, or copy its
package folder into the course's serverFilesCourse/. The network is spec.json beside this file.
"""
import os

from symbackprop import _prairielearn as question

# PrairieLearn runs this file in the question's folder without __file__
SPEC = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "server.py"))), "spec.json")
OPTIONS = {options}


def generate(data):
    question.generate(data, SPEC, **OPTIONS)


def parse(data):
    question.parse(data, SPEC, **OPTIONS)


def grade(data):
    question.grade(data, SPEC, **OPTIONS)
'''
