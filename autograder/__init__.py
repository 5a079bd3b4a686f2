"""The course's own code, by reader.

For the learner's notebook:
- `blocks`: finished attention pieces that later notebooks build on (`from autograder.blocks
  import MultiHeadAttention`); the checks use them as references.
- `checks`: what the notebooks' test cells call; `checks.core` names the likely mistake.

For the instructor:
- `grading`: `python -m autograder grade`, a fast grader with nbgrader's verdicts, and its reports.
- `nbgrader_setup`: the nbgrader configuration that `nbgrader_config.py` loads.

For the maintainer:
- `publishing`: regenerate notebooks/ from solutions/ (`release`) and build the site (`site`).

Shared: `course` (where things are on disk, scratch nbgrader courses).
"""
