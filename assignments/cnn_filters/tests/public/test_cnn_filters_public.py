"""Public checks for cnn_filters: fixed examples on the two digits of the exercise.

The grader runs these and, besides them, hidden checks on random images and
filters, and it recomputes your scores with its own copies of DIGIT_3 and
DIGIT_1 (editing the digits in your notebook does not change what is graded).

Contract (see the notebook):
  extract_features(image, filt, bias=-1) -> (feature_map, pooled)
      feature_map = relu(valid cross-correlation of image with filt + bias), shape (H-2, W-2)
      pooled      = 2x2 max pooling with stride 2 of feature_map
  filters_3, filters_1: lists of at least five distinct 3x3 filters
  scores_3, scores_1: one float per filter, pooled(own digit).sum() - pooled(other digit).sum()
  best_filter_3, best_filter_1: index of the highest score (which must be positive)
"""

from __future__ import annotations

import numpy as np

DIGIT_3 = np.array(
    [
        [0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 1, 1, 1, 1, 0],
    ]
)
DIGIT_1 = np.array(
    [
        [0, 0, 0, 1, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
    ]
)

POOLING_HINT = (
    " Hint: the feature map is relu(cross-correlation + bias) (no kernel flip, no padding, stride"
    " 1); pooled takes the max of each non-overlapping 2x2 block (stride 2), so a 4x4 map pools to"
    " 2x2."
)


def _pair(result, what):
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{what} must return a pair (feature_map, pooled), got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        + "."
    )
    out = []
    for part, label in zip(result, ("feature_map", "pooled"), strict=True):
        try:
            arr = np.asarray(part, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                f"{what}: {label} must be a numeric array, got {type(part).__name__}."
            ) from None
        out.append(arr)
    return out


def _check(nb, image, filt, bias, expected_map, expected_pooled, description):
    args = (image, filt) if bias is None else (image, filt, bias)
    what = f"extract_features({description})"
    feature_map, pooled = _pair(nb.call("extract_features", *args), what)
    expected_map = np.asarray(expected_map, dtype=np.float64)
    expected_pooled = np.asarray(expected_pooled, dtype=np.float64)
    assert feature_map.shape == expected_map.shape and np.allclose(feature_map, expected_map), (
        f"{what}: expected feature_map\n{expected_map}\ngot\n{feature_map}."
        + (" Hint: negative values mean the ReLU is missing." if (feature_map < 0).any() else "")
        + POOLING_HINT
    )
    assert pooled.shape == expected_pooled.shape and np.allclose(pooled, expected_pooled), (
        f"{what}: feature_map is right; expected pooled\n{expected_pooled}\ngot\n{pooled}."
        + POOLING_HINT
    )


def test_extract_features_digit_examples(nb):
    top_edge = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64)
    _check(
        nb,
        DIGIT_3,
        top_edge,
        None,
        [[0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 1, 0], [0, 0, 0, 0]],
        [[0, 0], [2, 1]],
        "DIGIT_3, filter [[1,1,1],[0,0,0],[-1,-1,-1]], default bias",
    )
    vertical = np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=np.float64)
    _check(
        nb,
        DIGIT_1,
        vertical,
        -1,
        [[0, 0, 2, 0], [0, 0, 2, 0], [0, 0, 2, 0], [0, 0, 2, 0]],
        [[0, 2], [0, 2]],
        "DIGIT_1, filter [[0,1,0],[0,1,0],[0,1,0]], bias=-1",
    )
    _check(
        nb,
        DIGIT_1,
        vertical,
        0,
        [[0, 1, 3, 0], [0, 1, 3, 0], [0, 0, 3, 0], [0, 1, 3, 1]],
        [[1, 3], [1, 3]],
        "DIGIT_1, filter [[0,1,0],[0,1,0],[0,1,0]], bias=0",
    )


def _filter_list(nb, name):
    value = nb.get(name)
    if isinstance(value, np.ndarray) and value.ndim == 3:
        value = list(value)
    assert isinstance(value, (list, tuple)), (
        f"`{name}` must be a list of 3x3 filters, got {type(value).__name__}."
    )
    filters = []
    for i, f in enumerate(value):
        try:
            arr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                f"`{name}[{i}]` is not a numeric 3x3 array (got {type(f).__name__})."
            ) from None
        assert arr.shape == (3, 3), f"`{name}[{i}]` must be a 3x3 filter, got shape {arr.shape}."
        filters.append(arr)
    return filters


def test_filter_lists(nb):
    for name in ("filters_3", "filters_1"):
        filters = _filter_list(nb, name)
        assert len(filters) >= 5, (
            f"`{name}` must hold at least five filters, found {len(filters)}. The exercise asks for"
            " at least five candidate filters per digit, to compare."
        )


def test_scores_and_best_defined(nb):
    for digit in ("3", "1"):
        filters = nb.get(f"filters_{digit}")
        n = len(filters) if hasattr(filters, "__len__") else None
        scores = nb.get(f"scores_{digit}")
        try:
            arr = np.asarray(scores, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                f"`scores_{digit}` must be a list of numbers, got {type(scores).__name__}."
            ) from None
        assert arr.ndim == 1 and arr.size == n, (
            f"`scores_{digit}` must hold one number per filter of `filters_{digit}` ({n}), got"
            f" shape {arr.shape}."
        )
        assert np.isfinite(arr).all(), f"`scores_{digit}` holds non-finite values: {arr}."
        best = nb.get(f"best_filter_{digit}")
        assert isinstance(best, (int, np.integer)) and not isinstance(best, bool), (
            f"`best_filter_{digit}` must be an integer index into filters_{digit}, got {best!r}."
            " Hint: int(np.argmax(scores))."
        )
        assert 0 <= int(best) < n, (
            f"`best_filter_{digit}` = {best} is not an index of filters_{digit} (0..{n - 1})."
        )


def test_answer_best_filter_written(nb):
    # The answer is graded by a person (the report shows it with a pending score).
    # This check only gives the point for having written something in the marked cell.
    text = nb.answer("best_filter")
    assert text is not None, (
        "the answer cell marked answer:best_filter is missing "
        "(its tag, or the line <!-- answer:best_filter --> of the starter); "
        "keep the cell of the starter"
        " notebook (with its marker) and write your answer in it."
    )
    assert text.strip(), (
        "the answer cell (marked answer:best_filter) is empty: explain why your best filters win."
    )
