"""check.everything(), the self-check inside the notebook, gives the grader's points: for every
notebook, on the solution, the untouched notebook and one catalogued wrong answer per exercise,
the score it prints after the notebook's cells have run equals stock nbgrader's score of the
same notebook (the batch tests/test_grading.py grades)."""

import json
import os

import pytest
import support
from conftest import by_assignment

from autograder import course
from autograder.grading import execute
from autograder.grading import plan as planning


def self_check_output(notebook) -> str:
    """Run the notebook's cells as the grader plans them, then `check.everything()`, in a fork
    of a warm process; return what the self-check printed."""
    execute.warm_up()
    src = planning.source(notebook.metadata.get("_assignment"))
    cells = planning.plan(planning._cells(json.loads(json.dumps(notebook))), src)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            shell = execute._WARM["shell"]
            for cell in cells:  # the grader's short paths (NBGRADER_EXECUTION) keep this fast
                execute.run_cell(shell, cell.source, 60)
            # check.everything() runs (it stays quiet under "autograde"), and the notebook's cells
            # keep the short paths they took above
            os.environ["NBGRADER_EXECUTION"] = "self-check test"
            out, err, error, _ = execute.run_cell(shell, "check.everything()", 60)
            os.write(write, (out + err + (repr(error) if error else "")).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("assignment", by_assignment())
def test_self_check_in_the_notebook_gives_the_graders_points(graded, assignment):
    """On each notebook of the assignment's stock nbgrader batch (solution, untouched, one wrong
    answer per exercise), check.everything() prints nbgrader's own total."""
    batch = graded(assignment)
    students = {"solution": "solution", "untouched": "untouched", **batch.wrong_ids}
    submitted = batch.scratch / "grading" / "submitted"
    for name, student in students.items():
        nb = support.read(submitted / student / assignment / f"{assignment}.ipynb")
        nb.metadata["_assignment"] = assignment
        printed = self_check_output(nb)
        got, most = support.self_check_score(printed, name)
        expected = batch.results[student]
        assert (got, most) == (expected.total, expected.max_total), (
            f"{name}: check.everything() says {got:g} / {most:g}, nbgrader {expected.total:g} / "
            f"{expected.max_total:g}:\n{printed}")
        if name == "solution":
            assert "✘" not in printed
        else:
            assert "✘" in printed


def test_self_check_stays_quiet_while_the_notebook_is_graded(tmp_path):
    """Left in a submitted notebook, check.everything() does nothing under the graders."""
    assignment = course.assignments()[0]
    learner = support.read(course.learner_notebook(assignment))
    nb = support.submission(learner, support.solution_code(assignment), extra_cells=("check.everything()",))
    path = tmp_path / f"{assignment}.ipynb"
    support.nbformat.write(nb, str(path))
    [result] = support.grade(support.find_submissions(tmp_path), jobs=1)
    assert (result.verdict, result.score) == ("graded", result.max_score), result.message


def test_self_check_finds_the_running_notebook_when_the_course_is_installed(tmp_path, monkeypatch):
    """Installed without the course folder (a hub's environment: no solutions/, no notebooks/),
    check.everything() reads the notebook its kernel runs, which Jupyter names in JPY_SESSION_NAME."""
    from autograder.checks import selfcheck

    assignment = course.assignments()[0]
    fetched = tmp_path / assignment / f"{assignment}.ipynb"
    fetched.parent.mkdir()
    fetched.write_text(course.learner_notebook(assignment).read_text())
    monkeypatch.setattr(course, "assignments", lambda: [])
    monkeypatch.setattr(course, "learner_notebook", lambda a: tmp_path / "missing" / f"{a}.ipynb")
    module = f"autograder.checks.{assignment.split('_', 1)[1]}"
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert selfcheck._assignment(module) is None
    monkeypatch.setenv("JPY_SESSION_NAME", str(fetched))
    assert selfcheck._assignment(module) == assignment
    assert selfcheck._notebook(assignment) == fetched
