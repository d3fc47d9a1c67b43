"""Workers forked from a warm server (grader.prefork): they start with the grader
already imported, and otherwise behave as freshly started processes would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader import proctree
from grader.prefork import ForkServer

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS)])
    env.update(extra)
    return env


@pytest.fixture
def server():
    # a light preload: these tests are about processes, not the grader's imports
    srv = ForkServer(_env(), preload="json")
    yield srv
    srv.close()


def _wait_for(path: Path, timeout: float = 10.0) -> str:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def test_a_worker_gets_the_batch_environment_its_job_and_its_own_log(server, tmp_path):
    import json

    out = tmp_path / "seen.json"
    w = server.fork([str(out), "7"], tmp_path / "w.log", _env(FORK_TEST="from the batch"), True, "fork_targets:report")
    w.send(b'{"student": "kim"}\n')
    assert w.wait() == 7
    seen = json.loads(out.read_text())
    assert seen["pid"] == w.pid
    assert seen["sid"] == w.pid  # a session of its own: the batch kills its whole group
    assert seen["env"] == "from the batch"
    assert seen["job"] == '{"student": "kim"}\n'
    assert (tmp_path / "w.log").read_text() == "hello from the child\n"
    assert w.poll() == 7  # told once, remembered


def test_a_crash_goes_to_the_log_and_the_exit_code(server, tmp_path):
    w = server.fork([], tmp_path / "w.log", _env(), False, "fork_targets:crash")
    assert w.wait() == 1
    assert "ValueError: the job broke" in (tmp_path / "w.log").read_text()


def test_a_killed_worker_reports_the_signal_and_others_run_on(server, tmp_path):
    hung = server.fork([str(tmp_path / "pid")], tmp_path / "h.log", _env(), False, "fork_targets:hang")
    _wait_for(tmp_path / "pid")
    assert hung.poll() is None
    os.killpg(hung.pid, signal.SIGKILL)
    assert hung.wait() == -signal.SIGKILL
    after = server.fork([str(tmp_path / "seen.json"), "0"], tmp_path / "w.log", _env(), False, "fork_targets:report")
    assert after.wait() == 0


def test_a_killed_batch_leaves_no_worker_and_no_server(tmp_path):
    """The batch here is a script with no `if __name__ == "__main__"` guard, which
    multiprocessing's forkserver would have run again in every child."""
    script = tmp_path / "batch.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys, time
            from pathlib import Path
            sys.path[:0] = [{str(REPO)!r}, {str(TESTS)!r}]
            from grader.prefork import ForkServer
            env = dict(os.environ, PYTHONPATH={os.pathsep.join([str(REPO), str(TESTS)])!r})
            print("batch started", flush=True)
            srv = ForkServer(env, preload="json")
            w = srv.fork([{str(tmp_path / "pid")!r}], Path({str(tmp_path / "h.log")!r}), env, True, "fork_targets:hang")
            print(srv.proc.pid, flush=True)
            time.sleep(600)
            """
        )
    )
    batch = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert batch.stdout is not None
    assert batch.stdout.readline() == "batch started\n"
    server_pid = int(batch.stdout.readline())
    worker_pid = int(_wait_for(tmp_path / "pid"))
    assert proctree.alive(worker_pid) and proctree.alive(server_pid)
    batch.kill()
    rest, _ = batch.communicate()
    until = time.monotonic() + 10
    while time.monotonic() < until and (proctree.alive(worker_pid) or proctree.alive(server_pid)):
        time.sleep(0.05)
    assert not proctree.alive(worker_pid), "the forked worker outlived the batch"
    assert not proctree.alive(server_pid), "the fork server outlived the batch"
    assert rest == ""  # the script ran once: no child ran it again
