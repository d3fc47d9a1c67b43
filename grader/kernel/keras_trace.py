"""Keras tracing: compile, fit, evaluate, predict and to_categorical record trace
events, and fit applies the profile's epoch cap. Installed by post-import hooks on the
classes and modules that define them; nothing here imports Keras."""

from __future__ import annotations

import inspect
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from . import imports, wrappers
from .keras_describe import (
    COMPILED,
    after_callback,
    compile_info,
    count,
    describe_callback,
    describe_optimizer,
    model_layers,
    shape_list,
    weights_digest,
)
from .recorder import describe_data, failed, fingerprint, last, name_of, plain, record, seal, snake

TC_MODULES = (
    "keras.src.utils.numerical_utils", "keras.src.utils", "keras.utils",
    "keras._tf_keras.keras.utils", "tensorflow.keras.utils",
    "tensorflow.python.keras.utils.np_utils", "tensorflow.python.keras.utils",
    "tf_keras.src.utils.np_utils", "tf_keras.src.utils", "tf_keras.utils",
)
MODEL_VIEWS = ("keras.src.models.model.Model", "keras.src.models.sequential.Sequential",
               "keras.src.models.functional.Functional")

_settings: dict[str, Any] = {"max_epochs": None, "profile": None}
_in_fit = [0]  # > 0 inside a traced fit: its own evaluate calls are not the student's
FIT_RESULTS: list[tuple[dict[str, Any], Any]] = []  # (fit event, History) of every traced fit


def _owner(cls: type, attr: str) -> type:
    """The class in cls's MRO that defines attr (patched there, so calling it through a
    base class is traced too)."""
    return next((c for c in cls.__mro__ if attr in c.__dict__), cls)


def _epoch_counter(event: dict[str, Any]) -> Any:
    mod = sys.modules.get("keras.src.callbacks.callback")
    base: type = getattr(mod, "Callback", object)

    class _GraderEpochCounter(base):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            event["epochs_run"] = int(event.get("epochs_run") or 0) + 1
            seal(event)

    return _GraderEpochCounter()


def _validation_fp(vd: Any) -> dict[str, Any] | None:
    if isinstance(vd, (list, tuple)) and len(vd) >= 2:
        return {"x": fingerprint(vd[0]), "y": fingerprint(vd[1])}
    return None


def _coalesce(event: str, model: Any, **fields: Any) -> dict[str, Any]:
    prev = last()
    if (prev is not None and prev.get("event") == event and prev.get("model_uid") == id(model)
            and all(prev.get(k) == v for k, v in fields.items() if k not in ("result", "output_shape"))):
        prev["calls"] = int(prev.get("calls", 1)) + 1
        seal(prev)
        return prev
    return record(event, model=str(model.name)[:200], model_uid=id(model), calls=1, **fields)


def make_compile(orig: Callable[..., Any]) -> Callable[..., Any]:
    sig = inspect.signature(orig)

    def compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, *args, **kwargs)
        try:
            bound = sig.bind(self, *args, **kwargs)
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
            COMPILED[id(self)] = (self, info)
            record("compile", model=str(self.name)[:200], model_uid=id(self), model_class=type(self).__name__,
                   weights_digest=weights_digest(self), **info)
        except Exception as exc:
            failed("compile", exc)
        return result

    return wrappers.make_like(compile, orig)


def _fit_event(model: Any, a: dict[str, Any], epochs: Any, initial: Any, capped: Any,
               described: list[tuple[Any, dict[str, Any]]], callbacks: Any, cb_known: bool) -> dict[str, Any]:
    layers, _ = model_layers(model)
    vd = a.get("validation_data")
    val: dict[str, Any] | None
    if isinstance(vd, (list, tuple)):
        val = {"x": describe_data(vd[0] if len(vd) > 0 else None), "y": describe_data(vd[1] if len(vd) > 1 else None)}
    else:
        val = None if vd is None else {"x": describe_data(vd)}
    return record(
        "fit",
        model=str(model.name)[:200], model_uid=id(model), model_class=type(model).__name__,
        layers=[{"class": d["class"], "qualname": d["qualname"], "config": d["config"]} for d in layers],
        params=count(model.weights) if getattr(model, "built", False) else None,
        epochs_asked=plain(epochs), epochs_capped_to=plain(capped), initial_epoch=plain(initial),
        batch_size=plain(a.get("batch_size")), validation_split=plain(a.get("validation_split")),
        validation_data=vd is not None, validation=val, shuffle=plain(a.get("shuffle")),
        verbose=plain(a.get("verbose")),
        x=describe_data(a.get("x")), y=describe_data(a.get("y")),
        x_fp=fingerprint(a.get("x")), y_fp=fingerprint(a.get("y")), validation_fp=_validation_fp(vd),
        compile_at_fit=compile_info(model), weights_digest_start=weights_digest(model), weights_digest_end=None,
        callbacks=[d for _, d in described] if cb_known else [
            {"class": type(callbacks).__name__, "qualname": f"{type(callbacks).__module__}."
             f"{type(callbacks).__qualname__}", "config": {}}],
        epochs_run=0, stopped_early=False, finished=False,
    )


def _fit_done(event: dict[str, Any], model: Any, history: Any) -> None:
    event["finished"] = True
    hist = getattr(history, "history", None)
    epochs_list = getattr(history, "epoch", None)
    if isinstance(epochs_list, list):
        event["epochs_run"] = len(epochs_list)
    if isinstance(hist, dict):
        event["history_keys"] = [str(k) for k in hist]
        event["final"] = {str(k): plain(v[-1]) for k, v in hist.items() if isinstance(v, list) and v}
    cap = event["epochs_capped_to"]
    if isinstance(cap, int):
        event["stopped_early"] = event["epochs_run"] < cap - (event["initial_epoch"] or 0)
    FIT_RESULTS.append((event, history))


def make_fit(orig: Callable[..., Any]) -> Callable[..., Any]:
    sig = inspect.signature(orig)

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
        except TypeError:
            return orig(self, *args, **kwargs)  # Keras says what is wrong
        a = bound.arguments
        event = None
        callbacks = a.get("callbacks")
        described: list[tuple[Any, dict[str, Any]]] = []
        try:
            epochs, initial = a.get("epochs"), a.get("initial_epoch") or 0
            capped, max_epochs = epochs, _settings["max_epochs"]
            if (max_epochs and isinstance(epochs, int) and not isinstance(epochs, bool)
                    and isinstance(initial, int) and epochs - initial > max_epochs):
                capped = initial + int(max_epochs)
                a["epochs"] = capped
            cb_list = list(callbacks) if isinstance(callbacks, (list, tuple)) else ([] if callbacks is None else None)
            described = [(cb, describe_callback(cb)) for cb in cb_list or []]
            event = _fit_event(self, a, epochs, initial, capped, described, callbacks, cb_list is not None)
            if capped != epochs:
                record("profile", action="epoch cap", model=str(self.name)[:200], asked=plain(epochs),
                       capped_to=plain(capped), profile=_settings["profile"])
            if cb_list is not None:
                a["callbacks"] = cb_list + [_epoch_counter(event)]
        except Exception as exc:
            failed("fit", exc)
        started = time.time()
        _in_fit[0] += 1
        try:
            history = orig(*bound.args, **bound.kwargs)
        except BaseException as exc:
            if event is not None:
                event["error"] = (type(exc).__name__ + ": " + str(exc))[:500]
                event["seconds"] = round(time.time() - started, 3)
                event["weights_digest_end"] = weights_digest(self)
                for cb, d in described:
                    after_callback(cb, d)
                seal(event)
            raise
        finally:
            _in_fit[0] -= 1
        if event is not None:
            try:
                event["seconds"] = round(time.time() - started, 3)
                event["weights_digest_end"] = weights_digest(self)
                for cb, d in described:
                    after_callback(cb, d)
                _fit_done(event, self, history)
            except Exception as exc:
                failed("fit-after", exc)
            seal(event)
        return history

    return wrappers.make_like(fit, orig)


def make_evaluate(orig: Callable[..., Any]) -> Callable[..., Any]:
    sig = inspect.signature(orig)

    def evaluate(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, *args, **kwargs)
        if not _in_fit[0]:  # fit evaluates the validation data itself
            try:
                a = sig.bind(self, *args, **kwargs).arguments
                x, y = a.get("x"), a.get("y")
                _coalesce("evaluate", self, x=describe_data(x), y=describe_data(y), x_fp=fingerprint(x),
                          y_fp=fingerprint(y), result=plain(result))
            except Exception as exc:
                failed("evaluate", exc)
        return result

    return wrappers.make_like(evaluate, orig)


def make_predict(orig: Callable[..., Any]) -> Callable[..., Any]:
    def predict(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, *args, **kwargs)
        if not _in_fit[0]:
            try:
                x = args[0] if args else kwargs.get("x")
                shape = shape_list(result.shape) if hasattr(result, "shape") else None
                _coalesce("predict", self, x=describe_data(x, stats=False), output_shape=shape)
            except Exception as exc:
                failed("predict", exc)
        return result

    return wrappers.make_like(predict, orig)


MAKERS = {"compile": make_compile, "fit": make_fit, "evaluate": make_evaluate, "predict": make_predict}


def patch_model_class(module: types.ModuleType) -> None:
    Model = module.Model
    for attr, make in MAKERS.items():
        # patched where defined (Trainer, TensorFlowTrainer): Keras' load_model compiles a
        # loaded model only when type(model).compile is Trainer.compile
        owner = _owner(Model, attr)
        current = owner.__dict__[attr]
        if wrappers.is_ours(current):
            continue
        wrapper = make(current)
        wrappers.install(owner, attr, wrapper)
        wrappers.watch(Model, attr, wrapper)
    record("profile", action="keras traced", max_epochs=_settings["max_epochs"])


def watch_model_view(module: types.ModuleType) -> None:
    """Sequential and Functional must still see our wrappers (a class attribute set on
    them by the notebook would bypass the trace)."""
    for dotted in MODEL_VIEWS:
        mod_name, cls_name = dotted.rsplit(".", 1)
        if mod_name == module.__name__:
            cls = getattr(module, cls_name, None)
            for attr in MAKERS:
                current = getattr(cls, attr, None)
                if cls is not None and wrappers.is_ours(current):
                    wrappers.watch(cls, attr, current)


def make_to_categorical(orig: Callable[..., Any], via: str) -> Callable[..., Any]:
    def to_categorical(*args: Any, **kwargs: Any) -> Any:
        try:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            x = args[0] if args else kwargs.get("x", kwargs.get("y"))
            nc = args[1] if len(args) > 1 else kwargs.get("num_classes")
            prev = last()
            if (prev is not None and prev.get("event") == "to_categorical" and prev.get("via") == via
                    and prev.get("caller") == caller):
                prev["calls"] = int(prev.get("calls", 1)) + 1
                seal(prev)
            else:
                record("to_categorical", via=via, caller=str(caller)[:200], num_classes=plain(nc),
                       x=describe_data(x, stats=False), calls=1)
        except Exception as exc:
            failed("to_categorical", exc)
        return orig(*args, **kwargs)

    return wrappers.make_like(to_categorical, orig)


def patch_to_categorical(module: types.ModuleType) -> None:
    fn = getattr(module, "to_categorical", None)
    if fn is None or not callable(fn):
        return
    wrappers.install(module, "to_categorical", make_to_categorical(wrappers.unwrap(fn), module.__name__))


def install(max_epochs: int | None, profile: str | None) -> None:
    _settings.update(max_epochs=max_epochs, profile=profile)
    imports.on_import("keras.src.models.model", patch_model_class)
    for dotted in MODEL_VIEWS[1:]:
        imports.on_import(dotted.rsplit(".", 1)[0], watch_model_view)
    for name in TC_MODULES:
        imports.on_import(name, patch_to_categorical)
