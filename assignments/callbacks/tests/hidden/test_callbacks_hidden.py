"""Hidden checks for callbacks: each checkpoint file holds its run's best model.

The grader has the kernel load the file named by checkpoint_path_N with
keras.models.load_model and evaluate it on the validation data of that run (the last
validation_split of the training set, scaled as the run's inputs were). The loss must
be the lowest val_loss of the run's history: that is what a ModelCheckpoint on
val_loss with save_best_only=True leaves behind. The comparison is between the file
and the run's own history, so it holds for any number of epochs the profile runs.
"""

from __future__ import annotations

import posixpath

import pytest

RAW_MAX = 255.0  # pixel values as load_data serves them


def _close(a, b):
    return abs(a - b) <= 1e-4 * max(abs(b), 1e-3) + 1e-6


def _evaluate(nb, history, path_name, split):
    path = nb.get(path_name)
    assert isinstance(path, str), f"`{path_name}` must be the checkpoint's file name as a string, got {path!r:.80}."
    event = nb.fit_for(history)
    assert event is not None, f"`{history}` is not the History of a fit call in this notebook."
    top = (event.get("x") or {}).get("max")
    scale = (top / RAW_MAX) if isinstance(top, (int, float)) and top > 0 else 1.0 / RAW_MAX
    split_fraction = event.get("validation_split") or 0.2
    model = history if path.endswith(".weights.h5") else None
    return path, nb.evaluate_checkpoint(path, split, scale=scale, validation_split=split_fraction, model=model)


def _holds_best(nb, run, history, path_name, other_path_name):
    path, result = _evaluate(nb, history, path_name, "validation")
    val = nb.history(history).get("val_loss")
    assert val, f"`{history}` has no val_loss: fit run {run} with validation_split=0.2."
    best = min(range(len(val)), key=val.__getitem__)
    loss = result["loss"]
    if _close(loss, val[best]):
        return
    same_file = ""
    if nb.has(other_path_name):
        other = nb.get(other_path_name)
        if isinstance(other, str) and posixpath.normpath(other) == posixpath.normpath(path):
            same_file = (
                f" `{path_name}` and `{other_path_name}` are the same file, so the other run overwrote this run's"
                " checkpoint: give each run its own file."
            )
    epochs = [i for i, v in enumerate(val) if _close(loss, v)]
    if epochs:
        raise AssertionError(
            f"run {run}: {path!r} holds the model of epoch {epochs[-1] + 1} (val_loss {val[epochs[-1]]:.5g}), not "
            f"the best one, epoch {best + 1} (val_loss {val[best]:.5g}): the ModelCheckpoint must monitor "
            f"'val_loss' with save_best_only=True.{same_file}"
        )
    raise AssertionError(
        f"run {run}: the model in {path!r} has a validation loss of {loss:.5g}, which is no epoch's val_loss of "
        f"`{history}` (the best is {val[best]:.5g}, epoch {best + 1}): the file does not hold this run's best "
        f"model.{same_file or ' Was it written by another run, or is it another file than the one the callback saved?'}"
    )


def test_checkpoint_1_holds_best_model(nb):
    _holds_best(nb, "[1]", "history_ckpt", "checkpoint_path_1", "checkpoint_path_2")


def test_checkpoint_2_holds_best_model(nb):
    _holds_best(nb, "[2]", "history_es", "checkpoint_path_2", "checkpoint_path_1")


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb, credit):
    # One hidden layer of 100 on Fashion-MNIST with SGD(0.1): the best checkpoint of
    # either run classifies well over 84 % of the test set.
    runs = (("[1]", "history_ckpt", "checkpoint_path_1"), ("[2]", "history_es", "checkpoint_path_2"))
    for run, history, path_name in runs:
        try:
            path, result = _evaluate(nb, history, path_name, "test")
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        acc = result["accuracy"]
        credit.check(
            acc is not None and acc >= 0.84,
            f"run {run}: the checkpoint {path!r} classifies {acc} of the test set correctly, expected at least 0.84.",
        )
