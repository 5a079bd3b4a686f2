"""Regenerating notebooks/ never loses a learner's edits."""

from autograder.release import place


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
    target.write_text("my work")
    report = place(new, target, committed=b"old", stamp="T")
    aside = tmp_path / "nb.edited-T.ipynb"
    assert aside.read_text() == "my work"
    assert target.read_text() == "fresh"
    assert str(aside) in report
