"""Which cells to run for a submission: nbgrader's OverwriteCells, as a plan.

Every test and read-only cell comes from the source notebook in solutions/ (matched by nbgrader
grade id), so an edited, deleted, duplicated or re-typed test cell changes nothing; the learner's
answers and own extra cells are kept in the learner's order. Notebooks are read as plain JSON:
nbformat's validator costs seconds to import.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import course

NOT_DONE = "raise NotImplementedError()"
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024  # a submitted notebook larger than this is refused unread


@dataclass(frozen=True)
class PlannedCell:
    kind: str  # "test" (graded), "locked" (read-only, from the source) or "learner"
    source: str
    grade_id: str | None = None
    points: float = 0.0
    exercise: str = ""  # for a test cell: the grade id of the answer cell it tests


def _text(source) -> str:
    """A cell's source: notebooks store it as one string or as a list of lines."""
    return "".join(source) if isinstance(source, list) else str(source or "")


def _cells(nb: dict) -> list[dict]:
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise ValueError("the notebook's cells are not a list")
    return [{**c, "source": _text(c.get("source"))} for c in cells if isinstance(c, dict)]


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade id, or None (also for malformed metadata)."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


class SourceNotebook:
    """The solutions/ notebook of one assignment: its test and read-only cells, in order."""

    def __init__(self, assignment: str):
        self.assignment = assignment
        self.cells = _cells(json.loads(course.source_notebook(assignment).read_text(encoding="utf-8")))
        self.order = []  # grade ids in source order
        self.protected = {}  # grade id -> PlannedCell, for test and read-only cells
        self.solutions = set()
        self.hidden_lines = set()  # lines of hidden tests: they must never reach a learner
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
            if meta.get("grade"):
                self.hidden_lines.update(_hidden_lines(cell["source"]))
            if not meta.get("solution") and (meta.get("grade") or meta.get("locked")):
                kind = "test" if meta.get("grade") else "locked"
                self.protected[gid] = PlannedCell(kind, cell["source"], gid, float(meta.get("points", 0)),
                                                  exercise if kind == "test" else "")

    def tests(self) -> list[PlannedCell]:
        return [c for c in self.protected.values() if c.kind == "test"]

    def scrub(self, text: str) -> str:
        """`text` (from a submission's run) with every line of a hidden test blanked out: an
        error a submission raises can quote the code that called it."""
        for line in self.hidden_lines:
            if line in text:
                text = text.replace(line, "[hidden test]")
        return text


def _hidden_lines(cell_source: str) -> set[str]:
    """The meaningful lines between ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS."""
    lines, inside = set(), False
    for line in cell_source.splitlines():
        marker = line.strip()
        if marker == "### BEGIN HIDDEN TESTS":
            inside = True
        elif marker == "### END HIDDEN TESTS":
            inside = False
        elif inside and len(marker) >= 8:
            lines.add(marker)
    return lines


_SOURCES: dict[str, SourceNotebook] = {}


def source(assignment: str) -> SourceNotebook:
    """The source notebook of `assignment`, read once per process."""
    if assignment not in _SOURCES:
        _SOURCES[assignment] = SourceNotebook(assignment)
    return _SOURCES[assignment]


def plan(cells: list[dict], src: SourceNotebook) -> list[PlannedCell]:
    """The cells to run for a learner notebook: the learner's order and answers, with every test
    and read-only cell taken from the source, each exactly once, missing ones put back."""
    planned, seen = [], set()
    for cell in cells:
        gid = grade_id(cell)
        is_code = cell.get("cell_type") == "code"
        if gid in src.protected:
            if gid not in seen:
                planned.append(src.protected[gid])
                seen.add(gid)
        elif gid in src.solutions:
            if gid not in seen:
                planned.append(PlannedCell("learner", cell["source"] if is_code else NOT_DONE, gid))
                seen.add(gid)
        elif is_code:
            planned.append(PlannedCell("learner", cell["source"]))
    # Put back what was deleted, right after the cell that precedes it in the source.
    for position, gid in enumerate(src.order):
        if gid in seen:
            continue
        missing = src.protected.get(gid) or PlannedCell("learner", NOT_DONE, gid)
        earlier = set(src.order[:position])
        index = max((i + 1 for i, c in enumerate(planned) if c.grade_id in earlier), default=0)
        planned.insert(index, missing)
        seen.add(gid)
    return planned


def read_submission(path: Path) -> list[dict]:
    """The cells of the notebook at `path`, or ValueError saying in plain words why it cannot be read."""
    path = Path(path)
    if path.is_symlink():
        raise ValueError("the notebook is a symbolic link, not a file: submit the notebook itself")
    try:
        # O_NONBLOCK: a FIFO named like a notebook must not hang the grader; O_NOFOLLOW: no link
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("it is not a regular file (a folder, a pipe or a device named like a notebook)")
            if info.st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"the file is {info.st_size // (1024 * 1024)} MB; a notebook may have at most "
                                 f"{MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB")
            with os.fdopen(fd, "rb", closefd=False) as f:
                text = f.read().decode("utf-8")
        finally:
            os.close(fd)
    except UnicodeDecodeError:
        raise ValueError("the file is not text (is it really a notebook?)") from None
    except OSError as err:
        raise ValueError(f"the file cannot be read ({err.strerror or err})") from None
    if not text.strip():
        raise ValueError("the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"the file is not valid notebook JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError("the file is JSON but not a Jupyter notebook (it has no cells)")
    if data.get("nbformat") != 4:
        raise ValueError(f"the notebook has format version {data.get('nbformat')!r}; version 4 is expected")
    return _cells(data)
