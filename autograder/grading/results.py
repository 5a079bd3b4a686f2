"""What grading produces: points per test cell, and a verdict per notebook."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# A notebook's verdict: "graded", or why it could not be graded normally.
# "blocked": graded, but the sandbox refused something the notebook tried (the message says what).
VERDICTS = ("graded", "blocked", "unreadable", "unknown assignment", "timed out", "crashed", "exited")


@dataclass
class CellResult:
    grade_id: str
    exercise: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    path: str
    assignment: str | None
    student: str | None
    cells: list[CellResult] = field(default_factory=list)
    verdict: str = "graded"  # one of VERDICTS
    message: str = ""
    seconds: float = 0.0
    tampered: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # what the sandbox refused, in words
    similar_to: list[dict] = field(default_factory=list)  # flagged near-copies (grading.similarity)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells)

    def zero(self, verdict: str, message: str) -> None:
        """Take every point away and say why: the notebook could not be graded normally."""
        self.verdict, self.message = verdict, message
        for cell in self.cells:
            cell.points, cell.passed = 0.0, False

    def to_dict(self) -> dict:
        return {**asdict(self), "score": self.score, "max_score": self.max_score}
