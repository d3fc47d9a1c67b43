"""The trusted side of the witness protocol: what a test may ask a student's kernel.

The kernel is a witness, never a judge: every answer is untrusted data. It crosses as
JSON, arrays as `.npy` read with allow_pickle=False, and is validated here (types,
sizes, depth) before a test sees it. Comparisons happen in the test, on this side, so
nothing the student patches in their kernel (numpy, builtins, this protocol's kernel
half) can change a verdict; at most it garbles the student's own answers.
"""

from __future__ import annotations

import ast
import base64
import binascii
import io
import math
from dataclasses import dataclass
from typing import Any, Protocol

import nbformat
import numpy as np

from .errors import BadReply, ForbiddenCall, MissingName, StudentError

MAX_DEPTH = 32
MAX_NODES = 1_000_000
ARRAY_KINDS = "biufc"


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

    # -- values from the live kernel
    def _ask(self, payload: dict[str, Any], timeout: float | None = None) -> Any:
        from .errors import KernelGone

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
        if etype == "TooBig":
            raise BadReply(f"your value is too large for the grader to read: {message}")
        if reply.get("student"):
            raise StudentError(f"{payload.get('name')}(...) raised {etype}: {message}")
        raise BadReply(f"the grader could not read your notebook's value ({etype}: {message})")

    def get(self, name: str) -> Any:
        """The value of global `name` after the notebook ran."""
        return decode(self._ask({"op": "get", "name": name}).get("value"))

    def has(self, name: str) -> bool:
        return self._ask({"op": "has", "name": name}).get("value") is True

    def type_name(self, name: str) -> str:
        return str(self._ask({"op": "type", "name": name}).get("value"))[:200]

    def call(self, name: str, *args: Any, forbid: tuple[str, ...] | list[str] = (), timeout: float | None = None, **kwargs: Any) -> Any:
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

    def trace(self) -> list[dict[str, Any]]:
        value = self.request("trace")
        if not isinstance(value, list):
            raise BadReply("malformed trace")
        return value

    # -- facts from the executed notebook (trusted copies: outputs captured by the grader)
    @property
    def code(self) -> str:
        return "\n\n".join(c.source for c in self._nb.cells if c.cell_type == "code")

    def function_source(self, name: str) -> str | None:
        """Source of the last `def name` in the notebook's code cells (parsed here)."""
        found = None
        for cell in self._nb.cells:
            if cell.cell_type != "code":
                continue
            source = _strip_magics(cell.source)
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                    found = ast.get_source_segment(source, node)
        return found

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


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def answers(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Free-text answers: markdown cells tagged `answer:<id>` (or holding
    `<!-- answer:<id> -->`), text without the marker."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        ids = [t.split(":", 1)[1] for t in cell.get("metadata", {}).get("tags", []) if isinstance(t, str) and t.startswith("answer:")]
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
