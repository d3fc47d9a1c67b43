"""Hidden checks for conv2d_simple: the contract on random inputs, fresh every run.

Students see only the assert messages, which describe the inputs (sizes, dtypes,
filter size) but never this source. The trusted reference is `_reference` below:
plain numpy, float64, valid cross-correlation (no kernel flip), stride 1.
"""

from __future__ import annotations

import ast

import numpy as np

FILTERED = {
    # name -> the filters accepted for it (blur: 0.11 as in the notes, or exactly 1/9)
    "horizontal_filtered_image": [np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64)],
    "vertical_filtered_image": [np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64)],
    "blur_filtered_image": [np.full((3, 3), 0.11), np.full((3, 3), 1.0 / 9.0)],
    "sharpen_filtered_image": [np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)],
}

# Dotted names the kernel-side tracer watches during the call (top-level module and
# function name are matched, so modules that are not installed cost nothing).
FORBIDDEN_CALLS = [
    "scipy.signal.convolve",
    "scipy.signal.convolve2d",
    "scipy.signal.correlate",
    "scipy.signal.correlate2d",
    "scipy.signal.fftconvolve",
    "scipy.signal.oaconvolve",
    "scipy.ndimage.convolve",
    "scipy.ndimage.correlate",
    "numpy.convolve",
    "numpy.correlate",
    "tensorflow.nn.conv2d",
    "tensorflow.nn.convolution",
    "keras.ops.conv",
    "cv2.filter2D",
]

# Names that must not appear in the source of conv2d_simple: as an attribute
# (np.convolve, signal.correlate2d, tf.nn.conv2d, layers.Conv2D, cv2.filter2D) ...
FORBIDDEN_ATTRIBUTES = {
    "signal",
    "ndimage",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "fftconvolve",
    "oaconvolve",
    "conv2d",
    "convolution",
    "conv",
    "Conv2D",
    "Convolution2D",
    "filter2D",
}
# ... or called by a bare name (after `from scipy.signal import correlate2d`).
FORBIDDEN_CALLED_NAMES = {
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "fftconvolve",
    "oaconvolve",
    "conv2d",
    "Conv2D",
    "Convolution2D",
    "filter2D",
}


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


def _close(got, ref):
    """Relative tolerance 1e-6, measured against the result's own scale."""
    ref = np.asarray(ref, dtype=np.float64)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    return got.shape == ref.shape and bool(
        np.allclose(got, ref, rtol=1e-6, atol=1e-6 * scale + 1e-12)
    )


def _as_array(value, what):
    if value is None:
        raise AssertionError(
            f"{what} returned None; it must return a numpy array (did you forget `return`?)"
        )
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    assert arr is not None and arr.dtype.kind in "biuf", (
        f"{what} must give a numeric numpy array, got {type(value).__name__}"
        + (f" of dtype {arr.dtype}" if arr is not None else "")
        + ". Hint: build the result with np.zeros((out_h, out_w)) and fill it in."
    )
    return arr


def _hint(got, image, filt):
    """Name the usual mistake the result looks like; '' when none fits."""
    filt = np.asarray(filt, dtype=np.float64)
    k = filt.shape[0]
    h, w = np.asarray(image).shape
    if got.shape == (h - k, w - k) and k > 1:
        return (
            " Hint: the output has H - filter_size + 1 rows and W - filter_size + 1 columns (you"
            " lost the + 1)."
        )
    if got.shape == (h, w) and k > 1:
        return " Hint: no padding: the output is smaller than the input ('valid', not 'same')."
    if h != w and got.shape == (h - k + 1, h - k + 1):
        return (
            " Hint: you seem to use the image height for both dimensions; the width is"
            " input_image.shape[1]."
        )
    if h != w and got.shape == (w - k + 1, w - k + 1):
        return (
            " Hint: you seem to use the image width for both dimensions; the height is"
            " input_image.shape[0]."
        )
    if (
        got.shape == (h - k + 1, w - k + 1)
        and k > 1
        and _close(got, _reference(image, filt[::-1, ::-1]))
    ):
        return (
            " Hint: your result equals the mathematical convolution (kernel flipped by 180"
            " degrees); Conv2D computes cross-correlation: out[i, j] = sum(image[i:i+k, j:j+k] *"
            " filter), no flip."
        )
    return ""


def _describe(image, filt, k):
    image = np.asarray(image)
    kind = "nested-list" if isinstance(filt, list) else "array"
    return (
        f"a random {image.shape[0]}x{image.shape[1]} {image.dtype} image, a random {k}x{k} {kind}"
        " filter"
    )


def _check_call(nb, image, filt, k, *, need_float=False):
    description = _describe(image, filt, k)
    got = _as_array(nb.call("conv2d_simple", image, filt, k), f"conv2d_simple on {description}")
    ref = _reference(image, filt)
    assert got.shape == ref.shape, (
        f"conv2d_simple on {description}: expected shape {ref.shape}, got {got.shape}."
        + _hint(got, image, filt)
    )
    if not _close(got, ref):
        where = np.unravel_index(np.argmax(np.abs(got.astype(np.float64) - ref)), ref.shape)
        message = (
            f"conv2d_simple on {description}: wrong values; at {tuple(int(i) for i in where)} "
            f"expected {ref[where]:.6g}, got {got[where]:.6g}." + _hint(got, image, filt)
        )
        if not _hint(got, image, filt) and (
            np.asarray(image).dtype.kind in "iu" or got.dtype.kind in "iu"
        ):
            message += (
                " Hint: integer arithmetic wraps around (uint8: 10 - 200 == 66) and an integer"
                " result array cuts off negatives and fractions: compute and store in float."
            )
        raise AssertionError(message)
    if need_float:
        assert got.dtype.kind == "f", (
            f"conv2d_simple on {description} returned dtype {got.dtype}; it must return floats."
            " Hint: np.zeros_like(input_image) copies the image's integer dtype; use"
            " np.zeros((out_h, out_w))."
        )


def _random_shape(rng, k):
    """A non-square image size that fits a k x k filter."""
    while True:
        h, w = (int(v) for v in rng.integers(max(k, 4), 17, size=2))
        if h != w:
            return h, w


def test_random_float_images(nb, rng):
    # Always both 3 and 5 (a flipped kernel cannot hide), plus a 1x1 and one more at random.
    for k in [3, 5, 1, int(rng.choice([3, 5]))]:
        image = rng.normal(size=_random_shape(rng, k)) * float(rng.choice([1.0, 10.0]))
        filt = rng.normal(size=(k, k))
        _check_call(nb, image, filt, k)


def test_output_shape_random(nb, rng):
    for k in [1, 3, 5]:
        h, w = _random_shape(rng, k)
        image = rng.random((h, w))
        filt = rng.normal(size=(k, k))
        got = _as_array(
            nb.call("conv2d_simple", image, filt, k),
            f"conv2d_simple on {_describe(image, filt, k)}",
        )
        expected = (h - k + 1, w - k + 1)
        assert got.shape == expected, (
            f"conv2d_simple on {_describe(image, filt, k)}: expected shape {expected} (H -"
            f" filter_size + 1, W - filter_size + 1), got {got.shape}." + _hint(got, image, filt)
        )


def test_integer_images_random(nb, rng):
    cases = []
    # uint8 images as MNIST stores them, with integer filters that have negative entries
    for k in (3, 5):
        image = rng.integers(0, 256, size=_random_shape(rng, k)).astype(np.uint8)
        cases.append((image, rng.integers(-2, 3, size=(k, k)), k))
    # the blur filter (0.11) on a uint8 image: the result has fractions
    cases.append(
        (
            rng.integers(0, 256, size=_random_shape(rng, 3)).astype(np.uint8),
            np.full((3, 3), 0.11),
            3,
        )
    )
    # a signed integer image
    cases.append(
        (
            rng.integers(-50, 51, size=_random_shape(rng, 3)).astype(np.int64),
            rng.integers(-3, 4, size=(3, 3)),
            3,
        )
    )
    for image, filt, k in cases:
        _check_call(nb, image, filt, k, need_float=True)


def test_nested_list_filters(nb, rng):
    for k in (3, 5, 1):
        image = rng.random(_random_shape(rng, k)) * 255.0
        filt = [[float(v) for v in row] for row in rng.normal(size=(k, k)).round(3)]
        _check_call(nb, image, filt, k)
    image = rng.integers(0, 256, size=_random_shape(rng, 3)).astype(np.uint8)
    _check_call(nb, image, [[1, 0, -1], [1, 0, -1], [1, 0, -1]], 3, need_float=True)


# Lookups whose target the source does not name: with them any function can be reached.
REFLECTIVE_NAMES = {"eval", "exec", "compile", "vars", "globals", "__import__", "attrgetter", "methodcaller"}
REFLECTIVE_ATTRIBUTES = {"__dict__", "__getattribute__", "modules", "import_module"}


def _imported_names(node):
    """The module of a `from` import and every name an import statement brings in."""
    return [n for n in [getattr(node, "module", None)] + [a.name for a in node.names] if n]


def _forbidden_in_source(source, imports=True):
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLED_NAMES
        ):
            found.add(node.func.id)
        elif imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            names = _imported_names(node)
            if any(n.split(".")[0] in {"scipy", "cv2", "keras", "tensorflow"} for n in names):
                found.add("import of " + ", ".join(names))
    return sorted(found)


def _hidden_lookups(source):
    """getattr with a computed name, eval, __dict__, sys.modules, importlib and the like."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                found.add("getattr with a computed name")
        elif isinstance(node, ast.Name) and node.id in REFLECTIVE_NAMES:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in REFLECTIVE_ATTRIBUTES:
            found.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(n.split(".")[0] == "importlib" for n in _imported_names(node)):
                found.add("importlib")
    return sorted(found)


def test_no_library_convolution_source(nb):
    source = nb.function_source("conv2d_simple")
    assert source is not None, (
        "could not find `def conv2d_simple(...)` in your code cells; define it with def (not a"
        " lambda)."
    )
    found = _forbidden_in_source(source)
    assert not found, (
        "conv2d_simple must compute the convolution itself (loops or slicing with numpy), but its"
        f" source uses: {', '.join(found)}. Library convolutions (scipy.signal, scipy.ndimage,"
        " np.convolve, np.correlate, tf.nn.conv2d, keras Conv2D, cv2.filter2D) are not allowed"
        " inside it."
    )
    # The code it uses through global names (helpers, aliases made at the top) too.
    used = nb.function_closure("conv2d_simple") or source
    found = sorted(set(_forbidden_in_source(used, imports=False)) | set(_hidden_lookups(used)))
    assert not found, (
        "conv2d_simple must compute the convolution itself, but code it uses (its helpers and"
        f" the global names it reads) contains: {', '.join(found)}. Library convolutions are not"
        " allowed, and neither are lookups that hide which function is called (getattr with a"
        " computed name, eval, __dict__, sys.modules, importlib)."
    )
    # A stub cannot earn this point: the function must actually run (on a square image,
    # so that a bug checked elsewhere cannot make it crash here).
    image = np.arange(25, dtype=np.float64).reshape(5, 5)
    nb.call("conv2d_simple", image, np.ones((3, 3)), 3)


def test_no_library_convolution_runtime(nb, rng):
    # Square, so that a bug checked elsewhere (square-only code) cannot make it crash here.
    size = int(rng.integers(6, 12))
    image = rng.random((size, size))
    filt = rng.normal(size=(3, 3))
    got = nb.call("conv2d_simple", image, filt, 3, forbid=FORBIDDEN_CALLS)
    assert got is not None, "conv2d_simple returned None; it must return the filtered image."


def test_filtered_images_match_x_train_2(nb, data, credit):
    images = data.load("mnist")[0][0]
    target = images[2]
    # x_train[2] as loaded (uint8, 0..255) or scaled by / 255.0: both are accepted.
    scalings = {"as loaded": 1.0, "divided by 255": 1.0 / 255.0}
    for name, filters in FILTERED.items():
        if not nb.has(name):
            credit.check(False, f"`{name}` is not defined.")
            continue
        value = nb.get(name)
        try:
            got = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            credit.check(False, f"`{name}` is not a numeric array (got {type(value).__name__}).")
            continue
        candidates = [_reference(target * s, f) for s in scalings.values() for f in filters]
        if any(_close(got, c) for c in candidates):
            credit.check(True, f"`{name}` matches.")
            continue
        hint = ""
        for other in (0, 1, 3):
            if other < len(images) and any(
                _close(got, _reference(images[other] * s, f))
                for s in scalings.values()
                for f in filters
            ):
                hint = (
                    f" It matches x_train[{other}] instead: the exercise asks for x_train[2], the"
                    " third image."
                )
                break
        else:
            if any(
                _close(got, _reference(target * s, f[::-1, ::-1]))
                for s in scalings.values()
                for f in filters
            ):
                hint = (
                    " It matches the kernel flipped by 180 degrees: Conv2D does not flip the"
                    " kernel."
                )
        credit.check(
            False,
            f"`{name}` (shape {got.shape}) does not match the convolution of x_train[2] with the"
            f" {name.split('_')[0]} filter (compared with x_train[2] as loaded and divided by "
            f"255).{hint}",
        )
