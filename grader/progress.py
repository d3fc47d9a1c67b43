"""What a grading batch tells the person who started it.

The batch speaks through one callable, `say(line)`, and, when that callable is one of
the presenters here, also reports events: the batch begins (how many to grade, how
many skipped), a student's job starts, a student's job ends. Two presenters:

- `PlainPresenter` (stdout is not a terminal: CI, logs, tests): the lines the batch
  says, exactly as they are, flushed one by one, and every `every_s` seconds of a long
  batch one more line with the counts, the students in flight and the time left.
- `RichPresenter` (a terminal): the same lines scroll above a live bar with the counts
  (done/total, graded, could not be graded, skipped), the students in flight and an
  ETA, redrawn four times a second and erased when the batch ends.

`presenter_for(stream)` picks one. Both are context managers: leaving the `with`
stops the live display, also when the batch fails or is interrupted.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TextIO, runtime_checkable

from .i18n import DEFAULT_LANG, msg, pick

if TYPE_CHECKING:  # rich is imported where a terminal shows the bar: off one, nothing of it loads
    from rich.console import Console, RenderableType

Clock = Callable[[], float]


@runtime_checkable
class Events(Protocol):
    """What the batch reports besides its lines (see `events_of`)."""

    def begin(self, total: int, *, skipped: int = 0, workers: int = 1, label: str = "grading") -> None: ...

    def started(self, student: str) -> None: ...

    def finished(self, student: str, ok: bool) -> None: ...


class _NoEvents:
    def begin(self, total: int, *, skipped: int = 0, workers: int = 1, label: str = "grading") -> None:
        pass

    def started(self, student: str) -> None:
        pass

    def finished(self, student: str, ok: bool) -> None:
        pass


def events_of(say: Callable[[str], None]) -> Events:
    """The events side of a `say` callback: the presenter itself, or nothing for `print`."""
    return say if isinstance(say, Events) else _NoEvents()


def duration(seconds: float) -> str:
    """'42 s', '3:07', '1:02:03'."""
    s = max(0, int(seconds + 0.5))
    if s < 60:
        return f"{s} s"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class Tally:
    """Counts, students in flight and the time left; pure, with an injectable clock."""

    clock: Clock = time.monotonic
    label: str = "grading"
    lang: str = DEFAULT_LANG  # of the text below (grader.i18n)
    total: int = 0
    skipped: int = 0
    workers: int = 1
    done: int = 0
    errors: int = 0
    began: float = 0.0
    in_flight: dict[str, float] = field(default_factory=dict)  # student -> when its job started
    durations: list[float] = field(default_factory=list)  # wall seconds of finished jobs

    def begin(self, total: int, skipped: int, workers: int, label: str) -> None:
        self.total, self.skipped, self.workers, self.label = total, skipped, max(1, workers), label
        self.began = self.clock()

    def started(self, student: str) -> None:
        self.in_flight[student] = self.clock()

    def finished(self, student: str, ok: bool) -> None:
        t0 = self.in_flight.pop(student, None)
        if t0 is not None:  # an unreadable submission never had a job: it says nothing about speed
            self.durations.append(self.clock() - t0)
        self.done += 1
        self.errors += 0 if ok else 1

    @property
    def graded(self) -> int:
        return self.done - self.errors

    def elapsed(self) -> float:
        return self.clock() - self.began

    def eta(self) -> float | None:
        """Seconds left: the jobs not started and what the running ones have left, at the
        mean duration of the finished ones, spread over the workers. None before the first
        job has finished (nothing to go by) and 0 when all are done."""
        if self.done >= self.total:
            return 0.0
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        now = self.clock()
        queued = max(0, self.total - self.done - len(self.in_flight))
        running = sum(max(0.0, mean - (now - t0)) for t0 in self.in_flight.values())
        return (queued * mean + running) / min(self.workers, max(1, queued + len(self.in_flight)))

    def students(self, limit: int = 6) -> str:
        """'kim (12 s), lee (3 s)': the longest running first."""
        now = self.clock()
        names = sorted(self.in_flight.items(), key=lambda kv: kv[1])
        shown = ", ".join(f"{name} ({duration(now - t0)})" for name, t0 in names[:limit])
        more = len(names) - limit
        return shown + (pick(msg(f" and {more} more", f" 외 {more}명"), self.lang) if more > 0 else "")

    def counts(self) -> str:
        """'12/40 done (11 graded, 1 could not be graded; 3 skipped as already graded)'."""
        text = msg(
            f"{self.done}/{self.total} done ({self.graded} graded, {self.errors} could not be graded",
            f"{self.done}/{self.total} 완료 (채점 {self.graded}, 채점 불가 {self.errors}",
        )
        if self.skipped:
            text = msg(
                f"{text}; {self.skipped} skipped as already graded", f"{text.ko}; 이미 채점되어 건너뜀 {self.skipped}"
            )
        return pick(text, self.lang) + ")"

    def eta_text(self) -> str:
        eta = self.eta()
        if eta is None:
            return pick(msg("ETA unknown yet", "남은 시간 아직 모름"), self.lang)
        if eta < 1 and self.done < self.total:  # the running jobs are past the mean: no number to give
            return pick(msg("ETA < 1 s", "남은 시간 1초 미만"), self.lang)
        return pick(msg(f"ETA {duration(eta)}", f"남은 시간 {duration(eta)}"), self.lang)


class _Presenter:
    """A `say` callback that also receives the batch's events."""

    def __init__(self, clock: Clock = time.monotonic, lang: str = DEFAULT_LANG) -> None:
        self.tally = Tally(clock=clock, lang=lang)
        self.lang = lang
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        raise NotImplementedError

    def begin(self, total: int, *, skipped: int = 0, workers: int = 1, label: str = "grading") -> None:
        with self._lock:
            self.tally.begin(total, skipped, workers, label)

    def started(self, student: str) -> None:
        with self._lock:
            self.tally.started(student)

    def finished(self, student: str, ok: bool) -> None:
        with self._lock:
            self.tally.finished(student, ok)

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PlainPresenter(_Presenter):
    """Lines as the batch says them; in a long batch, a status line every `every_s` s."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        every_s: float = 30.0,
        clock: Clock = time.monotonic,
        lang: str = DEFAULT_LANG,
    ) -> None:
        super().__init__(clock, lang)
        self._out = out
        self.every_s = every_s
        self._last = clock()

    def _write(self, line: str) -> None:
        out = self._out if self._out is not None else sys.stdout  # looked up late: tests swap sys.stdout
        print(line, file=out, flush=True)

    def __call__(self, line: str) -> None:
        self._write(pick(line, self.lang))

    def begin(self, total: int, *, skipped: int = 0, workers: int = 1, label: str = "grading") -> None:
        super().begin(total, skipped=skipped, workers=workers, label=label)
        self._last = self.tally.clock()

    def finished(self, student: str, ok: bool) -> None:
        super().finished(student, ok)
        t = self.tally
        now = t.clock()
        if t.done < t.total and now - self._last >= self.every_s:
            self._last = now
            self._write(self.status_line())

    def status_line(self) -> str:
        """'  progress: 12/40 done (11 graded, 1 could not be graded), 1:05 so far, ETA 2:10; in flight: kim (4 s)'."""
        t = self.tally
        if self.lang == "ko":
            line = f"  진행: {t.counts()}, 지금까지 {duration(t.elapsed())}, {t.eta_text()}"
            return line + (f"; 채점 중: {t.students()}" if t.in_flight else "")
        line = f"  progress: {t.counts()}, {duration(t.elapsed())} so far, {t.eta_text()}"
        return line + (f"; in flight: {t.students()}" if t.in_flight else "")


class RichPresenter(_Presenter):
    """A live bar under the scrolling lines (rich), for a person at a terminal."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        clock: Clock = time.monotonic,
        auto_refresh: bool = True,
        lang: str = DEFAULT_LANG,
    ):
        from rich.console import Console
        from rich.live import Live

        super().__init__(clock, lang)
        self.console = console if console is not None else Console()
        self._live = Live(
            console=self.console,
            get_renderable=self.renderable,
            auto_refresh=auto_refresh,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._running = False

    def __call__(self, line: str) -> None:
        self.console.print(pick(line, self.lang), markup=False, highlight=False, emoji=False, soft_wrap=True)

    def begin(self, total: int, *, skipped: int = 0, workers: int = 1, label: str = "grading") -> None:
        super().begin(total, skipped=skipped, workers=workers, label=label)
        if total and not self._running:
            self._live.start(refresh=True)
            self._running = True

    def finished(self, student: str, ok: bool) -> None:
        super().finished(student, ok)
        self.refresh()  # the counts change now, not at the next tick

    def refresh(self) -> None:
        if self._running:
            self._live.refresh()

    def renderable(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            t = self.tally
            ko = self.lang == "ko"
            row = Table.grid(padding=(0, 1))
            row.add_row(
                Text(pick(t.label, self.lang), style="bold"),
                ProgressBar(total=max(1, t.total), completed=t.done, width=30),
                Text(f"{t.done}/{t.total}", style="bold"),
                Text(f"{'채점' if ko else 'graded'} {t.graded}", style="green"),
                Text(f"{'채점 불가' if ko else 'could not be graded'} {t.errors}", style="red" if t.errors else "dim"),
                Text(f"{'건너뜀' if ko else 'skipped'} {t.skipped}", style="dim"),
                Text(f"{duration(t.elapsed())} · {t.eta_text()}", style="cyan"),
            )
            flight = Text("  채점 중: " if ko else "  in flight: ", style="dim")
            flight.append(t.students() if t.in_flight else ("없음" if ko else "none"))
            flight.no_wrap, flight.overflow = True, "ellipsis"
            return Group(row, flight)

    def close(self) -> None:
        if self._running:
            self._running = False
            self._live.stop()


def presenter_for(stream: TextIO | None = None, lang: str = DEFAULT_LANG) -> PlainPresenter | RichPresenter:
    """A live bar when `stream` (default: stdout) is a terminal, plain lines otherwise;
    both in `lang` (the batch's lines carry both languages: grader.i18n)."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from rich.console import Console

        console = Console(file=stream)
        if console.is_terminal and not console.is_dumb_terminal:
            return RichPresenter(console, lang=lang)
    return PlainPresenter(stream if stream is not sys.stdout else None, lang=lang)
