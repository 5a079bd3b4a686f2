"""ExerciseFailed: what every check raises for a wrong answer, and how a notebook shows it.

Its own module, so that `core` and `forbidden` (which raises `Forbidden`, a kind of it) both
import it without importing each other.
"""

from __future__ import annotations

import linecache
import os
import traceback

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the autograder package


def _internal(filename: str) -> bool:
    """Is this frame's file the checker's or the notebook machinery's, not the learner's?"""
    path = os.path.abspath(filename)
    return path.startswith(_PACKAGE + os.sep) or any(
        f"{os.sep}{name}{os.sep}" in path for name in ("IPython", "ipykernel", "site-packages"))


def _where(filename: str, lineno: int) -> str:
    """How IPython names a notebook cell ("Cell In[4], line 2"), or the file and line."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        label = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # no IPython, or a version without format_code_name
        label = None
    name = " ".join(label) if label else filename
    return f"{name}, line {lineno}"


class ExerciseFailed(AssertionError):
    """A check found a wrong answer. The message says what is wrong and, if it can, why.

    In a notebook (IPython, ipykernel, and so nbgrader's executed notebooks and feedback), the
    failure renders itself (`_render_traceback_`): the learner's own line that ran the check, then
    the message, and nothing of the checker's code."""

    def _render_traceback_(self) -> list[str]:
        lines = []
        for frame, lineno in traceback.walk_tb(self.__traceback__):
            filename = frame.f_code.co_filename
            if _internal(filename):
                continue
            source = linecache.getline(filename, lineno, frame.f_globals).strip()
            lines.append(_where(filename, lineno))
            if source:
                lines.append(f"----> {lineno} {source}")
            lines.append("")
        return [*lines, f"{type(self).__name__}: {self}"]
