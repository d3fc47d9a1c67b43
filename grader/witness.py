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
import hmac
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import nbformat
import numpy as np

from . import source as notebook_source
from .errors import BadReply, ForbiddenCall, MissingName, StudentError
from .i18n import Msg, join, msg
from .kernel import protocol
from .kernel.protocol import ARRAY_KINDS, MAX_DEPTH, MAX_NODES

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


_MALFORMED = msg("malformed answer from the kernel", "커널의 답이 잘못된 형식입니다")

# Korean of the default subjects of the messages below (`what`); a name in backquotes
# (`model`) or a Msg needs none.
_WHAT_KO = {"the model": "모델", "the history": "학습 기록", "the trace": "실행 기록"}


def _ko(what: str) -> str:
    """`what` (the subject of a message) in Korean."""
    return what.ko if isinstance(what, Msg) else _WHAT_KO.get(what, what)


def _bad(what: str, en: str, ko: str) -> BadReply:
    """BadReply "WHAT: EN" in both languages."""
    return BadReply(msg(f"{what}: {en}", f"{_ko(what)}: {ko}"))


_RECORD = ("malformed record from the kernel", "커널이 보낸 기록이 잘못된 형식입니다")


class _Decoder:
    def __init__(self) -> None:
        self.nodes = 0

    def __call__(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise BadReply(
                msg(
                    "your value has too many parts for the grader to read",
                    "값의 부분이 너무 많아 채점기가 읽을 수 없습니다",
                )
            )
        if depth > MAX_DEPTH:
            raise BadReply(
                msg(
                    f"your value is nested more than {MAX_DEPTH} levels deep",
                    f"값이 {MAX_DEPTH}단계보다 깊게 중첩되어 있습니다",
                )
            )
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self(v, depth + 1) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise BadReply(_MALFORMED)
        if "$ndarray" in value:
            return _array(value["$ndarray"])
        if "$tuple" in value and isinstance(value["$tuple"], list):
            return tuple(self(v, depth + 1) for v in value["$tuple"])
        if "$dict" in value and isinstance(value["$dict"], list):
            out: dict[Any, Any] = {}
            for pair in value["$dict"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise BadReply(
                        msg("malformed dict in the kernel's answer", "커널의 답에 잘못된 형식의 딕셔너리가 있습니다")
                    )
                key = self(pair[0], depth + 1)
                try:
                    out[key] = self(pair[1], depth + 1)
                except TypeError:
                    raise BadReply(
                        msg(
                            "a dict key in your value is not hashable",
                            "값에 있는 딕셔너리 키가 해시할 수 없는 값입니다",
                        )
                    ) from None
            return out
        if "$float" in value and isinstance(value["$float"], str):
            if value["$float"] not in ("nan", "inf", "-inf"):
                raise BadReply(
                    msg("malformed float in the kernel's answer", "커널의 답에 잘못된 형식의 실수가 있습니다")
                )
            return float(value["$float"])
        if "$int" in value and isinstance(value["$int"], str):
            text = value["$int"]
            if len(text) > 4000 or not text.lstrip("-").isdigit():
                raise BadReply(
                    msg("malformed integer in the kernel's answer", "커널의 답에 잘못된 형식의 정수가 있습니다")
                )
            return int(text)
        if "$object" in value and isinstance(value["$object"], str):
            return ForeignObject(value["$object"][:200], str(value.get("repr", ""))[:200])
        raise BadReply(_MALFORMED)


def _array(blob: Any) -> np.ndarray:
    if not isinstance(blob, str):
        raise BadReply(msg("malformed array in the kernel's answer", "커널의 답에 잘못된 형식의 배열이 있습니다"))
    try:
        raw = base64.b64decode(blob, validate=True)
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (binascii.Error, ValueError, OSError, EOFError) as exc:
        raise BadReply(
            msg(f"an array in your value could not be read ({exc})", f"값에 있는 배열을 읽을 수 없습니다 ({exc})")
        ) from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ARRAY_KINDS:
        raise BadReply(
            msg("an array in your value has a non-numeric dtype", "값에 있는 배열의 dtype이 숫자가 아닙니다")
        )
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
        # Told when the kernel's record of its run fails its seals (the grader flags it).
        self.on_tamper: Callable[[str], None] | None = None

    # -- values from the live kernel
    def _ask(self, payload: dict[str, Any], timeout: float | None = None) -> Any:
        from .errors import KernelGone

        if payload.get("op") in TESTIMONY_OPS:
            self.basis.add("testimony")
        if self._channel is None:
            raise KernelGone(
                self._kernel_error
                or msg(
                    "the notebook could not be run, so this was not checked",
                    "노트북을 실행할 수 없어서 이 검사를 하지 못했습니다",
                )
            )
        # One deadline per check for all its requests (grader.deadline): each request gets
        # at most the time the check has left, and the check's timer waits for it.
        from . import deadline
        from .errors import CheckTimeout

        asked = deadline.cap(timeout)
        try:
            with deadline.shielded():
                reply = self._channel.request(payload, asked)
        except CheckTimeout:
            if deadline.active() and asked != timeout:  # the check's deadline, not the request's own limit
                raise CheckTimeout(deadline.message()) from None
            raise
        if reply.get("ok") is True:
            return reply
        err = reply.get("error")
        if not isinstance(err, dict):
            raise BadReply(_MALFORMED)
        # matched by the protocol's error kind; "type" is only data for the message
        kind = err.get("kind")
        etype = str(err.get("type") or "Error")[:100]
        message = str(err.get("message", ""))[: protocol.MAX_MESSAGE_CHARS]
        if kind == protocol.MISSING_NAME:
            raise MissingName(str(payload.get("name", message)))
        if kind == protocol.INVALID:  # the kernel's op says, for the student, why it cannot answer
            raise BadReply(message)
        if kind == protocol.TOO_BIG:
            raise BadReply(
                msg(
                    f"your value is too large for the grader to read: {message}",
                    f"값이 너무 커서 채점기가 읽을 수 없습니다: {message}",
                )
            )
        if kind == protocol.STUDENT_RAISED:
            said = f": {message}" if message else ""
            raise StudentError(
                msg(
                    f"{payload.get('name')}(...) raised {etype}{said}",
                    f"{payload.get('name')}(...)에서 {etype} 예외가 발생했습니다{said}",
                )
            )
        raise BadReply(
            msg(
                f"the grader could not read your notebook's value ({etype}: {message})",
                f"채점기가 노트북의 값을 읽을 수 없었습니다 ({etype}: {message})",
            )
        )

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
            raise ForbiddenCall(
                msg(
                    f"{name} called {used}, which this exercise forbids; write the computation yourself",
                    f"{name}이(가) 이 실습에서 금지한 {used}을(를) 호출했습니다. 계산을 직접 작성하세요",
                )
            )

    def request(self, op: str, timeout: float | None = None, **fields: Any) -> Any:
        """Extension point for richer questions (model descriptions, traces)."""
        return decode(self._ask({"op": op, **fields}, timeout).get("value"))

    def trace(self, event: str | None = None) -> list[dict[str, Any]]:
        """What the notebook did, in order: a list of events (dicts with str keys and
        plain JSON values), each with "event" (its kind) and "t" (a time stamp).
        `event` keeps only events of that kind. Kinds: "load_data", "compile", "fit",
        "evaluate", "predict", "to_categorical", "profile" (what the grader applied),
        "colab", "bootstrap_error". See the docstring of the grader.kernel package for fields.
        """
        events = validate_trace(self._unseal_trace(self.request("trace")))
        return [e for e in events if event is None or e["event"] == event]

    # -- the seals on the trace (grader.kernel.protocol.seal)
    def _unseal(self, item: Any, what: str) -> Any:
        """One sealed event: its text, parsed, if its seal verifies; else the submission is
        flagged and the check that asked fails (its testimony cannot be used)."""
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise _bad(what, *_RECORD)
        text = item["text"]
        key = getattr(self._channel, "trace_key", None)
        if key and not hmac.compare_digest(str(item.get("seal", "")), protocol.seal(key, text)):
            self._tampered(
                msg(
                    "an event of the run's record does not carry the grader's seal (added or edited by "
                    "the notebook, or a forged answer)",
                    "실행 기록의 한 이벤트에 채점기의 봉인이 없습니다 (노트북이 추가하거나 고쳤거나, 위조된 답)",
                )
            )
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise _bad(what, *_RECORD) from None

    def _unseal_trace(self, value: Any) -> list[Any]:
        if not isinstance(value, dict) or not isinstance(value.get("sealed"), list):
            raise BadReply(
                msg("the record of your notebook's run was malformed", "노트북 실행 기록이 잘못된 형식입니다")
            )
        items = value["sealed"]
        key = getattr(self._channel, "trace_key", None)
        count_seal = protocol.seal(key, protocol.count_text(len(items))) if key else ""
        count_ok = value.get("count") == len(items) and (
            not key or hmac.compare_digest(str(value.get("count_seal", "")), count_seal)
        )
        if not count_ok:
            self._tampered(
                msg(
                    "the run's record came back with events missing or added",
                    "실행 기록에서 이벤트가 빠지거나 추가되었습니다",
                )
            )
        events = [self._unseal(item, "the trace") for item in items]
        if [e.get("seq") if isinstance(e, dict) else None for e in events] != list(range(len(events))):
            self._tampered(
                msg(
                    "the run's record came back out of order, or with events repeated or dropped",
                    "실행 기록의 순서가 바뀌었거나, 이벤트가 반복되거나 빠졌습니다",
                )
            )
        return events

    def _tampered(self, why: str) -> None:
        if self.on_tamper is not None:
            self.on_tamper(why)
        raise BadReply(
            msg(
                f"the grader's record of your notebook's run was altered ({why}), so this check cannot use it; "
                "an instructor will review the submission",
                f"채점기가 남긴 노트북 실행 기록이 변경되어 ({_ko(why)}) 이 검사에 쓸 수 없습니다. "
                "강사가 이 제출물을 검토합니다",
            )
        )

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
            raise _bad(what, "malformed history from the kernel", "커널이 보낸 학습 기록이 잘못된 형식입니다")
        return validate_history(value["history"], what)

    def fit_for(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, Any] | None:
        """The trace's "fit" event of the fit call that returned the History held by
        `name` (or `name[key]`; its .history dict works too, also a copy of it), or None
        if no traced fit produced it."""
        what = _what(name, key)
        value = self.request("fit_for", timeout, name=name, path=_path(key))
        if value is None:
            return None
        event = validate_event(self._unseal(value, what))
        if event["event"] != "fit":
            raise _bad(what, "malformed fit record from the kernel", "커널이 보낸 fit 기록이 잘못된 형식입니다")
        return event

    def export_model(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, Any]:
        """The artefacts of the Keras model held by global `name` (or `name[key]`; a
        History stands for its .model), for trusted evaluation:
        {"config": str (model.to_json()), "weights": [float32 ndarray, ...]
        (model.get_weights()), "class": str (fully qualified), "built": bool,
        "weights_digest": str (protocol.weights_digest as the kernel computed it; compare
        with your own of "weights")}. Nothing in it has been evaluated."""
        what = _what(name, key)
        value = self.request(protocol.EXPORT_MODEL, timeout, name=name, path=_path(key))
        return validate_export(value, what)

    def read_file(self, path: str, *, timeout: float | None = None) -> bytes:
        """The bytes of the file at `path` in the notebook's folder (relative, or under
        Colab's /content; anything outside is refused with a message for the student)."""
        if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
            raise BadReply(
                msg(
                    f"the file path must be a non-empty string, got {type(path).__name__} {path!r:.100}",
                    f"파일 경로는 비어 있지 않은 문자열이어야 하는데 {type(path).__name__} {path!r:.100}입니다",
                )
            )
        value = self.request(protocol.READ_FILE, timeout, path=path)
        what = msg(f"the file {path!r:.200}", f"파일 {path!r:.200}")
        if not isinstance(value, dict):
            raise _bad(what, str(_MALFORMED), _MALFORMED.ko)
        data, size = value.get("data"), value.get("size")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
            raise _bad(what, "malformed file contents from the kernel", "커널이 보낸 파일 내용이 잘못된 형식입니다")
        if isinstance(size, bool) or size != data.size:
            raise _bad(
                what,
                f"the kernel's answer does not add up ({size!r:.50} bytes said)",
                f"커널의 답이 맞지 않습니다 ({size!r:.50}바이트라고 했음)",
            )
        return data.tobytes()

    def integrity(self, *, timeout: float | None = None) -> list[str]:
        """Where the grader's wrappers in the kernel (Keras' compile/fit/evaluate/predict,
        to_categorical in each module watched, the load_data shims) are no longer the
        object in place: labels like "keras.src.models.model.Model.fit", and
        "<global>.fit" for a model in the notebook's globals with a method of its own."""
        value = self.request(protocol.INTEGRITY, timeout)
        replaced = value.get("replaced") if isinstance(value, dict) else None
        if not isinstance(replaced, list) or not all(isinstance(r, str) for r in replaced):
            raise BadReply(
                msg("malformed integrity answer from the kernel", "커널이 보낸 무결성 답이 잘못된 형식입니다")
            )
        return [r[:300] for r in replaced[:100]]

    def compiled(self, name: str, key: Any = NO_KEY, *, timeout: float | None = None) -> dict[str, Any] | None:
        """The compile settings that trained the model held by `name` (or `name[key]`):
        those in force when its last fit started, so that compiling again after training
        does not count; its current ones when it was never fit. BadReply when a fit of it
        started from weights the trace cannot account for (loaded, set, or trained by an
        unseen fit: see grader.trusted.weights_problem). Same shape as the
        "compile" of `model()`, or None when it was never compiled."""
        from .trusted import weights_problem

        desc = self.model(name, key, timeout=timeout)
        trace = self.trace()
        fits = [e for e in trace if e["event"] == "fit" and e.get("model_uid") == desc["uid"]]
        for fit in fits:
            problem = weights_problem(trace, fit)
            if problem is not None:  # then these settings did not train it
                raise BadReply(join([_what(name, key), ": ", problem, "."], sep=""))
        if fits and fits[-1].get("compile_at_fit") is not None:
            return validate_compile(fits[-1]["compile_at_fit"], _what(name, key))
        compiled: dict[str, Any] | None = desc["compile"]
        return compiled

    # -- facts from the executed notebook (trusted copies: outputs captured by the grader)
    @property
    def code(self) -> str:
        """The notebook's Python code as the grader reads it: its code cells joined, magic
        and shell lines blanked, without the cells that are not Python (`%%bash`,
        `%%writefile data.csv`) or are over the caps of grader.source (see `unread`)."""
        return "\n\n".join(text for _, text in notebook_source.python_cells(self._nb))

    @property
    def unread(self) -> list[str]:
        """The code cells too large for the grader to read, one line each (cell and why)."""
        return [
            join([msg(f"cell {u.cell}: ", f"셀 {u.cell}: "), u.reason], sep="")
            for u in notebook_source.unread_cells(self._nb)
        ]

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
        """The text of the markdown cell marked answer:<id> (tag, marker line or label), or None."""
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
        raise _bad(what, "nested too deeply", "너무 깊게 중첩되어 있습니다")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, what, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _bad(what, f"{_RECORD[0]} (key {k!r:.50})", f"{_RECORD[1]} (키 {k!r:.50})")
            out[k] = _plain(v, what, depth + 1)
        return out
    raise _bad(what, f"{_RECORD[0]} ({type(value).__name__})", f"{_RECORD[1]} ({type(value).__name__})")


def _int(value: Any, what: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(
            what,
            f"expected a count, the kernel sent {value!r:.50}",
            f"개수여야 하는데 커널이 {value!r:.50}을(를) 보냈습니다",
        )
    return value


def _str(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _bad(
            what,
            f"expected a string, the kernel sent {type(value).__name__}",
            f"문자열이어야 하는데 커널이 {type(value).__name__}을(를) 보냈습니다",
        )
    return value[:500]


def _shape(value: Any, what: str) -> list[int | None] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise _bad(what, "malformed shape from the kernel", "커널이 보낸 모양(shape)이 잘못된 형식입니다")
    return list(value)


def validate_compile(comp: Any, what: str = "the model") -> dict[str, Any] | None:
    """Compile settings as `validate_model` describes them under "compile", or None."""
    if comp is None:
        return None
    if not isinstance(comp, dict):
        raise _bad(what, "malformed compile settings", "compile 설정이 잘못된 형식입니다")
    opt = comp.get("optimizer")
    opt_out = None
    if opt is not None:
        if not isinstance(opt, dict) or not isinstance(opt.get("config", {}), dict):
            raise _bad(what, "malformed optimizer description", "옵티마이저 설명이 잘못된 형식입니다")
        opt_out = {"class": _str(opt.get("class"), what), "config": _plain(opt.get("config", {}), what)}
    metrics = _plain(comp.get("metrics") or [], what)
    return {
        "optimizer": opt_out,
        "optimizer_arg": _str(comp.get("optimizer_arg"), what, optional=True),
        "loss": _plain(comp.get("loss"), what),
        "loss_key": _str(comp.get("loss_key"), what, optional=True),
        "metrics": metrics if isinstance(metrics, list) else [metrics],
    }


def validate_model(value: Any, what: str = "the model") -> dict[str, Any]:
    """Check a model description from the kernel and return a clean copy:

    {"class": str, "qualname": str | None (module + class), "name": str, "uid": int
     (matches "model_uid" in trace events), "built": bool, "input_shape": [None, 28, 28, 1] | None,
     "layers": [{"class": "Dense", "qualname": "keras.src.layers.core.dense.Dense" | None, "name": str,
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
        raise _bad(what, "malformed model description from the kernel", "커널이 보낸 모델 설명이 잘못된 형식입니다")
    layers_raw = value.get("layers")
    if not isinstance(layers_raw, list):
        raise _bad(what, "malformed model description (no layer list)", "모델 설명이 잘못된 형식입니다 (층 목록 없음)")
    layers = []
    for i, layer in enumerate(layers_raw):
        lw = msg(f"{what}, layer {i}", f"{_ko(what)}, 층 {i}")
        if not isinstance(layer, dict):
            raise _bad(lw, "malformed layer description", "층 설명이 잘못된 형식입니다")
        config = _plain(layer.get("config", {}), lw)
        if not isinstance(config, dict):
            raise _bad(lw, "malformed layer config", "층 설정이 잘못된 형식입니다")
        layers.append(
            {
                "class": _str(layer.get("class"), lw),
                "qualname": _str(layer.get("qualname"), lw, optional=True),
                "name": _str(layer.get("name"), lw),
                "config": config,
                "output_shape": _shape(layer.get("output_shape"), lw),
                "params": _int(layer.get("params"), lw, optional=True),
            }
        )
    compile_out = validate_compile(value.get("compile"), what)
    uid = value.get("uid")
    if isinstance(uid, bool) or not isinstance(uid, int):
        raise _bad(what, "malformed model description (uid)", "모델 설명이 잘못된 형식입니다 (uid)")
    built = value.get("built")
    if not isinstance(built, bool):
        raise _bad(what, "malformed model description (built)", "모델 설명이 잘못된 형식입니다 (built)")
    return {
        "class": _str(value.get("class"), what),
        "qualname": _str(value.get("qualname"), what, optional=True),
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
    w_ko = _ko(what)
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise BadReply(
            msg(
                f"{what} must be a Keras History or its .history dict, got {kind}",
                f"{w_ko}은(는) Keras History나 그 .history 딕셔너리여야 하는데 {kind}입니다",
            )
        )
    if not value:
        raise BadReply(
            msg(
                f"{what} is empty: it records no epoch (did fit run?)",
                f"{w_ko}이(가) 비어 있습니다: 기록된 에포크가 없습니다 (fit이 실행되었나요?)",
            )
        )
    out: dict[str, list[float]] = {}
    lengths: dict[str, int] = {}
    for key, series in value.items():
        if not isinstance(key, str):
            raise _bad(
                what,
                f"history keys are metric names like 'loss', found the key {key!r:.50}",
                f"학습 기록의 키는 'loss' 같은 지표 이름이어야 하는데 {key!r:.50} 키가 있습니다",
            )
        if isinstance(series, np.ndarray):
            if series.ndim != 1 or series.dtype.kind not in "biuf":
                raise BadReply(
                    msg(
                        f"{what}['{key}'] must be a list of numbers, one per epoch",
                        f"{_ko(what)}['{key}']은(는) 에포크마다 하나씩인 숫자 리스트여야 합니다",
                    )
                )
            series = series.tolist()
        if not isinstance(series, (list, tuple)):
            raise BadReply(
                msg(
                    f"{what}['{key}'] must be a list of numbers, one per epoch, got {type(series).__name__}",
                    f"{_ko(what)}['{key}']은(는) 에포크마다 하나씩인 숫자 리스트여야 하는데 "
                    f"{type(series).__name__}입니다",
                )
            )
        floats = []
        for i, v in enumerate(series):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                kind = type(v).__name__
                raise BadReply(
                    msg(
                        f"{what}['{key}'] must hold numbers; epoch {i + 1} holds {kind}",
                        f"{w_ko}['{key}']에는 숫자가 있어야 하는데 {i + 1}번째 에포크에 {kind}이(가) 있습니다",
                    )
                )
            f = float(v)
            if not math.isfinite(f):
                raise BadReply(
                    msg(
                        f"{what}['{key}'] is {f} at epoch {i + 1}: the training diverged "
                        "(a learning rate too high, or unscaled inputs?)",
                        f"{w_ko}['{key}']이(가) {i + 1}번째 에포크에서 {f}입니다: 학습이 발산했습니다 "
                        "(학습률이 너무 높거나 입력을 스케일링하지 않았나요?)",
                    )
                )
            floats.append(f)
        out[key] = floats
        lengths[key] = len(floats)
    if len(set(lengths.values())) != 1:
        raise BadReply(
            msg(
                f"{what}: its lists have different lengths ({lengths}); one value per epoch each",
                f"{w_ko}: 리스트의 길이가 서로 다릅니다 ({lengths}). 에포크마다 값이 하나씩 있어야 합니다",
            )
        )
    if next(iter(lengths.values())) == 0:
        raise BadReply(
            msg(
                f"{what} records no epoch (its lists are empty)",
                f"{w_ko}에 기록된 에포크가 없습니다 (리스트가 비어 있음)",
            )
        )
    return out


def validate_event(value: Any, what: str = "the trace") -> dict[str, Any]:
    event = _plain(value, what)
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise _bad(what, "malformed event from the kernel", "커널이 보낸 이벤트가 잘못된 형식입니다")
    return event


def validate_trace(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadReply(
            msg("the trace of your notebook's run was malformed", "노트북 실행 기록(trace)이 잘못된 형식입니다")
        )
    return [validate_event(v) for v in value]


def validate_export(value: Any, what: str = "the model") -> dict[str, Any]:
    """Check an export_model answer: a JSON config string (at most
    protocol.MAX_CONFIG_CHARS), a list of float arrays, a qualified class name, a
    digest; return a clean copy."""
    if not isinstance(value, dict):
        raise _bad(what, "malformed model export from the kernel", "커널이 내보낸 모델이 잘못된 형식입니다")
    config = value.get("config")
    if not isinstance(config, str) or not config:
        raise _bad(what, "the kernel sent no model configuration", "커널이 모델 설정을 보내지 않았습니다")
    if len(config) > protocol.MAX_CONFIG_CHARS:
        raise _bad(what, "the model's configuration is over the size limit", "모델 설정이 크기 제한을 넘습니다")
    weights = value.get("weights")
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) and w.dtype.kind == "f" for w in weights):
        raise _bad(
            what,
            "the kernel's weights are not a list of float arrays",
            "커널이 보낸 가중치가 실수 배열의 리스트가 아닙니다",
        )
    digest = value.get("weights_digest")
    if not isinstance(digest, str) or len(digest) > 128:
        raise _bad(
            what, "malformed weights digest from the kernel", "커널이 보낸 가중치 다이제스트가 잘못된 형식입니다"
        )
    built = value.get("built")
    if not isinstance(built, bool):
        raise _bad(what, "malformed model export (built)", "내보낸 모델이 잘못된 형식입니다 (built)")
    return {
        "config": config,
        "weights": weights,
        "class": _str(value.get("class"), what),
        "built": built,
        "weights_digest": digest,
    }


def answers(nb: nbformat.NotebookNode, assignment: Any = None) -> dict[str, str]:
    """Free-text answers (see grader.answers): every marked answer of the notebook, or,
    given the assignment, the answers its spec declares as the grade step records them."""
    from . import answers as free_text

    return free_text.marked(nb) if assignment is None else free_text.record(nb, assignment)
