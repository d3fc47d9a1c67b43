"""What grading one submission produces: plain frozen data, stored in the gradebook
and rendered by the reports. Nothing here talks to a kernel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class CellIssue:
    """A code cell that raised or was stopped, shown on the report."""

    cell: int  # 1-based position in the notebook
    status: str  # error | timeout | not-run
    ename: str
    evalue: str


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubmissionResult:
        d = dict(d)
        d["checks"] = tuple(CheckResult(**c) for c in d.get("checks", ()))
        d["cell_issues"] = tuple(CellIssue(**c) for c in d.get("cell_issues", ()))
        d["answers"] = tuple(Answer(**a) for a in d.get("answers", ()))
        d["events"] = tuple(d.get("events", ()))
        return cls(**d)
