"""Colab habits, graded fairly: `%tensorflow_version` is a no-op (as on today's Colab),
noted in the trace; `google.colab` imports, and what needs Google's services (Drive,
uploads, downloads) fails with one clear line. A real google.colab, where installed,
wins: this finder is the last on sys.meta_path."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

from . import recorder

DRIVE_MESSAGE = "Google Drive is not available while grading; save with relative paths"
UPLOAD_MESSAGE = "files.upload is not available while grading; put the files the notebook needs beside it"
DOWNLOAD_MESSAGE = "files.download is not available while grading; the grader reads files saved beside the notebook"


class ColabUnavailableError(RuntimeError):
    """A Colab service the grader cannot offer."""


def _refuse(what: str, message: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        recorder.record("colab", action=f"{what} refused")
        raise ColabUnavailableError(message)

    refused.__name__ = refused.__qualname__ = what.rsplit(".", 1)[-1]
    return refused


def _fill(module: types.ModuleType) -> None:
    name = module.__name__
    if name == "google.colab.drive":
        module.mount = _refuse("drive.mount", DRIVE_MESSAGE)  # type: ignore[attr-defined]
        module.flush_and_unmount = _refuse("drive.flush_and_unmount", DRIVE_MESSAGE)  # type: ignore[attr-defined]
    elif name == "google.colab.files":
        module.upload = _refuse("files.upload", UPLOAD_MESSAGE)  # type: ignore[attr-defined]
        module.download = _refuse("files.download", DOWNLOAD_MESSAGE)  # type: ignore[attr-defined]
    elif name == "google.colab":
        module.__doc__ = "Stand-in for google.colab while grading (the grader's, not Google's)."
        for sub in SUBMODULES:
            setattr(module, sub, importlib.import_module(f"google.colab.{sub}"))


SUBMODULES = ("drive", "files")
PACKAGES = ("google", "google.colab")
SERVED = PACKAGES + tuple(f"google.colab.{s}" for s in SUBMODULES)


class _ColabLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        _fill(module)


class ColabFinder(importlib.abc.MetaPathFinder):
    """Serves google (when nothing else does), google.colab and its drive and files."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in SERVED:
            return None
        return importlib.util.spec_from_loader(fullname, _ColabLoader(), is_package=fullname in PACKAGES)


def tensorflow_version(line: str = "") -> None:
    """%tensorflow_version: Colab's TensorFlow switch; a no-op today, and here."""
    recorder.record("colab", action="tensorflow_version ignored", argument=line.strip()[:100])


def install() -> None:
    if not any(isinstance(f, ColabFinder) for f in sys.meta_path):
        sys.meta_path.append(ColabFinder())
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        shell = None
    if shell is not None:
        shell.register_magic_function(tensorflow_version, "line", "tensorflow_version")
