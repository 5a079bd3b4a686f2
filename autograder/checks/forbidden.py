"""Forbidden calls: what an exercise's answer may not call while its check runs it.

Every exercise forbids the course's own code (anything in the `autograder` package: the finished
pieces of `autograder.blocks`, the checks and their private references such as `check._softmax`)
and reading files under `solutions/`. An exercise that asks the learner to build
something PyTorch already has also forbids that built-in (`Family`), and names it in its text.
A check declares its exercise's rule with `@forbids(...)`; `allow=` lists the finished pieces of
earlier notebooks it may use (06's EncoderBlock uses `blocks.MultiHeadAttention`).

Only the learner's code is watched, and only while the check runs it (`call`): a profiler
(`sys.setprofile`, which sees every Python call and every call of a C function from Python), a
`TorchFunctionMode` (which sees torch functions however they are reached, `map(torch.softmax, ...)`
included) and an audit hook on "open". The reference computation of the check is never watched,
and when the learner's code calls an allowed piece of the course, what that piece calls is the
course's business, not the learner's. A forbidden call is recorded, the learner's code runs to
its end, and the exercise then fails with `Forbidden`, a message naming the call and why.

While a check runs, the learner's code may not look into the checker either (`_Peeking`): an
audit hook sees reads of the interpreter's stack frames (`sys._getframe`, which `inspect` and
`traceback` use, a traceback's or a generator's frame, `sys._current_frames`), lists of live
objects (`gc.get_objects` and the like), trace and profile functions and ctypes, whoever runs
that code: the learner's function, a finalizer or gc callback, a thread. A thread of the
learner's code still running when a check begins, or started by the code a check runs, fails
the exercise too: threads run beside the check, where nothing watches them. Code is the
learner's when it comes from a notebook cell (a file outside the standard library, the installed
packages and the course) or claims a file of the course without being the course's code.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
import os
import sys
import threading
from dataclasses import dataclass
from types import CodeType, FunctionType, ModuleType
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import blocks
from .failure import ExerciseFailed

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../autograder/
_SOLUTIONS = os.path.join(os.path.dirname(_PACKAGE.rstrip(os.sep)), "solutions") + os.sep
_TORCH = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_STDLIB = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_HERE = os.path.abspath(__file__)
_Tensor = torch.Tensor
_getframe = sys._getframe
_current_frames, _get_ident, _start_new_thread = sys._current_frames, _thread.get_ident, _thread.start_new_thread
# The import system's frame below a module's own top-level code (which may read frames: typing,
# enum and namedtuple do, as a lazily imported module defines its classes).
_IMPORTING = sys.modules["_frozen_importlib"]._call_with_frames_removed.__code__
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_stack_len = torch._C._len_torch_function_stack
_stack_push = torch._C._push_on_torch_function_stack
_stack_pop = torch._C._pop_torch_function_stack
_stack_at = torch._C._get_function_stack_at

_OTHER, _COURSE, _LIBRARY, _SELF = 0, 1, 2, 3


class Forbidden(ExerciseFailed):
    """The learner's code called something its exercise forbids."""


@dataclass(frozen=True)
class Family:
    """Built-ins an exercise asks the learner to rebuild: torch functions whose name contains one
    of `names` (C functions, Tensor methods and torch's own Python functions alike) and every
    method of the nn.Module classes in `classes`."""

    names: tuple[str, ...]
    classes: tuple[type, ...] = ()


SOFTMAX = Family(("softmax", "softmin"), (nn.Softmax, nn.LogSoftmax, nn.Softmin))
LOGSUMEXP = Family(("logsumexp",))
SDPA = Family(("scaled_dot_product",))
MULTIHEAD = Family(("multi_head_attention",), (nn.MultiheadAttention,))
COSINE = Family(("cosine_similarity",), (nn.CosineSimilarity,))
LAYER_NORM = Family(("layer_norm",), (nn.LayerNorm,))
RMS_NORM = Family(("rms_norm",), (nn.RMSNorm,))
TRANSFORMER = Family(("transformer_encoder", "transformer_decoder"),
                     (nn.Transformer, nn.TransformerEncoder, nn.TransformerDecoder,
                      nn.TransformerEncoderLayer, nn.TransformerDecoderLayer))


@dataclass(frozen=True)
class Rule:
    """What one exercise may not call: `families` of built-ins, and every piece of the course
    except those in `allow` (functions or classes of `autograder.blocks`)."""

    families: tuple[Family, ...] = ()
    allow: tuple[Any, ...] = ()


DEFAULT = Rule()
# Pieces of the course that answer no exercise, which any answer may use: causal_mask is the
# one-liner notebook 02 shows (not an exercise).
ALWAYS_ALLOWED = (blocks.causal_mask,)
_TRUSTED: frozenset = frozenset()  # code objects of check machinery that may run inside the learner's code
# Warnings raised by torch functions the watch's mode passes on are filed under this module: its
# registry exists from the start, so the fast grader's tamper guard never sees a new attribute.
__warningregistry__: dict = {}


def _codes(obj: Any) -> set:
    """The code objects of a function, or of every function defined in a class."""
    if isinstance(obj, type):
        found = set()
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)
            if hasattr(value, "__code__"):
                found.add(value.__code__)
        return found
    obj = getattr(obj, "__func__", obj)
    return {obj.__code__} if hasattr(obj, "__code__") else set()


def trusted(obj: Any) -> Any:
    """Mark check machinery (a function or class) that runs inside the learner's code, such as
    a TorchFunctionMode recording its calls: calls into it are never forbidden."""
    global _TRUSTED
    _TRUSTED = _TRUSTED | _codes(obj)  # rebound, never changed in place: the tamper guard sees a rebinding
    return obj


def forbids(*families: Family, allow: tuple = ()) -> Any:
    """Declare what the answer checked by the decorated check function may not call (the
    course's code is always forbidden, except the pieces in `allow`)."""
    rule = Rule(tuple(families), tuple(allow))

    def declare(check_fn):
        check_fn.__forbids__ = rule
        return check_fn
    return declare


# ---------------------------------------------------------------- naming what was called
_NAMESPACES = (("F", torch.nn.functional), ("torch", torch), ("torch.special", torch.special),
               ("torch.linalg", torch.linalg), ("Tensor", torch.Tensor))


@functools.cache
def _public_names() -> dict:
    """id(object) -> how the notebooks write it (F.softmax, torch.softmax, Tensor.softmax; F for
    `torch.nn.functional`, first, as the notebooks import it)."""
    names = {}
    for prefix, namespace in _NAMESPACES:
        for attr in dir(namespace):
            try:
                obj = getattr(namespace, attr)
            except Exception:  # noqa: S112 (a lazy attribute that cannot load is simply not named)
                continue
            names.setdefault(id(obj), f"{prefix}.{attr}")
            code = getattr(obj, "__code__", None)
            if code is not None:
                names.setdefault(id(code), f"{prefix}.{attr}")
    return names


def _label_c(fn: Any) -> str:
    known = _public_names().get(id(fn))
    if known:
        return known
    name = getattr(fn, "__name__", repr(fn))
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, _Tensor) or getattr(fn, "__objclass__", None) in (_Tensor, torch._C.TensorBase):
        return f"Tensor.{name}"
    return f"{getattr(fn, '__module__', None) or 'torch'}.{name}"


def _label_code(code: Any, owner: type | None = None) -> str:
    if owner is not None:
        return f"nn.{owner.__name__}"
    known = _public_names().get(id(code))
    if known:
        return known
    path = code.co_filename
    if path.startswith(_PACKAGE):
        module = "autograder." + path[len(_PACKAGE):].removesuffix(".py").replace(os.sep, ".")
        return f"{module}.{code.co_qualname}"
    return code.co_qualname


# ---------------------------------------------------------------- the watch
class _Watch(TorchFunctionMode):
    """One learner call under one rule: the profiler, the torch function mode and the audit
    hook all report here; the first forbidden call is kept in `found`."""

    def __init__(self, rule: Rule, name: str, fn: Any, learner: Any):
        super().__init__()
        self.rule, self.name = rule, name
        self.fn, self.learner = fn, learner
        self.glue = None if fn is learner else getattr(getattr(fn, "__func__", fn), "__code__", None)
        self.names = tuple(n for family in rule.families for n in family.names)
        self.class_codes = {code: cls for family in rule.families for cls in family.classes
                            for code in _codes(cls)}
        self.allowed = set().union(*(_codes(obj) for obj in rule.allow + ALWAYS_ALLOWED))
        self.kinds: dict = {}
        self.c_names: dict = {}
        self.quiet: set = set()  # code objects whose calls need no look (learnt during this call)
        self.found: str | None = None
        self.boundary = None

    # -- classification, cached per code object / C function name
    def _kind(self, code) -> int:
        kind = self.kinds.get(code)
        if kind is None:
            path = code.co_filename
            if path == _HERE:
                kind = _SELF
            elif path.startswith(_PACKAGE):
                kind = _COURSE
            elif path.startswith(_TORCH) or (path.startswith(_STDLIB) and "site-packages" not in path):
                kind = _LIBRARY  # torch or the standard library: seen through, to who called them
            else:
                kind = _OTHER
            self.kinds[code] = kind
        return kind

    def _forbidden_name(self, name: str) -> bool:
        hit = self.c_names.get(name)
        if hit is None:
            hit = self.c_names[name] = any(n in name for n in self.names)
        return hit

    def _from_learner(self, frame) -> bool:
        """Was this call made by the learner's code (not by an allowed piece of the course)?
        torch's own frames are skipped: what matters is who called into torch."""
        while frame is not None:
            if frame is self.boundary:
                return True
            kind = self._kind(frame.f_code)
            if kind == _COURSE:  # an allowed piece of the course, or the check's own glue
                return False
            if kind == _OTHER:
                return True
            frame = frame.f_back  # torch's own code, or this watch's torch function mode
        return True

    def _report(self, message: str) -> None:
        if self.found is None:
            self.found = message

    def _builtin(self, label: str) -> None:
        self._report(f"{self.name} called {label}, which this exercise asks you to build yourself: "
                     "write it from the operations the notebook shows, without calling the built-in")

    # -- the three sources of events
    def profile(self, frame, event, arg):
        try:
            # Most events need nothing: returns, calls of code already found harmless (`quiet`), C
            # calls whose name is known not to be forbidden. They are dropped here, cheaply.
            if event == "call":
                if frame.f_code in self.quiet:
                    return
            elif event != "c_call":
                return
            elif arg is _start_new_thread:  # threading.Thread.start and _thread alike
                self._report(_thread_message(self.name, "it started a thread"))
                return
            elif not self.names or self.c_names.get(arg.__name__) is False:
                return
            self._on_event(frame, event, arg)
        except Exception:  # noqa: S110 (the watch must never break the code it watches: CPython
            pass  # would switch the profiler off and raise into the learner's code)

    def _on_event(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            kind = self._kind(code)
            if kind == _COURSE:
                if code in _TRUSTED:
                    return
                caller = frame.f_back
                if caller is self.boundary:
                    if code is not self.glue:
                        self._course(code)
                elif (caller is None or self._kind(caller.f_code) != _COURSE) and code not in self.allowed:
                    self._course(code)
                return
            owner = self.class_codes.get(code) if self.class_codes else None
            if owner is not None or (kind == _LIBRARY and self.names and self._forbidden_name(code.co_name)):
                if self._from_learner(frame.f_back):
                    self._builtin(_label_code(code, owner))
            else:  # the learner's own code, or torch's that forbids nothing: never looked at again
                self.quiet.add(code)
        elif event == "c_call" and self.names:
            name = getattr(arg, "__name__", None)
            if (isinstance(name, str) and self._forbidden_name(name) and self._is_torch(arg)
                    and self._from_learner(frame)):
                self._builtin(_label_c(arg))

    @staticmethod
    def _is_torch(fn) -> bool:
        module = getattr(fn, "__module__", None) or ""
        owner = getattr(fn, "__self__", None)
        owner_name = getattr(owner, "__name__", "")
        return ((isinstance(module, str) and module.startswith("torch")) or isinstance(owner, _Tensor)
                or (isinstance(owner_name, str) and owner_name.startswith("torch"))
                or str(type(owner).__module__).startswith(("torch", "pybind11")))

    def _course(self, code) -> None:
        self._report(f"{self.name} called {_label_code(code)}, the course's own code (a finished "
                     "answer or a check's reference): the check grades your code, so write it yourself")

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.names and self.found is None:
            try:
                name = getattr(func, "__name__", "")
                if isinstance(name, str) and self._forbidden_name(name) and self._from_learner(_getframe(1)):
                    self._builtin(_label_c(func))
            except Exception:  # noqa: S110 (never break the call it watches)
                pass
        return func(*args, **(kwargs or {}))

    def audit(self, event: str, args: tuple) -> None:
        path = args[0] if args else None
        if isinstance(path, (str, bytes, os.PathLike)):
            try:
                path = os.path.realpath(os.fsdecode(path))
            except (TypeError, ValueError):
                return
            # Only solutions/: the package's own files stay readable, since a traceback reads them.
            if path.startswith(_SOLUTIONS):
                self._report(f"{self.name} opened {path}: an answer may not read the course's solutions")


_ACTIVE: list = []  # the watch of the learner call now running (at most one)
_EXERCISE: list = []  # (rule, name, learner object, what it found) of the check now running


# ---------------------------------------------------------------- looking into the checker
_FRAME_EVENTS = {
    "sys._getframe": "sys._getframe (what inspect.currentframe, inspect.stack and traceback use)",
    "sys._current_frames": "sys._current_frames", "sys._current_exceptions": "sys._current_exceptions",
    "sys.settrace": "sys.settrace (a trace function sees every frame)",
    "sys.setprofile": "sys.setprofile (a profile function sees every frame)",
    "gc.get_objects": "gc.get_objects (every live object)", "gc.get_referrers": "gc.get_referrers",
    "gc.get_referents": "gc.get_referents",
}
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_LIBRARIES = (_STDLIB, _TORCH, "<frozen ")
_course_cache: list = [-1, frozenset()]  # [len(sys.modules) when computed, code objects]
_peeking: set = set()  # threads whose event is being looked at (the look raises events too)


def course_functions(objects) -> list:
    """Every Python function of the course reachable from `objects` (modules): the functions and
    the methods of the classes of the course's modules, what decorators wrap (`__wrapped__`,
    properties) and the functions their closures hold (a check's learner-facing wrapper holds
    the check itself)."""
    found, todo = {}, []
    for obj in objects:
        if isinstance(obj, ModuleType) and obj.__name__.startswith("autograder"):
            todo.extend(vars(obj).values())
    while todo:
        value = todo.pop()
        if isinstance(value, type) and str(getattr(value, "__module__", "")).startswith("autograder"):
            todo.extend(v for v in vars(value).values() if v is not value)
            continue
        if isinstance(value, property):
            todo.extend(f for f in (value.fget, value.fset, value.fdel) if f is not None)
            continue
        value = getattr(value, "__func__", value)  # staticmethod, classmethod
        if not isinstance(value, FunctionType) or id(value) in found:
            continue
        if not str(value.__module__).startswith("autograder"):
            continue
        found[id(value)] = value
        wrapped = vars(value).get("__wrapped__")  # functools.wraps, contextmanager, cache
        if wrapped is not None:
            todo.append(wrapped)
        for cell in value.__closure__ or ():
            try:
                todo.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
    return list(found.values())


def _course_codes() -> frozenset:
    """Every code object of the course's functions (nested ones included): code that only
    claims a course file is not among them."""
    if _course_cache[0] != len(sys.modules):
        modules = [m for name, m in list(sys.modules.items()) if name.split(".")[0] == "autograder" and m]
        codes, todo = set(), [fn.__code__ for fn in course_functions(modules)]
        while todo:
            code = todo.pop()
            if code not in codes:
                codes.add(code)
                todo.extend(c for c in code.co_consts if isinstance(c, CodeType))
        _course_cache[:] = [len(sys.modules), frozenset(codes)]
    return _course_cache[1]


def _learners(code, course: frozenset) -> bool:
    """Is this code the learner's (a notebook cell, or code that only claims to be the course's)?"""
    path = code.co_filename
    return not (code in course or path.startswith(_LIBRARIES) or f"-packages{os.sep}" in path)


def _by_learner(frame) -> bool:
    """Did the learner's code cause what happens in `frame`? The first frame, going outwards,
    that is not a library's decides: the course's own code, or the learner's (a watched call's
    boundary counts as the learner's: everything inside it was called by the learner)."""
    boundary = _ACTIVE[-1].boundary if _ACTIVE else None
    course = _course_codes()
    caller = frame
    while frame is not None:
        if frame is boundary and frame is not caller:  # the watch's own calls are the course's
            return True
        code = frame.f_code
        if code in course or code is _IMPORTING:
            return False
        if _learners(code, course):
            return True
        frame = frame.f_back
    return False


def _record(message: str) -> None:
    if _EXERCISE:
        found = _EXERCISE[-1][3]
        if not found:
            found.append(message)
    elif _ACTIVE:
        _ACTIVE[-1]._report(message)


def _peeked(event: str, args: tuple) -> None:
    me = _get_ident()
    if me in _peeking:
        return
    _peeking.add(me)
    try:
        if event == "object.__getattr__":
            how = f"a {args[1]} (the frame of running code)"
        else:
            how = _FRAME_EVENTS.get(event) or f"{event} (ctypes reads the interpreter's memory)"
        learner = _by_learner(_getframe(2))  # frames 0 and 1: this function and the audit hook
    except Exception:  # the look itself was broken (a patched built-in, say): fail closed
        how, learner = f"{event} (while the course's tools were broken)", True
    try:
        if learner:
            name = _EXERCISE[-1][1] if _EXERCISE else "your code"
            _record(f"{name} looked into the running checker with {how}: an answer may not read "
                    "the check's own variables; compute the result from the inputs it is given")
    except Exception:  # noqa: S110 (the hook must never break the code that raised the event)
        pass
    finally:
        _peeking.discard(me)


def _audit_hook(event: str, args: tuple) -> None:
    if event == "open":
        if _ACTIVE:
            _ACTIVE[-1].audit(event, args)
    elif (_EXERCISE or _ACTIVE) and (event in _FRAME_EVENTS or event.startswith("ctypes.") or (
            event == "object.__getattr__" and len(args) > 1 and args[1] in _FRAME_ATTRIBUTES)):
        _peeked(event, args)


sys.addaudithook(_audit_hook)


def _thread_message(name: str, what: str) -> str:
    return (f"{name}: {what}, which runs beside the check where nothing watches it: an answer may "
            "not use threads while it is checked (join your threads before the tests run)")


def _learner_thread() -> str | None:
    """The name of a thread other than this one that is running the learner's code, if any."""
    me, course = _get_ident(), _course_codes()
    for ident, frame in _current_frames().items():
        while ident != me and frame is not None:
            if _learners(frame.f_code, course):
                names = {thread.ident: thread.name for thread in threading.enumerate()}
                return names.get(ident, f"thread {ident}")
            frame = frame.f_back
    return None


@contextlib.contextmanager
def exercise(rule: Rule, name: str, learner: Any):
    """While a check function runs: the rule of its exercise, and the learner's object. What
    the learner's code did to look into the check fails the exercise when the check ends."""
    running = _learner_thread()
    if running is not None:
        raise Forbidden(_thread_message(name, f"a thread of your code ({running}) was still running "
                                              "when its check began"))
    found: list = []
    _EXERCISE.append((rule, name, learner, found))
    try:
        yield
    except Forbidden:  # what a watched call found first
        raise
    except BaseException:
        if found:
            raise Forbidden(found[0]) from None
        raise
    finally:
        _EXERCISE.pop()
    if found:
        raise Forbidden(found[0])


def _inside(watch: Any) -> bool:
    """Is this call really running inside `watch` (whose boundary frame is on the stack)?"""
    if not isinstance(watch, _Watch) or _getprofile() != watch.profile:
        return False
    frame = _getframe(1)
    while frame is not None:
        if frame is watch.boundary:
            return True
        frame = frame.f_back
    return False


def call(fn: Any, args: tuple = (), kwargs: dict | None = None, *, name: str | None = None) -> Any:
    """fn(*args, **kwargs), the learner's code (or a check's glue around it), watched under the
    rule of the exercise being checked. Raises Forbidden, after the call, if it made a call the
    rule forbids (in place of whatever fn returned or raised)."""
    kwargs = kwargs or {}
    if _ACTIVE and _inside(_ACTIVE[-1]):  # already inside a watched call: that watch sees this one too
        return fn(*args, **kwargs)
    rule, exercise_name, learner, _ = _EXERCISE[-1] if _EXERCISE else (DEFAULT, None, None, None)
    name = name or exercise_name or getattr(fn, "__name__", "your code")
    watch = _Watch(rule, name, fn, learner)
    previous_profile = _getprofile()
    depth = _stack_len()
    error = None
    _ACTIVE.append(watch)
    _stack_push(watch)
    watch.boundary = _getframe(0)
    _setprofile(watch.profile)
    try:
        result = fn(*args, **kwargs)
    except BaseException as err:  # kept for after the watch is off
        error = err
    finally:
        profile_intact = _getprofile() == watch.profile
        _setprofile(previous_profile)
        modes_intact = _stack_len() == depth + 1 and _stack_at(depth) is watch
        while _stack_len() > depth:
            _stack_pop()
        _ACTIVE.pop()
    if watch.found is None and not (profile_intact and modes_intact):
        what = "sys.setprofile" if not profile_intact else "torch's function-mode stack"
        watch.found = (f"{name} changed {what}, which the check uses to watch what your code calls: "
                       "leave it as it is")
    if watch.found is None and _EXERCISE and _EXERCISE[-1][3]:  # it looked into the checker
        watch.found = _EXERCISE[-1][3][0]
    if watch.found is None:
        running = _learner_thread()
        if running is not None:
            watch.found = _thread_message(name, f"it left a thread running ({running})")
    if watch.found is not None:
        raise Forbidden(watch.found) from None
    if error is not None:
        raise error
    return result
