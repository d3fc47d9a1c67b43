"""The student self-check: `pytest` inside a student bundle made by `grade release`.

A bundle holds the starter notebook, the public tests, a pytest.ini naming
`grader-bundle.toml`, and that file: the assignment's name, notebook, data sets,
profiles, limits and the points of the PUBLIC checks only. When pytest runs there and
no grader injected a CheckContext, the plugin (grader.pytest_plugin) registers a
`SelfCheck`: it runs the student's notebook once in an ordinary local kernel (the same
KernelSession and bootstrap the grader uses, without the sandbox), gives the tests the
same `Notebook` handle the grader gives them, and ends with the public score counted
as the grader counts it (grader.checks.score).

Every way the self-check cannot start (no notebook, an unreadable one, missing data,
a kernel that does not start) ends pytest with one line saying what to do.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import tempfile
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

import pytest

from .errors import DataError, GraderError, SpecError
from .i18n import DEFAULT_LANG, LANGS, message_of, msg, pick
from .pytest_plugin import BUNDLE_FILE, CONTEXT_KEY, INI_KEY, CheckContext
from .spec import DEFAULT_PROFILES, PROFILES, Assignment, Limits, Profile, TestFile

__all__ = ["BUNDLE_FILE", "INI_KEY", "SelfCheck", "bundle_toml", "load_bundle", "score_line"]


# --------------------------------------------------------------------- the bundle file


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 2**53 else repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def bundle_toml(assignment: Assignment) -> str:
    """The text of grader-bundle.toml: what the self-check needs, public points only."""
    public = [name for tf in assignment.test_files if not tf.hidden for name in tf.tests]
    lines = [
        "# Made by `grade release`: what `pytest` in this folder needs to check your notebook.",
        "# It lists only the public checks in tests/; the grader also runs hidden checks.",
        "",
        "[assignment]",
        f"name = {_toml_value(assignment.name)}",
        f"title = {_toml_value(assignment.title)}",
        f"version = {_toml_value(assignment.version)}",
        f"notebook = {_toml_value(assignment.notebook)}",
        f"datasets = {_toml_value(list(assignment.datasets))}",
        f"default_profile = {_toml_value(assignment.default_profile)}",
        f"lang = {_toml_value(assignment.lang)}",
        "",
        "[limits]",
        *(f"{f.name} = {_toml_value(getattr(assignment.limits, f.name))}" for f in fields(Limits)),
    ]
    for name in PROFILES:
        profile = assignment.profiles[name]
        lines += ["", f"[profiles.{name}]"]
        for f in fields(Profile):
            value = getattr(profile, f.name)
            if f.name != "name" and value is not None and value is not False:
                lines.append(f"{f.name} = {_toml_value(value)}")
    lines += [
        "",
        "[points]  # public checks only",
        *(f"{n} = {_toml_value(assignment.points[n])}" for n in public),
    ]
    return "\n".join(lines) + "\n"


def load_bundle(path: Path | str) -> Assignment:
    """Read grader-bundle.toml into an Assignment of the public checks only.

    Its test files are the bundle's tests/test_*.py, keeping only the names the points
    table lists (a student's own extra tests run but are not scored); a listed check
    whose test is gone is kept, so it counts as not run, as in the grader.
    """
    from .spec import _collect_tests, _dataclass_from, _typed

    toml = Path(path).resolve()
    root = toml.parent
    try:
        raw = tomllib.loads(toml.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(
            "missing: this is not a student bundle made by `grade release`", toml
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(
            f"not valid TOML ({exc}); get a fresh copy from your instructor", toml
        ) from None
    unknown = set(raw) - {"assignment", "limits", "profiles", "points"}
    if unknown:
        raise SpecError(f"unknown table(s): {', '.join(sorted(unknown))}", toml)
    meta = raw.get("assignment")
    if not isinstance(meta, dict):
        raise SpecError("missing [assignment] table", toml)
    for key in ("name", "title", "version", "notebook", "default_profile"):
        if key not in meta:
            raise SpecError(f"[assignment] is missing '{key}'", toml)
        _typed(toml, "assignment", key, meta[key], str)
    lang = meta.get("lang", DEFAULT_LANG)  # bundles made before it was written: English
    if lang not in LANGS:
        raise SpecError(f"[assignment] lang must be one of {', '.join(LANGS)}, got {lang!r}", toml)
    if meta["default_profile"] not in PROFILES:
        raise SpecError(f"[assignment] default_profile must be one of {', '.join(PROFILES)}", toml)
    datasets = _typed(toml, "assignment", "datasets", meta.get("datasets", []), list)

    def table(name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise SpecError(f"[{name}] must be a table", toml)
        return value

    limits = _dataclass_from(toml, "limits", table("limits"), Limits)
    profiles = dict(DEFAULT_PROFILES)
    for name, body in table("profiles").items():
        if name not in PROFILES or not isinstance(body, dict):
            raise SpecError(
                f"[profiles.{name}] is not a profile table (known: {', '.join(PROFILES)})", toml
            )
        profiles[name] = _dataclass_from(toml, f"profiles.{name}", body, Profile, name=name)
    points: dict[str, float] = {}
    for name, value in table("points").items():
        _typed(toml, "points", name, value, (int, float))
        points[name] = float(value)

    found = _collect_tests(toml, root / "tests", hidden=False) if (root / "tests").is_dir() else []
    test_files = [
        TestFile(tf.path, False, tuple(n for n in tf.tests if n in points)) for tf in found
    ]
    present = {n for tf in test_files for n in tf.tests}
    gone = tuple(n for n in points if n not in present)
    if gone:
        test_files.append(TestFile(root / "tests" / "(missing)", False, gone))
    return Assignment(
        name=meta["name"],
        root=root,
        title=meta["title"],
        version=meta["version"],
        notebook=meta["notebook"],
        datasets=tuple(datasets),
        allowed_files=(),
        default_profile=meta["default_profile"],
        limits=limits,
        profiles=profiles,
        points=points,
        test_files=tuple(test_files),
        lang=lang,
    )


def score_line(points: float, max_points: float, lang: str = DEFAULT_LANG) -> str:
    got, top = f"{round(points, 2):g}", f"{round(max_points, 2):g}"
    return f"공개 검사: {got}/{top}점" if lang == "ko" else f"public checks: {got}/{top} points"


# --------------------------------------------------------------------- the pytest side


class _Data:
    """The `data` fixture: the arrays the local kernel was served."""

    def __init__(self, store: Any, profile: Profile) -> None:
        self._store = store
        self._profile = profile
        self._cache: dict[str, Any] = {}

    def load(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._store.arrays(name, self._profile)
        return self._cache[name]


def _store(root: Path) -> Any:
    """$GRADER_DATA if set, else <bundle>/.grader/data: where `grade data` run in the
    bundle folder puts data sets (DataStore.default() from there)."""
    from .datastore import DataStore

    if os.environ.get("GRADER_DATA"):
        return DataStore.default()
    return DataStore(root / ".grader" / "data")


def _stop(message: str, lang: str = DEFAULT_LANG) -> NoReturn:
    """End the session with one line (pytest prints `ERROR: grader: ...`, exit code 4)."""
    raise pytest.UsageError(f"grader: {pick(message, lang)}")


class SelfCheck:
    """The pytest plugin object of one self-check session (registered by the plugin)."""

    def __init__(self, config: pytest.Config, bundle_file: Path) -> None:
        from .witness import Notebook

        self.config = config
        option_lang = config.getoption("grader_lang", None)
        try:
            self.assignment = load_bundle(bundle_file)
        except GraderError as exc:
            raise pytest.UsageError(f"grader: {pick(message_of(exc), option_lang or DEFAULT_LANG)}") from None
        self.lang: str = option_lang or self.assignment.lang
        name = config.getoption("grader_profile", None) or self.assignment.default_profile
        self.profile = self.assignment.profiles[name]
        self.seed = secrets.randbelow(2**31)
        self.store = _store(self.assignment.root)
        import nbformat

        placeholder = Notebook(
            None,
            nbformat.v4.new_notebook(),
            kernel_error=msg("the notebook was not run", "노트북을 실행하지 않았습니다"),
        )
        self.ctx = CheckContext(
            notebook=placeholder,
            profile=self.profile.name,
            seed=self.seed,
            data=_Data(self.store, self.profile),
        )
        config.stash[CONTEXT_KEY] = self.ctx
        self.notebook_path: Path | None = None
        self.execution: Any = None
        self.deselected: set[str] = set()
        self._session: Any = None
        self._stage: Path | None = None

    # -- hooks
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        a = self.assignment
        synthetic = self.profile.synthetic and a.datasets
        if self.lang == "ko":
            profile = f"프로필 {self.profile.name}{' (합성 데이터)' if synthetic else ''}"
            return [f"grader: {a.title} ({a.name} v{a.version}), {profile}, 시드 {self.seed}"]
        profile = f"profile {self.profile.name}{' (synthetic data)' if synthetic else ''}"
        return [f"grader: {a.title} ({a.name} v{a.version}), {profile}, seed {self.seed}"]

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.update(item.name for item in items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        wanted = (
            session.items
            and not session.config.option.collectonly
            and not (
                session.testsfailed and not session.config.option.continue_on_collection_errors
            )
        )
        try:
            if wanted:
                self._start()
            return (yield)
        finally:
            self._close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.execution is None:
            return
        from .checks import score

        tr = terminalreporter
        t = self._t
        tr.section(t(msg("grader self-check", "grader 자체 점검")))
        for line in self._notebook_lines():
            tr.write_line(line)
        results = [
            r
            for r in score(self.assignment, self.ctx.outcomes, include_hidden=False)
            if r.name not in self.deselected
        ]
        got = sum(r.points for r in results)
        top = sum(r.max_points for r in results)
        not_run = [
            r.name for r in results if r.message == "this check did not run (collection error)"
        ]
        tr.write_line(score_line(got, top, self.lang), bold=True, green=got >= top, red=got < top)
        notes = []
        if self.deselected:
            n = len(self.deselected)
            notes.append(
                msg(f"{n} public check(s) deselected, not counted", f"선택하지 않은 공개 검사 {n}개는 세지 않음")
            )
        if not_run:
            names = ", ".join(not_run)
            notes.append(msg(f"did not run, counted as 0: {names}", f"실행되지 않아 0점으로 셈: {names}"))
        skipped = [r.name for r in results if r.status == "skipped"]
        if skipped:
            names, prof = ", ".join(skipped), self.profile.name
            notes.append(
                msg(f"not graded in the {prof} profile: {names}", f"{prof} 프로필에서는 채점하지 않음: {names}")
            )
        for note in notes:
            tr.write_line(f"  ({t(note)})")
        tr.write_line(
            t(
                msg(
                    "The grader also runs hidden checks that are not in this folder, and a person grades "
                    "free-text answers: passing here is necessary, not sufficient.",
                    "채점기는 이 폴더에 없는 숨은 검사도 실행하고, 서술형 답안은 사람이 채점합니다: "
                    "여기서 통과하는 것은 필요조건일 뿐 충분조건이 아닙니다.",
                )
            )
        )
        if self.notebook_path is not None and self.notebook_path.name != self.assignment.notebook:
            name = self.assignment.notebook
            tr.write_line(
                t(
                    msg(
                        f"Submit your notebook named {name}: the grader looks for that name.",
                        f"노트북을 {name}이라는 이름으로 제출하세요: 채점기는 그 이름으로 찾습니다.",
                    )
                )
            )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._close()

    # -- running the notebook
    def _t(self, text: str) -> str:
        """`text` in the session's language (grader.i18n)."""
        return pick(text, self.lang)

    def _stop(self, message: str) -> NoReturn:
        _stop(message, self.lang)

    def _write(self, line: str, **markup: bool) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(line, **markup)

    def _find_notebook(self) -> Path:
        a = self.assignment
        option = self.config.getoption("grader_notebook", None)
        if option:
            path: Path = (self.config.invocation_params.dir / str(option)).resolve()
            if not path.is_file():
                self._stop(msg(f"--notebook {option}: no such file", f"--notebook {option}: 그런 파일이 없습니다"))
            if path.suffix != ".ipynb":
                self._stop(
                    msg(
                        f"--notebook {option}: not a Jupyter notebook (.ipynb)",
                        f"--notebook {option}: Jupyter 노트북(.ipynb)이 아닙니다",
                    )
                )
            return path
        path = a.root / a.notebook
        if path.is_file():
            return path
        others = sorted(p.name for p in a.root.glob("*.ipynb"))
        if others:
            found, first = ", ".join(others), shlex.quote(others[0])
            self._stop(
                msg(
                    f"no {a.notebook} in {a.root} (found {found}): name your notebook "
                    f"{a.notebook}, the name the grader looks for, "
                    f"or run: pytest --notebook {first}",
                    f"{a.root}에 {a.notebook}이(가) 없습니다 ({found}은(는) 있음): 노트북 이름을 채점기가 찾는 "
                    f"이름인 {a.notebook}(으)로 바꾸거나, 다음을 실행하세요: pytest --notebook {first}",
                )
            )
        self._stop(
            msg(
                f"no {a.notebook} in {a.root}: save your notebook there under that name "
                "(the grader looks for it), or run: pytest --notebook PATH",
                f"{a.root}에 {a.notebook}이(가) 없습니다: 노트북을 그 이름으로 그곳에 저장하거나 "
                "(채점기가 그 이름으로 찾습니다), 다음을 실행하세요: pytest --notebook 경로",
            )
        )

    def _stage_data(self) -> Path | None:
        a = self.assignment
        if not a.datasets:
            return None
        self._stage = Path(tempfile.mkdtemp(prefix="grader-selfcheck-data-"))
        for name in a.datasets:
            try:
                self.store.stage([name], self.profile, self._stage)
            except DataError as exc:
                store = self.store.root
                present = {st.name: st.present for st in self.store.status()}
                if present.get(name, False):  # there, but damaged or unreadable
                    said = message_of(exc)
                    self._stop(msg(f"data set {name}: {said}", f"데이터셋 {name}: {pick(said, 'ko')}"))
                prof = self.profile.name
                self._stop(
                    msg(
                        f"the {prof} profile needs the real {name} data set, which is not "
                        f"in {store}. Get it with: grade data --data {store} fetch {name} "
                        f"(needs internet), or: grade data --data {store} import {name} "
                        "<folder with the four IDX files>; "
                        "or check with synthetic data: pytest --profile smoke",
                        f"{prof} 프로필에는 실제 {name} 데이터셋이 필요한데 {store}에 없습니다. "
                        f"받는 방법: grade data --data {store} fetch {name} (인터넷 필요), 또는 "
                        f"grade data --data {store} import {name} <IDX 파일 네 개가 있는 폴더>. "
                        "합성 데이터로 점검하려면: pytest --profile smoke",
                    )
                )
        return self._stage

    def _start(self) -> None:
        import nbformat

        from .execute import KernelSession
        from .witness import Notebook

        path = self._find_notebook()
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises many kinds for a broken file
            text = str(exc).strip()
            detail = text.splitlines()[0][:200] if text else type(exc).__name__
            self._stop(
                msg(
                    f"cannot read {path.name} as a notebook ({detail}); open it in Jupyter and save it again",
                    f"{path.name}을(를) 노트북으로 읽을 수 없습니다 ({detail}). Jupyter에서 열어 다시 저장하세요",
                )
            )
        data_dir = self._stage_data()
        self.notebook_path = path
        prof = self.profile.name
        self._write(
            self._t(
                msg(
                    f"grader: running {path.name} (profile {prof}) ...",
                    f"grader: {path.name} 실행 중 (프로필 {prof}) ...",
                )
            )
        )
        session = KernelSession(
            limits=self.assignment.limits,
            profile=self.profile,
            data_dir=data_dir,
            sandboxed=False,
            seed=self.seed,
            cwd=path.parent,
        )
        try:
            self._session = session.__enter__()
        except Exception as exc:  # KernelGone, or jupyter_client finding no kernel
            why = f"{type(exc).__name__}: {exc}"
            self._stop(
                msg(
                    f"could not start a Python kernel to run {path.name} ({why}); "
                    "check that ipykernel is installed in this Python",
                    f"{path.name}을(를) 실행할 Python 커널을 시작할 수 없었습니다 ({why}). "
                    "이 Python에 ipykernel이 설치되어 있는지 확인하세요",
                )
            )
        try:
            self.execution = session.run_notebook(nb)
        except Exception as exc:
            self._close()
            why = f"{type(exc).__name__}: {exc}"
            self._stop(msg(f"{path.name} could not be run: {why}", f"{path.name}을(를) 실행할 수 없었습니다: {why}"))
        self.ctx.notebook = Notebook(session, nb)
        # Where a missing name should have come from, as the grader's report says it.
        from .grade import _cell_issue
        from .leads import RunFacts

        cells = self.execution.cells
        self.ctx.run_facts = RunFacts(nb, [_cell_issue(nb, c) for c in cells if c.status != "ok"])
        for i, line in enumerate(self._notebook_lines()):
            self._write(line, red=i > 0)  # the first line says it ran; the others are trouble

    def _notebook_lines(self) -> list[str]:
        """What happened to the notebook: one line, then one per cell that did not run clean."""
        ex = self.execution
        assert ex is not None and self.notebook_path is not None
        ko = self.lang == "ko"
        sets = "/".join(self.assignment.datasets)
        data = ""
        if self.assignment.datasets and self.profile.synthetic:
            data = f", 합성 데이터: 실제 {sets} 아님" if ko else f", synthetic data: not real {sets}"
        prof, name = self.profile.name, self.notebook_path.name
        if ko:
            took = f"{ex.seconds:.1f}초" if ex.seconds >= 0.1 else "0.1초 미만"
            lines = [f"grader: {name} 실행 완료, {took} 걸림 (프로필 {prof}{data})"]
        else:
            took = f"{ex.seconds:.1f} s" if ex.seconds >= 0.1 else "under 0.1 s"
            lines = [f"grader: {name} ran in {took} (profile {prof}{data})"]
        for cell in ex.cells:
            evalue = " ".join(cell.evalue.split())[:300]
            said = f": {evalue}" if evalue else ""
            if cell.status == "error":
                what = msg(f"raised {cell.ename}{said}", f"에서 {cell.ename} 예외가 발생했습니다{said}")
            elif cell.status == "timeout":
                what = msg(
                    f"was stopped at the time limit ({evalue})", f"이(가) 시간 제한에 걸려 중지되었습니다 ({evalue})"
                )
            elif cell.status == "not-run":
                what = msg(f"did not run ({evalue})", f"은(는) 실행되지 않았습니다 ({evalue})")
            else:
                continue
            from .execute import cell_label

            label = cell_label(ex.notebook.cells[cell.index])
            lines.append(f"grader: {label}{self._t(what)}" if ko else f"grader: {label} {what}")
        # events about one cell repeat what the lines above say
        lines += [f"grader: {self._t(event)}" for event in ex.events if not event.startswith(("cell ", "In ["))]
        if len(lines) > 1:
            lines.append(
                self._t(
                    msg(
                        "grader: the checks see what your notebook defined despite this, as the grader "
                        "does; fix it (Kernel > Restart & Run All in Jupyter shows it too)",
                        "grader: 그래도 검사는 채점기에서처럼 노트북이 정의한 것을 봅니다. 고치세요 "
                        "(Jupyter의 Kernel > Restart & Run All로도 보입니다)",
                    )
                )
            )
        return lines

    def _close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.__exit__(None, None, None)
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
