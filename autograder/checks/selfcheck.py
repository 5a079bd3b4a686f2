"""`check.everything()`: every test of a notebook, visible and hidden, on the learner's current work,
from inside the notebook, with no terminal and no re-run.

Each notebook's check module gets an `everything` (core.learner_facing adds it; not `all`, which
would shadow the built-in inside the module). Called in the last cell,
it reads which test cells the notebook has (grade ids, points, and the `check.<name>(...)` call
of each visible test) from the learner notebook, runs every call on the objects defined in the
running kernel (the hidden test is the same call with `hidden=True`), and prints the table
`python -m autograder check` prints: points per exercise and the hint of each failure. A test
cell that is more than a check call (notebook 06's training test) is run as it is.

It never reads solutions/: the learner notebook holds everything it needs.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
from pathlib import Path

from .. import course

_CALL = re.compile(r"^(check\.\w+\(.*\))\s*$", re.M)  # top-level calls only


def _assignment(module_name: str) -> str | None:
    short = module_name.rsplit(".", 1)[-1]
    # installed without the course folder (a hub's environment): the running notebook names it
    known = course.assignments() or [Path(os.environ.get("JPY_SESSION_NAME", "")).stem]
    return next((a for a in known if a.split("_", 1)[-1] == short), None)


def _notebook(assignment: str) -> Path | None:
    """The learner notebook: the course's own copy (as released), else the one this kernel
    runs (Jupyter names it in JPY_SESSION_NAME), e.g. on a hub where the course is installed."""
    released = course.learner_notebook(assignment)
    if released.exists():
        return released
    session = os.environ.get("JPY_SESSION_NAME", "")
    return Path(session) if session.endswith(".ipynb") and Path(session).is_file() else None


def _with_hidden(call: str) -> str:
    """`check.x(obj)` -> `check.x(obj, hidden=True)`."""
    tree = ast.parse(call, mode="eval")
    tree.body.keywords.append(ast.keyword("hidden", ast.Constant(True)))
    return ast.unparse(tree)


def test_cells(path: Path) -> list[dict]:
    """Each graded cell of the notebook: grade id, points, the exercise it tests, and the code
    the self-check runs for it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found, exercise, visible = [], "", {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        if meta.get("solution"):
            exercise = meta.get("grade_id", exercise)
        if not meta.get("grade"):
            continue
        gid = meta["grade_id"]
        calls = _CALL.findall(source)
        if gid.endswith("_hidden") and gid[: -len("_hidden")] in visible:
            code = "\n".join(_with_hidden(c) for c in visible[gid[: -len("_hidden")]])
        elif calls:
            visible[gid] = calls
            code = "\n".join(calls)
        else:
            code = source
        found.append(dict(grade_id=gid, points=float(meta.get("points", 0)), exercise=exercise, code=code))
    return found


def run(module_name: str, namespace: dict) -> None:
    """Run every test of the notebook whose check module is `module_name` in `namespace` (the
    kernel's globals); print the table and return nothing."""
    if os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate"):  # nbgrader (or the fast grader) runs them
        print("check.everything(): skipped while the notebook is graded")
        return
    from ..grading.report import exercises, table
    from ..grading.results import CellResult, NotebookResult
    from ..grading.score import describe_error

    assignment = _assignment(module_name)
    path = _notebook(assignment) if assignment else None
    if path is None:
        print(f"check.everything(): cannot find the notebook of {module_name}; run `make check` in a terminal instead")
        return
    result = NotebookResult(str(path), assignment, None)
    for cell in test_cells(path):
        error = None
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(cell["code"], f"<check.everything: {cell['grade_id']}>", "exec"), namespace)
            except Exception as err:  # the learner's failure is the result, not a crash
                error = err
        passed = error is None
        result.cells.append(CellResult(cell["grade_id"], cell["exercise"], cell["points"] if passed else 0.0,
                                       cell["points"], passed, "" if passed else describe_error(error)))
    rows = exercises(result).values()
    solved = sum(row["points"] >= row["max"] for row in rows)
    print(table(result))
    print(f"{solved} of {len(rows)} exercises solved. `make check` runs the same tests on the saved notebook.")
