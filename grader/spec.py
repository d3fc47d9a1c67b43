"""The assignment spec: assignment.toml plus the test files, validated once at the edge.

Everything downstream receives a frozen `Assignment` and never re-reads the folder, so
a bad spec fails before any notebook runs, with the file and the key in the message.
"""

from __future__ import annotations

import ast
import hashlib
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import SpecError
from .i18n import DEFAULT_LANG, LANGS, msg

PROFILES = ("full", "fast", "smoke")
KNOWN_DATASETS = ("mnist", "fashion_mnist")
MIN_WORKER_MEMORY_MB = 512  # Python, numpy, pytest and nbclient in the worker: ~150 MB


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's kernel; defaults suit a CPU runner."""

    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    check_timeout_s: float = 30.0  # one check: all its requests and its own computation
    checks_timeout_s: float = 300.0  # all checks of one submission together
    memory_mb: int = 4096
    max_processes: int = 128
    max_file_mb: int = 256
    max_output_kb: int = 512
    max_reply_mb: int = 64
    # the grader's own worker process for one submission (trusted side: parsing, checks)
    worker_memory_mb: int = 2048
    worker_cpu_s: float = 600.0

    def __post_init__(self) -> None:
        if self.worker_memory_mb < MIN_WORKER_MEMORY_MB:
            raise SpecError(
                f"[limits] worker_memory_mb must be at least {MIN_WORKER_MEMORY_MB} "
                f"(the grader's own worker needs that much), got {self.worker_memory_mb}"
            )


@dataclass(frozen=True)
class Profile:
    """How the kernel bootstrap shapes a run: data served and epochs allowed."""

    name: str
    max_epochs: int | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    synthetic: bool = False


DEFAULT_PROFILES = {
    "full": Profile("full"),
    "fast": Profile("fast", max_epochs=3, train_subset=6000, test_subset=2000),
    "smoke": Profile("smoke", max_epochs=2, synthetic=True),
}


@dataclass(frozen=True)
class TestFile:
    path: Path
    hidden: bool
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    name: str
    root: Path
    title: str
    version: str
    notebook: str
    datasets: tuple[str, ...]
    allowed_files: tuple[str, ...]
    default_profile: str
    limits: Limits
    profiles: dict[str, Profile]
    points: dict[str, float]
    test_files: tuple[TestFile, ...]
    digest: str = field(default="")
    answers: tuple[str, ...] = ()  # free-text answer ids a person grades (grader.answers)
    requires: tuple[str, ...] = ()  # modules the kernel's Python must import (checked before a batch)
    lang: str = DEFAULT_LANG  # the language reports and the CLI use unless --lang says otherwise

    @property
    def starter(self) -> Path:
        return self.root / self.notebook

    @property
    def max_points(self) -> float:
        return sum(self.points.values())

    @property
    def measures_models(self) -> bool:
        """Whether its checks measure trained models on the trusted side (`nb.trusted`):
        then the grader starts the evaluator early, while the notebook runs."""
        return any("nb.trusted" in tf.path.read_text(encoding="utf-8", errors="replace") for tf in self.test_files)

    def is_hidden(self, test: str) -> bool:
        return any(test in tf.tests and tf.hidden for tf in self.test_files)

    def test_order(self) -> list[str]:
        return [t for tf in self.test_files for t in tf.tests]


def _typed(toml: Path, table: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise SpecError(f"[{table}] {key} must be a number, got {value!r}", toml)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"[{table}] {key} must be {names}, got {value!r}", toml)
    return value


def _dataclass_from(toml: Path, table: str, raw: dict[str, Any], cls: type, **extra: Any) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = dict(extra)
    for key, value in raw.items():
        if key not in known or key in extra:
            raise SpecError(
                f"[{table}] has unknown key '{key}' (known: {', '.join(k for k in known if k not in extra)})",
                toml,
            )
        default = known[key].default
        kind: type | tuple[type, ...]
        if isinstance(default, bool):
            kind = bool
        elif isinstance(default, float):
            kind = (int, float)
        elif isinstance(default, int) or default is None:
            kind = int
        else:
            kind = type(default)
        _typed(toml, table, key, value, kind)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            raise SpecError(f"[{table}] {key} must be positive, got {value!r}", toml)
        values[key] = value
    return cls(**values)


def _collect_tests(toml: Path, folder: Path, hidden: bool) -> list[TestFile]:
    out = []
    for path in sorted(folder.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            raise SpecError(f"test file does not parse: line {exc.lineno}: {exc.msg}", path) from None
        names = tuple(
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        )
        out.append(TestFile(path=path, hidden=hidden, tests=names))
    return out


def _digest(root: Path) -> str:
    """Hash of everything that decides a score: spec and test files (public + hidden)."""
    h = hashlib.sha256()
    files = [root / "assignment.toml", *sorted((root / "tests").rglob("*.py"))]
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def load_assignment(folder: Path | str) -> Assignment:
    """Load and validate assignments/<name>; raise SpecError naming file and key."""
    root = Path(folder).resolve()
    toml = root / "assignment.toml"
    if not root.is_dir():
        raise SpecError("assignment folder not found", root)
    if not toml.is_file():
        raise SpecError("missing assignment.toml", toml)
    try:
        raw = tomllib.loads(toml.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"not valid TOML: {exc}", toml) from None

    unknown = set(raw) - {"assignment", "limits", "profiles", "points"}
    if unknown:
        raise SpecError(f"unknown table(s): {', '.join(sorted(unknown))}", toml)
    meta = raw.get("assignment")
    if not isinstance(meta, dict):
        raise SpecError("missing [assignment] table", toml)
    allowed = {
        "title",
        "version",
        "notebook",
        "datasets",
        "allowed_files",
        "default_profile",
        "answers",
        "requires",
        "lang",
    }
    for key in meta:
        if key not in allowed:
            raise SpecError(f"[assignment] has unknown key '{key}'", toml)
    for key in ("title", "version", "notebook"):
        if key not in meta:
            raise SpecError(f"[assignment] is missing '{key}'", toml)
        _typed(toml, "assignment", key, meta[key], str)
    notebook = meta["notebook"]
    if not notebook.endswith(".ipynb") or "/" in notebook:
        raise SpecError(f"[assignment] notebook must be a file name ending .ipynb, got {notebook!r}", toml)
    if not (root / notebook).is_file():
        raise SpecError(f"[assignment] notebook: starter {notebook} not found beside it", toml)
    datasets = _typed(toml, "assignment", "datasets", meta.get("datasets", []), list)
    for name in datasets:
        if name not in KNOWN_DATASETS:
            raise SpecError(
                f"[assignment] datasets: unknown data set {name!r} (known: {', '.join(KNOWN_DATASETS)})", toml
            )
    allowed_files = _typed(toml, "assignment", "allowed_files", meta.get("allowed_files", []), list)
    requires = _requires(toml, meta.get("requires", []))
    answer_ids = _answer_ids(toml, root / notebook, meta.get("answers", []))
    default_profile = meta.get("default_profile", "fast")
    if default_profile not in PROFILES:
        raise SpecError(f"[assignment] default_profile must be one of {', '.join(PROFILES)}", toml)
    lang = meta.get("lang", DEFAULT_LANG)
    if lang not in LANGS:
        raise SpecError(
            msg(
                f"[assignment] lang must be one of {', '.join(LANGS)}, got {lang!r}",
                f"[assignment] lang은 {', '.join(LANGS)} 중 하나여야 합니다 (받은 값: {lang!r})",
            ),
            toml,
        )

    limits = _dataclass_from(toml, "limits", _table(toml, raw, "limits"), Limits)
    profiles = dict(DEFAULT_PROFILES)
    for name, table in _table(toml, raw, "profiles").items():
        if name not in PROFILES:
            raise SpecError(f"[profiles.{name}] is not a profile (known: {', '.join(PROFILES)})", toml)
        if not isinstance(table, dict):
            raise SpecError(f"[profiles.{name}] must be a table", toml)
        base = {f.name: getattr(DEFAULT_PROFILES[name], f.name) for f in fields(Profile)}
        base.pop("name")
        merged = _dataclass_from(toml, f"profiles.{name}", table, Profile, name=name)
        profiles[name] = Profile(name=name, **{k: (getattr(merged, k) if k in table else v) for k, v in base.items()})

    test_files = _collect_tests(toml, root / "tests" / "public", hidden=False) + _collect_tests(
        toml, root / "tests" / "hidden", hidden=True
    )
    if not test_files:
        raise SpecError("no test files in tests/public or tests/hidden", root)
    seen: dict[str, Path] = {}
    for tf in test_files:
        for name in tf.tests:
            if name in seen:
                raise SpecError(f"test {name} is defined twice (also in {seen[name]})", tf.path)
            seen[name] = tf.path

    points_raw = _table(toml, raw, "points")
    points: dict[str, float] = {}
    for name, value in points_raw.items():
        _typed(toml, "points", name, value, (int, float))
        if value < 0:
            raise SpecError(f"[points] {name} must not be negative", toml)
        if name not in seen:
            raise SpecError(f"[points] {name}: no test of that name in tests/", toml)
        points[name] = float(value)
    for name, path in seen.items():
        if name not in points:
            raise SpecError(f"[points] has no entry for {name} (defined in {path.name})", toml)

    return Assignment(
        name=root.name,
        root=root,
        title=meta["title"],
        version=meta["version"],
        notebook=notebook,
        datasets=tuple(datasets),
        allowed_files=tuple(allowed_files),
        default_profile=default_profile,
        limits=limits,
        profiles=profiles,
        points=points,
        test_files=tuple(test_files),
        digest=_digest(root),
        answers=answer_ids,
        requires=requires,
        lang=lang,
    )


_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _requires(toml: Path, value: Any) -> tuple[str, ...]:
    """[assignment] requires: distinct importable module names ("tensorflow", "sklearn")."""
    names = _typed(toml, "assignment", "requires", value, list)
    for name in names:
        if not isinstance(name, str) or not _MODULE.match(name):
            raise SpecError(
                f"[assignment] requires: {name!r} is not a module name (write the import name: 'sklearn')", toml
            )
    if len(set(names)) != len(names):
        raise SpecError("[assignment] requires: a module is listed twice", toml)
    return tuple(names)


def _answer_ids(toml: Path, starter: Path, value: Any) -> tuple[str, ...]:
    """[assignment] answers: distinct ids, each marked in the starter notebook."""
    from .answers import VALID_ID, marked

    ids = _typed(toml, "assignment", "answers", value, list)
    for i in ids:
        if not isinstance(i, str) or not VALID_ID.match(i):
            raise SpecError(f"[assignment] answers: {i!r} is not an answer id (letters, digits, _ . -)", toml)
    if len(set(ids)) != len(ids):
        raise SpecError("[assignment] answers: an id is listed twice", toml)
    if ids:
        try:
            from .submissions import notebook_json

            in_starter = marked(notebook_json(starter.read_bytes()))  # our own file: no schema check needed
        except Exception as exc:
            raise SpecError(f"[assignment] answers: the starter {starter.name} cannot be read: {exc}", toml) from None
        missing = [i for i in ids if i not in in_starter]
        if missing:
            raise SpecError(
                f"[assignment] answers: the starter {starter.name} has no cell marked "
                + ", ".join(f"answer:{i}" for i in missing),
                toml,
            )
    return tuple(ids)


def _table(toml: Path, raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise SpecError(f"[{name}] must be a table", toml)
    return value
