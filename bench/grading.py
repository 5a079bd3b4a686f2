"""Benchmarks, measured side by side in one run (`make bench`):

1. Class grading: the same batch (6 students x every notebook of the course) graded by stock
   `nbgrader autograde` and by `python -m autograder grade --jobs 2`; prints the throughput ratio
   and checks that both gave every submission the same score.
2. Self-check: `python -m autograder check` against `nbgrader validate` on the same notebook
   (both as fresh processes, median of several alternating runs); prints the wall-time ratio.
"""

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import support  # noqa: E402
from autograder import course  # noqa: E402

STUDENTS = int(os.environ.get("BENCH_STUDENTS", 6))  # 6 x 7 notebooks = 42 submissions


def build_batch(scratch: Path) -> int:
    """solution, untouched, and four students who each make a different catalogued mistake."""
    count = 0
    for assignment in course.assignments():
        course.generate(scratch, assignment)
        learner = support.read(course.learner_notebook(assignment))
        answers = support.solution_code(assignment)
        wrong = support.catalogue(assignment).wrong_answers
        for s in range(STUDENTS):
            if s == 0:
                nb = support.submission(learner, answers)
            elif s == 1:
                nb = learner
            else:
                mistake = wrong[(s * 5) % len(wrong)]
                nb = support.submission(learner, {**answers, mistake.cell: mistake.code})
            target = scratch / "grading" / "submitted" / f"student{s}" / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(target))
            count += 1
    return count


def timed(command, cwd=ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def bench_grading() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        scratch = course.make_scratch_course(Path(tmp))
        n = build_batch(scratch)
        print(f"class grading: {n} submissions ({STUDENTS} students x {len(course.assignments())} notebooks)")
        stock = 0.0
        for assignment in course.assignments():
            t = timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], cwd=scratch)
            stock += t
            print(f"  nbgrader autograde {assignment:28s} {t:6.1f} s", flush=True)
        out = scratch / "ours.csv"
        ours = timed([sys.executable, "-m", "autograder", "grade", str(scratch / "grading" / "submitted"),
                      "--jobs", "2", "--quiet", "--csv", str(out)])
        print(f"  python -m autograder grade --jobs 2         {ours:6.1f} s")
        mine = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(out.open())}
        with Gradebook(f"sqlite:///{scratch / 'grading' / 'gradebook.db'}") as gb:
            theirs = {(sub.student.id, sub.assignment.name): sub.score
                      for a in course.assignments() for sub in gb.assignment_submissions(a)}
        same = sum(mine[k] == theirs[k] for k in theirs)
        print(f"  same score as nbgrader on {same} of {len(theirs)} submissions")
        print(f"  throughput: nbgrader {n / stock:.2f}/s, ours {n / ours:.2f}/s  ->  ratio {stock / ours:.1f}x")


def bench_check(repeats: int = 3) -> None:
    assignment = course.assignments()[0]
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        path = Path(tmp) / f"{assignment}.ipynb"
        answers = support.solution_code(assignment)
        nbformat.write(support.submission(support.read(course.learner_notebook(assignment)), answers), str(path))
        validate, check = [], []
        for _ in range(repeats):
            validate.append(timed([sys.executable, "-m", "nbgrader", "validate", str(path)]))
            check.append(timed([sys.executable, "-m", "autograder", "check", str(path)]))
        v, c = statistics.median(validate), statistics.median(check)
        print(f"self-check on {assignment} (median of {repeats}): nbgrader validate {v:.1f} s, "
              f"autograder check {c:.1f} s  ->  check takes {c / v:.2f} of validate's time ({v / c:.1f}x faster)")


if __name__ == "__main__":
    bench_check()
    bench_grading()
