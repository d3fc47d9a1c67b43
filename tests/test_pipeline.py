"""End to end: real sandboxed kernels grade the reference solution, the starter, and one
notebook per typical mistake in one batch; each mistake loses exactly its checks."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, FIXTURES, SOLUTIONS, Grader

PIPELINE_ASSIGNMENTS = ["conv2d_simple", "cnn_filters"]


def mistakes(name: str) -> dict[str, list[str]]:
    path = FIXTURES / "mistakes" / name / "EXPECTED.toml"
    return tomllib.loads(path.read_text())["fail"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PIPELINE_ASSIGNMENTS)
def test_solution_full_starter_zero_and_each_mistake_loses_its_points(grade: Grader, name: str) -> None:
    subs: dict[str, Path | bytes] = {
        "solution.ipynb": SOLUTIONS / name / f"{name}.ipynb",
        "starter.ipynb": ASSIGNMENTS / name / f"{name}.ipynb",
        "broken.ipynb": b'{"cells": [{"cell_type": "code", "sou',
    }
    expected = mistakes(name)
    for file in expected:
        subs[f"mistake_{Path(file).stem}.ipynb"] = FIXTURES / "mistakes" / name / file
    results = grade(name, subs, "--workers", "2")

    solution = results["solution"]
    assert solution.error is None
    assert solution.score == solution.max_score > 0, [c for c in solution.checks if c.status != "passed"]

    starter = results["starter"]
    assert starter.score <= 0.1 * starter.max_score, f"starter earns {starter.score}/{starter.max_score}"

    broken = results["broken"]
    assert broken.score == 0
    assert broken.error is not None and "not valid JSON" in broken.error and "\n" not in broken.error

    for file, must_fail in expected.items():
        r = results[f"mistake_{Path(file).stem}"]
        lost = {c.name for c in r.checks if c.points < c.max_points}
        assert lost == set(must_fail), f"{file}: lost {sorted(lost)}, expected {sorted(must_fail)}"
        for c in r.checks:
            if c.points < c.max_points:
                assert c.message, f"{file}: {c.name} lost points without a message for the student"

    # The instructor's outputs: a report per student, a class summary, a CSV row each.
    reports = grade.reports / name  # type: ignore[attr-defined]
    assert (reports / "index.html").is_file()
    for student in results:
        assert (reports / f"{student}.html").is_file()
    with (reports / "scores.csv").open(encoding="utf-8-sig") as fh:  # Excel-friendly BOM
        rows = list(csv.DictReader(fh))
    assert {row["student"] for row in rows} == set(results)
    by_student = {row["student"]: row for row in rows}
    assert float(by_student["solution"]["total"]) == solution.max_score


@pytest.mark.slow
def test_hidden_test_sources_never_reach_the_report(grade: Grader) -> None:
    name = "cnn_filters"
    results = grade(name, {"starter.ipynb": ASSIGNMENTS / name / f"{name}.ipynb"})
    html = (grade.reports / name / "starter.html").read_text(encoding="utf-8")  # type: ignore[attr-defined]
    hidden_sources = [p.read_text() for p in (ASSIGNMENTS / name / "tests" / "hidden").glob("test_*.py")]
    for source in hidden_sources:
        for line in source.splitlines():
            line = line.strip()
            if len(line) > 25 and not line.startswith(("#", "def ", "import", "from", '"""')):
                assert line not in html, f"hidden test source leaked into the report: {line}"
    assert results["starter"].checks


@pytest.mark.slow
def test_a_second_run_skips_what_is_graded_and_regrade_grades_again(grade: Grader) -> None:
    name = "cnn_filters"
    subs = {"kim.ipynb": SOLUTIONS / name / f"{name}.ipynb"}
    first = grade(name, subs)
    second = grade(name, subs)
    assert second["kim"].seed == first["kim"].seed  # not graded again: the same stored result
    third = grade(name, subs, "--regrade")
    assert third["kim"].score == first["kim"].score == first["kim"].max_score
