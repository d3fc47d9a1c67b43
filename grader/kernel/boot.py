"""Start the kernel half: seeds, the profile (data set shims, epoch cap), the trace, the
Colab stand-ins, and the witness entry point `_grader_witness` (its `handle` is what the
trusted side's requests call)."""

from __future__ import annotations

import os
import random
import sys
import types
from typing import Any

import numpy as np

from . import colab, datasets, gpu, imports, keras_ops, keras_trace, recorder, server
from .protocol import BootConfig

ENTRY = "_grader_witness"


def _seeder(seed: int) -> tuple[imports.Hook, imports.Hook]:
    def seed_tensorflow(module: types.ModuleType) -> None:
        try:
            module.random.set_seed(seed)
        except Exception:
            pass

    def seed_keras(module: types.ModuleType) -> None:
        try:
            module.utils.set_random_seed(seed)
        except Exception:
            pass

    return seed_tensorflow, seed_keras


def install(raw: dict[str, Any]) -> None:
    config = BootConfig.from_json(raw)
    recorder.set_key(bytes.fromhex(config.trace_key))
    raw["trace_key"] = ""  # not left where the notebook looks first (it is in memory all the same)
    random.seed(config.seed)
    np.random.seed(config.seed)
    os.environ["PYTHONHASHSEED"] = str(config.seed)

    server.SETTINGS.update(max_reply_bytes=config.max_reply_bytes, mime=config.mime)
    server.register(keras_ops.OPS)
    keras_ops.configure(home=os.getcwd(), max_reply_bytes=config.max_reply_bytes)

    imports.install()
    datasets.install(config.data_dir)
    seed_tensorflow, seed_keras = _seeder(config.seed)
    imports.on_import("tensorflow", seed_tensorflow)
    imports.on_import("keras", seed_keras)
    keras_trace.install(config.max_epochs, config.profile_name)
    colab.install()
    if config.gpu_memory_mb is not None:
        # last: TensorFlow's import runs the seeding and tracing hooks installed above
        gpu.install(config.gpu_memory_mb)

    entry = types.ModuleType(ENTRY, "The grader's witness: answers the trusted side's questions.")
    entry.handle = server.handle  # type: ignore[attr-defined]
    entry.config = {**config.to_json(), "trace_key": ""}  # type: ignore[attr-defined]
    sys.modules[ENTRY] = entry
