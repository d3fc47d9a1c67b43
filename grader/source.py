"""What a notebook's code says, read from the file on the trusted side.

Runtime checks happen in the student's kernel, which the student controls; the source
cannot lie about itself. Tests use this to see what a function really relies on, and
the grader to notice code that reaches for its kernel-side helper.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

import nbformat

_MAGIC = re.compile(r"^\s*[%!]")
# The grader's kernel-side modules; a notebook has no reason to name them.
GRADER_INTERNALS = re.compile(r"_grader_\w+")


@dataclass(frozen=True)
class Statement:
    cell: int  # 1-based index among the notebook's cells
    node: ast.stmt
    text: str


def strip_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: blank them, keep line numbers."""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())


def parsed_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str, ast.Module]]:
    """(1-based cell index, text, syntax tree) of each code cell that parses; a cell
    that does not parse defines nothing the checks could read."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text = strip_magics(cell.source)
        try:
            yield index + 1, text, ast.parse(text)
        except SyntaxError:
            continue


def statements(nb: nbformat.NotebookNode) -> list[Statement]:
    """Every top-level statement of the code cells that parse, in notebook order."""
    return [
        Statement(cell, node, ast.get_source_segment(text, node) or "")
        for cell, text, tree in parsed_cells(nb)
        for node in tree.body
    ]


def function_source(nb: nbformat.NotebookNode, name: str) -> str | None:
    """Source of the last `def name` anywhere in the code cells, nested ones too."""
    found = None
    for _cell, text, tree in parsed_cells(nb):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found = ast.get_source_segment(text, node)
    return found


def function_closure(nb: nbformat.NotebookNode, name: str) -> str | None:
    """Source of every `def name` and of every notebook-level statement it reaches
    through global names, transitively, in notebook order; None without such a def.

    What a function calls can hide behind a global (`_f = getattr(np, "corr" +
    "elate")` at the top, `_f(...)` inside), so a rule about the function's code must
    read the code it uses too.
    """
    found = statements(nb)
    binders: dict[str, list[int]] = {}
    for i, st in enumerate(found):
        for bound in _bound_names(st.node):
            binders.setdefault(bound, []).append(i)
    start = [i for i in binders.get(name, []) if isinstance(found[i].node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not start:
        return None
    seen = set(start)
    todo = list(start)
    while todo:
        for used in _loaded_names(found[todo.pop()].node):
            for j in binders.get(used, []):
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
    return "\n\n".join(found[i].text for i in sorted(seen))


def grader_mentions(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell, name) for each code cell that names one of the grader's kernel-side modules."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            names = sorted(set(GRADER_INTERNALS.findall(cell.source)))
            out += [(index + 1, n) for n in names]
    return out


def _bound_names(node: ast.stmt) -> set[str]:
    """Module-level names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        # a def that declares `global x` and assigns it binds x as well
        declared = {n for g in ast.walk(node) if isinstance(g, ast.Global) for n in g.names}
        return {node.name} | declared
    if isinstance(node, ast.Import):
        return {a.asname or a.name.split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {a.asname or a.name for a in node.names}
    bound: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            bound.add(current.id)
        elif isinstance(current, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound |= _bound_names(current)  # nested in an if/try/with at the top level
            continue
        if isinstance(current, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return bound


def _loaded_names(node: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
