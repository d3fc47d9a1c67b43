"""Collect one submission per student from a folder, reading untrusted files defensively.

A submission that cannot be read becomes a `Submission` with `error` set (one line, for
the report and CSV); it never raises, so one bad file never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import stat
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import i18n

if TYPE_CHECKING:
    import nbformat

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_CELLS = 2000
MAX_EXTRA_BYTES = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 200
MAX_FOLDER_FILES = 200
MAX_ZIP_RATIO = 100
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Submission:
    student: str
    source: Path
    notebook: nbformat.NotebookNode | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None
    digest: str = ""
    # the code cells' sources alone, where the notebook itself was let go (collect_folder's
    # `slim`): what the batch's similarity report reads, without a class's outputs in memory
    code: tuple[str, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Reject(Exception):
    """Internal: a reason to reject one submission."""


def _one_line(text: str) -> str:
    """A reason as one printable line (file names and parser messages are untrusted);
    both languages of a grader.i18n.Msg."""
    if isinstance(text, i18n.Msg):
        return i18n.Msg(_one_line(str(text)), _one_line(text.ko))
    clean = "".join(" " if c in "\r\n\t" else ("?" if unicodedata.category(c).startswith("C") else c) for c in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= MAX_ERROR_CHARS else clean[: MAX_ERROR_CHARS - 1] + "…"


@dataclass(frozen=True)
class Collection:
    """A submissions folder as a person sees it: the students' submissions, and the
    other files in it (README.md, marks.csv, .DS_Store, ...), which are nobody's."""

    submissions: list[Submission]
    ignored: list[str]  # names of the folder's entries that are not submissions, sorted


SUBMISSION_EXTS = (".ipynb", ".zip")
PY_REASON = i18n.msg(
    "a .py file is not a notebook: submit the .ipynb", ".py 파일은 노트북이 아닙니다: .ipynb 파일을 제출하세요"
)


def collect(folder: Path, notebook_name: str) -> list[Submission]:
    """One Submission per student id found in `folder`, sorted by id."""
    return collect_folder(folder, notebook_name).submissions


def collect_folder(folder: Path, notebook_name: str, slim: bool = False) -> Collection:
    """Sort a submissions folder: `<id>.ipynb`, `<id>.zip` and folders `<id>/` are
    submissions; a lone `<id>.py` is a submission rejected with its reason; anything
    else (hidden files, README.md, a CSV, a .py beside the same student's notebook) is
    listed as ignored, never made a student.

    `slim`: each submission keeps its digest and code cells (`code`) but not its parsed
    notebook or files, let go as soon as each is read: the batch's process reads a
    class and hands each notebook to a worker by path, and 500 parsed notebooks with
    their outputs were most of what its memory grew by. A slim read checks what needs no
    nbformat (readable, UTF-8, JSON, a notebook of format 3 or 4, the cell count), not
    the notebook's schema: the batch checks that with `checked` for the submissions it
    will grade, and needs neither nbformat nor its schema for those it skips (a regrade
    of an unchanged class: nbformat's import and validation were half its time)."""
    folder = Path(folder)
    by_student: dict[str, list[Path]] = {}
    scripts: dict[str, Path] = {}
    ignored: list[str] = []
    for entry in sorted(folder.iterdir()):
        kind = _kind(entry)
        if kind == "ignored":
            ignored.append(_one_line(entry.name))
        elif kind == "script":
            scripts[_student_id(entry)] = entry
        else:
            by_student.setdefault(_student_id(entry), []).append(entry)
    for student, script in scripts.items():
        if student in by_student:
            ignored.append(_one_line(script.name))  # an export beside the notebook: not a second submission
        else:
            by_student[student] = [script]
    out = []
    for student, entries in sorted(by_student.items()):
        if len(entries) > 1:
            names = ", ".join(e.name for e in entries)
            out.append(
                Submission(
                    student,
                    entries[0],
                    error=_one_line(
                        i18n.msg(
                            f"two submissions for one student: {names}; keep one",
                            f"한 학생의 제출물이 두 개입니다: {names}; 하나만 남기세요",
                        )
                    ),
                )
            )
            continue
        if entries[0].name.lower().endswith(".py") and not entries[0].is_dir():
            name = entries[0].name
            reason = i18n.msg(f"{name}: {PY_REASON}", f"{name}: {PY_REASON.ko}")
            out.append(Submission(student, entries[0], error=_one_line(reason)))
            continue
        read = _read_slim if slim else read_submission
        out.append(read(student, entries[0], notebook_name))
    return Collection(out, sorted(ignored))


def checked(sub: Submission, notebook_name: str) -> Submission:
    """A slim submission read again with the notebook's schema validated (what
    read_submission does), kept slim; unchanged where it was already refused."""
    if not sub.ok:
        return sub
    full = read_submission(sub.student, sub.source, notebook_name)
    if full.notebook is None:
        return full
    from .similarity import code_cells

    return replace(full, notebook=None, files={}, code=tuple(code_cells(full.notebook)))


def _read_slim(student: str, path: Path, notebook_name: str) -> Submission:
    from .similarity import code_cells

    sub = read_submission(student, path, notebook_name, validate=False)
    raw = sub.notebook
    return replace(sub, notebook=None, files={}, code=tuple(code_cells(raw)) if raw is not None else None)


def _kind(entry: Path) -> str:
    """submission | script | ignored, by the name (and, for a folder, the type)."""
    name = entry.name
    if name.startswith(".") or name.startswith("__") or name.startswith("~$"):
        return "ignored"  # hidden files, __MACOSX/, __pycache__/, Office lock files
    lower = name.lower()
    if lower.endswith(SUBMISSION_EXTS) or entry.is_dir():
        return "submission"  # a symbolic link too: it is rejected with its reason
    if lower.endswith(".py"):
        return "script"
    return "ignored"


def _student_id(entry: Path) -> str:
    name = entry.name
    for ext in (*SUBMISSION_EXTS, ".py"):
        if name.lower().endswith(ext) and not entry.is_dir():
            name = name[: -len(ext)]
    return unicodedata.normalize("NFC", name)


def read_submission(student: str, path: Path, notebook_name: str, validate: bool = True) -> Submission:
    """Read and validate one submission; never raises for anything in the file itself.
    `validate=False` (collect_folder's slim read): `notebook` is the notebook's JSON as
    read (format 4; format 3 converted), its schema not checked."""
    try:
        nb_bytes, files = _read_entry(path, notebook_name)
        notebook = parse_notebook(nb_bytes) if validate else notebook_json(nb_bytes)
    except _Reject as exc:
        why = i18n.message_of(exc)
        return Submission(
            student, path, error=_one_line(i18n.msg(f"{path.name}: {why}", f"{path.name}: {i18n.pick(why, 'ko')}"))
        )
    except OSError as exc:  # vanished, unreadable, an I/O error: this submission only
        reason = exc.strerror or type(exc).__name__
        return Submission(
            student,
            path,
            error=_one_line(
                i18n.msg(f"{path.name}: cannot be read ({reason})", f"{path.name}: 읽을 수 없습니다 ({reason})")
            ),
        )
    h = hashlib.sha256(nb_bytes)
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return Submission(student, path, notebook=notebook, files=files, digest=h.hexdigest()[:16])


def _read_entry(path: Path, notebook_name: str) -> tuple[bytes, dict[str, bytes]]:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        raise _Reject(
            i18n.msg("is a symbolic link; submit the file itself", "심볼릭 링크입니다; 파일 자체를 제출하세요")
        )
    if stat.S_ISDIR(st.st_mode):
        return _pick(_read_folder(path), notebook_name)
    if not stat.S_ISREG(st.st_mode):
        raise _Reject(i18n.msg("is not a regular file", "일반 파일이 아닙니다"))
    lower = path.name.lower()
    if lower.endswith(".zip"):
        return _pick(_read_zip(path), notebook_name)
    if lower.endswith(".ipynb"):
        if st.st_size > MAX_NOTEBOOK_BYTES:
            raise _Reject(
                f"notebook is {st.st_size // 1024 // 1024} MB; the limit is {MAX_NOTEBOOK_BYTES // 1024 // 1024} MB"
            )
        return path.read_bytes(), {}
    raise _Reject("is not a notebook: submit <id>.ipynb, a folder <id>/ or <id>.zip")


def _read_folder(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(folder.rglob("*")):
        rel = unicodedata.normalize("NFC", p.relative_to(folder).as_posix())
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.split("/")):
            continue
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            raise _Reject(f"contains a symbolic link ({rel}); submit plain files")
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            raise _Reject(f"contains {rel}, which is not a regular file")
        total += st.st_size
        if total > MAX_EXTRA_BYTES:
            raise _Reject(f"holds more than {MAX_EXTRA_BYTES // 1024 // 1024} MB of files")
        if len(files) >= MAX_FOLDER_FILES:
            raise _Reject(f"holds more than {MAX_FOLDER_FILES} files")
        if rel in files:
            raise _Reject(f"holds two files named {rel}")
        files[rel] = p.read_bytes()
    return files


def _read_zip(path: Path) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Reject(
            i18n.msg(f"is not a readable zip file ({exc})", f"읽을 수 있는 zip 파일이 아닙니다 ({exc})")
        ) from None
    files: dict[str, bytes] = {}
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise _Reject(f"zip holds {len(infos)} entries; the limit is {MAX_ZIP_ENTRIES}")
        total = 0
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name)
            if name.startswith("/") or ".." in pure.parts or "\\" in name or ":" in name:
                raise _Reject(f"zip entry {name!r} points outside the submission (path traversal)")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _Reject(f"zip entry {name!r} is a symbolic link")
            if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in pure.parts):
                continue
            total += info.file_size
            if total > MAX_EXTRA_BYTES:
                raise _Reject(f"zip unpacks to more than {MAX_EXTRA_BYTES // 1024 // 1024} MB")
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
                raise _Reject(f"zip entry {name!r} has a compression ratio over {MAX_ZIP_RATIO} (zip bomb?)")
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_EXTRA_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise _Reject(f"zip entry {name!r} cannot be read ({exc})") from None
            if len(data) != info.file_size:
                raise _Reject(f"zip entry {name!r} is not the size its header says")
            key = unicodedata.normalize("NFC", pure.as_posix())
            if key in files:
                # Which of two same-named entries an unzip tool keeps differs: refuse to guess.
                raise _Reject(f"zip holds two entries named {key!r}")
            files[key] = data
    return files


def _pick(files: dict[str, bytes], notebook_name: str) -> tuple[bytes, dict[str, bytes]]:
    notebooks = [n for n in files if n.lower().endswith(".ipynb") and "ipynb_checkpoints" not in n]
    if not notebooks:
        raise _Reject(i18n.msg("holds no .ipynb notebook", ".ipynb 노트북이 들어 있지 않습니다"))
    if len(notebooks) == 1:
        chosen = notebooks[0]
    else:
        named = [n for n in notebooks if PurePosixPath(n).name == notebook_name]
        if len(named) != 1:
            listed = ", ".join(sorted(notebooks))
            raise _Reject(
                i18n.msg(
                    f"holds several notebooks ({listed}) and none is uniquely named {notebook_name}",
                    f"노트북이 여러 개({listed}) 들어 있는데 이름이 {notebook_name}인 것이 하나로 정해지지 않습니다",
                )
            )
        chosen = named[0]
    nb_bytes = files.pop(chosen)
    if len(nb_bytes) > MAX_NOTEBOOK_BYTES:
        raise _Reject(f"notebook {chosen} is over {MAX_NOTEBOOK_BYTES // 1024 // 1024} MB")
    return nb_bytes, files


def notebook_json(data: bytes) -> Any:
    """The checks of `parse_notebook` that need no nbformat, and the notebook's JSON:
    format 4 as read, format 3 converted by nbformat (its cells are elsewhere)."""
    text, raw = _json_notebook(data)
    if raw.get("nbformat") != 4:
        return parse_notebook(data)
    cells = raw.get("cells")
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise _Reject(f"has {len(cells)} cells; the limit is {MAX_CELLS}")
    return raw


def parse_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse untrusted notebook bytes into a v4 notebook or raise _Reject with one line."""
    import nbformat

    text, raw = _json_notebook(data)
    try:
        # nbformat warns (e.g. cells without ids, which it then adds): the verdict must not
        # depend on the caller's warning filters (pytest turns warnings into errors).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises many types for malformed content
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _Reject(
            i18n.msg(f"is not a valid notebook: {first[:200]}", f"올바른 노트북이 아닙니다: {first[:200]}")
        ) from None
    if len(nb.cells) > MAX_CELLS:
        raise _Reject(f"has {len(nb.cells)} cells; the limit is {MAX_CELLS}")
    checked: nbformat.NotebookNode = nb
    return checked


def _json_notebook(data: bytes) -> tuple[str, dict[str, Any]]:
    """(text, JSON) of what claims to be a notebook of format 3 or 4, or _Reject."""
    if not data.strip():
        raise _Reject(i18n.msg("is empty", "비어 있습니다"))
    try:
        text = data.decode("utf-8-sig")  # a BOM (some Windows editors add one) is harmless
    except UnicodeDecodeError as exc:
        raise _Reject(
            i18n.msg(
                f"is not UTF-8 text (byte {exc.start}); save the notebook from Jupyter again",
                f"UTF-8 텍스트가 아닙니다 ({exc.start}번째 바이트); Jupyter에서 노트북을 다시 저장하세요",
            )
        ) from None
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        # json's "Unterminated string starting at" already ends in "at": not "at at line 83"
        msg = exc.msg.removesuffix(" at") if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise _Reject(
            i18n.msg(
                f"is not valid JSON ({msg}{where}); the file may be truncated",
                f"올바른 JSON이 아닙니다 ({msg}{where}); 파일이 잘렸을 수 있습니다",
            )
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise _Reject(
            i18n.msg(
                "is JSON but not a Jupyter notebook (no 'cells')", "JSON이지만 Jupyter 노트북이 아닙니다 ('cells' 없음)"
            )
        )
    major = raw.get("nbformat")
    if not isinstance(major, int) or major < 3:
        raise _Reject(f"has nbformat {major!r}; only notebooks of format 3 or 4 can be graded")
    return text, raw
