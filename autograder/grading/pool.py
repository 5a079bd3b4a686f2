"""Grading many submissions, `jobs` at a time: one forked child per submission, each with a
time limit; results come back as JSON text and are checked against the source notebook (known
grade ids only, points within the cell's maximum), so a submission can only ever report on
itself, and a broken or hostile one gets a verdict, never a crash of the batch."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import time

from .. import course
from ..nbgrader_setup import CELL_TIMEOUT
from .execute import child_main, warm_up
from .plan import SourceNotebook, plan, read_submission, source
from .results import CellResult, NotebookResult
from .submissions import Submission

NOTEBOOK_TIMEOUT = 600  # seconds for a whole notebook, whatever its cells do
MESSAGE_LIMIT = 4000  # characters of a failure message kept


def blank_result(sub: Submission, src: SourceNotebook | None) -> NotebookResult:
    """A result with every test cell at 0 points, "not run": what a submission earns until its
    child reports otherwise."""
    result = NotebookResult(str(sub.path), sub.assignment, sub.student)
    if src is not None:
        result.cells = [CellResult(c.grade_id, c.exercise, 0.0, c.points, False, "not run") for c in src.tests()]
    return result


class _Running:
    """One forked child and what it has reported so far."""

    def __init__(self, result, process, conn, started):
        self.result, self.process, self.conn, self.started = result, process, conn, started
        self.by_id = {c.grade_id: c for c in result.cells}
        self.finished = False

    def receive(self) -> None:
        while not self.finished and self.conn.poll():
            try:
                message = json.loads(self.conn.recv_bytes(1 << 20).decode("utf-8"))
            except (EOFError, OSError):
                return
            except (ValueError, UnicodeDecodeError):
                self.result.tampered.append("the grader's result channel (unreadable message)")
                continue
            self._take(message)

    def _take(self, message) -> None:
        kind = message[0] if isinstance(message, list) and message else None
        if kind == "cell" and len(message) == 4 and message[1] in self.by_id:
            _, gid, points, text = message
            cell = self.by_id[gid]
            points = float(points) if isinstance(points, (int, float)) else 0.0
            cell.points = min(max(points, 0.0), cell.max_points)
            cell.passed = cell.points >= cell.max_points
            cell.message = str(text)[:MESSAGE_LIMIT]
        elif kind == "tampered" and len(message) == 2 and isinstance(message[1], list):
            self.result.tampered.extend(str(name)[:200] for name in message[1][:50])
        elif kind == "exited":
            self.result.zero("exited", "the notebook called sys.exit() / exit()")
            self.finished = True
        elif kind == "done":
            self.finished = True
        else:
            self.result.tampered.append("the grader's result channel (a message it does not know)")


def _start(sub: Submission, context, cell_timeout: int) -> tuple[NotebookResult, _Running | None]:
    """Plan a submission and fork its child; a submission that cannot be planned is finished at once."""
    started = time.perf_counter()
    if sub.assignment not in course.assignments():
        result = blank_result(sub, None)
        result.verdict, result.message = "unknown assignment", (
            f"cannot tell which assignment {sub.path.name} belongs to; name it after one of "
            f"{', '.join(course.assignments())}")
        return result, None
    src = source(sub.assignment)
    result = blank_result(sub, src)
    try:
        cells = plan(read_submission(sub.path), src)
    except ValueError as err:
        result.verdict, result.message = "unreadable", str(err)
        return result, None
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(target=child_main, args=(child_end, cells, cell_timeout), daemon=True)
    process.start()
    child_end.close()
    return result, _Running(result, process, parent_end, started)


def _settle(job: _Running, notebook_timeout: float) -> bool:
    """Read what the child sent; decide whether it is finished (done, dead or over time)."""
    job.receive()
    if not job.finished and not job.process.is_alive():
        job.receive()
        if not job.finished:
            job.result.zero("crashed", f"the notebook stopped the grader (exit code {job.process.exitcode}): "
                                       "os._exit, a killed process or a crash")
            job.finished = True
    if not job.finished and time.perf_counter() - job.started > notebook_timeout:
        job.process.kill()
        job.result.zero("timed out", f"the notebook ran longer than {notebook_timeout:.0f} s and was stopped")
        job.finished = True
    return job.finished


def _close(job: _Running) -> None:
    job.process.join(timeout=5)
    if job.process.is_alive():
        job.process.kill()
    job.conn.close()
    job.result.seconds = round(time.perf_counter() - job.started, 3)
    job.result.tampered = sorted(set(job.result.tampered))


def grade(submissions: list[Submission], jobs: int = 1, progress=None, cell_timeout: int = CELL_TIMEOUT,
          notebook_timeout: float = NOTEBOOK_TIMEOUT) -> list[NotebookResult]:
    """Grade every submission, `jobs` at a time; returns results in the same order."""
    warm_up([sub.assignment for sub in submissions])
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
            result, job = _start(sub, context, cell_timeout)
            if job is None:
                finish(index, result)
            else:
                running[index] = job
        if not running:
            continue
        waitables = [r.conn for r in running.values()] + [r.process.sentinel for r in running.values()]
        multiprocessing.connection.wait(waitables, timeout=0.5)
        for index, job in list(running.items()):
            if _settle(job, notebook_timeout):
                _close(job)
                del running[index]
                finish(index, job.result)
    return [results[i] for i in range(len(submissions))]
