"""Real `nbgrader autograde` on every assignment: solutions get full marks, untouched learner
notebooks get zero, catalogued wrong answers lose marks and are named in the feedback, and the
worked examples' numbers come out of the solutions.

nbgrader grades one wrong answer per exercise, several exercises' in one notebook when each still
loses its own exercise's points with its hint (every wrong answer, one notebook each, with --full:
`make test-full`); the fast grader, shown to give nbgrader's points on that same batch, grades
the whole catalogue. A wrong answer must lose points on its own exercise's tests."""

import math

import pytest
import support
import torch
from conftest import by_assignment, nbgrader_wrong_answers

from autograder import course

CATALOGUES = {a: support.catalogue(a) for a in course.assignments()}
WRONG = [(a, w.name) for a, c in CATALOGUES.items() for w in c.wrong_answers]
NBGRADER_WRONG = [(a, w.name) for a, c in CATALOGUES.items() for w in nbgrader_wrong_answers(c)]


@pytest.mark.parametrize("assignment", by_assignment())
def test_solution_gets_full_marks_and_runs_cleanly(graded, assignment, record_property):
    result = graded(assignment).results["solution"]
    record_property("notebook_seconds", (assignment, result.execution_seconds()))
    assert result.max_total > 0
    lost = {k: v for k, v in result.scores.items() if v != result.max_scores[k]}
    assert not lost, f"the solution lost marks on {lost}:\n{result.text()}"
    errors = [o for c in result.notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"the solution notebook raised: {errors[0].ename}: {errors[0].evalue}"
    stderr = [o.text for c in result.notebook.cells for o in c.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"the solution notebook wrote to stderr: {stderr[0][:500]}"


@pytest.mark.parametrize("assignment", by_assignment())
def test_untouched_learner_notebook_gets_zero(graded, assignment):
    result = graded(assignment).results["untouched"]
    assert result.max_total > 0
    assert result.total == 0, f"an untouched notebook earned {result.scores}"
    assert "NotImplementedError" in result.text()


@pytest.mark.parametrize("assignment,name", by_assignment(NBGRADER_WRONG))
def test_wrong_answer_loses_marks_and_is_named(graded, assignment, name):
    batch = graded(assignment)
    wrong = next(w for w in batch.catalogue.wrong_answers if w.name == name)
    result = batch.results[batch.wrong_ids[name]]
    own = support.exercise_tests(assignment)[wrong.cell]
    lost = [g for g in own if result.scores[g] < result.max_scores[g]]
    assert lost, f"'{name}' kept full marks on its exercise's tests {own}"
    assert wrong.hint in result.text(), (
        f"the feedback for '{name}' does not name the mistake ('{wrong.hint}'):\n{result.text()}")


@pytest.mark.parametrize("assignment,name", by_assignment(WRONG))
def test_fast_grader_takes_marks_off_every_wrong_answer_and_names_it(fast_graded, assignment, name):
    wrong = next(w for w in CATALOGUES[assignment].wrong_answers if w.name == name)
    result = fast_graded(assignment)[name]
    messages = "\n".join(c.message for c in result.cells)
    assert result.verdict == "graded", result.message
    own = support.exercise_tests(assignment)[wrong.cell]
    assert any(c.points < c.max_points for c in result.cells if c.grade_id in own), (
        f"'{name}' kept full marks on its exercise's tests {own}")
    assert wrong.hint in messages, (
        f"the fast grader's messages for '{name}' do not name the mistake ('{wrong.hint}'):\n{messages}")


CANNOT_LEARN = [(a, name) for a, c in CATALOGUES.items() for name in c.cannot_learn]


@pytest.mark.parametrize("assignment,name", by_assignment(CANNOT_LEARN))
def test_the_short_graded_training_still_fails_a_model_that_cannot_learn(fast_graded, assignment, name):
    wrong = next(w for w in CATALOGUES[assignment].wrong_answers if w.name == name)
    training = [c for c in fast_graded(assignment)[name].cells if c.grade_id == "test_training"]
    assert training, "the notebook has no test_training cell"
    assert training[0].points == 0, f"'{name}' passed the graded training: {training[0].message}"
    # the cell names the cause: the model's own failing test, else that it did not learn
    assert wrong.hint in training[0].message or "did not learn" in training[0].message, training[0].message


@pytest.mark.parametrize("assignment", by_assignment())
def test_feedback_page_names_the_mistake(graded, assignment):
    batch = graded(assignment)
    wrong = batch.catalogue.wrong_answers[0]
    page = support.feedback_text(batch.scratch, assignment, batch.wrong_ids[wrong.name])
    assert wrong.hint in page


@pytest.mark.parametrize("assignment", by_assignment())
def test_worked_examples_come_out_of_the_solution(graded, assignment):
    batch = graded(assignment)
    expected = batch.catalogue.worked_examples
    if not expected:
        pytest.skip(f"{assignment} reproduces no numbered worked example")
    got = batch.worked_example_values()
    for expression, value in expected.items():
        if isinstance(value, (int, float)):
            assert math.isclose(got[expression], value, abs_tol=1e-4), expression
        else:
            torch.testing.assert_close(torch.tensor(got[expression], dtype=torch.float32),
                                       torch.tensor(value, dtype=torch.float32), atol=1e-4, rtol=0,
                                       msg=lambda m, expression=expression: f"{expression}: {m}")


@pytest.mark.parametrize("assignment", by_assignment())
def test_fast_grader_agrees_with_nbgrader_on_every_honest_submission(graded, assignment, record_property):
    """Differential test on nbgrader's batch: solution, untouched release and the wrong answers
    nbgrader graded (one per exercise; the whole catalogue with --full)."""
    import time

    batch = graded(assignment)
    submitted = batch.scratch / "grading" / "submitted"
    subs = support.find_submissions(submitted)
    assert len(subs) == len(batch.results)
    started = time.perf_counter()
    results = support.grade(subs, jobs=1)
    record_property("grading_seconds", (assignment, len(subs), round(batch.nbgrader_seconds, 1),
                                        round(time.perf_counter() - started, 1)))
    for ours in results:
        theirs = batch.results[ours.student]
        assert ours.verdict == "graded", ours.message
        assert {c.grade_id: c.points for c in ours.cells} == theirs.scores, ours.student
        assert ours.max_score == theirs.max_total
