"""Grading on a Ray cluster (grader/cluster.py).

Fast tests: the bundles (deterministic, unpacked once per digest, nothing landing
outside its folder), the node side without Ray (the worker command, its kill), the
transport of results, and the driver's bookkeeping against a stand-in for the `ray`
module. Slow tests (marked): a real Ray cluster, from $GRADER_RAY_ADDRESS (.ci/run
starts one) or started here, grades real notebooks in real sandboxed kernels.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import batch, cluster, progress
from grader.cli import main as grade_main
from grader.datastore import DataStore
from grader.errors import UsageError
from grader.gradebook import Gradebook
from grader.job import GradeOptions
from grader.results import Answer, CellIssue, CheckResult, SubmissionResult
from grader.spec import DEFAULT_PROFILES, Profile, load_assignment
from grader.submissions import read_submission

REPO = Path(__file__).resolve().parent.parent
CONV = REPO / "assignments" / "conv2d_simple"
EXAMPLES = REPO / "examples" / "submissions" / "conv2d_simple"


# ----------------------------------------------------------------------- bundles


def _tar(entries: list[tarfile.TarInfo], content: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info in entries:
            if info.isreg():
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return buf.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_a_bundle_names_its_content_not_its_file_times(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "tests" / "t.py").write_text("two")
    first = cluster.pack(tmp_path, cluster.folder_files(tmp_path))
    os.utime(tmp_path / "a.txt", (1, 1))
    assert cluster.pack(tmp_path, cluster.folder_files(tmp_path)) == first
    (tmp_path / "a.txt").write_text("changed")
    assert cluster.pack(tmp_path, cluster.folder_files(tmp_path)).digest != first.digest


def test_a_folder_bundle_leaves_out_hidden_files_caches_and_links(tmp_path: Path) -> None:
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("secret")
    (tmp_path / "nb.ipynb").write_text("{}")
    (tmp_path / "link").symlink_to("/etc/passwd")
    assert cluster.folder_files(tmp_path) == ["nb.ipynb"]


def test_the_assignment_arrives_whole_under_its_own_name(tmp_path: Path) -> None:
    """The node loads the same assignment: same name, same digest of spec and tests
    (public and hidden), so the driver's gradebook recognises what it graded."""
    spec = load_assignment(CONV)
    bundle = cluster.pack_assignment(spec)
    folder = cluster.ensure(tmp_path / "cache", bundle.digest, lambda: bundle.data) / CONV.name
    there = load_assignment(folder)
    assert (there.name, there.digest, there.points) == (spec.name, spec.digest, spec.points)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*.py")) == sorted(
        p.relative_to(CONV) for p in CONV.rglob("*.py") if "__pycache__" not in p.parts
    )


def test_a_bundle_is_unpacked_once_per_digest_read_only(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.npz").write_bytes(b"data")
    bundle = cluster.pack(src, ["f.npz"])
    fetched: list[int] = []

    def fetch() -> bytes:
        fetched.append(1)
        return bundle.data

    cache = tmp_path / "cache"
    a = cluster.ensure(cache, bundle.digest, fetch)
    b = cluster.ensure(cache, bundle.digest, fetch)
    assert a == b == cache / bundle.digest
    assert len(fetched) == 1  # the second task on the node fetches nothing
    assert (a / "f.npz").read_bytes() == b"data"
    assert stat.S_IMODE((a / "f.npz").stat().st_mode) == 0o444
    assert [p.name for p in cache.iterdir()] == [bundle.digest]  # no private folder left behind


def test_a_damaged_bundle_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"data")
    bundle = cluster.pack(src, ["f"])
    cache = tmp_path / "cache"
    with pytest.raises(cluster.ClusterError, match="damaged"):
        cluster.ensure(cache, bundle.digest, lambda: bundle.data[:-512] + b"\0" * 512 + b"!")
    with pytest.raises(cluster.ClusterError, match="digest"):
        cluster.ensure(cache, "../../etc", lambda: bundle.data)
    assert not (cache / bundle.digest).exists()


@pytest.mark.parametrize(
    "entry",
    [
        _entry("../escaped"),
        _entry("/tmp/escaped-absolute"),
        _entry("a/../../escaped"),
        _entry("link", tarfile.SYMTYPE, "/etc"),
        _entry("hard", tarfile.LNKTYPE, "/etc/passwd"),
        _entry("dev", tarfile.CHRTYPE),
        _entry("fifo", tarfile.FIFOTYPE),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink", "hardlink", "device", "fifo"],
)
def test_no_bundle_entry_lands_outside_its_folder(tmp_path: Path, entry: tarfile.TarInfo) -> None:
    dest = tmp_path / "a" / "b"
    dest.mkdir(parents=True)
    data = _tar([_entry("ok.txt"), entry])
    before = sorted(p for p in Path("/tmp").glob("escaped*"))
    with pytest.raises(cluster.ClusterError, match=entry.name.replace(".", r"\.")):
        cluster.unpack(data, dest)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == [
        Path("a"),
        Path("a/b"),
        Path("a/b/ok.txt"),
    ]
    assert sorted(p for p in Path("/tmp").glob("escaped*")) == before


def test_bundles_unused_for_a_week_are_removed_from_a_node(tmp_path: Path) -> None:
    for name in ("old", "fresh", "keep"):
        (tmp_path / name).mkdir()
    week_ago = time.time() - cluster.CACHE_KEEP_S - 60
    os.utime(tmp_path / "old", (week_ago, week_ago))
    os.utime(tmp_path / "keep", (week_ago, week_ago))
    assert cluster._evict(tmp_path, keep="keep") == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "keep"]


def _tiny_store(root: Path) -> DataStore:
    rng = np.random.default_rng(0)
    npz = root / "tiny.npz"
    root.mkdir(parents=True, exist_ok=True)
    np.savez(
        npz,
        x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 40, dtype=np.uint8),
        x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 20, dtype=np.uint8),
    )
    store = DataStore(root / "store", sizes=None, system_sources={})
    store.import_files("mnist", npz)
    return store


@pytest.mark.parametrize(
    "profile",
    [
        DEFAULT_PROFILES["full"],
        Profile("fast", max_epochs=3, train_subset=10, test_subset=5),
        DEFAULT_PROFILES["smoke"],
    ],
    ids=["full", "fast", "smoke"],
)
def test_a_node_serves_the_same_data_and_data_notes_as_the_driver(tmp_path: Path, profile: Profile) -> None:
    """The data bundle holds what the store needs to serve the profile's arrays, and the
    line the report says about them, exactly as the driver's store would."""
    here = _tiny_store(tmp_path / "driver")
    bundle = cluster.pack_data(here, ["mnist"], profile)
    node = DataStore(cluster.ensure(tmp_path / "cache", bundle.digest, lambda: bundle.data))
    (a_train, a_test), (b_train, b_test) = here.arrays("mnist", profile), node.arrays("mnist", profile)
    for x, y in ((a_train, b_train), (a_test, b_test)):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    assert node.describe("mnist", profile) == here.describe("mnist", profile)
    if profile.synthetic:
        assert cluster.data_files(here, ["mnist"], profile) == ["mnist/smoke-v1.npz"]


# ----------------------------------------------------------------------- results in transit


def _result(student: str = "kim", **kw: Any) -> SubmissionResult:
    spec = load_assignment(CONV)
    base = SubmissionResult(
        student=student,
        assignment=spec.name,
        assignment_version=spec.version,
        spec_digest=spec.digest,
        submission_digest="abc",
        profile="smoke",
        sandboxed=True,
        score=7.5,
        max_score=18.0,
        checks=(CheckResult("test_a", False, 2.0, 2.0, "passed", "좋아요", 0.1, "trusted"),),
        cell_issues=(CellIssue(3, "error", "ValueError", "bad", 4, "x = 1"),),
        events=("kernel restarted",),
        answers=(Answer("q1", "답: 합성곱"),),
        seed=5,
        flags=("cell 2 names _grader",),
        profile_notes=("data set mnist: synthetic",),
        extra={"node": {"a": [1, 2]}},
    )
    return replace(base, **kw)


def test_a_result_crosses_as_plain_data_and_comes_back_equal() -> None:
    spec = load_assignment(CONV)
    sent = _result()
    payload = {"node": "n1", "result": sent.to_dict()}
    for wire in (pickle.loads(pickle.dumps(payload)), json.loads(json.dumps(payload))):  # Ray pickles; JSON too
        got = cluster.receive(wire, _sub("kim"), spec)
        assert got == sent


def test_an_answer_about_another_student_is_a_grader_bug_not_a_score() -> None:
    spec = load_assignment(CONV)
    with pytest.raises(RuntimeError, match="answered for lee"):
        cluster.receive({"node": "n1", "result": _result("lee").to_dict()}, _sub("kim"), spec)
    with pytest.raises(RuntimeError, match="not a result"):
        cluster.receive(["no"], _sub("kim"), spec)


def test_a_node_on_another_grader_stops_the_batch_saying_which() -> None:
    spec = load_assignment(CONV)
    task = replace(_task(), grader="0" * 16)
    payload = cluster.run_task(task, [], [])  # refuses before it needs Ray
    with pytest.raises(cluster.ClusterError, match="runs another version of the grader"):
        cluster.receive(payload, _sub("kim"), spec)


# ----------------------------------------------------------------------- the node side


def _sub(student: str, source: Path | None = None) -> Any:
    from grader.submissions import Submission

    return Submission(student, source or Path(f"/x/{student}.ipynb"), digest="abc")


def _gopts(tmp_path: Path) -> GradeOptions:
    return GradeOptions(profile="smoke", sandboxed=True, seed=1, data_root=tmp_path / "data")


def _task(**kw: Any) -> cluster.Task:
    spec = load_assignment(CONV)
    base = cluster.Task(
        student="kim",
        source_name="kim.ipynb",
        payload=(EXAMPLES / "kim_minji.ipynb").read_bytes(),
        folder=False,
        submission_digest="abc",
        profile="smoke",
        sandboxed=True,
        seed=1,
        kernel_python=None,
        spec_digest=spec.digest,
        assignment_name=CONV.name,
        assignment="0" * 32,
        data=None,
        grader=cluster.grader_digest(),
        deadline_s=60.0,
    )
    return replace(base, **kw)


FAKE_WORKER = """
import json, sys
from pathlib import Path
from grader.results import SubmissionResult
from grader.spec import load_assignment
from grader.submissions import read_submission
job = json.loads(Path(sys.argv[1]).read_text())
spec = load_assignment(job["assignment"])
sub = read_submission(job["student"], Path(job["source"]), spec.notebook)
r = SubmissionResult(job["student"], spec.name, spec.version, spec.digest, sub.digest, job["profile"],
                     job["sandboxed"], 1.0, spec.max_points, source_name=sub.source.name,
                     extra={"files": sorted(sub.files), "data_root": job["data_root"]})
Path(job["result"]).write_text(json.dumps(r.to_dict()))
"""


def test_a_folder_submission_reaches_the_worker_as_the_driver_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker on the node reads the same notebook and files (same digest) from the
    bytes that travelled with the task, under the submission's own name."""
    folder = tmp_path / "subs" / "kim"
    (folder / "img").mkdir(parents=True)
    shutil.copy(EXAMPLES / "kim_minji.ipynb", folder / "conv2d_simple.ipynb")
    (folder / "img" / "cat.png").write_bytes(b"\x89PNG")
    (folder / ".DS_Store").write_bytes(b"junk")
    sub = read_submission("kim", folder, "conv2d_simple.ipynb")
    spec = load_assignment(CONV)
    task = cluster.make_task(sub, spec, _gopts(tmp_path), (cluster.pack_assignment(spec), None))
    monkeypatch.setattr(batch, "WORKER_ARGS", ["-c", FAKE_WORKER])
    got = cluster.grade_here(task, CONV, tmp_path / "no-data")
    assert got.error is None, got.error
    assert (got.submission_digest, got.source_name) == (sub.digest, "kim")
    assert got.extra["files"] == ["img/cat.png"]


SIGNALS_WORKER = """
import json, sys
from pathlib import Path
from grader.results import SubmissionResult
from grader.spec import load_assignment
job = json.loads(Path(sys.argv[1]).read_text())
spec = load_assignment(job["assignment"])
status = dict(line.split(":\\t") for line in Path("/proc/self/status").read_text().splitlines() if ":\\t" in line)
r = SubmissionResult(job["student"], spec.name, spec.version, spec.digest, "abc", job["profile"], True, 0.0,
                     spec.max_points, extra={"blocked": status["SigBlk"].strip()})
Path(job["result"]).write_text(json.dumps(r.to_dict()))
"""


def test_the_worker_on_a_node_starts_with_no_signal_blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray worker process blocks SIGINT, and children inherit blocked signals: the
    kernel would never get the SIGINT that interrupts a cell past its time limit."""
    monkeypatch.setattr(batch, "WORKER_ARGS", ["-c", SIGNALS_WORKER])
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # as in a Ray worker
    try:
        got = cluster.grade_here(_task(), CONV, tmp_path)
        assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == {signal.SIGINT} | before  # the task's own is kept
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert got.error is None, got.error
    assert int(got.extra["blocked"], 16) == 0


def test_the_worker_on_a_node_does_not_inherit_what_ray_sets_for_its_own_processes() -> None:
    ray_worker = {  # what a Ray 2.60 task sees besides its node's environment (measured)
        "PATH": "/usr/bin",
        "RAY_RAYLET_PID": "14312",
        "RAY_JOB_ID": "ffffffff",
        "OMP_NUM_THREADS": "1",
        "SPT_NOENV": "1",
        "PYTHONBREAKPOINT": "ray.util.rpdb.set_trace",
        "CUDA_VISIBLE_DEVICES": "0",
        "PYTHONPATH": "/opt/extra",
    }
    env = cluster.worker_env(ray_worker)
    assert env == {
        "PATH": "/usr/bin",
        "CUDA_VISIBLE_DEVICES": "0",  # the task's GPU share, given by Ray
        "PYTHONPATH": f"{REPO}{os.pathsep}/opt/extra",
    }


def test_a_worker_past_its_deadline_is_killed_on_the_node_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node applies the job's deadline and kills the worker's whole tree, as the
    local batch does; the result is an error result (reported, so never retried)."""
    pidfile = tmp_path / "child.pid"
    hang = (
        "import subprocess, sys, time; "
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    monkeypatch.setattr(batch, "WORKER_ARGS", ["-c", hang])
    started = time.monotonic()
    got = cluster.grade_here(_task(deadline_s=1.5), CONV, tmp_path)
    assert time.monotonic() - started < 10
    assert got.error is not None and "longer than 2 s and was stopped" in got.error
    assert (got.student, got.score, got.submission_digest) == ("kim", 0.0, "abc")
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split(")")[1][:3]


def test_a_worker_that_dies_is_an_error_result_of_that_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "WORKER_ARGS", ["-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"])
    got = cluster.grade_here(_task(), CONV, tmp_path)
    assert got.error is not None and "killed by SIGSEGV" in got.error


# ----------------------------------------------------------------------- the driver


class FakeRayError(Exception):
    pass


class FakeTaskError(FakeRayError):
    pass


class FakeRay:
    """A stand-in for the `ray` module: runs no task, answers each with `answer(task)`
    (a payload, or an exception that `get` raises), and records what the batch did."""

    class exceptions:  # noqa: N801 (the module's attribute)
        RayError = FakeRayError
        RayTaskError = FakeTaskError

    def __init__(self, answer: Callable[[cluster.Task], Any], cpus: float = 2.0) -> None:
        self.answer = answer
        self.cpus = cpus
        self.tasks: dict[int, cluster.Task] = {}
        self.done: set[int] = set()
        self.max_in_flight = 0
        self.cancelled: list[int] = []
        self.options: dict[str, Any] = {}
        self.puts: list[bytes] = []

    def is_initialized(self) -> bool:
        return True

    def put(self, data: bytes) -> str:
        self.puts.append(data)
        return f"obj{len(self.puts)}"

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": self.cpus}

    def remote(self, fn: Any) -> Any:
        fake = self
        assert fn is cluster.run_task

        class Remote:
            def options(self, **kw: Any) -> Remote:
                fake.options = kw
                return self

            def remote(self, task: cluster.Task, aref: list[Any], dref: list[Any]) -> int:
                ref = len(fake.tasks)
                fake.tasks[ref] = task
                fake.max_in_flight = max(fake.max_in_flight, len(fake.tasks) - len(fake.done))
                return ref

        return Remote()

    def wait(self, refs: list[int], num_returns: int, timeout: float) -> tuple[list[int], list[int]]:
        return refs[:1], refs[1:]

    def get(self, ref: int) -> Any:
        self.done.add(ref)
        out = self.answer(self.tasks[ref])
        if isinstance(out, BaseException):
            raise out
        return out

    def cancel(self, ref: int, force: bool) -> None:
        self.cancelled.append(ref)

    def shutdown(self) -> None:
        raise AssertionError("the batch disconnects only where it connected")


def _answer(task: cluster.Task) -> dict[str, Any]:
    spec = load_assignment(CONV)
    r = SubmissionResult(
        task.student,
        spec.name,
        spec.version,
        task.spec_digest,
        task.submission_digest,
        task.profile,
        task.sandboxed,
        float(len(task.student)),
        spec.max_points,
        seed=task.seed,
        source_name=task.source_name,
    )
    return {"node": "n1", "result": r.to_dict()}


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("kim_minji", "lee_jun", "han_seo", "oh_daeun"):
        shutil.copy(EXAMPLES / f"{name}.ipynb", folder / f"{name}.ipynb")
    (folder / "broken.ipynb").write_text("{not json")
    return folder


def _run_opts(tmp_path: Path, **kw: Any) -> batch.RunOptions:
    base = batch.RunOptions(
        profile="smoke",
        sandboxed=True,
        workers=1,
        regrade=False,
        gradebook=tmp_path / "gradebook.sqlite",
        data_root=tmp_path / "data",
        reports_dir=tmp_path / "reports",
        seed=3,
        ray="fake:6379",
    )
    return replace(base, **kw)


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeRay]]:
    monkeypatch.setattr(batch, "check_kernel_python", lambda *a, **k: {})  # no kernel starts here

    def install(answer: Callable[[cluster.Task], Any] = _answer, cpus: float = 2.0) -> FakeRay:
        fake = FakeRay(answer, cpus)
        monkeypatch.setitem(sys.modules, "ray", fake)
        return fake

    yield install


def test_the_batch_records_what_the_cluster_graded_and_resumes(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay]
) -> None:
    spec = load_assignment(CONV)
    fake = fake_ray()
    lines: list[str] = []
    summary = batch.run(spec, subs, _run_opts(tmp_path), lines.append)
    graded = {r.student: r for r in summary.graded}
    assert {s: r.score for s, r in graded.items() if r.error is None} == {
        "kim_minji": 9.0,
        "lee_jun": 7.0,
        "han_seo": 7.0,
        "oh_daeun": 8.0,
    }
    assert graded["broken"].error  # unreadable: recorded by the driver, never sent
    assert sorted(t.student for t in fake.tasks.values()) == ["han_seo", "kim_minji", "lee_jun", "oh_daeun"]
    assert fake.max_in_flight == 2  # as many in flight as the cluster has room for, never more
    assert fake.options == {
        "num_cpus": 1.0,
        "num_gpus": 0.0,
        "max_retries": cluster.MAX_RETRIES,
        "retry_exceptions": False,
    }
    assert any("kim_minji: 9/18" in line for line in lines)
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        assert {r.student: r.score for r in book.latest(spec.name, "smoke")} == {s: r.score for s, r in graded.items()}
    # the bundles went into the object store once for the whole batch
    assert len(fake.puts) == 2
    again = fake_ray()
    summary = batch.run(spec, subs, _run_opts(tmp_path), lines.append)
    assert sorted(summary.skipped) == sorted(graded) and not again.tasks


def test_progress_counts_the_cluster_as_it_counts_local_workers(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay]
) -> None:
    out = io.StringIO()
    say = progress.PlainPresenter(out)
    fake_ray(cpus=3.0)
    batch.run(load_assignment(CONV), subs, _run_opts(tmp_path, workers=1), say)
    tally = say.tally
    assert (tally.total, tally.done, tally.errors, tally.in_flight) == (5, 5, 1, {})
    assert len(tally.durations) == 4  # one per task: started when submitted, finished when back
    assert tally.workers == 3  # the ETA spreads the work over the cluster's room, not --workers
    assert "  lee_jun: 7/18  (0.0 s)" in out.getvalue().splitlines()  # the local batch's line


def test_a_task_lost_every_time_becomes_that_submissions_error_and_the_batch_goes_on(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay]
) -> None:
    def answer(task: cluster.Task) -> Any:
        return FakeRayError("WorkerCrashedError: the worker died") if task.student == "lee_jun" else _answer(task)

    fake_ray(answer)
    summary = batch.run(load_assignment(CONV), subs, _run_opts(tmp_path), lambda line: None)
    graded = {r.student: r for r in summary.graded}
    assert graded["lee_jun"].error is not None
    assert f"died {cluster.MAX_RETRIES + 1} times" in graded["lee_jun"].error
    assert graded["lee_jun"].score == 0 and graded["lee_jun"].max_score == 18
    assert all(graded[s].error is None for s in ("kim_minji", "han_seo", "oh_daeun"))


def test_a_grader_bug_on_a_node_keeps_its_traceback_and_cancels_the_rest(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay]
) -> None:
    def answer(task: cluster.Task) -> Any:
        return FakeTaskError("Traceback: KeyError in grade_here") if task.student == "han_seo" else _answer(task)

    fake = fake_ray(answer)
    with pytest.raises(FakeTaskError):
        batch.run(load_assignment(CONV), subs, _run_opts(tmp_path), lambda line: None)
    assert fake.cancelled  # what was still in flight is cancelled, not left running
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        assert "han_seo" not in {r.student for r in book.latest("conv2d_simple", "smoke")}


def test_a_cluster_without_room_for_a_task_is_one_line(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay]
) -> None:
    fake_ray(cpus=0.0)
    with pytest.raises(cluster.ClusterError, match="no node with room for a task"):
        batch.run(load_assignment(CONV), subs, _run_opts(tmp_path), lambda line: None)


def test_a_submission_gone_before_its_turn_is_its_own_error(
    tmp_path: Path, subs: Path, fake_ray: Callable[..., FakeRay], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cluster.make_task

    def vanishing(sub: Any, *a: Any) -> cluster.Task:
        if sub.student == "oh_daeun":
            sub.source.unlink()
        return real(sub, *a)

    monkeypatch.setattr(cluster, "make_task", vanishing)
    fake = fake_ray()
    summary = batch.run(load_assignment(CONV), subs, _run_opts(tmp_path), lambda line: None)
    graded = {r.student: r for r in summary.graded}
    assert graded["oh_daeun"].error == "oh_daeun.ipynb: cannot be read (No such file or directory)"
    assert graded["kim_minji"].error is None and len(fake.tasks) == 3


def test_an_unreachable_head_is_one_line_at_once(tmp_path: Path) -> None:
    """Ray itself retries a head that is not there for minutes; the batch says so at once."""

    class NoCluster:
        def is_initialized(self) -> bool:
            return False

        def init(self, **kw: Any) -> None:
            raise AssertionError("not called: nothing listens there")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed
    started = time.monotonic()
    with pytest.raises(cluster.ClusterError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        cluster.connect(NoCluster(), f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5


def test_gpu_shares_come_from_per_gpu_when_gpus_are_given(tmp_path: Path) -> None:
    from grader.gpus import GpuPlan

    assert cluster.Placement.of(_run_opts(tmp_path)) == cluster.Placement(1.0, 0.0)
    plan = GpuPlan(devices=(), per_gpu=4, memory_limit_mb={}, share_mb={})
    place = cluster.Placement.of(_run_opts(tmp_path, gpu_plan=plan))
    assert place == cluster.Placement(1.0, 0.25)
    assert place.slots({"CPU": 16.0, "GPU": 2.0}) == 8
    assert place.slots({"CPU": 4.0, "GPU": 2.0}) == 4
    assert place.slots({"CPU": 16.0}) == 0
    assert cluster.Placement().slots({"CPU": 3.0}) == 3


def test_without_ray_the_flag_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(UsageError, match=r"pip install 'grader\[ray\]'"):
        cluster.require_ray()
    code = grade_main([str(CONV), str(tmp_path), "--ray", "auto", "--gradebook", str(tmp_path / "gb.sqlite")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "pip install 'grader[ray]'" in err


# ----------------------------------------------------------------------- end to end (slow)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """$GRADER_RAY_ADDRESS (a cluster .ci/run started), else a head with 2 CPUs started
    here (`ray start --block`, stopped after the module's tests)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'grader[ray]')")
    if os.environ.get("GRADER_RAY_ADDRESS"):
        yield os.environ["GRADER_RAY_ADDRESS"]
        return
    # Token authentication, as .ci/run starts it; set before this process imports ray
    # (Ray reads RAY_AUTH_MODE once, at import).
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    temp = tempfile.mkdtemp(prefix="rt-", dir="/tmp")  # short: Ray's socket paths live under it
    port = 6400 + os.getpid() % 1000
    log = open(Path(temp) / "head.log", "wb")  # noqa: SIM115
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--num-cpus", "2"]
        + ["--node-ip-address", "127.0.0.1", "--port", str(port), "--temp-dir", temp]
        + ["--disable-usage-stats", "--include-dashboard=false"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while b"Ray runtime started" not in (Path(temp) / "head.log").read_bytes():
            assert head.poll() is None and time.monotonic() < deadline, (Path(temp) / "head.log").read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _grade(folder: Path, tmp: Path, ray: str | None, name: str) -> dict[str, SubmissionResult]:
    opts = _run_opts(
        tmp, ray=ray, workers=2, gradebook=tmp / f"{name}.sqlite", data_root=REPO / ".grader" / "data", seed=7
    )
    batch.run(load_assignment(CONV), folder, opts, lambda line: None)
    with Gradebook(opts.gradebook) as book:
        return {r.student: r for r in book.latest("conv2d_simple", "smoke")}


def _verdicts(results: dict[str, SubmissionResult]) -> dict[str, Any]:
    return {
        s: (r.score, r.error, [(c.name, c.status, c.points) for c in r.checks], r.profile_notes)
        for s, r in results.items()
    }


@pytest.mark.slow
def test_a_batch_graded_on_ray_scores_as_it_does_locally(tmp_path: Path, ray_address: str) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("kim_minji", "lee_jun", "jung_hoon"):
        shutil.copy(EXAMPLES / f"{name}.ipynb", folder)
    local = _grade(folder, tmp_path, None, "local")
    on_ray = _grade(folder, tmp_path, ray_address, "ray")
    assert sorted(on_ray) == ["jung_hoon", "kim_minji", "lee_jun"]
    assert _verdicts(on_ray) == _verdicts(local)
    assert on_ray["kim_minji"].score == 18  # the solution-like example: a real grade, not 0 for 0
    # a second run on Ray grades nothing: the driver's gradebook knows what is graded
    opts = _run_opts(tmp_path, ray=ray_address, gradebook=tmp_path / "ray.sqlite", data_root=REPO / ".grader" / "data")
    summary = batch.run(load_assignment(CONV), folder, replace(opts, seed=7), lambda line: None)
    assert sorted(summary.skipped) == ["jung_hoon", "kim_minji", "lee_jun"] and not summary.graded


def _ray_worker_grading(student: str) -> int | None:
    """The pid of the Ray worker process whose task is grading `student` right now (the
    parent of that student's `python -m grader.worker JOB.json`), or None."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"grader.worker" not in argv or not argv[-2].endswith(b"job.json"):
                continue
            job = json.loads(Path(argv[-2].decode()).read_text())
            parent = (Path("/proc") / str(job["parent_pid"]) / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError, KeyError):
            continue
        if job.get("student") == student and parent.startswith(b"ray::"):
            return int(job["parent_pid"])
    return None


@pytest.mark.slow
def test_a_task_whose_process_dies_is_run_again_and_the_batch_completes(tmp_path: Path, ray_address: str) -> None:
    """Kill -9 the Ray worker process grading one student (what a node's death does to
    its tasks): its worker and kernel die with it, Ray runs the task again, and the
    student gets a real grade."""
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(EXAMPLES / "kim_minji.ipynb", folder / "ray_retry_kim.ipynb")
    shutil.copy(EXAMPLES / "lee_jun.ipynb", folder / "ray_retry_lee.ipynb")
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            pid = _ray_worker_grading("ray_retry_kim")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    watch = threading.Thread(target=killer, daemon=True)
    watch.start()
    try:
        results = _grade(folder, tmp_path, ray_address, "ray")
    finally:
        stop.set()
        watch.join()
    assert killed, "the Ray worker grading ray_retry_kim was never seen"
    assert results["ray_retry_kim"].error is None, results["ray_retry_kim"].error
    assert results["ray_retry_kim"].score == 18
    assert results["ray_retry_lee"].error is None and results["ray_retry_lee"].score == 7


GPU_WORKER = """
import json, sys
from pathlib import Path
from grader.results import SubmissionResult
from grader.spec import load_assignment
job = json.loads(Path(sys.argv[1]).read_text())
spec = load_assignment(job["assignment"])
r = SubmissionResult(job["student"], spec.name, spec.version, spec.digest, "abc", job["profile"], True, 0.0,
                     spec.max_points, extra={"gpu": job["gpu"]})
Path(job["result"]).write_text(json.dumps(r.to_dict()))
"""


def test_a_task_given_a_gpu_share_grades_on_that_device_with_the_runs_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--gpus all --per-gpu 4` on Ray: the task asks 1/4 GPU, and its node pins the
    kernel to the device Ray named in CUDA_VISIBLE_DEVICES, with a quarter of its memory."""
    from test_gpus import UUID1, fake_smi

    from grader import gpus

    plan = gpus.cluster_plan("all", per_gpu=4)
    assert cluster.Placement.of(_run_opts(tmp_path, gpu_plan=plan)) == cluster.Placement(1.0, 0.25)
    spec = load_assignment(CONV)
    sub = read_submission("kim", EXAMPLES / "kim_minji.ipynb", "conv2d_simple.ipynb")
    task = cluster.make_task(sub, spec, _gopts(tmp_path), (cluster.pack_assignment(spec), None), plan)
    assert task.gpu == (4, None)
    smi = fake_smi(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{smi}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(gpus, "mps_pipe", lambda: None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # what Ray sets for the task
    monkeypatch.setattr(batch, "WORKER_ARGS", ["-c", GPU_WORKER])
    got = cluster.grade_here(task, CONV, tmp_path / "no-data")
    assert got.error is None, got.error
    slot = gpus.Slot.from_json(got.extra["gpu"])
    assert (slot.uuid, slot.share_mb) == (UUID1, 81559 // 4)
    no_share = cluster.make_task(sub, spec, _gopts(tmp_path), (cluster.pack_assignment(spec), None))
    assert cluster.grade_here(no_share, CONV, tmp_path / "no-data").extra["gpu"] is None
