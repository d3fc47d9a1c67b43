"""GPU slots without a GPU: slot hand-out, `--gpus` parsing against a fake nvidia-smi on
PATH, the kernel's environment and sandbox nodes for a slot, the bootstrap's TensorFlow cap
(against a fake `tensorflow` package), and the trusted side's memory watch."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader import gpus, sandbox
from grader.cli import main
from grader.errors import UsageError
from grader.kernel import gpu as kernel_gpu
from grader.kernel import protocol, recorder, ship
from grader.spec import Limits

UUID0 = "GPU-11111111-2222-3333-4444-555555555555"
UUID1 = "GPU-66666666-7777-8888-9999-000000000000"
UUID2 = "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
MIG_A = "MIG-0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e"
MIG_B = "MIG-5f5f5f5f-6a6a-7b7b-8c8c-9d9d9d9d9d9d"

LIST = f"""GPU 0: NVIDIA H100 80GB HBM3 (UUID: {UUID0})
GPU 1: NVIDIA H100 80GB HBM3 (UUID: {UUID1})
GPU 2: NVIDIA A100-SXM4-40GB (UUID: {UUID2})
  MIG 3g.20gb     Device  0: (UUID: {MIG_A})
  MIG 1g.5gb      Device  1: (UUID: {MIG_B})
"""
MEMORY = f"""{UUID0}, 81559, 00000000:18:00.0
{UUID1}, 81559, 00000000:2A:00.0
{UUID2}, 40960, 00000000:3B:00.0
"""


def fake_smi(folder: Path, listing: str = LIST, memory: str = MEMORY, apps: str = "") -> Path:
    """An `nvidia-smi` on PATH that answers -L, --query-gpu and --query-compute-apps from files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "list.txt").write_text(listing)
    (folder / "memory.txt").write_text(memory)
    (folder / "apps.txt").write_text(apps)
    exe = folder / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\n"
        f'D="{folder}"\n'
        'case "$1" in\n'
        '  -L) cat "$D/list.txt" ;;\n'
        '  --query-gpu=*) cat "$D/memory.txt" ;;\n'
        '  --query-compute-apps=*) cat "$D/apps.txt" ;;\n'
        '  *) echo "unknown $1" >&2; exit 9 ;;\n'
        "esac\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


@pytest.fixture
def smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = fake_smi(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(gpus, "mps_pipe", lambda: None)
    return folder


def no_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without nvidia-smi (this machine has none; a runner might)."""
    bare = tmp_path / "bare"
    bare.mkdir(exist_ok=True)
    for tool in ("sh", "cat"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (bare / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bare))


# ------------------------------------------------------------------ parsing --gpus
def test_indices_all_and_mig_uuids_name_the_devices(smi: Path) -> None:
    devices = gpus.list_devices()
    # GPU 2 is split into MIG instances: they are the devices, not the whole GPU
    assert [d.name for d in devices] == ["0", "1", MIG_A, MIG_B]
    assert [d.memory_mb for d in devices] == [81559, 81559, 20 * 1024, 5 * 1024]
    assert devices[2].mig and devices[2].node == "/dev/nvidia2" and devices[2].model == "3g.20gb"
    assert [d.name for d in gpus.choose("all", devices)] == ["0", "1", MIG_A, MIG_B]
    assert [d.name for d in gpus.choose("1,0", devices)] == ["1", "0"]
    assert [d.uuid for d in gpus.choose(f"{MIG_B},{UUID0}", devices)] == [MIG_B, UUID0]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("7", "no device 7 here (nvidia-smi lists 0, 1, MIG-"),
        ("0,0", "0 is named twice"),
        ("gpu0", "'gpu0' is not a GPU index, a GPU-/MIG- UUID or 'all'"),
        ("0,,1", "has an empty entry"),
        ("MIG-ffffffff-0000-0000-0000-000000000000", "no device MIG-ffffffff"),
    ],
)
def test_a_bad_gpus_value_is_one_line(smi: Path, spec: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        gpus.choose(spec, gpus.list_devices())
    assert says in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("--gpus: ")


def test_each_kernel_gets_the_device_memory_over_k_minus_a_margin(smi: Path) -> None:
    plan = gpus.plan("0,1", per_gpu=4)
    assert plan.slots == 8
    assert plan.share_mb == {"0": 81559 // 4, "1": 81559 // 4}
    assert plan.memory_limit_mb["0"] == 81559 // 4 - gpus.MARGIN_MB
    fixed = gpus.plan("0", per_gpu=8, memory_mb=8000)
    assert fixed.memory_limit_mb == {"0": 8000} and fixed.share_mb == {"0": 8000 + gpus.MARGIN_MB}


@pytest.mark.parametrize(
    ("spec", "per_gpu", "memory", "says"),
    [
        ("0", 0, None, "--per-gpu must be 1 or more"),
        ("0", 100, None, "100 kernels on 0 (81559 MB) would get"),
        ("0", 8, 12000, "8 kernels x (12000 MB + 1024 MB margin) is more than 0's 81559 MB"),
        ("0", 1, 100, "--gpu-memory-mb must be at least 256"),
    ],
)
def test_shares_that_cannot_hold_are_one_line(
    smi: Path, spec: str, per_gpu: int, memory: int | None, says: str
) -> None:
    with pytest.raises(UsageError, match=None) as err:
        gpus.plan(spec, per_gpu, memory)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_gpus_on_a_machine_without_gpus_is_one_usage_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_smi(monkeypatch, tmp_path)
    code = main([str(tmp_path / "assignment"), str(tmp_path), "--gpus", "0", "--per-gpu", "4"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "--gpus: this machine has no GPU that the grader can see (nvidia-smi not found)" in err


def test_per_gpu_without_gpus_is_one_usage_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path / "assignment"), str(tmp_path), "--per-gpu", "4"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--per-gpu and --gpu-memory-mb go with --gpus" in err


def test_a_failing_nvidia_smi_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    exe = folder / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver.'\nexit 9\n"
    )
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(UsageError, match="nvidia-smi failed: NVIDIA-SMI has failed because"):
        gpus.plan("all")


def test_device_nodes_follow_the_driver_minor_numbers_not_the_index(tmp_path: Path) -> None:
    for bus, minor in (("0000:18:00.0", 3), ("0000:2a:00.0", 0)):
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(f"Model: H100\nDevice Minor: \t {minor}\nBus Location: {bus}\n")
    minors = gpus.device_minors(tmp_path)
    assert minors[gpus._bus_key("00000000:18:00.0") or ()] == 3
    assert minors[gpus._bus_key("00000000:2A:00.0") or ()] == 0


# ------------------------------------------------------------------ slots
def test_slots_hand_out_k_per_device_and_never_more(smi: Path) -> None:
    slots = gpus.Slots(gpus.plan("0,1", per_gpu=2))
    taken = [slots.acquire() for _ in range(4)]
    assert all(s is not None for s in taken)
    held = [s for s in taken if s is not None]
    # spread: the least busy device first, so both devices fill evenly
    assert [s.device for s in held] == ["0", "1", "0", "1"]
    assert sorted((s.device, s.seat) for s in held) == [("0", 0), ("0", 1), ("1", 0), ("1", 1)]
    assert not slots.available() and slots.acquire() is None  # K running per device at most
    slots.release(held[1])
    again = slots.acquire()
    assert again is not None and (again.device, again.seat) == ("1", 0)
    assert slots.acquire() is None


def test_a_slot_released_twice_is_a_grader_bug(smi: Path) -> None:
    slots = gpus.Slots(gpus.plan("0", per_gpu=1))
    slot = slots.acquire()
    assert slot is not None
    slots.release(slot)
    with pytest.raises(RuntimeError, match="released but not held"):
        slots.release(slot)


def test_slots_under_churn_never_hold_more_than_k(smi: Path) -> None:
    slots = gpus.Slots(gpus.plan("0", per_gpu=3))
    most = 0
    running: list[gpus.Slot] = []
    for i in range(200):
        got = slots.acquire()
        if got is not None:
            running.append(got)
        most = max(most, len(running))
        if i % 2 and running:
            slots.release(running.pop(0))
    assert most == 3 and slots.in_use("0") == len(running)


def test_a_slot_travels_through_the_job_file_to_the_worker(smi: Path) -> None:
    from grader import batch, worker
    from grader.job import GradeOptions
    from grader.spec import load_assignment

    slot = gpus.Slots(gpus.plan(MIG_A, per_gpu=2)).acquire()
    assert slot is not None
    assignment = load_assignment(Path(__file__).resolve().parent.parent / "assignments" / "cnn_filters")
    gopts = GradeOptions(profile="smoke", sandboxed=True, seed=1, data_root=Path("/tmp"))
    job = json.loads(json.dumps(batch._settings(replace(gopts, gpu=slot), assignment, None)))
    assert worker._options(job).gpu == slot
    assert worker._options(json.loads(json.dumps(batch._settings(gopts, assignment, None)))).gpu is None


# ------------------------------------------------------------------ the kernel's environment and sandbox
def slot(**kw: Any) -> gpus.Slot:
    base = {"device": "1", "uuid": UUID1, "nodes": ("/dev/nvidia1",), "memory_limit_mb": 9000, "share_mb": 10024}
    return gpus.Slot(**{**base, "seat": 0, **kw})


def test_a_kernel_on_a_slot_sees_one_device_by_uuid_and_mps_only_where_it_runs() -> None:
    env = gpus.kernel_env(slot())
    assert env == {"CUDA_VISIBLE_DEVICES": UUID1, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    mps = gpus.kernel_env(slot(mps_pipe="/tmp/nvidia-mps"))
    assert mps["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=10024M"
    assert mps["CUDA_MPS_PIPE_DIRECTORY"] == "/tmp/nvidia-mps"


def test_only_the_slots_device_node_and_the_control_nodes_are_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctl = tmp_path / "nvidiactl"
    ctl.touch()
    monkeypatch.setattr(gpus, "CONTROL_NODES", (str(ctl), str(tmp_path / "nvidia-uvm-missing")))
    nodes = gpus.sandbox_nodes(slot())
    assert nodes == ("/dev/nvidia1", str(ctl))
    plan = sandbox.SandboxPlan(
        conn_dir=tmp_path, data_dir=None, files={}, limits=Limits(), env={}, cgroup=None, gpu_nodes=nodes
    )
    argv = sandbox.wrap(plan, ["python"])
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--dev-bind-try"]
    assert binds == ["/dev/nvidia1", str(ctl)]  # not /dev/nvidia0 nor any other device
    assert "/proc/driver/nvidia" in argv  # TensorFlow's probe of the PCI topology
    evaluator = sandbox.wrap(replace(plan, gpu_nodes=()), ["python"])
    assert "--dev-bind-try" not in evaluator and "/proc/driver/nvidia" not in evaluator
    mps = sandbox.wrap(replace(plan, mps_pipe="/tmp/nvidia-mps"), ["python"])
    assert mps[mps.index("--bind-try") + 1 : mps.index("--bind-try") + 3] == ["/tmp/nvidia-mps", "/tmp/nvidia-mps"]


def test_the_evaluator_runs_on_the_cpu() -> None:
    from grader import evaluator

    assert evaluator.ENV["CUDA_VISIBLE_DEVICES"] == ""


# ------------------------------------------------------------------ the bootstrap's cap
class FakeConfig:
    """tf.config as far as the cap uses it, with TensorFlow's rule: initialised devices
    cannot be reconfigured (RuntimeError)."""

    def __init__(self, gpus_: list[str]) -> None:
        self.gpus = gpus_
        self.calls: list[tuple[Any, ...]] = []
        self.initialised = False

    class LogicalDeviceConfiguration:
        def __init__(self, memory_limit: int | None = None) -> None:
            self.memory_limit = memory_limit

    def list_physical_devices(self, kind: str) -> list[str]:
        return list(self.gpus) if kind == "GPU" else []

    def set_logical_device_configuration(self, device: str, configs: list[Any]) -> None:
        if self.initialised:
            raise RuntimeError("Virtual devices cannot be modified after being initialized")
        self.calls.append(("set", device, [c.memory_limit for c in configs]))

    def list_logical_devices(self, kind: str) -> list[str]:
        self.initialised = True
        self.calls.append(("init", kind))
        return [f"/device:GPU:{i}" for i in range(len(self.gpus))]


class FakeTF:
    def __init__(self, gpus_: list[str]) -> None:
        self.config = FakeConfig(gpus_)


def test_the_cap_is_set_on_the_gpu_then_the_device_is_initialised() -> None:
    tf = FakeTF(["PhysicalDevice(GPU:0)"])
    done = kernel_gpu.cap(tf, 9000)
    assert tf.config.calls == [("set", "PhysicalDevice(GPU:0)", [9000]), ("init", "GPU")]
    assert done == {"action": "memory capped", "memory_mb": 9000, "devices": 1}
    with pytest.raises(RuntimeError, match="cannot be modified"):  # what the notebook meets
        tf.config.set_logical_device_configuration("PhysicalDevice(GPU:0)", [FakeConfig.LogicalDeviceConfiguration()])


def test_no_gpu_or_no_tensorflow_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "TRACE", [])
    monkeypatch.setattr(recorder, "SEALED", {})
    kernel_gpu.install(4000, importer=lambda name: FakeTF([]))

    def missing(name: str) -> Any:
        raise ModuleNotFoundError(f"No module named {name!r}")

    kernel_gpu.install(4000, importer=missing)
    events = [(e["event"], e["action"]) for e in recorder.TRACE]
    assert events == [("gpu", "no GPU visible"), ("gpu", "tensorflow not importable")]


FAKE_TENSORFLOW = '''
"""A stand-in for TensorFlow's config API, with its rule on initialised devices."""
import types

CALLS = []
STATE = {"initialised": False}

class LogicalDeviceConfiguration:
    def __init__(self, memory_limit=None):
        self.memory_limit = memory_limit

def list_physical_devices(kind):
    return ["GPU:0"] if kind == "GPU" else []

def set_logical_device_configuration(device, configs):
    if STATE["initialised"]:
        raise RuntimeError("Virtual devices cannot be modified after being initialized")
    CALLS.append(["set", device, [c.memory_limit for c in configs]])

def list_logical_devices(kind):
    STATE["initialised"] = True
    CALLS.append(["init", kind])
    return ["/device:GPU:0"]

config = types.SimpleNamespace(
    list_physical_devices=list_physical_devices,
    set_logical_device_configuration=set_logical_device_configuration,
    list_logical_devices=list_logical_devices,
    LogicalDeviceConfiguration=LogicalDeviceConfiguration,
)
'''


def test_the_shipped_bootstrap_caps_tensorflow_before_the_notebooks_first_line(tmp_path: Path) -> None:
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    config = protocol.BootConfig(
        seed=3,
        max_reply_bytes=1 << 20,
        profile_name="smoke",
        max_epochs=2,
        synthetic=True,
        data_dir=str(tmp_path),
        gpu_memory_mb=7000,
    ).to_json()
    notebook = (
        "import sys, json\n"
        "calls_at_start = [list(c) for c in sys.modules['tensorflow'].CALLS]\n"  # before any student line ran
        "import tensorflow as tf\n"
        "try:\n"
        "    tf.config.set_logical_device_configuration('GPU:0', [tf.config.LogicalDeviceConfiguration(10**6)])\n"
        "    lifted = True\n"
        "except RuntimeError:\n"
        "    lifted = False\n"
        "trace = sys.modules['_grader_kernel.recorder'].TRACE\n"
        "print(json.dumps({'at_start': calls_at_start, 'lifted': lifted,\n"
        "                  'gpu': [e for e in trace if e['event'] == 'gpu']}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", ship.bootstrap_code(config) + notebook],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["at_start"] == [["set", "GPU:0", [7000]], ["init", "GPU"]]
    assert found["lifted"] is False
    assert [(e["action"], e["memory_mb"]) for e in found["gpu"]] == [("memory capped", 7000)]


def test_without_a_slot_the_bootstrap_leaves_tensorflow_alone() -> None:
    assert (
        protocol.BootConfig(
            seed=0, max_reply_bytes=1, profile_name="smoke", max_epochs=None, synthetic=True, data_dir=None
        ).gpu_memory_mb
        is None
    )
    assert "gpu" in ship.MODULES and ship.MODULES.index("gpu") < ship.MODULES.index("boot")


# ------------------------------------------------------------------ measuring
def test_compute_apps_output_is_parsed_per_pid() -> None:
    text = "4242, 1500\n4243, [N/A]\n4242, 100\nNo running processes found\n\n77, 12.0\n"
    assert gpus.parse_apps(text) == {4242: 1600, 77: 12}


def test_the_watch_records_the_peak_of_the_kernels_tree_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fake_smi(tmp_path / "bin", apps="100, 700\n101, 300\n999, 50000\n")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    stopped: list[bool] = []
    watch = gpus.Monitor(slot(share_mb=2000), lambda: {100, 101}, lambda: stopped.append(True))
    watch.poll()
    (folder / "apps.txt").write_text("100, 1200\n999, 50000\n")
    watch.poll()
    assert watch.usage.peak_mb == 1200 and watch.usage.samples == 2 and not stopped
    assert watch.usage.to_json()["peak_mb"] == 1200


def test_a_tree_over_its_share_is_stopped_once_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fake_smi(tmp_path / "bin", apps="100, 1500\n555, 1000\n")  # 555: a subprocess of the notebook
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    stopped: list[bool] = []
    watch = gpus.Monitor(slot(share_mb=2000), lambda: {100, 555}, lambda: stopped.append(True))
    watch.poll()
    watch.poll()
    assert stopped == [True] and watch.usage.stopped and watch.usage.peak_mb == 2500
    assert len(watch.usage.notes) == 1 and "2,500 MB of GPU memory, over this kernel's share of 2,000 MB" in str(
        watch.usage.notes[0]
    )


def test_the_watch_runs_in_a_thread_and_says_when_nvidia_smi_is_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_smi(monkeypatch, tmp_path)
    with gpus.Monitor(slot(), set, lambda: None, interval=0.01) as watch:
        pass
    assert watch.usage.samples == 0 and watch.usage.peak_mb == 0


def test_the_peak_is_on_the_student_report_and_the_class_summary() -> None:
    import re

    from test_report import make_ctx, make_result

    from grader.report import render_student, render_summary

    def text(html: str) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))

    usage = gpus.Usage("0", 9000, 10024, peak_mb=2345, samples=40).to_json()
    on_gpu = make_result("alice", extra={"gpu": usage})
    silent = make_result("bob", extra={"gpu": {**usage, "samples": 0}})
    assert "GPU memory peak 2,345 MB on GPU 0 (TensorFlow limit 9,000 MB per kernel)" in text(
        render_student(on_gpu, make_ctx())
    )
    assert "not measured on GPU 0 (nvidia-smi did not answer)" in text(render_student(silent, make_ctx()))
    stopped = make_result("carol", extra={"gpu": {**usage, "stopped": True}})
    assert "over its share of 10,024 MB, so the kernel was stopped" in text(render_student(stopped, make_ctx()))
    korean = text(render_student(on_gpu, make_ctx(lang="ko")))
    assert "GPU 메모리" in korean and "GPU 0에서 최대 2,345 MB" in korean
    summary = text(render_summary([on_gpu, silent], make_ctx()))
    assert "GPU memory (peak)" in summary and "2,345 MB" in summary
    plain = make_result("dave")
    assert "GPU memory" not in text(render_student(plain, make_ctx()))
    assert "GPU memory" not in text(render_summary([plain], make_ctx()))


# ------------------------------------------------------------------ end to end (real kernel, no GPU)
@pytest.mark.slow
def test_a_batch_on_gpu_slots_reports_memory_on_a_machine_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grade: Any
) -> None:
    """Kernels on slots of a fake device: the job carries the slot, the kernel sees its UUID
    and no GPU, the watch polls the fake nvidia-smi, the report and summary show the peak."""
    folder = fake_smi(tmp_path / "bin", apps="")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    examples = Path(__file__).resolve().parent.parent / "examples" / "submissions" / "cnn_filters"
    subs = sorted(examples.glob("*.ipynb"))[:2]
    results = grade("cnn_filters", {p.name: p for p in subs}, "--gpus", "0", "--per-gpu", "2", "--lang", "en")
    assert len(results) == 2
    for r in results.values():
        assert r.error is None, r.error
        assert r.extra["gpu"]["device"] == "0" and r.extra["gpu"]["samples"] >= 1
        assert r.extra["gpu"]["memory_limit_mb"] == 81559 // 2 - gpus.MARGIN_MB
    student = next(iter(results))
    page = (grade.reports / "cnn_filters" / f"{student}.html").read_text()
    assert "GPU memory" in page and "peak 0 MB on GPU 0" in page
    assert "GPU memory (peak)" in (grade.reports / "cnn_filters" / "index.html").read_text()


@pytest.mark.slow
def test_a_sandboxed_kernel_on_a_slot_sees_its_uuid_and_boots_with_its_cap() -> None:
    """The kernel session puts the slot together: the environment inside the sandbox and the
    bootstrap's cap (here TensorFlow finds no GPU and says so in the trace)."""
    import nbformat

    from grader.execute import KernelSession
    from grader.spec import load_assignment
    from grader.witness import Notebook

    if sandbox.check_available() is not None:
        pytest.skip(f"needs the sandbox: {sandbox.check_available()}")
    spec = load_assignment(Path(__file__).resolve().parent.parent / "assignments" / "cnn_filters")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint(os.environ['CUDA_VISIBLE_DEVICES'], os.getuid())")]
    with KernelSession(limits=spec.limits, profile=spec.profiles["smoke"], data_dir=None, gpu=slot()) as session:
        session.run_notebook(nb)
        trace = Notebook(session, nb).trace("gpu")
    assert nb.cells[0].outputs[0]["text"].split() == [UUID1, str(sandbox.NOBODY)]
    assert [(e["action"], e["memory_mb"]) for e in trace] == [("no GPU visible", 9000)]


# ------------------------------------------------------------------ on a Ray cluster
def test_with_ray_the_gpus_are_the_clusters_and_only_all_is_accepted(tmp_path: Path) -> None:
    ask = gpus.cluster_plan("all", per_gpu=4, memory_mb=6000)  # no nvidia-smi needed on the driver
    assert (ask.devices, ask.per_gpu, ask.memory_mb) == ((), 4, 6000)
    with pytest.raises(UsageError, match=r"^--gpus: with --ray, give --gpus all: Ray places each task"):
        gpus.cluster_plan("0,1", per_gpu=4)
    with pytest.raises(UsageError, match="--per-gpu must be 1 or more"):
        gpus.cluster_plan("all", per_gpu=0)


def test_naming_devices_with_ray_is_one_usage_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path / "assignment"), str(tmp_path), "--ray", "127.0.0.1:1", "--gpus", "0", "--per-gpu", "4"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "with --ray, give --gpus all" in err


def test_a_ray_node_makes_the_slot_on_the_gpu_ray_gave_the_task(smi: Path) -> None:
    slot = gpus.node_slot("1", per_gpu=4, memory_mb=None)  # CUDA_VISIBLE_DEVICES=1, set by Ray
    assert (slot.device, slot.uuid) == ("1", UUID1)
    assert slot.memory_limit_mb == 81559 // 4 - gpus.MARGIN_MB and slot.share_mb == 81559 // 4
    by_uuid = gpus.node_slot(UUID0, per_gpu=2, memory_mb=8000)
    assert (by_uuid.uuid, by_uuid.memory_limit_mb) == (UUID0, 8000)
    for visible in ("", "0,1"):
        with pytest.raises(RuntimeError, match="one device was expected"):
            gpus.node_slot(visible, per_gpu=4, memory_mb=None)
