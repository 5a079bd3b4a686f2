"""environment.yml (conda, Binder) installs exactly what requirements.txt (pip, `make test`)
installs: it takes only Python and pip from conda, and reads every package from requirements.txt,
so the two cannot drift. Conda specs are parsed with py-rattler, pip lines with `packaging`."""

from pathlib import Path

import yaml
from packaging.requirements import Requirement
from rattler import MatchSpec

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def requirement_lines():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line]


def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_requirements_pin_every_package_exactly():
    for line in requirement_lines():
        assert not line.startswith("-"), f"requirements.txt holds only pins, not options: {line}"
        (spec,) = Requirement(line).specifier
        assert spec.operator == "==", f"requirements.txt must pin exactly: {line}"


def test_torch_is_pinned_exactly_to_the_cpu_wheel_version():
    pins = {Requirement(line).name: str(Requirement(line).specifier) for line in requirement_lines()}
    assert pins["torch"] == "==2.13.0"


def test_conda_gives_only_python_311_and_pip():
    conda = [MatchSpec(d) for d in environment()["dependencies"] if isinstance(d, str)]
    assert sorted(spec.name.normalized for spec in conda) == ["pip", "python"]
    (python,) = [spec for spec in conda if spec.name.normalized == "python"]
    assert str(python.version) in ("3.11", "3.11.*")


def test_pip_section_reads_requirements_txt_and_the_course_package():
    (pip_section,) = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    assert pip_section == [CPU_INDEX, "-r requirements.txt", "-e ."], (
        "environment.yml must install requirements.txt as it is (plus PyTorch's CPU index and the "
        f"course package), nothing else: {pip_section}")
