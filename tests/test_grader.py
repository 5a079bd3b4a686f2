"""The fast grader against hostile and broken submissions: each gets the expected verdict and
a clear message, the batch never crashes, no file is modified, no hidden test text leaks."""

import hashlib
import json
import subprocess
import sys

import nbformat
import pytest
import support

from autograder import course
from autograder import grading as grader
from autograder.grading import report

A = "01_similarity"
ANSWERS = support.solution_code(A)
LEARNER = support.read(course.learner_notebook(A))
MAX = sum(c.points for c in grader.source(A).tests())
WRONG_DOT = "def dot_product(a, b):\n    return a * b\n"  # loses the 2 points of dot_product
# The rest of an answer that walks out from `frame` to the check's frame and returns its expected value.
STEAL_EXPECTED = ("    while frame is not None:\n        if hasattr(frame.f_locals.get('expected'), 'value'):\n"
                  "            return frame.f_locals['expected'].value\n"
                  "        frame = frame.f_back\n    return a * b\n")
HIDDEN_LINES = [line.strip() for c in grader.source(A).tests() for line in c.source.splitlines()
                if "hidden=True" in line]


def notebook(answers=None, edit=None):
    nb = support.submission(LEARNER, {**ANSWERS, **(answers or {})})
    if edit:
        edit(nb)
    return nb


def cell(nb, gid):
    return next(c for c in nb.cells if support.grade_id(c) == gid)


def _replace_test(nb, gid, **changes):
    c = cell(nb, gid)
    for key, value in changes.items():
        if key == "source":
            c.source = value
        elif key == "points":
            c.metadata.nbgrader["points"] = value
        elif key == "markdown":
            index = nb.cells.index(c)
            nb.cells[index] = nbformat.v4.new_markdown_cell("gone", metadata=c.metadata)
        elif key == "solution":
            c.metadata.nbgrader.update(solution=True, grade=False, locked=False)
            c.source = "pass"


def _duplicate(nb, gid):
    c = cell(nb, gid)
    nb.cells.insert(nb.cells.index(c), nbformat.from_dict(json.loads(json.dumps(c))))


def _delete(nb, gid):
    nb.cells.remove(cell(nb, gid))


CASES = {
    # name: (notebook or raw bytes, expected score, expected verdict, words in the message or table)
    "honest solution": (notebook(), MAX, "graded", "✔"),
    "test cell edited to pass": (notebook({"dot_product": WRONG_DOT},
                                         lambda nb: _replace_test(nb, "test_dot_product", source="pass")),
                                 MAX - 2, "graded", "did not add the products up"),
    "test cell deleted": (notebook({"dot_product": WRONG_DOT}, lambda nb: _delete(nb, "test_dot_product_hidden")),
                          MAX - 2, "graded", "did not add the products up"),
    "test cell duplicated": (notebook({"dot_product": WRONG_DOT}, lambda nb: _duplicate(nb, "test_dot_product")),
                             MAX - 2, "graded", "did not add the products up"),
    "test cell turned into markdown": (notebook({"dot_product": WRONG_DOT},
                                               lambda nb: _replace_test(nb, "test_dot_product", markdown=True)),
                                       MAX - 2, "graded", "did not add the products up"),
    "test cell turned into a solution cell": (notebook({"dot_product": WRONG_DOT}, lambda nb: _replace_test(
        nb, "test_dot_product", solution=True)), MAX - 2, "graded", "did not add the products up"),
    "points changed": (notebook({"dot_product": WRONG_DOT},
                                lambda nb: _replace_test(nb, "test_dot_product", points=100)),
                       MAX - 2, "graded", "did not add the products up"),
    "torch.allclose patched": (notebook({"dot_product": "import torch\ntorch.allclose = lambda *a, **k: True\n"
                                                         + WRONG_DOT}), MAX - 2, "graded", "torch.allclose"),
    "numpy.testing patched": (notebook({"dot_product": "import numpy.testing as npt\n"
                                                       "npt.assert_allclose = lambda *a, **k: None\n" + WRONG_DOT}),
                              MAX - 2, "graded", "numpy.testing.assert_allclose"),
    "check module patched": (notebook({"dot_product": "import autograder.checks.similarity as s\n"
                                                      "s.dot_product = lambda *a, **k: None\n" + WRONG_DOT}),
                             MAX - 2, "graded", "autograder.checks.similarity.dot_product"),
    "check name rebound": (notebook({"dot_product": "import types\n"
                                                    "check = types.SimpleNamespace(dot_product=print)\n"
                                                    + WRONG_DOT}), MAX - 2, "graded", "did not add the products up"),
    "builtins patched": (notebook({"dot_product": "import builtins\nbuiltins.isinstance = lambda *a: True\n"
                                                  + WRONG_DOT}), MAX - 2, "graded", "builtins.isinstance"),
    "patched from inside the answer": (notebook({"dot_product": (
        "def dot_product(a, b):\n    import autograder.checks.core as c\n"
        "    c.problem_with = lambda *a, **k: None\n    return a * b\n")}),
        MAX - 2, "graded", "modified while this test ran"),
    # The guard also watches what a learner cell could use to rewrite or fake a later test cell.
    "IPython input transformer": (notebook({"dot_product": (
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n" + WRONG_DOT)}),
        MAX - 2, "graded", "IPython's post-input transformers"),
    "IPython AST transformer": (notebook({"dot_product": (
        "import ast\nclass Empty(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
        "get_ipython().ast_transformers.append(Empty())\n" + WRONG_DOT)}),
        MAX - 2, "graded", "IPython's AST transformers"),
    "IPython event callback": (notebook({"dot_product": (
        "def patch(*args):\n    import torch\n    torch.allclose = lambda *a, **k: True\n"
        "get_ipython().events.register('pre_run_cell', patch)\n" + WRONG_DOT)}),
        MAX - 2, "graded", "IPython's 'pre_run_cell' callbacks"),
    "IPython shell method replaced": (notebook({"dot_product": (
        "get_ipython().run_cell = lambda *a, **k: None\n" + WRONG_DOT)}),
        MAX - 2, "graded", "IPython's shell.run_cell"),
    "torch function mode left on": (notebook({"dot_product": (
        "import torch\nfrom torch.overrides import TorchFunctionMode\n"
        "class Yes(TorchFunctionMode):\n    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
        "        return True if func is torch.allclose else func(*args, **(kwargs or {}))\n"
        "Yes().__enter__()\n" + WRONG_DOT)}),
        MAX - 2, "graded", "torch's function-mode stack"),
    "check's code replaced": (notebook({"dot_product": (
        "import autograder.checks.core as c\nc.problem_with.__code__ = (lambda *a, **k: None).__code__\n"
        + WRONG_DOT)}), MAX - 2, "graded", "autograder.checks.core.problem_with (its code)"),
    "check's closure replaced": (notebook({"dot_product": (
        "check.dot_product.__closure__[0].cell_contents = lambda *a, **k: None\n" + WRONG_DOT)}),
        MAX - 2, "graded", "(its code)"),
    "tensor subclass that agrees with everything": (notebook({"dot_product": (
        "import torch\nclass Agreeable(torch.Tensor):\n"
        "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        return True if func is torch.allclose else super().__torch_function__(func, types, args, kwargs)\n"
        "def dot_product(a, b):\n    return (a * b).as_subclass(Agreeable)\n")}),
        MAX - 2, "graded", "a subclass of torch.Tensor"),
    "correct answer with a warning": (notebook({"dot_product": (
        "import warnings\ndef dot_product(a, b):\n    warnings.warn('harmless', DeprecationWarning)\n"
        "    return (a * b).sum()\n")}), MAX, "graded", "score: 15 / 15"),
    "syntax error": (notebook({"dot_product": "def dot_product(a, b):\n    return (a * b).sum(\n"}),
                     MAX - 2, "graded", "your answer cell failed first: SyntaxError"),
    "NaN answer": (notebook({"dot_product": "def dot_product(a, b):\n    return (a * b).sum() * float('nan')\n"}),
                   MAX - 2, "graded", "NaN"),
    "wrong dtype": (notebook({"dot_product": "def dot_product(a, b):\n    return (a * b).sum().double()\n"}),
                    MAX - 2, "graded", "dtype"),
    "wrong shape": (notebook({"dot_product": "def dot_product(a, b):\n    return (a * b).sum().reshape(1, 1)\n"}),
                    MAX - 2, "graded", "shape"),
    "megabytes of output": (notebook({"dot_product": "print('x' * 5_000_000)\n" + ANSWERS["dot_product"]}),
                            MAX, "graded", "score: 15 / 15"),
    "error message of megabytes": (notebook({"dot_product": (
        "def dot_product(a, b):\n    raise ValueError('x' * 3_000_000)\n")}), MAX - 2, "graded", "ValueError: xxx"),
    "endless loop in an answer": (notebook({"dot_product": "while True:\n    pass\n" + ANSWERS["dot_product"]}),
                                  MAX - 2, "graded", "longer than"),
    "endless loop that ignores the alarm": (notebook({"dot_product": (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n")}),
        0, "timed out", "was stopped"),
    "os._exit": (notebook({"dot_product": "import os\nos._exit(3)\n"}), 0, "crashed", "exit code 3"),
    "sys.exit": (notebook({"dot_product": "import sys\nsys.exit(0)\n"}), 0, "exited", "sys.exit"),
    # Looking into the running checker: its frames hold the right answer while the answer runs.
    "check's frame read (sys._getframe)": (notebook({"dot_product": (
        "import sys\ndef dot_product(a, b):\n    frame = sys._getframe(1)\n" + STEAL_EXPECTED)}),
        MAX - 2, "graded", "looked into the running checker with sys._getframe"),
    "check's frame read through a traceback": (notebook({"dot_product": (
        "def dot_product(a, b):\n    try:\n        raise RuntimeError\n    except RuntimeError as err:\n"
        "        frame = err.__traceback__.tb_frame\n" + STEAL_EXPECTED)}),
        MAX - 2, "graded", "looked into the running checker with a tb_frame"),
    "check's reference called from a thread": (notebook({"dot_product": (
        "import threading\nimport autograder.checks.similarity as s\ndef dot_product(a, b):\n    out = []\n"
        "    worker = threading.Thread(target=lambda: out.append(s._dot(a, b)))\n"
        "    worker.start()\n    worker.join()\n    return out[0]\n")}),
        MAX - 2, "graded", "it started a thread"),
    "thread left running beside the checks": (notebook({"dot_product": (
        "import threading, time\ndef _spin():\n    while True:\n        time.sleep(0.01)\n"
        "threading.Thread(target=_spin, daemon=True).start()\n" + ANSWERS["dot_product"])}),
        0, "graded", "was still running when its check began"),
    "trace function that fixes the comparison": (notebook({"dot_product": (
        "import sys, torch\ndef _fix(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == 'problem_with':\n"
        "        got, want = list(frame.f_locals.values())[:2]\n"
        "        if isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.shape == want.shape:\n"
        "            got.copy_(want)\n"
        "sys.settrace(_fix)\ndef dot_product(a, b):\n    return (a + b).sum()\n")}),
        MAX - 2, "graded", "the interpreter's trace or profile function"),
    "invalid JSON": (b'{"cells": [', 0, "unreadable", "not valid notebook JSON"),
    "empty file": (b"", 0, "unreadable", "empty"),
    "not a notebook (an image)": (b"\x89PNG\r\n\x1a\n\x00\x00binary", 0, "unreadable", "not text"),
    "JSON that is not a notebook": (b"[1, 2, 3]", 0, "unreadable", "not a Jupyter notebook"),
}


@pytest.fixture(scope="module")
def graded_hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for i, (name, (content, *_)) in enumerate(CASES.items()):
        path = folder / f"case{i:02d}_{A}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, str(path))
        paths[name] = path
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values()}
    subs = [grader.Submission(p, A, name) for name, p in paths.items()]
    results = grader.grade(subs, jobs=2, cell_timeout=3, notebook_timeout=30)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values()}
    return {r.student: r for r in results}, before, after


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_gets_its_verdict(graded_hostile, name):
    results, _, _ = graded_hostile
    _, score, verdict, words = CASES[name]
    result = results[name]
    shown = report.table(result)
    assert result.verdict == verdict, shown
    assert result.score == score, shown
    assert result.max_score == MAX, "points come from the source notebook"
    assert words in shown, shown


def test_no_submission_file_is_modified(graded_hostile):
    _, before, after = graded_hostile
    assert before == after


def test_no_hidden_test_text_in_any_output(graded_hostile):
    results, _, _ = graded_hostile
    text = json.dumps([r.to_dict() for r in results.values()]) + "".join(report.table(r) for r in results.values())
    assert HIDDEN_LINES and not any(line in text for line in HIDDEN_LINES)


def test_self_check_reports_hints_and_never_changes_the_notebook(tmp_path):
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(notebook({"dot_product": WRONG_DOT}), str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    run = subprocess.run([sys.executable, "-m", "autograder", "check", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "✘ dot_product" in run.stdout and "did not add the products up" in run.stdout
    assert f"score: {MAX - 2:g} / {MAX:g}" in run.stdout
    assert "Course progress: 0 of 1 notebooks complete, 5 of 6 exercises solved" in run.stdout
    assert not any(line in run.stdout + run.stderr for line in HIDDEN_LINES)
    as_json = subprocess.run([sys.executable, "-m", "autograder", "check", "--json", str(path)],
                             capture_output=True, text=True, timeout=300)
    data = json.loads(as_json.stdout)
    assert data["notebooks"][0]["score"] == MAX - 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_grade_command_writes_nbgrader_export_columns(tmp_path):
    folder = tmp_path / "submitted"
    for student, answers in {"ada": {}, "bob": {"dot_product": WRONG_DOT}}.items():
        target = folder / student / A / f"{A}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(notebook(answers), str(target))
    out = tmp_path / "grades.csv"
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--csv", str(out), "--jobs", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "grading [" in run.stderr  # the progress bar
    import csv
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:11] == report.EXPORT_COLUMNS
    scores = {r["student_id"]: (float(r["score"]), r["exercises"]) for r in rows}
    assert scores["ada"][0] == MAX and scores["bob"][0] == MAX - 2
    assert "dot_product=0/2" in scores["bob"][1]
