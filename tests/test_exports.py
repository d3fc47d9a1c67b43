"""Exports for other tools: the Canvas gradebook import CSV, one JSON document per
submission (validated against docs/result-schema.json), and `grade export`.

Fast: results are built by hand or by the grader's own error path; no kernel runs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from grader import exports
from grader.cli import main
from grader.errors import GraderError
from grader.gradebook import Gradebook
from grader.report import ReportContext
from grader.results import Answer, CellIssue, CheckResult, SubmissionResult

REPO = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO / "docs" / "result-schema.json"
POINTS = {"test_shape": 2.0, "test_values": 3.0, "test_accuracy": 5.0}


def ctx(**kw: Any) -> ReportContext:
    base: dict[str, Any] = dict(
        assignment="conv2d_simple",
        title="2-D convolution by hand",
        version="3",
        profile="fast",
        test_order=list(POINTS),
        hidden={"test_accuracy"},
        points=POINTS,
        generated_at="2025-03-14 09:30 UTC",
    )
    base.update(kw)
    return ReportContext(**base)


def result(student: str = "kim_minji", **kw: Any) -> SubmissionResult:
    checks = (
        CheckResult("test_shape", False, 2.0, 2.0, "passed", seconds=0.1),
        CheckResult("test_values", False, 1.5, 3.0, "partial", "expected out[0, 0] == 14.0, got 9.0", 0.2),
        CheckResult("test_accuracy", True, 0.0, 5.0, "skipped", "", 0.0, basis="trusted"),
    )
    base: dict[str, Any] = dict(
        student=student,
        assignment="conv2d_simple",
        assignment_version="3",
        spec_digest="spec-abc",
        submission_digest="sub-123",
        profile="fast",
        sandboxed=True,
        score=3.5,
        max_score=10.0,
        checks=checks,
        cell_issues=(CellIssue(7, "error", "NameError", "name 'kernal' is not defined", 5, "out = conv(kernal)"),),
        events=("cell 12 stopped after 120 s (cell_timeout_s)",),
        answers=(Answer("why_relu", "음수를 0으로 바꿉니다."), Answer("pooling", "")),
        flags=("the history was rewritten after fit",),
        profile_notes=("data set mnist subsampled to 2,000 rows",),
        seed=1234,
        seconds=12.5,
        execute_seconds=9.0,
        source_name=f"{student}.ipynb",
    )
    base.update(kw)
    return SubmissionResult(**base)


def errored(student: str = "carol") -> SubmissionResult:
    return result(student, checks=(), cell_issues=(), answers=(), flags=(), score=0.0, error="carol.zip: 3 notebooks")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


# --- Canvas ------------------------------------------------------------------------------


def test_canvas_csv_without_a_roster_puts_the_grader_id_in_sis_login_id() -> None:
    out = io.StringIO()
    missing = exports.export_canvas([result("lee_jun"), errored("carol")], out, ctx(), canvas_assignment_id="4417")
    rows = read_csv(out.getvalue())
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "2-D convolution by hand (4417)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "10"]
    assert rows[2:] == [["carol", "", "", "carol", "", "0"], ["lee_jun", "", "", "lee_jun", "", "3.5"]]
    assert missing == []


def test_canvas_csv_with_a_roster_fills_in_who_each_student_is(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\ufeffsection,student,name,canvas_id,sis_user_id,sis_login_id\n"
        "Section 01,kim_minji,\"김, 민지\",10234,2024123456,minji.kim\n"
        "Section 02,=cmd,=HYPERLINK(\"x\"),1,,\n",
        encoding="utf-8",
    )
    entries = exports.read_roster(roster)
    out = tmp_path / "canvas.csv"
    missing = exports.export_canvas([result("kim_minji"), result("park"), result("=cmd")], out, ctx(), entries)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads Korean names
    rows = read_csv(raw.decode("utf-8"))
    assert rows[0][-1] == "2-D convolution by hand"  # no Canvas id: Canvas makes a new assignment
    by_student = {r[0]: r for r in rows[2:]}
    assert by_student["김, 민지"] == ["김, 민지", "10234", "2024123456", "minji.kim", "Section 01", "3.5"]
    assert by_student["park"] == ["park", "", "", "park", "", "3.5"]
    assert by_student["'=HYPERLINK(\"x\")"][1:] == ["1", "", "", "Section 02", "3.5"]  # no formula runs
    assert missing == ["park"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,canvas_id\nKim,1\n", "needs `student`"),
        ("student,sis_id\nkim,1\n", "unknown column(s) 'sis_id'"),
        ("student,name\nkim,A\nkim,B\n", "row 3: student 'kim' is listed twice"),
        ("student,name\n,Nobody\n", "row 2: no student id"),
    ],
)
def test_a_bad_roster_is_one_line_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(GraderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        exports.read_roster(roster)


def test_a_canvas_assignment_id_is_a_number() -> None:
    with pytest.raises(GraderError, match="a Canvas assignment id is a number"):
        exports.export_canvas([result()], io.StringIO(), ctx(), canvas_assignment_id="12; DROP")


# --- JSON --------------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def validate(doc: dict[str, Any]) -> None:
    """Against the published schema, and no field the schema does not document."""
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(doc, schema(), cls=jsonschema.Draft202012Validator)
    props = schema()["properties"]
    assert set(doc) == set(props)
    for key in ("checks", "cell_issues", "answers"):
        for item in doc[key]:
            assert set(item) == set(props[key]["items"]["properties"]), key
    for key in ("digests", "timings"):
        assert set(doc[key]) == set(props[key]["properties"]), key


def test_a_result_document_follows_the_published_schema() -> None:
    doc = exports.result_document(result(), ctx(), {"why_relu": 1.5})
    validate(doc)
    assert doc["schema"] == "grader.result/1"
    assert (doc["score"], doc["max"], doc["status"], doc["error"]) == (3.5, 10.0, "graded", None)
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["test_values"] == {
        "name": "test_values",
        "hidden": False,
        "status": "partial",
        "points": 1.5,
        "max": 3.0,
        "message": "expected out[0, 0] == 14.0, got 9.0",
        "message_ko": "",  # its author gave no Korean
        "basis": None,
        "seconds": 0.2,
    }
    assert checks["test_accuracy"]["points"] is None and checks["test_accuracy"]["basis"] == "trusted"
    assert doc["cell_issues"][0]["label"] == "In [5] `out = conv(kernal)`"
    assert doc["answers"] == [
        {"id": "why_relu", "text": "음수를 0으로 바꿉니다.", "manual_score": 1.5},
        {"id": "pooling", "text": "", "manual_score": None},
    ]
    assert doc["digests"] == {"submission": "sub-123", "spec": "spec-abc"}
    assert doc["timings"] == {"total_s": 12.5, "execute_s": 9.0, "checks_s": pytest.approx(0.3)}
    assert doc["flags"] == ["the history was rewritten after fit"]
    assert doc["profile_notes"] == ["data set mnist subsampled to 2,000 rows"]


def test_an_ungradable_submission_from_the_graders_own_error_path_follows_the_schema(tmp_path: Path) -> None:
    from grader.job import GradeOptions, error_result
    from grader.spec import load_assignment
    from grader.submissions import read_submission

    assignment = load_assignment(REPO / "assignments" / "cnn_filters")
    bad = tmp_path / "han_seo.ipynb"
    bad.write_text("{ not json", encoding="utf-8")
    sub = read_submission("han_seo", bad, assignment.notebook)
    opts = GradeOptions(profile="full", sandboxed=True, seed=7, data_root=tmp_path)
    real = error_result(assignment, sub, opts, sub.error or "unreadable")
    doc = exports.result_document(real, ReportContext.from_assignment(assignment, "full", sandboxed=True))
    validate(doc)
    assert doc["status"] == "error" and doc["score"] == 0 and doc["max"] == assignment.max_points
    assert doc["error"]


def test_json_export_writes_one_safe_file_per_student(tmp_path: Path) -> None:
    results = [result("김민준"), errored("../../etc/passwd"), result("Kim"), result("kim")]
    written = exports.export_json(results, tmp_path / "json", ctx())
    assert len(written) == 4 and all(p.parent == tmp_path / "json" for p in written)
    names = sorted(p.name for p in written)
    assert "김민준.json" in names
    assert not any(n in ("Kim.json", "kim.json") for n in names)  # case twins get distinct derived names
    for path in written:
        doc = json.loads(path.read_text(encoding="utf-8"))
        validate(doc)
    students = {json.loads(p.read_text(encoding="utf-8"))["student"] for p in written}
    assert students == {"김민준", "../../etc/passwd", "Kim", "kim"}


# --- grade export ------------------------------------------------------------------------


@pytest.fixture
def graded_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gradebook holding two cnn_filters results (the default profile: full)."""
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    book_path = tmp_path / "home" / "gradebook.sqlite"
    with Gradebook(book_path) as book:
        for r in (result("kim_minji"), errored("lee_jun")):
            book.record(
                SubmissionResult.from_dict({**r.to_dict(), "assignment": "cnn_filters", "profile": "full"}), "run1"
            )
        book.set_manual("cnn_filters", "kim_minji", "why_relu", 2.0, 2.0, "")
    return book_path


CNN = str(REPO / "assignments" / "cnn_filters")


def test_grade_export_canvas_with_a_roster(
    graded_book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,sis_login_id\nkim_minji,Kim Minji,mkim\n", encoding="utf-8")
    out = tmp_path / "canvas.csv"
    argv = ["export", CNN, "--format", "canvas", "--out", str(out), "--roster", str(roster), "--lang", "en"]
    assert main([*argv, "--canvas-assignment-id", "99"]) == 0
    rows = read_csv(out.read_text(encoding="utf-8-sig"))
    assert rows[0][-1].endswith(" (99)") and rows[1][0].strip() == "Points Possible"
    assert rows[2] == ["Kim Minji", "", "", "mkim", "", "3.5"]
    assert rows[3] == ["lee_jun", "", "", "lee_jun", "", "0"]
    captured = capsys.readouterr()
    assert "1 student(s) not in the roster (lee_jun)" in captured.err
    assert "manual scores of written answers are not in it" in captured.err
    assert f"wrote 2 rows to {out}" in captured.out


def test_grade_export_json_and_csv(graded_book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "json"
    assert main(["export", CNN, "--format", "json", "--out", str(folder)]) == 0
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.iterdir()}
    assert sorted(docs) == ["kim_minji.json", "lee_jun.json"]
    for doc in docs.values():
        validate(doc)
    assert docs["kim_minji.json"]["answers"][0]["manual_score"] == 2.0
    assert main(["export", CNN]) == 0  # csv to standard output, as before
    out = capsys.readouterr().out
    assert "student,total,max,status,error,test_" in out and "lee_jun,0," in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json"], "give a folder with --out"),
        (["--format", "csv", "--roster", "r.csv"], "go with --format canvas"),
    ],
)
def test_grade_export_usage_errors(
    graded_book: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", CNN, *args]) == 2
    assert message in capsys.readouterr().err
