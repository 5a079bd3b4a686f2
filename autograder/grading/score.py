"""How a test cell's outcome becomes points, by nbgrader's rules: an error or any stderr output
that is not a Python warning (the course's IgnorePattern) scores 0; a cell whose last expression
has a value scores by nbgrader's own partial-credit rule; anything else scores full points."""

from __future__ import annotations

import re

from ..checks.core import ExerciseFailed
from ..nbgrader_setup import WARNING_PATTERN
from .sandbox import Limits


class CellTimeout(BaseException):
    """Raised into a cell that ran past its time limit (a BaseException: learner code that
    catches Exception cannot swallow it)."""


def describe_error(error: BaseException) -> str:
    """The error a cell raised, as the learner should read it."""
    if isinstance(error, CellTimeout):
        return "a cell ran longer than its time limit and was stopped (an endless loop?)"
    if isinstance(error, NotImplementedError):
        return "not done yet: the exercise still raises NotImplementedError"
    if isinstance(error, ExerciseFailed):
        return str(error).strip()
    if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        return (f"{type(error).__name__}: the notebook asked for more memory than a submission may use "
                f"({Limits().memory_mb} MB): {str(error).strip()[:300]}")
    return f"{type(error).__name__}: {str(error).strip()}"[:600]


def harmful_stderr(text: str) -> bool:
    """nbgrader zeroes a test cell that writes to stderr, unless the IgnorePattern matches it."""
    return bool(text) and not re.search(WARNING_PATTERN, text)


def partial_points(value_text: str, max_points: float) -> float:
    """nbgrader's partial credit for a test cell whose result displays as `value_text`
    (nbgrader.utils.get_partial_grade, called as nbgrader calls it: negative or non-numeric
    values earn full points, more than `max_points` is refused with ValueError). nbgrader is
    imported only here: it costs more than a second, and few cells return a value."""
    from nbgrader.utils import get_partial_grade

    return float(get_partial_grade({"data": {"text/plain": value_text}}, max_points))


def test_points(max_points: float, error: BaseException | None, stderr: str,
                value_text: str | None) -> tuple[float, str]:
    """(points, message) for a test cell that raised `error` (or None), wrote `stderr`, and
    whose last expression displayed as `value_text` (None when it displayed nothing)."""
    if error is not None:
        return 0.0, describe_error(error)
    if harmful_stderr(stderr):
        return 0.0, "the test wrote to stderr: " + stderr[:300]
    if value_text is not None:
        try:
            return partial_points(value_text, max_points), ""
        except ValueError:
            return 0.0, f"the test cell's value {value_text[:40]} is more than its {max_points:g} points"
    return max_points, ""
