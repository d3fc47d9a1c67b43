"""Run an assignment's tests on the trusted side against one executed notebook."""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from . import leads, pytest_plugin
from .i18n import korean, msg
from .pytest_plugin import CONTEXT_KEY, CheckContext, Outcome
from .results import CheckResult
from .spec import Assignment


class _Inject:
    """Registers the context before collection so fixtures and hooks can see it."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT_KEY] = self.ctx


def run_pytest(files: list[Path], rootdir: Path, ctx: CheckContext) -> tuple[int, str]:
    """pytest.main over `files` with only our plugin loaded; returns (exit code, log)."""
    args = [
        *[str(f) for f in files],
        "-q",
        "--rootdir",
        str(rootdir),
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        # its end-of-session gc.collect() twice: 80 ms of CPU per submission, for warnings
        # about unraisable exceptions that no check's outcome depends on
        "-p",
        "no:unraisableexception",
        "--assert=plain",
        "-o",
        "addopts=",
        "-o",
        "python_files=test_*.py",
        "-W",
        "ignore::DeprecationWarning",
        "-c",
        os.devnull,
    ]
    plugins: list[Any] = [_Inject(ctx), pytest_plugin]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no third-party plugin may interfere
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            code = pytest.main(args, plugins=plugins)
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    return int(code), log.getvalue()


def run_checks(assignment: Assignment, ctx: CheckContext, include_hidden: bool = True) -> tuple[list[CheckResult], str]:
    """Run the checks under the assignment's deadlines: `check_timeout_s` for each check
    (all its requests and its own computation), `checks_timeout_s` for all of them."""
    limits = assignment.limits
    if ctx.check_timeout_s is None:
        ctx.check_timeout_s = limits.check_timeout_s
    if ctx.checks_deadline is None:
        ctx.checks_timeout_s = limits.checks_timeout_s
        ctx.checks_deadline = time.monotonic() + limits.checks_timeout_s
    files = [tf.path for tf in assignment.test_files if include_hidden or not tf.hidden]
    _, log = run_pytest(files, assignment.root, ctx)
    if ctx.run_facts is not None:
        order = [name for tf in assignment.test_files if include_hidden or not tf.hidden for name in tf.tests]
        leads.rewrite(ctx.outcomes, order, ctx.run_facts)
    return score(assignment, ctx.outcomes, include_hidden), log


# a check pytest never ran (its file did not import); selfcheck matches the English
NOT_RUN = msg(
    "this check did not run (collection error)",
    "이 검사는 실행되지 않았습니다 (테스트 파일을 불러오지 못함)",
)


def score(assignment: Assignment, outcomes: dict[str, Outcome], include_hidden: bool = True) -> list[CheckResult]:
    results = []
    for tf in assignment.test_files:
        if tf.hidden and not include_hidden:
            continue
        for name in tf.tests:
            pts = assignment.points[name]
            o = outcomes.get(name)
            if o is None:
                results.append(CheckResult(name, tf.hidden, 0.0, pts, "failed", NOT_RUN, message_ko=korean(NOT_RUN)))
                continue
            if o.status == "skipped":
                skipped = CheckResult(name, tf.hidden, 0.0, 0.0, "skipped", o.message, o.seconds)
                results.append(replace(skipped, message_ko=korean(o.message)))
                continue
            results.append(
                CheckResult(
                    name,
                    tf.hidden,
                    round(pts * o.fraction, 4),
                    pts,
                    o.status,
                    o.message,
                    round(o.seconds, 3),
                    o.basis,
                    message_ko=korean(o.message),
                )
            )
    return results
