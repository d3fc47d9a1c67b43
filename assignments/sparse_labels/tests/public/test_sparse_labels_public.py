"""Public checks for sparse_labels: the shapes of the contract.

The grader runs these and, besides them, hidden checks: that `to_categorical` is not
called anywhere (the grader records every call, through `tensorflow.keras.utils` or
`keras.utils`, even one that only prints an example), that the labels are the data
set's own labels, that the model is the original one, and that `test_accuracy` is
what `model.evaluate` reports for the trained model on the test set.

Contract (see the notebook):
  Y_train, Y_test  1-D integer label arrays, shape (N,), as loaded (no one-hot encoding)
  model            Dense(512, relu) on 784 inputs -> Dense(10, softmax), adam,
                   compiled with loss='sparse_categorical_crossentropy'
  history          what model.fit returned (a History or its .history dict)
  test_accuracy    model.evaluate(X_test, Y_test)[1], a float in [0, 1]
                   (here: a number; its value is checked by a hidden check)
"""

from __future__ import annotations

import math
import re

import numpy as np

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _loss_text(loss) -> str:
    """A compile loss as the trace describes it (a name, a class description or a
    function name), reduced to lowercase letters: 'sparsecategoricalcrossentropy'."""
    if isinstance(loss, dict):
        loss = loss.get("class") or loss.get("name") or loss.get("config", {}).get("name", "")
    return re.sub(r"[^a-z]", "", str(loss).lower())


def test_labels_are_integer_vectors(nb, data):
    (_, y_train), (_, y_test) = data.load("mnist")
    for name, ref in (("Y_train", y_train), ("Y_test", y_test)):
        value = nb.get(name)
        assert isinstance(value, np.ndarray), (
            f"`{name}` must be a numpy array of integer labels, got {type(value).__name__}."
        )
        n = len(ref)
        if value.ndim == 2 and value.shape[1] == 10:
            raise AssertionError(
                f"`{name}` has shape {value.shape}: the labels are still one-hot encoded. The exercise feeds "
                f"the integer labels as loaded, a vector of shape ({n},), without to_categorical."
            )
        assert value.ndim == 1, (
            f"`{name}` must be a 1-D vector of labels, shape ({n},), got shape {value.shape}."
            + (" A column (N, 1) trains in Keras, but the exercise asks for the labels as loaded: a plain vector."
               if value.ndim == 2 and value.shape[1] == 1 else "")
        )
        assert value.shape[0] == n, (
            f"`{name}` holds {value.shape[0]} labels, but the data set has {n}: use all of them, in order."
        )
        assert value.dtype.kind in "iu", (
            f"`{name}` must hold integer labels (0 ~ 9, as loaded), got dtype {value.dtype}."
            " Keep the labels as mnist.load_data() returns them."
        )


def test_model_compiled_with_sparse_loss(nb):
    compiled = nb.compiled("model")  # the settings its training ran with, not a compile after it
    assert compiled, "`model` was not compiled: call model.compile(loss=..., optimizer='adam', metrics=['accuracy'])."
    loss = _loss_text(compiled.get("loss_key") or compiled.get("loss"))
    if "sparsecategoricalcrossentropy" in loss:
        return
    if "categoricalcrossentropy" in loss:
        raise AssertionError(
            "`model` is compiled with categorical_crossentropy, which expects one-hot labels. With integer "
            "labels (0 ~ 9) the loss is loss='sparse_categorical_crossentropy'."
        )
    raise AssertionError(
        f"`model` is compiled with the loss {compiled.get('loss')!r}; with integer labels the exercise uses "
        "loss='sparse_categorical_crossentropy'."
    )


def test_history_and_test_accuracy(nb):
    hist = nb.history("history")
    missing = [k for k in HISTORY_KEYS if k not in hist]
    assert not missing, (
        f"`history` has no {', '.join(missing)}: it must be what model.fit returned, trained with "
        "metrics=['accuracy'] and validation_data=(X_test, Y_test). It has: " + ", ".join(sorted(hist)) + "."
    )
    lengths = {k: len(hist[k]) for k in HISTORY_KEYS}
    assert min(lengths.values()) >= 1 and len(set(lengths.values())) == 1, (
        f"`history` should hold one value per epoch for each of {', '.join(HISTORY_KEYS)}; got lengths {lengths}."
    )

    acc = nb.get("test_accuracy")
    if isinstance(acc, (list, tuple)):
        raise AssertionError(
            "`test_accuracy` is a list: model.evaluate returns [loss, accuracy]; take the accuracy, "
            "model.evaluate(X_test, Y_test)[1]."
        )
    assert isinstance(acc, (int, float)) and not isinstance(acc, bool) and math.isfinite(acc), (
        f"`test_accuracy` must be a number, got {acc!r}."
    )
