"""Whether a batch's reports already say what they would say if written again.

A regrade of an unchanged batch grades nothing; rendering the whole class's pages,
the summary and its similarity report again would still cost a second of a command that
should take a fraction of one (and, for 500 students, several). So `grade` writes a key
beside the reports: a digest of everything the pages are made from (each student's
latest result, the manual scores, the code the similarity report compares, the report
context, the language, the grader's own rendering code and templates). When the key
and every file it names are still there, the reports are current and are left as they
are; anything else (a new result, a manual score, another `--lang`, a page deleted by
hand, a new grader version) renders everything again.

The pictures are not read to make the key: a result row's pictures change only with
the row, and the rest of the row (its seconds, its seed) is in the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from .results import SubmissionResult

KEY_FILE = ".reports-key"  # in the assignment's reports folder
_HERE = Path(__file__).resolve().parent
# what the pages are rendered by: a change to any of these renders everything again
RENDERERS = ("report.py", "exports.py", "catalogue.py", "i18n.py", "similarity.py", "pictures.py", "results.py")


def _renderer_digest() -> str:
    h = hashlib.sha256()
    files = [_HERE / name for name in RENDERERS] + sorted((_HERE / "templates").glob("*"))
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """A value as JSON the same way every run (sets sorted: their order varies by run)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def report_key(
    results: Sequence[SubmissionResult],
    context: Any,
    manual: Mapping[str, Mapping[str, float]],
    codes: Mapping[str, Sequence[str]],
    starter: Path | None,
) -> str:
    """The digest of what a batch's reports are made from. `context`: the ReportContext
    (its `generated_at` left out: the time the pages were first written stays true)."""
    h = hashlib.sha256()

    def add(value: Any) -> None:
        h.update(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str).encode())
        h.update(b"\0")

    add(_renderer_digest())
    add({f.name: _plain(getattr(context, f.name)) for f in fields(context) if f.name != "generated_at"})
    for r in sorted(results, key=lambda r: r.student):
        add(r.to_dict())
    add({s: dict(v) for s, v in sorted(manual.items())})
    for student in sorted(codes):
        add([student, list(codes[student])])
    add(starter.read_bytes().hex() if starter is not None and starter.is_file() else None)
    return h.hexdigest()


def current(out_dir: Path, key: str, files: Iterable[Path]) -> bool:
    """True when `out_dir` holds reports written under `key`, every one of `files`, and
    none of them changed since (by `grade export --out` into the folder, or by hand)."""
    try:
        marker = out_dir / KEY_FILE
        if marker.read_text(encoding="utf-8").strip() != key:
            return False
        written = marker.stat().st_mtime_ns
        return all(f.stat().st_mtime_ns <= written for f in files)
    except OSError:  # no key, or a file is gone
        return False


def remember(out_dir: Path, key: str) -> None:
    """Record that the reports in `out_dir` were written under `key` (after they all were)."""
    (out_dir / KEY_FILE).write_text(key + "\n", encoding="utf-8")


def forget(out_dir: Path) -> None:
    """Before writing reports: a run stopped half way must not leave the old key behind."""
    (out_dir / KEY_FILE).unlink(missing_ok=True)
