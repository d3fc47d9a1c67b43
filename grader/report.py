"""HTML feedback pages, the class summary and the gradebook CSV, from `SubmissionResult`s.

Everything a student wrote (ids, answers, error text, check messages built from their
values) is hostile here: templates are autoescaped, file names derived from ids are
checked before they touch the disk, CSV cells cannot start a spreadsheet formula, and
every file is replaced atomically so a killed run never leaves half a report behind.
Test source is never passed in, so no page can show it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import re
import statistics
import tempfile
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TextIO

import jinja2

from .results import SubmissionResult

if TYPE_CHECKING:
    from .spec import Assignment

__all__ = [
    "ReportContext",
    "export_csv",
    "render_student",
    "render_summary",
    "report_file_names",
    "write_reports",
]

# Caps on student-controlled text, so one runaway message cannot make a 50 MB page.
MAX_MESSAGE_CHARS = 4000
MAX_ANSWER_CHARS = 20000
MAX_EVALUE_CHARS = 1000
MAX_NOTE_CHARS = 300
MAX_NOTES = 20
MAX_IGNORED = 200

_EPS = 1e-9
_STATUS_LABELS = {
    "passed": "passed",
    "partial": "partial credit",
    "failed": "failed",
    "skipped": "not graded in this profile",
    "missing": "no result",
}
_STATUS_ICONS = {"passed": "✓", "partial": "◐", "failed": "✗", "skipped": "–", "missing": "?"}


@dataclass(frozen=True)
class ReportContext:
    """What a report needs to know about the run, beyond each submission's result.

    Built once per grading run (see `from_assignment`), so every page of a batch says the
    same thing about the assignment, the profile and the sandbox.
    """

    assignment: str
    title: str
    version: str
    profile: str
    test_order: tuple[str, ...]
    hidden: frozenset[str] = frozenset()
    points: Mapping[str, float] = field(default_factory=dict)
    synthetic: bool = False
    sandboxed: bool = True
    generated_at: str = ""
    ignored: tuple[str, ...] = ()  # files in the submissions folder that are not submissions

    def __post_init__(self) -> None:
        # Accept lists, sets and dicts from callers but keep the context immutable.
        object.__setattr__(self, "test_order", tuple(self.test_order))
        object.__setattr__(self, "ignored", tuple(self.ignored))
        object.__setattr__(self, "hidden", frozenset(self.hidden))
        object.__setattr__(self, "points", MappingProxyType(dict(self.points)))

    @property
    def max_points(self) -> float:
        return float(sum(self.points.values()))

    @classmethod
    def from_assignment(
        cls,
        assignment: Assignment,
        profile: str,
        *,
        sandboxed: bool,
        generated_at: str | None = None,
        ignored: Sequence[str] = (),
    ) -> ReportContext:
        """The context of one run of `assignment` under `profile`; timestamp: now, UTC."""
        prof = assignment.profiles.get(profile)
        order = assignment.test_order()
        return cls(
            assignment=assignment.name,
            title=assignment.title,
            version=assignment.version,
            profile=profile,
            test_order=tuple(order),
            hidden=frozenset(t for t in order if assignment.is_hidden(t)),
            points=dict(assignment.points),
            synthetic=bool(prof and prof.synthetic),
            sandboxed=sandboxed,
            generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            ignored=tuple(ignored),
        )


# --- file names ------------------------------------------------------------------------

_FORBIDDEN_CHARS = set('/\\:*?"<>|~')
_RESERVED_STEMS = {"index", "con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)
}
_MAX_STEM_BYTES = 200


def _is_plain_stem(student: str) -> bool:
    """True when the id can be used as a file name as it is, on any common file system.

    '~' is refused too: it marks the derived names below, so a plain id can never
    take the file name derived for another id.
    """
    return (
        bool(student)
        and len(student.encode("utf-8")) <= _MAX_STEM_BYTES
        and not student.startswith(".")
        and ".." not in student
        and student == student.strip()
        and not student.endswith(".")
        and not any(c in _FORBIDDEN_CHARS for c in student)
        and not any(unicodedata.category(c).startswith("C") for c in student)
        and student.casefold() not in _RESERVED_STEMS
    )


def _derived_stem(student: str) -> str:
    """A safe, readable, deterministic stem for an id that is not a plain file name."""
    keep = "".join(c if (c.isalnum() or c in "-_") else "_" for c in student)
    slug = re.sub("_+", "_", keep).strip("_")[:40] or "student"
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug}~{digest}"


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def report_file_names(students: Iterable[str]) -> dict[str, str]:
    """Map each student id to the file name of its page (`<id>.html` when that is safe).

    Ids that are not plain file names, and ids that differ only by case (they would
    overwrite each other on macOS or Windows), get a derived name with a hash of the
    id: deterministic, so the summary links to exactly what `write_reports` wrote.
    """
    ids = list(students)
    seen: set[str] = set()
    for s in ids:
        if s in seen:
            raise ValueError(f"two results for student {s!r}; a report set needs one per student")
        seen.add(s)
    folded: dict[str, int] = {}
    for s in ids:
        if _is_plain_stem(s):
            folded[_fold(s)] = folded.get(_fold(s), 0) + 1
    names = {}
    for s in ids:
        plain = _is_plain_stem(s) and folded[_fold(s)] == 1
        names[s] = f"{s if plain else _derived_stem(s)}.html"
    return names


# --- view models -------------------------------------------------------------------------


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clip(text: str, limit: int) -> str:
    """Student text, shortened, without terminal escapes or control characters."""
    text = _CONTROL.sub("", text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters not shown)"


def _fmt(x: float, digits: int = 2) -> str:
    """Points as people write them: 2, 1.5, 0.33 (the CSV keeps more digits)."""
    r = round(float(x), digits)
    return str(int(r)) if r == int(r) else str(r)


@dataclass(frozen=True)
class _CheckRow:
    name: str
    hidden: bool
    points: float | None
    max_points: float
    status: str
    message: str
    basis: str = ""  # trusted | testimony | "" (grader.results.CheckResult.basis)

    @property
    def label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    @property
    def icon(self) -> str:
        return _STATUS_ICONS.get(self.status, "")


def _check_rows(result: SubmissionResult, ctx: ReportContext) -> list[_CheckRow]:
    """The result's checks in display order; a test the run should have produced but did
    not appears as 'no result' so its lost points are not silently missing."""
    by_name = {c.name: c for c in result.checks}
    order = list(ctx.test_order) + [c.name for c in result.checks if c.name not in ctx.test_order]
    rows = []
    for name in order:
        c = by_name.get(name)
        if c is None:
            if result.error is not None or not result.checks:
                continue
            rows.append(
                _CheckRow(
                    name,
                    name in ctx.hidden,
                    None,
                    ctx.points.get(name, 0.0),
                    "missing",
                    "This check produced no result for your notebook.",
                )
            )
            continue
        rows.append(
            _CheckRow(
                name=c.name,
                hidden=c.hidden or c.name in ctx.hidden,
                points=None if c.status == "skipped" else c.points,
                max_points=c.max_points,
                status=c.status,
                message=_clip(c.message, MAX_MESSAGE_CHARS),
                basis=c.basis,
            )
        )
    return rows


@dataclass(frozen=True)
class _AnswerRow:
    id: str
    text: str
    manual: float | None


def _answer_rows(result: SubmissionResult, manual: Mapping[str, float]) -> list[_AnswerRow]:
    return [
        _AnswerRow(a.id, _clip(a.text, MAX_ANSWER_CHARS), manual.get(a.id)) for a in result.answers
    ]


def _max_score(result: SubmissionResult, ctx: ReportContext) -> float:
    return result.max_score if result.max_score > 0 else ctx.max_points


def _score(result: SubmissionResult) -> float:
    return 0.0 if result.error is not None else result.score


def _overall(result: SubmissionResult, rows: Sequence[_CheckRow]) -> str:
    """One status word for a submission: passed, partial, failed or error. Judged on the
    display rows, so a check that produced no result counts as not passed."""
    if result.error is not None:
        return "error"
    graded = [r for r in rows if r.status != "skipped"]
    if graded and all(r.status == "passed" for r in graded):
        return "passed"
    return "failed" if result.score <= _EPS else "partial"


_OVERALL_LABELS = {
    "passed": "all checks passed",
    "partial": "some checks lost points",
    "failed": "no points earned",
    "error": "could not be graded",
}


def _pending(result: SubmissionResult, manual: Mapping[str, float]) -> int:
    return sum(1 for a in result.answers if a.id not in manual)


# --- rendering ---------------------------------------------------------------------------


@functools.cache
def _env() -> jinja2.Environment:
    """One environment for all templates; autoescape is on for every one of them,
    whatever its extension, because every page shows text a student wrote."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pts"] = _fmt
    env.filters["href"] = lambda name: urllib.parse.quote(name, safe="")
    return env


def render_student(
    result: SubmissionResult,
    ctx: ReportContext,
    manual_scores: Mapping[str, float] | None = None,
) -> str:
    """The feedback page for one student: score, every check's message, cell errors,
    events and free-text answers. `manual_scores` maps answer id to points given."""
    manual = dict(manual_scores or {})
    rows = _check_rows(result, ctx)
    graded = [r for r in rows if r.status != "skipped"]
    overall = _overall(result, rows)
    page = _env().get_template("student.html")
    return page.render(
        ctx=ctx,
        r=result,
        score=_score(result),
        max_score=_max_score(result, ctx),
        overall=overall,
        overall_label=_OVERALL_LABELS[overall],
        rows=rows,
        n_passed=sum(1 for r in graded if r.status == "passed"),
        n_graded=len(graded),
        has_skipped=any(r.status == "skipped" for r in rows),
        cell_issues=[(ci, _clip(ci.evalue, MAX_EVALUE_CHARS)) for ci in result.cell_issues],
        answers=_answer_rows(result, manual),
        manual_total=sum(manual.get(a.id, 0.0) for a in result.answers),
        has_manual=any(a.id in manual for a in result.answers),
        synthetic=result.synthetic_data or ctx.synthetic,
        profile_notes=[_clip(n, MAX_NOTE_CHARS) for n in result.profile_notes[:MAX_NOTES]],
    )


@dataclass(frozen=True)
class _TestStats:
    name: str
    hidden: bool
    max_points: float
    graded: int  # submissions where this check ran in this profile
    passed: int
    partial: int
    mean_points: float | None
    losing_pct: float | None  # share of `graded` that earned less than max


def _test_stats(graded: Sequence[SubmissionResult], ctx: ReportContext) -> list[_TestStats]:
    """Per check, over graded submissions: built from the same rows as the student pages,
    so a check with no result counts as 0 points here too."""
    per_test: dict[str, list[_CheckRow]] = {name: [] for name in ctx.test_order}
    for r in graded:
        for row in _check_rows(r, ctx):
            per_test.setdefault(row.name, []).append(row)
    out = []
    for name, all_rows in per_test.items():
        rows = [row for row in all_rows if row.status != "skipped"]
        earned = [row.points or 0.0 for row in rows]
        losing = sum(1 for row, e in zip(rows, earned, strict=True) if e < row.max_points - _EPS)
        n = len(rows)
        out.append(
            _TestStats(
                name=name,
                hidden=name in ctx.hidden or any(row.hidden for row in all_rows),
                max_points=all_rows[0].max_points if all_rows else ctx.points.get(name, 0.0),
                graded=n,
                passed=sum(1 for row in rows if row.status == "passed"),
                partial=sum(1 for row in rows if row.status == "partial"),
                mean_points=statistics.fmean(earned) if n else None,
                losing_pct=100.0 * losing / n if n else None,
            )
        )
    return out


@dataclass(frozen=True)
class _StudentRow:
    student: str
    href: str
    score: float
    max_score: float
    status: str
    label: str
    passed: int
    graded: int
    cell_issues: int
    pending: int
    manual_total: float | None
    seconds: float
    error: str | None


def render_summary(
    results: Sequence[SubmissionResult],
    ctx: ReportContext,
    manual_scores: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """The class summary: score statistics, which checks the class struggles with, the
    submissions that could not be graded and why, and a link to every student's page."""
    manual_all = manual_scores or {}
    ordered = sorted(results, key=lambda r: r.student)
    names = report_file_names(r.student for r in ordered)
    graded = [r for r in ordered if r.error is None]
    scores = [r.score for r in graded]
    maxes = {_max_score(r, ctx) for r in graded}
    students = []
    for r in ordered:
        manual = manual_all.get(r.student, {})
        rows = [row for row in _check_rows(r, ctx) if row.status != "skipped"]
        overall = _overall(r, rows)
        scored = [manual[a.id] for a in r.answers if a.id in manual]
        students.append(
            _StudentRow(
                student=r.student,
                href=names[r.student],
                score=_score(r),
                max_score=_max_score(r, ctx),
                status=overall,
                label=_OVERALL_LABELS[overall],
                passed=sum(1 for row in rows if row.status == "passed"),
                graded=len(rows),
                cell_issues=len(r.cell_issues),
                pending=_pending(r, manual),
                manual_total=sum(scored) if scored else None,
                seconds=r.seconds,
                error=r.error,
            )
        )
    stats = None
    if scores:
        stats = {
            "mean": statistics.fmean(scores),
            "median": statistics.median(scores),
            "min": min(scores),
            "max": max(scores),
        }
    unsandboxed = sum(1 for r in ordered if not r.sandboxed) if ctx.sandboxed else len(ordered)
    page = _env().get_template("summary.html")
    return page.render(
        ctx=ctx,
        n_total=len(ordered),
        n_graded=len(graded),
        failed=[s for s in students if s.error is not None],
        stats=stats,
        class_max=max(maxes) if maxes else ctx.max_points,
        mixed_max=len(maxes) > 1,
        tests=_test_stats(graded, ctx),
        students=students,
        pending=sum(s.pending for s in students),
        unsandboxed=unsandboxed,
        synthetic=ctx.synthetic or any(r.synthetic_data for r in ordered),
        profile_notes=_class_profile_notes(graded),
        ignored=[_clip(name, MAX_NOTE_CHARS) for name in ctx.ignored[:MAX_IGNORED]],
        n_ignored=len(ctx.ignored),
    )


def _class_profile_notes(graded: Sequence[SubmissionResult]) -> list[tuple[str, int]]:
    """What the profile changed, over the class: each distinct note with the number of
    graded submissions it applies to (data set lines apply to all, epoch caps to some)."""
    counts: dict[str, int] = {}
    for r in graded:
        for note in dict.fromkeys(r.profile_notes[:MAX_NOTES]):
            counts[note] = counts.get(note, 0) + 1
    return [(_clip(n, MAX_NOTE_CHARS), k) for n, k in list(counts.items())[:MAX_NOTES]]


# --- files -------------------------------------------------------------------------------


@functools.cache
def _file_mode() -> int:
    """What open() would give a new file (0o644 under the usual umask): mkstemp makes
    0o600 files, which a web server or a colleague could not read."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once: a temp file in the same folder, fsynced,
    then os.replace. A run killed at any point leaves the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the replace itself is still atomic
    finally:
        os.close(dir_fd)


def write_reports(
    out_dir: Path,
    results: Sequence[SubmissionResult],
    ctx: ReportContext,
    manual_scores: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Path]:
    """Write one page per student and index.html into `out_dir`; return the paths written,
    index.html last (it is written last, so every link in it already resolves)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manual_all = manual_scores or {}
    names = report_file_names(r.student for r in results)
    written = []
    for r in results:
        path = out_dir / names[r.student]
        _write_atomic(path, render_student(r, ctx, manual_all.get(r.student)).encode("utf-8"))
        written.append(path)
    index = out_dir / "index.html"
    _write_atomic(index, render_summary(results, ctx, manual_all).encode("utf-8"))
    written.append(index)
    return written


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Neutralise CSV formula injection: a cell a spreadsheet would evaluate gets a
    leading apostrophe, so Excel shows the text instead of running it."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(
    results: Sequence[SubmissionResult],
    out: TextIO | Path,
    ctx: ReportContext,
) -> None:
    """The gradebook: `student,total,max,status,error,<test>...`, one row per student.

    Per-test cells hold the points earned, empty where the check was not graded. A path
    is written atomically as UTF-8 with a BOM, which Excel needs to read Korean ids.
    """
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["student", "total", "max", "status", "error", *ctx.test_order])
    for r in sorted(results, key=lambda r: r.student):
        by_name = {c.name: c for c in r.checks}
        per_test = []
        for name in ctx.test_order:
            c = by_name.get(name)
            per_test.append(
                ""
                if r.error is not None or c is None or c.status == "skipped"
                else _fmt(c.points, 4)
            )
        w.writerow(
            [
                _cell(r.student),
                _fmt(_score(r), 4),
                _fmt(_max_score(r, ctx), 4),
                "error" if r.error is not None else "graded",
                _cell(r.error or ""),
                *per_test,
            ]
        )
    if isinstance(out, Path):
        _write_atomic(out, buf.getvalue().encode("utf-8-sig"))
    else:
        out.write(buf.getvalue())
