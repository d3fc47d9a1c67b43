"""The data set store: import, validation, derived files, staging, synthetic data."""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import os
import stat
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

from grader import datastore
from grader.datastore import DataStore, cmd_import, cmd_status, format_status
from grader.errors import DataError
from grader.spec import DEFAULT_PROFILES, Profile

FULL, FAST, SMOKE = DEFAULT_PROFILES["full"], DEFAULT_PROFILES["fast"], DEFAULT_PROFILES["smoke"]
TINY = Profile("fast", max_epochs=3, train_subset=10, test_subset=5)
N_TRAIN, N_TEST = 50, 20
REPO = Path(__file__).resolve().parents[1]
REAL_MNIST = next(
    (p for p in (REPO.parent / "shared/data/mnist", Path("/work/shared/data/mnist")) if p.is_dir()),
    None,
)
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


# ------------------------------------------------------------------ fabricated data


def write_idx(path: Path, array: np.ndarray, *, magic: int | None = None, cut: int = 0) -> Path:
    """An IDX file of unsigned bytes (gzipped when the name ends .gz); `cut` drops bytes."""
    if magic is None:
        magic = 0x0800 | array.ndim
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    raw += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if cut:
        raw = raw[:-cut]
    path.write_bytes(gzip.compress(raw, mtime=0) if path.name.endswith(".gz") else raw)
    return path


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in datastore.IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return folder


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    return tiny_arrays()


@pytest.fixture
def idx_dir(tmp_path: Path, data: dict[str, np.ndarray]) -> Path:
    return write_idx_folder(tmp_path / "idx", data)


@pytest.fixture
def store(tmp_path: Path) -> DataStore:
    return DataStore(tmp_path / "store", sizes=(N_TRAIN, N_TEST), system_sources={})


@pytest.fixture
def loaded(store: DataStore, idx_dir: Path) -> DataStore:
    store.import_files("mnist", idx_dir)
    return store


def flat(arrays) -> dict[str, np.ndarray]:
    (xa, ya), (xb, yb) = arrays
    return {"x_train": xa, "y_train": ya, "x_test": xb, "y_test": yb}


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for key in datastore.KEYS:
        assert got[key].dtype == np.uint8, key
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


# ------------------------------------------------------------------ import


@pytest.mark.parametrize("gz", [True, False])
def test_import_idx_round_trip(store, tmp_path, data, gz):
    folder = write_idx_folder(tmp_path / "raw", data, gz=gz)
    st = store.import_files("mnist", folder)
    assert (st.present, st.train, st.test, st.official) == (True, N_TRAIN, N_TEST, False)
    assert_same(flat(store.arrays("mnist", FULL)), data)

    real = store.root / "mnist" / "real.npz"
    info = json.loads((store.root / "mnist" / "info.json").read_text())
    assert info["source"] == str(folder)
    assert info["sha256"] == hashlib.sha256(real.read_bytes()).hexdigest()
    assert info["imported"][:4].isdigit() and st.sha256 == info["sha256"][:12]
    for f in (real, store.root / "mnist" / "info.json"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o444
    assert not list(store.root.rglob("*.tmp"))


def test_import_npz_round_trip_and_same_bytes(store, tmp_path, data, idx_dir):
    np.savez(tmp_path / "keras-style.npz", **data)  # what keras' mnist.npz looks like
    first = store.import_files("mnist", tmp_path / "keras-style.npz")
    assert_same(flat(store.arrays("mnist", FULL)), data)
    # The same arrays from IDX files give the very same store file.
    assert store.import_files("mnist", idx_dir).sha256 == first.sha256


def test_reimport_drops_stale_derived_files(loaded, tmp_path):
    old = loaded.arrays("mnist", TINY)
    other = tiny_arrays(seed=1)
    loaded.import_files("mnist", write_idx_folder(tmp_path / "other", other))
    new = flat(loaded.arrays("mnist", TINY))
    np.testing.assert_array_equal(new["y_train"], other["y_train"][:10])
    assert not np.array_equal(new["x_train"], old[0][0])


def test_name_spelling_and_unknown_name(loaded):
    assert loaded.arrays("Fashion-MNIST", SMOKE)[0][0].shape == (1200, 28, 28)
    with pytest.raises(DataError, match="unknown data set 'cifar10'.*mnist, fashion_mnist"):
        loaded.arrays("cifar10", FULL)


# ------------------------------------------------------------------ bad input


def _bad_magic(folder: Path, data) -> Path:  # labels written with the image magic
    return write_idx(folder / "train-labels-idx1-ubyte.gz", data["y_train"], magic=0x803)


def _truncated(folder: Path, data) -> Path:
    return write_idx(folder / "t10k-images-idx3-ubyte.gz", data["x_test"], cut=100)


def _extra_bytes(folder: Path, data) -> Path:
    path = folder / "t10k-labels-idx1-ubyte"
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx(path, data["y_test"])
    path.write_bytes(path.read_bytes() + b"\0")
    return path


def _broken_gzip(folder: Path, data) -> Path:
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-500])
    return path


def _not_28x28(folder: Path, data) -> Path:
    return write_idx(folder / "train-images-idx3-ubyte.gz", data["x_train"][:, :27, :27])


def _label_10(folder: Path, data) -> Path:
    labels = data["y_test"].copy()
    labels[3] = 10
    return write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)


def _fewer_labels(folder: Path, data) -> Path:
    return write_idx(folder / "train-labels-idx1-ubyte.gz", data["y_train"][:-1])


def _missing(folder: Path, data) -> Path:
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    return folder


@pytest.mark.parametrize(
    "damage, message",
    [
        (_bad_magic, "bad magic number 0x00000803, expected 0x00000801"),
        (_truncated, "truncated: the header announces 20 images"),
        (_extra_bytes, "has extra bytes"),
        (_broken_gzip, "not a complete gzip file"),
        (_not_28x28, "images are 27x27, expected 28x28"),
        (_label_10, r"y_test holds label 10; labels must be 0\.\.9"),
        (_fewer_labels, "50 train images but 49 train labels"),
        (_missing, "missing t10k-labels-idx1-ubyte.gz"),
    ],
)
def test_bad_idx_names_the_file(store, idx_dir, data, damage, message):
    bad = damage(idx_dir, data)
    with pytest.raises(DataError, match=message) as info:
        store.import_files("mnist", idx_dir)
    assert info.value.path == bad and str(bad) in str(info.value)
    assert not (store.root / "mnist" / "real.npz").exists()


def test_counts_are_strict_by_default(tmp_path, idx_dir):
    with pytest.raises(DataError, match="50 train images; the real mnist has 60000"):
        DataStore(tmp_path / "strict", system_sources={}).import_files("mnist", idx_dir)


def test_bad_npz(store, tmp_path, data):
    np.savez(tmp_path / "partial.npz", x_train=data["x_train"], y_train=data["y_train"])
    with pytest.raises(DataError, match="lacks x_test, y_test") as info:
        store.import_files("mnist", tmp_path / "partial.npz")
    assert info.value.path == tmp_path / "partial.npz"
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        store.import_files("mnist", tmp_path / "junk.npz")
    with pytest.raises(DataError, match="no such file or folder"):
        store.import_files("mnist", tmp_path / "nowhere")


def test_damaged_store_file_says_reimport(loaded):
    real = loaded.root / "mnist" / "real.npz"
    os.chmod(real, 0o644)
    real.write_bytes(real.read_bytes()[:1000])
    with pytest.raises(DataError, match="damaged store file.*grade data import mnist"):
        loaded.arrays("mnist", FULL)


# ------------------------------------------------------------------ profiles


def test_fast_profile_takes_first_rows_and_caches(loaded, data):
    got = flat(loaded.arrays("mnist", TINY))
    assert_same(got, {k: v[: (10 if k.endswith("train") else 5)] for k, v in data.items()})
    cached = loaded.root / "mnist" / "fast-10-5.npz"
    assert loaded.file("mnist", TINY) == cached
    assert stat.S_IMODE(cached.stat().st_mode) == 0o444
    before = cached.stat().st_mtime_ns
    assert_same(flat(loaded.arrays("mnist", TINY)), got)
    assert cached.stat().st_mtime_ns == before  # served from the cache, not remade
    # A subset as large as the data set is the data set itself.
    assert loaded.file("mnist", FAST) == loaded.root / "mnist" / "real.npz"


def test_smoke_is_synthetic_deterministic_and_needs_no_real_data(tmp_path):
    a = DataStore(tmp_path / "a", system_sources={})
    b = DataStore(tmp_path / "b", system_sources={})
    for name in ("mnist", "fashion_mnist"):
        (x, y), (xt, yt) = a.arrays(name, SMOKE)
        assert (x.shape, y.shape, xt.shape, yt.shape) == (
            (1200, 28, 28),
            (1200,),
            (200, 28, 28),
            (200,),
        )
        assert {x.dtype, y.dtype, xt.dtype, yt.dtype} == {np.dtype(np.uint8)}
        assert set(np.unique(y)) == set(range(10)) and set(np.unique(yt)) == set(range(10))
        assert a.file(name, SMOKE).read_bytes() == b.file(name, SMOKE).read_bytes()
        assert "SYNTHETIC" in a.describe(name, SMOKE)
    assert not np.array_equal(
        a.arrays("mnist", SMOKE)[0][0], a.arrays("fashion_mnist", SMOKE)[0][0]
    )
    assert not (a.root / "mnist" / "real.npz").exists()


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_smoke_is_learnable(tmp_path, name):
    (x, y), (xt, yt) = DataStore(tmp_path, system_sources={}).arrays(name, SMOKE)
    x, xt = x.reshape(len(x), -1) / 255.0, xt.reshape(len(xt), -1) / 255.0
    means = np.stack([x[y == c].mean(axis=0) for c in range(10)])
    pred = ((xt[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert (pred == yt).mean() > 0.7  # chance is 0.1


def test_missing_real_data_is_one_actionable_line(store):
    with pytest.raises(DataError) as info:
        store.arrays("mnist", FAST)
    assert str(info.value) == (
        f"data set mnist is not in the store {store.root}; "
        "run: grade data import mnist <folder with the IDX files>"
    )
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        store.stage(["fashion_mnist"], FULL, store.root.parent / "dest")


def test_system_data_is_imported_on_first_use(tmp_path, idx_dir):
    store = DataStore(
        tmp_path / "s", sizes=(N_TRAIN, N_TEST), system_sources={"fashion_mnist": idx_dir}
    )
    assert store.status()[1].source == f"{idx_dir} (imported on first use)"
    assert store.arrays("fashion_mnist", FULL)[0][0].shape == (N_TRAIN, 28, 28)
    assert store.status()[1].present and store.find_system() == []


# ------------------------------------------------------------------ fetch


def test_fetch_offline_is_one_line(store, monkeypatch):
    def offline(url, timeout):
        assert url.startswith(datastore.KERAS_ORIGIN) and timeout <= 30
        raise URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(datastore, "urlopen", offline)
    for name in ("mnist", "fashion_mnist"):
        with pytest.raises(DataError) as info:
            store.fetch(name)
        text = str(info.value)
        assert "\n" not in text and f"cannot download {name} from https://" in text
        assert f"run: grade data import {name} <folder with the IDX files>" in text
    assert not (store.root / "mnist" / "real.npz").exists()
    assert [p.name for p in store.root.iterdir()] == []  # no download folder left


# ------------------------------------------------------------------ stage


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_stage_hard_links_readable_by_all(loaded, tmp_path):
    dest = loaded.stage(["mnist"], TINY, tmp_path / "dest")
    assert [p.name for p in dest.iterdir()] == ["mnist.npz"]
    staged = dest / "mnist.npz"
    assert _mode(dest) & 0o755 == 0o755 and _mode(staged) == 0o444
    assert not staged.is_symlink()
    assert staged.stat().st_ino == loaded.file("mnist", TINY).stat().st_ino
    with np.load(staged, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["y_train"], loaded.arrays("mnist", TINY)[0][1])
    # Staging again (another profile) replaces the file in place.
    loaded.stage(["mnist", "fashion_mnist"], SMOKE, dest)
    assert staged.stat().st_ino == loaded.file("mnist", SMOKE).stat().st_ino
    assert sorted(p.name for p in dest.iterdir()) == ["fashion_mnist.npz", "mnist.npz"]


def test_stage_copies_across_filesystems(loaded, tmp_path, monkeypatch):
    def no_link(src, dst, **kw):
        raise OSError(18, "Invalid cross-device link")  # EXDEV

    monkeypatch.setattr(datastore.os, "link", no_link)
    staged = loaded.stage(["mnist"], FULL, tmp_path / "dest") / "mnist.npz"
    assert not staged.is_symlink() and staged.stat().st_nlink == 1 and _mode(staged) == 0o444
    assert staged.read_bytes() == (loaded.root / "mnist" / "real.npz").read_bytes()


def _stage_many(root: str, dest: str, sizes, barrier, rounds: int) -> None:
    store = DataStore(root, sizes=sizes, system_sources={})
    barrier.wait(timeout=30)
    for i in range(rounds):
        profile = Profile("fast", train_subset=10 + i, test_subset=5)
        store.stage(["mnist"], profile, Path(dest))
        store.stage(["mnist", "fashion_mnist"], SMOKE, Path(dest) / f"smoke-{os.getpid()}-{i}")


def test_concurrent_stage_from_two_processes(loaded, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    args = (str(loaded.root), str(tmp_path / "dest"), (N_TRAIN, N_TEST), barrier, 8)
    procs = [ctx.Process(target=_stage_many, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    with np.load(tmp_path / "dest" / "mnist.npz", allow_pickle=False) as z:
        assert z["x_train"].shape == (17, 28, 28)
    assert not list(loaded.root.rglob("*.tmp")) and not list((tmp_path / "dest").rglob("*.tmp"))


# ------------------------------------------------------------------ status and commands


def test_status_and_commands(store, idx_dir, capsys):
    rows = store.status()
    assert [(r.name, r.present) for r in rows] == [("mnist", False), ("fashion_mnist", False)]
    assert "grade data import mnist <folder with the IDX files>" in format_status(rows)

    assert cmd_import(store, "mnist", idx_dir) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith(f"imported mnist: {N_TRAIN} train / {N_TEST} test")
    assert "content differs from the published data set" in line

    mnist = store.status()[0]
    assert (mnist.present, mnist.train, mnist.source, len(mnist.sha256)) == (
        True,
        N_TRAIN,
        str(idx_dir),
        12,
    )
    assert cmd_status(store) == 0
    table = capsys.readouterr().out
    assert "mnist" in table and "DIFFERS" in table and mnist.sha256 in table
    assert "first 10 train / 5 test" in store.describe("mnist", TINY)


def test_default_store_location(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_DATA", str(tmp_path / "d"))
    assert DataStore.default().root == tmp_path / "d"
    monkeypatch.delenv("GRADER_DATA")
    monkeypatch.chdir(tmp_path)
    assert DataStore.default().root == tmp_path / ".grader" / "data"


# ------------------------------------------------------------------ the real data sets


@pytest.mark.skipif(REAL_MNIST is None, reason="real MNIST not found in ../shared/data/mnist")
def test_real_mnist_imports(tmp_path):
    store = DataStore(tmp_path, system_sources={})
    st = store.import_files("mnist", REAL_MNIST)
    assert (st.train, st.test, st.official) == (60000, 10000, True)
    (x, y), (xt, yt) = store.arrays("mnist", FULL)
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4] and y[2] == 4
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x.shape == (60000, 28, 28) and round(float(x.mean()), 3) == 33.318
    (xf, yf), (xtf, _) = store.arrays("mnist", FAST)
    assert (len(xf), len(xtf)) == (6000, 2000) and np.array_equal(yf, y[:6000])


@pytest.mark.skipif(
    not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist not installed"
)
def test_debian_fashion_mnist_is_found(tmp_path):
    store = DataStore(tmp_path)
    assert store.find_system() == ["fashion_mnist"]
    st = store.status()[1]
    assert (st.present, st.train, st.test, st.official) == (True, 60000, 10000, True)
    (_, y), _ = store.arrays("fashion_mnist", FULL)
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
