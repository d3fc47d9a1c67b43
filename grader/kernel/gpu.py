"""The kernel's GPU memory cap: TensorFlow's per-process limit, set before any student code
runs and made final at once.

With a GPU slot (grader/gpus.py) the bootstrap imports TensorFlow itself (the one case
where the kernel half does: the cap must be in place before the notebook's first line,
and an import hook could be taken off `sys.meta_path` by that line), gives the one
visible GPU a logical device with `memory_limit`, and initialises it. TensorFlow
refuses to change the configuration of initialised devices (RuntimeError), so the
notebook cannot lift the cap with `set_logical_device_configuration` or
`set_memory_growth`. Memory growth (TF_FORCE_GPU_ALLOW_GROWTH) stays on: the kernel
takes what it uses, up to the limit, and the measured peak means something.

What this does not cover (the trusted side's watch and MPS do, see grader/gpus.py):
CUDA used by other libraries or raw calls in this process, and processes the notebook
starts (they inherit CUDA_VISIBLE_DEVICES and MPS's limit, not TensorFlow's config).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import recorder


def cap(tf: Any, memory_mb: int) -> dict[str, Any]:
    """Limit TensorFlow to `memory_mb` on each visible GPU (a slot shows one) and initialise
    the devices; returns what was done (recorded in the trace as a "gpu" event)."""
    gpus = list(tf.config.list_physical_devices("GPU"))
    if not gpus:
        return {"action": "no GPU visible", "memory_mb": memory_mb}
    for device in gpus:
        tf.config.set_logical_device_configuration(
            device, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_mb)]
        )
    logical = tf.config.list_logical_devices("GPU")  # initialises: the configuration is final from here
    return {"action": "memory capped", "memory_mb": memory_mb, "devices": len(logical)}


def install(memory_mb: int, importer: Any = importlib.import_module) -> None:
    """Import TensorFlow and cap it; a failure is recorded, never raised (the notebook
    still runs: the worker's watch then holds the line)."""
    try:
        tf = importer("tensorflow")
    except Exception as exc:
        recorder.record("gpu", action="tensorflow not importable", error=repr(exc)[:300])
        return
    try:
        done = cap(tf, memory_mb)
    except Exception as exc:
        recorder.record("gpu", action="cap failed", memory_mb=memory_mb, error=repr(exc)[:300])
        return
    recorder.record("gpu", **done)
