"""The Keras ops of the witness protocol, on a plain dict namespace (the notebook's
globals): describe a model, read a history, find the fit behind a history, export a
model's architecture and weights, read a file of the notebook's folder (a checkpoint's
bytes), and say which of the grader's wrappers are no longer in place. They compute
nothing that is graded: the trusted side evaluates what they export."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import codec, protocol, recorder, wrappers
from .keras_describe import describe_model, is_history, is_model
from .keras_trace import FIT_RESULTS, MAKERS
from .protocol import Invalid, NoSuchName, TooBig

Namespace = dict[str, Any]
Request = dict[str, Any]

_settings: dict[str, Any] = {"home": os.getcwd(), "max_reply_bytes": codec.DEFAULT_MAX_BYTES}
COLAB_HOME = "/content"


def configure(home: str, max_reply_bytes: int) -> None:
    _settings.update(home=home, max_reply_bytes=max_reply_bytes)


def resolve(ns: Namespace, req: Request) -> tuple[Any, str]:
    """The value at `name` and then `path` (keys into dicts, indexes into lists)."""
    name = req.get("name")
    if not isinstance(name, str):
        raise Invalid("malformed question: no name")
    if name not in ns:
        raise NoSuchName(name)
    value = ns[name]
    where = f"`{name}`"
    for key in codec.decode(req.get("path") or []):
        if isinstance(value, dict):
            if key not in value:
                keys = list(value)[:10]
                hint = ""
                if any(isinstance(k, str) for k in keys) and not isinstance(key, str):
                    hint = " (its keys are strings; use the numbers themselves as keys, e.g. 0.25, not '0.25')"
                raise Invalid(f"{where} has no key {key!r}; its keys are {keys!r}{hint}")
            value = value[key]
        elif isinstance(value, (list, tuple)) and isinstance(key, int):
            if not -len(value) <= key < len(value):
                raise Invalid(f"{where} has no item {key} (it has {len(value)})")
            value = value[key]
        else:
            raise Invalid(f"{where} is a {type(value).__name__}, not a dict")
        where = f"{where}[{key!r}]"
    return value, where


def _model_at(ns: Namespace, req: Request) -> Any:
    value, where = resolve(ns, req)
    if is_history(value) and is_model(getattr(value, "model", None)):
        value = value.model
    if not is_model(value):
        raise Invalid(f"{where} is a {type(value).__name__}, not a Keras model")
    return value


def op_model(ns: Namespace, req: Request) -> Any:
    return describe_model(_model_at(ns, req))


def _history_dict(value: Any, where: str) -> Any:
    if is_history(value):
        return value.history
    if isinstance(value, dict):
        return value
    raise Invalid(f"{where} is a {type(value).__name__}; expected a Keras History (what fit returns) "
                  "or its .history dict")


def op_history(ns: Namespace, req: Request) -> Any:
    value, where = resolve(ns, req)
    return {"history": _history_dict(value, where), "of": "History" if is_history(value) else "dict"}


def op_fit_for(ns: Namespace, req: Request) -> Any:
    value, where = resolve(ns, req)
    target = _history_dict(value, where)
    for event, hist in reversed(FIT_RESULTS):
        if value is hist or target is getattr(hist, "history", None):
            return recorder.sealed_event(event)
    for event, hist in reversed(FIT_RESULTS):
        h = getattr(hist, "history", None)
        try:
            if isinstance(h, dict) and set(h) == set(target) and all(
                list(map(float, h[k])) == list(map(float, target[k])) for k in h
            ):
                return recorder.sealed_event(event)
        except Exception:
            continue
    return None


def op_export_model(ns: Namespace, req: Request) -> Any:
    model = _model_at(ns, req)
    cap = int(_settings["max_reply_bytes"])
    try:
        config = model.to_json()
    except Exception as exc:
        raise Invalid(f"Keras could not describe the model as JSON: {str(exc)[:300]}") from None
    if not isinstance(config, str):
        raise Invalid("the model's to_json() did not return a string")
    if len(config) > protocol.MAX_CONFIG_CHARS:
        raise TooBig(f"the model's configuration is {len(config)} characters, over the grader's limit")
    weights = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
    size = len(config) + sum(w.nbytes for w in weights) * 4 // 3 + 1024 * (len(weights) + 1)
    if size > cap:
        raise TooBig(f"the model's architecture and weights take {size / 2**20:.1f} MB, "
                     f"over the grader's limit of {cap / 2**20:.0f} MB")
    t = type(model)
    return {"config": config, "weights": weights, "class": f"{t.__module__}.{t.__qualname__}",
            "built": bool(getattr(model, "built", False)), "weights_digest": protocol.weights_digest(weights)}


def notebook_path(path: Any, what: str = "file") -> tuple[str, str]:
    """(absolute path, path relative to the notebook's folder) of a file inside that
    folder; Colab's `/content/...` is the same folder. Invalid for anything else."""
    if not isinstance(path, str) or not path or "\0" in path or len(path) > 4096:
        raise Invalid(f"the {what} path must be a non-empty string, got {path!r:.100}")
    home = os.path.realpath(_settings["home"])
    given = path
    if path == COLAB_HOME or path.startswith(COLAB_HOME + "/"):
        path = path[len(COLAB_HOME):].lstrip("/") or "."
    full = os.path.realpath(os.path.join(home, os.path.expanduser(path)))
    if os.path.commonpath([full, home]) != home:
        raise Invalid(f"the {what} {given!r} is outside your notebook's folder; save it beside the notebook "
                      "(a relative path such as 'best_model.keras')")
    if not os.path.isfile(full):
        raise Invalid(f"there is no {what} at {given!r} (was it saved? is the name the same as in your code?)")
    return full, os.path.relpath(full, home)


def op_read_file(ns: Namespace, req: Request) -> Any:
    full, rel = notebook_path(req.get("path"))
    cap = int(_settings["max_reply_bytes"])
    size = os.path.getsize(full)
    if size * 4 // 3 + 1024 > cap:
        raise TooBig(f"the file {rel!r} is {size / 2**20:.1f} MB, over the grader's limit of {cap / 2**20:.0f} MB")
    with open(full, "rb") as f:
        data = f.read(cap)
    return {"data": np.frombuffer(data, dtype=np.uint8), "size": len(data), "file": rel}


def op_integrity(ns: Namespace, req: Request) -> Any:
    """Which of the grader's wrappers are no longer the object in place, and models in
    the notebook's globals that carry their own compile/fit/evaluate/predict."""
    out = wrappers.replaced()
    seen: set[int] = set()
    for name, value in list(ns.items())[:10000]:
        model = value.model if is_history(value) else value
        if not isinstance(name, str) or name.startswith("_") or not is_model(model) or id(model) in seen:
            continue
        seen.add(id(model))
        own = getattr(model, "__dict__", {})
        out += [f"{name}.{attr}" for attr in MAKERS if attr in own]
    return {"replaced": out}


OPS = {
    protocol.MODEL: op_model,
    protocol.HISTORY: op_history,
    protocol.FIT_FOR: op_fit_for,
    protocol.EXPORT_MODEL: op_export_model,
    protocol.READ_FILE: op_read_file,
    protocol.INTEGRITY: op_integrity,
}
