"""The HTML feedback pages, the class summary and the gradebook CSV.

Fast: every result is built by hand, no kernel runs.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from grader import report
from grader.report import (
    ReportContext,
    export_csv,
    render_student,
    render_summary,
    report_file_names,
    write_reports,
)
from grader.results import Answer, CellIssue, CheckResult, SubmissionResult

POINTS = {"test_shape": 2.0, "test_values": 3.0, "test_reference": 5.0}
HIDDEN = {"test_reference"}
SCRIPT = "<script>alert(1)</script>"


def make_ctx(**kw: object) -> ReportContext:
    base: dict[str, object] = dict(
        assignment="conv2d_simple",
        title="2-D convolution by hand",
        version="1",
        profile="fast",
        test_order=list(POINTS),
        hidden=HIDDEN,
        points=POINTS,
        synthetic=False,
        sandboxed=True,
        generated_at="2025-03-14 09:30 UTC",
    )
    base.update(kw)
    return ReportContext(**base)  # type: ignore[arg-type]


def check(
    name: str, earned: float | None = None, status: str | None = None, message: str = ""
) -> CheckResult:
    earned = POINTS[name] if earned is None else earned
    status = status or (
        "passed" if earned == POINTS[name] else "failed" if earned == 0 else "partial"
    )
    return CheckResult(name, name in HIDDEN, earned, POINTS[name], status, message)


def make_result(
    student: str = "alice", checks: tuple[CheckResult, ...] | None = None, **kw: object
) -> SubmissionResult:
    checks = tuple(check(n) for n in POINTS) if checks is None else checks
    base: dict[str, object] = dict(
        student=student,
        assignment="conv2d_simple",
        assignment_version="1",
        spec_digest="spec123",
        submission_digest="sub456",
        profile="fast",
        sandboxed=True,
        score=sum(c.points for c in checks),
        max_score=sum(POINTS.values()),
        checks=checks,
        seconds=12.5,
    )
    base.update(kw)
    return SubmissionResult(**base)  # type: ignore[arg-type]


def partial_result(student: str = "bob") -> SubmissionResult:
    return make_result(
        student,
        checks=(
            check("test_shape"),
            check("test_values", 1.5, message="expected out[0, 0] == 14.0, got 9.0"),
            check("test_reference", 0, message="differs from the reference by up to 3.41"),
        ),
        cell_issues=(CellIssue(7, "error", "NameError", "name 'kernal' is not defined"),),
        events=("cell 12 stopped after 120 s (cell_timeout_s)",),
    )


def error_result(
    student: str = "carol", reason: str = "carol.zip: contains 3 notebooks; submit one"
) -> SubmissionResult:
    return make_result(student, checks=(), score=0.0, error=reason)


def text(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    no_style = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", no_style)).split())


# --- the student page --------------------------------------------------------------------


def test_student_page_shows_score_out_of_max_and_every_failed_check_message() -> None:
    page = render_student(partial_result(), make_ctx())
    shown = text(page)
    assert "3.5 / 10" in shown
    assert "expected out[0, 0] == 14.0, got 9.0" in shown
    assert "differs from the reference by up to 3.41" in shown
    assert "partial credit" in shown and "failed" in shown and "passed" in shown


def test_checks_are_listed_in_the_assignment_order_not_the_result_order() -> None:
    result = make_result(checks=tuple(reversed([check(n) for n in POINTS])))
    shown = text(render_student(result, make_ctx()))
    positions = [shown.index(name) for name in POINTS]
    assert positions == sorted(positions)


def test_hidden_check_shows_message_but_never_source() -> None:
    ctx = make_ctx()
    shown = text(render_student(partial_result(), ctx))
    row = shown[shown.index("test_reference") :]
    assert row.startswith("test_reference hidden")
    assert "differs from the reference by up to 3.41" in row
    # The report API never receives test code; nothing that looks like it is printed.
    assert "def test_" not in shown and "assert " not in shown


def test_status_is_written_in_words_not_only_in_colour() -> None:
    shown = text(render_student(partial_result(), make_ctx()))
    assert "✓ passed" in shown and "◐ partial credit" in shown and "✗ failed" in shown


def test_skipped_check_says_not_graded_in_this_profile() -> None:
    result = make_result(
        checks=(check("test_shape"), check("test_values"), check("test_reference", 0, "skipped"))
    )
    shown = text(render_student(result, make_ctx()))
    assert "not graded in this profile" in shown


def test_a_check_without_result_is_shown_as_lost_not_silently_dropped() -> None:
    result = make_result(checks=(check("test_shape"),))
    shown = text(render_student(result, make_ctx()))
    assert shown.count("? no result") == 2
    assert "All checks passed" not in shown


def test_ungradable_submission_shows_its_reason_prominently_and_scores_zero() -> None:
    result = error_result(reason="carol.zip: contains 3 notebooks; submit one")
    result = make_result(
        "carol", checks=(), score=7.0, error=result.error
    )  # a stale score is ignored
    page = render_student(result, make_ctx())
    assert 'class="errorbox"' in page
    shown = text(page)
    assert "could not be graded" in shown
    assert "carol.zip: contains 3 notebooks; submit one" in shown
    assert "0 / 10" in shown


def test_cell_errors_show_cell_number_error_name_and_message() -> None:
    shown = text(render_student(partial_result(), make_ctx()))
    assert "7 raised an error NameError name 'kernal' is not defined" in shown


def test_events_are_listed() -> None:
    shown = text(render_student(partial_result(), make_ctx()))
    assert "cell 12 stopped after 120 s (cell_timeout_s)" in shown


def test_free_text_answer_is_pending_until_a_manual_score_is_given() -> None:
    result = make_result(answers=(Answer("why_flip", "Because correlation does not flip."),))
    pending = text(render_student(result, make_ctx()))
    assert "Because correlation does not flip." in pending
    assert "pending manual score" in pending
    scored = text(render_student(result, make_ctx(), {"why_flip": 1.5}))
    assert "pending manual score" not in scored
    assert "1.5 points (scored by hand)" in scored


def test_page_shows_profile_and_seconds_spent() -> None:
    shown = text(render_student(make_result(seconds=12.5), make_ctx()))
    assert "Profile fast" in shown
    assert "12.5 s" in shown


@pytest.mark.parametrize(
    "where", ["answer", "error", "student id", "check message", "cell error", "event"]
)
def test_hostile_text_is_escaped_everywhere(where: str) -> None:
    kw: dict[str, Any] = {}
    student = "mallory"
    if where == "answer":
        kw["answers"] = (Answer("a1", SCRIPT),)
    elif where == "error":
        kw.update(checks=(), score=0.0, error=SCRIPT)
    elif where == "student id":
        student = SCRIPT
    elif where == "check message":
        kw["checks"] = (check("test_shape", 0, message=SCRIPT),)
    elif where == "cell error":
        kw["cell_issues"] = (CellIssue(1, "error", SCRIPT, SCRIPT),)
    else:
        kw["events"] = (SCRIPT,)
    result = make_result(student, **kw)
    page = render_student(result, make_ctx())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in render_summary([result], make_ctx()).lower()


def test_no_sandbox_banner_appears_only_when_graded_without_a_sandbox() -> None:
    banner = "graded WITHOUT a sandbox"
    assert banner not in text(render_student(make_result(sandboxed=True), make_ctx()))
    assert banner in text(render_student(make_result(sandboxed=False), make_ctx(sandboxed=False)))
    assert banner not in text(render_summary([make_result(sandboxed=True)], make_ctx()))
    assert banner in text(render_summary([make_result(sandboxed=False)], make_ctx(sandboxed=False)))
    # one unsandboxed result in an otherwise sandboxed run is still flagged on the summary
    mixed = [make_result("a"), make_result("b", sandboxed=False)]
    assert "1 submission graded WITHOUT a sandbox" in text(render_summary(mixed, make_ctx()))


def test_synthetic_data_banner_appears_only_for_smoke_runs() -> None:
    banner = "smoke profile: synthetic data, scores are not meaningful for the class"
    real = make_result()
    smoke = make_result(profile="smoke", synthetic_data=True)
    ctx_smoke = make_ctx(profile="smoke", synthetic=True)
    assert banner not in text(render_student(real, make_ctx())).lower()
    assert banner in text(render_student(smoke, ctx_smoke)).lower()
    assert banner not in text(render_summary([real], make_ctx())).lower()
    assert banner in text(render_summary([smoke], ctx_smoke)).lower()


def test_pages_are_self_contained_utf8_with_korean_fonts() -> None:
    page = render_student(make_result("김민준"), make_ctx())
    assert '<meta charset="utf-8">' in page
    assert "Noto Sans CJK KR" in page
    assert not re.search(r"<(script|link)\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_long_student_text_is_clipped_so_a_page_stays_small() -> None:
    result = make_result(answers=(Answer("a1", "x" * (report.MAX_ANSWER_CHARS + 5000)),))
    page = render_student(result, make_ctx())
    assert "5000 more characters not shown" in page
    assert len(page) < report.MAX_ANSWER_CHARS + 40_000


# --- the class summary -------------------------------------------------------------------


def test_summary_counts_submissions_and_lists_ungradable_ones_with_reasons() -> None:
    results = [make_result("alice"), partial_result("bob"), error_result("carol", "not a notebook")]
    shown = text(render_summary(results, make_ctx()))
    assert "3 submissions" in shown
    assert "2 graded" in shown
    assert "1 could not be graded" in shown
    assert "carol not a notebook" in shown


def test_summary_score_statistics_cover_graded_submissions() -> None:
    results = [
        make_result("a"),
        partial_result("b"),
        make_result(
            "c",
            checks=(check("test_shape"),)
            + tuple(check(n, 0) for n in ("test_values", "test_reference")),
        ),
    ]
    shown = text(render_summary(results, make_ctx()))
    # scores 10, 3.5, 2: mean 5.17, median 3.5, range 2 – 10
    assert "5.17 / 10 mean score" in shown
    assert "3.5 median" in shown
    assert "2 – 10 lowest – highest" in shown


def test_summary_per_check_table_shows_where_the_class_loses_points() -> None:
    results = [make_result("a"), partial_result("b"), partial_result("c"), error_result("d")]
    shown = text(render_summary(results, make_ctx()))
    # test_values: 1 of 3 passed, 2 partial, mean (3 + 1.5 + 1.5) / 3 = 2, 67% lost points
    assert "test_values public 3 1 / 3 2 2 67%" in shown
    assert "test_reference hidden 5 1 / 3 0 1.67 67%" in shown
    assert "test_shape public 2 3 / 3 0 2 0%" in shown


def test_summary_counts_pending_manual_answers() -> None:
    answers = (Answer("q1", "..."), Answer("q2", "..."))
    results = [make_result("a", answers=answers), make_result("b", answers=answers)]
    shown = text(
        render_summary(results, make_ctx(), {"a": {"q1": 1.0, "q2": 2.0}, "b": {"q1": 0.5}})
    )
    assert "1 answers pending manual score" in shown
    assert "+0.5, 1 pending" in shown


def test_summary_links_every_student_to_a_file_write_reports_wrote(tmp_path: Path) -> None:
    students = [
        "alice",
        "김민준 2024",
        "../../etc/passwd",
        ".profile",
        "a/b",
        "index",
        SCRIPT,
        "Bob",
        "bob",
    ]
    results = [make_result(s) for s in students]
    written = write_reports(tmp_path, results, make_ctx())
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', index)]
    assert len(hrefs) == len(students)
    for href in hrefs:
        target = tmp_path / urllib.parse.unquote(href)
        assert target.parent == tmp_path and target.is_file(), href
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    shown = text(index)
    for s in students:
        assert s in shown


# --- file names and writing --------------------------------------------------------------


def test_plain_student_ids_keep_their_name_and_korean_ids_work() -> None:
    names = report_file_names(["alice", "김민준", "kim min-jun"])
    assert names == {
        "alice": "alice.html",
        "김민준": "김민준.html",
        "kim min-jun": "kim min-jun.html",
    }


@pytest.mark.parametrize(
    "student",
    [
        "../evil",
        "a/b",
        "..",
        ".hidden",
        "a\\b",
        "index",
        "INDEX",
        "",
        "con",
        "x\x00y",
        "tab\there",
        " padded ",
        "a~b",
    ],
)
def test_unsafe_student_ids_map_to_a_safe_deterministic_file_name(student: str) -> None:
    name = report_file_names([student])[student]
    assert name == report_file_names([student])[student]
    assert "/" not in name and "\\" not in name and ".." not in name
    assert not name.startswith(".") and name.endswith(".html") and name != "index.html"
    assert all(c.isprintable() for c in name)


def test_ids_differing_only_by_case_do_not_overwrite_each_other() -> None:
    names = report_file_names(["Bob", "bob"])
    assert names["Bob"].casefold() != names["bob"].casefold()


def test_duplicate_student_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="two results for student 'alice'"):
        report_file_names(["alice", "alice"])


def test_korean_student_id_works_end_to_end(tmp_path: Path) -> None:
    student = "김민준 2024123456"
    results = [partial_result(student)]
    write_reports(tmp_path, results, make_ctx())
    page = (tmp_path / f"{student}.html").read_text(encoding="utf-8")
    assert f"Feedback for {student}" in text(page)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f'href="{urllib.parse.quote(student + ".html")}"' in index
    out = io.StringIO()
    export_csv(results, out, make_ctx())
    assert list(csv.reader(io.StringIO(out.getvalue())))[1][0] == student


def test_write_reports_leaves_no_temp_files_behind(tmp_path: Path) -> None:
    results = [make_result("alice"), partial_result("bob"), error_result("carol")]
    written = write_reports(tmp_path, results, make_ctx())
    assert [p.name for p in written] == ["alice.html", "bob.html", "carol.html", "index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert all((p.stat().st_mode & 0o044) == 0o044 for p in written)  # readable, not 0600



def test_each_page_reads_its_own_pictures_when_the_class_is_held_without_them(tmp_path: Path) -> None:
    """grade keeps a class's results without pictures (Gradebook.latest(pictures=False));
    each student's page still shows that student's pictures, read when it is written."""
    from dataclasses import replace

    from grader.results import Picture

    picture = Picture(check="", caption="loss per epoch", png="iVBORw0KGgoAAAA=", width=10, height=10)
    slim = make_result("alice")
    full = {"alice": replace(slim, pictures=(picture,))}
    write_reports(tmp_path, [slim], make_ctx(), full=full.get)
    page = (tmp_path / "alice.html").read_text(encoding="utf-8")
    assert "data:image/png;base64,iVBORw0KGgoAAAA=" in page and "loss per epoch" in page
    write_reports(tmp_path, [slim], make_ctx())
    assert "data:image/png" not in (tmp_path / "alice.html").read_text(encoding="utf-8")

def test_a_failed_write_keeps_the_previous_report_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_reports(tmp_path, [make_result("alice")], make_ctx())
    before = (tmp_path / "alice.html").read_bytes()

    def killed(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_reports(tmp_path, [partial_result("alice")], make_ctx())
    assert (tmp_path / "alice.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.html", "index.html"]


# --- the CSV gradebook -------------------------------------------------------------------


def read_csv(results: list[SubmissionResult], ctx: ReportContext | None = None) -> list[list[str]]:
    out = io.StringIO()
    export_csv(results, out, ctx or make_ctx())
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_csv_has_one_row_per_student_with_points_per_check() -> None:
    rows = read_csv(
        [make_result("alice"), partial_result("bob"), error_result("carol", "not a notebook")]
    )
    assert rows[0] == [
        "student",
        "total",
        "max",
        "status",
        "error",
        "test_shape",
        "test_values",
        "test_reference",
    ]
    assert rows[1:] == [
        ["alice", "10", "10", "graded", "", "2", "3", "5"],
        ["bob", "3.5", "10", "graded", "", "2", "1.5", "0"],
        ["carol", "0", "10", "error", "not a notebook", "", "", ""],
    ]


def test_csv_leaves_checks_not_graded_in_this_profile_empty() -> None:
    result = make_result(
        checks=(check("test_shape"), check("test_values"), check("test_reference", 0, "skipped"))
    )
    assert read_csv([result])[1][5:] == ["2", "3", ""]


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_neutralises_formula_injection_in_ids_and_errors(hostile: str) -> None:
    rows = read_csv([error_result(hostile, hostile)])
    assert rows[1][0] == "'" + hostile
    assert rows[1][4] == "'" + hostile


def test_csv_to_a_path_is_utf8_with_bom_for_excel(tmp_path: Path) -> None:
    out = tmp_path / "grades.csv"
    export_csv([make_result("김민준")], out, make_ctx())
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "김민준" in data.decode("utf-8-sig")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


# --- the context -------------------------------------------------------------------------


def test_context_is_immutable_even_when_built_from_lists_and_dicts() -> None:
    points = dict(POINTS)
    ctx = make_ctx(test_order=list(POINTS), hidden={"test_reference"}, points=points)
    points["test_shape"] = 99.0
    assert ctx.points["test_shape"] == 2.0
    assert isinstance(ctx.test_order, tuple) and isinstance(ctx.hidden, frozenset)
    with pytest.raises(TypeError):
        ctx.points["test_shape"] = 1.0  # type: ignore[index]


def test_context_from_assignment_marks_hidden_checks_and_smoke_data(tmp_path: Path) -> None:
    from grader.spec import DEFAULT_PROFILES, Assignment, Limits, TestFile

    assignment = Assignment(
        name="conv2d_simple",
        root=tmp_path,
        title="2-D convolution by hand",
        version="2",
        notebook="conv2d_simple.ipynb",
        datasets=(),
        allowed_files=(),
        default_profile="smoke",
        limits=Limits(),
        profiles=dict(DEFAULT_PROFILES),
        points=dict(POINTS),
        test_files=(
            TestFile(tmp_path / "public.py", hidden=False, tests=("test_shape", "test_values")),
            TestFile(tmp_path / "hidden.py", hidden=True, tests=("test_reference",)),
        ),
    )
    ctx = ReportContext.from_assignment(assignment, "smoke", sandboxed=False, generated_at="now")
    assert ctx.test_order == ("test_shape", "test_values", "test_reference")
    assert ctx.hidden == frozenset({"test_reference"})
    assert ctx.synthetic and not ctx.sandboxed and ctx.max_points == 10.0
    assert not ReportContext.from_assignment(assignment, "fast", sandboxed=True).synthetic


# --- what the profile changed; cells as people find them (issue 9) ------------------------

NOTES = (
    "data set mnist: real data, first 6000 train / 2000 test, sha256 2ce93ab22b39",
    "epochs capped from 50 to 3 by the fast profile (2 training runs)",
)


def test_the_student_page_says_at_its_top_what_the_profile_changed() -> None:
    page = render_student(make_result(profile_notes=NOTES), make_ctx())
    shown = text(page)
    assert "Profile fast: what this run used" in shown
    assert NOTES[0] in shown and NOTES[1] in shown
    assert shown.index("what this run used") < shown.index("Checks")
    assert "what this run used" not in text(render_student(make_result(), make_ctx()))


def test_the_summary_says_what_the_profile_changed_for_the_class() -> None:
    results = [
        make_result("a", profile_notes=NOTES),
        make_result("b", profile_notes=NOTES[:1]),
        error_result("c"),
    ]
    shown = text(render_summary(results, make_ctx()))
    assert "Profile fast: what this run used" in shown
    assert NOTES[0] in shown and f"{NOTES[1]} (1 of 2 graded submissions)" in shown
    assert f"{NOTES[0]} (" not in shown  # applies to every graded submission: no count
    assert "no data set was served and no epoch was capped" in text(render_summary([make_result()], make_ctx()))


def test_cell_issues_are_named_by_execution_count_and_first_line() -> None:
    issue = CellIssue(9, "error", "NameError", "name 'x' is not defined", execution_count=4, first_line="print(x)")
    not_run = CellIssue(12, "not-run", "KernelDied", "the kernel had died", first_line="plt.show()")
    shown = text(render_student(make_result(cell_issues=(issue, not_run)), make_ctx()))
    assert "In [4] print(x) raised an error NameError" in shown
    assert "In [ ] plt.show() not run" in shown
    assert "cell 9" not in shown
    assert issue.label == "In [4] `print(x)`"
    old = text(render_student(make_result(cell_issues=(CellIssue(7, "error", "E", "v"),)), make_ctx()))
    assert "cell 7 raised an error" in old  # a result stored before cells were named so


def test_profile_notes_and_cell_lines_are_escaped() -> None:
    issue = CellIssue(1, "error", "E", "v", execution_count=1, first_line=SCRIPT)
    page = render_student(make_result(cell_issues=(issue,), profile_notes=(SCRIPT,)), make_ctx())
    assert SCRIPT not in page and html.escape(SCRIPT) in page


def test_profile_notes_come_from_the_store_and_the_numbers_of_the_trace(tmp_path: Path) -> None:
    from grader.datastore import DataStore
    from grader.errors import KernelGone
    from grader.grade import _data_notes, _epoch_notes
    from grader.spec import DEFAULT_PROFILES, load_assignment

    class Handle:
        def __init__(self, events: list[dict[str, Any]] | None) -> None:
            self.events = events

        def trace(self, kind: str) -> list[dict[str, Any]]:
            if self.events is None:
                raise KernelGone("the kernel is gone")
            return [e for e in self.events if e["event"] == kind]

    cap = {"event": "profile", "action": "epoch cap", "asked": 50, "capped_to": 3, "model": SCRIPT}
    events = [cap, dict(cap, model="m2"), dict(cap, asked=10), dict(cap, asked="50; rm -rf /"), {"event": "fit"}]
    fast, full, smoke = DEFAULT_PROFILES["fast"], DEFAULT_PROFILES["full"], DEFAULT_PROFILES["smoke"]
    assert _epoch_notes(Handle(events), fast) == [  # type: ignore[arg-type]
        "epochs capped from 10 to 3 by the fast profile",
        "epochs capped from 50 to 3 by the fast profile (2 training runs)",
    ]
    assert _epoch_notes(Handle(events), full) == []  # type: ignore[arg-type]
    assert _epoch_notes(Handle(None), fast) == []  # type: ignore[arg-type]
    spec = load_assignment(Path(__file__).resolve().parent.parent / "assignments" / "sparse_labels")
    (note,) = _data_notes(DataStore(tmp_path / "empty"), spec, smoke)
    assert note.startswith("data set mnist: SYNTHETIC look-alike (smoke data, ")
