"""Hidden checks for sparse_labels: no one-hot encoding anywhere, the data set's own
labels, the original model, and where test_accuracy came from.

Students see only the assert messages, never this source.

How test_accuracy is checked. The trusted side cannot run the student's model, but the
trace records every model.evaluate call with the model it was called on (model_uid,
the same id nb.model reports), the shape of its inputs and what it returned. So
test_accuracy must equal the accuracy returned by an evaluate call of `model` on the
whole test set (as many rows as the test set the kernel was given), made after the last
fit of that model. The usual slips get a hint: the loss (evaluate(...)[0]), a
percentage, the notes' 0.9832, a training accuracy, the untrained model.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pytest

from grader import architecture
from grader.i18n import msg, pick
from grader.trusted import training_data_problem, weights_problem


def _calls_named(source: str, name: str) -> int:
    """Uses of `name` or `<anything>.name` in the notebook's code (calls, references, renaming imports); comments and
    strings do not count. A notebook whose code does not parse as a whole is searched
    block by block (blocks between blank lines), as text where a block does not parse."""
    source = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())

    def count_tree(tree):
        n = 0
        for node in ast.walk(tree):
            # any use counts, not only a call (`f = to_categorical`, `.__wrapped__`), and an import
            # under another name; a plain import left over from the original notebook does not
            if (isinstance(node, ast.Name) and node.id == name) or (
                isinstance(node, ast.Attribute) and node.attr == name
            ) or (isinstance(node, ast.alias) and node.asname and node.name.split(".")[-1] == name):
                n += 1
        return n

    try:
        return count_tree(ast.parse(source))
    except SyntaxError:
        pass
    count = 0
    for chunk in re.split(r"\n\s*\n", source):
        try:
            count += count_tree(ast.parse(chunk))
        except SyntaxError:
            text = "\n".join(line.split("#", 1)[0] for line in chunk.splitlines())
            count += len(re.findall(rf"\b{name}\s*\(", text))
    return count


def _events(nb, kind):
    return [e for e in nb.trace() if isinstance(e, dict) and e.get("event") == kind]


def test_no_one_hot_encoding(nb, pictures):
    pictures.curves("history", label=msg("Integer labels, Dense(512)", "정수 레이블, Dense(512)"))
    fits = _events(nb, "fit")
    assert fits, msg(
        "no model.fit was recorded: the notebook did not train the model, so there is no training without "
        "one-hot labels to grade.",
        "model.fit 기록이 없습니다: 노트북이 모델을 학습하지 않아서 원-핫 레이블 없이 학습했는지 채점할 수 없습니다.",
    )
    assert not nb.unread, msg(
        f"the grader could not read part of the notebook's code to look for to_categorical ({nb.unread[0]}); "
        "keep code cells to a normal size.",
        f"채점기가 to_categorical을 찾으려고 노트북 코드의 일부를 읽지 못했습니다 ({nb.unread[0]}). "
        "코드 셀을 보통 크기로 유지하세요.",
    )
    recorded = sum(int(e.get("calls") or 1) for e in _events(nb, "to_categorical"))
    written = _calls_named(nb.code, "to_categorical")
    assert recorded == 0 and written == 0, msg(
        f"to_categorical is still used ({recorded} call(s) recorded while the notebook ran, {written} in its "
        "code). The exercise trains without one-hot encoding: remove every use of to_categorical, also one "
        "that only prints an example.",
        f"to_categorical을 아직 씁니다 (노트북 실행 중 호출 {recorded}번 기록, 코드에 {written}번). 이 실습은 "
        "원-핫 인코딩 없이 학습합니다: 예시를 출력하기만 하는 것까지 to_categorical을 모두 지우세요.",
    )
    # Training the record does not show (weights that came from elsewhere) cannot be shown
    # to be free of one-hot labels.
    trace = nb.trace()
    for event in fits:
        problem = weights_problem(trace, event)
        assert problem is None, msg(
            f"`model`: {problem}, so the grader cannot tell which labels trained it.",
            f"`model`: {pick(problem or '', 'ko')}, 그래서 채점기가 어떤 레이블로 학습했는지 알 수 없습니다.",
        )
    # The labels fit received, identified by content: one-hot rows however they were made.
    onehot = [e for e in fits if isinstance(e.get("y_fp"), dict) and e["y_fp"].get("onehot")]
    assert not onehot, msg(
        "model.fit was given one-hot labels (rows of 0s with one 1): the exercise trains on the integer labels "
        "themselves, Y_train as load_data() returns it, with sparse_categorical_crossentropy.",
        "model.fit에 원-핫 레이블(0 사이에 1이 하나 있는 행)을 주었습니다: 이 실습은 load_data()가 돌려준 "
        "Y_train, 즉 정수 레이블 그대로를 sparse_categorical_crossentropy로 학습합니다.",
    )



def test_labels_match_loaded_data(nb, data):
    # What fit trained on, identified by content: the training images, not the test set.
    for event in _events(nb, "fit"):
        problem = training_data_problem(event, data, "mnist")
        assert problem is None, msg(f"`model`: {problem}.", f"`model`: {pick(problem or '', 'ko')}.")
    (_, y_train), (_, y_test) = data.load("mnist")
    for name, ref in (("Y_train", y_train), ("Y_test", y_test)):
        value = np.asarray(nb.get(name))
        onehot_like = value.size == 10 * ref.size
        assert value.size == ref.size, msg(
            f"`{name}` holds {value.size} numbers for {ref.size} images: it should be the labels as loaded, "
            "one integer per image" + (" (it looks one-hot encoded)." if onehot_like else "."),
            f"`{name}`에는 이미지 {ref.size}개에 숫자 {value.size}개가 있습니다: 불러온 그대로의 레이블, "
            "이미지마다 정수 하나여야 합니다" + (" (원-핫 인코딩된 것 같습니다)." if onehot_like else "."),
        )
        flat = value.reshape(-1)
        split = "train" if name == "Y_train" else "test"
        assert np.array_equal(flat, ref), msg(
            f"`{name}` is not the label vector of the data set: {int((flat != ref).sum())} of {ref.size} "
            f"labels differ from what mnist.load_data() gave the notebook. Use Y_class_"
            f"{split} as loaded (do not shuffle, cut or shift it).",
            f"`{name}`이(가) 데이터셋의 레이블 벡터가 아닙니다: 레이블 {ref.size}개 중 {int((flat != ref).sum())}개가 "
            f"mnist.load_data()가 노트북에 준 것과 다릅니다. Y_class_{split}을 불러온 그대로 쓰세요 "
            "(섞거나 자르거나 밀지 마세요).",
        )


ORIGINAL = "784 -> Dense(512, relu) -> Dense(10, softmax)"  # seed 003: 407,050 parameters


def test_model_is_the_original(nb):
    # What the network computes, not how it was written: Flatten(input_shape=(28, 28)) -> Dense(512, relu)
    # is the same network as Dense(512, relu, input_dim=784) on reshaped images (grader.architecture).
    desc = nb.model("model")
    got, want = architecture.from_description(desc), architecture.parse(ORIGINAL)
    wrong = architecture.differences(got, want)
    assert not wrong, msg(
        f"`model` must be the original network, {want.text(params=True)}; yours is {got.text(params=True)}: "
        + "; ".join(wrong)
        + ". Flatten(input_shape=(28, 28)) followed by Dense(512, activation='relu') is accepted as well.",
        f"`model`은 원래 신경망 {want.text(params=True)}이어야 하는데 제출한 것은 {got.text(params=True)}입니다: "
        + "; ".join(pick(w, "ko") for w in wrong)
        + ". Flatten(input_shape=(28, 28)) 뒤에 Dense(512, activation='relu')를 두어도 됩니다.",
    )
    optimizer = ((desc.get("compile") or {}).get("optimizer") or {}).get("class", "")
    assert str(optimizer).lower() == "adam", msg(
        f"`model` must be compiled with optimizer='adam' as in the original, got {optimizer or 'none'}.",
        f"`model`은 원래처럼 optimizer='adam'으로 컴파일해야 하는데 {optimizer or '없음'}입니다.",
    )


def _rows(desc):
    """Number of samples of a traced input description, or None."""
    if not isinstance(desc, dict):
        return None
    shape = desc.get("shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int):
        return shape[0]
    return desc.get("len") if isinstance(desc.get("len"), int) else None


def _loss_and_accuracy(result):
    if isinstance(result, dict):
        acc = result.get("accuracy", result.get("acc", result.get("compile_metrics")))
        return result.get("loss"), acc
    if isinstance(result, list) and len(result) >= 2:
        return result[0], result[1]
    if isinstance(result, (int, float)):
        return result, None
    return None, None


def _close(a, b, tol=5e-5):
    return isinstance(b, (int, float)) and not isinstance(b, bool) and abs(a - b) <= tol


def _trusted_test(nb):
    """`model` measured by the grader on its own copy of the MNIST test set (nb.trusted),
    scaled as the model's last fit scaled its inputs; with the fit events of `model`."""
    from grader.evaluator import DataSplit

    uid = nb.model("model").get("uid")
    trace = nb.trace()
    fits = [i for i, e in enumerate(trace) if e["event"] == "fit" and e.get("model_uid") == uid]
    assert fits, msg(
        "no fit of `model` was recorded, so test_accuracy cannot come from the trained model.",
        "`model`의 fit 기록이 없어서 test_accuracy가 학습된 모델에서 나왔을 수 없습니다.",
    )
    scale = nb.trusted.run_data(trace[fits[-1]]).scale
    return nb.trusted.model("model", on=DataSplit("mnist", "test", scale=scale)), trace, fits, uid


def test_test_accuracy_from_evaluate(nb, data):
    (_, _), (_, y_test) = data.load("mnist")
    n_test = len(y_test)
    acc = nb.get("test_accuracy")
    assert isinstance(acc, (int, float)) and not isinstance(acc, bool) and math.isfinite(acc), msg(
        f"`test_accuracy` must be the number model.evaluate(X_test, Y_test)[1], got {acc!r}.",
        f"`test_accuracy`는 model.evaluate(X_test, Y_test)[1] 값이어야 하는데 {acc!r}입니다.",
    )
    trusted, trace, fits, uid = _trusted_test(nb)
    assert trusted.accuracy is not None, msg(
        "`model` does not output one score per class (Dense(10, softmax)).",
        "`model`이 클래스마다 점수 하나를 출력하지 않습니다 (Dense(10, softmax)).",
    )
    # Keras and the grader may round a near-tie differently: two images of slack.
    if _close(acc, trusted.accuracy, 2.0 / n_test + 1e-6):
        return
    evals = [e for e in trace[fits[-1] + 1:] if e["event"] == "evaluate" and e.get("model_uid") == uid]
    results = [_loss_and_accuracy(e.get("result")) for e in evals if _rows(e.get("x")) == n_test]
    if any(_close(acc, loss, 1e-6 * max(1.0, abs(loss))) for loss, _ in results if isinstance(loss, (int, float))):
        raise AssertionError(
            msg(
                f"`test_accuracy` = {acc:.4f} is the test loss: model.evaluate returns [loss, accuracy], so the "
                "accuracy is model.evaluate(X_test, Y_test)[1].",
                f"`test_accuracy` = {acc:.4f}는 테스트 손실입니다: model.evaluate는 [loss, accuracy]를 돌려주므로 "
                "정확도는 model.evaluate(X_test, Y_test)[1]입니다.",
            )
        )
    hint, hint_ko = "", ""
    if 1 < acc <= 100 and _close(acc / 100.0, trusted.accuracy, 2.0 / n_test + 1e-6):
        hint = " Your value is a percentage: keep the fraction evaluate returns."
        hint_ko = " 값이 백분율입니다: evaluate가 돌려준 비율을 그대로 쓰세요."
    elif _close(acc, 0.9832, 1e-9):
        hint = " 0.9832 is the notes' result, not your model's."
        hint_ko = " 0.9832는 강의 노트의 결과이지 여러분 모델의 결과가 아닙니다."
    raise AssertionError(
        msg(
            f"`test_accuracy` = {acc:.4f}, but your trained `model` classifies {trusted.accuracy:.4f} of the "
            f"{n_test} test images correctly (measured by the grader). Store the accuracy model.evaluate(X_test, "
            f"Y_test) returns: test_accuracy = model.evaluate(X_test, Y_test)[1].{hint}",
            f"`test_accuracy` = {acc:.4f}이지만 학습된 `model`은 테스트 이미지 {n_test}개 중 "
            f"{trusted.accuracy:.4f}를 맞힙니다 (채점기가 측정). model.evaluate(X_test, Y_test)가 돌려준 정확도를 "
            f"저장하세요: test_accuracy = model.evaluate(X_test, Y_test)[1].{hint_ko}",
        )
    )


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb):
    acc = _trusted_test(nb)[0].accuracy
    assert acc is not None and acc >= 0.975, msg(
        f"your trained `model` classifies {acc:.4f} of the test set correctly (measured by the grader); "
        "the notes' network reaches about 0.98 on the MNIST test set (0.9832). "
        "Check the scaling (/ 255), the loss and that training ran for its epochs.",
        f"학습된 `model`은 테스트 세트의 {acc:.4f}를 맞힙니다 (채점기가 측정). 강의 노트의 신경망은 MNIST "
        "테스트 세트에서 약 0.98(0.9832)에 이릅니다. 스케일링(/ 255), 손실 함수, 학습이 에포크만큼 "
        "돌았는지 확인하세요.",
    )
