"""Hidden checks for cnn_filters: random images and filters, and the grader's own
recomputation of the scores on its own copies of the two digits.

Students see only the assert messages, never this source. The trusted reference
is `_extract` below (numpy, float64). Random images have even height and width,
so the feature map has even sides and 2x2/stride-2 pooling has no leftover row
or column (the contract does not say what happens to one).
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
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{what} must return a pair (feature_map, pooled), got {type(result).__name__}."
    )
    out = []
    for part, label in zip(result, ("feature_map", "pooled"), strict=True):
        try:
            out.append(np.asarray(part, dtype=np.float64))
        except (TypeError, ValueError):
            raise AssertionError(
                f"{what}: {label} must be a numeric array, got {type(part).__name__}."
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
    what = f"extract_features on {description}"
    feature_map, pooled = _pair(nb.call("extract_features", *args), what)
    ref_map, ref_pooled = _extract(image, filt, -1.0 if bias is None else bias)
    assert feature_map.shape == ref_map.shape, (
        f"{what}: feature_map should have shape {ref_map.shape} (H-2, W-2), got"
        f" {feature_map.shape}."
    )
    if not _close(feature_map, ref_map):
        raw = _correlate(image, filt)
        bias_value = -1.0 if bias is None else float(bias)
        hint = ""
        if (feature_map < 0).any():
            hint = (
                " Hint: the feature map has negative values: apply ReLU, np.maximum(x, 0), after"
                " adding the bias."
            )
        elif bias_value != 0 and _close(feature_map, np.maximum(raw, 0.0)):
            hint = " Hint: it looks like the bias was not added: feature_map = relu(conv + bias)."
        elif _close(
            feature_map,
            np.maximum(_correlate(image, np.asarray(filt)[::-1, ::-1]) + bias_value, 0.0),
        ):
            hint = " Hint: do not flip the filter: out[i, j] = sum(image[i:i+3, j:j+3] * filt)."
        raise AssertionError(f"{what}: wrong feature_map values.{hint}")
    expected_shape = ref_pooled.shape
    assert pooled.shape == expected_shape, (
        f"{what}: pooled should have shape {expected_shape} (2x2 pooling with stride 2 halves each"
        f" side of the {ref_map.shape} feature map), got {pooled.shape}."
        + (
            " Hint: the pooling windows must not overlap (stride 2, not 1)."
            if pooled.shape == (ref_map.shape[0] - 1, ref_map.shape[1] - 1)
            else ""
        )
    )
    if not _close(pooled, ref_pooled):
        avg = ref_map.reshape(expected_shape[0], 2, expected_shape[1], 2).mean(axis=(1, 3))
        hint = (
            " Hint: this is average pooling; take the max of each 2x2 block."
            if _close(pooled, avg)
            else ""
        )
        raise AssertionError(
            f"{what}: feature_map is right but pooled is not its 2x2 max pooling with stride"
            f" 2.{hint}"
        )


def test_extract_features_random(nb, rng):
    for binary in (True, True, False, False):
        image, filt = _random_case(rng, binary, -1.0)
        kind = "binary 0/1" if binary else "float"
        _check_extract(
            nb,
            image,
            filt,
            None,
            f"a random {image.shape[0]}x{image.shape[1]} {kind} image, "
            "a random 3x3 filter, default bias",
        )


def test_extract_features_bias_argument(nb, rng):
    for bias in (0, -2, 0.5):
        image, filt = _random_case(rng, True, float(bias))
        _check_extract(
            nb,
            image,
            filt,
            bias,
            f"a random {image.shape[0]}x{image.shape[1]} binary image, "
            f"a random 3x3 filter, bias={bias}",
        )


def test_pooling_shape_random(nb, rng):
    for _ in range(3):
        image = _random_image(rng, True)
        what = f"extract_features on a random {image.shape[0]}x{image.shape[1]} binary image"
        _, pooled = _pair(nb.call("extract_features", image, np.ones((3, 3))), what)
        expected = ((image.shape[0] - 2) // 2, (image.shape[1] - 2) // 2)
        assert pooled.shape == expected, (
            f"{what}: pooled should have shape {expected} (the feature map is"
            f" {image.shape[0] - 2}x{image.shape[1] - 2}; 2x2 max pooling with stride 2 halves each"
            f" side), got {pooled.shape}."
            + (
                " Hint: the pooling windows must not overlap (stride 2, not 1)."
                if pooled.shape == (image.shape[0] - 3, image.shape[1] - 3)
                else ""
            )
        )


def _filters(nb, digit):
    name = f"filters_{digit}"
    value = nb.get(name)
    if isinstance(value, np.ndarray) and value.ndim == 3:
        value = list(value)
    assert isinstance(value, (list, tuple)), (
        f"`{name}` must be a list of 3x3 filters, got {type(value).__name__}."
    )
    out = []
    for i, f in enumerate(value):
        try:
            arr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(f"`{name}[{i}]` is not a numeric 3x3 array.") from None
        assert arr.shape == (3, 3), f"`{name}[{i}]` must be a 3x3 filter, got shape {arr.shape}."
        out.append(arr)
    return out


def _index(nb, name, n):
    value = nb.get(name)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = int(value)
    assert isinstance(value, (int, np.integer)) and not isinstance(value, bool), (
        f"`{name}` must be an integer index, got {value!r}."
    )
    assert 0 <= int(value) < n, f"`{name}` = {value} is not an index of a filter (0..{n - 1})."
    return int(value)


def test_filters_distinct(nb):
    for digit in ("3", "1"):
        filters = _filters(nb, digit)
        for i in range(len(filters)):
            for j in range(i + 1, len(filters)):
                assert not np.array_equal(filters[i], filters[j]), (
                    f"filters_{digit}[{i}] and filters_{digit}[{j}] are the same filter (compared"
                    f" as floats):\n{filters[i]}\nThe exercise asks for distinct filters: change or"
                    " remove one of them."
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
                f"`scores_{digit}` must be a list of numbers, got {type(value).__name__}."
            ) from None
        assert got.shape == expected.shape, (
            f"`scores_{digit}` must hold one score per filter of filters_{digit} ({expected.size}),"
            f" got {got.size}."
        )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert abs(g - e) <= 1e-6 * max(1.0, abs(e)), (
                f"scores_{digit}[{i}] = {g:g}, but recomputing it for filters_{digit}[{i}] on the"
                f" exercise's digits gives {e:g}. The score is pooled(DIGIT_{digit}).sum() -"
                " pooled(other digit).sum(), with bias -1, ReLU and 2x2 max pooling (stride 2), on"
                " the DIGIT_3 and DIGIT_1 of the exercise."
            )


def test_best_filter_is_argmax(nb):
    for digit, (own, other) in DIGITS.items():
        filters = _filters(nb, digit)
        scores = np.array([_score(f, own, other) for f in filters])
        best = _index(nb, f"best_filter_{digit}", len(filters))
        top = float(scores.max())
        winners = [i for i, s in enumerate(scores) if abs(s - top) <= 1e-9 * max(1.0, abs(top))]
        assert best in winners, (
            f"best_filter_{digit} = {best}, whose score is {scores[best]:g}, but filter"
            f" {winners[0]} of filters_{digit} scores higher ({top:g}). The best filter is the one"
            " with the highest score: int(np.argmax(scores))."
        )


def test_best_filter_score_positive(nb):
    for digit, (own, other) in DIGITS.items():
        filters = _filters(nb, digit)
        best = _index(nb, f"best_filter_{digit}", len(filters))
        score = _score(filters[best], own, other)
        assert score > 0, (
            f"the score of best_filter_{digit} (filters_{digit}[{best}]) is {score:g}: it responds"
            f" no more to the digit {digit} than to the other digit. Design a filter that matches a"
            f" stroke only the digit {digit} has, so that its score is positive."
        )
