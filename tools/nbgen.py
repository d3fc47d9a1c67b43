"""Helpers shared by the notebook generators in tools/: cells with stable ids, notebooks
that validate, and edits that fail loudly when the text they edit has changed."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
from nbformat import v4

REPO = Path(__file__).resolve().parent.parent


def md(cell_id: str, *texts: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    """A markdown cell of `texts`, each dedented on its own, separated by blank lines."""
    cell = v4.new_markdown_cell("\n\n".join(textwrap.dedent(t).strip("\n") for t in texts))
    cell.id = cell_id
    if tags:
        cell.metadata["tags"] = tags
    return cell


def code(cell_id: str, text: str) -> nbformat.NotebookNode:
    cell = v4.new_code_cell(textwrap.dedent(text).strip("\n"))
    cell.id = cell_id
    return cell


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.from_dict(dict(c)) for c in cells]
    nbformat.validate(nb)
    return nb


# How a starter asks for a free-text answer (grader/answers.py reads all three marks).
ANSWER_HOW = """
    아래 **답 / Answer** 셀의 처음 두 줄 아래에 답을 쓰시오. 그 두 줄은 지우지 마세요: 채점기가 답을 찾는
    표시입니다 (Colab 에서도 그대로 둘 수 있습니다). Write your answer in the **Answer** cell below, under its
    first two lines; keep those two lines, they tell the grader where your answer is (Colab keeps them too).
    """
_MARK = re.compile(r"^(<!-- answer:[\w.-]+ -->|\*\*.*\(answer:[\w.-]+\)\*\*)$")


def answer_cell(cell_id: str, answer_id: str) -> nbformat.NotebookNode:
    """A starter's answer cell, ready to fill: tagged answer:<id> for Jupyter, plus a marker
    line and a visible label that a Colab user (who cannot edit tags) keeps."""
    text = f"<!-- answer:{answer_id} -->\n**답 / Answer (answer:{answer_id})**"
    return md(cell_id, text, tags=[f"answer:{answer_id}"])


def replace(cells: list[nbformat.NotebookNode], **sources: str) -> list[nbformat.NotebookNode]:
    """Copy of `cells` with the source of the cells named by id (dashes as underscores) replaced.

    An answer cell keeps its marker and label lines (see answer_cell) above the new text,
    unless the new text has marks of its own."""
    wanted = {k.replace("_", "-"): v for k, v in sources.items()}
    unknown = set(wanted) - {c.id for c in cells}
    if unknown:
        raise KeyError(f"no cell with id {sorted(unknown)}")
    out = []
    for c in cells:
        c = nbformat.from_dict(dict(c))
        if c.id in wanted:
            text = textwrap.dedent(wanted[c.id]).strip("\n")
            marks = [line for line in c.source.splitlines() if _MARK.match(line)]
            if marks and not any(_MARK.match(line) for line in text.splitlines()):
                text = "\n".join(marks) + ("\n\n" + text if text else "")
            c.source = text
        out.append(c)
    return out


def sub(text: str, old: str, new: str, *, dedent: bool = False) -> str:
    """`text` with `old` replaced by `new`; `old` must occur (a stale mistake is an error)."""
    if dedent:
        text = textwrap.dedent(text)
    if old not in text:
        raise KeyError(f"text to replace not found: {old!r}")
    return text.replace(old, new)


def write(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(cells), str(path))
    try:
        shown: Path | str = path.resolve().relative_to(REPO)
    except ValueError:
        shown = path
    print("wrote", shown)
