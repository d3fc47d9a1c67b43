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

EXPECTED = "Conv2D(32, 5x5, strides 1, padding='same', relu) -> MaxPool2D(2x2) -> Flatten -> Dense(10, softmax)"


def _pair(value):
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return value


def _shape(value):
    try:
        return tuple(None if v is None else int(v) for v in value)
    except (TypeError, ValueError):
        return value


def test_model_architecture(nb, credit):
    desc = nb.model("model")
    layers = [ly for ly in desc.get("layers", []) if ly.get("class") != "InputLayer"]
    names = " -> ".join(str(ly.get("class")) for ly in layers)
    ok = credit.check(
        [ly.get("class") for ly in layers] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"],
        f"`model` has the layers {names or '(none)'}; the exercise asks for {EXPECTED}.",
    )
    if not ok:
        return
    conv, pool, _flat, dense = (ly.get("config") or {} for ly in layers)
    conv_shape = _shape(layers[0].get("output_shape"))
    credit.check(
        conv.get("filters") == 32 and _pair(conv.get("kernel_size")) == (5, 5),
        f"the Conv2D layer has {conv.get('filters')} filters of size {conv.get('kernel_size')}; the exercise asks "
        "for 32 filters of 5 x 5.",
    )
    credit.check(
        _pair(conv.get("strides")) == (1, 1) and str(conv.get("padding")).lower() == "same",
        f"the Conv2D layer uses strides={conv.get('strides')} and padding={conv.get('padding')!r} (output "
        f"{conv_shape}); the exercise asks for stride 1 and padding='same' (padding 있음), so that the feature "
        "maps stay 28 x 28.",
    )
    credit.check(
        conv.get("activation") == "relu",
        f"the Conv2D layer's activation is {conv.get('activation')!r}; the exercise asks for relu.",
    )
    credit.check(
        _pair(pool.get("pool_size")) == (2, 2) and _shape(layers[1].get("output_shape")) == (None, 14, 14, 32),
        f"the pooling layer has pool_size={pool.get('pool_size')} and output {_shape(layers[1].get('output_shape'))}; "
        "the exercise asks for 2 x 2 max pooling, (28, 28, 32) -> (14, 14, 32).",
    )
    credit.check(
        dense.get("units") == 10 and dense.get("activation") == "softmax",
        f"the output layer is Dense({dense.get('units')}, {dense.get('activation')}); it must be Dense(10, softmax).",
    )
    total = (desc.get("trainable_params") or 0) + (desc.get("non_trainable_params") or 0)
    credit.check(
        total == 63562,
        f"`model` has {total} parameters; the exercise's model has 63,562: 5*5*1*32 + 32 = 832 in the Conv2D "
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
