"""Shared fixtures for the project's own tests.

End-to-end tests grade real notebooks with real sandboxed kernels through the same
entry point instructors use (`grader.cli.main`), each in its own temporary folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.cli import main as grade_main
from grader.gradebook import Gradebook
from grader.results import SubmissionResult
from grader.spec import load_assignment

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = REPO / "assignments"
SOLUTIONS = REPO / "solutions"
FIXTURES = REPO / "tests" / "fixtures"
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"

Grader = Callable[..., dict[str, SubmissionResult]]


@pytest.fixture
def grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Grader:
    """grade(assignment, {student: notebook path or bytes}, *extra_args) -> results by student.

    Uses a gradebook and reports folder private to the test; the data store is the
    project's (smoke data is generated on demand, real data must be imported).
    """
    home = tmp_path / "home"
    monkeypatch.setenv("GRADER_HOME", str(home))
    monkeypatch.setenv("GRADER_DATA", str(REPO / ".grader" / "data"))

    def run(assignment: str, submissions: dict[str, Path | bytes] | Path, *args: str) -> dict[str, SubmissionResult]:
        if isinstance(submissions, Path):
            folder = submissions
        else:
            folder = tmp_path / "subs"
            folder.mkdir(exist_ok=True)
            for name, src in submissions.items():
                dest = folder / name
                if isinstance(src, bytes):
                    dest.write_bytes(src)
                elif src.is_dir():
                    shutil.copytree(src, dest)
                else:
                    shutil.copy(src, dest)
        code = grade_main(
            [
                str(ASSIGNMENTS / assignment),
                str(folder),
                "--reports",
                str(tmp_path / "reports"),
                "--profile",
                "smoke",
                *args,
            ]
        )
        assert code == 0, f"grade exited {code}"
        spec = load_assignment(ASSIGNMENTS / assignment)
        with Gradebook(home / "gradebook.sqlite") as book:
            return {r.student: r for r in book.latest(spec.name)}

    run.reports = tmp_path / "reports"  # type: ignore[attr-defined]
    run.home = home  # type: ignore[attr-defined]
    return run
