"""The sandbox one submission runs in: the kernel's own mechanisms, applied in the forked child.

`confine` turns a freshly forked child of the warm parent into a confined process, in this order:

1. new user, PID, network, IPC and mount namespaces (`unshare`): the submission sees no network,
   no other process (it cannot signal the grader or a classmate's job) and gets its own mounts;
2. a fork: the grandchild is PID 1 of the new PID namespace, and when it ends the kernel kills
   everything it started, so nothing a submission starts outlives it; the middle process only
   waits and passes the exit status on (the parent kills the middle on time-out, and the
   grandchild follows by its parent-death signal);
3. in the grandchild: every inherited file descriptor but the result pipe is closed (no
   sibling's pipe, no terminal), its own /proc (it sees only its own processes), a size-limited tmpfs on the scratch folder, resource limits (address space,
   CPU time, processes, file size, open files, no core dumps), every capability dropped,
   no_new_privs, then Landlock: the filesystem is read-only where Python and the system live,
   the course's own package is readable, and everything else (solutions/, the gradebook, other
   submissions, the user's home) can be neither read nor written; only the scratch folder is
   writable. Landlock also refuses TCP and signals to processes outside the sandbox.

Each step that the machine lacks is skipped and named (`probe` tells the parent once per batch),
so grading goes on with the protections that exist. An audit hook records what the learner's
code tried that the sandbox stops (writing outside its folder, reading hidden files, starting
processes, signals, sockets) so the verdict can name it; the hook only reports: the kernel is
what enforces.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import course

# Linux constants (include/uapi/linux/sched.h, prctl.h, landlock.h, mount.h).
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 1, 38, 4
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ALL_V1 = (1 << 13) - 1  # execute ... make_sym
FS_REFER, FS_TRUNCATE = 1 << 13, 1 << 14
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Memory is address space beyond what the warm parent already
    maps (torch maps a lot it never touches); processes counts threads too."""

    memory_mb: int = 4096
    cpu_seconds: int = 300
    processes: int = 64
    file_mb: int = 64
    scratch_mb: int = 256
    open_files: int = 512


# Where a Python and its system libraries live: readable, never writable.
_SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys", "/dev")


@dataclass
class Plan:
    """Decided once per batch in the parent: what a confined child may read."""

    readable: list[str]
    hidden: list[str]  # what must stay unreadable (the course tree, the submissions folder)
    limits: Limits = field(default_factory=Limits)
    off: list[str] = field(default_factory=list)  # protections this machine cannot give


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def make_plan(hidden=(), limits: Limits | None = None) -> Plan:
    """The read allow-list: the system, every Python prefix and import path, the course's own
    package; never the course folder itself (solutions/, gradebook) nor `hidden` folders."""
    root = os.path.realpath(course.ROOT)
    hidden = [root, *(os.path.realpath(h) for h in hidden)]
    candidates = [*_SYSTEM, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  *sys.path, os.path.dirname(os.path.realpath(sys.executable)),
                  str(Path(__file__).resolve().parents[1])]  # the autograder package
    for var in ("MPLCONFIGDIR", "IPYTHONDIR"):
        if os.environ.get(var):
            candidates.append(os.environ[var])
    try:
        import matplotlib
        candidates.append(matplotlib.get_data_path())
    except ImportError:
        pass
    readable = []
    for path in candidates:
        real = os.path.realpath(path) if path else ""
        if not real or not os.path.exists(real) or real in readable:
            continue
        # A path that contains the course (or a hidden folder) would open all of it: skip it.
        if any(_beneath(h, real) for h in hidden):
            continue
        readable.append(real)
    off = [f"hiding {h}: it lies inside {r}, which Python needs to read"
           for h in hidden for r in readable if _beneath(h, r)]
    return Plan(readable, hidden, limits or Limits(), off)


# ---------------------------------------------------------------------------------------------
# The kernel calls, through libc.

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _syscall(number: int, *args) -> int:
    return _libc.syscall(ctypes.c_long(number), *args)


def landlock_abi() -> int:
    """Landlock's ABI version, or 0 where the kernel lacks it (or has it off)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(version, 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(readable: list[str], writable: list[str]) -> list[str]:
    """Restrict this process (and all it starts) to reading `readable` and writing `writable`;
    returns what could not be restricted on this kernel."""
    abi = landlock_abi()
    if abi < 1:
        return ["filesystem (Landlock is not available in this kernel)"]
    fs_all = FS_ALL_V1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(fs_all, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _check(_syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                              ctypes.c_uint32(0)), "landlock_create_ruleset")
    file_rights = FS_EXECUTE | FS_READ_FILE | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0)
    try:
        rules = [(p, FS_READ) for p in readable] + [(p, fs_all) for p in writable]
        rules += [("/dev/null", FS_READ_FILE | FS_WRITE_FILE)]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            if not os.path.isdir(path):
                rights &= file_rights
            try:
                rule = _PathBeneath(rights, fd)
                _check(_syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule),
                                ctypes.c_uint32(0)), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    off = []
    if abi < 4:
        off.append("TCP (Landlock older than ABI 4)")
    if abi < 6:
        off.append("signals outside the sandbox (Landlock older than ABI 6)")
    return off


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _namespaces() -> list[str]:
    """New user, PID, network, IPC and mount namespaces for this (single-threaded) process;
    the user namespace maps our own user id to itself. Returns what could not be had."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS) == 0:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        return []
    err = os.strerror(ctypes.get_errno())
    if uid == 0 and _libc.unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS) == 0:
        return [f"the process limit (no user namespace: {err})"]
    return [f"network, process isolation and the process limit (no namespaces: {err})"]


def _drop_capabilities() -> None:
    """No capability left, in any namespace (what the user namespace granted included)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")


def _limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, value))


def _address_space() -> int:
    """Bytes this process maps now (VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limits(limits: Limits) -> None:
    _limit(resource.RLIMIT_AS, _address_space() + limits.memory_mb * MIB)
    soft_cpu = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime) + limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu, soft_cpu + 5))
    _limit(resource.RLIMIT_NPROC, limits.processes)
    _limit(resource.RLIMIT_FSIZE, limits.file_mb * MIB)
    _limit(resource.RLIMIT_NOFILE, limits.open_files)
    _limit(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing
    # PID 1 of a namespace ignores signals it has no handler for: leave at the CPU limit, with
    # the status the parent reads as "CPU time" (the hard limit's SIGKILL follows 5 s later).
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))


def _close_inherited(keep: int) -> None:
    """Close every descriptor the fork inherited except `keep`; 0-2 go to /dev/null."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)


def _relay(child: int) -> None:
    """The middle process: wait for the confined grandchild and leave with its status."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) if os.waitstatus_to_exitcode(status) >= 0
             else 128 - os.waitstatus_to_exitcode(status))


def confine(plan: Plan, scratch: str, keep_fd: int) -> list[str]:
    """Confine this freshly forked process (see the module's docstring). Returns, in the confined
    grandchild, the protections that could not be applied; the middle process never returns."""
    off = list(plan.off)
    off += _namespaces()
    pid = os.fork()
    if pid:
        os.close(keep_fd)
        _relay(pid)  # keeps what it inherited: its multiprocessing sentinel tells the parent it ended
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _close_inherited(keep_fd)
    _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)  # nothing mounted here shows outside
    if _libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) != 0:
        off.append("hiding other processes in /proc (no proc mount)")
    if _libc.mount(b"tmpfs", scratch.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={plan.limits.scratch_mb}m,mode=0700".encode()) != 0:
        off.append("the scratch folder's size limit (no tmpfs)")
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch, TMP=scratch, TEMP=scratch)
    import tempfile
    tempfile.tempdir = scratch
    _limits(plan.limits)
    try:
        _drop_capabilities()
    except OSError as err:
        off.append(f"capabilities ({err})")
    try:
        off += _landlock(plan.readable, [scratch])
    except OSError as err:
        off.append(f"filesystem ({err})")
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return off


# ---------------------------------------------------------------------------------------------
# What the learner's code tried: an audit hook that reports, never decides.

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_MODIFY_EVENTS = {"os.remove": "delete", "os.rmdir": "delete", "os.rename": "rename", "os.replace": "rename",
                  "shutil.rmtree": "delete", "os.chmod": "change the permissions of", "os.chown": "change the owner of",
                  "os.symlink": "make a link at", "os.link": "make a link at", "os.truncate": "truncate",
                  "os.mkdir": "make a folder at", "os.utime": "change the times of"}
_PROCESS_EVENTS = ("os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                   "subprocess.Popen", "pty.spawn")

_NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto")
# Every event the hook looks at (CPython names all of os.exec* "os.exec" and os.spawn* "os.spawn"):
# an audit hook runs on every event of the interpreter, tens of thousands per notebook.
_OBSERVED = frozenset({"open", "os.listdir", "os.scandir", "os.kill", "os.killpg", *_MODIFY_EVENTS,
                       *_PROCESS_EVENTS, *_NETWORK_EVENTS})


def _learner_frame() -> bool:
    """Did the notebook's own code do this, not the import system (which lists and probes every
    folder on sys.path, some of which the sandbox hides) or the grader's machinery?"""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib"):
            return False
        if name.startswith("<ipython-input") or name.startswith("<cell"):
            return True
        frame = frame.f_back
    return False


class Attempts:
    """Collects, as short sentences, what the learner's code tried that the sandbox refuses."""

    LIMIT = 20

    def __init__(self, plan: Plan, scratch: str, report):
        self.plan, self.scratch, self.report = plan, os.path.realpath(scratch), report
        self.seen: set[str] = set()
        self.busy = False

    def _outside(self, path) -> bool:
        if isinstance(path, int):
            return False
        real = os.path.realpath(os.fsdecode(path))
        return not _beneath(real, self.scratch)

    def _hidden(self, path) -> str | None:
        if isinstance(path, int):
            return None
        real = os.path.realpath(os.fsdecode(path))
        if any(_beneath(real, r) for r in self.plan.readable):
            return None
        return real

    def _note(self, text: str) -> None:
        if text in self.seen or len(self.seen) >= self.LIMIT or not _learner_frame():
            return
        self.seen.add(text)
        self.report(text)

    def __call__(self, event: str, args: tuple) -> None:
        if event not in _OBSERVED or self.busy:  # most events (attribute reads, id(), compile) say nothing
            return
        self.busy = True
        try:
            self._observe(event, args)
        except Exception:
            pass
        finally:
            self.busy = False

    def _observe(self, event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (mode and any(c in mode for c in "wax+")) or (flags & _WRITE_FLAGS)
            if writing and self._outside(path):
                self._note(f"write to {os.fsdecode(path)}")
            elif not writing and self._hidden(path) and self._outside(path):
                self._note(f"read {os.fsdecode(path)}")
        elif event in ("os.listdir", "os.scandir") and args and self._hidden(args[0] or ".") and \
                self._outside(args[0] or "."):
            self._note(f"list the folder {os.fsdecode(args[0])}")
        elif event in _MODIFY_EVENTS and args and self._outside(args[0]):
            self._note(f"{_MODIFY_EVENTS[event]} {os.fsdecode(args[0])}")
        elif event in _PROCESS_EVENTS:
            what = f" ({os.fsdecode(args[0]) if args and isinstance(args[0], (str, bytes)) else ''})" \
                if event != "os.fork" else ""
            self._note(f"start a process{what.replace(' ()', '')}: it was stopped with the notebook")
        elif event == "os.kill" and args and args[0] != os.getpid():
            self._note(f"send a signal to process {args[0]}" if args[0] > 0 else "send a signal to a process group")
        elif event == "os.killpg":
            self._note("send a signal to a process group")
        elif event in _NETWORK_EVENTS:
            self._note(f"use the network ({args[1] if len(args) > 1 else ''})")
