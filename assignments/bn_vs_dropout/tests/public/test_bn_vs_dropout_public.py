"""Public checks for bn_vs_dropout ([Self Study 2]).

Contract (see the notebook):
  model_dropout     Flatten(input_shape=(28, 28, 1)) -> Dense(100, relu) -> Dropout(0.25)
                    -> Dense(10, softmax)
  model_bn          Flatten(input_shape=(28, 28, 1)) -> Dense(100) -> BatchNormalization()
                    -> Activation('relu') -> Dense(10, softmax); no Dropout layer
  history_dropout, history_bn   the History each fit returned (or its .history dict)
  comparison        {'dropout': {...}, 'bn': {...}}, each with the final-epoch loss,
                    val_loss, accuracy and val_accuracy of that model's history
  a markdown cell marked answer:bn_vs_dropout

Both models: SGD(), sparse_categorical_crossentropy, metrics=['accuracy'], epochs=50,
validation_split=0.2, the same inputs scaled by / 255.0. The grader may run fewer epochs
than asked (its profile caps them); what it checks is what your code asked for.
"""

from __future__ import annotations

from grader import architecture
from grader.i18n import message_of, msg, pick
from grader.trusted import training_data_problem, validation_problem

EPOCHS = 50
VALIDATION_SPLIT = 0.2
SGD_DEFAULT_LR = 0.01
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy", "SparseCategoricalAccuracy"}
RUNS = (("dropout", "model_dropout", "history_dropout"), ("bn", "model_bn", "history_bn"))
METRICS = ("loss", "val_loss", "accuracy", "val_accuracy")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parts(credit, checks):
    for what, fn in checks:
        try:
            fn()
        except AssertionError as exc:
            credit.check(False, message_of(exc))
        else:
            credit.check(True, msg(f"{what} is right", f"{what}: 맞음"))


# Networks are compared by what they compute (grader.architecture): Flatten(input_shape=(28, 28, 1)) -> Dense(100)
# is Dense(100) on 784 inputs, Dense(100) + Activation('relu') is Dense(100, relu), ReLU() is Activation('relu').
DROPOUT_NET = "784 -> Dense(100, relu) -> Dropout(0.25) -> Dense(10, softmax)"
BN_NET = "784 -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)"
BN_NET_NO_BIAS = BN_NET.replace("Dense(100)", "Dense(100, no bias)")  # BatchNormalization's beta is the bias


def test_dropout_model_architecture(nb):
    got = architecture.from_description(nb.model("model_dropout"))
    want = architecture.parse(DROPOUT_NET)
    wrong = architecture.differences(got, want)
    assert not wrong, msg(
        f"model_dropout: expected {want.text()} (Flatten(input_shape=(28, 28, 1)) makes the 784 inputs), found "
        f"{got.text()}: " + "; ".join(wrong) + ".",
        f"model_dropout: {want.text()}이어야 하는데 (Flatten(input_shape=(28, 28, 1))이 입력 784개를 만듭니다) "
        f"{got.text()}입니다: " + "; ".join(pick(w, "ko") for w in wrong) + ".",
    )


def test_bn_model_architecture(nb):
    got = architecture.from_description(nb.model("model_bn"))
    want = architecture.parse(BN_NET)
    kinds = [s.kind for s in got.steps]
    found = got.text()
    expected = "Flatten -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)"
    assert "Dropout" not in kinds, msg(
        f"model_bn still has a Dropout layer ({found}): in this model BatchNormalization replaces Dropout, "
        f"so it has no Dropout layer. Expected {expected}.",
        f"model_bn에 아직 Dropout 층이 있습니다 ({found}): 이 모델에서는 BatchNormalization이 Dropout을 "
        f"대신하므로 Dropout 층이 없어야 합니다. 기대한 모델: {expected}.",
    )
    assert "BatchNormalization" in kinds, msg(
        f"model_bn has no BatchNormalization layer ({found}). Expected {expected}.",
        f"model_bn에 BatchNormalization 층이 없습니다 ({found}). 기대한 모델: {expected}.",
    )
    wrong = architecture.differences(got, want)
    if not wrong or not architecture.differences(got, architecture.parse(BN_NET_NO_BIAS)):
        return
    hint, hint_ko = "", ""
    bn = kinds.index("BatchNormalization")
    dense_before = [step for step in got.steps[:bn] if step.kind == "Dense"]
    if not dense_before:
        hint = (" BatchNormalization comes before the hidden Dense layer: it should normalise the outputs"
                " of Dense(100), between the Dense layer and its activation.")
        hint_ko = (" BatchNormalization이 은닉 Dense 층보다 앞에 있습니다: Dense 층과 활성화 함수 사이에서"
                   " Dense(100)의 출력을 정규화해야 합니다.")
    elif dense_before[-1].activation not in (None, "linear"):
        hint = (" The hidden Dense layer applies its activation before BatchNormalization: use Dense(100)"
                " without activation, then BatchNormalization(), then Activation('relu').")
        hint_ko = (" 은닉 Dense 층이 BatchNormalization 전에 활성화 함수를 적용합니다: 활성화 함수 없는"
                   " Dense(100), BatchNormalization(), Activation('relu') 순서로 쓰세요.")
    raise AssertionError(
        msg(
            f"model_bn: expected {want.text()} ({expected}), found {found}: " + "; ".join(wrong) + "." + hint,
            f"model_bn: {want.text()} ({expected})이어야 하는데 {found}입니다: "
            + "; ".join(pick(w, "ko") for w in wrong)
            + "."
            + hint_ko,
        )
    )


def _check_compile(nb, name):
    comp = nb.compiled(name)  # the settings its training ran with
    assert comp is not None, msg(
        f"{name} was not compiled; call {name}.compile(...) before fit.",
        f"{name}이(가) 컴파일되지 않았습니다. fit 전에 {name}.compile(...)을 호출하세요.",
    )
    opt = comp["optimizer"] or {}
    cls = opt.get("class")
    assert cls == "SGD", msg(
        f"{name} is compiled with the optimizer {cls}; both models use the same optimizer, SGD() "
        "(a comparison of two layers means nothing if the optimizers differ).",
        f"{name}이(가) 옵티마이저 {cls}(으)로 컴파일되었습니다. 두 모델은 같은 옵티마이저 SGD()를 씁니다 "
        "(옵티마이저가 다르면 두 층의 비교가 의미 없습니다).",
    )
    cfg = opt.get("config", {})
    lr = cfg.get("learning_rate")
    assert _number(lr) and abs(lr - SGD_DEFAULT_LR) <= 1e-4 * SGD_DEFAULT_LR, msg(
        f"{name}: SGD's learning rate is {lr!r}; the exercise uses SGD() with its default learning rate "
        f"{SGD_DEFAULT_LR}.",
        f"{name}: SGD의 학습률이 {lr!r}입니다. 이 실습은 기본 학습률 {SGD_DEFAULT_LR}인 SGD()를 씁니다.",
    )
    assert not cfg.get("momentum") and not cfg.get("nesterov"), msg(
        f"{name}: SGD has momentum {cfg.get('momentum')}; SGD() uses none.",
        f"{name}: SGD의 모멘텀이 {cfg.get('momentum')}입니다. SGD()는 모멘텀을 쓰지 않습니다.",
    )
    loss = comp["loss_key"] or comp["loss"]
    assert loss == "sparse_categorical_crossentropy", msg(
        f"{name} is compiled with loss={comp['loss']!r}; the labels are integers 0..9: use "
        "'sparse_categorical_crossentropy'.",
        f"{name}이(가) loss={comp['loss']!r}로 컴파일되었습니다. 레이블이 정수 0..9이므로 "
        "'sparse_categorical_crossentropy'를 쓰세요.",
    )
    metrics = comp["metrics"] if isinstance(comp["metrics"], list) else [comp["metrics"]]
    assert any(m in ACCURACY_NAMES for m in metrics), msg(
        f"{name} is compiled with metrics={metrics!r}; use metrics=['accuracy'].",
        f"{name}이(가) metrics={metrics!r}로 컴파일되었습니다. metrics=['accuracy']를 쓰세요.",
    )


def test_compile_settings(nb, credit):
    _parts(credit, [(f"{model} compile", lambda m=model: _check_compile(nb, m)) for _, model, _ in RUNS])


def _fit(nb, history):
    event = nb.fit_for(history)
    assert event is not None, msg(
        f"`{history}` is not the History of a fit call in this notebook; store what model.fit(...) returns.",
        f"`{history}`이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다. model.fit(...)의 반환값을 저장하세요.",
    )
    return event


def _check_fit(nb, history):
    event = _fit(nb, history)
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, msg(
        f"`{history}` was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours).",
        f"`{history}`이(가) epochs={asked}로 학습되었습니다. 이 실습은 epochs={EPOCHS}입니다 "
        "(채점기는 더 적게 돌릴 수 있지만 그것은 채점기의 선택입니다).",
    )
    problem = validation_problem(event, VALIDATION_SPLIT)
    assert problem is None, msg(f"`{history}`: {problem}.", f"`{history}`: {pick(problem or '', 'ko')}.")
    top = (event.get("x") or {}).get("max")
    assert _number(top) and top <= 1.0 + 1e-6, msg(
        f"`{history}`: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0.",
        f"`{history}`: 학습 이미지의 값이 {top}까지 갑니다. x_train / 255.0으로 [0, 1] 범위로 스케일링하세요.",
    )


def _check_alike(nb):
    a, b = _fit(nb, "history_dropout"), _fit(nb, "history_bn")
    xa, xb = a.get("x") or {}, b.get("x") or {}
    for key in ("min", "max"):
        va, vb = xa.get(key), xb.get(key)
        ra, rb = f"{xa.get('min')}..{xa.get('max')}", f"{xb.get('min')}..{xb.get('max')}"
        assert _number(va) and _number(vb) and abs(va - vb) <= 1e-6 * max(1.0, abs(va)), msg(
            f"the two runs were trained on differently scaled inputs (values {ra} "
            f"for the dropout model, {rb} for the BN model): both must train on "
            "the same x_train / 255.0.",
            f"두 학습의 입력 스케일이 다릅니다 (dropout 모델은 {ra}, BN 모델은 {rb}): 둘 다 같은 "
            "x_train / 255.0으로 학습해야 합니다.",
        )
    assert xa.get("shape") == xb.get("shape"), msg(
        f"the two runs were trained on different data (shapes {xa.get('shape')} and {xb.get('shape')}).",
        f"두 학습의 데이터가 다릅니다 (모양 {xa.get('shape')}, {xb.get('shape')}).",
    )
    assert a.get("batch_size") == b.get("batch_size"), msg(
        f"the two runs use different batch sizes ({a.get('batch_size')} and {b.get('batch_size')}); "
        "train both alike (the default batch size).",
        f"두 학습의 배치 크기가 다릅니다 ({a.get('batch_size')}, {b.get('batch_size')}). "
        "둘 다 같게(기본 배치 크기로) 학습하세요.",
    )


def _check_data(nb, data, history):
    problem = training_data_problem(_fit(nb, history), data, "mnist")
    assert problem is None, msg(f"`{history}`: {problem}.", f"`{history}`: {pick(problem or '', 'ko')}.")


def test_same_training_setup(nb, data, credit):
    _parts(credit, [
        ("the dropout run", lambda: (_check_fit(nb, "history_dropout"), _check_data(nb, data, "history_dropout"))),
        ("the BN run", lambda: (_check_fit(nb, "history_bn"), _check_data(nb, data, "history_bn"))),
        ("the two runs alike", lambda: _check_alike(nb)),
    ])


def test_histories_valid(nb):
    for _, _, history in RUNS:
        h = nb.history(history)
        missing = [k for k in METRICS if k not in h]
        assert not missing, msg(
            f"`{history}` has no {', '.join(missing)}: compile with metrics=['accuracy'] and fit with "
            "validation_split=0.2.",
            f"`{history}`에 {', '.join(missing)}이(가) 없습니다: metrics=['accuracy']로 컴파일하고 "
            "validation_split=0.2로 학습하세요.",
        )


def test_comparison_matches_histories(nb, credit):
    comparison = nb.get("comparison")
    is_dict = isinstance(comparison, dict)
    assert is_dict and set(comparison) == {"dropout", "bn"}, msg(
        "`comparison` must be a dict with exactly the keys 'dropout' and 'bn', got "
        + (f"the keys {list(comparison)!r}" if is_dict else type(comparison).__name__) + ".",
        "`comparison`은 키가 정확히 'dropout'과 'bn'인 딕셔너리여야 하는데 "
        + (f"키가 {list(comparison)!r}" if is_dict else type(comparison).__name__) + "입니다.",
    )
    finals = {}
    for key, _, history in RUNS:
        h = nb.history(history)
        finals[key] = {m: h[m][-1] for m in METRICS if m in h}
    for key, _, history in RUNS:
        entry = comparison[key]
        if not isinstance(entry, dict):
            credit.check(
                False,
                msg(
                    f"comparison['{key}'] must be a dict of the final-epoch metrics.",
                    f"comparison['{key}']은(는) 마지막 에포크 지표의 딕셔너리여야 합니다.",
                ),
            )
            continue
        for metric in METRICS:
            got = entry.get(metric)
            want = finals[key].get(metric)
            if want is None:
                credit.check(
                    False,
                    msg(
                        f"`{history}` has no {metric}, so comparison['{key}']['{metric}'] cannot match.",
                        f"`{history}`에 {metric}이(가) 없어서 comparison['{key}']['{metric}']이(가) 맞을 수 없습니다.",
                    ),
                )
                continue
            if not _number(got):
                credit.check(
                    False,
                    msg(
                        f"comparison['{key}']['{metric}'] must be a number, got {got!r:.60}.",
                        f"comparison['{key}']['{metric}']은(는) 숫자여야 하는데 {got!r:.60}입니다.",
                    ),
                )
                continue
            ok = abs(got - want) <= 1e-6 * max(1.0, abs(want))
            hint, hint_ko = "", ""
            if not ok:
                other = "bn" if key == "dropout" else "dropout"
                theirs = finals[other].get(metric)
                if theirs is not None and abs(got - theirs) <= 1e-6 * max(1.0, abs(theirs)):
                    hint = f" It is the {other} model's value: the two entries are swapped."
                    hint_ko = f" {other} 모델의 값입니다: 두 항목이 바뀌었습니다."
                else:
                    h = nb.history(history)[metric]
                    if any(abs(got - v) <= 1e-6 * max(1.0, abs(v)) for v in h[:-1]):
                        hint = " It is the value of an earlier epoch: use the last epoch's, h[...][-1]."
                        hint_ko = " 이전 에포크의 값입니다: 마지막 에포크의 값 h[...][-1]을 쓰세요."
            credit.check(
                ok,
                msg(
                    f"comparison['{key}']['{metric}'] is {got:.6g}, but the last epoch of `{history}` has "
                    f"{metric} = {want:.6g}.{hint}",
                    f"comparison['{key}']['{metric}']이(가) {got:.6g}인데 `{history}`의 마지막 에포크는 "
                    f"{metric} = {want:.6g}입니다.{hint_ko}",
                ),
            )


def test_answer_bn_vs_dropout_written(nb):
    # Graded by a person (the report shows it with a pending score); this point is for
    # having written something in the marked cell.
    text = nb.answer("bn_vs_dropout")
    assert text is not None, msg(
        "the answer cell marked answer:bn_vs_dropout is missing "
        "(its tag, or the line <!-- answer:bn_vs_dropout --> of the starter); "
        "keep the cell of the starter notebook"
        " (with its marker) and write your answer in it.",
        "answer:bn_vs_dropout 표시가 된 답안 셀이 없습니다 (태그나 시작 노트북의 <!-- answer:bn_vs_dropout --> 줄). "
        "시작 노트북의 셀을 표시와 함께 그대로 두고 그 안에 답을 쓰세요.",
    )
    assert text.strip(), msg(
        "the answer cell (marked answer:bn_vs_dropout) is empty: compare the two models and explain the difference.",
        "답안 셀(answer:bn_vs_dropout 표시)이 비어 있습니다: 두 모델을 비교하고 차이를 설명하세요.",
    )
