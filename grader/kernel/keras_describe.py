"""Plain descriptions of Keras objects: models, layers, optimizers, compile settings,
callbacks. Nothing here imports Keras: objects are recognised through sys.modules."""

from __future__ import annotations

import os
import sys
from typing import Any

from . import protocol
from .recorder import name_of, plain, qualname, snake

LAYER_KEYS = (
    "units", "activation", "use_bias", "rate", "filters", "kernel_size", "strides",
    "padding", "pool_size", "axis", "momentum", "epsilon", "center", "scale",
    "target_shape", "dims", "dilation_rate", "groups",
)
CALLBACK_KEYS = (
    "monitor", "mode", "patience", "min_delta", "baseline", "restore_best_weights",
    "start_from_epoch", "filepath", "save_best_only", "save_weights_only", "save_freq",
    "initial_value_threshold", "factor", "min_lr", "cooldown", "verbose",
)
AFTER_KEYS = ("stopped_epoch", "best", "best_epoch", "wait")

COMPILED: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(model) -> (model, compile description)


def is_model(obj: Any) -> bool:
    mod = sys.modules.get("keras.src.models.model")
    return mod is not None and isinstance(obj, mod.Model)


def is_history(obj: Any) -> bool:
    return any(c.__name__ == "History" for c in type(obj).__mro__) and isinstance(getattr(obj, "history", None), dict)


def shape_list(shape: Any) -> list[int | None] | None:
    try:
        if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
            return None  # several inputs/outputs
        return [None if d is None else int(d) for d in shape]
    except Exception:
        return None


def count(weights: Any) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def weights_digest(model: Any) -> str | None:
    """protocol.weights_digest of the model's weights; None while it is not built."""
    try:
        if not getattr(model, "built", False):
            return None
        return protocol.weights_digest(model.get_weights())
    except Exception:
        return None


def describe_layer(layer: Any, input_shape: list[int | None] | None = None) -> dict[str, Any]:
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
    return {"class": type(layer).__name__, "qualname": qualname(layer), "name": str(layer.name)[:200],
            "config": small, "output_shape": out_shape, "params": params}


def model_layers(model: Any) -> tuple[list[dict[str, Any]], list[int | None] | None]:
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    try:
        ishape = shape_list(model.input_shape)
    except Exception:
        ishape = None
    out = [describe_layer(layer, ishape[1:] if (i == 0 and ishape) else None) for i, layer in enumerate(layers[:500])]
    return out, ishape


def describe_optimizer(opt: Any) -> dict[str, Any] | None:
    if opt is None:
        return None
    if isinstance(opt, str):
        return {"class": opt, "config": {}}
    try:
        cfg = plain(opt.get_config())
    except Exception:
        cfg = {}
    return {"class": type(opt).__name__, "config": cfg if isinstance(cfg, dict) else {}}


def compile_info(model: Any) -> dict[str, Any] | None:
    """The compile settings in force: what the traced compile was told, with the
    optimizer's current config; for a model compiled before tracing (a loaded one),
    what the model itself holds."""
    entry = COMPILED.get(id(model))
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


def describe_model(model: Any) -> dict[str, Any]:
    layers, ishape = model_layers(model)
    return {
        "class": type(model).__name__,
        "qualname": qualname(model),
        "name": str(model.name)[:200],
        "uid": id(model),
        "built": bool(getattr(model, "built", False)),
        "input_shape": ishape,
        "layers": layers,
        "trainable_params": count(model.trainable_weights),
        "non_trainable_params": count(model.non_trainable_weights),
        "compile": compile_info(model),
    }


def describe_callback(cb: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for k in CALLBACK_KEYS:
        if hasattr(cb, k):
            try:
                cfg[k] = plain(getattr(cb, k))
            except Exception:
                pass
    if isinstance(cfg.get("filepath"), str):
        cfg["filepath_abs"] = os.path.abspath(cfg["filepath"])
    return {"class": type(cb).__name__, "qualname": qualname(cb), "config": cfg}


def after_callback(cb: Any, desc: dict[str, Any]) -> None:
    after: dict[str, Any] = {}
    for k in AFTER_KEYS:
        if hasattr(cb, k):
            try:
                after[k] = plain(getattr(cb, k))
            except Exception:
                pass
    desc["after"] = after
