"""Throughput of a grading batch: one command, one markdown table, every row from one run.

Rows, for cnn_filters (numpy only) and conv2d_simple (imports TensorFlow), on the same
notebooks in the same run:
- bare nbclient: a plain local kernel, no sandbox, no checks (bench/overhead.py's runner),
  seconds per notebook;
- `grade` with 1 and with 2 workers (fresh gradebooks): wall seconds of the whole
  command per submission, as a multiple of bare, and 2 workers' speed-up over one;
- the regrade of an unchanged batch: the same command again (everything is skipped),
  seconds and % of the first run;
- the peak memory of the `grade` process itself (its own ru_maxrss, read in that
  process as it exits: not its workers or kernels) grading 10 and 500 copies of the
  cnn_filters examples under new names, 2 workers; the largest single process below
  it (RUSAGE_CHILDREN) beside it.
Warm pool, Ray and GPU rows are printed as "not built yet" until those exist.

    .venv/bin/python bench/throughput.py            # 30 submissions each, memory at 10 and 500 (~20 min, 2 cores)
    .venv/bin/python bench/throughput.py --quick    # the examples as they are (6-7), memory at 10 and 60 (~4 min)

The table goes to stdout; what is being run, to stderr.
"""

from __future__ import annotations

import argparse
import os
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


def grade(work: Path, name: str, subs: Path, profile: str, workers: int, tag: str) -> Run:
    """One `grade` command over `subs`; a tag names its gradebook and reports (same tag: same gradebook)."""
    mem = work / f"{tag}.rss"
    args = [
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
    t0 = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.run([sys.executable, "-c", GRADE, str(mem), *args], cwd=REPO, env=env, stdout=out, stderr=out)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
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
    note(f"{name}: grade, 1 worker")
    one = grade(work, name, subs, profile, 1, f"{name}-w1")
    note(f"{name}: grade, 2 workers")
    two = grade(work, name, subs, profile, 2, f"{name}-w2")
    note(f"{name}: grade again, nothing changed")
    again = grade(work, name, subs, profile, 2, f"{name}-w2")
    k = len(batch)
    return {
        "n": f"{k}" + ("" if n else " (the examples)"),
        "bare": f"{b:.2f} s/nb",
        "w1": f"{one.seconds / k:.2f} s/nb = {one.seconds / k / b:.2f}x bare",
        "w2": f"{two.seconds / k:.2f} s/nb = {two.seconds / k / b:.2f}x bare; "
        f"{one.seconds / two.seconds:.2f}x the speed of one worker",
        "regrade": f"{again.seconds:.1f} s = {100 * again.seconds / two.seconds:.0f} % of the first",
    }


def memory(sizes: tuple[int, int], profile: str, work: Path) -> list[tuple[int, Run]]:
    spec = load_assignment(REPO / "assignments" / "cnn_filters")
    examples = [s for s in collect(REPO / "examples" / "submissions" / "cnn_filters", spec.notebook) if s.ok]
    runs = []
    for n in sizes:
        note(f"memory: grade {n} cnn_filters submissions, 2 workers")
        subs = copies(examples, n, work / f"mem-{n}")
        runs.append((n, grade(work, "cnn_filters", subs, profile, 2, f"mem-{n}")))
    return runs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the examples as they are; memory at 10 and 60")
    p.add_argument("--profile", default="fast")
    p.add_argument("--batch", type=int, default=30, help="submissions per assignment (default 30; --quick: examples)")
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    took = time.perf_counter() - started
    (n_small, small), (n_big, big) = mem
    cpus = os.cpu_count()
    print(
        f"`bench/throughput.py{' --quick' if args.quick else ''}`, {date.today()}, profile {args.profile}, "
        f"{cpus} CPU cores, load average {load:.2f} at the start and {os.getloadavg()[0]:.2f} at the end, "
        f"{took / 60:.1f} min in all\n"
    )
    names = list(ASSIGNMENTS)
    print("| | " + " | ".join(f"{nm} ({ASSIGNMENTS[nm]})" for nm in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    rows = [
        ("submissions", "n"),
        ("bare nbclient", "bare"),
        ("`grade`, 1 worker", "w1"),
        ("`grade`, 2 workers", "w2"),
        ("regrade of the unchanged batch (2 workers)", "regrade"),
    ]
    for label, key in rows:
        print(f"| {label} | " + " | ".join(cols[nm][key] for nm in names) + " |")
    for label in ("warm kernel pool on", "Ray, 2 local workers vs the local pool", "GPU (a device lent)"):
        print(f"| {label} | " + " | ".join("not built yet" for _ in names) + " |")
    note_big = " (`--quick`; 500 without it)" if args.quick else ""
    print(
        f"| `grade` process peak RSS, {n_small} cnn_filters submissions, 2 workers | "
        f"{small.rss_mb:.0f} MB (largest process below it: {small.below_mb:.0f} MB) | |"
    )
    print(
        f"| `grade` process peak RSS, {n_big} cnn_filters submissions{note_big}, 2 workers | "
        f"{big.rss_mb:.0f} MB = {big.rss_mb / small.rss_mb:.2f}x the {n_small} "
        f"(largest process below it: {big.below_mb:.0f} MB); {big.seconds:.0f} s, "
        f"{big.seconds / n_big:.2f} s/submission | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
