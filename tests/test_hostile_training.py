"""Hostile training notebooks: no attack earns a point its honest control does not.

Every notebook in tests/hostile/training/<assignment>/ is an honest control (the reference
solution, or that solution with one honest mistake) or an attack = its control plus the
attack's cells (tests/hostile/make_training_notebooks.py; docs/security.md, "Training
exercises"). Per assignment, all of them are graded in ONE sandboxed batch in smoke with
two workers, beside the plain reference solution, in a temporary copy of the assignment
with a 0-point probe check that reads each attack's ATTACK_FINDINGS. The reference is
also graded alone.

Asserted per attack: no more points than its control (check by check for attacks that
try to earn points, classes 1-6; in total for the resource attacks, class 7); a flag for
review where the grader can see the tampering; the resource attacks bounded (report,
result row, longest check, peak worker RSS, measured here from /proc). Where an attack
still gains, the test is an xfail(strict=True) naming the check that gives the points
(KNOWN_GAPS): the gap stays visible and CI green, and closing it turns the xfail into a
failure that asks for the marker to go.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader import sandbox
from grader.gradebook import Gradebook
from grader.report import report_file_names
from grader.results import SubmissionResult
from grader.spec import load_assignment

REPO = Path(__file__).resolve().parent.parent
SECURITY_DOC = REPO / "docs" / "security.md"

_spec = importlib.util.spec_from_file_location(
    "hostile_training_notebooks", REPO / "tests" / "hostile" / "make_training_notebooks.py"
)
assert _spec is not None and _spec.loader is not None
gen = importlib.util.module_from_spec(_spec)
sys.modules["hostile_training_notebooks"] = gen
_spec.loader.exec_module(gen)

SEED = "20261201"
PROBE = "test_zz_attack_findings"
PROBE_SOURCE = '''\
"""Test-suite probe (0 points): hands each attack's findings to the test suite."""
import json


from grader.errors import MissingName


def test_zz_attack_findings(nb):
    try:  # one request: the slow witness leaves time for one per check
        found = nb.get("ATTACK_FINDINGS")
    except MissingName:
        return
    raise AssertionError("ATTACK_FINDINGS " + json.dumps(found))
'''
# Limits changed in the temporary copy of an assignment (the slow witness answers just
# under this check time limit; at the assignment's own 30 s the batch would take minutes longer).
LIMITS: dict[str, dict[str, int]] = {"cnn_mistakes": {"check_timeout_s": gen.SLOW_WITNESS_LIMIT_S}}

# Caps on what one submission may cost the trusted side (issue 8, "the trusted side under limits").
REPORT_MAX_BYTES = 3 << 20
ROW_MAX_BYTES = 2 << 20
CHECK_SLACK_S = 5.0  # a check may overrun its time limit by this much (interrupt, evaluator start)
# A worker may peak this far over its own memory limit (worker_memory_mb, read every 50 ms by the batch).
WORKER_RSS_SLACK_MB = 256

# (attack, aspect) -> the gap, for an xfail(strict=True). Aspects: "score" (earns more than
# its control), "flag" (not flagged for review), "report", "row", "check_time", "worker_rss".
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # empty: every attack of the suite is held to its control and flagged where it must be
}

ASPECTS = ("score", "flag", "report", "row", "check_time", "worker_rss")
RESOURCE_ASPECTS = ("report", "row", "check_time", "worker_rss")


def _param(attack: Any, aspect: str) -> Any:
    gap = KNOWN_GAPS.get((attack.name, aspect))
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    return pytest.param(attack, id=attack.name, marks=marks)


# ------------------------------------------------------------------ fast: the notebooks themselves


def test_training_notebooks_are_generated_and_current(tmp_path: Path) -> None:
    fresh = gen.main(tmp_path)
    for assignment in gen.ASSIGNMENTS:
        committed = sorted(p.name for p in (gen.OUT / assignment).glob("*.ipynb"))
        made = sorted(p.name for p in fresh if p.parent.name == assignment)
        assert committed == made, f"{assignment}: run python tests/hostile/make_training_notebooks.py"
        for name in made:
            assert (gen.OUT / assignment / name).read_bytes() == (tmp_path / assignment / name).read_bytes(), (
                f"{assignment}/{name} is stale; run: python tests/hostile/make_training_notebooks.py"
            )
    for attack in gen.ATTACKS:
        if attack.big:  # built when graded: never in the repository
            assert not (gen.OUT / attack.assignment / f"{attack.name}.ipynb").exists(), attack.name
            assert len(gen.render(gen.build(attack))) > 100_000, f"{attack.name} is small enough to commit"


def _sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    return [(c.get("id"), c.cell_type, c.source) for c in nb.cells]


def test_each_attack_is_its_control_plus_attack_cells() -> None:
    for attack in gen.ATTACKS:
        nb = gen.build(attack)
        control = gen.control_notebook(attack.control, attack.assignment)
        tagged = [c for c in nb.cells if "attack" in c.metadata.get("tags", [])]
        honest = [c for c in nb.cells if "attack" not in c.metadata.get("tags", [])]
        assert [(c.get("id"), c.source) for c in honest] == [(c.get("id"), c.source) for c in control.cells], (
            attack.name
        )
        assert [c.source for c in tagged] == [c.source for c in attack.cells], attack.name


def test_each_control_is_the_solution_with_one_honest_mistake() -> None:
    for control in gen.CONTROLS:
        nb = gen.build_control(control)
        ref = gen.solution(control.assignment)
        assert [c.get("id") for c in nb.cells] == [c.get("id") for c in ref.cells], control.name
        edited = {e.cell for e in control.edits}
        for mine, theirs in zip(nb.cells, ref.cells, strict=True):
            if mine.get("id") in edited:
                assert mine.source != theirs.source and "mistake" in mine.metadata.get("tags", []), control.name
            else:
                assert mine.source == theirs.source, (control.name, mine.get("id"))


def test_every_attack_class_and_assignment_is_covered() -> None:
    assert {a.klass for a in gen.ATTACKS} == set(gen.CLASSES)
    assert {a.assignment for a in gen.ATTACKS} == set(gen.ASSIGNMENTS)
    for attack in gen.ATTACKS:
        assert attack.control == gen.SOLUTION or gen.CONTROL_BY_NAME[attack.control].assignment == attack.assignment
    names = [a.name for a in gen.ATTACKS] + [c.name for c in gen.CONTROLS]
    assert len(names) == len(set(names)) and gen.SOLUTION not in names


def test_training_attacks_are_documented() -> None:
    doc = SECURITY_DOC.read_text(encoding="utf-8")
    assert "## Training exercises" in doc
    section = doc.split("## Training exercises", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in [*gen.BY_NAME, *gen.CONTROL_BY_NAME] if f"`{n}`" not in section]
    assert not missing, f"docs/security.md, Training exercises, does not describe: {missing}"


def test_known_gaps_name_real_attacks() -> None:
    for (name, aspect), reason in KNOWN_GAPS.items():
        assert name in gen.BY_NAME and aspect in ASPECTS, (name, aspect)
        attack = gen.BY_NAME[name]
        assert aspect != "flag" or attack.flagged, f"{name}: only attacks that must be flagged have a flag gap"
        assert aspect in ("score", "flag") or attack.klass == 7, f"{name}: resource aspects are for class 7"
        assert len(reason) > 40, f"{name}/{aspect}: say which check and why"


# ------------------------------------------------------------------ the batches


@dataclass
class Batch:
    assignment: str
    check_timeout_s: float
    worker_rss_max_mb: float
    results: dict[str, SubmissionResult]
    alone: SubmissionResult
    reports: Path
    rss_mb: dict[str, float]
    seconds: float
    gradebook_bytes: int
    output: str
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def result(self, name: str) -> SubmissionResult:
        assert name in self.results, f"{name} was not graded in the {self.assignment} batch"
        return self.results[name]

    def control(self, attack: Any) -> SubmissionResult:
        return self.result("solution" if attack.control == gen.SOLUTION else attack.control)

    def findings(self, name: str) -> Any:
        probe = next((c for c in self.result(name).checks if c.name == PROBE), None)
        if probe is None or not probe.message.startswith("ATTACK_FINDINGS "):
            return None
        return json.loads(json.loads(probe.message.removeprefix("ATTACK_FINDINGS ")))

    def page_bytes(self, name: str) -> int:
        return (self.reports / report_file_names(self.results)[name]).stat().st_size


class WorkerWatch:
    """Peak resident memory (VmHWM) of every grader.worker process, by student, from /proc."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_kb: dict[str, int] = {}
        self._students: dict[tuple[int, str], str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan()
            self._stop.wait(self.interval)

    def scan(self) -> None:
        """A worker is a child of the batch's fork server (grader.prefork) whose output
        goes to its job's log, JOB.log beside JOB.json (its kernel writes there too, but
        is not the fork server's child)."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                ppid = stat.rsplit(")", 1)[1].split()[1]
                if b"grader.prefork" not in Path(f"/proc/{ppid}/cmdline").read_bytes():
                    continue
                log = os.readlink(f"/proc/{pid}/fd/1")
                if not Path(log).name.startswith("job-") or not log.endswith(".log"):
                    continue
                job = log[: -len(".log")] + ".json"
                key = (int(pid), job)
                if key not in self._students:
                    self._students[key] = json.loads(Path(job).read_text(encoding="utf-8"))["student"]
                status = Path(f"/proc/{pid}/status").read_text()
            except (OSError, ValueError, IndexError, KeyError):
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    kb = int(line.split()[1])
                    student = self._students[key]
                    self.peak_kb[student] = max(self.peak_kb.get(student, 0), kb)


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
    if prefix:
        out.append(f"[{prefix}]")
    out += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            out += ["", _toml(value, f"{prefix}.{key}" if prefix else key)]
    return "\n".join(out)


def _assignment_copy(root: Path, name: str) -> Path:
    dest = root / "assignment" / name
    shutil.copytree(REPO / "assignments" / name, dest)
    raw = tomllib.loads((dest / "assignment.toml").read_text(encoding="utf-8"))
    raw["limits"] = {**raw.get("limits", {}), **LIMITS.get(name, {})}
    raw["points"][PROBE] = 0
    (dest / "assignment.toml").write_text(_toml(raw) + "\n", encoding="utf-8")
    (dest / "tests" / "hidden" / "test_zz_probe.py").write_text(PROBE_SOURCE, encoding="utf-8")
    return dest


def _grade(assignment: Path, folder: Path, gradebook: Path, reports: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    out = subprocess.run(
        [
            sys.executable, "-m", "grader.cli", str(assignment), str(folder),
            "--profile", "smoke", "--workers", "2", "--seed", SEED,
            # cold workers: WorkerWatch names a worker's student from its job file (beside
            # the log its output goes to), which a warm worker only reads later (the same batch limits watch both;
            # tests/test_pool.py kills a warm worker over its memory limit)
            "--no-pool",
            "--gradebook", str(gradebook), "--reports", str(reports),
            "--data", str(REPO / ".grader" / "data"),
        ],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=3600,
    )
    assert out.returncode == 0, f"grade exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def _run_batch(root: Path, name: str) -> Batch:
    assignment = _assignment_copy(root, name)
    spec = load_assignment(assignment)
    subs = root / "submissions"
    subs.mkdir()
    shutil.copy(gen.SOLUTIONS / name / f"{name}.ipynb", subs / "solution.ipynb")
    for control in gen.CONTROLS:
        if control.assignment == name:
            (subs / f"{control.name}.ipynb").write_text(gen.render(gen.build_control(control)), encoding="utf-8")
    for attack in gen.ATTACKS:
        if attack.assignment == name:
            (subs / f"{attack.name}.ipynb").write_text(gen.render(gen.build(attack)), encoding="utf-8")
    alone = root / "alone"
    alone.mkdir()
    shutil.copy(gen.SOLUTIONS / name / f"{name}.ipynb", alone / "solution.ipynb")

    t0 = time.monotonic()
    with WorkerWatch() as watch:
        output = _grade(assignment, subs, root / "gradebook.sqlite", root / "reports")
    seconds = time.monotonic() - t0
    _grade(assignment, alone, root / "alone.sqlite", root / "reports-alone")
    with Gradebook(root / "gradebook.sqlite") as book:
        results = {r.student: r for r in book.latest(spec.name)}
    with Gradebook(root / "alone.sqlite") as book:
        (alone_result,) = book.latest(spec.name)
    batch = Batch(
        assignment=name,
        check_timeout_s=float(spec.limits.check_timeout_s),
        worker_rss_max_mb=float(getattr(spec.limits, "worker_memory_mb", 1024)) + WORKER_RSS_SLACK_MB,
        results=results,
        alone=alone_result,
        reports=root / "reports" / spec.name,
        rss_mb={k: v / 1024 for k, v in watch.peak_kb.items()},
        seconds=seconds,
        gradebook_bytes=sum(p.stat().st_size for p in root.glob("gradebook.sqlite*")),
        output=output,
    )
    for student, r in results.items():
        longest = max(r.checks, key=lambda c: c.seconds, default=None)
        batch.figures[student] = {
            "score": f"{r.score:g}/{r.max_score:g}",
            "worker_rss_mb": round(batch.rss_mb.get(student, float("nan")), 1),
            "longest_check": (longest.name, longest.seconds) if longest else ("", 0.0),
            "report_bytes": batch.page_bytes(student),
            "row_bytes": len(json.dumps(r.to_dict())),
            "seconds": r.seconds,
            "flags": list(r.flags),
            "error": r.error,
        }
    _print_figures(batch)
    dump = os.environ.get("HOSTILE_TRAINING_DUMP")  # a folder: keep every result for a person to read
    if dump:
        Path(dump).mkdir(parents=True, exist_ok=True)
        (Path(dump) / f"{name}.json").write_text(json.dumps(
            {"seconds": seconds, "gradebook_bytes": batch.gradebook_bytes, "figures": batch.figures,
             "results": {k: v.to_dict() for k, v in results.items()}, "alone": alone_result.to_dict()},
            ensure_ascii=False, indent=1), encoding="utf-8")
    return batch


def _print_figures(batch: Batch) -> None:
    print(f"\n{batch.assignment}: {len(batch.results)} notebooks in {batch.seconds:.0f} s "
          f"(smoke, 2 workers); gradebook {batch.gradebook_bytes / 1024:.0f} KB")
    print(f"  {'notebook':32} {'score':>9} {'rss MB':>7} {'report KB':>9} {'row KB':>7} {'s':>6}  longest check")
    for student, f in sorted(batch.figures.items()):
        name, secs = f["longest_check"]
        print(f"  {student:32} {f['score']:>9} {f['worker_rss_mb']:>7} {f['report_bytes'] / 1024:>9.1f} "
              f"{f['row_bytes'] / 1024:>7.1f} {f['seconds']:>6.1f}  {name} {secs:.1f} s"
              + (f"  FLAGS {len(f['flags'])}" if f["flags"] else "")
              + (f"  ERROR {f['error'][:100]}" if f["error"] else ""))
    figures = batch.figures.values()
    rss = [f["worker_rss_mb"] for f in figures if f["worker_rss_mb"] == f["worker_rss_mb"]]
    print(f"  largest: worker RSS {max(rss, default=0):.0f} MB, check "
          f"{max(f['longest_check'][1] for f in figures):.1f} s (limit {batch.check_timeout_s:g} s), report "
          f"{max(f['report_bytes'] for f in figures) / 1024:.0f} KB, result row "
          f"{max(f['row_bytes'] for f in figures) / 1024:.0f} KB")


class Batches:
    """One batch per assignment, graded on first use and kept for the session."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._done: dict[str, Batch] = {}

    def get(self, name: str) -> Batch:
        if name not in self._done:
            reason = sandbox.check_available()
            if reason:
                pytest.skip(f"hostile notebooks run only inside the sandbox, which is unavailable: {reason}")
            self._done[name] = _run_batch(self._factory.mktemp(f"hostile-training-{name}"), name)
        return self._done[name]


@pytest.fixture(scope="session")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Batches:
    return Batches(tmp_path_factory)


def _lost(r: SubmissionResult) -> list[tuple[str, str]]:
    return [(c.name, c.message[:300]) for c in r.checks if c.points < c.max_points]


# ------------------------------------------------------------------ every batch


@pytest.mark.slow
@pytest.mark.parametrize("name", gen.ASSIGNMENTS)
def test_batch_graded_and_reference_as_alone(batches: Batches, name: str) -> None:
    batch = batches.get(name)
    expected = {"solution"} | {c.name for c in gen.CONTROLS if c.assignment == name}
    expected |= {a.name for a in gen.ATTACKS if a.assignment == name}
    assert set(batch.results) == expected
    resource = {a.name for a in gen.ATTACKS if a.klass == 7}
    for student, r in batch.results.items():
        if student in resource and r.error is not None:  # stopped at one of the trusted side's limits
            assert "limit" in r.error or "stopped" in r.error, (student, r.error)
            continue
        assert r.error is None, f"{student} was not graded: {r.error}"
        assert r.sandboxed and r.synthetic_data
    alone, beside = batch.alone, batch.result("solution")
    assert alone.error is None and alone.score == alone.max_score > 0, _lost(alone)
    assert beside.score == alone.score and beside.max_score == alone.max_score, _lost(beside)
    assert [(c.name, c.status) for c in beside.checks] == [(c.name, c.status) for c in alone.checks]
    assert beside.flags == () and alone.flags == (), (beside.flags, alone.flags)


@pytest.mark.slow
@pytest.mark.parametrize("control", gen.CONTROLS, ids=lambda c: c.name)
def test_control_loses_points_for_its_mistake(batches: Batches, control: Any) -> None:
    """An honest mistake costs points, or the comparison with its attack proves nothing."""
    batch = batches.get(control.assignment)
    r = batch.result(control.name)
    if control.loses_in_smoke:
        assert r.score < batch.result("solution").score, f"{control.name} lost nothing: {_lost(r)}"
    assert r.flags == (), f"an honest control was flagged: {r.flags}"


# ------------------------------------------------------------------ each attack


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "score") for a in gen.ATTACKS])
def test_attack_scores_no_more_than_its_control(batches: Batches, attack: Any) -> None:
    batch = batches.get(attack.assignment)
    r, control = batch.result(attack.name), batch.control(attack)
    assert r.error is None or attack.klass == 7, f"{attack.name} was not graded: {r.error}"
    assert r.error is not None or r.max_score == control.max_score
    assert r.score <= control.score, (
        f"{attack.name} scored {r.score:g}, its control {control.score:g}",
        _lost(r),
        _lost(control),
    )
    if attack.forging:  # and no single check earns more than the honest version
        theirs = {c.name: c.points for c in control.checks}
        gained = [(c.name, theirs.get(c.name), c.points) for c in r.checks if c.points > theirs.get(c.name, 0.0)]
        assert not gained, f"{attack.name} earned more than its control in {gained}"


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "flag") for a in gen.ATTACKS if a.flagged])
def test_attack_is_flagged_for_review(batches: Batches, attack: Any) -> None:
    r = batches.get(attack.assignment).result(attack.name)
    assert r.flags, f"{attack.name} was not flagged for review; lost {_lost(r)}"


FINDINGS = {
    # what each attack must have managed inside its kernel (else its failure proves nothing)
    "patch_keras_evaluation": lambda f: "Model.evaluate" in f["patched"],
    "forged_fit_event": lambda f: f["trace_lists"] >= 1 and f["forged"] >= 1,
    "forged_evaluate_events": lambda f: f["trace_lists"] >= 1,
    "pre_run_cell_forger": lambda f: f["server_found"] and f["requests_seen"] == 0,  # silent requests
    "pre_execute_forger": lambda f: f["server_found"],
    # the grader's wrappers carry no __wrapped__: the attacks had to read a closure cell
    "to_categorical_unwrapped": lambda f: f["found_original"] and f["via"] == ["closure"],
    "untraced_fit_then_refit": lambda f: f["found_original"] and f["via"] == ["closure"],
    "slow_witness": lambda f: f["slow_handler"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FINDINGS))
def test_attack_did_what_it_meant(batches: Batches, name: str) -> None:
    batch = batches.get(gen.BY_NAME[name].assignment)
    found = batch.findings(name)
    print(f"{name}: {found}")
    assert found is not None, f"{name} left no findings: its cell did not run"
    assert FINDINGS[name](found), found


# ------------------------------------------------------------------ the resource attacks

RESOURCE_ATTACKS = [a for a in gen.ATTACKS if a.klass == 7]


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "report") for a in RESOURCE_ATTACKS])
def test_resource_attack_report_is_capped(batches: Batches, attack: Any) -> None:
    size = batches.get(attack.assignment).page_bytes(attack.name)
    assert size < REPORT_MAX_BYTES, f"{attack.name}: report of {size / 2**20:.1f} MB"


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "row") for a in RESOURCE_ATTACKS])
def test_resource_attack_result_row_is_capped(batches: Batches, attack: Any) -> None:
    size = len(json.dumps(batches.get(attack.assignment).result(attack.name).to_dict()))
    assert size < ROW_MAX_BYTES, f"{attack.name}: result row of {size / 2**20:.1f} MB"


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "check_time") for a in RESOURCE_ATTACKS])
def test_resource_attack_checks_keep_their_time_limit(batches: Batches, attack: Any) -> None:
    batch = batches.get(attack.assignment)
    longest = max(batch.result(attack.name).checks, key=lambda c: c.seconds, default=None)
    if longest is None:  # no check ran: the submission was stopped at a limit (see its error)
        return
    assert longest.seconds <= batch.check_timeout_s + CHECK_SLACK_S, (
        f"{attack.name}: {longest.name} took {longest.seconds:.1f} s; the check limit is {batch.check_timeout_s:g} s"
    )


@pytest.mark.slow
@pytest.mark.parametrize("attack", [_param(a, "worker_rss") for a in RESOURCE_ATTACKS])
def test_resource_attack_worker_memory_is_bounded(batches: Batches, attack: Any) -> None:
    batch = batches.get(attack.assignment)
    rss = batch.rss_mb.get(attack.name)
    assert rss is not None, f"{attack.name}: its worker was never seen"
    assert rss < batch.worker_rss_max_mb, (
        f"{attack.name}: the worker peaked at {rss:.0f} MB (cap {batch.worker_rss_max_mb:.0f} MB)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", gen.ASSIGNMENTS)
def test_honest_notebooks_stay_within_the_caps(batches: Batches, name: str) -> None:
    """The caps hold for everything that is not a resource attack (a sanity check of the caps)."""
    batch = batches.get(name)
    resource = {a.name for a in RESOURCE_ATTACKS}
    for student, f in batch.figures.items():
        if student in resource:
            continue
        assert f["report_bytes"] < REPORT_MAX_BYTES and f["row_bytes"] < ROW_MAX_BYTES, (student, f)
        assert f["longest_check"][1] <= batch.check_timeout_s + CHECK_SLACK_S, (student, f)
        assert not f["worker_rss_mb"] >= batch.worker_rss_max_mb, (student, f)
