"""A regrade of an unchanged batch leaves its reports as they are; anything a page is
made from changing (a result, a manual score, the language, a page gone) writes them
all again. Broken notebooks are graded without a kernel, so these run in the fast suite."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Grader
from test_gradebook import result  # a result with a score and one check

from grader import freshness
from grader.report import ReportContext

BROKEN = b'{"cells": [{"cell_type": "code", "sou'


CTX = ReportContext(
    assignment="a", title="A", version="1", profile="fast", test_order=("t1", "t2"), hidden={"t2", "t1"}
)


def test_the_key_follows_every_input_of_the_pages() -> None:
    base = freshness.report_key([result("kim", 0.0)], CTX, {}, {"kim": ("x = 1",)}, None)
    assert base == freshness.report_key(
        [result("kim", 0.0)], replace(CTX, generated_at="later"), {}, {"kim": ("x = 1",)}, None
    )
    changed = [
        freshness.report_key([result("kim", 1.0)], CTX, {}, {"kim": ("x = 1",)}, None),
        freshness.report_key(
            [result("kim", 0.0)], replace(CTX, lang="ko" if CTX.lang == "en" else "en"), {}, {"kim": ("x = 1",)}, None
        ),
        freshness.report_key([result("kim", 0.0)], CTX, {"kim": {"q1": 2.0}}, {"kim": ("x = 1",)}, None),
        freshness.report_key([result("kim", 0.0)], CTX, {}, {"kim": ("x = 2",)}, None),
        freshness.report_key([result("kim", 0.0), result("lee", 0.0)], CTX, {}, {"kim": ("x = 1",)}, None),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_reports_are_current_only_with_their_key_and_untouched_files(tmp_path: Path) -> None:
    page = tmp_path / "kim.html"
    page.write_text("page")
    assert not freshness.current(tmp_path, "k1", [page])  # never written under a key
    freshness.remember(tmp_path, "k1")
    assert freshness.current(tmp_path, "k1", [page])
    assert not freshness.current(tmp_path, "k2", [page])
    later = (tmp_path / freshness.KEY_FILE).stat().st_mtime_ns + 10**9
    os.utime(page, ns=(later, later))  # rewritten after the reports were (an export into the folder)
    assert not freshness.current(tmp_path, "k1", [page])
    page.unlink()
    assert not freshness.current(tmp_path, "k1", [page])


def _stamp(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_a_regrade_of_an_unchanged_batch_leaves_the_reports_alone(
    grade: Grader, capsys: pytest.CaptureFixture[str]
) -> None:
    subs: dict[str, Path | bytes] = {"kim.ipynb": BROKEN, "lee.ipynb": BROKEN}
    grade("cnn_filters", subs, "--lang", "en")
    reports = grade.reports / "cnn_filters"  # type: ignore[attr-defined]
    first = _stamp(reports)
    assert {"index.html", "scores.csv", "kim.html", "lee.html"} <= set(first)
    capsys.readouterr()

    grade("cnn_filters", subs, "--lang", "en")
    assert _stamp(reports) == first
    assert "reports (unchanged, not rewritten)" in capsys.readouterr().out

    grade("cnn_filters", subs, "--lang", "ko")  # another language: every page again
    again = _stamp(reports)
    assert all(again[name] > first[name] for name in first if name != freshness.KEY_FILE)
    assert "(바뀐 것이 없어 그대로 둠)" not in capsys.readouterr().out
    assert 'lang="ko"' in (reports / "kim.html").read_text(encoding="utf-8")

    (reports / "lee.html").unlink()  # a page deleted by hand comes back
    grade("cnn_filters", subs, "--lang", "ko")
    assert (reports / "lee.html").is_file()

    subs["park.ipynb"] = BROKEN  # a new student: the summary changes
    grade("cnn_filters", subs, "--lang", "ko")
    assert (reports / "park.html").is_file()
    assert "park" in (reports / "index.html").read_text(encoding="utf-8")
