"""Free-text answers wait for a person; `grade scores import` brings their scores in."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.gradebook import Gradebook
from grader.manual import import_scores, pending
from grader.results import Answer, SubmissionResult


def result(student: str, *answers: str) -> SubmissionResult:
    return SubmissionResult(
        student=student,
        assignment="a",
        assignment_version="1",
        spec_digest="s",
        submission_digest="d",
        profile="smoke",
        sandboxed=True,
        score=5,
        max_score=10,
        answers=tuple(Answer(a, f"{student} explains {a}") for a in answers),
    )


@pytest.fixture
def book(tmp_path: Path) -> Gradebook:
    b = Gradebook(tmp_path / "gb.sqlite")
    b.record(result("kim", "why"), "r1")
    b.record(result("lee", "why", "how"), "r1")
    return b


def test_answers_are_pending_until_a_person_scores_them(book: Gradebook, tmp_path: Path) -> None:
    assert sorted(pending(book, "a")) == [("kim", "why"), ("lee", "how"), ("lee", "why")]
    marks = tmp_path / "marks.csv"
    marks.write_text("student,answer,score,max,comment\nkim,why,2,2,clear\nlee,how,1.5,2,\n", encoding="utf-8")
    assert import_scores(book, "a", marks) == 2
    assert pending(book, "a") == [("lee", "why")]
    assert book.manual("a") == {"kim": {"why": 2.0}, "lee": {"how": 1.5}}


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("name,score\nkim,1\n", "the first row must name the columns"),
        ("student,answer,score\npark,why,1\n", "row 2: no graded submission of a by 'park'"),
        ("student,answer,score\nkim,how,1\n", "row 2: kim has no answer 'how' (answers: why)"),
        ("student,answer,score\nkim,why,lots\n", "row 2: score and max must be numbers"),
        ("student,answer,score,max\nkim,why,3,2\n", "row 2: score 3 is not between 0"),
    ],
)
def test_a_bad_scores_file_names_the_file_and_row_and_changes_nothing(
    book: Gradebook, tmp_path: Path, csv_text: str, message: str
) -> None:
    marks = tmp_path / "marks.csv"
    marks.write_text(csv_text, encoding="utf-8")
    with pytest.raises(GraderError) as info:
        import_scores(book, "a", marks)
    assert message in str(info.value)
    assert "marks.csv" in str(info.value)
    assert book.manual("a") == {}  # validated whole before anything is stored


def test_one_bad_row_stores_none_of_the_file(book: Gradebook, tmp_path: Path) -> None:
    marks = tmp_path / "marks.csv"
    marks.write_text("student,answer,score\nlee,why,1\nkim,why,-1\n", encoding="utf-8")
    with pytest.raises(GraderError, match="row 3"):
        import_scores(book, "a", marks)
    assert book.manual("a") == {}
