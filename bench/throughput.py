"""Throughput of a grading batch: one command, one markdown table, every row from one run.

Rows, for cnn_filters (numpy only) and conv2d_simple (imports TensorFlow), on the same
notebooks in the same run:
- bare nbclient: a plain local kernel, no sandbox, no checks (bench/overhead.py's runner),
  seconds per notebook;
- `grade` with 1 and with 2 workers, the warm kernel pool off (`--no-pool`) and on (the
  default; grader/pool.py), fresh gradebooks: wall seconds of the whole command per
  submission, as a multiple of bare; 2 workers' speed-up over one;
- the regrade of an unchanged batch: the same command again (everything is skipped),
  seconds and % of the first run;
- the peak memory of the `grade` process itself (its own ru_maxrss, read in that
  process as it exits: not its workers or kernels) grading 10 and 500 copies of the
  cnn_filters examples under new names, 2 workers, pool on; the largest single process
  below it (RUSAGE_CHILDREN) beside it.
Rows other backends add (`extra_rows`: Ray, `--ray`) come after these; the GPU rows
are bench/gpu_check.py's, run on a machine with a device.

    .venv/bin/python bench/throughput.py            # 30 submissions each, memory at 10 and 500 (~25 min, 2 cores)
    .venv/bin/python bench/throughput.py --quick    # the examples as they are (6-7), memory at 10 and 60 (~5 min)

The table goes to stdout; what is being run, to stderr.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from overhead import bare  # noqa: E402  (the same bare-nbclient runner as bench/overhead.py)

from grader.datastore import DataStore  # noqa: E402
from grader.spec import load_assignment  # noqa: E402
from grader.submissions import Submission, collect  # noqa: E402

DATA_ROOT = REPO / ".grader" / "data"
# The environment the grader gives its kernels (grader/execute.py), given to the bare ones too.
KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
ASSIGNMENTS = {"cnn_filters": "numpy only", "conv2d_simple": "imports TensorFlow"}

# `grade` exactly as the console script runs it (grader.cli.main), in a process that writes
# its own peak RSS and that of the largest process below it when it exits.
GRADE = (
    "import resource, sys\n"
    "from grader.cli import main\n"
    "rc = main(sys.argv[2:])\n"
    "me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "below = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(f'{me} {below}')\n"
    "sys.exit(rc)\n"
)


@dataclass
class Run:
    seconds: float
    rss_mb: float  # the grade process's own peak
    below_mb: float  # the largest single process below it (worker or kernel)


def note(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def grade(
    work: Path,
    name: str,
    subs: Path,
    profile: str,
    workers: int,
    tag: str,
    pool: bool = True,
    extra: tuple[str, ...] = (),
) -> Run:
    """One `grade` command over `subs`; a tag names its gradebook and reports (same tag:
    same gradebook). `pool`: the warm kernel pool on (the default) or `--no-pool`.
    `extra`: more arguments (the Ray row's `--ray ADDRESS`)."""
    mem = work / f"{tag}.rss"
    args = [
        *([] if pool else ["--no-pool"]),
        *extra,
        str(REPO / "assignments" / name),
        str(subs),
        "--profile",
        profile,
        "--workers",
        str(workers),
        "--gradebook",
        str(work / f"{tag}.sqlite"),
        "--reports",
        str(work / f"reports-{tag}"),
        "--data",
        str(DATA_ROOT),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADER_HOME": str(work / "home")}
    log = work / f"{tag}.log"
    book = work / f"{tag}.sqlite"
    fresh = not book.exists()
    for attempt in range(1, 4):
        t0 = time.perf_counter()
        with log.open("ab") as out:
            proc = subprocess.run(
                [sys.executable, "-c", GRADE, str(mem), *args], cwd=REPO, env=env, stdout=out, stderr=out
            )
        seconds = time.perf_counter() - t0
        if proc.returncode == 0:
            break
        # The tree is shared with people editing it: a run that failed (in its reports,
        # say) is run again from scratch, at most three times, and says so.
        tail = log.read_text(errors="replace").strip().splitlines()[-1:]
        note(f"{tag}: grade exited {proc.returncode} (attempt {attempt}): {tail}")
        if fresh:
            for leftover in work.glob(f"{tag}.sqlite*"):
                leftover.unlink()
            shutil.rmtree(work / f"reports-{tag}", ignore_errors=True)
    else:
        sys.exit(f"grade exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
    last = log.read_text(errors="replace").strip().splitlines()[-1]
    note(f"{tag}: {seconds:.1f} s: {last[:110]}")
    me_kb, below_kb = (int(x) for x in mem.read_text().split())
    return Run(seconds, me_kb / 1024, below_kb / 1024)


def copies(examples: list[Submission], n: int, dest: Path) -> Path:
    """n submissions under new names, cycling through the examples."""
    dest.mkdir(parents=True)
    for i in range(n):
        s = examples[i % len(examples)]
        shutil.copy(s.source, dest / f"s{i:03d}_{s.student}.ipynb")
    return dest


def throughput(name: str, n: int | None, profile: str, work: Path) -> dict[str, str]:
    spec = load_assignment(REPO / "assignments" / name)
    examples = [s for s in collect(REPO / "examples" / "submissions" / name, spec.notebook) if s.ok]
    subs = copies(examples, n or len(examples), work / f"{name}-subs")
    batch = collect(subs, spec.notebook)
    data_dir = None
    if spec.datasets:
        data_dir = DataStore(DATA_ROOT).stage(list(spec.datasets), spec.profiles[profile], work / f"{name}-data")
    note(f"{name}: bare nbclient over {len(batch)} notebooks")
    b = statistics.mean(bare(s.notebook, data_dir) for s in batch if s.notebook is not None)
    runs: dict[str, Run] = {}
    for workers in (1, 2):
        for pool in (False, True):
            key = f"w{workers}{'-pool' if pool else ''}"
            note(f"{name}: grade, {workers} worker(s), pool {'on' if pool else 'off'}")
            runs[key] = grade(work, name, subs, profile, workers, f"{name}-{key}", pool=pool)
    note(f"{name}: grade again, nothing changed")
    again = grade(work, name, subs, profile, 2, f"{name}-w2-pool")
    k = len(batch)

    def per(run: Run) -> str:
        return f"{run.seconds / k:.2f} s/nb = {run.seconds / k / b:.2f}x bare"

    return {
        "n": f"{k}" + ("" if n else " (the examples)"),
        "bare": f"{b:.2f} s/nb",
        "w1": per(runs["w1"]),
        "w1-pool": f"{per(runs['w1-pool'])}; {runs['w1'].seconds / runs['w1-pool'].seconds:.2f}x the speed without",
        "w2": f"{per(runs['w2'])}; {runs['w1'].seconds / runs['w2'].seconds:.2f}x the speed of one worker",
        "w2-pool": f"{per(runs['w2-pool'])}; {runs['w1-pool'].seconds / runs['w2-pool'].seconds:.2f}x the speed "
        "of one worker",
        "regrade": f"{again.seconds:.1f} s = {100 * again.seconds / runs['w2-pool'].seconds:.1f} % of the first",
    }


def memory(sizes: tuple[int, int], profile: str, work: Path) -> list[tuple[int, Run]]:
    spec = load_assignment(REPO / "assignments" / "cnn_filters")
    examples = [s for s in collect(REPO / "examples" / "submissions" / "cnn_filters", spec.notebook) if s.ok]
    runs = []
    for n in sizes:
        note(f"memory: grade {n} cnn_filters submissions, 2 workers, pool on")
        subs = copies(examples, n, work / f"mem-{n}")
        runs.append((n, grade(work, "cnn_filters", subs, profile, 2, f"mem-{n}")))
    return runs


def extra_rows(args: argparse.Namespace, n: int | None, work: Path) -> list[tuple[str, dict[str, str]]]:
    """Rows of other backends, measured in this same run: (label, cell per assignment).
    The Ray backend (grader/cluster.py) adds its row here behind `--ray`."""
    if getattr(args, "ray", False):  # --ray: see ray_row below
        return [ray_row(args.profile, work)]
    return [(RAY_LABEL, {nm: "not measured (add --ray; needs the ray extra)" for nm in ASSIGNMENTS})]


# --- the Ray row (grader/cluster.py, `grade --ray`); added with the cluster backend ---------
RAY_LABEL = "Ray, 2 local workers vs the local pool"


def ray_row(profile: str, work: Path) -> tuple[str, dict[str, str]]:
    """Each assignment's batch above (the same submissions) graded through a Ray head
    started here with 2 CPUs (two tasks at once, each a cold worker: Ray has no warm
    pool), then again, right after, by the local batch with 2 workers and the warm pool:
    seconds per submission of both whole commands, and Ray's speed as a multiple of the
    local one. The first Ray batch pays the nodes' unpacking of the bundles."""
    temp = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # short: Ray's socket paths live under it
    port = 20000 + os.getpid() % 20000
    # token authentication, its token given to the head and to `grade` (both inherit os.environ)
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    note(f"ray: starting a head with 2 CPUs on 127.0.0.1:{port}")
    with (temp / "head.log").open("wb") as log:
        head = subprocess.Popen(
            [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--num-cpus", "2"]
            + ["--node-ip-address", "127.0.0.1", "--port", str(port), "--temp-dir", str(temp)]
            + ["--disable-usage-stats", "--include-dashboard=false"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cells: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in (temp / "head.log").read_bytes():
            if head.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Ray head did not start:\n{(temp / 'head.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        for name in ASSIGNMENTS:
            subs = work / f"{name}-subs"
            k = len(list(subs.iterdir()))
            note(f"{name}: grade --ray, 2 CPUs")
            ray = grade(work, name, subs, profile, 2, f"{name}-ray", extra=("--ray", f"127.0.0.1:{port}"))
            note(f"{name}: grade, 2 workers, pool on (the baseline of the Ray row)")
            local = grade(work, name, subs, profile, 2, f"{name}-ray-baseline")
            cells[name] = (
                f"{ray.seconds / k:.2f} s/nb on Ray vs {local.seconds / k:.2f} s/nb locally = "
                f"{local.seconds / ray.seconds:.2f}x the local pool's speed"
            )
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(temp, ignore_errors=True)
    return RAY_LABEL, cells


# --- end of the Ray row ---------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the examples as they are; memory at 10 and 60")
    p.add_argument("--profile", default="fast")
    p.add_argument("--batch", type=int, default=30, help="submissions per assignment (default 30; --quick: examples)")
    p.add_argument("--ray", action="store_true", help="measure the Ray row too (a local head, 2 CPUs; the ray extra)")
    args = p.parse_args()
    n = None if args.quick else args.batch
    sizes = (10, 60) if args.quick else (10, 500)
    os.environ.update(KERNEL_ENV)  # the bare kernels inherit it
    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        cols = {name: throughput(name, n, args.profile, work) for name in ASSIGNMENTS}
        mem = memory(sizes, args.profile, work)
        extra = extra_rows(args, n, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    took = time.perf_counter() - started
    (n_small, small), (n_big, big) = mem
    cpus = os.cpu_count()
    print(
        f"`bench/throughput.py{' --quick' if args.quick else ''}`, {date.today()}, profile {args.profile}, "
        f"{cpus} CPU cores, load average {load:.2f} at the start and {os.getloadavg()[0]:.2f} at the end, "
        f"{took / 60:.1f} min in all; the cores are shared with other work, so the load average "
        "says how quiet they were\n"
    )
    names = list(ASSIGNMENTS)
    print("| | " + " | ".join(f"{nm} ({ASSIGNMENTS[nm]})" for nm in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    rows = [
        ("submissions", "n"),
        ("bare nbclient", "bare"),
        ("`grade`, 1 worker, `--no-pool`", "w1"),
        ("`grade`, 1 worker, warm pool (default)", "w1-pool"),
        ("`grade`, 2 workers, `--no-pool`", "w2"),
        ("`grade`, 2 workers, warm pool (default)", "w2-pool"),
        ("regrade of the unchanged batch (2 workers)", "regrade"),
    ]
    for label, key in rows:
        print(f"| {label} | " + " | ".join(cols[nm][key] for nm in names) + " |")
    for label, by_name in extra:
        print(f"| {label} | " + " | ".join(by_name.get(nm, "") for nm in names) + " |")
    for label in ("GPU (a device lent)",):
        print(f"| {label} | " + " | ".join("not measured here: bench/gpu_check.py on a device" for _ in names) + " |")
    note_big = " (`--quick`; 500 without it)" if args.quick else ""
    print(
        f"| `grade` process peak RSS, {n_small} cnn_filters submissions, 2 workers, pool on | "
        f"{small.rss_mb:.0f} MB (largest process below it: {small.below_mb:.0f} MB) | |"
    )
    print(
        f"| `grade` process peak RSS, {n_big} cnn_filters submissions{note_big}, 2 workers, pool on | "
        f"{big.rss_mb:.0f} MB = {big.rss_mb / small.rss_mb:.2f}x the {n_small} "
        f"(largest process below it: {big.below_mb:.0f} MB); {big.seconds:.0f} s, "
        f"{big.seconds / n_big:.2f} s/submission | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
