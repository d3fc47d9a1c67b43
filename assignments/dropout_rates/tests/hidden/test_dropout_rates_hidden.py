"""Hidden checks for dropout_rates: the runs belong together and compare fairly.

They use the grader's trace of the notebook's run (which fit produced which history,
on what inputs), bound to the models: each history's last val_loss must be its model's
loss on the validation data as the grader measures it (nb.trusted), and the accuracy
bar is the grader's own measure of each trained model.
"""

from __future__ import annotations

import pytest

from grader.i18n import message_of, msg, pick
from grader.trusted import training_data_problem

RATES = (0.25, 0.5, 0.75)


def test_histories_from_their_models(nb, credit, pictures):
    for rate in RATES:
        pictures.curves("histories", rate, label=msg(f"Dropout {rate}", f"드롭아웃 {rate}"))
    for rate in RATES:
        what = f"histories[{rate}]"
        try:
            event = nb.fit_for("histories", rate)
            uid = nb.model("models", rate)["uid"]
            h = nb.history("histories", rate)
        except AssertionError as exc:
            credit.check(False, message_of(exc))
            continue
        if event is None:
            credit.check(
                False,
                msg(
                    f"{what} is not the History of a fit call in this notebook.",
                    f"{what}이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다.",
                ),
            )
            continue
        if event.get("model_uid") != uid:
            credit.check(
                False,
                msg(
                    f"{what} comes from training another model than models[{rate}]: store each rate's model "
                    "and the History of its own fit under the same key.",
                    f"{what}이(가) models[{rate}]가 아닌 다른 모델의 학습에서 나왔습니다: 비율마다 모델과 그 모델의 "
                    "fit이 돌려준 History를 같은 키에 저장하세요.",
                ),
            )
            continue
        n = len(h["loss"])
        ran = event.get("epochs_run")
        if n != ran:
            credit.check(
                False,
                msg(
                    f"{what} has {n} epochs, but its fit ran {ran}: keep the History fit returned, unchanged.",
                    f"{what}에는 {n} 에포크가 있는데 fit은 {ran} 에포크를 돌았습니다: fit이 돌려준 History를 "
                    "바꾸지 말고 그대로 두세요.",
                ),
            )
            continue
        try:
            nb.trusted.bind("histories", rate)  # its last val_loss must be its model's, measured by the grader
        except AssertionError as exc:
            credit.check(False, message_of(exc))
            continue
        credit.check(True, "")


def test_runs_scaled_alike(nb, data):
    ranges = {}
    for rate in RATES:
        event = nb.fit_for("histories", rate)
        assert event is not None, msg(
            f"histories[{rate}] is not the History of a fit call in this notebook.",
            f"histories[{rate}]이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다.",
        )
        problem = training_data_problem(event, data, "mnist")
        assert problem is None, msg(
            f"histories[{rate}]: {problem}.", f"histories[{rate}]: {pick(problem or '', 'ko')}."
        )
        x = event.get("x") or {}
        ranges[rate] = (x.get("min"), x.get("max"), tuple(x.get("shape") or ()))
    first = ranges[RATES[0]]
    for rate in RATES[1:]:
        other = ranges[rate]
        same = other[2] == first[2] and all(
            isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-6 * max(1.0, abs(a))
            for a, b in zip(first[:2], other[:2], strict=True)
        )
        if not same:
            shown = ", ".join(f"{r}: values {v[0]:.4g}..{v[1]:.4g}, shape {list(v[2])}" for r, v in ranges.items()
                              if isinstance(v[0], (int, float)) and isinstance(v[1], (int, float)))
            raise AssertionError(
                msg(
                    "the three runs were not trained on the same inputs (" + shown + "): a comparison of "
                    "overfitting needs the same data, scaled alike. Scale x_train once (x_train / 255.0) before "
                    "the loop, not inside it.",
                    "세 학습의 입력이 같지 않습니다 (" + shown + "): 과대적합을 비교하려면 같은 데이터를 같게 "
                    "스케일링해야 합니다. x_train을 반복문 안이 아니라 반복문 앞에서 한 번(x_train / 255.0) "
                    "스케일링하세요.",
                )
            )


@pytest.mark.profiles("full")
def test_val_accuracy_full(nb, credit):
    # 50 epochs of SGD() on all of MNIST: every rate reaches well over 0.92.
    # Measured by the grader: each rate's trained model on its run's validation data.
    for rate in RATES:
        try:
            acc = nb.trusted.run("histories", rate).accuracy
        except AssertionError as exc:
            credit.check(False, message_of(exc))
            continue
        credit.check(
            acc is not None and acc >= 0.92,
            msg(
                f"histories[{rate}]: the trained model classifies {acc:.4f} of its validation data correctly "
                "(measured by the grader), expected at least 0.92 after 50 epochs; check the model, the optimizer "
                "and the scaling of the inputs.",
                f"histories[{rate}]: 학습된 모델이 검증 데이터의 {acc:.4f}를 맞힙니다 (채점기가 측정). 50 에포크 "
                "후에는 0.92 이상이어야 합니다. 모델, 옵티마이저, 입력 스케일링을 확인하세요.",
            ),
        )
