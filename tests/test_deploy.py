"""deploy/ (the course on Zero to JupyterHub) checked as far as it can be without a cluster:
the Helm values name only options the jupyterhub chart has and only settings KubeSpawner has
(lists derived from their sources: deploy/keys/, deploy/derive_keys.py), the roles, the exchange
and the image fit together, the image installs only the pinned files, and the README uses them.
Nothing here builds the image or talks to Kubernetes (deploy/README.md says what is untested)."""

import copy
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from packaging.requirements import Requirement
from traitlets.config import Config

from autograder import course, nbgrader_setup

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART_VERSION = "4.4.0"  # the jupyterhub chart deploy/values.yaml is written for
HUB_VERSION = "5.5.0"  # the JupyterHub that chart runs, which the image's jupyterhub-singleuser must match
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXCHANGE = "/srv/nbgrader/exchange"
PROFILE_KEYS = {"display_name", "slug", "description", "default", "kubespawner_override", "profile_options"}


def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def key_list(name: str) -> tuple[str, list[str]]:
    """(the `#` line saying where the list comes from, its entries)."""
    lines = (DEPLOY / "keys" / name).read_text().splitlines()
    assert lines[0].startswith("# ")
    return lines[0], [line for line in lines[1:] if line]


def chart_patterns() -> list[list[str]]:
    """The chart's key paths, split into segments (a `<regex>` segment may hold dots)."""
    return [re.findall(r"<[^>]*>|[^.]+", line) for line in key_list(f"jupyterhub-chart-{CHART_VERSION}.txt")[1]]


def key_paths(tree: dict, prefix: tuple = ()):
    """Every key path of a values tree; lists are values, not descended into."""
    for key, value in tree.items():
        path = prefix + (str(key),)
        yield path
        if isinstance(value, dict):
            yield from key_paths(value, path)


def _segment_matches(pattern: str, key: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("<"):
        return re.fullmatch(pattern[1:-1], key) is not None
    return pattern == key


def allowed(path: tuple, patterns: list[list[str]]) -> bool:
    for pattern in patterns:
        if pattern[-1] == "**":
            head = pattern[:-1]
            if len(path) > len(head) and all(map(_segment_matches, head, path)):
                return True
        elif len(pattern) == len(path) and all(map(_segment_matches, pattern, path)):
            return True
    return False


def unknown_keys(tree: dict) -> list[str]:
    patterns = chart_patterns()
    return [".".join(path) for path in key_paths(tree) if not allowed(path, patterns)]


def test_the_key_lists_name_their_sources():
    chart_origin, chart_keys = key_list(f"jupyterhub-chart-{CHART_VERSION}.txt")
    assert f"chart {CHART_VERSION}" in chart_origin and "values.schema.yaml" in chart_origin
    spawner_origin, _ = key_list("kubespawner-7.0.0.txt")
    assert "KubeSpawner 7.0.0" in spawner_origin and f"JupyterHub {HUB_VERSION}" in spawner_origin
    for expected in ("singleuser.memory.limit", "singleuser.profileList", "cull.timeout", "hub.extraConfig.**"):
        assert expected in chart_keys


def test_values_parse_and_name_only_options_the_chart_has():
    tree = values()
    assert set(tree) <= {"hub", "singleuser", "cull", "prePuller", "proxy", "scheduling", "ingress"}
    assert unknown_keys(tree) == []


@pytest.mark.parametrize("path, misspelt", [
    (("singleuser", "memory"), "limt"),
    (("singleuser",), "profilelist"),
    ((), "singleusers"),
    (("hub", "config"), "authenticator"),  # traitlets sections are class names: capitalised
    (("cull",), "timeOut"),
])
def test_a_misspelt_key_is_caught(path, misspelt):
    tree = copy.deepcopy(values())
    node = tree
    for key in path:
        node = node.setdefault(key, {})
    node[misspelt] = 1
    assert unknown_keys(tree) == [".".join(path + (misspelt,))]


def test_profiles_change_only_settings_kubespawner_has():
    traits = set(key_list("kubespawner-7.0.0.txt")[1])
    profiles = values()["singleuser"]["profileList"]
    for profile in profiles:
        assert set(profile) <= PROFILE_KEYS, profile["display_name"]
        assert set(profile["kubespawner_override"]) <= traits, profile["display_name"]
    assert "mem_limit" in traits and "mem_limt" not in traits


def profiles_offered(groups: list[str]) -> list[str]:
    """Run the values' hub.extraConfig as the hub would, after the chart has set profile_list."""
    tree = values()
    c = Config()
    c.KubeSpawner.profile_list = tree["singleuser"]["profileList"]
    for code in tree["hub"]["extraConfig"].values():
        exec(compile(code, "hub.extraConfig", "exec"), {"c": c})
    user = SimpleNamespace(id=7, groups=[SimpleNamespace(name=g) for g in groups])
    spawner = SimpleNamespace(user=user)
    assert c.KubeSpawner.uid(spawner) == 10007, "every user's server runs under its own uid"
    return [p["slug"] for p in c.KubeSpawner.profile_list(spawner)]


def test_only_instructors_are_offered_the_instructor_profile():
    assert profiles_offered(["instructors"]) == ["instructor", "student"]
    assert profiles_offered([]) == ["student"]
    assert profiles_offered(["students"]) == ["student"]
    hub = values()["hub"]["config"]
    (instructor,) = hub["JupyterHub"]["load_groups"]["instructors"]["users"]
    assert instructor in hub["Authenticator"]["admin_users"]


def test_roles_get_their_image_mode_and_resources():
    single = values()["singleuser"]
    profiles = {p["slug"]: p["kubespawner_override"] for p in single["profileList"]}
    image = single["image"]["name"]
    assert single["image"]["tag"] == "learner"
    assert profiles["instructor"]["image"] == f"{image}:instructor"
    assert "image" not in profiles["student"]
    assert single["extraEnv"]["COURSE_ROLE"] == profiles["student"]["environment"]["COURSE_ROLE"] == "learner"
    assert profiles["instructor"]["environment"]["COURSE_ROLE"] == "instructor"
    for resource in ("cpu", "memory"):
        assert {"limit", "guarantee"} <= set(single[resource])
    assert float(single["cpu"]["guarantee"]) <= float(single["cpu"]["limit"])
    assert values()["cull"]["enabled"] is True and values()["cull"]["users"] is False


def test_the_exchange_is_one_shared_volume_every_server_mounts():
    single = values()["singleuser"]
    (volume,) = [v for v in single["storage"]["extraVolumes"] if v["name"] == "nbgrader-exchange"]
    (mount,) = [m for m in single["storage"]["extraVolumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == single["extraEnv"]["NBGRADER_EXCHANGE_ROOT"] == EXCHANGE
    claim, job = yaml.safe_load_all((DEPLOY / "exchange.yaml").read_text())
    assert claim["kind"] == "PersistentVolumeClaim" and "ReadWriteMany" in claim["spec"]["accessModes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert pod["containers"][0]["command"][-1] == EXCHANGE


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages() -> dict[str, list[tuple[str, str]]]:
    named, current = {}, None
    for op, args in dockerfile():
        if op == "FROM":
            current = named.setdefault(args.split()[-1], [])
        current.append((op, args))
    return named


def pip_installs(stage) -> list[list[str]]:
    return [shlex.split(args)[2:] for op, args in stage if op == "RUN" and args.startswith("pip install")]


def test_the_image_is_python_311_as_environment_yml_asks():
    (from_line,) = [args.split() for op, args in stages()["learner"] if op == "FROM"]
    base, _, name = from_line
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert re.fullmatch(r"python:(\d+\.\d+)-[\w.-]+", base).group(1) == python.split("=")[1]
    assert name == "learner"


def test_the_image_installs_only_the_pinned_files():
    learner = stages()["learner"]
    installs = pip_installs(learner)
    assert installs == [
        ["--extra-index-url", CPU_INDEX, "-r", "requirements.txt", f"jupyterhub=={HUB_VERSION}"],
        ["--no-deps", "--editable", "."],
    ]
    pins = {Requirement(line).name: str(Requirement(line).specifier)
            for line in (ROOT / "requirements.txt").read_text().splitlines() if line.split("#")[0].strip()}
    assert pins["torch"] == "==2.13.0", "the CPU index serves this exact torch"
    assert "jupyterhub" not in pins or pins["jupyterhub"] == f"=={HUB_VERSION}"
    assert not any(op == "RUN" and re.search(r"\b(pip|conda|mamba|uv)\b", args) and "pip install" not in args
                   for stage in stages().values() for op, args in stage)
    assert pip_installs(stages()["instructor"]) == []


def copied(stage) -> set[str]:
    return {src.rstrip("/") for op, args in stage if op == "COPY" for src in args.split()[:-1]}


def test_the_image_holds_the_course_and_students_get_no_solutions():
    learner, instructor = stages()["learner"], stages()["instructor"]
    steps = [f"{op} {args}" for op, args in learner]
    order = [next(i for i, s in enumerate(steps) if s.startswith(prefix)) for prefix in (
        "COPY requirements.txt", "RUN pip install --extra-index-url", "COPY pyproject.toml",
        "COPY autograder/", "RUN pip install --no-deps --editable .")]
    assert order == sorted(order), "requirements first, then the course package is copied and installed"
    needed = {"notebooks", "jupyter-config", "start", "deploy/start-course", "deploy/nbgrader_config.py"}
    assert needed <= copied(learner)
    assert "solutions" not in copied(learner)
    assert {"solutions", "nbgrader_config.py"} <= copied(instructor)
    assert ("FROM", "learner AS instructor") in instructor
    entry = {op: json.loads(args) for op, args in learner if op in ("ENTRYPOINT", "CMD")}
    assert entry["ENTRYPOINT"] == ["/usr/local/bin/start-course"], "every server starts through the role switch"
    assert entry["CMD"] == [values()["singleuser"]["cmd"]] == ["jupyterhub-singleuser"]
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for src in copied(learner) | copied(instructor):
        assert f"!{src}" in ignored or f"!{src}/" in ignored, f"{src} is left out of the build context"


def run_start(tmp_path, role: str) -> tuple[str, Path]:
    """Run deploy/start-course with `env` as the server, on a stand-in course folder."""
    course_dir = tmp_path / "course"
    (course_dir / "solutions").mkdir(parents=True, exist_ok=True)
    (course_dir / "start").write_text((ROOT / "start").read_text())
    (course_dir / "start").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "COURSE_DIR": str(course_dir), "COURSE_ROLE": role,
           "COURSE_COPY": str(home / "attention-by-hand")}
    out = subprocess.run([DEPLOY / "start-course", "env"], env=env, capture_output=True, text=True, check=True)
    return out.stdout, home


def test_students_start_in_learner_mode(tmp_path):
    out, home = run_start(tmp_path, "learner")
    assert f"JUPYTER_CONFIG_PATH={tmp_path}/course/jupyter-config/learner" in out.splitlines()
    assert not (home / "attention-by-hand").exists()


def test_an_instructor_gets_every_tool_and_a_copy_of_the_course(tmp_path):
    out, home = run_start(tmp_path, "instructor")
    assert "JUPYTER_CONFIG_PATH" not in out
    assert (home / "attention-by-hand" / "solutions").is_dir()
    (home / "attention-by-hand" / "grading").mkdir()
    run_start(tmp_path, "instructor")
    assert (home / "attention-by-hand" / "grading").is_dir(), "a later start keeps the instructor's course"


def image_nbgrader_config(monkeypatch, **env) -> Config:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    c = Config()
    exec((DEPLOY / "nbgrader_config.py").read_text(), {"get_config": lambda: c})
    return c


def test_nbgrader_uses_the_shared_exchange_and_the_instructors_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_ROLE", raising=False)
    c = image_nbgrader_config(monkeypatch, NBGRADER_EXCHANGE_ROOT=EXCHANGE)
    assert c.Exchange.root == EXCHANGE and "root" not in c.CourseDirectory
    c = image_nbgrader_config(monkeypatch, COURSE_ROLE="instructor", COURSE_COPY=str(tmp_path))
    assert c.CourseDirectory.root == str(tmp_path)
    # the course's own configuration, loaded from that root last, keeps the shared exchange
    course_config = nbgrader_setup.configure(Config(), root=str(tmp_path))
    assert course_config.Exchange.root == EXCHANGE
    monkeypatch.delenv("NBGRADER_EXCHANGE_ROOT")
    local = nbgrader_setup.configure(Config(), root=str(tmp_path))
    assert local.Exchange.root == str(tmp_path / "grading" / "exchange")


def test_without_solutions_the_course_still_knows_its_assignments(monkeypatch, tmp_path):
    """The student image has notebooks/ but no solutions/; the in-notebook self-check finds its
    assignment through course.assignments()."""
    everything = course.assignments()
    assert everything
    monkeypatch.setattr(course, "SOLUTIONS", tmp_path / "absent")
    assert course.assignments() == everything


def test_the_readme_uses_both_files_with_the_chart_version():
    guide = (DEPLOY / "README.md").read_text()
    for needed in ("deploy/Dockerfile", "deploy/values.yaml", "deploy/exchange.yaml",
                   f"--version {CHART_VERSION}", "--target instructor", "helm upgrade --install"):
        assert needed in guide, needed
    assert re.search(r"(?i)untested on a cluster", guide)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**Beyond one machine.**"):].split("\n\n")[0]
    assert "deploy/README.md" in section and "deploy/values.yaml" in section and "deploy/Dockerfile" in section
