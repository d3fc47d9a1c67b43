"""Hidden checks for cnn_mistakes: training set-up, and the list of false predictions
verified against the grader's own test labels.

Students see only the assert messages, never this source.

The grader measures `model` itself (nb.trusted: a separate process rebuilds it from
its Keras config and weights, Keras' own classes only, and predicts the grader's copy
of the test set), so `predictions` must be what the model predicts; everything that
follows from them is checked with the grader's own test labels
(`data.load("mnist")`, exactly what the kernel was given):
  - every (index, label, prediction) listed has label == y_test[index] and
    prediction == predictions[index] != label;
  - every index where predictions differs from y_test is listed, once.
Where predictions is a 2-D array of probabilities (a mistake graded by the public
check), its argmax is used here so that the same mistake is not counted twice.
The accuracy bar (full profile) is the trusted test accuracy of `model`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.i18n import msg, pick
from grader.pictures import Panel
from grader.trusted import training_data_problem, validation_problem

SHOWN_MISTAKES = 8


def _labels_of(nb, n):
    value = np.asarray(nb.get("predictions"))
    if value.ndim == 2 and value.shape[1] == 10:
        value = value.argmax(axis=1)
    assert value.ndim == 1 and value.shape[0] == n and value.dtype.kind in "iuf", msg(
        f"`predictions` must hold one label per test image, shape ({n},); got shape {value.shape}.",
        f"`predictions`에는 테스트 이미지마다 레이블이 하나씩, 모양 ({n},)이어야 하는데 모양이 {value.shape}입니다.",
    )
    return value.astype(np.int64)


def _entries(nb):
    value = nb.get("index_label_prediction")
    if isinstance(value, np.ndarray):
        value = [tuple(row) for row in value.reshape(-1, 3)] if value.size else []
    assert isinstance(value, (list, tuple)), msg(
        f"`index_label_prediction` must be a list of (index, label, prediction), got {type(value).__name__}.",
        f"`index_label_prediction`은 (index, label, prediction)의 리스트여야 하는데 {type(value).__name__}입니다.",
    )
    out = []
    for k, entry in enumerate(value):
        try:
            triple = tuple(int(v) for v in entry)
        except (TypeError, ValueError):
            raise AssertionError(
                msg(
                    f"`index_label_prediction[{k}]` = {entry!r} is not a triple of integers "
                    "(index, label, prediction).",
                    f"`index_label_prediction[{k}]` = {entry!r}이(가) 정수 세 개(index, label, prediction)가 아닙니다.",
                )
            ) from None
        assert len(triple) == 3, msg(
            f"`index_label_prediction[{k}]` = {entry!r} must have 3 parts.",
            f"`index_label_prediction[{k}]` = {entry!r}은(는) 세 값이어야 합니다.",
        )
        out.append(triple)
    return out


def test_training_setup(nb, data, pictures):
    pictures.curves("hist", label=msg("The CNN", "CNN"), or_names=("history",))
    desc = nb.model("model")
    compiled = nb.compiled("model")  # the settings its training ran with, not a compile after it
    assert compiled, msg("`model` is not compiled.", "`model`이 컴파일되지 않았습니다.")
    optimizer = compiled.get("optimizer") or {}
    lr = (optimizer.get("config") or {}).get("learning_rate")
    loss = re.sub(r"[^a-z]", "", str(compiled.get("loss_key") or compiled.get("loss")).lower())
    problems = []
    if optimizer.get("class") != "Adam" or not isinstance(lr, (int, float)) or abs(float(lr) - 0.001) > 1e-7:
        shown = f"{lr:.6g}" if isinstance(lr, (int, float)) else lr
        problems.append(
            msg(
                f"optimizer {optimizer.get('class')}(learning_rate={shown}) instead of Adam(learning_rate=0.001)",
                f"Adam(learning_rate=0.001) 대신 옵티마이저 {optimizer.get('class')}(learning_rate={shown})",
            )
        )
    if "sparsecategoricalcrossentropy" not in loss:
        problems.append(
            msg(
                f"loss {compiled.get('loss')!r} instead of 'sparse_categorical_crossentropy'",
                f"'sparse_categorical_crossentropy' 대신 손실 함수 {compiled.get('loss')!r}",
            )
        )
    fits = [e for e in nb.trace("fit") if e.get("model_uid") == desc.get("uid")]
    if not fits:
        problems.append(msg("no call of model.fit on `model` was recorded", "`model`의 model.fit 호출 기록 없음"))
    else:
        fit = fits[-1]
        problem = training_data_problem(fit, data, "mnist")
        if problem:
            problems.append(problem)
        if fit.get("batch_size") != 50:
            problems.append(
                msg(f"batch_size={fit.get('batch_size')} instead of 50", f"50 대신 batch_size={fit.get('batch_size')}")
            )
        if fit.get("epochs_asked") != 50:
            problems.append(
                msg(f"epochs={fit.get('epochs_asked')} instead of 50", f"50 대신 epochs={fit.get('epochs_asked')}")
            )
        problem = validation_problem(fit, 0.2)
        if problem:
            problems.append(problem)
    assert not problems, msg(
        "train as the notes' CNN does: Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', "
        "batch_size=50, epochs=50, validation_split=0.2. Found: " + "; ".join(problems) + ".",
        "강의 노트의 CNN처럼 학습하세요: Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', "
        "batch_size=50, epochs=50, validation_split=0.2. 찾은 것: " + "; ".join(pick(p, "ko") for p in problems) + ".",
    )


def _show_mistakes(pictures, data, predictions, y_test, wrong):
    """A few of the model's false predictions for the report: the grader's own test images
    and labels, the predictions the grader measured (never the notebook's)."""
    (_, _), (x_test, _) = data.load("mnist")
    shown = wrong[:SHOWN_MISTAKES]
    if not shown:
        return
    panels = [Panel(f"#{i}: {y_test[i]} → {predictions[i]}", x_test[i]) for i in shown]
    pictures.grid(
        msg(
            f"{len(shown)} of the {len(wrong)} test images `model` gets wrong, as the grader measured it on its "
            "own copy of the MNIST test set: index, true label → predicted label.",
            f"`model`이 틀린 테스트 이미지 {len(wrong)}개 중 {len(shown)}개 (채점기가 자체 MNIST 테스트 세트로 측정): "
            "인덱스, 정답 레이블 → 예측 레이블.",
        ),
        [("", panels[:4]), ("", panels[4:])] if len(panels) > 4 else [("", panels)],
    )


def test_false_predictions_listed(nb, data, credit, pictures):
    (_, _), (_, y_test) = data.load("mnist")
    y_test = np.asarray(y_test).astype(np.int64)
    n = len(y_test)
    _labels_of(nb, n)  # `predictions` must be one label per test image
    # The model's false predictions as the grader measures them (nb.trusted), never the
    # notebook's own `predictions`: a list built from other "predictions" is incomplete.
    trusted = _trusted_predictions(nb).predictions
    assert trusted is not None and len(trusted) == n, msg(
        "`model` does not output one score per class (Dense(10, softmax)), so its predictions cannot be listed.",
        "`model`이 클래스마다 점수 하나를 출력하지 않아서(Dense(10, softmax)) 예측을 나열할 수 없습니다.",
    )
    predictions = trusted.astype(np.int64)
    entries = _entries(nb)
    wrong = set(np.flatnonzero(predictions != y_test).tolist())
    _show_mistakes(pictures, data, predictions, y_test, sorted(wrong))
    listed = [e[0] for e in entries]

    # A list that holds none of the model's false predictions earns nothing.
    assert not wrong or wrong & set(listed), msg(
        f"`index_label_prediction` holds none of the model's {len(wrong)} false predictions (test images where "
        "predictions[i] != t_test[i])"
        + (f"; its {len(entries)} entries are images it predicts correctly, or indexes outside the test set."
           if entries else ", it is empty."),
        f"`index_label_prediction`에 모델의 틀린 예측 {len(wrong)}개(predictions[i] != t_test[i]인 테스트 이미지) 중 "
        "하나도 없습니다"
        + (f". 항목 {len(entries)}개는 모델이 맞힌 이미지이거나 테스트 세트 밖의 인덱스입니다."
           if entries else ". 비어 있습니다."),
    )

    outside = [e for e in entries if not 0 <= e[0] < n]
    correct = [e for e in entries if 0 <= e[0] < n and e[0] not in wrong]
    credit.check(
        not outside and not correct,
        msg(
            (f"{len(correct)} of the {len(entries)} entries are test images the model predicts correctly "
             f"(predictions[i] == t_test[i]), e.g. {correct[:3]}: list only the false predictions. " if correct else "")
            + (f"{len(outside)} entries have an index outside the test set (0..{n - 1}), e.g. {outside[:3]}."
               if outside else ""),
            (f"항목 {len(entries)}개 중 {len(correct)}개는 모델이 맞힌 테스트 이미지입니다 "
             f"(predictions[i] == t_test[i]), 예: {correct[:3]}. 틀린 예측만 나열하세요. " if correct else "")
            + (f"항목 {len(outside)}개의 인덱스가 테스트 세트(0..{n - 1}) 밖에 있습니다, 예: {outside[:3]}."
               if outside else ""),
        ),
    )
    mislabelled = [e for e in entries if e[0] in wrong and (e[1] != y_test[e[0]] or e[2] != predictions[e[0]])]
    swapped = [e for e in mislabelled if e[1] == predictions[e[0]] and e[2] == y_test[e[0]]]
    credit.check(
        not mislabelled,
        msg(
            f"{len(mislabelled)} entries do not hold (index, label, prediction) with label = t_test[index] and "
            f"prediction = predictions[index], e.g. {mislabelled[:3]}"
            + (" — the label and the prediction are in the wrong order."
               if swapped and len(swapped) == len(mislabelled) else "."),
            f"항목 {len(mislabelled)}개가 label = t_test[index], prediction = predictions[index]인 "
            f"(index, label, prediction)이 아닙니다, 예: {mislabelled[:3]}"
            + (" — label과 prediction의 순서가 바뀌었습니다."
               if swapped and len(swapped) == len(mislabelled) else "."),
        ),
    )
    missing = sorted(wrong - set(listed))
    duplicates = len(listed) - len(set(listed))
    credit.check(
        not missing and not duplicates,
        msg(
            (f"{len(missing)} of the model's {len(wrong)} false predictions are not listed, e.g. indexes "
             f"{missing[:5]}: go through the whole test set. " if missing else "")
            + (f"{duplicates} indexes are listed more than once: list each false prediction once."
               if duplicates else ""),
            (f"모델의 틀린 예측 {len(wrong)}개 중 {len(missing)}개가 빠졌습니다, 예: 인덱스 {missing[:5]}. "
             "테스트 세트 전체를 살펴보세요. " if missing else "")
            + (f"인덱스 {duplicates}개가 두 번 이상 나옵니다: 틀린 예측마다 한 번씩만 나열하세요."
               if duplicates else ""),
        ),
    )


def _trusted_predictions(nb):
    """The grader's own predictions of `model` on its copy of the MNIST test set, scaled as
    the model's last fit scaled its inputs (nb.trusted: never computed in the kernel)."""
    from grader.evaluator import DataSplit

    uid = nb.model("model")["uid"]
    fits = [e for e in nb.trace("fit") if e.get("model_uid") == uid]
    scale = nb.trusted.run_data(fits[-1]).scale if fits else 1.0 / 255.0
    return nb.trusted.model("model", on=DataSplit("mnist", "test", scale=scale), predictions=True)


def test_predictions_from_model(nb, data):
    (_, _), (_, y_test) = data.load("mnist")
    predictions = _labels_of(nb, len(y_test))
    trusted = _trusted_predictions(nb)
    assert trusted.predictions is not None, msg(
        "`model` does not output one score per class (Dense(10, softmax)).",
        "`model`이 클래스마다 점수 하나를 출력하지 않습니다 (Dense(10, softmax)).",
    )
    agree = float((predictions == trusted.predictions).mean())
    assert agree >= 0.995, msg(
        f"`predictions` agree with what `model` predicts for x_test on only {agree:.1%} of the images: they "
        "must be the trained model's predictions for x_test, in order (model.predict on x_test scaled by "
        "/ 255.0 and reshaped to (-1, 28, 28, 1), then argmax).",
        f"`predictions`가 `model`이 x_test에 대해 예측한 것과 이미지의 {agree:.1%}에서만 일치합니다: 학습된 모델의 "
        "x_test 예측을 순서대로 담아야 합니다 (/ 255.0으로 스케일링하고 (-1, 28, 28, 1)로 바꾼 x_test에 "
        "model.predict를 한 뒤 argmax).",
    )


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb, data):
    accuracy = _trusted_predictions(nb).accuracy
    assert accuracy is not None and accuracy >= 0.98, msg(
        f"the model's test accuracy is {accuracy:.4f}; this CNN trained as in the notes reaches about 0.985-0.99 "
        "on MNIST. Check the architecture, the scaling and the training set-up.",
        f"모델의 테스트 정확도가 {accuracy:.4f}입니다. 강의 노트대로 학습한 이 CNN은 MNIST에서 약 0.985-0.99에 "
        "이릅니다. 구조, 스케일링, 학습 설정을 확인하세요.",
    )
