"""What a notebook's code says, read from the file on the trusted side.

Runtime checks happen in the student's kernel, which the student controls; the source
cannot lie about itself. Tests use this to see what a function really relies on, and
the grader to notice code that reaches for its kernel-side helper.

The source is untrusted input to the grader's own process, so reading it is bounded:
a code cell over `MAX_CELL_CHARS`, or past `MAX_NOTEBOOK_CHARS` of code in all, is not
parsed at all (it is reported as not read, and a check that needs to read the code
says so instead of passing on what it could see); cell magics whose body is not Python
(`%%bash`, `%%html`, `%%writefile notes.txt`, ...) are skipped; and everything after
the parse is linear in the cell's size (one table of line offsets per cell, slices of
it per statement, each global name followed once).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

import nbformat

from .errors import BadReply

_MAGIC = re.compile(r"^\s*[%!]")
# The grader's kernel-side modules; a notebook has no reason to name them.
GRADER_INTERNALS = re.compile(r"_grader_\w+")

MAX_CELL_CHARS = 200_000  # one code cell; ast.parse peaks at a few hundred bytes per character
MAX_NOTEBOOK_CHARS = 2_000_000  # all code cells parsed, together

# Cell magics whose body is not Python run in the notebook's namespace: skipped, never
# parsed. `%%writefile x.py` (a module the notebook may import) is read as Python, and
# so is an unknown cell magic's body (it may well run as Python: reading it is the
# cautious side). Names as IPython spells them.
NOT_PYTHON_MAGICS = frozenset(
    {
        "bash", "sh", "script", "system", "sx", "html", "HTML", "javascript", "js", "latex",
        "markdown", "svg", "perl", "ruby", "python", "python2", "python3", "pypy", "file", "writefile",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a code cell, as far as the closure needs it."""

    cell: int  # 1-based index among the notebook's cells
    text: str
    bound: frozenset[str]  # module-level names it binds
    loaded: frozenset[str]  # names it reads
    defines: str | None  # the name of the function it defines, if it is a def


@dataclass(frozen=True)
class Unread:
    """A code cell the grader did not parse, and why."""

    cell: int  # 1-based index among the notebook's cells
    reason: str


def strip_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: blank them, keep line numbers."""
    return "\n".join("" if _MAGIC.match(line) else line for line in _lines(source))


def _lines(source: str) -> list[str]:
    # Only "\n" ends a line for the parser once \r\n and \r are folded; str.splitlines
    # also splits at \f, \v, \x1c... and would shift line numbers against the tree.
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


_FIRST_TEXT = re.compile(r"\S")


def _cell_magic(source: str) -> tuple[str, str] | None:
    """(name, arguments) of the cell magic opening the cell (after blank lines), or None."""
    first = _FIRST_TEXT.search(source)
    if first is None or not source.startswith("%%", first.start()):
        return None
    line = source[first.start() + 2 : first.start() + 1000].split("\n", 1)[0].split("\r", 1)[0]
    name, _, args = line.partition(" ")
    return name.strip(), args.strip()


def _not_python(source: str) -> bool:
    """Whether the cell is a cell magic whose body is not Python in the notebook's namespace."""
    magic = _cell_magic(source)
    if magic is None:
        return False
    name, args = magic
    is_module = name in ("writefile", "file") and any(a.endswith(".py") for a in args.split())
    return name in NOT_PYTHON_MAGICS and not is_module


def _read_cells(nb: nbformat.NotebookNode) -> tuple[list[tuple[int, str]], list[Unread]]:
    """(cell, Python text) of each code cell within the caps, and the cells not read.
    Nothing here is quadratic or parses: sizes are checked before any copy is made."""
    read: list[tuple[int, str]] = []
    unread: list[Unread] = []
    total = 0
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if not isinstance(source, str):
            source = "".join(source) if isinstance(source, list) else ""
        if _not_python(source):
            continue  # %%bash, %%writefile data.csv, ...: not Python, nothing to read
        if len(source) > MAX_CELL_CHARS:
            unread.append(Unread(index + 1, f"it holds {len(source):,} characters, over {MAX_CELL_CHARS:,}"))
            continue
        text = strip_magics(source)
        if total + len(text) > MAX_NOTEBOOK_CHARS:
            unread.append(Unread(index + 1, f"the notebook's code is over {MAX_NOTEBOOK_CHARS:,} characters"))
            continue
        total += len(text)
        read.append((index + 1, text))
    return read, unread


def python_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell, Python text) of every code cell within the caps; magic lines blanked."""
    return _read_cells(nb)[0]


def unread_cells(nb: nbformat.NotebookNode) -> list[Unread]:
    """The code cells too large for the grader to read (see MAX_CELL_CHARS)."""
    return _read_cells(nb)[1]


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError):
        return None  # a cell that does not parse defines nothing the checks could read


def parsed_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str, ast.Module]]:
    """(1-based cell index, text, syntax tree) of each code cell within the caps that
    parses, one at a time (a caller that keeps no tree holds one at most)."""
    for cell, text in _read_cells(nb)[0]:
        tree = _parse(text)
        if tree is not None:
            yield cell, text, tree


class _Segments:
    """Source segments of one cell's nodes by slicing: one table of line offsets per
    cell (ast.get_source_segment splits the whole text again for every node)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8", "surrogatepass")  # col_offset counts UTF-8 bytes
        starts = [0]
        at = self.data.find(b"\n")
        while at != -1:
            starts.append(at + 1)
            at = self.data.find(b"\n", at + 1)
        self.starts = starts

    def __call__(self, node: ast.AST) -> str:
        lineno = getattr(node, "lineno", None)
        end_lineno = getattr(node, "end_lineno", None)
        col = getattr(node, "col_offset", None)
        end_col = getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or col is None or end_col is None:
            return ""
        if not (1 <= lineno <= end_lineno <= len(self.starts)):
            return ""
        start = self.starts[lineno - 1] + col
        end = self.starts[end_lineno - 1] + end_col
        return self.data[start:end].decode("utf-8", "surrogatepass")


def _require_all_read(unread: list[Unread], name: str) -> None:
    """A check about a function's code cannot pass on what it could not read."""
    if unread:
        cells = ", ".join(f"cell {u.cell} ({u.reason})" for u in unread[:3])
        more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
        raise BadReply(
            f"the grader did not read {cells}{more}, so it cannot check the code `{name}` uses; "
            f"keep each code cell under {MAX_CELL_CHARS:,} characters (data belongs in a file)"
        )


def statements(nb: nbformat.NotebookNode) -> list[Statement]:
    """Every top-level statement of the code cells that parse, in notebook order."""
    out = []
    for cell, text, tree in parsed_cells(nb):
        segment = _Segments(text)
        for node in tree.body:
            defines = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
            out.append(
                Statement(
                    cell,
                    segment(node),
                    frozenset(_bound_names(node)),
                    frozenset(_loaded_names(node)),
                    defines,
                )
            )
    return out


def function_source(nb: nbformat.NotebookNode, name: str) -> str | None:
    """Source of the last `def name` anywhere in the code cells, nested ones too.
    BadReply when a code cell was too large to read (it could hold that def)."""
    _require_all_read(unread_cells(nb), name)
    found = None
    for _cell, text, tree in parsed_cells(nb):
        segment: _Segments | None = None
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                segment = segment or _Segments(text)
                found = segment(node)
    return found


def function_closure(nb: nbformat.NotebookNode, name: str) -> str | None:
    """Source of every `def name` and of every notebook-level statement it reaches
    through global names, transitively, in notebook order; None without such a def.
    BadReply when a code cell was too large to read (it could bind one of those names).

    What a function calls can hide behind a global (`_f = getattr(np, "corr" +
    "elate")` at the top, `_f(...)` inside), so a rule about the function's code must
    read the code it uses too.
    """
    _require_all_read(unread_cells(nb), name)
    found = statements(nb)
    binders: dict[str, list[int]] = {}
    for i, st in enumerate(found):
        for bound in st.bound:
            binders.setdefault(bound, []).append(i)
    start = [i for i in binders.get(name, []) if found[i].defines == name]
    if not start:
        return None
    seen = set(start)
    followed: set[str] = set()  # each name's binders are added once: linear, not loads x binders
    todo = list(start)
    while todo:
        for used in found[todo.pop()].loaded - followed:
            followed.add(used)
            for j in binders.get(used, []):
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
    return "\n\n".join(found[i].text for i in sorted(seen))


def grader_mentions(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell, name) for each code cell that names one of the grader's kernel-side modules
    (a regular expression over the raw text, linear; oversize cells are searched too)."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and isinstance(cell.get("source"), str):
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
