"""One grading job in its own process: `run([JOB.json])`, in a process forked from the
batch's fork server (grader.prefork), or `python -m grader.worker JOB.json` (a Ray
task on its node).

A process per submission keeps submissions apart on the trusted side too: a test
module's state, a crash or a memory blow-up in one job cannot touch the next. The
worker dies with its parent (PR_SET_PDEATHSIG), and its kernel dies with it
(bubblewrap --die-with-parent), so a killed `grade` leaves nothing running.

`run(["--warm", SPEC.json], jobs)` is the same worker started ahead of need
(grader.pool): it starts its kernel first and is handed its one job on `jobs`, a pipe.

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

import json
import logging
import os
import select
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .i18n import msg
from .proctree import die_with_parent

if TYPE_CHECKING:
    from .job import GradeOptions
    from .results import SubmissionResult

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


def over_limits(pid: int, memory_mb: float, cpu_s: float, cpu_before: float = 0.0) -> str | None:
    """Why worker `pid` must be stopped, or None while it is within its limits.
    `cpu_before`: CPU seconds it had used before its job was handed over (a warm
    worker's start-up), not counted against the job."""
    now = usage(pid)
    if now is None:
        return None
    rss, cpu = now
    cpu -= cpu_before
    if rss > memory_mb:
        return msg(
            f"the grader's worker for this submission used over {memory_mb:g} MB of memory "
            "(worker_memory_mb) and was stopped",
            f"이 제출물을 채점하던 채점기 작업 프로세스가 메모리를 {memory_mb:g} MB 넘게 써서 "
            "(worker_memory_mb) 중지했습니다",
        )
    if cpu > cpu_s:
        return msg(
            f"the grader's worker for this submission used over {cpu_s:g} s of CPU time (worker_cpu_s) and was stopped",
            f"이 제출물을 채점하던 채점기 작업 프로세스가 CPU 시간을 {cpu_s:g}초 넘게 써서 (worker_cpu_s) 중지했습니다",
        )
    return None


def _options(job: dict[str, Any]) -> GradeOptions:
    from .gpus import Slot
    from .job import GradeOptions

    return GradeOptions(
        profile=job["profile"],
        sandboxed=job["sandboxed"],
        seed=job["seed"],
        data_root=Path(job["data_root"]),
        kernel_python=job.get("kernel_python"),
        gpu=Slot.from_json(job["gpu"]) if job.get("gpu") else None,  # the batch's GPU slot for this worker
    )


def _write_result(result: SubmissionResult, out: Path) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out)


def main(argv: list[str]) -> int:
    """`python -m grader.worker [--warm] FILE`, started by a Ray task (grader.cluster)
    or by hand; the local batch forks its workers instead (grader.prefork)."""
    die_with_parent()
    settings = json.loads(Path(argv[-1]).read_text(encoding="utf-8"))
    if os.getppid() != settings["parent_pid"]:
        return 3  # the parent died before we could arm PDEATHSIG
    return run(argv, sys.stdin.buffer)


def run(argv: list[str], jobs: BinaryIO | None) -> int:
    """The worker proper: `[JOB.json]` grades that job; `["--warm", SPEC.json]` starts a
    kernel and then reads its one job from `jobs` (warm_main)."""
    if argv[0] == "--warm":
        assert jobs is not None, "a warm worker needs an input to read its job from"
        return warm_main(argv[1], jobs)
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    from .grade import grade_submission
    from .spec import load_assignment
    from .submissions import read_submission

    assignment = load_assignment(job["assignment"])
    sub = read_submission(job["student"], Path(job["source"]), assignment.notebook)
    _write_result(grade_submission(assignment, sub, _options(job)), Path(job["result"]))
    return 0


_pictures_warm = False  # True in a worker forked from the forkserver, which warmed them


def warm_pictures() -> None:
    """Pay for matplotlib's import and fonts before the job (grader.pictures.warm_up),
    once per process (a forked worker inherits it done). A failure here is left for the
    job's own drawing to report (pictures.draw lists it on the report, or raises under
    GRADER_STRICT_PICTURES=1)."""
    global _pictures_warm
    if _pictures_warm:
        return
    from .pictures import warm_up

    try:
        warm_up()
        _pictures_warm = True
    except Exception:  # the job draws again and says what failed
        logging.getLogger(__name__).exception("warming up the pictures failed")


READY = ".ready"  # suffix of the file a warm worker creates once its kernel waits (grader.pool)
KERNEL_DIED = 4  # a warm worker's exit code when its kernel died while it waited


def warm_main(spec_path: str, jobs: BinaryIO) -> int:
    """`python -m grader.worker --warm SPEC.json`: start the kernel (bootstrap, the
    assignment's modules imported) and the evaluator for a submission not yet known,
    create SPEC.ready, then read ONE job from `jobs` (a JSON line: student, source),
    grade it, write SPEC.result.json and exit. End of input: exit without grading. The
    kernel dying while it waits: exit KERNEL_DIED (the pool starts another)."""
    spec_file = Path(spec_path)
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    from .errors import CheckFailure, GraderError
    from .grade import grade_on, prepare
    from .job import could_not_run, error_result
    from .spec import load_assignment
    from .submissions import read_submission

    assignment = load_assignment(spec["assignment"])
    opts = _options(spec)
    prepared = None
    failed: str | None = None
    # matplotlib's import and fonts in a thread while the kernel starts (a process of its
    # own, which this one mostly waits for): ready 0.3 s sooner than one after the other
    drawing = threading.Thread(target=warm_pictures, daemon=True)
    drawing.start()
    try:
        prepared = prepare(assignment, opts, warm=True)
    except (GraderError, CheckFailure) as exc:  # reported on the job it is given, as a cold start would
        failed = could_not_run(exc)
    drawing.join()
    spec_file.with_suffix(READY).touch()
    line = b""
    while not line:
        ready, _, _ = select.select([jobs], [], [], 1.0)
        if ready:
            line = jobs.readline()
            if not line:  # the batch has no job for it
                if prepared is not None:
                    prepared.close()
                return 0
        elif prepared is not None and not prepared.session.alive():
            prepared.close()
            return KERNEL_DIED
    started = time.monotonic()
    job = json.loads(line)
    sub = read_submission(job["student"], Path(job["source"]), assignment.notebook)
    if prepared is None:
        result = error_result(assignment, sub, opts, failed or could_not_run(None))
    else:
        result = grade_on(prepared, assignment, sub, opts, started, deliver=True)
    _write_result(result, spec_file.with_suffix(".result.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
