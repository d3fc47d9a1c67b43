"""What grading one submission produces: plain frozen data, stored in the gradebook
and rendered by the reports. Nothing here talks to a kernel."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .i18n import Msg, korean, msg, with_korean

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
# pictures (grader.pictures): each a base64 PNG of at most MAX_PICTURE_CHARS characters
# and MAX_PICTURE_PX pixels a side; MAX_PICTURES of them, MAX_PICTURES_CHARS in all
MAX_PICTURE_CHARS = 120_000
MAX_PICTURE_PX = 1_040  # the width of a report's text column
MAX_PICTURES = 10
MAX_PICTURES_CHARS = 400_000
MAX_CAPTION_CHARS = 600
MAX_ROW_CHARS = 1_000_000  # the whole row as JSON, which pictures may not push past
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def clip_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying so; clipping twice changes nothing."""
    if isinstance(text, Msg):  # keep the Korean (grader.i18n)
        return Msg(clip_text(str(text), limit), clip_text(text.ko, limit))
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
    # the message in Korean where the author or the grader gave one, else "" (rows
    # stored before it existed load with ""); the report picks the language
    message_ko: str = ""

    def text(self, lang: str) -> str:
        """The message in `lang` ("ko": its Korean where there is one)."""
        return self.message_ko if lang == "ko" and self.message_ko else self.message


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
class Picture:
    """A picture on the report, drawn by the grader (grader.pictures) from numbers that
    crossed the boundary, never an image the notebook made: a base64 PNG shown inline."""

    check: str  # the check it illustrates ("" for the submission as a whole)
    caption: str
    png: str  # base64 of the PNG file
    width: int
    height: int
    caption_ko: str = ""

    def text(self, lang: str) -> str:
        """The caption in `lang` ("ko": its Korean where there is one)."""
        return self.caption_ko if lang == "ko" and self.caption_ko else self.caption

    @property
    def ok(self) -> bool:
        """Within the caps, and nothing but base64 where the page puts it (a src URI)."""
        return (
            len(self.png) <= MAX_PICTURE_CHARS
            and 0 < self.width <= MAX_PICTURE_PX
            and 0 < self.height <= MAX_PICTURE_PX
            and self.png.startswith("iVBORw0KGgo")  # the PNG signature
            and _BASE64.fullmatch(self.png) is not None
        )


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
    # Korean of the grader's own lines above, where they carry one (grader.i18n.Msg):
    # {"error": str, "events" | "flags" | "profile_notes": [str, "" where none]}.
    # Filled from the values when the result is built; from_dict puts it back on them.
    ko: dict[str, Any] = field(default_factory=dict)
    # pictures for the report (grader.pictures), within MAX_PICTURE* caps
    pictures: tuple[Picture, ...] = ()

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
            notes.append(
                msg(
                    f"{dropped} more cell error(s) or time-out(s) were not stored",
                    f"셀 오류나 시간 초과 {dropped}개는 더 저장하지 않았습니다",
                )
            )
        if dropped or any(len(i.evalue) > MAX_EVALUE_CHARS or len(i.ename) > MAX_ID_CHARS for i in issues):
            issues = tuple(
                replace(i, ename=clip_text(i.ename, MAX_ID_CHARS), evalue=clip_text(i.evalue, MAX_EVALUE_CHARS))
                for i in issues
            )
        setattr_(self, "cell_issues", issues)
        answers, dropped = _clip_list(tuple(self.answers), MAX_ANSWERS)
        if dropped:
            notes.append(
                msg(
                    f"{dropped} more answer(s) were not stored (at most {MAX_ANSWERS})",
                    f"답안 {dropped}개는 더 저장하지 않았습니다 (최대 {MAX_ANSWERS}개)",
                )
            )
        if dropped or any(len(a.text) > MAX_ANSWER_CHARS or len(a.id) > MAX_ID_CHARS for a in answers):
            answers = tuple(
                Answer(clip_text(a.id, MAX_ID_CHARS), clip_text(a.text, MAX_ANSWER_CHARS)) for a in answers
            )
        setattr_(self, "answers", answers)
        flags, dropped = _clip_list(tuple(self.flags), MAX_FLAGS)
        if dropped:
            notes.append(
                msg(f"{dropped} more flag(s) were not stored", f"검토 표시 {dropped}개는 더 저장하지 않았습니다")
            )
        setattr_(self, "flags", tuple(clip_text(f, MAX_FLAG_CHARS) for f in flags))
        setattr_(self, "profile_notes", tuple(clip_text(n, MAX_NOTE_CHARS) for n in self.profile_notes[:MAX_NOTES]))
        if self.error is not None:
            setattr_(self, "error", clip_text(self.error, MAX_ERROR_CHARS))
        if self.extra:
            size = len(json.dumps(self.extra, default=str))
            if size > MAX_EXTRA_CHARS:
                setattr_(self, "extra", {"clipped": f"{size:,} characters of extra data were not stored"})
        if self.pictures:
            setattr_(self, "pictures", self._pictures_within_caps(notes))
        events = tuple(clip_text(e, MAX_EVENT_CHARS) for e in self.events)
        room = MAX_EVENTS - len(notes)
        if len(events) > room:
            more = len(events) - room + 1
            dropped_line = msg(f"{more} more event(s) were not stored", f"기록 {more}개는 더 저장하지 않았습니다")
            events = (*events[: room - 1], dropped_line)
        setattr_(self, "events", (*events, *notes))
        setattr_(self, "ko", self._korean())
        if any(len(c.message_ko) > cap for c in self.checks):
            setattr_(
                self,
                "checks",
                tuple(replace(c, message_ko=clip_text(c.message_ko, cap)) for c in self.checks),
            )

    def _pictures_within_caps(self, notes: list[str]) -> tuple[Picture, ...]:
        """The pictures that fit MAX_PICTURE* and what is left of MAX_ROW_CHARS once the
        rest of the row is stored (pictures give way to text); the others are counted."""
        rest = len(json.dumps(asdict(replace(self, pictures=())), default=str, ensure_ascii=False))
        budget = min(MAX_PICTURES_CHARS, MAX_ROW_CHARS - rest - 20_000)  # room for the notes and the Korean
        kept: list[Picture] = []
        total = 0
        for p in self.pictures:
            if p.ok and len(kept) < MAX_PICTURES and total + len(p.png) <= budget:
                total += len(p.png)
                cap_en, cap_ko = clip_text(p.caption, MAX_CAPTION_CHARS), clip_text(p.caption_ko, MAX_CAPTION_CHARS)
                kept.append(replace(p, caption=cap_en, caption_ko=cap_ko))
        if len(kept) < len(self.pictures):
            n = len(self.pictures) - len(kept)
            notes.append(
                msg(f"{n} picture(s) were not stored (over the caps)", f"그림 {n}개는 저장하지 않았습니다 (한도 초과)")
            )
        return tuple(kept)

    def _korean(self) -> dict[str, Any]:
        """The Korean the Msg values carry, in the stored form of `ko`."""
        out: dict[str, Any] = {}
        if self.error is not None and korean(self.error):
            out["error"] = korean(self.error)
        for name in _KO_LISTS:
            items = getattr(self, name)
            if any(korean(x) for x in items):
                out[name] = [korean(x) for x in items]
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubmissionResult:
        d = dict(d)
        ko = d.pop("ko", None) or {}
        if d.get("error") is not None:
            d["error"] = with_korean(d["error"], ko.get("error"))
        for name in _KO_LISTS:
            kos = list(ko.get(name, ()))
            d[name] = [with_korean(x, kos[i] if i < len(kos) else "") for i, x in enumerate(d.get(name, ()))]
        d["checks"] = tuple(CheckResult(**c) for c in d.get("checks", ()))
        d["cell_issues"] = tuple(CellIssue(**c) for c in d.get("cell_issues", ()))
        d["answers"] = tuple(Answer(**a) for a in d.get("answers", ()))
        d["events"] = tuple(d.get("events", ()))
        d["flags"] = tuple(d.get("flags", ()))
        d["profile_notes"] = tuple(d.get("profile_notes", ()))
        d["pictures"] = tuple(Picture(**p) for p in d.get("pictures", ()))
        return cls(**d)


_KO_LISTS = ("events", "flags", "profile_notes")  # lines of SubmissionResult that may carry Korean

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
