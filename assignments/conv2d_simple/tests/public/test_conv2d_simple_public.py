"""Public checks for conv2d_simple: small fixed examples you can verify by hand.

The grader runs these and, besides them, hidden checks of the same contract on
random inputs: images of any size (also non-square), filter sizes 1, 3 and 5,
float and integer (uint8) images, filters given as arrays or as nested lists.
Passing these checks is necessary, not sufficient: test other inputs yourself.

Contract (see the notebook): conv2d_simple(input_image, filter, filter_size)
returns the valid cross-correlation as Keras Conv2D computes it (the kernel is
NOT flipped), stride 1, no padding, as a float array of shape
(H - filter_size + 1, W - filter_size + 1).
"""

from __future__ import annotations

import numpy as np

from grader.i18n import join, msg, pick

FILTERED_NAMES = (
    "horizontal_filtered_image",
    "vertical_filtered_image",
    "blur_filtered_image",
    "sharpen_filtered_image",
)


def _as_float_array(value, what):
    """The student's result as a numeric ndarray, or a failed check that says why."""
    what_ko = pick(what, "ko")
    if value is None:
        raise AssertionError(
            msg(
                f"{what} returned None; it must return a numpy array (did you forget `return`?)",
                f"{what_ko}이(가) None을 반환했습니다. numpy 배열을 반환해야 합니다 (`return`을 빠뜨리지 않았나요?)",
            )
        )
    try:
        arr = np.asarray(value)
    except Exception:  # ragged lists and the like
        arr = None
    got = type(value).__name__ + (f" (dtype {arr.dtype})" if arr is not None else "")
    assert arr is not None and arr.dtype.kind in "biuf", msg(
        f"{what} must be a numeric numpy array, got {got}."
        " Hint: build the result with np.zeros((out_h, out_w)) and fill it in.",
        f"{what_ko}은(는) 숫자로 된 numpy 배열이어야 하는데 {got}입니다."
        " 힌트: np.zeros((out_h, out_w))로 결과를 만들고 값을 채우세요.",
    )
    return arr


def _reference(image, filt):
    image = np.asarray(image, dtype=np.float64)
    filt = np.asarray(filt, dtype=np.float64)
    k = filt.shape[0]
    h, w = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = np.sum(image[i : i + k, j : j + k] * filt)
    return out


def _hint_for(got, image, filt):
    """A hint naming the usual mistake the result looks like, or ''."""
    k = np.asarray(filt).shape[0]
    h, w = np.asarray(image).shape
    if got.shape == (h - k, w - k):
        return msg(
            " Hint: the output has H - filter_size + 1 rows and W - filter_size + 1 columns (you"
            " lost the + 1).",
            " 힌트: 출력은 H - filter_size + 1개의 행과 W - filter_size + 1개의 열을 가집니다"
            " (+ 1을 빠뜨렸습니다).",
        )
    if got.shape == (h, w):
        return msg(
            " Hint: no padding here: the output is smaller than the input ('valid', not 'same').",
            " 힌트: 여기서는 패딩이 없으므로 출력이 입력보다 작습니다 ('same'이 아니라 'valid').",
        )
    if got.shape == (h - k + 1, h - k + 1) and h != w:
        return msg(
            " Hint: you seem to use the image height for both dimensions; use input_image.shape[1]"
            " for the width.",
            " 힌트: 두 차원 모두에 이미지의 높이를 쓴 것 같습니다. 너비에는 input_image.shape[1]을"
            " 쓰세요.",
        )
    if got.shape == (h - k + 1, w - k + 1):
        flipped = _reference(image, np.asarray(filt, dtype=np.float64)[::-1, ::-1])
        if np.allclose(got, flipped, rtol=1e-6, atol=1e-9):
            return msg(
                " Hint: your result equals the mathematical convolution (kernel flipped by 180"
                " degrees); Conv2D computes cross-correlation: out[i, j] = sum(image[i:i+k, j:j+k]"
                " * filter), no flip.",
                " 힌트: 결과가 수학적 합성곱(커널을 180도 뒤집음)과 같습니다. Conv2D는 교차 상관을"
                " 계산합니다: out[i, j] = sum(image[i:i+k, j:j+k] * filter), 뒤집지 않습니다.",
            )
    return ""


def _check_example(nb, image, filt, expected, description):
    d_ko = pick(description, "ko")
    got = _as_float_array(
        nb.call("conv2d_simple", image, filt, len(filt)),
        msg(f"conv2d_simple({description})", f"conv2d_simple({d_ko})"),
    )
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, join(
        [
            msg(
                f"conv2d_simple({description}): expected shape {expected.shape}, got {got.shape}.",
                f"conv2d_simple({d_ko}): 모양이 {expected.shape}이어야 하는데 {got.shape}입니다.",
            ),
            _hint_for(got, image, filt),
        ],
        sep="",
    )
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-9), join(
        [
            msg(
                f"conv2d_simple({description}): expected\n{expected}\ngot\n{got}.",
                f"conv2d_simple({d_ko}): 기대한 값\n{expected}\n받은 값\n{got}.",
            ),
            _hint_for(got, image, filt),
        ],
        sep="",
    )


def test_notes_example_4x4(nb):
    image = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
    filt = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
    what = msg("the 4x4 example of the notes, 3x3 filter", "강의 노트의 4x4 예제, 3x3 필터")
    _check_example(nb, image, filt, [[15, 16], [6, 15]], what)


def test_nonsquare_example(nb):
    image = np.array([[1, 0, 2, 3, 1], [0, 1, 4, 1, 0], [2, 3, 0, 1, 2]], dtype=np.float64)
    filt = np.array([[1, 0, -1], [2, 1, 0], [0, 0, 1]], dtype=np.float64)
    what = msg("a 3x5 image (3 rows, 5 columns), 3x3 filter", "3x5 이미지 (3행 5열), 3x3 필터")
    _check_example(nb, image, filt, [[0, 4, 12]], what)


def test_integer_image_example(nb):
    image = np.array(
        [[200, 10, 0, 255], [0, 250, 30, 7], [90, 0, 255, 1], [3, 60, 0, 128]], dtype=np.uint8
    )
    filt = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64)
    description = "a 4x4 uint8 image, the vertical filter"
    d_ko = "4x4 uint8 이미지, 세로 필터"
    got = _as_float_array(
        nb.call("conv2d_simple", image, filt, 3),
        msg(f"conv2d_simple({description})", f"conv2d_simple({d_ko})"),
    )
    expected = _reference(image, filt)
    assert got.shape == expected.shape, msg(
        f"conv2d_simple({description}): expected shape {expected.shape}, got {got.shape}.",
        f"conv2d_simple({d_ko}): 모양이 {expected.shape}이어야 하는데 {got.shape}입니다.",
    )
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-9), join(
        [
            msg(
                f"conv2d_simple({description}): expected\n{expected}\ngot\n{got}.",
                f"conv2d_simple({d_ko}): 기대한 값\n{expected}\n받은 값\n{got}.",
            ),
            _hint_for(got, image, filt)
            or msg(
                " Hint: uint8 arithmetic wraps around (10 - 200 is 66 in uint8) and an integer"
                " result array cuts off negatives and fractions: compute in float, e.g. start from"
                " np.zeros((out_h, out_w)) and use input_image.astype(float).",
                " 힌트: uint8 산술은 값이 순환하고(uint8에서 10 - 200은 66) 정수 결과 배열은 음수와"
                " 소수점 아래를 잘라 냅니다. 실수로 계산하세요. 예를 들어 np.zeros((out_h, out_w))로"
                " 시작하고 input_image.astype(float)를 쓰세요.",
            ),
        ],
        sep="",
    )
    assert got.dtype.kind == "f", msg(
        f"conv2d_simple({description}) returned an array of dtype {got.dtype}; it must return"
        " floats. Hint: np.zeros_like(input_image) copies the image's integer dtype; use"
        " np.zeros((out_h, out_w)).",
        f"conv2d_simple({d_ko})이(가) dtype이 {got.dtype}인 배열을 반환했습니다. 실수 배열을 반환해야"
        " 합니다. 힌트: np.zeros_like(input_image)는 이미지의 정수 dtype을 그대로 복사합니다."
        " np.zeros((out_h, out_w))를 쓰세요.",
    )


def test_filtered_images_defined(nb, data):
    image = data.load("mnist")[0][0][2]
    shape = (image.shape[0] - 2, image.shape[1] - 2)
    for name in FILTERED_NAMES:
        value = _as_float_array(nb.get(name), f"`{name}`")
        assert value.shape == shape, msg(
            f"`{name}` should have shape {shape} (a 3x3 filter on the 28x28 x_train[2], no"
            f" padding), got {value.shape}.",
            f"`{name}`의 모양은 {shape}이어야 하는데 (28x28 x_train[2]에 패딩 없이 3x3 필터)"
            f" {value.shape}입니다.",
        )
        assert value.dtype.kind == "f", msg(
            f"`{name}` should hold floats, got dtype {value.dtype}.",
            f"`{name}`에는 실수가 들어 있어야 하는데 dtype이 {value.dtype}입니다.",
        )


def test_figure_shown(nb):
    assert len(nb.figures) > 0, msg(
        "expected at least one figure showing the filtered images, found none in the notebook's"
        " outputs. Hint: plt.imshow(horizontal_filtered_image, cmap='gray') and then plt.show(),"
        " in a cell that runs.",
        "필터를 적용한 이미지를 보여 주는 그림이 적어도 하나 있어야 하는데 노트북의 출력에 없습니다."
        " 힌트: 실행되는 셀에서 plt.imshow(horizontal_filtered_image, cmap='gray') 다음에 plt.show()를"
        " 호출하세요.",
    )
