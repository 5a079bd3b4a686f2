"""The make targets a learner may type work in an environment that already has the course's
packages (Binder, a JupyterHub image, a conda env) without creating .venv/ or installing
anything; elsewhere `make` still sets up .venv/ on first use."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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


def _lab(folder: Path, role: str):
    """`make lab ROLE=role` on a free port; yields (base url, token) while it serves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_TOKEN": token}
    process = subprocess.Popen(["make", "lab", f"PYTHON={sys.executable}", f"PORT={port}", f"ROLE={role}"],
                               cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    return process, url, token


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


# nbgrader's menu stays: its Assignment List is how a hub's students fetch and submit
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:course-list"]


@pytest.mark.parametrize("role", ["learner", "instructor"])
def test_make_lab_hides_the_instructor_tools_from_learners(fresh_copy, role):
    process, url, token = _lab(fresh_copy, role)
    try:
        assert process.poll() is None, "make lab did not start"
        status, page = _get(f"{url}/lab?token={token}")
        assert status == 200
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        disabled = config.get("disabledExtensions", [])
        formgrader, _ = _get(f"{url}/formgrader?token={token}")
        validate = [p for p in disabled if "validate" in p]
        assert not validate, "the Validate button must stay for learners"
        if role == "learner":
            assert set(INSTRUCTOR_PLUGINS) <= set(disabled), disabled
            assert formgrader == 404, "Formgrader must not be served to learners"
        else:
            assert not set(INSTRUCTOR_PLUGINS) & set(disabled), disabled
            assert formgrader == 200
        assert not (fresh_copy / ".venv").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_binder_start_script_selects_the_learner_mode_make_lab_uses(fresh_copy):
    run = subprocess.run([str(fresh_copy / "start"), sys.executable, "-c",
                          "import os; print(os.environ['JUPYTER_CONFIG_PATH'])"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().split(os.pathsep)[0] == str(fresh_copy / "jupyter-config" / "learner")
    plan = make(fresh_copy, "-n", "lab", f"PYTHON={sys.executable}")
    assert f'JUPYTER_CONFIG_PATH="{fresh_copy / "jupyter-config" / "learner"}"' in plan.stdout
