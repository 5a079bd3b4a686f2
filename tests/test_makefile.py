"""The make targets a learner may type work in an environment that already has the course's
packages (Binder, a JupyterHub image, a conda env) without creating .venv/ or installing
anything; elsewhere `make` still sets up .venv/ on first use."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import course


@pytest.fixture
def fresh_copy(tmp_path):
    """The committed course, copied as a clone would have it: no .venv/, no .jupyter/."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=course.ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = course.ROOT / name
        if source.is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=folder, capture_output=True, text=True, timeout=600)


def test_make_check_uses_an_environment_that_has_the_packages(fresh_copy):
    learner = course.learner_notebook("01_similarity").relative_to(course.ROOT)
    run = make(fresh_copy, "check", f"PYTHON={sys.executable}", f"NOTEBOOKS={learner}")
    assert run.returncode == 0, run.stderr
    assert "Course progress: 0 of 1 notebooks complete" in run.stdout
    assert not (fresh_copy / ".venv").exists(), "make check created a .venv although the packages were there"
    setup = make(fresh_copy, "setup", f"PYTHON={sys.executable}")
    assert "nothing to install" in setup.stdout and not (fresh_copy / ".venv").exists()


def test_make_sets_up_a_venv_where_the_packages_are_missing(fresh_copy):
    bare = getattr(sys, "_base_executable", None)
    if not bare or subprocess.run([bare, "-c", "import torch"], capture_output=True).returncode == 0:
        pytest.skip("no Python without the course's packages to compare with")
    plan = make(fresh_copy, "-n", "check", f"PYTHON={bare}")
    assert f"{bare} -m venv .venv" in plan.stdout
    assert "pip install --quiet -r requirements.txt" in plan.stdout
