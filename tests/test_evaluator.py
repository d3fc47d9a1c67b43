"""The trusted evaluator: a separate process, holding no student code, rebuilds a model
from its artefacts (Keras JSON + weights, or a checkpoint file's bytes) and measures it
on the grader's copy of the data. Slow: the evaluator and this test import Keras.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import sandbox
from grader.errors import EvaluationRefused
from grader.evaluator import DataSplit, Evaluator, ModelArtefact
from grader.spec import Limits

# Keras, imported here to make the artefacts, warns about numpy 2 under filterwarnings=error.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (400, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 400).astype(np.uint8)
    np.savez(d / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    os.chmod(d, 0o755)
    os.chmod(d / "mnist.npz", 0o644)
    return d


@pytest.fixture(scope="module")
def trained(keras: Any, data_dir: Path) -> tuple[Any, Any]:
    keras.utils.set_random_seed(0)
    with np.load(data_dir / "mnist.npz") as f:
        x, y = f["x_train"], f["y_train"]
    model = keras.Sequential([
        keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x / 255.0, y, epochs=2, validation_split=0.2, verbose=0)
    return model, history


@pytest.fixture(params=["sandboxed", "plain"])
def evaluator(request: pytest.FixtureRequest, data_dir: Path) -> Any:
    sandboxed = request.param == "sandboxed"
    if sandboxed and sandbox.check_available():
        pytest.skip(f"no sandbox here: {sandbox.check_available()}")
    with Evaluator(data_dir=data_dir, limits=Limits(), sandboxed=sandboxed) as ev:
        yield ev


def test_the_measured_loss_is_the_last_val_loss_of_the_run(evaluator: Evaluator, trained: Any) -> None:
    model, history = trained
    result = evaluator.evaluate(
        ModelArtefact(config=model.to_json(), weights=tuple(model.get_weights())),
        DataSplit("mnist", "validation", 0.2),
        predictions=True,
    )
    assert result.loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert result.accuracy == pytest.approx(history.history["val_accuracy"][-1], abs=1e-6)
    assert result.samples == 80 and result.predictions is not None and result.predictions.shape == (80,)


def test_checkpoint_files_of_every_keras_format(evaluator: Evaluator, trained: Any, tmp_path: Path) -> None:
    model, history = trained
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    want = history.history["val_loss"][-1]
    on = DataSplit("mnist", "validation", 0.2)
    for name in ("m.keras", "m.h5"):
        got = evaluator.evaluate(ModelArtefact(file=(tmp_path / name).read_bytes()), on)
        assert got.loss == pytest.approx(want, rel=1e-5), name
    weights_only = ModelArtefact(config=model.to_json(), file=(tmp_path / "m.weights.h5").read_bytes())
    assert evaluator.evaluate(weights_only, on).loss == pytest.approx(want, rel=1e-5)


def test_a_class_the_notebook_defined_is_refused_by_name(evaluator: Evaluator, keras: Any) -> None:
    class Identity(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x

    class BatchNormalization(keras.layers.Layer):  # a Keras name, a class of its own
        def call(self, x: Any) -> Any:
            return x

    BatchNormalization.__module__ = "keras.layers"
    for layer, name in ((Identity(), "Identity"), (BatchNormalization(), "BatchNormalization")):
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), layer, keras.layers.Dense(10)])
        with pytest.raises(EvaluationRefused) as info:
            evaluator.evaluate(ModelArtefact(config=model.to_json(), weights=tuple(model.get_weights())),
                               DataSplit("mnist", "test"))
        assert info.value.refused and name in str(info.value) and "Keras' own classes" in str(info.value)


def test_a_file_that_is_not_a_model_fails_that_check_only(evaluator: Evaluator, trained: Any) -> None:
    with pytest.raises(EvaluationRefused, match="neither a .keras archive nor an HDF5 model") as info:
        evaluator.evaluate(ModelArtefact(file=b"not a model"), DataSplit("mnist", "test"))
    assert not info.value.refused
    model, _ = trained  # the same evaluator still serves the next check
    ok = evaluator.evaluate(ModelArtefact(config=model.to_json(), weights=tuple(model.get_weights())),
                            DataSplit("mnist", "test"))
    assert ok.samples == 100


def test_weights_that_do_not_fit_the_model_are_refused(evaluator: Evaluator, trained: Any) -> None:
    model, _ = trained
    with pytest.raises(EvaluationRefused, match="do not fit"):
        evaluator.evaluate(ModelArtefact(config=model.to_json(), weights=(np.zeros(3, np.float32),)),
                           DataSplit("mnist", "test"))


def test_a_very_sure_model_measures_as_keras_does(evaluator: Evaluator, keras: Any, data_dir: Path) -> None:
    """Keras computes a softmax model's cross-entropy from its logits, without clipping:
    after a long training some images are predicted with p << 1e-7 for their label, and a
    loss computed from clipped probabilities is then lower than fit's val_loss (found by
    grading the callbacks solution in `full`: 0.4631 against 0.4677)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    kernel, bias = model.get_weights()
    model.set_weights([kernel * 400.0, bias])  # logits in the hundreds: probabilities underflow
    with np.load(data_dir / "mnist.npz") as f:
        x, y = f["x_test"].astype("float32") / np.float32(255.0), f["y_test"].astype("int64")
    model.compile(loss="sparse_categorical_crossentropy")
    want = model.evaluate(x, y, verbose=0)
    got = evaluator.evaluate(ModelArtefact(config=model.to_json(), weights=tuple(model.get_weights())),
                             DataSplit("mnist", "test"))
    assert want > 16.2  # beyond what clipping at 1e-7 can give
    assert got.loss == pytest.approx(want, rel=1e-5)
