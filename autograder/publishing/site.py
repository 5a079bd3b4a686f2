"""The worked solutions as a static site a learner can read without running anything.

    python -m autograder.publishing.site [DEST]        (what `make site` runs; DEST defaults to build/site)

Each solution notebook is cleaned of nbgrader's markup: hidden-test blocks and mark schemes go
entirely, by nbgrader's own ClearHiddenTests and ClearMarkScheme (and so does a cell left with
nothing but comments once its hidden tests are gone); the `### BEGIN/END SOLUTION` lines go while
the solution code stays (nbgrader has no step for that: its ClearSolutions removes the code). It is
executed with nbclient in its own
folder, and rendered with nbconvert into DEST/<assignment>.html with its plots embedded.
DEST/index.html lists the notebooks in course order, by title.
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
import time
from pathlib import Path

from .. import course
from ..nbgrader_setup import CELL_TIMEOUT

DEFAULT_DEST = course.ROOT / "build" / "site"

SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def _only_comments(source: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def clean(nb):
    """The notebook with nbgrader's markup removed (see the module's docstring); a new object."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme

    nb = nbformat.from_dict(nb)  # a deep copy
    hidden = ClearHiddenTests()
    had_hidden = [hidden.begin_test_delimeter in cell.source for cell in nb.cells]
    for step in (hidden, ClearMarkScheme()):
        nb, _ = step.preprocess(nb, {})
    cells = []
    for cell, had in zip(nb.cells, had_hidden):
        cell.source = SOLUTION_MARKER.sub("", cell.source).rstrip("\n")
        if cell.cell_type == "code" and had and _only_comments(cell.source):
            continue  # "# Hidden tests run here ..." and nothing else: nothing to read
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def title(nb, fallback: str) -> str:
    """The notebook's first level-1 heading (markdown stripped to plain text)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return re.sub(r"[*_`]", "", line[2:]).strip()
    return fallback


def _nav(previous: tuple[str, str] | None, following: tuple[str, str] | None) -> str:
    links = ["[Contents](index.html)"]
    if previous:
        links.append(f"[← {previous[1]}]({previous[0]}.html)")
    if following:
        links.append(f"[{following[1]} →]({following[0]}.html)")
    return " · ".join(links)


def render(nb, page_title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": page_title}})
    return body


def execute(nb, folder: Path, timeout: int = CELL_TIMEOUT):
    """Run every cell with `folder` as the working directory, as a learner's kernel would (no
    grading-only variables, so plots render inline). The kernel's own log (ipykernel's start-up
    warnings) is kept out of the terminal and shown only if the run fails."""
    from nbclient import NotebookClient

    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(folder)}})
    with tempfile.TemporaryFile() as kernel_log:
        try:
            client.execute(stderr=kernel_log, env=course.learner_environment())
        except Exception as error:
            kernel_log.seek(0)
            log = kernel_log.read().decode(errors="replace").strip()
            raise RuntimeError(f"{error}\n\nkernel log:\n{log[-3000:]}" if log else str(error)) from error
    return nb


def index_page(entries: list[tuple[str, str]]) -> str:
    items = "\n".join(f'    <li><a href="{html.escape(a)}.html">{html.escape(t)}</a></li>' for a, t in entries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Attention by hand: worked solutions</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem;
           line-height: 1.5; }}
    li {{ margin: 0.4rem 0; }}
  </style>
</head>
<body>
  <h1>Attention by hand: worked solutions</h1>
  <p>The course's notebooks with their reference solutions, executed, with every output and plot.
  Try each exercise in <code>notebooks/</code> first: comparing after you have an answer teaches
  more than reading before. The hidden tests are not shown.</p>
  <ol>
{items}
  </ol>
</body>
</html>
"""


def _say(line: str):
    print(line, flush=True)


def build_site(dest: Path = DEFAULT_DEST, assignments: list[str] | None = None,
               timeout: int = CELL_TIMEOUT, progress=_say) -> list[Path]:
    """Execute and render the solution notebooks into `dest`; returns the pages written,
    index.html last. Raises (naming the notebook) if a notebook fails to run."""
    import nbformat

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = assignments or course.assignments()
    notebooks = {a: clean(nbformat.read(str(course.source_notebook(a)), as_version=4)) for a in wanted}
    titles = [(a, title(nb, a)) for a, nb in notebooks.items()]
    pages = []
    for i, (assignment, page_title) in enumerate(titles):
        start = time.monotonic()
        nb = notebooks[assignment]
        try:
            execute(nb, course.source_notebook(assignment).parent, timeout)
        except Exception as error:
            raise RuntimeError(f"{assignment}: the solution notebook failed to run:\n{error}") from error
        nav = _nav(titles[i - 1] if i else None, titles[i + 1] if i + 1 < len(titles) else None)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(nav))
        nb.cells.append(nbformat.v4.new_markdown_cell(nav))
        page = dest / f"{assignment}.html"
        page.write_text(render(nb, page_title), encoding="utf-8")
        pages.append(page)
        progress(f"[{i + 1}/{len(titles)}] {assignment:28s} executed and rendered in "
                 f"{time.monotonic() - start:5.1f} s -> {page}")
    index = dest / "index.html"
    index.write_text(index_page(titles), encoding="utf-8")
    pages.append(index)
    progress(f"contents: {index}")
    return pages


if __name__ == "__main__":
    build_site(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DEST)
