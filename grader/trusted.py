"""`nb.trusted`: the graded results of training, measured on the trusted side.

A test asks for a number about a trained model (its loss on the data a run validated
on, its test accuracy, its predictions); this module fetches the artefacts from the
kernel (the model's Keras JSON config and weights, or a checkpoint file's bytes), has
the sandboxed evaluator (grader.evaluator) rebuild and measure them on the grader's own
copy of the data, and binds the kernel's testimony to them:

- which data a run trained and validated on is identified by content fingerprints
  (grader.kernel.protocol.fingerprint) of what fit received, compared with the
  fingerprints of the grader's own splits: training on the test set or validating on
  it shows, whatever the shapes;
- a History's last val_loss must be the trusted loss of its model's final weights on
  the run's validation data (the best epoch's when EarlyStopping restored it), when the
  model is still as that fit left it (same weights digest); a mismatch is evidence of
  tampering and flags the submission for review.

Every check that uses it is marked on the report as resting on trusted evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadReply, EvaluationRefused, EvaluatorFailed
from .evaluator import DataSplit, Evaluation, Evaluator, ModelArtefact
from .i18n import join, message_of, msg, pick
from .kernel.protocol import RAW_MAX, fingerprint, weights_digest

if TYPE_CHECKING:
    from .witness import Notebook

LOSS_RTOL = 1e-4  # float32 sums in Keras vs float64 here: agree to ~1e-6 in practice


@dataclass(frozen=True)
class RunData:
    """What one fit call trained and validated on, as the grader identified it."""

    trained_on: str | None  # "mnist train", "fashion_mnist test", or None (not one of the grader's splits)
    validation: DataSplit | None  # the grader's copy of the run's validation data
    validated_on: str  # for messages: "validation_split=0.2", "the mnist test set (validation_data)", ...
    scale: float
    onehot_labels: bool


@dataclass(frozen=True)
class _Fitted:
    """A History's fit as the trusted side sees it: its event, the data it used, and its
    model's artefacts (None for a plain dict) and whether they are as that fit left them."""

    what: str
    event: dict[str, Any]
    data: RunData
    artefact: ModelArtefact | None
    as_fitted: bool


_UNKNOWN_VALIDATION = msg("validation_data the grader does not know", "채점기가 모르는 validation_data")


def _label(name: str, key: Any) -> str:
    return f"`{name}`" if key is None else f"`{name}[{key!r}]`"


def _artefact(exported: dict[str, Any], label: str) -> ModelArtefact:
    return ModelArtefact(config=exported["config"], weights=tuple(exported["weights"]), label=label)


class Trusted:
    """Graded numbers about trained models, never computed in the student's kernel."""

    def __init__(
        self,
        nb: Notebook,
        evaluator: Evaluator | None,
        data: Any,
        datasets: list[str],
        flag: Callable[[str], None],
        mark: Callable[[str], None],
    ) -> None:
        self._nb = nb
        self._evaluator = evaluator
        self._data = data
        self._datasets = list(datasets)
        self._flag = flag
        self._mark = mark
        self._prints: dict[str, dict[str, str]] | None = None

    # ------------------------------------------------------------------ data a run used
    def fingerprints(self) -> dict[str, dict[str, str]]:
        """digest -> {"dataset", "split", "part": "x"|"y"} of every split the grader served."""
        if self._prints is None:
            prints: dict[str, dict[str, str]] = {}
            for name in self._datasets:
                (x_train, y_train), (x_test, y_test) = self._data.load(name)
                for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
                    for part, arr in (("x", x), ("y", y)):
                        fp = fingerprint(arr)
                        if fp is not None:
                            prints.setdefault(fp["digest"], {"dataset": name, "split": split, "part": part})
            self._prints = prints
        return self._prints

    def _identify(self, fp: Any) -> dict[str, str] | None:
        if not isinstance(fp, dict) or not isinstance(fp.get("digest"), str):
            return None
        return self.fingerprints().get(fp["digest"])

    def run_data(self, event: dict[str, Any]) -> RunData:
        """Identify the data of a fit event (from nb.fit_for) with the grader's own splits."""
        x_fp = event.get("x_fp")
        top = x_fp.get("max") if isinstance(x_fp, dict) else (event.get("x") or {}).get("max")
        scale = (float(top) / RAW_MAX) if isinstance(top, (int, float)) and top > 1.0 + 1e-6 else 1.0 / RAW_MAX
        found = self._identify(x_fp)
        trained_on = f"{found['dataset']} {found['split']}" if found and found["part"] == "x" else None
        onehot = bool(isinstance(event.get("y_fp"), dict) and event["y_fp"].get("onehot"))
        vfp = event.get("validation_fp")
        if isinstance(vfp, dict) and vfp.get("x") is not None:
            vx = self._identify(vfp.get("x"))
            if vx is None or vx["part"] != "x":
                return RunData(trained_on, None, _UNKNOWN_VALIDATION, scale, onehot)
            split = DataSplit(vx["dataset"], vx["split"], scale=scale)
            on = join([split.describe(), msg(" (validation_data)", " (validation_data)")], sep="")
            return RunData(trained_on, split, on, scale, onehot)
        if event.get("validation_data"):
            return RunData(trained_on, None, _UNKNOWN_VALIDATION, scale, onehot)
        v = event.get("validation_split")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 < v < 1.0:
            # The tail of what fit received; the grader serves it only when that was its training split.
            held_out = None
            if found is not None and found["split"] == "train":
                held_out = DataSplit(found["dataset"], "validation", float(v), scale)
            return RunData(trained_on, held_out, f"validation_split={v:g}", scale, onehot)
        return RunData(trained_on, None, msg("no validation data", "검증 데이터 없음"), scale, onehot)

    # ------------------------------------------------------------------ measuring
    def _evaluate(self, artefact: ModelArtefact, on: DataSplit, predictions: bool = False) -> Evaluation:
        if self._evaluator is None:
            raise EvaluatorFailed(
                msg("trusted evaluation is not available in this run", "이번 실행에서는 신뢰 평가를 쓸 수 없습니다")
            )
        self._mark("trusted")
        try:
            return self._evaluator.evaluate(artefact, on, predictions=predictions)
        except EvaluationRefused as exc:
            if exc.refused:
                self._flag(
                    join(
                        [
                            message_of(exc),
                            msg(
                                " (the notebook handed over a model with a class that is not Keras' own)",
                                " (노트북이 Keras 자체 클래스가 아닌 클래스의 모델을 넘겼습니다)",
                            ),
                        ],
                        sep="",
                    )
                )
            raise
        except EvaluatorFailed as exc:
            self._flag(
                join(
                    [
                        msg(
                            "the grader's evaluator failed on this notebook's model: ",
                            "채점기의 평가기가 이 노트북의 모델에서 실패했습니다: ",
                        ),
                        message_of(exc),
                    ],
                    sep="",
                )
            )
            raise

    def model(self, name: str, key: Any = None, *, on: DataSplit, predictions: bool = False) -> Evaluation:
        """Measure the Keras model held by global `name` (or `name[key]`; a History stands
        for the model it trained) on the grader's copy of `on`."""
        return self._evaluate(_artefact(self._export(name, key), _label(name, key)), on, predictions)

    def checkpoint(self, path: str, *, on: DataSplit, model: str | None = None) -> Evaluation:
        """Measure the checkpoint file at `path` (in the notebook's folder). A weights-only
        file (`.weights.h5`) is loaded into the architecture of global `model`."""
        blob = self._nb.read_file(path)
        label = msg(f"the checkpoint {path!r}", f"체크포인트 {path!r}")
        if path.endswith(".weights.h5"):
            if model is None:
                raise BadReply(
                    msg(
                        f"{label} holds only weights: the grader needs the model too",
                        f"{label.ko}에는 가중치만 있습니다: 채점기에는 모델도 필요합니다",
                    )
                )
            exported = self._export(model, None)
            return self._evaluate(ModelArtefact(config=exported["config"], file=blob, label=label), on)
        return self._evaluate(ModelArtefact(file=blob, label=label), on)

    def _export(self, name: str, key: Any) -> dict[str, Any]:
        from .witness import NO_KEY

        exported: dict[str, Any] = self._nb.export_model(name, NO_KEY if key is None else key)
        return exported

    # ------------------------------------------------------------------ runs, bound to their models
    def _fitted(self, history: str, key: Any) -> _Fitted | None:
        """The fit that returned `history` and its model's artefacts, or None (no traced fit)."""
        from .witness import NO_KEY

        event = self._nb.fit_for(history, NO_KEY if key is None else key)
        if event is None:
            return None
        what = _label(history, key)
        try:
            exported = self._export(history, key)
        except BadReply:
            return _Fitted(what, event, self.run_data(event), None, False)  # a plain dict: no model
        as_fitted = weights_digest(list(exported["weights"])) == event.get("weights_digest_end")
        return _Fitted(what, event, self.run_data(event), _artefact(exported, what), as_fitted)

    def run(self, history: str, key: Any = None, *, split: str = "validation", predictions: bool = False) -> Evaluation:
        """Measure the model a run trained (the History held by `history`, or
        `history[key]`) on the run's own validation data (`split="validation"`: the
        validation_split tail or the validation_data it was given) or on the test set
        of the data set it trained on (`split="test"`).

        Before that, the History is bound to its model (see `bind`): a mismatch flags the
        submission and fails the check.
        """
        if split not in ("validation", "test"):
            raise ValueError(f"split must be 'validation' or 'test', not {split!r}")
        run = self._fitted(history, key)
        if run is None:
            label = _label(history, key)
            raise BadReply(
                msg(
                    f"{label} is not the History of a fit call in this notebook.",
                    f"{label}은(는) 이 노트북에서 fit 호출이 돌려준 History가 아닙니다.",
                )
            )
        if run.artefact is None:
            raise BadReply(
                msg(
                    f"{run.what} is a plain dict: the grader measures the model a run trained through the History "
                    "fit returned; keep that History (history = model.fit(...)).",
                    f"{run.what}은(는) 평범한 딕셔너리입니다: 채점기는 fit이 돌려준 History를 통해 그 학습의 모델을 "
                    "측정합니다. 그 History를 그대로 두세요 (history = model.fit(...)).",
                )
            )
        checked = self._bound(history, key, run, predictions and split == "validation")
        data = run.data
        if split == "validation":
            if data.validation is None:
                on = data.validated_on
                raise BadReply(
                    msg(
                        f"the grader cannot tell which data {run.what}'s run validated on ({on}): "
                        "validate with validation_split on the training set the data set's load_data() returned",
                        f"채점기가 {run.what}의 학습이 어떤 데이터로 검증했는지 알 수 없습니다 ({pick(on, 'ko')}): "
                        "데이터셋의 load_data()가 돌려준 학습 세트에서 validation_split으로 검증하세요",
                    )
                )
            return checked or self._evaluate(run.artefact, data.validation, predictions)
        dataset = data.trained_on.split()[0] if data.trained_on else (self._datasets[0] if self._datasets else "")
        return self._evaluate(run.artefact, DataSplit(dataset, "test", scale=data.scale), predictions)

    def changed_since_fit(self, history: str, key: Any = None) -> bool:
        """Whether the model a run trained is no longer as that fit left it (trained again,
        weights loaded or set since): then measuring it says nothing about that run."""
        run = self._fitted(history, key)
        return run is not None and run.artefact is not None and not run.as_fitted

    def bind(self, history: str, key: Any = None) -> None:
        """Bind a History to its model where that can be done: when the model is still as
        that fit left it, its trusted loss on the run's validation data must be the
        History's last val_loss (the best one when EarlyStopping restored the best
        weights). Nothing when it is a plain dict or its model changed since; BadReply
        (and a flag) on a mismatch."""
        run = self._fitted(history, key)
        if run is not None:
            self._bound(history, key, run, False)

    def _bound(self, history: str, key: Any, run: _Fitted, predictions: bool) -> Evaluation | None:
        """The model measured on its run's validation data, once bound to its History;
        None when the two cannot be compared."""
        from .witness import NO_KEY

        if run.artefact is None or not run.as_fitted or run.data.validation is None:
            return None
        result = self._evaluate(run.artefact, run.data.validation, predictions)
        self._bind(run.what, self._nb.history(history, NO_KEY if key is None else key), run.event, run.data, result)
        return result

    def _bind(
        self, what: str, hist: dict[str, list[float]], event: dict[str, Any], data: RunData, result: Evaluation
    ) -> None:
        val = hist.get("val_loss")
        if not val or result.loss is None:
            return
        expected = [val[-1]]
        if _restored_best(event):
            expected.append(min(val))
        if any(close(result.loss, v) for v in expected):
            return
        on = data.validated_on
        mismatch = msg(
            f"{what} says the last epoch's val_loss was {val[-1]:.6g}, but its model's loss on the run's "
            f"validation data ({on}) is {result.loss:.6g}: the history does not match the model "
            "it came from",
            f"{what}에는 마지막 에포크의 val_loss가 {val[-1]:.6g}로 기록되어 있지만, 그 모델의 손실은 이 학습의 "
            f"검증 데이터({pick(on, 'ko')})에서 {result.loss:.6g}입니다: 학습 기록이 그것을 만든 모델과 맞지 않습니다",
        )
        self._flag(mismatch)
        raise BadReply(mismatch)


def close(a: float, b: float, rtol: float = LOSS_RTOL) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rtol * max(abs(b), 1e-3) + 1e-6


def _restored_best(event: dict[str, Any]) -> bool:
    for cb in event.get("callbacks") or []:
        if not isinstance(cb, dict) or cb.get("class") != "EarlyStopping":
            continue
        cfg = cb.get("config") or {}
        after = cb.get("after") or {}
        if cfg.get("restore_best_weights") is True and (after.get("stopped_epoch") or 0) > 0:
            return True
    return False


def training_data_problem(event: dict[str, Any], data: Any, dataset: str) -> str | None:
    """What is wrong with the data a fit trained on, or None: identified by content (the
    fit's `x_fp` fingerprint against the `data` fixture's copy of `dataset`), so the test
    set tiled to the training set's shape or reshaped is seen for what it is. None also
    when the fit received no array (a tf.data pipeline): nothing to compare."""
    fp = event.get("x_fp")
    if not isinstance(fp, dict) or not isinstance(fp.get("digest"), str):
        return None
    (x_train, _), (x_test, _) = data.load(dataset)
    test_fp = fingerprint(x_test)
    if test_fp is not None and fp["digest"] == test_fp["digest"]:
        return msg(
            "it was trained on the test set (x_test): train on x_train and keep the test set for the end",
            "테스트 세트(x_test)로 학습했습니다: x_train으로 학습하고 테스트 세트는 마지막까지 남겨 두세요",
        )
    train_fp = fingerprint(x_train)
    if train_fp is not None and fp["digest"] != train_fp["digest"]:
        rows = fp.get("rows")
        return msg(
            f"it was trained on {rows} images that are not the {dataset} training set load_data() returned "
            f"({len(x_train)} images): train on all of x_train",
            f"load_data()가 돌려준 {dataset} 학습 세트({len(x_train)}개)가 아닌 이미지 {rows}개로 학습했습니다: "
            "x_train 전체로 학습하세요",
        )
    return None


def validation_problem(event: dict[str, Any], expected: float = 0.2) -> str | None:
    """What is wrong with how a fit validated, in the student's own terms (never an
    argument they did not write), or None when it used validation_split=`expected`."""
    split = event.get("validation_split")
    if event.get("validation_data"):
        return msg(
            f"it validated on validation_data=(...) where the exercise asks for validation_split={expected:g} "
            "(the last part of the training set, so that the test set stays unseen)",
            f"validation_data=(...)로 검증했는데 이 실습은 validation_split={expected:g}를 씁니다 "
            "(학습 세트의 마지막 부분으로 검증해서 테스트 세트를 보지 않은 채로 둡니다)",
        )
    if isinstance(split, bool) or not isinstance(split, (int, float)) or split <= 0:
        return msg(
            f"it was trained without validation data; use validation_split={expected:g}",
            f"검증 데이터 없이 학습했습니다; validation_split={expected:g}를 쓰세요",
        )
    if abs(float(split) - expected) > 1e-9:
        return msg(
            f"it was trained with validation_split={split:g}; use validation_split={expected:g}",
            f"validation_split={split:g}로 학습했습니다; validation_split={expected:g}를 쓰세요",
        )
    return None


def weights_problem(trace: list[dict[str, Any]], event: dict[str, Any]) -> str | None:
    """Whether the weights a fit started from came from somewhere the trace does not show,
    or None. They must be the weights the model had when it was compiled (a fresh model)
    or when its previous fit ended; otherwise they were loaded from a file, set by hand
    or trained by a fit the grader did not see. Digests are compared, never shapes."""
    start = event.get("weights_digest_start")
    uid = event.get("model_uid")
    if not isinstance(start, str):
        return None  # not built when fit started: Keras built it with fresh weights
    # Before its first traced fit, a model's weights are those of its FIRST compile: a
    # compile again after training outside the trace must not make them look fresh.
    first_compile: str | None = None
    last_fit_end: str | None = None
    for e in trace:
        if e is event or (e.get("event") == "fit" and e.get("t") == event.get("t") and e.get("model_uid") == uid):
            break
        if e.get("model_uid") != uid:
            continue
        if e.get("model") != event.get("model"):
            # another model object that Python gave the same id after the first was freed
            first_compile, last_fit_end = None, None
            continue
        if e.get("event") == "compile" and isinstance(e.get("weights_digest"), str) and first_compile is None:
            first_compile = e["weights_digest"]
        elif e.get("event") == "fit" and isinstance(e.get("weights_digest_end"), str):
            last_fit_end = e["weights_digest_end"]
    expected = last_fit_end if last_fit_end is not None else first_compile
    if expected is None or expected == start:
        return None
    return msg(
        "the model's weights changed between its compile (or its previous fit) and this fit: they were loaded "
        "from a file, set by hand, or trained by a fit the grader did not see; train the model from its fresh "
        "weights with model.fit",
        "컴파일(또는 이전 fit)과 이번 fit 사이에 모델의 가중치가 바뀌었습니다: 파일에서 불러왔거나, 직접 "
        "설정했거나, 채점기가 보지 못한 fit으로 학습한 것입니다. 새 가중치에서 model.fit으로 학습하세요",
    )


def continued_from(trace: list[dict[str, Any]], event: dict[str, Any]) -> dict[str, Any] | None:
    """The earlier fit whose final weights this fit started from (one model trained on in
    a second run, however it was renamed), or None."""
    start = event.get("weights_digest_start")
    if not isinstance(start, str):
        return None
    for e in trace:
        if e is event or (e.get("event") == "fit" and e.get("t") == event.get("t")):
            break
        if e.get("event") == "fit" and e.get("weights_digest_end") == start:
            return e
    return None
