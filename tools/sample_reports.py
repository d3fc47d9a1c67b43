"""Write sample report sets to look at.

OUT_DIR/: a perfect student, a partial one (hidden failure, cell errors, pending answer),
an ungradable one and a Korean id with a space. OUT_DIR/smoke-nosandbox/: the same plus
two hostile ids, rendered as a smoke run without a sandbox, to see both banners, the
escaping and the derived file names.

    python tools/sample_reports.py [OUT_DIR]      # default /tmp/report-sample

Then open OUT_DIR/index.html, or screenshot it with headless Chromium.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.report import ReportContext, export_csv, write_reports  # noqa: E402
from grader.results import Answer, CellIssue, CheckResult, SubmissionResult  # noqa: E402

POINTS = {
    "test_output_shape": 2.0,
    "test_valid_padding_values": 3.0,
    "test_no_kernel_flip": 3.0,
    "test_matches_reference_on_random_images": 3.0,
    "test_no_library_convolution": 2.0,
}
HIDDEN = {"test_matches_reference_on_random_images", "test_no_library_convolution"}

CTX = ReportContext(
    assignment="conv2d_simple",
    title="2-D convolution by hand",
    version="1",
    profile="fast",
    test_order=tuple(POINTS),
    hidden=frozenset(HIDDEN),
    points=POINTS,
    synthetic=False,
    sandboxed=True,
    generated_at="2025-03-14 09:30 UTC",
)


def _check(name: str, earned: float, status: str, message: str = "") -> CheckResult:
    return CheckResult(name, name in HIDDEN, earned, POINTS[name], status, message, 0.4)


def _result(student: str, score: float, **kw: object) -> SubmissionResult:
    base: dict[str, object] = dict(
        student=student,
        assignment="conv2d_simple",
        assignment_version="1",
        spec_digest="3f9a1c0d2b7e4a55",
        submission_digest="a1b2c3d4e5f60718",
        profile="fast",
        sandboxed=True,
        score=score,
        max_score=sum(POINTS.values()),
        seed=1234,
        seconds=18.4,
        execute_seconds=15.2,
        source_name=f"{student}.ipynb",
    )
    base.update(kw)
    return SubmissionResult(**base)  # type: ignore[arg-type]


def sample_results() -> list[SubmissionResult]:
    perfect = _result(
        "alice",
        13.0,
        checks=tuple(_check(n, p, "passed") for n, p in POINTS.items()),
        answers=(
            Answer(
                "why_flip",
                "Cross-correlation does not flip the kernel, so conv2d must flip it first.",
            ),
        ),
    )
    partial = _result(
        "bob",
        6.5,
        checks=(
            _check("test_output_shape", 2, "passed"),
            _check(
                "test_valid_padding_values",
                1.5,
                "partial",
                "2 of 4 parts passed:\n"
                "- expected out[0, 0] == 14.0 for the 3x3 ones filter, got 9.0\n"
                "- expected out[-1, -1] == 22.0, got 0.0 (is the last row/column skipped?)",
            ),
            _check("test_no_kernel_flip", 3, "passed"),
            _check(
                "test_matches_reference_on_random_images",
                0,
                "failed",
                "on a random 28x28 image with a 5x5 filter your output differs from the reference "
                "by up to 3.41 (tolerance 1e-6); expected shape (24, 24), got (24, 24)",
            ),
            _check(
                "test_no_library_convolution",
                0,
                "failed",
                "conv2d_simple(...) called numpy.convolve, which this exercise forbids",
            ),
        ),
        cell_issues=(
            CellIssue(7, "error", "NameError", "name 'kernal' is not defined"),
            CellIssue(
                12, "timeout", "CellTimeoutError", "cell ran longer than 120 s and was stopped"
            ),
        ),
        events=(
            "cell 12 stopped after 120 s (cell_timeout_s)",
            "kernel restarted once after cell 12",
        ),
        answers=(
            Answer("why_flip", "I think <b>flipping</b> is needed because the formula says so."),
        ),
    )
    ungradable = _result(
        "carol",
        0.0,
        error="carol.zip: contains 3 notebooks (a.ipynb, b.ipynb, conv2d_simple (1).ipynb); "
        "submit one named conv2d_simple.ipynb",
        seconds=0.1,
        execute_seconds=0.0,
        submission_digest="",
        source_name="carol.zip",
    )
    korean = _result(
        "김민준 2024123456",
        10.0,
        checks=(
            _check("test_output_shape", 2, "passed"),
            _check("test_valid_padding_values", 3, "passed"),
            _check(
                "test_no_kernel_flip",
                0,
                "failed",
                "커널을 뒤집지 않아야 합니다: expected conv2d_simple(img, k) == correlate(img, k), "
                "got the flipped result",
            ),
            _check("test_matches_reference_on_random_images", 3, "passed"),
            _check("test_no_library_convolution", 2, "passed"),
        ),
        answers=(
            Answer(
                "why_flip",
                "합성곱은 커널을 뒤집지만, 딥러닝 라이브러리는 보통 "
                "상호상관(cross-correlation)을 씁니다.",
            ),
        ),
    )
    return [perfect, partial, ungradable, korean]


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "/tmp/report-sample")
    results = sample_results()
    manual = {"alice": {"why_flip": 2.0}}
    for path in write_reports(out, results, CTX, manual):
        print(path)
    export_csv(results, out / "grades.csv", CTX)
    print(out / "grades.csv")

    smoke_ctx = dataclasses.replace(CTX, profile="smoke", synthetic=True, sandboxed=False)
    hostile = [
        _result(
            "<script>alert('id')</script>",
            2.0,
            checks=(_check("test_output_shape", 2, "passed"),),
            answers=(Answer("why_flip", "</p><script>alert('answer')</script>"),),
        ),
        _result(
            "../../etc/passwd", 0.0, error='=HYPERLINK("http://x") <img src=x onerror=alert(1)>'
        ),
    ]
    smoke = [
        dataclasses.replace(r, profile="smoke", synthetic_data=True, sandboxed=False)
        for r in results + hostile
    ]
    for path in write_reports(out / "smoke-nosandbox", smoke, smoke_ctx):
        print(path)
    export_csv(smoke, out / "smoke-nosandbox" / "grades.csv", smoke_ctx)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
