"""Failures caused by an earlier exercise.

A later exercise often calls an earlier one (notebook 04's module calls the learner's
`split_heads`; notebook 09's attention calls the learner's `rope`). When the earlier answer is
wrong, the later one fails too, and the hint must say where the cause is. `earlier_mistake` finds
the learner's earlier function through the globals the later code sees, runs that exercise's own
hidden check on it quietly, and when it fails returns one Mistake: the reference of the later
exercise computed with the learner's earlier function, whose hint quotes the earlier diagnosis.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

from .core import ExerciseFailed, Mistake


def diagnosis(failure: ExerciseFailed) -> str:
    """The most telling line of a failure message: its "Likely mistake", else what went wrong."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Likely mistake:"):
            return line.removeprefix("Likely mistake:").strip()
    return lines[-1].removeprefix("What went wrong:").strip() if lines else "it fails"


def earlier_function(owner: Any, name: str) -> Callable | None:
    """The notebook function `name` as the code of `owner` (a function, or a class whose
    `forward` is read) sees it, or None."""
    code = getattr(owner, "forward", owner)
    fn = getattr(code, "__globals__", {}).get(name)
    return fn if callable(fn) else None


def earlier_mistake(owner: Any, name: str, check_fn: Callable, exercise: str,
                    compute: Callable[[Callable], Callable]) -> list[Mistake]:
    """[Mistake] if the learner's `name` (seen from `owner`'s code) fails `check_fn(fn, hidden=True)`,
    the check of `exercise`; its `compute` is `compute(fn)`, the later exercise's reference with the
    learner's `name` put in. [] when that function is missing, unwritten or right."""
    fn = earlier_function(owner, name)
    if fn is None:
        return []
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check_fn(fn, hidden=True)
    except NotImplementedError:
        said = f"{name} is not written yet"
    except ExerciseFailed as failure:
        said = diagnosis(failure)
    else:
        return []
    hint = (f"the cause is in {exercise}: this code calls your {name}, which fails its own test "
            f"({said}). Fix {name} first, then run this test again")
    return [Mistake(hint, compute(fn))]


def gives_random_output(fn: Callable, *args: Any) -> bool:
    """Does fn(*args) give different results when torch's global generator is in two different
    states? (Dropout that .eval() cannot switch off, F.dropout's `training` defaulting to True.)
    Both runs are `isolated`, so the notebook's random state is untouched."""
    from .core import isolated, problem_with

    runs = []
    for seed in (1, 2):
        with isolated(seed):
            try:
                value = fn(*args)
            except Exception:
                return False
        runs.append(value.detach() if hasattr(value, "detach") else value)
    try:
        return problem_with(runs[0], runs[1]) is not None
    except TypeError:
        return False


RANDOM_HINT = ("it gives a different result each time on the same input, in eval mode: something random "
               "runs, dropout most likely (as in the Annotated Transformer). F.dropout(x, p) is always on "
               "unless you pass training=self.training, and .eval() cannot switch it off. This exercise has "
               "no dropout: leave it out, or make it an nn.Dropout attribute of the module, which .eval() "
               "switches off")
