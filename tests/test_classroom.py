"""The stock nbgrader classroom workflow on the course, end to end, in a scratch course with a
local exchange: generate -> release -> fetch (two students) -> submit -> collect -> autograde
-> generate and release feedback -> fetch feedback -> export. The README documents this flow."""

import csv

import nbformat
import pytest
import support

from autograder import course

ASSIGNMENT = "01_similarity"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("classroom")
    instructor = course.make_scratch_course(root / "instructor")
    return root, instructor


def test_whole_classroom_flow(classroom):
    root, instructor = classroom
    run = lambda where, *args: course.nbgrader(where, *args, timeout=600)  # noqa: E731
    run(instructor, "generate_assignment", ASSIGNMENT, "--force")
    run(instructor, "release_assignment", ASSIGNMENT, "--force")

    answers = support.solution_code(ASSIGNMENT)
    students = {"ada": answers, "bob": {}}  # ada solves everything, bob hands in the release
    for student, typed in students.items():
        home = root / student
        home.mkdir()
        (home / "nbgrader_config.py").write_text((instructor / "nbgrader_config.py").read_text())
        run(home, "fetch_assignment", ASSIGNMENT, "--student", student)
        fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.exists(), f"{student} did not receive the notebook"
        nbformat.write(support.submission(support.read(fetched), typed), str(fetched))
        run(home, "submit", ASSIGNMENT, "--student", student)

    listing = run(instructor, "list", "--inbound")
    assert "ada" in listing.stdout + listing.stderr and "bob" in listing.stdout + listing.stderr
    run(instructor, "collect", ASSIGNMENT)
    for student in students:
        assert (instructor / "grading" / "submitted" / student / ASSIGNMENT / "timestamp.txt").exists()
    run(instructor, "autograde", ASSIGNMENT)
    run(instructor, "generate_feedback", ASSIGNMENT)
    run(instructor, "release_feedback", ASSIGNMENT)
    for student in students:
        run(root / student, "fetch_feedback", ASSIGNMENT, "--student", student)
        pages = list((root / student / ASSIGNMENT / "feedback").rglob("*.html"))
        assert pages, f"{student} received no feedback"
    bob_page = pages[0].read_text()
    assert "NotImplementedError" in bob_page

    run(instructor, "export", "--to", str(root / "grades.csv"))
    rows = {r["student_id"]: r for r in csv.DictReader(open(root / "grades.csv"))}
    assert float(rows["ada"]["score"]) == float(rows["ada"]["max_score"]) > 0
    assert float(rows["bob"]["score"]) == 0
