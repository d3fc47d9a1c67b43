"""The seals on the kernel's record of the run: every event is sealed (HMAC under a key
the grader made for this kernel) when the kernel half records or completes it, and the
trusted side reads only events whose seal verifies. Appending a forged event to the list,
editing one in place, dropping one, or forging the whole answer is refused or ignored,
and a refusal flags the submission. In-process, no kernel."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from grader.errors import BadReply
from grader.kernel import protocol, recorder, server
from grader.witness import Notebook


class SealedChannel:
    """Sends requests through JSON to server.dispatch, knowing the session's key; `forge`
    rewrites the kernel's answer on the way, as a hooked witness would."""

    def __init__(self, key: bytes) -> None:
        self.trace_key = key
        self.forge: Any = None

    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        reply = server.dispatch({}, json.loads(json.dumps({**payload, "id": "r1"})))
        answer: dict[str, Any] = json.loads(server.encode_reply(reply))
        return self.forge(answer) if self.forge else answer


@pytest.fixture
def sealed() -> Iterator[tuple[Notebook, SealedChannel, list[str]]]:
    key = secrets.token_bytes(32)
    recorder.reset()
    recorder.set_key(key)
    channel = SealedChannel(key)
    nb = Notebook(channel, nbformat.v4.new_notebook())
    flags: list[str] = []
    nb.on_tamper = flags.append
    recorder.record("load_data", dataset="mnist", train=60000, test=10000)
    fit = recorder.record("fit", model="m", batch_size=None, epochs_run=0)
    fit["epochs_run"] = 3  # our own code completes it, then seals it again
    recorder.seal(fit)
    yield nb, channel, flags
    recorder.reset()
    recorder.set_key(b"")


def test_the_genuine_record_verifies(sealed: tuple[Notebook, SealedChannel, list[str]]) -> None:
    nb, _, flags = sealed
    events = nb.trace()
    assert [e["event"] for e in events] == ["load_data", "fit"]
    assert events[1]["epochs_run"] == 3 and not flags


def test_an_event_appended_to_the_list_is_not_in_the_record(sealed: tuple[Notebook, SealedChannel, list[str]]) -> None:
    nb, _, flags = sealed
    recorder.TRACE.append({"event": "fit", "model": "m", "batch_size": 50, "t": 0.0})  # found through gc
    assert [e["event"] for e in nb.trace()] == ["load_data", "fit"] and not flags


def test_an_event_edited_in_place_keeps_what_was_sealed(sealed: tuple[Notebook, SealedChannel, list[str]]) -> None:
    nb, _, _ = sealed
    recorder.TRACE[1]["batch_size"] = 50
    assert nb.trace("fit")[0]["batch_size"] is None


def test_a_forged_sealed_entry_is_refused_and_flagged(sealed: tuple[Notebook, SealedChannel, list[str]]) -> None:
    nb, _, flags = sealed
    text = json.dumps({"event": "fit", "model": "m", "batch_size": 50, "seq": 2, "t": 0.0}, sort_keys=True)
    recorder.SEALED[2] = (text, protocol.seal(b"a guess", text))
    with pytest.raises(BadReply, match="record of your notebook's run was altered"):
        nb.trace()
    assert flags and "seal" in flags[0]


@pytest.mark.parametrize("forgery", ["drop_last", "replay_first", "unsealed_answer"])
def test_a_forged_answer_is_refused_and_flagged(
    sealed: tuple[Notebook, SealedChannel, list[str]], forgery: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a hooked witness could publish instead of the genuine answer."""
    nb, _, flags = sealed
    genuine = recorder.sealed()
    items = genuine["sealed"]
    if forgery == "drop_last":
        forged = {**genuine, "sealed": items[:-1], "count": len(items) - 1}
    elif forgery == "replay_first":
        forged = {**genuine, "sealed": [items[0], items[0]]}
    else:
        fake = json.dumps({"event": "fit", "seq": 0, "t": 0.0, "batch_size": 50})
        forged = {"sealed": [{"text": fake, "seal": "0" * 32}], "count": 1, "count_seal": "0" * 32}
    monkeypatch.setitem(server.OPS, protocol.TRACE, lambda ns, req: forged)
    with pytest.raises(BadReply, match="altered"):
        nb.trace()
    assert flags
