"""GPU slots on a GPU runner, in one go (~9 minutes on one device): what a later session runs
when it is lent a GPU, and prints as markdown tables for the README.

1. Throughput: the MLP assignments (sparse_labels, dropout_rates), the reference solution
   under new names, graded by the whole `grade` command with `--gpus DEV --per-gpu K` for
   K = 1, 4, 8 (workers = K), profile `fast`. Submissions per minute, and K=8 over K=1
   (target: 6x or more). K=1 is the baseline, from the same run.
2. A neighbour beside a memory hog, two slots on one device: the sparse_labels solution
   graded beside (a) a notebook whose first cell takes TensorFlow memory until it is
   refused (layer 1: TensorFlow's limit), and (b) one whose first cell starts a Python
   subprocess that does the same with no limit of TensorFlow's (layers 2 and 3: MPS where
   it runs, else the worker's watch). The neighbour must score what it scores alone.
3. The `full` results table (bench/full_results.py's rows) on the GPU: every training
   assignment's solution in `full`, all at once, each kernel on a slot of one device,
   each cut at --full-budget seconds (a fit cut short says how many epochs it ran).

    .venv/bin/python bench/gpu_check.py                  # all three (~9 min)
    .venv/bin/python bench/gpu_check.py --quick          # K = 1 and 8, fewer submissions, full for 120 s (~5 min)
    .venv/bin/python bench/gpu_check.py --skip-full --gpu 1

Needs: a GPU nvidia-smi lists, TensorFlow with CUDA in the kernels' Python (`pip install
'tensorflow[and-cuda]'`), MNIST and Fashion-MNIST in the data store (./setup.sh). On a
machine without a GPU it stops with one line. Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402

from grader import gpus  # noqa: E402
from grader.errors import UsageError  # noqa: E402

MLP = ("sparse_labels", "dropout_rates")
TRAINING = ("sparse_labels", "dropout_rates", "bn_vs_dropout", "callbacks", "fashion_vs_mnist", "cnn_mistakes")
DATA = REPO / ".grader" / "data"
GRADE = "import sys; from grader.cli import main; sys.exit(main(sys.argv[1:]))"

TF_HOG = """import tensorflow as tf
_hog = []
try:
    while True:
        _hog.append(tf.zeros((256, 1024, 1024)))  # 1 GiB each, kept
except Exception as exc:
    print("hog refused after", len(_hog), "GiB:", type(exc).__name__)
"""
SUBPROCESS_HOG = """import subprocess, sys
code = '''
import time, tensorflow as tf
hog = []
try:
    while True:
        hog.append(tf.zeros((256, 1024, 1024)))
except Exception as exc:
    print("subprocess hog refused after", len(hog), "GiB", flush=True)
time.sleep(30)
'''
print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout[-500:])
"""


def note(text: str) -> None:
    print(f"[gpu_check] {text}", file=sys.stderr, flush=True)


def fail(text: str) -> int:
    print(f"gpu_check: {text}", file=sys.stderr)
    return 2


def preconditions(device: str, python: str) -> str | None:
    """None when this machine can run the check; else the one line saying why not."""
    try:
        devices = gpus.choose(device, gpus.list_devices())
    except UsageError as exc:
        return f"no GPU to check here: {exc}"
    probe = subprocess.run(
        [python, "-c", "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"],
        capture_output=True,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": devices[0].uuid},
    )
    seen = probe.stdout.strip().splitlines()[-1:] if probe.returncode == 0 else []
    if seen != ["1"]:
        why = (probe.stderr.strip().splitlines() or ["it sees no GPU"])[-1][:200]
        return f"TensorFlow in {python} does not see {devices[0].name} ({why}); pip install 'tensorflow[and-cuda]'"
    return None


# ------------------------------------------------------------------ grading through the CLI
def copies(name: str, n: int, folder: Path, first_cell: str | None = None, prefix: str = "s") -> Path:
    """`n` copies of `name`'s reference solution under new names (a first cell put in front)."""
    from grader.spec import load_assignment

    spec = load_assignment(REPO / "assignments" / name)
    nb = nbformat.read(REPO / "solutions" / name / spec.notebook, as_version=4)
    if first_cell is not None:
        nb.cells.insert(0, nbformat.v4.new_code_cell(first_cell))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        nbformat.write(nb, folder / f"{prefix}{i:02d}.ipynb")
    return folder


def grade(work: Path, tag: str, name: str, subs: Path, args: list[str]) -> tuple[float, list[Any]]:
    """One `grade` command; (wall seconds, results). Stops the check with the command's last
    line when it fails as a whole."""
    from grader.gradebook import Gradebook

    home = work / f"home-{tag}"
    env = {**os.environ, "GRADER_HOME": str(home), "GRADER_DATA": str(DATA)}
    argv = [str(REPO / "assignments" / name), str(subs), "--reports", str(work / f"reports-{tag}"), "--seed", "0"]
    argv += ["--lang", "en", *args]
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", GRADE, *argv], capture_output=True, text=True, cwd=REPO, env=env)
    seconds = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(fail(f"grade {name} ({tag}) failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}"))
    with Gradebook(home / "gradebook.sqlite") as book:
        results = book.latest(name)
    return seconds, results


def peak(results: list[Any]) -> str:
    peaks = [r.extra.get("gpu", {}).get("peak_mb", 0) for r in results]
    return f"{max(peaks):,} MB" if peaks else "-"


def throughput(work: Path, device: str, ks: list[int], per_k: dict[int, int]) -> list[str]:
    head = (
        "| assignment | K (kernels on one GPU) | submissions | wall s | submissions/min | vs K=1 | peak GPU MB/kernel |"
    )
    rows = [head + " errors |", "|---|---|---|---|---|---|---|---|"]
    for name in MLP:
        base = None
        for k in ks:
            n = per_k[k]
            subs = copies(name, n, work / f"subs-{name}-{k}")
            note(f"{name}: {n} submissions, --per-gpu {k}")
            seconds, results = grade(work, f"{name}-k{k}", name, subs, ["--gpus", device, "--per-gpu", str(k)])
            rate = 60 * n / seconds
            base = base or rate
            errors = sum(1 for r in results if r.error)
            rows.append(
                f"| {name} | {k} | {n} | {seconds:.0f} | {rate:.1f} | {rate / base:.2f}x | {peak(results)} | {errors} |"
            )
    rows.append(f"\ntarget: K=8 at 6x K=1 or more (K=1 is the baseline, same run, profile fast, device {device})")
    return rows


def neighbours(work: Path, device: str) -> list[str]:
    rows = ["| beside | neighbour's score | alone | hog's peak GPU MB | hog's events |", "|---|---|---|---|---|"]
    _, alone = grade(
        work, "alone", "sparse_labels", copies("sparse_labels", 1, work / "subs-alone"), ["--gpus", device]
    )
    alone_score = alone[0].score
    for tag, cell in (("TensorFlow hog", TF_HOG), ("subprocess hog", SUBPROCESS_HOG)):
        folder = copies("sparse_labels", 1, work / f"subs-{tag[:3]}", prefix="neighbour")
        copies("sparse_labels", 1, folder, first_cell=cell, prefix="hog")
        note(f"neighbour beside a {tag}")
        _, results = grade(work, tag[:3], "sparse_labels", folder, ["--gpus", device, "--per-gpu", "2"])
        by = {r.student: r for r in results}
        n, h = by["neighbour00"], by["hog00"]
        events = "; ".join(e for e in h.events if "GPU" in e)[:300] or "-"
        rows.append(
            f"| {tag} | {n.score:g}/{n.max_score:g}{' ' + (n.error or '') if n.error else ''} | {alone_score:g} "
            f"| {h.extra.get('gpu', {}).get('peak_mb', '-')} | {events} |"
        )
    return rows


# ------------------------------------------------------------------ the full table
def full_one(name: str, slot: gpus.Slot, budget: float) -> dict[str, Any]:
    """One solution in `full` on `slot` (a child process of the check): trace rows and peak."""
    from grader import sandbox, scratch
    from grader.datastore import DataStore
    from grader.execute import KernelSession
    from grader.spec import load_assignment
    from grader.witness import Notebook

    spec = load_assignment(REPO / "assignments" / name)
    profile = spec.profiles["full"]
    limits = replace(spec.limits, cell_timeout_s=budget, notebook_timeout_s=budget)
    stage = scratch.make("data")
    data_dir = DataStore(DATA).stage(list(spec.datasets), profile, stage) if spec.datasets else None
    nb = nbformat.read(REPO / "solutions" / name / spec.notebook, as_version=4)
    t0 = time.monotonic()
    with KernelSession(
        limits=limits,
        profile=profile,
        data_dir=data_dir,
        sandboxed=sandbox.check_available() is None,
        seed=0,
        gpu=slot,
    ) as session:
        with gpus.Monitor(slot, session.host_pids, session.stop_tree) as watch:
            result = session.run_notebook(nb)
            trace = Notebook(session, nb).trace()
    shutil.rmtree(stage, ignore_errors=True)
    lines = []
    for ev in trace:
        if ev.get("event") == "fit":
            final = ev.get("final") or {}
            gap = final.get("val_loss", float("nan")) - final.get("loss", float("nan"))
            lines.append(
                f"fit {ev.get('model')}: {ev.get('epochs_run')}/{ev.get('epochs_asked')} epochs in "
                f"{ev.get('seconds') or 0:.0f} s, accuracy {final.get('accuracy', float('nan')):.4f}, "
                f"val_accuracy {final.get('val_accuracy', float('nan')):.4f}, gap {gap:.4f}"
            )
        elif ev.get("event") == "evaluate":
            lines.append(f"evaluate {ev.get('model')}: {ev.get('result')}")
        elif ev.get("event") == "gpu":
            lines.append(f"gpu: {ev.get('action')} ({ev.get('memory_mb')} MB)")
    stopped = [c for c in result.cells if c.status != "ok"]
    return {
        "name": name,
        "seconds": round(time.monotonic() - t0, 1),
        "lines": lines,
        "stopped": [f"{c.status} {c.ename}" for c in stopped][:3],
        "peak_mb": watch.usage.peak_mb,
    }


def full_table(work: Path, device: str, budget: float) -> list[str]:
    plan = gpus.plan(device, per_gpu=8)
    slots = gpus.Slots(plan)
    jobs = []
    for name in TRAINING:
        slot = slots.acquire()
        assert slot is not None
        jobs.append((name, slot))
    note(f"full: {len(jobs)} solutions at once on {device}, {budget:.0f} s each at most")

    def child(name: str, slot: gpus.Slot) -> dict[str, Any]:
        out = work / f"full-{name}.json"
        argv = [sys.executable, __file__, "--full-one", name, "--slot", json.dumps(slot.to_json())]
        argv += ["--full-budget", str(budget), "--out", str(out)]
        run = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=budget + 240)
        if run.returncode != 0 or not out.is_file():
            return {"name": name, "error": (run.stderr.strip().splitlines() or ["?"])[-1][:300]}
        loaded: dict[str, Any] = json.loads(out.read_text())
        return loaded

    with ThreadPoolExecutor(len(jobs)) as pool:
        done = list(pool.map(lambda job: child(*job), jobs))
    rows = [f"### `full` on {device} ({len(jobs)} kernels at once, TensorFlow limit {plan.memory_limit_mb} MB each)"]
    for d in done:
        if "error" in d:
            rows.append(f"- **{d['name']}**: failed: {d['error']}")
            continue
        cut = f", cut: {', '.join(d['stopped'])}" if d["stopped"] else ""
        rows.append(f"- **{d['name']}** ({d['seconds']:.0f} s, peak {d['peak_mb']:,} MB{cut})")
        rows += [f"  - {line}" for line in d["lines"]]
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--gpu", default="0", help="the device to check, as --gpus takes it (default 0)")
    p.add_argument("--quick", action="store_true", help="K = 1 and 8 only, fewer submissions, full for 120 s")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-hog", action="store_true")
    p.add_argument("--skip-full", action="store_true")
    p.add_argument("--full-budget", type=float, help="seconds per solution in full (default 240; --quick 120)")
    p.add_argument("--full-one", help=argparse.SUPPRESS)  # the child that runs one solution in full
    p.add_argument("--slot", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    budget = args.full_budget or (120.0 if args.quick else 240.0)
    if args.full_one:
        slot = gpus.Slot.from_json(json.loads(args.slot))
        args.out.write_text(json.dumps(full_one(args.full_one, slot, budget)))
        return 0
    why = preconditions(args.gpu, sys.executable)
    if why is not None:
        return fail(why)
    ks = [1, 8] if args.quick else [1, 4, 8]
    per_k = {1: 2, 8: 8} if args.quick else {1: 3, 4: 8, 8: 16}
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    try:
        smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip()
        print(f"## GPU slots check, {time.strftime('%Y-%m-%d')}\n\n```\n{smi}\n```\n")
        if not args.skip_throughput:
            print("\n".join(throughput(work, args.gpu, ks, per_k)) + "\n", flush=True)
        if not args.skip_hog:
            print("\n".join(neighbours(work, args.gpu)) + "\n", flush=True)
        if not args.skip_full:
            print("\n".join(full_table(work, args.gpu, budget)) + "\n", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
