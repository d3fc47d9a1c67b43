"""The trace: what the notebook did, as a list of plain JSON events (see the package
docstring for every event and field), and the helpers that make values plain."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import numpy as np

from . import protocol

TRACE: list[dict[str, Any]] = []
# What the trusted side reads: seq -> (the event's JSON text, its seal). TRACE holds the
# live dicts our own code completes; each completion seals the event again.
SEALED: dict[int, tuple[str, str]] = {}
_key = [b""]


def set_key(key: bytes) -> None:
    _key[0] = key


def record(event: str, **fields: Any) -> dict[str, Any]:
    """Append one event; return it (the caller may complete it later, then `seal` it)."""
    fields["event"] = event
    fields["t"] = round(time.time(), 3)
    if len(TRACE) < protocol.MAX_TRACE_EVENTS:
        fields["seq"] = len(TRACE)
        TRACE.append(fields)
        seal(fields)
    return fields


def seal(event: dict[str, Any]) -> None:
    """Seal the event as it is now (after our own code completed or counted it)."""
    seq = event.get("seq")
    if not isinstance(seq, int) or not 0 <= seq < protocol.MAX_TRACE_EVENTS:
        return
    try:
        text = json.dumps(event, sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"event": "bootstrap_error", "seq": seq, "where": "seal", "error": repr(exc)[:300]})
    SEALED[seq] = (text, protocol.seal(_key[0], text))


def sealed() -> dict[str, Any]:
    """The trace as the trusted side reads it: sealed texts in order, and a sealed count."""
    items = [{"text": text, "seal": mac} for _, (text, mac) in sorted(SEALED.items())]
    return {"sealed": items, "count": len(items), "count_seal": protocol.seal(_key[0], protocol.count_text(len(items)))}


def sealed_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """One event as sealed (what fit_for answers), or None."""
    seq = event.get("seq")
    entry = SEALED.get(seq) if isinstance(seq, int) else None
    return None if entry is None else {"text": entry[0], "seal": entry[1]}


def last() -> dict[str, Any] | None:
    return TRACE[-1] if TRACE else None


def reset() -> None:
    """Forget every event (the host's unit tests; the kernel never calls it)."""
    TRACE.clear()
    SEALED.clear()


def failed(where: str, exc: BaseException) -> None:
    """A hook of ours failed: note it, never break the student's run."""
    record("bootstrap_error", where=where, error=repr(exc)[:300])


def qualname(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"[:300]


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe summary of an argument: short strings, numbers, lists, dicts."""
    if depth > 8:
        return "..."
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:500]
    if isinstance(value, np.generic):
        return plain(value.item(), depth + 1)
    if isinstance(value, np.ndarray):
        return plain(value.item(), depth + 1) if value.size == 1 else f"<ndarray {list(value.shape)}>"
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in list(value)[:100]]
    if isinstance(value, dict):
        return {str(k)[:100]: plain(v, depth + 1) for k, v in list(value.items())[:100]}
    if hasattr(value, "numpy") and getattr(value, "shape", None) is not None:
        try:
            if len(value.shape) == 0:
                return plain(value.numpy(), depth + 1)
        except Exception:
            pass
    return f"<{type(value).__name__}>"


def name_of(obj: Any) -> Any:
    """What the student passed, as a name: strings as they are, functions by
    __name__, objects (Loss, Metric, Optimizer instances) by class name."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (list, tuple)):
        return [name_of(o) for o in list(obj)[:50]]
    if isinstance(obj, dict):
        return {str(k)[:100]: name_of(v) for k, v in list(obj.items())[:50]}
    if isinstance(obj, type):
        return obj.__name__
    n = getattr(obj, "__name__", None)
    if isinstance(n, str):
        return n
    return type(obj).__name__


def snake(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    if name != name.lower() and name != name.upper():
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", name)
    return str(name).lower()


def describe_data(x: Any, stats: bool = True) -> dict[str, Any] | None:
    """Shape, dtype and value range of a fit/evaluate input (how it was scaled)."""
    if x is None:
        return None
    try:
        if isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "dtype")):
            arr = x if isinstance(x, np.ndarray) else None
            shape = [None if d is None else int(d) for d in x.shape]
            out: dict[str, Any] = {
                "type": type(x).__name__, "shape": shape, "dtype": str(getattr(x.dtype, "name", x.dtype)),
            }
            if stats:
                if arr is None and hasattr(x, "numpy"):
                    arr = np.asarray(x.numpy())
                if arr is not None and arr.dtype.kind in "biuf" and arr.size:
                    out["min"] = float(arr.min())
                    out["max"] = float(arr.max())
            return out
        if isinstance(x, (list, tuple)):
            return {"type": type(x).__name__, "len": len(x), "items": [describe_data(v, stats) for v in list(x)[:4]]}
        if isinstance(x, dict):
            return {"type": "dict", "keys": [str(k)[:100] for k in list(x)[:20]]}
    except Exception as exc:
        return {"type": type(x).__name__, "error": repr(exc)[:200]}
    return {"type": type(x).__name__}


def fingerprint(x: Any) -> dict[str, Any] | None:
    """protocol.fingerprint, never raising (None: not a numeric array, or it failed)."""
    if x is None:
        return None
    try:
        if not isinstance(x, np.ndarray) and hasattr(x, "numpy") and hasattr(x, "shape"):
            x = x.numpy()  # a tf.Tensor
        if not isinstance(x, np.ndarray):
            return None  # a data set pipeline, a generator, several inputs
        return protocol.fingerprint(x)
    except Exception:
        return None
