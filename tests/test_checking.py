"""The check machinery on its own: verdicts, named mistakes, and robustness."""

import sys
import warnings

import pytest
import torch

from autograder.checks.core import Case, ExerciseFailed, Mistake, check, expect_shape, expect_values, problem_with

CASES = [Case("a 2 x 3 matrix and a 4 x 3 matrix", (torch.arange(6.0).view(2, 3), torch.ones(4, 3)))]
REFERENCE = lambda a, b: a @ b.T  # noqa: E731
MISTAKES = [Mistake("forgot the transpose", lambda a, b: a @ b),
            Mistake("swapped the operands", lambda a, b: b @ a.T)]


def test_right_answer_passes_and_says_so(capsys):
    check("pairs", lambda a, b: torch.mm(a, b.t()), REFERENCE, CASES, MISTAKES)
    assert "✔ pairs" in capsys.readouterr().out


def test_wrong_numbers_name_the_mistake():
    with pytest.raises(ExerciseFailed, match="swapped the operands"):
        check("pairs", lambda a, b: b @ a.T, REFERENCE, CASES, MISTAKES)


def test_a_reproduced_error_names_the_mistake():
    with pytest.raises(ExerciseFailed, match="(?s)raised RuntimeError.*forgot the transpose"):
        check("pairs", lambda a, b: a.matmul(b), REFERENCE, CASES, MISTAKES)


def test_unknown_mistake_still_says_what_is_wrong():
    with pytest.raises(ExerciseFailed, match="values are wrong") as failure:
        check("pairs", lambda a, b: a @ b.T + 1, REFERENCE, CASES, MISTAKES)
    assert "Likely mistake" not in str(failure.value)


def test_generic_hints_catch_transposes_and_constant_factors():
    square = [Case("square", (torch.randn(3, 3), torch.randn(3, 3)))]
    with pytest.raises(ExerciseFailed, match="transpose of the right one"):
        check("pairs", lambda a, b: (a @ b.T).T, REFERENCE, square)
    with pytest.raises(ExerciseFailed, match="times 0.5"):
        check("pairs", lambda a, b: 0.5 * a @ b.T, REFERENCE, square)


def test_missing_return_and_nan_are_explained():
    with pytest.raises(ExerciseFailed, match="returned None"):
        check("pairs", lambda a, b: None, REFERENCE, CASES)
    with pytest.raises(ExerciseFailed, match="NaN"):
        check("pairs", lambda a, b: (a @ b.T) * float("nan"), REFERENCE, CASES)


def test_not_implemented_propagates_unchanged():
    def todo(a, b):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check("pairs", todo, REFERENCE, CASES, MISTAKES)


def test_a_warning_in_learner_code_costs_nothing_and_reaches_no_stderr(capsys):
    def noisy(a, b):
        warnings.warn("harmless", UserWarning)
        print("to stderr", file=sys.stderr)
        return a @ b.T
    check("pairs", noisy, REFERENCE, CASES)
    assert capsys.readouterr().err == ""


def test_learner_cannot_corrupt_the_inputs_of_the_reference():
    def mutating(a, b):
        out = a @ b.T
        a.zero_()
        return out
    check("pairs", mutating, REFERENCE, CASES)
    assert CASES[0].args[0].sum() == 15


def test_patching_torch_allclose_does_not_change_a_verdict(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(ExerciseFailed):
        check("pairs", lambda a, b: a @ b.T + 1, REFERENCE, CASES)


def test_problem_with_compares_shapes_dtypes_tuples_and_numbers():
    assert "shape" in problem_with(torch.ones(2, 3), torch.ones(3, 2))
    assert "dtype" in problem_with(torch.ones(2, dtype=torch.float64), torch.ones(2))
    assert "tuple of 2" in problem_with(torch.ones(2), (torch.ones(2), torch.ones(2)))
    assert "item 1" in problem_with((torch.ones(2), torch.zeros(2)), (torch.ones(2), torch.ones(2)))
    assert problem_with(torch.tensor(2.0), 2.0) is None
    assert "1.5" in problem_with(1.5, 2.0)


def test_visible_helpers():
    expect_values("Q", torch.tensor([[1.0, 2.0]]), [[1, 2]])
    with pytest.raises(ExerciseFailed, match="Q: the values are wrong"):
        expect_values("Q", torch.tensor([[1.0, 3.0]]), [[1, 2]])
    expect_shape("x", torch.ones(2, 3), (2, 3))
    with pytest.raises(ExerciseFailed, match=r"has shape \(2, 3\), expected \(3, 2\)"):
        expect_shape("x", torch.ones(2, 3), (3, 2))
