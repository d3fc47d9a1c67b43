# Kernel-side bootstrap: sent as text and run in the student's kernel before the first
# cell, in a private namespace (not the student's globals). It is NOT imported by
# the grader. Nothing here is secret: it holds no test,
# no expected value, and the student may read or break it; breaking it only makes the
# kernel a worse witness of the student's own work, which the trusted side then
# reports. The grader puts _GRADER_CONFIG in the namespace before running it.
#
# It installs: seeds, the profile (data set shim, epoch cap), a trace recorder, and
# the witness module `_grader_witness` that answers the trusted side's questions.
# Keras is traced by post-import hooks (`on_import`): the bootstrap itself never
# imports TensorFlow or Keras (3 s), and a notebook that never imports them pays nothing.
#
# Trace events (dicts; every one has "event" and "t", a Unix time stamp):
#   load_data       dataset, train, test                     (the data set shim served it)
#   compile         model (Keras name), model_uid (matches nb.model()["uid"]), model_class,
#                   optimizer {"class", "config": get_config()}, optimizer_arg (a string
#                   as passed, e.g. 'sgd', or the class name), loss (as passed: string,
#                   function __name__ or Loss class name), loss_key (snake_case of it),
#                   metrics (names as passed)
#   fit             model, model_uid, model_class, layers [{"class", "config"}], params,
#                   epochs_asked, epochs_capped_to (== epochs_asked when the profile does
#                   not cap), initial_epoch, batch_size (None = Keras' default 32),
#                   validation_split, validation_data (bool), validation ({"x", "y"} data
#                   summaries or None), shuffle, verbose, x, y (data summaries: type,
#                   shape, dtype, min, max), callbacks [{"class", "config": {monitor, mode,
#                   patience, min_delta, baseline, restore_best_weights, start_from_epoch,
#                   filepath, filepath_abs, save_best_only, save_weights_only, save_freq,
#                   factor, min_lr, cooldown, verbose: those the callback has},
#                   "after": {stopped_epoch, best, best_epoch, wait: after fit}}],
#                   epochs_run (counted per epoch, so also right when a time limit stops
#                   fit), stopped_early (epochs_run < the epochs allowed), finished (fit
#                   returned), error (when it raised), seconds, history_keys, final (the
#                   last epoch's value of each history key)
#   evaluate        model, model_uid, x, y, result, calls (consecutive alike calls merge);
#                   fit's own validation passes are not recorded
#   predict         model, model_uid, x (no min/max), output_shape, calls
#   to_categorical  via (the module whose attribute was called: keras.utils,
#                   tensorflow.keras.utils, ...), caller (the calling module's __name__,
#                   '__main__' for notebook code), num_classes, x, calls
#   profile         action: 'dataset shim installed' (module) | 'keras traced'
#                   (max_epochs) | 'epoch cap' (model, asked, capped_to, profile)
#   bootstrap_error where/module, error     (a hook failed; the run goes on)
# What the grader itself does in the kernel (evaluate_checkpoint) is never recorded.
import sys as _sys
import types as _types


def _grader_bootstrap(config):
    import base64
    import builtins
    import importlib.abc
    import importlib.util
    import io
    import json
    import math
    import os
    import random
    import time

    import numpy as np

    seed = int(config["seed"])
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)

    mime = config["mime"]
    max_reply = int(config["max_reply_bytes"])
    trace = []

    def record(event, **fields):
        """Append one event to the trace; return it (the caller may complete it later)."""
        fields["event"] = event
        fields["t"] = round(time.time(), 3)
        if len(trace) < 10000:
            trace.append(fields)
        return fields

    # ---------------------------------------------------------------- encoding
    class TooBig(Exception):
        pass

    _save = np.save
    _asarray = np.asarray
    _ndarray = np.ndarray
    _generic = np.generic

    def encode(value, budget, depth=0):
        if depth > 32:
            raise TooBig("value is nested more than 32 levels deep")
        budget[0] -= 1
        if budget[0] < 0:
            raise TooBig("value has too many parts")
        t = type(value)
        if value is None or t is bool or t is str:
            if t is str and len(value) > max_reply:
                raise TooBig("string is too long")
            return value
        if t is int:
            if abs(value) < 2**53:
                return value
            return {"$int": str(value)}
        if t is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}
        if isinstance(value, _generic):
            return encode(value.item(), budget, depth + 1)
        if isinstance(value, _ndarray):
            arr = _asarray(value)
            if arr.dtype.kind not in "biufc":
                return {"$object": "ndarray of " + str(arr.dtype), "repr": ""}
            if arr.nbytes > max_reply:
                raise TooBig(f"array of {arr.nbytes} bytes")
            buf = io.BytesIO()
            _save(buf, arr, allow_pickle=False)
            return {"$ndarray": base64.b64encode(buf.getvalue()).decode("ascii")}
        if t is list:
            return [encode(v, budget, depth + 1) for v in value]
        if t is tuple:
            return {"$tuple": [encode(v, budget, depth + 1) for v in value]}
        if t is dict:
            return {"$dict": [[encode(k, budget, depth + 1), encode(v, budget, depth + 1)] for k, v in value.items()]}
        name = t.__module__ + "." + t.__qualname__
        try:
            text = object.__repr__(value)
        except Exception:
            text = ""
        return {"$object": name, "repr": text[:200]}

    def decode(value):
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            if "$ndarray" in value:
                raw = base64.b64decode(value["$ndarray"])
                return np.load(io.BytesIO(raw), allow_pickle=False)
            if "$tuple" in value:
                return tuple(decode(v) for v in value["$tuple"])
            if "$dict" in value:
                return {decode(k): decode(v) for k, v in value["$dict"]}
            if "$float" in value:
                return float(value["$float"])
            if "$int" in value:
                return int(value["$int"])
        return value

    from IPython.display import publish_display_data

    def send(payload):
        text = json.dumps(payload)
        if len(text) > max_reply:
            payload = {"id": payload["id"], "ok": False,
                       "error": {"type": "TooBig", "message": f"the answer is {len(text)} bytes, over the limit"}}
            text = json.dumps(payload)
        publish_display_data({mime: text})

    # ---------------------------------------------------------------- forbidden calls
    def make_profiler(patterns, hits):
        def prof(frame, event, arg):
            if event == "call":
                mod = frame.f_globals.get("__name__", "") or ""
                name = frame.f_code.co_name
            elif event == "c_call":
                mod = getattr(arg, "__module__", "") or ""
                if not mod and type(arg).__name__ == "ufunc":
                    mod = "numpy"
                name = getattr(arg, "__name__", "") or ""
            else:
                return
            for top, leaf, dotted in patterns:
                if (mod == top or mod.startswith(top + ".")) and (
                    name == leaf or name.startswith(leaf + "_v")
                ):
                    if dotted not in hits:
                        hits.append(dotted)
        return prof

    def user_ns():
        return get_ipython().user_ns  # noqa: F821 - defined in IPython kernels

    def describe_exc(exc):
        return {"type": type(exc).__name__, "message": str(exc)[:2000]}

    def handle(request_b64):
        req = json.loads(base64.b64decode(request_b64))
        rid = req["id"]
        try:
            op = req["op"]
            ns = user_ns()
            if op == "get":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                value = ns[req["name"]]
                send({"id": rid, "ok": True, "value": encode(value, [1_000_000])})
            elif op == "has":
                send({"id": rid, "ok": True, "value": req["name"] in ns})
            elif op == "type":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                t = type(ns[req["name"]])
                send({"id": rid, "ok": True, "value": t.__module__ + "." + t.__qualname__})
            elif op == "call":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                fn = ns[req["name"]]
                args = decode(req["args"])
                kwargs = decode(req["kwargs"])
                hits = []
                patterns = []
                for dotted in req.get("forbid", []):
                    top = dotted.split(".")[0]
                    patterns.append((top, dotted.rsplit(".", 1)[-1], dotted))
                old = _sys.getprofile()
                if patterns:
                    _sys.setprofile(make_profiler(patterns, hits))
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # the student's exception is data here
                    _sys.setprofile(old)
                    send({"id": rid, "ok": False, "error": describe_exc(exc), "student": True,
                          "forbidden": hits})
                    return
                finally:
                    _sys.setprofile(old)
                send({"id": rid, "ok": True, "value": encode(result, [1_000_000]), "forbidden": hits})
            elif op == "trace":
                send({"id": rid, "ok": True, "value": encode(list(trace), [1_000_000])})
            elif op in EXTRA_OPS:
                send({"id": rid, "ok": True, "value": encode(EXTRA_OPS[op](ns, req), [1_000_000])})
            else:
                send({"id": rid, "ok": False, "error": {"type": "BadRequest", "message": op}})
        except TooBig as exc:
            send({"id": rid, "ok": False, "error": {"type": "TooBig", "message": str(exc)}})
        except BaseException as exc:
            send({"id": rid, "ok": False, "error": describe_exc(exc)})

    EXTRA_OPS = {}

    # ---------------------------------------------------------------- profile: data sets
    data_dir = config.get("data_dir")

    def make_loader(name):
        def load_data(*args, **kwargs):
            path = os.path.join(data_dir or "/data", name + ".npz")
            if not os.path.exists(path):
                raise RuntimeError(
                    f"the grader did not provide the data set {name!r} for this assignment"
                )
            with np.load(path, allow_pickle=False) as f:
                out = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
            # The served file is read-only: evaluate_checkpoint reads the same arrays
            # from it again, untouched by whatever the notebook did to its copies.
            loaded[name] = path
            record("load_data", dataset=name, train=int(len(out[0][0])), test=int(len(out[1][0])))
            return out
        load_data.__grader_shim__ = True
        return load_data

    shims = {
        "keras.src.datasets.mnist": make_loader("mnist"),
        "keras.src.datasets.fashion_mnist": make_loader("fashion_mnist"),
    }
    after_import = {}

    def patch_dataset(module):
        shim = shims[module.__name__]
        # Patched right after the module body ran, before any alias of it
        # (keras.datasets.*, tf.keras.datasets.*) is bound elsewhere.
        module.load_data = shim
        record("profile", action="dataset shim installed", module=module.__name__)

    loaded = {}  # data set name -> the file load_data served

    def on_import(name, fn):
        after_import.setdefault(name, []).append(fn)
        module = _sys.modules.get(name)
        if module is not None:  # imported before the bootstrap ran: patch it now
            try:
                fn(module)
            except Exception as exc:
                record("bootstrap_error", module=name, error=repr(exc)[:300])

    for modname in shims:
        on_import(modname, patch_dataset)

    def seed_tensorflow(module):
        try:
            module.random.set_seed(seed)
        except Exception:
            pass

    def seed_keras(module):
        try:
            module.utils.set_random_seed(seed)
        except Exception:
            pass

    on_import("tensorflow", seed_tensorflow)
    on_import("keras", seed_keras)

    # ---------------------------------------------------------------- post-import hooks
    class PostImport(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname not in after_import:
                return None
            _sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                _sys.meta_path.insert(0, self)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            exec_module = loader.exec_module

            def exec_and_patch(module, _exec=exec_module, _name=fullname):
                _exec(module)
                for fn in after_import[_name]:
                    try:
                        fn(module)
                    except Exception as exc:
                        record("bootstrap_error", module=_name, error=repr(exc)[:300])

            class Wrapped(importlib.abc.Loader):
                def create_module(self, spec):
                    return loader.create_module(spec)

                def exec_module(self, module):
                    exec_and_patch(module)

            spec.loader = Wrapped()
            return spec

    _sys.meta_path.insert(0, PostImport())

    install_keras_tracing(
        config=config, record=record, trace=trace, on_import=on_import, EXTRA_OPS=EXTRA_OPS, loaded=loaded,
        data_dir=data_dir, decode=decode, np=np,
    )

    module = _types.ModuleType("_grader_witness")
    module.handle = handle
    module.record = record
    module.trace = trace
    module.encode = encode
    module.decode = decode
    module.on_import = on_import
    module.EXTRA_OPS = EXTRA_OPS
    module.config = config
    _sys.modules["_grader_witness"] = module
    del builtins



def install_keras_tracing(*, config, record, trace, on_import, EXTRA_OPS, loaded, data_dir, decode, np):
    """The Keras half of the bootstrap: the trace recorder (compile, fit, evaluate,
    predict, to_categorical), the profile's epoch cap, and the witness ops that
    describe models, histories and checkpoints. Everything is installed by post-import
    hooks: nothing here imports TensorFlow or Keras itself."""
    import functools
    import inspect
    import math
    import os
    import re
    import time

    profile = config["profile"]
    max_epochs = profile.get("max_epochs")
    home_dir = os.getcwd()
    internal = [0]  # > 0 while the grader itself drives Keras (not the student's doing)
    in_fit = [0]  # > 0 inside a traced fit (its own evaluate calls are not the student's)
    compiled = {}  # id(model) -> (model, compile description)
    fit_results = []  # (fit event, History) for every traced fit

    class Invalid(Exception):
        """A question the notebook's state cannot answer; the message is for the student."""

    class MissingName(Exception):
        pass

    # ------------------------------------------------------------ JSON-safe summaries
    def plain(value, depth=0):
        if depth > 8:
            return "..."
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value[:500]
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, np.generic):
            return plain(value.item(), depth + 1)
        if isinstance(value, np.ndarray):
            return plain(value.item(), depth + 1) if value.size == 1 else f"<ndarray {list(value.shape)}>"
        if isinstance(value, (list, tuple)):
            return [plain(v, depth + 1) for v in list(value)[:100]]
        if isinstance(value, dict):
            return {str(k)[:100]: plain(v, depth + 1) for k, v in list(value.items())[:100]}
        if hasattr(value, "numpy") and getattr(value, "shape", None) is not None:
            try:
                if len(value.shape) == 0:
                    return plain(value.numpy(), depth + 1)
            except Exception:
                pass
        return f"<{type(value).__name__}>"

    def name_of(obj):
        """What the student passed, as a name: strings as they are, functions by
        __name__, objects (Loss, Metric, Optimizer instances) by class name."""
        if obj is None or isinstance(obj, str):
            return obj
        if isinstance(obj, (list, tuple)):
            return [name_of(o) for o in list(obj)[:50]]
        if isinstance(obj, dict):
            return {str(k)[:100]: name_of(v) for k, v in list(obj.items())[:50]}
        if isinstance(obj, type):
            return obj.__name__
        n = getattr(obj, "__name__", None)
        if isinstance(n, str):
            return n
        return type(obj).__name__

    def snake(name):
        if not isinstance(name, str):
            return None
        if name != name.lower() and name != name.upper():
            name = re.sub(r"(?<!^)(?=[A-Z])", "_", name)
        return name.lower()

    def describe_data(x, stats=True):
        """Shape, dtype and value range of a fit/evaluate input (how it was scaled)."""
        if x is None:
            return None
        try:
            if isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "dtype")):
                arr = x if isinstance(x, np.ndarray) else None
                shape = [None if d is None else int(d) for d in x.shape]
                out = {"type": type(x).__name__, "shape": shape, "dtype": str(getattr(x.dtype, "name", x.dtype))}
                if stats:
                    if arr is None and hasattr(x, "numpy"):
                        arr = np.asarray(x.numpy())
                    if arr is not None and arr.dtype.kind in "biuf" and arr.size:
                        out["min"] = float(arr.min())
                        out["max"] = float(arr.max())
                return out
            if isinstance(x, (list, tuple)):
                return {"type": type(x).__name__, "len": len(x),
                        "items": [describe_data(v, stats) for v in list(x)[:4]]}
            if isinstance(x, dict):
                return {"type": "dict", "keys": [str(k)[:100] for k in list(x)[:20]]}
        except Exception as exc:
            return {"type": type(x).__name__, "error": repr(exc)[:200]}
        return {"type": type(x).__name__}

    # ------------------------------------------------------------ models
    LAYER_KEYS = (
        "units", "activation", "use_bias", "rate", "filters", "kernel_size", "strides",
        "padding", "pool_size", "axis", "momentum", "epsilon", "center", "scale",
        "target_shape", "dims", "dilation_rate", "groups",
    )

    def is_model(obj):
        mod = _sys.modules.get("keras.src.models.model")
        return mod is not None and isinstance(obj, mod.Model)

    def is_history(obj):
        return any(c.__name__ == "History" for c in type(obj).__mro__) and isinstance(
            getattr(obj, "history", None), dict
        )

    def shape_list(shape):
        try:
            if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
                return None  # several inputs/outputs
            return [None if d is None else int(d) for d in shape]
        except Exception:
            return None

    def describe_layer(layer, input_shape=None):
        try:
            cfg = layer.get_config()
        except Exception:
            cfg = {}
        small = {k: plain(cfg[k]) for k in LAYER_KEYS if k in cfg}
        if input_shape is not None:
            small["input_shape"] = input_shape
        out_shape = None
        try:
            out_shape = shape_list(layer.output.shape)
        except Exception:
            pass
        params = None
        try:
            if layer.built:
                params = int(layer.count_params())
        except Exception:
            pass
        return {"class": type(layer).__name__, "name": str(layer.name)[:200], "config": small,
                "output_shape": out_shape, "params": params}

    def model_layers(model):
        layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        try:
            ishape = shape_list(model.input_shape)
        except Exception:
            ishape = None
        out = []
        for i, layer in enumerate(layers[:500]):
            out.append(describe_layer(layer, ishape[1:] if (i == 0 and ishape) else None))
        return out, ishape

    def count(weights):
        total = 0
        for w in weights:
            n = 1
            for d in w.shape:
                n *= int(d)
            total += n
        return total

    def describe_optimizer(opt):
        if opt is None:
            return None
        if isinstance(opt, str):
            return {"class": opt, "config": {}}
        try:
            cfg = plain(opt.get_config())
        except Exception:
            cfg = {}
        return {"class": type(opt).__name__, "config": cfg if isinstance(cfg, dict) else {}}

    def compile_info(model):
        entry = compiled.get(id(model))
        if entry is not None and entry[0] is model:
            info = dict(entry[1])
            info["optimizer"] = describe_optimizer(getattr(model, "optimizer", None)) or info["optimizer"]
            return info
        if not getattr(model, "compiled", False):
            return None
        cc = getattr(getattr(model, "_compile_config", None), "config", None) or {}
        loss = name_of(getattr(model, "loss", None))
        return {"optimizer": describe_optimizer(getattr(model, "optimizer", None)),
                "loss": loss, "loss_key": snake(loss) if isinstance(loss, str) else None,
                "metrics": name_of(cc.get("metrics")) or []}

    def describe_model(model):
        layers, ishape = model_layers(model)
        return {
            "class": type(model).__name__,
            "name": str(model.name)[:200],
            "uid": id(model),
            "built": bool(getattr(model, "built", False)),
            "input_shape": ishape,
            "layers": layers,
            "trainable_params": count(model.trainable_weights),
            "non_trainable_params": count(model.non_trainable_weights),
            "compile": compile_info(model),
        }

    # ------------------------------------------------------------ callbacks
    CALLBACK_KEYS = (
        "monitor", "mode", "patience", "min_delta", "baseline", "restore_best_weights",
        "start_from_epoch", "filepath", "save_best_only", "save_weights_only", "save_freq",
        "initial_value_threshold", "factor", "min_lr", "cooldown", "verbose",
    )
    AFTER_KEYS = ("stopped_epoch", "best", "best_epoch", "wait")

    def describe_callback(cb):
        cfg = {}
        for k in CALLBACK_KEYS:
            if hasattr(cb, k):
                try:
                    cfg[k] = plain(getattr(cb, k))
                except Exception:
                    pass
        if isinstance(cfg.get("filepath"), str):
            cfg["filepath_abs"] = os.path.abspath(cfg["filepath"])
        return {"class": type(cb).__name__, "config": cfg}

    def after_callback(cb, desc):
        after = {}
        for k in AFTER_KEYS:
            if hasattr(cb, k):
                try:
                    after[k] = plain(getattr(cb, k))
                except Exception:
                    pass
        desc["after"] = after

    # ------------------------------------------------------------ Model patches
    def patch_model_class(module):
        Model = module.Model
        if getattr(Model.fit, "__grader_wrapped__", False):
            return
        # compile is patched where it is defined (Trainer): Keras' load_model compiles a
        # loaded model only when type(model).compile is Trainer.compile.
        trainer_mod = _sys.modules.get("keras.src.trainers.trainer")
        Trainer = getattr(trainer_mod, "Trainer", None)
        owner = Trainer if Trainer is not None and Model.compile is Trainer.compile else Model
        orig_compile, orig_fit = owner.compile, Model.fit
        orig_evaluate, orig_predict = Model.evaluate, Model.predict
        compile_sig = inspect.signature(orig_compile)
        fit_sig = inspect.signature(orig_fit)
        eval_sig = inspect.signature(orig_evaluate)

        @functools.wraps(orig_compile)
        def compile(self, *args, **kwargs):
            result = orig_compile(self, *args, **kwargs)
            try:
                bound = compile_sig.bind(self, *args, **kwargs)
                bound.apply_defaults()
                a = bound.arguments
                opt_arg = a.get("optimizer")
                loss = name_of(a.get("loss"))
                info = {
                    "optimizer": describe_optimizer(getattr(self, "optimizer", None)),
                    "optimizer_arg": opt_arg if isinstance(opt_arg, str) else name_of(opt_arg),
                    "loss": loss,
                    "loss_key": snake(loss) if isinstance(loss, str) else None,
                    "metrics": name_of(a.get("metrics")) or [],
                }
                compiled[id(self)] = (self, info)
                if not internal[0]:
                    record("compile", model=str(self.name)[:200], model_uid=id(self),
                           model_class=type(self).__name__, **info)
            except Exception as exc:
                record("bootstrap_error", where="compile", error=repr(exc)[:300])
            return result

        def epoch_counter(event):
            from keras.src.callbacks.callback import Callback

            class _GraderEpochCounter(Callback):
                def on_epoch_end(self, epoch, logs=None):
                    event["epochs_run"] = int(event.get("epochs_run") or 0) + 1

            return _GraderEpochCounter()

        @functools.wraps(orig_fit)
        def fit(self, *args, **kwargs):
            if internal[0]:
                return orig_fit(self, *args, **kwargs)
            try:
                bound = fit_sig.bind(self, *args, **kwargs)
                bound.apply_defaults()
            except TypeError:
                return orig_fit(self, *args, **kwargs)  # Keras says what is wrong
            a = bound.arguments
            event = None
            callbacks = a.get("callbacks")
            described = []
            try:
                epochs = a.get("epochs")
                initial = a.get("initial_epoch") or 0
                capped = epochs
                if (max_epochs and isinstance(epochs, int) and not isinstance(epochs, bool)
                        and isinstance(initial, int) and epochs - initial > max_epochs):
                    capped = initial + int(max_epochs)
                    a["epochs"] = capped
                cb_list = list(callbacks) if isinstance(callbacks, (list, tuple)) else (
                    [] if callbacks is None else None)
                for cb in cb_list or []:
                    described.append((cb, describe_callback(cb)))
                layers, _ = model_layers(self)
                vd = a.get("validation_data")
                if isinstance(vd, (list, tuple)):
                    val = {"x": describe_data(vd[0] if len(vd) > 0 else None, stats=True),
                           "y": describe_data(vd[1] if len(vd) > 1 else None, stats=True)}
                else:
                    val = None if vd is None else {"x": describe_data(vd)}
                event = record(
                    "fit",
                    model=str(self.name)[:200], model_uid=id(self), model_class=type(self).__name__,
                    layers=[{"class": d["class"], "config": d["config"]} for d in layers],
                    params=count(self.weights) if getattr(self, "built", False) else None,
                    epochs_asked=plain(epochs), epochs_capped_to=plain(capped), initial_epoch=plain(initial),
                    batch_size=plain(a.get("batch_size")), validation_split=plain(a.get("validation_split")),
                    validation_data=vd is not None, validation=val, shuffle=plain(a.get("shuffle")),
                    verbose=plain(a.get("verbose")),
                    x=describe_data(a.get("x")), y=describe_data(a.get("y")),
                    callbacks=[d for _, d in described] if cb_list is not None else [
                        {"class": type(callbacks).__name__, "config": {}}],
                    epochs_run=0, stopped_early=False, finished=False,
                )
                if capped != epochs:
                    record("profile", action="epoch cap", model=str(self.name)[:200], asked=plain(epochs),
                           capped_to=plain(capped), profile=profile.get("name"))
                if cb_list is not None:
                    a["callbacks"] = cb_list + [epoch_counter(event)]
            except Exception as exc:
                record("bootstrap_error", where="fit", error=repr(exc)[:300])
            started = time.time()
            in_fit[0] += 1
            try:
                history = orig_fit(*bound.args, **bound.kwargs)
            except BaseException as exc:
                if event is not None:
                    event["error"] = (type(exc).__name__ + ": " + str(exc))[:500]
                    event["seconds"] = round(time.time() - started, 3)
                    for cb, d in described:
                        after_callback(cb, d)
                raise
            finally:
                in_fit[0] -= 1
            if event is not None:
                try:
                    event["seconds"] = round(time.time() - started, 3)
                    event["finished"] = True
                    hist = getattr(history, "history", None)
                    epochs_list = getattr(history, "epoch", None)
                    if isinstance(epochs_list, list):
                        event["epochs_run"] = len(epochs_list)
                    if isinstance(hist, dict):
                        event["history_keys"] = [str(k) for k in hist]
                        event["final"] = {str(k): plain(v[-1]) for k, v in hist.items()
                                          if isinstance(v, list) and v}
                    cap = event["epochs_capped_to"]
                    if isinstance(cap, int):
                        event["stopped_early"] = event["epochs_run"] < cap - (event["initial_epoch"] or 0)
                    for cb, d in described:
                        after_callback(cb, d)
                    fit_results.append((event, history))
                except Exception as exc:
                    record("bootstrap_error", where="fit-after", error=repr(exc)[:300])
            return history

        def coalesce(event, model, **fields):
            last = trace_last()
            if (last is not None and last.get("event") == event and last.get("model_uid") == id(model)
                    and all(last.get(k) == v for k, v in fields.items() if k not in ("result", "output_shape"))):
                last["calls"] = int(last.get("calls", 1)) + 1
                return last
            return record(event, model=str(model.name)[:200], model_uid=id(model), calls=1, **fields)

        @functools.wraps(orig_evaluate)
        def evaluate(self, *args, **kwargs):
            result = orig_evaluate(self, *args, **kwargs)
            if not internal[0] and not in_fit[0]:  # fit evaluates the validation data itself
                try:
                    bound = eval_sig.bind(self, *args, **kwargs)
                    coalesce("evaluate", self, x=describe_data(bound.arguments.get("x")),
                             y=describe_data(bound.arguments.get("y")), result=plain(result))
                except Exception as exc:
                    record("bootstrap_error", where="evaluate", error=repr(exc)[:300])
            return result

        @functools.wraps(orig_predict)
        def predict(self, *args, **kwargs):
            result = orig_predict(self, *args, **kwargs)
            if not internal[0] and not in_fit[0]:
                try:
                    x = args[0] if args else kwargs.get("x")
                    shape = shape_list(result.shape) if hasattr(result, "shape") else None
                    coalesce("predict", self, x=describe_data(x, stats=False), output_shape=shape)
                except Exception as exc:
                    record("bootstrap_error", where="predict", error=repr(exc)[:300])
            return result

        for fn in (compile, fit, evaluate, predict):
            fn.__grader_wrapped__ = True
        owner.compile = compile
        Model.fit, Model.evaluate, Model.predict = fit, evaluate, predict
        record("profile", action="keras traced", max_epochs=max_epochs)

    def trace_last():
        return trace[-1] if trace else None

    on_import("keras.src.models.model", patch_model_class)

    # ------------------------------------------------------------ to_categorical
    def make_tc_wrapper(orig, via):
        @functools.wraps(orig)
        def to_categorical(*args, **kwargs):
            if not internal[0]:
                try:
                    caller = _sys._getframe(1).f_globals.get("__name__", "")
                    x = args[0] if args else kwargs.get("x", kwargs.get("y"))
                    nc = args[1] if len(args) > 1 else kwargs.get("num_classes")
                    last = trace_last()
                    if (last is not None and last.get("event") == "to_categorical" and last.get("via") == via
                            and last.get("caller") == caller):
                        last["calls"] = int(last.get("calls", 1)) + 1
                    else:
                        record("to_categorical", via=via, caller=str(caller)[:200], num_classes=plain(nc),
                               x=describe_data(x, stats=False), calls=1)
                except Exception as exc:
                    record("bootstrap_error", where="to_categorical", error=repr(exc)[:300])
            return orig(*args, **kwargs)

        to_categorical.__grader_wrapped__ = True
        to_categorical.__grader_orig__ = orig
        return to_categorical

    def patch_to_categorical(module):
        fn = getattr(module, "to_categorical", None)
        if fn is None or not callable(fn):
            return
        orig = getattr(fn, "__grader_orig__", fn)
        module.to_categorical = make_tc_wrapper(orig, module.__name__)

    for name in (
        "keras.src.utils.numerical_utils", "keras.src.utils", "keras.utils",
        "keras._tf_keras.keras.utils", "tensorflow.keras.utils",
        "tensorflow.python.keras.utils.np_utils", "tensorflow.python.keras.utils",
        "tf_keras.src.utils.np_utils", "tf_keras.src.utils", "tf_keras.utils",
    ):
        on_import(name, patch_to_categorical)

    # ------------------------------------------------------------ witness ops
    def resolve(ns, req):
        name = req.get("name")
        if not isinstance(name, str):
            raise Invalid("malformed question: no name")
        if name not in ns:
            raise MissingName(name)
        value = ns[name]
        where = f"`{name}`"
        for key in decode(req.get("path") or []):
            if isinstance(value, dict):
                if key not in value:
                    keys = list(value)[:10]
                    hint = ""
                    if any(isinstance(k, str) for k in keys) and not isinstance(key, str):
                        hint = " (its keys are strings; use the numbers themselves as keys, e.g. 0.25, not '0.25')"
                    raise Invalid(f"{where} has no key {key!r}; its keys are {keys!r}{hint}")
                value = value[key]
            elif isinstance(value, (list, tuple)) and isinstance(key, int):
                if not -len(value) <= key < len(value):
                    raise Invalid(f"{where} has no item {key} (it has {len(value)})")
                value = value[key]
            else:
                raise Invalid(f"{where} is a {type(value).__name__}, not a dict")
            where = f"{where}[{key!r}]"
        return value, where

    def op_model(ns, req):
        value, where = resolve(ns, req)
        if is_history(value) and is_model(getattr(value, "model", None)):
            value = value.model
        if not is_model(value):
            raise Invalid(f"{where} is a {type(value).__name__}, not a Keras model")
        return describe_model(value)

    def op_history(ns, req):
        value, where = resolve(ns, req)
        if is_history(value):
            return {"history": value.history, "of": "History"}
        if isinstance(value, dict):
            return {"history": value, "of": "dict"}
        raise Invalid(f"{where} is a {type(value).__name__}; expected a Keras History (what fit returns) "
                      "or its .history dict")

    def op_fit_for(ns, req):
        value, where = resolve(ns, req)
        if is_history(value):
            target = value.history
        elif isinstance(value, dict):
            target = value
        else:
            raise Invalid(f"{where} is a {type(value).__name__}; expected a Keras History (what fit returns) "
                          "or its .history dict")
        for event, hist in reversed(fit_results):
            if value is hist or target is getattr(hist, "history", None):
                return event
        for event, hist in reversed(fit_results):
            h = getattr(hist, "history", None)
            try:
                if isinstance(h, dict) and set(h) == set(target) and all(
                    list(map(float, h[k])) == list(map(float, target[k])) for k in h
                ):
                    return event
            except Exception:
                continue
        return None

    def op_evaluate_checkpoint(ns, req):
        path = req.get("path")
        if not isinstance(path, str) or not path or "\0" in path or len(path) > 4096:
            raise Invalid(f"the checkpoint path must be a non-empty string, got {path!r}")
        home = os.path.realpath(home_dir)
        full = os.path.realpath(os.path.join(home_dir, os.path.expanduser(path)))
        if os.path.commonpath([full, home]) != home:
            raise Invalid(f"the checkpoint {path!r} is outside your notebook's folder; save checkpoints beside the "
                          "notebook (a relative path such as 'best_model.keras')")
        if not os.path.isfile(full):
            raise Invalid(f"there is no checkpoint file at {path!r} (was it saved? is the name the same as "
                          "the ModelCheckpoint's filepath?)")
        split = req.get("split", "test")
        if split not in ("train", "test", "validation"):
            raise Invalid(f"unknown split {split!r}")
        name = req.get("dataset")
        if name is None:
            if len(loaded) == 1:
                name = next(iter(loaded))
            elif not loaded:
                raise Invalid("the notebook did not load a data set with load_data(), so the checkpoint "
                              "cannot be evaluated")
            else:
                names = ", ".join(sorted(loaded))
                raise Invalid(f"the notebook loaded several data sets ({names}): the check must say which")
        src = loaded.get(name) or os.path.join(data_dir or "/data", str(name) + ".npz")
        if not os.path.isfile(src):
            raise Invalid(f"the data set {name!r} was not provided to this notebook")
        scale = float(req.get("scale", 1.0 / 255.0))
        vsplit = float(req.get("validation_split", 0.2))
        with np.load(src, allow_pickle=False) as f:
            if split == "test":
                x, y = f["x_test"], f["y_test"]
            else:
                x, y = f["x_train"], f["y_train"]
                if split == "validation":  # what fit(validation_split=...) holds out: the end
                    at = int(math.floor(len(x) * (1.0 - vsplit)))
                    x, y = x[at:], y[at:]
        x = x.astype("float32") * np.float32(scale)
        internal[0] += 1
        try:
            import keras

            if full.endswith(".weights.h5"):
                base_name = req.get("model")
                base = ns.get(base_name) if isinstance(base_name, str) else None
                if is_history(base):
                    base = getattr(base, "model", None)
                if not is_model(base):
                    raise Invalid(f"{path!r} holds only weights (save_weights_only=True): the grader needs the model "
                                  "too; keep the History that fit returned (not only its .history dict), "
                                  "or save the whole model (a .keras file)")
                model = keras.models.clone_model(base)
                if not model.built:
                    model.build(base.input_shape)
                model.load_weights(full)
                model.compile(loss=getattr(base, "loss", None) or "sparse_categorical_crossentropy",
                              metrics=["accuracy"])
            else:
                try:
                    model = keras.models.load_model(full)
                except Exception as exc:
                    raise Invalid(f"keras.models.load_model could not load {path!r}: {str(exc)[:300]}") from None
            try:
                ishape = model.input_shape
                target = tuple(int(d) for d in ishape[1:])
                if int(np.prod(target)) == int(np.prod(x.shape[1:])) and tuple(x.shape[1:]) != target:
                    x = x.reshape((-1,) + target)
            except Exception:
                pass
            probs = np.asarray(model.predict(x, batch_size=256, verbose=0))
            accuracy = None
            if probs.ndim == 2 and probs.shape[1] > 1:
                accuracy = float(np.mean(np.argmax(probs, axis=1) == y))
            loss = None
            metrics = {}
            loss_name = snake(name_of(getattr(model, "loss", None))) if getattr(model, "compiled", False) else None
            if loss_name:
                yy = y
                if "categorical" in loss_name and "sparse" not in loss_name and probs.ndim == 2:
                    yy = np.eye(probs.shape[1], dtype="float32")[y]
                res = model.evaluate(x, yy, batch_size=32, verbose=0, return_dict=True)
                metrics = {str(k): float(v) for k, v in res.items()}
                loss = metrics.get("loss")
            if loss is None and probs.ndim == 2:
                p = np.clip(probs[np.arange(len(y)), y].astype("float64"), 1e-7, 1.0)
                loss = float(-np.mean(np.log(p)))
            return {"loss": loss, "accuracy": accuracy, "samples": int(len(y)), "dataset": name,
                    "split": split, "file": os.path.relpath(full, home), "metrics": metrics}
        finally:
            internal[0] -= 1

    EXTRA_OPS["model"] = op_model
    EXTRA_OPS["history"] = op_history
    EXTRA_OPS["fit_for"] = op_fit_for
    EXTRA_OPS["evaluate_checkpoint"] = op_evaluate_checkpoint


_grader_bootstrap(_GRADER_CONFIG)  # noqa: F821 - set by the grader in this private namespace
