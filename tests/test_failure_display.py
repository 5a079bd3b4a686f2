"""What a learner sees when a check fails: in a real Jupyter kernel (the way JupyterLab and
nbgrader run notebooks), the error output holds the learner's own line and the check's message,
and nothing of the checker (no autograder/checks path, no line of its source)."""

import re

import nbformat
import pytest
import support
from nbclient import NotebookClient

from autograder import course

ANSI = re.compile(r"\x1b\[[0-9;]*m")

SETUP = "import torch\nfrom autograder.checks import similarity as check"
WRONG = "def dot_product(a, b):\n    return a * b"
RUN_CHECK = "x = 1\ncheck.dot_product(dot_product)"


def executed(*cells: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(course.ROOT)}}).execute()
    return nb


@pytest.fixture(scope="module")
def failing():
    nb = executed(SETUP, WRONG, RUN_CHECK)
    errors = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert len(errors) == 1, nb.cells[2].outputs
    return errors[0]


def test_a_failing_check_shows_the_learners_line_and_the_message(failing):
    text = "\n".join(ANSI.sub("", line) for line in failing.traceback)
    assert failing.ename == "ExerciseFailed"
    assert "Likely mistake: you multiplied element by element" in text
    assert "check.dot_product(dot_product)" in text  # the learner's own line
    assert "In[3], line 2" in text  # where it is: the cell and the line


def test_a_failing_check_shows_nothing_of_the_checker(failing):
    text = "\n".join(ANSI.sub("", line) for line in failing.traceback)
    assert "autograder/checks" not in text and "core.py" not in text
    checker_source = (course.ROOT / "autograder" / "checks" / "core.py").read_text().splitlines()
    checker_lines = {line.strip() for line in checker_source if len(line.strip()) > 20}
    shown = [line.strip().removeprefix("---->").strip() for line in text.splitlines()]
    shown = [re.sub(r"^\d+\s+", "", line) for line in shown]
    assert not checker_lines & set(shown), checker_lines & set(shown)
    assert "raise ExerciseFailed" not in text


def test_other_errors_keep_their_full_traceback():
    """Only the checker's verdict is shortened: the learner's own bug keeps IPython's traceback."""
    nb = executed("def f():\n    return 1 / 0", "f()")
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    text = "\n".join(ANSI.sub("", line) for line in error.traceback)
    assert error.ename == "ZeroDivisionError" and "return 1 / 0" in text


@pytest.mark.xdist_group("01_similarity")  # the worker that grades notebook 01's batch anyway
def test_nbgrader_feedback_shows_the_message_without_the_checker(graded):
    """The same in nbgrader's feedback page for a wrong answer of notebook 01."""
    batch = graded("01_similarity")
    wrong = batch.catalogue.wrong_answers[0]
    page = support.feedback_text(batch.scratch, "01_similarity", batch.wrong_ids[wrong.name])
    assert wrong.hint in page
    assert "autograder/checks" not in page and "raise ExerciseFailed" not in page
