"""Shared test machinery: the wrong-answer catalogue, building submissions, grading a batch
with stock `nbgrader autograde`, and reading back scores, messages and feedback."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder import course
from autograder.grading import find_submissions, grade  # noqa: F401 (the suite's one import of the fast grader)

CATALOGUE = Path(__file__).parent / "catalogue"
SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class WrongAnswer:
    """A realistic wrong answer: `code` replaces the whole solution cell `cell`; grading must
    cost marks and the feedback must contain `hint` (the words that name the mistake)."""

    cell: str
    name: str
    code: str
    hint: str


@dataclass
class Catalogue:
    """What tests/catalogue/<assignment>.py declares."""

    assignment: str
    wrong_answers: list[WrongAnswer]
    worked_examples: dict[str, object] = field(default_factory=dict)
    cannot_learn: list[str] = field(default_factory=list)  # wrong answers the graded training must fail


def catalogue(assignment: str) -> Catalogue:
    path = CATALOGUE / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"catalogue_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Catalogue(assignment, list(module.WRONG_ANSWERS), dict(getattr(module, "WORKED_EXAMPLES", {})),
                     list(getattr(module, "CANNOT_LEARN", [])))


def self_check_score(text: str, who: str = "") -> tuple[float, float]:
    """(points, out of) from the table check.everything() prints; fails the test without one."""
    match = re.search(r"score: ([\d.]+) / ([\d.]+)", text)
    assert match, f"{who + ': ' if who else ''}check.everything() showed no score:\n{text}"
    return float(match[1]), float(match[2])


def plt_show_calls(path: Path) -> int:
    """How many `plt.show()` calls the notebook's code makes (commented-out lines excluded)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return sum(len(re.findall(r"^[^#\n]*\bplt\.show\(", "".join(c["source"]), re.M))
               for c in nb["cells"] if c["cell_type"] == "code")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_code(assignment: str) -> dict[str, str]:
    """The reference answer of every solution cell, markers removed, by grade id."""
    answers = {}
    for cell in read(course.source_notebook(assignment)).cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            lines = [line for line in cell.source.splitlines() if not SOLUTION_MARKERS.match(line)]
            answers[grade_id(cell)] = "\n".join(lines)
    return answers


def exercise_tests(assignment: str) -> dict[str, list[str]]:
    """The graded test cells of each exercise, by the grade id of its solution cell: the test
    cells between that solution cell and the next one."""
    tests: dict[str, list[str]] = {}
    exercise = None
    for cell in read(course.source_notebook(assignment)).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            exercise = meta["grade_id"]
            tests[exercise] = []
        elif meta.get("grade") and exercise is not None:
            tests[exercise].append(meta["grade_id"])
    return tests


def submission(learner: nbformat.NotebookNode, answers: dict[str, str],
               extra_cells: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """A learner notebook with the given answers typed into its solution cells."""
    nb = nbformat.from_dict(json.loads(json.dumps(learner)))
    for cell in nb.cells:
        if grade_id(cell) in answers and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id(cell)]
    for code in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


@dataclass
class Graded:
    """One autograded submission: points per graded cell and the text of each cell's outputs."""

    scores: dict[str, float]
    max_scores: dict[str, float]
    outputs: dict[str, str]
    notebook: nbformat.NotebookNode

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values())

    def text(self) -> str:
        return "\n".join(self.outputs.values())

    def execution_seconds(self) -> float:
        """From the first cell's start to the last cell's reply, as nbclient timed them."""
        times = [c.metadata.get("execution", {}) for c in self.notebook.cells if c.cell_type == "code"]
        start = next(t["iopub.execute_input"] for t in times if "iopub.execute_input" in t)
        end = [t["shell.execute_reply"] for t in times if "shell.execute_reply" in t][-1]
        return (datetime.fromisoformat(end.replace("Z", "+00:00"))
                - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
            parts.extend(ANSI.sub("", line) for line in out.traceback)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def autograde(scratch: Path, assignment: str, submissions: dict[str, nbformat.NotebookNode]) -> dict[str, Graded]:
    """Submit each notebook as a student of a scratch course and grade them all with one stock
    `nbgrader autograde` run; return what nbgrader recorded for each student."""
    for student, nb in submissions.items():
        target = scratch / "grading" / "submitted" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
    course.nbgrader(scratch, "autograde", assignment, "--force")
    results = {}
    with Gradebook(f"sqlite:///{scratch / 'grading' / 'gradebook.db'}") as gradebook:
        for student in submissions:
            graded_nb = read(scratch / "grading" / "autograded" / student / assignment / f"{assignment}.ipynb")
            record = gradebook.find_submission_notebook(assignment, assignment, student)
            results[student] = Graded(
                scores={g.name: g.score for g in record.grades},
                max_scores={g.name: g.max_score for g in record.grades},
                outputs={grade_id(c) or f"cell{i}": output_text(c) for i, c in enumerate(graded_nb.cells)},
                notebook=graded_nb,
            )
    return results


def feedback_text(scratch: Path, assignment: str, student: str) -> str:
    """`nbgrader generate_feedback` for one student; the HTML's text with tags and escapes removed."""
    course.nbgrader(scratch, "generate_feedback", assignment, "--student", student, "--force")
    page = (scratch / "grading" / "feedback" / student / assignment / f"{assignment}.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))
