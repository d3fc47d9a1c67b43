"""The command line: one clear line for every mistake an instructor can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import sandbox
from grader.cli import main


def test_a_missing_assignment_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path / "nope"), str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "nope: assignment folder not found" in err
    assert "Traceback" not in err


def test_without_a_sandbox_the_grader_refuses_untrusted_work(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.check_available.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda tool: None)
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="bwrap is not installed.*--no-sandbox"):
            sandbox.require(no_sandbox=False)
        assert sandbox.require(no_sandbox=True) is False
    finally:
        sandbox.check_available.cache_clear()


def test_export_before_any_grading_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADER_HOME", str(tmp_path))
    assignment = Path(__file__).resolve().parent.parent / "assignments" / "cnn_filters"
    code = main(["export", str(assignment), "--lang", "en"])
    assert code == 2
    assert "no graded submissions of cnn_filters" in capsys.readouterr().err
    assert main(["export", str(assignment)]) == 2  # the assignment's own language: Korean
    assert "grade: 오류: 프로필 full에서 채점된 cnn_filters 제출물이 없습니다" in capsys.readouterr().err


def test_a_bad_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["assignments/cnn_filters", "x", "--profile", "turbo"])
    assert info.value.code == 2
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


def test_the_sandbox_hides_root_only_files_and_the_repository() -> None:
    """Not a kernel: the same wrapper the kernel runs in, checked from inside."""
    import subprocess
    import sys

    if sandbox.check_available() is not None:
        pytest.skip(f"no sandbox on this machine: {sandbox.check_available()}")
    repo = Path(__file__).resolve().parent.parent
    probe = Path("/tmp") / "grader-cli-probe"
    probe.mkdir(exist_ok=True)
    plan = sandbox.SandboxPlan(conn_dir=probe, data_dir=None, files={}, limits=sandbox.Limits(), env={}, cgroup=None)
    code = (
        "import os, pathlib\n"
        f"print(os.getuid(), pathlib.Path({str(repo / 'assignments')!r}).exists())\n"
        "try:\n    open('/etc/shadow').read(); print('shadow readable')\n"
        "except PermissionError:\n    print('shadow denied')\n"
        "import socket\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); print('net')\n"
        "except OSError:\n    print('no net')\n"
    )
    out = subprocess.run(sandbox.wrap(plan, [sys.executable, "-c", code]), capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["65534", "False", "shadow", "denied", "no", "net"], out.stderr
