"""`grade release`: the student bundle of an assignment.

The bundle is what students get to check their own work with plain `pytest`:

    <dest>/
      <notebook>.ipynb       the starter notebook
      tests/test_*.py        the PUBLIC tests (and tests/public's _*.py helpers, conftest.py)
      pytest.ini             points the grader's pytest plugin at grader-bundle.toml
      grader-bundle.toml     name, notebook, data sets, profiles, limits, PUBLIC points
      README.md              for students, in Korean and English

Nothing else: no hidden test, no solution, no assignment.toml (it holds the hidden
points). The bundle is built in memory and checked for hidden test names before a
file is written; a destination that exists and is not empty is refused.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from .errors import SpecError
from .i18n import msg
from .selfcheck import BUNDLE_FILE, INI_KEY, bundle_toml
from .spec import Assignment, load_assignment
from .witness import answers

__all__ = ["release", "cmd_release", "bundle_files"]

PYTEST_INI = f"""\
# Made by `grade release`: `pytest` here runs the public checks on your notebook.
[pytest]
{INI_KEY} = {BUNDLE_FILE}
testpaths = tests
python_files = test_*.py
addopts = -p grader
"""


def _public_files(assignment: Assignment) -> list[Path]:
    """The public test files and their helpers (_*.py, conftest.py) from tests/public only."""
    public_dir = assignment.root / "tests" / "public"
    tests = [tf.path for tf in assignment.test_files if not tf.hidden]
    helpers = sorted(
        p for p in public_dir.glob("*.py") if p.name.startswith("_") or p.name == "conftest.py"
    )
    files = []
    for path in [*tests, *helpers]:
        if path.parent.resolve() != public_dir.resolve() or path.is_symlink():
            raise SpecError(
                msg(
                    "public test files must be plain files directly in tests/public",
                    "공개 테스트 파일은 tests/public 바로 아래에 있는 일반 파일이어야 합니다",
                ),
                path,
            )
        files.append(path)
    return files


README = """\
# {title}

Assignment `{name}`, version {version}.

## 한국어

이 폴더에는 과제 노트북(`{notebook}`)과 공개 채점 항목(`tests/`)이 들어 있습니다.
제출하기 전에 자기 컴퓨터에서 노트북을 직접 점검할 수 있습니다.

1. 설치 (한 번만): `pip install <강사가 알려 준 경로 또는 URL>`
   (강의의 패키지 저장소 주소나 강사가 나눠 준 `grader` wheel 파일입니다.
   노트북에서 TensorFlow 를 쓴다면 TensorFlow 도 설치되어 있어야 합니다.)
2. 노트북을 이 폴더에 저장합니다. 파일 이름: `{notebook}`
   (채점기가 이 이름으로 찾습니다).
3. 이 폴더에서 `pytest` 를 실행합니다. 노트북을 처음부터 끝까지 한 번 실행한 뒤
   공개 항목을 검사하고, 마지막에 `public checks: 7/10 points` 와 같은 점수 줄을
   보여 줍니다.
   - 기본 프로필은 `{profile}` 입니다. 다른 프로필: `pytest --profile fast`,
     `pytest --profile full`, `pytest --profile smoke`
     (smoke 는 작은 합성 데이터로 빠르게 돌려 봅니다).
   - 이름이 다른 노트북 검사: `pytest --notebook 내노트북.ipynb`
   - 항목 하나만: `pytest -k 항목이름`
{data_ko}
채점 방식:
- 여기 있는 공개 항목 {count}개 ({points}점)는 채점기에서도 똑같이 채점됩니다.
- 채점기는 여기에 없는 숨은 항목도 실행합니다 (다른 입력, 무작위 입력 등).
  여기서 모두 통과해도 만점이 보장되지는 않습니다. 직접 다른 입력으로도 시험해 보세요.
- {answers_ko}
- 실패 메시지는 무엇을 기대했고 무엇을 받았는지 알려 줍니다. 먼저 Jupyter 에서
  Kernel > Restart & Run All 로 노트북이 오류 없이 끝까지 실행되는지 확인하세요.

## English

This folder holds the assignment notebook `{notebook}` and its public checks
(`tests/`), so you can check your work on your own computer before you submit.

1. Install (once): `pip install <path-or-url given by your instructor>`
   (the course's package index or the `grader` wheel your instructor gives you;
   if the notebook uses TensorFlow, TensorFlow must be installed too).
2. Save your notebook in this folder as `{notebook}`
   (the grader looks for that name).
3. Run `pytest` in this folder. It runs your notebook once, top to bottom, runs the
   public checks on it and ends with a score line such as
   `public checks: 7/10 points`.
   - The default profile is `{profile}`. Others: `pytest --profile fast`,
     `pytest --profile full`, `pytest --profile smoke`
     (smoke runs quickly on small synthetic data).
   - Check a notebook with another name: `pytest --notebook my_notebook.ipynb`
   - Run one check: `pytest -k check_name`
{data_en}
What is graded:
- The {count} public checks here ({points} points) are graded the same way by the grader.
- The grader also runs hidden checks that are not in this folder (other and random
  inputs). Passing everything here does not guarantee full marks: try other inputs
  yourself.
- {answers_en}
- A failing check says what it expected and what it got. First make sure the notebook
  runs top to bottom without errors (Kernel > Restart & Run All in Jupyter).
"""

DATA_KO = """\
   - `full`/`fast` 프로필에는 실제 데이터({data})가 필요합니다. 없으면 pytest 가
     받는 방법을 알려 줍니다 (예: 이 폴더에서 `grade data fetch {first}`, 인터넷 필요).
"""

DATA_EN = """\
   - The `full` and `fast` profiles need the real data ({data}); if it is missing,
     pytest says how to get it (for example `grade data fetch {first}` in this
     folder, with internet).
"""


def _readme(assignment: Assignment) -> str:
    public = [n for tf in assignment.test_files if not tf.hidden for n in tf.tests]
    try:
        written = ", ".join(sorted(answers(nbformat.read(assignment.starter, as_version=4))))
    except Exception:  # the starter was validated as a file; its answers are a courtesy
        written = ""
    data = {"data": ", ".join(assignment.datasets), "first": (assignment.datasets or ("",))[0]}
    return README.format(
        title=assignment.title,
        name=assignment.name,
        version=assignment.version,
        notebook=assignment.notebook,
        profile=assignment.default_profile,
        count=len(public),
        points=f"{sum(assignment.points[n] for n in public):g}",
        data_ko=DATA_KO.format(**data) if assignment.datasets else "",
        data_en=DATA_EN.format(**data) if assignment.datasets else "",
        answers_ko=f"서술형 답안({written})은 사람이 채점합니다."
        if written
        else "서술형 답안이 있다면 사람이 채점합니다.",
        answers_en=f"Free-text answers ({written}) are graded by a person."
        if written
        else "Free-text answers, if the notebook asks for any, are graded by a person.",
    )


def bundle_files(assignment: Assignment) -> dict[str, bytes]:
    """The bundle as {relative path: content}, checked for leaks, nothing written."""
    files: dict[str, bytes] = {assignment.notebook: assignment.starter.read_bytes()}
    for path in _public_files(assignment):
        files[f"tests/{path.name}"] = path.read_bytes()
    files["pytest.ini"] = PYTEST_INI.encode()
    files[BUNDLE_FILE] = bundle_toml(assignment).encode()
    files["README.md"] = _readme(assignment).encode()
    _refuse_leaks(assignment, files)
    return files


def _refuse_leaks(assignment: Assignment, files: dict[str, bytes]) -> None:
    """No hidden test's name or file, and not the reference solution, in any bundle file."""
    hidden_files = [tf for tf in assignment.test_files if tf.hidden]
    names = [n for tf in hidden_files for n in tf.tests]
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
    hidden_bytes = {tf.path.read_bytes() for tf in hidden_files}
    for rel, data in files.items():
        if data in hidden_bytes:
            raise SpecError(
                msg(
                    f"bundle file {rel} is a copy of a hidden test file",
                    f"배포 파일 {rel}이(가) 숨은 테스트 파일의 사본입니다",
                ),
                assignment.root,
            )
        text = data.decode("utf-8", errors="replace")
        found = pattern.search(text) if pattern else None
        if found:
            raise SpecError(
                msg(
                    f"bundle file {rel} names the hidden test {found.group(1)}; rename or remove the mention",
                    f"배포 파일 {rel}에 숨은 테스트 {found.group(1)}의 이름이 있습니다. "
                    "이름을 바꾸거나 언급을 지우세요",
                ),
                assignment.root,
            )
    solution = assignment.root.parent.parent / "solutions" / assignment.name / assignment.notebook
    if solution.is_file() and _code(solution) == _code(assignment.starter):
        raise SpecError(
            msg(
                f"the starter notebook has the same code as the reference solution {solution}",
                f"시작 노트북의 코드가 모범 답안 {solution}과(와) 같습니다",
            ),
            assignment.starter,
        )


def _code(path: Path) -> list[str]:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return [path.read_text(errors="replace")]
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


def release(assignment_dir: Path | str | Assignment, dest: Path | str) -> list[Path]:
    """Write the student bundle of `assignment_dir` (or an assignment already read)
    into `dest` (new or empty); return the files written."""
    assignment = assignment_dir if isinstance(assignment_dir, Assignment) else load_assignment(assignment_dir)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise SpecError(
            msg(
                "the destination exists and is not empty; give a new or empty folder",
                "대상 폴더가 이미 있고 비어 있지 않습니다. 새 폴더나 빈 폴더를 주세요",
            ),
            dest,
        )
    files = bundle_files(assignment)
    written = []
    for rel, data in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def cmd_release(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="grade release",
        description="Write the student bundle of an assignment: starter notebook, public tests, "
        "pytest set-up and README (no hidden tests, no solutions).",
    )
    p.add_argument("assignment", type=Path, help="assignments/<name>")
    p.add_argument("dest", type=Path, help="folder to write (must not exist or be empty)")
    from .cli import _lang_option, _out, _set_lang

    _lang_option(p)
    args = p.parse_args(argv)
    assignment = load_assignment(args.assignment)
    _set_lang(args.lang or assignment.lang)  # these lines and an error from here on
    written = release(assignment, args.dest)
    n = len(written)
    _out(
        msg(
            f"wrote the student bundle of {args.assignment} to {args.dest} ({n} files):",
            f"{args.assignment}의 학생용 배포본을 {args.dest}에 썼습니다 (파일 {n}개):",
        )
    )
    for path in written:
        print(f"  {path.relative_to(args.dest)}")
    _out(
        msg(
            "students: pip install the grader package, then run `pytest` in that folder",
            "학생: grader 패키지를 pip install로 설치한 뒤 그 폴더에서 `pytest`를 실행합니다",
        )
    )
    return 0
