"""The trusted evaluator: rebuilds a student's model from artefacts and measures it.

Runs as its own process (sandboxed like a kernel when the grader sandboxes), started by
grader.evaluator, which copies this file into the process's work folder: the grader
package itself is not in view. It holds no student code: what it reads is data (a Keras
JSON config, weights as `.npy` read with allow_pickle=False, a checkpoint file's
bytes), and it rebuilds only Keras' own classes, in safe mode. Whatever a notebook
patched in its kernel (Model.evaluate, load_model, numpy) does not exist here.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout (the
real stdout; library chatter is sent to stderr). Requests:
  {"id", "op": "evaluate", "model": {"config": FILE | None, "weights": FILE | None,
   "file": FILE | None}, "data": {"dataset", "split": "train"|"test"|"validation",
   "validation_split", "scale"}, "predictions": FILE | None}
  -> {"id", "ok": true, "loss", "accuracy", "samples", "output_shape"}
  -> {"id", "ok": false, "kind": "refused" | "invalid", "message": for the student,
      "message_ko": the same in Korean}
  {"id", "op": "ping"} -> {"id", "ok": true}
Files are names inside the work folder (argv[1]); data sets are <data>/<name>.npz (argv[2]).
"""

from __future__ import annotations

import json
import math
import os
import sys
import zipfile
from typing import Any

WORK = ""
DATA = ""
MAX_CONFIG_CHARS = 4_000_000
MAX_CONFIG_NODES = 200_000


class _Said(Exception):
    """A message for the student in English (the exception's text) and Korean (`ko`);
    this process cannot import grader.i18n, so the reply carries both."""

    def __init__(self, en: str, ko: str | None = None) -> None:
        super().__init__(en)
        self.ko = en if ko is None else ko


class Refused(_Said):
    """The artefact names something this process will not build."""


class Invalid(_Said):
    """The artefact cannot be used (malformed, wrong shapes, missing file)."""


_TOO_LARGE = ("the model's configuration is too large", "모델 설정이 너무 큽니다")


def _file(name: Any) -> str:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise Invalid(f"malformed file name {name!r:.80}", f"잘못된 형식의 파일 이름 {name!r:.80}")
    path = os.path.join(WORK, name)
    if not os.path.isfile(path):
        raise Invalid(f"missing file {name!r:.80}", f"파일 {name!r:.80}이(가) 없습니다")
    return path


# ------------------------------------------------------------------ the class check
def check_config(config: Any) -> None:
    """Refuse any object that is not one of Keras' own classes.

    Keras' safe mode refuses lambdas; this also refuses every class from another module
    (the notebook's own Layer or Model subclasses) before Keras sees the config, and
    says which one.
    """
    nodes = 0
    stack = [config]
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_CONFIG_NODES:
            raise Invalid(*_TOO_LARGE)
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "class_name" in node:
                name = node.get("class_name")
                module = node.get("module")
                registered = node.get("registered_name")
                if not isinstance(name, str):
                    raise Invalid(
                        "malformed class name in the model's configuration",
                        "모델 설정에 잘못된 형식의 클래스 이름이 있습니다",
                    )
                if name == "__lambda__" or name == "Lambda":
                    raise Refused(
                        f"a Lambda layer ({name}): the grader rebuilds only Keras' built-in layers",
                        f"Lambda 층({name}): 채점기는 Keras에 내장된 층만 다시 만듭니다",
                    )
                builtin = module is None or (
                    isinstance(module, str) and (module == "keras" or module.startswith("keras."))
                )
                # Keras' own classes serialise with registered_name None; anything the
                # notebook defined (even under a Keras module name) carries its own name.
                plain_function = name == "function" and registered == "function"
                if not builtin or not (registered is None or plain_function):
                    shown = registered if isinstance(registered, str) else f"{module}.{name}"
                    raise Refused(
                        f"the class {shown} is not one of Keras' own classes; the grader rebuilds models from "
                        "Keras' built-in layers only (no class defined in the notebook)",
                        f"클래스 {shown}은(는) Keras 자체 클래스가 아닙니다. 채점기는 Keras에 내장된 층으로만 모델을 "
                        "다시 만듭니다 (노트북에서 정의한 클래스는 쓸 수 없습니다)",
                    )
            stack.extend(node.values())


# ------------------------------------------------------------------ loading
def _load_json_model(config_text: str) -> Any:
    from keras.src.saving import serialization_lib

    if len(config_text) > MAX_CONFIG_CHARS:
        raise Invalid(*_TOO_LARGE)
    try:
        config = json.loads(config_text)
    except json.JSONDecodeError:
        raise Invalid("the model's configuration is not valid JSON", "모델 설정이 올바른 JSON이 아닙니다") from None
    check_config(config)
    try:
        return serialization_lib.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:
        raise Invalid(
            f"Keras could not rebuild the model from its configuration: {str(exc)[:300]}",
            f"Keras가 설정으로부터 모델을 다시 만들 수 없었습니다: {str(exc)[:300]}",
        ) from None


def _checkpoint_config(path: str) -> None:
    """Read the architecture a checkpoint file holds and check its classes first."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            try:
                info = z.getinfo("config.json")
            except KeyError:
                raise Invalid("the .keras file holds no config.json", ".keras 파일에 config.json이 없습니다") from None
            if info.file_size > MAX_CONFIG_CHARS:
                raise Invalid(*_TOO_LARGE)
            check_config(json.loads(z.read(info)))
        return
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError:
        raise Invalid(
            "the file is neither a .keras archive nor an HDF5 model", "파일이 .keras 아카이브도 HDF5 모델도 아닙니다"
        ) from None
    if raw is None:
        raise Invalid(
            "the HDF5 file holds weights only, no model configuration", "HDF5 파일에 가중치만 있고 모델 설정이 없습니다"
        )
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if len(raw) > MAX_CONFIG_CHARS:
        raise Invalid(*_TOO_LARGE)
    check_config(json.loads(raw))


def load_model(spec: dict[str, Any]) -> Any:
    import keras
    import numpy as np

    config = spec.get("config")
    weights = spec.get("weights")
    file = spec.get("file")
    if config is not None:
        with open(_file(config), encoding="utf-8") as f:
            model = _load_json_model(f.read(MAX_CONFIG_CHARS + 1))
        if file is not None:  # a weights-only checkpoint for this architecture
            path = _file(file)
            named = path + ".weights.h5"  # load_weights goes by the file name's ending
            os.replace(path, named)
            try:
                model.load_weights(named)
            except Exception as exc:
                raise Invalid(
                    f"the weights file does not fit the model: {str(exc)[:300]}",
                    f"가중치 파일이 모델에 맞지 않습니다: {str(exc)[:300]}",
                ) from None
            finally:
                os.replace(named, path)
        elif weights is not None:
            with np.load(_file(weights), allow_pickle=False) as arrays:
                values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
            try:
                model.set_weights(values)
            except Exception as exc:
                raise Invalid(
                    f"the weights do not fit the model: {str(exc)[:300]}",
                    f"가중치가 모델에 맞지 않습니다: {str(exc)[:300]}",
                ) from None
        return model
    if file is None:
        raise Invalid("no model given", "모델이 주어지지 않았습니다")
    path = _file(file)
    _checkpoint_config(path)
    suffix = ".keras" if zipfile.is_zipfile(path) else ".h5"
    named = path + suffix  # load_model goes by the file name's ending
    os.replace(path, named)
    try:
        return keras.models.load_model(named, compile=False, safe_mode=True)
    except Exception as exc:
        raise Invalid(
            f"keras.models.load_model could not load the file: {str(exc)[:300]}",
            f"keras.models.load_model이 파일을 불러올 수 없었습니다: {str(exc)[:300]}",
        ) from None
    finally:
        os.replace(named, path)


# ------------------------------------------------------------------ data and measures
def load_split(spec: dict[str, Any]) -> tuple[Any, Any]:
    import numpy as np

    name = spec.get("dataset")
    if not isinstance(name, str) or not name.isidentifier():
        raise Invalid(f"unknown data set {name!r:.50}", f"알 수 없는 데이터셋 {name!r:.50}")
    path = os.path.join(DATA, name + ".npz")
    if not os.path.isfile(path):
        raise Invalid(f"the data set {name!r} was not provided", f"데이터셋 {name!r}이(가) 제공되지 않았습니다")
    split = spec.get("split")
    with np.load(path, allow_pickle=False) as f:
        if split == "test":
            x, y = f["x_test"], f["y_test"]
        elif split in ("train", "validation"):
            x, y = f["x_train"], f["y_train"]
            if split == "validation":  # what fit(validation_split=v) holds out: the end
                v = float(spec.get("validation_split", 0.2))
                if not 0.0 < v < 1.0:
                    raise Invalid(
                        f"validation_split {v} is not between 0 and 1",
                        f"validation_split {v}이(가) 0과 1 사이가 아닙니다",
                    )
                at = int(math.floor(len(x) * (1.0 - v)))
                x, y = x[at:], y[at:]
        else:
            raise Invalid(f"unknown split {split!r:.30}", f"알 수 없는 분할 {split!r:.30}")
    scale = float(spec.get("scale", 1.0 / 255.0))
    return x.astype("float32") * np.float32(scale), y.astype("int64")


def measure(model: Any, x: Any, y: Any) -> tuple[dict[str, Any], Any]:
    import numpy as np

    try:
        target = tuple(int(d) for d in model.input_shape[1:])
        if int(np.prod(target)) == int(np.prod(x.shape[1:])) and tuple(x.shape[1:]) != target:
            x = x.reshape((-1, *target))
    except (TypeError, ValueError, AttributeError):
        pass
    try:
        probs = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float64)
    except Exception as exc:
        raise Invalid(
            f"the model could not be run on the data: {str(exc)[:300]}",
            f"모델을 데이터에 대해 실행할 수 없었습니다: {str(exc)[:300]}",
        ) from None
    out: dict[str, Any] = {"samples": int(len(y)), "output_shape": list(probs.shape), "loss": None, "accuracy": None}
    labels = None
    if probs.ndim == 2 and probs.shape[1] > 1 and len(probs) == len(y):
        labels = np.argmax(probs, axis=1)
        out["accuracy"] = float(np.mean(labels == y))
        if int(y.max()) < probs.shape[1]:
            out["loss"] = crossentropy(model, x, y, probs)
    return out, labels


def crossentropy(model: Any, x: Any, y: Any, probs: Any) -> float | None:
    """The sparse cross-entropy as Keras computes it for fit's val_loss: through Keras
    itself, which takes a softmax output's logits (no clipping), so that a model trained
    long enough to be very sure, and very wrong, on some images measures the same here."""
    import numpy as np

    try:
        model.compile(loss="sparse_categorical_crossentropy")
        value = float(model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True)["loss"])
    except Exception:
        # Keras would not: its formula on the probabilities (normalise, clip, -log).
        p = np.clip(probs / np.sum(probs, axis=1, keepdims=True), 1e-7, 1.0 - 1e-7)
        value = float(-np.mean(np.log(p[np.arange(len(y)), y])))
    return value if math.isfinite(value) else None


def handle(req: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    if req.get("op") == "ping":
        return {"ok": True}
    if req.get("op") != "evaluate":
        raise Invalid(f"unknown op {req.get('op')!r:.30}", f"알 수 없는 요청 {req.get('op')!r:.30}")
    model = load_model(req.get("model") or {})
    x, y = load_split(req.get("data") or {})
    out, labels = measure(model, x, y)
    want = req.get("predictions")
    if want is not None:
        if not isinstance(want, str) or "/" in want or want.startswith("."):
            raise Invalid("malformed file name", "잘못된 형식의 파일 이름")
        if labels is not None:
            np.save(os.path.join(WORK, want), labels.astype(np.int64), allow_pickle=False)
    out["ok"] = True
    return out


def main() -> int:
    global WORK, DATA
    WORK, DATA = sys.argv[1], sys.argv[2]
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # anything Keras or TensorFlow prints goes to stderr
    replies = os.fdopen(reply_fd, "w", encoding="utf-8", buffering=1)
    import keras  # noqa: F401 - import once, before the first request, so requests are fast

    replies.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        try:
            req = json.loads(line)
            rid = req.get("id")
        except (json.JSONDecodeError, AttributeError):
            continue
        try:
            reply = handle(req)
        except (Refused, Invalid) as exc:
            kind = "refused" if isinstance(exc, Refused) else "invalid"
            reply = {"ok": False, "kind": kind, "message": str(exc)[:1000], "message_ko": exc.ko[:1000]}
        reply["id"] = rid
        replies.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
