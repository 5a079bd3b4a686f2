"""The sandbox, tried as an attacker would: every case is a real submission graded in one batch
with honest classmates, on a copy of the course. Each gets its score and a verdict naming what it
tried; the course tree and every other submission stay byte-identical; nothing it started is left
running; no connection reaches a server on this machine. The batch runs twice: as root (CI) and as
a process with no privileges at all (user id 1000 in a user namespace, no capability anywhere),
which is what an ordinary instructor account is to the kernel."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest
import support

from autograder import course
from autograder.grading import pool, sandbox
from autograder.grading.submissions import Submission

A = "01_similarity"
ANSWERS = support.solution_code(A)
LEARNER = support.read(course.learner_notebook(A))
MAX = 15
TAG = uuid.uuid4().hex[:8]  # marks the processes and files this run's attacks make
SLEEP = f"{300 + int(TAG, 16) % 1000}.{TAG[:3]}"  # a sleep argument no other process uses
OUTSIDE = Path("/tmp") / f"sandbox-escape-{TAG}"


def attack(code: str, then_answer: bool = True) -> nbformat.NotebookNode:
    """A submission whose dot_product cell runs `code` (errors swallowed, so the answer after
    it still earns its points when `then_answer`)."""
    guarded = "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + "except Exception:\n    pass\n"
    answer = ANSWERS["dot_product"] if then_answer else "raise NotImplementedError()"
    return support.submission(LEARNER, {**ANSWERS, "dot_product": guarded + answer})


def cases(course_copy: Path, submitted: Path, port: int) -> dict[str, tuple]:
    """student: (notebook, score, verdict, words in the verdict's message or the table)."""
    solution = course_copy / "solutions" / A / f"{A}.ipynb"
    classmate = submitted / "honest" / A / f"{A}.ipynb"
    return {
        "honest": (support.submission(LEARNER, ANSWERS), MAX, "graded", "score: 15 / 15"),
        "wrong": (support.submission(LEARNER, {**ANSWERS, "dot_product": "def dot_product(a, b):\n    return a * b\n"}),
                  MAX - 2, "graded", "did not add the products up"),
        "rewrites-solutions": (attack(f"open({str(solution)!r}, 'w').write('{{}}')"), MAX, "blocked",
                               f"write to {solution}"),
        "rewrites-through-course-root": (attack(
            "from autograder import course\n"
            f"(course.ROOT / 'solutions' / {A!r} / '{A}.ipynb').write_text('{{}}')"), MAX, "blocked",
            "write to "),
        "appends-to-classmate": (attack(f"open({str(classmate)!r}, 'a').write('x')"), MAX, "blocked",
                                 f"write to {classmate}"),
        "reads-classmate": (attack(f"print(open({str(classmate)!r}).read()[:100])"), MAX, "blocked",
                            f"read {classmate}"),
        "lists-the-class": (attack(f"import os\nprint(os.listdir({str(submitted)!r}))"), MAX, "blocked",
                            f"list the folder {submitted}"),
        "reads-gradebook": (attack(f"open({str(course_copy / 'gradebook.db')!r}, 'rb').read()"), MAX, "blocked",
                            "read "),
        "writes-outside": (attack(f"open({str(OUTSIDE)!r}, 'w').write('x')"), MAX, "blocked",
                           f"write to {OUTSIDE}"),
        "deletes-the-course": (attack(f"import shutil\nshutil.rmtree({str(course_copy / 'solutions')!r})"), MAX,
                               "blocked", "delete "),
        "starts-a-daemon": (attack(f"import subprocess\nsubprocess.Popen(['sleep', {SLEEP!r}])"), MAX, "blocked",
                            "start a process (sleep)"),
        "forks-and-stays": (attack(f"import os\nif os.fork() == 0:\n    os.execvp('sleep', ['sleep', {SLEEP!r}])"),
                            MAX, "blocked", "start a process"),
        "fork-bomb": (attack("import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n"
                             "        time.sleep(60)\n        os._exit(0)"), MAX, "blocked", "start a process"),
        "kills-the-grader": (attack("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                                    "for pid in range(2, 4096):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
                                    "    except OSError:\n        pass"), MAX, "blocked", "send a signal"),
        "phones-home": (attack(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"),
                        MAX, "blocked", "use the network"),
        "eats-memory": (support.submission(LEARNER, {**ANSWERS, "dot_product": (
            "import torch\nhog = torch.ones(64 * 1024 ** 3, dtype=torch.uint8)\n" + ANSWERS["dot_product"])}),
            MAX - 2, "graded", "more memory than a submission may use"),
        "leaks-hidden-tests": (support.submission(LEARNER, {**ANSWERS, "dot_product": (
            "import linecache\ndef dot_product(a, b):\n"  # the source of every cell run so far
            "    raise ValueError(' | '.join(''.join(entry[2]) for name, entry in list(linecache.cache.items())\n"
            "                                if not name.startswith('/')))\n")}),
            MAX - 2, "graded", "ValueError"),
    }


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below `folder`, by relative path, with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def copy_course(target: Path) -> Path:
    """The parts of the course that grading reads, as a separate course (its own autograder
    package, so its course.ROOT is the copy): attacks aimed at the course hit the copy."""
    for name in ("autograder", "solutions", "notebooks"):
        shutil.copytree(course.ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(course.ROOT / "nbgrader_config.py", target)
    (target / "gradebook.db").write_bytes(b"SQLite format 3\x00 the instructor's grades")
    return target


def grade_as(prefix: list[str], course_copy: Path, submitted: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(course_copy)}
    return subprocess.run([*prefix, sys.executable, "-m", "autograder", "grade", str(submitted), "--jobs", "2",
                           "--csv", str(out), "--json", "--quiet"],
                          cwd=course_copy, env=env, capture_output=True, text=True, timeout=600)


def sleepers() -> list[str]:
    run = subprocess.run(["pgrep", "-af", SLEEP], capture_output=True, text=True)
    return [line for line in run.stdout.splitlines() if "pgrep" not in line]


pytestmark = pytest.mark.xdist_group("sandbox")  # one worker builds each batch once
UNPRIVILEGED = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def batch(request, tmp_path_factory):
    if request.param == "root" and os.getuid() != 0:
        pytest.skip("the grader runs as root only when the tests do")
    prefix = [] if request.param == "root" else UNPRIVILEGED
    if prefix and subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("user namespaces are needed to test the sandbox without privileges")
        pytest.skip("this machine gives no user namespace to an unprivileged process")
    base = tmp_path_factory.mktemp(f"sandbox-{request.param}")
    course_copy = copy_course(base / "course")
    submitted = base / "submitted"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    expected = cases(course_copy, submitted, listener.getsockname()[1])
    for student, (nb, *_) in expected.items():
        target = submitted / student / A / f"{A}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    before = tree_digest(base)
    out = base / "grades.csv"
    run = grade_as(prefix, course_copy, submitted, out)
    after = tree_digest(base)
    try:
        connected = listener.accept()
    except BlockingIOError:
        connected = None
    listener.close()
    results = {r["student"]: r for r in json.loads(run.stdout)} if run.returncode == 0 else {}
    yield dict(run=run, results=results, expected=expected, before=before, after=after, out=out,
               connected=connected, left=sleepers())
    OUTSIDE.unlink(missing_ok=True)


def table(result: dict) -> str:
    failed = [c["message"] for c in result["cells"] if not c["passed"]]
    return f"{result['verdict']}: {result['message']}\n" + "\n".join(failed)


@pytest.mark.parametrize("student", list(cases(Path("/c"), Path("/s"), 1)))
def test_each_attack_gets_its_score_and_a_verdict_naming_it(batch, student):
    assert batch["run"].returncode == 0, batch["run"].stderr
    _, score, verdict, words = batch["expected"][student]
    result = batch["results"][student]
    shown = table(result) + f"\nscore: {result['score']:g} / {result['max_score']:g}"
    assert result["verdict"] == verdict, shown
    assert result["score"] == score, shown
    assert words in shown, shown


def test_the_course_and_every_other_submission_are_byte_identical(batch):
    assert batch["run"].returncode == 0, batch["run"].stderr
    changed = {k for k in batch["before"].keys() | batch["after"].keys()
               if batch["before"].get(k) != batch["after"].get(k)}
    assert changed == {"grades.csv"}
    assert not OUTSIDE.exists()


def test_nothing_a_submission_started_outlives_it(batch):
    assert batch["left"] == []


def test_no_connection_reached_a_server_on_this_machine(batch):
    assert batch["connected"] is None


def test_every_protection_is_on_and_said_so(batch):
    """Nothing is off on this kind of machine; where something is, grade says it in one line."""
    assert "protections are off" not in batch["run"].stderr, batch["run"].stderr


def test_no_hidden_test_text_reaches_the_csv_or_the_json(batch):
    hidden = pool.source(A).hidden_lines
    text = batch["run"].stdout + batch["out"].read_text()
    assert hidden and not [line for line in hidden if line in text]
    assert "[hidden test]" in json.dumps(batch["results"]["leaks-hidden-tests"])


# ------------------------------------------------------------------ limits, one at a time, in-process

def _graded(tmp_path, code: str, **limits):
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(support.submission(LEARNER, {**ANSWERS, "dot_product": code}), str(path))
    [result] = pool.grade([Submission(path, A, "limits")], jobs=1, cell_timeout=60, notebook_timeout=60,
                          limits=sandbox.Limits(**limits))
    return result


def test_cpu_time_limit_stops_a_loop_that_ignores_the_alarm(tmp_path):
    result = _graded(tmp_path, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n",
                     cpu_seconds=2)
    assert (result.verdict, result.score) == ("crashed", 0)
    assert "more than 2 s of CPU time" in result.message


def test_file_size_limit_fails_the_write_not_the_grader(tmp_path):
    result = _graded(tmp_path, "with open('big.bin', 'wb') as f:\n    f.write(b'x' * 8 * 1024 * 1024)\n"
                     + ANSWERS["dot_product"], file_mb=1)
    assert result.verdict == "graded" and result.score == MAX - 2
    assert "File too large" in report_text(result)


def test_the_scratch_folder_is_writable_and_private(tmp_path):
    result = _graded(tmp_path, "import os\nopen('notes.txt', 'w').write('mine')\n"
                     "assert open('notes.txt').read() == 'mine' and os.environ['HOME'] == os.getcwd()\n"
                     "assert [p for p in os.listdir('/proc') if p.isdigit()] == ['1']  # no other process\n"
                     + ANSWERS["dot_product"])
    assert (result.verdict, result.score) == ("graded", MAX), report_text(result)


def report_text(result) -> str:
    return result.message + "\n" + "\n".join(c.message for c in result.cells)


def test_a_missing_mechanism_is_said_in_one_line_and_grading_goes_on(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    monkeypatch.setattr(pool, "_PROBED", {})
    said = []
    plan = pool.sandbox_plan([Submission(tmp_path / "x.ipynb", A)], say=said.append)
    assert plan is not None
    assert len(said) == 1 and "filesystem (Landlock is not available" in said[0]


def test_the_course_folder_is_never_readable():
    plan = sandbox.make_plan()
    root = os.path.realpath(course.ROOT)
    assert not [r for r in plan.readable if sandbox._beneath(root, r)]
    assert os.path.realpath(course.ROOT / "autograder") in plan.readable


# ------------------------------------------------------------------ what grade finds, and where it writes

def test_submitted_folder_tricks_get_verdicts_not_a_crash(tmp_path):
    submitted = tmp_path / "submitted"
    honest = submitted / "ada" / A
    honest.mkdir(parents=True)
    nbformat.write(support.submission(LEARNER, ANSWERS), str(honest / f"{A}.ipynb"))
    nbformat.write(support.submission(LEARNER, ANSWERS), str(honest / "extra copy.ipynb"))  # not a second row
    (honest / "timestamp.txt").write_text("2026-11-30 10:00:00.000000 UTC")
    linked = submitted / "=HYPERLINK(1)" / A
    linked.mkdir(parents=True)
    (linked / f"{A}.ipynb").symlink_to(course.source_notebook(A))
    (linked / "timestamp.txt").write_text("=cmd|' /C calc'!A0")
    fifo = submitted / "fifo" / A
    fifo.mkdir(parents=True)
    os.mkfifo(fifo / f"{A}.ipynb")
    (fifo / "timestamp.txt").write_text("2999-01-01 00:00:00 UTC")
    folder = submitted / "folder" / A / f"{A}.ipynb"
    folder.mkdir(parents=True)
    out = tmp_path / "grades.csv"
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted), "--csv", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "left out" in run.stderr and "extra copy.ipynb" in run.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert sorted(rows) == sorted(["ada", "'=HYPERLINK(1)", "fifo", "folder"])
    assert float(rows["ada"]["score"]) == MAX and rows["ada"]["timestamp"].startswith("2026-11-30")
    assert rows["'=HYPERLINK(1)"]["verdict"] == "unreadable" and "symbolic link" in rows["'=HYPERLINK(1)"]["message"]
    assert float(rows["'=HYPERLINK(1)"]["score"]) == 0 and rows["'=HYPERLINK(1)"]["timestamp"] == ""
    assert rows["fifo"]["verdict"] == "unreadable" and "not a regular file" in rows["fifo"]["message"]
    assert rows["fifo"]["timestamp"] == ""  # in the future: not a collection time
    assert rows["folder"]["verdict"] == "unreadable"


def test_a_folder_at_the_csv_path_is_refused_before_grading(tmp_path):
    (tmp_path / "grades.csv").mkdir()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(course.ROOT / "notebooks" / A),
                          "--csv", str(tmp_path / "grades.csv")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "is a folder" in run.stderr
