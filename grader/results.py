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
