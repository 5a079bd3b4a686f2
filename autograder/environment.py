"""Does this Python already have every package of requirements.txt at its pinned version?

    python autograder/environment.py      exit 0 if yes, 1 (saying what is missing) if not

The Makefile asks this before anything else: in an environment that already has the course's
packages (Binder, a JupyterHub image, a conda env), every make target runs there as it is and
nothing is created or installed; elsewhere `make` sets up .venv/ on first use. Standard library
only: it runs before anything is installed.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def missing(requirements: Path = REQUIREMENTS) -> list[str]:
    """The pins of `requirements` this Python does not satisfy (a local version label such as
    torch's "+cpu" counts as the same version)."""
    wrong = []
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        try:
            have = importlib.metadata.version(name.strip())
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{line} (not installed)")
            continue
        if have.split("+")[0] != version.strip():
            wrong.append(f"{line} (found {have})")
    return wrong


if __name__ == "__main__":
    absent = missing()
    for line in absent:
        print(f"needs {line}", file=sys.stderr)
    sys.exit(1 if absent else 0)
