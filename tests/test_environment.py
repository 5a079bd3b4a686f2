"""environment.yml (conda, Binder) and requirements.txt (pip) name the same packages at the
same versions. Conda specs are parsed with py-rattler, pip lines with `packaging`."""

from pathlib import Path

import yaml
from packaging.requirements import Requirement
from rattler import MatchSpec

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}


def normal(name):
    return name.lower().replace("_", "-")


def pip_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"requirements.txt must pin exactly: {line}"
            pins[normal(req.name)] = spec.version
    return pins


def conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins, pip_section = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section += dep["pip"]
            continue
        spec = MatchSpec(dep)
        name = spec.name.normalized
        if name in CONDA_ONLY:
            continue
        pins[normal(CONDA_TO_PYPI.get(name, name))] = str(spec.version).lstrip("=")
    for line in pip_section:
        if not line.startswith("-"):
            req = Requirement(line)
            (spec,) = req.specifier
            pins[normal(req.name)] = spec.version
    return env, pins


def test_same_packages_at_the_same_versions():
    _, conda = conda_pins()
    assert conda == pip_pins()


def test_python_version_and_course_package():
    env, _ = conda_pins()
    python = [MatchSpec(d) for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert [str(p.version) for p in python] == ["3.11"] or [str(p.version) for p in python] == ["3.11.*"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section, "Binder must install the course's autograder package"


def test_torch_is_pinned_exactly_to_the_cpu_wheel_version():
    assert pip_pins()["torch"] == "2.13.0"
