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

FILTERED_NAMES = (
    "horizontal_filtered_image",
    "vertical_filtered_image",
    "blur_filtered_image",
    "sharpen_filtered_image",
)


def _as_float_array(value, what):
    """The student's result as a numeric ndarray, or a failed check that says why."""
    if value is None:
        raise AssertionError(
            f"{what} returned None; it must return a numpy array (did you forget `return`?)"
        )
    try:
        arr = np.asarray(value)
    except Exception:  # ragged lists and the like
        arr = None
    assert arr is not None and arr.dtype.kind in "biuf", (
        f"{what} must be a numeric numpy array, got {type(value).__name__}"
        + (f" of dtype {arr.dtype}" if arr is not None else "")
        + ". Hint: build the result with np.zeros((out_h, out_w)) and fill it in."
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
        return (
            " Hint: the output has H - filter_size + 1 rows and W - filter_size + 1 columns (you"
            " lost the + 1)."
        )
    if got.shape == (h, w):
        return " Hint: no padding here: the output is smaller than the input ('valid', not 'same')."
    if got.shape == (h - k + 1, h - k + 1) and h != w:
        return (
            " Hint: you seem to use the image height for both dimensions; use input_image.shape[1]"
            " for the width."
        )
    if got.shape == (h - k + 1, w - k + 1):
        flipped = _reference(image, np.asarray(filt, dtype=np.float64)[::-1, ::-1])
        if np.allclose(got, flipped, rtol=1e-6, atol=1e-9):
            return (
                " Hint: your result equals the mathematical convolution (kernel flipped by 180"
                " degrees); Conv2D computes cross-correlation: out[i, j] = sum(image[i:i+k, j:j+k]"
                " * filter), no flip."
            )
    return ""


def _check_example(nb, image, filt, expected, description):
    got = _as_float_array(
        nb.call("conv2d_simple", image, filt, len(filt)), f"conv2d_simple({description})"
    )
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (
        f"conv2d_simple({description}): expected shape {expected.shape}, got {got.shape}."
        + _hint_for(got, image, filt)
    )
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-9), (
        f"conv2d_simple({description}): expected\n{expected}\ngot\n{got}."
        + _hint_for(got, image, filt)
    )


def test_notes_example_4x4(nb):
    image = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
    filt = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
    _check_example(nb, image, filt, [[15, 16], [6, 15]], "the 4x4 example of the notes, 3x3 filter")


def test_nonsquare_example(nb):
    image = np.array([[1, 0, 2, 3, 1], [0, 1, 4, 1, 0], [2, 3, 0, 1, 2]], dtype=np.float64)
    filt = np.array([[1, 0, -1], [2, 1, 0], [0, 0, 1]], dtype=np.float64)
    _check_example(nb, image, filt, [[0, 4, 12]], "a 3x5 image (3 rows, 5 columns), 3x3 filter")


def test_integer_image_example(nb):
    image = np.array(
        [[200, 10, 0, 255], [0, 250, 30, 7], [90, 0, 255, 1], [3, 60, 0, 128]], dtype=np.uint8
    )
    filt = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64)
    description = "a 4x4 uint8 image, the vertical filter"
    got = _as_float_array(nb.call("conv2d_simple", image, filt, 3), f"conv2d_simple({description})")
    expected = _reference(image, filt)
    assert got.shape == expected.shape, (
        f"conv2d_simple({description}): expected shape {expected.shape}, got {got.shape}."
    )
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-9), (
        f"conv2d_simple({description}): expected\n{expected}\ngot\n{got}."
        + (
            _hint_for(got, image, filt)
            or " Hint: uint8 arithmetic wraps around (10 - 200 is 66 in uint8) and an integer"
            " result array cuts off negatives and fractions: compute in float, e.g. start from"
            " np.zeros((out_h, out_w)) and use input_image.astype(float)."
        )
    )
    assert got.dtype.kind == "f", (
        f"conv2d_simple({description}) returned an array of dtype {got.dtype}; it must return"
        " floats. Hint: np.zeros_like(input_image) copies the image's integer dtype; use"
        " np.zeros((out_h, out_w))."
    )


def test_filtered_images_defined(nb, data):
    image = data.load("mnist")[0][0][2]
    shape = (image.shape[0] - 2, image.shape[1] - 2)
    for name in FILTERED_NAMES:
        value = _as_float_array(nb.get(name), f"`{name}`")
        assert value.shape == shape, (
            f"`{name}` should have shape {shape} (a 3x3 filter on the 28x28 x_train[2], no"
            f" padding), got {value.shape}."
        )
        assert value.dtype.kind == "f", f"`{name}` should hold floats, got dtype {value.dtype}."


def test_figure_shown(nb):
    assert len(nb.figures) > 0, (
        "expected at least one figure showing the filtered images, found none in the notebook's"
        " outputs. Hint: plt.imshow(horizontal_filtered_image, cmap='gray') and then plt.show(),"
        " in a cell that runs."
    )
