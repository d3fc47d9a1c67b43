"""Hostile submissions: nothing gets through, nothing is lost.

Every notebook in tests/hostile/notebooks is the conv2d_simple reference solution plus
one attack (see tests/hostile/make_notebooks.py and docs/security.md). They are graded
in ONE sandboxed batch, together with the plain reference solution and a "victim"
submission holding a secret, under tight limits, in a temporary copy of the assignment
that has canaries planted in its hidden tests and a zero-point probe check which reads
each attack's ATTACK_FINDINGS through the ordinary witness protocol.

Each attack must fail, the submission must get the score its honest part earns, and
the reference solution must get exactly the score it gets when graded alone.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader import sandbox
from grader.gradebook import Gradebook
from grader.kernel.protocol import OPS, BootConfig
from grader.report import report_file_names
from grader.results import SubmissionResult

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = REPO / "assignments" / "conv2d_simple"
NOTEBOOKS = REPO / "tests" / "hostile" / "notebooks"
SECURITY_DOC = REPO / "docs" / "security.md"

_spec = importlib.util.spec_from_file_location("hostile_notebooks", REPO / "tests" / "hostile" / "make_notebooks.py")
assert _spec is not None and _spec.loader is not None
hostile = importlib.util.module_from_spec(_spec)
sys.modules["hostile_notebooks"] = hostile
_spec.loader.exec_module(hostile)

# Tight enough that floods stop fast; loose enough that TensorFlow's import (the
# reference's first cell) finishes on a loaded 2-CPU runner.
LIMITS = {
    "cell_timeout_s": 60,
    "notebook_timeout_s": 400,
    "check_timeout_s": 20,
    "memory_mb": 1536,
    "max_processes": 64,
    "max_file_mb": 64,
    "max_output_kb": 256,
}
PROBE = "test_zz_attack_findings"
PROBE_SOURCE = '''\
"""Test-suite probe (0 points): hands each attack's findings to the test suite."""
import json


def test_zz_attack_findings(nb):
    if not nb.has("ATTACK_FINDINGS"):
        return
    raise AssertionError("ATTACK_FINDINGS " + json.dumps(nb.get("ATTACK_FINDINGS")))
'''
SEED = "20240614"


# ------------------------------------------------------------------ fast: the notebooks themselves


def test_notebooks_are_generated_and_current(tmp_path: Path) -> None:
    fresh = hostile.main(tmp_path)
    committed = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert committed == sorted(p.name for p in fresh), "run: python tests/hostile/make_notebooks.py"
    for path in fresh:
        assert (NOTEBOOKS / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale; run: python tests/hostile/make_notebooks.py"
        )


def test_each_notebook_is_the_reference_plus_one_attack() -> None:
    reference = nbformat.read(hostile.REFERENCE, as_version=4)
    for name, attack in hostile.BY_NAME.items():
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        attack_cells = [c for c in nb.cells if "attack" in c.metadata.get("tags", [])]
        honest = [c for c in nb.cells if "attack" not in c.metadata.get("tags", [])]
        assert [c.source for c in honest] == [c.source for c in reference.cells], name
        assert 1 <= len(attack_cells) <= 2 and attack_cells[0].source == attack.code, name


def test_enough_attack_classes_and_all_documented() -> None:
    attacks = [*hostile.ATTACKS, *hostile.NEIGHBOUR_ATTACKS]
    assert len(attacks) >= 25
    assert {a.expect for a in attacks} <= set(hostile.EXPECTATIONS)
    doc = SECURITY_DOC.read_text(encoding="utf-8")
    missing = [a.name for a in attacks if f"`{a.name}`" not in doc]
    assert not missing, f"docs/security.md does not describe: {missing}"


# ------------------------------------------------------------------ the batch


@dataclass
class HostileRun:
    root: Path
    canary: str
    results: dict[str, SubmissionResult]
    alone: SubmissionResult
    neighbour: dict[str, SubmissionResult]
    reports: Path
    max_points: dict[str, float]
    host_ports: list[int]
    leftover: list[str]
    pwned: list[str]
    seconds: float
    output: str

    def result(self, name: str) -> SubmissionResult:
        return self.results[name]

    def findings(self, name: str) -> Any:
        probe = next(c for c in self.results[name].checks if c.name == PROBE)
        assert probe.message.startswith("ATTACK_FINDINGS "), f"{name}: no findings: {probe.message[:300]}"
        return json.loads(json.loads(probe.message.removeprefix("ATTACK_FINDINGS ")))

    def page(self, name: str) -> str:
        return (self.reports / report_file_names(self.results)[name]).read_text(encoding="utf-8")

    def sensitive(self) -> list[str]:
        """Strings that must never appear in anything an attack found."""
        return [
            self.canary,
            "test_conv2d_simple_hidden",
            "test_zz_probe",
            "def _reference",
            "FORBIDDEN_CALLS",
            "gradebook.sqlite",
            "scores.csv",
            str(self.root),
            f"{REPO}/assignments",
            f"{REPO}/solutions",
            f"{REPO}/grader/",
            "victim_",
        ]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    out = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if prefix:
        out.append(f"[{prefix}]")
    out += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            out.append("")
            out.append(_toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out)


def _assignment_copy(root: Path, canary: str) -> Path:
    dest = root / "assignment" / "conv2d_simple"
    shutil.copytree(ASSIGNMENT, dest)
    raw = tomllib.loads((dest / "assignment.toml").read_text(encoding="utf-8"))
    raw["limits"] = {**raw.get("limits", {}), **LIMITS}
    raw["points"][PROBE] = 0
    (dest / "assignment.toml").write_text(f"# {canary}\n" + _toml(raw) + "\n", encoding="utf-8")
    hidden = dest / "tests" / "hidden" / "test_conv2d_simple_hidden.py"
    hidden.write_text(f"# {canary}\n" + hidden.read_text(encoding="utf-8"), encoding="utf-8")
    (dest / "tests" / "hidden" / "test_zz_probe.py").write_text(PROBE_SOURCE, encoding="utf-8")
    return dest


def _grade(assignment: Path, folder: Path, gradebook: Path, reports: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            str(assignment),
            str(folder),
            "--profile",
            "smoke",
            "--workers",
            "2",
            "--seed",
            SEED,
            "--gradebook",
            str(gradebook),
            "--reports",
            str(reports),
            "--data",
            str(REPO / ".grader" / "data"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1800,
    )
    assert out.returncode == 0, f"grade exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def _leftover_processes(tmpdir: str) -> list[str]:
    found = []
    for marker in (hostile.DAEMON_MARKER, tmpdir):
        out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
        found += [line for line in out.stdout.splitlines() if "pgrep" not in line]
    return found


def _pwned_files(*roots: Path) -> list[str]:
    hits = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".venv", ".git")]
            hits += [os.path.join(dirpath, f) for f in filenames if f.startswith(hostile.PWNED)]
    return hits


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    reason = sandbox.check_available()
    if reason:
        pytest.skip(f"hostile notebooks run only inside the sandbox, which is unavailable: {reason}")
    root = tmp_path_factory.mktemp("hostile")
    canary = f"CANARY-{secrets.token_hex(8)}"
    assignment = _assignment_copy(root, canary)
    subs = root / "submissions"
    subs.mkdir()
    neighbours = {a.name for a in hostile.NEIGHBOUR_ATTACKS}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if path.stem not in neighbours:
            shutil.copy(path, subs / path.name)
    shutil.copy(hostile.REFERENCE, subs / "reference.ipynb")
    victim = nbformat.read(hostile.REFERENCE, as_version=4)
    victim.cells.append(nbformat.v4.new_markdown_cell(f"my password is {canary}"))
    victim.cells[-1].id = "victim-secret"
    nbformat.write(victim, subs / f"victim_{canary}.ipynb")
    alone = root / "alone"
    alone.mkdir()
    shutil.copy(hostile.REFERENCE, alone / "reference.ipynb")
    beside = root / "neighbour"
    beside.mkdir()
    shutil.copy(hostile.REFERENCE, beside / "reference.ipynb")
    for name in sorted(neighbours):
        shutil.copy(NOTEBOOKS / f"{name}.ipynb", beside / f"{name}.ipynb")

    # Things on the host that the sandbox must not reach while the batch runs.
    listeners = []
    for host in ("127.0.0.1", "0.0.0.0"):
        s = socket.socket()
        s.bind((host, 0))
        s.listen()
        listeners.append(s)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(f"\0grader-hostile-{canary}")
    unix.listen()
    listeners.append(unix)
    tmpdir = tempfile.mkdtemp(prefix="hostile-tmp-")
    env = {**os.environ, "GRADER_SECRET_TOKEN": canary, "AWS_SECRET_ACCESS_KEY": canary, "TMPDIR": tmpdir,
           "GRADER_MAX_MESSAGE_CHARS": "400000"}  # the probe's findings travel in its check message
    env.pop("PYTEST_CURRENT_TEST", None)
    try:
        t0 = time.monotonic()
        output = _grade(assignment, subs, root / "gradebook.sqlite", root / "reports", env)
        seconds = time.monotonic() - t0
        _grade(assignment, alone, root / "alone.sqlite", root / "reports-alone", env)
        _grade(assignment, beside, root / "neighbour.sqlite", root / "reports-neighbour", env)
        time.sleep(1)
        leftover = _leftover_processes(tmpdir)
        pwned = _pwned_files(root, Path(tmpdir), REPO, Path("/dev/shm"))
    finally:
        ports = [s.getsockname()[1] for s in listeners[:2]]
        for s in listeners:
            s.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    saved = os.environ.get("GRADER_MAX_MESSAGE_CHARS")
    os.environ["GRADER_MAX_MESSAGE_CHARS"] = env["GRADER_MAX_MESSAGE_CHARS"]  # results are clipped when read too
    try:
        with Gradebook(root / "gradebook.sqlite") as book:
            results = {r.student: r for r in book.latest("conv2d_simple")}
        with Gradebook(root / "alone.sqlite") as book:
            (alone_result,) = book.latest("conv2d_simple")
        with Gradebook(root / "neighbour.sqlite") as book:
            neighbour = {r.student: r for r in book.latest("conv2d_simple")}
    finally:
        if saved is None:
            os.environ.pop("GRADER_MAX_MESSAGE_CHARS", None)
        else:
            os.environ["GRADER_MAX_MESSAGE_CHARS"] = saved
    points = tomllib.loads((assignment / "assignment.toml").read_text(encoding="utf-8"))["points"]
    return HostileRun(
        root=root,
        canary=canary,
        results=results,
        alone=alone_result,
        neighbour=neighbour,
        reports=root / "reports" / "conv2d_simple",
        max_points=points,
        host_ports=ports,
        leftover=leftover,
        pwned=pwned,
        seconds=seconds,
        output=output,
    )


# ------------------------------------------------------------------ the whole batch


@pytest.mark.slow
def test_every_hostile_notebook_is_graded(hostile_run: HostileRun) -> None:
    neighbours = {a.name for a in hostile.NEIGHBOUR_ATTACKS}
    expected = {*hostile.BY_NAME, "reference", f"victim_{hostile_run.canary}"} - neighbours
    assert set(hostile_run.results) == expected
    for name, r in hostile_run.results.items():
        assert r.error is None, f"{name} was not graded: {r.error}"
        assert r.sandboxed
    print(f"hostile batch of {len(expected)} notebooks graded in {hostile_run.seconds:.0f} s")


@pytest.mark.slow
def test_reference_scores_the_same_in_a_hostile_batch_as_alone(hostile_run: HostileRun) -> None:
    alone = hostile_run.alone
    assert alone.error is None and alone.score == alone.max_score > 0, [
        (c.name, c.message) for c in alone.checks if c.status != "passed"
    ]
    for name in ("reference", f"victim_{hostile_run.canary}"):
        r = hostile_run.result(name)
        assert r.score == alone.score and r.max_score == alone.max_score, (
            name,
            [(c.name, c.message[:200]) for c in r.checks if c.status != "passed"],
            r.events,
        )
        assert [(c.name, c.status) for c in r.checks] == [(c.name, c.status) for c in alone.checks]
        assert r.events == () and r.cell_issues == (), (name, r.events, r.cell_issues)


@pytest.mark.slow
def test_no_process_outlives_the_batch(hostile_run: HostileRun) -> None:
    assert hostile_run.leftover == []


@pytest.mark.slow
def test_nothing_written_outside_the_sandbox(hostile_run: HostileRun) -> None:
    assert hostile_run.pwned == []
    # The batch's own outputs are intact: every page is complete HTML, the CSV has every row.
    for name in hostile_run.results:
        assert hostile_run.page(name).rstrip().endswith("</html>"), name
    rows = (hostile_run.reports / "scores.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 1 + len(hostile_run.results)


@pytest.mark.slow
def test_cpu_hog_does_not_starve_its_neighbour(hostile_run: HostileRun) -> None:
    alone, beside = hostile_run.alone, hostile_run.neighbour["reference"]
    assert beside.score == alone.score, _lost(beside)
    assert beside.execute_seconds <= 3 * alone.execute_seconds + 10, (
        f"the reference ran {beside.execute_seconds:.0f} s beside cpu_hog, {alone.execute_seconds:.0f} s alone"
    )


# ------------------------------------------------------------------ each attack's score

SCORE_ATTACKS = [a for a in hostile.ATTACKS if a.expect != "forbidden"]


def _lost(r: SubmissionResult) -> list[tuple[str, str]]:
    return [(c.name, c.message[:200]) for c in r.checks if c.points < c.max_points]


@pytest.mark.slow
@pytest.mark.parametrize("attack", SCORE_ATTACKS, ids=lambda a: a.name)
def test_attack_earns_only_the_honest_score(hostile_run: HostileRun, attack: Any) -> None:
    r = hostile_run.result(attack.name)
    full = hostile_run.alone.score
    control = hostile_run.result("control_sabotaged").score
    nofigure = hostile_run.result("control_nofigure").score
    dead = hostile_run.result("kernel_exit").score
    assert r.max_score == hostile_run.alone.max_score
    if attack.expect == "full":
        assert r.score == full, (_lost(r), r.events)
    elif attack.expect == "control":
        assert control < full
        assert r.score == control, (_lost(r), r.events)
    elif attack.expect == "at_most_control":
        assert control < full
        assert r.score <= control, (_lost(r), r.events)
    elif attack.expect == "nofigure":
        assert nofigure < full
        assert r.score == nofigure, (_lost(r), r.events)
    elif attack.expect == "kernel_dies":
        assert dead < control < full
        assert r.score == dead, (_lost(r), r.events)
        for name, message in _lost(r):
            assert "kernel" in message or "time limit" in message, (name, message)
    elif attack.expect == "one_timeout":
        lost = _lost(r)
        assert len(lost) == 1 and "time limit" in lost[0][1], lost
        assert r.score == full - hostile_run.max_points[lost[0][0]]
    else:
        raise AssertionError(f"unknown expectation {attack.expect}")
    page = html.unescape(hostile_run.page(attack.name))
    for phrase in attack.mentions:
        assert phrase in page, f"{attack.name}: the report does not say {phrase!r}"


@pytest.mark.slow
def test_controls_lose_exactly_what_they_should(hostile_run: HostileRun) -> None:
    nofigure = hostile_run.result("control_nofigure")
    assert [n for n, _ in _lost(nofigure)] == ["test_figure_shown"]
    dead = hostile_run.result("kernel_exit")
    kept = {c.name for c in dead.checks if c.points == c.max_points and c.max_points > 0}
    assert kept == {"test_figure_shown"}, kept  # the only check that needs no live kernel


@pytest.mark.slow
def test_forbidden_library_use_cannot_be_hidden(hostile_run: HostileRun) -> None:
    """The notebook strips the tracer's `forbid` list and reaches np.correlate through
    getattr with a computed name: the trusted-side reading of the code it uses catches
    what the kernel-side tracer was told not to see, and the tampering is flagged."""
    r = hostile_run.result("forbidden_call_evasion")
    assert r.score < hostile_run.alone.score, "np.correlate went unnoticed"
    lost = {c.name: c.message for c in r.checks if c.points < c.max_points}
    assert set(lost) == {"test_no_library_convolution_source"}, lost
    assert "getattr with a computed name" in lost["test_no_library_convolution_source"]
    assert any("_grader_witness" in f for f in r.flags), r.flags


# ------------------------------------------------------------------ what read attacks found

READ_ATTACKS = [
    "read_filesystem_walk",
    "read_proc",
    "read_environment",
    "read_known_paths",
    "read_grader_package",
    "spy_witness_requests",
    "read_kernel_memory",
    "ptrace_parent",
    "write_everywhere",
    "network",
    "signal_attacks",
    "privilege_escalation",
    "disk_flood",
    "fork_flood",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", READ_ATTACKS)
def test_attack_found_nothing_sensitive(hostile_run: HostileRun, name: str) -> None:
    found = hostile_run.findings(name)
    if isinstance(found, dict):  # what it tried and was refused is not what it found
        found = {k: v for k, v in found.items() if k not in ("denied", "errors")}
    text = json.dumps(found, ensure_ascii=False)
    leaked = [s for s in hostile_run.sensitive() if s in text]
    assert not leaked, f"{name} found {leaked}"


@pytest.mark.slow
def test_file_system_shows_only_the_sandbox(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_filesystem_walk")
    assert found["files"] > 1000  # it did walk the system
    # bubblewrap creates the folders leading to each bound path (the Python prefixes)
    prefixes = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix)}
    leading = {str(parent) for prefix in prefixes for parent in (prefix, *prefix.parents)}
    for path in found["outside_system"]:
        assert (
            path.count("/") == 1
            or path in leading
            or path == "/home/student"
            or path.startswith(("/tmp/", "/home/student/", "/data/"))
        ), f"unexpected path in the sandbox: {path}"
    assert found["content_hits"] == []  # no file in view outside the system holds test-like text


@pytest.mark.slow
def test_known_paths_are_out_of_reach(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_known_paths")
    readable = set(found["readable"]) | set(found["listed"])
    if Path(sys.prefix).parent == REPO:  # the attack guesses the checkout from the kernel's venv
        assert f"{REPO}/assignments/conv2d_simple/assignment.toml" in found["denied"]
    for path in (
        "/etc/shadow",
        f"{REPO}/assignments/conv2d_simple/assignment.toml",
        f"{REPO}/assignments/conv2d_simple/tests/hidden/test_conv2d_simple_hidden.py",
        f"{REPO}/solutions/conv2d_simple/conv2d_simple.ipynb",
        f"{REPO}/.grader/gradebook.sqlite",
        "/work/shared/DESIGN.md",
        "/root/.bash_history",
        f"/proc/1/root{REPO}",
    ):
        assert path not in readable, path
    assert set(found["listed"].get(str(REPO), [])) <= {".venv"}
    assert set(found["listed"].get(str(REPO.parent), [])) <= {REPO.name}


@pytest.mark.slow
def test_other_processes_are_invisible(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_proc")
    assert set(found["pids"]) <= {1, 2}, found["pids"]  # the sandbox's init and the kernel
    cmdlines = " ".join(v for k, v in found["readable"].items() if k.endswith("/cmdline"))
    for host_process in ("pytest", "grader.worker", "grader.prefork", "grader.cli", "sshd"):
        assert host_process not in cmdlines
    denied = " ".join(found["denied"])
    for path in ("/proc/1/environ", "/proc/1/root", "/proc/1/cwd", "/proc/1/mem"):
        assert path in denied, path


@pytest.mark.slow
def test_environment_holds_no_secrets(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_environment")
    keys = set(found["environ"])
    assert not {k for k in keys if k.startswith(("GRADER_", "PYTEST", "AWS_", "TMPDIR", "VIRTUAL_ENV"))}, keys
    assert found["/proc/1/environ"].startswith("denied")


@pytest.mark.slow
def test_grader_package_is_not_importable(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_grader_package")
    for module in ("grader", "grader.spec", "grader.gradebook", "grader.witness"):
        assert found[module].startswith("ModuleNotFoundError"), (module, found[module])


@pytest.mark.slow
def test_witness_questions_carry_no_answers(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("spy_witness_requests")
    assert set(found["config"]) <= set(BootConfig.__dataclass_fields__)  # seed, caps, profile, data folder
    assert found["requests"], "the spy saw no question"
    for request in found["requests"]:
        assert set(request) <= {"op", "name", "args", "kwargs", "forbid", "id", "path"}, request
        assert request["op"] in OPS, request


@pytest.mark.slow
def test_kernel_memory_holds_no_tests(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("read_kernel_memory")
    assert found["mem_bytes"] > 10 << 20  # it did read its memory
    hits = " ".join(found["gc_hits"] + found["mem_hits"])
    for name in ("test_random_float_images", "test_filtered_images_match_x_train_2", "_reference(image"):
        assert name not in hits


@pytest.mark.slow
def test_ptrace_and_foreign_memory_are_denied(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("ptrace_parent")
    assert found["ppid"] == 1
    assert all(rc == -1 for rc, _ in found["ptrace"].values()), found["ptrace"]
    assert all(v.startswith("denied") for v in found["mem"].values()), found["mem"]
    assert all(rc == -1 for rc, _ in found["vm_readv"].values()), found["vm_readv"]


@pytest.mark.slow
def test_writes_stay_in_private_folders(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("write_everywhere")
    assert found["created"], "it could not even write its home"
    # /tmp, /dev/shm and the home are the kernel's own tmpfs mounts; the host's copies
    # of them stay clean (the run's fixture fails on any PWNED file found outside).
    for path in found["created"] + found["replaced"]:
        assert path.startswith(("/tmp", "/dev/shm", "/home/student")), path


@pytest.mark.slow
def test_network_is_unreachable(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("network")
    assert found["interfaces"] == ["lo"]
    assert found["connected"] == [] and found["open_local"] == []
    assert found["scanned"] > 10000
    assert found["dns"].startswith("failed") and found["udp"].startswith("failed")
    text = json.dumps(found)
    for port in hostile_run.host_ports:
        assert f':{port}"' not in text and f":{port:04X} " not in text


@pytest.mark.slow
def test_signals_reach_nothing_outside(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("signal_attacks")
    assert found["ppid"] == 1
    sent = {k for k, v in found["results"].items() if v == "sent"}
    assert sent <= {"SIGKILL -1"}, sent
    for target in ("SIGKILL parent", "SIGKILL pid 1", "SIGTERM pid 1", "SIGSTOP pid 1"):
        assert found["results"][target] == "PermissionError", (target, found["results"][target])


@pytest.mark.slow
def test_privilege_escalation_fails(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("privilege_escalation")
    assert found["uid_after"] == [sandbox.NOBODY] * 3
    assert found["status"]["CapEff"] == "0000000000000000" and found["status"]["NoNewPrivs"] == "1"
    for label, outcome in found["attempts"].items():
        assert outcome != "succeeded", label
        assert "root:" not in json.dumps(outcome), (label, outcome)  # /etc/shadow's first line
    assert found["status"]["Seccomp"] == "2"  # a filter is installed
    unshare = found["attempts"]["unshare -r cat /etc/shadow"]
    assert unshare[0] != 0 and "Operation not permitted" in unshare[2], unshare
    assert "mounted" not in json.dumps(found["attempts"]["unshare -rm sh -c mount -t tmpfs none /tmp && echo mounted"])
    assert found["syscalls"] and set(found["syscalls"].values()) == {"Operation not permitted"}, found["syscalls"]


@pytest.mark.slow
def test_file_size_and_tmp_limits_hold(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("disk_flood")
    written, error = found["big_file"]
    assert written <= LIMITS["max_file_mb"] << 20 and error == "File too large"
    written, error = found["tmp"]
    assert written <= 256 << 20 and error == "No space left on device"
    assert found["raise_fsize"].startswith("refused")
    assert len(found["conn"]) == 1, "the attack did not find its connection folder"


@pytest.mark.slow
def test_disk_flood_cannot_reach_the_host_disk(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("disk_flood")
    assert found["conn"], "the attack found no connection folder"
    for folder, (written, _error) in found["conn"].items():
        assert written <= 1 << 20, f"wrote {written >> 20} MB into {folder}, a folder on the host's disk"


@pytest.mark.slow
def test_fork_flood_is_capped(hostile_run: HostileRun) -> None:
    found = hostile_run.findings("fork_flood")
    assert 0 < found["children"] < LIMITS["max_processes"]
    assert found["error"] == "Resource temporarily unavailable"


@pytest.mark.slow
def test_report_says_processes_were_left_behind(hostile_run: HostileRun) -> None:
    for name in ("leave_processes", "fork_flood"):
        page = html.unescape(hostile_run.page(name))
        assert "left behind by the notebook were killed" in page, name


@pytest.mark.slow
def test_output_flood_is_capped(hostile_run: HostileRun) -> None:
    r = hostile_run.result("output_flood")
    assert any("was dropped" in e for e in r.events), r.events
    assert len(hostile_run.page("output_flood").encode()) < 1 << 20
    assert len(json.dumps(r.to_dict())) < 1 << 20


@pytest.mark.slow
def test_report_escapes_student_text(hostile_run: HostileRun) -> None:
    raw = hostile_run.page("report_injection")
    assert "<script>alert(" not in raw and "<img src=x" not in raw
    assert "<script>alert('xss')</script>" in html.unescape(raw)


@pytest.mark.slow
def test_report_strips_terminal_escapes(hostile_run: HostileRun) -> None:
    raw = hostile_run.page("report_injection")
    assert "red" in raw and "\x1b" not in raw
