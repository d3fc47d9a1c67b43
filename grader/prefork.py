"""Worker processes forked from a process that has already paid for the imports.

A worker starts by importing the grader (nbclient, jupyter_client, zmq, pytest, numpy:
0.3 s of CPU) and, where it draws, matplotlib with its fonts (0.3 s more): on a
numpy-only notebook that is a third of the CPU a submission costs, paid again by
every submission. Here one *fork server* per batch (its stage's: grader.batch) pays
it once: `python -m grader.prefork FD PRELOAD` imports the grading code, warms the
pictures up, then forks a copy of itself per worker on the batch's request. A fork
is a new process with nothing of another submission in it: the server never runs a
job, only imports, so every worker starts from the same clean state, as a fresh
`python -m grader.worker` would.

Why not `multiprocessing`'s forkserver, which does the same: each child first imports
the batch's `__main__` again (any script driving the batch would run twice, and
without an `if __name__ == "__main__"` guard every worker would fail before writing a
line of its log), and each child holds the batch's end of the server's lifeline, so a
killed batch's workers lived on until their jobs ended.

Protocol, over a SOCK_SEQPACKET pair (a message is one datagram, JSON):
- batch -> server: {"target", "argv", "log", "env"} (target: "module:function", called
  as function(argv, jobs) in the child; the batch's is grader.worker:run), with the
  reading end of the worker's input pipe as an attached descriptor where it has one;
- server -> batch: {"pid": N} for each request, in order, and {"exit": N, "code": C}
  when worker N ends (C: its exit code, minus the signal's number when killed by one).

Lifetimes: the server dies with the batch (PR_SET_PDEATHSIG, and it exits when the
socket closes); every worker dies with the server (PR_SET_PDEATHSIG), and its kernel
with it, so a killed `grade` leaves nothing running.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .proctree import die_with_parent

PRELOAD = "grader.forkserver_preload"  # what the grader's server imports before it forks anything
WORKER = "grader.worker:run"  # what a forked worker runs: run(argv, jobs) -> exit code
START_TIMEOUT_S = 300.0  # the server's imports (matplotlib builds its font cache on a machine's first run)
MAX_MESSAGE = 1 << 20


class ForkServerGone(RuntimeError):
    """The fork server died or stopped answering: a grader failure, never a student's."""


class Forked:
    """A forked worker, as the batch sees it: the part of `subprocess.Popen` it uses
    (`pid`, `poll`, `wait`), and the writing end of the worker's input, if it has one."""

    def __init__(self, server: ForkServer, pid: int, jobs: int | None) -> None:
        self._server = server
        self.pid = pid
        self._jobs = jobs
        self._code: int | None = None

    def poll(self) -> int | None:
        """The exit code (minus the signal's number when killed by one), None while it runs."""
        if self._code is None:
            self._code = self._server.exit_code(self.pid, block=False)
        return self._code

    def wait(self) -> int:
        if self._code is None:
            self._code = self._server.exit_code(self.pid, block=True)
        assert self._code is not None
        return self._code

    def send(self, line: bytes) -> None:
        """Write `line` to the worker's input and close it (its one job). A worker that
        died meanwhile is not an error here: the batch reads its exit code."""
        fd, self._jobs = self._jobs, None
        if fd is None:
            raise RuntimeError(f"worker {self.pid} has no input left to write to")
        try:
            with open(fd, "wb") as pipe:
                pipe.write(line)
        except OSError:
            pass

    def close_input(self) -> None:
        if self._jobs is not None:
            os.close(self._jobs)
            self._jobs = None


class ForkServer:
    """The batch's side of the server: start it, ask it for workers, hear of their ends."""

    def __init__(self, env: dict[str, str], preload: str = PRELOAD) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._exits: dict[int, int] = {}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.prefork", str(theirs.fileno()), preload],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # its workers write to their logs; what it says itself goes to stderr
        )
        theirs.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Stop the server (its workers die with it). A batch process does not need to:
        the server ends with it."""
        self._sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def fork(self, argv: list[str], log: Path, env: dict[str, str], with_input: bool, target: str = WORKER) -> Forked:
        request = json.dumps({"target": target, "argv": argv, "log": str(log), "env": env}).encode()
        reader = writer = None
        if with_input:
            reader, writer = os.pipe()
        try:
            socket.send_fds(self._sock, [request], [reader] if reader is not None else [])
        except OSError as exc:
            raise ForkServerGone(f"the grader's fork server is gone ({exc})") from None
        finally:
            if reader is not None:
                os.close(reader)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            message = self._receive(deadline)
            if "pid" in message:
                return Forked(self, int(message["pid"]), writer)

    def wait_for_exit(self, timeout: float) -> None:
        """Return when a worker has ended (its notice filed) or after `timeout` s: the
        batch's loop wakes for a result at once instead of at its next tick."""
        if self._ready(timeout):
            self._receive(None)

    def exit_code(self, pid: int, block: bool) -> int | None:
        """Worker `pid`'s exit code, told once; None while it runs (`block`: wait for it)."""
        while pid not in self._exits:
            if not self._ready(None if block else 0.0):
                return None
            self._receive(None)
        return self._exits.pop(pid)

    def _ready(self, timeout: float | None) -> bool:
        readable, _, _ = select.select([self._sock], [], [], timeout)
        return bool(readable)

    def _receive(self, deadline: float | None) -> dict[str, Any]:
        """The next message; exit notices are filed on the way."""
        if deadline is not None and not self._ready(max(0.0, deadline - time.monotonic())):
            raise ForkServerGone(f"the grader's fork server did not answer within {START_TIMEOUT_S:g} s")
        data = self._sock.recv(MAX_MESSAGE)
        if not data:
            raise ForkServerGone("the grader's fork server died")
        message: dict[str, Any] = json.loads(data)
        if "exit" in message:
            self._exits[int(message["exit"])] = int(message["code"])
        return message


# -- the server's side


def serve(fd: int, preload: str) -> int:
    """`python -m grader.prefork FD PRELOAD`: import PRELOAD, then fork workers on
    request until the batch closes the socket."""
    die_with_parent()
    batch = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C is the batch's to handle
    importlib.import_module(preload)
    me = os.getpid()
    sock = socket.socket(fileno=fd)
    # a worker's end wakes the loop at once (its result is waiting for the batch)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    running: set[int] = set()
    while True:
        readable, _, _ = select.select([fd, wake_r], [], [], 0.5)
        if wake_r in readable:
            os.read(wake_r, 4096)
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            running.discard(pid)
            sock.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())
        if fd not in readable:
            if os.getppid() != batch:
                return 0
            continue
        data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 1)
        if not data:
            return 0
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for own in (sock.detach(), wake_r, wake_w):
                os.close(own)
            _child(me, request, fds[0] if fds else None)  # never returns
        for received in fds:
            os.close(received)
        running.add(pid)
        sock.send(json.dumps({"pid": pid}).encode())


def _child(server: int, request: dict[str, Any], jobs_fd: int | None) -> None:
    """In the forked worker: a session of its own (the batch kills its process group),
    death with the server, the batch's environment, its log as stdout and stderr; then
    the job. Leaves by os._exit: nothing of the server's may run on in it."""
    code = 1
    try:
        os.setsid()
        die_with_parent()
        if os.getppid() != server:
            os._exit(3)  # the server died before PR_SET_PDEATHSIG was armed
        signal.signal(signal.SIGINT, signal.default_int_handler)
        out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.environ.clear()
        os.environ.update(request["env"])
        # the import path a process started fresh under this environment would have
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[:0] = extra
        jobs = open(jobs_fd, "rb") if jobs_fd is not None else None  # noqa: SIM115 (the worker's input until it exits)
        module, function = str(request["target"]).split(":")
        code = getattr(importlib.import_module(module), function)(list(request["argv"]), jobs)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), sys.argv[2]))
