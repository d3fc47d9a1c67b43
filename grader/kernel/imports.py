"""Post-import hooks: run a function on a module right after its body ran, before any
alias of it is bound elsewhere. The kernel half never imports TensorFlow or Keras
itself (3 s); a notebook that never imports them pays nothing."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

from . import recorder

Hook = Callable[[types.ModuleType], None]

AFTER_IMPORT: dict[str, list[Hook]] = {}


def _run(name: str, module: types.ModuleType) -> None:
    for fn in list(AFTER_IMPORT.get(name, ())):
        try:
            fn(module)
        except Exception as exc:
            recorder.record("bootstrap_error", module=name, error=repr(exc)[:300])


def on_import(name: str, fn: Hook) -> None:
    """Call fn(module) once `name` is imported (now, if it already is)."""
    AFTER_IMPORT.setdefault(name, []).append(fn)
    module = sys.modules.get(name)
    if module is not None:  # imported before the kernel half started: patch it now
        try:
            fn(module)
        except Exception as exc:
            recorder.record("bootstrap_error", module=name, error=repr(exc)[:300])


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, name: str) -> None:
        self._inner = inner
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        self._inner.exec_module(module)
        _run(self._name, module)


class PostImport(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: for a watched name, find the real spec and wrap its loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in AFTER_IMPORT:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, fullname)
        return spec


def install() -> None:
    if not any(isinstance(f, PostImport) for f in sys.meta_path):
        sys.meta_path.insert(0, PostImport())
