"""A grading run killed at any moment loses nothing and duplicates nothing.

`grade` runs as a subprocess over a batch of cnn_filters submissions (fast notebooks, no
TensorFlow) and is SIGKILLed at random moments several times, then rerun until it
finishes. Every submission must be in the gradebook exactly once, every report complete,
no temporary file left in reports/, and no kernel, worker or non-empty cgroup left
behind. Processes are told apart from other grading runs on the same machine by TMPDIR:
every temporary folder of this run (job files, kernel connection folders, whose paths are
on the kernels' command lines) lives under a folder private to the test.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import sandbox
from grader.gradebook import Gradebook

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = REPO / "assignments" / "cnn_filters"
SOLUTION = REPO / "solutions" / "cnn_filters" / "cnn_filters.ipynb"
MISTAKES = REPO / "tests" / "fixtures" / "mistakes" / "cnn_filters"
CGROUP_PIDS = sandbox.CGROUP_ROOT / "pids" / "grader"
KILLS = 4


def _batch(folder: Path) -> list[str]:
    folder.mkdir()
    for i in range(1, 11):  # enough work that a kill lands mid-run on a quiet machine too
        shutil.copy(SOLUTION, folder / f"student{i:02d}.ipynb")
    shutil.copy(MISTAKES / "no_relu.ipynb", folder / "mistake.ipynb")
    shutil.copy(ASSIGNMENT / "cnn_filters.ipynb", folder / "starter.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [')
    return sorted(p.stem for p in folder.iterdir())


def _ours(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if "pgrep" not in line]


def _live_cgroups(marker: str) -> list[str]:
    """Our cgroups that still hold a process (a cgroup is named after its kernel's temp folder)."""
    live = []
    for d in CGROUP_PIDS.iterdir() if CGROUP_PIDS.is_dir() else []:
        try:
            pids = (d / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmd or (Path(marker) / d.name).exists():
                live.append(f"{d.name}: {cmd[:120]}")
    return live


def _wait_until_clean(marker: str, seconds: float = 15) -> tuple[list[str], list[str]]:
    deadline = time.monotonic() + seconds
    while True:
        procs, groups = _ours(marker), _live_cgroups(marker)
        if (not procs and not groups) or time.monotonic() > deadline:
            return procs, groups
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_runs_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    reason = sandbox.check_available()
    if reason:
        pytest.skip(f"needs the sandbox: {reason}")
    students = _batch(tmp_path / "subs")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    marker = str(tmpdir)
    gradebook, reports = tmp_path / "gradebook.sqlite", tmp_path / "reports"
    cmd = [
        sys.executable,
        "-m",
        "grader.cli",
        str(ASSIGNMENT),
        str(tmp_path / "subs"),
        "--profile",
        "smoke",
        "--workers",
        "2",
        "--gradebook",
        str(gradebook),
        "--reports",
        str(reports),
        "--data",
        str(REPO / ".grader" / "data"),
    ]
    env = {**os.environ, "TMPDIR": marker}
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    interrupted = 0
    started = time.monotonic()
    for attempt in range(KILLS + 1):
        log = tmp_path / f"run-{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        if attempt < KILLS:
            delay = rng.uniform(0.5, 2.5)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)  # the grader only: its workers and kernels must follow
                interrupted += 1
            proc.wait()
            procs, groups = _wait_until_clean(marker)
            assert not procs, f"after a kill at {delay:.1f} s (seed {seed}), still running: {procs}"
            assert not groups, f"after a kill at {delay:.1f} s (seed {seed}), live cgroups: {groups}"
            continue
        proc.wait(timeout=900)
        assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
    seconds = time.monotonic() - started
    assert interrupted >= 2, f"only {interrupted} of the runs were still going when killed (seed {seed})"

    with Gradebook(gradebook) as book:
        counts = book.runs_per_student("cnn_filters")
        latest = {r.student: r for r in book.latest("cnn_filters")}
    assert counts == {s: 1 for s in students}, f"seed {seed}: {counts}"
    for i in range(1, 11):
        r = latest[f"student{i:02d}"]
        assert r.error is None and r.score == r.max_score > 0, (
            r.error,
            [c.name for c in r.checks if c.status != "passed"],
        )
    assert latest["mistake"].error is None and 0 < latest["mistake"].score < latest["mistake"].max_score
    assert latest["broken"].error is not None and "not valid JSON" in latest["broken"].error
    db = sqlite3.connect(gradebook)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()

    out_dir = reports / "cnn_filters"
    leftovers = [p.name for p in out_dir.iterdir() if p.name.startswith(".tmp") or p.suffix in (".tmp", ".part")]
    assert leftovers == [], f"temporary files left in reports/: {leftovers}"
    pages = sorted(out_dir.glob("*.html"))
    assert {p.stem for p in pages} == {*students, "index"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.lstrip().lower().startswith("<!doctype html") and text.rstrip().endswith("</html>"), page.name
    with (out_dir / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert sorted(row["student"] for row in csv.DictReader(fh)) == students

    procs, groups = _wait_until_clean(marker)
    assert procs == [] and groups == []
    print(f"crash safety: {interrupted} kills (seed {seed}), done in {seconds:.0f} s")


@pytest.mark.slow
def test_killed_runs_leave_no_temporary_folders(tmp_path: Path) -> None:
    reason = sandbox.check_available()
    if reason:
        pytest.skip(f"needs the sandbox: {reason}")
    _batch(tmp_path / "subs")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "grader.cli",
        str(ASSIGNMENT),
        str(tmp_path / "subs"),
        "--profile",
        "smoke",
        "--workers",
        "2",
        "--gradebook",
        str(tmp_path / "gb.sqlite"),
        "--reports",
        str(tmp_path / "reports"),
        "--data",
        str(REPO / ".grader" / "data"),
    ]
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmpdir.glob("grader-*/c/k.json")) and time.monotonic() < deadline:
        time.sleep(0.1)  # kill it while a kernel is running
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _wait_until_clean(str(tmpdir))
    subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True, timeout=900)
    assert sorted(p.name for p in tmpdir.iterdir()) == []
