"""Grader overhead against bare nbclient, measured in the same run.

For each assignment, executes the same notebooks (a) with bare nbclient — a plain
local kernel, no sandbox, no checks — and (b) with `grade` (sandboxed kernel,
bootstrap, public + hidden checks, gradebook, reports), one worker, and prints seconds
per submission and the ratio (b)/(a): the grader's overhead.

Data: a bare kernel cannot download MNIST here, so (a) gets one prepended cell that
serves `keras.datasets.mnist.load_data()` from the same staged .npz the grader uses.

    .venv/bin/python bench/overhead.py [--profile smoke] [--repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.datastore import DataStore  # noqa: E402
from grader.spec import load_assignment  # noqa: E402
from grader.submissions import collect  # noqa: E402

SHIM = """
import numpy as _np, keras as _k
def _load(path):
    def load_data(*a, **k):
        with _np.load(path) as f:
            return (f['x_train'], f['y_train']), (f['x_test'], f['y_test'])
    return load_data
_k.datasets.mnist.load_data = _load({mnist!r})
_k.datasets.fashion_mnist.load_data = _load({fashion!r})
import tensorflow as _tf
_tf.keras.datasets.mnist.load_data = _k.datasets.mnist.load_data
_tf.keras.datasets.fashion_mnist.load_data = _k.datasets.fashion_mnist.load_data
"""


def bare(nb: nbformat.NotebookNode, data_dir: Path | None) -> float:
    nb = nbformat.from_dict(nb)
    if data_dir is not None:
        shim = SHIM.format(mnist=str(data_dir / "mnist.npz"), fashion=str(data_dir / "fashion_mnist.npz"))
        nb.cells.insert(0, nbformat.v4.new_code_cell(shim))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3").execute()
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default="smoke")
    p.add_argument("--assignments", nargs="+", default=["conv2d_simple", "cnn_filters"])
    args = p.parse_args()
    data_root = REPO / ".grader" / "data"
    print(f"profile {args.profile}; one worker; times are wall seconds per submission")
    print(f"{'assignment':16} {'n':>3} {'bare nbclient':>14} {'grade':>10} {'overhead':>9}")
    for name in args.assignments:
        spec = load_assignment(REPO / "assignments" / name)
        folder = REPO / "examples" / "submissions" / name
        subs = [s for s in collect(folder, spec.notebook) if s.ok]
        work = Path(tempfile.mkdtemp(prefix="bench-"))
        try:
            data_dir = None
            if spec.datasets:
                data_dir = DataStore(data_root).stage(list(spec.datasets), spec.profiles[args.profile], work / "data")
            subdir = work / "subs"
            subdir.mkdir()
            for s in subs:
                shutil.copy(s.source, subdir / s.source.name)
            bare_times = [bare(s.notebook, data_dir) for s in subs]
            t0 = time.perf_counter()
            subprocess.run(
                [
                    str(REPO / ".venv" / "bin" / "grade"),
                    str(spec.root),
                    str(subdir),
                    "--profile",
                    args.profile,
                    "--workers",
                    "1",
                    "--gradebook",
                    str(work / "gb.sqlite"),
                    "--reports",
                    str(work / "reports"),
                    "--data",
                    str(data_root),
                ],
                check=True,
                capture_output=True,
            )
            graded = (time.perf_counter() - t0) / len(subs)
            b = statistics.mean(bare_times)
            print(f"{name:16} {len(subs):>3} {b:>14.2f} {graded:>10.2f} {graded / b:>8.2f}x")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
