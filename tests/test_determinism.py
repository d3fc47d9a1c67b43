"""The same submission graded again and again gets the same score, whatever the seed.

Hidden checks draw fresh random inputs every run; a correct notebook must pass and a
notebook with one mistake must lose exactly the same checks, every time. Regrading
replaces the gradebook row instead of adding one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, SOLUTIONS, Grader

from grader.gradebook import Gradebook

RUNS = 10


@pytest.mark.slow
def test_ten_regrades_give_the_same_scores(grade: Grader, tmp_path: Path) -> None:
    subs: dict[str, Path | bytes] = {
        "solution.ipynb": SOLUTIONS / "cnn_filters" / "cnn_filters.ipynb",
        "mistake.ipynb": FIXTURES / "mistakes" / "cnn_filters" / "no_relu.ipynb",
    }
    seen: dict[str, set[tuple[float, tuple[tuple[str, str, float], ...]]]] = {"solution": set(), "mistake": set()}
    seeds = set()
    for run in range(RUNS):
        results = grade("cnn_filters", subs, "--workers", "2", *(["--regrade"] if run else []))
        for student, outcomes in seen.items():
            r = results[student]
            assert r.error is None, r.error
            outcomes.add((r.score, tuple((c.name, c.status, c.points) for c in r.checks)))
            seeds.add(r.seed)
    assert len(seeds) == RUNS, "every run should draw new random inputs"
    for student, outcomes in seen.items():
        assert len(outcomes) == 1, f"{student} got different results over {RUNS} runs: {sorted(outcomes)}"
    ((solution_score, _),) = seen["solution"]
    ((mistake_score, _),) = seen["mistake"]
    assert mistake_score < solution_score
    with Gradebook(grade.home / "gradebook.sqlite") as book:  # type: ignore[attr-defined]
        assert book.runs_per_student("cnn_filters") == {"solution": 1, "mistake": 1}
