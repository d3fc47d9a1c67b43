"""The sandbox a student's kernel runs in: bubblewrap, an unprivileged uid, rlimits and
cgroups.

What the kernel can see is built up from nothing (no `--ro-bind / /`): the system's
/usr, /etc and libraries, the Python installation, a private home on a size-capped
tmpfs, the data sets read-only, and the folder holding its connection file. The
grader's repository, the hidden tests, the gradebook and other submissions are simply
not in its mount namespace, and as uid 65534 it cannot read root-only files in what is.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import SandboxUnavailable
from .spec import Limits

NOBODY = 65534
HOME = "/home/student"
COLAB_HOME = "/content"  # Colab's working folder: here, the notebook's own folder
# Every sandboxed kernel's environment: `!pip install x` fails fast without a network.
ENV = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
CGROUP_ROOT = Path("/sys/fs/cgroup")
# memory and pids limit a kernel; cpu gives every kernel an equal share, so one that
# forks busy processes (each in its own session) cannot starve its neighbours.
CONTROLLERS = ("memory", "pids", "cpu")
SECCOMP_FD = 9  # bubblewrap reads the filter from this descriptor, opened by the wrapping shell (dash: 0-9 only)


@dataclass(frozen=True)
class SandboxPlan:
    """Everything needed to wrap one kernel command; built per submission."""

    conn_dir: Path
    data_dir: Path | None
    files: dict[str, Path]  # name inside the home folder -> host file (read-only)
    limits: Limits
    env: dict[str, str]
    cgroup: str | None  # name of the cgroup to join, None when cgroups are unavailable
    enabled: bool = True
    disk_mb: int = 1024
    seccomp: Path | None = None  # compiled filter (grader.syscalls) on the host, outside the sandbox
    python: str | None = None  # the kernel's interpreter, when not the grader's own (--kernel-python)
    # GPU device nodes it sees (grader.gpus.sandbox_nodes): None, every NVIDIA node here (no
    # GPU slots: as before slots existed); (), none (the evaluator, which runs on the CPU)
    gpu_nodes: tuple[str, ...] | None = None
    mps_pipe: str | None = None  # MPS's pipe folder, bound in when the kernel's slot uses MPS


def python_roots(python: str | None = None) -> list[str]:
    """Folders the kernel's interpreter needs: the venv and the base installation, of
    the grader's own Python and of `python` (another environment for kernels)."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    if python is not None and python != sys.executable:
        roots.update(_prefixes(python))
    return sorted(roots)


@functools.cache
def _prefixes(python: str) -> tuple[str, ...]:
    """sys.prefix and sys.base_prefix of another interpreter, asked once; none when it
    cannot say (then its kernel cannot start, and the preflight has said why). "/" is
    never one: binding it would show the kernel the whole machine."""
    try:
        out = subprocess.run(
            [python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=True,
        ).stdout.decode()
        found = [line for line in out.splitlines() if line.startswith("/")]
    except (OSError, subprocess.SubprocessError):
        found = []
    return tuple(p for p in (os.path.realpath(f) for f in found) if p != "/")


def _gpu_binds(nodes: tuple[str, ...] | None = None, mps_pipe: str | None = None) -> list[str]:
    """NVIDIA device nodes, and the read-only PCI topology TensorFlow probes, when a GPU
    exists. CUDA libraries come from /usr or the venv's nvidia wheels, bound already.

    `nodes` None: every /dev/nvidia* here; otherwise only those (a GPU slot: its own
    device's node and the control nodes, so the kernel cannot open its neighbours'
    devices whatever it sets CUDA_VISIBLE_DEVICES to); () binds nothing."""
    args: list[str] = []
    devices = sorted(Path("/dev").glob("nvidia*")) if nodes is None else [Path(n) for n in nodes]
    for dev in devices:  # -try: a node gone since the plan leaves the kernel without a GPU, not without a kernel
        args += ["--dev-bind-try", str(dev), str(dev)]
    if mps_pipe is not None:
        args += ["--bind-try", mps_pipe, mps_pipe]
    if devices:
        for d in ("/sys/bus", "/sys/devices", "/proc/driver/nvidia"):
            args += ["--ro-bind-try", d, d]
    return args


def wrap(plan: SandboxPlan, argv: list[str]) -> list[str]:
    """The kernel command wrapped in rlimits, a cgroup, bubblewrap and setpriv."""
    lim = plan.limits
    rlimits = [
        "prlimit",
        f"--fsize={lim.max_file_mb * 1024 * 1024}",
        "--core=0",
        "--nofile=1024",
        "--",
    ]
    if not plan.enabled:
        return argv
    bwrap = [
        "bwrap",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
    ]
    for link in ("bin", "lib", "lib64", "sbin", "lib32"):
        p = Path("/") / link
        if p.is_symlink():
            bwrap += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            bwrap += ["--ro-bind", str(p), str(p)]
    bwrap += ["--proc", "/proc", "--dev", "/dev"]
    # POSIX semaphores and shared memory (multiprocessing's locks and pools) live here
    bwrap += ["--perms", "1777", "--size", str(64 * 1024 * 1024), "--tmpfs", "/dev/shm"]
    bwrap += ["--perms", "1777", "--size", str(256 * 1024 * 1024), "--tmpfs", "/tmp"]
    bwrap += ["--tmpfs", "/root", "--tmpfs", "/home", "--tmpfs", "/var", "--tmpfs", "/run"]
    made = {"/", "/tmp", "/root", "/home", "/var", "/run", "/usr", "/etc", "/proc", "/dev"}

    def parents(dest: str) -> list[str]:
        # bwrap makes missing mount points 0700; the kernel's uid must pass through them.
        out = []
        for parent in reversed(Path(dest).parents):
            if str(parent) not in made:
                made.add(str(parent))
                out += ["--perms", "0755", "--dir", str(parent)]
        return out

    for root in python_roots(plan.python):
        bwrap += parents(root) + ["--ro-bind", root, root]
        made.add(root)
    bwrap += ["--size", str(plan.disk_mb * 1024 * 1024), "--tmpfs", HOME, "--symlink", HOME, COLAB_HOME]
    bwrap += parents(str(plan.conn_dir)) + ["--bind", str(plan.conn_dir), str(plan.conn_dir)]
    if plan.data_dir is not None:
        bwrap += ["--ro-bind", str(plan.data_dir), "/data"]
    for name, host in sorted(plan.files.items()):
        bwrap += ["--ro-bind", str(host), f"{HOME}/{name}"]
    bwrap += _gpu_binds(plan.gpu_nodes, plan.mps_pipe)
    bwrap += ["--chmod", "0777", HOME, "--chdir", HOME]
    for key, value in sorted({**ENV, **plan.env}.items()):
        bwrap += ["--setenv", key, value]
    if plan.seccomp is not None:
        bwrap += ["--seccomp", str(SECCOMP_FD)]
    setpriv = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
    ]
    cmd = rlimits + bwrap + setpriv + argv
    steps = []
    if plan.cgroup:
        steps += [
            f"echo $$ > {shlex.quote(str(CGROUP_ROOT / ctl / 'grader' / plan.cgroup / 'cgroup.procs'))}"
            for ctl in CONTROLLERS
        ]
    if plan.cgroup or plan.seccomp is not None:
        redirect = f" {SECCOMP_FD}< {shlex.quote(str(plan.seccomp))}" if plan.seccomp is not None else ""
        steps.append(f'exec "$@"{redirect}')
        cmd = ["sh", "-c", " && ".join(steps), "sandbox", *cmd]
    return cmd


@functools.cache
def cgroups_available() -> bool:
    """cgroup v1 memory and pids controllers writable by us (true on our runners)."""
    try:
        for ctl in CONTROLLERS:
            base = CGROUP_ROOT / ctl / "grader"
            base.mkdir(exist_ok=True)
            probe = base / f"probe-{os.getpid()}"
            probe.mkdir(exist_ok=True)
            probe.rmdir()
        return True
    except OSError:
        return False


def create_cgroup(name: str, limits: Limits) -> str | None:
    if not cgroups_available():
        return None
    mem = CGROUP_ROOT / "memory" / "grader" / name
    pids = CGROUP_ROOT / "pids" / "grader" / name
    mem.mkdir(exist_ok=True)
    pids.mkdir(exist_ok=True)
    (CGROUP_ROOT / "cpu" / "grader" / name).mkdir(exist_ok=True)
    limit = limits.memory_mb * 1024 * 1024
    (mem / "memory.limit_in_bytes").write_text(str(limit))
    try:
        (mem / "memory.memsw.limit_in_bytes").write_text(str(limit))
    except OSError:
        pass  # no swap accounting: there is no swap on our runners either
    (pids / "pids.max").write_text(str(limits.max_processes))
    return name


def cgroup_oom_killed(name: str | None) -> bool:
    if not name:
        return False
    try:
        text = (CGROUP_ROOT / "memory" / "grader" / name / "memory.oom_control").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1]) > 0
    return (CGROUP_ROOT / "memory" / "grader" / name / "memory.failcnt").read_text().strip() != "0"


def stray_processes(name: str | None) -> int:
    """Processes in the kernel's cgroup other than bubblewrap and the kernel itself:
    what the notebook started and left running (daemons, orphaned children)."""
    if not name:
        return 0
    try:
        pids = (CGROUP_ROOT / "pids" / "grader" / name / "cgroup.procs").read_text().split()
    except OSError:
        return 0

    def comm(pid: str) -> str:
        return Path(f"/proc/{pid}/comm").read_text().strip()

    stray = 0
    for pid in pids:
        try:
            if comm(pid) == "bwrap":
                continue
            # The kernel is the one child of bubblewrap's init; its forks are strays.
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            if comm(ppid) == "bwrap":
                continue
        except (OSError, IndexError):
            continue
        stray += 1
    return stray


def destroy_cgroup(name: str | None) -> None:
    """Kill every process left in the cgroup (forks that outlived the kernel), remove it.
    Reporting them is `stray_processes`' job, before the kernel is stopped."""
    if not name:
        return
    pids_dir = CGROUP_ROOT / "pids" / "grader" / name
    for _ in range(50):
        try:
            pids = [int(p) for p in (pids_dir / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    for ctl in CONTROLLERS:
        d = CGROUP_ROOT / ctl / "grader" / name
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


@functools.cache
def check_available() -> str | None:
    """None when the sandbox works here, else the reason it does not."""
    for tool in ("bwrap", "setpriv", "prlimit"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install bubblewrap util-linux)"
    if os.geteuid() != 0:
        return "the grader must run as root to drop the kernel to an unprivileged uid"
    probe = Path("/tmp") / f"grader-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    os.chmod(probe, 0o755)
    plan = SandboxPlan(conn_dir=probe, data_dir=None, files={}, limits=Limits(), env={}, cgroup=None)
    argv = wrap(plan, [sys.executable, "-c", "import os; print(os.getuid())"])
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap failed to start: {exc}"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if out.returncode != 0 or out.stdout.strip() != str(NOBODY):
        first = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"bubblewrap does not work here: {first}"
    return None


def require(no_sandbox: bool) -> bool:
    """True when kernels run sandboxed; raises when they cannot and the user did not opt out."""
    if no_sandbox:
        return False
    reason = check_available()
    if reason:
        raise SandboxUnavailable(
            f"cannot sandbox student code: {reason}. Refusing to grade untrusted notebooks; "
            f"pass --no-sandbox to run them unprotected (every report will say so)."
        )
    return True


def sweep_stale_cgroups() -> None:
    """Remove our empty cgroups left by a grader that was killed (never anyone else's)."""
    if not cgroups_available():
        return
    for ctl in CONTROLLERS:
        base = CGROUP_ROOT / ctl / "grader"
        for d in base.iterdir() if base.is_dir() else []:
            if not d.is_dir():
                continue
            try:
                # Old enough that no live run can be between creating and joining it.
                if time.time() - d.stat().st_mtime > 600 and not (d / "cgroup.procs").read_text().split():
                    d.rmdir()
            except OSError:
                pass
