"""The kernel environment: before a batch, the kernels' Python is checked for ipykernel
and what the assignment `requires`; anything missing is one line, and nothing is graded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sandbox
from grader.batch import RunOptions, run
from grader.cli import main
from grader.errors import SpecError
from grader.gradebook import Gradebook
from grader.preflight import KernelEnvironmentError, check_kernel_python, kernel_python
from grader.spec import load_assignment

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = REPO / "assignments"
KERAS = ("bn_vs_dropout", "callbacks", "cnn_mistakes", "dropout_rates", "fashion_vs_mnist", "sparse_labels")


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with nothing installed: what an instructor's wrong environment looks like."""
    where = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin" / "python"


def test_the_graders_own_python_has_what_the_assignments_need() -> None:
    info = check_kernel_python(sys.executable, ["numpy", "pandas", "sklearn", "seaborn", "PIL"])
    assert info["version"] == sys.version.split()[0]
    assert os.path.realpath(info["prefix"]) == os.path.realpath(sys.prefix)


def test_a_missing_module_is_one_line_naming_the_interpreter_and_the_module() -> None:
    with pytest.raises(KernelEnvironmentError) as info:
        check_kernel_python(sys.executable, ["numpy", "no_such_module_xyz", "json"])
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"kernel Python {sys.executable} cannot import no_such_module_xyz; nothing was graded")
    assert "--kernel-python" in msg


def test_an_environment_without_ipykernel_or_tensorflow_is_refused(bare_venv: Path) -> None:
    with pytest.raises(KernelEnvironmentError, match=r"cannot import ipykernel, tensorflow; nothing was graded"):
        check_kernel_python(bare_venv, ["tensorflow"])


def test_a_module_that_fails_to_import_is_named_with_its_error(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "brokenpkg").mkdir()
    (site / "brokenpkg" / "__init__.py").write_text("import needed_but_absent_dep\n")
    (site / "crashpkg.py").write_text("raise RuntimeError('CUDA driver too old\\nsecond line')\n")
    with pytest.raises(KernelEnvironmentError) as info:
        check_kernel_python(venv / "bin" / "python", ["brokenpkg", "crashpkg"])
    msg = str(info.value)
    assert "cannot import ipykernel and fails to import" in msg
    assert "brokenpkg (needs needed_but_absent_dep, which is missing)" in msg
    assert "crashpkg (RuntimeError: CUDA driver too old)" in msg and "\n" not in msg


def test_not_a_python_no_file_and_a_hang_are_each_one_line(tmp_path: Path) -> None:
    with pytest.raises(KernelEnvironmentError, match="no such file; pass --kernel-python"):
        check_kernel_python(tmp_path / "nope" / "python")
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\necho 'exec format: not python' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(KernelEnvironmentError, match=r"is not a working Python 3 \(exec format: not python\)"):
        check_kernel_python(script)
    script.write_text("#!/bin/sh\nsleep 30\n")
    with pytest.raises(KernelEnvironmentError, match="took over 0.5 s"):
        check_kernel_python(script, timeout=0.5)
    plain = tmp_path / "notexec"
    plain.write_text("")
    with pytest.raises(KernelEnvironmentError, match="not executable"):
        check_kernel_python(plain)


def test_kernel_python_keeps_the_venv_path_unresolved(tmp_path: Path) -> None:
    assert kernel_python(None) == sys.executable
    link = tmp_path / "bin" / "python"
    link.parent.mkdir()
    link.symlink_to(sys.executable)
    assert kernel_python(link) == str(link)  # a venv's python is a link into another prefix: keep the venv
    assert kernel_python("relative/python") == os.path.abspath("relative/python")


def test_the_sandbox_binds_the_other_environment_and_its_base(bare_venv: Path) -> None:
    roots = sandbox.python_roots(str(bare_venv))
    assert os.path.realpath(bare_venv.parent.parent) in roots
    assert os.path.realpath(sys.base_prefix) in roots and "/" not in roots
    assert sandbox.python_roots() == sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)})


# ------------------------------------------------------------------ the spec and the batch


def test_every_assignment_says_what_it_requires() -> None:
    for name in KERAS:
        assert "tensorflow" in load_assignment(ASSIGNMENTS / name).requires, name
    assert load_assignment(ASSIGNMENTS / "conv2d_simple").requires == ("numpy", "matplotlib", "tensorflow")
    assert load_assignment(ASSIGNMENTS / "cnn_filters").requires == ("numpy",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"tensorflow"', "requires must be list"),
        ('["tensor flow"]', "'tensor flow' is not a module name"),
        ('["scikit-learn"]', "'scikit-learn' is not a module name (write the import name: 'sklearn')"),
        ("[1]", "1 is not a module name"),
        ('["numpy", "numpy"]', "a module is listed twice"),
    ],
)
def test_requires_is_validated(tmp_path: Path, value: str, message: str) -> None:
    import shutil

    root = tmp_path / "cnn_filters"
    shutil.copytree(ASSIGNMENTS / "cnn_filters", root)
    toml = root / "assignment.toml"
    toml.write_text(toml.read_text().replace('requires = ["numpy"]', f"requires = {value}"))
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_assignment(root)


def test_no_assignment_defaults_to_smoke() -> None:
    for root in sorted(ASSIGNMENTS.iterdir()):
        if (root / "assignment.toml").is_file():
            spec = load_assignment(root)
            assert spec.default_profile in ("full", "fast"), spec.name
            assert not spec.profiles[spec.default_profile].synthetic, spec.name
    assert load_assignment(ASSIGNMENTS / "cnn_filters").default_profile == "full"  # no data set: full is free
    assert load_assignment(ASSIGNMENTS / "conv2d_simple").default_profile in ("full", "fast")


def test_a_batch_refuses_before_any_notebook_runs(tmp_path: Path, bare_venv: Path) -> None:
    assignment = load_assignment(ASSIGNMENTS / "cnn_filters")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes((REPO / "solutions" / "cnn_filters" / "cnn_filters.ipynb").read_bytes())
    (subs / "bob.ipynb").write_text("not json")
    book = tmp_path / "book.sqlite"
    opts = RunOptions(
        profile="full",
        sandboxed=False,
        workers=1,
        regrade=False,
        gradebook=book,
        data_root=tmp_path / "data",
        reports_dir=tmp_path / "reports",
        kernel_python=str(bare_venv),
    )
    said: list[str] = []
    with pytest.raises(KernelEnvironmentError, match=f"kernel Python {bare_venv} cannot import ipykernel, numpy"):
        run(assignment, subs, opts, say=said.append)
    assert said == []
    with Gradebook(book) as gb:
        assert gb.latest("cnn_filters") == []  # not even the unreadable one was recorded


def test_the_command_says_it_in_one_line(
    tmp_path: Path, bare_venv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes((REPO / "solutions" / "cnn_filters" / "cnn_filters.ipynb").read_bytes())
    code = main(
        [str(ASSIGNMENTS / "cnn_filters"), str(subs), "--no-sandbox", "--kernel-python", str(bare_venv),
         "--reports", str(tmp_path / "reports"), "--lang", "en"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith(f"grade: error: kernel Python {bare_venv} cannot import ipykernel, numpy; nothing was graded")
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_kernels_run_in_the_named_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same environment under another path (a venv's python3 link): the kernel is
    started from it, sandboxed, and grades the solution in full."""
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    other = Path(sys.prefix) / "bin" / "python3"
    assert str(other) != sys.executable and other.exists()
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes((REPO / "solutions" / "cnn_filters" / "cnn_filters.ipynb").read_bytes())
    code = main(
        [str(ASSIGNMENTS / "cnn_filters"), str(subs), "--kernel-python", str(other), "--reports", str(tmp_path / "r"),
         "--workers", "1"]
    )
    assert code == 0
    with Gradebook(tmp_path / "home" / "gradebook.sqlite") as gb:
        (r,) = gb.latest("cnn_filters", "full")
    assert r.error is None and r.score == r.max_score, (r.error, r.events)
