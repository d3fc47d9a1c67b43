"""Hidden checks for callbacks: each checkpoint file holds its run's best model.

The grader copies the file named by checkpoint_path_N out of the notebook's folder and
measures it on its own side (nb.trusted: a separate process that rebuilds the model
from the file, Keras' own classes only, and evaluates it on the grader's copy of the
data), on the data that run validated on: the last validation_split of the training
set, or the validation_data it was given (identified by content). The loss must be the
lowest val_loss of the run's history, which is first bound to the run's model: its
last val_loss must be that model's trusted loss. Nothing here is computed in the
student's kernel, so a patched evaluate or load_model changes nothing.
"""

from __future__ import annotations

import posixpath

import pytest

from grader.trusted import close


def _path(nb, path_name):
    path = nb.get(path_name)
    assert isinstance(path, str), f"`{path_name}` must be the checkpoint's file name as a string, got {path!r:.80}."
    return path


def _evaluate(nb, history, path_name, split):
    path = _path(nb, path_name)
    event = nb.fit_for(history)
    assert event is not None, f"`{history}` is not the History of a fit call in this notebook."
    data = nb.trusted.run_data(event)
    if split == "validation":
        assert data.validation is not None, (
            f"the grader cannot tell which data `{history}`'s run validated on ({data.validated_on}), so it cannot "
            "check the checkpoint against it; validate on the data set load_data() returned."
        )
        on = data.validation
    else:
        from grader.evaluator import DataSplit

        dataset = data.trained_on.split()[0] if data.trained_on else "fashion_mnist"
        on = DataSplit(dataset, "test", scale=data.scale)
    model = history if path.endswith(".weights.h5") else None
    return path, nb.trusted.checkpoint(path, on=on, model=model), data


def _holds_best(nb, run, history, path_name, other_path_name):
    path, result, data = _evaluate(nb, history, path_name, "validation")
    val = nb.history(history).get("val_loss")
    assert val, f"`{history}` has no val_loss: fit run {run} with validation_split=0.2."
    nb.trusted.bind(history)  # the history must match its model; a mismatch fails here and is flagged
    best = min(range(len(val)), key=val.__getitem__)
    loss = result.loss
    assert loss is not None, f"run {run}: the model in {path!r} does not output class probabilities."
    if close(loss, val[best]):
        return
    same_file = ""
    if nb.has(other_path_name):
        other = nb.get(other_path_name)
        if isinstance(other, str) and posixpath.normpath(other) == posixpath.normpath(path):
            same_file = (
                f" `{path_name}` and `{other_path_name}` are the same file, so the other run overwrote this run's"
                " checkpoint: give each run its own file."
            )
    epochs = [i for i, v in enumerate(val) if close(loss, v)]
    if epochs:
        raise AssertionError(
            f"run {run}: {path!r} holds the model of epoch {epochs[-1] + 1} (val_loss {val[epochs[-1]]:.5g}), not "
            f"the best one, epoch {best + 1} (val_loss {val[best]:.5g}): the ModelCheckpoint must monitor "
            f"'val_loss' with save_best_only=True.{same_file}"
        )
    raise AssertionError(
        f"run {run}: the model in {path!r} has a loss of {loss:.5g} on the data this run validated on "
        f"({data.validated_on}), which is no epoch's val_loss of `{history}` (the best is {val[best]:.5g}, epoch "
        f"{best + 1}): the file does not hold this run's best model."
        + (same_file or " Was it written by another run, or is it another file than the one the callback saved?")
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
            path, result, _ = _evaluate(nb, history, path_name, "test")
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        acc = result.accuracy
        credit.check(
            acc is not None and acc >= 0.84,
            f"run {run}: the checkpoint {path!r} classifies {acc} of the test set correctly, expected at least 0.84.",
        )
