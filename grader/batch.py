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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import gpus, prefork, proctree, progress, sandbox, scratch, similarity
from .errors import UsageError
from .gradebook import Gradebook
from .i18n import msg, pick
from .job import GradeOptions, error_result
from .pool import WarmPool, WarmWorker, kernel_estimate_mb, mem_available_mb, pool_size
from .preflight import check_kernel_python, kernel_python
from .prefork import Forked, ForkServer
from .results import SubmissionResult
from .spec import PROFILES, Assignment
from .submissions import Submission, checked, collect_folder
from .worker import over_limits, usage


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
    # warm workers waiting beside the running ones (grader.pool): None sizes it (one per
    # worker, as memory allows: `grade`'s default); 0: off, each worker starts its kernel
    pool: int | None = 0
    gpu_plan: gpus.GpuPlan | None = None  # GPU slots (--gpus, --per-gpu; grader/gpus.py); None: no slots
    ray: str | None = None  # a Ray cluster's address (--ray, grader.cluster); None: worker processes here


@dataclass
class RunSummary:
    graded: list[SubmissionResult]
    skipped: list[str]
    results: list[SubmissionResult]  # latest result of every student, for the reports
    seconds: float
    ignored: list[str] = field(default_factory=list)  # files in the folder that are not submissions
    # every readable submission's code cells, and the starter's path: what the summary's
    # similarity report compares (`similarity()`, made only when the reports are written)
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    starter: Path | None = None

    def similarity(self) -> similarity.SimilarityReport:
        """Pairs of alike submissions, for the summary."""
        return similarity.compare_code(self.codes, self.starter)


WORKER_ARGS = ["-m", "grader.worker"]  # after sys.executable; the job file comes last (Ray nodes)
FORKED_WORKER = prefork.WORKER  # what a local cold worker runs (grader.prefork)


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

    collection = collect_folder(Path(folder), assignment.notebook, slim=True)
    submissions = collection.submissions
    if opts.only:
        submissions = [s for s in submissions if s.student in opts.only]
    run_id = secrets.token_hex(6)
    graded: list[SubmissionResult] = []
    skipped: list[str] = []
    with Gradebook(opts.gradebook) as book:
        todo: list[Submission] = []
        unreadable: list[Submission] = []
        for i, sub in enumerate(submissions):
            digest = sub.digest or "unreadable"
            if not opts.regrade and book.has(assignment.name, sub.student, digest, assignment.digest, opts.profile):
                skipped.append(sub.student)
                continue
            # what will be graded is read again with its schema checked (collect_folder's slim read did not)
            sub = submissions[i] = checked(sub, assignment.notebook)
            (todo if sub.ok else unreadable).append(sub)
        # One line, before anything is graded, when the kernels' Python cannot run these
        # notebooks. It imports what the notebooks import (TensorFlow: seconds), so it runs
        # beside the warm pool's start and is waited for before the first job is handed out.
        checking = _Preflight(opts.kernel_python, assignment.requires) if todo else None
        # the worker processes' folder and the warm pool, started now: the first warm
        # kernels come up while the preflight runs
        stage = _Stage.open(assignment, gopts, opts, len(todo)) if todo and opts.ray is None else None
        try:
            if checking is not None:
                checking.wait()
            graded += _grade_all(assignment, todo, unreadable, skipped, gopts, opts, say, book, run_id, stage)
        finally:
            if stage is not None:
                stage.close()
        # what this run graded is the latest of those students: held once, not read back
        fresh = {r.student: r for r in graded}
        rest = book.latest(assignment.name, opts.profile, pictures=False, skip=fresh.keys())
        latest = sorted([*fresh.values(), *rest], key=lambda r: r.student)
    current = {s.student for s in submissions}
    results = [r for r in latest if r.student in current]
    return RunSummary(
        graded=graded,
        skipped=skipped,
        results=results,
        seconds=time.monotonic() - started,
        ignored=collection.ignored,
        codes={s.student: s.code for s in submissions if s.code is not None},
        starter=assignment.starter,
    )


def _grade_all(
    assignment: Assignment,
    todo: list[Submission],
    unreadable: list[Submission],
    skipped: list[str],
    gopts: GradeOptions,
    opts: RunOptions,
    say: Callable[[str], None],
    book: Gradebook,
    run_id: str,
    stage: _Stage | None,
) -> list[SubmissionResult]:
    """Record the unreadable submissions, grade the rest; the results of this run, each
    recorded as it arrives (without its pictures: a page reads its own from the book)."""
    graded: list[SubmissionResult] = []
    events = progress.events_of(say)  # counts, students in flight, ETA (grader/progress.py)
    events.begin(len(todo) + len(unreadable), skipped=len(skipped), workers=opts.workers, label=assignment.name)
    for sub in unreadable:
        result = error_result(assignment, sub, gopts, sub.error or "unreadable")
        book.record(result, run_id, replace=opts.regrade)
        graded.append(result)
        why = sub.error or ""
        say(msg(f"  {sub.student}: not graded: {why}", f"  {sub.student}: 채점하지 않음: {pick(why, 'ko')}"))
        events.finished(sub.student, ok=False)
    if skipped:
        say(
            msg(
                f"  {len(skipped)} submission(s) already graded (use --regrade to grade again)",
                f"  이미 채점된 제출물 {len(skipped)}개 (다시 채점하려면 --regrade)",
            )
        )
    if opts.ray is not None:  # one Ray task per submission; the gradebook stays here (grader.cluster)
        from . import cluster

        arriving = cluster.schedule(assignment, todo, gopts, opts, say)
    else:
        arriving = _schedule(assignment, todo, gopts, opts, say, stage)
    for result in arriving:
        book.record(result, run_id, replace=opts.regrade)
        # pictures stay in the gradebook: a page reads its own (report.write_reports)
        graded.append(replace(result, pictures=()) if result.pictures else result)
    return graded


class _Preflight:
    """check_kernel_python in a thread of its own (it waits on a subprocess): `wait`
    returns once it has passed, or raises its KernelEnvironmentError."""

    def __init__(self, python: str | None, requires: tuple[str, ...]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(kernel_python(python), requires), daemon=True)
        self._thread.start()

    def _run(self, python: str, requires: tuple[str, ...]) -> None:
        try:
            check_kernel_python(python, requires)
        except BaseException as exc:  # re-raised in the batch's own thread by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


@dataclass
class _Stage:
    """What a local batch's workers run in: a scratch folder for their job files, their
    environment, the fork server they are forked from (grader.prefork), and the warm
    pool (grader.pool), whose first members start when the stage opens."""

    work: Path
    env: dict[str, str]
    server: ForkServer
    warm: WarmPool[WarmWorker] | None

    @classmethod
    def open(cls, assignment: Assignment, gopts: GradeOptions, opts: RunOptions, jobs: int) -> _Stage:
        sandbox.sweep_stale_cgroups()
        scratch.sweep()
        work = scratch.make("run")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
        server = ForkServer(env)
        try:
            warm = _warm_pool(assignment, gopts, opts, work, env, server)
            if warm is not None:
                warm.maintain(jobs_left=jobs)
        except BaseException:
            server.close()
            shutil.rmtree(work, ignore_errors=True)
            raise
        return cls(work, env, server, warm)

    def close(self) -> None:
        """Kill every warm worker still waiting, stop the fork server, remove the folder."""
        try:
            if self.warm is not None:
                self.warm.close()
        finally:
            self.server.close()
            shutil.rmtree(self.work, ignore_errors=True)


def _schedule(
    assignment: Assignment,
    todo: list[Submission],
    gopts: GradeOptions,
    opts: RunOptions,
    say: Callable[[str], None],
    stage: _Stage | None = None,
) -> Iterator[SubmissionResult]:
    """Run up to `workers` worker processes; yield each result as it arrives. With the
    pool (grader.pool), each job goes to a warm worker started ahead of need. `stage`:
    opened by the caller (and closed by it), else here."""
    if not todo:
        return
    own = stage is None
    stage = stage if stage is not None else _Stage.open(assignment, gopts, opts, len(todo))
    work, env, warm, server = stage.work, stage.env, stage.warm, stage.server
    running: dict[Forked, _Running] = {}
    queue = list(todo)
    deadline_s = _job_deadline(assignment)
    lim = assignment.limits
    # GPU slots: one acquired per worker started, released when it ends (grader/gpus.py)
    slots = gpus.Slots(opts.gpu_plan) if opts.gpu_plan is not None else None
    held: dict[Forked, gpus.Slot] = {}
    try:
        while queue or running:
            while queue and len(running) < max(1, opts.workers) and (slots is None or slots.available()):
                sub = queue.pop(0)
                if warm is not None and warm.off is None:
                    member = warm.take() or warm.start()
                    member.give(sub.student, sub.source.resolve())
                    running[member.proc] = _Running(sub, member.spec, time.monotonic(), warm=member)
                else:
                    slot = slots.acquire() if slots is not None else None  # GPU slots
                    proc, job = _start_worker(server, assignment, sub, replace(gopts, gpu=slot), work, env)
                    if slots is not None and slot is not None:  # GPU slots
                        held[proc] = slot
                    running[proc] = _Running(sub, job, time.monotonic())
                progress.events_of(say).started(sub.student)
            if warm is not None and warm.off is None:
                warm.maintain(jobs_left=len(queue))
                if warm.off is not None:  # said once; each job then starts its own kernel
                    say(
                        msg(
                            f"  warm kernel pool off: {warm.off}",
                            f"  미리 띄운 커널 풀을 끕니다: {pick(warm.off, 'ko')}",
                        )
                    )
            server.wait_for_exit(0.05)  # a worker's end wakes it at once
            for proc in list(running):
                entry = running[proc]
                sub = entry.sub
                rc = proc.poll()
                over = None
                if entry.warm is not None and rc is None and entry.warm.ready():
                    # its start-up is not the submission's: CPU counts from here
                    before = usage(proc.pid)
                    entry.cpu_before = before[1] if before else 0.0
                    entry.warm = None
                if rc is None:
                    # the worker's own limits, counted for its process alone (see grader.worker)
                    over = over_limits(proc.pid, lim.worker_memory_mb, lim.worker_cpu_s, entry.cpu_before)
                    if over is None and time.monotonic() - entry.t0 < deadline_s:
                        continue
                if rc is None:
                    _kill_group(proc)
                    reason = over or msg(
                        f"grading took longer than {deadline_s:.0f} s and was stopped",
                        f"채점이 {deadline_s:.0f}초를 넘겨 중단되었습니다",
                    )
                    result = error_result(assignment, sub, gopts, reason)
                else:
                    result = _read_result(assignment, sub, gopts, entry.path, rc)
                del running[proc]
                if slots is not None and proc in held:  # GPU slots: the worker has ended
                    slots.release(held.pop(proc))
                say(_line(result))
                progress.events_of(say).finished(sub.student, ok=result.error is None)
                yield result
    finally:
        for proc in running:
            _kill_group(proc)
        if own:
            stage.close()


@dataclass
class _Running:
    """A worker grading one submission: its job file (result and log beside it), when
    it was handed the job, and the CPU it had used before it began on it (a warm
    worker's start-up: read once it is ready; until then, `warm` is the worker)."""

    sub: Submission
    path: Path
    t0: float
    cpu_before: float = 0.0
    warm: WarmWorker | None = None


def _settings(gopts: GradeOptions, assignment: Assignment, result: Path | None) -> dict[str, object]:
    """What a worker reads from its job file (grader.worker)."""
    out: dict[str, object] = {
        "assignment": str(assignment.root),
        "profile": gopts.profile,
        "sandboxed": gopts.sandboxed,
        "seed": gopts.seed,
        "data_root": str(Path(gopts.data_root).resolve()),
        "kernel_python": gopts.kernel_python,
        "gpu": gopts.gpu.to_json() if gopts.gpu is not None else None,  # GPU slot (grader/gpus.py)
        "parent_pid": os.getpid(),
    }
    if result is not None:
        out["result"] = str(result)
    return out


def _start_worker(
    server: ForkServer, assignment: Assignment, sub: Submission, gopts: GradeOptions, work: Path, env: dict[str, str]
) -> tuple[Forked, Path]:
    """A cold worker for `sub` (`grader.worker.run([JOB.json])`, forked: grader.prefork),
    its output in JOB.log (read by `_read_result` when it fails)."""
    job = work / f"job-{secrets.token_hex(6)}.json"
    settings = {**_settings(gopts, assignment, job.with_suffix(".result.json"))}
    settings.update(student=sub.student, source=str(sub.source.resolve()))
    job.write_text(json.dumps(settings), encoding="utf-8")
    return server.fork([str(job)], job.with_suffix(".log"), env, with_input=False, target=FORKED_WORKER), job


def popen_worker(job: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m grader.worker JOB.json` in a session of its own, its output in JOB.log
    (read by `_read_result` when it fails): a Ray task's worker on its node (grader.cluster),
    where no forkserver of the batch's runs."""
    with open(job.with_suffix(".log"), "wb") as log:
        return subprocess.Popen(
            [sys.executable, *WORKER_ARGS, str(job)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def _warm_pool(
    assignment: Assignment, gopts: GradeOptions, opts: RunOptions, work: Path, env: dict[str, str], server: ForkServer
) -> WarmPool[WarmWorker] | None:
    """The warm workers for this batch, or None with the pool off (`--no-pool`, or no
    memory for one beside the running workers)."""
    if opts.pool == 0 or opts.gpu_plan is not None:
        # GPU slots: not with the pool yet (a warm kernel would hold a seat and a CUDA context while it waits)
        return None
    per_kernel = kernel_estimate_mb(assignment.requires, assignment.measures_models)
    size = pool_size(opts.pool, opts.workers, per_kernel, mem_available_mb())
    if size == 0:
        return None
    settings = _settings(gopts, assignment, None)

    def spawn() -> WarmWorker:
        return WarmWorker.spawn(server, work / f"warm-{secrets.token_hex(6)}.json", settings, env)

    return WarmPool(size, spawn, first=max(1, opts.workers))


def _kill_group(proc: subprocess.Popen[bytes] | Forked) -> None:
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
        oom = -rc == signal.SIGKILL
        why = msg(
            f"the grader failed on this submission: its worker process was killed by {name}"
            + (" (out of memory?)" if oom else ""),
            f"이 제출물을 채점하다 채점기가 실패했습니다: 작업 프로세스가 {name}(으)로 종료됨"
            + (" (메모리 부족?)" if oom else ""),
        )
        return error_result(assignment, sub, gopts, why)
    last = lines[-1][:300] if lines else f"exit code {rc}"
    return error_result(
        assignment,
        sub,
        gopts,
        msg(f"the grader failed on this submission: {last}", f"이 제출물을 채점하다 채점기가 실패했습니다: {last}"),
    )


def _line(r: SubmissionResult) -> str:
    if r.error:
        return msg(
            f"  {r.student}: 0/{r.max_score:g}  ({r.error})",
            f"  {r.student}: 0/{r.max_score:g}  ({pick(r.error, 'ko')})",
        )
    return msg(
        f"  {r.student}: {r.score:g}/{r.max_score:g}  ({r.seconds:.1f} s)",
        f"  {r.student}: {r.score:g}/{r.max_score:g}  ({r.seconds:.1f}초)",
    )
