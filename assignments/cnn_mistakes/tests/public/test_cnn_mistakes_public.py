"""Public checks for cnn_mistakes: the architecture and the shapes of the contract.

The grader runs these and, besides them, hidden checks: the training set-up of the
notes, and every entry of `index_label_prediction` checked against your `predictions`
and the grader's own copy of the test labels (every false prediction listed, nothing
else).

Contract (see the notebook):
  model                    Conv2D(32, 5x5, strides 1, padding='same', relu) -> MaxPool2D(2x2)
                           -> Flatten -> Dense(10, softmax), on (28, 28, 1) inputs
  predictions              1-D array of predicted labels for x_test (not probabilities)
  index_label_prediction   list of (index, label, prediction) for every test image the
                           model gets wrong
  a figure showing one of the false predictions
"""

from __future__ import annotations

import numpy as np

from grader import architecture

EXPECTED = "Conv2D(32, 5x5, strides 1, padding='same', relu) -> MaxPool2D(2x2) -> Flatten -> Dense(10, softmax)"


def _shape(value):
    try:
        return tuple(None if v is None else int(v) for v in value)
    except (TypeError, ValueError):
        return value


NET = "28x28x1 -> Conv2D(32, 5x5, same, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)"


def _raw_shape(desc, cls):
    """The output shape nb.model() reports for the first layer of class `cls`."""
    layer = next((ly for ly in desc.get("layers", []) if isinstance(ly, dict) and ly.get("class") == cls), {})
    return _shape(layer.get("output_shape"))


def test_model_architecture(nb, credit):
    # Compared by what the network computes (grader.architecture): Conv2D(...) + Activation('relu') is
    # Conv2D(..., relu), MaxPool2D is MaxPooling2D, padding='SAME' is 'same', strides=(1, 1) the default.
    desc = nb.model("model")
    got, want = architecture.from_description(desc), architecture.parse(NET)
    ok = credit.check(
        [s.kind for s in got.steps] == [s.kind for s in want.steps],
        f"`model` is {got.text()}; the exercise asks for {EXPECTED}.",
    )
    if not ok:
        return
    conv, pool, _flat, dense = got.steps
    credit.check(
        conv.units == 32 and conv.setting("kernel_size") == (5, 5),
        f"the Conv2D layer is {conv.text()}: {conv.units} filters of size {conv.setting('kernel_size')}; the "
        "exercise asks for 32 filters of 5 x 5.",
    )
    credit.check(
        conv.setting("strides") is None and conv.setting("padding") == "same",
        f"the Conv2D layer is {conv.text()} (output {_raw_shape(desc, 'Conv2D')}); the exercise asks for stride 1 "
        "and padding='same' (padding 있음), so that the feature maps stay 28 x 28.",
    )
    credit.check(
        conv.activation == "relu",
        f"the Conv2D layer's activation is {conv.activation!r}; the exercise asks for relu.",
    )
    pool_shape = _raw_shape(desc, "MaxPooling2D")
    credit.check(
        pool.setting("pool_size") == (2, 2) and pool_shape == (None, 14, 14, 32),
        f"the pooling layer is {pool.text()}, with the output {pool_shape}; the exercise asks for 2 x 2 max "
        "pooling, (28, 28, 32) -> (14, 14, 32).",
    )
    credit.check(
        dense.units == 10 and dense.activation == "softmax",
        f"the output layer is {dense.text()}; it must be Dense(10, softmax).",
    )
    credit.check(
        got.params == want.params == 63562,
        f"`model` has {got.params} parameters; the exercise's model has 63,562: 5*5*1*32 + 32 = 832 in the Conv2D "
        "layer and 14*14*32*10 + 10 = 62,730 in the Dense layer. (The notes' summary, 63,050, is for 3 x 3 "
        "filters.)",
    )


def test_predictions_are_labels(nb, data):
    (_, _), (x_test, _) = data.load("mnist")
    n = len(x_test)
    value = nb.get("predictions")
    assert isinstance(value, np.ndarray), f"`predictions` must be a numpy array of labels, got {type(value).__name__}."
    if value.ndim == 2 and value.shape[1] == 10:
        raise AssertionError(
            f"`predictions` has shape {value.shape}: these are the class probabilities model.predict returns. "
            "The predicted label of each image is the class with the highest probability: "
            "np.argmax(model.predict(...), axis=1), a vector of shape (N,)."
        )
    assert value.ndim == 1 and value.shape[0] == n, (
        f"`predictions` must hold one label per test image, shape ({n},); got shape {value.shape}."
    )
    assert value.dtype.kind in "iu" or (value.dtype.kind == "f" and np.all(value == np.round(value))), (
        f"`predictions` must hold labels (integers 0 ~ 9), got dtype {value.dtype} with non-integer values."
    )
    assert value.min() >= 0 and value.max() <= 9, (
        f"`predictions` holds values from {value.min()} to {value.max()}; labels are 0 ~ 9."
    )


def test_index_label_prediction_format(nb):
    value = nb.get("index_label_prediction")
    if isinstance(value, np.ndarray):
        assert value.ndim == 2 and value.shape[1] == 3 or value.size == 0, (
            f"`index_label_prediction` must be a list of (index, label, prediction); got an array of shape "
            f"{value.shape}."
        )
        value = [tuple(row) for row in value]
    assert isinstance(value, (list, tuple)), (
        f"`index_label_prediction` must be a list of (index, label, prediction) tuples, got {type(value).__name__}."
    )
    for k, entry in enumerate(value[:100000]):
        assert isinstance(entry, (list, tuple, np.ndarray)) and len(entry) == 3, (
            f"`index_label_prediction[{k}]` is {entry!r}; each entry must be a triple (index, label, prediction)."
        )
        for part in entry:
            ok = isinstance(part, (int, np.integer)) and not isinstance(part, bool)
            ok = ok or (isinstance(part, float) and part.is_integer())
            assert ok, (
                f"`index_label_prediction[{k}]` = {tuple(entry)!r} holds {part!r}; index, label and prediction "
                "are integers (not probabilities or arrays)."
            )


def test_figure_shown(nb):
    assert nb.figures, (
        "the notebook shows no figure: display one falsely predicted test image with plt.imshow(...) and "
        "plt.show()."
    )
