"""Broken and malformed submissions: each one becomes one clear line, never a crash.

The fast tests call `grader.submissions` directly (no kernel); the slow one grades a
batch of broken submissions beside a valid notebook and checks that every reason reaches
the gradebook, the CSV and the student's HTML page, while the valid one is graded.
"""

from __future__ import annotations

import csv
import html
import json
import os
import stat
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.report import report_file_names
from grader.submissions import (
    MAX_CELLS,
    MAX_FOLDER_FILES,
    MAX_NOTEBOOK_BYTES,
    MAX_ZIP_ENTRIES,
    Submission,
    collect,
    read_submission,
)

STARTER = "conv2d_simple.ipynb"
REPO = Path(__file__).resolve().parent.parent
CNN_SOLUTION = REPO / "solutions" / "cnn_filters" / "cnn_filters.ipynb"


def notebook_bytes(*sources: str, minor: int = 5) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = minor
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (sources or ("x = 1",))]
    return nbformat.writes(nb).encode("utf-8")


VALID = notebook_bytes("import numpy as np\nx = np.zeros(3)")


def read(path: Path, student: str | None = None) -> Submission:
    return read_submission(student or path.name.split(".")[0], path, STARTER)


def reason(path: Path) -> str:
    """The one-line reason a submission is refused (fails the test if it is accepted)."""
    sub = read(path)
    assert not sub.ok, f"{path.name} was accepted; it should have been refused"
    assert sub.error is not None and "\n" not in sub.error and "\r" not in sub.error, repr(sub.error)
    assert sub.error.startswith(path.name + ": "), f"the reason should name the file: {sub.error!r}"
    assert sub.notebook is None
    return sub.error


def write_zip(path: Path, entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


# ------------------------------------------------------------------ not a notebook at all


def test_not_json(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_text("print('hello')  # a Python script saved as .ipynb\n")
    assert "is not valid JSON (Expecting value at line 1)" in reason(p)


def test_truncated_notebook(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(VALID[: len(VALID) // 2])  # an upload cut off half way
    text = reason(p)
    assert "is not valid JSON" in text and "the file may be truncated" in text


@pytest.mark.parametrize("payload", [b'{"hello": "world"}', b"[1, 2, 3]", b'"just a string"', b"42"])
def test_json_that_is_not_a_notebook(tmp_path: Path, payload: bytes) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(payload)
    assert reason(p) == "alice.ipynb: is JSON but not a Jupyter notebook (no 'cells')"


def test_old_nbformat_v2(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    v2 = {"metadata": {"name": "old"}, "nbformat": 2, "worksheets": [{"cells": [{"cell_type": "code", "input": "1"}]}]}
    p.write_text(json.dumps(v2))
    assert reason(p) == "alice.ipynb: has nbformat 2; only notebooks of format 3 or 4 can be graded"


def test_nbformat_v3_is_upgraded(tmp_path: Path) -> None:
    v3 = {
        "metadata": {"name": ""},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [{"cell_type": "code", "input": "y = 2", "language": "python", "outputs": [], "metadata": {}}],
                "metadata": {},
            }
        ],
    }
    p = tmp_path / "alice.ipynb"
    p.write_text(json.dumps(v3))
    sub = read(p)
    assert sub.ok, sub.error
    assert sub.notebook is not None and sub.notebook.nbformat == 4
    assert [c.source for c in sub.notebook.cells] == ["y = 2"]


def test_future_nbformat(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_text(json.dumps({"nbformat": 9, "nbformat_minor": 0, "metadata": {}, "cells": []}))
    assert "alice.ipynb: is not a valid notebook:" in reason(p)


def test_schema_violation(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    raw = json.loads(VALID)
    raw["cells"][0]["cell_type"] = "spreadsheet"
    p.write_text(json.dumps(raw))
    assert "alice.ipynb: is not a valid notebook:" in reason(p)


@pytest.mark.parametrize("payload", [b"", b"   \n\t\n"])
def test_empty_file(tmp_path: Path, payload: bytes) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(payload)
    assert reason(p) == "alice.ipynb: is empty"


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)  # a screenshot renamed
    assert reason(p) == "alice.ipynb: is not UTF-8 text (byte 0); save the notebook from Jupyter again"


def test_non_utf8_notebook(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    text = VALID.decode().replace("x = np.zeros(3)", "x = 'café 한글'")
    p.write_bytes(text.encode("cp949", errors="replace"))  # a Korean Windows editor's encoding
    text = reason(p)
    assert text.startswith("alice.ipynb: is not UTF-8 text (byte ") and "save the notebook from Jupyter again" in text


def test_utf16_notebook(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(VALID.decode().encode("utf-16"))
    assert "is not UTF-8 text" in reason(p)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(b"\xef\xbb\xbf" + VALID)  # Notepad's UTF-8 adds a BOM; Jupyter reads it fine
    sub = read(p)
    assert sub.ok, sub.error


def test_deeply_nested_json(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    assert "is not valid JSON" in reason(p)


def test_huge_notebook(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    with open(p, "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1024 * 1024)  # sparse: costs no disk
    assert reason(p) == "alice.ipynb: notebook is 21 MB; the limit is 20 MB"


def test_thousands_of_cells(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    p.write_bytes(notebook_bytes(*[f"x{i} = {i}" for i in range(MAX_CELLS + 1)]))
    assert reason(p) == f"alice.ipynb: has {MAX_CELLS + 1} cells; the limit is {MAX_CELLS}"
    ok = tmp_path / "bob.ipynb"
    ok.write_bytes(notebook_bytes(*[f"x{i} = {i}" for i in range(MAX_CELLS)]))
    assert read(ok).ok


def test_cells_without_ids_do_not_depend_on_warning_filters(tmp_path: Path) -> None:
    # nbformat 4.5 requires cell ids and only *warns* when they are missing; pytest here
    # turns warnings into errors, and the verdict must not change with that.
    raw = json.loads(VALID)
    for cell in raw["cells"]:
        del cell["id"]
    p = tmp_path / "alice.ipynb"
    p.write_text(json.dumps(raw))
    sub = read(p)
    assert sub.ok, sub.error


def test_wrong_extension(tmp_path: Path) -> None:
    p = tmp_path / "alice.pdf"
    p.write_bytes(b"%PDF-1.4")
    assert read(p, "alice.pdf").error == "alice.pdf: is not a notebook: submit <id>.ipynb, a folder <id>/ or <id>.zip"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"
    os.mkfifo(p)  # opening it for reading would block forever
    assert reason(p) == "alice.ipynb: is not a regular file"


def test_vanished_file_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "alice.ipynb"  # collected, then deleted before the worker read it
    assert reason(p) == "alice.ipynb: cannot be read (No such file or directory)"


def test_file_name_with_newline_gives_one_line(tmp_path: Path) -> None:
    p = tmp_path / "alice\nINJECTED.ipynb"
    p.write_text("not json")
    sub = read(p, "alice")
    assert sub.error is not None and "\n" not in sub.error
    assert sub.error.startswith("alice INJECTED.ipynb: is not valid JSON")


# ------------------------------------------------------------------ names and duplicates


def test_korean_file_name(tmp_path: Path) -> None:
    (tmp_path / "홍길동.ipynb").write_bytes(VALID)
    (subs,) = collect(tmp_path, STARTER)
    assert subs.student == "홍길동" and subs.ok


def test_decomposed_korean_name_is_normalised(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "김철수")  # how macOS names files
    assert nfd != "김철수"
    (tmp_path / f"{nfd}.ipynb").write_bytes(VALID)
    (sub,) = collect(tmp_path, STARTER)
    assert sub.student == "김철수" and sub.ok


def test_same_korean_name_in_two_normal_forms_is_two_submissions(tmp_path: Path) -> None:
    (tmp_path / "김철수.ipynb").write_bytes(VALID)
    (tmp_path / f"{unicodedata.normalize('NFD', '김철수')}.zip").write_bytes(b"")
    (sub,) = collect(tmp_path, STARTER)
    assert sub.student == "김철수"
    assert sub.error is not None and sub.error.startswith("two submissions for one student: ")
    assert sub.error.endswith("; keep one")


def test_two_submissions_for_one_student(tmp_path: Path) -> None:
    (tmp_path / "alice.ipynb").write_bytes(VALID)
    write_zip(tmp_path / "alice.zip", {STARTER: VALID})
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / STARTER).write_bytes(VALID)
    (tmp_path / "bob.ipynb").write_bytes(VALID)
    subs = {s.student: s for s in collect(tmp_path, STARTER)}
    assert subs["alice"].error == "two submissions for one student: alice.ipynb, alice.zip; keep one"
    assert subs["bob"].error == "two submissions for one student: bob, bob.ipynb; keep one"


def test_collect_skips_hidden_entries_and_sorts(tmp_path: Path) -> None:
    for name in ("carol.ipynb", "alice.ipynb", "bob.ipynb"):
        (tmp_path / name).write_bytes(VALID)
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    assert [s.student for s in collect(tmp_path, STARTER)] == ["alice", "bob", "carol"]


# ------------------------------------------------------------------ folders


def test_folder_with_several_notebooks(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / "draft.ipynb").write_bytes(VALID)
    (d / "final.ipynb").write_bytes(VALID)
    assert reason(d) == (
        "alice: holds several notebooks (draft.ipynb, final.ipynb) and none is uniquely named conv2d_simple.ipynb"
    )


def test_folder_with_several_notebooks_picks_the_starter_name(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    (d / "scratch").mkdir(parents=True)
    (d / "scratch" / "draft.ipynb").write_bytes(notebook_bytes("draft = 1"))
    (d / STARTER).write_bytes(notebook_bytes("final = 1"))
    (d / ".ipynb_checkpoints").mkdir()
    (d / ".ipynb_checkpoints" / "conv2d_simple-checkpoint.ipynb").write_bytes(VALID)
    sub = read(d, "alice")
    assert sub.ok, sub.error
    assert sub.notebook is not None and sub.notebook.cells[0].source == "final = 1"
    assert set(sub.files) == {"scratch/draft.ipynb"}  # hidden folders are not submitted


def test_folder_without_notebook(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / "notes.txt").write_text("forgot the notebook")
    assert reason(d) == "alice: holds no .ipynb notebook"


def test_symlink_in_folder(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / STARTER).write_bytes(VALID)
    (d / "data.npz").symlink_to("/etc/shadow")  # would let the kernel read a host file
    assert reason(d) == "alice: contains a symbolic link (data.npz); submit plain files"


def test_symlink_to_root_in_folder_is_not_walked(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / STARTER).write_bytes(VALID)
    (d / "everything").symlink_to("/")
    assert reason(d) == "alice: contains a symbolic link (everything); submit plain files"


def test_symlink_as_the_submission(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_bytes(VALID)
    p = tmp_path / "alice.ipynb"
    p.symlink_to(target)
    assert reason(p) == "alice.ipynb: is a symbolic link; submit the file itself"


def test_folder_with_too_many_files(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / STARTER).write_bytes(VALID)
    for i in range(MAX_FOLDER_FILES + 1):
        (d / f"f{i:04d}.txt").write_bytes(b"x")
    assert reason(d) == f"alice: holds more than {MAX_FOLDER_FILES} files"


def test_folder_with_one_name_in_two_normal_forms(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / STARTER).write_bytes(VALID)
    (d / "데이터.csv").write_bytes(b"1")
    (d / unicodedata.normalize("NFD", "데이터.csv")).write_bytes(b"2")
    assert reason(d) == "alice: holds two files named 데이터.csv"


def test_folder_with_too_much_data(tmp_path: Path) -> None:
    d = tmp_path / "alice"
    d.mkdir()
    (d / STARTER).write_bytes(VALID)
    with open(d / "weights.bin", "wb") as f:
        f.truncate(51 * 1024 * 1024)
    assert reason(d) == "alice: holds more than 50 MB of files"


# ------------------------------------------------------------------ zips


def test_zip_with_the_notebook_in_a_folder(tmp_path: Path) -> None:
    p = write_zip(
        tmp_path / "alice.zip",
        {f"alice/{STARTER}": VALID, "__MACOSX/alice/._conv2d_simple.ipynb": b"\0\5\26\7", "alice/data.csv": b"1,2\n"},
    )
    sub = read(p)
    assert sub.ok, sub.error
    assert set(sub.files) == {"alice/data.csv"}


def test_corrupt_zip(tmp_path: Path) -> None:
    p = tmp_path / "alice.zip"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert reason(p).startswith("alice.zip: is not a readable zip file (")


def test_truncated_zip(tmp_path: Path) -> None:
    p = write_zip(tmp_path / "alice.zip", {STARTER: VALID, "more.txt": b"y" * 5000})
    p.write_bytes(p.read_bytes()[:-40])  # the central directory is cut
    assert reason(p).startswith("alice.zip: is not a readable zip file (")


@pytest.mark.parametrize(
    "evil", ["../../../../tmp/evil.py", "/etc/cron.d/evil", "..\\..\\evil.py", "C:/evil.py", "a/../../evil.py"]
)
def test_zip_path_traversal(tmp_path: Path, evil: str) -> None:
    p = tmp_path / "alice.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(STARTER, VALID)
        info = zipfile.ZipInfo(STARTER)
        info.filename = evil  # ZipInfo() itself would clean the name; a hostile zip is not clean
        zf.writestr(info, b"import os")
    assert reason(p) == f"alice.zip: zip entry {evil!r} points outside the submission (path traversal)"
    assert not Path("/tmp/evil.py").exists()


def test_symlink_in_zip(tmp_path: Path) -> None:
    p = tmp_path / "alice.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(STARTER, VALID)
        link = zipfile.ZipInfo("hidden_tests")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        link.create_system = 3
        zf.writestr(link, "/work/main/assignments")
    assert reason(p) == "alice.zip: zip entry 'hidden_tests' is a symbolic link"


def test_zip_bomb_ratio(tmp_path: Path) -> None:
    p = write_zip(tmp_path / "alice.zip", {STARTER: VALID, "bomb.bin": bytes(20 * 1024 * 1024)})
    assert reason(p) == "alice.zip: zip entry 'bomb.bin' has a compression ratio over 100 (zip bomb?)"


def test_zip_bomb_total_size(tmp_path: Path) -> None:
    noise = {f"part{i}.bin": os.urandom(26 * 1024 * 1024) for i in range(2)}  # incompressible
    p = write_zip(tmp_path / "alice.zip", {STARTER: VALID, **noise}, compression=zipfile.ZIP_STORED)
    assert reason(p) == "alice.zip: zip unpacks to more than 50 MB"


def test_zip_bomb_with_a_lying_header(tmp_path: Path) -> None:
    # The header claims 1 KB; the data inflates to 10 MB. Reading stops at the claimed size,
    # and the CRC of what was read refuses the entry.
    p = write_zip(tmp_path / "alice.zip", {STARTER: VALID, "bomb.bin": bytes(10 * 1024 * 1024)})
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("bomb.bin")
    real = info.file_size.to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    count = data.count(real)
    assert count >= 2  # local header and central directory
    data = data.replace(real, fake)
    p.write_bytes(bytes(data))
    assert reason(p) == "alice.zip: zip entry 'bomb.bin' cannot be read (Bad CRC-32 for file 'bomb.bin')"


def test_zip_with_too_many_entries(tmp_path: Path) -> None:
    p = write_zip(tmp_path / "alice.zip", {STARTER: VALID, **{f"f{i}.txt": b"x" for i in range(MAX_ZIP_ENTRIES)}})
    assert reason(p) == f"alice.zip: zip holds {MAX_ZIP_ENTRIES + 1} entries; the limit is {MAX_ZIP_ENTRIES}"


def test_zip_with_two_entries_of_one_name(tmp_path: Path) -> None:
    p = tmp_path / "alice.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(STARTER, notebook_bytes("honest = 1"))
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr(STARTER, notebook_bytes("other = 1"))
    assert reason(p) == f"alice.zip: zip holds two entries named {STARTER!r}"


def test_zip_with_several_notebooks(tmp_path: Path) -> None:
    p = write_zip(tmp_path / "alice.zip", {"a.ipynb": VALID, "b.ipynb": VALID})
    assert (
        reason(p)
        == "alice.zip: holds several notebooks (a.ipynb, b.ipynb) and none is uniquely named conv2d_simple.ipynb"
    )


def test_encrypted_zip(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("zip") is None:
        pytest.skip("the zip tool is not installed")
    src = tmp_path / "src"
    src.mkdir()
    (src / STARTER).write_bytes(VALID)
    subprocess.run(["zip", "-q", "-P", "secret", str(tmp_path / "alice.zip"), STARTER], cwd=src, check=True)
    text = reason(tmp_path / "alice.zip")
    assert text.startswith(f"alice.zip: zip entry '{STARTER}' cannot be read (") and "encrypted" in text


def test_digest_follows_content(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{n}.ipynb" for n in "abc")
    a.write_bytes(VALID)
    b.write_bytes(VALID)
    c.write_bytes(notebook_bytes("x = 2"))
    da, db, dc = (read(p).digest for p in (a, b, c))
    assert da == db != dc and len(da) == 16


def test_one_bad_submission_never_stops_collect(tmp_path: Path) -> None:
    (tmp_path / "good.ipynb").write_bytes(VALID)
    (tmp_path / "empty.ipynb").write_bytes(b"")
    (tmp_path / "bomb.zip").write_bytes(b"PK garbage")
    os.mkfifo(tmp_path / "pipe.ipynb")
    (tmp_path / "link.ipynb").symlink_to("/etc/passwd")
    subs = {s.student: s for s in collect(tmp_path, STARTER)}
    assert sorted(subs) == ["bomb", "empty", "good", "link", "pipe"]
    assert subs["good"].ok
    assert all(not subs[s].ok for s in ("bomb", "empty", "link", "pipe"))


# ------------------------------------------------------------------ end to end


def _malformed_batch(folder: Path) -> dict[str, str]:
    """Write broken submissions into `folder`; return {student: a phrase its reason holds}."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}

    (folder / "notjson.ipynb").write_text("print('hi')")
    expect["notjson"] = "notjson.ipynb: is not valid JSON (Expecting value at line 1)"
    (folder / "truncated.ipynb").write_bytes(VALID[:100])
    expect["truncated"] = "the file may be truncated"
    (folder / "empty.ipynb").write_bytes(b"")
    expect["empty"] = "empty.ipynb: is empty"
    (folder / "old.ipynb").write_text(json.dumps({"nbformat": 2, "metadata": {}, "worksheets": []}))
    expect["old"] = "old.ipynb: has nbformat 2; only notebooks of format 3 or 4 can be graded"
    (folder / "binary.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    expect["binary"] = "binary.ipynb: is not UTF-8 text (byte 0)"
    with open(folder / "huge.ipynb", "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1024 * 1024)
    expect["huge"] = "huge.ipynb: notebook is 21 MB; the limit is 20 MB"
    (folder / "cells.ipynb").write_bytes(notebook_bytes(*["x = 1"] * (MAX_CELLS + 1)))
    expect["cells"] = f"cells.ipynb: has {MAX_CELLS + 1} cells; the limit is {MAX_CELLS}"
    (folder / "한글이름.ipynb").write_bytes(b"\xff\xfe not utf-8")
    expect["한글이름"] = "한글이름.ipynb: is not UTF-8 text (byte 0)"
    with zipfile.ZipFile(folder / "traversal.zip", "w") as zf:
        zf.writestr("cnn_filters.ipynb", VALID)
        info = zipfile.ZipInfo("x")
        info.filename = "../../escape.py"
        zf.writestr(info, b"boom")
    expect["traversal"] = "traversal.zip: zip entry '../../escape.py' points outside the submission (path traversal)"
    write_zip(folder / "bomb.zip", {"cnn_filters.ipynb": VALID, "bomb.bin": bytes(20 * 1024 * 1024)})
    expect["bomb"] = "bomb.zip: zip entry 'bomb.bin' has a compression ratio over 100 (zip bomb?)"
    (folder / "twice.ipynb").write_bytes(VALID)
    write_zip(folder / "twice.zip", {"cnn_filters.ipynb": VALID})
    expect["twice"] = "two submissions for one student: twice.ipynb, twice.zip; keep one"
    (folder / "several").mkdir()
    (folder / "several" / "a.ipynb").write_bytes(VALID)
    (folder / "several" / "b.ipynb").write_bytes(VALID)
    expect["several"] = (
        "several: holds several notebooks (a.ipynb, b.ipynb) and none is uniquely named cnn_filters.ipynb"
    )
    (folder / "linked").mkdir()
    (folder / "linked" / "cnn_filters.ipynb").write_bytes(VALID)
    (folder / "linked" / "tests").symlink_to(REPO / "assignments")
    expect["linked"] = "linked: contains a symbolic link (tests); submit plain files"
    return expect


@pytest.mark.slow
def test_malformed_batch_reaches_gradebook_csv_and_reports(grade, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "subs"
    expect = _malformed_batch(folder)
    (folder / "valid.ipynb").write_bytes(CNN_SOLUTION.read_bytes())

    results = grade("cnn_filters", folder, "--workers", "2", "--lang", "en")  # English pages: read below

    assert set(results) == set(expect) | {"valid"}
    valid = results["valid"]
    assert valid.error is None and valid.max_score > 0 and valid.score == valid.max_score, (
        valid.error,
        [(c.name, c.status, c.message) for c in valid.checks if c.status != "passed"],
    )
    for student, phrase in expect.items():
        r = results[student]
        assert r.score == 0 and r.error is not None, student
        assert phrase in r.error, (student, r.error)
        assert "\n" not in r.error

    out = grade.reports / "cnn_filters"
    with open(out / "scores.csv", encoding="utf-8-sig", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["valid"]["status"] == "graded" and rows["valid"]["error"] == ""
    assert float(rows["valid"]["total"]) == valid.max_score
    names = report_file_names(results)
    for student, phrase in expect.items():
        assert rows[student]["status"] == "error" and phrase in rows[student]["error"], rows[student]
        page = (out / names[student]).read_text(encoding="utf-8")
        assert phrase in html.unescape(page), student
    valid_page = html.unescape((out / names["valid"]).read_text(encoding="utf-8"))
    assert "could not be graded" not in valid_page.lower()
