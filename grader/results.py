"""What grading one submission produces: plain frozen data, stored in the gradebook
and rendered by the reports. Nothing here talks to a kernel."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Caps on what one result row may hold. A result is stored whole in the gradebook (one
# JSON row) and re-rendered on every run, so everything a notebook can make long is
# clipped when a SubmissionResult is built (or read back): a row stays under about 1 MB
# of text, whatever the notebook holds (5,000 answer markers once made a 100 MB row).
# one check's message (a report shows 4,000); GRADER_MAX_MESSAGE_CHARS raises it for the
# project's hostile suites, whose zero-point probe check hands over what an attack found
MAX_MESSAGE_CHARS = 8_000


def max_message_chars() -> int:
    """MAX_MESSAGE_CHARS, or GRADER_MAX_MESSAGE_CHARS where the environment sets it."""
    return int(os.environ.get("GRADER_MAX_MESSAGE_CHARS", MAX_MESSAGE_CHARS))
MAX_ERROR_CHARS = 1_000
MAX_EVENTS = 50
MAX_EVENT_CHARS = 500
MAX_FLAGS = 50
MAX_FLAG_CHARS = 1_000
MAX_CELL_ISSUES = 100
MAX_EVALUE_CHARS = 2_000  # a report shows 1,000
MAX_ANSWERS = 16  # assignments declare one or two
MAX_ANSWER_CHARS = 32_000  # grader.answers records 20,000 and says so; a report shows 20,000
MAX_ID_CHARS = 100  # an answer id, an exception's name
MAX_NOTES = 20
MAX_NOTE_CHARS = 300
MAX_EXTRA_CHARS = 100_000  # `extra`, as JSON


def clip_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying so; clipping twice changes nothing."""
    if len(text) <= limit:
        return text
    note = f"… [clipped: {len(text):,} characters in all]"
    return text[: max(limit - len(note), 0)] + note[:limit]


def _clip_list(items: tuple[Any, ...], limit: int) -> tuple[tuple[Any, ...], int]:
    return (items, 0) if len(items) <= limit else (items[:limit], len(items) - limit)


@dataclass(frozen=True)
class CheckResult:
    """One test function's outcome for one submission."""

    name: str
    hidden: bool
    points: float  # earned
    max_points: float
    status: str  # passed | partial | failed | skipped (not graded in this profile)
    message: str = ""  # for the student: what was expected, what was found
    seconds: float = 0.0
    # what the verdict rests on: "trusted" (measured on the grader's side from the
    # model's artefacts), "testimony" (the kernel's trace, histories or model
    # descriptions: forgeable by a determined student), "" (values and the file only)
    basis: str = ""


@dataclass(frozen=True)
class CellIssue:
    """A code cell that raised or was stopped, shown on the report."""

    cell: int  # 1-based position among all the notebook's cells (markdown ones too)
    status: str  # error | timeout | not-run
    ename: str
    evalue: str
    execution_count: int | None = None  # the `In [7]` a person sees after Run All; None: not run
    first_line: str = ""  # the cell's first non-blank line, shortened

    @property
    def label(self) -> str:
        """How a person finds the cell in Jupyter: `In [7]` and its first line."""
        if self.execution_count is None and not self.first_line:
            return f"cell {self.cell}"  # a result stored before cells were named this way
        return cell_ref(self.execution_count, self.first_line)


@dataclass(frozen=True)
class Answer:
    """A free-text answer (markdown cell tagged answer:<id>), graded by a person."""

    id: str
    text: str


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    assignment: str
    assignment_version: str
    spec_digest: str
    submission_digest: str
    profile: str
    sandboxed: bool
    score: float
    max_score: float
    error: str | None = None  # one-line reason when the submission could not be graded
    checks: tuple[CheckResult, ...] = ()
    cell_issues: tuple[CellIssue, ...] = ()
    events: tuple[str, ...] = ()  # limits hit, processes killed, ...
    answers: tuple[Answer, ...] = ()
    synthetic_data: bool = False
    seed: int = 0
    seconds: float = 0.0
    execute_seconds: float = 0.0
    source_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # evidence of tampering for a person to review (never a point more or less by itself)
    flags: tuple[str, ...] = ()
    # what the profile changed for this run, one line each: data subsampled or
    # synthetic (with the data set's size), epochs capped from N to M
    profile_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Clip everything a notebook can make long (see MAX_* above)."""
        notes: list[str] = []
        setattr_ = object.__setattr__  # frozen
        cap = max_message_chars()
        if any(len(c.message) > cap for c in self.checks):
            setattr_(
                self, "checks", tuple(replace(c, message=clip_text(c.message, cap)) for c in self.checks)
            )
        issues, dropped = _clip_list(tuple(self.cell_issues), MAX_CELL_ISSUES)
        if dropped:
            notes.append(f"{dropped} more cell error(s) or time-out(s) were not stored")
        if dropped or any(len(i.evalue) > MAX_EVALUE_CHARS or len(i.ename) > MAX_ID_CHARS for i in issues):
            issues = tuple(
                replace(i, ename=clip_text(i.ename, MAX_ID_CHARS), evalue=clip_text(i.evalue, MAX_EVALUE_CHARS))
                for i in issues
            )
        setattr_(self, "cell_issues", issues)
        answers, dropped = _clip_list(tuple(self.answers), MAX_ANSWERS)
        if dropped:
            notes.append(f"{dropped} more answer(s) were not stored (at most {MAX_ANSWERS})")
        if dropped or any(len(a.text) > MAX_ANSWER_CHARS or len(a.id) > MAX_ID_CHARS for a in answers):
            answers = tuple(
                Answer(clip_text(a.id, MAX_ID_CHARS), clip_text(a.text, MAX_ANSWER_CHARS)) for a in answers
            )
        setattr_(self, "answers", answers)
        flags, dropped = _clip_list(tuple(self.flags), MAX_FLAGS)
        if dropped:
            notes.append(f"{dropped} more flag(s) were not stored")
        setattr_(self, "flags", tuple(clip_text(f, MAX_FLAG_CHARS) for f in flags))
        setattr_(self, "profile_notes", tuple(clip_text(n, MAX_NOTE_CHARS) for n in self.profile_notes[:MAX_NOTES]))
        if self.error is not None:
            setattr_(self, "error", clip_text(self.error, MAX_ERROR_CHARS))
        if self.extra:
            size = len(json.dumps(self.extra, default=str))
            if size > MAX_EXTRA_CHARS:
                setattr_(self, "extra", {"clipped": f"{size:,} characters of extra data were not stored"})
        events = tuple(clip_text(e, MAX_EVENT_CHARS) for e in self.events)
        room = MAX_EVENTS - len(notes)
        if len(events) > room:
            events = (*events[: room - 1], f"{len(events) - room + 1} more event(s) were not stored")
        setattr_(self, "events", (*events, *notes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubmissionResult:
        d = dict(d)
        d["checks"] = tuple(CheckResult(**c) for c in d.get("checks", ()))
        d["cell_issues"] = tuple(CellIssue(**c) for c in d.get("cell_issues", ()))
        d["answers"] = tuple(Answer(**a) for a in d.get("answers", ()))
        d["events"] = tuple(d.get("events", ()))
        d["flags"] = tuple(d.get("flags", ()))
        d["profile_notes"] = tuple(d.get("profile_notes", ()))
        return cls(**d)


_FIRST_LINE_CHARS = 60


def first_line(source: str) -> str:
    """A cell's first non-blank line, shortened, without control characters."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    line = "".join("?" if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in line)
    return line if len(line) <= _FIRST_LINE_CHARS else line[: _FIRST_LINE_CHARS - 1] + "…"


def cell_ref(execution_count: int | None, line: str) -> str:
    """A code cell as a person finds it: `In [7] model.fit(...)`; `In [ ]` when it did
    not run. Positions among all cells count markdown cells, which no notebook UI shows."""
    count = f"In [{execution_count}]" if execution_count is not None else "In [ ]"
    return f"{count} `{line}`" if line else count
