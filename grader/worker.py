"""One grading job in its own process: `python -m grader.worker JOB.json`.

A process per submission keeps submissions apart on the trusted side too: a test
module's state, a crash or a memory blow-up in one job cannot touch the next. The
worker dies with its parent (PR_SET_PDEATHSIG), and its kernel dies with it
(bubblewrap --die-with-parent), so a killed `grade` leaves nothing running.

The worker is the trusted side, but it reads untrusted input (the notebook's source, the
kernel's answers), so it runs under limits of its own: `worker_memory_mb` of resident
memory and `worker_cpu_s` of CPU time, counted for the worker process itself and
enforced from outside by the batch (`over_limits`, polled every 50 ms), which stops a
worker over them and records that as the submission's one-line error. Not rlimits: a
process's rlimits are inherited by the processes it starts, and the kernel and the
evaluator (TensorFlow: gigabytes of address space, hours of CPU in `full`) would get
them too.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def usage(pid: int) -> tuple[float, float] | None:
    """(resident MB, CPU seconds) of process `pid` itself, its threads included and its
    children not; None when it is gone."""
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_bytes().split()[1])
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    except (OSError, IndexError, ValueError):
        return None
    return resident * _PAGE / (1024 * 1024), ticks / _TICK


def over_limits(pid: int, memory_mb: float, cpu_s: float) -> str | None:
    """Why worker `pid` must be stopped, or None while it is within its limits."""
    now = usage(pid)
    if now is None:
        return None
    rss, cpu = now
    if rss > memory_mb:
        return (
            f"the grader's worker for this submission used over {memory_mb:g} MB of memory "
            "(worker_memory_mb) and was stopped"
        )
    if cpu > cpu_s:
        return (
            f"the grader's worker for this submission used over {cpu_s:g} s of CPU time "
            "(worker_cpu_s) and was stopped"
        )
    return None


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
