"""The kernel half's codec, on the host: what it encodes, the trusted side's validating
decoder reads back; what the trusted side encodes, it decodes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader import witness
from grader.kernel import codec, protocol
from grader.kernel.protocol import TooBig


def round_trip(value: object) -> object:
    return witness.decode(json.loads(json.dumps(codec.encode(value))))


def test_values_cross_with_their_types() -> None:
    value = {0.25: [1, 2.5, None, True, "s"], "t": (1, (2, 3)), "big": 2**70, "nan": float("nan"),
             "inf": float("-inf"), "a": np.arange(6, dtype=np.int16).reshape(2, 3), "g": np.float32(1.5)}
    out = round_trip(value)
    assert isinstance(out, dict)
    assert out[0.25] == [1, 2.5, None, True, "s"] and out["t"] == (1, (2, 3)) and out["big"] == 2**70
    assert np.isnan(out["nan"]) and out["inf"] == float("-inf") and out["g"] == 1.5
    assert out["a"].dtype == np.int16 and out["a"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_objects_cross_as_descriptions() -> None:
    class Thing:
        pass

    out = round_trip([Thing(), np.array(["a"], dtype=object)])
    assert isinstance(out, list)
    assert isinstance(out[0], witness.ForeignObject) and out[0].type.endswith("Thing")
    assert out[1] == witness.ForeignObject("ndarray of object", "")


def test_what_the_trusted_side_sends_decodes() -> None:
    sent = witness.encode([np.ones((2, 2)), (1, 2), {3: "x"}, float("inf"), 2**60])
    back = codec.decode(json.loads(json.dumps(sent)))
    assert back[0].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert back[1:] == [(1, 2), {3: "x"}, float("inf"), 2**60]


def test_caps_raise_too_big_with_its_protocol_kind() -> None:
    with pytest.raises(TooBig, match="array of 800 bytes") as info:
        codec.encode(np.zeros(100), max_bytes=799)
    assert info.value.kind == protocol.TOO_BIG
    with pytest.raises(TooBig, match="string is too long"):
        codec.encode("x" * 11, max_bytes=10)
    deep: object = 1
    for _ in range(protocol.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(TooBig, match="nested"):
        codec.encode(deep)
    with pytest.raises(TooBig, match="too many parts"):
        codec.encode([0] * (protocol.MAX_NODES + 1))


def test_arrays_are_npy_without_pickle() -> None:
    blob = codec.encode(np.arange(3))["$ndarray"]
    import base64

    assert base64.b64decode(blob).startswith(b"\x93NUMPY")
