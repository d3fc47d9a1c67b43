"""A kernel kill that works everywhere (issue 8, attack class 8).

A notebook whose kernel ignores SIGINT and SIGTERM and spins, after starting two
children that ignore them too (one in the kernel's process group, one in a session of
its own), is stopped at the cell time limit: the interrupt does nothing, so the grader
kills the kernel. Afterwards no process of that tree may be running, checked by pid:
with the sandbox and its cgroup, with the sandbox and no cgroup, and with neither (a
student's local self-check, `--no-sandbox`), where only the grader's own kill is left.

Slow: real kernels. Run one at a time: `pytest -m slow tests/test_kill.py -k unsandboxed`.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader import proctree, sandbox
from grader.execute import KernelSession
from grader.spec import Limits, Profile

pytestmark = pytest.mark.slow

CHILD = (
    "import signal, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True:\n"
    "    time.sleep(0.5)\n"
)


def _notebook(mark: str) -> nbformat.NotebookNode:
    spawn = (
        "import subprocess, sys, time\n"
        f"CHILD = {CHILD!r}\n"
        f"in_group = subprocess.Popen([sys.executable, '-c', CHILD, '{mark}-group'])\n"
        f"own_session = subprocess.Popen([sys.executable, '-c', CHILD, '{mark}-session'], start_new_session=True)\n"
        "time.sleep(1.0)\n"
    )
    spin = (
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "while True:\n"
        "    pass\n"
    )
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(spawn), nbformat.v4.new_code_cell(spin)])


def _marked(mark: str) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "cmdline").read_bytes():
                    out.add(int(entry.name))
            except OSError:
                continue
    return out


class _Watch(threading.Thread):
    """Records, while the notebook runs, every pid of the kernel's tree and every child."""

    def __init__(self, root: int, mark: str) -> None:
        super().__init__(daemon=True)
        self.root, self.mark = root, mark
        self.tree: set[int] = {root}
        self.children: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.tree |= proctree.descendants(self.root)
            self.children |= _marked(self.mark)
            time.sleep(0.1)


@pytest.mark.parametrize("where", ["unsandboxed", "sandboxed", "sandboxed-no-cgroup"])
def test_a_kernel_that_ignores_signals_is_killed_with_its_children(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandboxed = where != "unsandboxed"
    if sandboxed and sandbox.check_available() is not None:
        pytest.skip(f"no sandbox here: {sandbox.check_available()}")
    if where == "sandboxed-no-cgroup":
        monkeypatch.setattr(sandbox, "create_cgroup", lambda name, limits: None)
    elif where == "sandboxed" and not sandbox.cgroups_available():
        pytest.skip("no writable cgroups here")
    mark = f"grader-kill-test-{secrets.token_hex(6)}"
    limits = Limits(cell_timeout_s=3, notebook_timeout_s=120)
    with KernelSession(limits=limits, profile=Profile("smoke"), data_dir=None, sandboxed=sandboxed) as session:
        km = session._client.km  # noqa: SLF001 - the test needs the kernel's pid
        root = km.provisioner.process.pid
        watch = _Watch(root, mark)
        watch.start()
        try:
            result = session.run_notebook(_notebook(mark))
        finally:
            watch.stop.set()
            watch.join()
        assert session.dead, session.events
        assert any("did not respond to an interrupt" in e for e in session.events), session.events
        assert [c.status for c in result.cells] == ["ok", "timeout"]
        assert len(watch.children) >= 2, "the notebook's children were never seen running"
        time.sleep(0.2)
        survivors = {pid for pid in watch.tree | watch.children | _marked(mark) if proctree.alive(pid)}
        assert not survivors, f"still running after the kill: {survivors} ({where})"
    assert not {pid for pid in _marked(mark) if proctree.alive(pid)}
    assert os.getpid() not in watch.tree
