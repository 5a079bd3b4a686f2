"""Wrong answers written as small edits of the reference answer, for the catalogues.

A wrong answer that differs from the reference by a line or two reads best as that difference:

    mutant = mutants("02_self_attention")
    WrongAnswer("scaled_dot_product_attention", "no scaling",
                mutant("scaled_dot_product_attention", (" / math.sqrt(q.shape[-1])", "")), "did not scale")

The reference is the solution cell as `support.solution_code` reads it, so the wrong answer
follows the solution when the solution changes, and an edit whose text is no longer there fails
loudly when the catalogue is loaded.
"""

from __future__ import annotations

from collections.abc import Callable

import support


def mutants(assignment: str) -> Callable[..., str]:
    """mutant(grade_id, (old, new), ...) -> the reference answer of that cell with every
    occurrence of each `old` replaced by its `new`, edits applied in order."""
    reference = support.solution_code(assignment)

    def mutant(grade_id: str, *edits: tuple[str, str]) -> str:
        code = reference[grade_id]
        for old, new in edits:
            if old not in code:
                raise ValueError(f"{assignment}, cell {grade_id!r}: the reference no longer contains {old!r}")
            code = code.replace(old, new)
        return code

    return mutant
