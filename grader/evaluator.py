"""The grader's side of trusted evaluation: one evaluator process per submission.

DESIGN §6: every graded result of training (loss, accuracy, predictions, which epoch a
checkpoint holds) is computed here, from artefacts the kernel handed over as data, by a
fresh process that holds no student code (grader/evaluator_server.py), sandboxed like a
kernel. It starts on the first request and serves every check of the submission; it
dies with the worker (bubblewrap --die-with-parent) or when the submission is done.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import deadline as check_deadline
from . import sandbox, scratch, syscalls
from .errors import CheckTimeout, EvaluationRefused, EvaluatorFailed
from .execute import KERNEL_ENV
from .i18n import Msg, join, msg
from .spec import Limits

START_TIMEOUT_S = 120.0  # importing TensorFlow on a loaded 2-core runner
SERVER_FILE = "evaluator_server.py"
# A kernel's environment (quiet TensorFlow, no user site), without the notebook's plots.
# On the CPU, GPU or not (no device visible, no device node bound): it only measures small
# models on at most 70,000 rows, which the CPU does in seconds; its numbers are then the
# same on every machine (CI and a GPU runner alike), it takes no CUDA context (~0.5 GB)
# that no GPU slot accounts for, and the slots' memory shares hold for the kernels alone.
ENV = {
    **{k: v for k, v in KERNEL_ENV.items() if k != "MPLBACKEND"},
    "KERAS_BACKEND": "tensorflow",
    "CUDA_VISIBLE_DEVICES": "",
}


@dataclass(frozen=True)
class ModelArtefact:
    """What the evaluator rebuilds: a Keras JSON config with weights, a checkpoint file's
    bytes, or a config with a weights-only checkpoint file (`.weights.h5`)."""

    config: str | None = None
    weights: tuple[np.ndarray, ...] | None = None
    file: bytes | None = None
    label: str = "the model"  # how messages name it: "`model`", "the checkpoint 'best.keras'"


@dataclass(frozen=True)
class DataSplit:
    """The grader's own copy of the data a measure is taken on."""

    dataset: str
    split: str  # train | test | validation (the tail fit(validation_split=v) holds out)
    validation_split: float = 0.2
    scale: float = 1.0 / 255.0

    def describe(self) -> str:
        if self.split == "validation":
            return msg(
                f"the last {self.validation_split:g} of the {self.dataset} training set (validation_split)",
                f"{self.dataset} 학습 세트의 마지막 {self.validation_split:g} (validation_split)",
            )
        split_ko = {"train": "학습", "test": "테스트"}.get(self.split, self.split)
        return msg(f"the {self.dataset} {self.split} set", f"{self.dataset} {split_ko} 세트")


@dataclass(frozen=True)
class Evaluation:
    loss: float | None
    accuracy: float | None
    samples: int
    output_shape: tuple[int, ...]
    predictions: np.ndarray | None  # argmax labels, when asked and the output is a class score


class Evaluator:
    """One sandboxed evaluator process; `evaluate` may be called many times."""

    def __init__(self, *, data_dir: Path | None, limits: Limits, sandboxed: bool, python: str | None = None) -> None:
        self.data_dir = data_dir
        self.limits = limits
        self.sandboxed = sandboxed
        self.python = python or sys.executable
        self.requests = 0
        self.seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._work: Path | None = None
        self._cgroup: str | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""
        self._ready = False
        self.failed: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the process (it imports Keras at once); returns without waiting."""
        if self._proc is not None or self.failed:
            return
        work = scratch.make("eval", max_len=80)
        os.chmod(work, 0o755)
        self._work = work
        server = work / SERVER_FILE
        server.write_text(resources.files("grader").joinpath(SERVER_FILE).read_text(encoding="utf-8"))
        os.chmod(server, 0o644)
        data = str(self.data_dir) if self.data_dir is not None else str(work / "no-data")
        argv = [self.python, "-I", str(server), str(work), data]
        env = dict(ENV)
        if self.sandboxed:
            os.chown(work, sandbox.NOBODY, sandbox.NOBODY)
            self._cgroup = sandbox.create_cgroup(work.name, self.limits)
            seccomp = None
            program = syscalls.compiled_filter()
            if program is not None:
                seccomp = work.parent / f"{work.name}.bpf"
                seccomp.write_bytes(program)
            env.update(HOME=sandbox.HOME, KERAS_HOME=f"{sandbox.HOME}/.keras", MPLCONFIGDIR="/tmp/matplotlib")
            plan = sandbox.SandboxPlan(
                conn_dir=work,
                data_dir=self.data_dir,
                files={},
                limits=self.limits,
                env=env,
                cgroup=self._cgroup,
                seccomp=seccomp,
                gpu_nodes=(),  # the CPU only (ENV)
            )
            argv = [self.python, "-I", str(server), str(work), "/data" if self.data_dir is not None else data]
            argv = sandbox.wrap(plan, argv)
            popen_env: dict[str, str] = {}
        else:
            popen_env = {**os.environ, **env, "KERAS_HOME": str(work / ".keras")}
        self._stderr = open(work.parent / f"{work.name}.log", "wb")  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=popen_env,
            start_new_session=True,
        )

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        sandbox.destroy_cgroup(self._cgroup)
        self._cgroup = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._work is not None:
            for extra in (self._work.parent / f"{self._work.name}.log", self._work.parent / f"{self._work.name}.bpf"):
                extra.unlink(missing_ok=True)
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def evaluate(
        self, model: ModelArtefact, data: DataSplit, *, predictions: bool = False, timeout: float | None = None
    ) -> Evaluation:
        """Rebuild `model` and measure it on `data`; EvaluationRefused when the model holds a
        class the grader will not build or cannot be used (the message is for the student)."""
        self.start()
        assert self._work is not None
        tag = secrets.token_hex(4)
        spec: dict[str, Any] = {"config": None, "weights": None, "file": None}
        written: list[Path] = []

        def put(name: str, blob: bytes) -> str:
            assert self._work is not None
            path = self._work / f"{tag}-{name}"
            path.write_bytes(blob)
            os.chmod(path, 0o644)
            written.append(path)
            return path.name

        if model.config is not None:
            spec["config"] = put("config.json", model.config.encode("utf-8"))
        if model.weights is not None:
            path = self._work / f"{tag}-weights.npz"
            np.savez(path, *[np.asarray(w, dtype=np.float32) for w in model.weights])  # arr_0, arr_1, ...
            os.chmod(path, 0o644)
            written.append(path)
            spec["weights"] = path.name
        if model.file is not None:
            spec["file"] = put("checkpoint", model.file)
        out_name = f"{tag}-predictions.npy" if predictions else None
        request = {
            "op": "evaluate",
            "model": spec,
            "data": {
                "dataset": data.dataset,
                "split": data.split,
                "validation_split": data.validation_split,
                "scale": data.scale,
            },
            "predictions": out_name,
        }
        try:
            reply = self._ask(request, timeout or max(60.0, self.limits.check_timeout_s))
            if not reply.get("ok"):
                message: str = str(reply.get("message", "")).strip()[:1000]
                said_ko = reply.get("message_ko")  # the server's Korean (grader/evaluator_server.py)
                if message and isinstance(said_ko, str) and said_ko.strip():
                    message = Msg(message, said_ko.strip()[:1000])
                message = message or msg("the model could not be evaluated", "모델을 평가할 수 없었습니다")
                refused = reply.get("kind") == "refused"
                raise EvaluationRefused(join([model.label, ": ", message], sep=""), refused=refused)
            labels = None
            if out_name is not None:
                out_path = self._work / out_name
                if out_path.is_file():
                    labels = np.load(out_path, allow_pickle=False)
                    written.append(out_path)
            return Evaluation(
                loss=_float(reply.get("loss")),
                accuracy=_float(reply.get("accuracy")),
                samples=int(reply.get("samples", 0)),
                output_shape=tuple(int(d) for d in reply.get("output_shape", [])),
                predictions=labels,
            )
        finally:
            for path in written:
                path.unlink(missing_ok=True)

    def _wait_ready(self) -> None:
        """The one-time start (importing Keras): it does not count against the check that
        happens to be first (grader.deadline.paused), only against the submission's."""
        proc = self._proc
        assert proc is not None
        with check_deadline.paused():
            started = time.monotonic()
            try:
                while True:
                    line = self._readline(proc, started + START_TIMEOUT_S)
                    try:
                        if json.loads(line) == {"ready": True}:
                            self._ready = True
                            return
                    except json.JSONDecodeError:
                        continue
            finally:
                self.seconds += time.monotonic() - started

    def _ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.failed:
            raise EvaluatorFailed(self.failed)
        if not self._ready:
            self._wait_ready()
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        started = time.monotonic()
        self.requests += 1
        request["id"] = self.requests
        # one deadline per check (grader.deadline): this request gets what is left of it
        capped = check_deadline.cap(timeout)
        deadline = started + (timeout if capped is None else capped)
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail(_STOPPED)
        try:
            with check_deadline.shielded():
                while True:
                    line = self._readline(proc, deadline)
                    try:
                        reply = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(reply, dict) and reply.get("id") == request["id"]:
                        return reply
        finally:
            self.seconds += time.monotonic() - started

    def _readline(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                self.failed = msg(
                    "the grader's evaluator did not answer in time", "채점기의 평가기가 제때 답하지 않았습니다"
                )
                raise CheckTimeout(
                    msg(
                        "evaluating your model took longer than the check's time limit; it was stopped",
                        "모델 평가가 검사의 시간 제한보다 오래 걸려 중지했습니다",
                    )
                )
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._fail(_STOPPED)
            self._buffer += chunk
            if len(self._buffer) > 1 << 20:
                self._fail(
                    msg(
                        "the grader's evaluator sent a malformed answer",
                        "채점기의 평가기가 잘못된 형식의 답을 보냈습니다",
                    )
                )
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _fail(self, why: str) -> None:
        tail = self.log_tail()
        oom = sandbox.cgroup_oom_killed(self._cgroup)
        self.close()
        if oom:
            mb = self.limits.memory_mb
            oom_note = msg(f" (it ran out of its {mb} MB memory limit)", f" (메모리 제한 {mb} MB를 다 썼습니다)")
            why = join([why, oom_note], sep="")
        self.failed = join([why, f": {tail}"], sep="") if tail else why
        raise EvaluatorFailed(self.failed)

    def log_tail(self) -> str:
        if self._work is None:
            return ""
        try:
            text = (self._work.parent / f"{self._work.name}.log").read_text(errors="replace")
        except OSError:
            return ""
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


_STOPPED = msg("the grader's evaluator stopped", "채점기의 평가기가 멈췄습니다")


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
