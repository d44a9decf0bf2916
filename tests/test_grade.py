"""Grading a class: five hand-written submissions for 2-3-1 (generic g, mse), scored in order.

Each answer was written by hand from the chain rule (z = Σ w·a, a = g(z), E = ½(a1[3] − t1)²),
right or with a known mistake, not from the tool's output.
"""
from __future__ import annotations

import json

import pytest

import symbackprop as sb
from symbackprop._grade import Weights, as_csv, as_gradescope, as_json, as_text, grade, read_submissions, read_weights

RIGHT_W11_1 = ("dE/dw11[1] = ∂E/∂a1[3]·∂a1[3]/∂z1[3]·∂z1[3]/∂a1[2]·∂a1[2]/∂z1[2]·∂z1[2]/∂w11[1]\n"
               "  = (a1[3] − t1)·g'(z1[3])·w11[2]·g'(z1[2])·x1\n"
               "  = δ1[2]·x1\n")
RIGHT_DELTA = "δ1[2] = g'(z1[2])·w11[2]·δ1[3]\n"
RIGHT_W21_2 = "dE/dw21[2] = δ1[3]·a2[2]\n"

SUBMISSIONS = {
    "ada": RIGHT_W11_1 + RIGHT_DELTA + RIGHT_W21_2,                                  # all right
    "ben": RIGHT_W11_1 + RIGHT_DELTA + "dE/dw21[2] = δ1[3]·a2[2] = (t1 − a1[3])·g'(z1[3])·a2[2]\n",   # a sign, late
    "cai": ("dE/dw11[1] = (a1[3] − t1)·g'(z1[3])·w11[2]·x1 = δ1[3]·w11[2]·x1\n"     # g'(z1[2]) missing twice
            + RIGHT_DELTA + "dE/dw21[2] = a2[2]·a1[3]\n"),                         # wrong, no name
    "dee": "# only one answer, and one line that cannot be read\n" + RIGHT_DELTA + "dE/dw21[2] = δ1[3]·(a2[2]\n",
    "eve": "I did not understand the question\n",
}


@pytest.fixture
def folder(tmp_path):
    for student, text in SUBMISSIONS.items():
        (tmp_path / f"{student}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")          # not a submission: ignored
    return tmp_path


def test_five_submissions_are_scored_in_the_expected_order(folder):
    results = grade(sb.network("2-3-1"), read_submissions(str(folder)))
    scores = {r.student: r.score for r in results}
    assert list(scores) == ["ada", "ben", "cai", "dee", "eve"]
    assert scores["ada"] == 1.0 and scores["eve"] == 0.0
    assert scores["ada"] > scores["ben"] > scores["cai"] > scores["dee"] > scores["eve"]
    # ben: two of three questions right, the third half right (step 1 right, step 2 a named mistake
    # at half credit): (1 + 1 + (1 + 0.5)/2) / 3
    assert scores["ben"] == pytest.approx((2 + 0.75) / 3, abs=1e-4)
    # the questions are the left sides the class answered
    assert list(results[0].questions) == ["dE/dw11[1]", "δ1[2]", "dE/dw21[2]"]


def test_feedback_names_each_wrong_step_at_its_line(folder):
    results = {r.student: r for r in grade(sb.network("2-3-1"), read_submissions(str(folder)))}
    ben = [f for a in results["ben"].answers for f in a.feedback]
    assert len(ben) == 1 and ben[0].startswith(f"{folder / 'ben.txt'}:5:28: step 2 ≠ step 1: the wrong sign")
    dee = [f for a in results["dee"].answers for f in a.feedback]
    assert dee == [f"{folder / 'dee.txt'}:3:26: expected ')', found end of input"]


def test_weights_change_the_credit(folder, tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text('named = 0.0\nquestions = ["dE/dw21[2]"]\n[mistakes]\nsign = 1.0\n')
    weights = read_weights(str(path))
    assert weights == Weights({"sign": 1.0}, 0.0, 0.0, 0.0, ("dE/dw21[2]",))
    results = {r.student: r.score for r in grade(sb.network("2-3-1"), read_submissions(str(folder)), weights)}
    assert results == {"ada": 1.0, "ben": 1.0, "cai": 0.0, "dee": 0.0, "eve": 0.0}


@pytest.mark.parametrize("text, fragment", [
    ("colour = 1\n", "unknown key 'colour'"),
    ("named = 2\n", "between 0 and 1"),
    ("[mistakes]\ntypo = 1\n", "[mistakes] takes"),
    ("questions = 3\n", "questions is a list"),
    ("named = \n", "not valid TOML"),
])
def test_bad_weights_are_refused(tmp_path, text, fragment):
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(sb.SpecError, match=fragment.replace("[", r"\[")):
        read_weights(str(path))


def test_a_csv_of_submissions(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text('student,answer\nada,"dE/dw21[2] = δ1[3]·a2[2]"\nbo,"dE/dw21[2] = 2·δ1[3]·a2[2]"\n'
                    'ada,"δ1[2] = g\'(z1[2])·w11[2]·δ1[3]"\n', encoding="utf-8")
    results = grade(sb.network("2-3-1"), read_submissions(str(path)))
    assert [(r.student, r.score) for r in results] == [("ada", 1.0), ("bo", 0.25)]    # (0.5 + 0) / 2


def test_the_writers(folder):
    net = sb.network("2-3-1")
    results = grade(net, read_submissions(str(folder)))
    text = as_text(results)
    assert text.splitlines()[1].startswith("ada") and "(3 of 3 questions right)" in text
    data = json.loads(as_json(results, net))
    assert [s["student"] for s in data["students"]] == list(SUBMISSIONS) and data["students"][0]["score"] == 1.0
    rows = as_csv(results).splitlines()
    assert rows[0] == "student,score,feedback" and rows[1] == "ada,1.0000,"
    one = grade(net, read_submissions(str(folder / "ben.txt")))
    report = json.loads(as_gradescope(one, points=2))
    assert [t["status"] for t in report["tests"]] == ["passed", "passed", "failed"]
    assert report["score"] == pytest.approx(2 * 2.75 / 3 * 3, abs=1e-3) and report["tests"][2]["max_score"] == 2
    with pytest.raises(sb.SpecError, match="one submission"):
        as_gradescope(results)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(sb.SpecError, match="no submissions"):
        read_submissions(str(tmp_path))


def test_the_grade_command(folder, cli_run, tmp_path):
    res = cli_run("grade", "2-3-1", str(folder))
    assert res.exit_code == 0 and res.output.splitlines()[1].startswith("ada      1.00")
    out = tmp_path / "grades.csv"
    res = cli_run("grade", "2-3-1", str(folder), "--format", "csv", "-o", str(out))
    assert res.exit_code == 0 and out.read_text().startswith("student,score,feedback\nada,1.0000,")
    res = cli_run("grade", "2-3-1", str(folder / "ada.txt"), "--format", "gradescope", "--points", "2")
    assert res.exit_code == 0 and json.loads(res.output)["score"] == 6.0


@pytest.mark.parametrize("args, fragment", [
    (["grade", "2-3-1", "nowhere"], "does not exist"),
    (["grade", "2-0-1", "."], "positive whole number"),
])
def test_bad_grade_input_is_one_line_and_exit_2(args, fragment, capfd):
    from symbackprop.cli import main
    with pytest.raises(SystemExit) as stop:
        main(args)
    err = capfd.readouterr().err
    assert stop.value.code == 2 and fragment in err and err.count("\n") == 1


@pytest.mark.parametrize("spec,right,wrong", [
    ("examples/lstm-2-1.toml", "dE/dwf11 = h1<0>*deltaf1<1> + h1<1>*deltaf1<2>", "dE/dwf11 = h1<1>*deltaf1<2>"),
    ("examples/batchnorm-2-2-1.toml", "dE/dbeta1[3] = delta1[3]<1> + delta1[3]<2> + delta1[3]<3>",
     "dE/dbeta1[3] = delta1[3]<1>"),
])
def test_kinds_with_their_own_reader_are_graded(tmp_path, spec, right, wrong):
    """Gated cells and batch stacks read their names with their own verifier; grading uses it too."""
    path = tmp_path / "class.csv"
    path.write_text(f'student,answer\nada,"{right}"\nbo,"{wrong}"\n', encoding="utf-8")
    results = grade(sb.network(spec), read_submissions(str(path)))
    scores = dict((r.student, r.score) for r in results)
    assert scores["ada"] == 1.0 and scores["bo"] < 1.0
    assert "sum over" in " ".join(results[1].answers[0].feedback)
