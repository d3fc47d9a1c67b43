"""What a Keras network computes, read from a model description, for comparing networks.

Checks compare networks through this module, never through how a notebook wrote them.
Two networks are the same when they compute the same thing: the same kinds of layer in
the same order, with the same units, activations and settings (rates, kernel sizes,
strides, padding), on inputs of the same size, with the same parameter counts. So:

- `InputLayer` is not a step of the computation;
- `Flatten` and `Reshape` before the first computing layer only reshape the input:
  `Flatten(input_shape=(28, 28))` then `Dense(512, relu)` is `Dense(512, relu)` on 784
  inputs (a `Flatten` between computing layers stays, since the layers after it see
  another shape);
- an `Activation` (or `ReLU`, `Softmax`) layer right after a layer with no activation of
  its own is folded into that layer: `Dense(100)` then `Activation('relu')` is
  `Dense(100, relu)`; after a `BatchNormalization` it stays a step of its own;
- `Dropout` stays a step (with its rate): it is part of the network that is trained;
- layer names, initialisers and regularisers are not compared.

Descriptions come from the witness: `nb.model(name)` (layers with their own parameter
counts, trainable and non-trainable totals) or a trace `fit` event (`nb.fit_for(...)`:
layers with their configs and one total). Both are untrusted data; anything malformed
reads as unknown, never as an error.

    arch = from_description(nb.model("model"))
    want = parse("784 -> Dense(512, relu) -> Dense(10, softmax)")
    differences(arch, want)   # [] when the two compute the same thing
    arch.text()               # '784 -> Dense(512, relu) -> Dense(10, softmax)'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .i18n import msg

# Layers that only change the shape of what flows through them.
SHAPE_ONLY = frozenset({"Flatten", "Reshape"})
# Layers that are not steps of the computation at all.
NOT_LAYERS = frozenset({"InputLayer"})
# Layers whose only job is an activation, and the activation each stands for (None: config's).
ACTIVATION_LAYERS: dict[str, str | None] = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}
# Layers that carry an `activation` argument of their own (an Activation after them folds in).
WITH_ACTIVATION = frozenset(
    {"Dense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"}
)
# Settings compared besides units and activation, in the order they are shown.
SETTINGS = (
    "kernel_size", "strides", "padding", "pool_size", "rate", "use_bias", "axis", "target_shape", "dilation_rate",
)
MAX_LAYERS = 500


@dataclass(frozen=True)
class Step:
    """One step of the computation: a layer, with a folded activation."""

    kind: str
    units: int | None = None  # Dense units, Conv filters
    activation: str | None = None  # normalised name; None where the kind has none
    settings: tuple[tuple[str, Any], ...] = ()
    params: int | None = None  # this step's parameter count, when known

    def setting(self, key: str) -> Any:
        return dict(self.settings).get(key)

    def text(self) -> str:
        """Readable form: Dense(512, relu), Conv2D(32, 5x5, same, relu), Dropout(0.25)."""
        s = dict(self.settings)
        args: list[str] = []
        if self.units is not None:
            args.append(str(self.units))
        if self.kind.startswith(("Conv", "SeparableConv", "DepthwiseConv")):
            if s.get("kernel_size") is not None:
                args.append(_size(s["kernel_size"]))
            if s.get("strides") not in (None, (1,), (1, 1), (1, 1, 1)):
                args.append(f"stride {_stride(s['strides'])}")
            if s.get("padding") is not None:
                args.append(str(s["padding"]))
            if s.get("dilation_rate") not in (None, (1,), (1, 1), (1, 1, 1)):
                args.append(f"dilation {_size(s['dilation_rate'])}")
        elif "Pooling" in self.kind:
            if s.get("pool_size") is not None:
                args.append(_size(s["pool_size"]))
            if s.get("strides") is not None and s.get("strides") != s.get("pool_size"):
                args.append(f"stride {_stride(s['strides'])}")
            if s.get("padding") not in (None, "valid"):
                args.append(str(s["padding"]))
        elif self.kind == "Reshape" and s.get("target_shape") is not None:
            args.append(_size(s["target_shape"]))
        if s.get("rate") is not None:
            args.append(_number_text(s["rate"]))
        if self.activation is not None and not (self.activation == "linear" and self.kind != "Activation"):
            args.append(self.activation)
        if s.get("use_bias") is False:
            args.append("no bias")
        return f"{self.kind}({', '.join(args)})" if args else self.kind


@dataclass(frozen=True)
class Architecture:
    """A network as the computation it is: input shape, steps, parameter count."""

    input_shape: tuple[int, ...] | None  # the shape entering the first computing step, no batch axis
    steps: tuple[Step, ...]
    params: int | None = None  # all parameters, trainable and not, when known

    @property
    def input_size(self) -> int | None:
        return None if self.input_shape is None else math.prod(self.input_shape)

    def text(self, *, params: bool = False) -> str:
        """'784 -> Dense(512, relu) -> Dense(10, softmax)', with '(407,050 parameters)' if asked."""
        parts = [_size(self.input_shape) if self.input_shape is not None else "?"]
        parts += [step.text() for step in self.steps]
        shown = " -> ".join(parts) if self.steps else f"{parts[0]} -> (no layers)"
        if params and self.params is not None:
            shown += f" ({self.params:,} parameters)"
        return shown

    def __str__(self) -> str:
        return self.text()


# ------------------------------------------------------------------ reading descriptions
def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _shape(value: Any) -> tuple[int, ...] | None:
    """A shape without batch axis, all dimensions known, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = _int(value)
        return None if n is None or n <= 0 else (n,)
    if not isinstance(value, (list, tuple)) or not value or len(value) > 8:
        return None
    dims = [_int(d) for d in value]
    if any(d is None or d <= 0 for d in dims):
        return None
    return tuple(d for d in dims if d is not None)


def _tuple(value: Any) -> Any:
    """Hashable, comparable form of a config value: lists become tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v) for v in value)[:16]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value[:100] if isinstance(value, str) else value
    return repr(value)[:100]


def activation_name(value: Any) -> str:
    """One name per activation: None and 'linear' are 'linear'; tf.nn.softmax is 'softmax'."""
    if isinstance(value, Mapping):
        config = value.get("config")
        if isinstance(config, str):
            value = config
        elif isinstance(config, Mapping) and isinstance(config.get("name"), str):
            value = config["name"]
        else:
            value = value.get("registered_name") or value.get("class_name") or value.get("name")
    if value is None:
        return "linear"
    name = str(value).strip().lower()[:100]
    name = name.rsplit(".", 1)[-1]
    name = re.sub(r"_v\d+$", "", name)
    return "linear" if name in ("", "none", "identity") else name


def _settings(kind: str, config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    values: dict[str, Any] = {}
    for key in SETTINGS:
        if key not in config:
            continue
        value = _tuple(config[key])
        if key == "padding" and isinstance(value, str):
            value = value.lower()
        if key in ("kernel_size", "strides", "pool_size", "dilation_rate") and isinstance(value, int):
            value = (value,) * (3 if "3D" in kind else 1 if "1D" in kind else 2)
        if key == "rate" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[key] = value
    return _canonical(kind, values)


def _canonical(kind: str, values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Settings in SETTINGS order, without those at their default (which say nothing)."""
    out = []
    for key in SETTINGS:
        if key not in values:
            continue
        value = values[key]
        ones = isinstance(value, tuple) and bool(value) and all(v == 1 for v in value)
        if key == "use_bias" and value is not False:
            continue
        if key == "dilation_rate" and ones:
            continue
        pooling = "Pooling" in kind
        if key == "strides" and ((pooling and value == values.get("pool_size")) or (ones and not pooling)):
            continue
        if key == "padding" and "Pooling" in kind and value == "valid":
            continue
        if key == "axis" and value in (-1, (-1,)):
            continue
        out.append((key, value))
    return tuple(out)


def _layer_step(layer: Mapping[str, Any]) -> Step | None:
    kind = layer.get("class")
    if not isinstance(kind, str) or not kind:
        return None
    kind = kind[:100]
    qualname = layer.get("qualname")
    if isinstance(qualname, str) and qualname and not qualname.startswith("keras."):
        # A class of the notebook's own, whatever it is called, computes what its code
        # says, not what Keras' layer of that name does: it is never that layer.
        kind = f"{qualname[:100]} (not Keras' {kind})"
    config = layer.get("config")
    if not isinstance(config, Mapping):
        config = {}
    units = _int(config.get("units")) if "units" in config else _int(config.get("filters"))
    if kind in ACTIVATION_LAYERS:
        fixed = ACTIVATION_LAYERS[kind]
        activation: str | None = fixed if fixed is not None else activation_name(config.get("activation"))
    elif kind in WITH_ACTIVATION or "activation" in config:
        activation = activation_name(config.get("activation"))
    else:
        activation = None
    params = _int(layer.get("params"))
    if kind in ACTIVATION_LAYERS:  # ReLU() and Activation('relu') are one thing
        return Step("Activation", None, activation, (), params)
    return Step(kind, units, activation, _settings(kind, config), params)


def _reshaped(shape: tuple[int, ...] | None, step: Step) -> tuple[int, ...] | None:
    """The shape after a shape-only layer (None when it cannot be told)."""
    if step.kind == "Flatten":
        return None if shape is None else (math.prod(shape),)
    target = step.setting("target_shape")
    if not isinstance(target, tuple) or not target or not all(_int(d) is not None for d in target):
        return None
    dims = [int(d) for d in target]
    if dims.count(-1) == 1 and shape is not None:
        rest = math.prod(d for d in dims if d != -1)
        if rest <= 0 or math.prod(shape) % rest:
            return None
        dims[dims.index(-1)] = math.prod(shape) // rest
    if any(d <= 0 for d in dims) or (shape is not None and math.prod(dims) != math.prod(shape)):
        return None
    return tuple(dims)


def from_description(desc: Any) -> Architecture:
    """The computation described by `nb.model(...)` or by a trace fit event."""
    if not isinstance(desc, Mapping):
        return Architecture(None, ())
    raw = desc.get("layers")
    layers = [ly for ly in raw[:MAX_LAYERS] if isinstance(ly, Mapping)] if isinstance(raw, list) else []
    layers = [ly for ly in layers if ly.get("class") not in NOT_LAYERS]

    shape: tuple[int, ...] | None = None
    if layers and isinstance(layers[0].get("config"), Mapping):
        shape = _shape(layers[0]["config"].get("input_shape"))
    if shape is None and isinstance(desc.get("input_shape"), list) and desc["input_shape"]:
        shape = _shape(desc["input_shape"][1:])

    shape, steps = _normalise(shape, [s for s in (_layer_step(ly) for ly in layers) if s is not None])

    total: int | None = None
    trainable, frozen = _int(desc.get("trainable_params")), _int(desc.get("non_trainable_params"))
    if trainable is not None and frozen is not None:
        total = trainable + frozen
    elif _int(desc.get("params")) is not None:
        total = _int(desc.get("params"))
    elif steps and all(s.params is not None for s in steps):
        total = sum(s.params or 0 for s in steps)
    return Architecture(shape, tuple(steps), total)


def _normalise(shape: tuple[int, ...] | None, raw: Sequence[Step]) -> tuple[tuple[int, ...] | None, list[Step]]:
    """Leading shape-only layers folded into the input shape, activation layers into the layer before."""
    steps: list[Step] = []
    for step in raw:
        if step.kind in SHAPE_ONLY and not steps:
            shape = _reshaped(shape, step)
            continue
        if step.kind == "Activation" and steps:
            before = steps[-1]
            if before.kind in WITH_ACTIVATION and before.activation in (None, "linear"):
                params = None if before.params is None or step.params is None else before.params + step.params
                steps[-1] = replace(before, activation=step.activation, params=params)
                continue
        steps.append(step)
    return shape, steps


# ------------------------------------------------------------------ comparing
def differences(got: Architecture, want: Architecture) -> list[str]:
    """What `got` computes differently from `want`, in words; [] when they are the same.

    Parameter counts are compared where both sides know them."""
    out: list[str] = []
    if got.input_shape is not None and want.input_shape is not None and got.input_shape != want.input_shape:
        shown = _size(got.input_shape)
        if len(got.input_shape) > 1:
            shown += f" ({got.input_size} values)"
        wanted = _size(want.input_shape)
        out.append(msg(f"its input is {shown}, not {wanted}", f"입력이 {wanted}가 아니라 {shown}입니다"))
    if [s.kind for s in got.steps] != [s.kind for s in want.steps]:
        out.append(
            msg(
                f"its layers are {_kinds(got)}, not {_kinds(want)}",
                f"층이 {_kinds(want)}가 아니라 {_kinds(got)}입니다",
            )
            if got.steps
            else msg(
                f"it has no layers where {_kinds(want)} is expected",
                f"{_kinds(want)}가 있어야 할 곳에 층이 없습니다",
            )
        )
    else:
        for i, (g, w) in enumerate(zip(got.steps, want.steps, strict=True), start=1):
            if _step_key(g) != _step_key(w):
                out.append(
                    msg(
                        f"layer {i} is {g.text()}, not {w.text()}",
                        f"{i}번째 층이 {w.text()}가 아니라 {g.text()}입니다",
                    )
                )
            elif not out and g.params is not None and w.params is not None and g.params != w.params:
                # (after a difference, the parameter counts that follow from it say nothing new)
                out.append(
                    msg(
                        f"layer {i}, {g.text()}, has {g.params:,} parameters, not {w.params:,}",
                        f"{i}번째 층 {g.text()}의 파라미터가 {w.params:,}개가 아니라 {g.params:,}개입니다",
                    )
                )
    if not out and got.params is not None and want.params is not None and got.params != want.params:
        out.append(
            msg(
                f"it has {got.params:,} parameters, not {want.params:,}",
                f"파라미터가 {want.params:,}개가 아니라 {got.params:,}개입니다",
            )
        )
    return out


def same(a: Architecture, b: Architecture) -> bool:
    """True when the two compute the same thing (see differences)."""
    return not differences(a, b)


def _step_key(step: Step) -> tuple[Any, ...]:
    return (step.kind, step.units, step.activation, step.settings)


def _kinds(arch: Architecture) -> str:
    return " -> ".join(s.kind for s in arch.steps) or "(none)"


def _size(shape: Any) -> str:
    if isinstance(shape, (list, tuple)):
        return "x".join("?" if d is None else str(d) for d in shape)
    return str(shape)


def _stride(value: Any) -> str:
    if isinstance(value, tuple) and value and all(v == value[0] for v in value):
        return str(value[0])
    return _size(value)


def _number_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ------------------------------------------------------------------ expected networks as text
_STEP = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def parse(text: str) -> Architecture:
    """An expected network written as text() writes it, with its parameter counts worked out.

    `parse("784 -> Dense(512, relu) -> Dense(10, softmax)")`; also Conv2D(32, 5x5, same, relu),
    MaxPooling2D(2x2), Dropout(0.25), BatchNormalization, Activation(relu), Flatten, and
    'stride 2', 'no bias'. Raises ValueError on text it does not read (a test's own typo)."""
    parts = [p.strip() for p in text.split("->")]
    if not parts or not parts[0]:
        raise ValueError(f"no input shape in {text!r}")
    try:
        shape: tuple[int, ...] | None = tuple(int(d) for d in parts[0].split("x"))
    except ValueError:
        raise ValueError(f"input shape {parts[0]!r} is not like 784 or 28x28x1") from None
    raw = []
    for part in parts[1:]:
        m = _STEP.match(part)
        if m is None:
            raise ValueError(f"cannot read the layer {part!r}")
        kind, args = m.group(1), [a.strip() for a in (m.group(2) or "").split(",") if a.strip()]
        raw.append(_parse_step(kind, args))
    input_shape, normalised = _normalise(shape, raw)
    shape = input_shape
    steps = []
    for step in normalised:
        step, shape = _with_params(step, shape)
        steps.append(step)
    known = all(s.params is not None for s in steps)
    return Architecture(input_shape, tuple(steps), sum(s.params or 0 for s in steps) if known else None)


def _parse_step(kind: str, args: Sequence[str]) -> Step:
    units = None
    activation: str | None = None
    settings: dict[str, Any] = {}
    is_conv = kind.startswith(("Conv", "SeparableConv", "DepthwiseConv"))
    for arg in args:
        if re.fullmatch(r"\d+", arg):
            units = int(arg)
        elif re.fullmatch(r"\d+(x\d+)+", arg):
            settings["kernel_size" if is_conv else "pool_size"] = tuple(int(d) for d in arg.split("x"))
        elif re.fullmatch(r"stride \d+(x\d+)*", arg):
            strides = tuple(int(d) for d in arg.split()[1].split("x"))
            settings["strides"] = strides * 2 if len(strides) == 1 and "2D" in kind else strides
        elif re.fullmatch(r"\d*\.\d+", arg):
            settings["rate"] = float(arg)
        elif arg in ("same", "valid", "causal"):
            settings["padding"] = arg
        elif arg == "no bias":
            settings["use_bias"] = False
        elif re.fullmatch(r"[a-z_]+", arg):
            activation = arg
        else:
            raise ValueError(f"cannot read {arg!r} in {kind}(...)")
    if kind in ACTIVATION_LAYERS:
        return Step("Activation", None, activation or ACTIVATION_LAYERS[kind] or "linear")
    if kind in WITH_ACTIVATION and activation is None:
        activation = "linear"
    if is_conv:
        settings.setdefault("padding", "valid")
    return Step(kind, units, activation, _canonical(kind, settings))


def _with_params(step: Step, shape: tuple[int, ...] | None) -> tuple[Step, tuple[int, ...] | None]:
    """The step with its parameter count, and the shape after it (None once unknown)."""
    if shape is None:
        return step, None
    bias = step.setting("use_bias") is not False
    if step.kind == "Dense" and step.units is not None:
        return replace(step, params=(shape[-1] + bias) * step.units), (*shape[:-1], step.units)
    if step.kind in ("Dropout", "Activation"):
        return replace(step, params=0), shape
    if step.kind == "Flatten":
        return replace(step, params=0), (math.prod(shape),)
    if step.kind == "BatchNormalization":
        return replace(step, params=4 * shape[-1]), shape
    if step.kind == "Conv2D" and step.units is not None and len(shape) == 3:
        kh, kw = step.setting("kernel_size") or (1, 1)
        sh, sw = step.setting("strides") or (1, 1)
        params = (kh * kw * shape[-1] + bias) * step.units
        return replace(step, params=params), (*_spatial(shape[:2], (kh, kw), (sh, sw), step), step.units)
    if step.kind in ("MaxPooling2D", "AveragePooling2D") and len(shape) == 3:
        ph, pw = step.setting("pool_size") or (2, 2)
        sh, sw = step.setting("strides") or (ph, pw)
        return replace(step, params=0), (*_spatial(shape[:2], (ph, pw), (sh, sw), step), shape[-1])
    return step, None


def _spatial(size: Sequence[int], window: Sequence[int], strides: Sequence[int], step: Step) -> tuple[int, ...]:
    if step.setting("padding") == "same":
        return tuple(-(-n // s) for n, s in zip(size, strides, strict=True))
    return tuple((n - k) // s + 1 for n, k, s in zip(size, window, strides, strict=True))
