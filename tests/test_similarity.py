"""The similarity report: renamed copies are found, the starter's code and unrelated
solutions are not, and what the report shows is capped. Fast: pure Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.similarity import Options, code_cells, compare, compare_notebooks, normalise

STARTER = [
    "import numpy as np\n\n# 6x6 digits used by every exercise\n"
    "DIGIT = np.array([[0, 1, 1, 1, 1, 0],\n                  [0, 0, 0, 0, 1, 0],\n"
    "                  [0, 1, 1, 1, 1, 0]])\nprint(DIGIT.shape, DIGIT.sum())",
    "def conv2d(image, kernel):\n    # YOUR CODE HERE\n    raise NotImplementedError",
    "result = conv2d(DIGIT, np.ones((3, 3)))\nprint('result:', result)\nassert result.shape == (4, 4)",
]

ORIGINAL = [
    STARTER[0],
    """def conv2d(image, kernel):
    # slide the kernel over every position
    kh, kw = kernel.shape
    out_h = image.shape[0] - kh + 1
    out_w = image.shape[1] - kw + 1
    out = np.zeros((out_h, out_w))
    for row in range(out_h):
        for col in range(out_w):
            patch = image[row:row + kh, col:col + kw]
            out[row, col] = np.sum(patch * kernel)
    return out
""",
    """def relu(values):
    return np.where(values > 0, values, 0.0)

def pool(fmap, size=2):
    h, w = fmap.shape[0] // size, fmap.shape[1] // size
    pooled = np.empty((h, w))
    for a in range(h):
        for b in range(w):
            pooled[a, b] = fmap[a * size:(a + 1) * size, b * size:(b + 1) * size].max()
    return pooled
""",
    STARTER[2],
]

# The same code: every variable renamed, comments reworded and moved, spacing changed.
RENAMED = [
    STARTER[0],
    """def conv2d(img, k):
    a, b = k.shape   # kernel size
    H = img.shape[0] - a + 1
    W = img.shape[1] - b + 1
    # output map
    res = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            window = img[y:y+a, x:x+b]
            res[y, x] = np.sum(window*k)   # elementwise product, summed
    return res
""",
    """# activation first
def activation(z):
    return np.where(z > 0, z, 0.0)

def downsample(m, s=2):
    p, q = m.shape[0] // s, m.shape[1] // s
    small = np.empty((p, q))
    for i in range(p):
        for j in range(q):
            small[i, j] = m[i * s:(i + 1) * s, j * s:(j + 1) * s].max()
    return small
""",
    STARTER[2],
]

# The same task solved another way: vectorised, different structure.
UNRELATED = [
    STARTER[0],
    """from numpy.lib.stride_tricks import sliding_window_view

def conv2d(image, kernel):
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum('ijkl,kl->ij', windows, kernel)
""",
    """relu = lambda t: np.maximum(t, 0)

def pool(x):
    n, m = x.shape
    return x[: n // 2 * 2, : m // 2 * 2].reshape(n // 2, 2, m // 2, 2).max(axis=(1, 3))
""",
    STARTER[2],
]

# Another student who did only the conv part, by a third route.
THIRD = [
    STARTER[0],
    """def conv2d(image, kernel):
    rows = []
    size = len(kernel)
    for r in range(len(image) - size + 1):
        line = []
        for c in range(len(image[0]) - size + 1):
            total = 0
            for dr in range(size):
                for dc in range(size):
                    total += image[r + dr][c + dc] * kernel[dr][dc]
            line.append(total)
        rows.append(line)
    return np.array(rows)
""",
    STARTER[2],
]


def test_names_literals_comments_and_spacing_do_not_matter() -> None:
    a = [t for t, _ in normalise("total = x + 1  # add one\nprint('sum', total)\n")]
    b = [t for t, _ in normalise("s=y+2\n\n\nprint(\"total:\",   s)")]
    assert a == b
    assert "N" in a and "0" in a and "S" in a
    assert [t for t, _ in normalise("for i in range(3):\n    pass")][:2] == ["for", "N"]  # keywords stay


def test_a_renamed_copy_is_found_and_unrelated_solutions_are_not() -> None:
    report = compare(
        {"kim": ORIGINAL, "lee": RENAMED, "park": UNRELATED, "choi": THIRD}, starter=STARTER
    )
    assert [(p.a, p.b) for p in report.pairs] == [("kim", "lee")]
    pair = report.pairs[0]
    assert pair.score >= 0.9
    assert report.total == 1 and report.compared == 4 and report.starter_ignored
    shown = "\n".join(x.a.text + x.b.text for x in pair.passages)
    assert "out[row, col] = np.sum(patch * kernel)" in shown
    assert "res[y, x] = np.sum(window*k)" in shown


def test_the_starters_code_shared_by_everyone_is_not_similarity() -> None:
    own = {
        "kim": [*STARTER, "x = conv2d(DIGIT, np.eye(3))"],
        "lee": [*STARTER, "print(DIGIT.max())"],
        "park": list(STARTER),
    }
    assert compare(own, starter=STARTER).pairs == ()
    # Without the starter, the same notebooks are all alike: it is the starter that is left out.
    assert compare(own, starter=None).total == 3


def test_passages_name_cells_and_lines_and_leave_the_starter_out() -> None:
    pair = compare({"kim": ORIGINAL, "lee": RENAMED}, starter=STARTER, opts=Options(max_passage_lines=50)).pairs[0]
    longest = pair.passages[0]
    # from the first line after the starter's `def conv2d(...)` to the end of the next cell
    assert (longest.a.where, longest.b.where) == ("In [2] line 3 to In [3] line 10", "In [2] line 2 to In [3] line 11")
    assert longest.a.text.startswith("    kh, kw = kernel.shape\n")
    assert longest.b.text.endswith("    return small")
    for p in pair.passages:
        assert "DIGIT = np.array" not in p.a.text + p.b.text  # the starter's cell is not a passage
        assert "raise NotImplementedError" not in p.a.text + p.b.text
    assert any("pooled[a, b]" in p.a.text and "small[i, j]" in p.b.text for p in pair.passages)


def test_notebooks_in_a_real_format_with_a_starter_file(tmp_path: Path) -> None:
    def nb(cells: list[str]) -> dict[str, Any]:
        return {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 과제 1\n", "설명"]}]
            + [
                {"cell_type": "code", "metadata": {}, "source": c.splitlines(keepends=True), "outputs": []}
                for c in cells
            ],
        }

    starter = tmp_path / "starter.ipynb"
    starter.write_text(json.dumps(nb(STARTER)), encoding="utf-8")
    assert code_cells(nb(STARTER)) == STARTER
    report = compare_notebooks({"김민준": nb(ORIGINAL), "이서연": nb(RENAMED), "박": nb(UNRELATED)}, starter)
    assert [(p.a, p.b) for p in report.pairs] == [("김민준", "이서연")]
    missing = compare_notebooks({"a": nb(ORIGINAL), "b": nb(RENAMED)}, tmp_path / "nope.ipynb")
    assert not missing.starter_ignored and missing.total == 1


def test_broken_code_magics_and_empty_notebooks_never_raise() -> None:
    broken = [
        "%matplotlib inline\n!pip install foo\nx = (1,\n",
        "def f(:\n  return '''unterminated",
        "%%bash\necho hi",
        "",
        "\tif True:\n  pass\n    bad_indent = 1",
    ]
    report = compare({"a": broken, "b": [], "c": ["\x1b[31m = 5", "None"]}, starter=[])
    assert report.compared == 3
    assert normalise("x = 'open") != []  # the fallback still reads it


def test_results_are_deterministic_and_independent_of_order() -> None:
    codes = {"kim": ORIGINAL, "lee": RENAMED, "park": UNRELATED, "choi": THIRD}
    one = compare(codes, starter=STARTER)
    two = compare(dict(reversed(list(codes.items()))), starter=STARTER)
    assert one == two


def test_what_is_shown_is_capped() -> None:
    codes = {f"s{i:02d}": RENAMED if i % 2 else ORIGINAL for i in range(8)}
    opts = Options(max_pairs=3, max_passages=1, max_passage_lines=2, common_min_class=100)
    report = compare(codes, starter=STARTER, opts=opts)
    assert report.total == 28 and len(report.pairs) == 3 and report.hidden == 25
    for pair in report.pairs:
        assert len(pair.passages) == 1
        lines = pair.passages[0].a.text.splitlines()
        assert len(lines) <= 3 and lines[-1].startswith("… (")


def test_a_capped_report_shows_the_best_pairs_of_the_whole_class() -> None:
    # 6 whole copies and 14 partial ones: 190 pairs, far more than are kept while counting
    codes = {f"full{i:02d}": ORIGINAL for i in range(6)} | {f"part{i:02d}": ORIGINAL[:2] for i in range(14)}
    every = compare(codes, starter=STARTER, opts=Options(max_pairs=1000, max_passages=1, common_min_class=100))
    capped = compare(codes, starter=STARTER, opts=Options(max_pairs=3, max_passages=1, common_min_class=100))
    assert every.total == capped.total == 190
    assert [(p.a, p.b) for p in capped.pairs] == [(p.a, p.b) for p in every.pairs[:3]]
    assert all(p.a.startswith("full") and p.b.startswith("full") for p in capped.pairs)  # they share the most


def test_code_most_of_a_large_class_shares_is_boilerplate() -> None:
    class_ = {f"s{i:02d}": ORIGINAL for i in range(12)} | {"odd": UNRELATED}
    assert compare(class_, starter=STARTER).total == 0  # everyone's copy is no one's evidence
    small = {f"s{i}": ORIGINAL for i in range(3)}
    assert compare(small, starter=STARTER).total == 3


@pytest.mark.parametrize("bad", [dict(k=0), dict(window=0), dict(threshold=1.5)])
def test_options_are_checked(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Options(**bad)


def test_a_notebook_that_repeats_itself_thousands_of_times_stays_quick() -> None:
    import time

    huge = [(ORIGINAL[1] + ORIGINAL[2]) * 400]  # 9,200 lines
    started = time.monotonic()
    report = compare({"a": huge, "b": huge, "c": UNRELATED}, starter=STARTER)
    assert time.monotonic() - started < 20  # about 1 s; bounded by Options.max_code_chars and max_work
    assert [(p.a, p.b) for p in report.pairs] == [("a", "b")]
    assert len(report.pairs[0].passages[0].a.text.splitlines()) <= Options().max_passage_lines + 1
