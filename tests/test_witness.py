"""What crosses the boundary from a student's kernel is data, validated before use."""

from __future__ import annotations

import base64
import io

import nbformat
import numpy as np
import pytest

from grader.errors import BadReply, ForbiddenCall, MissingName, StudentError
from grader.witness import ForeignObject, Notebook, answers, decode, encode


def npy(arr: np.ndarray) -> dict[str, str]:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"$ndarray": base64.b64encode(buf.getvalue()).decode()}


def test_values_round_trip_with_their_types() -> None:
    value = {0.25: [1, 2.5, None, True, "s"], "t": (1, 2), "a": np.arange(6).reshape(2, 3), "inf": float("inf")}
    out = decode(encode(value))
    assert list(out) == [0.25, "t", "a", "inf"]  # float keys stay floats
    assert out["t"] == (1, 2) and isinstance(out["t"], tuple)
    np.testing.assert_array_equal(out["a"], np.arange(6).reshape(2, 3))
    assert out["inf"] == float("inf")


def test_a_pickled_array_is_refused() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    blob = {"$ndarray": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(BadReply, match="could not be read|non-numeric"):
        decode(blob)


def test_garbage_and_deep_nesting_are_refused_with_a_message() -> None:
    with pytest.raises(BadReply):
        decode({"$ndarray": "not base64!"})
    with pytest.raises(BadReply):
        decode({"$weird": 1})
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(BadReply, match="nested more than"):
        decode(deep)
    with pytest.raises(BadReply):
        decode({"$float": "1e999999"})


def test_objects_the_kernel_can_only_describe_stay_descriptions() -> None:
    out = decode({"$object": "keras.src.models.sequential.Sequential", "repr": "<Sequential>"})
    assert out == ForeignObject("keras.src.models.sequential.Sequential", "<Sequential>")


class FakeChannel:
    """Answers like a kernel would; lets us test the handle without one."""

    def __init__(self, reply: dict) -> None:  # type: ignore[type-arg]
        self.reply = reply
        self.sent: list[dict] = []  # type: ignore[type-arg]

    def request(self, payload, timeout=None):  # type: ignore[no-untyped-def]
        self.sent.append(payload)
        return self.reply


def handle(reply: dict) -> Notebook:  # type: ignore[type-arg]
    return Notebook(FakeChannel(reply), nbformat.v4.new_notebook())


def test_missing_name_becomes_a_message_for_the_student() -> None:
    nb = handle({"ok": False, "error": {"kind": "MissingName", "type": "NoSuchName", "message": "x"}})
    with pytest.raises(MissingName, match="does not define `x`"):
        nb.get("x")


def test_an_exception_in_student_code_names_the_function_and_the_error() -> None:
    error = {"kind": "StudentRaised", "type": "IndexError", "message": "index 5 is out of bounds"}
    nb = handle({"ok": False, "error": error})
    with pytest.raises(StudentError, match=r"conv\(\.\.\.\) raised IndexError: index 5"):
        nb.call("conv", np.zeros((3, 3)))


def test_an_exception_without_a_message_ends_with_its_type() -> None:
    """`raise NotImplementedError` in a starter: no dangling colon on the report."""
    nb = handle({"ok": False, "error": {"kind": "StudentRaised", "type": "NotImplementedError", "message": ""}})
    with pytest.raises(StudentError) as caught:
        nb.call("conv", np.zeros((3, 3)))
    assert str(caught.value) == "conv(...) raised NotImplementedError"


def test_a_forbidden_library_call_fails_the_check() -> None:
    nb = handle({"ok": True, "value": 1, "forbidden": ["numpy.convolve"]})
    with pytest.raises(ForbiddenCall, match="numpy.convolve"):
        nb.call("conv", np.zeros((3, 3)), forbid=["numpy.convolve"])


def test_call_sends_arrays_as_npy_never_pickle() -> None:
    ch = FakeChannel({"ok": True, "value": npy(np.ones(2))})
    nb = Notebook(ch, nbformat.v4.new_notebook())
    out = nb.call("f", np.arange(3), k=[1, 2])
    np.testing.assert_array_equal(out, np.ones(2))
    sent = ch.sent[0]
    assert sent["op"] == "call" and "$ndarray" in sent["args"][0]


def test_function_source_and_answers_come_from_the_notebook_not_the_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\ndef conv(a):\n    return a\n"),
        nbformat.v4.new_markdown_cell("Because it is **vertical**.", metadata={"tags": ["answer:why"]}),
        nbformat.v4.new_markdown_cell("<!-- answer:other -->\nSecond answer"),
    ]
    handle_ = Notebook(None, nb)
    assert handle_.function_source("conv") == "def conv(a):\n    return a"
    assert answers(nb) == {"why": "Because it is **vertical**.", "other": "Second answer"}
