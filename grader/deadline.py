"""Deadlines of the trusted side: one per check, one for all checks of a submission.

The pytest plugin opens a check's deadline when the test function starts (`check`).
Everything the check asks the kernel is capped to the time left (`cap`, used by
grader.witness), so a witness that answers each request just under a per-request
limit cannot stretch a check of three requests to three times its limit. The check's
own computation is stopped by a timer when it overruns (SIGALRM, in the main thread
only), as CheckTimeout. Work that must not be cut half-way runs `shielded()`: the timer
waits for it (a witness request, whose channel enforces the same deadline itself and
then recovers the kernel). Work that should not count against the check at all (the
one-time start of a helper process) runs `paused()`: the check's deadline moves on by
the time it took, never past the submission's.

State is per process: checks run one at a time in the worker's main thread.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .errors import CheckTimeout
from .i18n import msg

RETRY_S = 0.2  # a timer that fires during shielded work looks again this much later
AGAIN_S = 0.5  # a check that swallowed its CheckTimeout gets another one this much later

_until: float | None = None  # when the current check must end (monotonic)
_outer: float | None = None  # when all checks of the submission must end
_message = ""
_shield = 0


def active() -> bool:
    return _until is not None


def left() -> float | None:
    """Seconds left to the current check; None outside a check."""
    return None if _until is None else _until - time.monotonic()


def message() -> str:
    return _message


def cap(timeout: float | None) -> float | None:
    """`timeout` shortened to the time the check has left (None: the time left, or None
    outside a check); CheckTimeout when nothing is left."""
    rest = left()
    if rest is None:
        return timeout
    if rest <= 0:
        raise CheckTimeout(_message)
    return rest if timeout is None else min(timeout, rest)


@contextmanager
def shielded() -> Iterator[None]:
    """The timer does not interrupt this block; it raises after it, if the time is up."""
    global _shield
    _shield += 1
    try:
        yield
    finally:
        _shield -= 1


@contextmanager
def paused() -> Iterator[None]:
    """This block does not count against the check (it still counts against the
    submission's deadline), and the timer does not interrupt it."""
    global _until
    started = time.monotonic()
    with shielded():
        try:
            yield
        finally:
            if _until is not None:
                _until += time.monotonic() - started
                if _outer is not None:
                    _until = min(_until, _outer)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _until is None:
        return
    rest = _until - time.monotonic()
    if _shield > 0 or rest > 0:  # shielded work in flight, or the deadline moved (paused)
        signal.setitimer(signal.ITIMER_REAL, RETRY_S if _shield > 0 else max(rest, 0.001))
        return
    signal.setitimer(signal.ITIMER_REAL, AGAIN_S)  # once more if the check swallows this one
    raise CheckTimeout(_message)


@contextmanager
def check(seconds: float | None, *, until: float | None = None, total_s: float | None = None) -> Iterator[None]:
    """The deadline of one check: `seconds` from now, or `until` (the deadline of all the
    submission's checks, which took `total_s`) if that comes first. CheckTimeout at once
    when `until` has passed: the check is not started."""
    global _until, _outer, _message
    now = time.monotonic()
    if until is not None and now >= until:
        raise CheckTimeout(
            msg(
                f"not run: the checks of this submission used up their time limit of {total_s or 0:g} s",
                f"실행하지 않음: 이 제출물의 검사들이 제한 시간 {total_s or 0:g}초를 다 썼습니다",
            )
        )
    end = now + seconds if seconds is not None else None
    if until is not None and (end is None or until < end):
        end = until
        why = msg(
            f"the checks of this submission used up their time limit of {total_s or 0:g} s; this check was stopped",
            f"이 제출물의 검사들이 제한 시간 {total_s or 0:g}초를 다 써서 이 검사를 중단했습니다",
        )
    else:
        why = msg(
            f"this check took longer than its time limit of {seconds or 0:g} s and was stopped",
            f"이 검사가 제한 시간 {seconds or 0:g}초를 넘겨 중단되었습니다",
        )
    if end is None:
        yield
        return
    saved = (_until, _outer, _message)
    _until, _outer, _message = end, until, why
    timer = threading.current_thread() is threading.main_thread()
    if timer:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        before = signal.setitimer(signal.ITIMER_REAL, max(end - now, 0.001))
        armed_at = time.monotonic()
    try:
        yield
    finally:
        _until, _outer, _message = saved
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if before[0] > 0:  # someone else's timer was running: give it back what is left
                rest = before[0] - (time.monotonic() - armed_at)
                signal.setitimer(signal.ITIMER_REAL, max(rest, 0.001), before[1])
