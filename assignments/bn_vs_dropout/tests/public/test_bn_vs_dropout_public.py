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
            credit.check(False, str(exc))
        else:
            credit.check(True, f"{what} is right")


# Networks are compared by what they compute (grader.architecture): Flatten(input_shape=(28, 28, 1)) -> Dense(100)
# is Dense(100) on 784 inputs, Dense(100) + Activation('relu') is Dense(100, relu), ReLU() is Activation('relu').
DROPOUT_NET = "784 -> Dense(100, relu) -> Dropout(0.25) -> Dense(10, softmax)"
BN_NET = "784 -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)"
BN_NET_NO_BIAS = BN_NET.replace("Dense(100)", "Dense(100, no bias)")  # BatchNormalization's beta is the bias


def test_dropout_model_architecture(nb):
    got = architecture.from_description(nb.model("model_dropout"))
    want = architecture.parse(DROPOUT_NET)
    wrong = architecture.differences(got, want)
    assert not wrong, (
        f"model_dropout: expected {want.text()} (Flatten(input_shape=(28, 28, 1)) makes the 784 inputs), found "
        f"{got.text()}: " + "; ".join(wrong) + "."
    )


def test_bn_model_architecture(nb):
    got = architecture.from_description(nb.model("model_bn"))
    want = architecture.parse(BN_NET)
    kinds = [s.kind for s in got.steps]
    found = got.text()
    expected = "Flatten -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)"
    assert "Dropout" not in kinds, (
        f"model_bn still has a Dropout layer ({found}): in this model BatchNormalization replaces Dropout, "
        f"so it has no Dropout layer. Expected {expected}."
    )
    assert "BatchNormalization" in kinds, (
        f"model_bn has no BatchNormalization layer ({found}). Expected {expected}."
    )
    wrong = architecture.differences(got, want)
    if not wrong or not architecture.differences(got, architecture.parse(BN_NET_NO_BIAS)):
        return
    hint = ""
    bn = kinds.index("BatchNormalization")
    dense_before = [step for step in got.steps[:bn] if step.kind == "Dense"]
    if not dense_before:
        hint = (" BatchNormalization comes before the hidden Dense layer: it should normalise the outputs"
                " of Dense(100), between the Dense layer and its activation.")
    elif dense_before[-1].activation not in (None, "linear"):
        hint = (" The hidden Dense layer applies its activation before BatchNormalization: use Dense(100)"
                " without activation, then BatchNormalization(), then Activation('relu').")
    raise AssertionError(
        f"model_bn: expected {want.text()} ({expected}), found {found}: " + "; ".join(wrong) + "." + hint
    )


def _check_compile(nb, name):
    comp = nb.compiled(name)  # the settings its training ran with
    assert comp is not None, f"{name} was not compiled; call {name}.compile(...) before fit."
    opt = comp["optimizer"] or {}
    cls = opt.get("class")
    assert cls == "SGD", (
        f"{name} is compiled with the optimizer {cls}; both models use the same optimizer, SGD() "
        "(a comparison of two layers means nothing if the optimizers differ)."
    )
    cfg = opt.get("config", {})
    lr = cfg.get("learning_rate")
    assert _number(lr) and abs(lr - SGD_DEFAULT_LR) <= 1e-4 * SGD_DEFAULT_LR, (
        f"{name}: SGD's learning rate is {lr!r}; the exercise uses SGD() with its default learning rate "
        f"{SGD_DEFAULT_LR}."
    )
    assert not cfg.get("momentum") and not cfg.get("nesterov"), (
        f"{name}: SGD has momentum {cfg.get('momentum')}; SGD() uses none."
    )
    loss = comp["loss_key"] or comp["loss"]
    assert loss == "sparse_categorical_crossentropy", (
        f"{name} is compiled with loss={comp['loss']!r}; the labels are integers 0..9: use "
        "'sparse_categorical_crossentropy'."
    )
    metrics = comp["metrics"] if isinstance(comp["metrics"], list) else [comp["metrics"]]
    assert any(m in ACCURACY_NAMES for m in metrics), (
        f"{name} is compiled with metrics={metrics!r}; use metrics=['accuracy']."
    )


def test_compile_settings(nb, credit):
    _parts(credit, [(f"{model} compile", lambda m=model: _check_compile(nb, m)) for _, model, _ in RUNS])


def _fit(nb, history):
    event = nb.fit_for(history)
    assert event is not None, (
        f"`{history}` is not the History of a fit call in this notebook; store what model.fit(...) returns."
    )
    return event


def _check_fit(nb, history):
    event = _fit(nb, history)
    asked = event.get("epochs_asked")
    assert asked == EPOCHS, (
        f"`{history}` was trained with epochs={asked}; the exercise asks for epochs={EPOCHS} "
        "(the grader may run fewer: that is its choice, not yours)."
    )
    problem = validation_problem(event, VALIDATION_SPLIT)
    assert problem is None, f"`{history}`: {problem}."
    top = (event.get("x") or {}).get("max")
    assert _number(top) and top <= 1.0 + 1e-6, (
        f"`{history}`: the training images go up to {top}; scale them to [0, 1] with x_train / 255.0."
    )


def _check_alike(nb):
    a, b = _fit(nb, "history_dropout"), _fit(nb, "history_bn")
    xa, xb = a.get("x") or {}, b.get("x") or {}
    for key in ("min", "max"):
        va, vb = xa.get(key), xb.get(key)
        assert _number(va) and _number(vb) and abs(va - vb) <= 1e-6 * max(1.0, abs(va)), (
            f"the two runs were trained on differently scaled inputs (values {xa.get('min')}..{xa.get('max')} "
            f"for the dropout model, {xb.get('min')}..{xb.get('max')} for the BN model): both must train on "
            "the same x_train / 255.0."
        )
    assert xa.get("shape") == xb.get("shape"), (
        f"the two runs were trained on different data (shapes {xa.get('shape')} and {xb.get('shape')})."
    )
    assert a.get("batch_size") == b.get("batch_size"), (
        f"the two runs use different batch sizes ({a.get('batch_size')} and {b.get('batch_size')}); "
        "train both alike (the default batch size)."
    )


def _check_data(nb, data, history):
    problem = training_data_problem(_fit(nb, history), data, "mnist")
    assert problem is None, f"`{history}`: {problem}."


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
        assert not missing, (
            f"`{history}` has no {', '.join(missing)}: compile with metrics=['accuracy'] and fit with "
            "validation_split=0.2."
        )


def test_comparison_matches_histories(nb, credit):
    comparison = nb.get("comparison")
    assert isinstance(comparison, dict) and set(comparison) == {"dropout", "bn"}, (
        "`comparison` must be a dict with exactly the keys 'dropout' and 'bn', got "
        + (f"the keys {list(comparison)!r}" if isinstance(comparison, dict) else type(comparison).__name__) + "."
    )
    finals = {}
    for key, _, history in RUNS:
        h = nb.history(history)
        finals[key] = {m: h[m][-1] for m in METRICS if m in h}
    for key, _, history in RUNS:
        entry = comparison[key]
        if not isinstance(entry, dict):
            credit.check(False, f"comparison['{key}'] must be a dict of the final-epoch metrics.")
            continue
        for metric in METRICS:
            got = entry.get(metric)
            want = finals[key].get(metric)
            if want is None:
                credit.check(False, f"`{history}` has no {metric}, so comparison['{key}']['{metric}'] cannot match.")
                continue
            if not _number(got):
                credit.check(False, f"comparison['{key}']['{metric}'] must be a number, got {got!r:.60}.")
                continue
            ok = abs(got - want) <= 1e-6 * max(1.0, abs(want))
            hint = ""
            if not ok:
                other = "bn" if key == "dropout" else "dropout"
                theirs = finals[other].get(metric)
                if theirs is not None and abs(got - theirs) <= 1e-6 * max(1.0, abs(theirs)):
                    hint = f" It is the {other} model's value: the two entries are swapped."
                else:
                    h = nb.history(history)[metric]
                    if any(abs(got - v) <= 1e-6 * max(1.0, abs(v)) for v in h[:-1]):
                        hint = " It is the value of an earlier epoch: use the last epoch's, h[...][-1]."
            credit.check(
                ok,
                f"comparison['{key}']['{metric}'] is {got:.6g}, but the last epoch of `{history}` has "
                f"{metric} = {want:.6g}.{hint}",
            )


def test_answer_bn_vs_dropout_written(nb):
    # Graded by a person (the report shows it with a pending score); this point is for
    # having written something in the marked cell.
    text = nb.answer("bn_vs_dropout")
    assert text is not None, (
        "the answer cell marked answer:bn_vs_dropout is missing "
        "(its tag, or the line <!-- answer:bn_vs_dropout --> of the starter); "
        "keep the cell of the starter notebook"
        " (with its marker) and write your answer in it."
    )
    assert text.strip(), (
        "the answer cell (marked answer:bn_vs_dropout) is empty: compare the two models and explain the difference."
    )
