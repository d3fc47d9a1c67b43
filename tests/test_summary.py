"""The class summary's sections for an instructor: score histogram, pass rates, answers
waiting for a person, data sets and profile changes, flags, similar submissions.

Fast: results are built by hand, the similarity report from code strings.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from grader.report import ReportContext, render_summary, write_reports
from grader.results import Answer, CheckResult, SubmissionResult
from grader.similarity import Options, compare

POINTS = {"test_shape": 2.0, "test_values": 3.0, "test_reference": 5.0}


def ctx(**kw: Any) -> ReportContext:
    base: dict[str, Any] = dict(
        assignment="conv2d_simple",
        title="2-D convolution by hand",
        version="1",
        profile="fast",
        test_order=list(POINTS),
        hidden={"test_reference"},
        points=POINTS,
        generated_at="2025-03-14 09:30 UTC",
    )
    base.update(kw)
    return ReportContext(**base)


def result(student: str, earned: dict[str, float] | None = None, **kw: Any) -> SubmissionResult:
    earned = earned if earned is not None else dict(POINTS)
    status = {n: "passed" if e == POINTS[n] else "failed" if e == 0 else "partial" for n, e in earned.items()}
    checks = tuple(CheckResult(n, n == "test_reference", e, POINTS[n], status[n]) for n, e in earned.items())
    base: dict[str, Any] = dict(
        student=student,
        assignment="conv2d_simple",
        assignment_version="1",
        spec_digest="s",
        submission_digest="d",
        profile="fast",
        sandboxed=True,
        score=sum(earned.values()),
        max_score=10.0,
        checks=checks,
    )
    base.update(kw)
    return SubmissionResult(**base)


def text(page: str) -> str:
    no_style = re.sub(r"<(style|svg).*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", no_style)).split())


def svg(page: str) -> ElementTree.Element:
    found = re.search(r"<svg.*?</svg>", page, re.S)
    assert found, "no inline SVG"
    return ElementTree.fromstring(found.group(0))


NS = "{http://www.w3.org/2000/svg}"


def test_the_histogram_is_inline_svg_with_a_bar_per_point() -> None:
    results = [
        result("a"),
        result("b", {"test_shape": 2, "test_values": 1.5, "test_reference": 0}),
        result("c", {"test_shape": 2, "test_values": 1.5, "test_reference": 0}),
        result("d", checks=(), score=0.0, error="d.zip: 3 notebooks"),
    ]
    page = render_summary(results, ctx())
    assert "<script" not in page
    root = svg(page)  # well-formed XML, so every browser draws it
    bars = root.findall(f"{NS}g/{NS}rect")
    assert len(bars) == 11  # scores 0..10, one point each: a full score has its own bar
    heights = [float(b.get("height", "0")) for b in bars]
    assert heights[3] > heights[10] > 0 and sum(1 for h in heights if h) == 2  # 3.5 twice, 10 once
    tips = [t.text for t in root.iter(f"{NS}title")]
    assert "2 submissions scored 3 or more, under 4" in tips and "1 submission scored 10" in tips
    assert "The 1 that could not be graded are not in it." in text(page)


def test_the_histogram_bins_an_uneven_maximum_in_tenths() -> None:
    points = {"test_shape": 7.5, "test_values": 15.0}
    results = [result(f"s{i}", {"test_shape": i % 8, "test_values": 15.0}, max_score=22.5) for i in range(8)]
    page = render_summary(results, ctx(points=points, test_order=list(points), hidden=set()))
    bars = svg(page).findall(f"{NS}g/{NS}rect")
    assert len(bars) == 10
    assert "2 submissions scored 20.25 to 22.5<" in page  # the last bin is closed: full scores fall in it
    assert "3 submissions scored 18 to under 20.25<" in page


def test_pass_rates_and_the_profile_split_into_data_sets_and_other_changes() -> None:
    notes = ("data set mnist subsampled to 2,000 of 60,000 rows", "epochs capped from 10 to 2 by the fast profile")
    results = [
        result("a", profile_notes=notes),
        result("b", {"test_shape": 2, "test_values": 0, "test_reference": 5}, profile_notes=notes[:1]),
    ]
    shown = text(render_summary(results, ctx()))
    assert "Pass rate" in shown and "test_values public 3 1 / 2 0 1.5 50% 50%" in shown
    assert "Data sets data set mnist subsampled to 2,000 of 60,000 rows" in shown
    assert "What else the profile changed epochs capped from 10 to 2 by the fast profile (1 of 2" in shown


def test_answers_waiting_for_a_person_are_listed_with_who_waits() -> None:
    answers = (Answer("q1", "..."), Answer("q2", "..."))
    results = [result("a", answers=answers), result("b", answers=answers), result("c")]
    shown = text(render_summary(results, ctx(), {"a": {"q1": 1.0, "q2": 2.0}, "b": {"q1": 0.5}}))
    assert "Written answers" in shown
    assert "q1 0 2 all scored" in shown
    assert "q2 1 1 b" in shown
    assert "grade scores import marks.csv --assignment assignments/conv2d_simple" in shown


def test_flagged_submissions_are_listed_with_their_reasons_escaped() -> None:
    flags = ("history rewritten: <script>alert(1)</script>",) + tuple(f"reason {i}" for i in range(12))
    page = render_summary([result("a"), result("mallory", flags=flags)], ctx())
    shown = text(page)
    assert "1 flagged for review" in shown
    assert "Flagged for review" in shown and "mallory history rewritten: <script>alert(1)</script>" in shown
    assert "<script>alert" not in page
    assert "and 3 more on the student's page" in shown


ORIGINAL = [
    "import numpy as np",
    "def conv2d(image, kernel):\n    kh, kw = kernel.shape\n    out = np.zeros((image.shape[0] - kh + 1, "
    "image.shape[1] - kw + 1))\n    for r in range(out.shape[0]):\n        for c in range(out.shape[1]):\n"
    "            out[r, c] = np.sum(image[r:r + kh, c:c + kw] * kernel)  # </pre><script>x()</script>\n"
    "    return out\n",
]
RENAMED = [
    "import numpy as np",
    "def conv2d(img, k):\n    a, b = k.shape\n    res = np.zeros((img.shape[0] - a + 1, img.shape[1] - b + 1))\n"
    "    for y in range(res.shape[0]):\n        for x in range(res.shape[1]):\n"
    "            res[y, x] = np.sum(img[y:y + a, x:x + b] * k)\n    return res\n",
]


def test_similar_submissions_side_by_side_for_a_person_to_judge(tmp_path: Path) -> None:
    similar = compare({"kim": ORIGINAL, "lee": RENAMED, "park": ["print('hello')"]}, starter=[ORIGINAL[0]])
    results = [result("kim"), result("lee"), result("park")]
    page = render_summary(results, ctx(), None, similar)
    shown = text(page)
    assert "Similar submissions" in shown and "For a person to judge; never a penalty" in shown
    assert re.search(r"kim ↔ lee \d+% alike", shown)
    assert "kim · In [1] line 1 to In [2] line 7" in shown and "lee · In [1] line 1 to In [2] line 7" in shown
    assert "out[r, c] = np.sum(image[r:r + kh, c:c + kw] * kernel)" in shown
    assert "res[y, x] = np.sum(img[y:y + a, x:x + b] * k)" in shown
    assert "<script>x()" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert '<a href="kim.html">kim</a> ↔ <a href="lee.html">lee</a>' in page
    write_reports(tmp_path, results, ctx(), None, similar)
    assert "kim ↔ lee" in text((tmp_path / "index.html").read_text(encoding="utf-8"))


def test_the_similarity_section_says_when_nothing_is_alike_and_how_many_are_not_shown() -> None:
    results = [result("kim"), result("park")]
    none_alike = compare({"kim": ORIGINAL, "park": ["print('hello')"]}, starter=[])
    assert "No pair of the 2 submissions compared is 50% alike or more once the starter" in text(
        render_summary(results, ctx(), None, none_alike)
    )
    many = compare({f"s{i}": ORIGINAL for i in range(5)}, starter=[], opts=Options(max_pairs=2))
    shown = text(render_summary([result(f"s{i}") for i in range(5)], ctx(), None, many))
    assert "10 pairs of the 5 submissions are 50% alike or more. The 2 most alike are shown." in shown
    assert "8 more pairs over the threshold are not shown" in shown
    assert "Similar submissions" not in text(render_summary(results, ctx()))  # not computed: no section
