"""Every catalogued alternative correct answer gets full marks under the fast grader (which
tests/test_grading.py proves equal to stock nbgrader on each assignment's batch) and, in
`make test-full`, under stock nbgrader too. An alternative marked slow (a Python loop that
takes most of a minute on the hidden test's inputs) is graded only in `make test-full`."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
import support
from conftest import full
from support import find_submissions, grade

from autograder import course, grading


def correct_answers(assignment, slow=True):
    """The catalogued alternatives; `slow=False` leaves out those marked slow (kept for
    `make test-full`)."""
    path = support.CATALOGUE / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"alternatives_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [a for a in getattr(module, "CORRECT_ANSWERS", []) if slow or not a.slow]


WITH_ALTERNATIVES = [a for a in course.assignments() if correct_answers(a)]


def by_assignment(assignments):
    return [pytest.param(a, marks=pytest.mark.xdist_group(a), id=a) for a in assignments]


def _submissions(assignment, answers):
    """student -> notebook, one per (cell, code) answer, on top of the reference solution."""
    learner = support.read(course.learner_notebook(assignment))
    reference = support.solution_code(assignment)
    return {f"s{i:02d}": support.submission(learner, {**reference, cell: code})
            for i, (cell, code) in enumerate(answers)}


def _fast_grade(tmp_path: Path, assignment, submissions):
    """The fast grader's result per student, from nbgrader's submitted/ layout."""
    for student, nb in submissions.items():
        target = tmp_path / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
    return {r.student: r for r in grade(find_submissions(tmp_path), jobs=1)}


@pytest.mark.parametrize("assignment", by_assignment(WITH_ALTERNATIVES))
def test_alternative_correct_answers_get_full_marks_from_the_fast_grader(tmp_path, assignment):
    alternatives = correct_answers(assignment, slow=full())
    results = _fast_grade(tmp_path, assignment,
                          _submissions(assignment, [(a.cell, a.code) for a in alternatives]))
    for i, alternative in enumerate(alternatives):
        result = results[f"s{i:02d}"]
        assert result.verdict == "graded", result.message
        lost = [f"{c.grade_id}: {c.message}" for c in result.cells if c.points != c.max_points]
        assert not lost, f"the correct answer '{alternative.name}' lost marks:\n" + "\n".join(lost)


def rounds(alternatives):
    """The alternatives in as few notebooks as possible: notebook k holds the k-th alternative of
    every exercise (exercises are separate cells, so each is still graded on its own)."""
    by_cell = {}
    for alternative in alternatives:
        by_cell.setdefault(alternative.cell, []).append(alternative)
    return [[answers[k] for answers in by_cell.values() if k < len(answers)]
            for k in range(max(len(answers) for answers in by_cell.values()))]


# `make test-full` only: a kernel per notebook is what costs, and the fast grader above gives
# nbgrader's points (tests/test_grading.py compares the two on every assignment).
@pytest.mark.full_only
@pytest.mark.parametrize("assignment", by_assignment(WITH_ALTERNATIVES))
def test_alternative_correct_answers_get_full_marks_from_nbgrader(tmp_path, assignment):
    """Stock nbgrader grades every alternative, several exercises' alternatives per notebook (a
    kernel per notebook is what costs); a lost mark names the alternative of its exercise."""
    batches = rounds(correct_answers(assignment))
    scratch = course.make_scratch_course(tmp_path / "course")
    course.generate(scratch, assignment)
    learner = support.read(course.learner_notebook(assignment))
    reference = support.solution_code(assignment)
    submissions = {f"r{k:02d}": support.submission(learner, {**reference, **{a.cell: a.code for a in batch}})
                   for k, batch in enumerate(batches)}
    results = support.autograde(scratch, assignment, submissions)
    exercise_of = {c.grade_id: c.exercise for c in grading.source(assignment).tests()}
    for k, batch in enumerate(batches):
        result = results[f"r{k:02d}"]
        by_cell = {a.cell: a for a in batch}
        lost = {k: v for k, v in result.scores.items() if v != result.max_scores[k]}
        blamed = sorted({by_cell[exercise_of[g]].name if exercise_of.get(g) in by_cell else g for g in lost})
        assert not lost, f"correct answers lost marks under nbgrader: {blamed} ({lost}):\n{result.text()}"
