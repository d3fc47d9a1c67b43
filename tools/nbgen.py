"""Helpers shared by the notebook generators in tools/: cells with stable ids, notebooks
that validate, and edits that fail loudly when the text they edit has changed."""

from __future__ import annotations

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


def replace(cells: list[nbformat.NotebookNode], **sources: str) -> list[nbformat.NotebookNode]:
    """Copy of `cells` with the source of the cells named by id (dashes as underscores) replaced."""
    wanted = {k.replace("_", "-"): v for k, v in sources.items()}
    unknown = set(wanted) - {c.id for c in cells}
    if unknown:
        raise KeyError(f"no cell with id {sorted(unknown)}")
    out = []
    for c in cells:
        c = nbformat.from_dict(dict(c))
        if c.id in wanted:
            c.source = textwrap.dedent(wanted[c.id]).strip("\n")
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
