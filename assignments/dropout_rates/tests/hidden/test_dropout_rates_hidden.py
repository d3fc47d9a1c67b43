"""Hidden checks for dropout_rates: the runs belong together and compare fairly.

They use the grader's trace of the notebook's run (which fit produced which history,
on what inputs), bound to the models: each history's last val_loss must be its model's
loss on the validation data as the grader measures it (nb.trusted), and the accuracy
bar is the grader's own measure of each trained model.
"""

from __future__ import annotations

import pytest

from grader.trusted import training_data_problem

RATES = (0.25, 0.5, 0.75)


def test_histories_from_their_models(nb, credit):
    for rate in RATES:
        what = f"histories[{rate}]"
        try:
            event = nb.fit_for("histories", rate)
            uid = nb.model("models", rate)["uid"]
            h = nb.history("histories", rate)
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        if event is None:
            credit.check(False, f"{what} is not the History of a fit call in this notebook.")
            continue
        if event.get("model_uid") != uid:
            credit.check(
                False,
                f"{what} comes from training another model than models[{rate}]: store each rate's model "
                "and the History of its own fit under the same key.",
            )
            continue
        n = len(h["loss"])
        ran = event.get("epochs_run")
        if n != ran:
            credit.check(
                False, f"{what} has {n} epochs, but its fit ran {ran}: keep the History fit returned, unchanged."
            )
            continue
        try:
            nb.trusted.bind("histories", rate)  # its last val_loss must be its model's, measured by the grader
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        credit.check(True, "")


def test_runs_scaled_alike(nb, data):
    ranges = {}
    for rate in RATES:
        event = nb.fit_for("histories", rate)
        assert event is not None, f"histories[{rate}] is not the History of a fit call in this notebook."
        problem = training_data_problem(event, data, "mnist")
        assert problem is None, f"histories[{rate}]: {problem}."
        x = event.get("x") or {}
        ranges[rate] = (x.get("min"), x.get("max"), tuple(x.get("shape") or ()))
    first = ranges[RATES[0]]
    for rate in RATES[1:]:
        other = ranges[rate]
        same = other[2] == first[2] and all(
            isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-6 * max(1.0, abs(a))
            for a, b in zip(first[:2], other[:2], strict=True)
        )
        if not same:
            shown = ", ".join(f"{r}: values {v[0]:.4g}..{v[1]:.4g}, shape {list(v[2])}" for r, v in ranges.items()
                              if isinstance(v[0], (int, float)) and isinstance(v[1], (int, float)))
            raise AssertionError(
                "the three runs were not trained on the same inputs (" + shown + "): a comparison of "
                "overfitting needs the same data, scaled alike. Scale x_train once (x_train / 255.0) before "
                "the loop, not inside it."
            )


@pytest.mark.profiles("full")
def test_val_accuracy_full(nb, credit):
    # 50 epochs of SGD() on all of MNIST: every rate reaches well over 0.92.
    # Measured by the grader: each rate's trained model on its run's validation data.
    for rate in RATES:
        try:
            acc = nb.trusted.run("histories", rate).accuracy
        except AssertionError as exc:
            credit.check(False, str(exc))
            continue
        credit.check(
            acc is not None and acc >= 0.92,
            f"histories[{rate}]: the trained model classifies {acc:.4f} of its validation data correctly "
            "(measured by the grader), expected at least 0.92 after 50 epochs; check the model, the optimizer and "
            "the scaling of the inputs.",
        )
