"""The data set store: real MNIST / Fashion-MNIST kept offline, served read-only to kernels.

Layout of a store (shared by many grading workers at once)::

    <root>/<name>/real.npz            the imported real data (what keras' load_data returns)
    <root>/<name>/info.json           provenance: source, sha256, date, official or not
    <root>/<name>/fast-6000-2000.npz  derived files, made on first use, cached
    <root>/<name>/smoke-v1.npz        synthetic look-alike for the `smoke` profile

Every file is written atomically (temp file, fsync, os.replace) and is read-only (0444),
so two workers making the same file at once both succeed and nobody sees half a file.
`stage()` puts `<name>.npz` into the folder the sandbox mounts at /data, as a hard link
when it can (never a symlink: the sandbox only sees that folder).

Synthetic data is used only when the profile says so (`smoke`); a missing real data set
for `full`/`fast` is a DataError that says which command fixes it, never a silent swap.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.error import URLError
from urllib.request import urlopen

import numpy as np

from .errors import DataError
from .i18n import DEFAULT_LANG, msg, pick
from .spec import KNOWN_DATASETS, Profile

__all__ = [
    "DataStore",
    "DatasetStatus",
    "format_status",
    "cmd_status",
    "cmd_import",
    "cmd_fetch",
]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

KEYS = ("x_train", "y_train", "x_test", "y_test")
OFFICIAL_SIZES = (60000, 10000)
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
IDX_FILES = {  # key -> file name in the original distribution (with or without .gz)
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801

# Where Keras downloads from (keras/src/datasets/{mnist,fashion_mnist}.py).
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FETCH_TIMEOUT_S = 15.0

# sha256 of the four arrays (see _content_digest): independent of file format and of
# the numpy version that wrote the npz. Computed from the published data.
OFFICIAL_CONTENT = {
    "mnist": "e5ca100bd8cd75d0faed0808d24c5ae37ba74e911e6bff4c4bf0d3a844844a73",
    "fashion_mnist": "71dc144136d2440f0dddfe462008c5155a86d09a48cf143a36f9fed9f042cf44",
}

# Real data a package manager installs: imported on first use (Debian dataset-fashion-mnist).
SYSTEM_SOURCES = {"fashion_mnist": Path("/usr/share/datasets/fashion-mnist")}

SMOKE_VERSION = 1  # bump when the generator changes: the cache file name follows it
SMOKE_SIZES = (1200, 200)
SMOKE_SEEDS = {"mnist": 1_000_003, "fashion_mnist": 2_000_003}

REAL = "real.npz"
INFO = "info.json"


@dataclass(frozen=True)
class DatasetStatus:
    """What the store holds for one data set (its real data)."""

    name: str
    present: bool
    source: str = ""
    sha256: str = ""  # prefix of the sha256 of real.npz
    train: int = 0
    test: int = 0
    official: bool | None = None  # content equals the published data set
    imported: str = ""


# ----------------------------------------------------------------------- the store


class DataStore:
    """A folder of data sets; see the module docstring for its layout.

    `sizes` is the (train, test) count imported data must have: the real sets' counts
    by default, None to accept any (the project's tests import tiny files).
    `system_sources` maps a data set to a folder a system package installs it in.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        sizes: tuple[int, int] | None = OFFICIAL_SIZES,
        system_sources: dict[str, Path] | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self.sizes = sizes
        self.system_sources = dict(SYSTEM_SOURCES if system_sources is None else system_sources)

    @classmethod
    def default(cls) -> DataStore:
        """$GRADER_DATA if set, else <cwd>/.grader/data."""
        env = os.environ.get("GRADER_DATA")
        return cls(Path(env) if env else Path.cwd() / ".grader" / "data")

    def __repr__(self) -> str:
        return f"DataStore({str(self.root)!r})"

    # ------------------------------------------------------------------- import

    def import_files(
        self,
        name: str,
        path: Path | str,
        *,
        source: str | None = None,
    ) -> DatasetStatus:
        """Import real data from a folder of the four IDX files (.gz or not) or an .npz
        with keys x_train, y_train, x_test, y_test; check it; record where it came from.

        `source` overrides the provenance recorded (fetch() records the URL).
        """
        name = _check_name(name)
        path = Path(path).absolute()
        if path.is_dir():
            files = {key: _idx_path(path, key) or path for key in KEYS}
            arrays = _read_idx_folder(path)
        elif path.is_file():
            files = dict.fromkeys(KEYS, path)
            arrays = _read_npz_input(path)
        else:
            raise DataError(
                msg(
                    f"no such file or folder to import {name} from "
                    "(give a folder with the four IDX files or an .npz)",
                    f"{name}을(를) 가져올 파일이나 폴더가 없습니다 (IDX 파일 네 개가 있는 폴더나 .npz를 주세요)",
                ),
                path,
            )
        _validate(name, arrays, files, self.sizes)
        digest = _content_digest(arrays)
        folder = self._folder(name, create=True)
        real = folder / REAL
        self._write(real, lambda f: _write_npz(f, arrays))
        # Derived files were cut from the previous real data: drop them (stage links
        # already made keep their own inode).
        for old in folder.glob("*.npz"):
            if old.name != REAL and not old.name.startswith("smoke-"):
                old.unlink(missing_ok=True)
        info = {
            "name": name,
            "source": source or str(path),
            "sha256": _sha256(real),
            "content_sha256": digest,
            "official": digest == OFFICIAL_CONTENT.get(name),
            "train": int(len(arrays["y_train"])),
            "test": int(len(arrays["y_test"])),
            "imported": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        text = json.dumps(info, indent=2) + "\n"
        self._write(folder / INFO, lambda f: f.write(text.encode()))
        return self._status(name)

    def find_system(self) -> list[str]:
        """Import data sets a system package installed (Debian's dataset-fashion-mnist)
        that the store does not hold yet; return the names imported."""
        done = []
        for name, folder in self.system_sources.items():
            if not (self._folder(name) / REAL).is_file() and _has_idx_files(folder):
                self.import_files(name, folder)
                done.append(name)
        return done

    def fetch(self, name: str) -> DatasetStatus:
        """Download the data set from where Keras gets it and import it."""
        name = _check_name(name)
        files = ["mnist.npz"] if name == "mnist" else [f + ".gz" for f in IDX_FILES.values()]
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=self.root) as tmp:
            for fname in files:
                _download(name, KERAS_ORIGIN + fname, Path(tmp) / fname)
            if name == "mnist":
                got = _sha256(Path(tmp) / "mnist.npz")
                if got != MNIST_NPZ_SHA256:
                    raise DataError(
                        msg(
                            f"downloaded mnist.npz has sha256 {got[:12]}…, expected "
                            f"{MNIST_NPZ_SHA256[:12]}…; try again, or run: grade data import "
                            "mnist <folder with the IDX files>",
                            f"내려받은 mnist.npz의 sha256이 {got[:12]}…인데 {MNIST_NPZ_SHA256[:12]}…이어야 합니다. "
                            "다시 시도하거나 다음을 실행하세요: grade data import mnist <IDX 파일이 있는 폴더>",
                        ),
                        KERAS_ORIGIN + "mnist.npz",
                    )
                return self.import_files(
                    name, Path(tmp) / "mnist.npz", source=KERAS_ORIGIN + "mnist.npz"
                )
            return self.import_files(name, tmp, source=KERAS_ORIGIN)

    # ------------------------------------------------------------------- serving

    def file(self, name: str, profile: Profile) -> Path:
        """The store file holding `name` as `profile` serves it; made and cached if needed."""
        name = _check_name(name)
        if profile.synthetic:
            base = self._folder(name, create=True) / f"smoke-v{SMOKE_VERSION}.npz"
            if not base.is_file():
                arrays = synthetic_arrays(name)
                self._write(base, lambda f: _write_npz(f, arrays))
            prefix = f"smoke-v{SMOKE_VERSION}"
            full_sizes = SMOKE_SIZES
        else:
            base = self._real(name)
            prefix = "fast"  # a subset of real data, whatever profile asks for it
            full_sizes = self._sizes(name)
        a, b = self._subset_sizes(full_sizes, profile)
        if (a, b) == tuple(full_sizes):
            return base
        derived = base.parent / f"{prefix}-{a}-{b}.npz"
        if not derived.is_file():
            arrays = _load_npz(base, name)
            cut = {k: v[: (a if k.endswith("train") else b)] for k, v in arrays.items()}
            self._write(derived, lambda f: _write_npz(f, cut))
        return derived

    def arrays(self, name: str, profile: Profile) -> Arrays:
        """((x_train, y_train), (x_test, y_test)) exactly as the kernel's load_data gets them."""
        a = _load_npz(self.file(name, profile), name)
        return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])

    def stage(self, names: Iterable[str], profile: Profile, dest: Path | str) -> Path:
        """Make dest/<name>.npz for each name, readable by every user; return dest."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        _chmod_at_least(dest, 0o755)
        for name in names:
            name = _check_name(name)
            target = dest / f"{name}.npz"
            for attempt in (1, 2):
                src = self.file(name, profile)
                try:
                    _place(src, target)
                    break
                except FileNotFoundError:  # a concurrent import removed a derived file
                    if attempt == 2:
                        raise
        return dest

    def describe(self, name: str, profile: Profile) -> str:
        """One line for reports saying what `name` is under `profile` (synthetic is said),
        in both languages (grader.i18n)."""
        name = _check_name(name)
        if profile.synthetic:
            a, b = self._subset_sizes(SMOKE_SIZES, profile)
            return msg(
                f"{name}: SYNTHETIC look-alike (smoke data, {a} train / {b} test), not real data",
                f"{name}: 실제 데이터가 아닌 합성 데이터 (smoke 데이터, 학습 {a}개 / 테스트 {b}개)",
            )
        st = self._status(name)
        if not st.present:
            return msg(f"{name}: missing from the store", f"{name}: 데이터 저장소에 없음")
        a, b = self._subset_sizes((st.train, st.test), profile)
        whole = (a, b) == (st.train, st.test)
        cut = "" if whole else f", first {a} train / {b} test"
        cut_ko = "" if whole else f", 앞쪽 학습 {a}개 / 테스트 {b}개"
        differs = st.official is False
        tag = " (content differs from the published data set)" if differs else ""
        tag_ko = " (공개된 데이터셋과 내용이 다름)" if differs else ""
        return msg(
            f"{name}: real data{cut}, sha256 {st.sha256}{tag}",
            f"{name}: 실제 데이터{cut_ko}, sha256 {st.sha256}{tag_ko}",
        )

    # ------------------------------------------------------------------- status

    def status(self) -> list[DatasetStatus]:
        return [self._status(name) for name in KNOWN_DATASETS]

    def _status(self, name: str) -> DatasetStatus:
        folder = self._folder(name)
        if not (folder / REAL).is_file():
            system = self.system_sources.get(name)
            if system is not None and _has_idx_files(system):
                return DatasetStatus(
                    name, False, source=msg(f"{system} (imported on first use)", f"{system} (처음 쓸 때 가져옴)")
                )
            return DatasetStatus(name, False)
        info = self._info(name)
        return DatasetStatus(
            name,
            True,
            source=str(info.get("source", "?")),
            sha256=str(info.get("sha256", ""))[:12],
            train=int(info.get("train", 0)),
            test=int(info.get("test", 0)),
            official=info.get("official"),
            imported=str(info.get("imported", "")),
        )

    # ------------------------------------------------------------------- internals

    def _folder(self, name: str, create: bool = False) -> Path:
        folder = self.root / name
        if create and not folder.is_dir():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _chmod_at_least(self.root, 0o755)
                _chmod_at_least(folder, 0o755)
            except OSError as exc:
                raise DataError(
                    msg(
                        f"cannot create the data store folder ({exc.strerror}); "
                        "set GRADER_DATA to a writable folder",
                        f"데이터 저장소 폴더를 만들 수 없습니다 ({exc.strerror}). "
                        "GRADER_DATA를 쓸 수 있는 폴더로 설정하세요",
                    ),
                    folder,
                ) from None
        return folder

    def _info(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self._folder(name) / INFO).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _real(self, name: str) -> Path:
        real = self._folder(name) / REAL
        if real.is_file():
            return real
        system = self.system_sources.get(name)
        if system is not None and _has_idx_files(system):
            self.import_files(name, system)
            return real
        hint = " (or apt-get install dataset-fashion-mnist)" if name == "fashion_mnist" else ""
        hint_ko = " (또는 apt-get install dataset-fashion-mnist)" if name == "fashion_mnist" else ""
        raise DataError(
            msg(
                f"data set {name} is not in the store {self.root}; "
                f"run: grade data import {name} <folder with the IDX files>{hint}",
                f"데이터셋 {name}이(가) 저장소 {self.root}에 없습니다. "
                f"다음을 실행하세요: grade data import {name} <IDX 파일이 있는 폴더>{hint_ko}",
            )
        )

    def _sizes(self, name: str) -> tuple[int, int]:
        info = self._info(name)
        if isinstance(info.get("train"), int) and isinstance(info.get("test"), int):
            return info["train"], info["test"]
        a = _load_npz(self._folder(name) / REAL, name)
        return len(a["y_train"]), len(a["y_test"])

    @staticmethod
    def _subset_sizes(sizes: tuple[int, int], profile: Profile) -> tuple[int, int]:
        return (
            min(profile.train_subset or sizes[0], sizes[0]),
            min(profile.test_subset or sizes[1], sizes[1]),
        )

    def _write(self, path: Path, write: Callable[[IO[bytes]], object]) -> None:
        try:
            _atomic_write(path, write)
        except PermissionError as exc:
            raise DataError(
                msg(
                    f"cannot write to the data store ({exc.strerror}); "
                    "set GRADER_DATA to a folder this user can write",
                    f"데이터 저장소에 쓸 수 없습니다 ({exc.strerror}). "
                    "GRADER_DATA를 이 사용자가 쓸 수 있는 폴더로 설정하세요",
                ),
                path,
            ) from None


# ----------------------------------------------------------------------- files


def _check_name(name: str) -> str:
    norm = name.strip().lower().replace("-", "_")
    if norm not in KNOWN_DATASETS:
        known = ", ".join(KNOWN_DATASETS)
        raise DataError(
            msg(f"unknown data set {name!r} (known: {known})", f"알 수 없는 데이터셋 {name!r} (아는 것: {known})")
        )
    return norm


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object], mode: int = 0o444) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _chmod_at_least(path: Path, mode: int) -> None:
    current = path.stat().st_mode & 0o777
    if current & mode != mode:
        os.chmod(path, current | mode)


def _place(src: Path, target: Path) -> None:
    """Put src at target atomically: a hard link when possible, else a 0444 copy."""
    info = src.stat()
    try:
        if os.path.samestat(info, target.stat()):
            return  # already staged
    except FileNotFoundError:
        pass
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    linkable = info.st_mode & 0o444 == 0o444
    try:
        if not linkable:
            raise OSError(errno.EPERM, "store file not readable by all")
        os.link(src, tmp)
    except OSError as exc:
        if exc.errno not in (
            errno.EXDEV,
            errno.EPERM,
            errno.EMLINK,
            errno.EOPNOTSUPP,
            errno.EACCES,
        ):
            raise
        try:
            with open(src, "rb") as fin, open(tmp, "xb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                os.fsync(fout.fileno())
            os.chmod(tmp, 0o444)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    try:
        os.replace(tmp, target)
    finally:
        # rename(2) is a no-op, leaving tmp behind, when target already is a link to
        # the same inode (another worker staged the same file a moment ago).
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _content_digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in KEYS:
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _write_npz(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz (what np.load reads) with fixed timestamps: same arrays,
    same bytes, so the recorded sha256 identifies the content."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key in KEYS:
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(
                    out, np.ascontiguousarray(arrays[key]), allow_pickle=False
                )


def _load_npz(path: Path, name: str) -> dict[str, np.ndarray]:
    """Read a store file; damage is a DataError saying to import again."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            return {key: z[key] for key in KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            msg(
                f"damaged store file ({type(exc).__name__}: {exc}); "
                f"run: grade data import {name} <folder with the IDX files>",
                f"저장소 파일이 손상되었습니다 ({type(exc).__name__}: {exc}). "
                f"다음을 실행하세요: grade data import {name} <IDX 파일이 있는 폴더>",
            ),
            path,
        ) from None


def _read_npz_input(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                keys = ", ".join(KEYS)
                raise DataError(
                    msg(
                        f"is a single .npy array, not an .npz with {keys}",
                        f"{keys}이(가) 든 .npz가 아니라 .npy 배열 하나입니다",
                    ),
                    path,
                )
            with z:
                missing = [k for k in KEYS if k not in z.files]
                if missing:
                    lacks, keys = ", ".join(missing), ", ".join(KEYS)
                    raise DataError(
                        msg(
                            f"the .npz lacks {lacks} (it needs {keys}, as keras' load_data returns them)",
                            f".npz에 {lacks}이(가) 없습니다 (keras의 load_data가 돌려주는 {keys}이(가) 필요합니다)",
                        ),
                        path,
                    )
                return {k: z[k] for k in KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(msg(
                f"not a readable .npz file ({exc})",
                f"읽을 수 있는 .npz 파일이 아닙니다 ({exc})",
            ), path) from None


def _idx_path(folder: Path, key: str) -> Path | None:
    stem = IDX_FILES[key]
    dotted = stem.replace("-idx", ".idx")  # some mirrors: train-images.idx3-ubyte
    for cand in (stem + ".gz", stem, dotted + ".gz", dotted):
        if (folder / cand).is_file():
            return folder / cand
    return None


def _has_idx_files(folder: Path) -> bool:
    return folder.is_dir() and all(_idx_path(folder, k) is not None for k in KEYS)


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for key in KEYS:
        path = _idx_path(folder, key)
        if path is None:
            needs = ", ".join(f"{v}.gz" for v in IDX_FILES.values())
            raise DataError(
                msg(
                    f"missing {IDX_FILES[key]}.gz (a folder to import needs {needs}, gzipped or not)",
                    f"{IDX_FILES[key]}.gz가 없습니다 (가져올 폴더에는 {needs}이(가) 필요합니다. "
                    "gzip 압축 여부는 상관없습니다)",
                ),
                folder,
            )
        out[key] = _read_idx(path, images=key.startswith("x"))
    return out


def _read_idx(path: Path, images: bool) -> np.ndarray:
    """One IDX file (gzipped or not) as a uint8 array, with its header checked."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zipfile.error, OSError) as exc:
        raise DataError(
            msg(
                f"not a complete gzip file ({exc}); get an intact copy",
                f"온전한 gzip 파일이 아닙니다 ({exc}). 손상되지 않은 사본을 구하세요",
            ),
            path,
        ) from None
    kind = "image" if images else "label"
    magic = IDX_IMAGES if images else IDX_LABELS
    if len(raw) < 4:
        raise DataError(
            msg(
                f"truncated: {len(raw)} bytes, too short for an IDX header",
                f"잘렸습니다: {len(raw)}바이트로, IDX 헤더보다 짧습니다",
            ),
            path,
        )
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise DataError(
            msg(
                f"bad magic number {got:#010x}, expected {magic:#010x} (IDX {kind} file of unsigned "
                "bytes); wrong or damaged file",
                f"매직 넘버가 {got:#010x}인데 {magic:#010x}이어야 합니다 (부호 없는 바이트의 IDX {kind} 파일). "
                "잘못되었거나 손상된 파일입니다",
            ),
            path,
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            msg(
                f"truncated: the IDX header needs {header} bytes, the file has {len(raw)}",
                f"잘렸습니다: IDX 헤더에 {header}바이트가 필요한데 파일은 {len(raw)}바이트입니다",
            ),
            path,
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if images and dims[1:] != IMAGE_SHAPE:
        raise DataError(
            msg(
                f"images are {dims[1]}x{dims[2]}, expected 28x28",
                f"이미지가 {dims[1]}x{dims[2]}인데 28x28이어야 합니다",
            ), path
        )
    need = int(np.prod(dims, dtype=np.int64))
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "has extra bytes"
        what_ko = "잘렸습니다" if have < need else "남는 바이트가 있습니다"
        raise DataError(
            msg(
                f"{what}: the header announces {dims[0]} {kind}s ({need} bytes of data), "
                f"the file holds {have}; get an intact copy",
                f"{what_ko}: 헤더에는 {kind} {dims[0]}개 (데이터 {need}바이트)라고 되어 있는데 "
                f"파일에는 {have}바이트가 있습니다. 손상되지 않은 사본을 구하세요",
            ),
            path,
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims).copy()


def _validate(
    name: str, arrays: dict[str, np.ndarray], files: dict[str, Path], sizes: tuple[int, int] | None
) -> None:
    """Check shapes, dtypes, counts and labels; `files` names the file each array came from."""
    for key in KEYS:
        a, source = arrays[key], files[key]
        want = "(N, 28, 28)" if key.startswith("x") else "(N,)"
        ok_shape = a.shape[1:] == IMAGE_SHAPE if key.startswith("x") else a.ndim == 1
        if not ok_shape:
            raise DataError(msg(
                    f"{key} has shape {a.shape}, expected {want}",
                    f"{key}의 모양이 {a.shape}인데 {want}이어야 합니다",
                ), source)
        if a.dtype != np.uint8:
            if not np.issubdtype(a.dtype, np.integer) or (
                a.size and (a.min() < 0 or a.max() > 255)
            ):
                raise DataError(
                    msg(
                        f"{key} has dtype {a.dtype}, expected uint8",
                        f"{key}의 dtype이 {a.dtype}인데 uint8이어야 합니다",
                    ), source
                )
            arrays[key] = a.astype(np.uint8)
    for split, size in zip(("train", "test"), sizes or (None, None), strict=True):
        n_x, n_y = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_x != n_y:
            raise DataError(
                msg(
                    f"{n_x} {split} images but {n_y} {split} labels",
                    f"{split} 이미지는 {n_x}개인데 {split} 레이블은 {n_y}개입니다",
                ),
                files[f"y_{split}"],
            )
        if size is not None and n_x != size:
            raise DataError(
                msg(
                    f"{n_x} {split} images; the real {name} has {size} — not the full data set?",
                    f"{split} 이미지가 {n_x}개인데 실제 {name}에는 {size}개가 있습니다 — 전체 데이터셋이 아닌가요?",
                ),
                files[f"x_{split}"],
            )
        labels = arrays[f"y_{split}"]
        if labels.size and labels.max() >= NUM_CLASSES:
            top = int(labels.max())
            raise DataError(
                msg(
                    f"y_{split} holds label {top}; labels must be 0..{NUM_CLASSES - 1}",
                    f"y_{split}에 레이블 {top}이(가) 있습니다. 레이블은 0..{NUM_CLASSES - 1}이어야 합니다",
                ),
                files[f"y_{split}"],
            )


def _download(name: str, url: str, dest: Path) -> None:
    try:
        with urlopen(url, timeout=FETCH_TIMEOUT_S) as resp, open(dest, "wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except (URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(
            msg(
                f"cannot download {name} from {url} ({reason}); without internet, "
                f"run: grade data import {name} <folder with the IDX files>",
                f"{url}에서 {name}을(를) 내려받을 수 없습니다 ({reason}). 인터넷이 없으면 "
                f"다음을 실행하세요: grade data import {name} <IDX 파일이 있는 폴더>",
            )
        ) from None


# ----------------------------------------------------------------------- synthetic data

# 7-segment digits for synthetic mnist: segment -> (row0, row1, col0, col1) in a 28x28 grid
_SEG = {
    "a": (5, 7, 9, 19), "b": (5, 14, 17, 19), "c": (13, 23, 17, 19), "d": (21, 23, 9, 19),
    "e": (13, 23, 9, 11), "f": (5, 14, 9, 11), "g": (13, 15, 9, 19),
}  # fmt: skip
_DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]

# Crude garment silhouettes for synthetic fashion_mnist, as unions of rectangles
# (and holes) in the Fashion-MNIST class order.
_GARMENTS: list[tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]] = [
    ([(6, 24, 9, 19), (6, 11, 4, 9), (6, 11, 19, 24)], []),  # T-shirt/top
    ([(3, 26, 8, 13), (3, 26, 15, 20), (3, 7, 8, 20)], []),  # Trouser
    ([(5, 24, 9, 19), (5, 22, 4, 8), (5, 22, 20, 24)], []),  # Pullover
    ([(3 + r, 4 + r, 11 - r // 3, 17 + r // 3) for r in range(23)], []),  # Dress
    ([(4, 26, 8, 20), (4, 24, 3, 7), (4, 24, 21, 25)], [(10, 26, 13, 15)]),  # Coat
    ([(15, 17, 3, 25), (19, 21, 3, 25), (23, 25, 3, 25)], []),  # Sandal
    ([(5, 25, 9, 19), (5, 16, 5, 9), (5, 16, 19, 23)], [(5, 9, 12, 16)]),  # Shirt
    ([(16, 23, 2, 26), (12, 16, 12, 26)], []),  # Sneaker
    ([(10, 25, 4, 24), (4, 10, 8, 10), (4, 10, 18, 20), (4, 6, 8, 20)], []),  # Bag
    ([(5, 23, 13, 22), (17, 23, 3, 22), (23, 25, 3, 23)], []),  # Ankle boot
]


def _masks(name: str, thick: int) -> np.ndarray:
    masks = np.zeros((NUM_CLASSES, *IMAGE_SHAPE), np.float32)
    for c in range(NUM_CLASSES):
        if name == "mnist":
            for s in _DIGITS[c]:
                r0, r1, c0, c1 = _SEG[s]
                # thicker strokes grow inward/outward by one pixel
                if r1 - r0 == 2:
                    r1 += thick - 2
                else:
                    c1 += thick - 2
                masks[c, r0:r1, c0:c1] = 1.0
        else:
            fills, holes = _GARMENTS[c]
            for r0, r1, c0, c1 in fills:
                masks[c, r0:r1, c0:c1] = 1.0
            for r0, r1, c0, c1 in holes:
                masks[c, r0:r1, c0:c1] = 0.0
    return masks


def synthetic_arrays(name: str) -> dict[str, np.ndarray]:
    """Deterministic, learnable look-alike of `name` for the smoke profile.

    Each class is a fixed pattern (7-segment digits for mnist, garment silhouettes for
    fashion_mnist), shifted by up to 1 pixel, with random stroke/brightness and noise,
    so the label is a function of the image but no two images are equal.
    """
    name = _check_name(name)
    rng = np.random.default_rng(SMOKE_SEEDS[name])
    n = sum(SMOKE_SIZES)
    labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.uint8)
    by_thick = {t: _masks(name, t) for t in (2, 3)}
    thick = rng.integers(2, 4, n)
    shifts = rng.integers(-1, 2, (n, 2))
    bright = rng.uniform(150, 255, n).astype(np.float32)
    images = np.empty((n, *IMAGE_SHAPE), np.float32)
    for i in range(n):
        images[i] = np.roll(by_thick[int(thick[i])][labels[i]], tuple(shifts[i]), axis=(0, 1))
    if name == "fashion_mnist":  # textured fill
        images *= rng.uniform(0.6, 1.0, images.shape).astype(np.float32)
    images *= bright[:, None, None]
    images += rng.normal(0, 12, images.shape).astype(np.float32)
    speckle = rng.random(images.shape) < 0.03
    images[speckle] += rng.uniform(30, 120, int(speckle.sum())).astype(np.float32)
    x = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    a = SMOKE_SIZES[0]
    return {"x_train": x[:a], "y_train": labels[:a], "x_test": x[a:], "y_test": labels[a:]}


# ----------------------------------------------------------------------- CLI handlers


def format_status(rows: Iterable[DatasetStatus], lang: str = DEFAULT_LANG) -> str:
    """A small table for `grade data status`, in `lang`."""
    ko = lang == "ko"
    head = ("데이터셋", "실제 데이터", "학습", "테스트") if ko else ("data set", "real data", "train", "test")
    table = [(*head, "sha256", "출처" if ko else "source")]
    states = {"official": "공식", "present": "있음", "DIFFERS": "다름", "missing": "없음"} if ko else {}
    hints = []
    for st in rows:
        source = pick(st.source, lang)
        if st.present:
            state = "official" if st.official else ("present" if st.official is None else "DIFFERS")
            table.append((st.name, states.get(state, state), str(st.train), str(st.test), st.sha256, source))
            if st.official is False:
                hints.append(
                    f"{st.name}: 공개된 데이터셋과 내용이 다릅니다"
                    if ko
                    else f"{st.name}: content differs from the published data set"
                )
        else:
            table.append((st.name, states.get("missing", "missing"), "-", "-", "-", source or "-"))
            if not st.source:
                hints.append(
                    f"{st.name}: 다음을 실행하세요: grade data import {st.name} <IDX 파일이 있는 폴더> "
                    f"(인터넷이 되는 곳에서는 grade data fetch {st.name})"
                    if ko
                    else f"{st.name}: run: grade data import {st.name} <folder with the IDX files> "
                    f"(or grade data fetch {st.name} where there is internet)"
                )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    ]
    lines.append(
        "(smoke 프로필은 합성 데이터를 쓰므로 여기에 아무것도 필요하지 않습니다)"
        if ko
        else "(the smoke profile serves synthetic look-alikes; they need nothing here)"
    )
    return "\n".join(lines + hints)


def _one_line(verb: str, st: DatasetStatus) -> str:
    """"imported NAME: ..." / "downloaded NAME: ..." in both languages."""
    check = {
        True: msg("matches the published data set", "공개된 데이터셋과 같음"),
        False: msg(
            "WARNING: content differs from the published data set", "경고: 공개된 데이터셋과 내용이 다름"
        ),
        None: msg("not checked", "확인하지 않음"),
    }[st.official]
    verb_ko = {"imported": "가져옴", "downloaded": "내려받음"}.get(verb, verb)
    return msg(
        f"{verb} {st.name}: {st.train} train / {st.test} test, sha256 {st.sha256}…, {check} "
        f"(from {st.source})",
        f"{st.name} {verb_ko}: 학습 {st.train}개 / 테스트 {st.test}개, sha256 {st.sha256}…, "
        f"{pick(check, 'ko')} (출처: {pick(st.source, 'ko')})",
    )


def cmd_status(store: DataStore, lang: str = DEFAULT_LANG) -> int:
    print(f"데이터 저장소 {store.root}" if lang == "ko" else f"data store {store.root}")
    print(format_status(store.status(), lang))
    return 0


def cmd_import(store: DataStore, name: str, path: Path | str, lang: str = DEFAULT_LANG) -> int:
    """`grade data import NAME PATH`; a DataError propagates to the CLI (exit 1)."""
    st = store.import_files(name, path)
    print(pick(_one_line("imported", st), lang))
    return 0


def cmd_fetch(store: DataStore, name: str, lang: str = DEFAULT_LANG) -> int:
    """`grade data fetch NAME`; a DataError (offline, bad download) propagates to the CLI."""
    st = store.fetch(name)
    print(pick(_one_line("downloaded", st), lang))
    return 0
