"""Run one notebook in a (sandboxed) kernel with nbclient and keep the kernel alive for
the checks.

`KernelSession` is the only owner of a kernel's life: workspace, cgroup, kernel
manager, the bootstrap, the cells, and the channel the witness protocol talks over.
The same class serves the grader (sandboxed) and a student's local pytest (not).
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import gpus, sandbox, scratch, syscalls
from .errors import BadReply, CheckTimeout, KernelGone
from .kernel import protocol, ship
from .outputs import OutputBudget, OutputLimits
from .results import cell_ref, first_line
from .spec import Limits, Profile

WITNESS_MIME = protocol.WITNESS_MIME
_FILE_CHUNK = 4 * 1024 * 1024  # bytes of a submission's file per execution (deliver_files)
KERNEL_ENV = {
    "LANG": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "OMP_NUM_THREADS": "2",
}


@dataclass(frozen=True)
class CellRun:
    """What happened to one code cell."""

    index: int
    status: str  # ok | error | timeout | not-run
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0


@dataclass
class ExecutionResult:
    notebook: nbformat.NotebookNode
    cells: list[CellRun] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # limits hit, for the report
    kernel_alive: bool = True
    seconds: float = 0.0


class _CappedClient(NotebookClient):
    """NotebookClient that stores outputs within the budget of grader.outputs (per-cell
    head and tail of printed text; figures and errors under caps of their own)."""

    budget: OutputBudget | None = None  # set per session

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
        if self.budget is None:
            self.budget = OutputBudget()
        def store(m):  # type: ignore[no-untyped-def]
            return super(_CappedClient, self).output(outs, m, display_id, cell_index)

        if self.output_hook_stack[msg["parent_header"].get("msg_id")]:  # an output widget takes it
            return store(msg) if self.budget.hooked(msg) else None  # type: ignore[no-untyped-call]
        return self.budget.output(outs, msg, cell_index, store, fresh=getattr(self, "clear_before_next_output", False))

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):  # type: ignore[no-untyped-def]
        # A reply with status "error" but no error output (IPython's UsageError for an
        # unknown magic prints to stderr and skips the rest of the cell) is a cell error
        # all the same, in that cell.
        content = (exec_reply or {}).get("content") or {}
        if content.get("status") == "error" and not any(
            o.get("output_type") == "error" for o in cell.get("outputs", [])
        ):
            ename, evalue = str(content.get("ename") or "Error"), str(content.get("evalue") or "")
            trace = content.get("traceback") or [f"{ename}: {evalue}"]
            cell.setdefault("outputs", []).append(
                nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[str(t) for t in trace])
            )
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)


def cell_label(cell: Any) -> str:
    """A code cell as a person finds it in Jupyter: `In [7]` and its first line."""
    return cell_ref(cell.get("execution_count"), first_line(str(cell.get("source", ""))))


class _DropWatch:
    """Tells when zmq has cut a socket's connection, as it does for a message over
    MAXMSGSIZE; zmq does not reconnect after that, so the grader must."""

    def __init__(self, socket: zmq.Socket[Any]) -> None:
        address = f"inproc://grader-watch-{secrets.token_hex(8)}"
        socket.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor: zmq.Socket[Any] = zmq.Socket(socket.context, zmq.PAIR)  # blocking even on asyncio contexts
        self._monitor.connect(address)

    def dropped(self) -> bool:
        seen = False
        while self._monitor.poll(0):
            self._monitor.recv_multipart()
            seen = True
        return seen

    def close(self) -> None:
        self._monitor.close(linger=0)


def _kill_kernel(km: Any) -> None:  # an AsyncKernelManager
    """SIGKILL the kernel's process, everything below it and its process group (found in
    /proc while the kernel is alive: a child that called setsid() is still below it),
    then let jupyter_client reap it and close its sockets. jupyter_client 8 has no
    `kill_kernel`; `shutdown_kernel(now=True)` alone signals only the process group.
    Sandboxed, the process is bubblewrap: the PID namespace dies with it."""
    _kill_tree(km)
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:
        pass  # dead already; what jupyter_client could not tidy, __exit__ tries again


def _kill_tree(km: Any) -> Any:
    """SIGKILL the kernel's process (a kernel manager's provisioner's), everything below it
    and its process group; return the process (a Popen), or None when there is none."""
    from . import proctree

    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    pgid = getattr(provisioner, "pgid", None)
    if not isinstance(pid, int):
        return None
    proctree.kill_tree(pid, pgid if isinstance(pgid, int) else None)
    return process


_LIBC = ctypes.CDLL(None, use_errno=True)


def _dies_with(parent: int) -> Callable[[], None]:
    """For Popen's preexec_fn: the kernel's launcher (the cgroup shell, prlimit, then
    bubblewrap, which all keep it across exec) is SIGKILLed when this process dies.
    bubblewrap's own --die-with-parent is armed only once it runs, and is then relative
    to whatever its parent is by then: a worker killed between the fork and that moment
    (a warm worker of a `grade` that was killed, grader.pool) would leave a kernel
    behind. Armed in the child before exec, and checked: no gap."""

    def arm() -> None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return arm


class KernelSession:
    """A kernel for one notebook: start, bootstrap, run cells, answer requests, stop."""

    def __init__(
        self,
        *,
        limits: Limits,
        profile: Profile,
        data_dir: Path | None,
        files: dict[str, bytes] | None = None,
        sandboxed: bool = True,
        seed: int = 0,
        cwd: Path | None = None,
        extra_config: dict[str, Any] | None = None,
        python: str | None = None,
        gpu: gpus.Slot | None = None,
    ) -> None:
        self.limits = limits
        self.profile = profile
        self.data_dir = data_dir
        self.files = files or {}
        self.sandboxed = sandboxed
        self.seed = seed
        self.cwd = cwd
        self.extra_config = extra_config or {}
        self.python = python or sys.executable  # the kernel's interpreter (--kernel-python)
        self.gpu = gpu  # its GPU slot (grader/gpus.py): one device, a memory cap; None: as before slots
        self.events: list[str] = []
        # Seals the kernel's record of the run (grader.kernel.protocol.seal); the witness
        # checks every event against it. Made here, per kernel, never stored.
        self.trace_key = secrets.token_bytes(32)
        self._tmp: Path | None = None
        self._cgroup: str | None = None
        self._client: _CappedClient | None = None
        self._ctx: Any = None
        self._kc: BlockingKernelClient | None = None
        self._log: Any = None
        self._contexts: list[zmq.Context[Any]] = []
        self._cell_watch: _DropWatch | None = None
        self._answer_watch: _DropWatch | None = None
        self._answers_connected = False
        self._work: Path | None = None  # the kernel's working folder, unsandboxed
        self.dead = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> KernelSession:
        return self.start()

    def start(self) -> KernelSession:
        """Start the kernel and run the bootstrap; `__exit__` stops it. Split from
        `__enter__` so a warm worker (grader.pool) can start it before it knows whose
        notebook it will run: the files then come with `deliver_files`."""
        self._tmp = scratch.make("k", max_len=80)
        os.chmod(self._tmp, 0o755)
        conn = self._tmp / "c"  # short: ipc socket paths are limited to 107 bytes
        conn.mkdir()
        env = dict(KERNEL_ENV)
        if self.gpu is not None:
            env.update(gpus.kernel_env(self.gpu))
        plan_files: dict[str, Path] = {}
        if self.sandboxed:
            os.chown(conn, sandbox.NOBODY, sandbox.NOBODY)
            store = self._tmp / "files"
            store.mkdir()
            for name, data in self.files.items():
                host = store / name.replace("/", "__")
                host.write_bytes(data)
                os.chmod(host, 0o644)
                plan_files[name] = host
            self._cgroup = sandbox.create_cgroup(self._tmp.name, self.limits)
            if self._cgroup is None:
                self.events.append("memory and process limits not enforced: no writable cgroup here")
            seccomp = None
            program = syscalls.compiled_filter()
            if program is None:
                self.events.append("system calls not filtered: libseccomp is missing here")
            else:
                seccomp = self._tmp / "seccomp.bpf"
                seccomp.write_bytes(program)
            env.update(
                HOME=sandbox.HOME,
                PATH=f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin",
                KERAS_HOME=f"{sandbox.HOME}/.keras",
                MPLCONFIGDIR="/tmp/matplotlib",
            )
            plan = sandbox.SandboxPlan(
                conn_dir=conn,
                data_dir=self.data_dir,
                files=plan_files,
                limits=self.limits,
                env=env,
                cgroup=self._cgroup,
                seccomp=seccomp,
                python=self.python,
                gpu_nodes=gpus.sandbox_nodes(self.gpu) if self.gpu is not None else None,
                mps_pipe=self.gpu.mps_pipe if self.gpu is not None else None,
            )
            kernel_cwd = None
        else:
            plan = sandbox.SandboxPlan(
                conn_dir=conn, data_dir=None, files={}, limits=self.limits, env={}, cgroup=None, enabled=False
            )
            work = self.cwd or (self._tmp / "work")
            work.mkdir(exist_ok=True)
            self._work = work
            for name, data in self.files.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_bytes(data)
            kernel_cwd = str(work)

        async_context = self._capped_context(zmq.asyncio.Context)

        class _Manager(AsyncKernelManager):
            def format_kernel_cmd(self, extra_arguments=None):  # type: ignore[no-untyped-def]
                # The connection file exists by now; the kernel's uid must read it.
                if plan.enabled:
                    os.chmod(self.connection_file, 0o644)
                return sandbox.wrap(plan, super().format_kernel_cmd(extra_arguments))

            def client(self, **kwargs):  # type: ignore[no-untyped-def]
                return super().client(context=async_context, **kwargs)

        config_dir = conn
        manager_kwargs = {"transport": "ipc", "connection_file": str(config_dir / "k.json")}

        def make_km(*_a: Any, **_k: Any) -> AsyncKernelManager:
            km = _Manager(kernel_name="python3", **manager_kwargs)
            if self.sandboxed or self.python != sys.executable:
                spec = km.kernel_spec
                assert spec is not None
                if self.sandboxed:
                    spec.interrupt_mode = "message"
                spec.argv = [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return km

        client = _CappedClient(
            nbformat.v4.new_notebook(),
            timeout=int(self.limits.cell_timeout_s),
            startup_timeout=60,
            allow_errors=True,
            interrupt_on_timeout=False,
            shutdown_kernel="immediate",
            record_timing=False,
            kernel_name="python3",
        )
        client.budget = OutputBudget(OutputLimits.from_kb(self.limits.max_output_kb))

        def create_kernel_manager() -> Any:
            client.km = make_km()
            return client.km

        client.create_kernel_manager = create_kernel_manager  # type: ignore[method-assign]
        self._client = client
        start_env = dict(os.environ) if not self.sandboxed else {}
        start_env.update(env)
        start_env.pop("JPY_PARENT_PID", None)
        if not self.sandboxed:
            start_env.setdefault("MPLBACKEND", KERNEL_ENV["MPLBACKEND"])
        self._log = open(self._tmp / "kernel.log", "wb")  # noqa: SIM115 - closed in __exit__
        launch: dict[str, Any] = {"env": start_env, "stdout": self._log, "stderr": self._log}
        launch["preexec_fn"] = _dies_with(os.getpid())
        if kernel_cwd:
            launch["cwd"] = kernel_cwd
        self._ctx = client.setup_kernel(**launch)
        try:
            self._ctx.__enter__()
            self._witness_context = self._capped_context(zmq.Context)
            self._connect_witness(answers=False)
            if self.sandboxed:
                # The kernel has bound its sockets: take the folder back so the notebook
                # cannot fill the host's disk through it.
                os.chown(conn, 0, 0)
                os.chmod(conn, 0o755)
            self._run_bootstrap()
        except RuntimeError as exc:
            tail = self.kernel_log_tail()
            self.__exit__(*sys.exc_info())
            raise KernelGone(f"the kernel did not start: {exc}; {tail}") from None
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._kc is not None:
            try:
                self._kc.stop_channels()
            except Exception:
                pass
            self._kc = None
        left_behind = sandbox.stray_processes(self._cgroup)
        if left_behind:
            self.events.append(f"{left_behind} process(es) left behind by the notebook were killed")
        if self._ctx is not None:
            self._reap_kernel()
            try:
                self._ctx.__exit__(None, None, None)
            except Exception:
                pass
            self._ctx = None
        for watch in (self._cell_watch, self._answer_watch):
            if watch is not None:
                watch.close()
        self._cell_watch = self._answer_watch = None
        for context in self._contexts:
            context.destroy(linger=0)
        self._contexts = []
        if self._log is not None:
            self._log.close()
            self._log = None
        sandbox.destroy_cgroup(self._cgroup)
        self._cgroup = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _capped_context(self, kind: type[zmq.Context[Any]]) -> zmq.Context[Any]:
        """A zmq context whose sockets refuse any message over twice the answer cap
        (room for a full-size answer quoted inside JSON, plus a MB for headers).

        Without it one `print` of a few GB is read whole into the grader's memory
        before any output cap can look at it; zmq refuses it while it arrives.
        """
        context = kind()
        context.setsockopt(zmq.MAXMSGSIZE, self._max_message_mb() * 1024 * 1024)
        self._contexts.append(context)
        return context

    def kernel_log_tail(self) -> str:
        try:
            assert self._tmp is not None
            lines = (self._tmp / "kernel.log").read_text(errors="replace").strip().splitlines()
        except (OSError, AssertionError):
            return ""
        return lines[-1] if lines else ""

    def _run_bootstrap(self) -> None:
        config = protocol.BootConfig(
            seed=self.seed,
            max_reply_bytes=self.limits.max_reply_mb * 1024 * 1024,
            profile_name=self.profile.name,
            max_epochs=self.profile.max_epochs,
            synthetic=self.profile.synthetic,
            data_dir="/data" if self.sandboxed else (str(self.data_dir) if self.data_dir else None),
            extra=dict(self.extra_config),
            trace_key=self.trace_key.hex(),
            gpu_memory_mb=self.gpu.memory_limit_mb if self.gpu is not None else None,
        )
        # with a GPU slot the bootstrap imports TensorFlow and initialises the device
        timeout = 60 if self.gpu is None else 180
        reply = self._execute_quiet(ship.bootstrap_code(config.to_json()), timeout=timeout)
        if reply.get("status") != "ok":
            raise KernelGone(f"the grader's kernel bootstrap failed: {reply.get('ename')}: {reply.get('evalue')}")

    # ------------------------------------------------------------------ warm start
    def warm_import(self, modules: list[str]) -> None:
        """Import `modules` in the kernel before the notebook runs, through the kernel's
        import hooks (grader.kernel.imports), so the Keras wrappers, the trace and the
        seeds are installed exactly as when the notebook imports them itself. Silent: no
        name is bound in the notebook's namespace and no history is kept. A module that
        fails to import is left for the notebook's own import to fail on."""
        for name in modules:
            self._execute_quiet(f"__import__('importlib').import_module({name!r})", timeout=180)

    def deliver_files(self, files: dict[str, bytes]) -> None:
        """The submission's allowed files, for a kernel started without them (warm):
        written into the kernel's home folder and made read-only, as the files bound at
        start are. Sandboxed, the kernel writes them itself, before any student code has
        run in it: the sandbox is fixed once the kernel has started."""
        if not files:
            return
        self.files.update(files)
        if not self.sandboxed:
            assert self._work is not None
            for name, data in files.items():
                (self._work / name).parent.mkdir(parents=True, exist_ok=True)
                (self._work / name).write_bytes(data)
            return
        for name, data in sorted(files.items()):
            path = f"{sandbox.HOME}/{name}"
            for start in range(0, max(1, len(data)), _FILE_CHUNK):
                blob = base64.b64encode(data[start : start + _FILE_CHUNK]).decode("ascii")
                mode = "ab" if start else "wb"
                code = (
                    f"(lambda os, p: (os.makedirs(os.path.dirname(p), exist_ok=True), "
                    f"open(p, {mode!r}).write(__import__('base64').b64decode({blob!r}))))"
                    f"(__import__('os'), {path!r})"
                )
                reply = self._execute_quiet(code, timeout=60)
                if reply.get("status") != "ok":
                    raise KernelGone(f"the submission's file {name} could not be given to the kernel")
            self._execute_quiet(f"__import__('os').chmod({path!r}, 0o444)", timeout=60)

    def alive(self) -> bool:
        """Whether the kernel process is still running (a warm one waits for its job)."""
        return self._alive()

    # ------------------------------------------------------------------ notebook
    def run_notebook(self, nb: nbformat.NotebookNode) -> ExecutionResult:
        """Execute every code cell in order; go on after errors; stop at the limits."""
        assert self._client is not None
        client = self._client
        client.nb = nb
        result = ExecutionResult(notebook=nb)
        started = time.monotonic()
        self._watch_cells()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            if not cell.source.strip():
                continue
            if self.dead:
                result.cells.append(CellRun(index, "not-run", "KernelDied", "the kernel had died"))
                continue
            left = self.limits.notebook_timeout_s - (time.monotonic() - started)
            if left <= 0:
                result.cells.append(CellRun(index, "not-run", "NotebookTimeout", "the notebook time limit was used up"))
                continue
            client.timeout = max(1, int(min(self.limits.cell_timeout_s, left)))
            t0 = time.monotonic()
            try:
                client.execute_cell(cell, index, store_history=True)
            except CellTimeoutError:
                seconds = time.monotonic() - t0
                limit = client.timeout
                whole = limit < self.limits.cell_timeout_s
                what = "notebook" if whole else "cell"
                self.events.append(f"{cell_label(cell)} was stopped at the {what} time limit ({limit} s)")
                result.cells.append(CellRun(index, "timeout", "Timeout", f"stopped after {limit} s", seconds))
                if self._recover_after_timeout():
                    self._reconnect_cells("after a time-out")
                continue
            except DeadKernelError:
                self._mark_dead(f"the kernel died while running {cell_label(cell)}")
                result.cells.append(CellRun(index, "error", "KernelDied", self.events[-1], time.monotonic() - t0))
                continue
            seconds = time.monotonic() - t0
            if self._cell_watch is not None and self._cell_watch.dropped():
                self.events.append(
                    f"{cell_label(cell)} sent one output over {self._max_message_mb()} MB; "
                    "the grader refused it, so some of that cell's output is missing"
                )
                self._reconnect_cells("after an oversized output")
            err = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            if err is not None:
                result.cells.append(
                    CellRun(index, "error", str(err.get("ename", "")), str(err.get("evalue", ""))[:500], seconds)
                )
            else:
                result.cells.append(CellRun(index, "ok", seconds=seconds))
        if client.budget is not None:
            self.events.extend(client.budget.notes(lambda i: cell_label(nb.cells[i])))
        result.seconds = time.monotonic() - started
        # nbclient's channel is done: left open, it would queue every message of the
        # checks unread. The grader's own client takes over, now listening for answers.
        if client.kc is not None:
            client.kc.stop_channels()
        if not self.dead:
            self._connect_witness(answers=True)
        result.kernel_alive = not self.dead
        result.events = self.events
        return result

    def _mark_dead(self, why: str) -> None:
        self.dead = True
        if sandbox.cgroup_oom_killed(self._cgroup):
            why += f" (it ran out of its {self.limits.memory_mb} MB memory limit)"
        self.events.append(why)

    def _recover_after_timeout(self) -> bool:
        """Interrupt; if the kernel does not come back, kill it (checks then score 0)."""
        assert self._client is not None and self._client.km is not None
        try:
            run_sync(self._client.km.interrupt_kernel)()  # type: ignore[arg-type]
        except Exception:
            pass
        try:
            self._execute_quiet("pass", timeout=max(10.0, min(60.0, self.limits.cell_timeout_s / 4)))
        except (CheckTimeout, KernelGone):
            self.events.append("the kernel did not respond to an interrupt and was stopped")
            self.kill()
            return False
        return True

    def _reconnect_cells(self, why: str) -> None:
        """Give nbclient a fresh client: its channels can lose messages when a cell's
        wait is abandoned mid-receive, and zmq never reconnects after an oversized
        message."""
        client = self._client
        assert client is not None
        try:
            if client.kc is not None:
                client.kc.stop_channels()
            client.kc = None
            client.start_new_kernel_client()
            self._watch_cells()
        except Exception:
            self.events.append(f"the grader lost its connection to the kernel {why}")
            self.kill()

    def _watch_cells(self) -> None:
        assert self._client is not None and self._client.kc is not None
        if self._cell_watch is not None:
            self._cell_watch.close()
        self._cell_watch = _DropWatch(self._client.kc.iopub_channel.socket)

    def _max_message_mb(self) -> int:
        return self.limits.max_reply_mb * 2 + 1

    def host_pids(self) -> set[int]:
        """The kernel's process, every process below it and its cgroup's, as the host numbers
        them (nvidia-smi's pids): the tree whose GPU memory grader.gpus.Monitor measures."""
        from . import proctree

        pid = self._kernel_pid()
        found = set() if pid is None else {pid} | proctree.descendants(pid)
        if self._cgroup:
            try:
                procs = (sandbox.CGROUP_ROOT / "pids" / "grader" / self._cgroup / "cgroup.procs").read_text()
                found.update(int(p) for p in procs.split())
            except (OSError, ValueError):
                pass
        return found

    def stop_tree(self) -> None:
        """SIGKILL the kernel's process tree by signals alone: safe from another thread (the
        GPU watch); the thread running cells then sees the kernel die as usual."""
        from . import proctree

        pid = self._kernel_pid()
        if pid is not None:
            proctree.kill_tree(pid, None)

    def _reap_kernel(self) -> None:
        """SIGKILL the kernel's tree and wait (at most 2 s) for its process, so that
        jupyter_client's shutdown finds it gone: it polls a live kernel every 0.1 s, a
        tenth of a second of every submission. The kernel is disposable: nothing of it is
        read after the checks."""
        km = getattr(self._client, "km", None)
        running = getattr(getattr(km, "provisioner", None), "process", None)
        if not isinstance(running, subprocess.Popen) or running.poll() is not None:
            return
        process = _kill_tree(km)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass  # jupyter_client's own shutdown waits on it and says so

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(getattr(self._client, "km", None), "provisioner", None)
        pid = getattr(getattr(provisioner, "process", None), "pid", None)
        return pid if isinstance(pid, int) else None

    def kill(self) -> None:
        """Kill the kernel now, whatever signals it ignores, with every process it started
        (with or without a cgroup or the sandbox); checks then score 0."""
        self.dead = True
        assert self._client is not None
        if self._client.km is not None:
            _kill_kernel(self._client.km)
        sandbox.destroy_cgroup(self._cgroup)

    # ------------------------------------------------------------------ witness channel
    def _connect_witness(self, *, answers: bool) -> None:
        """(Re)connect the grader's own client: the shell channel for its quiet runs,
        and, once the notebook has run, the iopub channel its answers arrive on."""
        assert self._client is not None and self._client.km is not None
        if self._kc is not None:
            self._kc.stop_channels()
        if self._answer_watch is not None:
            self._answer_watch.close()
            self._answer_watch = None
        kc = BlockingKernelClient(context=self._witness_context)
        kc.load_connection_info(self._client.km.get_connection_info(session=False))
        kc.session.key = self._client.km.session.key
        kc.start_channels(iopub=answers, stdin=False, hb=False, control=False)
        self._kc = kc
        self._answers_connected = answers
        if answers:
            self._answer_watch = _DropWatch(kc.iopub_channel.socket)
            # A new subscription takes a moment to reach the kernel; answers published
            # before then are lost. It is live once anything of ours comes back on it:
            # ipykernel 7's welcome, or the status around a kernel_info request.
            deadline = time.monotonic() + 5
            asked: set[str] = set()
            while time.monotonic() < deadline:
                asked.add(kc.kernel_info())
                try:
                    msg = kc.get_iopub_msg(timeout=0.2)
                except Empty:
                    continue
                if msg["msg_type"] == "iopub_welcome" or msg["parent_header"].get("msg_id") in asked:
                    break

    def _alive(self) -> bool:
        if self.dead or self._client is None or self._client.km is None:
            return False
        try:
            return bool(self._kc is not None and run_sync(self._client.km.is_alive)())  # type: ignore[arg-type]
        except Exception:
            return False

    def _execute_quiet(self, code: str, timeout: float) -> dict[str, Any]:
        """Run code, wait for its execute_reply; raise CheckTimeout or KernelGone."""
        assert self._kc is not None
        msg_id = self._kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CheckTimeout(f"no answer within {timeout:g} s")
            try:
                msg = self._kc.get_shell_msg(timeout=min(left, 1.0))
            except Empty:
                if not self._alive():
                    raise KernelGone("the kernel is not running") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return dict(msg["content"])

    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send one witness request; return the kernel's decoded JSON answer (untrusted)."""
        if self.dead:
            raise KernelGone("the notebook's kernel is no longer running, so this could not be checked")
        if not self._answers_connected:
            self._connect_witness(answers=True)
        assert self._kc is not None
        timeout = timeout or self.limits.check_timeout_s
        rid = secrets.token_hex(8)
        payload = {**payload, "id": rid}
        blob = base64.b64encode(json.dumps(payload).encode()).decode("ascii")
        code = f"__import__('_grader_witness').handle({blob!r})"
        # silent: no pre_run_cell/post_run_cell hooks and no history see the request
        msg_id = self._kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        cap = self.limits.max_reply_mb * 1024 * 1024
        answer: str | None = None
        error: str | None = None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.events.append("a check ran out of time and the kernel was interrupted")
                self._recover_after_timeout()
                raise CheckTimeout(f"your code did not finish within the check's time limit of {timeout:g} s")
            try:
                msg = self._kc.get_iopub_msg(timeout=min(left, 0.5))
            except Empty:
                if not self._alive():
                    self._mark_dead("the kernel died during a check")
                    raise KernelGone(self.events[-1]) from None
                if self._answer_watch is not None and self._answer_watch.dropped():
                    self._connect_witness(answers=True)
                    raise BadReply(
                        f"the notebook sent a message over {self._max_message_mb()} MB, which was refused"
                    ) from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "display_data" and answer is None:
                data = content.get("data", {})
                if WITNESS_MIME in data:
                    text = data[WITNESS_MIME]
                    if not isinstance(text, str) or len(text) > cap:
                        raise BadReply("the notebook's answer was too large or malformed")
                    answer = text
            elif kind == "error":
                error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if answer is None:
            raise BadReply(
                "the grader could not read your notebook's state"
                + (f" ({error})" if error else "")
                + "; did the notebook change Python's import system or the grader's helper?"
            )
        try:
            reply = json.loads(answer)
        except (json.JSONDecodeError, RecursionError):
            raise BadReply("the notebook's answer was not valid JSON") from None
        if not isinstance(reply, dict) or reply.get("id") != rid:
            raise BadReply("the notebook's answer did not match the question")
        return reply
