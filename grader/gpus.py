"""GPU slots: which device each kernel may use, how much of its memory, and how much it did use.

`grade ... --gpus 0,1 --per-gpu K` makes K slots per device. A slot pins one kernel to one
device (CUDA_VISIBLE_DEVICES by UUID, and only that device's /dev/nvidiaN node in its
sandbox) and gives it a share of the device's memory. The share is held by three layers,
each covering what the one before cannot:

  1. TensorFlow's per-process limit (a logical device with `memory_limit`), set by the
     kernel's bootstrap (grader/kernel/gpu.py) before any student code runs, and the
     device initialised at once, so the notebook cannot set it again (TensorFlow refuses
     to reconfigure initialised devices). It covers TensorFlow in the kernel's process.
  2. MPS, where the machine runs it: `CUDA_MPS_PINNED_DEVICE_MEM_LIMIT` in the kernel's
     environment caps every CUDA client started from it, subprocesses and non-TensorFlow
     code included (a notebook can drop the variable only for processes it starts itself
     from a changed environment, which the next layer still sees).
  3. The worker's watch (`Monitor`): it polls nvidia-smi for the kernel's process tree
     (host pids), records the peak for the report, and stops the kernel when the tree
     holds more than its share (a subprocess, cupy, a raw cudaMalloc through ctypes).
     It acts within a poll interval, so between two polls a neighbour may see less.

The batch hands the slots out (`Slots`: at most K running kernels per device); the
worker gets its slot in the job file and the kernel's environment and bootstrap follow
from it. The evaluator (trusted side) runs on the CPU: see grader/evaluator.py.
Nothing here needs a GPU; on a machine without one, `--gpus` is a one-line UsageError.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .i18n import Msg, msg

SMI = "nvidia-smi"
# Device memory a kernel's process uses outside TensorFlow's allocator: the CUDA context,
# cuBLAS/cuDNN handles and workspaces (measured 300-700 MB per TensorFlow process).
MARGIN_MB = 1024
MIN_LIMIT_MB = 256  # a TensorFlow limit below this trains nothing: too many kernels per device
POLL_S = 1.0
SMI_TIMEOUT_S = 20.0
# Control nodes every CUDA process opens; the per-device node is /dev/nvidia<minor>.
CONTROL_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")
MIG_CAPS = "/dev/nvidia-caps"  # MIG instances' capability nodes (a MIG device needs them)
MPS_PIPE_DEFAULT = "/tmp/nvidia-mps"
PROC_GPUS = Path("/proc/driver/nvidia/gpus")


# ------------------------------------------------------------------ devices
@dataclass(frozen=True)
class Device:
    """One device a kernel can be pinned to: a whole GPU or a MIG instance."""

    name: str  # as shown to people: "0", "1", or the MIG UUID
    uuid: str  # GPU-... or MIG-...: what CUDA_VISIBLE_DEVICES gets (independent of CUDA's ordering)
    model: str  # "NVIDIA H200"; a MIG instance: its profile, "1g.10gb"
    memory_mb: int  # the device's memory (a MIG instance: what its profile names)
    node: str  # /dev/nvidia<minor> (a MIG instance: its parent GPU's)
    mig: bool = False


@dataclass(frozen=True)
class Slot:
    """One kernel's seat on a device: travels in the job file (JSON) to the worker."""

    device: str  # Device.name
    uuid: str
    nodes: tuple[str, ...]  # device nodes bound into the sandbox besides CONTROL_NODES
    memory_limit_mb: int  # TensorFlow's per-process limit in the kernel (layer 1)
    share_mb: int  # the whole share: MPS's pinned limit (layer 2) and the watch's line (layer 3)
    seat: int  # which of the device's K seats
    mps_pipe: str | None = None  # MPS pipe folder, when MPS runs here (bound into the sandbox)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Slot:
        return cls(**{**raw, "nodes": tuple(raw.get("nodes", ()))})


def kernel_env(slot: Slot) -> dict[str, str]:
    """What a kernel on `slot` gets in its environment (subprocesses it starts inherit it)."""
    env = {
        "CUDA_VISIBLE_DEVICES": slot.uuid,
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    }
    if slot.mps_pipe is not None:
        # device 0 is the one device the kernel sees; the limit covers all its memory use
        env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = f"0={slot.share_mb}M"
        env["CUDA_MPS_PIPE_DIRECTORY"] = slot.mps_pipe
    return env


def sandbox_nodes(slot: Slot) -> tuple[str, ...]:
    """The device nodes a kernel on `slot` sees: its device's and the control nodes that exist."""
    return tuple(dict.fromkeys([*slot.nodes, *(n for n in CONTROL_NODES if os.path.exists(n))]))


# ------------------------------------------------------------------ nvidia-smi
def _smi(args: list[str], smi: str = SMI) -> str:
    """nvidia-smi's output; UsageError (one line) when there is none to ask."""
    exe = shutil.which(smi)
    if exe is None:
        raise UsageError(
            msg(
                "--gpus: this machine has no GPU that the grader can see (nvidia-smi not found)",
                "--gpus: 이 컴퓨터에서 채점기가 쓸 수 있는 GPU가 없습니다 (nvidia-smi가 없습니다)",
            )
        )
    try:
        out = subprocess.run(
            [exe, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SMI_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(msg(f"--gpus: nvidia-smi failed: {exc}", f"--gpus: nvidia-smi 실행 실패: {exc}")) from None
    if out.returncode != 0:
        first = (out.stderr.strip() or out.stdout.strip() or f"exit code {out.returncode}").splitlines()[0][:200]
        raise UsageError(msg(f"--gpus: nvidia-smi failed: {first}", f"--gpus: nvidia-smi 실행 실패: {first}"))
    return out.stdout


_GPU_LINE = re.compile(r"^GPU (\d+): (.*?) \(UUID: (GPU-[0-9A-Za-z-]+)\)\s*$")
_MIG_LINE = re.compile(r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[0-9A-Za-z/-]+)\)\s*$")
_MIG_GB = re.compile(r"\.(\d+)gb$")


def parse_list(text: str) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """`nvidia-smi -L`: [(index, model, GPU uuid, [(MIG profile, MIG uuid), ...]), ...]."""
    gpus: list[tuple[str, str, str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        m = _GPU_LINE.match(line)
        if m:
            gpus.append((m.group(1), m.group(2), m.group(3), []))
            continue
        m = _MIG_LINE.match(line)
        if m and gpus:
            gpus[-1][3].append((m.group(1), m.group(3)))
    return gpus


def parse_memory(text: str) -> dict[str, tuple[int, str]]:
    """`--query-gpu=uuid,memory.total,pci.bus_id --format=csv,noheader,nounits`:
    GPU uuid -> (memory MB, PCI bus id)."""
    out: dict[str, tuple[int, str]] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            out[parts[0]] = (int(float(parts[1])), parts[2])
        except ValueError:
            continue
    return out


def _bus_key(bus_id: str) -> tuple[int, ...] | None:
    """'00000000:3B:00.0' (nvidia-smi) and '0000:3b:00.0' (/proc) alike, as numbers."""
    m = re.fullmatch(r"([0-9A-Fa-f]+):([0-9A-Fa-f]+):([0-9A-Fa-f]+)\.([0-7])", bus_id.strip())
    return tuple(int(g, 16) for g in m.groups()) if m else None


def device_minors(proc: Path = PROC_GPUS) -> dict[tuple[int, ...], int]:
    """PCI bus -> the minor number of its /dev/nvidiaN (not always nvidia-smi's index)."""
    out: dict[tuple[int, ...], int] = {}
    for entry in sorted(proc.glob("*/information")) if proc.is_dir() else []:
        key = _bus_key(entry.parent.name)
        try:
            found = re.search(r"^Device Minor:\s*(\d+)", entry.read_text(), re.MULTILINE)
        except OSError:
            continue
        if key is not None and found:
            out[key] = int(found.group(1))
    return out


def list_devices(smi: str = SMI) -> list[Device]:
    """Every device here: each GPU, or its MIG instances where it is split into them."""
    listing = parse_list(_smi(["-L"], smi))
    memory = parse_memory(_smi(["--query-gpu=uuid,memory.total,pci.bus_id", "--format=csv,noheader,nounits"], smi))
    minors = device_minors()
    devices: list[Device] = []
    for index, model, uuid, migs in listing:
        total, bus = memory.get(uuid, (0, ""))
        key = _bus_key(bus)
        node = f"/dev/nvidia{minors[key] if key in minors else index}"
        if not migs:
            devices.append(Device(index, uuid, model, total, node))
        for profile, mig_uuid in migs:
            gb = _MIG_GB.search(profile)
            devices.append(Device(mig_uuid, mig_uuid, profile, int(gb.group(1)) * 1024 if gb else 0, node, mig=True))
    return devices


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class GpuPlan:
    """The devices of a run and how they are shared: what `--gpus/--per-gpu/--gpu-memory-mb` said."""

    devices: tuple[Device, ...]
    per_gpu: int
    memory_limit_mb: dict[str, int]  # device name -> TensorFlow's limit per kernel
    share_mb: dict[str, int]  # device name -> a kernel's whole share
    mps_pipe: str | None = None
    memory_mb: int | None = None  # what --gpu-memory-mb said (a Ray node plans its own device from it)

    @property
    def slots(self) -> int:
        return len(self.devices) * self.per_gpu

    def describe(self) -> Msg:
        """One line for the start of a run: the devices, the shares and what enforces them."""
        parts = [
            f"{d.name} ({d.model}, {d.memory_mb:,} MB): {self.per_gpu} x {self.memory_limit_mb[d.name]:,} MB"
            for d in self.devices
        ]
        en = f"GPUs: {'; '.join(parts)} for TensorFlow per kernel; " + (
            "MPS caps every CUDA process of a kernel"
            if self.mps_pipe
            else "no MPS here: other CUDA use in a kernel is stopped by the worker's watch"
        )
        ko = f"GPU: {'; '.join(parts)} (커널마다 TensorFlow 한도); " + (
            "MPS가 커널의 모든 CUDA 프로세스를 제한합니다"
            if self.mps_pipe
            else "MPS 없음: 커널의 다른 CUDA 사용은 워커의 감시가 멈춥니다"
        )
        missing = sorted({d.node for d in self.devices if not os.path.exists(d.node)})
        if missing:
            en += f"; WARNING: {', '.join(missing)} not found here: kernels on it will see no GPU"
            ko += f"; 경고: {', '.join(missing)}이(가) 없어 그 커널들은 GPU를 보지 못합니다"
        return msg(en, ko)


def _bad(en: str, ko: str) -> UsageError:
    return UsageError(msg(f"--gpus: {en}", f"--gpus: {ko}"))


def choose(spec: str, devices: list[Device]) -> list[Device]:
    """The devices `--gpus` names: 'all', indices '0,1', GPU-/MIG- UUIDs (one line when wrong)."""
    if not devices:
        raise _bad("nvidia-smi lists no GPU on this machine", "nvidia-smi에 나오는 GPU가 없습니다")
    words = [w.strip() for w in spec.split(",")]
    if words == ["all"]:
        return list(devices)
    by_name = {d.name: d for d in devices}
    by_uuid = {d.uuid: d for d in devices}
    chosen: list[Device] = []
    for word in words:
        if not word:
            raise _bad(f"{spec!r} has an empty entry", f"{spec!r}에 빈 항목이 있습니다")
        if word in by_name or word in by_uuid:
            device = by_name.get(word) or by_uuid[word]
        elif word.isdigit() or word.startswith(("GPU-", "MIG-")):
            here = ", ".join(d.name for d in devices)
            raise _bad(
                f"no device {word} here (nvidia-smi lists {here})", f"{word} 장치가 없습니다 (있는 장치: {here})"
            )
        else:
            raise _bad(
                f"{word!r} is not a GPU index, a GPU-/MIG- UUID or 'all'",
                f"{word!r}은(는) GPU 번호, GPU-/MIG- UUID, 'all' 중 어느 것도 아닙니다",
            )
        if device in chosen:
            raise _bad(f"{word} is named twice", f"{word}이(가) 두 번 나옵니다")
        chosen.append(device)
    return chosen


def plan(spec: str, per_gpu: int = 1, memory_mb: int | None = None, smi: str = SMI) -> GpuPlan:
    """Check `--gpus/--per-gpu/--gpu-memory-mb` against the devices here; one line when wrong."""
    check_shares(per_gpu, memory_mb)
    devices = choose(spec, list_devices(smi))
    limits: dict[str, int] = {}
    shares: dict[str, int] = {}
    for d in devices:
        if d.memory_mb <= 0 and memory_mb is None:
            raise _bad(
                f"the memory of {d.name} is unknown here; give --gpu-memory-mb",
                f"{d.name}의 메모리 크기를 알 수 없습니다; --gpu-memory-mb를 주십시오",
            )
        if memory_mb is None:
            share = d.memory_mb // per_gpu
            limit = share - MARGIN_MB
        else:
            limit, share = memory_mb, memory_mb + MARGIN_MB
            if d.memory_mb > 0 and share * per_gpu > d.memory_mb:
                raise _bad(
                    f"{per_gpu} kernels x ({memory_mb} MB + {MARGIN_MB} MB margin) is more than "
                    f"{d.name}'s {d.memory_mb} MB",
                    f"커널 {per_gpu}개 x ({memory_mb} MB + 여유 {MARGIN_MB} MB)가 "
                    f"{d.name}의 {d.memory_mb} MB보다 큽니다",
                )
        if limit < MIN_LIMIT_MB:
            raise _bad(
                f"{per_gpu} kernels on {d.name} ({d.memory_mb} MB) would get {limit} MB each; use a smaller --per-gpu",
                f"{d.name}({d.memory_mb} MB)에 커널 {per_gpu}개면 각각 {limit} MB뿐입니다; --per-gpu를 줄이십시오",
            )
        limits[d.name], shares[d.name] = limit, share
    return GpuPlan(tuple(devices), per_gpu, limits, shares, mps_pipe=mps_pipe(), memory_mb=memory_mb)


def check_shares(per_gpu: int, memory_mb: int | None) -> None:
    """`--per-gpu` and `--gpu-memory-mb` alone, where the devices are not here to check
    them against (a Ray cluster's, see `cluster_plan`); one line when wrong."""
    if per_gpu < 1:
        raise UsageError(msg("--per-gpu must be 1 or more", "--per-gpu는 1 이상이어야 합니다"))
    if memory_mb is not None and memory_mb < MIN_LIMIT_MB:
        raise UsageError(
            msg(
                f"--gpu-memory-mb must be at least {MIN_LIMIT_MB}",
                f"--gpu-memory-mb는 {MIN_LIMIT_MB} 이상이어야 합니다",
            )
        )


def cluster_plan(spec: str, per_gpu: int = 1, memory_mb: int | None = None) -> GpuPlan:
    """`--gpus all --per-gpu K` with `--ray`: the devices are the cluster's, not this
    machine's. Ray gives each task 1/K of a GPU as CUDA_VISIBLE_DEVICES and the task's
    node makes the slot on that device (`node_slot`), with the same limits as here."""
    if spec.strip() != "all":
        raise _bad(
            "with --ray, give --gpus all: Ray places each task on a GPU of a node (1/K of one with --per-gpu K)",
            "--ray와 함께면 --gpus all 로 주십시오: Ray가 각 작업을 노드의 GPU에 배치합니다 (--per-gpu K면 1/K씩)",
        )
    check_shares(per_gpu, memory_mb)
    return GpuPlan((), per_gpu, {}, {}, memory_mb=memory_mb)


def node_slot(visible: str, per_gpu: int, memory_mb: int | None, smi: str = SMI) -> Slot:
    """On a Ray node: the slot of a task Ray gave 1/K of a GPU, `visible` being the
    CUDA_VISIBLE_DEVICES Ray set for it (one device index or UUID). The share and the
    limits are planned on this node as `--gpus <that device> --per-gpu K` would be;
    which of the K seats Ray gave is not said, so every task is seat 0."""
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    if len(ids) != 1:
        raise RuntimeError(
            f"a task given a GPU share has CUDA_VISIBLE_DEVICES={visible!r} on this node; one device was expected"
        )
    slot = Slots(plan(ids[0], per_gpu, memory_mb, smi)).acquire()
    assert slot is not None  # a plan of one device has K >= 1 seats
    return slot


def mps_pipe() -> str | None:
    """The MPS pipe folder when an MPS control daemon is running here (its `control`
    socket exists), else None. The binary alone is not enough: without the daemon the
    pinned limit means nothing."""
    pipe = os.environ.get("CUDA_MPS_PIPE_DIRECTORY") or MPS_PIPE_DEFAULT
    if shutil.which("nvidia-cuda-mps-control") is None:
        return None
    return pipe if Path(pipe, "control").exists() else None


# ------------------------------------------------------------------ slots
class Slots:
    """K seats per device for the batch: `acquire` one when a worker starts (None when every
    seat is taken: do not start it), `release` it when the worker ends. Never more than K
    running kernels on one device; a new kernel goes to the least busy device."""

    def __init__(self, plan: GpuPlan) -> None:
        self.plan = plan
        self._free: dict[str, list[int]] = {d.name: list(range(plan.per_gpu)) for d in plan.devices}
        self._held: set[tuple[str, int]] = set()

    def available(self) -> bool:
        return any(self._free.values())

    def in_use(self, device: str) -> int:
        return self.plan.per_gpu - len(self._free[device])

    def acquire(self) -> Slot | None:
        candidates = [d for d in self.plan.devices if self._free[d.name]]
        if not candidates:
            return None
        device = min(candidates, key=lambda d: self.in_use(d.name))  # ties: the first named
        seat = self._free[device.name].pop(0)
        self._held.add((device.name, seat))
        nodes = (device.node, MIG_CAPS) if device.mig and os.path.exists(MIG_CAPS) else (device.node,)
        return Slot(
            device=device.name,
            uuid=device.uuid,
            nodes=nodes,
            memory_limit_mb=self.plan.memory_limit_mb[device.name],
            share_mb=self.plan.share_mb[device.name],
            seat=seat,
            mps_pipe=self.plan.mps_pipe,
        )

    def release(self, slot: Slot) -> None:
        key = (slot.device, slot.seat)
        if key not in self._held:
            raise RuntimeError(f"GPU slot {key} released but not held")  # a grader bug
        self._held.remove(key)
        self._free[slot.device].append(slot.seat)
        self._free[slot.device].sort()


# ------------------------------------------------------------------ measuring
def parse_apps(text: str) -> dict[int, int]:
    """`--query-compute-apps=pid,used_memory --format=csv,noheader,nounits`: pid -> MB
    (summed over devices; '[N/A]', as MIG reports it, is left out)."""
    used: dict[int, int] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        try:
            mb = int(float(parts[1]))
        except ValueError:
            continue
        used[int(parts[0])] = used.get(int(parts[0]), 0) + mb
    return used


def query_apps(smi: str = SMI) -> dict[int, int] | None:
    """Device memory of every compute process (host pids), or None when nvidia-smi cannot say."""
    exe = shutil.which(smi)
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=SMI_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_apps(out.stdout) if out.returncode == 0 else None


@dataclass
class Usage:
    """What the watch saw of one kernel: stored in the result's `extra["gpu"]`."""

    device: str
    memory_limit_mb: int
    share_mb: int
    peak_mb: int = 0
    samples: int = 0  # polls that nvidia-smi answered
    stopped: bool = False  # the kernel went over its share and was stopped
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "memory_limit_mb": self.memory_limit_mb,
            "share_mb": self.share_mb,
            "peak_mb": self.peak_mb,
            "samples": self.samples,
            "stopped": self.stopped,
        }


class Monitor:
    """Polls nvidia-smi in a thread for the device memory of one kernel's process tree.

    `pids()` names the tree as the host numbers it (the kernel's process, everything below
    it, its cgroup); `stop_kernel()` kills it (signals only: safe from this thread). Peak
    goes to `usage`; over the share, the kernel is stopped once and a note says why.
    """

    def __init__(
        self,
        slot: Slot,
        pids: Callable[[], Iterable[int]],
        stop_kernel: Callable[[], None],
        *,
        interval: float = POLL_S,
        smi: str = SMI,
    ) -> None:
        self.usage = Usage(slot.device, slot.memory_limit_mb, slot.share_mb)
        self._pids = pids
        self._stop_kernel = stop_kernel
        self._interval = interval
        self._smi = smi
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpu-monitor", daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=SMI_TIMEOUT_S + 5)

    def poll(self) -> None:
        """One sample (also called directly by the tests)."""
        apps = query_apps(self._smi)
        if apps is None:
            return
        tree = set(self._pids())
        used = sum(mb for pid, mb in apps.items() if pid in tree)
        self.usage.samples += 1
        self.usage.peak_mb = max(self.usage.peak_mb, used)
        if used > self.usage.share_mb and not self.usage.stopped:
            self.usage.stopped = True
            self.usage.notes.append(
                msg(
                    f"the notebook's processes used {used:,} MB of GPU memory, over this kernel's share of "
                    f"{self.usage.share_mb:,} MB, so its kernel was stopped (other kernels share the device)",
                    f"노트북의 프로세스가 GPU 메모리를 {used:,} MB 써서 이 커널의 몫 {self.usage.share_mb:,} MB를 "
                    "넘었으므로 커널을 멈췄습니다 (다른 커널들이 장치를 함께 씁니다)",
                )
            )
            self._stop_kernel()

    def _run(self) -> None:
        while not self._done.is_set():
            started = time.monotonic()
            try:
                self.poll()
            except Exception as exc:  # the watch must not take the worker down; say it stopped
                self.usage.notes.append(f"the GPU memory watch stopped: {exc!r}"[:300])
                return
            self._done.wait(max(0.05, self._interval - (time.monotonic() - started)))
