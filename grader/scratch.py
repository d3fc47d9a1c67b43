"""Temporary folders that a killed grader cannot leak for long.

Every scratch folder carries the pid of the process that owns it in its name; the
next run removes folders whose owner is gone (a SIGKILLed `grade` or worker runs no
cleanup of its own).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "grader-"


def make(kind: str, max_len: int | None = None) -> Path:
    """A fresh folder in $TMPDIR; in /tmp when $TMPDIR would make its path longer than
    `max_len` (unix socket paths must stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))
    if max_len is not None and len(str(path)) > max_len:
        path.rmdir()
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir="/tmp"))
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> int:
    """Remove scratch folders of dead owners; return how many were removed."""
    removed = 0
    roots = {Path(tempfile.gettempdir()), Path("/tmp")}
    for d in [d for root in roots for d in root.glob(f"{PREFIX}*-*-*")]:
        parts = d.name[len(PREFIX) :].split("-")
        if len(parts) < 3 or not parts[1].isdigit() or not d.is_dir():
            continue
        if not _alive(int(parts[1])):
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
    return removed
