"""Regenerate notebooks/ from solutions/ with stock nbgrader, without ever losing a learner's work.

nbgrader writes into a scratch course; each result is then compared with the notebook already
in notebooks/. A notebook that is neither the new version nor the committed one has been
edited (by a learner, or by hand): it is moved aside to `<name>.edited-<time>.ipynb` and the
move is reported, never silently overwritten.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from .. import course


def _committed_bytes(path: Path) -> bytes | None:
    """The version of `path` in git's HEAD, or None if it is not tracked (or git is absent)."""
    try:
        relative = path.resolve().relative_to(course.ROOT)
        result = subprocess.run(
            ["git", "show", f"HEAD:{relative.as_posix()}"],
            cwd=course.ROOT, capture_output=True, timeout=30,
        )
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(course.ROOT))
    except ValueError:
        return str(path)


def has_learner_work(data: bytes) -> bool:
    """Does this learner notebook hold work: outputs, or an answer cell whose text differs from
    what nbgrader generated (nbgrader stores a checksum of each generated answer cell)?"""
    import nbformat
    from nbgrader.utils import compute_checksum

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:
        return True  # unreadable: never guess, keep it
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            return True
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("checksum") != compute_checksum(cell):
            return True
    return False


def place(new: Path, target: Path, committed: bytes | None, stamp: str) -> str:
    """Put a freshly generated notebook at `target`. An existing file that is neither the new
    version nor `committed` (git's copy), and that holds learner work, is moved aside first.
    Returns what happened."""
    fresh = new.read_bytes()
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fresh)
        return f"created   {_show(target)}"
    current = target.read_bytes()
    if current == fresh:
        return f"unchanged {_show(target)}"
    if current != committed and has_learner_work(current):
        aside = target.with_name(f"{target.stem}.edited-{stamp}.ipynb")
        target.rename(aside)
        target.write_bytes(fresh)
        return f"updated   {_show(target)}\n          your edited copy was kept as {_show(aside)}"
    target.write_bytes(fresh)
    return f"updated   {_show(target)}"


def release(assignments: list[str] | None = None) -> list[str]:
    """Regenerate the learner notebooks of `assignments` (default: all); return report lines."""
    wanted = assignments or course.assignments()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = []
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        scratch_course = course.make_scratch_course(Path(scratch))
        for assignment in wanted:
            generated = course.generate(scratch_course, assignment)
            target = course.learner_notebook(assignment)
            report.append(place(generated, target, _committed_bytes(target), stamp))
            print(report[-1], flush=True)
    stray = sorted(p.name for p in course.NOTEBOOKS.iterdir()
                   if p.is_dir() and p.name not in course.assignments()) if course.NOTEBOOKS.exists() else []
    for name in stray:
        report.append(f"note: notebooks/{name} has no source in solutions/ and was left alone")
        print(report[-1])
    return report
