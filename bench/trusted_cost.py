"""What trusted evaluation costs: seconds per submission before and after, same run.

For each training assignment, grades the same notebooks (the reference solution and the
sample submissions in examples/submissions/<name>/) twice, one worker each, in the same
profile: (a) with the grader as it was at BASE (a git commit before trusted evaluation
landed, checked out in a temporary worktree and run from there), and (b) with this
checkout. Prints seconds per submission, the ratio (b)/(a), and the scores of both, so a
change in cost and a change in verdict show side by side.

    .venv/bin/python bench/trusted_cost.py [--profile fast] [--base 0e686d9] [NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAINING = ["dropout_rates", "bn_vs_dropout", "callbacks", "sparse_labels", "fashion_vs_mnist", "cnn_mistakes"]
BASE = "0e686d9"  # main before the trusted evaluator (stop 6)


def grade(code: Path, name: str, subs: Path, profile: str, work: Path) -> tuple[float, dict[str, float]]:
    """Grade `subs` with the grader package found in `code`; (seconds, {student: score})."""
    home = work / "home"
    reports = work / "reports"
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "GRADER_HOME": str(home),
        "GRADER_DATA": str(REPO / ".grader" / "data"),
    }
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "grader.cli", str(code / "assignments" / name), str(subs), "--profile", profile,
         "--workers", "1", "--reports", str(reports), "--seed", "1"],
        cwd=code, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    scores: dict[str, float] = {}
    table = reports / name / "scores.csv"
    if table.is_file():
        with open(table, encoding="utf-8-sig", newline="") as f:  # the export starts with a BOM for Excel
            for row in csv.DictReader(f):
                try:
                    scores[row["student"]] = float(row["total"])
                except (KeyError, ValueError):
                    pass
    return seconds, scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=TRAINING)
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--base", default=BASE)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    base = tmp / "base"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.base],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        for name in args.names:
            subs = tmp / "subs" / name
            subs.mkdir(parents=True)
            shutil.copy(REPO / "solutions" / name / f"{name}.ipynb", subs / "solution.ipynb")
            for nb in sorted((REPO / "examples" / "submissions" / name).glob("*.ipynb")):
                shutil.copy(nb, subs / nb.name)
            n = len(list(subs.glob("*.ipynb")))
            before, scores_before = grade(base, name, subs, args.profile, tmp / "b" / name)
            after, scores_after = grade(REPO, name, subs, args.profile, tmp / "a" / name)
            rows.append({
                "assignment": name, "submissions": n,
                "before_s": round(before / n, 2), "after_s": round(after / n, 2),
                "ratio": round(after / before, 2),
                "scores_before": scores_before, "scores_after": scores_after,
            })
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n| assignment | submissions | before ({args.base}) s/sub | after s/sub | ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['assignment']} | {r['submissions']} | {r['before_s']} | {r['after_s']} | {r['ratio']}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
