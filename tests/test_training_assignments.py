"""End to end for the assignments that train Keras models: real sandboxed kernels run
the reference solution, the starter and one notebook per typical mistake
(tests/fixtures/mistakes/<name>/, listed in its EXPECTED.toml) in ONE batch per
assignment, in the smoke profile (synthetic data, epochs capped at 2), two workers.
The solution earns full marks, the starter next to nothing, each mistake loses exactly
the checks its EXPECTED.toml lists (each with a message for the student), and an
accepted variant (an empty list) loses nothing.

Data-driven: to add an assignment, add its name to TRAINING_ASSIGNMENTS; it needs
assignments/<name>/<name>.ipynb (starter), solutions/<name>/<name>.ipynb and
tests/fixtures/mistakes/<name>/EXPECTED.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, FIXTURES, SOLUTIONS, Grader

from grader.spec import load_assignment

TRAINING_ASSIGNMENTS = [
    "dropout_rates", "bn_vs_dropout", "callbacks",
    "sparse_labels", "fashion_vs_mnist", "cnn_mistakes",
]


def expected_failures(name: str) -> dict[str, list[str]]:
    path = FIXTURES / "mistakes" / name / "EXPECTED.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["fail"]


@pytest.mark.parametrize("name", TRAINING_ASSIGNMENTS)
def test_expected_lists_match_fixtures_and_tests(name: str) -> None:
    """Fast: every mistake notebook has an entry, and every entry names real tests."""
    spec = load_assignment(ASSIGNMENTS / name)
    expected = expected_failures(name)
    on_disk = {p.name for p in (FIXTURES / "mistakes" / name).glob("*.ipynb")}
    assert on_disk == set(expected), (
        f"{name}: notebooks without an entry {sorted(on_disk - set(expected))}, "
        f"entries without a notebook {sorted(set(expected) - on_disk)}"
    )
    for file, tests in expected.items():
        unknown = [t for t in tests if t not in spec.points]
        assert not unknown, f"{name}/{file}: no such test(s) {unknown}"
        assert len(set(tests)) == len(tests), f"{name}/{file}: a test is listed twice"
    assert (SOLUTIONS / name / spec.notebook).is_file()
    full_only = [t for tf in spec.test_files for t in tf.tests if "_full" in t]
    assert full_only, f"{name}: an accuracy bar belongs in a check marked profiles('full')"


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINING_ASSIGNMENTS)
def test_solution_starter_and_mistakes(grade: Grader, name: str, record_property) -> None:  # type: ignore[no-untyped-def]
    subs: dict[str, Path | bytes] = {
        "solution.ipynb": SOLUTIONS / name / f"{name}.ipynb",
        "starter.ipynb": ASSIGNMENTS / name / f"{name}.ipynb",
    }
    expected = expected_failures(name)
    for file in expected:
        subs[f"mistake_{Path(file).stem}.ipynb"] = FIXTURES / "mistakes" / name / file
    results = grade(name, subs, "--workers", "2")
    seconds = sorted(r.seconds for r in results.values())
    record_property("seconds_per_submission_median", seconds[len(seconds) // 2])
    print(f"{name}: {len(results)} submissions, seconds each (smoke, 2 workers): {seconds}")

    problems: list[str] = []
    solution = results["solution"]
    if solution.error is not None or solution.score != solution.max_score or solution.max_score <= 0:
        problems.append(
            f"solution: {solution.score}/{solution.max_score} {solution.error or ''}; "
            + "; ".join(f"{c.name}: {c.message}" for c in solution.checks if c.points < c.max_points)
        )
    if not solution.synthetic_data:
        problems.append("the smoke profile serves synthetic data and must say so")
    if not any(c.status == "skipped" for c in solution.checks):
        problems.append("solution: no check was left out of smoke (the accuracy bars are full-only)")

    starter = results["starter"]
    if starter.error is not None or starter.score > 0.1 * starter.max_score:
        problems.append(f"starter earns {starter.score}/{starter.max_score} {starter.error or ''}")

    for file, must_fail in expected.items():
        r = results[f"mistake_{Path(file).stem}"]
        if r.error is not None:
            problems.append(f"{file}: could not be graded: {r.error}")
            continue
        lost = {c.name for c in r.checks if c.points < c.max_points}
        if lost != set(must_fail):
            problems.append(
                f"{file}: lost {sorted(lost)}, expected {sorted(must_fail)}; "
                + "; ".join(f"{c.name}: {c.message[:300]}" for c in r.checks if c.points < c.max_points)
            )
        for c in r.checks:
            if c.points < c.max_points and not c.message.strip():
                problems.append(f"{file}: {c.name} lost points without a message for the student")
    assert not problems, "\n".join(problems)
