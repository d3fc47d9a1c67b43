"""Korean and English: the reports, the CLI and the messages checks and the grader write.

Fast: results are built by hand, the pytest plugin runs a two-line test file, and the
CLI runs on a folder with nothing a kernel could run.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import sys
import textwrap
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import catalogue, checks, i18n
from grader.cli import main
from grader.errors import SpecError
from grader.i18n import Msg, msg, pick
from grader.pytest_plugin import CheckContext
from grader.report import ReportContext, cap_page, render_student, render_summary, write_reports
from grader.results import Answer, CellIssue, CheckResult, SubmissionResult
from grader.similarity import compare
from grader.spec import load_assignment
from grader.submissions import read_submission

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = REPO / "assignments"
TEMPLATES = REPO / "grader" / "templates"
POINTS = {"test_shape": 2.0, "test_values": 3.0, "test_reference": 5.0}


def ctx(lang: str = "en", **kw: object) -> ReportContext:
    base: dict[str, object] = dict(
        assignment="conv2d_simple",
        title="합성곱 직접 구현",
        version="1",
        profile="fast",
        test_order=list(POINTS),
        hidden={"test_reference"},
        points=POINTS,
        generated_at="2025-03-14 09:30 UTC",
        lang=lang,
    )
    base.update(kw)
    return ReportContext(**base)  # type: ignore[arg-type]


def result(student: str = "kim", **kw: object) -> SubmissionResult:
    base: dict[str, object] = dict(
        student=student,
        assignment="conv2d_simple",
        assignment_version="1",
        spec_digest="abc123",
        submission_digest="def456",
        profile="fast",
        sandboxed=True,
        score=3.5,
        max_score=10.0,
        checks=(
            CheckResult("test_shape", False, 2.0, 2.0, "passed"),
            CheckResult(
                "test_values",
                False,
                1.5,
                3.0,
                "partial",
                "expected out[0, 0] == 14.0, got 9.0",
                message_ko="out[0, 0]은 14.0이어야 하는데 9.0입니다",
            ),
            CheckResult("test_reference", True, 0.0, 5.0, "failed", "the output has the wrong shape"),
        ),
        seconds=12.5,
    )
    base.update(kw)
    return SubmissionResult(**base)  # type: ignore[arg-type]


class _Visible(HTMLParser):
    """The text a person sees: no <style>, and titles and aria-labels count too."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        self.parts.extend(v or "" for k, v in attrs if k in ("title", "aria-label", "data-label"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.parts)


# Words in a Korean page that are names, not English to translate: ids, test names, file
# and command names, units and the notebook's own words (Jupyter's menu, `In [7]`).
ALLOWED = {
    "conv2d_simple",
    "test_shape",
    "test_values",
    "test_reference",
    "kim",
    "lee",
    "park",
    "fast",
    "full",
    "UTC",
    "MB",
    "In",
    "Kernel",
    "Restart",
    "Run",
    "All",
    "Jaccard",
    "CSV",
    "pytest",
    "grade",
    "scores",
    "import",
    "marks",
    "csv",
    "assignment",
    "assignments",
    "student",
    "answer",
    "score",
    "max",
    "comment",
    "id",
    "ipynb",
    "zip",
    "py",
    "ZeroDivisionError",
    "model",
    "fit",
    "why_relu",
    "README",
    "md",
    "abc123",
    "def456",
    "SIS",
    "Login",
    "ID",
    "out",
    "cell",
    "code",
    "print",
    "hello",
    "Jupyter",
    "mnist",
    "smoke",
    "v1",
}


def english_left(page: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z][A-Za-z_0-9]+", visible(page)) if w not in ALLOWED}


def full_result(student: str = "kim", **kw: object) -> SubmissionResult:
    """A result that makes every section of a student page show."""
    checks = result().checks
    return result(
        student,
        checks=(*checks[:2], replace(checks[2], message_ko="출력의 모양이 틀렸습니다")),
        cell_issues=(
            CellIssue(5, "error", "ZeroDivisionError", "0으로 나눔", 5, "model.fit(x)"),
            CellIssue(6, "timeout", "", "", None, ""),
            CellIssue(7, "not-run", "", "", None, ""),
        ),
        events=(msg("the kernel was restarted", "커널을 다시 시작했습니다"),),
        flags=(msg("the history was forged", "학습 기록이 위조되었습니다"),),
        profile_notes=(msg("data set mnist: 6000 of 60000", "데이터셋 mnist: 60000개 중 6000개"),),
        answers=(Answer("why_relu", "음수를 0으로 바꿉니다."),),
        sandboxed=False,
        synthetic_data=True,
        source_name="김.ipynb",
        execute_seconds=3.0,
        **kw,
    )


# --- the reports -------------------------------------------------------------------------


def test_a_korean_page_has_korean_headings_and_the_authors_korean_message() -> None:
    page = render_student(result(), ctx("ko"))
    assert '<html lang="ko">' in page
    text = html.unescape(page)
    assert "검사" in text and "이번 채점 정보" in text and "검사 3개 중 1개 통과" in text
    assert "out[0, 0]은 14.0이어야 하는데 9.0입니다" in text  # the author gave Korean
    assert "expected out[0, 0] == 14.0" not in text
    assert "the output has the wrong shape" in text  # no Korean given: the English stands in


def test_the_same_result_renders_in_english_without_regrading() -> None:
    page = render_student(result(), ctx("ko"))
    english = render_student(result(), replace(ctx("ko"), lang="en"))
    assert '<html lang="en">' in english and page != english
    text = html.unescape(english)
    assert "Checks" in text and "1 of 3 checks passed" in text
    assert "expected out[0, 0] == 14.0, got 9.0" in text and "14.0이어야" not in text


def test_no_english_fixed_text_is_left_in_a_korean_student_page() -> None:
    page = render_student(full_result(), ctx("ko"), {"why_relu": 1.0})
    assert english_left(page) == set()
    no_manual = render_student(full_result(error=msg("not a notebook", "노트북이 아닙니다")), ctx("ko"))
    assert english_left(no_manual) == set()
    assert "노트북이 아닙니다" in no_manual


def test_no_english_fixed_text_is_left_in_a_korean_summary() -> None:
    alike = ["import numpy as np\nx = np.zeros((3, 3))\nfor i in range(3):\n    x[i, i] = i * 2\nprint(x)\n"] * 3
    similar = compare({"kim": alike, "lee": alike, "park": alike}, starter=[])
    results = [
        full_result("kim"),
        result("lee", error=msg("lee.zip: 3 notebooks", "lee.zip: 노트북이 3개"), checks=(), score=0.0),
        result("park", sandboxed=False),
    ]
    page = render_summary(results, ctx("ko", ignored=("README.md",)), {"kim": {"why_relu": 1.0}}, similar)
    left = english_left(page)
    # the notebooks' shared code is shown as it is; everything else must be Korean
    assert left <= {"numpy", "as", "np", "zeros", "for", "range", "in"}, left
    text = html.unescape(page)
    assert "반 전체 요약" in text and "lee.zip: 노트북이 3개" in text and "학습 기록이 위조되었습니다" in text


def test_every_fixed_string_of_the_templates_has_its_korean() -> None:
    pattern = re.compile(r"""\bt\(\s*(["'])(.*?)\1|\btn\([^,]+,\s*(["'])(.*?)\3,\s*(["'])(.*?)\5""", re.S)
    keys: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            keys.update(k for k in (m.group(2), m.group(4), m.group(6)) if k)
    assert len(keys) > 100
    assert sorted(k for k in keys if k not in catalogue.KO) == []


def test_a_catalogue_value_is_escaped_in_either_language() -> None:
    t, _tn, _phrase = catalogue.translator("ko")
    assert str(t('Feedback for <span class="id">{student}</span>', student="<b>")) == (
        '<span class="id">&lt;b&gt;</span> 학생의 채점 결과'
    )


def test_a_cut_page_says_so_in_its_language() -> None:
    assert "크기 제한" in cap_page("<p>" + "가" * 2000 + "</p>", limit=1000, lang="ko")


# --- results and the gradebook ---------------------------------------------------------


def test_a_row_stored_before_korean_existed_still_loads_and_renders() -> None:
    old = result().to_dict()
    old.pop("ko")
    for c in old["checks"]:
        c.pop("message_ko")
    back = SubmissionResult.from_dict(json.loads(json.dumps(old)))
    assert back.checks[1].message_ko == ""
    text = html.unescape(render_student(back, ctx("ko")))
    assert "expected out[0, 0] == 14.0, got 9.0" in text and "검사" in text


def test_the_graders_korean_survives_the_gradebook_row() -> None:
    r = result(
        error=msg("kim.zip: not a zip file", "kim.zip: zip 파일이 아닙니다"),
        events=("plain English line", msg("limit hit", "제한에 걸림")),
    )
    row = json.loads(json.dumps(r.to_dict(), ensure_ascii=False))
    assert row["ko"] == {"error": "kim.zip: zip 파일이 아닙니다", "events": ["", "제한에 걸림"]}
    back = SubmissionResult.from_dict(row)
    assert pick(back.error or "", "ko") == "kim.zip: zip 파일이 아닙니다" and back.error == "kim.zip: not a zip file"
    assert [pick(e, "ko") for e in back.events] == ["plain English line", "제한에 걸림"]
    assert back.checks[1].text("ko") == "out[0, 0]은 14.0이어야 하는데 9.0입니다"


def test_write_reports_renders_in_the_contexts_language(tmp_path: Path) -> None:
    write_reports(tmp_path, [result()], ctx("ko"))
    assert '<html lang="ko">' in (tmp_path / "index.html").read_text(encoding="utf-8")


# --- the authors' messages through pytest ------------------------------------------------


def test_credit_and_assert_messages_keep_their_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The grader runs checks with --assert=plain in a process with no other pytest; this
    # session's own assertion rewriting would otherwise rewrite the file it imports.
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"])
    test_file = tmp_path / "test_two.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from grader.i18n import msg

            def test_credit(credit):
                credit.check(True, "fine")
                credit.check(False, {"ko": "모양이 틀렸습니다", "en": "wrong shape"})
                credit.check(False, "plain English only")

            def test_assert():
                assert 1 == 2, msg("expected 2, got 1", "2여야 하는데 1입니다")

            def test_assert_dict():
                assert False, {"en": "expected a list", "ko": "리스트여야 합니다"}
            """
        ),
        encoding="utf-8",
    )
    context = CheckContext(notebook=None, profile="fast", seed=0, data=None)
    checks.run_pytest([test_file], tmp_path, context)
    out = context.outcomes
    assert out["test_credit"].status == "partial"
    assert out["test_credit"].message == "wrong shape\nplain English only"
    assert pick(out["test_credit"].message, "ko") == "모양이 틀렸습니다\nplain English only"
    assert pick(out["test_assert"].message, "ko") == "2여야 하는데 1입니다"
    assert out["test_assert"].message == "expected 2, got 1"
    assert (out["test_assert_dict"].message, pick(out["test_assert_dict"].message, "ko")) == (
        "expected a list",
        "리스트여야 합니다",
    )


# --- the spec ------------------------------------------------------------------------------


def test_every_assignment_of_this_course_is_korean() -> None:
    langs = {p.name: load_assignment(p).lang for p in ASSIGNMENTS.iterdir() if (p / "assignment.toml").is_file()}
    assert len(langs) == 8 and set(langs.values()) == {"ko"}


def copy_assignment(tmp_path: Path, lang_line: str | None) -> Path:
    folder = tmp_path / "conv2d_simple"
    shutil.copytree(ASSIGNMENTS / "conv2d_simple", folder)
    toml = folder / "assignment.toml"
    text = re.sub(r'\nlang = "ko"[^\n]*', "", toml.read_text(encoding="utf-8"))
    if lang_line is not None:
        text = text.replace("[assignment]\n", f"[assignment]\n{lang_line}\n", 1)
    toml.write_text(text, encoding="utf-8")
    return folder


def test_the_lang_key_is_validated_and_english_when_absent(tmp_path: Path) -> None:
    assert load_assignment(copy_assignment(tmp_path / "a", None)).lang == "en"
    with pytest.raises(SpecError, match=r"lang must be one of ko, en, got 'fr'") as err:
        load_assignment(copy_assignment(tmp_path / "b", 'lang = "fr"'))
    assert "assignment.toml" in str(err.value)
    assert "ko, en 중 하나" in i18n.pick(i18n.message_of(err.value), "ko")


# --- the command line ----------------------------------------------------------------------


def grade_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    """`grade` over a folder whose only submission is refused before any kernel starts."""
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    subs = tmp_path / "subs"
    subs.mkdir(exist_ok=True)
    (subs / "dave.py").write_text("x = 1\n")
    (subs / "README.md").write_text("hello\n")
    argv = [str(ASSIGNMENTS / "cnn_filters"), str(subs), "--reports", str(tmp_path / "reports"), "--no-sandbox"]
    return main([*argv, *extra])


def test_the_cli_speaks_the_assignments_korean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert grade_nothing(tmp_path, monkeypatch) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith("경고: 샌드박스 없이 채점합니다")
    assert lines[1].startswith("cnn_filters 채점 시작")
    assert "  dave: 채점하지 않음: dave.py: .py 파일은 노트북이 아닙니다: .ipynb 파일을 제출하세요" in out
    assert lines[-1].startswith("채점 1개 (채점 불가 1개), 건너뜀 0개, 제출물이 아닌 파일 1개 무시 (README.md)")
    page = (tmp_path / "reports" / "cnn_filters" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "무시한 파일" in page


def test_lang_en_on_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert grade_nothing(tmp_path, monkeypatch, "--lang", "en") == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("graded 1 (1 could not be graded), skipped 0, ignored 1 file that is not a submission")
    page = (tmp_path / "reports" / "cnn_filters" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Ignored files" in page


def test_an_error_before_the_assignment_is_read_follows_lang(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/no/such/assignment", "/no/such/folder", "--lang", "ko", "--no-sandbox"]) == 1
    assert capsys.readouterr().err.startswith("grade: 오류: ")


def test_a_refused_submission_says_why_in_both_languages(tmp_path: Path) -> None:
    (tmp_path / "kim.ipynb").write_text('{"cells": [', encoding="utf-8")
    sub = read_submission("kim", tmp_path / "kim.ipynb", "x.ipynb")
    assert sub.error is not None and sub.error.startswith("kim.ipynb: is not valid JSON")
    assert pick(sub.error, "ko").startswith("kim.ipynb: 올바른 JSON이 아닙니다")


def test_msg_is_a_str_that_keeps_its_korean_through_copies() -> None:
    import copy
    import pickle

    m = msg("hello", "안녕하세요")
    assert isinstance(m, str) and m == "hello"
    for back in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(back, Msg) and back.ko == "안녕하세요"


def test_the_progress_lines_are_korean_and_the_batch_lines_are_picked() -> None:
    from grader.progress import PlainPresenter

    class Clock:
        t = 1000.0

        def __call__(self) -> float:
            return self.t

    out, clock = io.StringIO(), Clock()
    say = PlainPresenter(out, every_s=30, clock=clock, lang="ko")
    say.begin(10, skipped=3, workers=2, label="cnn_filters")
    say.started("kim")
    say.started("lee")
    clock.t += 35
    say(msg("  kim: 16/16  (35.0 s)", "  kim: 16/16  (35.0초)"))
    say.finished("kim", ok=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  kim: 16/16  (35.0초)"
    assert lines[1].startswith("  진행: 1/10 완료 (채점 1, 채점 불가 0; 이미 채점되어 건너뜀 3), 지금까지 35 s")
    assert "채점 중: lee (35 s)" in lines[1]


# --- the grader's other messages and commands (issue 11, item 3) ---------------------------


def test_the_worker_limit_messages_are_korean() -> None:
    import os

    from grader.worker import over_limits

    memory = over_limits(os.getpid(), 0.001, 1e9)
    assert memory is not None and "worker_memory_mb" in memory and memory.startswith("the grader's worker")
    assert pick(memory, "ko").startswith("이 제출물을 채점하던 채점기 작업 프로세스가 메모리를 0.001 MB 넘게")
    cpu = over_limits(os.getpid(), 1e9, 0.0001)
    assert cpu is not None and "CPU 시간을" in pick(cpu, "ko") and "중지했습니다" in pick(cpu, "ko")


def test_a_bad_reply_from_the_kernel_says_so_in_korean() -> None:
    from grader.errors import BadReply
    from grader.witness import decode, validate_history, validate_model

    with pytest.raises(BadReply) as err:
        decode({"a": 1, "b": 2, "c": 3})
    assert str(err.value) == "malformed answer from the kernel"
    assert pick(i18n.message_of(err.value), "ko") == "커널의 답이 잘못된 형식입니다"
    with pytest.raises(BadReply) as err:
        validate_model({"layers": None}, "`model`")
    assert pick(i18n.message_of(err.value), "ko").startswith("`model`: ")
    with pytest.raises(BadReply) as err:
        validate_model("nonsense")
    assert pick(i18n.message_of(err.value), "ko") == "모델: 커널이 보낸 모델 설명이 잘못된 형식입니다"
    with pytest.raises(BadReply) as err:
        validate_history({"loss": "abc"})
    assert pick(i18n.message_of(err.value), "ko").startswith("학습 기록['loss']은(는) 에포크마다")


def test_a_data_note_and_the_trusted_sides_words_are_korean(tmp_path: Path) -> None:
    from grader.datastore import DataStore
    from grader.evaluator import DataSplit
    from grader.spec import DEFAULT_PROFILES

    note = DataStore(tmp_path / "data").describe("mnist", DEFAULT_PROFILES["smoke"])
    assert "SYNTHETIC" in note and pick(note, "ko").startswith("mnist: 실제 데이터가 아닌 합성 데이터")
    missing = DataStore(tmp_path / "data", system_sources={}).describe("mnist", DEFAULT_PROFILES["fast"])
    assert pick(missing, "ko") == "mnist: 데이터 저장소에 없음"
    assert pick(DataSplit("mnist", "test").describe(), "ko") == "mnist 테스트 세트"
    assert pick(DataSplit("mnist", "validation").describe(), "ko") == "mnist 학습 세트의 마지막 0.2 (validation_split)"


def test_grade_release_speaks_the_assignments_korean_and_lang_en_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = ASSIGNMENTS / "conv2d_simple"
    assert main(["release", str(folder), str(tmp_path / "ko")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{folder}의 학생용 배포본을 {tmp_path / 'ko'}에 썼습니다 (파일 ")
    assert "학생: grader 패키지를 pip install로 설치한 뒤" in out
    assert main(["release", str(folder), str(tmp_path / "en"), "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote the student bundle of {folder}")
    assert main(["release", str(folder), str(tmp_path / "ko")]) == 1  # not empty now
    assert "대상 폴더가 이미 있고 비어 있지 않습니다" in capsys.readouterr().err
    assert 'lang = "ko"' in (tmp_path / "ko" / "grader-bundle.toml").read_text(encoding="utf-8")


def test_grade_data_and_grade_scores_follow_lang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    store = str(tmp_path / "data")
    assert main(["data", "--data", store, "status", "--lang", "ko"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("데이터 저장소 ") and "데이터셋" in out and "없음" in out
    assert main(["data", "--data", store, "status"]) == 0  # no assignment: English
    assert "data set" in capsys.readouterr().out
    assert main(["data", "--data", store, "--lang", "ko", "import", "mnist", str(tmp_path / "nothing")]) == 1
    assert "grade: 오류: " in capsys.readouterr().err
    folder = str(ASSIGNMENTS / "conv2d_simple")
    assert main(["scores", "pending", "--assignment", folder]) == 0  # the spec says ko
    assert "채점 대기 중인 답안 0개" in capsys.readouterr().err
    assert main(["scores", "pending", "--assignment", folder, "--lang", "en"]) == 0
    assert "0 answer(s) pending" in capsys.readouterr().err
    marks = tmp_path / "marks.csv"
    marks.write_text("student,answer\n", encoding="utf-8")
    assert main(["scores", "import", str(marks), "--assignment", folder]) == 1
    assert "첫 행에 열 이름 student, answer, score" in capsys.readouterr().err


def test_the_self_check_of_a_korean_bundle_speaks_korean(tmp_path: Path) -> None:
    import os
    import subprocess

    from grader.release import release
    from grader.selfcheck import load_bundle, score_line

    dest = tmp_path / "bundle"
    release(ASSIGNMENTS / "conv2d_simple", dest)
    assert load_bundle(dest / "grader-bundle.toml").lang == "ko"
    assert score_line(7, 10, "ko") == "공개 검사: 7/10점" and score_line(7, 10) == "public checks: 7/10 points"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "GRADER_DATA"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr  # the bundle's own store is empty: the line says how to get mnist
    assert "프로필 full, 시드" in out, out
    assert "ERROR: grader: full 프로필에는 실제 mnist 데이터셋이 필요한데" in out, out


def test_the_evaluators_refusals_carry_their_korean() -> None:
    from grader import evaluator_server as server

    with pytest.raises(server.Refused) as refused:
        server.check_config({"class_name": "MyDense", "module": "__main__", "registered_name": "MyDense"})
    assert str(refused.value).startswith("the class MyDense is not one of Keras' own classes")
    assert refused.value.ko.startswith("클래스 MyDense은(는) Keras 자체 클래스가 아닙니다")
    with pytest.raises(server.Invalid) as invalid:
        server.handle({"op": "nope"})
    assert (str(invalid.value), invalid.value.ko) == ("unknown op 'nope'", "알 수 없는 요청 'nope'")


def test_an_evaluation_refused_keeps_the_servers_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.errors import EvaluationRefused
    from grader.evaluator import DataSplit, Evaluator, ModelArtefact
    from grader.spec import Limits

    ev = Evaluator(data_dir=None, limits=Limits(), sandboxed=False)
    ev._work = tmp_path  # no process: the reply is the server's, as it writes one
    monkeypatch.setattr(ev, "start", lambda: None)
    reply = {"ok": False, "kind": "refused", "message": "the class X is not one of Keras' own"}
    reply["message_ko"] = "클래스 X"
    monkeypatch.setattr(ev, "_ask", lambda request, timeout: reply)
    with pytest.raises(EvaluationRefused) as err:
        ev.evaluate(ModelArtefact(config="{}", label="`model`"), DataSplit("mnist", "test"))
    assert err.value.refused and str(err.value) == "`model`: the class X is not one of Keras' own"
    assert pick(i18n.message_of(err.value), "ko") == "`model`: 클래스 X"


def test_a_reports_data_note_is_korean_all_through() -> None:
    """The profile's data line on a Korean report: the store's description in Korean too."""
    from types import SimpleNamespace

    from grader.grade import _data_notes

    class Store:
        def describe(self, name: str, profile: object) -> str:
            return msg(f"{name}: SYNTHETIC look-alike", f"{name}: 합성 데이터")

    [note] = _data_notes(Store(), SimpleNamespace(datasets=("mnist",)), SimpleNamespace(name="smoke"))  # type: ignore[arg-type]
    assert pick(note, "ko") == "데이터셋 mnist: 합성 데이터"
    assert pick(note, "en") == "data set mnist: SYNTHETIC look-alike"
