"""The submissions folder as people see it: notebooks, zips and folders are students;
a .py file is a submission refused with its reason; anything else is listed as
ignored, never made a student with a score of 0."""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.report import ReportContext, render_summary
from grader.results import SubmissionResult
from grader.submissions import PY_REASON, collect, collect_folder

STARTER = "cnn_filters.ipynb"
REPO = Path(__file__).resolve().parent.parent
VALID = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])).encode()


def _folder(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes(VALID)
    (subs / "bob").mkdir()
    (subs / "bob" / STARTER).write_bytes(VALID)
    (subs / "carol.zip").write_bytes(b"PK not really")
    (subs / "dave.py").write_text("x = 1\n")  # exported as a script: refused with its reason
    (subs / "alice.py").write_text("x = 1\n")  # an export beside alice's notebook: not a second submission
    (subs / "README.md").write_text("# submissions of week 3\n")
    (subs / "marks.csv").write_text("student,score\n")
    (subs / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / "__MACOSX").mkdir()
    (subs / "~$notes.docx").write_bytes(b"lock")
    return subs


def test_only_notebooks_zips_folders_and_scripts_are_students(tmp_path: Path) -> None:
    got = collect_folder(_folder(tmp_path), STARTER)
    subs = {s.student: s for s in got.submissions}
    assert sorted(subs) == ["alice", "bob", "carol", "dave"]
    assert subs["alice"].ok and subs["bob"].ok and not subs["carol"].ok
    assert subs["dave"].error == f"dave.py: {PY_REASON}"
    assert got.ignored == sorted(
        [".DS_Store", ".ipynb_checkpoints", "README.md", "__MACOSX", "alice.py", "marks.csv", "~$notes.docx"]
    )
    assert [s.student for s in collect(tmp_path / "subs", STARTER)] == ["alice", "bob", "carol", "dave"]


def test_ignored_names_are_one_printable_line(tmp_path: Path) -> None:
    (tmp_path / "notes\nINJECTED\x1b[31m.txt").write_text("x")
    (ignored,) = collect_folder(tmp_path, STARTER).ignored
    assert "\n" not in ignored and "\x1b" not in ignored and ignored.startswith("notes INJECTED")


def test_a_symlinked_folder_is_refused_not_ignored(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / STARTER).write_bytes(VALID)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "erin").symlink_to(real)
    got = collect_folder(subs, STARTER)
    assert got.ignored == []
    (erin,) = got.submissions
    assert erin.error == "erin: is a symbolic link; submit the file itself"


def test_the_summary_lists_ignored_files(tmp_path: Path) -> None:
    ctx = ReportContext(
        assignment="cnn_filters",
        title="t",
        version="1",
        profile="full",
        test_order=(),
        ignored=("README.md", "marks.csv", "<script>.txt"),
    )
    page = render_summary([], ctx)
    assert "<h2>Ignored files</h2>" in page and "<script>" not in page
    assert "README.md, marks.csv, &lt;script&gt;.txt" in page
    assert "3 files in the submissions folder are not a submission" in html.unescape(page)
    assert "Ignored files" not in render_summary([], ReportContext("a", "t", "1", "full", ()))


def test_the_end_of_run_line_and_the_summary_say_what_was_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No submission here can run, so nothing starts a kernel: a fast test of the whole command.
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "dave.py").write_text("x = 1\n")
    (subs / "README.md").write_text("hello\n")
    (subs / ".DS_Store").write_bytes(b"\0")
    reports = tmp_path / "reports"
    argv = [str(REPO / "assignments" / "cnn_filters"), str(subs), "--reports", str(reports), "--no-sandbox"]
    code = main([*argv, "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("graded 1 (1 could not be graded), skipped 0, ignored 2 files that are not submissions")
    assert "(.DS_Store, README.md)" in last
    assert f"dave: not graded: dave.py: {PY_REASON}" in out
    page = html.unescape((reports / "cnn_filters" / "index.html").read_text())
    assert "Ignored files" in page and ".DS_Store, README.md" in page
    assert "README" not in (reports / "cnn_filters" / "scores.csv").read_text()


def test_a_result_stored_before_cells_were_named_still_reads() -> None:
    old = {
        "student": "a",
        "assignment": "x",
        "assignment_version": "1",
        "spec_digest": "d",
        "submission_digest": "s",
        "profile": "fast",
        "sandboxed": True,
        "score": 1.0,
        "max_score": 2.0,
        "cell_issues": [{"cell": 7, "status": "error", "ename": "NameError", "evalue": "x"}],
    }
    r = SubmissionResult.from_dict(old)
    assert r.cell_issues[0].label == "cell 7" and r.profile_notes == ()
    again = SubmissionResult.from_dict(r.to_dict())
    assert again == r


def test_a_truncated_notebook_says_where_in_plain_words(tmp_path: Path) -> None:
    (tmp_path / "park.ipynb").write_text('{"cells": [{"source": "unfinished')
    [sub] = collect(tmp_path, "x.ipynb")
    assert sub.error is not None and "Unterminated string starting at line 1" in sub.error


def test_the_batch_read_checks_the_schema_only_of_what_it_will_grade(tmp_path: Path) -> None:
    """collect_folder's slim read (the batch's) stops at what needs no nbformat; the
    schema is checked by `checked`, with read_submission's words, for the submissions
    the batch will grade: a regrade that skips everything never imports nbformat."""
    from grader.submissions import checked, read_submission

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    (tmp_path / "ann.ipynb").write_text(nbformat.writes(nb))
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("y = 2")])
    bad.cells[0]["cell_type"] = "spreadsheet"
    (tmp_path / "bob.ipynb").write_text(json.dumps(bad))
    (tmp_path / "cat.ipynb").write_text('{"cells": [')
    ann, bob, cat = collect_folder(tmp_path, "x.ipynb", slim=True).submissions
    assert ann.ok and ann.code == ("x = 1",) and ann.notebook is None
    assert bob.ok and bob.digest  # JSON of a notebook: its schema is not looked at yet
    assert not cat.ok and "is not valid JSON" in (cat.error or "")  # what needs no nbformat is refused at once
    refused = checked(bob, "x.ipynb")
    assert not refused.ok and refused.error == read_submission("bob", tmp_path / "bob.ipynb", "x.ipynb").error
    assert "bob.ipynb: is not a valid notebook:" in (refused.error or "")
    kept = checked(ann, "x.ipynb")
    assert kept.ok and kept.code == ("x = 1",) and kept.notebook is None and kept.digest == ann.digest


def test_the_batch_read_picks_the_assignments_notebook_among_several(tmp_path: Path) -> None:
    (tmp_path / "kim").mkdir()
    (tmp_path / "kim" / STARTER).write_bytes(VALID)
    (tmp_path / "kim" / "scratch.ipynb").write_bytes(VALID)
    (kim,) = collect_folder(tmp_path, STARTER, slim=True).submissions
    assert kim.ok and kim.code == ("x = 1",), kim.error
