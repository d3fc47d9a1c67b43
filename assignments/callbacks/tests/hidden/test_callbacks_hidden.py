"""Hidden checks for callbacks: each checkpoint file holds its run's best model.

The grader copies the file named by checkpoint_path_N out of the notebook's folder and
measures it on its own side (nb.trusted: a separate process that rebuilds the model
from the file, Keras' own classes only, and evaluates it on the grader's copy of the
data), on the data that run validated on: the last validation_split of the training
set, or the validation_data it was given (identified by content). The loss must be the
lowest val_loss of the run's history, which is first bound to the run's model: its
last val_loss must be that model's trusted loss. Nothing here is computed in the
student's kernel, so a patched evaluate or load_model changes nothing.
"""

from __future__ import annotations

import posixpath

import pytest

from grader.i18n import message_of, msg, pick
from grader.trusted import close


def _path(nb, path_name):
    path = nb.get(path_name)
    assert isinstance(path, str), msg(
        f"`{path_name}` must be the checkpoint's file name as a string, got {path!r:.80}.",
        f"`{path_name}`은(는) 체크포인트 파일 이름 문자열이어야 하는데 {path!r:.80}입니다.",
    )
    return path


def _evaluate(nb, history, path_name, split):
    path = _path(nb, path_name)
    event = nb.fit_for(history)
    assert event is not None, msg(
        f"`{history}` is not the History of a fit call in this notebook.",
        f"`{history}`이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다.",
    )
    data = nb.trusted.run_data(event)
    if split == "validation":
        assert data.validation is not None, msg(
            f"the grader cannot tell which data `{history}`'s run validated on ({data.validated_on}), so it cannot "
            "check the checkpoint against it; validate on the data set load_data() returned.",
            f"채점기가 `{history}`의 학습이 어떤 데이터로 검증했는지 알 수 없어서"
            f"({pick(data.validated_on, 'ko')}) 체크포인트를 "
            "확인할 수 없습니다. load_data()가 돌려준 데이터셋으로 검증하세요.",
        )
        on = data.validation
    else:
        from grader.evaluator import DataSplit

        dataset = data.trained_on.split()[0] if data.trained_on else "fashion_mnist"
        on = DataSplit(dataset, "test", scale=data.scale)
    model = history if path.endswith(".weights.h5") else None
    return path, nb.trusted.checkpoint(path, on=on, model=model), data


def _holds_best(nb, run, history, path_name, other_path_name):
    path, result, data = _evaluate(nb, history, path_name, "validation")
    val = nb.history(history).get("val_loss")
    assert val, msg(
        f"`{history}` has no val_loss: fit run {run} with validation_split=0.2.",
        f"`{history}`에 val_loss가 없습니다: 실행 {run}을 validation_split=0.2로 학습하세요.",
    )
    nb.trusted.bind(history)  # the history must match its model; a mismatch fails here and is flagged
    best = min(range(len(val)), key=val.__getitem__)
    loss = result.loss
    assert loss is not None, msg(
        f"run {run}: the model in {path!r} does not output class probabilities.",
        f"실행 {run}: {path!r}의 모델이 클래스 확률을 출력하지 않습니다.",
    )
    if close(loss, val[best]):
        return
    same_file, same_file_ko = "", ""
    if nb.has(other_path_name):
        other = nb.get(other_path_name)
        if isinstance(other, str) and posixpath.normpath(other) == posixpath.normpath(path):
            same_file = (
                f" `{path_name}` and `{other_path_name}` are the same file, so the other run overwrote this run's"
                " checkpoint: give each run its own file."
            )
            same_file_ko = (
                f" `{path_name}`과 `{other_path_name}`이 같은 파일이어서 다른 학습이 이 학습의 체크포인트를"
                " 덮어썼습니다: 학습마다 파일을 따로 쓰세요."
            )
    epochs = [i for i, v in enumerate(val) if close(loss, v)]
    if epochs:
        e = epochs[-1]
        raise AssertionError(
            msg(
                f"run {run}: {path!r} holds the model of epoch {e + 1} (val_loss {val[e]:.5g}), not "
                f"the best one, epoch {best + 1} (val_loss {val[best]:.5g}): the ModelCheckpoint must monitor "
                f"'val_loss' with save_best_only=True.{same_file}",
                f"실행 {run}: {path!r}에는 가장 좋은 {best + 1}번째 에포크(val_loss {val[best]:.5g})가 아니라 "
                f"{e + 1}번째 에포크(val_loss {val[e]:.5g})의 모델이 있습니다: ModelCheckpoint는 save_best_only=True로 "
                f"'val_loss'를 지켜봐야 합니다.{same_file_ko}",
            )
        )
    raise AssertionError(
        msg(
            f"run {run}: the model in {path!r} has a loss of {loss:.5g} on the data this run validated on "
            f"({data.validated_on}), which is no epoch's val_loss of `{history}` (the best is {val[best]:.5g}, epoch "
            f"{best + 1}): the file does not hold this run's best model."
            + (same_file or " Was it written by another run, or is it another file than the one the callback saved?"),
            f"실행 {run}: {path!r}의 모델은 이 학습이 검증한 데이터({pick(data.validated_on, 'ko')})에서 "
            f"손실이 {loss:.5g}인데, "
            f"이는 `{history}`의 어느 에포크의 val_loss와도 맞지 않습니다 (가장 좋은 것은 {best + 1}번째 에포크의 "
            f"{val[best]:.5g}): 파일에 이 학습의 가장 좋은 모델이 없습니다."
            + (same_file_ko or " 다른 학습이 쓴 파일이거나, 콜백이 저장한 파일과 다른 파일이 아닌가요?"),
        )
    )


def test_checkpoint_1_holds_best_model(nb, pictures):
    pictures.curves("history_ckpt", label=msg("Run [1], ModelCheckpoint", "실행 [1], ModelCheckpoint"))
    _holds_best(nb, "[1]", "history_ckpt", "checkpoint_path_1", "checkpoint_path_2")


def test_checkpoint_2_holds_best_model(nb, pictures):
    pictures.curves(
        "history_es", label=msg("Run [2], ModelCheckpoint + EarlyStopping", "실행 [2], ModelCheckpoint + EarlyStopping")
    )
    _holds_best(nb, "[2]", "history_es", "checkpoint_path_2", "checkpoint_path_1")


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb, credit):
    # One hidden layer of 100 on Fashion-MNIST with SGD(0.1): the best checkpoint of
    # either run classifies well over 84 % of the test set.
    runs = (("[1]", "history_ckpt", "checkpoint_path_1"), ("[2]", "history_es", "checkpoint_path_2"))
    for run, history, path_name in runs:
        try:
            path, result, _ = _evaluate(nb, history, path_name, "test")
        except AssertionError as exc:
            credit.check(False, message_of(exc))
            continue
        acc = result.accuracy
        credit.check(
            acc is not None and acc >= 0.84,
            msg(
                f"run {run}: the checkpoint {path!r} classifies {acc} of the test set correctly, "
                "expected at least 0.84.",
                f"실행 {run}: 체크포인트 {path!r}가 테스트 세트의 {acc}를 맞힙니다. 0.84 이상이어야 합니다.",
            ),
        )
