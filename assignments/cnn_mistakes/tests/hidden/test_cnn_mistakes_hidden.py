"""Hidden checks for cnn_mistakes: training set-up, and the list of false predictions
verified against the grader's own test labels.

Students see only the assert messages, never this source.

The grader measures `model` itself (nb.trusted: a separate process rebuilds it from
its Keras config and weights, Keras' own classes only, and predicts the grader's copy
of the test set), so `predictions` must be what the model predicts; everything that
follows from them is checked with the grader's own test labels
(`data.load("mnist")`, exactly what the kernel was given):
  - every (index, label, prediction) listed has label == y_test[index] and
    prediction == predictions[index] != label;
  - every index where predictions differs from y_test is listed, once.
Where predictions is a 2-D array of probabilities (a mistake graded by the public
check), its argmax is used here so that the same mistake is not counted twice.
The accuracy bar (full profile) is the trusted test accuracy of `model`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.trusted import training_data_problem, validation_problem


def _labels_of(nb, n):
    value = np.asarray(nb.get("predictions"))
    if value.ndim == 2 and value.shape[1] == 10:
        value = value.argmax(axis=1)
    assert value.ndim == 1 and value.shape[0] == n and value.dtype.kind in "iuf", (
        f"`predictions` must hold one label per test image, shape ({n},); got shape {value.shape}."
    )
    return value.astype(np.int64)


def _entries(nb):
    value = nb.get("index_label_prediction")
    if isinstance(value, np.ndarray):
        value = [tuple(row) for row in value.reshape(-1, 3)] if value.size else []
    assert isinstance(value, (list, tuple)), (
        f"`index_label_prediction` must be a list of (index, label, prediction), got {type(value).__name__}."
    )
    out = []
    for k, entry in enumerate(value):
        try:
            triple = tuple(int(v) for v in entry)
        except (TypeError, ValueError):
            raise AssertionError(
                f"`index_label_prediction[{k}]` = {entry!r} is not a triple of integers (index, label, prediction)."
            ) from None
        assert len(triple) == 3, f"`index_label_prediction[{k}]` = {entry!r} must have 3 parts."
        out.append(triple)
    return out


def test_training_setup(nb, data):
    desc = nb.model("model")
    compiled = nb.compiled("model")  # the settings its training ran with, not a compile after it
    assert compiled, "`model` is not compiled."
    optimizer = compiled.get("optimizer") or {}
    lr = (optimizer.get("config") or {}).get("learning_rate")
    loss = re.sub(r"[^a-z]", "", str(compiled.get("loss_key") or compiled.get("loss")).lower())
    problems = []
    if optimizer.get("class") != "Adam" or not isinstance(lr, (int, float)) or abs(float(lr) - 0.001) > 1e-7:
        shown = f"{lr:.6g}" if isinstance(lr, (int, float)) else lr
        problems.append(
            f"optimizer {optimizer.get('class')}(learning_rate={shown}) instead of Adam(learning_rate=0.001)"
        )
    if "sparsecategoricalcrossentropy" not in loss:
        problems.append(f"loss {compiled.get('loss')!r} instead of 'sparse_categorical_crossentropy'")
    fits = [e for e in nb.trace("fit") if e.get("model_uid") == desc.get("uid")]
    if not fits:
        problems.append("no call of model.fit on `model` was recorded")
    else:
        fit = fits[-1]
        problem = training_data_problem(fit, data, "mnist")
        if problem:
            problems.append(problem)
        if fit.get("batch_size") != 50:
            problems.append(f"batch_size={fit.get('batch_size')} instead of 50")
        if fit.get("epochs_asked") != 50:
            problems.append(f"epochs={fit.get('epochs_asked')} instead of 50")
        problem = validation_problem(fit, 0.2)
        if problem:
            problems.append(problem)
    assert not problems, (
        "train as the notes' CNN does: Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', "
        "batch_size=50, epochs=50, validation_split=0.2. Found: " + "; ".join(problems) + "."
    )


def test_false_predictions_listed(nb, data, credit):
    (_, _), (_, y_test) = data.load("mnist")
    y_test = np.asarray(y_test).astype(np.int64)
    n = len(y_test)
    _labels_of(nb, n)  # `predictions` must be one label per test image
    # The model's false predictions as the grader measures them (nb.trusted), never the
    # notebook's own `predictions`: a list built from other "predictions" is incomplete.
    trusted = _trusted_predictions(nb).predictions
    assert trusted is not None and len(trusted) == n, (
        "`model` does not output one score per class (Dense(10, softmax)), so its predictions cannot be listed."
    )
    predictions = trusted.astype(np.int64)
    entries = _entries(nb)
    wrong = set(np.flatnonzero(predictions != y_test).tolist())
    listed = [e[0] for e in entries]

    # A list that holds none of the model's false predictions earns nothing.
    assert not wrong or wrong & set(listed), (
        f"`index_label_prediction` holds none of the model's {len(wrong)} false predictions (test images where "
        "predictions[i] != t_test[i])"
        + (f"; its {len(entries)} entries are images it predicts correctly, or indexes outside the test set."
           if entries else ", it is empty.")
    )

    outside = [e for e in entries if not 0 <= e[0] < n]
    correct = [e for e in entries if 0 <= e[0] < n and e[0] not in wrong]
    credit.check(
        not outside and not correct,
        (f"{len(correct)} of the {len(entries)} entries are test images the model predicts correctly "
         f"(predictions[i] == t_test[i]), e.g. {correct[:3]}: list only the false predictions. " if correct else "")
        + (f"{len(outside)} entries have an index outside the test set (0..{n - 1}), e.g. {outside[:3]}."
           if outside else ""),
    )
    mislabelled = [e for e in entries if e[0] in wrong and (e[1] != y_test[e[0]] or e[2] != predictions[e[0]])]
    swapped = [e for e in mislabelled if e[1] == predictions[e[0]] and e[2] == y_test[e[0]]]
    credit.check(
        not mislabelled,
        f"{len(mislabelled)} entries do not hold (index, label, prediction) with label = t_test[index] and "
        f"prediction = predictions[index], e.g. {mislabelled[:3]}"
        + (" — the label and the prediction are in the wrong order." if swapped and len(swapped) == len(mislabelled)
           else "."),
    )
    missing = sorted(wrong - set(listed))
    duplicates = len(listed) - len(set(listed))
    credit.check(
        not missing and not duplicates,
        (f"{len(missing)} of the model's {len(wrong)} false predictions are not listed, e.g. indexes "
         f"{missing[:5]}: go through the whole test set. " if missing else "")
        + (f"{duplicates} indexes are listed more than once: list each false prediction once." if duplicates else ""),
    )


def _trusted_predictions(nb):
    """The grader's own predictions of `model` on its copy of the MNIST test set, scaled as
    the model's last fit scaled its inputs (nb.trusted: never computed in the kernel)."""
    from grader.evaluator import DataSplit

    uid = nb.model("model")["uid"]
    fits = [e for e in nb.trace("fit") if e.get("model_uid") == uid]
    scale = nb.trusted.run_data(fits[-1]).scale if fits else 1.0 / 255.0
    return nb.trusted.model("model", on=DataSplit("mnist", "test", scale=scale), predictions=True)


def test_predictions_from_model(nb, data):
    (_, _), (_, y_test) = data.load("mnist")
    predictions = _labels_of(nb, len(y_test))
    trusted = _trusted_predictions(nb)
    assert trusted.predictions is not None, "`model` does not output one score per class (Dense(10, softmax))."
    agree = float((predictions == trusted.predictions).mean())
    assert agree >= 0.995, (
        f"`predictions` agree with what `model` predicts for x_test on only {agree:.1%} of the images: they "
        "must be the trained model's predictions for x_test, in order (model.predict on x_test scaled by "
        "/ 255.0 and reshaped to (-1, 28, 28, 1), then argmax)."
    )


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb, data):
    accuracy = _trusted_predictions(nb).accuracy
    assert accuracy is not None and accuracy >= 0.98, (
        f"the model's test accuracy is {accuracy:.4f}; this CNN trained as in the notes reaches about 0.985-0.99 "
        "on MNIST. Check the architecture, the scaling and the training set-up."
    )
