"""Public checks for dropout_rates ([Self Study 1]).

Contract (see the notebook):
  models, histories   dicts keyed by the float rates 0.25, 0.5, 0.75: the trained
                      model and the History its fit returned (or its .history dict)
  overfit_gap         dict rate -> val_loss[-1] - loss[-1] of that rate's history
  least_overfit_rate  the rate with the smallest gap
  a markdown cell marked answer:dropout

Each model: Flatten(input_shape=(28, 28, 1)) -> Dense(100, relu) -> Dropout(rate) ->
Dense(10, softmax), compiled with SGD(), sparse_categorical_crossentropy and
metrics=['accuracy'], fit with epochs=50 and validation_split=0.2 on inputs scaled by
/ 255.0. The grader may run fewer epochs than asked (its profile caps them); what it
checks is what your code asked for.
"""

from __future__ import annotations

from grader import architecture
from grader.i18n import message_of, msg, pick
from grader.trusted import validation_problem

RATES = (0.25, 0.5, 0.75)
EPOCHS = 50
VALIDATION_SPLIT = 0.2
SGD_DEFAULT_LR = 0.01
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy", "SparseCategoricalAccuracy"}


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rate_dict(nb, name):
    value = nb.get(name)
    assert isinstance(value, dict), msg(
        f"`{name}` must be a dict keyed by the dropout rates 0.25, 0.5 and 0.75, got {type(value).__name__}.",
        f"`{name}`은(는) 드롭아웃 비율 0.25, 0.5, 0.75를 키로 하는 딕셔너리여야 하는데 {type(value).__name__}입니다.",
    )
    keys = list(value)
    if any(isinstance(k, str) for k in keys):
        raise AssertionError(
            msg(
                f"`{name}` has the keys {keys!r}: use the rates themselves, the floats 0.25, 0.5 and 0.75, "
                f"as keys ({name}[0.25], not {name}['0.25']).",
                f"`{name}`의 키가 {keys!r}입니다: 비율 자체, 즉 실수 0.25, 0.5, 0.75를 키로 쓰세요 "
                f"({name}['0.25']가 아니라 {name}[0.25]).",
            )
        )
    missing = [r for r in RATES if r not in value]
    extra = [k for k in keys if k not in RATES]
    assert not missing and not extra, msg(
        f"`{name}` must have exactly the keys 0.25, 0.5 and 0.75; "
        + (f"missing {missing}" if missing else "")
        + ("; " if missing and extra else "")
        + (f"unexpected {extra!r}" if extra else "")
        + ".",
        f"`{name}`의 키는 정확히 0.25, 0.5, 0.75여야 합니다: "
        + (f"빠진 키 {missing}" if missing else "")
        + ("; " if missing and extra else "")
        + (f"뜻밖의 키 {extra!r}" if extra else "")
        + ".",
    )
    return value


def _parts(credit, checks):
    """Run each (what, function) as one part of partial credit."""
    for what, fn in checks:
        try:
            fn()
        except AssertionError as exc:
            credit.check(False, message_of(exc))
        else:
            credit.check(True, msg(f"{what} is right", f"{what}: 맞음"))


def _check_model(nb, rate):
    # Compared by what the network computes (grader.architecture): Flatten(input_shape=(28, 28, 1)) -> Dense(100)
    # is Dense(100) on 784 inputs, however the input was shaped, and Dense(100) + Activation('relu') is
    # Dense(100, relu).
    what = f"models[{rate}]"
    got = architecture.from_description(nb.model("models", rate))
    want = architecture.parse(f"784 -> Dense(100, relu) -> Dropout({rate}) -> Dense(10, softmax)")
    wrong = architecture.differences(got, want)
    if not wrong:
        return
    hint, hint_ko = "", ""
    dropout = [s for s in got.steps if s.kind == "Dropout"]
    if rate != RATES[0] and dropout and dropout[0].setting("rate") == RATES[0]:
        hint = " Did you write Dropout(0.25) instead of Dropout(rate) in the model you build for every rate?"
        hint_ko = " 모든 비율에 쓰는 모델에서 Dropout(rate) 대신 Dropout(0.25)라고 쓰지 않았나요?"
    raise AssertionError(
        msg(
            f"{what}: expected {want.text()} (Flatten(input_shape=(28, 28, 1)) makes the 784 inputs), found "
            f"{got.text()}: " + "; ".join(wrong) + "." + hint,
            f"{what}: {want.text()}이어야 하는데 (Flatten(input_shape=(28, 28, 1))이 입력 784개를 만듭니다) "
            f"{got.text()}입니다: " + "; ".join(pick(w, "ko") for w in wrong) + "." + hint_ko,
        )
    )


def _check_compile(nb, rate):
    what = f"models[{rate}]"
    comp = nb.compiled("models", rate)  # the settings its training ran with
    assert comp is not None, msg(
        f"{what} was not compiled; call model.compile(...) before fit.",
        f"{what}이(가) 컴파일되지 않았습니다. fit 전에 model.compile(...)을 호출하세요.",
    )
    opt = comp["optimizer"] or {}
    cls = opt.get("class")
    assert cls == "SGD", msg(
        f"{what} is compiled with the optimizer {cls}; the exercise asks for SGD() "
        "(plain stochastic gradient descent): optimizer=SGD().",
        f"{what}이(가) 옵티마이저 {cls}(으)로 컴파일되었습니다. 이 실습은 SGD()(기본 확률적 경사 하강법)를 "
        "씁니다: optimizer=SGD().",
    )
    cfg = opt.get("config", {})
    lr = cfg.get("learning_rate")
    assert _number(lr), msg(
        f"{what}: SGD's learning rate must be a number (SGD() uses 0.01), found {lr!r}.",
        f"{what}: SGD의 학습률은 숫자여야 하는데 (SGD()는 0.01) {lr!r}입니다.",
    )
    assert abs(lr - SGD_DEFAULT_LR) <= 1e-4 * SGD_DEFAULT_LR, msg(
        f"{what}: SGD's learning rate is {lr:.6g}; the exercise uses SGD() with its default learning rate "
        f"{SGD_DEFAULT_LR}: do not pass learning_rate.",
        f"{what}: SGD의 학습률이 {lr:.6g}입니다. 이 실습은 기본 학습률 {SGD_DEFAULT_LR}인 SGD()를 씁니다: "
        "learning_rate를 주지 마세요.",
    )
    assert not cfg.get("momentum") and not cfg.get("nesterov"), msg(
        f"{what}: SGD has momentum {cfg.get('momentum')}; SGD() uses none.",
        f"{what}: SGD의 모멘텀이 {cfg.get('momentum')}입니다. SGD()는 모멘텀을 쓰지 않습니다.",
    )
    loss = comp["loss_key"] or comp["loss"]
    assert loss == "sparse_categorical_crossentropy", msg(
        f"{what} is compiled with loss={comp['loss']!r}; the labels are integers 0..9, so the loss is "
        "'sparse_categorical_crossentropy'.",
        f"{what}이(가) loss={comp['loss']!r}로 컴파일되었습니다. 레이블이 정수 0..9이므로 손실 함수는 "
        "'sparse_categorical_crossentropy'입니다.",
    )
    metrics = comp["metrics"] if isinstance(comp["metrics"], list) else [comp["metrics"]]
    assert any(m in ACCURACY_NAMES for m in metrics), msg(
        f"{what} is compiled with metrics={metrics!r}; use metrics=['accuracy'] so that the history has "
        "accuracy and val_accuracy.",
        f"{what}이(가) metrics={metrics!r}로 컴파일되었습니다. 학습 기록에 accuracy와 val_accuracy가 남도록 "
        "metrics=['accuracy']를 쓰세요.",
    )


def _check_fit(nb, rate):
    what = f"histories[{rate}]"
    event = nb.fit_for("histories", rate)
    assert event is not None, msg(
        f"{what} is not the History of a fit call in this notebook; store what model.fit(...) returns.",
        f"{what}이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다. model.fit(...)의 반환값을 저장하세요.",
    )
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, msg(
        f"{what} was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours).",
        f"{what}이(가) epochs={asked}로 학습되었습니다. 이 실습은 epochs={EPOCHS}입니다 "
        "(채점기는 더 적게 돌릴 수 있지만 그것은 채점기의 선택입니다).",
    )
    problem = validation_problem(event, VALIDATION_SPLIT)
    assert problem is None, msg(f"{what}: {problem}.", f"{what}: {pick(problem or '', 'ko')}.")
    x = event.get("x") or {}
    top = x.get("max")
    assert _number(top) and top <= 1.0 + 1e-6, msg(
        f"{what}: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0.",
        f"{what}: 학습 이미지의 값이 {top}까지 갑니다. x_train / 255.0으로 [0, 1] 범위로 스케일링하세요.",
    )


def test_models_and_histories_keyed_by_rate(nb):
    _rate_dict(nb, "models")
    _rate_dict(nb, "histories")


def test_model_architecture(nb, credit):
    _rate_dict(nb, "models")
    _parts(credit, [(f"models[{r}]", lambda r=r: _check_model(nb, r)) for r in RATES])


def test_compile_settings(nb, credit):
    _rate_dict(nb, "models")
    _parts(credit, [(f"models[{r}] compile", lambda r=r: _check_compile(nb, r)) for r in RATES])


def test_training_setup(nb, credit):
    _rate_dict(nb, "histories")
    _parts(credit, [(f"histories[{r}] fit", lambda r=r: _check_fit(nb, r)) for r in RATES])


def test_overfit_gap(nb, credit):
    _rate_dict(nb, "histories")
    gaps = _rate_dict(nb, "overfit_gap")
    for rate in RATES:
        h = nb.history("histories", rate)
        expected = h["val_loss"][-1] - h["loss"][-1]
        got = gaps[rate]
        if not _number(got):
            kind = type(got).__name__
            credit.check(
                False,
                msg(
                    f"overfit_gap[{rate}] must be a number, got {kind}.",
                    f"overfit_gap[{rate}]은(는) 숫자여야 하는데 {kind}입니다.",
                ),
            )
            continue
        if abs(got - expected) <= 1e-6 * max(1.0, abs(expected)):
            credit.check(True, msg(f"overfit_gap[{rate}] is right", f"overfit_gap[{rate}]: 맞음"))
            continue
        hint, hint_ko = "", ""
        if abs(got + expected) <= 1e-6 * max(1.0, abs(expected)):
            hint = " You computed loss - val_loss: the gap is val_loss[-1] - loss[-1] (validation minus training)."
            hint_ko = " loss - val_loss를 계산했습니다: 차이는 val_loss[-1] - loss[-1](검증 빼기 학습)입니다."
        credit.check(
            False,
            msg(
                f"overfit_gap[{rate}] is {got:.6g}, but histories[{rate}] gives val_loss[-1] - loss[-1] = "
                f"{expected:.6g}.{hint}",
                f"overfit_gap[{rate}]이(가) {got:.6g}인데 histories[{rate}]의 val_loss[-1] - loss[-1]은 "
                f"{expected:.6g}입니다.{hint_ko}",
            ),
        )


def test_least_overfit_rate(nb):
    _rate_dict(nb, "histories")
    gaps = {}
    for rate in RATES:
        h = nb.history("histories", rate)
        gaps[rate] = h["val_loss"][-1] - h["loss"][-1]
    best = min(gaps, key=gaps.get)
    got = nb.get("least_overfit_rate")
    assert _number(got) and not isinstance(got, bool), msg(
        f"`least_overfit_rate` must be one of the rates 0.25, 0.5, 0.75 (a float), got {got!r}.",
        f"`least_overfit_rate`는 비율 0.25, 0.5, 0.75 중 하나(실수)여야 하는데 {got!r}입니다.",
    )
    if abs(got - best) < 1e-9:
        return
    shown = ", ".join(f"{r}: {g:.4g}" for r, g in gaps.items())
    hint, hint_ko = "", ""
    if abs(got - max(gaps, key=gaps.get)) < 1e-9:
        hint = " That is the rate with the LARGEST gap; the least overfitting run has the smallest one (use min)."
        hint_ko = " 그것은 차이가 가장 큰 비율입니다. 과대적합이 가장 적은 것은 차이가 가장 작은 것입니다 (min)."
    raise AssertionError(
        msg(
            f"`least_overfit_rate` is {got}, but the gaps val_loss[-1] - loss[-1] of your histories are "
            f"{{{shown}}}, so the smallest is at {best}.{hint}",
            f"`least_overfit_rate`가 {got}인데 학습 기록의 차이 val_loss[-1] - loss[-1]은 "
            f"{{{shown}}}이므로 가장 작은 것은 {best}입니다.{hint_ko}",
        )
    )


def test_answer_dropout_written(nb):
    # Graded by a person (the report shows it with a pending score); this point is for
    # having written something in the marked cell.
    text = nb.answer("dropout")
    assert text is not None, msg(
        "the answer cell marked answer:dropout is missing "
        "(its tag, or the line <!-- answer:dropout --> of the starter); "
        "keep the cell of the starter notebook"
        " (with its marker) and write your answer in it.",
        "answer:dropout 표시가 된 답안 셀이 없습니다 (태그나 시작 노트북의 <!-- answer:dropout --> 줄). "
        "시작 노트북의 셀을 표시와 함께 그대로 두고 그 안에 답을 쓰세요.",
    )
    assert text.strip(), msg(
        "the answer cell (marked answer:dropout) is empty: explain which rate overfits least and why.",
        "답안 셀(answer:dropout 표시)이 비어 있습니다: 어느 비율이 가장 덜 과대적합되는지와 그 이유를 설명하세요.",
    )
