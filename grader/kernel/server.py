"""The op server: one registry of ops, `dispatch(ns, request) -> reply` (pure: the host
unit-tests it on a plain dict), and `handle`, which the trusted side's silent request
runs: it decodes the request, dispatches on the notebook's globals and publishes the
reply as a display_data message of the protocol's MIME type.

A reply is {"id", "ok": True, "value": <codec data>, ...} or {"id", "ok": False,
"error": {"kind": one of protocol.ERROR_KINDS, "message": str, "type": the exception's
class name (data for the student's message, never matched on)}}; `call` adds
"forbidden": [the forbidden functions the call reached].
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from . import codec, protocol, recorder
from .protocol import BadRequest, NoSuchName, WitnessError

Op = Callable[[dict[str, Any], dict[str, Any]], Any]

SETTINGS: dict[str, Any] = {"max_reply_bytes": codec.DEFAULT_MAX_BYTES, "mime": protocol.WITNESS_MIME}


class StudentRaised(WitnessError):
    """The student's function raised while `call` ran it; the exception is data."""

    kind = protocol.STUDENT_RAISED

    def __init__(self, exc: BaseException, forbidden: list[str]) -> None:
        super().__init__(str(exc))
        self.type = type(exc).__name__
        self.forbidden = forbidden


def _make_profiler(patterns: list[tuple[str, str, str]], hits: list[str]) -> Callable[[FrameType, str, Any], None]:
    def prof(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            mod = frame.f_globals.get("__name__", "") or ""
            name = frame.f_code.co_name
        elif event == "c_call":
            mod = getattr(arg, "__module__", "") or ""
            if not mod and type(arg).__name__ == "ufunc":
                mod = "numpy"
            name = getattr(arg, "__name__", "") or ""
        else:
            return
        for top, leaf, dotted in patterns:
            if (mod == top or mod.startswith(top + ".")) and (name == leaf or name.startswith(leaf + "_v")):
                if dotted not in hits:
                    hits.append(dotted)

    return prof


def _named(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    name = req.get("name")
    if not isinstance(name, str):
        raise BadRequest("no name")
    if name not in ns:
        raise NoSuchName(name)
    return ns[name]


def op_get(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    return _named(ns, req)


def op_has(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    return req.get("name") in ns


def op_type(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    return recorder.qualname(_named(ns, req))


def op_call(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    fn = _named(ns, req)
    args = codec.decode(req.get("args") or [])
    kwargs = codec.decode(req.get("kwargs") or {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise BadRequest("malformed arguments")
    hits: list[str] = []
    patterns = [(d.split(".")[0], d.rsplit(".", 1)[-1], d) for d in req.get("forbid") or [] if isinstance(d, str)]
    old = sys.getprofile()
    if patterns:
        sys.setprofile(_make_profiler(patterns, hits))
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # the student's exception is data here
        sys.setprofile(old)
        raise StudentRaised(exc, hits) from None
    finally:
        sys.setprofile(old)
    return Reply(result, forbidden=hits)


def op_trace(ns: dict[str, Any], req: dict[str, Any]) -> Any:
    return recorder.sealed()


class Reply:
    """An op's value with extra top-level reply fields."""

    def __init__(self, value: Any, **fields: Any) -> None:
        self.value = value
        self.fields = fields


OPS: dict[str, Op] = {
    protocol.GET: op_get,
    protocol.HAS: op_has,
    protocol.TYPE: op_type,
    protocol.CALL: op_call,
    protocol.TRACE: op_trace,
}


def register(ops: Mapping[str, Op]) -> None:
    unknown = set(ops) - set(protocol.OPS)
    if unknown:
        raise ValueError(f"not protocol ops: {sorted(unknown)}")
    OPS.update(ops)


def _error(rid: Any, kind: str, message: str, type_name: str = "", **fields: Any) -> dict[str, Any]:
    error = {"kind": kind, "message": message[: protocol.MAX_MESSAGE_CHARS], "type": type_name[:200]}
    return {"id": rid, "ok": False, "error": error, **fields}


def dispatch(ns: dict[str, Any], req: Any) -> dict[str, Any]:
    """The reply to one request, on namespace `ns`; never raises."""
    rid = req.get("id") if isinstance(req, dict) else None
    try:
        if not isinstance(req, dict):
            raise BadRequest("a request is a JSON object")
        op = OPS.get(req.get("op"))  # type: ignore[arg-type]
        if op is None:
            raise BadRequest(f"unknown op {str(req.get('op'))[:100]!r}")
        value = op(ns, req)
        fields: dict[str, Any] = {}
        if isinstance(value, Reply):
            value, fields = value.value, value.fields
        return {"id": rid, "ok": True, "value": codec.encode(value, SETTINGS["max_reply_bytes"]), **fields}
    except StudentRaised as exc:
        return _error(rid, exc.kind, str(exc), exc.type, forbidden=exc.forbidden)
    except WitnessError as exc:
        return _error(rid, exc.kind, str(exc), type(exc).__name__)
    except BaseException as exc:
        return _error(rid, protocol.INTERNAL, str(exc), type(exc).__name__)


def encode_reply(reply: dict[str, Any]) -> str:
    """The reply as JSON text; a TooBig error in its place when it is over the cap."""
    text = json.dumps(reply)
    if len(text) > SETTINGS["max_reply_bytes"]:
        text = json.dumps(_error(reply.get("id"), protocol.TOO_BIG, f"the answer is {len(text)} bytes, over the limit"))
    return text


def handle(request_b64: str) -> None:
    """Entry point of a witness request (run by the trusted side's silent execution)."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    try:
        req = json.loads(base64.b64decode(request_b64))
    except Exception as exc:
        reply = _error(None, protocol.BAD_REQUEST, f"unreadable request: {exc!r}"[:300])
    else:
        shell = get_ipython()
        reply = dispatch(shell.user_ns if shell is not None else {}, req)
    publish_display_data({SETTINGS["mime"]: encode_reply(reply)})  # type: ignore[no-untyped-call]
