"""Hidden checks for conv2d_simple: the contract on random inputs, fresh every run.

Students see only the assert messages, which describe the inputs (sizes, dtypes,
filter size) but never this source. The trusted reference is `_reference` below:
plain numpy, float64, valid cross-correlation (no kernel flip), stride 1.
"""

from __future__ import annotations

import ast

import numpy as np

from grader.i18n import join, msg, pick
from grader.pictures import Panel

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
    except Exception:
        arr = None
    got = type(value).__name__ + (f" of dtype {arr.dtype}" if arr is not None else "")
    got_ko = type(value).__name__ + (f" (dtype {arr.dtype})" if arr is not None else "")
    assert arr is not None and arr.dtype.kind in "biuf", msg(
        f"{what} must give a numeric numpy array, got {got}."
        " Hint: build the result with np.zeros((out_h, out_w)) and fill it in.",
        f"{what_ko}은(는) 숫자로 된 numpy 배열을 돌려주어야 하는데 {got_ko}입니다."
        " 힌트: np.zeros((out_h, out_w))로 결과를 만들고 값을 채우세요.",
    )
    return arr


def _hint(got, image, filt):
    """Name the usual mistake the result looks like; '' when none fits."""
    filt = np.asarray(filt, dtype=np.float64)
    k = filt.shape[0]
    h, w = np.asarray(image).shape
    if got.shape == (h - k, w - k) and k > 1:
        return msg(
            " Hint: the output has H - filter_size + 1 rows and W - filter_size + 1 columns (you"
            " lost the + 1).",
            " 힌트: 출력은 H - filter_size + 1개의 행과 W - filter_size + 1개의 열을 가집니다"
            " (+ 1을 빠뜨렸습니다).",
        )
    if got.shape == (h, w) and k > 1:
        return msg(
            " Hint: no padding: the output is smaller than the input ('valid', not 'same').",
            " 힌트: 패딩이 없으므로 출력이 입력보다 작습니다 ('same'이 아니라 'valid').",
        )
    if h != w and got.shape == (h - k + 1, h - k + 1):
        return msg(
            " Hint: you seem to use the image height for both dimensions; the width is"
            " input_image.shape[1].",
            " 힌트: 두 차원 모두에 이미지의 높이를 쓴 것 같습니다. 너비는 input_image.shape[1]입니다.",
        )
    if h != w and got.shape == (w - k + 1, w - k + 1):
        return msg(
            " Hint: you seem to use the image width for both dimensions; the height is"
            " input_image.shape[0].",
            " 힌트: 두 차원 모두에 이미지의 너비를 쓴 것 같습니다. 높이는 input_image.shape[0]입니다.",
        )
    if (
        got.shape == (h - k + 1, w - k + 1)
        and k > 1
        and _close(got, _reference(image, filt[::-1, ::-1]))
    ):
        return msg(
            " Hint: your result equals the mathematical convolution (kernel flipped by 180"
            " degrees); Conv2D computes cross-correlation: out[i, j] = sum(image[i:i+k, j:j+k] *"
            " filter), no flip.",
            " 힌트: 결과가 수학적 합성곱(커널을 180도 뒤집음)과 같습니다. Conv2D는 교차 상관을"
            " 계산합니다: out[i, j] = sum(image[i:i+k, j:j+k] * filter), 뒤집지 않습니다.",
        )
    return ""


def _describe(image, filt, k):
    """The call's inputs in words (a Msg), for the conv2d_simple messages."""
    image = np.asarray(image)
    h, w = image.shape
    kind, kind_ko = ("nested-list", "중첩 리스트") if isinstance(filt, list) else ("array", "배열")
    return msg(
        f"conv2d_simple on a random {h}x{w} {image.dtype} image, a random {k}x{k} {kind} filter",
        f"무작위 {h}x{w} {image.dtype} 이미지와 무작위 {k}x{k} {kind_ko} 필터에 대한 conv2d_simple",
    )


def _check_call(nb, image, filt, k, *, need_float=False):
    what = _describe(image, filt, k)
    what_ko = what.ko
    got = _as_array(nb.call("conv2d_simple", image, filt, k), what)
    ref = _reference(image, filt)
    hint = _hint(got, image, filt) if got.ndim == 2 else ""
    assert got.shape == ref.shape, join(
        [
            msg(
                f"{what}: expected shape {ref.shape}, got {got.shape}.",
                f"{what_ko}: 모양이 {ref.shape}이어야 하는데 {got.shape}입니다.",
            ),
            hint,
        ],
        sep="",
    )
    if not _close(got, ref):
        where = np.unravel_index(np.argmax(np.abs(got.astype(np.float64) - ref)), ref.shape)
        at = tuple(int(i) for i in where)
        parts = [
            msg(
                f"{what}: wrong values; at {at} expected {ref[where]:.6g}, got {got[where]:.6g}.",
                f"{what_ko}: 값이 틀렸습니다. {at} 위치에서 {ref[where]:.6g}이어야 하는데 {got[where]:.6g}입니다.",
            ),
            hint,
        ]
        if not hint and (np.asarray(image).dtype.kind in "iu" or got.dtype.kind in "iu"):
            parts.append(
                msg(
                    " Hint: integer arithmetic wraps around (uint8: 10 - 200 == 66) and an integer"
                    " result array cuts off negatives and fractions: compute and store in float.",
                    " 힌트: 정수 산술은 값이 순환하고(uint8: 10 - 200 == 66) 정수 결과 배열은 음수와"
                    " 소수점 아래를 잘라 냅니다. 실수로 계산하고 저장하세요.",
                )
            )
        raise AssertionError(join(parts, sep=""))
    if need_float:
        assert got.dtype.kind == "f", msg(
            f"{what} returned dtype {got.dtype}; it must return floats."
            " Hint: np.zeros_like(input_image) copies the image's integer dtype; use"
            " np.zeros((out_h, out_w)).",
            f"{what_ko}이(가) dtype {got.dtype}을(를) 반환했습니다. 실수를 반환해야 합니다."
            " 힌트: np.zeros_like(input_image)는 이미지의 정수 dtype을 그대로 복사합니다."
            " np.zeros((out_h, out_w))를 쓰세요.",
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
        what = _describe(image, filt, k)
        got = _as_array(nb.call("conv2d_simple", image, filt, k), what)
        expected = (h - k + 1, w - k + 1)
        assert got.shape == expected, join(
            [
                msg(
                    f"{what}: expected shape {expected} (H - filter_size + 1, W - filter_size + 1), got {got.shape}.",
                    f"{what.ko}: 모양이 {expected} (H - filter_size + 1, W - filter_size + 1)이어야 하는데 "
                    f"{got.shape}입니다.",
                ),
                _hint(got, image, filt),
            ],
            sep="",
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
    assert source is not None, msg(
        "could not find `def conv2d_simple(...)` in your code cells; define it with def (not a"
        " lambda).",
        "코드 셀에서 `def conv2d_simple(...)`을 찾을 수 없습니다. lambda가 아니라 def로 정의하세요.",
    )
    found = _forbidden_in_source(source)
    assert not found, msg(
        "conv2d_simple must compute the convolution itself (loops or slicing with numpy), but its"
        f" source uses: {', '.join(found)}. Library convolutions (scipy.signal, scipy.ndimage,"
        " np.convolve, np.correlate, tf.nn.conv2d, keras Conv2D, cv2.filter2D) are not allowed"
        " inside it.",
        "conv2d_simple은 합성곱을 직접(반복문이나 numpy 슬라이싱으로) 계산해야 하는데 소스에서 다음을"
        f" 씁니다: {', '.join(found)}. 라이브러리 합성곱(scipy.signal, scipy.ndimage, np.convolve,"
        " np.correlate, tf.nn.conv2d, keras Conv2D, cv2.filter2D)은 함수 안에서 쓸 수 없습니다.",
    )
    # The code it uses through global names (helpers, aliases made at the top) too.
    used = nb.function_closure("conv2d_simple") or source
    found = sorted(set(_forbidden_in_source(used, imports=False)) | set(_hidden_lookups(used)))
    assert not found, msg(
        "conv2d_simple must compute the convolution itself, but code it uses (its helpers and"
        f" the global names it reads) contains: {', '.join(found)}. Library convolutions are not"
        " allowed, and neither are lookups that hide which function is called (getattr with a"
        " computed name, eval, __dict__, sys.modules, importlib).",
        "conv2d_simple은 합성곱을 직접 계산해야 하는데, 함수가 쓰는 코드(보조 함수와 읽는 전역 이름)에"
        f" 다음이 있습니다: {', '.join(found)}. 라이브러리 합성곱도, 어떤 함수를 부르는지 숨기는 조회"
        "(계산된 이름의 getattr, eval, __dict__, sys.modules, importlib)도 쓸 수 없습니다.",
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
    assert got is not None, msg(
        "conv2d_simple returned None; it must return the filtered image.",
        "conv2d_simple이 None을 반환했습니다. 필터를 적용한 이미지를 반환해야 합니다.",
    )


def _picture_row(name, got, candidates, matched):
    """One row of the report's picture: the student's image, the expected one (the
    accepted result nearest to it: same scaling, same blur filter) and, where they
    disagree, their difference."""
    label = name.split("_")[0]
    if got is None or got.ndim != 2:
        return label, [Panel("yours: not an image"), Panel("expected", candidates[0])]
    same = [c for c in candidates if c.shape == got.shape]
    if not same:
        note = f"shape {got.shape}, expected {candidates[0].shape}"
        return label, [Panel("yours", got), Panel("expected", candidates[0]), Panel(note)]
    ref = min(same, key=lambda c: float(np.abs(got - c).max()))
    if matched:
        return label, [Panel("yours", got), Panel("expected", ref), Panel("✓ matches")]
    diff = got - ref
    return label, [
        Panel("yours", got),
        Panel("expected", ref),
        Panel(f"difference (max {np.abs(diff).max():.3g})", diff, "diff"),
    ]


def _safe_row(name, got, candidates, matched):
    """_picture_row, which must never decide a check: a failure shows in the picture."""
    try:
        return _picture_row(name, got, candidates, matched)
    except Exception as exc:  # a grader bug, shown where the picture would be
        return name.split("_")[0], [Panel(f"picture not drawn: {type(exc).__name__}")]


def test_filtered_images_match_x_train_2(nb, data, credit, pictures):
    images = data.load("mnist")[0][0]
    target = images[2]
    # x_train[2] as loaded (uint8, 0..255) or scaled by / 255.0: both are accepted.
    scalings = {"as loaded": 1.0, "divided by 255": 1.0 / 255.0}
    rows = []
    try:
        _match_filtered(nb, images, target, scalings, credit, rows)
    finally:
        if rows:
            pictures.grid(
                msg(
                    "Your four filtered images of x_train[2] beside the grader's, and where they disagree their "
                    "difference, yours − expected (red: yours is higher, blue: lower).",
                    "x_train[2]에 네 필터를 적용한 결과(왼쪽)와 채점기의 결과(가운데), 서로 다르면 그 차이"
                    "(빨강: 학생 값이 더 큼, 파랑: 더 작음).",
                ),
                rows,
            )


def _match_filtered(nb, images, target, scalings, credit, rows):
    for name, filters in FILTERED.items():
        candidates = [_reference(target * s, f) for s in scalings.values() for f in filters]
        if not nb.has(name):
            credit.check(False, msg(f"`{name}` is not defined.", f"`{name}`이(가) 정의되지 않았습니다."))
            rows.append((name.split("_")[0], [Panel("not defined"), Panel("expected", candidates[0])]))
            continue
        value = nb.get(name)
        try:
            got = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            kind = type(value).__name__
            credit.check(
                False,
                msg(f"`{name}` is not a numeric array (got {kind}).", f"`{name}`이(가) 숫자 배열이 아닙니다 ({kind})."),
            )
            rows.append(_safe_row(name, None, candidates, False))
            continue
        matched = any(_close(got, c) for c in candidates)
        rows.append(_safe_row(name, got, candidates, matched))
        if matched:
            credit.check(True, msg(f"`{name}` matches.", f"`{name}`이(가) 일치합니다."))
            continue
        hint = ""
        for other in (0, 1, 3):
            if other < len(images) and any(
                _close(got, _reference(images[other] * s, f))
                for s in scalings.values()
                for f in filters
            ):
                hint = msg(
                    f" It matches x_train[{other}] instead: the exercise asks for x_train[2], the"
                    " third image.",
                    f" 대신 x_train[{other}]와 일치합니다: 이 실습은 세 번째 이미지인 x_train[2]를 씁니다.",
                )
                break
        else:
            if any(
                _close(got, _reference(target * s, f[::-1, ::-1]))
                for s in scalings.values()
                for f in filters
            ):
                hint = msg(
                    " It matches the kernel flipped by 180 degrees: Conv2D does not flip the kernel.",
                    " 180도 뒤집은 커널의 결과와 일치합니다: Conv2D는 커널을 뒤집지 않습니다.",
                )
        credit.check(
            False,
            join(
                [
                    msg(
                        f"`{name}` (shape {got.shape}) does not match the convolution of x_train[2] with the"
                        f" {name.split('_')[0]} filter (compared with x_train[2] as loaded and divided by 255).",
                        f"`{name}` (모양 {got.shape})이(가) x_train[2]에 {name.split('_')[0]} 필터를 적용한 결과와"
                        " 일치하지 않습니다 (불러온 그대로의 x_train[2]와 255로 나눈 것 모두와 비교했습니다).",
                    ),
                    hint,
                ],
                sep="",
            ),
        )
