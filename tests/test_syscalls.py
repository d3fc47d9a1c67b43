"""The sandbox's seccomp filter: what a notebook may and may not ask of the Linux kernel.

Not a kernel: the same wrapper the student's kernel runs in, with a small Python probe
inside that makes the raw system calls through ctypes (x86_64 numbers) and reports
each outcome.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sandbox, syscalls
from grader.spec import Limits

PROBE = r"""
import ctypes, json, os, threading
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for label, number, args in (
    ("unshare(CLONE_NEWUSER)", 272, (0x10000000,)),
    ("ptrace(TRACEME)", 101, (0, 0, 0, 0)),
    ("bpf", 321, (0, 0, 0)),
    ("io_uring_setup", 425, (1, 0)),
):
    ctypes.set_errno(0)
    out[label] = "ok" if libc.syscall(number, *args) >= 0 else os.strerror(ctypes.get_errno())
pid = os.fork()
if pid == 0:
    os._exit(7)
out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
t = threading.Thread(target=lambda: out.__setitem__("thread", "ran"))
t.start(); t.join()
out["seccomp"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
print(json.dumps(out))
"""


def _probe(tmp_path: Path, *, filtered: bool) -> dict:
    reason = sandbox.check_available()
    if reason is not None:
        pytest.skip(f"no sandbox on this machine: {reason}")
    if platform.machine() != "x86_64":
        pytest.skip("the probe uses x86_64 system call numbers")
    program = syscalls.compiled_filter()
    if program is None:
        pytest.skip("libseccomp is not installed (setup.sh installs libseccomp2)")
    conn = tmp_path / "conn"
    conn.mkdir()
    bpf = tmp_path / "seccomp.bpf"
    bpf.write_bytes(program)
    plan = sandbox.SandboxPlan(
        conn_dir=conn,
        data_dir=None,
        files={},
        limits=Limits(),
        env={},
        cgroup=None,
        seccomp=bpf if filtered else None,
    )
    out = subprocess.run(sandbox.wrap(plan, [sys.executable, "-c", PROBE]), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-1000:]
    return json.loads(out.stdout)


def test_the_filter_refuses_namespaces_ptrace_bpf_and_io_uring(tmp_path: Path) -> None:
    found = _probe(tmp_path, filtered=True)
    assert found["seccomp"] == "2"
    for call in ("unshare(CLONE_NEWUSER)", "ptrace(TRACEME)", "bpf", "io_uring_setup"):
        assert found[call] == "Operation not permitted", (call, found)


def test_fork_and_threads_still_work_under_the_filter(tmp_path: Path) -> None:
    found = _probe(tmp_path, filtered=True)
    assert found["fork"] == 7 and found["thread"] == "ran"


def test_without_the_filter_a_user_namespace_could_be_made(tmp_path: Path) -> None:
    """What the filter is for: bubblewrap and setpriv alone let the notebook do this."""
    found = _probe(tmp_path, filtered=False)
    assert found["seccomp"] == "0"
    assert found["unshare(CLONE_NEWUSER)"] == "ok"


def test_the_compiled_filter_is_a_bpf_program() -> None:
    program = syscalls.compiled_filter()
    if program is None:
        pytest.skip("libseccomp is not installed (setup.sh installs libseccomp2)")
    assert program and len(program) % 8 == 0  # struct sock_filter is 8 bytes
