"""The course in a real browser: JupyterLab in Chromium (harness: tests/jupyterlab_harness.py).

For a learner notebook the test presses Run All and, each time the run stops at an error,
carries on with "Run Selected Cell and All Below" from the next cell, until every code cell has
run: every error must be the exercises' `NotImplementedError`. A solution notebook must run
with no error and show its plots. nbgrader's Validate button is pressed on one learner and one
solution notebook. A screenshot of each notebook goes to build/screenshots/.

`make test` opens the first learner and the first solution notebook; `make test-full` (--full)
and `make browser` open every one. Without a browser these tests are skipped locally and fail
in CI (CI=true).
"""

import json
import time
from pathlib import Path

import pytest
import support
from conftest import full
from jupyterlab_harness import (  # noqa: F401 (the *_fixture functions are the fixtures the tests ask for)
    COURSE_SETTINGS,
    LEARNER,
    ROOT,
    SOLUTIONS,
    ErrorOutput,
    browser_fixture,
    chromium_fixture,
    error_name,
    knock_on_errors,
    lab_fixture,
    marked_modified,
    news_toasts,
    open_notebook,
    page_fixture,
    report,
    run_everything,
    screenshot,
    validate,
)

pytestmark = pytest.mark.xdist_group("browser")

# `make test` shows the browser path works on one notebook of each kind; --full opens them all.
OPENED_LEARNER = LEARNER if full() else LEARNER[:1]
OPENED_SOLUTIONS = SOLUTIONS if full() else SOLUTIONS[:1]


def test_course_settings_are_known_jupyterlab_settings():
    """Each setting in jupyterlab-settings/overrides.json exists in the installed JupyterLab
    with an allowed value (a typo would silently do nothing)."""
    import jupyterlab.commands

    schemas = Path(jupyterlab.commands.get_app_dir()) / "schemas"
    for plugin, values in json.loads(COURSE_SETTINGS.read_text(encoding="utf-8")).items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text(encoding="utf-8"))
        for key, value in values.items():
            prop = schema["properties"].get(key)
            assert prop is not None, f"{plugin} has no setting {key!r}"
            allowed = [c["const"] for c in prop.get("oneOf", []) if "const" in c] or prop.get("enum")
            if allowed:
                assert value in allowed, f"{plugin} {key}: {value!r} is not one of {allowed}"
            else:
                expected = {"boolean": "bool", "string": "str"}.get(prop["type"], type(value).__name__)
                assert type(value).__name__ == expected


def test_knock_on_name_errors_are_told_apart_from_real_ones():
    cells = [{"source": "Q, K = project(x)"}, {"source": "S = scores(Q, K)"},
             {"source": "def f():\n    B = 1\nA = weights(S)"}, {"source": "print(B)"}, {"source": "print(A)"}]
    errors = [ErrorOutput(0, "NotImplementedError", "NotImplementedError: "),
              ErrorOutput(1, "NameError", "NameError: name 'Q' is not defined"),
              ErrorOutput(2, "NameError", "NameError: name 'S' is not defined"),
              ErrorOutput(3, "NameError", "NameError: name 'B' is not defined"),  # bound only inside f
              ErrorOutput(4, "NameError", "NameError: name 'A' is not defined")]
    assert [e.cell for e in knock_on_errors(errors, cells)] == [1, 2, 4]
    assert error_name("---\nNotImplementedError        Traceback (most recent call last)\n...") == "NotImplementedError"
    assert error_name("  Cell In[3], line 1\n    x =\n       ^\nSyntaxError: invalid syntax") == "SyntaxError"
    assert error_name("/x.py:3: UserWarning: careful\n  warnings.warn(") == "stderr"


def test_there_are_notebooks_to_open():
    assert LEARNER and SOLUTIONS
    assert [p.parent.name for p in LEARNER] == [p.parent.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", OPENED_LEARNER, ids=lambda p: p.parent.name)
def test_learner_notebook_stops_only_at_not_implemented(page, lab, path, record_property):
    """Every error is an exercise's NotImplementedError, or a knock-on NameError for a name that
    a cell stopped by one would have defined (see knock_on_errors)."""
    relative = path.relative_to(ROOT).as_posix()
    start = time.monotonic()
    open_notebook(page, lab, relative)
    time.sleep(1)  # JupyterLab marks a notebook modified as it loads, if it changes it at all
    assert not marked_modified(page), f"{relative} shows unsaved changes before the learner typed anything"
    run = run_everything(page)
    seconds = time.monotonic() - start
    cells = json.loads((lab.root / relative).read_text(encoding="utf-8"))["cells"]
    shot = screenshot(page, f"learner-{path.parent.name}", scroll_to=run.errors[0].cell if run.errors else None)
    raised = [e for e in run.errors if e.name == "NotImplementedError"]
    follow = knock_on_errors(run.errors, cells)
    others = [e for e in run.errors if e not in raised and e not in follow]
    report(record_property, "learner", path, seconds, shot,
           f"{run.executed}/{run.code_cells} code cells run, {len(raised)} NotImplementedError, "
           f"{len(follow)} knock-on NameError, {len(others)} other errors; "
           f"Run All + {run.restarts}x Run Selected Cell and All Below")
    assert run.executed == run.code_cells
    assert raised, f"{relative}: no exercise raised NotImplementedError"
    assert run.errors[0].name == "NotImplementedError", (
        f"{relative}: the first error is not the exercise's:\n{run.errors[0]}")
    assert not others, (f"{relative}: errors other than the exercises' NotImplementedError:\n"
                        + "\n\n".join(map(str, others)))
    assert_self_check(page, path, run, solved=False)
    assert not news_toasts(run), f"JupyterLab showed a news/update notification: {run.toasts}"


@pytest.mark.parametrize("path", OPENED_SOLUTIONS, ids=lambda p: p.parent.name)
def test_solution_notebook_runs_clean_with_its_plots(page, lab, path, record_property):
    relative = path.relative_to(ROOT).as_posix()
    start = time.monotonic()
    open_notebook(page, lab, relative)
    run = run_everything(page)
    seconds = time.monotonic() - start
    shows = support.plt_show_calls(path)
    shot = screenshot(page, f"solution-{path.parent.name}",
                      scroll_to=run.errors[0].cell if run.errors else run.first_image)
    report(record_property, "solution", path, seconds, shot,
           f"{run.executed}/{run.code_cells} code cells run, {len(run.errors)} errors, "
           f"{run.images} images for {shows} plt.show() calls")
    assert not run.errors, f"{relative}:\n" + "\n\n".join(map(str, run.errors))
    assert run.executed == run.code_cells
    assert run.images >= shows, f"{relative}: {run.images} images rendered, {shows} plt.show() calls"
    if "plt." in path.read_text(encoding="utf-8"):
        assert run.images > 0
    assert_self_check(page, path, run, solved=True)
    assert not news_toasts(run), f"JupyterLab showed a news/update notification: {run.toasts}"



def assert_self_check(page, path, run, solved: bool):
    """The notebook's last cell, check.everything(), shows the grader's table: full marks on the
    solution, none on the untouched notebook; a screenshot of it goes to build/screenshots/."""
    kind = "solution" if solved else "learner"
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").last.scroll_into_view_if_needed()
    screenshot(page, f"selfcheck-{kind}-{path.parent.name}")
    got, most = support.self_check_score(run.last_output, path.name)
    assert (got == most) if solved else (got == 0 and "not done yet" in run.last_output), run.last_output


def test_validate_button_on_a_learner_notebook_reports_failing_tests(page, lab, record_property):
    title, body, classes = validate(page, lab, LEARNER[0], record_property, "learner")
    assert title == "Validation Results"
    assert "validation-failed" in classes, body
    assert "The following cell failed" in body and "NotImplementedError" in body


def test_validate_button_on_a_solution_notebook_succeeds(page, lab, record_property):
    title, body, classes = validate(page, lab, SOLUTIONS[0], record_property, "solution")
    assert title == "Validation Results"
    assert "validation-success" in classes, body
    assert "Success! Your notebook passes all the tests." in body
