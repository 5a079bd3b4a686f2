"""No catalogued wrong answer is left with the generic feedback: in every graded cell where a
wrong answer loses points (visible or hidden test), the message must name a likely mistake.

The fallback "What went wrong: the values are wrong ..." without a "Likely mistake:" line tells a
learner only that the numbers differ; every mistake the catalogue knows about deserves its own
hint, in every test cell it fails, including a later exercise that fails because of it."""

import pytest
import support
from conftest import by_assignment

GENERIC = "the values are wrong"
NAMED = "Likely mistake:"


def generic_cells(result) -> list[str]:
    """The graded cells of one result that lost points with the generic message only."""
    return [f"{cell.grade_id}: {cell.message.strip()[:400]}" for cell in result.cells
            if cell.points < cell.max_points and GENERIC in cell.message and NAMED not in cell.message]


def test_generic_cells_finds_the_fallback_message():
    """The detector itself: a cell with only the fallback is reported, a named one is not."""
    from autograder.grading.results import CellResult, NotebookResult

    fallback = ("f is not right on the input: x.\n  What went wrong: the values are wrong: at index (0,) "
                "it gives 1, but the right value is 2")
    result = NotebookResult("nb.ipynb", "a", "s", cells=[
        CellResult("t1", "f", 0.0, 1.0, False, fallback),
        CellResult("t2", "f", 0.0, 1.0, False, fallback + "\n  Likely mistake: you did X"),
        CellResult("t3", "f", 1.0, 1.0, True, ""),
    ])
    assert generic_cells(result) == [f"t1: {fallback}"]


@pytest.mark.parametrize("assignment", by_assignment())
def test_every_catalogued_mistake_gets_a_named_hint(fast_graded, assignment):
    results = fast_graded(assignment)
    assert results, f"{assignment} has no catalogued wrong answers"
    generic = []
    for wrong in support.catalogue(assignment).wrong_answers:
        result = results[wrong.name]
        assert result.verdict == "graded", result.message
        generic += [f"{wrong.name} -> {line}" for line in generic_cells(result)]
    assert not generic, (f"{assignment}: catalogued mistakes left with the generic message:\n"
                         + "\n".join(generic))

