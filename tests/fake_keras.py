"""A few lines that look like Keras to the kernel half (grader.kernel), so its ops and
tracers are unit-tested on the host without importing TensorFlow (3 s)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from grader.kernel import keras_describe, keras_trace, recorder, wrappers


class History:
    def __init__(self, model: Any, history: dict[str, list[float]]) -> None:
        self.model = model
        self.history = history
        self.epoch = list(range(len(next(iter(history.values()), []))))


class Dense:
    def __init__(self, units: int, name: str) -> None:
        self.units, self.name, self.built = units, name, True

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "activation": "relu", "name": self.name}

    def count_params(self) -> int:
        return self.units * 3 + self.units


class Trainer:
    """Defines what the tracers wrap, as Keras' Trainer does."""

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None) -> None:
        self.optimizer, self.loss, self.compiled = optimizer, loss, True

    def fit(self, x: Any = None, y: Any = None, batch_size: Any = None, epochs: int = 1, verbose: Any = "auto",
            callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: bool = True, initial_epoch: int = 0) -> History:
        for epoch in range(initial_epoch, epochs):
            self.weights_ = [w + 1 for w in self.weights_]
            for cb in callbacks or []:
                if hasattr(cb, "on_epoch_end"):
                    cb.on_epoch_end(epoch)
        n = epochs - initial_epoch
        return History(self, {"loss": [1.0 / (i + 1) for i in range(n)]})

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Any = None, verbose: Any = "auto") -> list[float]:
        return [0.5, 0.75]

    def predict(self, x: Any, batch_size: Any = None, verbose: Any = "auto") -> np.ndarray:
        return np.zeros((len(x), 2))


class Model(Trainer):
    def __init__(self, name: str = "model", built: bool = True) -> None:
        self.name = name
        self.built = built
        self.layers = [Dense(2, "dense")]
        self.input_shape = (None, 3)
        self.weights_ = [np.ones((3, 2), dtype=np.float64), np.zeros(2)] if built else []

    @property
    def weights(self) -> list[np.ndarray]:
        return self.weights_

    trainable_weights = weights
    non_trainable_weights: list[np.ndarray] = []

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(w) for w in self.weights_]

    def to_json(self) -> str:
        return json.dumps({"class_name": "Sequential", "config": {"name": self.name}})


@contextmanager
def fake_keras(max_epochs: int | None = None) -> Iterator[types.ModuleType]:
    """A module `keras.src.models.model` holding Model, with the tracers installed on
    fresh copies of the classes; every piece of the kernel half's state reset after."""
    skip = ("__dict__", "__weakref__")
    trainer = type("Trainer", (), {k: v for k, v in Trainer.__dict__.items() if k not in skip})
    model_cls = type("Model", (trainer,), {k: v for k, v in Model.__dict__.items() if k not in skip})
    module = types.ModuleType("keras.src.models.model")
    module.Model = model_cls  # type: ignore[attr-defined]
    module.Sequential = type("Sequential", (model_cls,), {})  # type: ignore[attr-defined]
    saved = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    old = dict(keras_trace._settings)
    keras_trace._settings.update(max_epochs=max_epochs, profile="test")
    try:
        yield module
    finally:
        keras_trace._settings.update(old)
        if saved is None:
            sys.modules.pop(module.__name__, None)
        else:
            sys.modules[module.__name__] = saved
        reset()


def reset() -> None:
    recorder.reset()
    wrappers.reset()
    keras_describe.COMPILED.clear()
    keras_trace.FIT_RESULTS.clear()
