"""The gradebook keeps one result per submission version and survives reopening."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from grader.gradebook import Gradebook
from grader.results import CheckResult, Picture, SubmissionResult


def result(student: str, score: float, digest: str = "d1") -> SubmissionResult:
    return SubmissionResult(
        student=student,
        assignment="a",
        assignment_version="1",
        spec_digest="s",
        submission_digest=digest,
        profile="smoke",
        sandboxed=True,
        score=score,
        max_score=10,
        checks=(CheckResult("test_x", False, score, 10, "partial", "msg"),),
    )


def test_a_recorded_result_is_found_again_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "gb.sqlite"
    with Gradebook(path) as book:
        book.record(result("kim", 7), "run1")
    with Gradebook(path) as book:
        assert book.has("a", "kim", "d1", "s", "smoke")
        assert not book.has("a", "kim", "d2", "s", "smoke")
        [r] = book.latest("a")
        assert r.score == 7 and r.checks[0].message == "msg"


def test_the_same_submission_cannot_be_recorded_twice_without_regrade(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as book:
        book.record(result("kim", 7), "run1")
        with pytest.raises(sqlite3.IntegrityError):
            book.record(result("kim", 8), "run2")
        book.record(result("kim", 8), "run2", replace=True)
        assert book.runs_per_student("a") == {"kim": 1}
        assert book.latest("a")[0].score == 8


def test_latest_shows_the_newest_version_of_each_students_work(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as book:
        book.record(result("kim", 3, "old"), "run1")
        book.record(result("kim", 9, "new"), "run2")
        book.record(result("lee", 5), "run2")
        assert [(r.student, r.score) for r in book.latest("a")] == [("kim", 9), ("lee", 5)]


def test_the_gradebook_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as book:
        assert book.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert book.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_class_is_read_without_its_pictures_and_a_page_reads_its_own(tmp_path: Path) -> None:
    """Pictures are the bulk of a row; the summary and exports never need them."""
    picture = Picture(check="", caption="loss", png="iVBORw0KGgoAAAA=", width=10, height=10)
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record(replace(result("alice", 5), pictures=(picture,)), "run1")
        book.record(result("bob", 6), "run1")
        assert book.latest("a")[0].pictures == (picture,)
        slim = book.latest("a", pictures=False)
        assert [(r.student, r.score, r.pictures) for r in slim] == [("alice", 5, ()), ("bob", 6, ())]
        full = book.latest_of("a", "alice")
        assert full is not None and full.pictures == (picture,)
        assert book.latest_of("a", "carol") is None
        assert [r.student for r in book.latest("a", skip={"alice"})] == ["bob"]
