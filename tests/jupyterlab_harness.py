"""The harness of tests/test_browser.py: JupyterLab driven through Debian's Chromium with
Playwright (the server, the browser, fixtures, reading and running a notebook's page).

(Not named jupyterlab.py: tests/ is on sys.path, and the module would hide the real package.)

One JupyterLab server (loopback, a random free port, a token) serves a temporary copy of the
course, so nothing the browser does (running, saving, validating) can touch the repository's
notebooks. `run_everything` runs a whole notebook the way a learner would (Run All, then
"Run Selected Cell and All Below" past each error); `validate` presses nbgrader's Validate
button; screenshots go to build/screenshots/.

Needs Chromium (`apt-get install -y chromium`) and `playwright` (requirements.txt); never run
`playwright install`. Without a browser these tests are skipped locally and fail in CI (CI=true).
"""

from __future__ import annotations

import ast
import contextlib
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
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import course

ROOT = course.ROOT
COURSE_SETTINGS = ROOT / "jupyterlab-settings" / "overrides.json"
SCREENSHOTS = ROOT / "build" / "screenshots"

# On top of the course's settings, for the test server only: never autosave (it serves a copy
# anyway), and keep every cell attached to the page so that outputs can be read and counted.
TEST_SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOW_TO_INSTALL = ("install a browser with `apt-get install -y chromium` (Debian) and Playwright with "
                  "`pip install -r requirements.txt`, or point CHROMIUM at a Chromium binary; "
                  "never run `playwright install`")
SERVER_START_S = 180
NOTEBOOK_RUN_S = 600
VALIDATE_S = 400


def _course_notebooks(folder: str) -> list[Path]:
    """Every <folder>/<name>/<name>.ipynb (copies moved aside as *.edited-* are not the course)."""
    return sorted(p for p in (ROOT / folder).glob("*/*.ipynb") if p.stem == p.parent.name)


LEARNER = _course_notebooks("notebooks")
SOLUTIONS = _course_notebooks("solutions")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str):
    """A missing browser fails in CI (the suite must really run there) and skips elsewhere."""
    if _in_ci():
        pytest.fail(f"CI=true but {reason}: {HOW_TO_INSTALL}", pytrace=False)
    pytest.skip(f"{reason}; to run the browser tests, {HOW_TO_INSTALL}")


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


# ---------------------------------------------------------------------------------------------
# The server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path) -> Path:
    """The course as JupyterLab serves it to the test: learner notebooks, solutions and the
    nbgrader config (the `autograder` package is installed in the environment)."""
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "*.edited-*", "__pycache__")
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def lab_settings(dest: Path) -> Path:
    """An app settings folder: the course's overrides.json plus TEST_SETTINGS."""
    overrides = json.loads(COURSE_SETTINGS.read_text(encoding="utf-8"))
    for plugin, values in TEST_SETTINGS.items():
        overrides.setdefault(plugin, {}).update(values)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "overrides.json").write_text(json.dumps(overrides, indent=2), encoding="utf-8")
    return dest


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    workspaces: int = 0

    def api(self, method: str, path: str, timeout: float = 30):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self):
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def page_url(self, path: str) -> str:
        """A fresh workspace per page, so no page reopens (and restarts) earlier notebooks."""
        self.workspaces += 1
        return f"{self.url}/lab/workspaces/test{self.workspaces}/tree/{path}?reset&token={self.token}"


def _start_lab(tmp: Path) -> Lab:
    root = copy_course(tmp / "course")
    settings = lab_settings(tmp / "lab-settings")
    # repo-local Jupyter, IPython and matplotlib dirs come from conftest.py, via os.environ
    env = {**course.learner_environment(), "PYTHONWARNINGS": "ignore"}
    log = tmp / "jupyterlab.log"
    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        port, token = _free_port(), secrets.token_hex(24)
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.app_settings_dir={settings}",
            # the test's own user settings and workspaces: none of the learner's are read or written
            f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        ]
        with open(log, "ab") as out:
            # cwd: nbgrader's Validate reads nbgrader_config.py from the server's folder
            process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        lab = Lab(f"http://127.0.0.1:{port}", token, root, process, log)
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                lab.api("GET", "/api/status", timeout=5)
                return lab
            except OSError:
                time.sleep(0.5)
        _stop_lab(lab)
    raise RuntimeError(f"JupyterLab did not start; its log ends with:\n{lab.log_tail()}")


def _stop_lab(lab: Lab):
    if lab.process.poll() is None:
        try:
            lab.shut_down_kernels()
        except OSError:
            pass
        lab.process.send_signal(signal.SIGTERM)  # the server shuts its kernels down, then exits
        try:
            lab.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.process.pid, signal.SIGKILL)
            lab.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Fixtures


# Named fixtures: test_browser.py imports the *_fixture functions, and its tests ask for
# `chromium`, `lab`, `browser` and `page`.


@pytest.fixture(scope="module", name="chromium")
def chromium_fixture():
    path = find_chromium()
    if path is None:
        where = f" at CHROMIUM={os.environ['CHROMIUM']}" if os.environ.get("CHROMIUM") else ""
        _unavailable("no Chromium found" + where)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the Python package `playwright` is not installed")
    return path


@pytest.fixture(scope="module", name="lab")
def lab_fixture(chromium, tmp_path_factory):
    server = _start_lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        _stop_lab(server)


@contextlib.contextmanager
def launched_chromium(chromium: str, home: Path):
    """Debian's Chromium through Playwright, with `home` as its HOME (it writes nothing into ~)."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile of its own
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, env=env)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module", name="browser")
def browser_fixture(chromium, tmp_path_factory):
    with launched_chromium(chromium, tmp_path_factory.mktemp("browser-home")) as instance:
        context = instance.new_context(viewport={"width": 1400, "height": 1050})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(name="page")
def page_fixture(browser, lab):
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()
        lab.shut_down_kernels()  # one kernel at a time: each holds torch in memory


# ---------------------------------------------------------------------------------------------
# Reading and driving JupyterLab


STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const text = (el) => (el ? el.textContent : '');
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
  return {
    kernel: text(document.querySelector('#jp-main-statusbar span[title^="Change kernel"]')),
    indicator: (panel.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status || '',
    toasts: Array.from(document.querySelectorAll('.jp-toast-message, .Toastify__toast')).map(text),
    cells: cells.map((cell) => ({
      code: cell.classList.contains('jp-CodeCell'),
      prompt: cell.classList.contains('jp-CodeCell') ? text(cell.querySelector('.jp-InputArea-prompt')).trim() : '',
      source: text(cell.querySelector('.jp-InputArea-editor')).slice(0, 200),
      errors: Array.from(cell.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(text),
      images: cell.querySelectorAll('.jp-OutputArea-output img').length,
      output: text(cell.querySelector('.jp-OutputArea')).slice(-4000),
    })),
  };
}"""
ACTIVE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
  const selected = cells.filter(
    (c) => c.classList.contains('jp-mod-selected') || c.classList.contains('jp-mod-active'));
  return selected.length === 1 ? cells.indexOf(selected[0]) : -1;
}"""
TRACEBACK_HEAD = re.compile(r"^([A-Za-z_][\w.]*)\s+Traceback \(most recent call last\)", re.M)
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b")


def error_name(text: str) -> str:
    """The exception an error output shows ('stderr' for other text written to stderr)."""
    head = TRACEBACK_HEAD.search(text)
    if head:
        return head.group(1)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    match = EXCEPTION_LINE.match(lines[-1]) if lines else None
    return match.group(1) if match else "stderr"


@dataclass
class ErrorOutput:
    cell: int
    name: str
    text: str

    def __str__(self):
        return f"cell {self.cell}: {self.name}\n{self.text.strip()[-1500:]}"


@dataclass
class Run:
    """What the browser shows once a notebook has run."""

    code_cells: int = 0
    executed: int = 0
    errors: list[ErrorOutput] = field(default_factory=list)
    images: int = 0
    toasts: list[str] = field(default_factory=list)
    restarts: int = 0  # how often the run stopped at an error and was carried on from the next cell
    first_image: int | None = None  # the first cell showing a plot
    last_output: str = ""  # what the last code cell (the notebook's check.everything()) shows


def state(page):
    return page.evaluate(STATE_JS)


def executed(cell) -> bool:
    return bool(re.fullmatch(r"\[\d+\]:?", cell["prompt"]))


def open_notebook(page, lab: Lab, path: str):
    """Open a notebook and wait until all its cells are on the page and its kernel is idle."""
    cells = len(json.loads((lab.root / path).read_text(encoding="utf-8"))["cells"])
    page.goto(lab.page_url(path))
    page.wait_for_function(
        f"() => {{ const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');"
        f" return p && p.querySelectorAll('.jp-Notebook .jp-Cell').length === {cells}; }}",
        timeout=SERVER_START_S * 1000)
    page.wait_for_function(
        "() => (document.querySelector('#jp-main-statusbar span[title^=\"Change kernel\"]') || {})"
        ".textContent?.endsWith('| Idle')", timeout=SERVER_START_S * 1000)


def marked_modified(page) -> bool:
    """Does the current notebook's tab show JupyterLab's unsaved-changes dot?"""
    return page.evaluate("() => !!document.querySelector("
                         "'#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current.jp-mod-dirty')")


def menu(page, top: str, command: str):
    """Click a menu bar entry, then one of its items (by JupyterLab command id)."""
    page.locator("#jp-menu-panel .lm-MenuBar-item", has_text=re.compile(f"^{top}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def wait_settled(page, deadline: float, quiet_polls: int = 4):
    """Until no cell shows [*] and the kernel is idle, several polls in a row."""
    calm = 0
    while calm < quiet_polls:
        if time.monotonic() > deadline:
            raise AssertionError("the notebook was still running when the time limit came")
        s = state(page)
        running = any("*" in c["prompt"] for c in s["cells"])
        idle = s["kernel"].endswith("| Idle") and s["indicator"] in ("idle", "")
        calm = calm + 1 if idle and not running else 0
        time.sleep(0.5)
    return s


def select_cell(page, index: int):
    """Click a cell's prompt and make sure that cell, and only it, is the active one."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    for _ in range(5):
        cell.locator(".jp-InputArea-prompt").click()
        if page.evaluate(ACTIVE_JS) == index:
            return
        time.sleep(0.5)
    raise AssertionError(f"could not select cell {index} (the active cell is {page.evaluate(ACTIVE_JS)})")


def run_from(page, command: str, index: int, deadline: float):
    """Run a Run-menu command, wait until cell `index` has started, then until all is quiet."""
    menu(page, "Run", command)
    while state(page)["cells"][index]["prompt"] in ("[ ]:", ""):
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index} never started after {command}")
        time.sleep(0.2)
    return wait_settled(page, deadline)


def run_everything(page, timeout: float = NOTEBOOK_RUN_S) -> Run:
    """Run All; whenever the run stops at an error, select the first code cell that has not run
    and use Run > Run Selected Cell and All Below, until every code cell has run."""
    deadline = time.monotonic() + timeout
    first_code = next(i for i, c in enumerate(state(page)["cells"]) if c["code"])
    s = run_from(page, "runmenu:run-all", first_code, deadline)
    restarts = 0
    while True:
        waiting = [i for i, c in enumerate(s["cells"]) if c["code"] and not executed(c)]
        if not waiting:
            break
        if restarts > len(s["cells"]):
            raise AssertionError(f"cells {waiting} never ran")
        restarts += 1
        select_cell(page, waiting[0])
        # JupyterLab disables "Run Selected Cell and All Below" on the last cell (the notebooks
        # end with check.everything()): there, "Run Selected Cell and Do not Advance" is the same
        last = waiting[0] == len(s["cells"]) - 1
        s = run_from(page, "notebook:run-cell" if last else "notebook:run-all-below", waiting[0], deadline)
        if not executed(s["cells"][waiting[0]]):
            raise AssertionError(f"cell {waiting[0]} did not run after Run Selected Cell and All Below")
    cells = s["cells"]
    return Run(
        code_cells=sum(c["code"] for c in cells),
        executed=sum(c["code"] and executed(c) for c in cells),
        errors=[ErrorOutput(i, error_name(text), text) for i, c in enumerate(cells) for text in c["errors"]],
        images=sum(c["images"] for c in cells),
        toasts=s["toasts"],
        restarts=restarts,
        first_image=next((i for i, c in enumerate(cells) if c["images"]), None),
        last_output=next((c["output"] for c in reversed(cells) if c["code"]), ""),
    )


def screenshot(page, name: str, scroll_to=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if scroll_to is not None:
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(scroll_to) \
            .scroll_into_view_if_needed()
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def report(record_property, kind: str, path: Path, seconds: float, shot: Path, text: str):
    line = f"{kind:9s} {path.parent.name:28s} {seconds:6.1f} s  {text}"
    record_property("browser", f"{line}\n{'':10s}{shot.relative_to(ROOT)}")
    print(f"\n{line}\n          screenshot: {shot}")


def news_toasts(run: Run) -> list[str]:
    return [t for t in run.toasts if re.search(r"news|update", t, re.I)]


class _TopLevelNames(ast.NodeVisitor):
    """Names a cell binds at module level (not inside functions or classes)."""

    def __init__(self):
        self.names = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef  # noqa: N815 (ast.NodeVisitor names)

    def visit_Lambda(self, node):
        pass

    def visit_Import(self, node):
        self.names.update((a.asname or a.name).split(".")[0] for a in node.names)

    visit_ImportFrom = visit_Import  # noqa: N815 (ast.NodeVisitor names)


def bound_names(source: str) -> set[str]:
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    visitor = _TopLevelNames()
    visitor.visit(tree)
    return visitor.names


def knock_on_errors(errors: list[ErrorOutput], cells: list[dict]) -> list[ErrorOutput]:
    """NameErrors for a name that an earlier cell binds, where that earlier cell stopped (at an
    exercise's NotImplementedError, or at such a NameError itself) before binding it: the
    unfinished exercises' doing, e.g. `Q, K, V = project_qkv(...)` leaves Q undefined below."""
    stopped, follow = set(), []
    for error in sorted(errors, key=lambda e: e.cell):
        missing = re.search(r"name '(\w+)' is not defined", error.text)
        if error.name == "NotImplementedError":
            stopped.add(error.cell)
        elif error.name == "NameError" and missing and any(
                missing.group(1) in bound_names("".join(cells[i]["source"])) for i in stopped if i < error.cell):
            stopped.add(error.cell)
            follow.append(error)
    return follow


def validate(page, lab: Lab, path: Path, record_property, kind: str):
    """Open a notebook, press nbgrader's Validate button, return (title, body, classes) of the
    dialog it opens."""
    relative = path.relative_to(ROOT).as_posix()
    start = time.monotonic()
    open_notebook(page, lab, relative)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=VALIDATE_S * 1000)
    title = dialog.locator(".jp-Dialog-header").inner_text().strip()
    message = dialog.locator("#validation-message")
    body = message.inner_text() if message.count() else dialog.locator(".jp-Dialog-body").inner_text()
    classes = (message.get_attribute("class") or "") if message.count() else ""
    seconds = time.monotonic() - start
    shot = screenshot(page, f"validate-{kind}-{path.parent.name}")
    first_line = next((ln for ln in body.splitlines() if ln.strip()), "")
    report(record_property, "validate", path, seconds, shot, f"{kind}: {title}: {first_line!r}")
    dialog.locator(".jp-mod-accept").click()
    return title, body, classes
