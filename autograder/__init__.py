"""The course's grading and feedback code.

- `checking`: run a learner's function against a reference and name the likely mistake.
- `exercises`: one module of checks per notebook, called from the notebooks' test cells.
- `nbgrader_setup`: the nbgrader configuration shared by `nbgrader_config.py` and the tests.
"""
