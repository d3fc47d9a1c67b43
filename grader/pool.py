"""Warm workers: kernels started ahead of need, so the next submission starts the
moment a worker slot is free.

Every submission pays a fixed cost before its first cell runs: a worker process, a
sandboxed kernel, the bootstrap (about 1.2 s), and, where the assignment uses
TensorFlow, `import tensorflow` (about 3 s). A *warm worker* is a worker process
(forked ready-imported: grader.prefork) that pays all of that before it is given
a submission, then waits for exactly one job on a pipe, grades it and exits: a
kernel is never given a second submission, so nothing of one student's run can reach
the next. The batch (grader.batch) keeps up to `size` of them waiting beside the
running ones; one that died or waited longer than `max_idle_s` is replaced.

`WarmPool` is the bookkeeping alone (which member to hand a job to, which to replace,
how many to keep), over any member with `alive`, `ready` and `kill`, so it is tested
without kernels; `WarmWorker` is the real member.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from . import proctree
from .i18n import msg
from .prefork import WORKER, Forked, ForkServer
from .worker import READY

MAX_IDLE_S = 600.0  # a warm kernel waiting longer is replaced by a fresh one
EARLY_DEATHS = 3  # members dying before they are ready, in a row, that turn the pool off
# Resident memory one waiting worker and its kernel take (MB), to size the pool from
# MemAvailable: measured on this project's machines, rounded up.
KERNEL_MB = 200.0
WARM_WORKER = WORKER  # what a warm worker runs: grader.worker.run(["--warm", SPEC.json], its input)
TENSORFLOW_MB = 600.0  # a kernel that has imported TensorFlow and Keras
EVALUATOR_MB = 600.0  # the evaluator beside it, where the checks measure models (it imports Keras)


class Member(Protocol):
    def alive(self) -> bool: ...
    def ready(self) -> bool: ...
    def kill(self) -> None: ...


M = TypeVar("M", bound=Member)


@dataclass
class _Waiting(Generic[M]):
    member: M
    spawned: float


class WarmPool(Generic[M]):
    """Members started ahead of need. `take` hands one out and forgets it (so no member
    is ever handed out twice); `maintain` replaces dead and aged members and starts
    new ones up to `size`, never more than there are jobs left for."""

    def __init__(
        self,
        size: int,
        spawn: Callable[[], M],
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
        first: int | None = None,
    ) -> None:
        self.size = max(0, size)
        # members started at once before any has been ready (None: all `size`): the first
        # job waits for the first member, and members starting side by side share the
        # cores, so it comes later the more start with it
        self.first = first
        self._ever_ready = False
        self._spawn = spawn
        self.max_idle_s = max_idle_s
        self._clock = clock
        self._waiting: list[_Waiting[M]] = []
        self.spawned = 0
        self.replaced_dead = 0
        self.replaced_aged = 0
        self._early_deaths = 0  # in a row; reset by a member that became ready
        self.off: str | None = None  # why the pool stopped starting members, once it has

    def __len__(self) -> int:
        return len(self._waiting)

    def start(self) -> M:
        """A new member, not kept in the pool: for a job that cannot wait for one."""
        self.spawned += 1
        return self._spawn()

    def take(self) -> M | None:
        """The member to give the next job to: a ready one, else the one started first
        (furthest along); None when none is waiting."""
        alive = [w for w in self._waiting if w.member.alive()]
        if not alive:
            return None
        pick = next((w for w in alive if w.member.ready()), alive[0])
        self._ever_ready = True  # a job is under way: members may start side by side now
        self._waiting.remove(pick)
        return pick.member

    def maintain(self, jobs_left: int) -> None:
        """Drop dead members, replace aged ones, and start members until `size` wait
        (or `jobs_left`, when fewer jobs are left than that)."""
        now = self._clock()
        keep: list[_Waiting[M]] = []
        for w in self._waiting:
            if not w.member.alive():
                w.member.kill()  # tidies what is left of it
                self.replaced_dead += 1
                if w.member.ready():
                    self._early_deaths = 0
                else:
                    self._early_deaths += 1
                continue
            if now - w.spawned > self.max_idle_s:
                w.member.kill()
                self.replaced_aged += 1
                continue
            if w.member.ready():
                self._early_deaths = 0
                self._ever_ready = True
            keep.append(w)
        self._waiting = keep
        if self._early_deaths >= EARLY_DEATHS and self.off is None:
            self.off = msg(
                f"{self._early_deaths} warm workers in a row died before they were ready",
                f"미리 띄운 워커 {self._early_deaths}개가 준비되기 전에 잇달아 종료되었습니다",
            )
        if self.off is not None:
            return
        want = min(self.size, jobs_left)
        if self.first is not None and not self._ever_ready:
            want = min(want, self.first)
        while len(self._waiting) < want:
            self.spawned += 1
            self._waiting.append(_Waiting(self._spawn(), self._clock()))

    def close(self) -> None:
        """Kill every member still waiting."""
        for w in self._waiting:
            w.member.kill()
        self._waiting = []


PER_WORKER = 2  # warm workers per running one, by default


def pool_size(requested: int | None, workers: int, per_kernel_mb: float, available_mb: float | None) -> int:
    """How many warm workers wait beside `workers` running ones: `requested` (default:
    PER_WORKER per worker), as many as fit in `available_mb` next to the running ones.
    Two per worker, not one: a member takes longer to start (a worker process, a
    kernel, the imports: 1.5-2 s, TensorFlow 4-5 s on 2 busy cores) than a job takes
    to grade (0.6 s, 1-1.5 s), so with one the next job often waited for its kernel
    (measured: cnn_filters 1.05 s between results with one, 0.89 s with two;
    conv2d_simple 2.9 s and 2.1 s)."""
    want = PER_WORKER * max(1, workers) if requested is None else max(0, requested)
    if available_mb is None:
        return want
    fits = int(available_mb // per_kernel_mb) - max(1, workers)
    return max(0, min(want, fits))


def kernel_estimate_mb(requires: tuple[str, ...], measures_models: bool) -> float:
    """Memory of one warm worker with its kernel (and evaluator), for `pool_size`."""
    mb = TENSORFLOW_MB if "tensorflow" in requires else KERNEL_MB
    return mb + (EVALUATOR_MB if measures_models else 0.0)


def mem_available_mb(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """MemAvailable in MB; None where the system does not say."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class WarmWorker:
    """One warm worker (`grader.worker.run(["--warm", SPEC.json])`, forked from the
    batch's forkserver: grader.prefork): its spec file is SPEC.json, its ready mark
    SPEC.ready, its result SPEC.result.json and its log SPEC.log."""

    def __init__(self, proc: Forked, spec: Path) -> None:
        self.proc = proc
        self.spec = spec
        self.given = False

    @classmethod
    def spawn(cls, server: ForkServer, spec: Path, settings: dict[str, Any], env: dict[str, str]) -> WarmWorker:
        spec.write_text(json.dumps(settings), encoding="utf-8")
        log = spec.with_suffix(".log")
        return cls(server.fork(["--warm", str(spec)], log, env, with_input=True, target=WARM_WORKER), spec)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ready(self) -> bool:
        return self.spec.with_suffix(READY).exists()

    def give(self, student: str, source: Path) -> None:
        """Hand over its one job; a second is a grader bug."""
        if self.given:
            raise RuntimeError(f"warm worker {self.spec.name} was given a second job")
        self.given = True
        self.proc.send((json.dumps({"student": student, "source": str(source)}) + "\n").encode())

    def kill(self) -> None:
        """The worker, its process group and everything below it (its kernel dies with
        it); for one that has exited already, only its end of the pipe is closed (its pid
        may be another process's by now)."""
        if self.proc.poll() is None:
            proctree.kill_tree(self.proc.pid, self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.close_input()
        self.proc.wait()
