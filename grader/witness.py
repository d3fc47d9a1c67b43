"""The trusted side of the witness protocol: what a test may ask a student's kernel.

The kernel is a witness, never a judge: every answer is untrusted data. It crosses as
JSON, arrays as `.npy` read with allow_pickle=False, and is validated here (types,
sizes, depth) before a test sees it. Comparisons happen in the test, on this side, so
nothing the student patches in their kernel (numpy, builtins, this protocol's kernel
half) can change a verdict; at most it garbles the student's own answers.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass
from typing import Any, Protocol

import nbformat
import numpy as np

from . import source as notebook_source
from .errors import BadReply, ForbiddenCall, MissingName, StudentError

MAX_DEPTH = 32
MAX_NODES = 1_000_000
ARRAY_KINDS = "biufc"
# Questions whose answers are the kernel's account of what happened (forgeable by a
# determined student), as opposed to the student's own values and functions.
TESTIMONY_OPS = frozenset({"trace", "model", "history", "fit_for", "integrity"})


class Channel(Protocol):
    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Figure:
    cell: int  # 1-based
    mime: str


@dataclass(frozen=True)
class CellError:
    cell: int  # 1-based
    ename: str
    evalue: str


@dataclass(frozen=True)
class ForeignObject:
    """A value the kernel could only describe (a model, a function, ...), never rebuild."""

    type: str
    repr: str


# ------------------------------------------------------------------ encoding
def encode(value: Any, depth: int = 0) -> Any:
    """Encode a test-made value for the kernel (the kernel's decoder mirrors this)."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply to send")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value) if abs(int(value)) < 2**53 else {"$int": str(int(value))}
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else {"$float": repr(f)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARRAY_KINDS:
            raise TypeError(f"cannot send an array of dtype {value.dtype}")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"$ndarray": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


class _Decoder:
    def __init__(self) -> None:
        self.nodes = 0

    def __call__(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise BadReply("your value has too many parts for the grader to read")
        if depth > MAX_DEPTH:
            raise BadReply(f"your value is nested more than {MAX_DEPTH} levels deep")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self(v, depth + 1) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise BadReply("malformed answer from the kernel")
        if "$ndarray" in value:
            return _array(value["$ndarray"])
        if "$tuple" in value and isinstance(value["$tuple"], list):
            return tuple(self(v, depth + 1) for v in value["$tuple"])
        if "$dict" in value and isinstance(value["$dict"], list):
            out: dict[Any, Any] = {}
            for pair in value["$dict"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise BadReply("malformed dict in the kernel's answer")
                key = self(pair[0], depth + 1)
                try:
                    out[key] = self(pair[1], depth + 1)
                except TypeError:
                    raise BadReply("a dict key in your value is not hashable") from None
            return out
        if "$float" in value and isinstance(value["$float"], str):
            if value["$float"] not in ("nan", "inf", "-inf"):
                raise BadReply("malformed float in the kernel's answer")
            return float(value["$float"])
        if "$int" in value and isinstance(value["$int"], str):
            text = value["$int"]
            if len(text) > 4000 or not text.lstrip("-").isdigit():
                raise BadReply("malformed integer in the kernel's answer")
            return int(text)
        if "$object" in value and isinstance(value["$object"], str):
            return ForeignObject(value["$object"][:200], str(value.get("repr", ""))[:200])
        raise BadReply("malformed answer from the kernel")


def _array(blob: Any) -> np.ndarray:
    if not isinstance(blob, str):
        raise BadReply("malformed array in the kernel's answer")
    try:
        raw = base64.b64decode(blob, validate=True)
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (binascii.Error, ValueError, OSError, EOFError) as exc:
        raise BadReply(f"an array in your value could not be read ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ARRAY_KINDS:
        raise BadReply("an array in your value has a non-numeric dtype")
    return arr


def decode(value: Any) -> Any:
    """Validate and rebuild an untrusted answer into plain Python and numpy values."""
    return _Decoder()(value)


# ------------------------------------------------------------------ the handle
class _NoKey:
    """No subscript: the global itself."""

    def __repr__(self) -> str:
        return "NO_KEY"


NO_KEY: Any = _NoKey()


class Notebook:
    """The handle every test gets as the `nb` fixture: the grader's and the student's
    local pytest use this same class over different channels."""

    def __init__(
        self,
        channel: Channel | None,
        notebook: nbformat.NotebookNode,
        *,
        kernel_error: str | None = None,
    ) -> None:
        self._channel = channel
        self._nb = notebook
        self._kernel_error = kernel_error
        # What the current check's verdict rests on ("testimony", "trusted"); the
        # pytest plugin empties it before each check and records it after.
        self.basis: set[str] = set()
        # Trusted evaluation of trained models (grader.trusted), where the run has it.
        self.trusted: Any = None

    # -- values from the live kernel
    def _ask(self, payload: dict[str, Any], timeout: float | None = None) -> Any:
        from .errors import KernelGone

        if payload.get("op") in TESTIMONY_OPS:
            self.basis.add("testimony")
        if self._channel is None:
            raise KernelGone(self._kernel_error or "the notebook could not be run, so this was not checked")
        reply = self._channel.request(payload, timeout)
        if reply.get("ok") is True:
            return reply
        err = reply.get("error")
        if not isinstance(err, dict):
            raise BadReply("malformed answer from the kernel")
        etype = str(err.get("type", "Error"))[:100]
        message = str(err.get("message", ""))[:2000]
        if etype == "MissingName":
            raise MissingName(payload.get("name", message))
        if etype == "Invalid":  # the kernel's op says, for the student, why it cannot answer
            raise BadReply(message)
        if etype == "TooBig":
            raise BadReply(f"your value is too large for the grader to read: {message}")
        if reply.get("student"):
            raise StudentError(f"{payload.get('name')}(...) raised {etype}" + (f": {message}" if message else ""))
        raise BadReply(f"the grader could not read your notebook's value ({etype}: {message})")

    def get(self, name: str) -> Any:
        """The value of global `name` after the notebook ran."""
        return decode(self._ask({"op": "get", "name": name}).get("value"))

    def has(self, name: str) -> bool:
        return self._ask({"op": "has", "name": name}).get("value") is True

    def type_name(self, name: str) -> str:
        return str(self._ask({"op": "type", "name": name}).get("value"))[:200]

    def call(
        self,
        name: str,
        *args: Any,
        forbid: tuple[str, ...] | list[str] = (),
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call the student's function `name` on values the test made."""
        reply = self._ask(
            {"op": "call", "name": name, "args": encode(list(args)), "kwargs": encode(kwargs), "forbid": list(forbid)},
            timeout,
        )
        self._check_forbidden(name, reply)
        return decode(reply.get("value"))

    @staticmethod
    def _check_forbidden(name: str, reply: dict[str, Any]) -> None:
        hits = reply.get("forbidden") or []
        if hits:
            used = ", ".join(str(h)[:80] for h in hits[:5])
            raise ForbiddenCall(f"{name} called {used}, which this exercise forbids; write the computation yourself")

    def request(self, op: str, timeout: float | None = None, **fields: Any) -> Any:
        """Extension point for richer questions (model descriptions, traces)."""
        return decode(self._ask({"op": op, **fields}, timeout).get("value"))

    def trace(self, event: str | None = None) -> list[dict[str, Any]]:
        """What the notebook did, in order: a list of events (dicts with str keys and
        plain JSON values), each with "event" (its kind) and "t" (a time stamp).
        `event` keeps only events of that kind. Kinds: "load_data", "compile", "fit",
        "evaluate", "predict", "to_categorical", "profile" (what the grader applied),
        "bootstrap_error". See the module docstring of grader.kernel.bootstrap for fields.
        """
        events = validate_trace(self.request("trace"))
        return [e for e in events if event is None or e["event"] == event]

    # -- Keras: models, histories, checkpoints
    def model(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, Any]:
        """Description of the Keras model held by global `name` (or `name[key]`; a History
        stands for its .model). Layers exclude InputLayer. See `validate_model`."""
        what = _what(name, key)
        value = self.request("model", timeout, name=name, path=_path(key))
        return validate_model(value, what)

    def history(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, list[float]]:
        """The training history held by global `name` (or `name[key]`): a keras History or
        its .history dict, as {metric: [one float per epoch]}; every list has the same,
        non-zero length and holds finite numbers, else BadReply says what is wrong."""
        what = _what(name, key)
        value = self.request("history", timeout, name=name, path=_path(key))
        if not isinstance(value, dict) or not isinstance(value.get("history"), dict):
            raise BadReply(f"{what}: malformed history from the kernel")
        return validate_history(value["history"], what)

    def fit_for(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, Any] | None:
        """The trace's "fit" event of the fit call that returned the History held by
        `name` (or `name[key]`; its .history dict works too, also a copy of it), or None
        if no traced fit produced it."""
        what = _what(name, key)
        value = self.request("fit_for", timeout, name=name, path=_path(key))
        if value is None:
            return None
        event = validate_event(value)
        if event["event"] != "fit":
            raise BadReply(f"{what}: malformed fit record from the kernel")
        return event

    def evaluate_checkpoint(
        self,
        path: str,
        split: str = "test",
        *,
        dataset: str | None = None,
        model: str | None = None,
        scale: float = 1.0 / 255.0,
        validation_split: float = 0.2,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Load the checkpoint file at `path` (relative to the notebook's folder; paths
        outside it are refused) with keras.models.load_model in the kernel and evaluate it
        on `split` of the data set the notebook loaded: "test", "train" (the whole training
        set) or "validation" (the last `validation_split` of the training set: what
        fit(validation_split=...) held out, so the best checkpoint's loss there equals the
        lowest val_loss of that run). `dataset` names the data set when the notebook
        loaded several. Images are cast to float32, multiplied by `scale` and reshaped to
        the model's input shape.
        A `.weights.h5` file is loaded into a clone of the model held by global `model`
        (a Model or the History fit returned).

        Returns {"loss": float, "accuracy": float | None (argmax of the outputs == label),
        "samples": int, "dataset": str, "split": str, "file": str (relative to the
        notebook's folder), "metrics": {name: float} (model.evaluate's dict, empty if the
        saved model was not compiled)}.
        """
        if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
            raise BadReply(f"the checkpoint path must be a non-empty string, got {type(path).__name__} {path!r:.100}")
        if split not in ("test", "train", "validation"):
            raise ValueError(f"split must be 'test', 'train' or 'validation', not {split!r}")
        fields: dict[str, Any] = {
            "path": path,
            "split": split,
            "scale": float(scale),
            "validation_split": float(validation_split),
        }
        if dataset is not None:
            fields["dataset"] = dataset
        if model is not None:
            fields["model"] = model
        value = self.request("evaluate_checkpoint", timeout, **fields)
        return validate_evaluation(value, path)

    # -- facts from the executed notebook (trusted copies: outputs captured by the grader)
    @property
    def code(self) -> str:
        return "\n\n".join(c.source for c in self._nb.cells if c.cell_type == "code")

    def function_source(self, name: str) -> str | None:
        """Source of the last `def name` in the notebook's code cells (parsed here)."""
        return notebook_source.function_source(self._nb, name)

    def function_closure(self, name: str) -> str | None:
        """Source of `def name` and of every notebook-level statement it uses through
        global names (read from the file, not asked of the kernel); see grader.source."""
        return notebook_source.function_closure(self._nb, name)

    @property
    def figures(self) -> list[Figure]:
        out = []
        for i, cell in enumerate(self._nb.cells):
            for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if o.get("output_type") in ("display_data", "execute_result"):
                    for mime in o.get("data", {}):
                        if mime.startswith("image/"):
                            out.append(Figure(i + 1, mime))
        return out

    @property
    def errors(self) -> list[CellError]:
        out = []
        for i, cell in enumerate(self._nb.cells):
            for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if o.get("output_type") == "error":
                    out.append(CellError(i + 1, str(o.get("ename", "")), str(o.get("evalue", ""))))
        return out

    def answer(self, answer_id: str) -> str | None:
        return answers(self._nb).get(answer_id)


# ------------------------------------------------------------------ Keras answers
def _path(key: Any) -> Any:
    return encode([] if key is NO_KEY else [key])


def _what(name: str, key: Any) -> str:
    return f"`{name}`" if key is NO_KEY else f"`{name}[{key!r}]`"


_PLAIN_DEPTH = 12


def _plain(value: Any, what: str, depth: int = 0) -> Any:
    """`value` if it is plain JSON data (tuples become lists), else BadReply."""
    if depth > _PLAIN_DEPTH:
        raise BadReply(f"{what}: nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, what, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise BadReply(f"{what}: malformed record from the kernel (key {k!r:.50})")
            out[k] = _plain(v, what, depth + 1)
        return out
    raise BadReply(f"{what}: malformed record from the kernel ({type(value).__name__})")


def _int(value: Any, what: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadReply(f"{what}: expected a count, the kernel sent {value!r:.50}")
    return value


def _str(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BadReply(f"{what}: expected a string, the kernel sent {type(value).__name__}")
    return value[:500]


def _shape(value: Any, what: str) -> list[int | None] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise BadReply(f"{what}: malformed shape from the kernel")
    return list(value)


def validate_model(value: Any, what: str = "the model") -> dict[str, Any]:
    """Check a model description from the kernel and return a clean copy:

    {"class": str, "name": str, "uid": int (matches "model_uid" in trace events),
     "built": bool, "input_shape": [None, 28, 28, 1] | None,
     "layers": [{"class": "Dense", "name": str,
                 "config": {subset of units, activation, use_bias, rate, filters,
                            kernel_size, strides, padding, pool_size, axis, momentum,
                            epsilon, center, scale, target_shape, dims, dilation_rate,
                            groups; the first layer also input_shape (without batch)},
                 "output_shape": [None, 100] | None, "params": int | None}, ...],
     "trainable_params": int, "non_trainable_params": int,
     "compile": None | {"optimizer": {"class": "SGD", "config": {...get_config()}} | None,
                        "optimizer_arg": str | None (what was passed: 'sgd' or a class name),
                        "loss": str | list | dict | None (as passed: a string, a function's
                                __name__ or a Loss class name), "loss_key": str | None
                                (snake_case: 'sparse_categorical_crossentropy'),
                        "metrics": list (names as passed)}}
    """
    if not isinstance(value, dict):
        raise BadReply(f"{what}: malformed model description from the kernel")
    layers_raw = value.get("layers")
    if not isinstance(layers_raw, list):
        raise BadReply(f"{what}: malformed model description (no layer list)")
    layers = []
    for i, layer in enumerate(layers_raw):
        lw = f"{what}, layer {i}"
        if not isinstance(layer, dict):
            raise BadReply(f"{lw}: malformed layer description")
        config = _plain(layer.get("config", {}), lw)
        if not isinstance(config, dict):
            raise BadReply(f"{lw}: malformed layer config")
        layers.append(
            {
                "class": _str(layer.get("class"), lw),
                "name": _str(layer.get("name"), lw),
                "config": config,
                "output_shape": _shape(layer.get("output_shape"), lw),
                "params": _int(layer.get("params"), lw, optional=True),
            }
        )
    comp = value.get("compile")
    compile_out: dict[str, Any] | None = None
    if comp is not None:
        if not isinstance(comp, dict):
            raise BadReply(f"{what}: malformed compile settings")
        opt = comp.get("optimizer")
        opt_out = None
        if opt is not None:
            if not isinstance(opt, dict) or not isinstance(opt.get("config", {}), dict):
                raise BadReply(f"{what}: malformed optimizer description")
            opt_out = {"class": _str(opt.get("class"), what), "config": _plain(opt.get("config", {}), what)}
        metrics = _plain(comp.get("metrics") or [], what)
        compile_out = {
            "optimizer": opt_out,
            "optimizer_arg": _str(comp.get("optimizer_arg"), what, optional=True),
            "loss": _plain(comp.get("loss"), what),
            "loss_key": _str(comp.get("loss_key"), what, optional=True),
            "metrics": metrics if isinstance(metrics, list) else [metrics],
        }
    uid = value.get("uid")
    if isinstance(uid, bool) or not isinstance(uid, int):
        raise BadReply(f"{what}: malformed model description (uid)")
    built = value.get("built")
    if not isinstance(built, bool):
        raise BadReply(f"{what}: malformed model description (built)")
    return {
        "class": _str(value.get("class"), what),
        "name": _str(value.get("name"), what),
        "uid": uid,
        "built": built,
        "input_shape": _shape(value.get("input_shape"), what),
        "layers": layers,
        "trainable_params": _int(value.get("trainable_params"), what),
        "non_trainable_params": _int(value.get("non_trainable_params"), what),
        "compile": compile_out,
    }


def validate_history(value: Any, what: str = "the history") -> dict[str, list[float]]:
    """{metric name: [finite float per epoch]} with str keys and equal, non-zero lengths."""
    if not isinstance(value, dict):
        raise BadReply(f"{what} must be a Keras History or its .history dict, got {type(value).__name__}")
    if not value:
        raise BadReply(f"{what} is empty: it records no epoch (did fit run?)")
    out: dict[str, list[float]] = {}
    lengths: dict[str, int] = {}
    for key, series in value.items():
        if not isinstance(key, str):
            raise BadReply(f"{what}: history keys are metric names like 'loss', found the key {key!r:.50}")
        if isinstance(series, np.ndarray):
            if series.ndim != 1 or series.dtype.kind not in "biuf":
                raise BadReply(f"{what}['{key}'] must be a list of numbers, one per epoch")
            series = series.tolist()
        if not isinstance(series, (list, tuple)):
            raise BadReply(f"{what}['{key}'] must be a list of numbers, one per epoch, got {type(series).__name__}")
        floats = []
        for i, v in enumerate(series):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise BadReply(f"{what}['{key}'] must hold numbers; epoch {i + 1} holds {type(v).__name__}")
            f = float(v)
            if not math.isfinite(f):
                raise BadReply(
                    f"{what}['{key}'] is {f} at epoch {i + 1}: the training diverged "
                    "(a learning rate too high, or unscaled inputs?)"
                )
            floats.append(f)
        out[key] = floats
        lengths[key] = len(floats)
    if len(set(lengths.values())) != 1:
        raise BadReply(f"{what}: its lists have different lengths ({lengths}); one value per epoch each")
    if next(iter(lengths.values())) == 0:
        raise BadReply(f"{what} records no epoch (its lists are empty)")
    return out


def validate_event(value: Any, what: str = "the trace") -> dict[str, Any]:
    event = _plain(value, what)
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise BadReply(f"{what}: malformed event from the kernel")
    return event


def validate_trace(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadReply("the trace of your notebook's run was malformed")
    return [validate_event(v) for v in value]


def validate_evaluation(value: Any, path: str) -> dict[str, Any]:
    what = f"evaluating the checkpoint {path!r:.200}"
    if not isinstance(value, dict):
        raise BadReply(f"{what}: malformed answer from the kernel")
    loss = value.get("loss")
    if isinstance(loss, bool) or not isinstance(loss, (int, float)):
        raise BadReply(f"{what}: no loss came back")
    acc = value.get("accuracy")
    if acc is not None and (isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0.0 <= acc <= 1.0):
        raise BadReply(f"{what}: malformed accuracy")
    samples = _int(value.get("samples"), what)
    if not samples:
        raise BadReply(f"{what}: evaluated on no samples")
    metrics = value.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in metrics.items()
    ):
        raise BadReply(f"{what}: malformed metrics")
    return {
        "loss": float(loss),
        "accuracy": None if acc is None else float(acc),
        "samples": samples,
        "dataset": _str(value.get("dataset"), what),
        "split": _str(value.get("split"), what),
        "file": _str(value.get("file"), what),
        "metrics": {k: float(v) for k, v in metrics.items()},
    }


def answers(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Free-text answers: markdown cells tagged `answer:<id>` (or holding
    `<!-- answer:<id> -->`), text without the marker."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        ids = [
            t.split(":", 1)[1]
            for t in cell.get("metadata", {}).get("tags", [])
            if isinstance(t, str) and t.startswith("answer:")
        ]
        text = cell.source
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("<!--") and s.endswith("-->") and "answer:" in s:
                ids.append(s[4:-3].strip().split(":", 1)[1].strip())
        if ids:
            clean = "\n".join(
                line for line in text.splitlines() if not (line.strip().startswith("<!--") and "answer:" in line)
            ).strip()
            for i in ids:
                out[i] = clean
    return out
