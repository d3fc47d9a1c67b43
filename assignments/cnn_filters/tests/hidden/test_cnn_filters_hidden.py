"""Hidden checks for cnn_filters: random images and filters, and the grader's own
recomputation of the scores on its own copies of the two digits.

Students see only the assert messages, never this source. The trusted reference
is `_extract` below (numpy, float64). Random images have even height and width,
so the feature map has even sides and 2x2/stride-2 pooling has no leftover row
or column (the contract does not say what happens to one).
"""

from __future__ import annotations

import numpy as np

from grader.i18n import msg, pick
from grader.pictures import Panel

DIGIT_3 = np.array(
    [
        [0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 1, 1, 1, 1, 0],
    ],
    dtype=np.float64,
)
DIGIT_1 = np.array(
    [
        [0, 0, 0, 1, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
    ],
    dtype=np.float64,
)
DIGITS = {"3": (DIGIT_3, DIGIT_1), "1": (DIGIT_1, DIGIT_3)}  # own digit, other digit


def _correlate(image, filt):
    image = np.asarray(image, dtype=np.float64)
    filt = np.asarray(filt, dtype=np.float64)
    h, w = image.shape[0] - 2, image.shape[1] - 2
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = np.sum(image[i : i + 3, j : j + 3] * filt)
    return out


def _extract(image, filt, bias=-1.0):
    feature_map = np.maximum(_correlate(image, filt) + bias, 0.0)
    ph, pw = feature_map.shape[0] // 2, feature_map.shape[1] // 2
    pooled = feature_map[: 2 * ph, : 2 * pw].reshape(ph, 2, pw, 2).max(axis=(1, 3))
    return feature_map, pooled


def _score(filt, own, other):
    return float(_extract(own, filt)[1].sum() - _extract(other, filt)[1].sum())


def _close(got, ref):
    ref = np.asarray(ref, dtype=np.float64)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    return got.shape == ref.shape and bool(
        np.allclose(got, ref, rtol=1e-6, atol=1e-6 * scale + 1e-12)
    )


def _pair(result, what):
    what_ko = pick(what, "ko")
    assert isinstance(result, (tuple, list)) and len(result) == 2, msg(
        f"{what} must return a pair (feature_map, pooled), got {type(result).__name__}.",
        f"{what_ko}은(는) (feature_map, pooled) 쌍을 반환해야 하는데 {type(result).__name__}입니다.",
    )
    out = []
    for part, label in zip(result, ("feature_map", "pooled"), strict=True):
        try:
            out.append(np.asarray(part, dtype=np.float64))
        except (TypeError, ValueError):
            raise AssertionError(
                msg(
                    f"{what}: {label} must be a numeric array, got {type(part).__name__}.",
                    f"{what_ko}: {label}은(는) 숫자 배열이어야 하는데 {type(part).__name__}입니다.",
                )
            ) from None
    return out


def _random_image(rng, binary):
    h, w = (int(v) for v in 2 * rng.integers(3, 7, size=2))  # even sides 6..12
    if binary:
        return rng.integers(0, 2, size=(h, w))
    return rng.normal(size=(h, w)).round(4) * 3.0


def _random_filter(rng):
    if rng.random() < 0.5:
        return rng.integers(-1, 2, size=(3, 3)).astype(np.float64)
    return rng.normal(size=(3, 3)).round(4)


def _random_case(rng, binary, bias):
    """A random image and filter on which the usual mistakes cannot go unnoticed:
    conv + bias has negative and positive entries (ReLU and bias both matter), some
    2x2 block of the feature map is not constant (max != average pooling), and the
    filter is not symmetric under a 180 degree turn."""
    for _ in range(1000):
        image, filt = _random_image(rng, binary), _random_filter(rng)
        raw = _correlate(image, filt) + bias
        feature_map = np.maximum(raw, 0.0)
        h, w = feature_map.shape
        blocks = feature_map.reshape(h // 2, 2, w // 2, 2)
        if (
            (raw < 0).any()
            and (raw > 0).any()
            and (blocks.max(axis=(1, 3)) != blocks.min(axis=(1, 3))).any()
            and not np.array_equal(filt, filt[::-1, ::-1])
        ):
            return image, filt
    raise RuntimeError("could not draw a discriminating case")  # not reached in practice


def _check_extract(nb, image, filt, bias, description):
    args = (image, filt) if bias is None else (image, filt, bias)
    what = msg(f"extract_features on {description}", f"{pick(description, 'ko')}에 대한 extract_features")
    w_ko = what.ko
    feature_map, pooled = _pair(nb.call("extract_features", *args), what)
    ref_map, ref_pooled = _extract(image, filt, -1.0 if bias is None else bias)
    assert feature_map.shape == ref_map.shape, msg(
        f"{what}: feature_map should have shape {ref_map.shape} (H-2, W-2), got"
        f" {feature_map.shape}.",
        f"{w_ko}: feature_map의 모양은 {ref_map.shape} (H-2, W-2)이어야 하는데 {feature_map.shape}입니다.",
    )
    if not _close(feature_map, ref_map):
        raw = _correlate(image, filt)
        bias_value = -1.0 if bias is None else float(bias)
        hint, hint_ko = "", ""
        if (feature_map < 0).any():
            hint = (
                " Hint: the feature map has negative values: apply ReLU, np.maximum(x, 0), after"
                " adding the bias."
            )
            hint_ko = " 힌트: 특성 맵에 음수가 있습니다: 편향을 더한 뒤 ReLU, np.maximum(x, 0)을 적용하세요."
        elif bias_value != 0 and _close(feature_map, np.maximum(raw, 0.0)):
            hint = " Hint: it looks like the bias was not added: feature_map = relu(conv + bias)."
            hint_ko = " 힌트: 편향을 더하지 않은 것 같습니다: feature_map = relu(conv + bias)."
        elif _close(
            feature_map,
            np.maximum(_correlate(image, np.asarray(filt)[::-1, ::-1]) + bias_value, 0.0),
        ):
            hint = " Hint: do not flip the filter: out[i, j] = sum(image[i:i+3, j:j+3] * filt)."
            hint_ko = " 힌트: 필터를 뒤집지 마세요: out[i, j] = sum(image[i:i+3, j:j+3] * filt)."
        raise AssertionError(
            msg(f"{what}: wrong feature_map values.{hint}", f"{w_ko}: feature_map의 값이 틀렸습니다.{hint_ko}")
        )
    expected_shape = ref_pooled.shape
    overlap = pooled.shape == (ref_map.shape[0] - 1, ref_map.shape[1] - 1)
    assert pooled.shape == expected_shape, msg(
        f"{what}: pooled should have shape {expected_shape} (2x2 pooling with stride 2 halves each"
        f" side of the {ref_map.shape} feature map), got {pooled.shape}."
        + (" Hint: the pooling windows must not overlap (stride 2, not 1)." if overlap else ""),
        f"{w_ko}: pooled의 모양은 {expected_shape}이어야 하는데 (스트라이드 2인 2x2 풀링은 {ref_map.shape} 특성 맵의"
        f" 각 변을 절반으로 줄입니다) {pooled.shape}입니다."
        + (" 힌트: 풀링 창이 겹치면 안 됩니다 (스트라이드 1이 아니라 2)." if overlap else ""),
    )
    if not _close(pooled, ref_pooled):
        avg = ref_map.reshape(expected_shape[0], 2, expected_shape[1], 2).mean(axis=(1, 3))
        average = _close(pooled, avg)
        raise AssertionError(
            msg(
                f"{what}: feature_map is right but pooled is not its 2x2 max pooling with stride"
                f" 2.{' Hint: this is average pooling; take the max of each 2x2 block.' if average else ''}",
                f"{w_ko}: feature_map은 맞지만 pooled가 스트라이드 2인 2x2 최대 풀링이 아닙니다."
                f"{' 힌트: 평균 풀링입니다. 2x2 블록마다 최댓값을 취하세요.' if average else ''}",
            )
        )


def test_extract_features_random(nb, rng):
    for binary in (True, True, False, False):
        image, filt = _random_case(rng, binary, -1.0)
        kind, kind_ko = ("binary 0/1", "0/1 이진") if binary else ("float", "실수")
        h, w = image.shape
        _check_extract(
            nb,
            image,
            filt,
            None,
            msg(
                f"a random {h}x{w} {kind} image, a random 3x3 filter, default bias",
                f"무작위 {h}x{w} {kind_ko} 이미지, 무작위 3x3 필터, 기본 편향",
            ),
        )


def test_extract_features_bias_argument(nb, rng):
    for bias in (0, -2, 0.5):
        image, filt = _random_case(rng, True, float(bias))
        _check_extract(
            nb,
            image,
            filt,
            bias,
            msg(
                f"a random {image.shape[0]}x{image.shape[1]} binary image, a random 3x3 filter, bias={bias}",
                f"무작위 {image.shape[0]}x{image.shape[1]} 이진 이미지, 무작위 3x3 필터, bias={bias}",
            ),
        )


def test_pooling_shape_random(nb, rng):
    for _ in range(3):
        image = _random_image(rng, True)
        h, w = image.shape
        what = msg(
            f"extract_features on a random {h}x{w} binary image", f"무작위 {h}x{w} 이진 이미지에 대한 extract_features"
        )
        _, pooled = _pair(nb.call("extract_features", image, np.ones((3, 3))), what)
        expected = ((image.shape[0] - 2) // 2, (image.shape[1] - 2) // 2)
        overlap = pooled.shape == (image.shape[0] - 3, image.shape[1] - 3)
        assert pooled.shape == expected, msg(
            f"{what}: pooled should have shape {expected} (the feature map is"
            f" {h - 2}x{w - 2}; 2x2 max pooling with stride 2 halves each"
            f" side), got {pooled.shape}."
            + (" Hint: the pooling windows must not overlap (stride 2, not 1)." if overlap else ""),
            f"{what.ko}: pooled의 모양은 {expected}이어야 하는데 (특성 맵은 {h - 2}x{w - 2}이고 스트라이드 2인"
            f" 2x2 최대 풀링은 각 변을 절반으로 줄입니다) {pooled.shape}입니다."
            + (" 힌트: 풀링 창이 겹치면 안 됩니다 (스트라이드 1이 아니라 2)." if overlap else ""),
        )


def _filters(nb, digit):
    name = f"filters_{digit}"
    value = nb.get(name)
    if isinstance(value, np.ndarray) and value.ndim == 3:
        value = list(value)
    assert isinstance(value, (list, tuple)), msg(
        f"`{name}` must be a list of 3x3 filters, got {type(value).__name__}.",
        f"`{name}`은(는) 3x3 필터의 리스트여야 하는데 {type(value).__name__}입니다.",
    )
    out = []
    for i, f in enumerate(value):
        try:
            arr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(
                msg(f"`{name}[{i}]` is not a numeric 3x3 array.", f"`{name}[{i}]`이(가) 숫자로 된 3x3 배열이 아닙니다.")
            ) from None
        assert arr.shape == (3, 3), msg(
            f"`{name}[{i}]` must be a 3x3 filter, got shape {arr.shape}.",
            f"`{name}[{i}]`은(는) 3x3 필터여야 하는데 모양이 {arr.shape}입니다.",
        )
        out.append(arr)
    return out


def _index(nb, name, n):
    value = nb.get(name)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = int(value)
    assert isinstance(value, (int, np.integer)) and not isinstance(value, bool), msg(
        f"`{name}` must be an integer index, got {value!r}.", f"`{name}`은(는) 정수 인덱스여야 하는데 {value!r}입니다."
    )
    assert 0 <= int(value) < n, msg(
        f"`{name}` = {value} is not an index of a filter (0..{n - 1}).",
        f"`{name}` = {value}은(는) 필터의 인덱스(0..{n - 1})가 아닙니다.",
    )
    return int(value)


def test_filters_distinct(nb):
    for digit in ("3", "1"):
        filters = _filters(nb, digit)
        for i in range(len(filters)):
            for j in range(i + 1, len(filters)):
                assert not np.array_equal(filters[i], filters[j]), msg(
                    f"filters_{digit}[{i}] and filters_{digit}[{j}] are the same filter (compared"
                    f" as floats):\n{filters[i]}\nThe exercise asks for distinct filters: change or"
                    " remove one of them.",
                    f"filters_{digit}[{i}]와 filters_{digit}[{j}]가 같은 필터입니다 (실수로 비교):\n{filters[i]}\n"
                    "이 실습은 서로 다른 필터를 씁니다: 둘 중 하나를 바꾸거나 지우세요.",
                )


def test_scores_match_recomputation(nb):
    for digit, (own, other) in DIGITS.items():
        filters = _filters(nb, digit)
        expected = np.array([_score(f, own, other) for f in filters])
        value = nb.get(f"scores_{digit}")
        try:
            got = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise AssertionError(
                msg(
                    f"`scores_{digit}` must be a list of numbers, got {type(value).__name__}.",
                    f"`scores_{digit}`은(는) 숫자 리스트여야 하는데 {type(value).__name__}입니다.",
                )
            ) from None
        assert got.shape == expected.shape, msg(
            f"`scores_{digit}` must hold one score per filter of filters_{digit} ({expected.size}),"
            f" got {got.size}.",
            f"`scores_{digit}`에는 filters_{digit}의 필터마다({expected.size}개) 점수가 하나씩 있어야 하는데"
            f" {got.size}개입니다.",
        )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert abs(g - e) <= 1e-6 * max(1.0, abs(e)), msg(
                f"scores_{digit}[{i}] = {g:g}, but recomputing it for filters_{digit}[{i}] on the"
                f" exercise's digits gives {e:g}. The score is pooled(DIGIT_{digit}).sum() -"
                " pooled(other digit).sum(), with bias -1, ReLU and 2x2 max pooling (stride 2), on"
                " the DIGIT_3 and DIGIT_1 of the exercise.",
                f"scores_{digit}[{i}] = {g:g}인데 실습의 숫자로 filters_{digit}[{i}]의 점수를 다시 계산하면"
                f" {e:g}입니다. 점수는 pooled(DIGIT_{digit}).sum() - pooled(다른 숫자).sum()이며,"
                " 실습의 DIGIT_3과 DIGIT_1에 편향 -1, ReLU, 2x2 최대 풀링(스트라이드 2)을 적용합니다.",
            )


def test_best_filter_is_argmax(nb):
    for digit, (own, other) in DIGITS.items():
        filters = _filters(nb, digit)
        scores = np.array([_score(f, own, other) for f in filters])
        best = _index(nb, f"best_filter_{digit}", len(filters))
        top = float(scores.max())
        winners = [i for i, s in enumerate(scores) if abs(s - top) <= 1e-9 * max(1.0, abs(top))]
        assert best in winners, msg(
            f"best_filter_{digit} = {best}, whose score is {scores[best]:g}, but filter"
            f" {winners[0]} of filters_{digit} scores higher ({top:g}). The best filter is the one"
            " with the highest score: int(np.argmax(scores)).",
            f"best_filter_{digit} = {best}의 점수는 {scores[best]:g}인데 filters_{digit}의 {winners[0]}번 필터의"
            f" 점수가 더 높습니다 ({top:g}). 가장 좋은 필터는 점수가 가장 높은 필터입니다: int(np.argmax(scores)).",
        )


def _feature_row(digit, filt, best, own, other):
    """A row of the report's picture: the grader's digit, the student's best filter, and
    what the grader's own extraction makes of both digits through it."""
    other_digit = "1" if digit == "3" else "3"
    own_map, own_pooled = _extract(own, filt)
    other_map, other_pooled = _extract(other, filt)
    score = float(own_pooled.sum() - other_pooled.sum())
    return f"digit {digit}\nscore {score:.3g}", [
        Panel(f"DIGIT_{digit}", own, "ink"),
        Panel(f"filters_{digit}[{best}]", filt, "signed"),
        Panel("feature map", own_map, "signed"),
        Panel(f"pooled (sum {own_pooled.sum():.3g})", own_pooled, "signed"),
        Panel(f"DIGIT_{other_digit}: feature map", other_map, "signed"),
        Panel(f"pooled (sum {other_pooled.sum():.3g})", other_pooled, "signed"),
    ]


def test_best_filter_score_positive(nb, pictures):
    rows = []
    try:
        _best_filters_positive(nb, rows)
    finally:
        if rows:
            pictures.grid(
                msg(
                    "Your best filter for each digit on the grader's own digits: the feature map (bias -1, ReLU) "
                    "and its 2x2 max pooling, for its own digit and for the other one. The score is the first "
                    "pooled sum minus the second.",
                    "각 숫자에 대해 가장 좋은 필터를 채점기의 숫자 이미지에 적용한 결과: 특성 맵(편향 -1, ReLU)과 "
                    "2x2 최대 풀링, 자기 숫자와 다른 숫자 각각. "
                    "점수는 첫 번째 풀링 합에서 두 번째 풀링 합을 뺀 값입니다.",
                ),
                rows,
            )


def _best_filters_positive(nb, rows):
    for digit, (own, other) in DIGITS.items():
        filters = _filters(nb, digit)
        best = _index(nb, f"best_filter_{digit}", len(filters))
        rows.append(_feature_row(digit, filters[best], best, own, other))
        score = _score(filters[best], own, other)
        assert score > 0, msg(
            f"the score of best_filter_{digit} (filters_{digit}[{best}]) is {score:g}: it responds"
            f" no more to the digit {digit} than to the other digit. Design a filter that matches a"
            f" stroke only the digit {digit} has, so that its score is positive.",
            f"best_filter_{digit} (filters_{digit}[{best}])의 점수가 {score:g}입니다: 숫자 {digit}에 다른 숫자보다"
            f" 더 강하게 반응하지 않습니다. 숫자 {digit}에만 있는 획에 맞는 필터를 만들어 점수가 양수가 되게 하세요.",
        )
