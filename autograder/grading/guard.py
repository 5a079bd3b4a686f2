"""Tamper guard: the grader's tools cannot be replaced by the code being graded.

Under stock nbgrader a learner can win full marks by monkeypatching what the tests call
(`torch.allclose = lambda *a, **k: True`, replacing a check, patching `builtins`). Our grader
snapshots the namespaces the tests rely on before any learner code runs; before every test cell
it puts them back, and after every test cell it looks again: a test during which they changed
scores 0 with a message saying so.
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import types

import numpy
import numpy.testing
import torch
import torch.nn.functional
import torch.testing

from .. import blocks, checks

_MISSING = object()
# Attributes torch itself re-binds on a lazy import (importing torch._dynamo, e.g. through
# FlopCounterMode, wraps torch.manual_seed). No check depends on them: checks draw their
# random inputs from private generators.
_REBOUND_BY_TORCH = {("torch", "manual_seed")}
# Bound now, before any learner code runs: the guard must work even when builtins are patched.
_vars, _isinstance, _setattr, _delattr, _getattr = vars, isinstance, setattr, delattr, getattr
_dict, _list, _ModuleType = dict, list, types.ModuleType


def guarded_objects() -> list[object]:
    """Modules and classes whose attributes the tests use (directly or through the checks)."""
    modules = [importlib.import_module(f"{checks.__name__}.{m.name}")
               for m in pkgutil.iter_modules(checks.__path__)]
    return [builtins, torch, torch.nn.functional, torch.testing, torch.Tensor, torch.nn.Module,
            numpy, numpy.testing, blocks, checks, *modules]


def _attributes(obj) -> dict:
    return _dict(_vars(obj))


class Guard:
    """A snapshot of `objects`' attributes that can be checked and restored."""

    def __init__(self, objects=None):
        self.objects = list(objects if objects is not None else guarded_objects())
        self.snapshot = []
        for obj in self.objects:
            saved = _attributes(obj)
            for module, name in _REBOUND_BY_TORCH:
                if _getattr(obj, "__name__", None) == module:
                    saved.pop(name, None)
            self.snapshot.append((obj, saved))

    def changes(self) -> list[str]:
        """Names of guarded attributes that were replaced, removed or added (new submodules,
        which imports add lazily, do not count)."""
        changed = []
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
