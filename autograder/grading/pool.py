"""Grading many submissions, `jobs` at a time: one forked child per submission, each with a
time limit; results come back as JSON text and are checked against the source notebook (known
grade ids only, points within the cell's maximum), so a submission can only ever report on
itself, and a broken or hostile one gets a verdict, never a crash of the batch."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import shutil
import signal
import sys
import tempfile
import time

from .. import course
from ..nbgrader_setup import CELL_TIMEOUT
from . import sandbox
from .execute import child_main, guard_for, probe_sandbox, warm_up
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

    def __init__(self, result, process, conn, started, scratch=None, src=None, limits=None):
        self.result, self.process, self.conn, self.started = result, process, conn, started
        self.scrub = src.scrub if src is not None else str
        self.limits = limits or sandbox.Limits()
        self.scratch = scratch
        self.by_id = {c.grade_id: c for c in result.cells}
        self.finished = False

    def receive(self) -> None:
        while not self.finished and self.conn.poll():
            try:
                message = json.loads(self.conn.recv_bytes(1 << 20).decode("utf-8"))
            except EOFError:
                return
            except OSError:  # a message over 1 MiB, which the child never sends: the channel is closed
                self.result.tampered.append("the grader's result channel (a message over 1 MiB)")
                self.result.zero("crashed", "the notebook broke the grader's result channel")
                self.finished = True
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
            cell.message = self.scrub(str(text)[:MESSAGE_LIMIT])
        elif kind == "tampered" and len(message) == 2 and isinstance(message[1], list):
            self.result.tampered.extend(self.scrub(str(name)[:200]) for name in message[1][:50])
        elif kind == "blocked" and len(message) == 2 and isinstance(message[1], str):
            if len(self.result.blocked) < 20:
                self.result.blocked.append(self.scrub(message[1][:300]))
        elif kind == "exited":
            self.result.zero("exited", "the notebook called sys.exit() / exit()")
            self.finished = True
        elif kind == "done":
            self.finished = True
        else:
            self.result.tampered.append("the grader's result channel (a message it does not know)")


def _start(sub: Submission, context, cell_timeout: int, confinement=None,
           scratch_root: str | None = None) -> tuple[NotebookResult, _Running | None]:
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
    scratch = tempfile.mkdtemp(prefix="submission-", dir=scratch_root) if confinement is not None else None
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(target=child_main, args=(child_end, cells, cell_timeout, confinement, scratch,
                                                          guard_for(sub.assignment)), daemon=True)
    process.start()
    child_end.close()
    limits = confinement.limits if confinement is not None else None
    return result, _Running(result, process, parent_end, started, scratch, src, limits)


def _died(exitcode: int | None, limits: sandbox.Limits) -> str:
    """Why a child that never said "done" ended, in the learner's words."""
    if exitcode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return f"the notebook used more than {limits.cpu_seconds} s of CPU time and was stopped"
    if exitcode in (-signal.SIGKILL, 128 + signal.SIGKILL):
        return ("the notebook was killed (exit code 137): out of memory, past its CPU time "
                f"({limits.cpu_seconds} s), or a killed process")
    return f"the notebook stopped the grader (exit code {exitcode}): os._exit, a killed process or a crash"


def _settle(job: _Running, notebook_timeout: float) -> bool:
    """Read what the child sent; decide whether it is finished (done, dead or over time)."""
    job.receive()
    if not job.finished and not job.process.is_alive():
        job.receive()
        if not job.finished:
            job.result.zero("crashed", _died(job.process.exitcode, job.limits))
            job.finished = True
    if not job.finished and time.perf_counter() - job.started > notebook_timeout:
        job.process.kill()
        job.result.zero("timed out", f"the notebook ran longer than {notebook_timeout:.0f} s and was stopped")
        job.finished = True
    return job.finished


def _close(job: _Running) -> None:
    """The submission's result is final: timed, its tampering and sandbox reports settled. Its
    process may still be leaving (see `_reap`)."""
    job.closed = time.perf_counter()
    job.result.seconds = round(job.closed - job.started, 3)
    job.result.tampered = sorted(set(job.result.tampered))
    if job.result.blocked and job.result.verdict == "graded":
        job.result.verdict = "blocked"
        job.result.message = "the sandbox stopped this notebook when it tried to: " + "; ".join(job.result.blocked)


EXIT_GRACE = 5.0  # seconds a finished child may take to exit before it is killed


def _reap(job: _Running, wait: float = 0.0) -> bool:
    """Collect a finished child (killed if it is still there EXIT_GRACE seconds after it finished,
    or after `wait` seconds) and delete its scratch folder; False while it is still exiting on its
    own. A large process takes milliseconds to exit: the next submission starts meanwhile."""
    job.process.join(timeout=wait)
    if job.process.is_alive():
        if not wait and time.perf_counter() - job.closed < EXIT_GRACE:
            return False
        job.process.kill()
        job.process.join()
    job.conn.close()
    if job.scratch:
        shutil.rmtree(job.scratch, ignore_errors=True)
    return True


_PROBED: dict[tuple, list[str]] = {}


def sandbox_plan(submissions: list[Submission], use_sandbox: bool = True, say=None,
                 limits: sandbox.Limits | None = None):
    """The sandbox for this batch (None when it is switched off); protections the machine cannot
    give are said in one line (once per process) and grading goes on without them."""
    say = say or (lambda text: print(text, file=sys.stderr))
    if not use_sandbox:
        say("sandbox: off (--no-sandbox): submissions run with the grader's own rights")
        return None
    plan = sandbox.make_plan(hidden=sorted({str(sub.path.parent) for sub in submissions}), limits=limits)
    key = tuple(plan.readable)
    if key not in _PROBED:
        _PROBED[key] = probe_sandbox(plan)
        if _PROBED[key]:
            say("sandbox: these protections are off on this machine: " + "; ".join(_PROBED[key]))
    return plan


def grade(submissions: list[Submission], jobs: int = 1, progress=None, cell_timeout: int = CELL_TIMEOUT,
          notebook_timeout: float = NOTEBOOK_TIMEOUT, use_sandbox: bool = True,
          limits: sandbox.Limits | None = None) -> list[NotebookResult]:
    """Grade every submission, `jobs` at a time, each in its own sandbox (see sandbox.py; off with
    use_sandbox=False; `limits`: what each may use); returns results in the same order."""
    warm_up([sub.assignment for sub in submissions])
    plan = sandbox_plan(submissions, use_sandbox, limits=limits)
    scratch_root = tempfile.mkdtemp(prefix="autograder-") if plan is not None else None
    try:
        return _grade_all(submissions, jobs, progress, cell_timeout, notebook_timeout, plan, scratch_root)
    finally:
        if scratch_root:
            shutil.rmtree(scratch_root, ignore_errors=True)


def _grade_all(submissions, jobs, progress, cell_timeout, notebook_timeout, plan, scratch_root):
    context = multiprocessing.get_context("fork")
    results: dict[int, NotebookResult] = {}
    pending = list(enumerate(submissions))
    running: dict[int, _Running] = {}
    exiting: list[_Running] = []

    def finish(index, result):
        results[index] = result
        if progress:
            progress(len(results), len(submissions), result)

    while pending or running:
        exiting = [job for job in exiting if not _reap(job)]
        while pending and len(running) < max(1, jobs):
            index, sub = pending.pop(0)
            result, job = _start(sub, context, cell_timeout, plan, scratch_root)
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
                exiting.append(job)
                finish(index, job.result)
    for job in exiting:
        _reap(job, wait=5)
    return [results[i] for i in range(len(submissions))]
