"""The warm kernel pool (grader/pool.py): kernels started ahead of need, each given one
submission.

The bookkeeping is tested without kernels, over members that only say whether they are
alive and ready: which member a job goes to, that no member is handed out twice, that
dead and aged members are replaced, and how many fit in the memory available. The
slow tests grade real notebooks through warm workers: the same scores as without the
pool, a kernel killed while it waits is replaced, and a submission's files reach a
kernel started before it was known.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from grader import proctree
from grader.batch import RunOptions, run
from grader.cli import main as grade_main
from grader.execute import KernelSession
from grader.pool import (
    EARLY_DEATHS,
    WarmPool,
    WarmWorker,
    kernel_estimate_mb,
    mem_available_mb,
    pool_size,
)
from grader.prefork import ForkServer
from grader.spec import Limits, Profile, load_assignment
from grader.worker import over_limits

REPO = Path(__file__).resolve().parent.parent


class FakeMember:
    def __init__(self, n: int) -> None:
        self.n = n
        self.is_alive = True
        self.is_ready = False
        self.killed = False

    def alive(self) -> bool:
        return self.is_alive and not self.killed

    def ready(self) -> bool:
        return self.is_ready

    def kill(self) -> None:
        self.killed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _pool(
    size: int, max_idle_s: float = 100.0, first: int | None = None
) -> tuple[WarmPool[FakeMember], list[FakeMember], Clock]:
    made: list[FakeMember] = []
    clock = Clock()

    def spawn() -> FakeMember:
        made.append(FakeMember(len(made)))
        return made[-1]

    return WarmPool(size, spawn, max_idle_s=max_idle_s, clock=clock, first=first), made, clock


def test_a_job_goes_to_a_ready_member_first_then_to_the_one_started_first() -> None:
    pool, made, _ = _pool(3)
    pool.maintain(jobs_left=10)
    assert len(made) == 3
    made[2].is_ready = True
    assert pool.take() is made[2]
    assert pool.take() is made[0]  # none ready: the one furthest along
    assert len(pool) == 1


def test_no_member_is_ever_handed_out_twice() -> None:
    pool, made, _ = _pool(2)
    given: list[FakeMember] = []
    for _ in range(20):
        pool.maintain(jobs_left=50)
        for m in made:
            m.is_ready = True
        member = pool.take()
        assert member is not None
        given.append(member)
    assert len({id(m) for m in given}) == 20
    assert pool.spawned == len(made)


def test_a_member_that_died_waiting_is_replaced() -> None:
    pool, made, _ = _pool(2)
    pool.maintain(jobs_left=10)
    made[0].is_ready = True
    made[0].is_alive = False  # its kernel died while it waited: the worker exited
    pool.maintain(jobs_left=10)
    assert pool.replaced_dead == 1
    assert len(pool) == 2 and len(made) == 3
    assert pool.take() is made[1]  # never the dead one


def test_a_member_waiting_longer_than_the_limit_is_killed_and_replaced() -> None:
    pool, made, clock = _pool(1, max_idle_s=60)
    pool.maintain(jobs_left=5)
    clock.now = 59
    pool.maintain(jobs_left=5)
    assert pool.replaced_aged == 0 and len(made) == 1
    clock.now = 61
    pool.maintain(jobs_left=5)
    assert made[0].killed and pool.replaced_aged == 1
    assert len(made) == 2 and pool.take() is made[1]


def test_no_more_members_start_than_jobs_are_left_for() -> None:
    pool, made, _ = _pool(4)
    pool.maintain(jobs_left=1)
    assert len(made) == 1
    pool.maintain(jobs_left=0)
    assert len(made) == 1


def test_only_the_first_members_start_until_one_is_ready_or_a_job_is_handed_out() -> None:
    pool, made, _ = _pool(4, first=1)
    pool.maintain(jobs_left=10)
    pool.maintain(jobs_left=10)
    assert len(made) == 1  # the first job is not made to wait for four kernels sharing the cores
    made[0].is_ready = True
    pool.maintain(jobs_left=10)
    assert len(made) == 4


def test_a_job_handed_to_a_member_still_starting_lets_the_pool_fill() -> None:
    pool, made, _ = _pool(3, first=1)
    pool.maintain(jobs_left=10)
    assert pool.take() is made[0]  # not ready yet: the job waits on it
    pool.maintain(jobs_left=9)
    assert len(made) == 4 and len(pool) == 3


def test_members_dying_before_they_are_ready_turn_the_pool_off() -> None:
    pool, made, _ = _pool(1)
    for _ in range(EARLY_DEATHS):
        pool.maintain(jobs_left=10)
        made[-1].is_alive = False
    pool.maintain(jobs_left=10)
    assert pool.off is not None
    assert len(made) == EARLY_DEATHS  # no endless restarts
    assert pool.take() is None


def test_pool_size_follows_workers_and_the_memory_available() -> None:
    assert pool_size(None, 2, per_kernel_mb=600, available_mb=None) == 4  # two per worker
    assert pool_size(None, 2, per_kernel_mb=600, available_mb=10_000) == 4
    assert pool_size(None, 2, per_kernel_mb=600, available_mb=3000) == 3  # what fits beside the 2 running
    assert pool_size(5, 2, per_kernel_mb=600, available_mb=10_000) == 5
    # 3000 MB: 5 kernels, 2 of them running: 3 may wait
    assert pool_size(8, 2, per_kernel_mb=600, available_mb=3000) == 3
    assert pool_size(None, 4, per_kernel_mb=600, available_mb=2000) == 0  # no room beside the running ones
    assert pool_size(0, 2, per_kernel_mb=200, available_mb=10_000) == 0


def test_a_tensorflow_kernel_is_counted_larger(tmp_path: Path) -> None:
    assert kernel_estimate_mb(("tensorflow",), False) > kernel_estimate_mb(("numpy",), False)
    assert kernel_estimate_mb(("tensorflow",), True) > kernel_estimate_mb(("tensorflow",), False)
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemAvailable:    2048000 kB\n")
    assert mem_available_mb(info) == 2000
    assert mem_available_mb(tmp_path / "absent") is None


def test_a_warm_worker_refuses_a_second_job(tmp_path: Path) -> None:
    tests = str(Path(__file__).resolve().parent)
    server = ForkServer(dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), tests])), preload="json")
    try:
        env = dict(os.environ)
        proc = server.fork([], tmp_path / "w.log", env, with_input=True, target="fork_targets:read_input")
        worker = WarmWorker(proc, tmp_path / "w.json")
        try:
            worker.give("ann", tmp_path / "ann.ipynb")
            with pytest.raises(RuntimeError, match="second job"):
                worker.give("bob", tmp_path / "bob.ipynb")
        finally:
            worker.kill()
        assert not worker.alive()
    finally:
        server.close()


def test_cpu_used_before_the_job_is_not_counted_against_it() -> None:
    spent = time.process_time() + 0.05
    assert over_limits(os.getpid(), 1e9, 0.01) is not None
    assert over_limits(os.getpid(), 1e9, 0.01, cpu_before=spent + 10) is None


def test_pool_and_no_pool_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert grade_main(["assignments/cnn_filters", "examples/submissions/cnn_filters", "--pool", "-1"]) != 0
    assert "--pool -1:" in capsys.readouterr().err  # in English or Korean
    with pytest.raises(SystemExit):
        grade_main(["assignments/cnn_filters", "examples/submissions/cnn_filters", "--pool", "2", "--no-pool"])
    assert "not allowed with" in capsys.readouterr().err


# ---------------------------------------------------------------------------- slow


def _graded(name: str, pool: int, tmp_path: Path, workers: int = 1) -> dict[str, tuple[float, tuple[float, ...]]]:
    assignment = load_assignment(REPO / "assignments" / name)
    opts = RunOptions(
        profile="fast",
        sandboxed=True,
        workers=workers,
        regrade=True,
        gradebook=tmp_path / f"book-{pool}.sqlite",
        data_root=REPO / ".grader" / "data",
        reports_dir=tmp_path / "reports",
        seed=7,
        pool=pool,
    )
    summary = run(assignment, REPO / "examples" / "submissions" / name, opts, say=lambda _: None)
    return {r.student: (r.score, tuple(c.points for c in r.checks)) for r in summary.graded if r.error is None}


@pytest.mark.slow
def test_a_batch_graded_through_the_pool_scores_as_without_it(tmp_path: Path) -> None:
    cold = _graded("cnn_filters", 0, tmp_path)
    warm = _graded("cnn_filters", 2, tmp_path)
    assert len(cold) >= 5
    assert warm == cold


def _kernel_pids(worker_pid: int) -> list[int]:
    return [p for p in proctree.descendants(worker_pid) if p != worker_pid]


def _cnn_filters_settings() -> dict[str, object]:
    """A warm worker's settings for cnn_filters, sandboxed, as `grade` writes them."""
    return {
        "assignment": str(load_assignment(REPO / "assignments" / "cnn_filters").root),
        "profile": "fast",
        "sandboxed": True,
        "seed": 1,
        "data_root": str(REPO / ".grader" / "data"),
        "kernel_python": None,
        "parent_pid": os.getpid(),
    }


@pytest.mark.slow
def test_a_warm_kernel_killed_while_it_waits_is_replaced(tmp_path: Path) -> None:
    settings = _cnn_filters_settings()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    n = iter(range(100))
    server = ForkServer(env)
    pool = WarmPool(1, lambda: WarmWorker.spawn(server, tmp_path / f"w{next(n)}.json", settings, env))
    try:
        pool.maintain(jobs_left=5)
        first = pool._waiting[0].member
        deadline = time.monotonic() + 60
        while not first.ready():
            assert time.monotonic() < deadline, (tmp_path / "w0.log").read_text(errors="replace")
            time.sleep(0.1)
        kernels = _kernel_pids(first.proc.pid)
        assert kernels, "the warm worker has no kernel below it"
        for pid in kernels:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        while pool.replaced_dead == 0:
            assert time.monotonic() < deadline, "the worker did not notice its kernel died"
            pool.maintain(jobs_left=5)
            time.sleep(0.1)
        assert first.proc.wait() == 4  # KERNEL_DIED
        second = pool.take()
        assert second is not None and second is not first and second.alive()
        second.kill()
    finally:
        pool.close()
        server.close()


@pytest.mark.slow
def test_files_reach_a_kernel_started_before_the_submission_was_known(tmp_path: Path) -> None:
    limits = Limits()
    session = KernelSession(limits=limits, profile=Profile(name="fast"), data_dir=None, sandboxed=True).start()
    try:
        session.deliver_files({"data/notes.txt": b"hello", "big.bin": bytes(range(256)) * 40_000})
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    "import os\n"
                    "print(open('data/notes.txt').read(), os.path.getsize('big.bin'))\n"
                    "try:\n    open('big.bin', 'ab')\nexcept PermissionError:\n    print('read-only')"
                )
            ]
        )
        result = session.run_notebook(nb)
    finally:
        session.__exit__(None, None, None)
    assert [c.status for c in result.cells] == ["ok"]
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "hello 10240000" in text and "read-only" in text




def test_the_batch_hands_each_warm_worker_one_job_within_the_worker_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from grader import batch, pool
    from grader.job import GradeOptions
    from grader.results import SubmissionResult
    from grader.submissions import Submission

    tests = str(Path(__file__).resolve().parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FAKE_WARM_PIDS", str(pids))
    monkeypatch.setattr(pool, "WARM_WORKER", "fork_targets:fake_warm")  # tests/fork_targets.py
    seen: list[int] = []

    def from_dict(d: dict[str, object]) -> SubmissionResult:
        seen.append(int(str(d["pid"])))
        return batch.error_result(assignment, Submission(str(d["student"]), tmp_path), gopts, "fake ok")

    monkeypatch.setattr(batch.SubmissionResult, "from_dict", staticmethod(from_dict))
    assignment = load_assignment(REPO / "assignments" / "cnn_filters")
    small = Limits()
    object.__setattr__(small, "worker_memory_mb", 200)
    object.__setattr__(small, "worker_cpu_s", 1.0)
    assignment = dataclasses.replace(assignment, limits=small)
    gopts = GradeOptions(profile="fast", sandboxed=False, seed=1, data_root=tmp_path)
    opts = batch.RunOptions(
        profile="fast",
        sandboxed=False,
        workers=2,
        regrade=False,
        gradebook=tmp_path / "gb.sqlite",
        data_root=tmp_path,
        reports_dir=tmp_path / "reports",
        pool=2,
    )
    students = ["ok", "hog", "ok", "crash", "ok", "ok"]
    todo = [Submission(s, tmp_path / f"{s}{i}.ipynb", digest=s) for i, s in enumerate(students)]
    started = time.monotonic()
    results = list(batch._schedule(assignment, todo, gopts, opts, lambda _: None))  # noqa: SLF001
    assert time.monotonic() - started < 60  # the hog is stopped, not waited for (30 s each)
    errors = sorted((r.student, r.error or "") for r in results)
    assert [s for s, _ in errors] == sorted(students)
    assert "over 200 MB of memory" in dict(errors)["hog"]
    assert "killed by SIGSEGV" in dict(errors)["crash"]
    assert len(seen) == 4 and len(set(seen)) == 4  # four jobs done, each by a worker of its own
    started = [int(p.name) for p in pids.iterdir()]
    assert len(started) >= 4
    assert not [pid for pid in started if proctree.alive(pid)], "a warm worker outlived the batch"


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_a_warm_worker_killed_while_its_kernel_starts_leaves_nothing_running(tmp_path: Path) -> None:
    """`grade` killed: its warm workers die with it (PDEATHSIG), some of them in the
    middle of starting a kernel. None of those kernels may outlive them."""
    import random

    settings = _cnn_filters_settings()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(0)
    server = ForkServer(env)
    try:
        for i in range(6):
            worker = WarmWorker.spawn(server, tmp_path / f"w{i}.json", settings, env)
            time.sleep(rng.uniform(0.3, 2.5))
            os.kill(worker.proc.pid, signal.SIGKILL)  # the worker alone, as PDEATHSIG does
            worker.proc.wait()
            worker.proc.close_input()
            mark = f"grader-k-{worker.proc.pid}-"
            deadline = time.monotonic() + 10
            while _processes_mentioning(mark):
                assert time.monotonic() < deadline, f"a kernel outlived its warm worker (killed after attempt {i})"
                time.sleep(0.2)
    finally:
        server.close()
