"""The instructor's side: grade a class fast, with nbgrader's verdicts.

The pipeline, one small module a step (as nbgrader writes autograde as preprocessors):
`submissions` (find them) -> `plan` (nbgrader's OverwriteCells: tests come from solutions/) ->
`execute` (nbgrader's Execute + LimitOutput + IgnorePattern, in a forked warm process, with the
tamper `guard`) -> `score` (nbgrader's rules for points) -> `pool` (many at a time, time limits,
results as checked data) -> `results` -> `report` (tables, CSV, progress bar). Beside them,
`similarity` flags answer cells that are near-copies of the reference or of a classmate's
(a CSV column and a report; it never changes a score).
"""

from .plan import source
from .pool import grade
from .results import CellResult, NotebookResult
from .submissions import Submission, find_submissions, guess_assignment

__all__ = ["CellResult", "NotebookResult", "Submission", "find_submissions", "grade", "guess_assignment", "source"]
