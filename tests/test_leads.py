"""A check that fails because a name is missing says where the name should have come
from, once; every other check missing the same name says "see check X"."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import SOLUTIONS, Grader
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.i18n import pick
from grader.leads import RunFacts, explain, rewrite
from grader.pytest_plugin import Outcome
from grader.results import CellIssue


def _nb(*sources: str) -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Training")]
    for i, src in enumerate(sources, start=1):
        cell = new_code_cell(src)
        cell.execution_count = i
        cells.append(cell)
    return new_notebook(cells=cells)


def _failed(name: str, missing: str) -> Outcome:
    return Outcome(
        name, "failed", 0.0, f"Your notebook does not define `{missing}` after it runs.", 0.1, missing=missing
    )


NOTEBOOK = _nb(
    "import numpy as np",
    "model = build()\nhistory_ckpt = model.fit(x, y, epochs=5)",
    "print(history_ckpt.history)",
)
# cell 3 of the notebook (markdown counts) is the fit, and it raised
FIT_RAISED = CellIssue(
    3, "error", "ValueError", "Shapes (None, 10) and (None, 1) are incompatible", 2, "model = build()"
)


def test_the_first_check_names_the_cell_and_the_error_that_stopped_it() -> None:
    message = explain("history_ckpt", RunFacts(NOTEBOOK, [FIT_RAISED]))
    assert "In [2] `model = build()`" in message
    assert "ValueError: Shapes (None, 10) and (None, 1) are incompatible" in message
    assert "before `history_ckpt` was set" in message
    korean = pick(message, "ko")
    assert "In [2] `model = build()`" in korean and "오류로 멈춰" in korean


def test_the_other_checks_refer_to_the_first_instead_of_repeating() -> None:
    outcomes = {
        "test_ckpt_exists": _failed("test_ckpt_exists", "history_ckpt"),
        "test_stopped_early": _failed("test_stopped_early", "history_ckpt"),
        "test_best_epoch": _failed("test_best_epoch", "history_ckpt"),
        "test_model_shape": Outcome("test_model_shape", "passed", 1.0, "", 0.1),
    }
    order = ["test_model_shape", "test_ckpt_exists", "test_stopped_early", "test_best_epoch"]
    rewrite(outcomes, order, RunFacts(NOTEBOOK, [FIT_RAISED]))
    assert "ValueError" in outcomes["test_ckpt_exists"].message
    for later in ("test_stopped_early", "test_best_epoch"):
        assert outcomes[later].message == "`history_ckpt` is not defined: see check test_ckpt_exists."
        assert "test_ckpt_exists" in pick(outcomes[later].message, "ko")
    assert outcomes["test_model_shape"].message == ""
    # messages only: the points stay what the checks gave
    assert [o.fraction for o in outcomes.values()] == [0.0, 0.0, 0.0, 1.0]


def test_each_missing_name_is_explained_once_in_report_order() -> None:
    outcomes = {
        "a": _failed("a", "history_ckpt"),
        "b": _failed("b", "model_bn"),
        "c": _failed("c", "model_bn"),
    }
    rewrite(outcomes, ["c", "b", "a"], RunFacts(NOTEBOOK, [FIT_RAISED]))
    assert "No cell of your notebook assigns `model_bn`" in outcomes["c"].message
    assert outcomes["b"].message == "`model_bn` is not defined: see check c."
    assert "ValueError" in outcomes["a"].message


def test_a_cell_stopped_by_another_missing_name_leads_on_to_that_names_check() -> None:
    notebook = _nb("def extract(x):\n    return x", "scores = extract_features(image)")
    stopped = CellIssue(3, "error", "NameError", "name 'extract_features' is not defined", 2, "scores = extract")
    outcomes = {"a": _failed("a", "extract_features"), "b": _failed("b", "scores")}
    rewrite(outcomes, ["a", "b"], RunFacts(notebook, [stopped]))
    assert outcomes["b"].message.endswith("\n`extract_features` is not defined: see check a.")
    assert "검사 a" in pick(outcomes["b"].message, "ko")


def test_a_misspelt_name_is_suggested_and_the_starter_cell_shown() -> None:
    notebook = _nb("history_chkpt = model.fit(x, y)")
    starter = _nb("# TODO: train with the checkpoint callback\nhistory_ckpt = None")
    message = explain("history_ckpt", RunFacts(notebook, [], starter))
    assert "No cell of your notebook assigns `history_ckpt`" in message
    assert "It does define `history_chkpt`: a different spelling?" in message
    assert "the cell that begins `# TODO: train with the checkpoint callback`" in message


def test_a_cell_that_timed_out_or_never_ran_is_named_for_what_happened() -> None:
    timed_out = CellIssue(3, "timeout", "", "", 2, "model = build()")
    assert "stopped at its time limit" in explain("history_ckpt", RunFacts(NOTEBOOK, [timed_out]))
    not_run = CellIssue(3, "not-run", "", "", None, "model = build()")
    message = explain("history_ckpt", RunFacts(NOTEBOOK, [not_run]))
    assert "In [ ] `model = build()`" in message and "never ran" in message


def test_a_cell_that_ran_cleanly_but_left_no_name_says_what_to_look_for() -> None:
    notebook = _nb("def train():\n    global history_ckpt\n    history_ckpt = 1")
    message = explain("history_ckpt", RunFacts(notebook, []))
    assert "In [1] `def train():`" in message
    assert "ran without an error, yet the name was not set" in message


def test_a_passing_or_partial_check_keeps_its_own_message() -> None:
    partial = Outcome("p", "partial", 0.5, "one part lost", 0.1, missing="history_ckpt")
    outcomes = {"p": partial}
    rewrite(outcomes, ["p"], RunFacts(NOTEBOOK, [FIT_RAISED]))
    assert outcomes["p"].message == "one part lost"


@pytest.mark.slow
def test_a_graded_notebook_whose_function_cell_raised_leads_to_that_cell(grade: Grader, tmp_path: Path) -> None:
    """End to end: the cnn_filters solution with its `extract_features` cell broken."""
    notebook = nbformat.read(str(SOLUTIONS / "cnn_filters" / "cnn_filters.ipynb"), as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "def extract_features" in c.source)
    cell.source = 'raise RuntimeError("not finished yet")\n' + cell.source
    path = tmp_path / "park.ipynb"
    nbformat.write(notebook, str(path))
    result = grade("cnn_filters", {"park.ipynb": path})["park"]
    missing = [
        c
        for c in result.checks
        if "does not define `extract_features`" in c.message or c.message.startswith("`extract_features` is not")
    ]
    assert len(missing) >= 3, [c.message for c in result.checks]
    first, *rest = missing
    assert "RuntimeError: not finished yet" in first.message and "`raise RuntimeError(" in first.message
    for check in rest:
        assert check.message == f"`extract_features` is not defined: see check {first.name}."
