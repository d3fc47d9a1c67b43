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
from typing import Any

from . import scratch
from .checks import run_checks
from .errors import CheckError, CheckFailure, GraderError
from .evaluator import Evaluator
from .execute import KernelSession
from .pytest_plugin import CheckContext
from .results import Answer, CellIssue, SubmissionResult, first_line
from .source import grader_mentions
from .spec import Assignment, Profile
from .submissions import Submission
from .trusted import Trusted, weights_problem
from .witness import Notebook, answers


@dataclass(frozen=True)
class GradeOptions:
    profile: str
    sandboxed: bool
    seed: int
    data_root: Path
    include_hidden: bool = True
    kernel_python: str | None = None  # the kernels' interpreter (--kernel-python); None: the grader's own


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
                python=opts.kernel_python,
            ) as session:
                # One per submission, gone with it. Where the checks measure models, it
                # starts now and imports Keras while the notebook runs; else on first use.
                with Evaluator(data_dir=data_dir, limits=assignment.limits, sandboxed=opts.sandboxed) as evaluator:
                    if assignment.measures_models:
                        evaluator.start()
                    execution = session.run_notebook(nb)
                    handle = Notebook(session, nb)
                    ctx = CheckContext(
                        notebook=handle, profile=profile.name, seed=opts.seed, data=_Data(store, profile)
                    )
                    handle.on_tamper = ctx.flag
                    handle.trusted = Trusted(
                        handle, evaluator, ctx.data, list(assignment.datasets), ctx.flag, handle.basis.add
                    )
                    checks, _log = run_checks(assignment, ctx, include_hidden=opts.include_hidden)
                flags = list(ctx.flags) + _integrity_flags(handle)
                epoch_notes = _epoch_notes(handle, profile)
            events = list(session.events)  # after exit: it counts processes left behind
            flags += [
                f"cell {cell} names {name}, the grader's own kernel-side code"
                for cell, name in grader_mentions(sub.notebook)
            ]
        except GraderError as exc:
            return error_result(assignment, sub, opts, f"could not be run: {exc}")
        except CheckFailure as exc:  # KernelGone at start-up; a grader `assert` stays a traceback
            return error_result(assignment, sub, opts, f"could not be run: {exc}")
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)

    issues = tuple(_cell_issue(nb, c) for c in execution.cells if c.status != "ok")
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
        answers=tuple(Answer(k, v) for k, v in answers(nb, assignment).items()),
        synthetic_data=profile.synthetic,
        seed=opts.seed,
        seconds=round(time.monotonic() - started, 3),
        execute_seconds=round(execution.seconds, 3),
        source_name=sub.source.name,
        flags=tuple(flags),
        profile_notes=tuple(_data_notes(store, assignment, profile) + epoch_notes),
    )


def _integrity_flags(handle: Notebook) -> list[str]:
    """Evidence for a person, read once the checks are done: the grader's Keras wrappers
    that the notebook replaced, classes of its own named like Keras' (an EarlyStopping
    that is not Keras'), and fits that started from weights the trace cannot account
    for (loaded, set by hand, or trained by an unseen fit)."""
    flags: list[str] = []
    try:
        replaced = handle.integrity()
        trace = handle.trace()
    except CheckError:
        return []  # the kernel is gone or would not say; the checks already report that
    if replaced:
        flags.append(f"the notebook replaced what the grader watches in Keras: {', '.join(replaced[:10])}")
    foreign: set[str] = set()
    for event in trace:
        if event.get("event") != "fit":
            continue
        for part in [*(event.get("layers") or []), *(event.get("callbacks") or [])]:
            if not isinstance(part, dict):
                continue
            qualname, short = part.get("qualname"), part.get("class")
            if isinstance(qualname, str) and qualname and not qualname.startswith("keras.") and short in KERAS_NAMES:
                foreign.add(f"{qualname[:100]}")
        problem = weights_problem(trace, event)
        if problem is not None:
            flags.append(f"the fit of model {str(event.get('model'))[:60]!r}: {problem}")
    if foreign:
        flags.append(
            "classes of the notebook's own named like Keras' were used in training: " + ", ".join(sorted(foreign)[:10])
        )
    return flags[:20]


# Keras classes whose names a notebook's own class might borrow (layers and callbacks the
# exercises use); a look-alike is evidence for a person, never a point by itself.
KERAS_NAMES = frozenset({
    "Dense", "Dropout", "BatchNormalization", "Activation", "Flatten", "Reshape", "Conv2D", "MaxPooling2D",
    "MaxPool2D", "InputLayer", "ReLU", "Softmax", "EarlyStopping", "ModelCheckpoint", "History",
    "ReduceLROnPlateau", "LearningRateScheduler", "TensorBoard", "CSVLogger",
})


def _cell_issue(nb: Any, run: Any) -> CellIssue:
    """A cell that failed, named as a person finds it (`In [7]` and its first line)."""
    cell = nb.cells[run.index]
    return CellIssue(
        run.index + 1,
        run.status,
        run.ename,
        run.evalue,
        execution_count=cell.get("execution_count") if isinstance(cell.get("execution_count"), int) else None,
        first_line=first_line(str(cell.get("source", ""))),
    )


def _data_notes(store: Any, assignment: Assignment, profile: Profile) -> list[str]:
    """The data each data set was served as under `profile` (subsampled, synthetic)."""
    notes = []
    for name in assignment.datasets:
        try:
            notes.append(f"data set {store.describe(name, profile)}")
        except Exception:  # the store is the grader's; a report line must not fail a grade
            notes.append(f"data set {name}: served as the {profile.name} profile says")
    return notes


_MAX_EPOCH_NOTES = 5


def _epoch_notes(handle: Notebook, profile: Profile) -> list[str]:
    """'epochs capped from 50 to 3' for each distinct cap the kernel bootstrap applied.
    Read from the kernel's trace: untrusted text, so only the numbers are used."""
    if profile.max_epochs is None:
        return []
    try:
        events = handle.trace("profile")
    except CheckError:
        return []  # the kernel is gone; the report says so elsewhere
    caps: dict[tuple[int, int], int] = {}
    for e in events:
        asked, capped = e.get("asked"), e.get("capped_to")
        if e.get("action") != "epoch cap" or not isinstance(asked, int) or not isinstance(capped, int):
            continue
        caps[(asked, capped)] = caps.get((asked, capped), 0) + 1
    notes = []
    for (asked, capped), n in sorted(caps.items())[:_MAX_EPOCH_NOTES]:
        runs = f" ({n} training runs)" if n > 1 else ""
        notes.append(f"epochs capped from {asked} to {capped} by the {profile.name} profile{runs}")
    return notes
