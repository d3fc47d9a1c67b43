"""Free-text answers: which markdown cells hold them, and what the person grading sees.

An answer `<id>` is a markdown cell marked in any one of three ways, each enough alone:

- a cell tag `answer:<id>` (Jupyter's tag editor);
- a marker line `<!-- answer:<id> -->` (hidden when rendered; Colab, which cannot edit
  tags, keeps it);
- a visible label line ending in `(answer:<id>)`, such as `**답 / Answer (answer:dropout)**`
  or `### Answer (answer:dropout)`.

Starters carry the answer cell ready to fill, with all three (tag, marker line, bold
label); a student writes below the two lines. The marker and label lines are not part of
the answer's text. Several cells marked with one id are joined in notebook order.

The grade step records only the answers the spec declares (`answers = [...]` in
[assignment]), each clipped to MAX_ANSWER_CHARS. When a declared answer has no marked cell,
or its marked cells are empty, the person grading is shown instead the student's own
markdown cells near the question (those after the starter's question cell, up to the
starter's next markdown cell), else all the markdown cells the student wrote (not in the
starter); such a text starts with FALLBACK_HEAD and the report labels it as not marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

MAX_ANSWER_CHARS = 20_000
FALLBACK_HEAD = "[grader: no marked answer]"
_SEPARATOR = "\n\n-----\n\n"
ID = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_COMMENT = re.compile(rf"^\s*<!--\s*answer\s*:\s*({ID})\s*-->\s*$", re.IGNORECASE)
# a label line: optional heading marks or bold, a short label, then (answer:<id>) at its end
_LABEL = re.compile(
    rf"^\s*(?:#{{1,6}}\s*)?(?:\*\*|__)?[^()\n]{{0,80}}\(\s*answer\s*:\s*({ID})\s*\)\s*(?:\*\*|__)?\s*:?\s*$"
)
VALID_ID = re.compile(rf"^{ID}$")


def _text(cell: Any) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def _markdown(nb: Any) -> list[tuple[int, Any]]:
    cells = nb.get("cells", []) if hasattr(nb, "get") else []
    return [(i, c) for i, c in enumerate(cells) if hasattr(c, "get") and c.get("cell_type") == "markdown"]


def cell_ids(cell: Any) -> list[str]:
    """The answer ids a markdown cell is marked with (tag, marker line or label line)."""
    ids: list[str] = []
    metadata = cell.get("metadata") or {}
    tags = metadata.get("tags") if hasattr(metadata, "get") else None
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.startswith("answer:") and VALID_ID.match(tag[7:].strip()):
            ids.append(tag[7:].strip())
    for line in _text(cell).splitlines():
        m = _COMMENT.match(line) or _LABEL.match(line)
        if m:
            ids.append(m.group(1))
    return list(dict.fromkeys(ids))


def _clean(text: str) -> str:
    """An answer cell's text without its marker and label lines."""
    kept = [line for line in text.splitlines() if not (_COMMENT.match(line) or _LABEL.match(line))]
    out = "\n".join(kept).strip()
    return " " + out if out.startswith(FALLBACK_HEAD) else out  # a student cannot pass for the fallback


def marked(nb: Any) -> dict[str, str]:
    """Every marked answer in the notebook: id -> its text (markers removed), unclipped."""
    parts: dict[str, list[str]] = {}
    for _, cell in _markdown(nb):
        ids = cell_ids(cell)
        if not ids:
            continue
        text = _clean(_text(cell))
        for answer_id in ids:
            parts.setdefault(answer_id, []).append(text)
    return {k: "\n\n".join(t for t in texts if t) for k, texts in parts.items()}


def clip(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n[... {len(text) - limit:,} more characters not shown]"


def _key(text: str) -> str:
    return " ".join(text.split())


def _own_cells(nb: Any, starter: Any | None) -> list[tuple[int, str]]:
    """The student's own markdown cells: not in the starter, not marked, not empty."""
    known = {_key(_text(c)) for _, c in _markdown(starter)} if starter is not None else set()
    out = []
    for i, cell in _markdown(nb):
        text = _text(cell).strip()
        if text and not cell_ids(cell) and _key(text) not in known:
            out.append((i, text))
    return out


def _near_question(nb: Any, starter: Any, answer_id: str, own: Sequence[tuple[int, str]]) -> list[str]:
    """The student's own markdown cells between the starter's question for `answer_id`
    (the markdown cell before its answer cell) and the starter's next markdown cell."""
    cells = _markdown(starter)
    at = next((n for n, (_, c) in enumerate(cells) if answer_id in cell_ids(c)), None)
    if at is None or at == 0:
        return []
    question = _key(_text(cells[at - 1][1]))
    later = {_key(_text(c)) for _, c in cells[at + 1 :]}
    start = next((i for i, c in _markdown(nb) if _key(_text(c)) == question), None)
    if start is None:
        return []
    end = next((i for i, c in _markdown(nb) if i > start and _key(_text(c)) in later), None)
    return [text for i, text in own if i > start and (end is None or i < end)]


def _fallback(nb: Any, starter: Any | None, answer_id: str) -> str:
    own = _own_cells(nb, starter)
    near = _near_question(nb, starter, answer_id, own) if starter is not None else []
    if near:
        head = f"{FALLBACK_HEAD} the student's own markdown cells after the question"
        texts = near
    elif own:
        head = f"{FALLBACK_HEAD} all the markdown cells the student wrote (none after the question)"
        texts = [t for _, t in own]
    else:
        return ""
    return head + "\n\n" + _SEPARATOR.join(texts)


def is_fallback(text: str) -> bool:
    return text.startswith(FALLBACK_HEAD)


@lru_cache(maxsize=16)
def _read_starter(path: str, mtime_ns: int) -> Any:
    import nbformat  # here, not at the top: a regrade that renders nothing never needs it

    return nbformat.read(path, as_version=4)


def load_starter(path: Path | str | None) -> Any | None:
    """The starter notebook (cached while the file is unchanged), or None if unreadable."""
    if path is None:
        return None
    try:
        p = Path(path)
        return _read_starter(str(p), p.stat().st_mtime_ns)
    except Exception:  # a missing or broken starter only costs the "near the question" choice
        return None


def collect(nb: Any, declared: Iterable[str], starter: Any | None = None) -> dict[str, str]:
    """The answers to record for a submission: each declared id -> its marked text, or the
    fallback (labelled, see module doc), or '' when the student wrote nothing; clipped."""
    found = marked(nb)
    out: dict[str, str] = {}
    for answer_id in declared:
        text = found.get(answer_id, "")
        if not text.strip():
            text = _fallback(nb, starter, answer_id)
        out[answer_id] = clip(text)
    return out


def record(nb: Any, assignment: Any) -> dict[str, str]:
    """collect() for an Assignment: its declared `answers` and its starter notebook."""
    declared = tuple(getattr(assignment, "answers", ()) or ())
    if not declared:
        return {}
    return collect(nb, declared, load_starter(getattr(assignment, "starter", None)))
