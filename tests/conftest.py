"""Fixtures shared by the suite. Grading is expensive (a kernel and `import torch` per
submission), so each assignment is graded once, in one stock `nbgrader autograde` batch, and
every test about that assignment reads the batch's results. Under pytest-xdist the tests of
one assignment share an `xdist_group`, so the batch runs on one worker only."""

import json
import os
import time

import pytest

import support
from autograder import course

# Run from `make test` or directly: either way Jupyter, IPython and matplotlib write their
# files inside the repo, never into the home directory.
for _var, _sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                   ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")]:
    os.environ.setdefault(_var, str(course.ROOT / ".jupyter" / _sub))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

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


class Batch:
    """The graded submissions of one assignment: 'solution', 'untouched', one per wrong answer."""

    def __init__(self, scratch, assignment):
        self.scratch = scratch
        self.assignment = assignment
        self.catalogue = support.catalogue(assignment)
        course.generate(scratch, assignment)  # registers the assignment in the scratch gradebook
        learner = support.read(course.learner_notebook(assignment))  # what learners really get
        answers = support.solution_code(assignment)
        probe = PROBE.format(mark=PROBE_MARK, keys=list(self.catalogue.worked_examples))
        submissions = {
            "solution": support.submission(learner, answers, extra_cells=(probe,)),
            "untouched": learner,
        }
        self.wrong_ids = {}
        for i, wrong in enumerate(self.catalogue.wrong_answers):
            student = f"wrong{i:02d}"
            self.wrong_ids[wrong.name] = student
            submissions[student] = support.submission(learner, {**answers, wrong.cell: wrong.code})
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
            batches[assignment] = Batch(scratch, assignment)
        return batches[assignment]

    return get


def pytest_terminal_summary(terminalreporter):
    """Print each notebook's execution time under nbgrader (recorded by the grading tests)."""
    found = {"notebook_seconds": set(), "grading_seconds": set(), "browser": set()}
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
