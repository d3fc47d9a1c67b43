"""Grade one submission: execute it in its kernel, run the checks against it, score.

Runs inside a worker process (see grader.worker); everything it returns is plain data.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from . import gpus, scratch
from .checks import run_checks
from .errors import CheckError, CheckFailure, GraderError
from .evaluator import Evaluator
from .execute import KernelSession
from .i18n import msg, pick
from .job import GradeOptions, could_not_run, error_result
from .leads import RunFacts
from .pictures import draw as draw_pictures
from .pytest_plugin import CheckContext
from .results import Answer, CellIssue, SubmissionResult, first_line
from .source import grader_mentions
from .spec import Assignment, Profile
from .submissions import Submission
from .trusted import Trusted, weights_problem
from .witness import Notebook, answers


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


@dataclass
class Prepared:
    """A kernel started (bootstrap run) for one submission not yet known, the evaluator
    beside it where the checks measure models, and the data staged for both: what
    `prepare` makes and `grade_on` uses up. A warm worker (grader.pool) makes it ahead
    of need; it is never given a second submission."""

    session: KernelSession
    evaluator: Evaluator
    store: Any  # the DataStore
    profile: Profile
    stage_dir: Path
    data_dir: Path | None
    stack: ExitStack
    gpu: gpus.Monitor | None = None  # the watch on the kernel's GPU memory, with a slot

    def close(self) -> None:
        """Stop the evaluator and the kernel, remove the staged data; again: nothing."""
        try:
            self.stack.close()
        finally:
            shutil.rmtree(self.stage_dir, ignore_errors=True)


def prepare(
    assignment: Assignment, opts: GradeOptions, files: dict[str, bytes] | None = None, warm: bool = False
) -> Prepared:
    """Stage the data, start the kernel and, where the checks measure models, the
    evaluator. `warm`: also import the assignment's modules in the kernel (the notebook
    then finds TensorFlow imported, traced as if it had imported it). Raises GraderError
    or CheckFailure when the kernel cannot start."""
    from .datastore import DataStore

    logging.getLogger("traitlets").setLevel(logging.CRITICAL)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    profile = assignment.profiles[opts.profile]
    store = DataStore(opts.data_root)
    stage_dir = scratch.make("data")
    stack = ExitStack()
    try:
        data_dir = store.stage(list(assignment.datasets), profile, stage_dir) if assignment.datasets else None
        session = stack.enter_context(
            KernelSession(
                limits=assignment.limits,
                profile=profile,
                data_dir=data_dir,
                files=files,
                sandboxed=opts.sandboxed,
                seed=opts.seed,
                python=opts.kernel_python,
                gpu=opts.gpu,
            )
        )
        # GPU memory of the kernel's process tree, polled until the kernel stops (grader/gpus.py)
        monitor = (
            stack.enter_context(gpus.Monitor(opts.gpu, session.host_pids, session.stop_tree))
            if opts.gpu is not None
            else None
        )
        # One per submission, gone with it. Where the checks measure models, it starts
        # now and imports Keras while the notebook runs (or the kernel waits); else on first use.
        evaluator = stack.enter_context(
            Evaluator(data_dir=data_dir, limits=assignment.limits, sandboxed=opts.sandboxed)
        )
        if assignment.measures_models:
            evaluator.start()
        if warm:
            session.warm_import(warm_modules(assignment))
    except BaseException:
        stack.close()
        shutil.rmtree(stage_dir, ignore_errors=True)
        raise
    return Prepared(session, evaluator, store, profile, stage_dir, data_dir, stack, gpu=monitor)


def warm_modules(assignment: Assignment) -> list[str]:
    """What a warm kernel imports before its notebook: the assignment's `requires`, and
    Keras with TensorFlow (`tf.keras` imports it on first use: 2-3 s of the 3)."""
    names = list(assignment.requires)
    if "tensorflow" in names and "keras" not in names:
        names.insert(names.index("tensorflow") + 1, "keras")
    return names


def allowed_files(assignment: Assignment, sub: Submission) -> dict[str, bytes]:
    """The submission's files the assignment lets its notebook read."""
    return {
        name: data for name, data in sub.files.items() if any(Path(name).match(p) for p in assignment.allowed_files)
    }


def grade_submission(assignment: Assignment, sub: Submission, opts: GradeOptions) -> SubmissionResult:
    if not sub.ok or sub.notebook is None:
        return error_result(assignment, sub, opts, sub.error or "unreadable submission")
    started = time.monotonic()
    try:
        prepared = prepare(assignment, opts, files=allowed_files(assignment, sub))
    except (GraderError, CheckFailure) as exc:  # KernelGone at start-up; a grader `assert` stays a traceback
        return error_result(assignment, sub, opts, could_not_run(exc))
    return grade_on(prepared, assignment, sub, opts, started)


def grade_on(
    prepared: Prepared,
    assignment: Assignment,
    sub: Submission,
    opts: GradeOptions,
    started: float,
    deliver: bool = False,
) -> SubmissionResult:
    """Grade `sub` on a prepared kernel, then stop it. `deliver`: the kernel was started
    without the submission's files (warm); give them to it first."""
    if not sub.ok or sub.notebook is None:
        prepared.close()
        return error_result(assignment, sub, opts, sub.error or "unreadable submission")
    session, evaluator, store, profile = prepared.session, prepared.evaluator, prepared.store, prepared.profile
    try:
        nb = copy.deepcopy(sub.notebook)
        try:
            if deliver:
                session.deliver_files(allowed_files(assignment, sub))
            execution = session.run_notebook(nb)
            handle = Notebook(session, nb)
            ctx = CheckContext(notebook=handle, profile=profile.name, seed=opts.seed, data=_Data(store, profile))
            handle.on_tamper = ctx.flag
            ctx.run_facts = RunFacts(
                nb, [_cell_issue(nb, c) for c in execution.cells if c.status != "ok"], _starter(assignment)
            )
            handle.trusted = Trusted(handle, evaluator, ctx.data, list(assignment.datasets), ctx.flag, handle.basis.add)
            checks, _log = run_checks(assignment, ctx, include_hidden=opts.include_hidden)
            flags = list(ctx.flags) + _integrity_flags(handle)
            epoch_notes = _epoch_notes(handle, profile)
            # after the checks and outside their deadlines: a picture never changes a score
            pictures, picture_events = draw_pictures(ctx.sketches, handle, profile.name)
            prepared.close()
            events = list(session.events) + picture_events  # after exit: it counts processes left behind
            events += prepared.gpu.usage.notes if prepared.gpu is not None else []
            flags += [
                msg(
                    f"cell {cell} names {name}, the grader's own kernel-side code",
                    f"셀 {cell}에서 채점기 자체의 커널 쪽 코드인 {name}을(를) 언급합니다",
                )
                for cell, name in grader_mentions(sub.notebook)
            ]
        except GraderError as exc:
            return error_result(assignment, sub, opts, could_not_run(exc))
        except CheckFailure as exc:  # KernelGone at start-up; a grader `assert` stays a traceback
            return error_result(assignment, sub, opts, could_not_run(exc))
    finally:
        prepared.close()

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
        pictures=tuple(pictures),
        extra={"gpu": prepared.gpu.usage.to_json()} if prepared.gpu is not None else {},
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
        listed = ", ".join(replaced[:10])
        flags.append(
            msg(
                f"the notebook replaced what the grader watches in Keras: {listed}",
                f"노트북이 채점기가 Keras에서 지켜보는 것을 바꿔 놓았습니다: {listed}",
            )
        )
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
            model = repr(str(event.get("model"))[:60])
            flags.append(
                msg(f"the fit of model {model}: {problem}", f"모델 {model}의 fit: {pick(problem, 'ko')}")
            )
    if foreign:
        listed = ", ".join(sorted(foreign)[:10])
        flags.append(
            msg(
                f"classes of the notebook's own named like Keras' were used in training: {listed}",
                f"학습에 Keras의 것과 이름이 같은, 노트북이 직접 만든 클래스가 쓰였습니다: {listed}",
            )
        )
    return flags[:20]


# Keras classes whose names a notebook's own class might borrow (layers and callbacks the
# exercises use); a look-alike is evidence for a person, never a point by itself.
KERAS_NAMES = frozenset({
    "Dense", "Dropout", "BatchNormalization", "Activation", "Flatten", "Reshape", "Conv2D", "MaxPooling2D",
    "MaxPool2D", "InputLayer", "ReLU", "Softmax", "EarlyStopping", "ModelCheckpoint", "History",
    "ReduceLROnPlateau", "LearningRateScheduler", "TensorBoard", "CSVLogger",
})


def _starter(assignment: Assignment) -> Any:
    """The assignment's starter notebook, to say where a missing name belongs; None when
    it cannot be read (the spec validated it, so that is no reason to stop grading)."""
    try:
        return nbformat.read(str(assignment.starter), as_version=4)
    except (OSError, ValueError):
        return None


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
    notes: list[str] = []
    for name in assignment.datasets:
        try:
            described = store.describe(name, profile)
            notes.append(msg(f"data set {described}", f"데이터셋 {pick(described, 'ko')}"))
        except Exception:  # the store is the grader's; a report line must not fail a grade
            notes.append(
                msg(
                    f"data set {name}: served as the {profile.name} profile says",
                    f"데이터셋 {name}: {profile.name} 프로필대로 제공함",
                )
            )
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
    notes: list[str] = []
    for (asked, capped), n in sorted(caps.items())[:_MAX_EPOCH_NOTES]:
        runs, runs_ko = (f" ({n} training runs)", f" (학습 {n}번)") if n > 1 else ("", "")
        notes.append(
            msg(
                f"epochs capped from {asked} to {capped} by the {profile.name} profile{runs}",
                f"{profile.name} 프로필이 에포크를 {asked}에서 {capped}(으)로 줄임{runs_ko}",
            )
        )
    return notes
