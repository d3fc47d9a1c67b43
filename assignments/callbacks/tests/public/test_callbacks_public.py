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
            credit.check(False, str(exc))
        else:
            credit.check(True, f"{what} is right")


def _fit(nb, history, run):
    event = nb.fit_for(history)
    assert event is not None, (
        f"`{history}` is not the History of a fit call in this notebook; store what model.fit(...) of "
        f"run {run} returns."
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
    assert cfg.get("monitor") == "val_loss", (
        f"run {run}: the ModelCheckpoint monitors {cfg.get('monitor')!r}; it must monitor 'val_loss' "
        "(the validation loss), as the exercise says."
    )
    assert cfg.get("save_best_only") is True, (
        f"run {run}: the ModelCheckpoint has save_best_only={cfg.get('save_best_only')!r}: without "
        "save_best_only=True it saves the model of every epoch, and the file ends up holding the last epoch's "
        "model, not the best one."
    )
    assert cfg.get("mode") in ("auto", "min"), (
        f"run {run}: the ModelCheckpoint has mode={cfg.get('mode')!r}; for val_loss lower is better: "
        "mode='auto' or 'min'."
    )
    assert isinstance(path, str), (
        f"`{path_name}` must be the checkpoint's file name as a string, e.g. 'checkpoint_1.keras'."
    )
    filepath = cfg.get("filepath")
    assert _same_path(filepath, path) or _same_path(cfg.get("filepath_abs"), path), (
        f"run {run}: the ModelCheckpoint saves to {filepath!r}, but `{path_name}` is {path!r}; "
        f"`{path_name}` must name the file the callback saved: ModelCheckpoint({path_name}, ...)."
    )


def test_histories_valid(nb):
    for run, history, _ in RUNS:
        h = nb.history(history)
        assert "val_loss" in h, (
            f"`{history}` has no val_loss: fit run {run} with validation_split=0.2 (the callbacks watch val_loss)."
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
    assert ok, (
        f"run {run}: expected one hidden layer of 100 nodes, 784 -> Dense(100, relu) -> Dense(10, softmax) "
        f"(Flatten(input_shape=(28, 28)) makes the 784 inputs); found {arch.text(params=True)}."
    )
    problem = weights_problem(nb.trace(), event)
    assert problem is None, f"run {run}: {problem}."
    comp = _compile_for(nb, event)
    assert comp is not None, f"run {run}: the model was not compiled before fit."
    opt = comp.get("optimizer") or {}
    assert opt.get("class") == "SGD", (
        f"run {run}: the model is compiled with {opt.get('class')}; the exercise asks for SGD(learning_rate=0.1)."
    )
    lr = (opt.get("config") or {}).get("learning_rate")
    if not (_number(lr) and abs(lr - LEARNING_RATE) <= 1e-4 * LEARNING_RATE):
        hint = " SGD() without an argument uses 0.01;" if _number(lr) and abs(lr - 0.01) < 1e-6 else ""
        raise AssertionError(
            f"run {run}: SGD's learning rate is {lr:.6g}.{hint} the exercise asks for SGD(learning_rate=0.1)."
            if _number(lr) else f"run {run}: SGD's learning rate must be a number, found {lr!r:.60}."
        )
    loss = comp.get("loss_key") or comp.get("loss")
    assert loss == "sparse_categorical_crossentropy", (
        f"run {run}: the loss is {comp.get('loss')!r}; the labels are integers: use "
        "'sparse_categorical_crossentropy'."
    )


def test_model_and_compile(nb, credit):
    _parts(credit, [(f"run {run}", lambda h=history, r=run: _check_model(nb, h, r)) for run, history, _ in RUNS])


def _check_fit(nb, data, history, run):
    event = _fit(nb, history, run)
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, (
        f"run {run} was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours)."
    )
    split = event.get("validation_split")
    if event.get("validation_data"):
        raise AssertionError(
            f"run {run} validated on validation_data=({_which_data(data, event)}) where the exercise asks for "
            f"validation_split={VALIDATION_SPLIT} (the last 20 % of the training set, so that the test set stays "
            "unseen); the other checks judge your run on the data it did validate on."
        )
    assert _number(split) and abs(split - VALIDATION_SPLIT) < 1e-9, (
        f"run {run} was trained with validation_split={split!r}; use validation_split={VALIDATION_SPLIT}."
        if _number(split) and split > 0 else
        f"run {run} was trained without validation data; use validation_split={VALIDATION_SPLIT}."
    )
    top = (event.get("x") or {}).get("max")
    assert _number(top) and top <= 1.0 + 1e-6, (
        f"run {run}: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0."
    )
    problem = training_data_problem(event, data, "fashion_mnist")
    assert problem is None, f"run {run}: {problem}."


def _which_data(data, event):
    """What validation_data held, in the student's terms: the test set, or other data."""
    from grader.kernel.protocol import fingerprint

    given = ((event.get("validation_fp") or {}).get("x") or {}).get("digest")
    (x_train, _), (x_test, _) = data.load("fashion_mnist")
    if given and given == (fingerprint(x_test) or {}).get("digest"):
        return "x_test, y_test: the test set"
    if given and given == (fingerprint(x_train) or {}).get("digest"):
        return "the whole training set"
    return "data of your own"


def test_fit_settings(nb, data, credit):
    _parts(
        credit, [(f"run {run}", lambda h=history, r=run: _check_fit(nb, data, h, r)) for run, history, _ in RUNS]
    )


def test_checkpoint_run1_config(nb):
    event = _fit(nb, "history_ckpt", "[1]")
    found = _callbacks(event, "ModelCheckpoint")
    assert len(found) == 1, (
        f"run [1] must train with one ModelCheckpoint callback (fit(..., callbacks=[checkpoint])), found {len(found)}."
    )
    _checkpoint_ok(found[0], "checkpoint_path_1", nb.get("checkpoint_path_1"), "[1]")


def _early_stopping_ok(event):
    found = _callbacks(event, "EarlyStopping")
    assert len(found) == 1, (
        f"run [2] must train with an EarlyStopping callback next to the ModelCheckpoint "
        f"(callbacks=[checkpoint, stopping]), found {len(found)}."
    )
    cfg = found[0].get("config", {})
    assert cfg.get("monitor") == "val_loss", (
        f"run [2]: EarlyStopping monitors {cfg.get('monitor')!r}; it must monitor 'val_loss': the training loss "
        "keeps falling while the model overfits, so watching it never stops at the right time."
    )
    assert cfg.get("patience") == 5, f"run [2]: EarlyStopping has patience={cfg.get('patience')!r}; use patience=5."
    assert cfg.get("mode") in ("auto", "min"), (
        f"run [2]: EarlyStopping has mode={cfg.get('mode')!r}; for val_loss lower is better: 'auto' or 'min'."
    )
    qualname = found[0].get("qualname") or ""
    assert qualname.startswith("keras."), (
        f"run [2]: the EarlyStopping callback is {qualname}, a class of its own, not Keras' "
        "keras.callbacks.EarlyStopping."
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
    assert stop_at is None or len(val) <= stop_at, (
        f"run [2] trained {len(val)} epochs, but its val_loss had not improved for 5 epochs after epoch {stop_at}, "
        "where EarlyStopping(monitor='val_loss', patience=5) stops training: the callback did not do its job."
    )


def _checkpoint_2_ok(nb, event):
    found = _callbacks(event, "ModelCheckpoint")
    assert len(found) == 1, f"run [2] must train with one ModelCheckpoint callback, found {len(found)}."
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
    assert _number(value) and float(value).is_integer(), (
        f"`stopped_epoch` must be the number of epochs run [2] trained (an integer), got {value!r:.60}."
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
    message = f"`stopped_epoch` is {value}, but run [2] trained {ran} epochs (len(history_es.history['loss']))."
    if value == keras_index or value == ran - 1:
        message += (
            " EarlyStopping.stopped_epoch is Keras' 0-based index of the epoch where training stopped (and 0"
            " when it never stopped), not the number of epochs: stopped_epoch must be"
            " len(history_es.history['loss'])"
            + (", or EarlyStopping.stopped_epoch + 1 when EarlyStopping stopped the run." if es else ".")
        )
    elif keras_index == 0 and value == 1 and not capped:
        message += (
            " EarlyStopping did not stop this run (it trained every epoch it was given), so"
            " EarlyStopping.stopped_epoch is 0 and stopped_epoch + 1 is 1: len(history_es.history['loss']) counts"
            " the epochs in every case."
        )
    if could_not_fire:
        message += (
            f" (The grader's profile ran {capped_to} of the {asked} epochs asked, too few for EarlyStopping to"
            " stop the run; len(history_es.history['loss']) or EarlyStopping.stopped_epoch + 1 is accepted.)"
        )
    raise AssertionError(message)
