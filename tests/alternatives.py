"""Correct answers written in a different style from the reference (einsum, loops, manual softmax,
another formula for the same numbers). tests/catalogue/<id>.py lists them in CORRECT_ANSWERS;
tests/test_alternatives.py grades each one and demands full marks for its exercise."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CorrectAnswer:
    """A right answer: `code` replaces the whole solution cell `cell`; grading must give every
    graded cell of the notebook full marks."""

    cell: str
    name: str
    code: str
    slow: bool = False  # seconds, not milliseconds, on the hidden test's inputs: `make test-full` only
