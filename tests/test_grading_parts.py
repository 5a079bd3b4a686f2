"""The fast grader's steps, each alone: plan (nbgrader's OverwriteCells), score (nbgrader's
rules for points), submissions (finding them), results, and the pool's checks on what a child
reports. No notebook is executed here."""

import json
from pathlib import Path

import numpy
import pytest
from nbgrader.utils import get_partial_grade

from autograder import course
from autograder.checks.core import ExerciseFailed
from autograder.grading import plan as planning
from autograder.grading import pool, score
from autograder.grading.results import CellResult, NotebookResult
from autograder.grading.submissions import Submission, find_submissions, guess_assignment

A = "01_similarity"


def learner_cells():
    return planning._cells(json.loads(course.learner_notebook(A).read_text(encoding="utf-8")))


# ---------------------------------------------------------------- plan
def test_plan_takes_every_test_cell_from_the_source_even_when_the_learner_edits_it():
    src = planning.source(A)
    cells = learner_cells()
    for cell in cells:
        if planning.grade_id(cell) in src.protected:
            cell["source"] = "pass  # the learner's edit"
    planned = planning.plan(cells, src)
    tests = [c for c in planned if c.kind == "test"]
    assert [c.grade_id for c in tests] == [c.grade_id for c in src.tests()]
    assert all(c.source == src.protected[c.grade_id].source for c in tests)


def test_plan_puts_back_deleted_cells_once_and_keeps_duplicates_out():
    src = planning.source(A)
    cells = [c for c in learner_cells() if planning.grade_id(c) != "test_dot_product"]
    cells += [c for c in learner_cells() if planning.grade_id(c) == "test_cosine_similarity"]  # a duplicate
    planned = planning.plan(cells, src)
    ids = [c.grade_id for c in planned if c.grade_id]
    assert ids.count("test_dot_product") == 1 and ids.count("test_cosine_similarity") == 1
    assert ids.index("dot_product") < ids.index("test_dot_product") < ids.index("test_dot_product_hidden")


def test_plan_survives_malformed_metadata():
    src = planning.source(A)
    weird = [{"cell_type": "code", "source": "x = 1", "metadata": None},
             {"cell_type": "code", "source": "y = 2", "metadata": {"nbgrader": {"grade_id": ["a", "list"]}}}]
    planned = planning.plan(weird, src)
    assert [c.source for c in planned if c.kind == "learner" and c.grade_id is None] == ["x = 1", "y = 2"]
    assert {c.grade_id for c in planned if c.kind == "test"} == {c.grade_id for c in src.tests()}


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"), (b"\xff\xfe\x00", "not text"), (b"{not json", "not valid notebook JSON"),
    (b'{"a": 1}', "no cells"), (b'{"cells": [], "nbformat": 3}', "format version 3"),
])
def test_unreadable_submissions_are_explained(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        planning.read_submission(path)


# ---------------------------------------------------------------- score
@pytest.mark.parametrize("value", [1, 0.5, 0, -1, 2, 3.5, 1e9, numpy.float64(1.5), numpy.int64(1), True, False,
                                   "1", "half", [1], None])
def test_partial_credit_is_nbgrader_own_rule(value):
    from IPython.core.interactiveshell import InteractiveShell

    text = InteractiveShell.instance().display_formatter.format(value)[0]["text/plain"]
    try:
        expected = float(get_partial_grade({"data": {"text/plain": text}}, 2.0))
    except ValueError:  # nbgrader refuses more than the cell's points
        expected = 0.0
    assert score.test_points(2.0, None, "", text)[0] == expected


def test_errors_and_stderr_score_zero_but_warnings_do_not():
    assert score.test_points(2.0, ValueError("boom"), "", None) == (0.0, "ValueError: boom")
    assert score.test_points(2.0, None, "Traceback: oops\n", None)[0] == 0.0
    assert score.test_points(2.0, None, "x.py:3: UserWarning: careful\n", None) == (2.0, "")
    assert score.test_points(2.0, None, "", None) == (2.0, "")


def test_errors_are_described_by_class():
    assert score.describe_error(ExerciseFailed("dot_product is wrong")) == "dot_product is wrong"

    class ExerciseFailedLookalike(Exception):
        pass

    ExerciseFailedLookalike.__name__ = "ExerciseFailed"
    assert score.describe_error(ExerciseFailedLookalike("forged")).startswith("ExerciseFailed: forged")
    assert "NotImplementedError" in score.describe_error(NotImplementedError())
    assert "time limit" in score.describe_error(score.CellTimeout())


# ---------------------------------------------------------------- submissions and results
def test_find_submissions_reads_nbgrader_layout_and_plain_folders(tmp_path):
    nbgrader_style = tmp_path / "submitted" / "ada" / A / f"{A}.ipynb"
    plain = tmp_path / "submitted" / f"bob_{A}.ipynb"
    for path in (nbgrader_style, plain):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    found = {(s.student, s.assignment) for s in find_submissions(tmp_path / "submitted")}
    assert found == {("ada", A), ("bob", A)}
    assert guess_assignment(Path("whatever/notes.ipynb")) is None


def test_zero_takes_every_point_and_says_why():
    result = NotebookResult("x.ipynb", A, "ada", [CellResult("t", "e", 2.0, 2.0, True)])
    result.zero("crashed", "it crashed")
    assert (result.score, result.max_score, result.verdict) == (0.0, 2.0, "crashed")


# ---------------------------------------------------------------- what a child may report
def running_job():
    src = planning.source(A)
    result = pool.blank_result(Submission(Path("x.ipynb"), A, "ada"), src)
    return pool._Running(result, process=None, conn=None, started=0.0), src


def test_reports_are_checked_against_the_source():
    job, src = running_job()
    first = src.tests()[0]
    job._take(["cell", first.grade_id, 12000.0, "forged"])  # more than the cell's points
    job._take(["cell", "no_such_cell", 5.0, ""])  # an unknown grade id
    job._take(["cell", first.grade_id])  # malformed
    job._take({"not": "a list"})
    assert job.result.score == first.points
    assert len(job.result.tampered) == 3
