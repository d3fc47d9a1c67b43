"""HTML feedback pages and the class summary, from `SubmissionResult`s (the CSV and the
other exports live in grader.exports; `export_csv` is re-exported here).

Everything a student wrote (ids, answers, error text, check messages built from their
values) is hostile here: templates are autoescaped, file names derived from ids are
checked before they touch the disk, CSV cells cannot start a spreadsheet formula, and
every file is replaced atomically so a killed run never leaves half a report behind.
Test source is never passed in, so no page can show it.
"""

from __future__ import annotations

import functools
import re
import statistics
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from .catalogue import translator
from .exports import export_csv, report_file_names
from .exports import write_atomic as _write_atomic
from .i18n import DEFAULT_LANG, msg, pick
from .results import SubmissionResult

if TYPE_CHECKING:
    import jinja2

    from .similarity import SimilarityReport
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
MAX_REPORT_BYTES = 2 * 1024 * 1024  # one student's page, whatever it holds (cap_page)

_EPS = 1e-9
_STATUS_LABELS = {
    "passed": msg("passed", "통과"),
    "partial": msg("partial credit", "부분 점수"),
    "failed": msg("failed", "실패"),
    "skipped": msg("not graded in this profile", "이 프로필에서는 채점 안 함"),
    "missing": msg("no result", "결과 없음"),
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
    # the language pages are rendered in (grader.i18n): results keep both, so a report
    # is re-rendered in the other language with dataclasses.replace(ctx, lang=...)
    lang: str = DEFAULT_LANG

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
        lang: str | None = None,
    ) -> ReportContext:
        """The context of one run of `assignment` under `profile`; timestamp: now, UTC;
        language: `lang`, else the assignment's."""
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
            lang=lang or assignment.lang,
        )


# --- view models -------------------------------------------------------------------------


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clip(text: str, limit: int, lang: str = DEFAULT_LANG) -> str:
    """Student text (in `lang` where it carries Korean), shortened, without terminal
    escapes or control characters."""
    text = _CONTROL.sub("", pick(text, lang))
    if len(text) <= limit:
        return text
    more = len(text) - limit
    return text[:limit] + pick(msg(f"\n… ({more} more characters not shown)", f"\n… (나머지 {more}자는 생략)"), lang)


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
    lang: str = DEFAULT_LANG

    @property
    def label(self) -> str:
        return pick(_STATUS_LABELS.get(self.status, self.status), self.lang)

    @property
    def icon(self) -> str:
        return _STATUS_ICONS.get(self.status, "")


_NO_RESULT = msg("This check produced no result for your notebook.", "이 검사는 노트북에 대해 결과를 내지 못했습니다.")


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
                    pick(_NO_RESULT, ctx.lang),
                    lang=ctx.lang,
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
                message=_clip(c.text(ctx.lang), MAX_MESSAGE_CHARS),
                basis=c.basis,
                lang=ctx.lang,
            )
        )
    return rows


@dataclass(frozen=True)
class _AnswerRow:
    id: str
    text: str
    manual: float | None


def _answer_rows(result: SubmissionResult, manual: Mapping[str, float]) -> list[_AnswerRow]:
    return [_AnswerRow(a.id, _clip(a.text, MAX_ANSWER_CHARS), manual.get(a.id)) for a in result.answers]


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
    "passed": msg("all checks passed", "모든 검사 통과"),
    "partial": msg("some checks lost points", "일부 검사에서 감점"),
    "failed": msg("no points earned", "얻은 점수 없음"),
    "error": msg("could not be graded", "채점 불가"),
}


def _template_globals(lang: str) -> dict[str, object]:
    """What every template gets for its language: `lang` (<html lang>), the
    catalogue's functions (grader.catalogue) and `tr`, a grader.i18n text in `lang`."""
    t, tn, phrase = translator(lang)
    return {"lang": lang, "t": t, "tn": tn, "phrase": phrase, "tr": lambda text: pick(text, lang)}


def _pending(result: SubmissionResult, manual: Mapping[str, float]) -> int:
    return sum(1 for a in result.answers if a.id not in manual)


# --- rendering ---------------------------------------------------------------------------


@functools.cache
def _env() -> jinja2.Environment:
    """One environment for all templates; autoescape is on for every one of them,
    whatever its extension, because every page shows text a student wrote. (jinja2 is
    imported here: a regrade whose reports are current renders nothing.)"""
    import jinja2

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
    lang = ctx.lang
    rows = _check_rows(result, ctx)
    graded = [r for r in rows if r.status != "skipped"]
    overall = _overall(result, rows)
    page = _env().get_template("student.html")
    label = pick(_OVERALL_LABELS[overall], lang)
    html = page.render(
        **_template_globals(lang),
        ctx=ctx,
        r=result,
        error=None if result.error is None else pick(result.error, lang),
        flags=[pick(f, lang) for f in result.flags],
        events=[pick(e, lang) for e in result.events],
        score=_score(result),
        max_score=_max_score(result, ctx),
        overall=overall,
        overall_label=label[:1].upper() + label[1:],
        rows=rows,
        n_passed=sum(1 for r in graded if r.status == "passed"),
        n_graded=len(graded),
        has_skipped=any(r.status == "skipped" for r in rows),
        cell_issues=[(ci, _clip(ci.evalue, MAX_EVALUE_CHARS)) for ci in result.cell_issues],
        answers=_answer_rows(result, manual),
        manual_total=sum(manual.get(a.id, 0.0) for a in result.answers),
        has_manual=any(a.id in manual for a in result.answers),
        synthetic=result.synthetic_data or ctx.synthetic,
        profile_notes=[_clip(n, MAX_NOTE_CHARS, lang) for n in result.profile_notes[:MAX_NOTES]],
    )
    return cap_page(html, lang=lang)


def cap_page(html: str, limit: int = MAX_REPORT_BYTES, lang: str = DEFAULT_LANG) -> str:
    """A page cut to at most `limit` bytes (UTF-8), never inside a tag, saying so at the
    cut. Results are capped when they are built (grader.results); this bounds what
    any page can become whatever its template shows."""
    data = html.encode("utf-8")
    if len(data) <= limit:
        return html
    cap, full = f"{limit / 1024 / 1024:g}", f"{len(data) / 1024 / 1024:.1f}"
    words = msg(
        f"<strong>This page was cut at its size limit of {cap} MB</strong> (in full it would be {full} MB): "
        "what came after this point is not shown.",
        f"<strong>이 페이지는 크기 제한 {cap} MB에서 잘렸습니다</strong> (전체는 {full} MB): "
        "이 지점 이후의 내용은 보이지 않습니다.",
    )
    notice = f'\n<p class="clipped" role="alert">{pick(words, lang)}</p>\n</main></body></html>\n'
    head = data[: max(limit - len(notice.encode("utf-8")), 0)].decode("utf-8", "ignore")
    tag = head.rfind("<")
    if tag > head.rfind(">"):  # the cut fell inside a tag
        head = head[:tag]
    return head + notice


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

    @property
    def pass_pct(self) -> float | None:
        """Share of `graded` that passed the check in full."""
        return 100.0 * self.passed / self.graded if self.graded else None


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
    gpu_peak_mb: int | None = None  # peak GPU memory of its kernel (grader/gpus.py), graded on a GPU slot


def _gpu_peak(result: SubmissionResult) -> int | None:
    """The peak GPU memory measured for a submission on a GPU slot (extra["gpu"]), or None."""
    gpu = result.extra.get("gpu") if isinstance(result.extra, dict) else None
    peak = gpu.get("peak_mb") if isinstance(gpu, dict) and gpu.get("samples") else None
    return peak if isinstance(peak, int) else None


def render_summary(
    results: Sequence[SubmissionResult],
    ctx: ReportContext,
    manual_scores: Mapping[str, Mapping[str, float]] | None = None,
    similar: SimilarityReport | None = None,
) -> str:
    """The class summary: score histogram and statistics, each check's pass rate, the
    submissions that could not be graded and why, written answers waiting for a person,
    the profile and data sets used, submissions flagged for review, pairs of similar
    submissions (`similar`, from grader.similarity; the section is left out when None)
    and a link to every student's page."""
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
                label=pick(_OVERALL_LABELS[overall], ctx.lang),
                passed=sum(1 for row in rows if row.status == "passed"),
                graded=len(rows),
                cell_issues=len(r.cell_issues),
                pending=_pending(r, manual),
                manual_total=sum(scored) if scored else None,
                seconds=r.seconds,
                error=None if r.error is None else pick(r.error, ctx.lang),
                gpu_peak_mb=_gpu_peak(r),
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
    class_max = max(maxes) if maxes else ctx.max_points
    lang = ctx.lang
    notes = _class_profile_notes(graded)
    page = _env().get_template("summary.html")
    html = page.render(
        **_template_globals(lang),
        ctx=ctx,
        n_total=len(ordered),
        n_graded=len(graded),
        failed=[s for s in students if s.error is not None],
        stats=stats,
        class_max=class_max,
        histogram=_histogram(scores, class_max, lang=lang),
        mixed_max=len(maxes) > 1,
        tests=_test_stats(graded, ctx),
        students=students,
        pending=sum(s.pending for s in students),
        unsandboxed=unsandboxed,
        synthetic=ctx.synthetic or any(r.synthetic_data for r in ordered),
        profile_notes=notes,
        # sorted on the English, shown in `lang`
        data_notes=[(_clip(n, MAX_NOTE_CHARS, lang), k) for n, k in notes if n.startswith("data set ")],
        change_notes=[(_clip(n, MAX_NOTE_CHARS, lang), k) for n, k in notes if not n.startswith("data set ")],
        answers_pending=_pending_answers(ordered, manual_all),
        flagged=_flagged(ordered, names, lang),
        similar=similar,
        names=names,
        ignored=[_clip(name, MAX_NOTE_CHARS) for name in ctx.ignored[:MAX_IGNORED]],
        n_ignored=len(ctx.ignored),
    )
    return cap_page(html, lang=lang)  # similar submissions come last: a cut takes them first


MAX_FLAGGED = 100  # students listed under "Flagged for review"
MAX_FLAGS_SHOWN = 10  # reasons shown per student
MAX_PENDING_NAMES = 60  # students named per pending answer


@dataclass(frozen=True)
class _Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    tip: str


@dataclass(frozen=True)
class _Histogram:
    """An inline SVG's geometry (no script, no external file): one bar per score bin."""

    bars: tuple[_Bar, ...]
    width: int
    height: int
    base: float  # y of the axis
    top_count: int
    mean_x: float
    summary: str  # what the picture says, for screen readers


def _histogram(
    scores: Sequence[float], top: float, width: int = 720, height: int = 190, lang: str = DEFAULT_LANG
) -> _Histogram | None:
    """Bins of one point each when the maximum is a whole number up to 20 (a full score
    has a bar of its own), else ten equal bins, the last one closed."""
    if not scores:
        return None
    top = max(float(top), max(scores), 0.0)
    unit = top <= 20 and float(top).is_integer()
    if unit:
        n, step = int(top) + 1, 1.0
        labels = [str(i) for i in range(n)]
        spans = [
            f"{i}" if i == n - 1 else pick(msg(f"{i} or more, under {i + 1}", f"{i} 이상 {i + 1} 미만"), lang)
            for i in range(n)
        ]
    else:
        n, step = 10, (top or 1.0) / 10
        labels = [f"{_fmt(i * step, 1)}–{_fmt((i + 1) * step, 1)}" for i in range(n)]
        spans = [
            pick(
                msg(f"{_fmt(i * step)} to {_fmt((i + 1) * step)}", f"{_fmt(i * step)} 이상 {_fmt((i + 1) * step)} 이하")
                if i == n - 1
                else msg(
                    f"{_fmt(i * step)} to under {_fmt((i + 1) * step)}",
                    f"{_fmt(i * step)} 이상 {_fmt((i + 1) * step)} 미만",
                ),
                lang,
            )
            for i in range(n)
        ]
    counts = [0] * n
    for score in scores:
        counts[min(int(score / step + _EPS), n - 1)] += 1
    left, right, top_pad, bottom = 36.0, 12.0, 18.0, 34.0
    base = height - bottom
    slot = (width - left - right) / n
    most = max(counts)
    bars = tuple(
        _Bar(
            label,
            count,
            left + i * slot + slot * 0.1,
            base - (base - top_pad) * count / most,
            slot * 0.8,
            (base - top_pad) * count / most,
            pick(
                msg(f"{count} submission{'s' if count != 1 else ''} scored {span}", f"{span}점: 제출물 {count}개"), lang
            ),
        )
        for i, (count, label, span) in enumerate(zip(counts, labels, spans, strict=True))
    )
    mean = statistics.fmean(scores)
    # a one-point bar's centre is its score; equal bins map the score range onto the axis
    mean_x = left + (mean + 0.5) * slot if unit else left + mean / step * slot
    counted = [b for b in bars if b.count]
    en = ", ".join(f"{b.count} at {b.label}" for b in counted)
    ko = ", ".join(f"{b.label}점 {b.count}개" for b in counted)
    summary = pick(
        msg(
            f"Histogram of {len(scores)} scores out of {_fmt(top)}: {en}",
            f"{_fmt(top)}점 만점 점수 {len(scores)}개의 히스토그램: {ko}",
        ),
        lang,
    )
    return _Histogram(bars, width, height, base, most, mean_x, summary)


@dataclass(frozen=True)
class _PendingAnswer:
    id: str
    pending: int
    scored: int
    students: tuple[str, ...]  # those still waiting, clipped to MAX_PENDING_NAMES
    more: int


def _pending_answers(
    ordered: Sequence[SubmissionResult], manual_all: Mapping[str, Mapping[str, float]]
) -> list[_PendingAnswer]:
    """Per answer id (in the order students' notebooks give them): who still waits for a
    person's score, and how many have one."""
    waiting: dict[str, list[str]] = {}
    scored: dict[str, int] = {}
    for r in ordered:
        manual = manual_all.get(r.student, {})
        for a in r.answers:
            waiting.setdefault(a.id, [])
            if a.id in manual:
                scored[a.id] = scored.get(a.id, 0) + 1
            else:
                waiting[a.id].append(r.student)
    return [
        _PendingAnswer(
            _clip(aid, MAX_NOTE_CHARS),
            len(who),
            scored.get(aid, 0),
            tuple(who[:MAX_PENDING_NAMES]),
            max(len(who) - MAX_PENDING_NAMES, 0),
        )
        for aid, who in waiting.items()
    ]


@dataclass(frozen=True)
class _Flagged:
    student: str
    href: str
    reasons: tuple[str, ...]
    more: int


def _flagged(ordered: Sequence[SubmissionResult], names: Mapping[str, str], lang: str = DEFAULT_LANG) -> list[_Flagged]:
    """Submissions with evidence for a person to review, each with its reasons."""
    out = []
    for r in ordered:
        if r.flags:
            shown = tuple(_clip(f, MAX_MESSAGE_CHARS, lang) for f in r.flags[:MAX_FLAGS_SHOWN])
            out.append(_Flagged(r.student, names[r.student], shown, len(r.flags) - len(shown)))
    return out[:MAX_FLAGGED]


def _class_profile_notes(graded: Sequence[SubmissionResult]) -> list[tuple[str, int]]:
    """What the profile changed, over the class: each distinct note with the number of
    graded submissions it applies to (data set lines apply to all, epoch caps to some)."""
    counts: dict[str, int] = {}
    for r in graded:
        for note in dict.fromkeys(r.profile_notes[:MAX_NOTES]):
            counts[note] = counts.get(note, 0) + 1
    return [(n, k) for n, k in list(counts.items())[:MAX_NOTES]]  # clipped where shown, in its language


# --- files -------------------------------------------------------------------------------


def write_reports(
    out_dir: Path,
    results: Sequence[SubmissionResult],
    ctx: ReportContext,
    manual_scores: Mapping[str, Mapping[str, float]] | None = None,
    similar: SimilarityReport | None = None,
    full: Callable[[str], SubmissionResult | None] | None = None,
) -> list[Path]:
    """Write one page per student and index.html into `out_dir`; return the paths written,
    index.html last (it is written last, so every link in it already resolves). `similar`:
    the batch's similarity report, shown on the summary. `full(student)`: that student's
    result with its pictures, read one page at a time, where `results` left them out
    (Gradebook.latest(pictures=False)): a class's pictures never sit in memory at once."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manual_all = manual_scores or {}
    names = report_file_names(r.student for r in results)
    written = []
    for r in results:
        path = out_dir / names[r.student]
        page = (full(r.student) or r) if full is not None else r
        _write_atomic(path, render_student(page, ctx, manual_all.get(r.student)).encode("utf-8"))
        written.append(path)
    index = out_dir / "index.html"
    _write_atomic(index, render_summary(results, ctx, manual_all, similar).encode("utf-8"))
    written.append(index)
    return written
