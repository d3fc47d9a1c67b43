"""The kernel half's codec: Python values to plain JSON and back.

JSON types stay themselves; the rest is tagged: {"$ndarray": base64 of .npy written
with allow_pickle=False}, {"$tuple": [...]}, {"$dict": [[key, value], ...]} (keys of any
type), {"$int": "digits"} (beyond 2**53), {"$float": "nan" | "inf" | "-inf"}, and
{"$object": "module.Class", "repr": str} for what can only be described. The trusted
side (grader.witness) has its own validating decoder for what comes back; this decoder
reads what the trusted side sends, which it trusts.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

from . import protocol
from .protocol import TooBig

__all__ = ["TooBig", "decode", "encode", "npy_b64"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024

# Bound once: a notebook that rebinds numpy's functions does not change what we send.
_save = np.save
_load = np.load
_asarray = np.asarray
_ndarray = np.ndarray
_generic = np.generic


class _Budget:
    def __init__(self, max_bytes: int) -> None:
        self.nodes = protocol.MAX_NODES
        self.max_bytes = max_bytes


def npy_b64(arr: np.ndarray[Any, Any]) -> str:
    buf = io.BytesIO()
    _save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def encode(value: Any, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """`value` as plain JSON data; TooBig when it has too many parts, is nested too
    deeply, or one string or array is over `max_bytes`."""
    return _encode(value, _Budget(max_bytes), 0)


def _encode(value: Any, budget: _Budget, depth: int) -> Any:
    if depth > protocol.MAX_DEPTH:
        raise TooBig(f"value is nested more than {protocol.MAX_DEPTH} levels deep")
    budget.nodes -= 1
    if budget.nodes < 0:
        raise TooBig("value has too many parts")
    t = type(value)
    if value is None or t is bool:
        return value
    if t is str:
        if len(value) > budget.max_bytes:
            raise TooBig("string is too long")
        return value
    if t is int:
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if t is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, _generic):
        return _encode(value.item(), budget, depth + 1)
    if isinstance(value, _ndarray):
        arr = _asarray(value)
        if arr.dtype.kind not in protocol.ARRAY_KINDS:
            return {"$object": "ndarray of " + str(arr.dtype), "repr": ""}
        if arr.nbytes > budget.max_bytes:
            raise TooBig(f"array of {arr.nbytes} bytes")
        return {"$ndarray": npy_b64(arr)}
    if t is list:
        return [_encode(v, budget, depth + 1) for v in value]
    if t is tuple:
        return {"$tuple": [_encode(v, budget, depth + 1) for v in value]}
    if t is dict:
        return {"$dict": [[_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)] for k, v in value.items()]}
    name = t.__module__ + "." + t.__qualname__
    try:
        text = object.__repr__(value)
    except Exception:
        text = ""
    return {"$object": name, "repr": text[:200]}


def decode(value: Any) -> Any:
    """Rebuild what the trusted side encoded (grader.witness.encode)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "$ndarray" in value:
            return _load(io.BytesIO(base64.b64decode(value["$ndarray"])), allow_pickle=False)
        if "$tuple" in value:
            return tuple(decode(v) for v in value["$tuple"])
        if "$dict" in value:
            return {decode(k): decode(v) for k, v in value["$dict"]}
        if "$float" in value:
            return float(value["$float"])
        if "$int" in value:
            return int(value["$int"])
    return value
