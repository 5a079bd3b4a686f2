"""The course on disk, and scratch nbgrader courses built from it.

A scratch course is a temporary folder with its own `nbgrader_config.py` and gradebook whose
`solutions/` is a link to the real one. Stock nbgrader commands run there without touching
the repository: the tests and `python -m autograder release` both use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

_CONFIG = """\
import sys
sys.path.insert(0, {package_root!r})
from autograder.nbgrader_setup import configure
configure(get_config(), root={root!r})
"""


def assignments() -> list[str]:
    """Assignment ids, in course order: the folders of solutions/ that hold a notebook, or of
    notebooks/ in an install without solutions/ (a hub's student image, deploy/Dockerfile)."""
    folder = SOLUTIONS if SOLUTIONS.is_dir() else NOTEBOOKS
    return sorted(p.parent.name for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name)


def source_notebook(assignment: str) -> Path:
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def learner_notebook(assignment: str, root: Path = ROOT) -> Path:
    return Path(root) / "notebooks" / assignment / f"{assignment}.ipynb"


# Set by the fast grader (grader.warm_up) for its forked children; a kernel run for reading, or
# for a learner, must not inherit them: no plots under Agg, and notebook 06 would train briefly.
GRADING_ONLY_VARIABLES = ("MPLBACKEND", "NBGRADER_EXECUTION")


def learner_environment() -> dict[str, str]:
    """os.environ as a learner's kernel should see it: without the variables that only grading
    sets, whatever ran earlier in this process."""
    env = dict(os.environ)
    for name in GRADING_ONLY_VARIABLES:
        env.pop(name, None)
    return env


def make_scratch_course(path: Path) -> Path:
    """Turn an empty folder into an nbgrader course whose sources are the real solutions/."""
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    (path / "nbgrader_config.py").write_text(
        _CONFIG.format(package_root=str(ROOT), root=str(path)), encoding="utf-8"
    )
    link = path / "solutions"
    if not link.exists():
        link.symlink_to(SOLUTIONS, target_is_directory=True)
    return path


def nbgrader(course: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a stock nbgrader command in `course`; raise with its log if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=timeout,
        # nbgrader runs helper programs (alembic) by name: find them beside this Python
        env={**os.environ, "PYTHONWARNINGS": "ignore",
             "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])},
    )
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def generate(course: Path, assignment: str) -> Path:
    """`nbgrader generate_assignment` in a scratch course; returns the learner notebook it wrote."""
    nbgrader(course, "generate_assignment", assignment, "--force")
    return learner_notebook(assignment, course)
