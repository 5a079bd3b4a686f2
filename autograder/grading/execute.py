"""Running a notebook's planned cells in a forked child of a warm parent: nbgrader's Execute,
LimitOutput and IgnorePattern, without a kernel.

The parent imports torch, matplotlib and IPython once (`warm_up`); each submission then runs in a
fresh fork, so there is no kernel start and no `import torch` per notebook, no state leaks between
students, and a notebook that loops, exits or crashes takes only itself down. In the child, the
tamper guard restores the grader's tools before every test cell and checks them after it.

The child reports to the parent over a pipe, as JSON text (never pickles: the parent must not
run anything a submission could forge), one message per test cell, then "done".
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import re
import signal
import sys
import tempfile
import warnings

from .. import course
from . import sandbox
from .plan import PlannedCell, source
from .score import CellTimeout, describe_error, test_points

OUTPUT_LIMIT = 64 * 1024  # characters of output kept per cell
_MISSING = object()
_WARM = {}


def _uses(assignments, text: str) -> bool:
    """Does the source notebook of any of `assignments` contain `text`?"""
    return any(text in cell["source"] for a in assignments if a in course.assignments() for cell in source(a).cells)


def warm_up(assignments=()) -> None:
    """Import what every notebook needs once, in this process, before forking. `assignments` lists
    the notebooks of the batch, one entry per submission: what only some notebooks use (the FLOP
    counter, a first figure) is paid here only when more than one child would otherwise pay it."""
    if _WARM:
        return
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("IPYTHONDIR", str(course.ROOT / ".jupyter" / "ipython"))  # never ~/.ipython
    os.makedirs(os.environ["IPYTHONDIR"], exist_ok=True)
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # notebooks take their short grading paths
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch
    import torch.nn.functional  # noqa: F401
    import torch.overrides  # noqa: F401
    import torch.utils.flop_counter
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from . import guard

    torch.set_num_threads(1)
    assignments = list(assignments)
    # The first optimizer step and the first FlopCounterMode import torch._dynamo (1-3 s); the
    # first nn.TransformerEncoderLayer call takes its fast path's set-up (about 0.5 s).
    if sum(_uses([a], "FlopCounterMode") or _uses([a], "optim") for a in assignments) > 1:
        _first_training_step(torch)
        with torch.utils.flop_counter.FlopCounterMode(display=False):
            torch.ones(1, 1) @ torch.ones(1, 1)
    if sum(_uses([a], "EncoderBlock") for a in assignments) > 1:
        layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
        with torch.no_grad():
            layer(torch.zeros(1, 3, 8))
    if len(assignments) > 1:
        _first_figure(matplotlib.pyplot)
        _first_failure(torch)
    warnings.filterwarnings("ignore", message=".*non-interactive.*")
    config = Config()
    config.HistoryManager.enabled = False  # no history database, no saving thread to fork
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *args, **kwargs: None  # errors are reported our way
    _WARM.update(shell=shell, guard=guard.Guard(shell=shell))
    # Everything the parent holds now stays as it is in every child: without this, a child's first
    # garbage collection touches every object (torch._dynamo alone brings many), copying the
    # parent's memory page by page (a fifth of a second per fork).
    gc.freeze()


_COURSE_IMPORT = re.compile(r"^\s*(?:from\s+(autograder[\w.]*)\s+import\s+([\w, ]+)|import\s+(autograder[\w.]*))", re.M)


def guard_for(assignment: str):
    """The warm guard, narrowed to what `assignment`'s checks can reach (the course modules its
    source notebook imports, and theirs): computed once per assignment, in the parent."""
    guards = _WARM.setdefault("guards", {})
    if assignment not in guards:
        names = set()
        for cell in source(assignment).cells:
            for package, imported, plain in _COURSE_IMPORT.findall(cell["source"]):
                for name in imported.split(",") if package else ():  # a submodule, or a name of the package
                    submodule = f"{package}.{name.split(' as ')[0].strip()}"
                    names.add(submodule if submodule in sys.modules else package)
                if plain:
                    names.add(plain)
        guards[assignment] = _WARM["guard"].narrowed(sorted(names))
    return guards[assignment]


def _first_training_step(torch) -> None:
    """One Adam step on a throw-away model, with what the training notebooks use."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.ReLU())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.functional.cross_entropy(model(torch.zeros(2, 4)), torch.tensor([0, 1]))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def _first_failure(torch) -> None:
    """What a check does the first time an answer is wrong, or a cell prints a tensor: torch
    imports its symbolic-shapes machinery (sympy: 0.2 s) on the first `torch.unravel_index`, and
    a module on the first tensor repr; IPython its logger and debugger on the first error."""
    import bdb  # noqa: F401
    import encodings.unicode_escape  # noqa: F401

    import IPython.core.logger  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    torch.unravel_index(torch.tensor(3), (2, 2))
    repr(torch.zeros(2))


def _first_figure(plt) -> None:
    """Draw one throw-away figure with what the notebooks use (lines, images, text, a colour bar,
    log axes, constrained layout): matplotlib loads fonts and builds caches on first use, and
    doing it here spares every forked child that cost."""
    fig, (left, right) = plt.subplots(1, 2, layout="constrained")
    left.loglog([1, 2], [1, 4], "o-", label="a")
    left.legend()
    fig.colorbar(right.imshow([[0.0, 1.0]], cmap="viridis"), ax=right)
    right.text(0, 0, "x")
    right.set_title("title")
    fig.canvas.draw()
    plt.close("all")


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


def _on_alarm(signum, frame):
    raise CellTimeout()


def _display_text(shell, value) -> str | None:
    """How IPython would display a cell's result (nbgrader reads partial credit from it)."""
    if value is None:
        return None
    try:
        data, _ = shell.display_formatter.format(value)
        return str(data.get("text/plain", ""))[:1000]
    except Exception:
        return repr(value)[:1000]


def run_cell(shell, text: str, timeout: int):
    """Run one cell's text; returns (stdout text, stderr text, error or None, displayed value)."""
    out, err = _Bounded(), _Bounded()
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = shell.run_cell(text, store_history=False, silent=False)
    except CellTimeout as timeout:  # raised outside the cell's own code
        result, error = None, timeout
    else:
        error = result.error_before_exec or result.error_in_exec
    finally:
        signal.alarm(0)
    value = None if result is None else _display_text(shell, result.result)
    return out.getvalue(), err.getvalue(), error, value


_SENT_CHARACTERS = 60_000  # of a cell's message: far over what a report keeps, far under the 1 MiB a message may be


def _send(conn, *message) -> None:
    conn.send_bytes(json.dumps(message).encode("utf-8"))


def run_notebook(conn, cells: list[PlannedCell], cell_timeout: int, guard=None) -> None:
    """Run one notebook's cells in this (forked) process; send one message per test cell."""
    shell, guard = _WARM["shell"], guard or _WARM["guard"]
    signal.signal(signal.SIGALRM, _on_alarm)
    protected, answer_errors = {}, {}
    for cell in cells:
        if cell.kind == "test":
            shell.user_ns.update(protected)  # the course's names (e.g. `check`), as its cells set them
        before = dict(shell.user_ns) if cell.kind != "learner" else None
        _, stderr, error, value = run_cell(shell, cell.source, cell_timeout)
        replaced = [name[:200] for name in guard.changes()[:50]]  # a name can be as long as the learner likes
        if replaced:  # the cell patched the grader's tools: put them back first, and say so
            guard.restore()
            _send(conn, "tampered", replaced)
        if isinstance(error, SystemExit) or getattr(shell, "exit_now", False):
            _send(conn, "exited", "the notebook called sys.exit() / exit()")
            return
        if cell.kind == "learner" and cell.grade_id and error is not None:
            answer_errors[cell.grade_id] = describe_error(error)
        if before is not None:  # remember what the course's own cells defined
            protected.update({k: v for k, v in shell.user_ns.items() if before.get(k, _MISSING) is not v})
        if cell.kind == "test":
            if replaced:
                message = "the grader's tools were modified while this test ran: " + ", ".join(replaced[:5])
                _send(conn, "cell", cell.grade_id, 0.0, message)
                continue
            points, message = test_points(cell.points, error, stderr, value)
            if error is not None and cell.exercise in answer_errors:  # the real cause is the answer cell
                message = f"your answer cell failed first: {answer_errors[cell.exercise]}\n{message}"
            _send(conn, "cell", cell.grade_id, points, message[:_SENT_CHARACTERS])
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    _send(conn, "done")


def child_main(conn, cells, cell_timeout, plan=None, scratch=None, guard=None):
    """The forked child's entry point: confine this process to the sandbox (`plan`, with `scratch`
    as its only writable folder; None: no sandbox), run, report, and leave without running the
    parent's exit code."""
    try:
        if plan is not None:
            sandbox.confine(plan, scratch, conn.fileno())
            sys.addaudithook(sandbox.Attempts(plan, scratch, lambda text: _send(conn, "blocked", text)))
        run_notebook(conn, cells, cell_timeout, guard)
    finally:
        conn.close()
        os._exit(0)  # skip atexit handlers and buffers inherited from the parent


def probe_sandbox(plan) -> list[str]:
    """The protections this machine cannot give, found by confining a throw-away fork once."""
    import multiprocessing

    parent_end, child_end = multiprocessing.Pipe(duplex=False)
    scratch = tempfile.mkdtemp(prefix="autograder-probe-")
    pid = os.fork()
    if pid == 0:
        try:
            off = sandbox.confine(plan, scratch, child_end.fileno())
            child_end.send_bytes(json.dumps(off).encode())
        finally:
            os._exit(0)
    child_end.close()
    try:
        off = json.loads(parent_end.recv_bytes().decode()) if parent_end.poll(30) else ["the sandbox (its probe failed)"]
    except (EOFError, OSError, ValueError):
        off = ["the sandbox (its probe failed)"]
    finally:
        parent_end.close()
        os.waitpid(pid, 0)
        os.rmdir(scratch)
    return off
