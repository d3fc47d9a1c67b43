"""Data set shims: Keras' `load_data` serves the grader's copy of the data (the run's
profile: real, subsampled or synthetic) from read-only `.npz` files, never a download."""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import imports, recorder, wrappers

# where each data set's load_data is defined, and the modules that re-export it
MODULES = {
    "mnist": "keras.src.datasets.mnist",
    "fashion_mnist": "keras.src.datasets.fashion_mnist",
}
ALIASES = ("keras.datasets.{}", "keras._tf_keras.keras.datasets.{}", "tensorflow.keras.datasets.{}")

_settings: dict[str, Any] = {"data_dir": None}


def make_loader(name: str, original: Any) -> Callable[..., Any]:
    def load_data(*args: Any, **kwargs: Any) -> Any:
        path = os.path.join(_settings["data_dir"] or "/data", name + ".npz")
        if not os.path.exists(path):
            raise RuntimeError(f"the grader did not provide the data set {name!r} for this assignment")
        with np.load(path, allow_pickle=False) as f:
            out = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        recorder.record("load_data", dataset=name, train=int(len(out[0][0])), test=int(len(out[1][0])))
        return out

    return wrappers.make_like(load_data, original)


def _patcher(name: str) -> Callable[[types.ModuleType], None]:
    shim: list[Any] = []

    def patch_source(module: types.ModuleType) -> None:
        shim.append(make_loader(name, getattr(module, "load_data", None)))
        wrappers.install(module, "load_data", shim[0])
        recorder.record("profile", action="dataset shim installed", module=module.__name__)

    def patch_alias(module: types.ModuleType) -> None:
        if shim and getattr(module, "load_data", None) is not shim[0]:
            wrappers.install(module, "load_data", shim[0])  # bound before ours was in place
        elif shim:
            wrappers.watch(module, "load_data", shim[0])

    imports.on_import(MODULES[name], patch_source)
    for alias in ALIASES:
        imports.on_import(alias.format(name), patch_alias)
    return patch_source


def install(data_dir: str | None) -> None:
    _settings["data_dir"] = data_dir
    for name in MODULES:
        _patcher(name)
