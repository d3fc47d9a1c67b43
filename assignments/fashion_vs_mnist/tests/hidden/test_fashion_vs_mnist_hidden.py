"""Hidden checks for fashion_vs_mnist: the comparison is fair and computed right.

Students see only the assert messages, never this source.

Everything about the two runs is taken from the trace, through the histories the
contract names: `nb.fit_for("history_mnist")` is the recorded fit call that returned
that history, with the model it trained (model_uid, layers, parameter count), its
arguments (epochs, batch size, validation split) and its inputs' shape and value
range. From there:
  - architecture: both fits trained the MNIST example, Flatten -> Dense(100, relu) ->
    Dense(10, softmax) (79,510 parameters);
  - set-up: both fits used epochs=50, validation_split=0.2, the default batch size, and
    their models were last compiled (before the fit) with SGD(learning_rate=0.1) and
    sparse cross-entropy;
  - separate models: the Fashion run did not continue training the MNIST model (same
    model object: same model_uid and same Keras model name);
  - scaling: the training and evaluation inputs of both runs lie in [0, 1] (/ 255.0);
  - test accuracies: test_acc_X is the accuracy returned by an evaluate call of run X's
    model, after its fit, on a whole test set; the evaluate of the other run's model
    (accuracies swapped, or the wrong model evaluated) is named in the message.
The gaps are recomputed here from the histories; the usual slips (train minus
validation, the accuracy gap, both from one history) get a hint. With real data (full
profile) MNIST reaches about 0.98 and Fashion-MNIST about 0.88.
"""

from __future__ import annotations

import math
import re

import pytest

from grader.trusted import training_data_problem

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
RUNS = ("mnist", "fashion")
DATASET = {"mnist": "mnist", "fashion": "fashion_mnist"}
TITLE = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
OTHER = {"mnist": "fashion", "fashion": "mnist"}
EXAMPLE = "Flatten(input_shape=(28, 28)) -> Dense(100, relu) -> Dense(10, softmax)"
EXAMPLE_PARAMS = 784 * 100 + 100 + 100 * 10 + 10


def _history(nb, run):
    name = f"history_{run}"
    hist = nb.history(name)
    missing = [k for k in HISTORY_KEYS if k not in hist]
    assert not missing, (
        f"`{name}` has no {', '.join(missing)}; it must be what fit returned "
        "(metrics=['accuracy'], validation_split=0.2)."
    )
    return hist


def _fit(nb, run):
    event = nb.fit_for(f"history_{run}")
    assert event is not None, (
        f"`history_{run}` is not what a fit call of this notebook returned (the grader recorded no fit that "
        f"produced it): store the result of model.fit(...) for the {TITLE[run]} run in history_{run}."
    )
    return event


def _number(nb, name):
    value = nb.get(name)
    assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), (
        f"`{name}` must be a finite number, got {value!r}."
    )
    return float(value)


def _close(a, b, tol=1e-6):
    return isinstance(b, (int, float)) and not isinstance(b, bool) and abs(a - b) <= tol + tol * abs(b)


def test_overfit_gaps_from_histories(nb, credit):
    for run in RUNS:
        nb.trusted.bind(f"history_{run}")  # a history that does not match its model fails here (and is flagged)
    hists = {run: _history(nb, run) for run in RUNS}
    gaps = {run: h["val_loss"][-1] - h["loss"][-1] for run, h in hists.items()}
    for run in RUNS:
        name = f"overfit_gap_{run}"
        got = _number(nb, name)
        h, expected = hists[run], gaps[run]
        if _close(got, expected):
            credit.check(True, "")
            continue
        hint = ""
        if _close(got, -expected):
            hint = " Your value has the opposite sign: the gap is val_loss - loss (validation minus training)."
        elif _close(got, gaps[OTHER[run]]):
            hint = f" Your value is the gap of history_{OTHER[run]}: compute each gap from its own run's history."
        elif any(_close(got, s * (h["val_accuracy"][-1] - h["accuracy"][-1])) for s in (1, -1)):
            hint = " Your value is an accuracy difference: the gap is measured on the losses."
        credit.check(
            False,
            f"`{name}` = {got:.6g}, but history_{run} gives val_loss[-1] - loss[-1] = "
            f"{h['val_loss'][-1]:.6g} - {h['loss'][-1]:.6g} = {expected:.6g}.{hint}",
        )


def test_both_data_sets_loaded(nb, data):
    loaded = {e.get("dataset") for e in nb.trace("load_data")}
    missing = [d for d in ("mnist", "fashion_mnist") if d not in loaded]
    assert not missing, (
        f"the notebook never loaded {' nor '.join(missing)}: load the data with mnist.load_data() and "
        "fashion_mnist.load_data() (from tensorflow.keras.datasets)."
    )
    # Each run trained on its own data set's training set, identified by content.
    for run in RUNS:
        problem = training_data_problem(_fit(nb, run), data, DATASET[run])
        assert problem is None, f"the {TITLE[run]} run: {problem}."


def _layer_text(layer):
    config = layer.get("config") or {}
    if layer.get("class") == "Dense":
        return f"Dense({config.get('units')}, {config.get('activation')})"
    return str(layer.get("class"))


def test_same_architecture(nb, credit):
    for run in RUNS:
        fit = _fit(nb, run)
        layers = [ly for ly in fit.get("layers") or [] if ly.get("class") != "InputLayer"]
        shape = [(ly.get("class"), (ly.get("config") or {}).get("units"), (ly.get("config") or {}).get("activation"))
                 for ly in layers]
        ok = (
            len(shape) == 3
            and shape[0][0] == "Flatten"
            and shape[1] == ("Dense", 100, "relu")
            and shape[2] == ("Dense", 10, "softmax")
            and fit.get("params") == EXAMPLE_PARAMS
        )
        credit.check(
            ok,
            f"the {TITLE[run]} run trained {' -> '.join(_layer_text(ly) for ly in layers) or 'an empty model'} "
            f"({fit.get('params')} parameters); the comparison runs the MNIST example unchanged on both data "
            f"sets: {EXAMPLE} ({EXAMPLE_PARAMS} parameters).",
        )


def _loss_text(loss):
    if isinstance(loss, dict):
        loss = loss.get("class") or loss.get("name") or ""
    return re.sub(r"[^a-z]", "", str(loss).lower())


def _position(trace, fit):
    """Index in `trace` of the fit event `fit` (a copy of it, from nb.fit_for)."""
    for i, e in enumerate(trace):
        if e.get("event") == "fit" and e.get("t") == fit.get("t") and e.get("model_uid") == fit.get("model_uid"):
            return i
    return None


def _compile_before(trace, fit):
    """The last compile event of the fit's model recorded before the fit."""
    end = _position(trace, fit)
    found = None
    for e in trace[: end if end is not None else len(trace)]:
        if e.get("event") == "compile" and e.get("model_uid") == fit.get("model_uid"):
            found = e
    return found


def test_same_training_setup(nb):
    trace = nb.trace()
    problems = []
    for run in RUNS:
        fit = _fit(nb, run)
        wrong = []
        if fit.get("epochs_asked") != 50:
            wrong.append(f"epochs={fit.get('epochs_asked')}")
        split = fit.get("validation_split")
        if not isinstance(split, (int, float)) or isinstance(split, bool) or abs(float(split) - 0.2) > 1e-9:
            wrong.append(f"validation_split={split}")
        if fit.get("validation_data"):
            wrong.append("validation_data=...")
        if fit.get("batch_size") not in (None, 32):
            wrong.append(f"batch_size={fit.get('batch_size')}")
        compiled = _compile_before(trace, fit)
        if compiled is None:
            wrong.append("a model compiled before this notebook's trace began")
        else:
            optimizer = compiled.get("optimizer") or {}
            lr = (optimizer.get("config") or {}).get("learning_rate")
            if optimizer.get("class") != "SGD" or not isinstance(lr, (int, float)) or abs(float(lr) - 0.1) > 1e-6:
                shown = f"{lr:.6g}" if isinstance(lr, (int, float)) else lr
                wrong.append(f"optimizer {optimizer.get('class')}(learning_rate={shown})")
            loss = compiled.get("loss_key") or compiled.get("loss")
            if "sparsecategoricalcrossentropy" not in _loss_text(loss):
                wrong.append(f"loss {compiled.get('loss')!r}")
        if wrong:
            problems.append(f"the {TITLE[run]} run used {', '.join(wrong)}")
    assert not problems, (
        "both runs must use the MNIST example's set-up: SGD(learning_rate=0.1), "
        "loss='sparse_categorical_crossentropy', epochs=50, validation_split=0.2, the default batch size. "
        "Found: " + "; ".join(problems) + "."
    )


def test_separate_models(nb):
    fits = {run: _fit(nb, run) for run in RUNS}
    m, f = fits["mnist"], fits["fashion"]
    same = m.get("model_uid") == f.get("model_uid") and m.get("model") == f.get("model")
    assert not same, (
        "the Fashion-MNIST run trained the same model object as the MNIST run, so it started from the weights "
        "MNIST had learned. Build a fresh model for Fashion-MNIST (the same architecture, new weights) before "
        "its fit."
    )


def _range(desc):
    if not isinstance(desc, dict):
        return None
    lo, hi = desc.get("min"), desc.get("max")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        return float(lo), float(hi)
    return None


def _scaled(desc):
    r = _range(desc)
    return r is None or (r[0] >= -1e-6 and r[1] <= 1.0 + 1e-6)


def test_same_scaling(nb):
    trace = nb.trace()
    problems = []
    for run in RUNS:
        fit = _fit(nb, run)
        r = _range(fit.get("x"))
        if not _scaled(fit.get("x")):
            problems.append(f"the {TITLE[run]} training images range from {r[0]:g} to {r[1]:g}")
        evals = [e for e in trace if e.get("event") == "evaluate" and e.get("model_uid") == fit.get("model_uid")]
        for e in evals:
            if not _scaled(e.get("x")):
                re_ = _range(e.get("x"))
                problems.append(f"the {TITLE[run]} model was evaluated on images ranging from {re_[0]:g} to {re_[1]:g}")
                break
    assert not problems, (
        "both data sets must be scaled alike, by / 255.0 as in the MNIST example, for training and for "
        "evaluation: " + "; ".join(problems) + "."
    )


def _rows(desc):
    if not isinstance(desc, dict):
        return None
    shape = desc.get("shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int):
        return shape[0]
    return desc.get("len") if isinstance(desc.get("len"), int) else None


def _accuracy(result):
    if isinstance(result, dict):
        return result.get("accuracy", result.get("acc"))
    if isinstance(result, list) and len(result) >= 2:
        return result[1]
    return None


def _loss(result):
    if isinstance(result, dict):
        return result.get("loss")
    if isinstance(result, list) and result:
        return result[0]
    return result if isinstance(result, (int, float)) else None


def _trusted_accuracy(nb, run):
    """Run X's model measured by the grader on its own copy of X's test set (nb.trusted),
    or None when the History was kept only as a dict (no model to measure)."""
    try:
        return nb.trusted.run(f"history_{run}", split="test").accuracy
    except AssertionError as exc:
        if "plain dict" in str(exc):
            return None
        raise


def test_test_accuracies_from_evaluate(nb, data, credit):
    trusted = {run: _trusted_accuracy(nb, run) for run in RUNS}
    if all(a is not None for a in trusted.values()):
        for run in RUNS:
            name = f"test_acc_{run}"
            got = _number(nb, name)
            n = len(data.load(DATASET[run])[1][1])
            slack = 2.0 / n + 1e-6  # Keras and the grader may round a near-tie differently
            if _close(got, trusted[run], slack):
                credit.check(True, "")
            elif _close(got, trusted[OTHER[run]], slack):
                credit.check(False, (
                    f"`{name}` = {got:.4f} is the test accuracy of the {TITLE[OTHER[run]]} model: evaluate each "
                    f"run's own model on its own test images, and store each result under its own name."
                ))
            else:
                credit.check(False, (
                    f"`{name}` = {got:.4f}, but the {TITLE[run]} run's model classifies {trusted[run]:.4f} of its "
                    f"{n} test images correctly (measured by the grader): {name} is model.evaluate(x_test, "
                    "t_test)[1] of that run's trained model."
                ))
        return
    _accuracies_from_trace(nb, data, credit)


def _accuracies_from_trace(nb, data, credit):
    """Histories kept as dicts: the accuracies are compared with the evaluate calls the
    trace recorded (testimony: the grader has no model to measure)."""
    trace = nb.trace()
    fits = {run: _fit(nb, run) for run in RUNS}
    n_test = {run: len(data.load(DATASET[run])[1][1]) for run in RUNS}

    def evaluations(run):
        fit = fits[run]
        start = _position(trace, fit)
        start = 0 if start is None else start + 1
        return [e for e in trace[start:] if e.get("event") == "evaluate"
                and e.get("model_uid") == fit.get("model_uid") and _rows(e.get("x")) == n_test[run]]

    evals = {run: evaluations(run) for run in RUNS}
    for run in RUNS:
        name = f"test_acc_{run}"
        got = _number(nb, name)
        own = [_accuracy(e.get("result")) for e in evals[run]]
        if any(_close(got, a, 5e-5) for a in own):
            credit.check(True, "")
            continue
        other_uid = fits[OTHER[run]].get("model_uid")
        other = [_accuracy(e.get("result")) for e in trace if e.get("event") == "evaluate"
                 and e.get("model_uid") == other_uid]
        if any(_close(got, a, 5e-5) for a in other):
            message = (
                f"`{name}` = {got:.4f} is a test accuracy of the {TITLE[OTHER[run]]} model: evaluate each run's "
                f"own model on its own test images (for {TITLE[run]}: the model trained in history_{run}), and "
                "store each result under its own name."
            )
        elif not own:
            message = (
                f"no model.evaluate of the {TITLE[run]} model on its {n_test[run]} test images (after its fit) was "
                f"recorded: {name} is model.evaluate(x_test, t_test)[1] of that run's model."
            )
        elif any(_close(got, _loss(e.get("result")), 1e-6) for e in evals[run] if _loss(e.get("result")) is not None):
            message = f"`{name}` = {got:.4f} is the test loss: model.evaluate returns [loss, accuracy]; take [1]."
        else:
            message = (
                f"`{name}` = {got:.4f}, but model.evaluate of the {TITLE[run]} model on its test images returned "
                f"the accuracy {own[-1]:.4f}." if isinstance(own[-1], (int, float)) else
                f"`{name}`: the evaluation of the {TITLE[run]} model returned no accuracy (metrics=['accuracy'])."
            )
        credit.check(False, message)


@pytest.mark.profiles("full")
def test_fashion_harder_than_mnist_full(nb):
    mnist = _number(nb, "test_acc_mnist")
    fashion = _number(nb, "test_acc_fashion")
    assert mnist >= 0.96, (
        f"test_acc_mnist = {mnist:.4f}; the MNIST example reaches about 0.98 on the MNIST test set."
    )
    assert 0.80 <= fashion <= 0.93, (
        f"test_acc_fashion = {fashion:.4f}; the MNIST example reaches about 0.88 on the Fashion-MNIST test set."
    )
    assert fashion < mnist, (
        f"test_acc_fashion = {fashion:.4f} is not below test_acc_mnist = {mnist:.4f}: Fashion-MNIST is the "
        "harder data set for this network."
    )
