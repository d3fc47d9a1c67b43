"""The trace recorder and the Keras half of the witness protocol.

Slow tests run one real sandboxed kernel (grader.execute.KernelSession) in a smoke-like
profile on synthetic MNIST, execute a small notebook that compiles and fits a Sequential
and a functional model, calls to_categorical through both module paths and saves a
checkpoint, then ask the kernel about it through grader.witness.Notebook. The profile
caps epochs at 3 (smoke's 2 would leave no room to show that EarlyStopping still stops
a capped run early: Keras' EarlyStopping never stops before its second epoch).

Fast tests feed malformed replies to the trusted-side validators and to a Notebook over
a fake channel: every one must be a BadReply with a message, never a crash.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import REPO

from grader.errors import BadReply, MissingName
from grader.kernel import protocol
from grader.witness import Notebook, encode, validate_export, validate_history, validate_model

CELLS = [
    """
import numpy as np
import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.utils import to_categorical as tc_tf
from keras.utils import to_categorical as tc_k
(x_train, t_train), (x_test, t_test) = mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0
one_hot_a = tc_tf(t_train[:10])
one_hot_b = tc_k(t_train[:10], num_classes=10)
""",
    """
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Flatten, Dense, Dropout, BatchNormalization
from tensorflow.keras.optimizers import SGD
model = Sequential([Flatten(input_shape=(28, 28)), Dense(8, activation='relu'), Dropout(0.5),
                    Dense(10, activation='softmax')])
model.compile(optimizer=SGD(learning_rate=0.05), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
hist = model.fit(x_train, t_train, epochs=50, batch_size=64, validation_split=0.2, verbose=0)
hd = hist.history
by_rate = {0.25: hist}
""",
    """
inputs = keras.Input((28, 28))
h = Flatten()(inputs)
h = Dense(4)(h)
h = BatchNormalization()(h)
outputs = Dense(10, activation='softmax')(h)
fmodel = keras.Model(inputs, outputs)
fmodel.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(), metrics=['accuracy'])
ckpt = keras.callbacks.ModelCheckpoint('best.keras', monitor='val_loss', save_best_only=True)
stop = keras.callbacks.EarlyStopping(monitor='loss', min_delta=10.0, patience=0)
fhist = fmodel.fit(x_train, t_train, epochs=50, validation_data=(x_test, t_test), callbacks=[ckpt, stop], verbose=0)
pred = fmodel.predict(x_test[:5], verbose=0)
score = fmodel.evaluate(x_test, t_test, verbose=0)
""",
    """
uncompiled = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
ragged = {'loss': [1.0, 2.0], 'val_loss': [1.0]}
diverged = {'loss': [1.0, float('nan')]}
int_keys = {1: [1.0]}
empty = {}
with open('notes.txt', 'w') as f:
    f.write('not a model')
reachable = [name for f, name in ((keras.Model.fit, 'fit'), (keras.Model.compile, 'compile'),
             (keras.utils.to_categorical, 'to_categorical'), (mnist.load_data, 'load_data'))
             if hasattr(f, '__wrapped__') or hasattr(f, '__grader_orig__') or hasattr(f, '__grader_wrapped__')]
names = [keras.Model.fit.__name__, keras.utils.to_categorical.__name__, mnist.load_data.__name__]
""",
]


@pytest.fixture(scope="module")
def traced() -> Any:
    from grader.datastore import DataStore
    from grader.execute import KernelSession
    from grader.spec import Limits, Profile

    profile = Profile("smoke", max_epochs=3, synthetic=True)
    with tempfile.TemporaryDirectory(prefix="grader-trace-test-") as tmp:
        data_dir = DataStore(REPO / ".grader" / "data").stage(["mnist"], profile, Path(tmp) / "data")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in CELLS])
        with KernelSession(limits=Limits(), profile=profile, data_dir=data_dir, sandboxed=True, seed=3) as session:
            result = session.run_notebook(notebook)
            failed = [(c.index, c.ename, c.evalue) for c in result.cells if c.status != "ok"]
            assert not failed, failed
            handle = Notebook(session, notebook)
            handle.session = session  # type: ignore[attr-defined]
            yield handle


def _fit_of(nb: Any, model: str) -> dict[str, Any]:
    uid = nb.model(model)["uid"]
    fits = [e for e in nb.trace("fit") if e["model_uid"] == uid]
    assert len(fits) == 1, fits
    return fits[0]


# ----------------------------------------------------------------------------- trace
@pytest.mark.slow
def test_load_data_and_profile_recorded(traced: Any) -> None:
    loads = traced.trace("load_data")
    assert [(e["dataset"], e["train"], e["test"]) for e in loads] == [("mnist", 1200, 200)]
    actions = [e.get("action") for e in traced.trace("profile")]
    assert "keras traced" in actions and "epoch cap" in actions
    assert not traced.trace("bootstrap_error")


@pytest.mark.slow
def test_compile_recorded(traced: Any) -> None:
    compiles = traced.trace("compile")
    assert len(compiles) == 2
    seq, func = compiles
    # the weights at compile time: both models were built before compile
    assert isinstance(seq["weights_digest"], str) and isinstance(func["weights_digest"], str)
    assert seq["model_class"] == "Sequential" and seq["optimizer"]["class"] == "SGD"
    assert math.isclose(seq["optimizer"]["config"]["learning_rate"], 0.05, rel_tol=1e-6)
    assert seq["optimizer_arg"] == "SGD"
    assert seq["loss"] == seq["loss_key"] == "sparse_categorical_crossentropy"
    assert seq["metrics"] == ["accuracy"]
    assert func["model_class"] == "Functional" and func["optimizer"]["class"] == "Adam"
    assert func["optimizer_arg"] == "adam"
    assert func["loss"] == "SparseCategoricalCrossentropy"
    assert func["loss_key"] == "sparse_categorical_crossentropy"


@pytest.mark.slow
def test_fit_recorded_with_epoch_cap(traced: Any) -> None:
    fit = _fit_of(traced, "model")
    assert fit["epochs_asked"] == 50 and fit["epochs_capped_to"] == 3 and fit["epochs_run"] == 3
    assert fit["finished"] is True and fit["stopped_early"] is False
    assert fit["batch_size"] == 64 and fit["validation_split"] == 0.2 and fit["validation_data"] is False
    assert fit["x"]["shape"] == [1200, 28, 28] and fit["x"]["max"] == 1.0 and fit["x"]["min"] == 0.0
    assert fit["y"]["shape"] == [1200]
    assert fit["callbacks"] == []
    assert [layer["class"] for layer in fit["layers"]] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert fit["layers"][1]["qualname"] == "keras.src.layers.core.dense.Dense"
    assert set(fit["history_keys"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert traced.history("hist")["loss"][-1] == fit["final"]["loss"]
    caps = [e for e in traced.trace("profile") if e.get("action") == "epoch cap"]
    assert [(e["asked"], e["capped_to"]) for e in caps] == [(50, 3), (50, 3)]


@pytest.mark.slow
def test_early_stopping_still_stops_under_the_cap(traced: Any) -> None:
    fit = _fit_of(traced, "fmodel")
    assert fit["epochs_asked"] == 50 and fit["epochs_capped_to"] == 3
    assert fit["epochs_run"] == 2 and fit["stopped_early"] is True
    assert fit["validation_data"] is True and fit["validation"]["x"]["shape"] == [200, 28, 28]
    ckpt, stop = fit["callbacks"]
    assert ckpt["class"] == "ModelCheckpoint"
    assert ckpt["config"]["monitor"] == "val_loss" and ckpt["config"]["save_best_only"] is True
    assert ckpt["config"]["filepath"] == "best.keras" and ckpt["config"]["filepath_abs"].endswith("/best.keras")
    assert stop["class"] == "EarlyStopping"
    assert stop["config"]["monitor"] == "loss" and stop["config"]["patience"] == 0
    assert stop["after"]["stopped_epoch"] == 1  # Keras' 0-based index; 2 epochs ran
    assert stop["qualname"] == "keras.src.callbacks.early_stopping.EarlyStopping"
    assert ckpt["qualname"] == "keras.src.callbacks.model_checkpoint.ModelCheckpoint"
    assert len(traced.history("fhist")["loss"]) == 2


@pytest.mark.slow
def test_fit_events_carry_fingerprints_compile_settings_and_weight_digests(traced: Any) -> None:
    from grader.datastore import DataStore
    from grader.spec import Profile

    (x_train, t_train), (x_test, t_test) = DataStore(REPO / ".grader" / "data").arrays(
        "mnist", Profile("smoke", max_epochs=3, synthetic=True)
    )
    def digest(arr: Any) -> str:
        return protocol.fingerprint(arr)["digest"]  # type: ignore[index]

    seq, func = _fit_of(traced, "model"), _fit_of(traced, "fmodel")
    # the notebook scaled x by 1/255: the digest is the served array's all the same; "max" says how
    assert seq["x_fp"]["digest"] == digest(x_train) and seq["x_fp"]["rows"] == 1200 and seq["x_fp"]["max"] == 1.0
    assert seq["y_fp"] == protocol.fingerprint(t_train) and seq["y_fp"]["onehot"] is False
    assert seq["validation_fp"] is None
    assert func["validation_fp"]["x"]["digest"] == digest(x_test)
    assert func["validation_fp"]["y"] == protocol.fingerprint(t_test)
    assert seq["compile_at_fit"]["loss_key"] == "sparse_categorical_crossentropy"
    assert seq["compile_at_fit"]["optimizer"]["class"] == "SGD"
    assert func["compile_at_fit"]["optimizer"]["class"] == "Adam"
    compiled = {e["model_uid"]: e for e in traced.trace("compile")}
    assert seq["weights_digest_start"] == compiled[seq["model_uid"]]["weights_digest"]
    assert seq["weights_digest_end"] != seq["weights_digest_start"]
    assert traced.export_model("model")["weights_digest"] == seq["weights_digest_end"]
    evaluate = traced.trace("evaluate")[0]
    assert evaluate["x_fp"]["digest"] == digest(x_test) and evaluate["y_fp"] == protocol.fingerprint(t_test)


@pytest.mark.slow
def test_to_categorical_traced_through_both_module_paths(traced: Any) -> None:
    calls = traced.trace("to_categorical")
    assert [(e["via"], e["caller"], e["num_classes"]) for e in calls] == [
        ("tensorflow.keras.utils", "__main__", None),
        ("keras.utils", "__main__", 10),
    ]
    assert calls[0]["x"]["shape"] == [10]


@pytest.mark.slow
def test_predict_and_evaluate_recorded_but_not_fits_own_validation(traced: Any) -> None:
    evaluates = traced.trace("evaluate")
    assert len(evaluates) == 1 and evaluates[0]["x"]["shape"] == [200, 28, 28]
    assert evaluates[0]["result"][0] == pytest.approx(traced.get("score")[0])
    predicts = traced.trace("predict")
    assert len(predicts) == 1 and predicts[0]["output_shape"] == [5, 10]


# ----------------------------------------------------------------------------- models
@pytest.mark.slow
def test_model_description_sequential(traced: Any) -> None:
    desc = traced.model("model")
    assert desc["class"] == "Sequential" and desc["built"] is True
    assert desc["input_shape"] == [None, 28, 28]
    layers = desc["layers"]
    assert [layer["class"] for layer in layers] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert layers[0]["config"]["input_shape"] == [28, 28]
    assert layers[1]["config"]["units"] == 8 and layers[1]["config"]["activation"] == "relu"
    assert layers[2]["config"]["rate"] == 0.5
    assert layers[3]["config"]["units"] == 10 and layers[3]["config"]["activation"] == "softmax"
    assert [layer["output_shape"] for layer in layers] == [[None, 784], [None, 8], [None, 8], [None, 10]]
    assert [layer["params"] for layer in layers] == [0, 784 * 8 + 8, 0, 8 * 10 + 10]
    assert desc["trainable_params"] == 784 * 8 + 8 + 90 and desc["non_trainable_params"] == 0
    assert desc["compile"]["optimizer"]["class"] == "SGD"
    assert desc["compile"]["loss_key"] == "sparse_categorical_crossentropy"
    assert desc["uid"] == _fit_of(traced, "model")["model_uid"]
    assert desc["qualname"] == "keras.src.models.sequential.Sequential"
    assert layers[0]["qualname"] == "keras.src.layers.reshaping.flatten.Flatten"
    # a History stands for its model
    assert traced.model("hist")["uid"] == desc["uid"] == traced.model("by_rate", 0.25)["uid"]


@pytest.mark.slow
def test_model_description_functional_and_uncompiled(traced: Any) -> None:
    desc = traced.model("fmodel")
    assert desc["class"] == "Functional"
    assert [layer["class"] for layer in desc["layers"]] == ["Flatten", "Dense", "BatchNormalization", "Dense"]
    assert desc["layers"][2]["params"] == 16
    assert desc["non_trainable_params"] == 8
    assert desc["trainable_params"] == 784 * 4 + 4 + 8 + 4 * 10 + 10
    assert traced.model("uncompiled")["compile"] is None


@pytest.mark.slow
def test_model_questions_that_cannot_be_answered(traced: Any) -> None:
    with pytest.raises(BadReply, match="`hd` is a dict, not a Keras model"):
        traced.model("hd")
    with pytest.raises(MissingName):
        traced.model("no_such_name")
    with pytest.raises(BadReply, match="no key 0.5"):
        traced.model("by_rate", 0.5)


# ----------------------------------------------------------------------------- histories
@pytest.mark.slow
def test_history_from_history_object_dict_and_key(traced: Any) -> None:
    h = traced.history("hist")
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v) for v in h.values())
    assert traced.history("hd") == h == traced.history("by_rate", 0.25)
    assert traced.fit_for("hd") == traced.fit_for("hist") == _fit_of(traced, "model")
    assert traced.fit_for("ragged") is None


@pytest.mark.slow
def test_history_validation(traced: Any) -> None:
    with pytest.raises(BadReply, match="different lengths"):
        traced.history("ragged")
    with pytest.raises(BadReply, match="nan at epoch 2: the training diverged"):
        traced.history("diverged")
    with pytest.raises(BadReply, match="history keys are metric names"):
        traced.history("int_keys")
    with pytest.raises(BadReply, match="is empty"):
        traced.history("empty")
    with pytest.raises(BadReply, match="expected a Keras History"):
        traced.history("x_train")
    with pytest.raises(BadReply, match="keys are"):
        traced.history("by_rate", "0.25")


# ----------------------------------------------------------------------------- artefacts
@pytest.mark.slow
def test_export_model_gives_config_and_weights(traced: Any) -> None:
    import json

    exported = traced.export_model("hist")  # a History stands for its model
    assert exported["class"] == "keras.src.models.sequential.Sequential" and exported["built"] is True
    assert json.loads(exported["config"])["class_name"] == "Sequential"
    shapes = [w.shape for w in exported["weights"]]
    assert shapes == [(784, 8), (8,), (8, 10), (10,)]
    assert all(w.dtype == "float32" for w in exported["weights"])
    assert exported["weights_digest"] == protocol.weights_digest(exported["weights"])
    assert traced.export_model("by_rate", 0.25)["weights_digest"] == exported["weights_digest"]
    with pytest.raises(BadReply, match="not a Keras model"):
        traced.export_model("hd")


@pytest.mark.slow
def test_read_file_gives_a_checkpoints_bytes(traced: Any) -> None:
    data = traced.read_file("best.keras")
    assert data[:2] == b"PK" and len(data) > 1000  # a .keras file is a zip
    assert traced.read_file("./best.keras") == data == traced.read_file("/content/best.keras")
    assert traced.read_file("notes.txt") == b"not a model"


@pytest.mark.slow
def test_read_file_refuses_paths_outside_the_notebooks_folder(traced: Any) -> None:
    for path in ("/etc/passwd", "../../etc/passwd", "/data/mnist.npz", "/content/../etc/passwd"):
        with pytest.raises(BadReply, match="outside your notebook's folder"):
            traced.read_file(path)
    with pytest.raises(BadReply, match="no file at"):
        traced.read_file("missing.keras")
    with pytest.raises(BadReply, match="non-empty string"):
        traced.read_file("")


@pytest.mark.slow
def test_wrappers_keep_no_reachable_original(traced: Any) -> None:
    assert traced.get("reachable") == []
    assert traced.get("names") == ["fit", "to_categorical", "load_data"]


@pytest.mark.slow
def test_integrity_names_what_the_notebook_replaced(traced: Any) -> None:
    assert traced.integrity() == []
    session = traced.session
    session._execute_quiet(
        "import keras\n"
        "_saved_tc = keras.utils.to_categorical\n"
        "keras.utils.to_categorical = lambda *a, **k: None\n"
        "model.fit = lambda *a, **k: None\n",
        timeout=10,
    )
    try:
        assert traced.integrity() == ["keras.utils.to_categorical", "model.fit"]
    finally:
        session._execute_quiet(
            "keras.utils.to_categorical = _saved_tc\ndel model.fit, _saved_tc\n", timeout=10
        )
    assert traced.integrity() == []


@pytest.mark.slow
def test_requests_run_silently_unseen_by_cell_hooks(traced: Any) -> None:
    session = traced.session
    session._execute_quiet(
        "seen_by_hook = []\n"
        "def _spy(info):\n"
        "    seen_by_hook.append(str(info.raw_cell)[:100])\n"
        "get_ipython().events.register('pre_run_cell', _spy)\n",
        timeout=10,
    )
    try:
        assert traced.get("score") is not None and traced.has("hist")
        assert traced.get("seen_by_hook") == []
    finally:
        session._execute_quiet("get_ipython().events.unregister('pre_run_cell', _spy)\n", timeout=10)


# ----------------------------------------------------------------------------- malformed
@pytest.mark.slow
def test_a_kernel_that_breaks_the_protocol_gives_bad_replies(traced: Any) -> None:
    session = traced.session
    session._execute_quiet(
        "import sys\n"
        "_w = sys.modules['_grader_kernel.server']\n"
        "_w._saved = dict(_w.OPS)\n"
        "_w.OPS['model'] = lambda ns, req: {'class': 'Sequential', 'layers': 'all of them'}\n"
        "_w.OPS['history'] = lambda ns, req: {'history': {'loss': ['low', 'lower']}}\n"
        "_w.OPS['export_model'] = lambda ns, req: {'config': '{}', 'weights': ['w'], 'weights_digest': 'x'}\n"
        "_w.OPS['read_file'] = lambda ns, req: {'data': 'PK', 'size': 2}\n"
        "_w.OPS['integrity'] = lambda ns, req: {'replaced': [1]}\n"
        "_w.OPS['fit_for'] = lambda ns, req: {'no': 'event'}\n",
        timeout=10,
    )
    try:
        with pytest.raises(BadReply, match="no layer list"):
            traced.model("model")
        with pytest.raises(BadReply, match="must hold numbers"):
            traced.history("hist")
        with pytest.raises(BadReply, match="not a list of float arrays"):
            traced.export_model("model")
        with pytest.raises(BadReply, match="malformed file contents"):
            traced.read_file("best.keras")
        with pytest.raises(BadReply, match="malformed integrity"):
            traced.integrity()
        with pytest.raises(BadReply, match="malformed record"):
            traced.fit_for("hist")
    finally:
        session._execute_quiet("_w.OPS.update(_w._saved)\ndel _w\n", timeout=10)
    assert traced.model("model")["class"] == "Sequential"


class _FakeChannel:
    """Answers every request with a fixed (malformed) reply."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        return {"id": "x", "ok": True, "value": encode(self.value) if self.value is not None else None}


MALFORMED = [
    ("model", "not a dict"),
    ("model", {"layers": [1, 2]}),
    ("model", {"layers": [], "uid": "7", "built": True, "trainable_params": 0, "non_trainable_params": 0}),
    ("model", {"layers": [{"class": "Dense", "name": "d", "config": {"units": object.__name__},
                           "output_shape": ["a"], "params": 1}],
               "uid": 1, "built": True, "trainable_params": 0, "non_trainable_params": 0}),
    ("history", {"history": {"loss": [1.0, True]}}),
    ("history", {"history": {"loss": "1.0"}}),
    ("history", {"wrong": 1}),
    ("trace", [{"event": 3}]),
    ("trace", {"event": "fit"}),
]


@pytest.mark.parametrize("op, value", MALFORMED)
def test_malformed_replies_are_bad_replies(op: str, value: Any) -> None:
    nb = Notebook(_FakeChannel(value), nbformat.v4.new_notebook())
    ask = {"model": lambda: nb.model("m"), "history": lambda: nb.history("h"), "trace": nb.trace}[op]
    with pytest.raises(BadReply) as info:
        ask()
    assert str(info.value).strip()


def test_validators_accept_good_and_reject_bad() -> None:
    assert validate_history({"loss": [2, 1.5], "val_loss": (2.5, 2.0)}) == {"loss": [2.0, 1.5], "val_loss": [2.5, 2.0]}
    for bad in ({"loss": [1.0], "val_loss": []}, {"loss": [math.inf]}, {(1, 2): [1.0]}, {"loss": []}, [1.0]):
        with pytest.raises(BadReply):
            validate_history(bad, "`h`")
    good = {
        "class": "Sequential", "name": "s", "uid": 5, "built": True, "input_shape": [None, 3],
        "layers": [{"class": "Dense", "name": "d", "config": {"units": 2, "kernel_size": (3, 3)},
                    "output_shape": [None, 2], "params": 8}],
        "trainable_params": 8, "non_trainable_params": 0, "compile": None, "extra": "dropped",
    }
    out = validate_model(good)
    assert "extra" not in out and out["layers"][0]["config"]["kernel_size"] == [3, 3]
    with pytest.raises(BadReply):
        validate_model({**good, "trainable_params": -1})
    with pytest.raises(BadReply):
        validate_model({**good, "compile": {"optimizer": "SGD"}})
    import numpy as np

    w = [np.ones((2, 3), dtype="float32")]
    ok = {"config": '{"class_name": "Sequential"}', "weights": w, "class": "keras.Sequential", "built": True,
          "weights_digest": protocol.weights_digest(w)}
    assert validate_export(ok)["weights_digest"] == ok["weights_digest"]
    for bad in ({**ok, "config": 3}, {**ok, "config": ""}, {**ok, "weights": [np.ones(2, dtype="int8")]},
                {**ok, "weights": "w"}, {**ok, "weights_digest": None}, {**ok, "built": "yes"},
                {**ok, "config": "x" * (protocol.MAX_CONFIG_CHARS + 1)}):
        with pytest.raises(BadReply):
            validate_export(bad)
