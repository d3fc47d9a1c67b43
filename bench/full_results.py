"""Run reference solutions in a profile (default `full`) and print what training gave:
per fit, the epochs run, the final accuracy/val_accuracy, the overfitting gap
(val_loss - loss of the last epoch), and every model.evaluate result.

It reads everything from the kernel's trace (the same recorder the tests use), so it
needs no knowledge of each notebook. Meant for a GPU runner; on the CPU `full` takes
minutes per assignment.

    .venv/bin/python bench/full_results.py sparse_labels fashion_vs_mnist [--profile full]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import sandbox, scratch  # noqa: E402
from grader.datastore import DataStore  # noqa: E402
from grader.execute import KernelSession  # noqa: E402
from grader.spec import load_assignment  # noqa: E402
from grader.witness import Notebook  # noqa: E402


def run(name: str, profile_name: str) -> None:
    spec = load_assignment(REPO / "assignments" / name)
    profile = spec.profiles[profile_name]
    stage = scratch.make("data")
    data_dir = DataStore.default().stage(list(spec.datasets), profile, stage) if spec.datasets else None
    nb = nbformat.read(REPO / "solutions" / name / spec.notebook, as_version=4)
    t0 = time.monotonic()
    with KernelSession(
        limits=spec.limits, profile=profile, data_dir=data_dir, sandboxed=sandbox.check_available() is None, seed=0
    ) as session:
        result = session.run_notebook(nb)
        trace = Notebook(session, nb).trace()
    seconds = time.monotonic() - t0
    errors = [c for c in result.cells if c.status != "ok"]
    print(f"## {name} ({profile_name}, {seconds:.0f} s{', cell errors: ' + str(errors) if errors else ''})")
    for ev in trace:
        if ev.get("event") == "fit":
            final = ev.get("final") or {}
            gap = final.get("val_loss", float("nan")) - final.get("loss", float("nan"))
            print(
                f"  fit {ev.get('model')}: {ev.get('epochs_run')}/{ev.get('epochs_asked')} epochs, "
                f"accuracy {final.get('accuracy', float('nan')):.4f}, "
                f"val_accuracy {final.get('val_accuracy', float('nan')):.4f}, gap {gap:.4f}, "
                f"{ev.get('params')} params"
            )
        elif ev.get("event") == "evaluate":
            print(f"  evaluate {ev.get('model')}: {ev.get('result')}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("assignments", nargs="+")
    p.add_argument("--profile", default="full")
    args = p.parse_args()
    for name in args.assignments:
        run(name, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
