"""A grading run over a folder of submissions: collect, skip what is graded, schedule
worker processes, record each result as it arrives, then render reports.

Each step is one call; data moves forward once: spec -> submissions -> jobs ->
results (gradebook) -> reports.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import proctree, progress, sandbox, scratch, similarity
from .errors import UsageError
from .grade import GradeOptions, error_result
from .gradebook import Gradebook
from .preflight import check_kernel_python, kernel_python
from .results import SubmissionResult
from .spec import PROFILES, Assignment
from .submissions import Submission, collect_folder
from .worker import over_limits


@dataclass(frozen=True)
class RunOptions:
    profile: str
    sandboxed: bool
    workers: int
    regrade: bool
    gradebook: Path
    data_root: Path
    reports_dir: Path
    seed: int | None = None  # None: a fresh random seed per run (recorded per result)
    only: tuple[str, ...] = ()
    kernel_python: str | None = None  # the kernels' interpreter (--kernel-python); None: the grader's own


@dataclass
class RunSummary:
    graded: list[SubmissionResult]
    skipped: list[str]
    results: list[SubmissionResult]  # latest result of every student, for the reports
    seconds: float
    ignored: list[str] = field(default_factory=list)  # files in the folder that are not submissions
    similar: similarity.SimilarityReport | None = None  # pairs of alike submissions, for the summary


WORKER_ARGS = ["-m", "grader.worker"]  # after sys.executable; the job file comes last


def _job_deadline(assignment: Assignment) -> float:
    """Wall time for one worker: the notebook, the checks (each check and all of them
    have deadlines of their own), plus start-up and the recovery of a check timed out."""
    lim = assignment.limits
    n_tests = len(assignment.points)
    return lim.notebook_timeout_s + min(n_tests * lim.check_timeout_s, lim.checks_timeout_s) + 180


def run(assignment: Assignment, folder: Path, opts: RunOptions, say: Callable[[str], None] = print) -> RunSummary:
    if opts.profile not in PROFILES:
        raise UsageError(f"unknown profile {opts.profile!r}; choose one of {', '.join(PROFILES)}")
    if not Path(folder).is_dir():
        raise UsageError(f"{folder}: submissions folder not found")
    started = time.monotonic()
    seed = opts.seed if opts.seed is not None else secrets.randbelow(2**31)
    gopts = GradeOptions(
        profile=opts.profile,
        sandboxed=opts.sandboxed,
        seed=seed,
        data_root=opts.data_root,
        kernel_python=opts.kernel_python,
    )
    # Fail before any notebook runs if a data set is missing (not N identical failures).
    if assignment.datasets:
        from .datastore import DataStore

        store = DataStore(opts.data_root)
        probe = scratch.make("probe")
        try:
            store.stage(list(assignment.datasets), assignment.profiles[opts.profile], probe)
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    collection = collect_folder(Path(folder), assignment.notebook)
    submissions = collection.submissions
    if opts.only:
        submissions = [s for s in submissions if s.student in opts.only]
    run_id = secrets.token_hex(6)
    graded: list[SubmissionResult] = []
    skipped: list[str] = []
    with Gradebook(opts.gradebook) as book:
        todo: list[Submission] = []
        unreadable: list[Submission] = []
        for sub in submissions:
            digest = sub.digest or "unreadable"
            if not opts.regrade and book.has(assignment.name, sub.student, digest, assignment.digest, opts.profile):
                skipped.append(sub.student)
            elif not sub.ok:
                unreadable.append(sub)
            else:
                todo.append(sub)
        if todo:
            # One line, before anything is graded, when the kernels' Python cannot run these notebooks.
            check_kernel_python(kernel_python(opts.kernel_python), assignment.requires)
        events = progress.events_of(say)  # counts, students in flight, ETA (grader/progress.py)
        events.begin(len(todo) + len(unreadable), skipped=len(skipped), workers=opts.workers, label=assignment.name)
        for sub in unreadable:
            result = error_result(assignment, sub, gopts, sub.error or "unreadable")
            book.record(result, run_id, replace=opts.regrade)
            graded.append(result)
            say(f"  {sub.student}: not graded: {sub.error}")
            events.finished(sub.student, ok=False)
        if skipped:
            say(f"  {len(skipped)} submission(s) already graded (use --regrade to grade again)")
        for result in _schedule(assignment, todo, gopts, opts, say):
            book.record(result, run_id, replace=opts.regrade)
            graded.append(result)
        latest = book.latest(assignment.name, opts.profile)
    current = {s.student for s in submissions}
    results = [r for r in latest if r.student in current]
    return RunSummary(
        graded=graded,
        skipped=skipped,
        results=results,
        seconds=time.monotonic() - started,
        ignored=collection.ignored,
        similar=similarity.compare_notebooks(
            {s.student: s.notebook for s in submissions if s.notebook is not None}, assignment.starter
        ),
    )


def _schedule(
    assignment: Assignment, todo: list[Submission], gopts: GradeOptions, opts: RunOptions, say: Callable[[str], None]
) -> Iterator[SubmissionResult]:
    """Run up to `workers` worker processes; yield each result as it arrives."""
    if not todo:
        return
    sandbox.sweep_stale_cgroups()
    scratch.sweep()
    work = scratch.make("run")
    running: dict[subprocess.Popen[bytes], tuple[Submission, Path, float]] = {}
    queue = list(todo)
    deadline_s = _job_deadline(assignment)
    lim = assignment.limits
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    try:
        while queue or running:
            while queue and len(running) < max(1, opts.workers):
                sub = queue.pop(0)
                job = work / f"job-{len(running)}-{secrets.token_hex(4)}.json"
                result_path = job.with_suffix(".result.json")
                job.write_text(
                    json.dumps(
                        {
                            "assignment": str(assignment.root),
                            "student": sub.student,
                            "source": str(sub.source.resolve()),
                            "profile": gopts.profile,
                            "sandboxed": gopts.sandboxed,
                            "seed": gopts.seed,
                            "data_root": str(Path(gopts.data_root).resolve()),
                            "kernel_python": gopts.kernel_python,
                            "result": str(result_path),
                            "parent_pid": os.getpid(),
                        }
                    ),
                    encoding="utf-8",
                )
                log = open(job.with_suffix(".log"), "wb")  # noqa: SIM115
                proc = subprocess.Popen(
                    [sys.executable, *WORKER_ARGS, str(job)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
                log.close()
                running[proc] = (sub, job, time.monotonic())
                progress.events_of(say).started(sub.student)
            time.sleep(0.05)
            for proc in list(running):
                sub, job, t0 = running[proc]
                rc = proc.poll()
                over = None
                if rc is None:
                    # the worker's own limits, counted for its process alone (see grader.worker)
                    over = over_limits(proc.pid, lim.worker_memory_mb, lim.worker_cpu_s)
                    if over is None and time.monotonic() - t0 < deadline_s:
                        continue
                if rc is None:
                    _kill_group(proc)
                    reason = over or f"grading took longer than {deadline_s:.0f} s and was stopped"
                    result = error_result(assignment, sub, gopts, reason)
                else:
                    result = _read_result(assignment, sub, gopts, job, rc)
                del running[proc]
                say(_line(result))
                progress.events_of(say).finished(sub.student, ok=result.error is None)
                yield result
    finally:
        for proc in running:
            _kill_group(proc)
        shutil.rmtree(work, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """The worker, its process group and every process below it (an unsandboxed kernel
    is in a session of its own; sandboxed ones die with their parent anyway)."""
    proctree.kill_tree(proc.pid, proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _read_result(assignment: Assignment, sub: Submission, gopts: GradeOptions, job: Path, rc: int) -> SubmissionResult:
    path = job.with_suffix(".result.json")
    if rc == 0 and path.is_file():
        return SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    try:
        lines = job.with_suffix(".log").read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    if rc < 0:  # killed by a signal: SIGKILL from the kernel's OOM killer, SIGSEGV, ...
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        why = f"its worker process was killed by {name}"
        if -rc == signal.SIGKILL:
            why += " (out of memory?)"
        return error_result(assignment, sub, gopts, f"the grader failed on this submission: {why}")
    last = lines[-1][:300] if lines else f"exit code {rc}"
    return error_result(assignment, sub, gopts, f"the grader failed on this submission: {last}")


def _line(r: SubmissionResult) -> str:
    if r.error:
        return f"  {r.student}: 0/{r.max_score:g}  ({r.error})"
    return f"  {r.student}: {r.score:g}/{r.max_score:g}  ({r.seconds:.1f} s)"
