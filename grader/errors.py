"""One error hierarchy for everything the grader reports to a person.

Each error carries the thing it is about (a file, a key, a submission) so the CLI can
print one actionable line instead of a traceback. Bugs in the grader itself are not
GraderErrors and keep their traceback.
"""

from __future__ import annotations

from pathlib import Path

from .i18n import Msg, pick


class GraderError(Exception):
    """Base of errors meant for an instructor or student; exit code 1 at the CLI."""

    exit_code = 1

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        if self.path is None:
            super().__init__(message)
        else:  # the path in front of both languages (grader.i18n)
            super().__init__(Msg(f"{self.path}: {message}", f"{self.path}: {pick(message, 'ko')}"))


class SpecError(GraderError):
    """The assignment folder or its assignment.toml is wrong."""


class SubmissionError(GraderError):
    """A submission cannot be graded (not a notebook, unsafe zip, ...).

    Recorded as the submission's one-line reason; it never stops the batch.
    """


class SandboxUnavailable(GraderError):
    """No working sandbox; the grader refuses untrusted work unless told --no-sandbox."""

    exit_code = 3


class DataError(GraderError):
    """A data set the assignment needs is missing or damaged in the data store."""


class UsageError(GraderError):
    """The command line is wrong."""

    exit_code = 2


# --- errors raised inside checks: they become the failed check's message -------------


class CheckFailure(AssertionError):
    """A check failed for a reason the student should read (subclass of AssertionError
    so pytest counts it as a failure, not an error in the test). The kernel's errors
    reach tests as this small family only; an `assert` in the grader's own code is not
    one of them and stays a traceback."""


CheckError = CheckFailure  # the former name


class MissingName(CheckFailure):
    def __init__(self, name: str) -> None:
        self.name = name
        # In the grader, grader.leads replaces this with the cell that should have set it.
        super().__init__(
            Msg(
                f"Your notebook does not define `{name}` after it runs. "
                f"Check the spelling and that the cell defining it ran without error.",
                f"노트북을 끝까지 실행한 뒤에도 `{name}`이(가) 정의되어 있지 않습니다. "
                f"철자와, 그것을 정의하는 셀이 오류 없이 실행되었는지 확인하세요.",
            )
        )


class StudentError(CheckFailure):
    """The student's code raised while the check used it."""


class ForbiddenCall(CheckFailure):
    """The student's function used something the exercise forbids."""


class BadReply(CheckFailure):
    """The kernel's answer could not be accepted (too big, wrong type, malformed)."""


class KernelGone(CheckFailure):
    """The kernel died or stopped answering; checks that need it score 0."""


class CheckTimeout(CheckFailure):
    """The student's code took longer than the check's time limit."""


class EvaluationRefused(CheckError):
    """The trusted evaluator would not rebuild or could not use a model the notebook
    handed over (a class that is not Keras' own, weights that do not fit, a file that
    is not a model). `refused` is True for a foreign class: evidence a person reviews."""

    def __init__(self, message: str, refused: bool = False) -> None:
        self.refused = refused
        super().__init__(message)


class EvaluatorFailed(CheckError):
    """The trusted evaluator process died or stopped answering while it read what the
    notebook handed over; the submission is flagged for a person to review."""
