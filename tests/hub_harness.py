"""The harness of tests/test_hub.py: a real JupyterHub on loopback, with OS users (root only).

- `course_environment()`: the single-user environment, a venv that every OS user can execute
  (the suite's own Python is a pyenv build under /root, mode 0700). It is made from Debian's
  /usr/bin/python3.11 under HUB_ENV (default /opt/attention-by-hand/hub-env), pip-installs
  requirements.txt (the same pins as `make test`), tests/hub-requirements.txt (JupyterHub: the
  hub runs from this environment too) and the course package, and is reused while those files
  (and, for the course package, autograder/) are unchanged.
- `http_proxy()`: configurable-http-proxy, installed from the npm registry into build/hub/node/.
- `OsUser`: a test user made with useradd, its password set with chpasswd (PAM logs it in).
- `Hub`: JupyterHub with PAM authentication and the default LocalProcessSpawner, so each
  single-user server runs as its OS user.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from autograder import course

ROOT = course.ROOT
ENV_DIR = Path(os.environ.get("HUB_ENV", "/opt/attention-by-hand/hub-env"))
HUB_REQUIREMENTS = ROOT / "tests" / "hub-requirements.txt"  # JupyterHub itself
SYSTEM_PYTHON = "/usr/bin/python3.11"  # Debian's: readable and executable by every user
PROXY_VERSION = "5.3.0"  # configurable-http-proxy, from the npm registry
PROXY_DIR = ROOT / "build" / "hub" / "node"
HUB_START_S = 120


def run(*command, check=True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], check=check, capture_output=True, text=True, **kwargs)


def as_user(user: str, *command, cwd=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    """Run a command as an OS user (runuser), in its home unless `cwd` is given."""
    home = pwd.getpwnam(user).pw_dir
    env = {"PATH": f"{ENV_DIR}/bin:/usr/bin:/bin", "HOME": home, "USER": user, "LANG": "C.UTF-8"}
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return run(runuser, "-u", user, "--", *command, cwd=cwd or home, env=env, check=check, timeout=timeout)


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        for f in sorted([path] if path.is_file() else path.rglob("*.py")):
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _apt_install(*packages: str):
    run("apt-get", "update", "-qq")
    run("apt-get", "install", "-y", "-qq", *packages, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def course_environment(lab_settings: dict) -> tuple[Path, float]:
    """The single-user venv (built or reused) and the seconds it took. `lab_settings` become its
    JupyterLab overrides.json (every user's JupyterLab reads them)."""
    started = time.monotonic()
    ENV_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(ENV_DIR.parent / ".hub-env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, however many test runs start
        python = ENV_DIR / "bin" / "python"
        packages = _digest(ROOT / "requirements.txt", HUB_REQUIREMENTS)
        stamp = ENV_DIR / ".requirements"
        if not (python.exists() and stamp.exists() and stamp.read_text() == packages):
            if not os.access(SYSTEM_PYTHON, os.X_OK):
                _apt_install("python3.11", "python3.11-venv")
            shutil.rmtree(ENV_DIR, ignore_errors=True)
            run(SYSTEM_PYTHON, "-m", "venv", ENV_DIR)
            run(python, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements.txt",
                "-r", HUB_REQUIREMENTS, timeout=1800)
            stamp.write_text(packages)
        code = _digest(ROOT / "pyproject.toml", ROOT / "autograder")
        code_stamp = ENV_DIR / ".course"
        if not (code_stamp.exists() and code_stamp.read_text() == code):
            # a real install (not --editable): the users cannot read this repository
            run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", ROOT, timeout=600)
            code_stamp.write_text(code)
        settings = ENV_DIR / "share" / "jupyter" / "lab" / "settings"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps(lab_settings, indent=2))
        run("chmod", "-R", "a+rX", ENV_DIR)
    return ENV_DIR, time.monotonic() - started


def http_proxy() -> Path:
    """configurable-http-proxy's command, npm-installed into build/hub/node/ on first use."""
    command = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        if shutil.which("npm") is None:
            _apt_install("nodejs", "npm")
        PROXY_DIR.mkdir(parents=True, exist_ok=True)
        run("npm", "install", "--prefix", PROXY_DIR, "--no-audit", "--no-fund",
            f"configurable-http-proxy@{PROXY_VERSION}", timeout=600)
    return command


@dataclass
class OsUser:
    name: str
    password: str
    home: Path

    @classmethod
    def create(cls, name: str, home: Path) -> OsUser:
        """A fresh OS user (a leftover of an earlier run is removed first) whose home, mode
        0700, is `home`; its password is set through chpasswd, for PAM."""
        remove_user(name)
        run("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash", name)
        home.chmod(0o700)
        password = secrets.token_urlsafe(12)
        run("chpasswd", input=f"{name}:{password}\n")
        return cls(name, password, home)


def remove_user(name: str, wait_s: float = 30):
    """Delete a test user once its processes (a kernel still shutting down) are gone; those
    still there after half of `wait_s` are sent SIGTERM, one by one."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    deadline = time.monotonic() + wait_s
    while pids := [int(p) for p in run("pgrep", "-u", name, check=False).stdout.split()]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"user {name} still runs processes {pids}")
        if time.monotonic() > deadline - wait_s / 2:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(0.5)
    run("userdel", name)
    run("groupdel", name, check=False)  # userdel keeps the group if another user is in it


HUB_CONFIG = """\
# Written by tests/hub_harness.py for one test run.
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {state!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = {users!r}
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

CONFIG_PATHS = {config_paths!r}


def pre_spawn_hook(spawner):
    # each role its own Jupyter config path: nbgrader's course and exchange, learner mode for students
    spawner.environment.update({{
        "JUPYTER_CONFIG_PATH": CONFIG_PATHS[spawner.user.name],
        "PATH": {path!r},
        "PYTHONWARNINGS": "ignore",
    }})


c.Spawner.pre_spawn_hook = pre_spawn_hook
"""


@dataclass
class Hub:
    url: str
    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, folder: Path, proxy: Path, env_dir: Path, config_paths: dict[str, str]) -> Hub:
        """JupyterHub (from the suite's own environment, as root) with its state in `folder`."""
        from jupyterlab_harness import _free_port

        state = folder / "hub"
        state.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):  # a free port can be taken between choosing and binding it
            hub = cls._start(state, proxy, env_dir, config_paths, _free_port(), _free_port(), _free_port())
            if hub is not None:
                return hub
        raise RuntimeError(f"JupyterHub did not start; its log ends with:\n{cls.log_tail(state)}")

    @classmethod
    def _start(cls, state, proxy, env_dir, config_paths, port, hub_port, api_port) -> Hub | None:
        config = state / "jupyterhub_config.py"
        config.write_text(HUB_CONFIG.format(
            port=port, hub_port=hub_port, api_port=api_port, proxy=str(proxy), state=str(state),
            users=set(config_paths), singleuser=str(env_dir / "bin" / "jupyterhub-singleuser"),
            config_paths=config_paths, path=f"{env_dir}/bin:/usr/local/bin:/usr/bin:/bin"))
        log = state / "jupyterhub.log"
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
               "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
        with open(log, "ab") as out:  # the hub runs (as root) from the single-user environment
            process = subprocess.Popen([str(env_dir / "bin" / "python"), "-m", "jupyterhub", "-f", str(config)],
                                       cwd=state,
                                       env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        hub = cls(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=5) as response:
                    if response.status == 200:
                        return hub
            except OSError:
                time.sleep(0.5)
        hub.stop()
        return None

    @staticmethod
    def log_tail(state: Path, chars: int = 6000) -> str:
        log = state / "jupyterhub.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def stop(self):
        """SIGTERM: the hub stops every single-user server (cleanup_servers) and its proxy."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
