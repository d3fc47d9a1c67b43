"""Hidden checks for bn_vs_dropout: each history belongs to its model, the BN layer
has the parameters of 100 normalised units, and (in full) both models learn."""

from __future__ import annotations

import pytest

from grader.i18n import message_of, msg

RUNS = (("model_dropout", "history_dropout"), ("model_bn", "history_bn"))


def test_histories_from_their_models(nb, credit, pictures):
    pictures.curves("history_dropout", label=msg("Dropout(0.25)", "Dropout(0.25)"))
    pictures.curves("history_bn", label=msg("BatchNormalization", "배치 정규화"))
    uids = {}
    for model, _ in RUNS:
        uids[model] = nb.model(model)["uid"]
    for model, history in RUNS:
        event = nb.fit_for(history)
        if event is None:
            credit.check(
                False,
                msg(
                    f"`{history}` is not the History of a fit call in this notebook.",
                    f"`{history}`이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다.",
                ),
            )
            continue
        other = next(m for m, _ in RUNS if m != model)
        if event.get("model_uid") == uids[model]:
            try:
                nb.trusted.bind(history)  # its last val_loss must be its model's, measured by the grader
            except AssertionError as exc:
                credit.check(False, message_of(exc))
                continue
            credit.check(True, msg(f"`{history}` comes from {model}", f"`{history}`은(는) {model}에서 나왔습니다"))
        elif event.get("model_uid") == uids[other]:
            credit.check(
                False,
                msg(
                    f"`{history}` is the History of {other}'s fit, not {model}'s: the two are swapped.",
                    f"`{history}`이(가) {model}이 아니라 {other}의 fit이 돌려준 History입니다: 둘이 바뀌었습니다.",
                ),
            )
        else:
            credit.check(
                False,
                msg(
                    f"`{history}` comes from training another model than {model}.",
                    f"`{history}`이(가) {model}이 아닌 다른 모델의 학습에서 나왔습니다.",
                ),
            )


def test_bn_parameter_counts(nb):
    desc = nb.model("model_bn")
    bn = [layer for layer in desc["layers"] if layer["class"] == "BatchNormalization"]
    assert len(bn) == 1, msg(
        f"model_bn must have exactly one BatchNormalization layer, found {len(bn)}.",
        f"model_bn에는 BatchNormalization 층이 정확히 하나 있어야 하는데 {len(bn)}개입니다.",
    )
    qualname = bn[0].get("qualname") or ""
    assert qualname.startswith("keras."), msg(
        f"model_bn's BatchNormalization layer is {qualname}, a class of its own, not Keras' "
        "keras.layers.BatchNormalization.",
        f"model_bn의 BatchNormalization 층이 Keras의 keras.layers.BatchNormalization이 아니라 직접 만든 클래스 "
        f"{qualname}입니다.",
    )
    assert bn[0]["params"] == 400, msg(
        f"model_bn's BatchNormalization layer has {bn[0]['params']} parameters; normalising the 100 outputs of "
        "Dense(100) gives 400 (gamma, beta, moving mean and moving variance for each unit).",
        f"model_bn의 BatchNormalization 층의 파라미터가 {bn[0]['params']}개입니다. Dense(100)의 출력 100개를 "
        "정규화하면 400개입니다 (유닛마다 gamma, beta, 이동 평균, 이동 분산).",
    )
    assert desc["non_trainable_params"] == 200, msg(
        f"model_bn has {desc['non_trainable_params']} non-trainable parameters; BatchNormalization over 100 "
        "units keeps 200 (its moving mean and variance).",
        f"model_bn의 학습되지 않는 파라미터가 {desc['non_trainable_params']}개입니다. 유닛 100개에 대한 "
        "BatchNormalization은 200개(이동 평균과 이동 분산)를 둡니다.",
    )
    assert desc["trainable_params"] in (79710, 79610), msg(
        f"model_bn has {desc['trainable_params']} trainable parameters; Flatten -> Dense(100) -> "
        "BatchNormalization -> Activation('relu') -> Dense(10) has 79,710 (79,610 with Dense(100, use_bias=False)).",
        f"model_bn의 학습되는 파라미터가 {desc['trainable_params']}개입니다. Flatten -> Dense(100) -> "
        "BatchNormalization -> Activation('relu') -> Dense(10)은 79,710개입니다 "
        "(Dense(100, use_bias=False)이면 79,610개).",
    )


@pytest.mark.profiles("full")
def test_val_accuracy_full(nb, credit):
    # 50 epochs of SGD() on all of MNIST: both models pass 0.95.
    # Measured by the grader: each trained model on its run's validation data.
    for _, history in RUNS:
        try:
            acc = nb.trusted.run(history).accuracy
        except AssertionError as exc:
            credit.check(False, message_of(exc))
            continue
        credit.check(
            acc is not None and acc >= 0.95,
            msg(
                f"`{history}`: the trained model classifies {acc:.4f} of its validation data correctly (measured by "
                "the grader), expected at least 0.95 after 50 epochs.",
                f"`{history}`: 학습된 모델이 검증 데이터의 {acc:.4f}를 맞힙니다 (채점기가 측정). 50 에포크 후에는 "
                "0.95 이상이어야 합니다.",
            ),
        )
