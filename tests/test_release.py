"""Regenerating notebooks/ never loses a learner's edits."""

import json

import nbformat

from autograder import course
from autograder.publishing.release import has_learner_work, place

LEARNER = course.learner_notebook("01_similarity").read_bytes()


def _with_answer(text):
    nb = nbformat.reads(LEARNER.decode(), as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")).source = text
    return nbformat.writes(nb).encode()


def test_learner_work_is_recognised():
    assert not has_learner_work(LEARNER)
    assert has_learner_work(_with_answer("def dot_product(a, b):\n    return a @ b"))
    with_output = json.loads(LEARNER)
    next(c for c in with_output["cells"] if c["cell_type"] == "code")["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "hi"}]
    assert has_learner_work(json.dumps(with_output).encode())
    assert has_learner_work(b"not a notebook")


def test_a_stale_untouched_notebook_is_replaced_without_a_copy(tmp_path):
    new, target = tmp_path / "new.ipynb", tmp_path / "nb.ipynb"
    new.write_text("fresh")
    target.write_bytes(LEARNER)
    assert place(new, target, committed=None, stamp="T").startswith("updated")
    assert not list(tmp_path.glob("*.edited-*"))


def test_missing_notebook_is_created(tmp_path):
    new = tmp_path / "new.ipynb"
    new.write_text("fresh")
    target = tmp_path / "course" / "nb.ipynb"
    assert place(new, target, committed=None, stamp="T").startswith("created")
    assert target.read_text() == "fresh"


def test_identical_notebook_is_left_alone(tmp_path):
    new, target = tmp_path / "new.ipynb", tmp_path / "nb.ipynb"
    new.write_text("fresh")
    target.write_text("fresh")
    assert place(new, target, committed=b"old", stamp="T").startswith("unchanged")
    assert not list(tmp_path.glob("*.edited-*"))


def test_committed_version_is_replaced_without_a_copy(tmp_path):
    new, target = tmp_path / "new.ipynb", tmp_path / "nb.ipynb"
    new.write_text("fresh")
    target.write_text("old")
    assert place(new, target, committed=b"old", stamp="T").startswith("updated")
    assert target.read_text() == "fresh"
    assert not list(tmp_path.glob("*.edited-*"))


def test_edited_notebook_is_moved_aside_and_reported(tmp_path):
    new, target = tmp_path / "new.ipynb", tmp_path / "nb.ipynb"
    new.write_text("fresh")
    work = _with_answer("def dot_product(a, b):\n    return a @ b")
    target.write_bytes(work)
    report = place(new, target, committed=LEARNER, stamp="T")
    aside = tmp_path / "nb.edited-T.ipynb"
    assert aside.read_bytes() == work
    assert target.read_text() == "fresh"
    assert str(aside) in report
