"""The pytest plugin shared by the grader and a student's own `pytest`.

It gives tests their fixtures (`nb`, `data`, `rng`, `credit`, `profile`, `pictures`) and records
each test's outcome with partial credit. In the grader, the fixtures are backed by a
`CheckContext` the grader registers; in a student bundle, by a local kernel (see
grader.selfcheck). In any other pytest session (this project's own tests) it stays
out of the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .i18n import Msg, from_author, join, message_of, msg

CONTEXT_KEY = pytest.StashKey["CheckContext"]()
STUDENT_KEY = pytest.StashKey[bool]()  # set when this session is a student self-check

BUNDLE_FILE = "grader-bundle.toml"  # a student bundle's file (see grader.selfcheck)
INI_KEY = "grader_bundle"  # the pytest ini key naming it
PROFILE_CHOICES = ("full", "fast", "smoke")  # = grader.spec.PROFILES


@dataclass
class Credit:
    """Partial credit within one test: each `check` is one equally weighted part.
    `message` may be given in both languages, {"ko": ..., "en": ...} (or a
    grader.i18n.msg); the report shows the one it is rendered in."""

    parts: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, message: str | Mapping[str, str]) -> bool:
        self.parts.append((bool(ok), from_author(message)))
        return bool(ok)

    @property
    def fraction(self) -> float:
        if not self.parts:
            return 1.0
        return sum(ok for ok, _ in self.parts) / len(self.parts)

    @property
    def failures(self) -> list[str]:
        return [msg for ok, msg in self.parts if not ok]


@dataclass
class Outcome:
    name: str
    status: str  # passed | partial | failed | skipped
    fraction: float
    message: str
    seconds: float
    basis: str = ""  # "trusted" | "testimony" | "": see grader.results.CheckResult
    missing: str = ""  # the notebook name whose absence failed the check (grader.leads)


@dataclass
class CheckContext:
    """What the fixtures hand out; filled by the grader or the self-check."""

    notebook: Any  # grader.witness.Notebook
    profile: str
    seed: int
    data: Any  # object with .load(name)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # evidence of tampering, for a person to review
    # Deadlines (grader.deadline): each check gets `check_timeout_s` from its start for
    # all it asks and computes; all checks together end at `checks_deadline` (monotonic,
    # `checks_timeout_s` after the first). None: no deadline (set by grader.checks).
    check_timeout_s: float | None = None
    checks_timeout_s: float | None = None
    checks_deadline: float | None = None
    # How the notebook ran (grader.leads.RunFacts), so that a check failing on a
    # missing name can point at the cell that should have defined it; grader only.
    run_facts: Any = None
    leads_first: dict[str, str] = field(default_factory=dict)  # the student's pytest: name -> first check
    # what the checks asked to show (grader.pictures.Sketchbook); drawn after the checks
    sketches: list[Any] = field(default_factory=list)

    def flag(self, reason: str) -> None:
        if reason not in self.flags and len(self.flags) < 50:
            self.flags.append(reason[:1000])


def _option_taken(parser: pytest.Parser, name: str) -> bool:
    """Whether another plugin already registered the command-line option `name`."""
    try:
        groups = [parser._anonymous, *parser._groups]  # noqa: SLF001 - no public way to ask
        return any(name in opt.names() for g in groups for opt in g.options)
    except AttributeError:
        return False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_KEY, help="student bundle: its grader-bundle.toml (set by `grade release`)", default="")
    group = parser.getgroup("grader", "grader self-check (in a student bundle made by `grade release`)")
    # --grader-profile / --grader-notebook always; the short names unless another plugin has them.
    for short, long, kwargs in (
        (
            "--profile",
            "--grader-profile",
            dict(
                dest="grader_profile",
                choices=PROFILE_CHOICES,
                default=None,
                help="profile to run your notebook in: full, fast or smoke (default: the bundle's)",
            ),
        ),
        (
            "--notebook",
            "--grader-notebook",
            dict(
                dest="grader_notebook",
                default=None,
                metavar="PATH",
                help="check this notebook instead of the one named in grader-bundle.toml",
            ),
        ),
        (
            "--lang",
            "--grader-lang",
            dict(
                dest="grader_lang",
                choices=("ko", "en"),
                default=None,
                help="language of the grader's lines: ko (한국어) or en (default: the bundle's)",
            ),
        ),
    ):
        names = [long] if _option_taken(parser, short) else [short, long]
        group.addoption(*names, **kwargs)


def _bundle_file(config: pytest.Config) -> Path | None:
    """The bundle's grader-bundle.toml when pytest runs in a student bundle, else None."""
    try:
        value = str(config.getini(INI_KEY) or "").strip()
    except ValueError:
        value = ""
    if value:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return base / value
    candidate = config.rootpath / BUNDLE_FILE
    return candidate if candidate.is_file() else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "profiles(*names): the profiles (full, fast, smoke) this check is valid in")
    if config.stash.get(CONTEXT_KEY, None) is not None:
        return  # the grader injected its context
    bundle = _bundle_file(config)
    if bundle is None:
        return  # an ordinary pytest session: stay out of the way
    from .selfcheck import SelfCheck

    config.stash[STUDENT_KEY] = True
    config.pluginmanager.register(SelfCheck(config, bundle), "grader-selfcheck")


def _context(request: pytest.FixtureRequest) -> CheckContext:
    ctx = request.config.stash.get(CONTEXT_KEY, None)
    if ctx is None:
        pytest.skip("no notebook: this test needs the grader's `nb` fixture (run it from a student bundle)")
    return ctx


@pytest.fixture
def nb(request: pytest.FixtureRequest) -> Any:
    return _context(request).notebook


@pytest.fixture
def data(request: pytest.FixtureRequest) -> Any:
    return _context(request).data


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> str:
    return _context(request).profile


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    ctx = _context(request)
    # One stream per test, derived from the run's seed: random per run, reproducible
    # from the seed the gradebook records.
    return np.random.default_rng([ctx.seed, *request.node.name.encode()])


@pytest.fixture
def credit() -> Credit:
    return Credit()


@pytest.fixture
def pictures(request: pytest.FixtureRequest) -> Any:
    """A grader.pictures.Sketchbook: what this check asks to show on the report, drawn
    after all the checks (it never changes a score). Outside the grader it keeps nothing."""
    from .pictures import Sketchbook

    ctx = request.config.stash.get(CONTEXT_KEY, None)
    return Sketchbook(ctx.sketches if ctx is not None else None, request.node.name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ctx = config.stash.get(CONTEXT_KEY, None)
    if ctx is None:
        return
    for item in items:
        marker = item.get_closest_marker("profiles")
        if marker is not None and ctx.profile not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"not graded in the {ctx.profile} profile"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Run the test function under its check's deadline (see grader.deadline)."""
    ctx = item.config.stash.get(CONTEXT_KEY, None)
    if ctx is None or (ctx.check_timeout_s is None and ctx.checks_deadline is None):
        return (yield)
    from . import deadline

    with deadline.check(ctx.check_timeout_s, until=ctx.checks_deadline, total_s=ctx.checks_timeout_s):
        return (yield)


def _message(exc: BaseException) -> str:
    from .errors import CheckFailure

    text = message_of(exc)  # keeps the Korean of a Msg or {"ko", "en"} argument
    if isinstance(exc, CheckFailure):
        return text.strip() if not isinstance(text, Msg) else text
    if isinstance(exc, AssertionError):
        # Only the author's message: never the test's source or its expected values.
        if isinstance(text, Msg):
            return Msg(str(text).split("\nassert ")[0].strip(), text.ko.split("\nassert ")[0].strip())
        return text.strip().split("\nassert ")[0].strip() or msg("this check failed", "이 검사를 통과하지 못했습니다")
    detail = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
    return msg(
        f"the check could not use your notebook's value ({detail})",
        f"검사가 노트북의 값을 사용할 수 없었습니다 ({detail})",
    )


def _skip_reason(exc: BaseException) -> str:
    """pytest.skip's reason, with its Korean when it was given a Msg."""
    reason = getattr(exc, "msg", None)
    return reason if isinstance(reason, Msg) else str(exc)


def _missing(exc: BaseException) -> str:
    from .errors import MissingName

    return exc.name if isinstance(exc, MissingName) else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    ctx = item.config.stash.get(CONTEXT_KEY, None)
    if ctx is None:
        return report
    name = item.name
    basis: set[str] = getattr(ctx.notebook, "basis", set())
    if report.when == "setup":
        basis.clear()
    if report.when == "setup" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        ctx.outcomes[name] = Outcome(name, "skipped", 0.0, str(reason).removeprefix("Skipped: "), 0.0)
    elif report.when == "setup" and report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        ctx.outcomes[name] = Outcome(name, "failed", 0.0, _message(exc), call.duration, missing=_missing(exc))
    elif report.when == "call":
        if call.excinfo is not None:
            if call.excinfo.errisinstance(pytest.skip.Exception):
                ctx.outcomes[name] = Outcome(name, "skipped", 0.0, _skip_reason(call.excinfo.value), call.duration)
            else:
                exc = call.excinfo.value
                ctx.outcomes[name] = Outcome(name, "failed", 0.0, _message(exc), call.duration, missing=_missing(exc))
        else:
            credit = item.funcargs.get("credit") if hasattr(item, "funcargs") else None
            fraction = credit.fraction if isinstance(credit, Credit) else 1.0
            # one line per lost part: the report keeps line breaks (pre-wrap)
            message = join(credit.failures) if isinstance(credit, Credit) else ""
            status = "passed" if fraction >= 1.0 else ("partial" if fraction > 0 else "failed")
            ctx.outcomes[name] = Outcome(name, status, fraction, message, call.duration)
            if status != "passed" and report.outcome == "passed":
                # A student running pytest should see partial credit as a failure.
                report.outcome = "failed"
                report.longrepr = f"partial credit {fraction:.0%}: {message}"
    if report.when == "call" and name in ctx.outcomes:
        ctx.outcomes[name].basis = "trusted" if "trusted" in basis else ("testimony" if "testimony" in basis else "")
    if (
        report.failed
        and call.excinfo is not None
        and item.config.stash.get(STUDENT_KEY, False)
        and item.config.option.tbstyle == "auto"
    ):
        # The student sees the message the grader's report would show, not a traceback
        # through the grader's internals (--tb=long shows it all); a missing name leads to
        # the cell that should have set it, once, as on the report (grader.leads).
        outcome = ctx.outcomes.get(name)
        if outcome is not None and outcome.missing and ctx.run_facts is not None:
            from .leads import lead

            lead(name, outcome, ctx.run_facts, ctx.leads_first)
            report.longrepr = outcome.message
        else:
            report.longrepr = _message(call.excinfo.value)
    return report
