"""Functions a test fork server runs in its children (tests/test_prefork.py): each is
called as function(argv, jobs) in a forked process, like grader.worker.run."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import BinaryIO


def report(argv: list[str], jobs: BinaryIO | None) -> int:
    """Write what the child sees to argv[0]; exit with int(argv[1])."""
    print("hello from the child")
    seen = {
        "pid": os.getpid(),
        "sid": os.getsid(0),
        "env": os.environ.get("FORK_TEST"),
        "job": jobs.readline().decode() if jobs is not None else None,
        "stdin_is_tty": sys.stdin.isatty() if sys.stdin else None,
    }
    with open(argv[0], "w", encoding="utf-8") as out:
        json.dump(seen, out)
    return int(argv[1])


def over_limits(argv: list[str], jobs: BinaryIO | None) -> int:
    """A worker going over the limits the batch holds it to (tests/test_limits.py),
    as its job file's student says."""
    import signal
    import subprocess

    what = json.loads(open(argv[-1], encoding="utf-8").read())["student"]
    blob = b""
    if what == "hog":
        blob = b"x" * (300 * 1024 * 1024)  # touched: resident
        time.sleep(30)
    elif what == "spin":
        while True:
            pass
    elif what == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif what == "child":
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)", "grader-limits-orphan"], start_new_session=True
        )
        blob = b"x" * (300 * 1024 * 1024)
        time.sleep(30)
    del blob
    return 0


def crash(argv: list[str], jobs: BinaryIO | None) -> int:
    raise ValueError("the job broke")


def hang(argv: list[str], jobs: BinaryIO | None) -> int:
    with open(argv[0], "w", encoding="utf-8") as out:
        out.write(str(os.getpid()))
    time.sleep(600)
    return 0


def read_input(argv: list[str], jobs: BinaryIO | None) -> int:
    assert jobs is not None
    jobs.read()
    return 0


def fake_warm(argv: list[str], jobs: BinaryIO | None) -> int:
    """A warm worker as grader.worker's --warm mode behaves, without a kernel: ready at
    once, then one job from its input; what it does with it is the student's name. Its
    pid goes to $FAKE_WARM_PIDS (tests/test_pool.py checks none outlives the batch)."""
    import pathlib
    import signal

    spec = pathlib.Path(argv[-1])
    pathlib.Path(os.environ["FAKE_WARM_PIDS"], str(os.getpid())).touch()
    t = time.process_time()
    while time.process_time() - t < 0.8:  # start-up CPU, not the job's
        pass
    spec.with_suffix(".ready").touch()
    assert jobs is not None
    line = jobs.readline()
    if not line:
        return 0
    what = json.loads(line)["student"]
    if what == "hog":
        blob = b"x" * (300 * 1024 * 1024)
        time.sleep(30)
        del blob
    elif what == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif what == "ok":
        # 0.8 s of start-up and 0.5 s of work: within the 1 s limit, as the start-up is not counted
        t = time.process_time()
        while time.process_time() - t < 0.5:
            pass
        result = {"student": what, "pid": os.getpid()}
        spec.with_suffix(".result.json").write_text(json.dumps(result))
    return 0
