"""The classroom on a real JupyterHub (harness: tests/hub_harness.py), driven through Chromium.

JupyterHub (PyPI) and configurable-http-proxy (npm) run on loopback; PAM logs in three OS users
made by the test (one instructor, two students), and each single-user server runs as its user
in a shared environment that holds the course. nbgrader's exchange is a shared folder.

1. The instructor generates and releases 01_similarity from Formgrader.
2. Each student fetches it in the Assignments tab, types answers (student 1 all, student 2
   one), runs the notebook's self-check `check.everything()`, saves and submits.
3. On disk, as the OS users: a student cannot read the other's work, list the exchange's
   inbound folder, or read the instructor's solutions/ or collected submissions. (nbgrader's
   exchange itself hides a submission by its folder's name, which holds a timestamp and a random
   string, in an inbound folder nobody but its owner can list; its files are world-readable.)
4. The instructor collects and autogrades with stock nbgrader and with `python -m autograder
   grade`: the same scores, which are the self-check's too. Feedback is generated and
   released, and each student fetches it in the Assignments tab.

Needs root (to make users; otherwise skipped with one line, never under CI=true), Chromium and
Playwright. Screenshots: build/screenshots/hub-*.png.
"""

import csv
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
import support
from hub_harness import ROOT, Hub, OsUser, as_user, course_environment, http_proxy, remove_user, run
from jupyterlab_harness import (
    COURSE_SETTINGS,
    TEST_SETTINGS,
    _in_ci,
    executed,
    find_chromium,
    launched_chromium,
    menu,
    run_from,
    screenshot,
    select_cell,
    state,
    wait_settled,
)

from autograder.nbgrader_setup import COURSE_ID

pytestmark = pytest.mark.xdist_group("hub")

ASSIGNMENT = "01_similarity"
INSTRUCTOR = "abh-instructor"
STUDENTS = ("abh-student1", "abh-student2")
STEP_S = 240  # the longest a single browser step may take (a server start, a notebook run)

# learner mode on the hub is the course's own (`make lab`, Binder, deploy/): the Assignments tab stays
STUDENT_PAGE_CONFIG = json.loads((ROOT / "jupyter-config" / "learner" / "labconfig" / "page_config.json").read_text())
INSTRUCTOR_CONFIG = """\
from autograder.nbgrader_setup import configure
c = get_config()  # noqa: F821
configure(c, root={root!r})
c.Exchange.root = {exchange!r}
"""
STUDENT_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
"""


def _require_root_and_browser():
    problems = []
    if os.geteuid() != 0:
        problems.append("root (it creates OS users)")
    if find_chromium() is None:
        problems.append("Chromium (apt-get install -y chromium)")
    if problems:
        message = "the JupyterHub test needs " + " and ".join(problems)
        if _in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)


def log_in(browser, hub, user: OsUser):
    """A browser context of its own (its own cookies), logged in through the hub's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(STEP_S * 1000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user.name)
    page.fill("#password_input", user.password)
    page.click("#login_submit")
    page.wait_for_url(lambda url: urllib.parse.urlsplit(url).path.startswith(f"/user/{user.name}/lab"))
    page.locator("#jp-main-dock-panel").wait_for()
    return page


def assignments_tab(page):
    """Open nbgrader's Assignments tab from the Nbgrader menu; wait for its lists to load."""
    menu(page, "Nbgrader", "nbgrader:open-assignment-list")
    page.locator("#released_assignments_list_loading").wait_for(state="hidden")
    page.locator("#fetched_assignments_list_loading").wait_for(state="hidden")


def open_notebook(page, hub, user: OsUser, path: str):
    cells = len(json.loads((user.home / path).read_text())["cells"])
    page.goto(f"{hub.url}/user/{user.name}/lab/tree/{path}")
    page.wait_for_function(
        f"() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length === {cells}")
    page.wait_for_function(
        "() => (document.querySelector('#jp-main-statusbar span[title^=\"Change kernel\"]') || {})"
        ".textContent?.endsWith('| Idle')")


def type_answer(page, index: int, code: str):
    """Replace the source of cell `index` with `code`, as typed text (no auto-indent)."""
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index) \
        .locator(".jp-InputArea-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)


def run_then_check(page) -> str:
    """Run All (it stops at the first exercise left undone), then the last cell, the notebook's
    `check.everything()`, as a learner would; return what that cell shows."""
    deadline = time.monotonic() + STEP_S
    cells = state(page)["cells"]
    first_code = next(i for i, c in enumerate(cells) if c["code"])
    run_from(page, "runmenu:run-all", first_code, deadline)
    last = len(cells) - 1
    if not executed(state(page)["cells"][last]):
        select_cell(page, last)
        page.keyboard.press("Control+Enter")
        while not executed(state(page)["cells"][last]):
            assert time.monotonic() < deadline, "check.everything() never ran"
            time.sleep(0.2)
    return wait_settled(page, deadline)["cells"][last]["output"]


def denied(user: str, *command) -> bool:
    """True if `command`, run as the OS user, fails with a permission error."""
    result = as_user(user, *command, check=False, cwd="/")
    return result.returncode != 0 and "Permission denied" in result.stderr


@pytest.fixture(scope="module")
def classroom():
    """Users, folders and a running hub; everything is removed afterwards."""
    _require_root_and_browser()
    timings = {}
    lab_settings = json.loads(COURSE_SETTINGS.read_text())
    for plugin, values in TEST_SETTINGS.items():
        lab_settings.setdefault(plugin, {}).update(values)
    env_dir, timings["environment"] = course_environment(lab_settings)
    proxy = http_proxy()

    top = Path(tempfile.mkdtemp(prefix="abh-hub-"))
    top.chmod(0o755)  # every user walks through it to the exchange and the config folders
    exchange = top / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # as nbgrader's docs set up /srv/nbgrader/exchange
    (top / "home").mkdir()
    users = {name: OsUser.create(name, top / "home" / name) for name in (INSTRUCTOR, *STUDENTS)}
    try:
        teacher = users[INSTRUCTOR]
        course_root = teacher.home / "course"  # the instructor's private copy of the course
        for folder in ("solutions", "notebooks", "autograder"):
            shutil.copytree(ROOT / folder, course_root / folder,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.edited-*"))
        config_text = INSTRUCTOR_CONFIG.format(root=str(course_root), exchange=str(exchange))
        (course_root / "nbgrader_config.py").write_text(config_text)
        configs = {"instructor": top / "config" / "instructor", "student": top / "config" / "student"}
        configs["instructor"].mkdir(parents=True)
        (configs["instructor"] / "nbgrader_config.py").write_text(config_text)
        (configs["student"] / "labconfig").mkdir(parents=True)
        (configs["student"] / "nbgrader_config.py").write_text(
            STUDENT_CONFIG.format(course=COURSE_ID, exchange=str(exchange)))
        shutil.copy(ROOT / "jupyter-config" / "learner" / "jupyter_server_config.json", configs["student"])
        (configs["student"] / "labconfig" / "page_config.json").write_text(json.dumps(STUDENT_PAGE_CONFIG))
        run("chown", "-R", f"{teacher.name}:{teacher.name}", course_root)
        run("chmod", "-R", "a+rX", top / "config")

        paths = {name: str(configs["instructor" if name == INSTRUCTOR else "student"]) for name in users}
        started = time.monotonic()
        hub = Hub.start(top, proxy, env_dir, paths)
        timings["hub start"] = time.monotonic() - started
        try:
            yield {"hub": hub, "users": users, "course": course_root, "exchange": exchange,
                   "env": env_dir, "timings": timings}
        finally:
            hub.stop()
            (ROOT / "build" / "hub").mkdir(parents=True, exist_ok=True)
            shutil.copy(hub.log, ROOT / "build" / "hub" / "jupyterhub.log")
    finally:
        try:
            for name in users:
                remove_user(name)
        finally:
            shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(classroom):
    home = Path(tempfile.mkdtemp(prefix="abh-hub-browser-"))
    try:
        with launched_chromium(find_chromium(), home) as instance:
            yield instance
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_classroom_on_jupyterhub(classroom, browser, record_property):
    started = time.monotonic()
    hub, users, course_root = classroom["hub"], classroom["users"], classroom["course"]
    timings = classroom["timings"]
    teacher = users[INSTRUCTOR]
    step = time.monotonic()

    # 1. The instructor generates and releases the assignment from Formgrader.
    page = log_in(browser, hub, teacher)
    page.goto(f"{hub.url}/user/{teacher.name}/formgrader/manage_assignments")
    row = page.locator("tr", has=page.locator("td a", has_text=re.compile(f"^{ASSIGNMENT}$")))
    row.locator(".glyphicon-education").click()  # Generate
    page.locator("#success-modal").wait_for()
    page.locator("#success-modal button.close, #success-modal .btn-primary").first.click()
    page.locator("#success-modal").wait_for(state="hidden")
    row.locator(".glyphicon-cloud-upload").click()  # Release
    page.locator("#success-modal").wait_for()
    page.locator("#success-modal button.close, #success-modal .btn-primary").first.click()
    page.locator("#success-modal").wait_for(state="hidden")
    row.locator(".label-success", has_text="released").wait_for()
    screenshot(page, "hub-1-instructor-formgrader-released")
    outbound = classroom["exchange"] / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.exists(), "Formgrader's Release put nothing into the exchange"
    page.context.close()
    timings["instructor releases"] = time.monotonic() - step

    # 2. Each student fetches, answers, self-checks, saves and submits in the browser.
    learner = support.read(course_root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    answers = support.solution_code(ASSIGNMENT)
    first = next(iter(answers))
    typed = {STUDENTS[0]: answers, STUDENTS[1]: {first: answers[first]}}
    selfcheck = {}
    for number, name in enumerate(STUDENTS, 1):
        step = time.monotonic()
        student = users[name]
        page = log_in(browser, hub, student)
        assert page.request.get(f"{hub.url}/user/{name}/formgrader").status == 404, "a student reached Formgrader"
        assignments_tab(page)
        released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
        released.locator("button", has_text="Fetch").click()
        page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
        screenshot(page, f"hub-2-student{number}-fetched")
        path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        assert (student.home / path).exists(), f"{name}: the fetched notebook is not in the home folder"

        open_notebook(page, hub, student, path)
        for index, cell in enumerate(learner.cells):
            if support.grade_id(cell) in typed[name] and cell.metadata.get("nbgrader", {}).get("solution"):
                type_answer(page, index, typed[name][support.grade_id(cell)])
        selfcheck[name] = support.self_check_score(run_then_check(page))
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").last.scroll_into_view_if_needed()
        screenshot(page, f"hub-3-student{number}-selfcheck")
        menu(page, "File", "docmanager:save")
        page.wait_for_function("() => !document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty')")
        saved = support.read(student.home / path)
        assert any(typed[name][first] in c.source for c in saved.cells), f"{name}: the answer was not saved"

        assignments_tab(page)
        fetched = page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
        fetched.locator("button", has_text="Submit").click()
        page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
        screenshot(page, f"hub-4-student{number}-submitted")
        page.context.close()
        timings[f"student {number} fetches, answers, checks, submits"] = time.monotonic() - step
    full_marks, most = selfcheck[STUDENTS[0]]
    assert full_marks == most > selfcheck[STUDENTS[1]][0] > 0, selfcheck

    # 3. What the OS users can read. (Positive control first: a student reads its own work.)
    one, two = STUDENTS
    own = users[one].home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert as_user(one, "cat", own, check=False).returncode == 0
    assert denied(two, "cat", own), "a student read the other's notebook"
    assert denied(two, "ls", classroom["exchange"] / COURSE_ID / "inbound"), "a student listed the submissions"
    assert denied(two, "cat", course_root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), \
        "a student read the instructor's solutions/"

    # 4. The instructor collects and grades twice; the feedback goes back to the students.
    step = time.monotonic()
    nbgrader = lambda *args: as_user(INSTRUCTOR, "nbgrader", *args, cwd=course_root)  # noqa: E731
    nbgrader("collect", ASSIGNMENT)
    collected = course_root / "grading" / "submitted" / one / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert collected.exists()
    assert denied(two, "cat", collected), "a student read a collected submission"
    nbgrader("autograde", ASSIGNMENT)
    nbgrader("export", "--to", course_root / "nbgrader.csv")
    timings["nbgrader collect + autograde"] = time.monotonic() - step
    step = time.monotonic()
    as_user(INSTRUCTOR, "python", "-m", "autograder", "grade", course_root / "grading" / "submitted",
            "--jobs", "2", "--quiet", "--csv", course_root / "autograder.csv", cwd=course_root)
    timings["python -m autograder grade"] = time.monotonic() - step
    theirs = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course_root / "nbgrader.csv"))
              if r["assignment"] == ASSIGNMENT}
    ours = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course_root / "autograder.csv"))}
    assert theirs == ours == {name: selfcheck[name][0] for name in STUDENTS}, (theirs, ours, selfcheck)

    step = time.monotonic()
    nbgrader("generate_feedback", ASSIGNMENT)
    nbgrader("release_feedback", ASSIGNMENT)
    for number, name in enumerate(STUDENTS, 1):
        page = log_in(browser, hub, users[name])
        assignments_tab(page)
        submitted = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
        submitted.locator("button", has_text="Fetch Feedback").click()
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.wait_for()
        screenshot(page, f"hub-5-student{number}-feedback")
        pages = list((users[name].home / ASSIGNMENT / "feedback").rglob("*.html"))
        assert pages, f"{name} received no feedback"
        got, most = selfcheck[name]
        headline = f"{ASSIGNMENT} (Score: {round(got, 2)} / {round(most, 2)})"
        assert headline in pages[0].read_text(), f"{name}'s feedback does not say {headline!r}"
        page.context.close()
    timings["feedback"] = time.monotonic() - step

    timings["browser flow total"] = time.monotonic() - started
    lines = [f"{what:52s} {seconds:6.1f} s" for what, seconds in timings.items()]
    record_property("hub", "\n".join(lines))
    print("\nJupyterHub classroom timings\n" + "\n".join(lines))
