"""Hidden checks for bn_vs_dropout: each history belongs to its model, the BN layer
has the parameters of 100 normalised units, and (in full) both models learn."""

from __future__ import annotations

import pytest

RUNS = (("model_dropout", "history_dropout"), ("model_bn", "history_bn"))


def test_histories_from_their_models(nb, credit):
    uids = {}
    for model, _ in RUNS:
        uids[model] = nb.model(model)["uid"]
    for model, history in RUNS:
        event = nb.fit_for(history)
        if event is None:
            credit.check(False, f"`{history}` is not the History of a fit call in this notebook.")
            continue
        other = next(m for m, _ in RUNS if m != model)
        if event.get("model_uid") == uids[model]:
            try:
                nb.trusted.bind(history)  # its last val_loss must be its model's, measured by the grader
            except AssertionError as exc:
                credit.check(False, str(exc))
                continue
            credit.check(True, f"`{history}` comes from {model}")
        elif event.get("model_uid") == uids[other]:
            credit.check(False, f"`{history}` is the History of {other}'s fit, not {model}'s: the two are swapped.")
        else:
            credit.check(False, f"`{history}` comes from training another model than {model}.")


def test_bn_parameter_counts(nb):
    desc = nb.model("model_bn")
    bn = [layer for layer in desc["layers"] if layer["class"] == "BatchNormalization"]
    assert len(bn) == 1, f"model_bn must have exactly one BatchNormalization layer, found {len(bn)}."
    qualname = bn[0].get("qualname") or ""
    assert qualname.startswith("keras."), (
        f"model_bn's BatchNormalization layer is {qualname}, a class of its own, not Keras' "
        "keras.layers.BatchNormalization."
    )
    assert bn[0]["params"] == 400, (
        f"model_bn's BatchNormalization layer has {bn[0]['params']} parameters; normalising the 100 outputs of "
        "Dense(100) gives 400 (gamma, beta, moving mean and moving variance for each unit)."
    )
    assert desc["non_trainable_params"] == 200, (
        f"model_bn has {desc['non_trainable_params']} non-trainable parameters; BatchNormalization over 100 "
        "units keeps 200 (its moving mean and variance)."
    )
    assert desc["trainable_params"] in (79710, 79610), (
        f"model_bn has {desc['trainable_params']} trainable parameters; Flatten -> Dense(100) -> "
        "BatchNormalization -> Activation('relu') -> Dense(10) has 79,710 (79,610 with Dense(100, use_bias=False))."
    )


@pytest.mark.profiles("full")
def test_val_accuracy_full(nb, credit):
    # 50 epochs of SGD() on all of MNIST: both models pass 0.95.
    # Measured by the grader: each trained model on its run's validation data.
    for _, history in RUNS:
        try:
            acc = nb.trusted.run(history).accuracy
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        credit.check(
            acc is not None and acc >= 0.95,
            f"`{history}`: the trained model classifies {acc:.4f} of its validation data correctly (measured by "
            "the grader), expected at least 0.95 after 50 epochs.",
        )
