"""One grading job in its own process: `python -m grader.worker JOB.json`.

A process per submission keeps submissions apart on the trusted side too: a test
module's state, a crash or a memory blow-up in one job cannot touch the next. The
worker dies with its parent (PR_SET_PDEATHSIG), and its kernel dies with it
(bubblewrap --die-with-parent), so a killed `grade` leaves nothing running.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main(argv: list[str]) -> int:
    _die_with_parent()
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    if os.getppid() != job["parent_pid"]:
        return 3  # the parent died before we could arm PDEATHSIG
    from .grade import GradeOptions, grade_submission
    from .spec import load_assignment
    from .submissions import read_submission

    assignment = load_assignment(job["assignment"])
    sub = read_submission(job["student"], Path(job["source"]), assignment.notebook)
    opts = GradeOptions(
        profile=job["profile"],
        sandboxed=job["sandboxed"],
        seed=job["seed"],
        data_root=Path(job["data_root"]),
        kernel_python=job.get("kernel_python"),
    )
    result = grade_submission(assignment, sub, opts)
    out = Path(job["result"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
