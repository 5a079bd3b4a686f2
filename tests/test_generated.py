"""notebooks/ is exactly what stock nbgrader generates from solutions/, and both are clean."""

import pytest
import support
from conftest import by_assignment

from autograder import course

ASSIGNMENTS = course.assignments()
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def test_there_are_assignments_and_each_has_a_learner_notebook():
    assert ASSIGNMENTS, "solutions/ holds no assignment"
    learner = sorted(p.parent.name for p in course.NOTEBOOKS.glob("*/*.ipynb") if p.stem == p.parent.name)
    assert learner == ASSIGNMENTS


@pytest.mark.parametrize("assignment", by_assignment())
def test_learner_notebook_is_what_nbgrader_generates(graded, assignment):
    """The learner notebook stock nbgrader generates in the grading batch's scratch course
    (`nbgrader generate_assignment`) is the committed one."""
    committed = support.read(course.learner_notebook(assignment))
    assert committed == graded(assignment).generated, (
        f"notebooks/{assignment} is out of date: run `make notebooks` and commit the result")


@pytest.mark.parametrize("folder", ["notebooks", "solutions"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_notebooks_carry_no_outputs(folder, assignment):
    path = course.ROOT / folder / assignment / f"{assignment}.ipynb"
    for cell in support.read(path).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path}: outputs in {cell.source[:60]!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_learner_notebook_holds_no_solution_or_hidden_test(assignment):
    nb = support.read(course.learner_notebook(assignment))
    for cell in nb.cells:
        for marker in MARKERS:
            assert marker not in cell.source, f"{assignment}: '{marker}' left in {cell.source[:80]!r}"
        if nbgrader_meta(cell).get("solution"):
            assert "raise NotImplementedError()" in cell.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_visible_and_hidden_tests_and_catalogued_mistakes(assignment):
    cells = support.read(course.source_notebook(assignment)).cells
    ids = [support.grade_id(c) for c in cells if support.grade_id(c)]
    assert len(ids) == len(set(ids)), "duplicate grade ids abort a whole autograde batch"
    wrong = support.catalogue(assignment).wrong_answers
    names = [w.name for w in wrong]
    assert len(names) == len(set(names)), "wrong answers need unique names (they become student ids)"
    exercises = [i for i, c in enumerate(cells) if nbgrader_meta(c).get("solution")]
    assert exercises
    for n, start in enumerate(exercises):
        end = exercises[n + 1] if n + 1 < len(exercises) else len(cells)
        tests = [c for c in cells[start:end] if nbgrader_meta(c).get("grade")]
        name = support.grade_id(cells[start])
        assert tests, f"exercise {name} has no test cell after it"
        assert all(nbgrader_meta(c).get("points", 0) > 0 for c in tests)
        visible = [c for c in tests if "BEGIN HIDDEN TESTS" not in c.source]
        hidden = [c for c in tests if "BEGIN HIDDEN TESTS" in c.source]
        assert visible and hidden, f"exercise {name} needs a visible and a hidden test"
        assert sum(w.cell == name for w in wrong) >= 2, f"exercise {name} needs at least 2 catalogued wrong answers"
    assert {w.cell for w in wrong} <= {support.grade_id(cells[i]) for i in exercises}
