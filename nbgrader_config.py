# Stock nbgrader commands read this file when run from the course root, e.g.
#   nbgrader generate_assignment 01_similarity
#   nbgrader autograde 01_similarity
# The settings themselves live in autograder/nbgrader_setup.py (shared with the tests).
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from autograder.nbgrader_setup import configure  # noqa: E402

configure(get_config(), root=_here)  # noqa: F821 (get_config is provided by traitlets)
