"""nbgrader configuration for the course, shared by `nbgrader_config.py` and the tests.

Layout (relative to the course root):

    solutions/<assignment>/<assignment>.ipynb   nbgrader's source (solutions, hidden tests)
    notebooks/<assignment>/<assignment>.ipynb   the learner versions nbgrader generates
    grading/                                    everything nbgrader writes while grading
        gradebook.db, exchange/, submitted/, autograded/, feedback/, solution/
                                                (exchange/: $NBGRADER_EXCHANGE_ROOT instead, if set)

`grading/` is git-ignored, so grading never touches the committed course.
"""

import os

COURSE_ID = "attention-by-hand"

# Seconds a single cell may run under nbgrader before it is stopped and scored 0.
CELL_TIMEOUT = 120

# Python warnings as they reach stderr ("file.py:12: UserWarning: ..."). nbgrader scores a
# test cell 0 for any stderr output; the checks already silence warnings raised inside
# learner code, and this pattern drops the rest so a harmless warning never costs a mark.
WARNING_PATTERN = r"(?m)^.*\b\w*Warning: "


def configure(c, root):
    """Fill the traitlets config `c` for a course rooted at `root` (an absolute path)."""
    root = os.path.abspath(root)
    grading = os.path.join(root, "grading")
    os.makedirs(grading, exist_ok=True)  # sqlite cannot create the gradebook's folder itself

    c.CourseDirectory.root = root
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "notebooks"
    c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
    c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
    c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
    c.CourseDirectory.solution_directory = os.path.join("grading", "solution")
    c.CourseDirectory.source_with_tests_directory = os.path.join("grading", "source_with_tests")
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(grading, "gradebook.db")
    # On a hub the exchange is a folder every user's server shares (deploy/values.yaml).
    c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT") or os.path.join(grading, "exchange")

    # Learners never see outputs from our own runs, and graded runs have a clear time limit.
    c.ClearOutput.enabled = True
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = WARNING_PATTERN
    return c
