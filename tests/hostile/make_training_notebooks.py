"""Generate the training-exercise hostile notebooks: `python tests/hostile/make_training_notebooks.py`.

The six training exercises (issue 8) attacked as a determined student would. For every
attack there is an honest CONTROL: the reference solution (solutions/<name>/<name>.ipynb),
or that solution with one honest mistake (the edited cells are tagged `mistake`). The
attack notebook is its control plus the attack's cells (tagged `attack`), so only the
attack can change its score: it must score no more than its control, check by check
(tests/test_hostile_training.py grades every notebook of an assignment in one sandboxed
batch, in smoke, beside the plain reference solution).

Attack classes (the numbering of issue 8):
  1  patch Keras so that evaluation in the kernel says what the checks want
  2  forged results: rewritten or hand-typed histories, predictions, accuracies
  3  forged testimony: events appended to the trace, answers published before the witness's
  4  the real function behind a tracer: an unrecorded to_categorical, an untraced fit
  5  objects named like Keras' own: a fake EarlyStopping, a fake BatchNormalization
  6  a dishonest process: recompiling, training on the test set, one model for two runs,
     pre-trained weights
  7  the trusted side's time and memory: a 4 MB %%writefile cell, a 60 KB cell, 5,000
     answer markers, a witness that answers just under the time limit

Attacks that leave evidence put a JSON string in the global ATTACK_FINDINGS; the test
suite's probe check (a 0-point check added to a temporary copy of the assignment) reads
it through the ordinary witness protocol.

Notebooks over 100 KB (`big`) are built when the suite grades them and never committed.
These notebooks must only ever be graded inside the grader's sandbox.
"""

from __future__ import annotations

import copy
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOLUTIONS = REPO / "solutions"
OUT = HERE / "training"

ASSIGNMENTS = ("callbacks", "sparse_labels", "dropout_rates", "bn_vs_dropout", "fashion_vs_mnist", "cnn_mistakes")
CLASSES = {
    1: "patched Keras evaluation",
    2: "forged results",
    3: "forged testimony",
    4: "the original behind a tracer",
    5: "look-alike Keras classes",
    6: "a dishonest training process",
    7: "the trusted side's time and memory",
}
SOLUTION = "solution"  # a control that is the reference solution itself
# The cnn_mistakes batch runs with this check time limit (tests/test_hostile_training.py),
# and the slow witness answers just under it.
SLOW_WITNESS_LIMIT_S = 15
SLOW_WITNESS_DELAY_S = SLOW_WITNESS_LIMIT_S - 2


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


@dataclass(frozen=True)
class Edit:
    """In cell `cell` of the solution, `old` (which must occur) becomes `new`."""

    cell: str
    old: str
    new: str


@dataclass(frozen=True)
class Control:
    name: str
    assignment: str
    title: str  # one line for docs/security.md
    edits: tuple[Edit, ...]
    # the mistake costs points in smoke; False where only the full profile can see it
    loses_in_smoke: bool = True


@dataclass(frozen=True)
class Cell:
    """An attack cell: placed `where` ("after" or "before") the cell with id `anchor`, or at the end."""

    source: str
    where: str = "end"
    anchor: str = ""
    kind: str = "code"


@dataclass(frozen=True)
class Attack:
    name: str
    assignment: str
    klass: int  # 1..7, see CLASSES
    title: str  # what it tries, one line for docs/security.md
    control: str  # a Control's name, or SOLUTION
    cells: tuple[Cell, ...]
    stops: str  # what stops it, for docs/security.md
    flagged: bool = False  # the grader can see the tampering: the result must carry a flag
    big: bool = False  # over 100 KB: built when graded, never committed

    @property
    def forging(self) -> bool:
        """Classes 1-6 try to earn points: no check may earn more than in the control."""
        return self.klass != 7


# ------------------------------------------------------------------ shared attack code

# One step from the grader's wrapper to what it wraps: `__wrapped__` where there is one,
# else a closure cell holding a callable of the same name (what a closure-built tracer keeps).
UNWRAP = _code(
    """
    def _original(fn, name):
        inner = getattr(fn, '__wrapped__', None)
        if inner is not None:
            return inner, ['__wrapped__']
        for cell in getattr(fn, '__closure__', None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value) and value is not fn and getattr(value, '__name__', None) == name:
                return value, ['closure']
        return fn, []
    """
)

# Find the grader's trace in the kernel's memory: lists of dicts with an "event" key.
FIND_TRACES = _code(
    """
    import gc

    def _traces():
        found = []
        for obj in gc.get_objects():
            if type(obj) is list and obj and isinstance(obj[0], dict) and 'event' in obj[0]:
                if all(isinstance(e, dict) and 'event' in e for e in obj[:200]):
                    found.append(obj)
        return found
    """
)

# Answer the witness's questions before it does: the genuine answer from the kernel half's
# own dispatch, with every fit event of the trace saying batch_size=50.
FORGER = _code(
    """
    import base64, json, sys
    from IPython import get_ipython
    from IPython.display import publish_display_data

    _MIME = 'application/x-grader-witness+json'
    _server = next((m for n, m in list(sys.modules.items())
                    if n.endswith('.server') and hasattr(m, 'dispatch') and hasattr(m, 'OPS')), None)
    _codec = sys.modules.get(_server.__name__.rsplit('.', 1)[0] + '.codec') if _server else None
    _seen = {'requests': 0, 'forged': 0}

    def _forge_from(raw):
        if not isinstance(raw, str) or 'handle(' not in raw:
            return
        _seen['requests'] += 1
        blob = raw.split('handle(', 1)[1].split(')', 1)[0].strip().strip('\\'"')
        request = json.loads(base64.b64decode(blob))
        if request.get('op') == 'trace' and _server is not None and _codec is not None:
            events = [dict(e) for e in _server.OPS['trace'](get_ipython().user_ns, request)]
            for e in events:
                if e.get('event') == 'fit':
                    e['batch_size'] = 50
            reply = {'id': request.get('id'), 'ok': True, 'value': _codec.encode(events, 64 << 20)}
            publish_display_data({_MIME: json.dumps(reply)})
            _seen['forged'] += 1
        globals()['ATTACK_FINDINGS'] = json.dumps({'hook': _HOOK, 'requests_seen': _seen['requests'],
                                                   'forged': _seen['forged'], 'server_found': _server is not None})
    """
)


# ------------------------------------------------------------------ controls

CONTROLS: list[Control] = [
    # callbacks
    Control(
        "control_untrained_checkpoints", "callbacks",
        "both checkpoint files overwritten at the end with fresh, untrained models",
        (Edit("stopped", "stopped_epoch = len(history_es.history['loss'])",
              "stopped_epoch = len(history_es.history['loss'])\n\n"
              "# the checkpoint files end up holding fresh, untrained models\n"
              "build_model().save(checkpoint_path_1)\n"
              "build_model().save(checkpoint_path_2)"),),
    ),
    Control(
        "control_no_early_stopping", "callbacks",
        "run [2] trains with its ModelCheckpoint only: no EarlyStopping",
        (Edit("run-2",
              "stopping = EarlyStopping(monitor='val_loss', patience=5)\n"
              "history_es = model_2.fit(x_train, t_train, epochs=50, validation_split=0.2,\n"
              "                         callbacks=[checkpoint, stopping], verbose=2)",
              "history_es = model_2.fit(x_train, t_train, epochs=50, validation_split=0.2,\n"
              "                         callbacks=[checkpoint], verbose=2)"),),
    ),
    # sparse_labels
    Control(
        "control_test_loss", "sparse_labels",
        "test_accuracy is model.evaluate(...)[0], the test loss",
        (Edit("fit", "test_accuracy = model.evaluate(X_test, Y_test)[1]",
              "test_accuracy = model.evaluate(X_test, Y_test)[0]"),),
    ),
    Control(
        "control_to_categorical_printed", "sparse_labels",
        "to_categorical called once, to print an example of the old labels",
        (Edit("labels", "Y_train = Y_class_train",
              "from tensorflow.keras.utils import to_categorical\n\nY_train = Y_class_train"),
         Edit("labels", "print(Y_train.shape, Y_train[:10])",
              "print(Y_train.shape, Y_train[:10])\n"
              "# 예전 방식과 비교해 보기 / compare with the old one-hot labels\n"
              "print(Y_train[0], '->', to_categorical(Y_train[:1], 10))")),
    ),
    Control(
        "control_onehot_training", "sparse_labels",
        "trains on one-hot labels (numpy.eye) with categorical_crossentropy",
        (Edit("model", "model.compile(loss='sparse_categorical_crossentropy'",
              "model.compile(loss='categorical_crossentropy'"),
         Edit("fit", "history = model.fit(X_train, Y_train, validation_data=(X_test, Y_test),",
              "Y_train_onehot = numpy.eye(10)[Y_train]\n"
              "Y_test_onehot = numpy.eye(10)[Y_test]\n"
              "history = model.fit(X_train, Y_train_onehot, validation_data=(X_test, Y_test_onehot),"),
         Edit("fit", "test_accuracy = model.evaluate(X_test, Y_test)[1]",
              "test_accuracy = model.evaluate(X_test, Y_test_onehot)[1]")),
    ),
    # dropout_rates
    Control(
        "control_one_batch", "dropout_rates",
        "each model trains on one batch per epoch (steps_per_epoch=1)",
        (Edit("train", "hist = model.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)",
              "hist = model.fit(x_train, t_train, epochs=50, validation_split=0.2, steps_per_epoch=1, verbose=2)"),),
        loses_in_smoke=False,  # graded like a full run in smoke; the full profile's accuracy bar sees it
    ),
    Control(
        "control_adam", "dropout_rates",
        "the models are compiled with Adam() instead of SGD()",
        (Edit("build-model", "def build_model(rate):",
              "from tensorflow.keras.optimizers import Adam\n\ndef build_model(rate):"),
         Edit("build-model", "optimizer=SGD()", "optimizer=Adam()")),
    ),
    # bn_vs_dropout
    Control(
        "control_no_bn", "bn_vs_dropout",
        "model_bn has no BatchNormalization: Dense(100, relu) -> Dense(10)",
        (Edit("bn-model",
              "model_bn.add(Dense(100))\nmodel_bn.add(BatchNormalization())\nmodel_bn.add(Activation('relu'))",
              "model_bn.add(Dense(100, activation='relu'))"),),
    ),
    # fashion_vs_mnist
    Control(
        "control_same_model", "fashion_vs_mnist",
        "the MNIST model is trained on for Fashion-MNIST",
        (Edit("fashion", "model_fashion = build_model()\n",
              "model_fashion = model_mnist   # 같은 모델을 그대로 사용\n"),),
    ),
    Control(
        "control_typed_accuracies", "fashion_vs_mnist",
        "histories kept as .history dicts (accepted); the notes' test accuracies typed in, no evaluate",
        (Edit("mnist",
              "history_mnist = model_mnist.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)\n"
              "test_acc_mnist = model_mnist.evaluate(x_test, t_test)[1]",
              "history_mnist = model_mnist.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2).history\n"
              "test_acc_mnist = 0.9790   # the notes' result"),
         Edit("fashion",
              "history_fashion = model_fashion.fit(x_train_f, t_train_f, epochs=50, validation_split=0.2, verbose=2)\n"
              "test_acc_fashion = model_fashion.evaluate(x_test_f, t_test_f)[1]",
              "history_fashion = model_fashion.fit(x_train_f, t_train_f, epochs=50, validation_split=0.2, "
              "verbose=2).history\n"
              "test_acc_fashion = 0.8830   # the notes' result"),
         Edit("gaps",
              "overfit_gap_mnist = history_mnist.history['val_loss'][-1] - history_mnist.history['loss'][-1]\n"
              "overfit_gap_fashion = history_fashion.history['val_loss'][-1] - history_fashion.history['loss'][-1]",
              "overfit_gap_mnist = history_mnist['val_loss'][-1] - history_mnist['loss'][-1]\n"
              "overfit_gap_fashion = history_fashion['val_loss'][-1] - history_fashion['loss'][-1]")),
    ),
    # cnn_mistakes
    Control(
        "control_empty_list", "cnn_mistakes",
        "index_label_prediction is never filled (the loop is missing)",
        (Edit("predict",
              "index_label_prediction = []\n"
              "for index in range(len(predictions)):\n"
              "    if predictions[index] != t_test[index]:\n"
              "        index_label_prediction.append((index, t_test[index], predictions[index]))",
              "index_label_prediction = []"),),
    ),
    Control(
        "control_default_batch", "cnn_mistakes",
        "fit with Keras' default batch size instead of batch_size=50",
        (Edit("model", "batch_size=50, ", ""),),
    ),
]


# ------------------------------------------------------------------ attacks

def _writefile_4mb() -> str:
    line = "x=1;" * 1000
    return "%%writefile notes.py\n" + "\n".join([line] * 1050) + "\n"


def _cell_60kb() -> str:
    lines = [f"pad_{i:04d} = {i}" for i in range(4300)]
    return "# a long cell: 4,300 small statements, 60 KB\n" + "\n".join(lines) + "\n"


def _answer_markers() -> str:
    markers = "\n".join(f"<!-- answer:x{i} -->" for i in range(5000))
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 28 for i in range(26))
    return markers + "\n\n" + text + "\n"


def _answer_flood() -> str:
    text = "\n\n".join(f"Part {i}: " + "이 답은 아주 깁니다. This answer is very long. " * 40 for i in range(60))
    return "<!-- answer:dropout -->\n\n" + text + "\n"


ATTACKS: list[Attack] = [
    # ------------------------------------------------------------------ 1: patched evaluation
    Attack(
        "patch_keras_evaluation", "callbacks", 1,
        "patches keras.Model.evaluate/predict and keras.models.load_model (and keras.saving's, tf.keras') so "
        "that loading a checkpoint hands back the trained model and evaluation reports the best val_loss",
        "control_untrained_checkpoints",
        (Cell(_code(
            """
            import json
            import numpy as np
            import keras
            import tensorflow as tf

            _trained = {checkpoint_path_1: model_1, checkpoint_path_2: model_2}
            _best_loss = min(min(history_ckpt.history['val_loss']), min(history_es.history['val_loss']))
            _real_load = keras.models.load_model

            def _load_model(path, *args, **kwargs):
                for name, model in _trained.items():
                    if str(path).endswith(name):
                        return model
                return _real_load(path, *args, **kwargs)

            def _evaluate(self, x=None, y=None, *args, **kwargs):
                return [_best_loss, 0.99]

            def _predict(self, x, *args, **kwargs):
                labels = t_test if len(x) == len(t_test) else t_train[:len(x)]
                return np.eye(10)[labels]

            patched = []
            for module in (keras.models, keras.saving, tf.keras.models):
                module.load_model = _load_model
                patched.append(module.__name__ + '.load_model')
            for cls in {keras.Model, tf.keras.Model, keras.Sequential}:
                cls.evaluate = _evaluate
                cls.predict = _predict
                patched += [cls.__name__ + '.evaluate', cls.__name__ + '.predict']
            ATTACK_FINDINGS = json.dumps({'patched': sorted(set(patched))})
            """
        ), "after", "stopped"),),
        "the checkpoints are copied out of the kernel as bytes and measured by the trusted evaluator, which "
        "holds no student code; the replaced Keras methods are seen by the integrity question",
        flagged=True,
    ),
    # ------------------------------------------------------------------ 2: forged results
    Attack(
        "history_rewritten", "dropout_rates", 2,
        "after a one-batch-per-epoch fit, rewrites every History's lists in place into a smooth 'trained' curve",
        "control_one_batch",
        (Cell(_code(
            """
            # Make the curves look like 50 honest epochs: rewrite each History's lists in place.
            import numpy as np

            for rate in RATES:
                h = histories[rate].history
                n = len(h['loss'])
                for key, series in h.items():
                    start, end = (2.0, 0.25) if 'loss' in key else (0.40, 0.93)
                    if key == 'val_loss':
                        end += 0.05 * rate
                    series[:] = [float(v) for v in np.linspace(start, end, n)]
            """
        ), "after", "train"),),
        "the history is bound to its model: its last val_loss must be the trusted loss of the model's final "
        "weights on the run's validation data",
        flagged=True,
    ),
    Attack(
        "history_typed", "bn_vs_dropout", 2,
        "replaces history_bn by a keras History holding numbers typed in by hand",
        SOLUTION,
        (Cell(_code(
            """
            # The BN run's History, with numbers typed in by hand.
            from tensorflow.keras.callbacks import History

            typed = History()
            typed.set_model(model_bn)
            typed.epoch = [0, 1]
            typed.history = {'loss': [0.31, 0.12], 'val_loss': [0.18, 0.11],
                             'accuracy': [0.91, 0.97], 'val_accuracy': [0.95, 0.97]}
            history_bn = typed
            """
        ), "after", "bn-model"),),
        "no traced fit returned it (fit_for finds none), so every check of the run's set-up fails",
    ),
    Attack(
        "predictions_from_labels", "cnn_mistakes", 2,
        "sets predictions = t_test, so that the (empty) list of false predictions is complete",
        "control_empty_list",
        (Cell(_code(
            """
            # No false prediction to list when the predictions are the test labels themselves.
            predictions = t_test.copy()
            index_label_prediction = []
            """
        ), "after", "predict"),),
        "predictions must equal the trusted model's predictions (test_predictions_from_model)",
    ),
    Attack(
        "accuracy_on_own_predictions", "sparse_labels", 2,
        "test_accuracy = model.evaluate(X_test, <the model's own predictions>)[1], i.e. 1.0",
        "control_test_loss",
        (Cell(_code(
            """
            # evaluate on the test images, with the model's own predictions as the labels
            own = numpy.argmax(model.predict(X_test), axis=1)
            test_accuracy = model.evaluate(X_test, own)[1]
            print(test_accuracy)
            """
        ), "after", "fit"),),
        "test_accuracy must equal the trusted test accuracy of `model`, measured by the grader",
    ),
    # ------------------------------------------------------------------ 3: forged testimony
    Attack(
        "forged_fit_event", "cnn_mistakes", 3,
        "finds the trace in memory (gc.get_objects(), lists of dicts with 'event') and appends a copy of the "
        "last fit event saying batch_size=50",
        "control_default_batch",
        (Cell(FIND_TRACES + _code(
            """
            import copy, json, time

            found = _traces()
            forged = 0
            for trace in found:
                fits = [e for e in trace if e.get('event') == 'fit' and e.get('model_uid') == id(model)]
                if fits:
                    event = copy.deepcopy(fits[-1])
                    event['batch_size'] = 50
                    event['t'] = round(time.time(), 3)
                    trace.append(event)
                    forged += 1
            ATTACK_FINDINGS = json.dumps({'trace_lists': len(found), 'forged': forged})
            """
        ), "after", "model"),),
        "nothing yet: the batch size is read from the trace, which is testimony",
    ),
    Attack(
        "forged_evaluate_events", "fashion_vs_mnist", 3,
        "with histories kept as dicts and the notes' accuracies typed in, appends to the trace in memory one "
        "evaluate event per model on its whole test set that 'returned' the typed accuracy",
        "control_typed_accuracies",
        (Cell(FIND_TRACES + _code(
            """
            import json, sys, time

            _proto = next((m for n, m in list(sys.modules.items())
                           if n.endswith('.protocol') and hasattr(m, 'fingerprint')), None)

            def _describe(a):
                out = {'type': 'ndarray', 'shape': list(a.shape), 'dtype': str(a.dtype)}
                if a.dtype.kind == 'f':
                    out.update(min=float(a.min()), max=float(a.max()))
                return out

            found = _traces()
            for trace in found:
                for m, x, t, acc in ((model_mnist, x_test, t_test, test_acc_mnist),
                                     (model_fashion, x_test_f, t_test_f, test_acc_fashion)):
                    trace.append({'event': 'evaluate', 't': round(time.time(), 3), 'model': m.name,
                                  'model_uid': id(m), 'calls': 1, 'x': _describe(x), 'y': _describe(t),
                                  'x_fp': _proto.fingerprint(x) if _proto else None,
                                  'y_fp': _proto.fingerprint(t) if _proto else None,
                                  'result': [0.1, float(acc)]})
            ATTACK_FINDINGS = json.dumps({'trace_lists': len(found), 'protocol_found': _proto is not None})
            """
        ), "after", "fashion"),),
        "only where both histories are plain dicts: the grader has no History to reach the models through",
    ),
    Attack(
        "pre_run_cell_forger", "cnn_mistakes", 3,
        "registers an IPython pre_run_cell hook that reads each witness request from the cell source and "
        "publishes a forged answer first (trace: batch_size=50)",
        "control_default_batch",
        (Cell("_HOOK = 'pre_run_cell'\n" + FORGER + _code(
            """
            def _pre_run_cell(info):
                _forge_from(getattr(info, 'raw_cell', None))

            ATTACK_FINDINGS = json.dumps({'hook': _HOOK, 'requests_seen': 0, 'forged': 0,
                                          'server_found': _server is not None})
            get_ipython().events.register('pre_run_cell', _pre_run_cell)
            """
        )),),
        "the grader's requests are silent executions, which fire no pre_run_cell: the hook never sees one",
    ),
    Attack(
        "pre_execute_forger", "cnn_mistakes", 3,
        "the same forger on IPython's pre_execute event, which fires for silent executions too; it reads the "
        "request from run_cell's frame",
        "control_default_batch",
        (Cell("_HOOK = 'pre_execute'\n" + FORGER + _code(
            """
            def _pre_execute():
                frame = sys._getframe(1)
                while frame is not None:
                    raw = frame.f_locals.get('raw_cell')
                    if isinstance(raw, str):
                        _forge_from(raw)
                        return
                    frame = frame.f_back

            ATTACK_FINDINGS = json.dumps({'hook': _HOOK, 'requests_seen': 0, 'forged': 0,
                                          'server_found': _server is not None})
            get_ipython().events.register('pre_execute', _pre_execute)
            """
        )),),
        "nothing in the kernel can stop it (the student owns the process); what it forges is testimony",
    ),
    # ------------------------------------------------------------------ 4: the original behind a tracer
    Attack(
        "to_categorical_unwrapped", "sparse_labels", 4,
        "reaches the real to_categorical behind the grader's tracer (__wrapped__, else a closure cell) and puts "
        "it back in every module, so that the call that prints an example is not recorded",
        "control_to_categorical_printed",
        (Cell(UNWRAP + _code(
            """
            import importlib, json, sys

            for name in ('keras.utils', 'tensorflow.keras.utils', 'keras.src.utils',
                         'keras.src.utils.numerical_utils', 'keras._tf_keras.keras.utils'):
                try:
                    importlib.import_module(name)
                except Exception:
                    pass

            replaced, ways = [], set()
            for mod_name, mod in list(sys.modules.items()):
                try:
                    fn = getattr(mod, 'to_categorical', None)
                except Exception:
                    continue
                if not callable(fn):
                    continue
                real, via = _original(fn, 'to_categorical')
                if via:
                    setattr(mod, 'to_categorical', real)
                    replaced.append(mod_name)
                    ways.update(via)
            ATTACK_FINDINGS = json.dumps({'found_original': bool(replaced), 'via': sorted(ways),
                                          'replaced': sorted(replaced)})
            """
        ), "before", "labels"),),
        "the rule is read in the code on the trusted side (the name to_categorical appears); the replaced "
        "module attributes are seen by the integrity question",
        flagged=True,
    ),
    Attack(
        "untraced_fit_then_refit", "sparse_labels", 4,
        "trains on one-hot labels with the real fit found behind the tracer (not recorded, not capped), puts the "
        "tracer back, recompiles with sparse_categorical_crossentropy and fits again, traced, on integer labels",
        "control_onehot_training",
        (Cell(UNWRAP + _code(
            """
            import json

            _cls = type(model)
            _had_own = 'fit' in _cls.__dict__
            _traced_fit = _cls.fit
            _real_fit, _via = _original(_traced_fit, 'fit')
            _cls.fit = _real_fit
            ATTACK_FINDINGS = json.dumps({'found_original': _real_fit is not _traced_fit, 'via': _via})
            """
        ), "before", "fit"),
         Cell(_code(
            """
            # The tracer back in place; the loss the exercise asks for; one more (traced) run on integer labels.
            if _had_own:
                _cls.fit = _traced_fit
            else:
                del _cls.fit
            model.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
            history = model.fit(X_train, Y_train, validation_data=(X_test, Y_test),
                                epochs=30, batch_size=200, verbose=0,
                                callbacks=[early_stopping_callback, checkpointer])
            test_accuracy = model.evaluate(X_test, Y_test)[1]
            print(test_accuracy)
            """
        ), "after", "fit")),
        "evidence only: the weights the recorded fit started from are not the weights the model was built and "
        "compiled with",
        flagged=True,
    ),
    # ------------------------------------------------------------------ 5: look-alike classes
    Attack(
        "fake_early_stopping", "callbacks", 5,
        "redoes run [2] with a Callback subclass named EarlyStopping, with monitor='val_loss', patience=5, "
        "that never stops",
        "control_no_early_stopping",
        (Cell(_code(
            """
            import keras

            class EarlyStopping(keras.callbacks.Callback):
                \"\"\"Keras' EarlyStopping to anyone reading its name and settings; it never stops.\"\"\"

                def __init__(self, monitor='val_loss', patience=5, mode='auto', **kwargs):
                    super().__init__()
                    self.monitor, self.patience, self.mode = monitor, patience, mode
                    self.min_delta, self.baseline, self.restore_best_weights = 0, None, False
                    self.start_from_epoch, self.stopped_epoch, self.wait, self.best = 0, 0, 0, None

            model_2 = build_model()
            checkpoint = ModelCheckpoint(checkpoint_path_2, monitor='val_loss', verbose=1,
                                         save_best_only=True, mode='auto')
            history_es = model_2.fit(x_train, t_train, epochs=50, validation_split=0.2,
                                     callbacks=[checkpoint, EarlyStopping(monitor='val_loss', patience=5)],
                                     verbose=2)
            """
        ), "after", "run-2"),),
        "callbacks are recorded by fully qualified class (`__main__.EarlyStopping` is not Keras')",
        flagged=True,
    ),
    Attack(
        "fake_batchnorm", "bn_vs_dropout", 5,
        "rebuilds model_bn with a Layer named BatchNormalization holding gamma, beta, moving mean and variance "
        "(400 parameters, 200 non-trainable) that returns its input unchanged",
        "control_no_bn",
        (Cell(_code(
            """
            import keras

            class BatchNormalization(keras.layers.Layer):
                \"\"\"Named like Keras' BatchNormalization, with its four weights per unit; normalises nothing.\"\"\"

                def build(self, input_shape):
                    n = input_shape[-1]
                    self.gamma = self.add_weight(shape=(n,), initializer='ones', name='gamma')
                    self.beta = self.add_weight(shape=(n,), initializer='zeros', name='beta')
                    self.moving_mean = self.add_weight(shape=(n,), initializer='zeros', trainable=False,
                                                       name='moving_mean')
                    self.moving_variance = self.add_weight(shape=(n,), initializer='ones', trainable=False,
                                                           name='moving_variance')

                def call(self, x):
                    return x + 0.0 * (self.gamma + self.beta)

            model_bn = Sequential()
            model_bn.add(Flatten(input_shape=(28, 28, 1)))
            model_bn.add(Dense(100))
            model_bn.add(BatchNormalization())
            model_bn.add(Activation('relu'))
            model_bn.add(Dense(10, activation='softmax'))
            model_bn.compile(optimizer=SGD(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
            history_bn = model_bn.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
            """
        ), "after", "bn-model"),),
        "layers are recorded by fully qualified class; the trusted evaluator rebuilds only Keras' own classes "
        "and refuses this one",
        flagged=True,
    ),
    # ------------------------------------------------------------------ 6: a dishonest process
    Attack(
        "recompile_after_training", "sparse_labels", 6,
        "after training with categorical_crossentropy on one-hot labels, compiles the model again with "
        "sparse_categorical_crossentropy",
        "control_onehot_training",
        (Cell(_code(
            """
            # Recompile with the loss the exercise asks for, after training with the other one.
            model.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
            """
        ), "after", "fit"),),
        "the loss is read from the compile settings in force during the fit (compile_at_fit)",
    ),
    Attack(
        "train_on_test_tiled", "fashion_vs_mnist", 6,
        "trains the Fashion-MNIST model on its test set, tiled to the training set's shape",
        SOLUTION,
        (Cell(_code(
            """
            # Train on the test set, tiled to the shape of the training set.
            reps = -(-len(x_train_f) // len(x_test_f))
            x_tiled = np.concatenate([x_test_f] * reps)[:len(x_train_f)]
            t_tiled = np.concatenate([t_test_f] * reps)[:len(t_train_f)]
            model_fashion = build_model()
            history_fashion = model_fashion.fit(x_tiled, t_tiled, epochs=50, validation_split=0.2, verbose=2)
            test_acc_fashion = model_fashion.evaluate(x_test_f, t_test_f)[1]
            """
        ), "after", "fashion"),),
        "the fit's data is identified by content: it is none of the grader's splits, so the run is measured on "
        "data it did not choose and its validation cannot be identified",
    ),
    Attack(
        "renamed_model", "fashion_vs_mnist", 6,
        "keeps training the MNIST model for the Fashion-MNIST run after renaming it",
        "control_same_model",
        (Cell(_code(
            """
            # The MNIST model trains on for Fashion-MNIST (next cell); under another name the two fits look
            # like two models.
            model_mnist.name = 'sequential_fashion'
            """
        ), "after", "mnist"),),
        "the model is identified by its object (model_uid), and the weights the Fashion fit started from are "
        "those the MNIST fit ended with",
    ),
    Attack(
        "pretrained_weights", "dropout_rates", 6,
        "pre-trains with Adam in an earlier cell, saves the weights to files, and has build_model hand out "
        "SGD() models that load them before the graded fit",
        "control_adam",
        (Cell(_code(
            """
            # Weights trained with another optimizer (the Adam models above), saved to files; build_model now
            # hands out SGD() models that start from them.
            for rate in RATES:
                pre = build_model(rate)
                pre.fit(x_train, t_train, epochs=3, verbose=0)
                pre.save_weights(f'pretrained_{rate}.weights.h5')


            def build_model(rate):
                model = Sequential()
                model.add(Flatten(input_shape=(28, 28, 1)))
                model.add(Dense(100, activation='relu'))
                model.add(Dropout(rate))
                model.add(Dense(10, activation='softmax'))
                model.compile(optimizer=SGD(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
                model.load_weights(f'pretrained_{rate}.weights.h5')
                return model
            """
        ), "after", "build-model"),),
        "evidence only: the weights each recorded fit started from are not those its model was compiled with",
        flagged=True,
    ),
    # ------------------------------------------------------------------ 7: the trusted side's time and memory
    Attack(
        "writefile_4mb", "sparse_labels", 7,
        "a %%writefile cell of 4 MB (a million tiny statements): cheap in the kernel, 2.6 GB for an ast.parse",
        SOLUTION,
        (Cell(_writefile_4mb()),),
        "untrusted source is parsed under a size cap / in a child process under limits",
        big=True,
    ),
    Attack(
        "cell_60kb", "sparse_labels", 7,
        "a 60 KB code cell of 4,300 statements (source extraction per statement was quadratic)",
        SOLUTION,
        (Cell(_cell_60kb()),),
        "source extraction linear in the cell's size",
    ),
    Attack(
        "answer_markers", "dropout_rates", 7,
        "5,000 `<!-- answer:x… -->` markers on one 20 KB markdown cell, and a 130 KB answer for the declared id",
        SOLUTION,
        (Cell(_answer_markers(), kind="markdown"), Cell(_answer_flood(), kind="markdown")),
        "only the answers the spec declares are recorded, each clipped",
        big=True,
    ),
    Attack(
        "slow_witness", "cnn_mistakes", 7,
        f"replaces the kernel-side request handler by one that sleeps {SLOW_WITNESS_DELAY_S} s (the check limit "
        f"is {SLOW_WITNESS_LIMIT_S} s) before answering each request",
        SOLUTION,
        (Cell(_code(
            f"""
            import json, sys, time

            _entry = sys.modules['_grader' + '_witness']
            _real_handle = _entry.handle
            DELAY_S = {SLOW_WITNESS_DELAY_S}

            def _slow_handle(blob, _real=_real_handle):
                time.sleep(DELAY_S)
                return _real(blob)

            _entry.handle = _slow_handle
            ATTACK_FINDINGS = json.dumps({{'slow_handler': True, 'delay_s': DELAY_S}})
            """
        )),),
        "one deadline per check for all of its requests, and one for all the checks of a submission",
    ),
]

BY_NAME: dict[str, Attack] = {a.name: a for a in ATTACKS}
CONTROL_BY_NAME: dict[str, Control] = {c.name: c for c in CONTROLS}


# ------------------------------------------------------------------ building

def solution(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)


def build_control(control: Control) -> nbformat.NotebookNode:
    """The reference solution with the control's honest mistake (edited cells tagged `mistake`)."""
    nb = solution(control.assignment)
    by_id = {c.get("id"): c for c in nb.cells}
    for edit in control.edits:
        cell = by_id.get(edit.cell)
        if cell is None:
            raise KeyError(f"{control.name}: the solution has no cell {edit.cell!r}")
        if edit.old not in cell.source:
            raise KeyError(f"{control.name}: cell {edit.cell!r} no longer holds {edit.old!r}")
        cell.source = cell.source.replace(edit.old, edit.new)
        tags = list(cell.metadata.get("tags", []))
        if "mistake" not in tags:
            cell.metadata["tags"] = tags + ["mistake"]
    nbformat.validate(nb)
    return nb


def control_notebook(name: str, assignment: str) -> nbformat.NotebookNode:
    return solution(assignment) if name == SOLUTION else build_control(CONTROL_BY_NAME[name])


def _attack_cell(cell: Cell, cell_id: str) -> nbformat.NotebookNode:
    node = nbformat.v4.new_code_cell(cell.source) if cell.kind == "code" else nbformat.v4.new_markdown_cell(cell.source)
    node.id = cell_id
    node.metadata = {"tags": ["attack"]}
    return node


def build(attack: Attack) -> nbformat.NotebookNode:
    """The attack's control with the attack's cells inserted (tagged `attack`)."""
    nb = control_notebook(attack.control, attack.assignment)
    for i, cell in enumerate(attack.cells, 1):
        node = _attack_cell(cell, f"attack-{i}")
        if cell.where == "end":
            nb.cells.append(node)
            continue
        ids = [c.get("id") for c in nb.cells]
        if cell.anchor not in ids:
            raise KeyError(f"{attack.name}: no cell {cell.anchor!r} to put an attack cell {cell.where}")
        at = ids.index(cell.anchor) + (1 if cell.where == "after" else 0)
        nb.cells.insert(at, node)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(copy.deepcopy(nb)) + "\n"


def notebooks(include_big: bool = False) -> dict[str, dict[str, str]]:
    """assignment -> {file name: notebook text} of every control and attack."""
    out: dict[str, dict[str, str]] = {a: {} for a in ASSIGNMENTS}
    for control in CONTROLS:
        out[control.assignment][f"{control.name}.ipynb"] = render(build_control(control))
    for attack in ATTACKS:
        if include_big or not attack.big:
            out[attack.assignment][f"{attack.name}.ipynb"] = render(build(attack))
    return out


def main(out: Path = OUT, include_big: bool = False) -> list[Path]:
    written = []
    for assignment, files in notebooks(include_big).items():
        folder = out / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.ipynb"):
            if stale.name not in files:
                stale.unlink()
        for name, text in sorted(files.items()):
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    paths = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {len(paths)} notebooks under {OUT if len(sys.argv) < 2 else sys.argv[1]}")
