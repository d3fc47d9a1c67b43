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
    assert isinstance(value, dict), (
        f"`{name}` must be a dict keyed by the dropout rates 0.25, 0.5 and 0.75, got {type(value).__name__}."
    )
    keys = list(value)
    if any(isinstance(k, str) for k in keys):
        raise AssertionError(
            f"`{name}` has the keys {keys!r}: use the rates themselves, the floats 0.25, 0.5 and 0.75, "
            f"as keys ({name}[0.25], not {name}['0.25'])."
        )
    missing = [r for r in RATES if r not in value]
    extra = [k for k in keys if k not in RATES]
    assert not missing and not extra, (
        f"`{name}` must have exactly the keys 0.25, 0.5 and 0.75; "
        + (f"missing {missing}" if missing else "")
        + ("; " if missing and extra else "")
        + (f"unexpected {extra!r}" if extra else "")
        + "."
    )
    return value


def _parts(credit, checks):
    """Run each (what, function) as one part of partial credit."""
    for what, fn in checks:
        try:
            fn()
        except AssertionError as exc:
            credit.check(False, str(exc))
        else:
            credit.check(True, f"{what} is right")


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
    hint = ""
    dropout = [s for s in got.steps if s.kind == "Dropout"]
    if rate != RATES[0] and dropout and dropout[0].setting("rate") == RATES[0]:
        hint = " Did you write Dropout(0.25) instead of Dropout(rate) in the model you build for every rate?"
    raise AssertionError(
        f"{what}: expected {want.text()} (Flatten(input_shape=(28, 28, 1)) makes the 784 inputs), found "
        f"{got.text()}: " + "; ".join(wrong) + "." + hint
    )


def _check_compile(nb, rate):
    what = f"models[{rate}]"
    comp = nb.compiled("models", rate)  # the settings its training ran with
    assert comp is not None, f"{what} was not compiled; call model.compile(...) before fit."
    opt = comp["optimizer"] or {}
    cls = opt.get("class")
    assert cls == "SGD", (
        f"{what} is compiled with the optimizer {cls}; the exercise asks for SGD() "
        "(plain stochastic gradient descent): optimizer=SGD()."
    )
    cfg = opt.get("config", {})
    lr = cfg.get("learning_rate")
    assert _number(lr), f"{what}: SGD's learning rate must be a number (SGD() uses 0.01), found {lr!r}."
    assert abs(lr - SGD_DEFAULT_LR) <= 1e-4 * SGD_DEFAULT_LR, (
        f"{what}: SGD's learning rate is {lr:.6g}; the exercise uses SGD() with its default learning rate "
        f"{SGD_DEFAULT_LR}: do not pass learning_rate."
    )
    assert not cfg.get("momentum") and not cfg.get("nesterov"), (
        f"{what}: SGD has momentum {cfg.get('momentum')}; SGD() uses none."
    )
    loss = comp["loss_key"] or comp["loss"]
    assert loss == "sparse_categorical_crossentropy", (
        f"{what} is compiled with loss={comp['loss']!r}; the labels are integers 0..9, so the loss is "
        "'sparse_categorical_crossentropy'."
    )
    metrics = comp["metrics"] if isinstance(comp["metrics"], list) else [comp["metrics"]]
    assert any(m in ACCURACY_NAMES for m in metrics), (
        f"{what} is compiled with metrics={metrics!r}; use metrics=['accuracy'] so that the history has "
        "accuracy and val_accuracy."
    )


def _check_fit(nb, rate):
    what = f"histories[{rate}]"
    event = nb.fit_for("histories", rate)
    assert event is not None, (
        f"{what} is not the History of a fit call in this notebook; store what model.fit(...) returns."
    )
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, (
        f"{what} was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours)."
    )
    problem = validation_problem(event, VALIDATION_SPLIT)
    assert problem is None, f"{what}: {problem}."
    x = event.get("x") or {}
    top = x.get("max")
    assert _number(top) and top <= 1.0 + 1e-6, (
        f"{what}: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0."
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
            credit.check(False, f"overfit_gap[{rate}] must be a number, got {type(got).__name__}.")
            continue
        if abs(got - expected) <= 1e-6 * max(1.0, abs(expected)):
            credit.check(True, f"overfit_gap[{rate}] is right")
            continue
        hint = ""
        if abs(got + expected) <= 1e-6 * max(1.0, abs(expected)):
            hint = " You computed loss - val_loss: the gap is val_loss[-1] - loss[-1] (validation minus training)."
        credit.check(
            False,
            f"overfit_gap[{rate}] is {got:.6g}, but histories[{rate}] gives val_loss[-1] - loss[-1] = "
            f"{expected:.6g}.{hint}",
        )


def test_least_overfit_rate(nb):
    _rate_dict(nb, "histories")
    gaps = {}
    for rate in RATES:
        h = nb.history("histories", rate)
        gaps[rate] = h["val_loss"][-1] - h["loss"][-1]
    best = min(gaps, key=gaps.get)
    got = nb.get("least_overfit_rate")
    assert _number(got) and not isinstance(got, bool), (
        f"`least_overfit_rate` must be one of the rates 0.25, 0.5, 0.75 (a float), got {got!r}."
    )
    if abs(got - best) < 1e-9:
        return
    shown = ", ".join(f"{r}: {g:.4g}" for r, g in gaps.items())
    hint = ""
    if abs(got - max(gaps, key=gaps.get)) < 1e-9:
        hint = " That is the rate with the LARGEST gap; the least overfitting run has the smallest one (use min)."
    raise AssertionError(
        f"`least_overfit_rate` is {got}, but the gaps val_loss[-1] - loss[-1] of your histories are "
        f"{{{shown}}}, so the smallest is at {best}.{hint}"
    )


def test_answer_dropout_written(nb):
    # Graded by a person (the report shows it with a pending score); this point is for
    # having written something in the marked cell.
    text = nb.answer("dropout")
    assert text is not None, (
        "the answer cell marked answer:dropout is missing "
        "(its tag, or the line <!-- answer:dropout --> of the starter); "
        "keep the cell of the starter notebook"
        " (with its marker) and write your answer in it."
    )
    assert text.strip(), "the answer cell (marked answer:dropout) is empty: explain which rate overfits least and why."
