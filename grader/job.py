"""What one grading job is given (GradeOptions) and what it returns when it could not
run (error_result): all the batch's process needs of a job, without the imports of
grading itself (pytest, the kernel client, the evaluator: 0.4 s that a regrade of an
unchanged batch never uses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import gpus
from .i18n import join, message_of, msg
from .results import SubmissionResult
from .spec import Assignment
from .submissions import Submission


@dataclass(frozen=True)
class GradeOptions:
    profile: str
    sandboxed: bool
    seed: int
    data_root: Path
    include_hidden: bool = True
    kernel_python: str | None = None  # the kernels' interpreter (--kernel-python); None: the grader's own
    gpu: gpus.Slot | None = None  # the kernel's GPU slot (--gpus; grader/gpus.py); None: no slot


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


def could_not_run(exc: BaseException | None) -> str:
    """The one-line error of a submission whose kernel or evaluator could not start."""
    head = msg("could not be run", "실행할 수 없었습니다")
    return head if exc is None else join([head, ": ", message_of(exc)], sep="")
