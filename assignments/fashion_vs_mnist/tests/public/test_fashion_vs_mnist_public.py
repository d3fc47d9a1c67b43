"""Public checks for fashion_vs_mnist: the shapes of the contract.

The grader runs these and, besides them, hidden checks: that the overfitting gaps
are computed from the right histories the right way round, that both data sets were
loaded, that both runs train a fresh copy of the MNIST example's network with its
training set-up and the same scaling, that each test accuracy is its own model's
model.evaluate result, and (with real data, in the full profile) that the accuracies
are where the two data sets put them.

Contract (see the notebook):
  history_mnist, history_fashion      what each fit returned (History or its dict)
  test_acc_mnist, test_acc_fashion    model.evaluate(x_test, t_test)[1] of each, in [0, 1]
  overfit_gap_mnist, overfit_gap_fashion   val_loss[-1] - loss[-1] of each run's history
  a markdown answer marked answer:loss_vs_accuracy
"""

from __future__ import annotations

import math

from grader.i18n import msg

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
RUNS = ("mnist", "fashion")


def _number(nb, name, finite=True):
    value = nb.get(name)
    if isinstance(value, (list, tuple)):
        acc = name.startswith("test_acc")
        raise AssertionError(
            msg(
                f"`{name}` is a {type(value).__name__}; it must be one number"
                + (" (model.evaluate returns [loss, accuracy]: take [1])." if acc else "."),
                f"`{name}`이(가) {type(value).__name__}입니다. 숫자 하나여야 합니다"
                + (" (model.evaluate는 [loss, accuracy]를 돌려주므로 [1]을 쓰세요)." if acc else "."),
            )
        )
    assert isinstance(value, (int, float)) and not isinstance(value, bool), msg(
        f"`{name}` must be a number, got {value!r}.", f"`{name}`은(는) 숫자여야 하는데 {value!r}입니다."
    )
    assert not finite or math.isfinite(value), msg(
        f"`{name}` = {value}: it must be a finite number.", f"`{name}` = {value}: 유한한 숫자여야 합니다."
    )
    return float(value)


def test_histories_recorded(nb):
    for run in RUNS:
        name = f"history_{run}"
        hist = nb.history(name)
        missing = [k for k in HISTORY_KEYS if k not in hist]
        assert not missing, msg(
            f"`{name}` has no {', '.join(missing)}: it must be what fit returned, trained with "
            "metrics=['accuracy'] and validation_split=0.2. It has: " + ", ".join(sorted(hist)) + ".",
            f"`{name}`에 {', '.join(missing)}이(가) 없습니다: metrics=['accuracy']와 validation_split=0.2로 "
            "학습한 fit의 반환값이어야 합니다. 들어 있는 것: " + ", ".join(sorted(hist)) + ".",
        )
        lengths = {k: len(hist[k]) for k in HISTORY_KEYS}
        assert min(lengths.values()) >= 1 and len(set(lengths.values())) == 1, msg(
            f"`{name}` should hold one value per epoch for each of {', '.join(HISTORY_KEYS)}; got lengths {lengths}.",
            f"`{name}`에는 {', '.join(HISTORY_KEYS)} 각각에 에포크마다 값이 하나씩 있어야 하는데 "
            f"길이가 {lengths}입니다.",
        )


def test_test_accuracies_are_fractions(nb):
    for run in RUNS:
        name = f"test_acc_{run}"
        acc = _number(nb, name)
        percent = 1 < acc <= 100
        assert 0.0 <= acc <= 1.0, msg(
            f"`{name}` = {acc:g} is not a fraction in [0, 1]"
            + (": it looks like a percentage; keep the value model.evaluate returns." if percent else "."),
            f"`{name}` = {acc:g}이(가) [0, 1] 범위의 비율이 아닙니다"
            + (": 백분율로 보입니다. model.evaluate가 돌려준 값을 그대로 쓰세요." if percent else "."),
        )


def test_overfit_gaps_are_numbers(nb):
    # A run that diverged has NaN losses, and then its gap is NaN too: that is graded
    # (as a run that did not learn) by a hidden check, not here.
    for run in RUNS:
        _number(nb, f"overfit_gap_{run}", finite=False)


def test_answer_loss_vs_accuracy_written(nb):
    # The answer is graded by a person (the report shows it with a pending score).
    # This check only gives the point for having written something in the marked cell.
    text = nb.answer("loss_vs_accuracy")
    assert text is not None, msg(
        "the answer cell marked answer:loss_vs_accuracy is missing "
        "(its tag, or the line <!-- answer:loss_vs_accuracy --> of the starter); "
        "keep the cell of the starter notebook "
        "(with its marker) and write your answer in it.",
        "answer:loss_vs_accuracy 표시가 된 답안 셀이 없습니다 (태그나 시작 노트북의 <!-- answer:loss_vs_accuracy --> "
        "줄). 시작 노트북의 셀을 표시와 함께 그대로 두고 그 안에 답을 쓰세요.",
    )
    assert text.strip(), msg(
        "the answer cell (marked answer:loss_vs_accuracy) is empty: compare the two runs and explain why the "
        "validation loss can rise while the accuracy stays flat.",
        "답안 셀(answer:loss_vs_accuracy 표시)이 비어 있습니다: 두 학습을 비교하고 정확도가 그대로인데 검증 "
        "손실이 오를 수 있는 이유를 설명하세요.",
    )
