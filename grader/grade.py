"""Grade one submission: execute it in its kernel, run the checks against it, score.

Runs inside a worker process (see grader.worker); everything it returns is plain data.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import scratch
from .checks import run_checks
from .errors import CheckError, GraderError
from .evaluator import Evaluator
from .execute import KernelSession
from .pytest_plugin import CheckContext
from .results import Answer, CellIssue, SubmissionResult
from .source import grader_mentions
from .spec import Assignment
from .submissions import Submission
from .trusted import Trusted
from .witness import Notebook, answers


@dataclass(frozen=True)
class GradeOptions:
    profile: str
    sandboxed: bool
    seed: int
    data_root: Path
    include_hidden: bool = True


class _Data:
    """The `data` fixture: the same arrays the kernel was served."""

    def __init__(self, store, profile) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self._profile = profile
        self._cache: dict[str, object] = {}

    def load(self, name: str):  # type: ignore[no-untyped-def]
        if name not in self._cache:
            self._cache[name] = self._store.arrays(name, self._profile)
        return self._cache[name]


def error_result(assignment: Assignment, sub: Submission, opts: GradeOptions, reason: str) -> SubmissionResult:
    return SubmissionResult(
        student=sub.student,
        assignment=assignment.name,
        assignment_version=assignment.version,
        spec_digest=assignment.digest,
        submission_digest=sub.digest or "unreadable",
        profile=opts.profile,
        sandboxed=opts.sandboxed,
        score=0.0,
        max_score=assignment.max_points,
        error=reason,
        synthetic_data=assignment.profiles[opts.profile].synthetic,
        seed=opts.seed,
        source_name=sub.source.name,
    )


def grade_submission(assignment: Assignment, sub: Submission, opts: GradeOptions) -> SubmissionResult:
    if not sub.ok or sub.notebook is None:
        return error_result(assignment, sub, opts, sub.error or "unreadable submission")
    from .datastore import DataStore

    logging.getLogger("traitlets").setLevel(logging.CRITICAL)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    started = time.monotonic()
    profile = assignment.profiles[opts.profile]
    store = DataStore(opts.data_root)
    allowed = {
        name: data for name, data in sub.files.items() if any(Path(name).match(p) for p in assignment.allowed_files)
    }
    stage_dir = scratch.make("data")
    try:
        data_dir = store.stage(list(assignment.datasets), profile, stage_dir) if assignment.datasets else None
        nb = copy.deepcopy(sub.notebook)
        try:
            with KernelSession(
                limits=assignment.limits,
                profile=profile,
                data_dir=data_dir,
                files=allowed,
                sandboxed=opts.sandboxed,
                seed=opts.seed,
            ) as session:
                execution = session.run_notebook(nb)
                handle = Notebook(session, nb)
                ctx = CheckContext(notebook=handle, profile=profile.name, seed=opts.seed, data=_Data(store, profile))
                # Started on the first trusted measure, one per submission, gone with it.
                with Evaluator(data_dir=data_dir, limits=assignment.limits, sandboxed=opts.sandboxed) as evaluator:
                    handle.trusted = Trusted(
                        handle, evaluator, ctx.data, list(assignment.datasets), ctx.flag, handle.basis.add
                    )
                    checks, _log = run_checks(assignment, ctx, include_hidden=opts.include_hidden)
                flags = list(ctx.flags) + _integrity_flags(handle)
            events = list(session.events)  # after exit: it counts processes left behind
            flags += [
                f"cell {cell} names {name}, the grader's own kernel-side code"
                for cell, name in grader_mentions(sub.notebook)
            ]
        except GraderError as exc:
            return error_result(assignment, sub, opts, f"could not be run: {exc}")
        except AssertionError as exc:  # KernelGone at start-up
            return error_result(assignment, sub, opts, f"could not be run: {exc}")
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)

    issues = tuple(CellIssue(c.index + 1, c.status, c.ename, c.evalue) for c in execution.cells if c.status != "ok")
    score = round(sum(c.points for c in checks), 4)
    max_score = round(sum(c.max_points for c in checks), 4)
    return SubmissionResult(
        student=sub.student,
        assignment=assignment.name,
        assignment_version=assignment.version,
        spec_digest=assignment.digest,
        submission_digest=sub.digest,
        profile=opts.profile,
        sandboxed=opts.sandboxed,
        score=score,
        max_score=max_score,
        checks=tuple(checks),
        cell_issues=issues,
        events=tuple(events),
        answers=tuple(Answer(k, v) for k, v in answers(nb).items()),
        synthetic_data=profile.synthetic,
        seed=opts.seed,
        seconds=round(time.monotonic() - started, 3),
        execute_seconds=round(execution.seconds, 3),
        source_name=sub.source.name,
        flags=tuple(flags),
    )


def _integrity_flags(handle: Notebook) -> list[str]:
    """The grader's Keras wrappers that the notebook replaced: evidence for a person."""
    try:
        replaced = handle.integrity()
    except CheckError:
        return []  # the kernel is gone or would not say; the checks already report that
    if not replaced:
        return []
    return [f"the notebook replaced what the grader watches in Keras: {', '.join(replaced[:10])}"]
