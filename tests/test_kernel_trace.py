"""The trace recorder and the Keras tracers on the host, over a stand-in for Keras
(tests/fake_keras.py); the shipped package boots in a plain interpreter. The same
tracers on real Keras in a real kernel: tests/test_trace.py (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest
from fake_keras import fake_keras, reset

from grader.kernel import keras_trace, protocol, recorder, ship, wrappers


@pytest.fixture(autouse=True)
def _clean() -> Any:
    reset()
    yield
    reset()


def test_record_caps_the_trace_and_plain_makes_json() -> None:
    event = recorder.record("fit", model="m")
    event["later"] = 1  # completed after the fact
    assert recorder.TRACE == [{"model": "m", "event": "fit", "t": event["t"], "seq": 0, "later": 1}]
    for _ in range(protocol.MAX_TRACE_EVENTS + 5):
        recorder.record("predict")
    assert len(recorder.TRACE) == protocol.MAX_TRACE_EVENTS
    assert recorder.plain({"a": (np.float32(1.5), np.arange(3), "x" * 600, object())}) == {
        "a": [1.5, "<ndarray [3]>", "x" * 500, "<object>"]
    }
    assert recorder.snake("SparseCategoricalCrossentropy") == "sparse_categorical_crossentropy"
    assert recorder.fingerprint([1, 2]) is None and recorder.fingerprint(np.array(["a"])) is None


def test_compile_fit_evaluate_predict_recorded_with_fingerprints_and_digests() -> None:
    x = np.arange(24, dtype=np.uint8).reshape(4, 2, 3)
    y = np.array([0, 1, 1, 0])
    with fake_keras(max_epochs=3) as keras:
        keras_trace.patch_model_class(keras)
        model = keras.Model("m")
        start = protocol.weights_digest(model.get_weights())
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(x / 255.0, np.eye(2)[y], epochs=10, validation_data=(x, y), callbacks=[])
        model.evaluate(x / 255.0, y)
        model.evaluate(x / 255.0, y)
        model.predict(x)
        compile_event, fit, cap, evaluate, predict = recorder.TRACE[1:]
        results = list(keras_trace.FIT_RESULTS)
    assert compile_event["event"] == "compile" and compile_event["weights_digest"] == start
    assert cap["action"] == "epoch cap" and (cap["asked"], cap["capped_to"]) == (10, 3)
    assert fit["epochs_asked"] == 10 and fit["epochs_capped_to"] == 3 and fit["epochs_run"] == 3
    assert fit["x_fp"]["digest"] == protocol.fingerprint(x)["digest"]  # type: ignore[index]
    assert fit["y_fp"]["digest"] == protocol.fingerprint(y)["digest"]  # type: ignore[index]
    assert fit["y_fp"]["onehot"] is True
    assert fit["validation_fp"] == {"x": protocol.fingerprint(x), "y": protocol.fingerprint(y)}
    assert fit["compile_at_fit"]["loss_key"] == "sparse_categorical_crossentropy"
    assert fit["weights_digest_start"] == start
    assert fit["weights_digest_end"] == protocol.weights_digest(model.get_weights()) != start
    assert fit["layers"] == [{"class": "Dense", "qualname": "fake_keras.Dense",
                              "config": {"units": 2, "activation": "relu", "input_shape": [3]}}]
    assert fit["finished"] is True and fit["final"] == {"loss": pytest.approx(1 / 3)}
    assert results == [(fit, hist)]
    assert evaluate["calls"] == 2 and evaluate["y_fp"] == protocol.fingerprint(y)
    assert predict["output_shape"] == [4, 2]


def test_an_unbuilt_model_has_no_digest_until_fit_builds_it() -> None:
    with fake_keras() as keras:
        keras_trace.patch_model_class(keras)
        model = keras.Model("m", built=False)
        model.compile(loss="mse")
        model.fit(np.zeros((2, 3)), np.zeros(2))
        compile_event, fit = recorder.TRACE[1], recorder.TRACE[2]
    assert compile_event["weights_digest"] is None and fit["weights_digest_start"] is None


def test_wrappers_keep_no_original_reachable_by_attribute() -> None:
    with fake_keras() as keras:
        trainer = keras.Model.__mro__[1]
        original_fit = trainer.__dict__["fit"]
        keras_trace.patch_model_class(keras)
        fit = trainer.__dict__["fit"]
        assert fit is not original_fit and wrappers.is_ours(fit) and wrappers.unwrap(fit) is original_fit
        assert fit.__name__ == "fit" and fit.__qualname__ == original_fit.__qualname__
        for f in (fit, trainer.__dict__["compile"]):
            assert not any(hasattr(f, a) for a in ("__wrapped__", "__grader_orig__", "__grader_wrapped__"))
        keras_trace.patch_model_class(keras)  # a second hook call wraps nothing twice
        assert trainer.__dict__["fit"] is fit
        sequential = types.ModuleType("keras.src.models.sequential")
        sequential.Sequential = keras.Sequential  # type: ignore[attr-defined]
        keras_trace.watch_model_view(sequential)
        assert wrappers.replaced() == []
        keras.Sequential.fit = lambda *a, **k: None
        trainer.compile = lambda *a, **k: None
        assert wrappers.replaced() == [
            "fake_keras.Trainer.compile", "fake_keras.Model.compile", "fake_keras.Sequential.compile",
            "fake_keras.Sequential.fit",
        ]


def test_to_categorical_traced_per_module_path() -> None:
    def to_categorical(x: Any, num_classes: Any = None) -> Any:
        """Keras' docstring."""
        return np.eye(int(num_classes or 3))[x]

    source = types.ModuleType("keras.src.utils.numerical_utils")
    source.to_categorical = to_categorical  # type: ignore[attr-defined]
    alias = types.ModuleType("keras.utils")
    keras_trace.patch_to_categorical(source)
    alias.to_categorical = source.to_categorical  # type: ignore[attr-defined]  # a re-export
    keras_trace.patch_to_categorical(alias)
    alias.to_categorical([0, 1], num_classes=3)  # type: ignore[attr-defined]
    alias.to_categorical([1])  # type: ignore[attr-defined]
    source.to_categorical([2])  # type: ignore[attr-defined]
    calls = [(e["via"], e["caller"], e["num_classes"], e["calls"]) for e in recorder.TRACE]
    assert calls == [("keras.utils", __name__, 3, 2), ("keras.src.utils.numerical_utils", __name__, None, 1)]
    assert wrappers.unwrap(alias.to_categorical) is to_categorical  # type: ignore[attr-defined]
    assert alias.to_categorical.__doc__ == "Keras' docstring."  # type: ignore[attr-defined]
    alias.to_categorical = to_categorical  # type: ignore[attr-defined]
    assert wrappers.replaced() == ["keras.utils.to_categorical"]


def test_the_shipped_package_boots_in_a_plain_interpreter(tmp_path: Any) -> None:
    config = protocol.BootConfig(seed=3, max_reply_bytes=1 << 20, profile_name="smoke", max_epochs=2,
                                 synthetic=True, data_dir=str(tmp_path)).to_json()
    probe = (
        ship.bootstrap_code(config)
        + "import sys, json\n"
        + "w = sys.modules['_grader_witness']\n"
        + "server = sys.modules['_grader_kernel.server']\n"
        + "print(json.dumps({'config': w.config, 'ops': sorted(server.OPS), 'left': [n for n in dir() "
        + "if 'grader' in n], 'reply': server.dispatch({'a': 2}, {'id': 1, 'op': 'get', 'name': 'a'}), "
        + "'modules': sorted(m for m in sys.modules if m.startswith('_grader_kernel')), "
        + "'meta_path': [type(f).__name__ for f in sys.meta_path]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["config"] == config and found["ops"] == sorted(protocol.OPS)
    assert found["left"] == []  # nothing of the loader stays in the student's globals
    assert found["reply"] == {"id": 1, "ok": True, "value": 2}
    assert found["modules"] == sorted(["_grader_kernel"] + [f"_grader_kernel.{m}" for m in ship.MODULES[1:]])
    assert found["meta_path"][0] == "PostImport" and found["meta_path"][-1] == "ColabFinder"
    assert "_Shipped" not in found["meta_path"]
