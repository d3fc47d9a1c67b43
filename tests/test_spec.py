"""An assignment spec is validated once, and a mistake in it names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.spec import load_assignment
from grader.submissions import collect

TOML = """
[assignment]
title = "Doubling"
version = "1"
notebook = "double.ipynb"
datasets = []

[limits]
cell_timeout_s = 5

[points]
test_public = 1
test_hidden = 2.5
"""


def make(tmp_path: Path, toml: str = TOML, public: str = "def test_public(nb):\n    pass\n") -> Path:
    root = tmp_path / "double"
    (root / "tests" / "public").mkdir(parents=True)
    (root / "tests" / "hidden").mkdir(parents=True)
    (root / "assignment.toml").write_text(toml)
    (root / "double.ipynb").write_text("{}")
    (root / "tests" / "public" / "test_a.py").write_text(public)
    (root / "tests" / "hidden" / "test_b.py").write_text("def test_hidden(nb):\n    pass\n")
    return root


def test_a_valid_spec_loads_with_points_limits_and_hidden_flags(tmp_path: Path) -> None:
    spec = load_assignment(make(tmp_path))
    assert spec.name == "double"
    assert spec.max_points == 3.5
    assert spec.limits.cell_timeout_s == 5
    assert spec.limits.memory_mb == 4096  # default kept
    assert spec.is_hidden("test_hidden") and not spec.is_hidden("test_public")
    assert spec.test_order() == ["test_public", "test_hidden"]


def test_changing_a_hidden_test_changes_the_digest(tmp_path: Path) -> None:
    root = make(tmp_path)
    before = load_assignment(root).digest
    (root / "tests" / "hidden" / "test_b.py").write_text("def test_hidden(nb):\n    assert 1\n")
    assert load_assignment(root).digest != before


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('version = "1"\n', ""), "[assignment] is missing 'version'"),
        (lambda t: t.replace("cell_timeout_s = 5", 'cell_timeout_s = "5"'), "[limits] cell_timeout_s must be"),
        (lambda t: t.replace("cell_timeout_s = 5", "cell_timout_s = 5"), "[limits] has unknown key 'cell_timout_s'"),
        (lambda t: t.replace("cell_timeout_s = 5", "cell_timeout_s = -1"), "must be positive"),
        (lambda t: t.replace("test_hidden = 2.5\n", ""), "[points] has no entry for test_hidden"),
        (lambda t: t + "test_typo = 1\n", "[points] test_typo: no test of that name"),
        (lambda t: t.replace("datasets = []", 'datasets = ["cifar"]'), "unknown data set 'cifar'"),
        (lambda t: t.replace('notebook = "double.ipynb"', 'notebook = "other.ipynb"'), "starter other.ipynb not found"),
        (lambda t: t + "[extra]\n", "unknown table(s): extra"),
        (lambda t: t.replace("[points]", "[points"), "not valid TOML"),
    ],
)
def test_a_bad_spec_names_the_file_and_the_key(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    root = make(tmp_path, edit(TOML))
    with pytest.raises(SpecError) as info:
        load_assignment(root)
    assert expected in str(info.value)
    assert "assignment.toml" in str(info.value)


def test_a_test_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    root = make(tmp_path, public="def test_public(nb:\n")
    with pytest.raises(SpecError, match=r"test_a.py: test file does not parse: line 1"):
        load_assignment(root)


def test_every_bundled_assignment_loads() -> None:
    root = Path(__file__).resolve().parent.parent / "assignments"
    folders = [p for p in sorted(root.iterdir()) if (p / "assignment.toml").exists()]
    assert folders, "no assignments found"
    for folder in folders:
        spec = load_assignment(folder)
        assert spec.max_points > 0
        assert any(tf.hidden for tf in spec.test_files), f"{folder.name} has no hidden tests"


def test_every_bundled_assignment_has_sample_submissions_to_grade() -> None:
    """`grade assignments/<name> examples/submissions/<name>` shows something real for
    every assignment: at least five readable notebooks (tools/make_examples_training.py
    writes those of the training exercises)."""
    repo = Path(__file__).resolve().parent.parent
    for folder in sorted((repo / "assignments").iterdir()):
        if not (folder / "assignment.toml").exists():
            continue
        spec = load_assignment(folder)
        samples = repo / "examples" / "submissions" / folder.name
        assert samples.is_dir(), f"no sample submissions for {folder.name}"
        subs = collect(samples, spec.notebook)
        readable = [s for s in subs if s.error is None]
        assert len(readable) >= 5, f"{folder.name}: {[(s.student, s.error) for s in subs]}"
