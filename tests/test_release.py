"""The student bundle (`grade release`) and the self-check students run in it.

Fast tests release every assignment under assignments/ and prove the bundle holds
nothing a student must not see (by file names and by content). Slow tests run plain
`pytest` in the bundle, as a student would, on the reference solution, the starter
and sample submissions, and check that it reports the public points the grader gives.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from grader.datastore import SYSTEM_SOURCES
from grader.errors import SpecError
from grader.pytest_plugin import CONTEXT_KEY, STUDENT_KEY
from grader.release import cmd_release, release
from grader.selfcheck import BUNDLE_FILE, load_bundle
from grader.spec import Assignment, load_assignment

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = REPO / "assignments"
SOLUTIONS = REPO / "solutions"
EXAMPLES = REPO / "examples" / "submissions"
STORE = REPO / ".grader" / "data"  # the project's store, as tests/conftest.py's `grade` uses

NAMES = (
    sorted(p.name for p in ASSIGNMENTS.iterdir() if (p / "assignment.toml").is_file())
    if ASSIGNMENTS.is_dir()
    else []
)
# The plugin's own behaviour does not depend on the assignment: one quick assignment
# (no data set, if there is one) shows it.
QUICK = sorted(NAMES, key=lambda n: (bool(load_assignment(ASSIGNMENTS / n).datasets), n))[:1]
# Assignments with a data set the store cannot import by itself (Fashion-MNIST comes
# from a system package where one is installed).
WITH_DATA = [
    n
    for n in NAMES
    if any(
        not (d in SYSTEM_SOURCES and SYSTEM_SOURCES[d].is_dir())
        for d in load_assignment(ASSIGNMENTS / n).datasets
    )
]
SCORE = re.compile(r"^public checks: ([0-9.]+)/([0-9.]+) points$", re.MULTILINE)
# What a student must not see in the output of a failing check: a traceback through
# the grader's own code.
INTERNALS = (
    "Traceback (most recent call last)",
    "grader/witness.py",
    "grader/execute.py",
    "def _ask(",
    "site-packages",
)


def _bundle(name: str, tmp_path: Path) -> tuple[Assignment, Path, list[Path]]:
    dest = tmp_path / f"bundle-{name}"
    written = release(ASSIGNMENTS / name, dest)
    return load_assignment(ASSIGNMENTS / name), dest, written


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _run_pytest(
    bundle: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m pytest` in the bundle, as a student runs it, in English (the bundles of
    this course say Korean; tests/test_i18n.py shows that)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    full_env.setdefault("GRADER_DATA", str(STORE))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--grader-lang", "en", *args],
        cwd=bundle,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _hidden_test_lines(assignment: Assignment) -> set[str]:
    """Distinctive source lines of the hidden test functions (their bodies and asserts),
    less lines the author shares with the public tests (those are public anyway)."""
    public_text = "\n".join(
        tf.path.read_text(encoding="utf-8") for tf in assignment.test_files if not tf.hidden
    )
    lines = set()
    for tf in assignment.test_files:
        if not tf.hidden:
            continue
        source = tf.path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                segment = ast.get_source_segment(source, node) or ""
                for line in segment.splitlines()[1:]:
                    line = line.strip()
                    if len(line) >= 30 and line not in public_text:
                        lines.add(line)
    return lines


def _text(path: Path) -> str:
    """A bundle file's text; a notebook's cell sources as well (JSON escapes quotes)."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return raw
    try:
        cells = nbformat.reads(raw, as_version=4).cells
    except Exception:
        return raw
    return raw + "\n" + "\n".join(c.source for c in cells)


def _solution_lines(name: str, starter: Path) -> set[str]:
    """Code lines of the reference solution that the starter (code or instructions)
    does not have."""
    solution_dir = SOLUTIONS / name
    starter_code = _text(starter)
    lines = set()
    for path in solution_dir.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                lines.update(
                    s
                    for s in (line.strip() for line in cell.source.splitlines())
                    if len(s) >= 20 and s not in starter_code
                )
    return lines


# ------------------------------------------------------------------ the bundle


@pytest.mark.parametrize("name", NAMES)
def test_bundle_holds_the_public_material_only(name: str, tmp_path: Path) -> None:
    assignment, dest, written = _bundle(name, tmp_path)
    public = [tf for tf in assignment.test_files if not tf.hidden]
    hidden = [tf for tf in assignment.test_files if tf.hidden]
    public_dir = ASSIGNMENTS / name / "tests" / "public"
    helpers = [
        p for p in public_dir.glob("*.py") if p.name.startswith("_") or p.name == "conftest.py"
    ]

    # Exactly these files, nothing else (nothing to install, no instructor file).
    expected = {assignment.notebook, "pytest.ini", BUNDLE_FILE, "README.md"}
    expected |= {f"tests/{tf.path.name}" for tf in public} | {f"tests/{p.name}" for p in helpers}
    assert _files(dest) == expected
    assert sorted(p.relative_to(dest).as_posix() for p in written) == sorted(expected)

    # By name: no hidden test file, no solution, no spec holding hidden points.
    names = {Path(f).name for f in _files(dest)}
    assert not names & {tf.path.name for tf in hidden}
    assert "assignment.toml" not in names and not any(
        "hidden" in f or "solution" in f for f in _files(dest)
    )

    # Copies: the starter and the public tests are byte for byte the instructor's files;
    # no bundle file is a copy of a solution or of a hidden test.
    assert (dest / assignment.notebook).read_bytes() == assignment.starter.read_bytes()
    for tf in public:
        assert (dest / "tests" / tf.path.name).read_bytes() == tf.path.read_bytes()
    forbidden = {p.read_bytes() for p in (SOLUTIONS / name).rglob("*") if p.is_file()}
    forbidden |= {tf.path.read_bytes() for tf in hidden}
    assert not any((dest / f).read_bytes() in forbidden for f in _files(dest))

    # By content: no hidden test name, no line of a hidden test, no line of the solution.
    hidden_names = [n for tf in hidden for n in tf.tests]
    hidden_lines = _hidden_test_lines(assignment)
    solution_lines = _solution_lines(name, assignment.starter)
    public_text = "\n".join(tf.path.read_text(encoding="utf-8") for tf in public)
    for rel in _files(dest):
        text = _text(dest / rel)
        for test in hidden_names:
            assert not re.search(rf"\b{re.escape(test)}\b", text), (
                f"{rel} names the hidden test {test}"
            )
        for line in hidden_lines:
            assert line not in text, f"{rel} holds a line of a hidden test: {line}"
        for line in solution_lines - ({line for line in solution_lines if line in public_text}):
            assert line not in text, f"{rel} holds a line of the solution: {line}"

    # grader-bundle.toml: public points only, so the total of the hidden ones stays unknown.
    meta = tomllib.loads((dest / BUNDLE_FILE).read_text(encoding="utf-8"))
    public_names = [n for tf in public for n in tf.tests]
    assert meta["points"] == {n: assignment.points[n] for n in public_names}
    assert set(meta) == {"assignment", "limits", "profiles", "points"}
    assert meta["assignment"]["notebook"] == assignment.notebook
    if hidden and sum(assignment.points[n] for n in hidden_names) > 0:
        total = f"{assignment.max_points:g}"
        for rel in ("README.md", BUNDLE_FILE):
            assert not re.search(
                rf"(?<![0-9.]){re.escape(total)}(?![0-9])", (dest / rel).read_text(encoding="utf-8")
            ), f"{rel} shows the total points {total}, which would reveal the hidden points"

    # It reads back as the same assignment, public part only.
    bundle = load_bundle(dest / BUNDLE_FILE)
    assert (bundle.name, bundle.title, bundle.version) == (
        assignment.name,
        assignment.title,
        assignment.version,
    )
    assert (bundle.notebook, bundle.datasets, bundle.default_profile) == (
        assignment.notebook,
        assignment.datasets,
        assignment.default_profile,
    )
    assert bundle.limits == assignment.limits and bundle.profiles == assignment.profiles
    assert bundle.test_order() == public_names and not any(tf.hidden for tf in bundle.test_files)

    # pytest.ini points the plugin at it; the README speaks to students in both languages.
    ini = (dest / "pytest.ini").read_text(encoding="utf-8")
    assert f"grader_bundle = {BUNDLE_FILE}" in ini and "-p grader" in ini
    readme = (dest / "README.md").read_text(encoding="utf-8")
    for phrase in (
        "pip install <path-or-url given by your instructor>",
        "pytest --profile fast",
        "hidden checks",
        "graded by a person",
    ):
        assert phrase in readme
    assert re.search("[\uac00-\ud7a3]", readme), "the README has no Korean text"


def test_release_refuses_a_destination_that_is_not_empty(tmp_path: Path) -> None:
    if not NAMES:
        pytest.skip("no assignment with an assignment.toml under assignments/")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="not empty"):
        release(ASSIGNMENTS / NAMES[0], full)
    assert _files(full) == {"notes.txt"}
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(SpecError, match="not empty"):
        release(ASSIGNMENTS / NAMES[0], a_file)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert release(ASSIGNMENTS / NAMES[0], empty)  # an empty folder is fine


def test_cmd_release_lists_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not NAMES:
        pytest.skip("no assignment with an assignment.toml under assignments/")
    assert cmd_release([str(ASSIGNMENTS / NAMES[0]), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "README.md" in out and BUNDLE_FILE in out


def test_release_refuses_a_public_file_naming_a_hidden_test(tmp_path: Path) -> None:
    if not NAMES:
        pytest.skip("no assignment with an assignment.toml under assignments/")
    copy = tmp_path / "assignments" / NAMES[0]
    shutil.copytree(ASSIGNMENTS / NAMES[0], copy)
    spec = load_assignment(copy)
    hidden_name = next((n for tf in spec.test_files if tf.hidden for n in tf.tests), None)
    if hidden_name is None:
        pytest.skip("this assignment has no hidden test")
    public_file = next(tf.path for tf in spec.test_files if not tf.hidden)
    public_file.write_text(public_file.read_text() + f"\n# see also {hidden_name}\n")
    with pytest.raises(SpecError, match=hidden_name):
        release(copy, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the plugin outside a bundle


def test_plugin_is_inert_in_an_ordinary_session(pytestconfig: pytest.Config) -> None:
    # This very session auto-loads the plugin (pytest11 entry point).
    assert pytestconfig.pluginmanager.has_plugin("grader")
    assert not pytestconfig.pluginmanager.has_plugin("grader-selfcheck")
    assert pytestconfig.stash.get(CONTEXT_KEY, None) is None
    assert not pytestconfig.stash.get(STUDENT_KEY, False)


def test_plugin_runs_no_notebook_outside_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "notebook.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    (tmp_path / "test_plain.py").write_text(
        "def test_plain(request):\n"
        "    assert not request.config.pluginmanager.has_plugin('grader-selfcheck')\n"
        "def test_wants_nb(nb):\n"
        "    pass\n"
    )
    proc = _run_pytest(tmp_path, "-rs")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert (
        "1 passed, 1 skipped" in out and "public checks" not in out and "grader: running" not in out
    )


# ------------------------------------------------------------------ the self-check: set-up problems


@pytest.mark.parametrize("name", QUICK)
def test_selfcheck_says_when_the_notebook_is_missing_or_misnamed(name: str, tmp_path: Path) -> None:
    assignment, dest, _ = _bundle(name, tmp_path)
    notebook = dest / assignment.notebook
    notebook.unlink()
    proc = _run_pytest(dest)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert f"ERROR: grader: no {assignment.notebook} in {dest}" in out
    assert not any(s in out for s in INTERNALS), out

    (dest / "my work.ipynb").write_bytes(assignment.starter.read_bytes())
    proc = _run_pytest(dest)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert "found my work.ipynb" in out and "pytest --notebook 'my work.ipynb'" in out
    assert not any(s in out for s in INTERNALS), out

    proc = _run_pytest(dest, "--notebook", "nothing.ipynb")
    assert proc.returncode == 4 and "--notebook nothing.ipynb: no such file" in proc.stderr


@pytest.mark.parametrize("name", QUICK)
def test_selfcheck_says_when_the_notebook_is_not_a_notebook(name: str, tmp_path: Path) -> None:
    assignment, dest, _ = _bundle(name, tmp_path)
    (dest / assignment.notebook).write_text('{"cells": [')  # cut short, as a bad download is
    proc = _run_pytest(dest)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert f"ERROR: grader: cannot read {assignment.notebook} as a notebook" in out
    assert not any(s in out for s in INTERNALS), out


@pytest.mark.parametrize("name", WITH_DATA[:1])
def test_selfcheck_says_how_to_get_missing_data(name: str, tmp_path: Path) -> None:
    assignment, dest, _ = _bundle(name, tmp_path)
    empty_store = tmp_path / "store"
    proc = _run_pytest(dest, "--profile", "fast", env={"GRADER_DATA": str(empty_store)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    lines = [line for line in out.splitlines() if line.startswith("ERROR: grader:")]
    assert len(lines) == 1, out
    missing = [
        d for d in assignment.datasets if not (d in SYSTEM_SOURCES and SYSTEM_SOURCES[d].is_dir())
    ]
    assert f"needs the real {missing[0]} data set" in lines[0]
    assert "grade data" in lines[0] and "pytest --profile smoke" in lines[0]
    assert not any(s in out for s in INTERNALS), out


# ------------------------------------------------------------ the self-check against the grader


def _public_points(result) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    checks = [c for c in result.checks if not c.hidden]
    return sum(c.points for c in checks), sum(c.max_points for c in checks)


NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def _words(text: str) -> str:
    """A message with every number in it replaced by '#'."""
    return NUMBER.sub("#", text)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_selfcheck_reports_the_graders_public_points(name: str, tmp_path: Path, grade) -> None:  # type: ignore[no-untyped-def]
    assignment = load_assignment(ASSIGNMENTS / name)
    notebooks: dict[str, Path] = {
        "solution.ipynb": SOLUTIONS / name / assignment.notebook,
        "starter.ipynb": assignment.starter,
    }
    # A few sample submissions, for scores between nothing and everything.
    examples = sorted((EXAMPLES / name).glob("*.ipynb"))[:3] if (EXAMPLES / name).is_dir() else []
    notebooks.update({f"example_{p.name}": p for p in examples})
    results = grade(name, notebooks)
    graded = {student: r for student, r in results.items() if not r.error}
    assert {"solution", "starter"} <= set(graded)

    # The examples worth comparing: those with some, not all, public points (the first one).
    partial = [
        s
        for s in sorted(graded)
        if s.startswith("example_")
        and 0 < _public_points(graded[s])[0] < _public_points(graded[s])[1]
    ][:1]
    public_total = sum(
        assignment.points[n] for tf in assignment.test_files if not tf.hidden for n in tf.tests
    )

    for student in ["solution", "starter", *partial]:
        dest = tmp_path / f"bundle-{student}"
        release(ASSIGNMENTS / name, dest)
        shutil.copy(notebooks[f"{student}.ipynb"], dest / assignment.notebook)
        proc = _run_pytest(dest, "--profile", "smoke")
        out = proc.stdout + proc.stderr
        found = SCORE.findall(proc.stdout)
        assert len(found) == 1, out
        got, top = (float(v) for v in found[0])
        want, want_top = _public_points(graded[student])
        assert (got, top) == pytest.approx((want, want_top), abs=0.01), f"{student}: {out}"
        if student == "solution":
            assert proc.returncode == 0, out
            assert got == top == pytest.approx(public_total)
        else:
            assert proc.returncode == 1, out
            # Each failed public check says what the grader's report says, with no
            # traceback through the grader's internals. The notebook trains again here,
            # under another seed, so the numbers in a message may differ; the words may not.
            for check in graded[student].checks:
                if not check.hidden and check.points < check.max_points:
                    first = check.message.strip().splitlines()[0] if check.message.strip() else ""
                    assert first and _words(first) in _words(out), (
                        f"{student}: {check.name}: {first!r} not shown:\n{out}"
                    )
            assert not any(s in out for s in INTERNALS), out
        if student == "starter":
            assert got < top


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_selfcheck_notebook_option_and_cell_errors(name: str, tmp_path: Path) -> None:
    assignment, dest, _ = _bundle(name, tmp_path)
    (dest / assignment.notebook).unlink()
    nb = nbformat.read(SOLUTIONS / name / assignment.notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("stopped on purpose")'))
    nbformat.write(nb, dest / "draft.ipynb")
    proc = _run_pytest(dest, "--profile", "smoke", "--notebook", "draft.ipynb")
    out = proc.stdout + proc.stderr
    # The checks still run on what the notebook defined, as in the grader: all pass.
    assert proc.returncode == 0, out
    assert "grader: draft.ipynb ran in" in out
    # the cell as Jupyter shows it: its execution count and first line, not its position
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    assert f"grader: In [{code_cells}] `raise RuntimeError(\"stopped on purpose\")` raised RuntimeError" in out
    assert f"Submit your notebook named {assignment.notebook}" in out
    assert len(SCORE.findall(proc.stdout)) == 1
