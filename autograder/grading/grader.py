"""A fast grader that gives nbgrader's verdicts, cannot be gamed, and survives bad input.

How a notebook is graded:

1. `plan()` reads the submission and builds the list of cells to run. Every test and read-only
   cell comes from the source notebook in solutions/ (matched by nbgrader grade id), so an
   edited, deleted, duplicated or re-typed test cell changes nothing; the learner's answers and
   own extra cells are kept in the learner's order.
2. The cells run in a forked child of a warm parent that has already imported torch, so no
   kernel start and no `import torch` per notebook. Forking per submission means no state
   leaks between students, and a notebook that loops, exits or crashes takes only itself down.
3. In the child, the tamper `Guard` restores the grader's tools before every test cell and
   checks them after it. A test cell earns its points when it raises nothing and writes nothing
   to stderr except warnings (nbgrader's rule, with the course's `IgnorePattern`).
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import course
from ..nbgrader_setup import CELL_TIMEOUT, WARNING_PATTERN

NOTEBOOK_TIMEOUT = 600  # seconds for a whole notebook, whatever its cells do
OUTPUT_LIMIT = 64 * 1024  # characters of output kept per cell
_MISSING = object()


# ---------------------------------------------------------------- results
@dataclass
class CellResult:
    grade_id: str
    exercise: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    path: str
    assignment: str | None
    student: str | None
    cells: list[CellResult] = field(default_factory=list)
    verdict: str = "graded"  # graded | unreadable | unknown assignment | timed out | crashed | exited
    message: str = ""
    seconds: float = 0.0
    tampered: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells)

    def to_dict(self) -> dict:
        return {**asdict(self), "score": self.score, "max_score": self.max_score}


# ---------------------------------------------------------------- planning
@dataclass(frozen=True)
class PlannedCell:
    kind: str  # "test" (graded), "locked" (read-only, from the source) or "learner"
    source: str
    grade_id: str | None = None
    points: float = 0.0
    exercise: str = ""


def _text(source) -> str:
    """A cell's source: notebooks store it as one string or as a list of lines."""
    return "".join(source) if isinstance(source, list) else str(source or "")


def _cells(nb: dict) -> list[dict]:
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise ValueError("the notebook's cells are not a list")
    return [{**c, "source": _text(c.get("source"))} for c in cells if isinstance(c, dict)]


class SourceNotebook:
    """The solutions/ notebook of one assignment: its test and read-only cells, in order.
    (Notebooks are read as plain JSON: nbformat's validator costs seconds to import.)"""

    def __init__(self, assignment: str):
        self.assignment = assignment
        self.cells = _cells(json.loads(course.source_notebook(assignment).read_text(encoding="utf-8")))
        self.order = []  # grade ids in source order
        self.protected = {}  # grade id -> PlannedCell, for test and read-only cells
        self.solutions = set()
        exercise = ""
        for cell in self.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            gid = meta.get("grade_id")
            if not gid:
                continue
            self.order.append(gid)
            if meta.get("solution"):
                self.solutions.add(gid)
                exercise = gid
            elif meta.get("grade") or meta.get("locked"):
                kind = "test" if meta.get("grade") else "locked"
                self.protected[gid] = PlannedCell(kind, cell["source"], gid, float(meta.get("points", 0)),
                                                  exercise if kind == "test" else "")

    def tests(self) -> list[PlannedCell]:
        return [c for c in self.protected.values() if c.kind == "test"]


_SOURCES: dict[str, SourceNotebook] = {}


def source(assignment: str) -> SourceNotebook:
    if assignment not in _SOURCES:
        _SOURCES[assignment] = SourceNotebook(assignment)
    return _SOURCES[assignment]


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


def plan(cells: list[dict], src: SourceNotebook) -> list[PlannedCell]:
    """The cells to run for a learner notebook: the learner's order and answers, with every test
    and read-only cell taken from the source, each exactly once, missing ones put back."""
    planned, seen = [], set()
    for cell in cells:
        gid = _grade_id(cell)
        is_code = cell.get("cell_type") == "code"
        if gid in src.protected:
            if gid not in seen:
                planned.append(src.protected[gid])
                seen.add(gid)
        elif gid in src.solutions:
            if gid not in seen:
                planned.append(PlannedCell("learner", cell["source"] if is_code else "raise NotImplementedError()", gid))
                seen.add(gid)
        elif is_code:
            planned.append(PlannedCell("learner", cell["source"]))
    # Put back what was deleted, right after the cell that precedes it in the source.
    for position, gid in enumerate(src.order):
        if gid in seen:
            continue
        missing = src.protected.get(gid) or PlannedCell("learner", "raise NotImplementedError()", gid)
        earlier = set(src.order[:position])
        index = max((i + 1 for i, c in enumerate(planned) if c.grade_id in earlier), default=0)
        planned.insert(index, missing)
        seen.add(gid)
    return planned


def read_submission(path: Path) -> list[dict]:
    """The cells of the notebook at `path`, or ValueError saying in plain words why it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not text (is it really a notebook?)")
    if not text.strip():
        raise ValueError("the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"the file is not valid notebook JSON ({err.msg} at line {err.lineno})")
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError("the file is JSON but not a Jupyter notebook (it has no cells)")
    if data.get("nbformat") != 4:
        raise ValueError(f"the notebook has format version {data.get('nbformat')!r}; version 4 is expected")
    return _cells(data)


# ---------------------------------------------------------------- the warm parent
_WARM = {}


def warm_up() -> None:
    """Import everything a notebook needs once, in this process, before forking."""
    if _WARM:
        return
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("IPYTHONDIR", str(course.ROOT / ".jupyter" / "ipython"))  # never ~/.ipython
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # notebooks take their short grading paths
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from . import guard

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*non-interactive.*")
    config = Config()
    config.HistoryManager.enabled = False  # no history database, no saving thread to fork
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *args, **kwargs: None  # errors are reported our way
    _WARM.update(shell=shell, guard=guard.Guard())


class _Bounded(io.TextIOBase):
    """A text sink that keeps the first OUTPUT_LIMIT characters and counts the rest."""

    def __init__(self):
        self.parts, self.kept, self.dropped = [], 0, 0

    def write(self, text):
        room = OUTPUT_LIMIT - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self):
        return "".join(self.parts)


class _CellTimeout(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _CellTimeout()


def _describe_error(error: BaseException) -> str:
    if isinstance(error, _CellTimeout):
        return "a cell ran longer than its time limit and was stopped (an endless loop?)"
    if isinstance(error, NotImplementedError):
        return "not done yet: the exercise still raises NotImplementedError"
    text = str(error).strip()
    if type(error).__name__ == "ExerciseFailed":
        return text
    return f"{type(error).__name__}: {text}"[:600]


def _harmful_stderr(text: str) -> bool:
    """nbgrader zeroes a test cell that writes to stderr, unless the course's IgnorePattern
    (Python warnings) matches it."""
    return bool(text) and not re.search(WARNING_PATTERN, text)


def _run_cell(shell, text: str, timeout: int):
    out, err = _Bounded(), _Bounded()
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = shell.run_cell(text, store_history=False, silent=False)
    except _CellTimeout as timeout:  # raised outside the cell's own code
        result = None
        error = timeout
    else:
        error = result.error_before_exec or result.error_in_exec
    finally:
        signal.alarm(0)
    value = None if result is None else result.result
    return out, err, error, value


def _child(conn, cells: list[PlannedCell], cell_timeout: int) -> None:
    """Run one notebook's cells and send one message per test cell, then 'done'."""
    shell, guard = _WARM["shell"], _WARM["guard"]
    signal.signal(signal.SIGALRM, _on_alarm)
    protected, answer_errors = {}, {}
    for cell in cells:
        if cell.kind == "test":
            shell.user_ns.update(protected)  # the course's names (e.g. `check`), as its cells set them
        before = dict(shell.user_ns) if cell.kind != "learner" else None
        out, err, error, value = _run_cell(shell, cell.source, cell_timeout)
        replaced = guard.changes()
        if replaced:  # the cell patched the grader's tools: put them back first, and say so
            guard.restore()
            conn.send(("tampered", replaced))
        if isinstance(error, SystemExit) or getattr(shell, "exit_now", False):
            conn.send(("exited", "the notebook called sys.exit() / exit()"))
            return
        if cell.kind == "learner" and cell.grade_id and error is not None:
            answer_errors[cell.grade_id] = _describe_error(error)
        if before is not None:  # remember what the course's own cells defined
            protected.update({k: v for k, v in shell.user_ns.items() if before.get(k, _MISSING) is not v})
        if cell.kind == "test":
            if replaced:
                message = "the grader's tools were modified while this test ran: " + ", ".join(replaced[:5])
                conn.send(("cell", cell.grade_id, 0.0, message, replaced))
            elif error is not None:
                message = _describe_error(error)
                if cell.exercise in answer_errors:  # the real cause is in the answer cell
                    message = f"your answer cell failed first: {answer_errors[cell.exercise]}\n{message}"
                conn.send(("cell", cell.grade_id, 0.0, message, []))
            elif _harmful_stderr(err.getvalue()):
                conn.send(("cell", cell.grade_id, 0.0, "the test wrote to stderr: " + err.getvalue()[:300], []))
            else:
                points = cell.points
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    points = min(max(float(value), 0.0), cell.points)  # nbgrader's partial credit
                conn.send(("cell", cell.grade_id, points, "", []))
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    conn.send(("done",))


def _child_main(conn, cells, cell_timeout):
    try:
        _child(conn, cells, cell_timeout)
    finally:
        conn.close()
        os._exit(0)  # skip atexit handlers and buffers inherited from the parent


# ---------------------------------------------------------------- submissions
@dataclass(frozen=True)
class Submission:
    path: Path
    assignment: str | None
    student: str | None = None


def guess_assignment(path: Path) -> str | None:
    """The assignment a notebook belongs to: from its file or folder name."""
    known = course.assignments()
    for name in (path.stem, path.parent.name):
        for assignment in known:
            if assignment in name:
                return assignment
    return None


def _blank_result(sub: Submission, src: SourceNotebook | None) -> NotebookResult:
    result = NotebookResult(str(sub.path), sub.assignment, sub.student)
    if src is not None:
        result.cells = [CellResult(c.grade_id, c.exercise, 0.0, c.points, False, "not run") for c in src.tests()]
    return result


class _Running:
    def __init__(self, sub, result, process, conn, started):
        self.sub, self.result, self.process, self.conn, self.started = sub, result, process, conn, started
        self.by_id = {c.grade_id: c for c in result.cells}
        self.finished = False

    def receive(self) -> None:
        while self.conn.poll():
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "cell":
                _, gid, points, text, tampered = message
                cell = self.by_id[gid]
                cell.points, cell.passed, cell.message = points, points >= cell.max_points, text
                self.result.tampered.extend(tampered)
            elif message[0] == "tampered":
                self.result.tampered.extend(message[1])
            elif message[0] == "exited":
                self.zero("exited", message[1])
                self.finished = True
            elif message[0] == "done":
                self.finished = True

    def zero(self, verdict: str, text: str) -> None:
        self.result.verdict, self.result.message = verdict, text
        for cell in self.result.cells:
            cell.points, cell.passed = 0.0, False


def grade(submissions: list[Submission], jobs: int = 1, progress=None, cell_timeout: int = CELL_TIMEOUT,
          notebook_timeout: float = NOTEBOOK_TIMEOUT) -> list[NotebookResult]:
    """Grade every submission, `jobs` at a time; returns results in the same order."""
    warm_up()
    context = multiprocessing.get_context("fork")
    results: dict[int, NotebookResult] = {}
    pending = list(enumerate(submissions))
    running: dict[int, _Running] = {}

    def finish(index, result):
        results[index] = result
        if progress:
            progress(len(results), len(submissions), result)

    while pending or running:
        while pending and len(running) < max(1, jobs):
            index, sub = pending.pop(0)
            started = time.perf_counter()
            if sub.assignment not in course.assignments():
                result = _blank_result(sub, None)
                result.verdict, result.message = "unknown assignment", (
                    f"cannot tell which assignment {sub.path.name} belongs to; name it after one of "
                    f"{', '.join(course.assignments())}")
                finish(index, result)
                continue
            src = source(sub.assignment)
            result = _blank_result(sub, src)
            try:
                cells = plan(read_submission(sub.path), src)
            except ValueError as err:
                result.verdict, result.message = "unreadable", str(err)
                finish(index, result)
                continue
            parent_end, child_end = context.Pipe(duplex=False)
            process = context.Process(target=_child_main, args=(child_end, cells, cell_timeout), daemon=True)
            process.start()
            child_end.close()
            running[index] = _Running(sub, result, process, parent_end, started)
        if not running:
            continue
        waitables = [r.conn for r in running.values()] + [r.process.sentinel for r in running.values()]
        multiprocessing.connection.wait(waitables, timeout=0.5)
        for index, job in list(running.items()):
            job.receive()
            elapsed = time.perf_counter() - job.started
            if not job.finished and not job.process.is_alive():
                job.receive()
                if not job.finished:
                    job.zero("crashed", f"the notebook stopped the grader (exit code {job.process.exitcode}): "
                                        "os._exit, a killed process or a crash")
                    job.finished = True
            if not job.finished and elapsed > notebook_timeout:
                job.process.kill()
                job.zero("timed out", f"the notebook ran longer than {notebook_timeout:.0f} s and was stopped")
                job.finished = True
            if job.finished:
                job.process.join(timeout=5)
                if job.process.is_alive():
                    job.process.kill()
                job.conn.close()
                job.result.seconds = round(elapsed, 3)
                job.result.tampered = sorted(set(job.result.tampered))
                del running[index]
                finish(index, job.result)
    return [results[i] for i in range(len(submissions))]


def find_submissions(folder: Path) -> list[Submission]:
    """nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb layout, or a plain folder of
    notebooks (assignment from the file name, student from the rest of it). Only *.ipynb files
    count; one that is not really a notebook gets an 'unreadable' verdict."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        parts = path.relative_to(folder).parts
        if len(parts) == 3 and parts[1] in course.assignments():
            found.append(Submission(path, parts[1], parts[0]))
            continue
        assignment = guess_assignment(path)
        student = path.stem.replace(assignment, "").strip("_-. ") if assignment else path.stem
        found.append(Submission(path, assignment, student or path.parent.name))
    return found
