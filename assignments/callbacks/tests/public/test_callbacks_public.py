"""Public checks for callbacks (Callback Example [1] and [2]).

Contract (see the notebook):
  history_ckpt, checkpoint_path_1   run [1]: the History its fit returned (or its
                                    .history dict) and the file its ModelCheckpoint saved
  history_es, checkpoint_path_2     run [2]: the same, with EarlyStopping as well
  stopped_epoch                     the number of epochs run [2] trained,
                                    len(history_es.history['loss'])

Both runs: Fashion-MNIST scaled by / 255.0, Flatten -> Dense(100) -> Dense(10, softmax),
SGD(learning_rate=0.1), sparse_categorical_crossentropy, epochs=50,
validation_split=0.2. [1]: ModelCheckpoint(monitor='val_loss', save_best_only=True);
[2]: the same and EarlyStopping(monitor='val_loss', patience=5).

These checks read what the notebook did (its fit and compile calls and their
callbacks) from the grader's trace of the run. The grader also checks, hidden, that
each checkpoint file holds the model with the lowest val_loss of its run. The grader
may run fewer epochs than asked (its profile caps them); what it checks is what your
code asked for.
"""

from __future__ import annotations

import posixpath

from grader import architecture
from grader.i18n import join, message_of, msg, pick
from grader.trusted import training_data_problem, weights_problem

EPOCHS = 50
VALIDATION_SPLIT = 0.2
LEARNING_RATE = 0.1
RUNS = (
    ("[1]", "history_ckpt", "checkpoint_path_1"),
    ("[2]", "history_es", "checkpoint_path_2"),
)


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


def _fit(nb, history, run):
    event = nb.fit_for(history)
    assert event is not None, msg(
        f"`{history}` is not the History of a fit call in this notebook; store what model.fit(...) of "
        f"run {run} returns.",
        f"`{history}`이(가) 이 노트북의 fit 호출이 돌려준 History가 아닙니다. 실행 {run}의 model.fit(...) "
        "반환값을 저장하세요.",
    )
    return event


def _compile_for(nb, event):
    """The last compile of the fitted model before this fit (from the trace)."""
    last = None
    for e in nb.trace():
        if e["event"] == "compile" and e.get("model_uid") == event.get("model_uid"):
            last = e
        if e["event"] == "fit" and e.get("model_uid") == event.get("model_uid") and e.get("t") == event.get("t"):
            break
    return last


def _callbacks(event, cls):
    return [cb for cb in (event.get("callbacks") or []) if isinstance(cb, dict) and cb.get("class") == cls]


def _same_path(a, b):
    return posixpath.normpath(str(a)) == posixpath.normpath(str(b))


def _checkpoint_ok(cb, path_name, path, run):
    cfg = cb.get("config", {})
    assert cfg.get("monitor") == "val_loss", msg(
        f"run {run}: the ModelCheckpoint monitors {cfg.get('monitor')!r}; it must monitor 'val_loss' "
        "(the validation loss), as the exercise says.",
        f"실행 {run}: ModelCheckpoint가 {cfg.get('monitor')!r}을(를) 지켜봅니다. 실습에서 말한 대로 "
        "'val_loss'(검증 손실)를 지켜봐야 합니다.",
    )
    assert cfg.get("save_best_only") is True, msg(
        f"run {run}: the ModelCheckpoint has save_best_only={cfg.get('save_best_only')!r}: without "
        "save_best_only=True it saves the model of every epoch, and the file ends up holding the last epoch's "
        "model, not the best one.",
        f"실행 {run}: ModelCheckpoint의 save_best_only가 {cfg.get('save_best_only')!r}입니다: "
        "save_best_only=True가 없으면 에포크마다 모델을 저장해서 파일에는 가장 좋은 모델이 아니라 마지막 "
        "에포크의 모델이 남습니다.",
    )
    assert cfg.get("mode") in ("auto", "min"), msg(
        f"run {run}: the ModelCheckpoint has mode={cfg.get('mode')!r}; for val_loss lower is better: "
        "mode='auto' or 'min'.",
        f"실행 {run}: ModelCheckpoint의 mode가 {cfg.get('mode')!r}입니다. val_loss는 낮을수록 좋습니다: "
        "mode='auto' 또는 'min'.",
    )
    assert isinstance(path, str), msg(
        f"`{path_name}` must be the checkpoint's file name as a string, e.g. 'checkpoint_1.keras'.",
        f"`{path_name}`은(는) 체크포인트 파일 이름 문자열이어야 합니다 (예: 'checkpoint_1.keras').",
    )
    filepath = cfg.get("filepath")
    assert _same_path(filepath, path) or _same_path(cfg.get("filepath_abs"), path), msg(
        f"run {run}: the ModelCheckpoint saves to {filepath!r}, but `{path_name}` is {path!r}; "
        f"`{path_name}` must name the file the callback saved: ModelCheckpoint({path_name}, ...).",
        f"실행 {run}: ModelCheckpoint는 {filepath!r}에 저장하는데 `{path_name}`은(는) {path!r}입니다. "
        f"`{path_name}`은(는) 콜백이 저장한 파일을 가리켜야 합니다: ModelCheckpoint({path_name}, ...).",
    )


def test_histories_valid(nb):
    for run, history, _ in RUNS:
        h = nb.history(history)
        assert "val_loss" in h, msg(
            f"`{history}` has no val_loss: fit run {run} with validation_split=0.2 (the callbacks watch val_loss).",
            f"`{history}`에 val_loss가 없습니다: 실행 {run}을 validation_split=0.2로 학습하세요 "
            "(콜백이 val_loss를 지켜봅니다).",
        )
        _fit(nb, history, run)


def _check_model(nb, history, run):
    event = _fit(nb, history, run)
    # Compared by what the network computes (grader.architecture): Flatten(input_shape=(28, 28)) -> Dense(100) is
    # Dense(100) on 784 inputs; the hidden layer's activation is the student's choice (the exercise names none).
    arch = architecture.from_description(event)
    steps = arch.steps
    ok = (
        [s.kind for s in steps] == ["Dense", "Dense"]
        and steps[0].units == 100
        and steps[1].units == 10
        and steps[1].activation == "softmax"
        and arch.input_shape in (None, (784,))
    )
    assert ok, msg(
        f"run {run}: expected one hidden layer of 100 nodes, 784 -> Dense(100, relu) -> Dense(10, softmax) "
        f"(Flatten(input_shape=(28, 28)) makes the 784 inputs); found {arch.text(params=True)}.",
        f"실행 {run}: 노드 100개인 은닉층 하나, 784 -> Dense(100, relu) -> Dense(10, softmax)이어야 하는데 "
        f"(Flatten(input_shape=(28, 28))이 입력 784개를 만듭니다) {arch.text(params=True)}입니다.",
    )
    problem = weights_problem(nb.trace(), event)
    assert problem is None, msg(f"run {run}: {problem}.", f"실행 {run}: {pick(problem or '', 'ko')}.")
    comp = _compile_for(nb, event)
    assert comp is not None, msg(
        f"run {run}: the model was not compiled before fit.", f"실행 {run}: fit 전에 모델을 컴파일하지 않았습니다."
    )
    opt = comp.get("optimizer") or {}
    assert opt.get("class") == "SGD", msg(
        f"run {run}: the model is compiled with {opt.get('class')}; the exercise asks for SGD(learning_rate=0.1).",
        f"실행 {run}: 모델이 {opt.get('class')}(으)로 컴파일되었습니다. 이 실습은 SGD(learning_rate=0.1)입니다.",
    )
    lr = (opt.get("config") or {}).get("learning_rate")
    if not (_number(lr) and abs(lr - LEARNING_RATE) <= 1e-4 * LEARNING_RATE):
        default = _number(lr) and abs(lr - 0.01) < 1e-6
        hint = " SGD() without an argument uses 0.01;" if default else ""
        hint_ko = " 인자 없는 SGD()는 0.01을 씁니다." if default else ""
        raise AssertionError(
            msg(
                f"run {run}: SGD's learning rate is {lr:.6g}.{hint} the exercise asks for SGD(learning_rate=0.1).",
                f"실행 {run}: SGD의 학습률이 {lr:.6g}입니다.{hint_ko} 이 실습은 SGD(learning_rate=0.1)입니다.",
            )
            if _number(lr)
            else msg(
                f"run {run}: SGD's learning rate must be a number, found {lr!r:.60}.",
                f"실행 {run}: SGD의 학습률은 숫자여야 하는데 {lr!r:.60}입니다.",
            )
        )
    loss = comp.get("loss_key") or comp.get("loss")
    assert loss == "sparse_categorical_crossentropy", msg(
        f"run {run}: the loss is {comp.get('loss')!r}; the labels are integers: use "
        "'sparse_categorical_crossentropy'.",
        f"실행 {run}: 손실 함수가 {comp.get('loss')!r}입니다. 레이블이 정수이므로 "
        "'sparse_categorical_crossentropy'를 쓰세요.",
    )


def test_model_and_compile(nb, credit):
    _parts(credit, [(f"run {run}", lambda h=history, r=run: _check_model(nb, h, r)) for run, history, _ in RUNS])


def _check_fit(nb, data, history, run):
    event = _fit(nb, history, run)
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, msg(
        f"run {run} was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours).",
        f"실행 {run}이(가) epochs={asked}로 학습되었습니다. 이 실습은 epochs={EPOCHS}입니다 "
        "(채점기는 더 적게 돌릴 수 있지만 그것은 채점기의 선택입니다).",
    )
    split = event.get("validation_split")
    if event.get("validation_data"):
        which = _which_data(data, event)
        raise AssertionError(
            msg(
                f"run {run} validated on validation_data=({which}) where the exercise asks for "
                f"validation_split={VALIDATION_SPLIT} (the last 20 % of the training set, so that the test set "
                "stays unseen); the other checks judge your run on the data it did validate on.",
                f"실행 {run}이(가) validation_data=({pick(which, 'ko')})로 검증했는데 이 실습은 "
                f"validation_split={VALIDATION_SPLIT}(학습 세트의 마지막 20 %, 테스트 세트를 보지 않은 채로 두려고)를 "
                "씁니다. 다른 검사는 실제로 검증에 쓴 데이터로 판단합니다.",
            )
        )
    assert _number(split) and abs(split - VALIDATION_SPLIT) < 1e-9, (
        msg(
            f"run {run} was trained with validation_split={split!r}; use validation_split={VALIDATION_SPLIT}.",
            f"실행 {run}이(가) validation_split={split!r}로 학습되었습니다. "
            f"validation_split={VALIDATION_SPLIT}을 쓰세요.",
        )
        if _number(split) and split > 0 else
        msg(
            f"run {run} was trained without validation data; use validation_split={VALIDATION_SPLIT}.",
            f"실행 {run}이(가) 검증 데이터 없이 학습되었습니다. validation_split={VALIDATION_SPLIT}을 쓰세요.",
        )
    )
    top = (event.get("x") or {}).get("max")
    assert _number(top) and top <= 1.0 + 1e-6, msg(
        f"run {run}: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0.",
        f"실행 {run}: 학습 이미지의 값이 {top}까지 갑니다. x_train / 255.0으로 [0, 1] 범위로 스케일링하세요.",
    )
    problem = training_data_problem(event, data, "fashion_mnist")
    assert problem is None, msg(f"run {run}: {problem}.", f"실행 {run}: {pick(problem or '', 'ko')}.")


def _which_data(data, event):
    """What validation_data held, in the student's terms: the test set, or other data."""
    from grader.kernel.protocol import fingerprint

    given = ((event.get("validation_fp") or {}).get("x") or {}).get("digest")
    (x_train, _), (x_test, _) = data.load("fashion_mnist")
    if given and given == (fingerprint(x_test) or {}).get("digest"):
        return msg("x_test, y_test: the test set", "x_test, y_test: 테스트 세트")
    if given and given == (fingerprint(x_train) or {}).get("digest"):
        return msg("the whole training set", "학습 세트 전체")
    return msg("data of your own", "직접 만든 데이터")


def test_fit_settings(nb, data, credit):
    _parts(
        credit, [(f"run {run}", lambda h=history, r=run: _check_fit(nb, data, h, r)) for run, history, _ in RUNS]
    )


def test_checkpoint_run1_config(nb):
    event = _fit(nb, "history_ckpt", "[1]")
    found = _callbacks(event, "ModelCheckpoint")
    assert len(found) == 1, msg(
        f"run [1] must train with one ModelCheckpoint callback (fit(..., callbacks=[checkpoint])), found {len(found)}.",
        f"실행 [1]은 ModelCheckpoint 콜백 하나로 학습해야 하는데 (fit(..., callbacks=[checkpoint])) "
        f"{len(found)}개입니다.",
    )
    _checkpoint_ok(found[0], "checkpoint_path_1", nb.get("checkpoint_path_1"), "[1]")


def _early_stopping_ok(event):
    found = _callbacks(event, "EarlyStopping")
    assert len(found) == 1, msg(
        f"run [2] must train with an EarlyStopping callback next to the ModelCheckpoint "
        f"(callbacks=[checkpoint, stopping]), found {len(found)}.",
        f"실행 [2]는 ModelCheckpoint와 함께 EarlyStopping 콜백으로 학습해야 하는데 "
        f"(callbacks=[checkpoint, stopping]) {len(found)}개입니다.",
    )
    cfg = found[0].get("config", {})
    assert cfg.get("monitor") == "val_loss", msg(
        f"run [2]: EarlyStopping monitors {cfg.get('monitor')!r}; it must monitor 'val_loss': the training loss "
        "keeps falling while the model overfits, so watching it never stops at the right time.",
        f"실행 [2]: EarlyStopping이 {cfg.get('monitor')!r}을(를) 지켜봅니다. 'val_loss'를 지켜봐야 합니다: "
        "모델이 과대적합되는 동안에도 학습 손실은 계속 줄어서 제때 멈추지 못합니다.",
    )
    assert cfg.get("patience") == 5, msg(
        f"run [2]: EarlyStopping has patience={cfg.get('patience')!r}; use patience=5.",
        f"실행 [2]: EarlyStopping의 patience가 {cfg.get('patience')!r}입니다. patience=5를 쓰세요.",
    )
    assert cfg.get("mode") in ("auto", "min"), msg(
        f"run [2]: EarlyStopping has mode={cfg.get('mode')!r}; for val_loss lower is better: 'auto' or 'min'.",
        f"실행 [2]: EarlyStopping의 mode가 {cfg.get('mode')!r}입니다. val_loss는 낮을수록 좋습니다: 'auto' 또는 'min'.",
    )
    qualname = found[0].get("qualname") or ""
    assert qualname.startswith("keras."), msg(
        f"run [2]: the EarlyStopping callback is {qualname}, a class of its own, not Keras' "
        "keras.callbacks.EarlyStopping.",
        f"실행 [2]: EarlyStopping 콜백이 Keras의 keras.callbacks.EarlyStopping이 아니라 직접 만든 클래스 "
        f"{qualname}입니다.",
    )


def _stops_as_early_stopping_would(nb, event):
    """The run's own val_loss says when EarlyStopping(patience=5) must have stopped it: the
    first epoch after which val_loss had not improved for 5 epochs."""
    val = nb.history("history_es").get("val_loss") or []
    best, wait, stop_at = float("inf"), 0, None
    for epoch, value in enumerate(val):
        if value < best:
            best, wait = value, 0
        else:
            wait += 1
        if wait >= 5 and epoch > 0:
            stop_at = epoch + 1
            break
    assert stop_at is None or len(val) <= stop_at, msg(
        f"run [2] trained {len(val)} epochs, but its val_loss had not improved for 5 epochs after epoch {stop_at}, "
        "where EarlyStopping(monitor='val_loss', patience=5) stops training: the callback did not do its job.",
        f"실행 [2]는 {len(val)} 에포크를 학습했지만 val_loss가 {stop_at}번째 에포크까지 5 에포크 동안 나아지지 "
        "않았으므로 EarlyStopping(monitor='val_loss', patience=5)이 거기서 학습을 멈춰야 합니다: 콜백이 제 역할을 "
        "하지 못했습니다.",
    )


def _checkpoint_2_ok(nb, event):
    found = _callbacks(event, "ModelCheckpoint")
    assert len(found) == 1, msg(
        f"run [2] must train with one ModelCheckpoint callback, found {len(found)}.",
        f"실행 [2]는 ModelCheckpoint 콜백 하나로 학습해야 하는데 {len(found)}개입니다.",
    )
    _checkpoint_ok(found[0], "checkpoint_path_2", nb.get("checkpoint_path_2"), "[2]")


def test_early_stopping_run2_config(nb, credit):
    event = _fit(nb, "history_es", "[2]")
    _parts(credit, [
        ("run [2]'s ModelCheckpoint", lambda: _checkpoint_2_ok(nb, event)),
        ("run [2]'s EarlyStopping", lambda: (_early_stopping_ok(event), _stops_as_early_stopping_would(nb, event))),
    ])


def _int_or_none(value):
    return int(value) if _number(value) and float(value).is_integer() else None


def test_stopped_epoch(nb):
    # ASSIGNMENTS.md (revised 2026-12-01): len(history_es.history['loss']) is the number of epochs run, and so is
    # EarlyStopping.stopped_epoch + 1 whenever EarlyStopping fired. When the grader's profile capped the epochs so
    # that EarlyStopping could not fire, `stopping.stopped_epoch + 1` must not cost the point: it is accepted then
    # (the report says which epochs the profile capped). Keras' raw 0-based index is never the number of epochs.
    value = nb.get("stopped_epoch")
    assert _number(value) and float(value).is_integer(), msg(
        f"`stopped_epoch` must be the number of epochs run [2] trained (an integer), got {value!r:.60}.",
        f"`stopped_epoch`는 실행 [2]가 학습한 에포크 수(정수)여야 하는데 {value!r:.60}입니다.",
    )
    value = int(value)
    ran = len(nb.history("history_es")["loss"])
    if value == ran:
        return
    event = nb.fit_for("history_es") or {}
    es = _callbacks(event, "EarlyStopping")
    keras_index = _int_or_none((es[0].get("after") or {}).get("stopped_epoch")) if es else None
    asked, capped_to = _int_or_none(event.get("epochs_asked")), _int_or_none(event.get("epochs_capped_to"))
    capped = asked is not None and capped_to is not None and capped_to < asked
    could_not_fire = capped and keras_index == 0
    if could_not_fire and value == keras_index + 1:
        return  # EarlyStopping.stopped_epoch + 1: right whenever EarlyStopping fires, and here it could not
    parts = [
        msg(
            f"`stopped_epoch` is {value}, but run [2] trained {ran} epochs (len(history_es.history['loss'])).",
            f"`stopped_epoch`가 {value}인데 실행 [2]는 {ran} 에포크를 학습했습니다 (len(history_es.history['loss'])).",
        )
    ]
    if value == keras_index or value == ran - 1:
        parts.append(
            msg(
                " EarlyStopping.stopped_epoch is Keras' 0-based index of the epoch where training stopped (and 0"
                " when it never stopped), not the number of epochs: stopped_epoch must be"
                " len(history_es.history['loss'])"
                + (", or EarlyStopping.stopped_epoch + 1 when EarlyStopping stopped the run." if es else "."),
                " EarlyStopping.stopped_epoch는 학습이 멈춘 에포크의 0부터 세는 Keras 인덱스(멈추지 않았으면 0)이지"
                " 에포크 수가 아닙니다: stopped_epoch는 len(history_es.history['loss'])"
                + ("이거나, EarlyStopping이 학습을 멈췄다면 EarlyStopping.stopped_epoch + 1이어야 합니다."
                   if es else "여야 합니다."),
            )
        )
    elif keras_index == 0 and value == 1 and not capped:
        parts.append(
            msg(
                " EarlyStopping did not stop this run (it trained every epoch it was given), so"
                " EarlyStopping.stopped_epoch is 0 and stopped_epoch + 1 is 1: len(history_es.history['loss'])"
                " counts the epochs in every case.",
                " EarlyStopping이 이 학습을 멈추지 않았으므로(주어진 에포크를 모두 학습) EarlyStopping.stopped_epoch는"
                " 0이고 stopped_epoch + 1은 1입니다: 에포크 수는 언제나 len(history_es.history['loss'])입니다.",
            )
        )
    if could_not_fire:
        parts.append(
            msg(
                f" (The grader's profile ran {capped_to} of the {asked} epochs asked, too few for EarlyStopping to"
                " stop the run; len(history_es.history['loss']) or EarlyStopping.stopped_epoch + 1 is accepted.)",
                f" (채점기의 프로필이 요청한 {asked} 에포크 중 {capped_to} 에포크만 돌려서 EarlyStopping이 멈출 수"
                " 없었습니다. len(history_es.history['loss'])나 EarlyStopping.stopped_epoch + 1 모두 인정합니다.)",
            )
        )
    raise AssertionError(join(parts, sep=""))
