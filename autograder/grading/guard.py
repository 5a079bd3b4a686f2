"""Tamper guard: the grader's tools cannot be replaced by the code being graded.

Under stock nbgrader a learner can win full marks by monkeypatching what the tests call
(`torch.allclose = lambda *a, **k: True`, replacing a check, patching `builtins`). Our grader
snapshots the namespaces the tests rely on before any learner code runs; before every test cell
it puts them back, and after every test cell it looks again: a test during which they changed
scores 0 with a message saying so.
"""

from __future__ import annotations

import builtins
import copy
import gc
import importlib
import pkgutil
import sys
import threading
import types

import numpy
import numpy.testing
import torch
import torch.nn.functional
import torch.testing

from .. import blocks, checks
from ..checks.forbidden import course_functions

_MISSING = object()
# Attributes torch itself re-binds on a lazy import (importing torch._dynamo, e.g. through
# FlopCounterMode, wraps torch.manual_seed). No check depends on them: checks draw their
# random inputs from private generators.
_REBOUND_BY_TORCH = {("torch", "manual_seed")}
# Bound now, before any learner code runs: the guard must work even when builtins are patched.
_vars, _isinstance, _setattr, _delattr, _getattr = vars, isinstance, setattr, delattr, getattr
_dict, _list, _tuple, _ModuleType, _FunctionType = dict, list, tuple, types.ModuleType, types.FunctionType
_len_function_modes, _pop_function_mode = torch._C._len_torch_function_stack, torch._C._pop_torch_function_stack
_len_dispatch_modes, _pop_dispatch_mode = torch._C._len_torch_dispatch_stack, torch._C._pop_torch_dispatch_stack
_gettrace, _getprofile, _settrace, _setprofile = sys.gettrace, sys.getprofile, sys.settrace, sys.setprofile
_thread_gettrace, _thread_getprofile = threading.gettrace, threading.getprofile
_thread_settrace, _thread_setprofile = threading.settrace, threading.setprofile
# Methods of the shell the grader calls: an instance attribute of one of these names replaces it.
_SHELL_METHODS = frozenset({"run_cell", "run_cell_async", "_run_cell", "transform_cell", "transform_ast",
                            "run_ast_nodes", "run_code", "should_run_async", "showtraceback"})


def _shell_hooks(shell) -> list:
    """(label, container, saved contents) of every list through which code can rewrite or watch
    the cells IPython runs: input transformers (text and tokens), AST transformers, events."""
    manager = shell.input_transformer_manager
    hooks = [("input transformers", manager.cleanup_transforms, None),
             ("line transformers", manager.line_transforms, None),
             ("token transformers", manager.token_transformers, None),
             ("post-input transformers", shell.input_transformers_post, None),
             ("AST transformers", shell.ast_transformers, None)]
    hooks += [(f"'{event}' callbacks", callbacks, None) for event, callbacks in shell.events.callbacks.items()]
    return [(label, container, _tuple(container)) for label, container, _ in hooks]


def _interpreter_hooks() -> tuple:
    """What sees the frames of every function the interpreter runs, the checks' included: the
    trace and profile functions (of this thread and of threads yet to start), gc's callbacks."""
    return (_gettrace(), _getprofile(), _thread_gettrace(), _thread_getprofile(), *gc.callbacks)


def _set_interpreter_hooks(saved: tuple) -> None:
    trace, profile, thread_trace, thread_profile, *callbacks = saved
    _settrace(trace)
    _setprofile(profile)
    _thread_settrace(thread_trace)
    _thread_setprofile(thread_profile)
    gc.callbacks[:] = callbacks


def guarded_objects() -> list[object]:
    """Modules and classes whose attributes the tests use (directly or through the checks)."""
    modules = [importlib.import_module(f"{checks.__name__}.{m.name}")
               for m in pkgutil.iter_modules(checks.__path__)]
    return [builtins, torch, torch.nn.functional, torch.testing, torch.Tensor, torch.nn.Module,
            numpy, numpy.testing, blocks, checks, *modules]


def _attributes(obj) -> dict:
    return _dict(_vars(obj))


def _same(now: tuple, saved: tuple) -> bool:
    """Item by item the very same objects (never `==`, which an object of the learner's can fake)."""
    return len(now) == len(saved) and all(a is b for a, b in zip(now, saved))


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return _MISSING


def _course_modules(names) -> list:
    """The course's modules `names` and every course module they use, directly or not (what one
    notebook's checks can reach: its check module, the shared core, the building blocks)."""
    found, todo = {}, [sys.modules[name] for name in names if name in sys.modules]
    while todo:
        module = todo.pop()
        if module.__name__ in found:
            continue
        found[module.__name__] = module
        for value in _vars(module).values():
            owner = value if _isinstance(value, _ModuleType) else sys.modules.get(str(_getattr(value, "__module__", "")))
            if owner is not None and owner.__name__.startswith("autograder") and owner.__name__ not in found:
                todo.append(owner)
    return list(found.values())


class Guard:
    """A snapshot of `objects`' attributes, of the course's functions' code and closures, of the
    interpreter's trace and profile functions and gc callbacks, of the IPython shell's input
    transformers and event callbacks (`shell`), and of torch's mode stacks (empty between
    cells), that can be checked and restored."""

    def __init__(self, objects=None, shell=None):
        self.objects = list(objects if objects is not None else guarded_objects())
        self.snapshot = []
        for obj in self.objects:
            saved = _attributes(obj)
            for module, name in _REBOUND_BY_TORCH:
                if _getattr(obj, "__name__", None) == module:
                    saved.pop(name, None)
            self.snapshot.append((obj, saved))
        self._keep(course_functions(self.objects))
        self.interpreter = _interpreter_hooks()
        self.shell = shell
        self.hooks = _shell_hooks(shell) if shell is not None else []
        self.shell_methods = set(_vars(shell)) if shell is not None else set()
        self.parts = (shell.input_transformer_manager, shell.events) if shell is not None else None

    def _keep(self, functions) -> None:
        """Watch `functions`: their code and defaults, and what their closures' cells hold (a
        function's `__closure__` itself cannot be rebound, so its cells stay the same objects)."""
        self.functions = [(fn, fn.__code__, fn.__defaults__, fn.__kwdefaults__) for fn in functions]
        self.cells = [(fn, cell, _cell_value(cell)) for fn in functions for cell in fn.__closure__ or ()]

    def narrowed(self, module_names) -> Guard:
        """A copy that watches only the course functions the modules `module_names` can reach
        (one notebook's checks, not every notebook's), and only those modules' attributes."""
        narrow, modules = copy.copy(self), _course_modules(module_names)
        narrow._keep(course_functions(modules))
        narrow.snapshot = [(obj, saved) for obj, saved in self.snapshot
                           if obj in modules or not str(_getattr(obj, "__name__", "")).startswith("autograder")]
        return narrow

    def changes(self) -> list[str]:
        """Names of guarded attributes that were replaced, removed or added (new submodules,
        which imports add lazily, do not count), of course functions whose code or closure was
        replaced, of the shell's hooks that changed, and of torch modes left switched on."""
        changed = [f"{fn.__module__}.{fn.__qualname__} (its code)" for fn, code, defaults, kwdefaults in self.functions
                   if fn.__code__ is not code or fn.__defaults__ is not defaults or fn.__kwdefaults__ is not kwdefaults]
        changed += [f"{fn.__module__}.{fn.__qualname__} (its code)" for fn, cell, value in self.cells
                    if _cell_value(cell) is not value]
        if not _same(_interpreter_hooks(), self.interpreter):
            changed.append("the interpreter's trace or profile function, or gc's callbacks")
        for label, container, saved in self.hooks:
            if not _same(_tuple(container), saved):
                changed.append(f"IPython's {label}")
        if self.shell is not None:
            if not _same((self.shell.input_transformer_manager, self.shell.events), self.parts):
                changed.append("IPython's input transformer manager or event manager")
            changed += [f"IPython's shell.{name}" for name in _vars(self.shell).keys() - self.shell_methods
                        if name in _SHELL_METHODS]
        if _len_function_modes():
            changed.append("torch's function-mode stack (a TorchFunctionMode left on)")
        if _len_dispatch_modes():
            changed.append("torch's dispatch-mode stack (a TorchDispatchMode left on)")
        for obj, saved in self.snapshot:
            now = _vars(obj)
            label = _getattr(obj, "__name__", "?")
            for name, value in saved.items():
                if now.get(name, _MISSING) is not value:
                    changed.append(f"{label}.{name}")
            for name in now.keys() - saved.keys():
                if not _isinstance(now[name], _ModuleType) and (label, name) not in _REBOUND_BY_TORCH:
                    changed.append(f"{label}.{name}")
        return changed

    def restore(self) -> None:
        """Put every guarded attribute back as it was when the snapshot was taken."""
        for fn, code, defaults, kwdefaults in self.functions:
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        for _, cell, value in self.cells:
            if value is not _MISSING:
                cell.cell_contents = value
            elif _cell_value(cell) is not _MISSING:
                del cell.cell_contents
        if not _same(_interpreter_hooks(), self.interpreter):
            _set_interpreter_hooks(self.interpreter)
        for _, container, saved in self.hooks:
            container[:] = saved
        if self.shell is not None:
            self.shell.input_transformer_manager, self.shell.events = self.parts
            for name in _list(_vars(self.shell).keys() - self.shell_methods):
                if name in _SHELL_METHODS:
                    _vars(self.shell).pop(name, None)
        while _len_function_modes():
            _pop_function_mode()
        while _len_dispatch_modes():
            _pop_dispatch_mode()
        for obj, saved in self.snapshot:
            now = _vars(obj)
            for name, value in saved.items():
                if now.get(name, _MISSING) is not value:
                    self._set(obj, name, value)
            label = _getattr(obj, "__name__", "?")
            for name in _list(now.keys() - saved.keys()):
                if not _isinstance(now[name], _ModuleType) and (label, name) not in _REBOUND_BY_TORCH:
                    self._delete(obj, name)

    @staticmethod
    def _set(obj, name, value):
        if _isinstance(obj, _ModuleType):
            obj.__dict__[name] = value
        else:
            _setattr(obj, name, value)

    @staticmethod
    def _delete(obj, name):
        if _isinstance(obj, _ModuleType):
            obj.__dict__.pop(name, None)
        else:
            try:
                _delattr(obj, name)
            except (AttributeError, TypeError):
                pass
