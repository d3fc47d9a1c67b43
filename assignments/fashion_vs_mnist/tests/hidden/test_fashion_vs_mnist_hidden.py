"""Hidden checks for fashion_vs_mnist: the comparison is fair and computed right.

Students see only the assert messages, never this source.

Everything about the two runs is taken from the trace, through the histories the
contract names: `nb.fit_for("history_mnist")` is the recorded fit call that returned
that history, with the model it trained (model_uid, layers, parameter count), its
arguments (epochs, batch size, validation split) and its inputs' shape and value
range. From there:
  - architecture: both fits trained one network, compared by what it computes
    (grader.architecture: Flatten(input_shape=(28, 28)) -> Dense(100) is Dense(100) on 784
    inputs); the starter proposes the MNIST example, Flatten -> Dense(100, relu) ->
    Dense(10, softmax) (79,510 parameters);
  - set-up: both fits share one training set-up: epochs asked, validation (split or data),
    batch size, and the optimizer (class and settings) and loss their models were last
    compiled with before the fit. Any shared set-up earns the points (ASSIGNMENTS.md,
    2026-12-01): the starter's SGD(learning_rate=0.1), 50 epochs, validation_split=0.2, and
    the course author's Adam(1e-3), 30 epochs, validation_split=0.3 alike;
  - separate models: the Fashion run did not continue training the MNIST model (same
    model object: same model_uid and same Keras model name);
  - scaling: both runs' training inputs are scaled alike (/ 255.0: in [0, 1]), and each
    model is evaluated on inputs scaled like its training inputs;
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

from grader import architecture
from grader.i18n import msg, pick
from grader.trusted import continued_from, training_data_problem, weights_problem

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
RUNS = ("mnist", "fashion")
DATASET = {"mnist": "mnist", "fashion": "fashion_mnist"}
TITLE = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
OTHER = {"mnist": "fashion", "fashion": "mnist"}


def _history(nb, run):
    name = f"history_{run}"
    hist = nb.history(name)
    missing = [k for k in HISTORY_KEYS if k not in hist]
    assert not missing, msg(
        f"`{name}` has no {', '.join(missing)}; it must be what fit returned "
        "(metrics=['accuracy'], validation_split=0.2).",
        f"`{name}`에 {', '.join(missing)}이(가) 없습니다. fit이 돌려준 값이어야 합니다 "
        "(metrics=['accuracy'], validation_split=0.2).",
    )
    return hist


def _fit(nb, run):
    event = nb.fit_for(f"history_{run}")
    assert event is not None, msg(
        f"`history_{run}` is not what a fit call of this notebook returned (the grader recorded no fit that "
        f"produced it): store the result of model.fit(...) for the {TITLE[run]} run in history_{run}.",
        f"`history_{run}`이(가) 이 노트북의 fit 호출이 돌려준 값이 아닙니다 (채점기가 이를 만든 fit을 기록하지 "
        f"못했습니다): {TITLE[run]} 학습의 model.fit(...) 결과를 history_{run}에 저장하세요.",
    )
    return event


def _number(nb, name):
    value = nb.get(name)
    assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), msg(
        f"`{name}` must be a finite number, got {value!r}.", f"`{name}`은(는) 유한한 숫자여야 하는데 {value!r}입니다."
    )
    return float(value)


def _close(a, b, tol=1e-6):
    return isinstance(b, (int, float)) and not isinstance(b, bool) and abs(a - b) <= tol + tol * abs(b)


def test_overfit_gaps_from_histories(nb, credit, pictures):
    for run in RUNS:
        pictures.curves(f"history_{run}", label=msg(f"{TITLE[run]} run", f"{TITLE[run]} 실행"))
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
        hint, hint_ko = "", ""
        if _close(got, -expected):
            hint = " Your value has the opposite sign: the gap is val_loss - loss (validation minus training)."
            hint_ko = " 부호가 반대입니다: 차이는 val_loss - loss(검증 빼기 학습)입니다."
        elif _close(got, gaps[OTHER[run]]):
            hint = f" Your value is the gap of history_{OTHER[run]}: compute each gap from its own run's history."
            hint_ko = f" history_{OTHER[run]}의 차이입니다: 차이는 각 학습의 기록으로 따로 계산하세요."
        elif any(_close(got, s * (h["val_accuracy"][-1] - h["accuracy"][-1])) for s in (1, -1)):
            hint = " Your value is an accuracy difference: the gap is measured on the losses."
            hint_ko = " 정확도의 차이입니다: 차이는 손실로 잽니다."
        formula = f"{h['val_loss'][-1]:.6g} - {h['loss'][-1]:.6g} = {expected:.6g}"
        credit.check(
            False,
            msg(
                f"`{name}` = {got:.6g}, but history_{run} gives val_loss[-1] - loss[-1] = {formula}.{hint}",
                f"`{name}` = {got:.6g}인데 history_{run}의 val_loss[-1] - loss[-1] = {formula}입니다.{hint_ko}",
            ),
        )


def test_both_data_sets_loaded(nb, data):
    loaded = {e.get("dataset") for e in nb.trace("load_data")}
    missing = [d for d in ("mnist", "fashion_mnist") if d not in loaded]
    assert not missing, msg(
        f"the notebook never loaded {' nor '.join(missing)}: load the data with mnist.load_data() and "
        "fashion_mnist.load_data() (from tensorflow.keras.datasets).",
        f"노트북이 {', '.join(missing)}을(를) 불러오지 않았습니다: mnist.load_data()와 "
        "fashion_mnist.load_data()(tensorflow.keras.datasets)로 데이터를 불러오세요.",
    )
    # Each run trained on its own data set's training set, identified by content.
    for run in RUNS:
        problem = training_data_problem(_fit(nb, run), data, DATASET[run])
        assert problem is None, msg(
            f"the {TITLE[run]} run: {problem}.", f"{TITLE[run]} 학습: {pick(problem or '', 'ko')}."
        )


def test_same_architecture(nb):
    archs = {run: architecture.from_description(_fit(nb, run)) for run in RUNS}
    wrong = architecture.differences(archs["fashion"], archs["mnist"])
    a_m, a_f = archs["mnist"].text(params=True), archs["fashion"].text(params=True)
    assert not wrong, msg(
        "both runs must train one architecture (the MNIST example run unchanged on Fashion-MNIST): the MNIST run "
        f"trained {a_m}, the Fashion-MNIST run {a_f}. "
        "The Fashion-MNIST network differs: " + "; ".join(wrong) + ".",
        "두 학습은 같은 구조를 학습해야 합니다 (MNIST 예제를 그대로 Fashion-MNIST에 실행): MNIST 학습은 "
        f"{a_m}, Fashion-MNIST 학습은 {a_f}입니다. Fashion-MNIST 신경망이 다른 점: "
        + "; ".join(pick(w, "ko") for w in wrong) + ".",
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


OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad", "rho",
                      "weight_decay")


def _same_value(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)), abs(float(b)))
    return a == b


def _setup(trace, fit):
    """One run's training set-up: aspect -> (as shown to the student, value compared)."""
    split, batch = fit.get("validation_split"), fit.get("batch_size")
    out = {
        "epochs": (f"epochs={fit.get('epochs_asked')}", fit.get("epochs_asked")),
        "validation": (
            "validation_data=(...)" if fit.get("validation_data") else f"validation_split={split}",
            ("data", None) if fit.get("validation_data") else ("split", split),
        ),
        "batch size": (f"batch_size={batch or 32}", batch or 32),
    }
    # the compile settings in force when the fit started (compiling again afterwards does not count)
    compiled = fit.get("compile_at_fit") or _compile_before(trace, fit)
    if not isinstance(compiled, dict):
        return out
    optimizer = compiled.get("optimizer") or {}
    config = optimizer.get("config") or {}
    lr = config.get("learning_rate")
    shown_lr = f"{lr:.6g}" if isinstance(lr, (int, float)) and not isinstance(lr, bool) else repr(lr)
    out["optimizer"] = (
        f"{optimizer.get('class')}(learning_rate={shown_lr})",
        (str(optimizer.get("class")).lower(), tuple((k, config.get(k)) for k in OPTIMIZER_SETTINGS)),
    )
    loss = compiled.get("loss_key") or compiled.get("loss")
    out["loss"] = (f"loss={compiled.get('loss')!r}", _loss_text(loss))
    return out


def _setups_differ(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) != len(b) or any(_setups_differ(x, y) for x, y in zip(a, b, strict=True))
    return not _same_value(a, b)


def test_same_training_setup(nb):
    # What is graded is that both runs share one set-up (ASSIGNMENTS.md, revised 2026-12-01), not which one.
    trace = nb.trace()
    for run in RUNS:
        problem = weights_problem(trace, _fit(nb, run))
        assert problem is None, msg(
            f"the {TITLE[run]} run: {problem}.", f"{TITLE[run]} 학습: {pick(problem or '', 'ko')}."
        )
    setups = {run: _setup(trace, _fit(nb, run)) for run in RUNS}
    unknown = [TITLE[run] for run in RUNS if "optimizer" not in setups[run]]
    assert not unknown, msg(
        f"the model of the {' and '.join(unknown)} run was not compiled in this notebook before its fit "
        "(the grader saw no compile call): compile each model in the notebook, then fit it.",
        f"{', '.join(unknown)} 학습의 모델을 fit 전에 이 노트북에서 컴파일하지 않았습니다 (채점기가 compile 호출을 "
        "보지 못했습니다): 노트북에서 모델마다 컴파일한 뒤 학습하세요.",
    )
    m, f = setups["mnist"], setups["fashion"]
    differ = [
        f"{aspect} (MNIST: {m[aspect][0]}, Fashion-MNIST: {f[aspect][0]})"
        for aspect in m
        if _setups_differ(m[aspect][1], f[aspect][1])
    ]
    assert not differ, msg(
        "both runs must share one training set-up, the MNIST example's, run unchanged on Fashion-MNIST; they "
        "differ in " + "; ".join(differ) + ". The starter proposes SGD(learning_rate=0.1), "
        "loss='sparse_categorical_crossentropy', epochs=50 and validation_split=0.2 for both; any set-up both "
        "runs share is accepted.",
        "두 학습은 MNIST 예제의 학습 설정 하나를 그대로 Fashion-MNIST에도 써야 하는데 다음이 다릅니다: "
        + "; ".join(differ) + ". 시작 노트북은 둘 다 SGD(learning_rate=0.1), "
        "loss='sparse_categorical_crossentropy', epochs=50, validation_split=0.2를 제안합니다. 두 학습이 같기만 "
        "하면 어떤 설정이든 인정합니다.",
    )


def test_separate_models(nb):
    fits = {run: _fit(nb, run) for run in RUNS}
    m, f = fits["mnist"], fits["fashion"]
    # The weights tell, whatever the model is called: the Fashion run started from the
    # MNIST run's final weights (a renamed model is still the same model).
    before = continued_from(nb.trace(), f)
    same = (before is not None and before.get("t") == m.get("t") and before.get("model_uid") == m.get("model_uid")) or (
        m.get("model_uid") == f.get("model_uid") and m.get("model") == f.get("model")
    )
    assert not same, msg(
        "the Fashion-MNIST run trained the same model object as the MNIST run, so it started from the weights "
        "MNIST had learned. Build a fresh model for Fashion-MNIST (the same architecture, new weights) before "
        "its fit.",
        "Fashion-MNIST 학습이 MNIST 학습과 같은 모델 객체를 학습해서 MNIST에서 배운 가중치에서 시작했습니다. "
        "fit 전에 Fashion-MNIST용 새 모델(같은 구조, 새 가중치)을 만드세요.",
    )


def _range(desc):
    if not isinstance(desc, dict):
        return None
    lo, hi = desc.get("min"), desc.get("max")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        return float(lo), float(hi)
    return None


def _scale(desc):
    """How inputs were scaled, from their value range: '[0, 1]', the range itself, or None if unknown."""
    r = _range(desc)
    if r is None:
        return None
    if r[0] >= -1e-6 and r[1] <= 1.0 + 1e-6:
        return "[0, 1]"
    return r


def _alike(a, b):
    if a is None or b is None or a == b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return all(abs(x - y) <= 0.05 * max(1.0, abs(x), abs(y)) for x, y in zip(a, b, strict=True))
    return False


def _scale_text(scale):
    return "0 to 1" if scale == "[0, 1]" else f"{scale[0]:g} to {scale[1]:g}"


def test_same_scaling(nb):
    # Scaling is part of the shared set-up: both runs alike (/ 255.0 as in the MNIST example), and each model
    # evaluated on inputs scaled like the ones it was trained on.
    trace = nb.trace()
    fits = {run: _fit(nb, run) for run in RUNS}
    scales = {run: _scale(fits[run].get("x")) for run in RUNS}
    problems = []
    if not _alike(scales["mnist"], scales["fashion"]):
        s_m, s_f = _scale_text(scales["mnist"]), _scale_text(scales["fashion"])
        problems.append(
            msg(
                f"the MNIST training images range from {s_m}, the Fashion-MNIST ones from {s_f}",
                f"MNIST 학습 이미지의 범위는 {s_m}, Fashion-MNIST는 {s_f}",
            )
        )
    for run in RUNS:
        uid = fits[run].get("model_uid")
        for e in trace:
            if e.get("event") != "evaluate" or e.get("model_uid") != uid:
                continue
            if not _alike(_scale(e.get("x")), scales[run]):
                s_t, s_e = _scale_text(scales[run]), _scale_text(_scale(e.get("x")))
                problems.append(
                    msg(
                        f"the {TITLE[run]} model was trained on images ranging from {s_t} but evaluated on images "
                        f"ranging from {s_e}",
                        f"{TITLE[run]} 모델은 범위가 {s_t}인 이미지로 학습했는데 범위가 {s_e}인 이미지로 평가했습니다",
                    )
                )
                break
    assert not problems, msg(
        "both data sets must be scaled alike, by / 255.0 as in the MNIST example, for training and for "
        "evaluation: " + "; ".join(problems) + ".",
        "두 데이터셋은 학습과 평가 모두 MNIST 예제처럼 / 255.0으로 같게 스케일링해야 합니다: "
        + "; ".join(pick(p, "ko") for p in problems) + ".",
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
    or None when the History was kept only as a dict (no model to measure) or its model
    was trained further after that run (its weights are another run's now)."""
    try:
        if nb.trusted.changed_since_fit(f"history_{run}"):
            return None
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
                credit.check(False, msg(
                    f"`{name}` = {got:.4f} is the test accuracy of the {TITLE[OTHER[run]]} model: evaluate each "
                    f"run's own model on its own test images, and store each result under its own name.",
                    f"`{name}` = {got:.4f}는 {TITLE[OTHER[run]]} 모델의 테스트 정확도입니다: 학습마다 그 모델을 "
                    "자기 테스트 이미지로 평가하고 결과를 각자의 이름에 저장하세요.",
                ))
            else:
                credit.check(False, msg(
                    f"`{name}` = {got:.4f}, but the {TITLE[run]} run's model classifies {trusted[run]:.4f} of its "
                    f"{n} test images correctly (measured by the grader): {name} is model.evaluate(x_test, "
                    "t_test)[1] of that run's trained model.",
                    f"`{name}` = {got:.4f}인데 {TITLE[run]} 학습의 모델은 테스트 이미지 {n}개 중 {trusted[run]:.4f}를 "
                    f"맞힙니다 (채점기가 측정): {name}은(는) 그 학습 모델의 model.evaluate(x_test, t_test)[1]입니다.",
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
            message = msg(
                f"`{name}` = {got:.4f} is a test accuracy of the {TITLE[OTHER[run]]} model: evaluate each run's "
                f"own model on its own test images (for {TITLE[run]}: the model trained in history_{run}), and "
                "store each result under its own name.",
                f"`{name}` = {got:.4f}는 {TITLE[OTHER[run]]} 모델의 테스트 정확도입니다: 학습마다 그 모델을 자기 "
                f"테스트 이미지로 평가하고({TITLE[run]}는 history_{run}에서 학습한 모델) 결과를 각자의 이름에 "
                "저장하세요.",
            )
        elif not own:
            message = msg(
                f"no model.evaluate of the {TITLE[run]} model on its {n_test[run]} test images (after its fit) was "
                f"recorded: {name} is model.evaluate(x_test, t_test)[1] of that run's model.",
                f"{TITLE[run]} 모델을 (fit 후에) 테스트 이미지 {n_test[run]}개로 평가한 model.evaluate 기록이 "
                f"없습니다: {name}은(는) 그 학습 모델의 model.evaluate(x_test, t_test)[1]입니다.",
            )
        elif any(_close(got, _loss(e.get("result")), 1e-6) for e in evals[run] if _loss(e.get("result")) is not None):
            message = msg(
                f"`{name}` = {got:.4f} is the test loss: model.evaluate returns [loss, accuracy]; take [1].",
                f"`{name}` = {got:.4f}는 테스트 손실입니다: model.evaluate는 [loss, accuracy]를 돌려주므로 "
                "[1]을 쓰세요.",
            )
        else:
            message = (
                msg(
                    f"`{name}` = {got:.4f}, but model.evaluate of the {TITLE[run]} model on its test images returned "
                    f"the accuracy {own[-1]:.4f}.",
                    f"`{name}` = {got:.4f}인데 {TITLE[run]} 모델을 테스트 이미지로 평가한 model.evaluate는 정확도 "
                    f"{own[-1]:.4f}를 돌려주었습니다.",
                )
                if isinstance(own[-1], (int, float))
                else msg(
                    f"`{name}`: the evaluation of the {TITLE[run]} model returned no accuracy (metrics=['accuracy']).",
                    f"`{name}`: {TITLE[run]} 모델의 평가가 정확도를 돌려주지 않았습니다 (metrics=['accuracy']).",
                )
            )
        credit.check(False, message)


@pytest.mark.profiles("full")
def test_fashion_harder_than_mnist_full(nb):
    # The grader's own measure of each run's model; the student's numbers only where a
    # History was kept as a dict (then test_test_accuracies_from_evaluate rests on the trace).
    measured = {run: _trusted_accuracy(nb, run) for run in RUNS}
    mnist = measured["mnist"] if measured["mnist"] is not None else _number(nb, "test_acc_mnist")
    fashion = measured["fashion"] if measured["fashion"] is not None else _number(nb, "test_acc_fashion")
    assert mnist >= 0.96, msg(
        f"test_acc_mnist = {mnist:.4f}; the MNIST example reaches about 0.98 on the MNIST test set.",
        f"test_acc_mnist = {mnist:.4f}입니다. MNIST 예제는 MNIST 테스트 세트에서 약 0.98에 이릅니다.",
    )
    assert 0.80 <= fashion <= 0.93, msg(
        f"test_acc_fashion = {fashion:.4f}; the MNIST example reaches about 0.88 on the Fashion-MNIST test set.",
        f"test_acc_fashion = {fashion:.4f}입니다. MNIST 예제는 Fashion-MNIST 테스트 세트에서 약 0.88에 이릅니다.",
    )
    assert fashion < mnist, msg(
        f"test_acc_fashion = {fashion:.4f} is not below test_acc_mnist = {mnist:.4f}: Fashion-MNIST is the "
        "harder data set for this network.",
        f"test_acc_fashion = {fashion:.4f}가 test_acc_mnist = {mnist:.4f}보다 낮지 않습니다: 이 신경망에는 "
        "Fashion-MNIST가 더 어려운 데이터셋입니다.",
    )
