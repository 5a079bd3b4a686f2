"""How grading results are shown: per-exercise tables for learners, a progress bar for long
runs, and nbgrader-compatible CSV for instructors."""

from __future__ import annotations

import csv
import sys
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .results import NotebookResult

# The columns of `nbgrader export`, then our per-exercise detail.
EXPORT_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score"]
DETAIL_COLUMNS = ["verdict", "message", "exercises", "similar_to"]


def _points(x: float) -> str:
    return f"{x:g}"


def exercises(result: NotebookResult) -> "OrderedDict[str, dict]":
    """Per exercise: points, max points, and the first failure message."""
    table = OrderedDict()
    for cell in result.cells:
        row = table.setdefault(cell.exercise or cell.grade_id, {"points": 0.0, "max": 0.0, "message": ""})
        row["points"] += cell.points
        row["max"] += cell.max_points
        if not cell.passed and not row["message"]:
            row["message"] = cell.message
    return table


def table(result: NotebookResult) -> str:
    """A learner-facing table: one line per exercise, then the hint of each failure."""
    name = result.assignment or Path(result.path).name
    lines = [f"{name}  ({result.path})"]
    if result.verdict != "graded":
        lines.append(f"  ✘ {result.verdict}: {result.message}")
    rows = exercises(result)
    width = max([len(k) for k in rows] + [8])
    for exercise, row in rows.items():
        mark = "✔" if row["points"] >= row["max"] else "✘"
        lines.append(f"  {mark} {exercise:<{width}}  {_points(row['points']):>4} / {_points(row['max'])}")
        if row["message"] and row["points"] < row["max"] and result.verdict in ("graded", "blocked"):
            for text in row["message"].splitlines():
                lines.append("      " + text.strip())
    if result.tampered:
        lines.append("  ! the grader's tools were modified: " + ", ".join(result.tampered[:5]))
    lines.append(f"  score: {_points(result.score)} / {_points(result.max_score)}")
    return "\n".join(lines)


def progress_summary(results: list[NotebookResult]) -> str:
    done = sum(1 for r in results if r.max_score and r.score >= r.max_score)
    score = sum(r.score for r in results)
    total = sum(r.max_score for r in results)
    ex = [row for r in results for row in exercises(r).values()]
    solved = sum(1 for row in ex if row["points"] >= row["max"])
    return (f"Course progress: {done} of {len(results)} notebooks complete, "
            f"{solved} of {len(ex)} exercises solved, {_points(score)} / {_points(total)} points")


class ProgressBar:
    """A one-line progress bar on stderr (a line per 10 % when stderr is not a terminal)."""

    def __init__(self, label: str, stream=None):
        self.label, self.stream, self.start = label, stream or sys.stderr, time.perf_counter()
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last_decile = -1

    def __call__(self, done: int, total: int, result: NotebookResult) -> None:
        elapsed = time.perf_counter() - self.start
        filled = int(30 * done / max(total, 1))
        line = (f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}  "
                f"{elapsed:5.1f} s  ({done / elapsed if elapsed else 0:.1f}/s)")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done == total else ""))
        elif done * 10 // max(total, 1) != self.last_decile or done == total:
            self.last_decile = done * 10 // max(total, 1)
            self.stream.write(line + "\n")
        self.stream.flush()


def _timestamp(result: NotebookResult) -> str:
    """The collection time `nbgrader collect` wrote beside the notebook, if it reads as one: a
    file a student could have put there must be a plain date and time, and not in the future."""
    stamp = Path(result.path).parent / "timestamp.txt"
    try:
        if stamp.is_symlink() or not stamp.is_file() or stamp.stat().st_size > 100:
            return ""
        text = stamp.read_text().strip()
        when = datetime.fromisoformat(text.removesuffix(" UTC").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return text if when <= datetime.now(timezone.utc) + timedelta(minutes=5) else ""


def _cell(value):
    """A CSV value that a spreadsheet shows as text: never a formula (=, +, -, @ first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(results: list[NotebookResult], dest) -> None:
    """nbgrader export's columns, one row per submission, plus verdict and per-exercise detail."""
    writer = csv.DictWriter(dest, fieldnames=EXPORT_COLUMNS + DETAIL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        detail = "; ".join(f"{k}={_points(v['points'])}/{_points(v['max'])}" for k, v in exercises(r).items())
        writer.writerow({key: _cell(value) for key, value in {
            "assignment": r.assignment or "", "duedate": "", "timestamp": _timestamp(r),
            "student_id": r.student or "", "last_name": "", "first_name": "", "email": "",
            "raw_score": float(r.score), "late_submission_penalty": 0.0, "score": float(r.score),
            "max_score": float(r.max_score), "verdict": r.verdict, "message": r.message, "exercises": detail,
            "similar_to": similar_to(r),
        }.items()})


def similar_to(result: NotebookResult) -> str:
    """The CSV's `similar_to` cell (grading.similarity): `cell: reference 1.00; cell: alice 0.93`,
    one entry per flagged answer cell and match; empty when nothing is flagged."""
    return "; ".join(f"{f['cell']}: {f['similar_to']} {f['similarity']:.2f}" for f in result.similar_to)
