"""Fixtures shared by the suite. Grading is expensive (a kernel and `import torch` per
submission), so each assignment is graded once, in one stock `nbgrader autograde` batch, and
every test about that assignment reads the batch's results. Under pytest-xdist the tests of
one assignment share an `xdist_group`, so the batch runs on one worker only.

Two sizes (`make test` and `make test-full`):

- by default the nbgrader batch holds the solution, the untouched learner notebook and the
  first catalogued wrong answer of each exercise, several exercises' per notebook; the fast
  grader, proven equal to nbgrader on that batch, then grades the whole wrong-answer catalogue;
- with `--full` (or COURSE_TESTS=full) every catalogued wrong answer also goes through stock
  nbgrader, and every notebook is opened in JupyterLab (tests/test_browser.py).
"""

import json
import os
import time

import nbformat
import pytest
import support

from autograder import course

# Run from `make test` or directly: either way Jupyter, IPython and matplotlib write their
# files inside the repo, never into the home directory. The folders are made up front, so that
# no tool finds one missing (IPython warns that ".jupyter is not a writable location").
for _var, _sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                   ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")]:
    os.environ.setdefault(_var, str(course.ROOT / ".jupyter" / _sub))
    os.makedirs(os.environ[_var], exist_ok=True)
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
# Two xdist workers on two cores, each running a kernel or a grader: one thread per process.
# PyTorch's default (a thread per core) makes every kernel spin for the other's core, which made
# the suite about a third slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

FULL = os.environ.get("COURSE_TESTS", "").strip().lower() == "full"  # set by --full too (pytest_configure)


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="the exhaustive suite (`make test-full`): every catalogued wrong answer through "
                          "stock nbgrader, every notebook in JupyterLab")


def pytest_configure(config):
    global FULL
    FULL = FULL or config.getoption("full")


def pytest_collection_modifyitems(config, items):
    """`make test` deselects the tests marked full_only (what only `make test-full` runs)."""
    if full():
        return
    dropped = [item for item in items if item.get_closest_marker("full_only")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def full() -> bool:
    """True under `make test-full` (`--full` or COURSE_TESTS=full). Read it at collection time
    (test modules are imported after pytest_configure), never in a decorator of conftest itself."""
    return FULL

PROBE_MARK = "WORKED_EXAMPLES="
PROBE = """\
import json as _json
import torch as _torch
_plain = lambda v: v.tolist() if isinstance(v, _torch.Tensor) else v
print({mark!r} + _json.dumps({{k: _plain(eval(k)) for k in {keys!r}}}))
"""


def by_assignment(values=None):
    """Parametrize over assignments (or (assignment, item) pairs), grouped for xdist."""
    if values is None:
        values = [(a,) for a in course.assignments()]
    return [pytest.param(*v, marks=pytest.mark.xdist_group(v[0]), id="-".join(str(x) for x in v))
            for v in values]


def nbgrader_wrong_answers(catalogue: support.Catalogue) -> list[support.WrongAnswer]:
    """The wrong answers stock nbgrader grades: all of them with --full, else the first
    catalogued one of each exercise (solution cell)."""
    if full():
        return list(catalogue.wrong_answers)
    first = {}
    for wrong in catalogue.wrong_answers:
        first.setdefault(wrong.cell, wrong)
    return list(first.values())


def mistake_named(wrong: support.WrongAnswer, lost: set[str], messages: str, tests: dict[str, list[str]]) -> bool:
    """A graded notebook shows `wrong`: its exercise's own tests lost points and its hint is shown."""
    return bool(lost & set(tests[wrong.cell])) and wrong.hint in messages


def shared_notebooks(assignment: str, wrong_answers: list[support.WrongAnswer],
                     folder) -> list[list[support.WrongAnswer]]:
    """The wrong answers (at most one per exercise) in as few notebooks as possible: each notebook
    holds several exercises' wrong answers, and a wrong answer joins one only if, graded there by
    the fast grader, its own exercise still loses points with its hint shown. A later exercise that
    calls an earlier, wrong function may fail with the earlier hint: it moves to the next notebook.
    (nbgrader then grades these notebooks; every assertion is made on nbgrader's results.)"""
    learner = support.read(course.learner_notebook(assignment))
    answers = support.solution_code(assignment)
    tests = support.exercise_tests(assignment)
    remaining, notebooks = list(wrong_answers), []
    while remaining:
        target = folder / f"round{len(notebooks)}" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(support.submission(learner, {**answers, **{w.cell: w.code for w in remaining}}),
                       str(target))
        [result] = support.grade(support.find_submissions(target.parent.parent), jobs=1)
        lost = {c.grade_id for c in result.cells if c.points < c.max_points}
        messages = "\n".join(c.message for c in result.cells)
        kept = [w for w in remaining if mistake_named(w, lost, messages, tests)] or remaining[:1]
        notebooks.append(kept)
        remaining = [w for w in remaining if w not in kept]
    return notebooks


class Batch:
    """The submissions of one assignment graded by stock nbgrader: 'solution', 'untouched', and
    the wrong answers of `nbgrader_wrong_answers` (`wrong_ids` maps their names to students):
    one notebook each with --full, else several exercises' wrong answers per notebook
    (`shared_notebooks`): a kernel per notebook is what nbgrader's time goes to."""

    def __init__(self, scratch, assignment, workspace):
        self.scratch = scratch
        self.assignment = assignment
        self.catalogue = support.catalogue(assignment)
        self.wrong_answers = nbgrader_wrong_answers(self.catalogue)
        # registers the assignment in the scratch gradebook; tests/test_generated.py compares the
        # learner notebook nbgrader writes here with the committed one
        self.generated = support.read(course.generate(scratch, assignment))
        learner = support.read(course.learner_notebook(assignment))  # what learners really get
        answers = support.solution_code(assignment)
        probe = PROBE.format(mark=PROBE_MARK, keys=list(self.catalogue.worked_examples))
        submissions = {
            "solution": support.submission(learner, answers, extra_cells=(probe,)),
            "untouched": learner,
        }
        if full():
            notebooks = [[wrong] for wrong in self.wrong_answers]
        else:
            notebooks = shared_notebooks(assignment, self.wrong_answers, workspace)
        self.wrong_ids = {}
        for i, wrongs in enumerate(notebooks):
            student = f"wrong{i:02d}"
            self.wrong_ids.update({wrong.name: student for wrong in wrongs})
            submissions[student] = support.submission(learner, {**answers, **{w.cell: w.code for w in wrongs}})
        started = time.perf_counter()
        self.results = support.autograde(scratch, assignment, submissions)
        self.nbgrader_seconds = time.perf_counter() - started

    def worked_example_values(self):
        text = self.results["solution"].notebook.cells[-1]
        line = next(ln for ln in support.output_text(text).splitlines() if ln.startswith(PROBE_MARK))
        return json.loads(line[len(PROBE_MARK):])


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """graded(assignment) -> Batch, computed once per assignment per worker."""
    batches = {}

    def get(assignment):
        if assignment not in batches:
            scratch = course.make_scratch_course(tmp_path_factory.mktemp(f"grade-{assignment}"))
            batches[assignment] = Batch(scratch, assignment, tmp_path_factory.mktemp(f"shared-{assignment}"))
        return batches[assignment]

    return get


@pytest.fixture(scope="session")
def fast_graded(tmp_path_factory):
    """fast_graded(assignment) -> {wrong answer name: NotebookResult}: the whole wrong-answer
    catalogue of one assignment, graded by the course's fast grader (2 jobs)."""
    results = {}

    def get(assignment):
        if assignment not in results:
            folder = tmp_path_factory.mktemp(f"fast-{assignment}")
            learner = support.read(course.learner_notebook(assignment))
            answers = support.solution_code(assignment)
            names = {}
            for i, wrong in enumerate(support.catalogue(assignment).wrong_answers):
                student = f"wrong{i:03d}"
                names[student] = wrong.name
                target = folder / student / assignment / f"{assignment}.ipynb"
                target.parent.mkdir(parents=True)
                nbformat.write(support.submission(learner, {**answers, wrong.cell: wrong.code}), str(target))
            subs = support.find_submissions(folder)
            assert sorted(s.student for s in subs) == sorted(names)
            results[assignment] = {names[r.student]: r for r in support.grade(subs, jobs=2)}
        return results[assignment]

    return get


def pytest_terminal_summary(terminalreporter):
    """Print each notebook's execution time under nbgrader (recorded by the grading tests)."""
    found = {"notebook_seconds": set(), "grading_seconds": set(), "browser": set(), "hub": set()}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", []):
                if key in found:
                    found[key].add(value)
    if found["notebook_seconds"]:
        terminalreporter.section("notebook execution time under nbgrader (solution, kernel start excluded)")
        for assignment, seconds in sorted(found["notebook_seconds"]):
            terminalreporter.write_line(f"{assignment:32s} {seconds:6.1f} s")
    if found["grading_seconds"]:  # informative only: `make bench` is the benchmark
        terminalreporter.section("same submissions graded by nbgrader autograde vs autograder (1 job each)")
        for assignment, n, theirs, ours in sorted(found["grading_seconds"]):
            terminalreporter.write_line(f"{assignment:32s} {n:3d} notebooks  {theirs:6.1f} s vs {ours:5.1f} s"
                                        f"  ({theirs / ours:.1f}x)")
    if found["browser"]:  # tests/test_browser.py: each notebook opened and run in JupyterLab
        terminalreporter.section("JupyterLab in Chromium: open + run time per notebook, screenshots")
        for line in sorted(found["browser"]):
            terminalreporter.write_line(line)
    if found["hub"]:  # tests/test_hub.py: the classroom on a real JupyterHub, step by step
        terminalreporter.section("JupyterHub classroom in Chromium: seconds per step (build/screenshots/hub-*.png)")
        for text in sorted(found["hub"]):
            for line in text.splitlines():
                terminalreporter.write_line(line)
