"""Grading on a Ray cluster: `grade assignments/<name> <submissions> --ray ADDRESS`.

Each submission is one Ray task. On whichever node Ray picks, the task runs the worker
a local batch runs (`python -m grader.worker JOB.json`, a subprocess of the task) and
watches it as the local batch does (`worker_memory_mb`, `worker_cpu_s`, the job's
deadline, the same kill of its whole process tree), so the sandbox, the limits and
what a killed job leaves behind are the node's own, exactly as at home. The task
returns the result as plain data (`SubmissionResult.to_dict()`); the driver, the
`grade` process, records it in the gradebook, which no node ever writes: resume and
`--regrade` work as they do locally.

Nothing needs a shared file system:

- the assignment folder and the data store files its data sets need under the profile
  travel as two tarballs through Ray's object store, put there once per batch; a
  node fetches one only when its cache lacks that digest and unpacks it once into
  `cache_root()/<digest>` (`ensure`), read-only, checked against its digest, with no
  entry able to land outside that folder (`unpack`);
- the submission's bytes (its file, or a tarball of its folder) go with its task.

The grader itself does not travel: every node runs the same install (setup.sh with
GRADER_RAY=1, the same checkout), not a Ray runtime_env, because a node needs more
than Python packages (bubblewrap, cgroups, the kernel's Python) and a runtime_env
cannot bring those. A task compares its node's grader code with the driver's
(`grader_digest`) and refuses to grade on a different one; the batch then stops with
one line naming the node.

What retries: a task whose process dies (its node died, its Ray worker was killed) is
run again by Ray, up to MAX_RETRIES more times, on any node; its worker and kernel die
with it (PR_SET_PDEATHSIG, bubblewrap --die-with-parent). A worker that *reports* a
result, an error result too (a notebook over its limits, a worker killed by the OOM
killer), is done: the task returns that result and nothing is retried, as locally. A
task lost more often than that becomes the submission's error result.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import gpus, progress, sandbox, scratch
from .errors import GraderError, UsageError
from .i18n import msg
from .results import SubmissionResult
from .submissions import Submission

if TYPE_CHECKING:
    from .batch import RunOptions
    from .datastore import DataStore
    from .job import GradeOptions
    from .spec import Assignment, Profile

MAX_RETRIES = 2  # a task whose process died is run at most this many more times
CACHE_KEEP_S = 7 * 24 * 3600  # unpacked bundles unused this long are removed from a node
RAY_EXTRA = "pip install 'grader[ray]'  (or GRADER_RAY=1 ./setup.sh)"
_HIDDEN = ("__pycache__", ".ipynb_checkpoints", "__MACOSX")


class ClusterError(GraderError):
    """The cluster cannot grade this batch (no Ray, no room for a task, a node on another
    grader version, a damaged bundle): one line, and the batch stops."""


def require_ray() -> Any:
    """The `ray` module, or a one-line UsageError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            msg(
                f"--ray needs Ray, which is not installed: {RAY_EXTRA}",
                f"--ray 에는 Ray 가 필요한데 설치되어 있지 않습니다: {RAY_EXTRA}",
            )
        ) from None
    return ray


# ----------------------------------------------------------------------- bundles


@dataclass(frozen=True)
class Bundle:
    """Files packed as a tarball that is the same bytes for the same files (sorted names,
    no times, no owners), so its digest names its content on every node and run."""

    digest: str
    data: bytes


def pack(root: Path, names: Iterable[str], prefix: str = "") -> Bundle:
    """The files `names` (paths relative to `root`, '/'-separated) as one Bundle, each
    under the folder `prefix` when one is given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(set(names)):
            _check_member_name(name)
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(f"{prefix}/{name}" if prefix else name)
            _check_member_name(info.name)
            info.size = len(data)
            info.mode = 0o444
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    return Bundle(hashlib.sha256(data).hexdigest()[:32], data)


def folder_files(root: Path) -> list[str]:
    """The regular files under `root` a bundle of the folder holds: hidden files, caches
    and symbolic links left out (a submission folder is read by the same rule)."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if any(part.startswith(".") or part in _HIDDEN for part in rel.split("/")):
            continue
        if p.is_file() and not p.is_symlink():
            out.append(rel)
    return out


def pack_assignment(assignment: Assignment) -> Bundle:
    """The assignment folder: spec, starter, public and hidden tests (they run on the
    trusted side of the node, never in a kernel), inside a folder of the same name (the
    folder's name is the assignment's name)."""
    return pack(assignment.root, folder_files(assignment.root), prefix=assignment.root.name)


def data_files(store: DataStore, names: Iterable[str], profile: Profile) -> list[str]:
    """The store files (relative to its root) a node's store needs to serve `names`
    under `profile` exactly as `store` does, made here first where they are missing:
    the file the profile reads, and what the store looks at to find it (the real
    data and its info.json, whose sizes and digest the reports' data notes quote)."""
    from .datastore import INFO, REAL, SMOKE_VERSION

    out: list[str] = []
    for name in names:
        served = store.file(name, profile)
        folder = served.parent
        out.append(served.relative_to(store.root).as_posix())
        base = [f"smoke-v{SMOKE_VERSION}.npz"] if profile.synthetic else [REAL, INFO]
        out += [(folder / f).relative_to(store.root).as_posix() for f in base if (folder / f).is_file()]
    return sorted(set(out))


def pack_data(store: DataStore, names: Iterable[str], profile: Profile) -> Bundle:
    return pack(store.root, data_files(store, names, profile))


def _check_member_name(name: str) -> PurePosixPath:
    """A bundle entry's name as a relative path that stays inside the folder it is
    unpacked into; anything else is a ClusterError naming the entry."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or any(part in ("..", "") for part in name.split("/")):
        raise ClusterError(
            msg(
                f"bundle entry {name!r} would land outside its folder",
                f"묶음 항목 {name!r} 이(가) 폴더 밖을 가리킵니다",
            )
        )
    return pure


def unpack(data: bytes, dest: Path) -> None:
    """Unpack a bundle into the empty folder `dest`: regular files and folders only,
    files read-only; a link, a device or a name leaving `dest` is a ClusterError."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            rel = _check_member_name(member.name)
            target = dest.joinpath(*rel.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isreg():
                raise ClusterError(
                    msg(
                        f"bundle entry {member.name!r} is not a regular file",
                        f"묶음 항목 {member.name!r} 은(는) 일반 파일이 아닙니다",
                    )
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            assert src is not None  # a regular member always has content
            with src, open(target, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.chmod(target, 0o444)


def cache_root() -> Path:
    """Where a node keeps unpacked bundles: $GRADER_CLUSTER_CACHE, else a folder in the
    temporary directory, on the file system of the scratch folders, so data files are
    staged for a kernel as hard links, not copies. (Its name does not start with
    scratch's `grader-`, whose sweep removes folders of dead processes.)"""
    env = os.environ.get("GRADER_CLUSTER_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / f"grader_cluster_cache_{os.getuid()}"


def ensure(cache: Path, digest: str, fetch: Callable[[], bytes]) -> Path:
    """`cache/<digest>`, unpacked from `fetch()` the first time this node needs it.
    Tasks racing for the same digest each unpack into a private folder and rename it
    into place; the first rename wins and the others throw theirs away."""
    if len(digest) != 32 or not all(c in "0123456789abcdef" for c in digest):
        raise ClusterError(msg(f"bad bundle digest {digest!r}", f"잘못된 묶음 다이제스트 {digest!r}"))
    final = cache / digest
    if final.is_dir():
        os.utime(final)  # in use: keep it through _evict
        return final
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = fetch()
    got = hashlib.sha256(data).hexdigest()[:32]
    if got != digest:
        raise ClusterError(
            msg(
                f"a bundle arrived damaged (digest {got}, expected {digest})",
                f"묶음이 손상되어 도착했습니다 (다이제스트 {got}, 예상 {digest})",
            )
        )
    tmp = cache / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        unpack(data, tmp)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _evict(cache, keep=digest)
    return final


def _evict(cache: Path, keep: str, now: float | None = None) -> list[str]:
    """Remove bundles no task has used for CACHE_KEEP_S; return their digests."""
    now = time.time() if now is None else now
    gone = []
    for d in cache.iterdir():
        if d.name == keep or d.name.startswith(".") or not d.is_dir():
            continue
        with contextlib.suppress(OSError):
            if now - d.stat().st_mtime > CACHE_KEEP_S:
                shutil.rmtree(d)
                gone.append(d.name)
    return gone


def grader_digest() -> str:
    """A digest of the grader's code (its package's files as they are now: each job's
    worker is a fresh process that reads them), the same on every node that runs the
    same install. A few milliseconds; not cached, since an install can change under a
    long-lived Ray worker process."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".html") and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """What one Ray task gets: one submission and how to grade it. The bundles travel
    beside it, by reference (see `run_task`)."""

    student: str
    source_name: str  # the submission's file or folder name, kept for its report
    payload: bytes  # the file's bytes, or a bundle of the folder
    folder: bool
    submission_digest: str
    profile: str
    sandboxed: bool
    seed: int
    kernel_python: str | None
    spec_digest: str
    assignment_name: str  # the assignment folder's name, its top folder in the bundle
    assignment: str  # digest of the assignment bundle
    data: str | None  # digest of the data bundle; None: the assignment uses no data set
    grader: str  # grader_digest() of the driver
    deadline_s: float
    # with `--gpus all --per-gpu K [--gpu-memory-mb M]`: (K, M); the node makes the slot on
    # the GPU Ray gave the task (gpus.node_slot). None: no GPU
    gpu: tuple[int, int | None] | None = None


def make_task(
    sub: Submission,
    assignment: Assignment,
    gopts: GradeOptions,
    bundles: tuple[Bundle, Bundle | None],
    gpu_plan: gpus.GpuPlan | None = None,
) -> Task:
    from .batch import _job_deadline

    source = sub.source
    folder = source.is_dir()
    payload = pack(source, folder_files(source)).data if folder else source.read_bytes()
    return Task(
        student=sub.student,
        source_name=source.name,
        payload=payload,
        folder=folder,
        submission_digest=sub.digest,
        profile=gopts.profile,
        sandboxed=gopts.sandboxed,
        seed=gopts.seed,
        kernel_python=gopts.kernel_python,
        spec_digest=assignment.digest,
        assignment_name=assignment.root.name,
        assignment=bundles[0].digest,
        data=bundles[1].digest if bundles[1] is not None else None,
        grader=grader_digest(),
        deadline_s=_job_deadline(assignment),
        gpu=(gpu_plan.per_gpu, gpu_plan.memory_mb) if gpu_plan is not None else None,
    )


def run_task(task: Task, assignment_ref: list[Any], data_ref: list[Any]) -> dict[str, Any]:
    """The Ray task (on a node): the bundles from the cache (fetched from the object
    store the first time: the refs come wrapped in lists so Ray does not fetch them for
    every task), then `grade_here`. Returns {"result": dict, "node": name}, or
    {"refused": why, "node": name} when this node runs another grader."""
    node = socket.gethostname()
    if task.grader != grader_digest():
        return {
            "node": node,
            "refused": msg(
                f"node {node} runs another version of the grader (code {grader_digest()}, the driver's "
                f"{task.grader}): install the same grader on every node",
                f"노드 {node} 의 채점기 버전이 다릅니다 (코드 {grader_digest()}, 드라이버 {task.grader}): "
                "모든 노드에 같은 채점기를 설치하세요",
            ),
        }
    import ray

    cache = cache_root()
    assignment_dir = ensure(cache, task.assignment, lambda: ray.get(assignment_ref[0])) / task.assignment_name
    if task.data is not None:
        data_root = ensure(cache, task.data, lambda: ray.get(data_ref[0]))
    else:
        data_root = cache / "no-data"
        data_root.mkdir(parents=True, exist_ok=True)
    return {"node": node, "result": grade_here(task, assignment_dir, data_root).to_dict()}


_swept = False


def grade_here(task: Task, assignment_dir: Path, data_root: Path) -> SubmissionResult:
    """Grade one submission on this machine as the local batch does: the same worker
    command and job file, the same limits, deadline and kill, the same reading of what
    the worker left (see grader.batch)."""
    from .batch import _kill_group, _read_result, popen_worker
    from .i18n import msg
    from .job import GradeOptions, error_result
    from .spec import load_assignment
    from .worker import over_limits

    global _swept
    if not _swept:  # once per Ray worker process: what a task killed with its node left here
        sandbox.sweep_stale_cgroups()
        scratch.sweep()
        _swept = True
    assignment = load_assignment(assignment_dir)
    if assignment.digest != task.spec_digest:  # the bundle is the driver's folder: a grader bug
        raise RuntimeError(f"assignment digest {assignment.digest} on the node, {task.spec_digest} on the driver")
    gopts = GradeOptions(
        profile=task.profile,
        sandboxed=task.sandboxed,
        seed=task.seed,
        data_root=data_root,
        kernel_python=task.kernel_python,
    )
    if "/" in task.source_name or task.source_name in ("", ".", ".."):
        raise RuntimeError(f"submission name {task.source_name!r} is not a file name")
    work = scratch.make("ray")
    source = work / "submission" / task.source_name
    sub = Submission(task.student, source, digest=task.submission_digest)
    proc: subprocess.Popen[bytes] | None = None
    try:
        source.parent.mkdir()
        if task.folder:
            source.mkdir()
            unpack(task.payload, source)
        else:
            source.write_bytes(task.payload)
        job = work / "job.json"
        job.write_text(
            json.dumps(
                {
                    "assignment": str(assignment_dir),
                    "student": task.student,
                    "source": str(source),
                    "profile": task.profile,
                    "sandboxed": task.sandboxed,
                    "seed": task.seed,
                    "data_root": str(data_root),
                    "kernel_python": task.kernel_python,
                    "result": str(job.with_suffix(".result.json")),
                    "parent_pid": os.getpid(),
                    "gpu": _node_gpu(task),
                }
            ),
            encoding="utf-8",
        )
        env = worker_env(os.environ)
        lim = assignment.limits
        # A Ray worker blocks SIGINT, and a blocked signal stays blocked across exec: the
        # kernel would never see the SIGINT with which it interrupts a cell that ran out
        # of time. The worker starts with no signal blocked, as it does from `grade`.
        mask = signal.pthread_sigmask(signal.SIG_SETMASK, set())
        try:
            proc = popen_worker(job, env)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        t0 = time.monotonic()
        while (rc := proc.poll()) is None:
            over = over_limits(proc.pid, lim.worker_memory_mb, lim.worker_cpu_s)
            if over is None and time.monotonic() - t0 < task.deadline_s:
                time.sleep(0.05)
                continue
            _kill_group(proc)
            proc = None
            reason = over or msg(
                f"grading took longer than {task.deadline_s:.0f} s and was stopped",
                f"채점이 {task.deadline_s:.0f}초를 넘겨 중단되었습니다",
            )
            return error_result(assignment, sub, gopts, reason)
        proc = None
        return _read_result(assignment, sub, gopts, job, rc)
    finally:
        if proc is not None:
            _kill_group(proc)
        shutil.rmtree(work, ignore_errors=True)


def _node_gpu(task: Task) -> dict[str, Any] | None:
    """The job file's GPU slot for a task Ray gave a GPU share: made on this node from
    the device Ray set in CUDA_VISIBLE_DEVICES, with the run's --per-gpu and
    --gpu-memory-mb (grader/gpus.py); the worker and the kernel then hold it as they
    do under `grade --gpus` on one machine. A node that cannot (no such device, no
    nvidia-smi) stops the batch with its reason: the cluster's fault, not the student's."""
    if task.gpu is None:
        return None
    per_gpu, memory_mb = task.gpu
    return gpus.node_slot(os.environ.get("CUDA_VISIBLE_DEVICES", ""), per_gpu, memory_mb).to_json()


def worker_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment on a node: the node's, less what Ray sets in its worker
    processes (RAY_*, OMP_NUM_THREADS=1 for a one-CPU task, its debugger and process
    title hooks), so the worker and what it starts see what they see under `grade`; the
    grader's package first on PYTHONPATH, as the local batch puts it. Ray's
    CUDA_VISIBLE_DEVICES (the task's GPU share) stays."""
    env = {
        k: v
        for k, v in environ.items()
        if not k.startswith("RAY_")
        and k not in ("OMP_NUM_THREADS", "SPT_NOENV")
        and not (k == "PYTHONBREAKPOINT" and v.startswith("ray."))
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    return env


# ----------------------------------------------------------------------- the driver


@dataclass(frozen=True)
class Placement:
    """What one task asks of a node: a CPU, and, when the run has GPU slots (`--gpus`
    with `--per-gpu K`, `RunOptions.gpu_plan`), 1/K of a GPU, which Ray hands the task
    as CUDA_VISIBLE_DEVICES; the node makes the kernel's slot on that device
    (`_node_gpu`)."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0

    @classmethod
    def of(cls, opts: RunOptions) -> Placement:
        if opts.gpu_plan is None:
            return cls()
        return cls(num_cpus=1.0, num_gpus=1.0 / max(1, opts.gpu_plan.per_gpu))

    def slots(self, resources: dict[str, float]) -> int:
        """How many tasks the cluster (`ray.cluster_resources()`) runs at once."""
        n = int(resources.get("CPU", 0.0) / self.num_cpus + 1e-9)
        if self.num_gpus:
            n = min(n, int(resources.get("GPU", 0.0) / self.num_gpus + 1e-9))
        return n


def receive(payload: Any, sub: Submission, assignment: Assignment) -> SubmissionResult:
    """A task's answer back as the submission's result. A node on another grader is a
    ClusterError (the batch stops); an answer about another student or assignment is a
    grader bug and keeps its traceback."""
    if not isinstance(payload, dict) or not ("result" in payload or "refused" in payload):
        raise RuntimeError(f"a Ray task for {sub.student} answered {type(payload).__name__}, not a result")
    if "refused" in payload:
        raise ClusterError(payload["refused"])
    result = SubmissionResult.from_dict(payload["result"])
    if (result.student, result.assignment, result.spec_digest) != (sub.student, assignment.name, assignment.digest):
        raise RuntimeError(
            f"a Ray task for {sub.student} of {assignment.name} answered for {result.student} of {result.assignment}"
        )
    return result


def lost_result(assignment: Assignment, sub: Submission, gopts: GradeOptions, exc: BaseException) -> SubmissionResult:
    """The error result of a submission whose task died every time Ray ran it."""
    from .job import error_result

    why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return error_result(
        assignment,
        sub,
        gopts,
        msg(
            f"the grader failed on this submission: its Ray task died {MAX_RETRIES + 1} times "
            f"(a node died or the task's process was killed; {why[:200]})",
            f"이 제출물 채점에 실패했습니다: Ray 작업이 {MAX_RETRIES + 1}번 죽었습니다 "
            f"(노드가 죽었거나 작업 프로세스가 종료됨; {why[:200]})",
        ),
    )


def connect(ray: Any, address: str) -> bool:
    """Join the Ray cluster at `address` ('host:port', or 'auto': the cluster this
    machine is in); True when this call connected (then the batch disconnects at its
    end), False when the process was connected already."""
    if ray.is_initialized():
        return False
    try:
        _probe(address)  # Ray itself retries an unreachable head for minutes, logging all the while
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (OSError, RuntimeError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(
            msg(
                f"cannot reach the Ray cluster at {address} ({why}); is its head running (ray start --head)? "
                "A head with token authentication also needs RAY_AUTH_MODE=token here",
                f"{address} 의 Ray 클러스터에 연결할 수 없습니다 ({why}); 헤드가 실행 중인가요 (ray start --head)? "
                "토큰 인증을 쓰는 헤드라면 여기에도 RAY_AUTH_MODE=token 이 필요합니다",
            )
        ) from None
    return True


def _probe(address: str, timeout: float = 5.0) -> None:
    """Raise OSError at once when `address` names a host:port nothing listens on."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # 'auto', or a ray:// client address: Ray's own lookup
    with socket.create_connection((host, int(port)), timeout=timeout):
        pass


def schedule(
    assignment: Assignment,
    todo: list[Submission],
    gopts: GradeOptions,
    opts: RunOptions,
    say: Callable[[str], None],
) -> Iterator[SubmissionResult]:
    """Grade `todo` on the Ray cluster at `opts.ray`; yield each result as it arrives
    (the same lines and progress events as the local batch). At most as many tasks are
    in flight as the cluster has room for, so a task starts when it is submitted and
    the progress shows who is being graded."""
    if not todo:
        return
    from .batch import _line
    from .datastore import DataStore
    from .job import error_result

    ray = require_ray()
    address = opts.ray or "auto"
    connected_here = connect(ray, address)
    placement = Placement.of(opts)
    in_flight: dict[Any, Submission] = {}
    try:
        abundle = pack_assignment(assignment)
        dbundle = None
        if assignment.datasets:
            store = DataStore(gopts.data_root)
            dbundle = pack_data(store, assignment.datasets, assignment.profiles[gopts.profile])
        aref = ray.put(abundle.data)
        dref = ray.put(dbundle.data) if dbundle is not None else None
        remote = ray.remote(run_task).options(
            num_cpus=placement.num_cpus,
            num_gpus=placement.num_gpus,
            max_retries=MAX_RETRIES,
            retry_exceptions=False,
        )
        events = progress.events_of(say)
        tally = getattr(say, "tally", None)
        queue = list(todo)
        while queue or in_flight:
            if queue:
                slots = placement.slots(ray.cluster_resources())
                if slots < 1:
                    need = f"{placement.num_gpus:g} GPU" if placement.num_gpus else f"{placement.num_cpus:g} CPU"
                    raise ClusterError(
                        msg(
                            f"the Ray cluster at {address} has no node with room for a task ({need})",
                            f"{address} 의 Ray 클러스터에 작업을 실행할 자리가 있는 노드가 없습니다 ({need})",
                        )
                    )
                if isinstance(tally, progress.Tally):
                    tally.workers = slots  # the ETA spreads the work over the cluster, not --workers
                while queue and len(in_flight) < slots:
                    sub = queue.pop(0)
                    events.started(sub.student)
                    try:
                        task = make_task(sub, assignment, gopts, (abundle, dbundle), opts.gpu_plan)
                    except OSError as exc:  # gone or unreadable since it was collected: this one only
                        result = error_result(
                            assignment, sub, gopts, f"{sub.source.name}: cannot be read ({exc.strerror or exc})"
                        )
                        say(_line(result))
                        events.finished(sub.student, ok=False)
                        yield result
                        continue
                    in_flight[remote.remote(task, [aref], [dref])] = sub
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in ready:
                sub = in_flight.pop(ref)
                try:
                    payload = ray.get(ref)
                except ray.exceptions.RayTaskError:
                    raise  # the task itself failed: a grader bug, with the node's traceback
                except ray.exceptions.RayError as exc:
                    result = lost_result(assignment, sub, gopts, exc)
                else:
                    result = receive(payload, sub, assignment)
                say(_line(result))
                events.finished(sub.student, ok=result.error is None)
                yield result
    finally:
        for ref in in_flight:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        if connected_here:
            ray.shutdown()
