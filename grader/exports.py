"""What leaves the grader for other tools: the score CSV, a Canvas gradebook import CSV
and one JSON document per submission (schema `grader.result/1`, docs/result-schema.json).

Also the two file helpers every writer of the grader shares (the HTML reports too):
safe file names made from student ids, and atomic replacement of a file.

Everything a student wrote is hostile here as in the reports: CSV cells cannot start a
spreadsheet formula, file names derived from ids are checked before they touch the
disk, and every file is replaced atomically so a killed run never leaves half of one.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from .errors import GraderError
from .results import SubmissionResult

__all__ = [
    "CANVAS_IDENTITY",
    "FORMATS",
    "ROSTER_COLUMNS",
    "SCHEMA",
    "ExportContext",
    "RosterEntry",
    "canvas_column",
    "export_canvas",
    "export_csv",
    "export_json",
    "read_roster",
    "report_file_names",
    "result_document",
    "write_atomic",
]

FORMATS = ("csv", "canvas", "json")
SCHEMA = "grader.result/1"  # bump the number when a field changes meaning or goes away
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
ROSTER_COLUMNS = ("student", "name", "canvas_id", "sis_user_id", "sis_login_id", "section")


class ExportContext(Protocol):
    """What an export needs to know about the run (grader.report.ReportContext is one)."""

    @property
    def assignment(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def generated_at(self) -> str: ...
    @property
    def test_order(self) -> Sequence[str]: ...
    @property
    def points(self) -> Mapping[str, float]: ...
    @property
    def max_points(self) -> float: ...


# --- files -------------------------------------------------------------------------------

_FORBIDDEN_CHARS = set('/\\:*?"<>|~')
_RESERVED_STEMS = {"index", "con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}
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


def report_file_names(students: Iterable[str], suffix: str = ".html") -> dict[str, str]:
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
        names[s] = f"{s if plain else _derived_stem(s)}{suffix}"
    return names


@functools.cache
def _file_mode() -> int:
    """What open() would give a new file (0o644 under the usual umask): mkstemp makes
    0o600 files, which a web server or a colleague could not read."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: bytes) -> None:
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


# --- shared helpers ----------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Neutralise CSV formula injection: a cell a spreadsheet would evaluate gets a
    leading apostrophe, so Excel shows the text instead of running it."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _fmt(x: float, digits: int = 4) -> str:
    """Points as people write them: 2, 1.5, 0.3333."""
    r = round(float(x), digits)
    return str(int(r)) if r == int(r) else str(r)


def _score(result: SubmissionResult) -> float:
    return 0.0 if result.error is not None else result.score


def _max_score(result: SubmissionResult, ctx: ExportContext) -> float:
    return result.max_score if result.max_score > 0 else ctx.max_points


def _write_csv(rows: Iterable[Sequence[str]], out: TextIO | Path) -> None:
    """CSV rows to a stream, or atomically to a path as UTF-8 with a BOM (which Excel
    needs to read Korean ids)."""
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    if isinstance(out, Path):
        write_atomic(out, buf.getvalue().encode("utf-8-sig"))
    else:
        out.write(buf.getvalue())


# --- the score CSV -----------------------------------------------------------------------


def export_csv(results: Sequence[SubmissionResult], out: TextIO | Path, ctx: ExportContext) -> None:
    """The gradebook: `student,total,max,status,error,<test>...`, one row per student.

    Per-test cells hold the points earned, empty where the check was not graded.
    """
    rows: list[list[str]] = [["student", "total", "max", "status", "error", *ctx.test_order]]
    for r in sorted(results, key=lambda r: r.student):
        by_name = {c.name: c for c in r.checks}
        per_test = []
        for name in ctx.test_order:
            c = by_name.get(name)
            per_test.append("" if r.error is not None or c is None or c.status == "skipped" else _fmt(c.points))
        rows.append(
            [
                _cell(r.student),
                _fmt(_score(r)),
                _fmt(_max_score(r, ctx)),
                "error" if r.error is not None else "graded",
                _cell(r.error or ""),
                *per_test,
            ]
        )
    _write_csv(rows, out)


# --- Canvas ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterEntry:
    """One row of a roster CSV: the grader's student id and who that is in Canvas."""

    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def read_roster(path: Path) -> dict[str, RosterEntry]:
    """A roster CSV (`student,name,canvas_id,sis_user_id,sis_login_id,section`; only
    `student` is required, columns in any order) as {grader student id: entry}."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"cannot read the roster: {exc}", path) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(f or "").strip() for f in reader.fieldnames or ()]
    if "student" not in header:
        raise GraderError(
            f"the first row must name the columns; it needs `student` ({', '.join(ROSTER_COLUMNS)})", path
        )
    unknown = [f for f in header if f not in ROSTER_COLUMNS]
    if unknown:
        raise GraderError(
            f"unknown column(s) {', '.join(repr(f) for f in unknown)}; a roster has {', '.join(ROSTER_COLUMNS)}", path
        )
    roster: dict[str, RosterEntry] = {}
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        student = row.get("student", "")
        if not student:
            if any(row.values()):
                raise GraderError(f"row {n}: no student id", path)
            continue
        if student in roster:
            raise GraderError(f"row {n}: student {student!r} is listed twice", path)
        roster[student] = RosterEntry(**{c: row.get(c, "") for c in ROSTER_COLUMNS})
    return roster


def canvas_column(ctx: ExportContext, canvas_assignment_id: str | None = None) -> str:
    """The assignment's column: `<title> (<Canvas assignment id>)` updates that assignment
    on import; a bare `<title>` makes Canvas create a new assignment of that name."""
    title = " ".join(ctx.title.split()) or ctx.assignment
    return f"{title} ({canvas_assignment_id})" if canvas_assignment_id else title


def export_canvas(
    results: Sequence[SubmissionResult],
    out: TextIO | Path,
    ctx: ExportContext,
    roster: Mapping[str, RosterEntry] | None = None,
    canvas_assignment_id: str | None = None,
) -> list[str]:
    """A Canvas gradebook import CSV: `Student, ID, SIS User ID, SIS Login ID, Section,
    <title> (<id>)`, a `Points Possible` row, then one row per student with the score
    of scores.csv's `total` column (0 for a submission that could not be graded).

    With a roster, each student's row takes the roster's name, Canvas id, SIS ids and
    section. A student not in it (or without a roster) has the grader's id as Student
    and as SIS Login ID. Returns the students not found in the roster (empty without one).
    """
    if canvas_assignment_id is not None and not canvas_assignment_id.isdigit():
        raise GraderError(f"a Canvas assignment id is a number, got {canvas_assignment_id!r}")
    rows: list[list[str]] = [[*CANVAS_IDENTITY, canvas_column(ctx, canvas_assignment_id)]]
    rows.append(["    Points Possible", "", "", "", "", _fmt(ctx.max_points)])
    missing: list[str] = []
    for r in sorted(results, key=lambda r: r.student):
        entry = (roster or {}).get(r.student)
        if entry is None:
            if roster is not None:
                missing.append(r.student)
            entry = RosterEntry(r.student, name=r.student, sis_login_id=r.student)
        identity = [entry.name or r.student, entry.canvas_id, entry.sis_user_id, entry.sis_login_id, entry.section]
        rows.append([*(_cell(v) for v in identity), _fmt(_score(r))])
    _write_csv(rows, out)
    return missing


# --- JSON --------------------------------------------------------------------------------


def result_document(
    result: SubmissionResult,
    ctx: ExportContext,
    manual_scores: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One submission's result as a `grader.result/1` document (docs/result-schema.json)."""
    manual = manual_scores or {}
    graded = result.error is None
    return {
        "schema": SCHEMA,
        "student": result.student,
        "assignment": result.assignment or ctx.assignment,
        "title": ctx.title,
        "version": result.assignment_version,
        "status": "graded" if graded else "error",
        "error": result.error,
        "score": _score(result),
        "max": _max_score(result, ctx),
        "profile": result.profile,
        "profile_notes": list(result.profile_notes),
        "synthetic_data": result.synthetic_data,
        "sandboxed": result.sandboxed,
        "checks": [
            {
                "name": c.name,
                "hidden": c.hidden,
                "status": c.status,
                "points": None if c.status == "skipped" or not graded else c.points,
                "max": c.max_points,
                "message": c.message,
                "message_ko": c.message_ko,
                "basis": c.basis or None,
                "seconds": c.seconds,
            }
            for c in result.checks
        ],
        "cell_issues": [
            {
                "cell": i.cell,
                "execution_count": i.execution_count,
                "first_line": i.first_line,
                "label": i.label,
                "status": i.status,
                "ename": i.ename,
                "evalue": i.evalue,
            }
            for i in result.cell_issues
        ],
        "events": list(result.events),
        "flags": list(result.flags),
        "answers": [{"id": a.id, "text": a.text, "manual_score": manual.get(a.id)} for a in result.answers],
        "digests": {"submission": result.submission_digest, "spec": result.spec_digest},
        "seed": result.seed,
        "timings": {
            "total_s": result.seconds,
            "execute_s": result.execute_seconds,
            "checks_s": sum(c.seconds for c in result.checks),
        },
        "source": result.source_name,
        "exported_at": ctx.generated_at,
    }


def export_json(
    results: Sequence[SubmissionResult],
    out_dir: Path,
    ctx: ExportContext,
    manual_scores: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Path]:
    """One `<student>.json` per result in `out_dir` (file names as the reports', with
    .json); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = report_file_names((r.student for r in results), suffix=".json")
    written = []
    for r in sorted(results, key=lambda r: r.student):
        doc = result_document(r, ctx, (manual_scores or {}).get(r.student))
        path = out_dir / names[r.student]
        write_atomic(path, (json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8"))
        written.append(path)
    return written
