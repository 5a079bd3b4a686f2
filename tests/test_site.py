"""`make site`: the worked solutions, executed and rendered to HTML with their plots, behind a
contents page; nbgrader's markers and the hidden tests never reach the page."""

import html
import re

import nbformat
import pytest

import support
from autograder import course
from autograder.publishing import site

pytestmark = pytest.mark.xdist_group("site")

ASSIGNMENTS = course.assignments()
EMBEDDED_PNG = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,')


def page_text(page_html: str) -> str:
    """The text a reader sees (code highlighting is markup around the characters)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", page_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site, built in a process where the fast grader has already run: its grading-only
    variables (Agg backend, notebook 06's short training) must not reach the site's kernels."""
    dest = tmp_path_factory.mktemp("site")
    lines = []
    with pytest.MonkeyPatch.context() as patch:
        for name in course.GRADING_ONLY_VARIABLES:
            patch.setenv(name, "Agg" if name == "MPLBACKEND" else "autograde")
        pages = site.build_site(dest, progress=lines.append)
    return dest, pages, lines


def test_strip_source_keeps_solutions_and_drops_markers_and_hidden_tests():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n")
    assert site.strip_source(source) == "def f(x):\n    return x"
    tests = "# Hidden tests run here.\ncheck(f)\n### BEGIN HIDDEN TESTS\ncheck(f, hidden=True)\n### END HIDDEN TESTS"
    assert site.strip_source(tests) == "# Hidden tests run here.\ncheck(f)"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# Hidden tests run here.\n### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"),
        nbformat.v4.new_markdown_cell("Answer:\n=== BEGIN MARK SCHEME ===\nsecret\n=== END MARK SCHEME ===\n"),
    ])
    cleaned = site.clean(nb)
    assert [c.source for c in cleaned.cells] == ["Answer:"]  # a cell of hidden tests only is dropped
    assert len(nb.cells) == 2, "clean() must not change its argument"


def test_every_notebook_has_a_page_and_a_progress_line(built):
    dest, pages, lines = built
    assert [p.name for p in pages] == [f"{a}.html" for a in ASSIGNMENTS] + ["index.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in pages)
    assert len(lines) == len(ASSIGNMENTS) + 1
    assert all(a in line for a, line in zip(ASSIGNMENTS, lines))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_page_shows_solutions_outputs_and_figures(built, assignment):
    dest, _, _ = built
    page = (dest / f"{assignment}.html").read_text(encoding="utf-8")
    text = page_text(page)
    source = nbformat.read(str(course.source_notebook(assignment)), as_version=4)

    titles = [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", page, re.S)]
    assert site.title(source, assignment) in titles, titles  # unescaped: an apostrophe may be written &#x27; or raw
    shows = support.plt_show_calls(course.source_notebook(assignment))
    images = len(EMBEDDED_PNG.findall(page))
    assert images >= shows, f"{images} embedded figures for {shows} plt.show() calls"
    if "plt." in "".join(c.source for c in source.cells if c.cell_type == "code"):
        assert images > 0

    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME"):
        assert marker not in text
    for cell in source.cells:
        for block in site.HIDDEN_TESTS.finditer(cell.source):
            hidden = [ln.strip() for ln in block.group(0).splitlines()[1:-1] if len(ln.strip()) > 8]
            visible = site.strip_source(cell.source)
            leaked = [ln for ln in hidden if ln in text and ln not in visible]
            assert not leaked, f"hidden test code on the page: {leaked}"
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            solution = [ln.strip() for ln in site.strip_source(cell.source).splitlines() if ln.strip()]
            assert all(ln in text for ln in solution), f"solution code missing from the page: {solution}"


def test_index_links_every_page_in_course_order_with_titles(built):
    dest, _, _ = built
    index = (dest / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', index)
    assert [href for href, _ in links] == [f"{a}.html" for a in ASSIGNMENTS]
    for (href, label), assignment in zip(links, ASSIGNMENTS):
        source = nbformat.read(str(course.source_notebook(assignment)), as_version=4)
        assert html.unescape(label) == site.title(source, assignment)
        assert (dest / href).is_file()


def test_pages_link_back_to_the_contents_and_to_their_neighbours(built):
    dest, _, _ = built
    for i, assignment in enumerate(ASSIGNMENTS):
        page = (dest / f"{assignment}.html").read_text(encoding="utf-8")
        assert 'href="index.html"' in page
        if i + 1 < len(ASSIGNMENTS):
            assert f'href="{ASSIGNMENTS[i + 1]}.html"' in page
        if i:
            assert f'href="{ASSIGNMENTS[i - 1]}.html"' in page
