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
from grader.i18n import msg

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
        msg(
            f"`model` is {got.text()}; the exercise asks for {EXPECTED}.",
            f"`model`이 {got.text()}입니다. 이 실습은 {EXPECTED}입니다.",
        ),
    )
    if not ok:
        return
    conv, pool, _flat, dense = got.steps
    credit.check(
        conv.units == 32 and conv.setting("kernel_size") == (5, 5),
        msg(
            f"the Conv2D layer is {conv.text()}: {conv.units} filters of size {conv.setting('kernel_size')}; the "
            "exercise asks for 32 filters of 5 x 5.",
            f"Conv2D 층이 {conv.text()}입니다: 크기 {conv.setting('kernel_size')}인 필터 {conv.units}개. 이 실습은 "
            "5 x 5 필터 32개입니다.",
        ),
    )
    credit.check(
        conv.setting("strides") is None and conv.setting("padding") == "same",
        msg(
            f"the Conv2D layer is {conv.text()} (output {_raw_shape(desc, 'Conv2D')}); the exercise asks for stride 1 "
            "and padding='same' (padding 있음), so that the feature maps stay 28 x 28.",
            f"Conv2D 층이 {conv.text()}입니다 (출력 {_raw_shape(desc, 'Conv2D')}). 특성 맵이 28 x 28로 유지되도록 "
            "이 실습은 스트라이드 1과 padding='same'(padding 있음)을 씁니다.",
        ),
    )
    credit.check(
        conv.activation == "relu",
        msg(
            f"the Conv2D layer's activation is {conv.activation!r}; the exercise asks for relu.",
            f"Conv2D 층의 활성화 함수가 {conv.activation!r}입니다. 이 실습은 relu입니다.",
        ),
    )
    pool_shape = _raw_shape(desc, "MaxPooling2D")
    credit.check(
        pool.setting("pool_size") == (2, 2) and pool_shape == (None, 14, 14, 32),
        msg(
            f"the pooling layer is {pool.text()}, with the output {pool_shape}; the exercise asks for 2 x 2 max "
            "pooling, (28, 28, 32) -> (14, 14, 32).",
            f"풀링 층이 {pool.text()}이고 출력이 {pool_shape}입니다. 이 실습은 2 x 2 최대 풀링, "
            "(28, 28, 32) -> (14, 14, 32)입니다.",
        ),
    )
    credit.check(
        dense.units == 10 and dense.activation == "softmax",
        msg(
            f"the output layer is {dense.text()}; it must be Dense(10, softmax).",
            f"출력 층이 {dense.text()}입니다. Dense(10, softmax)여야 합니다.",
        ),
    )
    credit.check(
        got.params == want.params == 63562,
        msg(
            f"`model` has {got.params} parameters; the exercise's model has 63,562: 5*5*1*32 + 32 = 832 in the Conv2D "
            "layer and 14*14*32*10 + 10 = 62,730 in the Dense layer. (The notes' summary, 63,050, is for 3 x 3 "
            "filters.)",
            f"`model`의 파라미터는 {got.params}개입니다. 이 실습의 모델은 63,562개입니다: Conv2D 층에 "
            "5*5*1*32 + 32 = 832, Dense 층에 14*14*32*10 + 10 = 62,730. (강의 노트 요약의 63,050은 3 x 3 "
            "필터의 경우입니다.)",
        ),
    )


def test_predictions_are_labels(nb, data):
    (_, _), (x_test, _) = data.load("mnist")
    n = len(x_test)
    value = nb.get("predictions")
    assert isinstance(value, np.ndarray), msg(
        f"`predictions` must be a numpy array of labels, got {type(value).__name__}.",
        f"`predictions`는 레이블의 numpy 배열이어야 하는데 {type(value).__name__}입니다.",
    )
    if value.ndim == 2 and value.shape[1] == 10:
        raise AssertionError(
            msg(
                f"`predictions` has shape {value.shape}: these are the class probabilities model.predict returns. "
                "The predicted label of each image is the class with the highest probability: "
                "np.argmax(model.predict(...), axis=1), a vector of shape (N,).",
                f"`predictions`의 모양이 {value.shape}입니다: model.predict가 돌려준 클래스별 확률입니다. "
                "각 이미지의 예측 레이블은 확률이 가장 높은 클래스, 즉 모양이 (N,)인 벡터 "
                "np.argmax(model.predict(...), axis=1)입니다.",
            )
        )
    assert value.ndim == 1 and value.shape[0] == n, msg(
        f"`predictions` must hold one label per test image, shape ({n},); got shape {value.shape}.",
        f"`predictions`에는 테스트 이미지마다 레이블이 하나씩, 모양 ({n},)이어야 하는데 모양이 {value.shape}입니다.",
    )
    assert value.dtype.kind in "iu" or (value.dtype.kind == "f" and np.all(value == np.round(value))), msg(
        f"`predictions` must hold labels (integers 0 ~ 9), got dtype {value.dtype} with non-integer values.",
        f"`predictions`에는 레이블(정수 0 ~ 9)이 있어야 하는데 dtype {value.dtype}에 정수가 아닌 값이 있습니다.",
    )
    assert value.min() >= 0 and value.max() <= 9, msg(
        f"`predictions` holds values from {value.min()} to {value.max()}; labels are 0 ~ 9.",
        f"`predictions`의 값이 {value.min()}부터 {value.max()}까지입니다. 레이블은 0 ~ 9입니다.",
    )


def test_index_label_prediction_format(nb):
    value = nb.get("index_label_prediction")
    if isinstance(value, np.ndarray):
        assert value.ndim == 2 and value.shape[1] == 3 or value.size == 0, msg(
            f"`index_label_prediction` must be a list of (index, label, prediction); got an array of shape "
            f"{value.shape}.",
            f"`index_label_prediction`은 (index, label, prediction)의 리스트여야 하는데 모양이 {value.shape}인 "
            "배열입니다.",
        )
        value = [tuple(row) for row in value]
    assert isinstance(value, (list, tuple)), msg(
        f"`index_label_prediction` must be a list of (index, label, prediction) tuples, got {type(value).__name__}.",
        f"`index_label_prediction`은 (index, label, prediction) 튜플의 리스트여야 하는데 {type(value).__name__}입니다.",
    )
    for k, entry in enumerate(value[:100000]):
        assert isinstance(entry, (list, tuple, np.ndarray)) and len(entry) == 3, msg(
            f"`index_label_prediction[{k}]` is {entry!r}; each entry must be a triple (index, label, prediction).",
            f"`index_label_prediction[{k}]`이(가) {entry!r}입니다. "
            "항목마다 (index, label, prediction) 세 값이어야 합니다.",
        )
        for part in entry:
            ok = isinstance(part, (int, np.integer)) and not isinstance(part, bool)
            ok = ok or (isinstance(part, float) and part.is_integer())
            assert ok, msg(
                f"`index_label_prediction[{k}]` = {tuple(entry)!r} holds {part!r}; index, label and prediction "
                "are integers (not probabilities or arrays).",
                f"`index_label_prediction[{k}]` = {tuple(entry)!r}에 {part!r}이(가) 있습니다. index, label, "
                "prediction은 정수입니다 (확률이나 배열이 아님).",
            )


def test_figure_shown(nb):
    assert nb.figures, msg(
        "the notebook shows no figure: display one falsely predicted test image with plt.imshow(...) and "
        "plt.show().",
        "노트북에 그림이 없습니다: 잘못 예측한 테스트 이미지 하나를 plt.imshow(...)와 plt.show()로 보여 주세요.",
    )
