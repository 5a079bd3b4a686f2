"""Every catalogued alternative correct answer gets full marks, under the fast grader and under
stock nbgrader."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
import support
from support import find_submissions, grade

from autograder import course


def correct_answers(assignment):
    path = support.CATALOGUE / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"alternatives_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(getattr(module, "CORRECT_ANSWERS", []))


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
    alternatives = correct_answers(assignment)
    results = _fast_grade(tmp_path, assignment,
                          _submissions(assignment, [(a.cell, a.code) for a in alternatives]))
    for i, alternative in enumerate(alternatives):
        result = results[f"s{i:02d}"]
        assert result.verdict == "graded", result.message
        lost = [f"{c.grade_id}: {c.message}" for c in result.cells if c.points != c.max_points]
        assert not lost, f"the correct answer '{alternative.name}' lost marks:\n" + "\n".join(lost)


@pytest.mark.parametrize("assignment", by_assignment(WITH_ALTERNATIVES))
def test_alternative_correct_answers_get_full_marks_from_nbgrader(tmp_path, assignment):
    alternatives = correct_answers(assignment)
    scratch = course.make_scratch_course(tmp_path / "course")
    course.generate(scratch, assignment)
    results = support.autograde(scratch, assignment,
                                _submissions(assignment, [(a.cell, a.code) for a in alternatives]))
    for i, alternative in enumerate(alternatives):
        result = results[f"s{i:02d}"]
        lost = {k: v for k, v in result.scores.items() if v != result.max_scores[k]}
        assert not lost, f"the correct answer '{alternative.name}' lost marks on {lost}:\n{result.text()}"
