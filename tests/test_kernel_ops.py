"""The op server and the Keras ops on a plain dict namespace, on the host, and the
trusted side's Notebook over an in-process channel to them: both halves of the protocol
without a kernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from fake_keras import History, fake_keras

from grader.errors import BadReply, ForbiddenCall, MissingName, StudentError
from grader.kernel import keras_ops, keras_trace, protocol, server
from grader.witness import Notebook, encode


class LocalChannel:
    """Sends each request through JSON to server.dispatch, as the kernel would."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns

    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        reply = server.dispatch(self.ns, json.loads(json.dumps({**payload, "id": "r1"})))
        answer: dict[str, Any] = json.loads(server.encode_reply(reply))
        return answer


@pytest.fixture(autouse=True)
def _keras_ops_registered(tmp_path: Path) -> Any:
    saved_ops, saved = dict(server.OPS), dict(keras_ops._settings)
    server.register(keras_ops.OPS)
    keras_ops.configure(home=str(tmp_path), max_reply_bytes=1024 * 1024)
    yield
    server.OPS.clear()
    server.OPS.update(saved_ops)
    keras_ops._settings.update(saved)


def notebook(ns: dict[str, Any]) -> Notebook:
    return Notebook(LocalChannel(ns), nbformat.v4.new_notebook())


def test_every_op_is_registered_once_and_named_by_the_protocol() -> None:
    assert set(server.OPS) == set(protocol.OPS)


def test_values_names_and_types() -> None:
    nb = notebook({"x": np.arange(4), "d": {0.5: (1, 2)}, "f": len})
    assert nb.get("x").tolist() == [0, 1, 2, 3] and nb.get("d") == {0.5: (1, 2)}
    assert nb.has("x") and not nb.has("nope")
    assert nb.type_name("f") == "builtins.builtin_function_or_method"
    with pytest.raises(MissingName, match="does not define `nope`"):
        nb.get("nope")


def test_call_returns_values_student_errors_and_forbidden_calls() -> None:
    def double(a: np.ndarray) -> np.ndarray:
        return a * 2

    def broken(a: Any) -> None:
        raise IndexError("index 5 is out of bounds")

    def sneaky(a: np.ndarray) -> Any:
        return np.convolve(a, a)

    nb = notebook({"double": double, "broken": broken, "sneaky": sneaky})
    assert nb.call("double", np.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(StudentError, match=r"broken\(\.\.\.\) raised IndexError: index 5"):
        nb.call("broken", 1)
    with pytest.raises(ForbiddenCall, match="numpy.convolve"):
        nb.call("sneaky", np.ones(3), forbid=["numpy.convolve"])


def test_errors_carry_a_protocol_kind_never_matched_by_class_name() -> None:
    ns: dict[str, Any] = {"x": 1}
    assert server.dispatch(ns, {"id": 1, "op": "nope"})["error"]["kind"] == protocol.BAD_REQUEST
    assert server.dispatch(ns, ["not", "a", "dict"])["error"]["kind"] == protocol.BAD_REQUEST
    assert server.dispatch(ns, {"id": 2, "op": "get", "name": "y"})["error"]["kind"] == protocol.MISSING_NAME
    reply = server.dispatch(ns, {"id": 3, "op": "call", "name": "x", "args": [], "kwargs": {"$dict": []}})
    assert reply["error"]["kind"] == protocol.STUDENT_RAISED and reply["error"]["type"] == "TypeError"
    # a reply whose error names a kind by its class name only is not trusted as that kind
    fake = Notebook(type("C", (), {"request": lambda self, p, t=None: {
        "ok": False, "error": {"type": "MissingName", "message": "x"}}})(), nbformat.v4.new_notebook())
    with pytest.raises(BadReply):
        fake.get("x")


def test_a_reply_over_the_cap_becomes_too_big() -> None:
    saved = server.SETTINGS["max_reply_bytes"]
    server.SETTINGS["max_reply_bytes"] = 1000
    try:
        nb = notebook({"big": "x" * 900 + "\u00e9" * 50, "huge": np.zeros(1000)})
        with pytest.raises(BadReply, match="too large"):
            nb.get("big")  # under the cap as a string, over it as JSON
        with pytest.raises(BadReply, match="too large"):
            nb.get("huge")
    finally:
        server.SETTINGS["max_reply_bytes"] = saved


def test_trace_op_answers_the_recorded_events() -> None:
    from grader.kernel import recorder

    recorder.reset()
    recorder.record("load_data", dataset="mnist", train=10, test=5)
    try:
        assert [e["dataset"] for e in notebook({}).trace("load_data")] == ["mnist"]
    finally:
        recorder.reset()


# ------------------------------------------------------------------ Keras ops
def test_model_history_and_fit_for_on_a_namespace() -> None:
    with fake_keras() as keras:
        keras_trace.patch_model_class(keras)
        model = keras.Model("m")
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(np.zeros((4, 3)), np.zeros(4), epochs=2)
        nb = notebook({"model": model, "hist": hist, "hd": hist.history, "runs": {0.5: hist}, "copy": dict(
            hist.history)})
        desc = nb.model("hist")
        assert desc["uid"] == id(model) and desc["qualname"].endswith("fake_keras.Model")
        assert desc["layers"][0]["qualname"] == "fake_keras.Dense" and desc["compile"]["loss_key"] == (
            "sparse_categorical_crossentropy")
        assert nb.history("runs", 0.5) == {"loss": [1.0, 0.5]}
        assert nb.fit_for("hd") == nb.fit_for("hist") == nb.fit_for("copy")
        assert nb.fit_for("hist")["epochs_run"] == 2  # type: ignore[index]
        with pytest.raises(BadReply, match="not a Keras model"):
            nb.model("hd")
        with pytest.raises(BadReply, match="no key 0.25"):
            nb.model("runs", 0.25)


def test_export_model_gives_config_weights_and_their_digest() -> None:
    with fake_keras() as keras:
        model = keras.Model("m")
        nb = notebook({"model": model, "hist": History(model, {"loss": [1.0]})})
        exported = nb.export_model("hist")
        assert json.loads(exported["config"])["class_name"] == "Sequential"
        assert [w.dtype for w in exported["weights"]] == [np.float32, np.float32]
        assert exported["weights_digest"] == protocol.weights_digest(model.get_weights())
        assert exported["class"].endswith("fake_keras.Model") and exported["built"] is True
        model.weights_ = [np.zeros((1000, 1000))]  # 4 MB as float32: over the 1 MB cap
        with pytest.raises(BadReply, match="too large.*over the grader's limit"):
            nb.export_model("model")


def test_read_file_inside_the_notebooks_folder_only(tmp_path: Path) -> None:
    (tmp_path / "best.keras").write_bytes(b"PK\x03\x04 checkpoint")
    (tmp_path / "big.bin").write_bytes(b"\0" * (1024 * 1024))
    (tmp_path / "sub").mkdir()
    outside = tmp_path.parent / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "link").symlink_to(outside)
    nb = notebook({})
    assert nb.read_file("best.keras") == b"PK\x03\x04 checkpoint"
    assert nb.read_file("/content/best.keras") == nb.read_file("./sub/../best.keras") == b"PK\x03\x04 checkpoint"
    for path in (str(outside), "../secret.txt", "link", "/content/../secret.txt", "/etc/passwd"):
        with pytest.raises(BadReply, match="outside your notebook's folder"):
            nb.read_file(path)
    for path in ("missing.keras", "sub", "/content"):
        with pytest.raises(BadReply, match="no file at"):
            nb.read_file(path)
    with pytest.raises(BadReply, match="too large"):
        nb.read_file("big.bin")
    with pytest.raises(BadReply, match="non-empty string"):
        nb.read_file("")


def test_integrity_names_replaced_wrappers_and_models_with_methods_of_their_own() -> None:
    with fake_keras() as keras:
        keras_trace.patch_model_class(keras)
        model = keras.Model("m")
        nb = notebook({"model": model, "again": model})
        assert nb.integrity() == []
        model.fit = lambda *a, **k: None
        keras.Model.evaluate = lambda *a, **k: None
        assert nb.integrity() == ["fake_keras.Model.evaluate", "model.fit"]


def test_the_trusted_side_validates_kernel_answers_for_new_ops() -> None:
    class Liar:
        def __init__(self, value: Any) -> None:
            self.value = value

        def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
            return {"id": "r", "ok": True, "value": encode(self.value)}

    def nb(value: Any) -> Notebook:
        return Notebook(Liar(value), nbformat.v4.new_notebook())

    with pytest.raises(BadReply, match="malformed file contents"):
        nb({"data": np.zeros(3, dtype=np.float32), "size": 12}).read_file("a")
    with pytest.raises(BadReply, match="does not add up"):
        nb({"data": np.zeros(3, dtype=np.uint8), "size": 4}).read_file("a")
    with pytest.raises(BadReply, match="integrity"):
        nb({"replaced": "everything"}).integrity()
    with pytest.raises(BadReply, match="not a list of float arrays"):
        nb({"config": "{}", "weights": [np.zeros(2, dtype=np.int64)], "weights_digest": "d", "built": True,
            "class": "k"}).export_model("m")
