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

from grader.i18n import msg, pick

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

POOLING_HINT = msg(
    " Hint: the feature map is relu(cross-correlation + bias) (no kernel flip, no padding, stride"
    " 1); pooled takes the max of each non-overlapping 2x2 block (stride 2), so a 4x4 map pools to"
    " 2x2.",
    " 힌트: 특성 맵은 relu(교차 상관 + bias)입니다 (커널을 뒤집지 않고, 패딩 없이, 스트라이드 1)."
    " pooled는 겹치지 않는 2x2 블록마다 최댓값을 취하므로(스트라이드 2) 4x4 맵은 2x2가 됩니다.",
)


def _pair(result, what):
    seq = isinstance(result, (tuple, list))
    assert seq and len(result) == 2, msg(
        f"{what} must return a pair (feature_map, pooled), got {type(result).__name__}"
        + (f" of length {len(result)}" if seq else "")
        + ".",
        f"{pick(what, 'ko')}은(는) (feature_map, pooled) 쌍을 반환해야 하는데 {type(result).__name__}"
        + (f" (길이 {len(result)})" if seq else "")
        + "입니다.",
    )
    out = []
    for part, label in zip(result, ("feature_map", "pooled"), strict=True):
        try:
            arr = np.asarray(part, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                msg(
                    f"{what}: {label} must be a numeric array, got {type(part).__name__}.",
                    f"{pick(what, 'ko')}: {label}은(는) 숫자 배열이어야 하는데 {type(part).__name__}입니다.",
                )
            ) from None
        out.append(arr)
    return out


def _check(nb, image, filt, bias, expected_map, expected_pooled, description):
    args = (image, filt) if bias is None else (image, filt, bias)
    what = f"extract_features({description})"
    feature_map, pooled = _pair(nb.call("extract_features", *args), what)
    expected_map = np.asarray(expected_map, dtype=np.float64)
    expected_pooled = np.asarray(expected_pooled, dtype=np.float64)
    negative = bool((feature_map < 0).any())
    assert feature_map.shape == expected_map.shape and np.allclose(feature_map, expected_map), msg(
        f"{what}: expected feature_map\n{expected_map}\ngot\n{feature_map}."
        + (" Hint: negative values mean the ReLU is missing." if negative else "")
        + POOLING_HINT,
        f"{what}: 기대한 feature_map\n{expected_map}\n받은 값\n{feature_map}."
        + (" 힌트: 음수가 있다면 ReLU가 빠진 것입니다." if negative else "")
        + POOLING_HINT.ko,
    )
    assert pooled.shape == expected_pooled.shape and np.allclose(pooled, expected_pooled), msg(
        f"{what}: feature_map is right; expected pooled\n{expected_pooled}\ngot\n{pooled}." + POOLING_HINT,
        f"{what}: feature_map은 맞습니다. 기대한 pooled\n{expected_pooled}\n받은 값\n{pooled}." + POOLING_HINT.ko,
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
    assert isinstance(value, (list, tuple)), msg(
        f"`{name}` must be a list of 3x3 filters, got {type(value).__name__}.",
        f"`{name}`은(는) 3x3 필터의 리스트여야 하는데 {type(value).__name__}입니다.",
    )
    filters = []
    for i, f in enumerate(value):
        try:
            arr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                msg(
                    f"`{name}[{i}]` is not a numeric 3x3 array (got {type(f).__name__}).",
                    f"`{name}[{i}]`이(가) 숫자로 된 3x3 배열이 아닙니다 ({type(f).__name__}).",
                )
            ) from None
        assert arr.shape == (3, 3), msg(
            f"`{name}[{i}]` must be a 3x3 filter, got shape {arr.shape}.",
            f"`{name}[{i}]`은(는) 3x3 필터여야 하는데 모양이 {arr.shape}입니다.",
        )
        filters.append(arr)
    return filters


def test_filter_lists(nb):
    for name in ("filters_3", "filters_1"):
        filters = _filter_list(nb, name)
        assert len(filters) >= 5, msg(
            f"`{name}` must hold at least five filters, found {len(filters)}. The exercise asks for"
            " at least five candidate filters per digit, to compare.",
            f"`{name}`에는 필터가 다섯 개 이상 있어야 하는데 {len(filters)}개입니다. 이 실습은 비교를 위해"
            " 숫자마다 후보 필터를 다섯 개 이상 만듭니다.",
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
                msg(
                    f"`scores_{digit}` must be a list of numbers, got {type(scores).__name__}.",
                    f"`scores_{digit}`은(는) 숫자 리스트여야 하는데 {type(scores).__name__}입니다.",
                )
            ) from None
        assert arr.ndim == 1 and arr.size == n, msg(
            f"`scores_{digit}` must hold one number per filter of `filters_{digit}` ({n}), got"
            f" shape {arr.shape}.",
            f"`scores_{digit}`에는 `filters_{digit}`의 필터마다({n}개) 숫자가 하나씩 있어야 하는데"
            f" 모양이 {arr.shape}입니다.",
        )
        assert np.isfinite(arr).all(), msg(
            f"`scores_{digit}` holds non-finite values: {arr}.",
            f"`scores_{digit}`에 유한하지 않은 값이 있습니다: {arr}.",
        )
        best = nb.get(f"best_filter_{digit}")
        assert isinstance(best, (int, np.integer)) and not isinstance(best, bool), msg(
            f"`best_filter_{digit}` must be an integer index into filters_{digit}, got {best!r}."
            " Hint: int(np.argmax(scores)).",
            f"`best_filter_{digit}`은(는) filters_{digit}의 정수 인덱스여야 하는데 {best!r}입니다."
            " 힌트: int(np.argmax(scores)).",
        )
        assert 0 <= int(best) < n, msg(
            f"`best_filter_{digit}` = {best} is not an index of filters_{digit} (0..{n - 1}).",
            f"`best_filter_{digit}` = {best}은(는) filters_{digit}의 인덱스(0..{n - 1})가 아닙니다.",
        )


def test_answer_best_filter_written(nb):
    # The answer is graded by a person (the report shows it with a pending score).
    # This check only gives the point for having written something in the marked cell.
    text = nb.answer("best_filter")
    assert text is not None, msg(
        "the answer cell marked answer:best_filter is missing "
        "(its tag, or the line <!-- answer:best_filter --> of the starter); "
        "keep the cell of the starter"
        " notebook (with its marker) and write your answer in it.",
        "answer:best_filter 표시가 된 답안 셀이 없습니다 (태그나 시작 노트북의 <!-- answer:best_filter --> 줄). "
        "시작 노트북의 셀을 표시와 함께 그대로 두고 그 안에 답을 쓰세요.",
    )
    assert text.strip(), msg(
        "the answer cell (marked answer:best_filter) is empty: explain why your best filters win.",
        "답안 셀(answer:best_filter 표시)이 비어 있습니다: 고른 필터가 왜 가장 좋은지 설명하세요.",
    )
