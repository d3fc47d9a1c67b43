"""Colab habits grade fairly (issue 9): a notebook written on Colab, with its metadata,
`%tensorflow_version 2.x`, `!pip install`, a Google Drive cell and checkpoints saved
under Colab's working folder /content, scores what the same work scores without them.

The slow test grades the callbacks reference solution and its Colab-style twin in one
batch. The fast tests check the kernel half's Colab stand-ins on the host.
"""

from __future__ import annotations

import copy
import json
import sys

import nbformat
import pytest
from conftest import SOLUTIONS, Grader

from grader.kernel import colab, recorder

DRIVE = "Google Drive is not available while grading; save with relative paths"


def colab_notebook() -> bytes:
    nb = nbformat.read(SOLUTIONS / "callbacks" / "callbacks.ipynb", as_version=4)
    nb = copy.deepcopy(nb)
    nb.metadata = nbformat.from_dict({
        "colab": {"name": "callbacks.ipynb", "provenance": [], "collapsed_sections": []},
        "accelerator": "GPU",
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    })
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace("'checkpoint_1.keras'", "'/content/checkpoint_1.keras'")
            cell.source = cell.source.replace("'checkpoint_2.keras'", "'/content/checkpoint_2.keras'")
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[first].source = "%tensorflow_version 2.x\n" + nb.cells[first].source
    nb.cells.insert(first, nbformat.v4.new_code_cell("!pip install pandas\n!nvidia-smi"))
    nb.cells.insert(first, nbformat.v4.new_code_cell("from google.colab import drive\ndrive.mount('/content/drive')"))
    assert "/content/checkpoint_1.keras" in json.dumps(nb)
    return nbformat.writes(nb).encode()


@pytest.mark.slow
def test_a_colab_notebook_scores_what_the_same_work_scores(grade: Grader) -> None:
    results = grade(
        "callbacks",
        {"solution.ipynb": SOLUTIONS / "callbacks" / "callbacks.ipynb", "colab.ipynb": colab_notebook()},
        "--workers", "2",
    )
    plain, on_colab = results["solution"], results["colab"]
    assert plain.error is None and on_colab.error is None, (plain.error, on_colab.error)
    assert on_colab.score == plain.score, [
        (c.name, c.status, c.message) for c in on_colab.checks if c.status != "passed"
    ]
    assert {c.name: c.status for c in on_colab.checks} == {c.name: c.status for c in plain.checks}
    # the Drive cell fails with one clear line, in that cell; nothing else fails
    assert [(i.ename, i.evalue) for i in on_colab.cell_issues] == [("ColabUnavailableError", DRIVE)]
    report = (grade.reports / "callbacks" / "colab.html").read_text()  # type: ignore[attr-defined]
    assert DRIVE in report


# ------------------------------------------------------------------ the stand-ins, on the host
@pytest.fixture
def stand_ins() -> object:
    recorder.reset()
    finder = colab.ColabFinder()
    saved = {k: v for k, v in sys.modules.items() if k == "google" or k.startswith("google.")}
    for name in list(saved):
        if name in colab.SERVED:
            del sys.modules[name]
    sys.meta_path.append(finder)
    yield finder
    sys.meta_path.remove(finder)
    for name in colab.SERVED:
        sys.modules.pop(name, None)
    sys.modules.update(saved)
    recorder.reset()


def test_google_colab_imports_and_drive_refuses_in_one_line(stand_ins: object) -> None:
    from google.colab import drive, files  # type: ignore[import-not-found]

    with pytest.raises(colab.ColabUnavailableError, match="^" + DRIVE + "$"):
        drive.mount("/content/drive")
    with pytest.raises(colab.ColabUnavailableError, match="not available while grading"):
        files.upload()
    with pytest.raises(colab.ColabUnavailableError, match="not available while grading"):
        files.download("x.csv")
    assert [e["action"] for e in recorder.TRACE] == ["drive.mount refused", "files.upload refused",
                                                     "files.download refused"]
    import google.colab  # type: ignore[import-not-found]

    assert google.colab.drive is drive


def test_tensorflow_version_is_a_noted_no_op() -> None:
    recorder.reset()
    colab.tensorflow_version(" 2.x ")
    assert [(e["event"], e["action"], e["argument"]) for e in recorder.TRACE] == [
        ("colab", "tensorflow_version ignored", "2.x")
    ]
    recorder.reset()


def test_a_usage_error_without_error_output_is_a_cell_error() -> None:
    """IPython's UsageError (an unknown magic) prints to stderr and skips the rest of the
    cell; its execute_reply says "error" but no error output arrives."""
    import asyncio

    from grader.execute import _CappedClient

    client = _CappedClient(nbformat.v4.new_notebook(), allow_errors=True)
    cell = nbformat.v4.new_code_cell("%foo\nx = 1")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="UsageError: Line magic function `%foo`")]
    reply = {"content": {"status": "error", "ename": "UsageError", "evalue": "Line magic function `%foo` not found."}}
    asyncio.run(client._check_raise_for_error(cell, 0, reply))
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert [(e.ename, e.evalue) for e in errors] == [("UsageError", "Line magic function `%foo` not found.")]
    asyncio.run(client._check_raise_for_error(cell, 0, reply))  # an error output already there: kept as is
    asyncio.run(client._check_raise_for_error(cell, 0, {"content": {"status": "ok"}}))
    assert len([o for o in cell.outputs if o.output_type == "error"]) == 1


def test_the_sandbox_has_colabs_folder_and_an_offline_pip() -> None:
    from pathlib import Path

    from grader import sandbox
    from grader.spec import Limits

    plan = sandbox.SandboxPlan(conn_dir=Path("/tmp/c"), data_dir=None, files={}, limits=Limits(), env={},
                               cgroup=None)
    argv = sandbox.wrap(plan, ["python"])
    links = {(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--symlink"}
    assert (sandbox.HOME, "/content") in links
    pairs = {(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--setenv"}
    assert {("PIP_NO_INDEX", "1"), ("PIP_DISABLE_PIP_VERSION_CHECK", "1")} <= pairs
