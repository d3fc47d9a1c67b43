"""The witness protocol: the one module both halves import.

The grader imports it as `grader.kernel.protocol`; the kernel gets it shipped as source
with the rest of `grader.kernel` (see grader.kernel.ship). It holds no secret and no
expected value: only names, caps and the two digests both sides must compute alike.
It needs numpy and the standard library, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

WITNESS_MIME = "application/x-grader-witness+json"

# ------------------------------------------------------------------------- ops
GET = "get"
HAS = "has"
TYPE = "type"
CALL = "call"
TRACE = "trace"
MODEL = "model"
HISTORY = "history"
FIT_FOR = "fit_for"
EXPORT_MODEL = "export_model"  # architecture (Keras JSON) + weights (.npy): artefacts for trusted evaluation
READ_FILE = "read_file"  # the bytes of a file in the notebook's folder (a checkpoint)
INTEGRITY = "integrity"  # which of the grader's Keras wrappers are no longer in place
OPS = (GET, HAS, TYPE, CALL, TRACE, MODEL, HISTORY, FIT_FOR, EXPORT_MODEL, READ_FILE, INTEGRITY)

# ------------------------------------------------------------------------- error kinds
MISSING_NAME = "MissingName"  # the global does not exist
INVALID = "Invalid"  # the notebook's state cannot answer; the message is for the student
TOO_BIG = "TooBig"  # the answer is over the cap
BAD_REQUEST = "BadRequest"  # unknown op or malformed request (a grader bug, or a forged request)
STUDENT_RAISED = "StudentRaised"  # the student's own code raised while answering (call)
INTERNAL = "Internal"  # the kernel half failed in a way it did not expect
ERROR_KINDS = (MISSING_NAME, INVALID, TOO_BIG, BAD_REQUEST, STUDENT_RAISED, INTERNAL)


class WitnessError(Exception):
    """An op cannot answer; `kind` (one of ERROR_KINDS) is what crosses the boundary,
    never the class name."""

    kind = INTERNAL


class NoSuchName(WitnessError):
    kind = MISSING_NAME


class Invalid(WitnessError):
    """The notebook's state cannot answer the question; the message is for the student."""

    kind = INVALID


class TooBig(WitnessError):
    kind = TOO_BIG


class BadRequest(WitnessError):
    kind = BAD_REQUEST

# ------------------------------------------------------------------------- caps
MAX_DEPTH = 32  # nesting of an encoded value
MAX_NODES = 1_000_000  # parts of an encoded value
MAX_TRACE_EVENTS = 10_000
MAX_MESSAGE_CHARS = 2_000  # an error message from the kernel
MAX_CONFIG_CHARS = 8_000_000  # a model's Keras JSON config (export_model)
ARRAY_KINDS = "biufc"


@dataclass(frozen=True)
class BootConfig:
    """What the grader tells the kernel half at start-up (sent as JSON)."""

    seed: int
    max_reply_bytes: int
    profile_name: str
    max_epochs: int | None
    synthetic: bool
    data_dir: str | None
    mime: str = WITNESS_MIME
    extra: dict[str, Any] = field(default_factory=dict)
    trace_key: str = ""  # hex; seals the trace (see `seal`); "" when nothing checks it
    # TensorFlow's memory limit on the kernel's GPU slot (grader/gpus.py, grader/kernel/gpu.py);
    # None: no slot, TensorFlow is not imported by the bootstrap
    gpu_memory_mb: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BootConfig:
        return cls(**raw)


# ------------------------------------------------------------------------- digests
RAW_MAX = 255.0  # pixel values as load_data serves them


def fingerprint(value: Any) -> dict[str, Any] | None:
    """Identify a data array whatever the student did to its type, scale or shape.

    Images are reduced to the raw pixel values they came from (x / 255.0 in float64 or
    float32, reshaped or not, gives the same digest as the uint8 array load_data served);
    one-hot labels to their integer labels. The trusted side fingerprints its own copy
    of each split and compares: which split a fit trained on, whether it validated on the
    test set. Returns None for what is not a numeric array (a tf.data pipeline, a list).
    """
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype.kind not in "biuf" or arr.ndim == 0 or arr.shape[0] == 0:
        return None
    rows = int(arr.shape[0])
    flat = arr.reshape(rows, -1)
    top = float(np.max(flat))
    low = float(np.min(flat))
    head = flat[:8]
    onehot = bool(
        1 < flat.shape[1] <= 1000 and low >= 0 and top <= 1 and np.all(head.sum(axis=1) == 1)
        and np.array_equal(flat.sum(axis=1), np.ones(rows)) and np.all((flat == 0) | (flat == 1))
    )
    if onehot:
        flat = np.argmax(flat, axis=1).reshape(rows, 1)
        low, top_q, scale = 0.0, float(flat.shape[0] and flat.max()), 1.0
    else:
        scale = RAW_MAX if (arr.dtype.kind == "f" and top <= 1.0 + 1e-6) else 1.0
        top_q = top * scale
    small = low >= 0 and top_q < 255.5
    h = hashlib.sha256()
    h.update(str((rows, int(flat.shape[1]), "u1" if small else "i8")).encode())
    step = max(1, (1 << 22) // max(1, int(flat.shape[1])))  # ~4M values a chunk: bounded memory
    for at in range(0, rows, step):
        chunk = flat[at : at + step]
        if chunk.dtype.kind == "f":
            chunk = np.rint(chunk * (np.float32(scale) if chunk.dtype == np.float32 else scale))
        h.update(np.ascontiguousarray(chunk.astype(np.uint8 if small else np.int64)).tobytes())
    return {
        "digest": h.hexdigest()[:32],
        "rows": rows,
        "row_size": int(flat.shape[1]),
        "max": top,
        "onehot": onehot,
    }


def seal(key: bytes, text: str) -> str:
    """The seal of one trace event's JSON text (HMAC-SHA256 under the session's key).

    The kernel half seals every event as it records or completes it; the trusted side,
    which made the key, accepts only events whose seal matches. An event appended to the
    trace, edited in place, dropped or replayed by the notebook's code (or a forged
    reply) does not verify, unless that code finds the key in its own process's memory:
    testimony stays testimony (DESIGN §6), this only makes forging it take that much.
    """
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def count_text(count: int) -> str:
    """What the seal of a trace's length covers: a reply cannot be cut short unseen."""
    return f"trace-count:{count}"


def weights_digest(weights: list[Any]) -> str:
    """One digest of a model's weights (as float32), the same on both sides."""
    h = hashlib.sha256()
    for w in weights:
        a = np.ascontiguousarray(np.asarray(w, dtype=np.float32))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:32]
