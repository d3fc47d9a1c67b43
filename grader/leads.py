"""Messages that lead somewhere when a name the checks need is missing.

A notebook whose `history_ckpt` cell raised fails every check that reads
`history_ckpt`; eight copies of "Your notebook does not define `history_ckpt`" tell the
student nothing they can act on. So the first check (in report order) that misses a
name says where the name should have come from: the cell that assigns it and the error
that stopped that cell, or, when no cell assigns it, a near spelling the notebook does
define and the starter's cell that holds it. Every later check that misses the same
name says only "see check X". Points are untouched: this rewrites messages, nothing
else.

The cell facts come from the notebook's own source (parsed on the trusted side, under
grader.source's caps) and from the grader's record of how each cell ran; nothing here
asks the kernel.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nbformat

from . import source
from .i18n import Msg, msg, pick
from .results import CellIssue, cell_ref, first_line

_NAME_ERROR = re.compile(r"stopped with NameError: name '(\w+)' is not defined")
MAX_EVALUE = 200  # characters of the stopping error quoted in a message


@dataclass(frozen=True)
class RunFacts:
    """What the grader knows of a notebook's run, for pointing at cells."""

    notebook: nbformat.NotebookNode  # as executed (execution counts set)
    issues: Sequence[CellIssue]  # cells that raised, timed out or did not run
    starter: nbformat.NotebookNode | None = None  # the assignment's starter notebook


def rewrite(outcomes: dict[str, Any], order: Iterable[str], facts: RunFacts) -> None:
    """Point the first check missing each name at its cell; refer the rest to it.
    `outcomes` maps a check's name to its grader.pytest_plugin.Outcome (mutated)."""
    first: dict[str, str] = {}
    for check in order:
        outcome = outcomes.get(check)
        if outcome is not None:
            lead(check, outcome, facts, first)
    # A cell stopped by a NameError for another missing name: lead on to that name's check
    # (on a line of its own: the first line is what the student's own pytest shows too).
    for name, check in first.items():
        outcome = outcomes[check]
        found = _NAME_ERROR.search(str(outcome.message))
        root = found.group(1) if found else None
        if root and root != name and root in first:
            extra = see_check(root, first[root])
            outcome.message = msg(f"{outcome.message}\n{extra}", f"{pick(outcome.message, 'ko')}\n{extra.ko}")


def lead(check: str, outcome: Any, facts: RunFacts, first: dict[str, str]) -> None:
    """One check's outcome, in report order: explained if it is the first to miss its
    name (recorded in `first`), referred to that check if not. The student's own pytest
    calls this as each check finishes (grader.pytest_plugin), the grader via `rewrite`."""
    name = getattr(outcome, "missing", None)
    if not name or outcome.status != "failed":
        return
    if name in first:
        outcome.message = see_check(name, first[name])
    else:
        first[name] = check
        outcome.message = explain(name, facts)


def see_check(name: str, check: str) -> Msg:
    return msg(
        f"`{name}` is not defined: see check {check}.",
        f"`{name}`이(가) 정의되어 있지 않습니다: 검사 {check}을(를) 보세요.",
    )


def explain(name: str, facts: RunFacts) -> Msg:
    """Why `name` is missing, as far as the source and the run tell."""
    head_en = f"Your notebook does not define `{name}` after it runs."
    head_ko = f"노트북을 끝까지 실행한 뒤에도 `{name}`이(가) 정의되어 있지 않습니다."
    statements = source.statements(facts.notebook)
    cells = sorted({s.cell for s in statements if name in s.bound})
    if cells:
        en, ko = _defined_but_unset(name, cells, facts)
    else:
        en, ko = _never_assigned(name, {n for s in statements for n in s.bound}, facts)
    return msg(f"{head_en} {en}", f"{head_ko} {ko}")


def _label(nb: nbformat.NotebookNode, cell: int) -> str:
    node = nb.cells[cell - 1]
    count = node.get("execution_count")
    return cell_ref(count if isinstance(count, int) else None, first_line(str(node.get("source", ""))))


def _defined_but_unset(name: str, cells: list[int], facts: RunFacts) -> tuple[str, str]:
    issues = {i.cell: i for i in facts.issues}
    stopped = [c for c in cells if c in issues]
    if not stopped:
        where = _label(facts.notebook, cells[-1])
        return (
            f"It is assigned in {where}, which ran without an error, yet the name was not set when the "
            "notebook finished: is the assignment inside a function or an `if` that did not run, or "
            "undone by a later `del`?",
            f"{where} 셀에서 할당하고 그 셀은 오류 없이 실행되었지만, 노트북이 끝났을 때 이 이름이 "
            "없었습니다. 할당이 실행되지 않은 함수나 `if` 안에 있거나, 뒤에서 `del`로 지워지지 않았는지 확인하세요.",
        )
    issue = issues[stopped[0]]
    where = issue.label
    if issue.status == "error":
        error = f"{issue.ename}: {issue.evalue}".strip().rstrip(":")
        if len(error) > MAX_EVALUE:
            error = error[: MAX_EVALUE - 1] + "…"
        return (
            f"It is assigned in {where}, which stopped with {error} before `{name}` was set; "
            "fix that cell and run the notebook again from the top.",
            f"{where} 셀에서 할당하는데, 이 셀이 {error} 오류로 멈춰 `{name}`이(가) 설정되지 "
            "않았습니다. 그 셀을 고친 뒤 노트북을 처음부터 다시 실행하세요.",
        )
    if issue.status == "timeout":
        return (
            f"It is assigned in {where}, which was stopped at its time limit before `{name}` was set.",
            f"{where} 셀에서 할당하는데, 이 셀이 시간 제한에 걸려 중단되어 `{name}`이(가) 설정되지 않았습니다.",
        )
    return (
        f"It is assigned in {where}, which never ran: the notebook's run stopped before it "
        "(see the cells listed above).",
        f"{where} 셀에서 할당하는데, 노트북 실행이 그 전에 멈춰 이 셀은 실행되지 않았습니다(위의 셀 목록을 보세요).",
    )


def _never_assigned(name: str, bound: set[str], facts: RunFacts) -> tuple[str, str]:
    en = [f"No cell of your notebook assigns `{name}`."]
    ko = [f"노트북의 어떤 셀도 `{name}`을(를) 할당하지 않습니다."]
    near = difflib.get_close_matches(name, sorted(bound), n=1, cutoff=0.8)
    if near:
        en.append(f"It does define `{near[0]}`: a different spelling?")
        ko.append(f"대신 `{near[0]}`이(가) 정의되어 있습니다. 철자가 다른 것은 아닌가요?")
    unread = source.unread_cells(facts.notebook)
    if unread:
        en.append(f"(The grader could not read cell {unread[0].cell}: {unread[0].reason}.)")
        ko.append(f"(채점기가 {unread[0].cell}번 셀을 읽지 못했습니다: {unread[0].reason}.)")
    starter_line = _starter_cell(name, facts.starter)
    if starter_line:  # a line of its own: a student's bundle has no starter to point at
        en.append(f"\nThe starter notebook sets it in the cell that begins `{starter_line}`.")
        ko.append(f"\n스타터 노트북에서는 `{starter_line}`(으)로 시작하는 셀에서 설정합니다.")
    return " ".join(en).replace(" \n", "\n"), " ".join(ko).replace(" \n", "\n")


def _starter_cell(name: str, starter: nbformat.NotebookNode | None) -> str:
    """The first line of the starter's cell that assigns `name`, or "" when none does."""
    if starter is None:
        return ""
    for statement in source.statements(starter):
        if name in statement.bound:
            node = starter.cells[statement.cell - 1]
            return first_line(str(node.get("source", "")))
    return ""
