"""Benchmarks, measured side by side in one run (`make bench`). Nothing here is asserted: the
figures are printed for people to read, and the tests never time anything.

1. Self-check: `python -m autograder check` against `nbgrader validate` (fresh processes, median of
   3 alternating runs), per notebook and for the whole course at once (target: check <= 0.25 of
   validate's time).
2. Class grading, for growing classes (BENCH_SIZES students, default "10,30", times every
   notebook): stock `nbgrader autograde` against `python -m autograder grade --jobs 2` on the same
   submissions; prints both times, the ratio (target >= 20x), how many submissions got a
   different score (must be 0), and what the sandbox costs (the same run with --no-sandbox).
3. Per notebook, on the largest class: seconds per submission for nbgrader, and for our grader
   with one job on one core (target <= 0.3 s).
"""

import csv
import os
import shutil
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

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", os.environ.get("BENCH_STUDENTS", "10,30")).split(",")]
ASSIGNMENTS = course.assignments()


def submission_for(student: int, assignment: str) -> nbformat.NotebookNode:
    """Student 0 hands in the solution, student 1 the untouched notebook, every other student
    one catalogued mistake (a different one each, round the catalogue)."""
    learner = support.read(course.learner_notebook(assignment))
    answers = support.solution_code(assignment)
    if student == 0:
        return support.submission(learner, answers)
    if student == 1:
        return learner
    wrong = support.catalogue(assignment).wrong_answers
    mistake = wrong[(student * 5) % len(wrong)]
    return support.submission(learner, {**answers, mistake.cell: mistake.code})


def build_class(scratch: Path, students: int) -> int:
    for assignment in ASSIGNMENTS:
        course.generate(scratch, assignment)
        for s in range(students):
            target = scratch / "grading" / "submitted" / f"student{s:03d}" / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission_for(s, assignment), str(target))
    return students * len(ASSIGNMENTS)


def timed(command, cwd=ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def our_scores(csv_path: Path) -> dict:
    return {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(csv_path.open())}


def grade_class(students: int) -> dict:
    """Both graders on one class; returns the times, per assignment for nbgrader."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        scratch = course.make_scratch_course(Path(tmp))
        n = build_class(scratch, students)
        print(f"\nclass of {students} students x {len(ASSIGNMENTS)} notebooks = {n} submissions", flush=True)
        stock = {}
        for assignment in ASSIGNMENTS:
            stock[assignment] = timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"],
                                      cwd=scratch)
            print(f"  nbgrader autograde {assignment:28s} {stock[assignment]:7.1f} s", flush=True)
        out = scratch / "ours.csv"
        ours = timed([sys.executable, "-m", "autograder", "grade", str(scratch / "grading" / "submitted"),
                      "--jobs", "2", "--quiet", "--csv", str(out)])
        unconfined = timed([sys.executable, "-m", "autograder", "grade", str(scratch / "grading" / "submitted"),
                            "--jobs", "2", "--quiet", "--no-sandbox", "--csv", str(scratch / "plain.csv")])
        mine = our_scores(out)
        with Gradebook(f"sqlite:///{scratch / 'grading' / 'gradebook.db'}") as gb:
            theirs = {(sub.student.id, sub.assignment.name): sub.score
                      for a in ASSIGNMENTS for sub in gb.assignment_submissions(a)}
        mismatches = sum(mine.get(k) != v for k, v in theirs.items())
        total = sum(stock.values())
        print(f"  python -m autograder grade --jobs 2              {ours:7.1f} s")
        print(f"  the same with --no-sandbox                       {unconfined:7.1f} s  ->  the sandbox costs "
              f"{100 * (ours - unconfined) / unconfined:+.0f} % "
              f"(ratio with it off: {sum(stock.values()) / unconfined:.1f}x)")
        print(f"  nbgrader {total:.1f} s vs ours {ours:.1f} s  ->  ratio {total / ours:.1f}x (target >= 20x); "
              f"scores differ on {mismatches} of {len(theirs)} submissions (must be 0)", flush=True)
        per_notebook = {}
        for assignment in ASSIGNMENTS:  # ours alone on each notebook, one job on one core
            folder = Path(tmp) / "one" / assignment
            for s in range(students):
                src = scratch / "grading" / "submitted" / f"student{s:03d}" / assignment / f"{assignment}.ipynb"
                dst = folder / f"student{s:03d}" / assignment / f"{assignment}.ipynb"
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(src.read_bytes())
            per_notebook[assignment] = per_submission(folder, students)
        return dict(students=students, n=n, stock=stock, ours=ours, mismatches=mismatches, per_notebook=per_notebook)


def per_submission(folder: Path, students: int) -> float:
    """Seconds per submission for our grader with --jobs 1, the warm-up excluded (it is paid once
    per run: the run on one submission is subtracted)."""
    first = folder / "student000"
    lone = folder.parent / (folder.name + "-lone")
    shutil.copytree(first, lone / "student000")
    command = [sys.executable, "-m", "autograder", "grade", "--jobs", "1", "--quiet", "--json"]
    one = min(timed(command + [str(lone)]) for _ in range(2))
    everyone = timed(command + [str(folder)])
    return (everyone - one) / max(students - 1, 1)


def bench_check(repeats: int = 3) -> None:
    print("self-check: nbgrader validate vs python -m autograder check (solution notebooks, median of "
          f"{repeats}, fresh processes)")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        paths = []
        for assignment in ASSIGNMENTS:
            path = Path(tmp) / f"{assignment}.ipynb"
            nbformat.write(submission_for(0, assignment), str(path))
            paths.append(path)
        validate_total = 0.0
        for path in paths:
            validate, check = [], []
            for _ in range(repeats):
                validate.append(timed([sys.executable, "-m", "nbgrader", "validate", str(path)]))
                check.append(timed([sys.executable, "-m", "autograder", "check", str(path)]))
            v, c = statistics.median(validate), statistics.median(check)
            validate_total += v
            print(f"  {path.stem:28s} validate {v:5.1f} s   check {c:4.1f} s   -> {c / v:.2f} of validate's time",
                  flush=True)
        whole = statistics.median(timed([sys.executable, "-m", "autograder", "check", *map(str, paths)])
                                  for _ in range(repeats))
        print(f"  whole course: validate on each notebook {validate_total:.1f} s, one `autograder check` "
              f"{whole:.1f} s  ->  {whole / validate_total:.2f} of validate's time (target <= 0.25)")


def main() -> None:
    bench_check()
    runs = [grade_class(students) for students in SIZES]
    print("\nhow grading time grows with the class (seconds):")
    header = ("students", "submissions", "nbgrader", "ours -j2", "ratio", "mismatches")
    print("  " + " ".join(f"{h:>{w}s}" for h, w in zip(header, (8, 11, 9, 9, 7, 10))))
    for r in runs:
        total = sum(r["stock"].values())
        print(f"  {r['students']:8d} {r['n']:11d} {total:9.1f} {r['ours']:9.1f} {total / r['ours']:6.1f}x "
              f"{r['mismatches']:10d}")
    largest = runs[-1]
    print(f"\nper notebook, seconds per submission (class of {largest['students']}; target <= 0.3 s for ours):")
    for assignment in ASSIGNMENTS:
        theirs = largest["stock"][assignment] / largest["students"]
        ours = largest["per_notebook"][assignment]
        print(f"  {assignment:28s} nbgrader {theirs:5.2f}   ours (--jobs 1) {ours:5.2f}")


if __name__ == "__main__":
    main()
