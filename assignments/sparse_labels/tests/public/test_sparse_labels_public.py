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

from grader.i18n import msg

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
        assert isinstance(value, np.ndarray), msg(
            f"`{name}` must be a numpy array of integer labels, got {type(value).__name__}.",
            f"`{name}`은(는) 정수 레이블의 numpy 배열이어야 하는데 {type(value).__name__}입니다.",
        )
        n = len(ref)
        if value.ndim == 2 and value.shape[1] == 10:
            raise AssertionError(
                msg(
                    f"`{name}` has shape {value.shape}: the labels are still one-hot encoded. The exercise feeds "
                    f"the integer labels as loaded, a vector of shape ({n},), without to_categorical.",
                    f"`{name}`의 모양이 {value.shape}입니다: 레이블이 아직 원-핫 인코딩되어 있습니다. 이 실습은 "
                    f"to_categorical 없이 불러온 그대로의 정수 레이블, 모양 ({n},)인 벡터를 씁니다.",
                )
            )
        column = value.ndim == 2 and value.shape[1] == 1
        assert value.ndim == 1, msg(
            f"`{name}` must be a 1-D vector of labels, shape ({n},), got shape {value.shape}."
            + (" A column (N, 1) trains in Keras, but the exercise asks for the labels as loaded: a plain vector."
               if column else ""),
            f"`{name}`은(는) 모양이 ({n},)인 1차원 레이블 벡터여야 하는데 모양이 {value.shape}입니다."
            + (" (N, 1) 열도 Keras에서 학습은 되지만, 이 실습은 불러온 그대로의 레이블, 즉 평범한 벡터를 씁니다."
               if column else ""),
        )
        assert value.shape[0] == n, msg(
            f"`{name}` holds {value.shape[0]} labels, but the data set has {n}: use all of them, in order.",
            f"`{name}`에는 레이블이 {value.shape[0]}개 있지만 데이터셋에는 {n}개가 있습니다: 모두 순서대로 쓰세요.",
        )
        assert value.dtype.kind in "iu", msg(
            f"`{name}` must hold integer labels (0 ~ 9, as loaded), got dtype {value.dtype}."
            " Keep the labels as mnist.load_data() returns them.",
            f"`{name}`에는 정수 레이블(불러온 그대로 0 ~ 9)이 있어야 하는데 dtype이 {value.dtype}입니다."
            " mnist.load_data()가 돌려준 레이블을 그대로 두세요.",
        )


def test_model_compiled_with_sparse_loss(nb):
    compiled = nb.compiled("model")  # the settings its training ran with, not a compile after it
    assert compiled, msg(
        "`model` was not compiled: call model.compile(loss=..., optimizer='adam', metrics=['accuracy']).",
        "`model`이 컴파일되지 않았습니다: "
        "model.compile(loss=..., optimizer='adam', metrics=['accuracy'])을 호출하세요.",
    )
    loss = _loss_text(compiled.get("loss_key") or compiled.get("loss"))
    if "sparsecategoricalcrossentropy" in loss:
        return
    if "categoricalcrossentropy" in loss:
        raise AssertionError(
            msg(
                "`model` is compiled with categorical_crossentropy, which expects one-hot labels. With integer "
                "labels (0 ~ 9) the loss is loss='sparse_categorical_crossentropy'.",
                "`model`이 원-핫 레이블을 기대하는 categorical_crossentropy로 컴파일되었습니다. 정수 레이블"
                "(0 ~ 9)에는 loss='sparse_categorical_crossentropy'를 씁니다.",
            )
        )
    raise AssertionError(
        msg(
            f"`model` is compiled with the loss {compiled.get('loss')!r}; with integer labels the exercise uses "
            "loss='sparse_categorical_crossentropy'.",
            f"`model`이 손실 함수 {compiled.get('loss')!r}(으)로 컴파일되었습니다. 정수 레이블에는 이 실습에서 "
            "loss='sparse_categorical_crossentropy'를 씁니다.",
        )
    )


def test_history_and_test_accuracy(nb):
    hist = nb.history("history")
    missing = [k for k in HISTORY_KEYS if k not in hist]
    assert not missing, msg(
        f"`history` has no {', '.join(missing)}: it must be what model.fit returned, trained with "
        "metrics=['accuracy'] and validation_data=(X_test, Y_test). It has: " + ", ".join(sorted(hist)) + ".",
        f"`history`에 {', '.join(missing)}이(가) 없습니다: metrics=['accuracy']와 validation_data=(X_test, Y_test)로 "
        "학습한 model.fit의 반환값이어야 합니다. 들어 있는 것: " + ", ".join(sorted(hist)) + ".",
    )
    lengths = {k: len(hist[k]) for k in HISTORY_KEYS}
    assert min(lengths.values()) >= 1 and len(set(lengths.values())) == 1, msg(
        f"`history` should hold one value per epoch for each of {', '.join(HISTORY_KEYS)}; got lengths {lengths}.",
        f"`history`에는 {', '.join(HISTORY_KEYS)} 각각에 에포크마다 값이 하나씩 있어야 하는데 길이가 {lengths}입니다.",
    )

    acc = nb.get("test_accuracy")
    if isinstance(acc, (list, tuple)):
        raise AssertionError(
            msg(
                "`test_accuracy` is a list: model.evaluate returns [loss, accuracy]; take the accuracy, "
                "model.evaluate(X_test, Y_test)[1].",
                "`test_accuracy`가 리스트입니다: model.evaluate는 [loss, accuracy]를 돌려주므로 정확도 "
                "model.evaluate(X_test, Y_test)[1]을 쓰세요.",
            )
        )
    assert isinstance(acc, (int, float)) and not isinstance(acc, bool) and math.isfinite(acc), msg(
        f"`test_accuracy` must be a number, got {acc!r}.", f"`test_accuracy`는 숫자여야 하는데 {acc!r}입니다."
    )
