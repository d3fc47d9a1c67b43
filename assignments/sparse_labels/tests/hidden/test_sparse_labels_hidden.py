"""Hidden checks for sparse_labels: no one-hot encoding anywhere, the data set's own
labels, the original model, and where test_accuracy came from.

Students see only the assert messages, never this source.

How test_accuracy is checked. The trusted side cannot run the student's model, but the
trace records every model.evaluate call with the model it was called on (model_uid,
the same id nb.model reports), the shape of its inputs and what it returned. So
test_accuracy must equal the accuracy returned by an evaluate call of `model` on the
whole test set (as many rows as the test set the kernel was given), made after the last
fit of that model. The usual slips get a hint: the loss (evaluate(...)[0]), a
percentage, the notes' 0.9832, a training accuracy, the untrained model.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pytest

from grader import architecture
from grader.trusted import training_data_problem, weights_problem


def _calls_named(source: str, name: str) -> int:
    """Uses of `name` or `<anything>.name` in the notebook's code (calls, references, renaming imports); comments and
    strings do not count. A notebook whose code does not parse as a whole is searched
    block by block (blocks between blank lines), as text where a block does not parse."""
    source = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())

    def count_tree(tree):
        n = 0
        for node in ast.walk(tree):
            # any use counts, not only a call (`f = to_categorical`, `.__wrapped__`), and an import
            # under another name; a plain import left over from the original notebook does not
            if (isinstance(node, ast.Name) and node.id == name) or (
                isinstance(node, ast.Attribute) and node.attr == name
            ) or (isinstance(node, ast.alias) and node.asname and node.name.split(".")[-1] == name):
                n += 1
        return n

    try:
        return count_tree(ast.parse(source))
    except SyntaxError:
        pass
    count = 0
    for chunk in re.split(r"\n\s*\n", source):
        try:
            count += count_tree(ast.parse(chunk))
        except SyntaxError:
            text = "\n".join(line.split("#", 1)[0] for line in chunk.splitlines())
            count += len(re.findall(rf"\b{name}\s*\(", text))
    return count


def _events(nb, kind):
    return [e for e in nb.trace() if isinstance(e, dict) and e.get("event") == kind]


def test_no_one_hot_encoding(nb):
    fits = _events(nb, "fit")
    assert fits, (
        "no model.fit was recorded: the notebook did not train the model, so there is no training without "
        "one-hot labels to grade."
    )
    assert not nb.unread, (
        f"the grader could not read part of the notebook's code to look for to_categorical ({nb.unread[0]}); "
        "keep code cells to a normal size."
    )
    recorded = sum(int(e.get("calls") or 1) for e in _events(nb, "to_categorical"))
    written = _calls_named(nb.code, "to_categorical")
    assert recorded == 0 and written == 0, (
        f"to_categorical is still used ({recorded} call(s) recorded while the notebook ran, {written} in its "
        "code). The exercise trains without one-hot encoding: remove every use of to_categorical, also one "
        "that only prints an example."
    )
    # Training the record does not show (weights that came from elsewhere) cannot be shown
    # to be free of one-hot labels.
    trace = nb.trace()
    for event in fits:
        problem = weights_problem(trace, event)
        assert problem is None, f"`model`: {problem}, so the grader cannot tell which labels trained it."
    # The labels fit received, identified by content: one-hot rows however they were made.
    onehot = [e for e in fits if isinstance(e.get("y_fp"), dict) and e["y_fp"].get("onehot")]
    assert not onehot, (
        "model.fit was given one-hot labels (rows of 0s with one 1): the exercise trains on the integer labels "
        "themselves, Y_train as load_data() returns it, with sparse_categorical_crossentropy."
    )



def test_labels_match_loaded_data(nb, data):
    # What fit trained on, identified by content: the training images, not the test set.
    for event in _events(nb, "fit"):
        problem = training_data_problem(event, data, "mnist")
        assert problem is None, f"`model`: {problem}."
    (_, y_train), (_, y_test) = data.load("mnist")
    for name, ref in (("Y_train", y_train), ("Y_test", y_test)):
        value = np.asarray(nb.get(name))
        assert value.size == ref.size, (
            f"`{name}` holds {value.size} numbers for {ref.size} images: it should be the labels as loaded, "
            "one integer per image" + (" (it looks one-hot encoded)." if value.size == 10 * ref.size else ".")
        )
        flat = value.reshape(-1)
        assert np.array_equal(flat, ref), (
            f"`{name}` is not the label vector of the data set: {int((flat != ref).sum())} of {ref.size} "
            f"labels differ from what mnist.load_data() gave the notebook. Use Y_class_"
            f"{'train' if name == 'Y_train' else 'test'} as loaded (do not shuffle, cut or shift it)."
        )


ORIGINAL = "784 -> Dense(512, relu) -> Dense(10, softmax)"  # seed 003: 407,050 parameters


def test_model_is_the_original(nb):
    # What the network computes, not how it was written: Flatten(input_shape=(28, 28)) -> Dense(512, relu)
    # is the same network as Dense(512, relu, input_dim=784) on reshaped images (grader.architecture).
    desc = nb.model("model")
    got, want = architecture.from_description(desc), architecture.parse(ORIGINAL)
    wrong = architecture.differences(got, want)
    assert not wrong, (
        f"`model` must be the original network, {want.text(params=True)}; yours is {got.text(params=True)}: "
        + "; ".join(wrong)
        + ". Flatten(input_shape=(28, 28)) followed by Dense(512, activation='relu') is accepted as well."
    )
    optimizer = ((desc.get("compile") or {}).get("optimizer") or {}).get("class", "")
    assert str(optimizer).lower() == "adam", (
        f"`model` must be compiled with optimizer='adam' as in the original, got {optimizer or 'none'}."
    )


def _rows(desc):
    """Number of samples of a traced input description, or None."""
    if not isinstance(desc, dict):
        return None
    shape = desc.get("shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int):
        return shape[0]
    return desc.get("len") if isinstance(desc.get("len"), int) else None


def _loss_and_accuracy(result):
    if isinstance(result, dict):
        acc = result.get("accuracy", result.get("acc", result.get("compile_metrics")))
        return result.get("loss"), acc
    if isinstance(result, list) and len(result) >= 2:
        return result[0], result[1]
    if isinstance(result, (int, float)):
        return result, None
    return None, None


def _close(a, b, tol=5e-5):
    return isinstance(b, (int, float)) and not isinstance(b, bool) and abs(a - b) <= tol


def _trusted_test(nb):
    """`model` measured by the grader on its own copy of the MNIST test set (nb.trusted),
    scaled as the model's last fit scaled its inputs; with the fit events of `model`."""
    from grader.evaluator import DataSplit

    uid = nb.model("model").get("uid")
    trace = nb.trace()
    fits = [i for i, e in enumerate(trace) if e["event"] == "fit" and e.get("model_uid") == uid]
    assert fits, "no fit of `model` was recorded, so test_accuracy cannot come from the trained model."
    scale = nb.trusted.run_data(trace[fits[-1]]).scale
    return nb.trusted.model("model", on=DataSplit("mnist", "test", scale=scale)), trace, fits, uid


def test_test_accuracy_from_evaluate(nb, data):
    (_, _), (_, y_test) = data.load("mnist")
    n_test = len(y_test)
    acc = nb.get("test_accuracy")
    assert isinstance(acc, (int, float)) and not isinstance(acc, bool) and math.isfinite(acc), (
        f"`test_accuracy` must be the number model.evaluate(X_test, Y_test)[1], got {acc!r}."
    )
    trusted, trace, fits, uid = _trusted_test(nb)
    assert trusted.accuracy is not None, "`model` does not output one score per class (Dense(10, softmax))."
    # Keras and the grader may round a near-tie differently: two images of slack.
    if _close(acc, trusted.accuracy, 2.0 / n_test + 1e-6):
        return
    evals = [e for e in trace[fits[-1] + 1:] if e["event"] == "evaluate" and e.get("model_uid") == uid]
    results = [_loss_and_accuracy(e.get("result")) for e in evals if _rows(e.get("x")) == n_test]
    if any(_close(acc, loss, 1e-6 * max(1.0, abs(loss))) for loss, _ in results if isinstance(loss, (int, float))):
        raise AssertionError(
            f"`test_accuracy` = {acc:.4f} is the test loss: model.evaluate returns [loss, accuracy], so the "
            "accuracy is model.evaluate(X_test, Y_test)[1]."
        )
    hint = ""
    if 1 < acc <= 100 and _close(acc / 100.0, trusted.accuracy, 2.0 / n_test + 1e-6):
        hint = " Your value is a percentage: keep the fraction evaluate returns."
    elif _close(acc, 0.9832, 1e-9):
        hint = " 0.9832 is the notes' result, not your model's."
    raise AssertionError(
        f"`test_accuracy` = {acc:.4f}, but your trained `model` classifies {trusted.accuracy:.4f} of the "
        f"{n_test} test images correctly (measured by the grader). Store the accuracy model.evaluate(X_test, "
        f"Y_test) returns: test_accuracy = model.evaluate(X_test, Y_test)[1].{hint}"
    )


@pytest.mark.profiles("full")
def test_test_accuracy_full(nb):
    acc = _trusted_test(nb)[0].accuracy
    assert acc is not None and acc >= 0.975, (
        f"your trained `model` classifies {acc:.4f} of the test set correctly (measured by the grader); "
        "the notes' network reaches about 0.98 on the MNIST test set (0.9832). "
        "Check the scaling (/ 255), the loss and that training ran for its epochs."
    )
