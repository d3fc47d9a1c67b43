"""What a batch shows while it runs: plain lines for logs, a live bar on a terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from grader.progress import (
    PlainPresenter,
    RichPresenter,
    Tally,
    duration,
    events_of,
    presenter_for,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _plain(every_s: float = 30.0) -> tuple[PlainPresenter, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return PlainPresenter(out, every_s=every_s, clock=clock), out, clock


def test_plain_lines_are_the_batch_lines_unchanged() -> None:
    say, out, clock = _plain()
    with say:
        say.begin(2, skipped=1, workers=2, label="cnn_filters")
        say.started("kim")
        clock.t += 1.2
        say("  kim: 16/16  (1.2 s)")
        say.finished("kim", ok=True)
        say("  dave: not graded: dave.py: a .py file is not a notebook")
        say.finished("dave", ok=False)
    assert out.getvalue().splitlines() == [
        "  kim: 16/16  (1.2 s)",
        "  dave: not graded: dave.py: a .py file is not a notebook",
    ]


def test_a_long_plain_batch_says_counts_students_in_flight_and_eta() -> None:
    say, out, clock = _plain(every_s=30)
    say.begin(10, skipped=3, workers=2, label="cnn_filters")
    say.started("kim")
    say.started("lee")
    clock.t += 20
    say("  kim: 16/16  (20.0 s)")
    say.finished("kim", ok=True)  # 20 s in: no status line yet
    say.started("park")
    clock.t += 15
    say("  lee: 0/16  (the grader failed on this submission: exit code 1)")
    say.finished("lee", ok=False)  # 35 s in: one status line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    status = lines[-1]
    assert status.startswith("  progress: 2/10 done (1 graded, 1 could not be graded; 3 skipped as already graded)")
    assert "35 s so far" in status and "in flight: park (15 s)" in status
    # mean job 27.5 s; 7 queued and park 12.5 s from the mean, over 2 workers: (7*27.5 + 12.5) / 2
    assert "ETA 1:43" in status
    say.started("oh")
    clock.t += 10
    say.finished("park", ok=True)  # 10 s after the last status line: none
    assert len(out.getvalue().splitlines()) == 3


def test_the_last_result_gets_no_status_line() -> None:
    say, out, clock = _plain(every_s=0)
    say.begin(1, workers=1)
    say.started("kim")
    clock.t += 5
    say.finished("kim", ok=True)
    assert out.getvalue() == ""


def test_tally_eta() -> None:
    clock = Clock()
    t = Tally(clock=clock)
    t.begin(4, skipped=0, workers=2, label="x")
    assert t.eta() is None  # nothing finished: nothing to go by
    t.started("a")
    t.started("b")
    clock.t += 10
    t.finished("a", ok=True)
    t.finished("b", ok=True)
    assert t.eta() == 10.0  # two left at 10 s each on two workers
    t.started("c")
    clock.t += 4
    assert t.eta() == (10 + 6) / 2
    t.finished("c", ok=True)
    t.finished("d", ok=False)  # never started (unreadable): counted, not timed
    assert t.eta() == 0.0 and t.errors == 1 and t.graded == 3 and t.durations == [10, 10, 4]


def test_durations_read_as_people_write_them() -> None:
    assert [duration(s) for s in (0.4, 42, 60, 187, 3723)] == ["0 s", "42 s", "1:00", "3:07", "1:02:03"]


def test_print_has_no_events() -> None:
    events = events_of(print)
    events.begin(3)
    events.started("kim")
    events.finished("kim", ok=True)  # no error, nothing printed


def test_not_a_terminal_gets_plain_lines() -> None:
    assert isinstance(presenter_for(io.StringIO()), PlainPresenter)


def _strip(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_the_live_bar_shows_counts_students_in_flight_and_eta() -> None:
    buf, clock = io.StringIO(), Clock()
    console = Console(file=buf, force_terminal=True, width=160, color_system="truecolor")
    say = RichPresenter(console, clock=clock, auto_refresh=False)
    with say:
        say.begin(40, skipped=3, workers=2, label="cnn_filters")
        for name in ("kim", "lee"):
            say.started(name)
        clock.t += 10
        say("  kim: 16/16  (10.0 s)")
        say.finished("kim", ok=True)
        say.started("park")
        clock.t += 2
        say("  lee: 0/16  (time-out)")
        say.finished("lee", ok=False)
        clock.t += 3
        say.refresh()
        shown = _strip(buf.getvalue())
    assert "\x1b[" in buf.getvalue()  # drawn for a terminal
    assert "  kim: 16/16  (10.0 s)" in shown and "  lee: 0/16  (time-out)" in shown
    assert "cnn_filters" in shown and "2/40" in shown
    assert "graded 1" in shown and "could not be graded 1" in shown and "skipped 3" in shown
    assert "in flight: park (5 s)" in shown
    # mean 11 s; 37 queued and park 6 s from the mean, over 2 workers: (37*11 + 6) / 2 = 206.5 s
    assert "15 s · ETA 3:27" in shown


def test_the_live_bar_is_gone_after_the_batch() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with RichPresenter(console, auto_refresh=False) as say:
        say.begin(1, label="cnn_filters")
        say.started("kim")
        say("  kim: 16/16  (1.0 s)")
        say.finished("kim", ok=True)
    text = buf.getvalue()
    assert "  kim: 16/16  (1.0 s)" in _strip(text) and "1/1" in _strip(text)
    after_last_frame = text.rsplit("in flight: none", 1)[1]
    assert _strip(after_last_frame).strip() == "", after_last_frame  # nothing is drawn after it ...
    assert after_last_frame.count("\x1b[2K") >= 2  # ... and both of its lines are erased
