"""Networks compared by what they compute (grader.architecture), from hand-written
model descriptions shaped like nb.model() and trace fit events. Fast: no Keras."""

from __future__ import annotations

from typing import Any

import pytest

from grader.architecture import Architecture, activation_name, differences, from_description, parse, same

ORIGINAL = "784 -> Dense(512, relu) -> Dense(10, softmax)"


def layer(cls: str, params: int | None = None, **config: Any) -> dict[str, Any]:
    return {"class": cls, "name": cls.lower(), "config": config, "output_shape": None, "params": params}


def model(*layers: dict[str, Any], input_shape: list[int | None] | None = None, frozen: int = 0) -> dict[str, Any]:
    """nb.model(): layers with their own parameter counts, and the totals."""
    if input_shape and layers:
        layers[0]["config"]["input_shape"] = input_shape[1:]
    total = sum(ly["params"] or 0 for ly in layers)
    return {
        "class": "Sequential", "name": "sequential", "uid": 1, "built": True, "input_shape": input_shape,
        "layers": list(layers), "trainable_params": total - frozen, "non_trainable_params": frozen, "compile": None,
    }


def fit_event(*layers: dict[str, Any], params: int | None, input_shape: list[int]) -> dict[str, Any]:
    """A trace fit event: layers with class and config only, one total."""
    out = [{"class": ly["class"], "config": dict(ly["config"])} for ly in layers]
    out[0]["config"]["input_shape"] = input_shape
    return {"event": "fit", "layers": out, "params": params, "epochs_asked": 50}


def dense(units: int, activation: str | None = "linear", fan_in: int = 0, **config: Any) -> dict[str, Any]:
    bias = config.get("use_bias", True)
    return layer("Dense", (fan_in + bias) * units if fan_in else None, units=units, activation=activation,
                 use_bias=bias, **{k: v for k, v in config.items() if k != "use_bias"})


def test_flatten_then_dense_is_dense_on_784_inputs() -> None:
    """The lecturer's Flatten(input_shape=(28, 28)) -> Dense(512) and seed 003's Dense(512, input_dim=784)."""
    flatten = from_description(model(
        layer("Flatten", 0), dense(512, "relu", 784), dense(10, "softmax", 512), input_shape=[None, 28, 28]))
    reshaped = from_description(model(dense(512, "relu", 784), dense(10, "softmax", 512), input_shape=[None, 784]))
    assert flatten.text() == reshaped.text() == ORIGINAL
    assert flatten.params == reshaped.params == 407050
    assert same(flatten, reshaped) and same(flatten, parse(ORIGINAL))
    assert differences(reshaped, parse(ORIGINAL)) == []


def test_a_reshape_layer_and_a_28x28x1_input_are_the_same_784_inputs() -> None:
    reshape = from_description(model(
        layer("Reshape", 0, target_shape=[-1]), dense(512, "relu", 784), dense(10, "softmax", 512),
        input_shape=[None, 28, 28, 1]))
    assert reshape.text() == ORIGINAL


def test_a_separate_activation_layer_folds_into_the_dense_before_it() -> None:
    split = from_description(model(
        layer("Flatten", 0), dense(512, None, 784), layer("Activation", 0, activation="relu"),
        dense(10, "linear", 512), layer("Softmax", 0, axis=-1), input_shape=[None, 28, 28]))
    assert split.text() == ORIGINAL
    assert [s.params for s in split.steps] == [401920, 5130]


def test_an_activation_after_batch_normalization_stays_a_step() -> None:
    bn = from_description(model(
        layer("Flatten", 0), dense(100, None, 784), layer("BatchNormalization", 400, axis=-1, momentum=0.99),
        layer("ReLU", 0), dense(10, "softmax", 100), input_shape=[None, 28, 28, 1], frozen=200))
    expected = parse("28x28x1 -> Flatten -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)")
    assert bn.text() == "784 -> Dense(100) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)"
    assert bn.params == expected.params == 79910
    assert same(bn, expected)


def test_dropout_is_kept_with_its_rate() -> None:
    got = from_description(model(
        layer("Flatten", 0), dense(100, "relu", 784), layer("Dropout", 0, rate=0.5), dense(10, "softmax", 100),
        input_shape=[None, 28, 28, 1]))
    assert got.text() == "784 -> Dense(100, relu) -> Dropout(0.5) -> Dense(10, softmax)"
    assert differences(got, parse("784 -> Dense(100, relu) -> Dropout(0.25) -> Dense(10, softmax)")) == [
        "layer 2 is Dropout(0.5), not Dropout(0.25)"
    ]
    assert not same(got, parse("784 -> Dense(100, relu) -> Dense(10, softmax)"))


@pytest.mark.parametrize(
    ("desc", "message"),
    [
        (model(dense(128, "relu", 784), dense(10, "softmax", 128), input_shape=[None, 784]),
         "layer 1 is Dense(128, relu), not Dense(512, relu)"),
        (model(dense(512, "sigmoid", 784), dense(10, "softmax", 512), input_shape=[None, 784]),
         "layer 1 is Dense(512, sigmoid), not Dense(512, relu)"),
        (model(dense(512, "relu", 28), dense(10, "softmax", 512), input_shape=[None, 28, 28]),
         "its input is 28x28 (784 values), not 784"),
        (model(dense(512, "relu", 784), dense(256, "relu", 512), dense(10, "softmax", 256), input_shape=[None, 784]),
         "its layers are Dense -> Dense -> Dense, not Dense -> Dense"),
        (model(input_shape=[None, 784]), "it has no layers where Dense -> Dense is expected"),
        (model(dense(512, "relu", 784, use_bias=False), dense(10, "softmax", 512), input_shape=[None, 784]),
         "layer 1 is Dense(512, relu, no bias), not Dense(512, relu)"),
    ],
    ids=["units", "activation", "no-flatten", "extra-layer", "empty", "no-bias"],
)
def test_differences_say_what_differs(desc: dict[str, Any], message: str) -> None:
    assert differences(from_description(desc), parse(ORIGINAL)) == [message]


def test_fit_events_compare_by_their_total_parameter_count() -> None:
    """A fit event has no per-layer counts: the total decides what configs cannot show."""
    layers = (layer("Flatten"), dense(100, "relu"), dense(10, "softmax"))
    mnist = from_description(fit_event(*layers, params=79510, input_shape=[28, 28]))
    assert mnist.text(params=True) == "784 -> Dense(100, relu) -> Dense(10, softmax) (79,510 parameters)"
    assert same(mnist, parse("784 -> Dense(100, relu) -> Dense(10, softmax)"))
    odd = from_description(fit_event(*layers, params=80000, input_shape=[28, 28]))
    assert differences(odd, mnist) == ["it has 80,000 parameters, not 79,510"]
    unknown = from_description(fit_event(*layers, params=None, input_shape=[28, 28]))
    assert same(unknown, mnist)


def test_convolutions_show_kernel_padding_and_pooling() -> None:
    conv = model(
        layer("Conv2D", 832, filters=32, kernel_size=[5, 5], strides=[1, 1], padding="same", activation="relu",
              dilation_rate=[1, 1], groups=1, use_bias=True),
        layer("MaxPooling2D", 0, pool_size=[2, 2], strides=[2, 2], padding="valid"),
        layer("Flatten", 0),
        dense(10, "softmax", 6272),
        input_shape=[None, 28, 28, 1],
    )
    got = from_description(conv)
    text = "28x28x1 -> Conv2D(32, 5x5, same, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)"
    assert got.text() == text and got.params == 63562
    assert same(got, parse(text))
    assert [s.params for s in parse(text).steps] == [832, 0, 0, 62730]
    valid = parse(text.replace("same", "valid"))
    assert valid.params == 32 * 26 + 12 * 12 * 32 * 10 + 10
    assert differences(got, valid) == [
        "layer 1 is Conv2D(32, 5x5, same, relu), not Conv2D(32, 5x5, valid, relu)"
    ]
    assert parse("28x28x1 -> Conv2D(8, 3x3, stride 2, valid, relu) -> MaxPooling2D(2x2, stride 1)").text() == (
        "28x28x1 -> Conv2D(8, 3x3, stride 2, valid, relu) -> MaxPooling2D(2x2, stride 1)"
    )


@pytest.mark.parametrize(
    "text",
    [
        ORIGINAL,
        "784 -> Dense(100, relu) -> Dropout(0.25) -> Dense(10, softmax)",
        "784 -> Dense(100, no bias) -> BatchNormalization -> Activation(relu) -> Dense(10, softmax)",
        "28x28x1 -> Conv2D(32, 5x5, same, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)",
    ],
)
def test_parse_reads_what_text_writes(text: str) -> None:
    assert parse(text).text() == text
    assert parse(parse(text).text()) == parse(text)


@pytest.mark.parametrize("bad", ["", "Dense(10)", "784 -> Dense(10, ???)", "784 -> 12abc"])
def test_parse_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(ValueError):
        parse(bad)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "linear"), ("linear", "linear"), ("ReLU", "relu"), ("keras.activations.relu", "relu"),
        ({"module": "builtins", "class_name": "function", "config": "softmax_v2", "registered_name": "function"},
         "softmax"),
        ({"class_name": "Foo", "config": {"name": "gelu"}}, "gelu"),
    ],
)
def test_activation_names_are_normalised(value: Any, name: str) -> None:
    assert activation_name(value) == name


@pytest.mark.parametrize(
    "desc",
    [None, 7, {}, {"layers": "no"}, {"layers": [None, 3, {"class": 5}, {"class": "Dense", "config": "x"}]},
     {"layers": [{"class": "Dense", "config": {"units": "many", "input_shape": ["a"]}}], "input_shape": "x"}],
)
def test_malformed_descriptions_read_as_unknown_not_as_errors(desc: Any) -> None:
    got = from_description(desc)
    assert isinstance(got, Architecture)
    assert isinstance(got.text(params=True), str)
    assert isinstance(differences(got, parse(ORIGINAL)), list)


def test_input_layers_are_not_steps() -> None:
    got = from_description(model(
        layer("InputLayer", 0), dense(512, "relu", 784), dense(10, "softmax", 512), input_shape=[None, 784]))
    assert got.text() == ORIGINAL


def test_a_class_of_the_notebooks_own_is_never_the_keras_layer_of_its_name() -> None:
    def network(qualname: str) -> Architecture:
        bn = layer("BatchNormalization", 400, axis=-1, momentum=0.99)
        bn["qualname"] = qualname
        return from_description(model(
            layer("Flatten", 0), dense(100, None, 784), bn, layer("ReLU", 0), dense(10, "softmax", 100),
            input_shape=[None, 28, 28, 1], frozen=200))

    keras_bn = network("keras.src.layers.normalization.batch_normalization.BatchNormalization")
    own_bn = network("__main__.BatchNormalization")  # right name, right parameter count, normalises nothing
    assert same(keras_bn, network("keras.layers.BatchNormalization"))
    assert not same(own_bn, keras_bn)
    assert "__main__.BatchNormalization (not Keras' BatchNormalization)" in own_bn.text()
