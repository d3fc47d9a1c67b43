"""The trusted side under limits (issue 8, attack class 7): one deadline per check for
all its requests and its own computation, one for all checks of a submission, the
grader's worker in memory and CPU limits of its own, and caps on what a result row and
a report may hold. Fast: fake channels and fake workers, no kernel."""

from __future__ import annotations

import os
import secrets
import signal
import textwrap
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader import deadline
from grader.checks import run_pytest
from grader.errors import CheckTimeout, SpecError
from grader.pytest_plugin import CheckContext
from grader.spec import Limits
from grader.witness import Notebook


class SlowChannel:
    """A witness that answers each request just under its time limit (or times out,
    honouring the limit it is given, as the real channel does)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.timeouts: list[float | None] = []
        self.interrupted = False

    def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        self.timeouts.append(timeout)
        limit = 5.0 if timeout is None else timeout
        wait = min(self.delay, limit)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                time.sleep(0.01)
            except CheckTimeout:  # the check's timer must not cut a request half-way
                self.interrupted = True
                raise
        if self.delay > limit:
            raise CheckTimeout(f"your code did not finish within the check's time limit of {limit:g} s")
        return {"ok": True, "value": 1}


def _checks(tmp_path: Path, source: str, channel: Any, **ctx_fields: Any) -> CheckContext:
    # a module name of its own: pytest.main runs in this process, where an earlier
    # case's module of the same name would still be imported
    path = tmp_path / f"test_case_{secrets.token_hex(4)}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    nb = Notebook(channel, nbformat.v4.new_notebook())
    ctx = CheckContext(notebook=nb, profile="smoke", seed=1, data=None, **ctx_fields)
    run_pytest([path], tmp_path, ctx)
    return ctx


def test_one_deadline_covers_all_requests_of_a_check(tmp_path: Path) -> None:
    channel = SlowChannel(delay=0.25)  # each answer just under a 0.3 s request limit
    started = time.monotonic()
    ctx = _checks(
        tmp_path,
        """
        def test_five_requests(nb):
            for _ in range(5):
                nb.get("x")

        def test_next(nb):
            assert nb.get("x") == 1
        """,
        channel,
        check_timeout_s=0.6,
    )
    seconds = time.monotonic() - started
    first = ctx.outcomes["test_five_requests"]
    assert first.status == "failed"
    assert "time limit of 0.6 s" in first.message
    assert first.seconds < 1.0, "five requests of 0.25 s each took longer than the check's limit"
    assert ctx.outcomes["test_next"].status == "passed"  # the next check has its own deadline
    asked = [t for t in channel.timeouts[:3] if t is not None]
    assert len(asked) == 3 and asked[0] <= 0.6 and asked[2] < 0.15  # min(requested, time left)
    assert not channel.interrupted
    assert seconds < 5


def test_the_checks_own_computation_is_stopped_at_its_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "AGAIN_S", 0.1)
    ctx = _checks(
        tmp_path,
        """
        import time

        def test_spins(nb):
            while True:
                pass

        def test_swallows_it_once(nb):
            try:
                while True:
                    time.sleep(0.01)
            except Exception:
                pass
            while True:
                pass

        def test_fine(nb):
            assert nb.get("x") == 1
        """,
        SlowChannel(delay=0.0),
        check_timeout_s=0.3,
    )
    for name in ("test_spins", "test_swallows_it_once"):
        outcome = ctx.outcomes[name]
        assert outcome.status == "failed" and "time limit of 0.3 s" in outcome.message, outcome
        assert outcome.seconds < 1.0
    assert ctx.outcomes["test_fine"].status == "passed"


def test_the_submission_deadline_fails_the_remaining_checks_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    ctx = _checks(
        tmp_path,
        """
        def test_a(nb):
            while True:
                nb.get("x")

        def test_b(nb):
            nb.get("x")

        def test_c(nb):
            pass
        """,
        SlowChannel(delay=0.05),
        check_timeout_s=30.0,
        checks_timeout_s=0.6,
        checks_deadline=time.monotonic() + 0.6,
    )
    assert time.monotonic() - started < 3
    a, b, c = (ctx.outcomes[n] for n in ("test_a", "test_b", "test_c"))
    assert a.status == "failed" and "checks of this submission used up their time limit of 0.6 s" in a.message
    for later in (b, c):
        assert later.status == "failed" and later.message.startswith("not run: the checks of this submission")


def test_the_timer_is_given_back_as_it_was() -> None:
    fired: list[int] = []

    def mine(signum: int, frame: Any) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with deadline.check(5.0):
            assert deadline.active() and 4 < (deadline.left() or 0) <= 5
            assert signal.getsignal(signal.SIGALRM) is not mine
        assert signal.getsignal(signal.SIGALRM) is mine
        assert not deadline.active() and deadline.cap(7.0) == 7.0
        time.sleep(0.45)
        assert fired == [signal.SIGALRM]  # the outer timer still fired, about when it should
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_paused_work_does_not_count_against_the_check_but_against_the_submission() -> None:
    now = time.monotonic()
    with deadline.check(0.15):
        with deadline.paused():
            time.sleep(0.2)  # a helper process starting: no CheckTimeout here
        assert (deadline.left() or 0) > 0.1
    with deadline.check(5.0, until=now + 0.6, total_s=0.6):
        with deadline.paused():
            time.sleep(0.15)
        assert (deadline.left() or 0) < 0.45  # never past the submission's deadline
    started = time.monotonic()
    with pytest.raises(CheckTimeout), deadline.check(0.1):
        with deadline.shielded():
            time.sleep(0.2)  # shielded: the timer waits...
        time.sleep(1.0)  # ...and fires right after
    assert time.monotonic() - started < 0.6


def test_limits_of_the_trusted_side_are_validated(tmp_path: Path) -> None:
    from grader.spec import load_assignment

    src = Path(__file__).resolve().parent.parent / "assignments" / "conv2d_simple"
    assert Limits().checks_timeout_s == 300 and Limits().worker_memory_mb == 2048
    dest = tmp_path / "conv2d_simple"
    import shutil

    shutil.copytree(src, dest)
    toml = dest / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    if "[limits]" not in text:
        text += "\n[limits]\n"
    for bad, match in (
        ("checks_timeout_s = -1", "positive"),
        ("worker_memory_mb = 100", "at least 512"),
        ("worker_cpu_s = 'lots'", "must be"),
    ):
        toml.write_text(text.replace("[limits]", f"[limits]\n{bad}"))
        with pytest.raises(SpecError, match=match):
            load_assignment(dest)
    toml.write_text(text.replace("[limits]", "[limits]\nchecks_timeout_s = 90\nworker_memory_mb = 3072"))
    limits = load_assignment(dest).limits
    assert limits.checks_timeout_s == 90 and limits.worker_memory_mb == 3072


# --- caps on what one result row and one report may hold ---------------------------------


def _result(**kw: Any) -> Any:
    from grader.results import CheckResult, SubmissionResult

    base: dict[str, Any] = dict(
        student="mallory",
        assignment="conv2d_simple",
        assignment_version="1",
        spec_digest="s",
        submission_digest="d",
        profile="smoke",
        sandboxed=True,
        score=0.0,
        max_score=2.0,
        checks=(CheckResult("test_a", False, 0.0, 2.0, "failed", "x" * 100_000),),
    )
    base.update(kw)
    return SubmissionResult(**base)


def test_five_thousand_answer_markers_make_a_small_row_and_a_capped_page() -> None:
    import json

    from grader import answers, results
    from grader.report import MAX_REPORT_BYTES, ReportContext, render_student
    from grader.results import Answer, CellIssue, SubmissionResult

    cells = [nbformat.v4.new_markdown_cell(f"<!-- answer:a{i} -->\n" + "<내 답> & " * 400) for i in range(5000)]
    nb = nbformat.v4.new_notebook(cells=cells)
    found = answers.marked(nb)  # every marker, unclipped: the worst a grade step could record
    assert len(found) == 5000 and sum(len(t) for t in found.values()) > 15_000_000
    result = _result(
        answers=tuple(Answer(k, v + "&" * 30_000) for k, v in found.items()),  # "&amp;": 5 bytes each on the page
        events=tuple(f"event {i} " + "&" * 10_000 for i in range(500)),
        cell_issues=tuple(CellIssue(i, "error", "E" * 500, "&" * 50_000) for i in range(1000)),
        flags=tuple("&" * 5000 for _ in range(200)),
        error=None,
        extra={"blob": "b" * 1_000_000},
    )
    row = json.dumps(result.to_dict(), ensure_ascii=False)
    assert len(row.encode("utf-8")) < 1_500_000, len(row)
    assert len(result.answers) == results.MAX_ANSWERS
    assert all(len(a.text) <= results.MAX_ANSWER_CHARS for a in result.answers)
    assert len(result.checks[0].message) <= results.MAX_MESSAGE_CHARS
    assert "clipped" in result.checks[0].message
    assert len(result.events) == results.MAX_EVENTS
    assert any("4984 more answer(s) were not stored" in e for e in result.events)
    assert any("900 more cell error(s)" in e for e in result.events)
    assert "clipped" in result.extra
    again = SubmissionResult.from_dict(json.loads(row))
    assert again == result  # clipping twice changes nothing (rows read back from the gradebook)

    ctx = ReportContext(
        assignment="conv2d_simple",
        title="t",
        version="1",
        profile="smoke",
        test_order=["test_a"],
        hidden=set(),
        points={"test_a": 2.0},
    )
    page = render_student(result, ctx)
    size = len(page.encode("utf-8"))
    assert size <= MAX_REPORT_BYTES
    assert "This page was cut at its size limit of 2 MB" in page
    before = page[: page.index('<p class="clipped"')]
    assert before.rfind("<") < before.rfind(">")  # not cut inside a tag


def test_a_page_under_the_cap_is_left_alone() -> None:
    from grader.report import cap_page

    page = "<html><body><main><p>é</p></main></body></html>"
    assert cap_page(page) == page
    cut = cap_page("<p>" + "é" * 600 + "</p><div class='x'>" + "a" * 600, limit=1000)
    assert len(cut.encode("utf-8")) <= 1000 and "cut at its size limit" in cut
    assert "<div class" not in cut or cut.index("<div class") < cut.index('<p class="clipped"')


# --- the grader's worker in limits of its own ----------------------------------------------


def _batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, students: list[str], **limits: Any) -> dict[str, Any]:
    import dataclasses

    from grader import batch
    from grader.job import GradeOptions
    from grader.spec import load_assignment
    from grader.submissions import Submission

    tests = str(Path(__file__).resolve().parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(batch, "FORKED_WORKER", "fork_targets:over_limits")
    assignment = load_assignment(Path(__file__).resolve().parent.parent / "assignments" / "conv2d_simple")
    small = Limits()
    for key, value in limits.items():
        object.__setattr__(small, key, value)  # under the spec's minimum, for a quick test
    assignment = dataclasses.replace(assignment, limits=small)
    gopts = GradeOptions(profile="smoke", sandboxed=False, seed=1, data_root=tmp_path)
    opts = batch.RunOptions(
        profile="smoke",
        sandboxed=False,
        workers=len(students),
        regrade=False,
        gradebook=tmp_path / "gb.sqlite",
        data_root=tmp_path,
        reports_dir=tmp_path / "reports",
    )
    todo = [Submission(s, tmp_path / f"{s}.ipynb", digest=s) for s in students]
    said: list[str] = []
    return {r.student: r for r in batch._schedule(assignment, todo, gopts, opts, said.append)}  # noqa: SLF001


def test_a_worker_over_its_memory_or_cpu_limit_is_one_submissions_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import proctree

    started = time.monotonic()
    results = _batch(tmp_path, monkeypatch, ["hog", "spin", "crash", "child"], worker_memory_mb=200, worker_cpu_s=1.0)
    assert time.monotonic() - started < 20
    assert "over 200 MB of memory (worker_memory_mb)" in (results["hog"].error or "")
    assert "over 1 s of CPU time (worker_cpu_s)" in (results["spin"].error or "")
    assert "killed by SIGSEGV" in (results["crash"].error or "")
    assert "over 200 MB" in (results["child"].error or "")
    assert all(r.score == 0 for r in results.values())
    orphans = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and b"grader-limits-orphan" in _cmdline(p) and proctree.alive(int(p.name))
    ]
    assert not orphans, "a process the worker started outlived it"


def _cmdline(p: Path) -> bytes:
    try:
        return (p / "cmdline").read_bytes()
    except OSError:
        return b""


def test_usage_counts_the_process_itself() -> None:
    from grader.worker import over_limits, usage

    now = usage(os.getpid())
    assert now is not None and now[0] > 10 and now[1] >= 0
    assert over_limits(os.getpid(), 1e6, 1e6) is None
    assert "memory" in (over_limits(os.getpid(), 1, 1e6) or "")
    assert usage(2**22 + 12345) is None


# --- end to end: a witness that answers each request just under the limit -------------------


@pytest.mark.slow
def test_a_slow_witness_cannot_stretch_a_check_or_the_submission(tmp_path: Path) -> None:
    """The conv2d_simple solution whose function sleeps 2.5 s per call, under a 3 s check
    limit: a check of several calls used to take one limit per call (75 s under 30 s
    here before); now each check ends within its limit and all checks within theirs."""
    import shutil

    from grader import sandbox
    from grader.grade import grade_submission
    from grader.job import GradeOptions
    from grader.spec import load_assignment
    from grader.submissions import read_submission

    repo = Path(__file__).resolve().parent.parent
    dest = tmp_path / "conv2d_simple"
    shutil.copytree(repo / "assignments" / "conv2d_simple", dest)
    toml = dest / "assignment.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + "\n[limits]\ncheck_timeout_s = 3\nchecks_timeout_s = 20\n", encoding="utf-8"
    )
    assignment = load_assignment(dest)
    nb = nbformat.read(repo / "solutions" / "conv2d_simple" / "conv2d_simple.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import time as _t\n_real = conv2d_simple\n"
            "def conv2d_simple(*a, **k):\n    _t.sleep(2.5)\n    return _real(*a, **k)\n"
        )
    )
    path = tmp_path / "slow.ipynb"
    nbformat.write(nb, path)
    sub = read_submission("slow", path, assignment.notebook)
    opts = GradeOptions(
        profile="smoke",
        sandboxed=sandbox.check_available() is None,
        seed=3,
        data_root=repo / ".grader" / "data",
    )
    started = time.monotonic()
    result = grade_submission(assignment, sub, opts)
    seconds = time.monotonic() - started
    assert result.error is None, result.error
    timed_out = [c for c in result.checks if "time limit" in c.message]
    assert timed_out, [(c.name, c.message) for c in result.checks]
    # each check: its 3 s, plus the interrupt that brings the kernel back after a time-out
    assert max(c.seconds for c in result.checks) < 3 + 2.5, [(c.name, c.seconds) for c in result.checks]
    assert sum(c.seconds for c in result.checks) < 20 + 3 + 2.5
    assert seconds < 120
