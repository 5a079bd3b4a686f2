"""Finding the submissions to grade: nbgrader's submitted/<student>/<assignment>/ layout, or a
plain folder of notebooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import course


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


def find_submissions(folder: Path, ignored: list | None = None) -> list[Submission]:
    """nbgrader's submitted/<student>/<assignment>/<assignment>.ipynb layout, or a plain folder of
    notebooks (assignment from the file name, student from the rest of it). Only *.ipynb files
    count; one that is not really a notebook gets an 'unreadable' verdict. In nbgrader's layout a
    student's extra notebooks are not the assignment: they are left out (and added to `ignored`),
    so a student has one row per assignment."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        parts = path.relative_to(folder).parts
        if len(parts) == 3 and parts[1] in course.assignments():
            if parts[2] == f"{parts[1]}.ipynb":
                found.append(Submission(path, parts[1], parts[0]))
            elif ignored is not None:
                ignored.append(path)
            continue
        assignment = guess_assignment(path)
        student = path.stem.replace(assignment, "").strip("_-. ") if assignment else path.stem
        found.append(Submission(path, assignment, student or path.parent.name))
    return found
