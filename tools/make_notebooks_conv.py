# ruff: noqa: E501 (cell texts are prose and code as students see them)
"""Generate the notebooks of the two convolution exercises (conv2d_simple, cnn_filters).

Writes, from the cell texts below:
  assignments/<name>/<name>.ipynb               starter (cells to fill raise NotImplementedError)
  solutions/<name>/<name>.ipynb                 reference solution
  tests/fixtures/mistakes/<name>/<mistake>.ipynb  the solution with exactly one mistake
  examples/submissions/<name>/<student>.ipynb   sample submissions (some with several mistakes)

Run from the repository root:  python tools/make_notebooks_conv.py
Notebooks are written without outputs and with stable cell ids, so re-running it gives
the same files. Each mistake notebook's expected failing tests are listed by hand in
tests/fixtures/mistakes/<name>/EXPECTED.toml (keep both in step).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

from nbgen import (  # noqa: E402,F401
    ANSWER_HOW,
    answer_cell,
    code,
    md,
    notebook,
    replace,
    sub,  # noqa: E402,F401
    write,
)

# =====================================================================================
# conv2d_simple  (seed 000, [예제 0])
# =====================================================================================

CONV_STARTER = [
    md(
        "intro",
        """
        # [예제 0] 2차원 컨벌루션 직접 구현하기 — `conv2d_simple`
        # [Exercise 0] 2-D convolution by hand — `conv2d_simple`

        **과제.** MNIST 3번째 데이터인 `x_train[2]` 데이터에 대해서, 다음과 같은 3 x 3 필터에 대해
        컨벌루션 연산을 하는 `conv2d_simple(input_image, filter, filter_size)` 를 구현하고
        컨벌루션 결과를 이미지로 출력하시오.

        **Task.** Implement `conv2d_simple(input_image, filter, filter_size)`, a 2-D convolution written by
        hand, apply it to the third MNIST training image `x_train[2]` with the four 3 x 3 filters below, and
        show the results as images.

        **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
        지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
        `raise NotImplementedError` line. Do not rename anything: the grader reads these names.

        | 이름 / name | 내용 / what |
        |---|---|
        | `conv2d_simple(input_image, filter, filter_size)` | 결과 배열 / returns a float `np.ndarray` |
        | `horizontal_filtered_image`, `vertical_filtered_image`, `blur_filtered_image`, `sharpen_filtered_image` | `x_train[2]` 에 각 필터를 적용한 결과, shape `(26, 26)` / the four results on `x_train[2]` |
        | 그림 / figure | 필터링된 이미지를 보여주는 그림 (`plt.imshow` + `plt.show()`) / a figure showing the filtered images |
        """,
    ),
    code(
        "imports",
        """
        import matplotlib.pyplot as plt
        import numpy as np
        from tensorflow.keras.datasets import mnist
        """,
    ),
    code(
        "load-data",
        """
        (x_train, t_train), (x_test, t_test) = mnist.load_data()

        # 노트와 같이 0~1 범위로 스케일합니다. / Scaled to [0, 1] as in the notes.
        # 채점은 x_train[2] 를 불러온 그대로(uint8, 0~255) 쓰든 255.0 으로 나누어 쓰든 모두 인정합니다.
        # The grader accepts the filtered images computed on x_train[2] either as loaded (uint8, 0..255)
        # or divided by 255.0, as here.
        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        print('t_train.shape = ', t_train.shape, ' , t_test.shape = ', t_test.shape)
        """,
    ),
    md(
        "task-conv",
        """
        ## 1. `conv2d_simple(input_image, filter, filter_size)`

        - Keras `Conv2D` 와 같은 연산: 필터를 뒤집지 않는 cross-correlation, 스트라이드 1, 패딩 없음.
          The same operation as Keras `Conv2D`: cross-correlation (the filter is **not** flipped), stride 1,
          no padding: `out[i, j] = sum(input_image[i:i+k, j:j+k] * filter)` with `k = filter_size`.
        - 출력 크기 / output shape: `(H - filter_size + 1, W - filter_size + 1)` for an `H x W` image.
          정사각형이 아닌 이미지와 홀수 크기의 모든 필터(1, 3, 5, ...)에서 동작해야 합니다.
          It must work for non-square images and any odd `filter_size`.
        - 입력은 실수 또는 정수(`uint8` 포함) 이미지, 필터는 배열 또는 중첩 리스트일 수 있고,
          결과는 항상 실수(float) 배열입니다. Images may be float or integer (including `uint8`), filters
          an array or nested lists; always return a **float** array.
        - 라이브러리 컨벌루션 금지 / no library convolution inside it: `scipy.signal`, `scipy.ndimage`,
          `np.convolve`, `np.correlate`, `tf.nn.conv2d`, keras layers, `cv2.filter2D`. numpy 반복문이나
          슬라이싱으로 구현하세요 / use numpy loops or slicing.

        예 / example (노트의 4 x 4 예제 / the 4 x 4 example of the notes):
        input `[[1,2,3,0],[0,1,2,3],[3,0,1,2],[2,3,0,1]]`, filter `[[2,0,1],[0,1,2],[1,0,2]]` → `[[15,16],[6,15]]`.
        """,
    ),
    code(
        "conv2d-simple",
        """
        def conv2d_simple(input_image, filter, filter_size):
            # YOUR CODE HERE
            raise NotImplementedError
        """,
    ),
    md(
        "task-filters",
        """
        ## 2. 필터 / The filters

        horizontal, vertical, blur (모두 0.11 / all 0.11), sharpen — 아래 셀은 그대로 실행하세요.
        Run the cell below as it is.
        """,
    ),
    code(
        "filters",
        """
        horizontal_filter = np.array([[1.0, 1.0, 1.0],
                                      [0.0, 0.0, 0.0],
                                      [-1.0, -1.0, -1.0]])

        vertical_filter = np.array([[1.0, 0.0, -1.0],
                                    [1.0, 0.0, -1.0],
                                    [1.0, 0.0, -1.0]])

        blur_filter = np.array([[0.11, 0.11, 0.11],
                                [0.11, 0.11, 0.11],
                                [0.11, 0.11, 0.11]])

        sharpen_filter = np.array([[0.0, -1.0, 0.0],
                                   [-1.0, 5.0, -1.0],
                                   [0.0, -1.0, 0.0]])
        """,
    ),
    md(
        "task-apply",
        """
        ## 3. `x_train[2]` 에 적용하고 이미지로 출력 / Apply to `x_train[2]` and show the results

        네 개의 결과를 아래 이름으로 저장하고, `plt.imshow(..., cmap='gray')` 와 `plt.show()` 로 그림을 출력하시오.
        Store the four results under the names below and show them with `plt.imshow(..., cmap='gray')`
        and `plt.show()`.

        `horizontal_filtered_image`, `vertical_filtered_image`, `blur_filtered_image`, `sharpen_filtered_image`
        """,
    ),
    code(
        "apply",
        """
        # YOUR CODE HERE
        raise NotImplementedError
        """,
    ),
]

CONV_SOLUTION_FUNCTION = textwrap.dedent("""
    def conv2d_simple(input_image, filter, filter_size):
        image = np.asarray(input_image, dtype=np.float64)   # uint8 -> float: no wrap-around
        kernel = np.asarray(filter, dtype=np.float64)       # nested lists work too
        out_h = image.shape[0] - filter_size + 1
        out_w = image.shape[1] - filter_size + 1
        output = np.zeros((out_h, out_w))
        for i in range(out_h):
            for j in range(out_w):
                # cross-correlation, as Keras Conv2D: the kernel is not flipped
                output[i, j] = np.sum(image[i:i + filter_size, j:j + filter_size] * kernel)
        return output
    """)

CONV_SOLUTION_APPLY = textwrap.dedent("""
    horizontal_filtered_image = conv2d_simple(x_train[2], horizontal_filter, 3)
    vertical_filtered_image = conv2d_simple(x_train[2], vertical_filter, 3)
    blur_filtered_image = conv2d_simple(x_train[2], blur_filter, 3)
    sharpen_filtered_image = conv2d_simple(x_train[2], sharpen_filter, 3)

    plt.figure(figsize=(12, 3))
    panels = [('original', x_train[2]),
              ('horizontal', horizontal_filtered_image),
              ('vertical', vertical_filtered_image),
              ('blur', blur_filtered_image),
              ('sharpen', sharpen_filtered_image)]
    for pos, (title, image) in enumerate(panels, start=1):
        plt.subplot(1, 5, pos)
        plt.title(title)
        plt.imshow(image, cmap='gray')
        plt.axis('off')
    plt.tight_layout()
    plt.show()
    """)

CONV_SOLUTION = replace(
    CONV_STARTER, conv2d_simple=CONV_SOLUTION_FUNCTION, apply=CONV_SOLUTION_APPLY
)

CONV_MISTAKES = {
    # true convolution: the kernel is turned by 180 degrees
    "kernel_flipped": dict(
        conv2d_simple=sub(
            CONV_SOLUTION_FUNCTION,
            "kernel = np.asarray(filter, dtype=np.float64)       # nested lists work too",
            "kernel = np.asarray(filter, dtype=np.float64)[::-1, ::-1]   # convolution flips the kernel",
        )
    ),
    # output one row and one column too small
    "shape_minus_one": dict(
        conv2d_simple=sub(
            sub(
                CONV_SOLUTION_FUNCTION,
                "out_h = image.shape[0] - filter_size + 1",
                "out_h = image.shape[0] - filter_size",
            ),
            "out_w = image.shape[1] - filter_size + 1",
            "out_w = image.shape[1] - filter_size",
        )
    ),
    # zero padding ('same'): output as large as the input
    "padding_same": dict(
        conv2d_simple=sub(
            sub(
                CONV_SOLUTION_FUNCTION,
                "    out_h = image.shape[0] - filter_size + 1\n",
                "    out_h = image.shape[0]\n",
            ),
            "    out_w = image.shape[1] - filter_size + 1\n",
            "    out_w = image.shape[1]\n    image = np.pad(image, filter_size // 2)   # padding='same'\n",
        )
    ),
    # height used for both dimensions (works on 28x28 MNIST only)
    "square_only": dict(
        conv2d_simple="""
        def conv2d_simple(input_image, filter, filter_size):
            image = np.asarray(input_image, dtype=np.float64)
            kernel = np.asarray(filter, dtype=np.float64)
            n = image.shape[0]                      # assumes a square image
            out_size = n - filter_size + 1
            output = np.zeros((out_size, out_size))
            for i in range(out_size):
                for j in range(out_size):
                    output[i, j] = np.sum(image[i:i + filter_size, j:j + filter_size] * kernel)
            return output
        """
    ),
    # library convolution inside conv2d_simple (right values, forbidden means)
    "library_conv": dict(
        conv2d_simple="""
        import tensorflow as tf


        def conv2d_simple(input_image, filter, filter_size):
            image = np.asarray(input_image, dtype=np.float64)
            kernel = np.asarray(filter, dtype=np.float64)
            x = tf.constant(image.reshape(1, image.shape[0], image.shape[1], 1))
            w = tf.constant(kernel.reshape(filter_size, filter_size, 1, 1))
            return tf.nn.conv2d(x, w, strides=1, padding='VALID').numpy()[0, :, :, 0]
        """
    ),
    # result array takes the image's dtype: uint8 images wrap around
    "uint8_overflow": dict(
        conv2d_simple="""
        def conv2d_simple(input_image, filter, filter_size):
            kernel = np.array(filter)
            out_h = input_image.shape[0] - filter_size + 1
            out_w = input_image.shape[1] - filter_size + 1
            output = np.zeros_like(input_image[:out_h, :out_w])   # same dtype as the image
            for i in range(out_h):
                for j in range(out_w):
                    output[i, j] = np.sum(input_image[i:i + filter_size, j:j + filter_size] * kernel)
            return output
        """
    ),
    # integer result array: fractions and the float contract are lost
    "integer_output": dict(
        conv2d_simple=sub(
            CONV_SOLUTION_FUNCTION,
            "output = np.zeros((out_h, out_w))",
            "output = np.zeros((out_h, out_w), dtype=int)",
        )
    ),
    # the filtered images are computed on the first image, not the third
    "wrong_image": dict(apply=sub(CONV_SOLUTION_APPLY, "x_train[2]", "x_train[0]")),
    # no figure at all
    "no_figure": dict(
        apply="""
        horizontal_filtered_image = conv2d_simple(x_train[2], horizontal_filter, 3)
        vertical_filtered_image = conv2d_simple(x_train[2], vertical_filter, 3)
        blur_filtered_image = conv2d_simple(x_train[2], blur_filter, 3)
        sharpen_filtered_image = conv2d_simple(x_train[2], sharpen_filter, 3)
        print(horizontal_filtered_image.shape, vertical_filtered_image.shape)
        """
    ),
}

CONV_EXAMPLES = {
    # perfect, vectorised with sliding windows
    "kim_minji": dict(
        conv2d_simple="""
            def conv2d_simple(input_image, filter, filter_size):
                image = np.asarray(input_image, dtype=float)
                kernel = np.asarray(filter, dtype=float).reshape(filter_size, filter_size)
                windows = np.lib.stride_tricks.sliding_window_view(image, (filter_size, filter_size))
                return np.einsum('ijkl,kl->ij', windows, kernel)
            """,
        apply="""
            horizontal_filtered_image = conv2d_simple(x_train[2], horizontal_filter, 3)
            vertical_filtered_image = conv2d_simple(x_train[2], vertical_filter, 3)
            blur_filtered_image = conv2d_simple(x_train[2], blur_filter, 3)
            sharpen_filtered_image = conv2d_simple(x_train[2], sharpen_filter, 3)

            fig, axes = plt.subplots(2, 2, figsize=(6, 6))
            for ax, title, image in zip(axes.ravel(),
                                        ['horizontal', 'vertical', 'blur', 'sharpen'],
                                        [horizontal_filtered_image, vertical_filtered_image,
                                         blur_filtered_image, sharpen_filtered_image],
                                        strict=True):
                ax.imshow(image, cmap='gray')
                ax.set_title(title)
            plt.tight_layout()
            plt.show()
            """,
    ),
    # flips the kernel ("convolution" as in signal processing)
    "lee_jun": dict(
        conv2d_simple="""
            def conv2d_simple(input_image, filter, filter_size):
                # 컨벌루션은 필터를 180도 뒤집어서 계산한다
                flipped = np.flip(np.array(filter, dtype=float))
                h, w = input_image.shape
                result = np.zeros((h - filter_size + 1, w - filter_size + 1))
                for r in range(result.shape[0]):
                    for c in range(result.shape[1]):
                        result[r, c] = (input_image[r:r + filter_size, c:c + filter_size] * flipped).sum()
                return result
            """,
        apply=CONV_SOLUTION_APPLY,
    ),
    # square images only
    "choi_yuna": dict(
        conv2d_simple=CONV_MISTAKES["square_only"]["conv2d_simple"], apply=CONV_SOLUTION_APPLY
    ),
    # row-wise np.correlate (a library convolution) and no figure
    "jung_hoon": dict(
        conv2d_simple="""
            def conv2d_simple(input_image, filter, filter_size):
                image = np.asarray(input_image, dtype=float)
                kernel = np.asarray(filter, dtype=float)
                out = np.zeros((image.shape[0] - filter_size + 1, image.shape[1] - filter_size + 1))
                for i in range(out.shape[0]):
                    for k in range(filter_size):
                        out[i] += np.correlate(image[i + k], kernel[k], mode='valid')
                return out
            """,
        apply=CONV_MISTAKES["no_figure"]["apply"],
    ),
    # result array with the image's dtype, and the first image instead of the third
    "oh_daeun": dict(
        conv2d_simple=CONV_MISTAKES["uint8_overflow"]["conv2d_simple"],
        apply=sub(CONV_SOLUTION_APPLY, "x_train[2]", "x_train[0]"),
    ),
    # handed in the starter unchanged
    "han_seo": dict(),
}


# =====================================================================================
# cnn_filters  (seed 000, [예제 1])
# =====================================================================================

CNN_STARTER = [
    md(
        "intro",
        """
        # [예제 1] 필터를 통한 입력 데이터 특징 추출 (스트라이드 1, 패딩 없음, 바이어스 -1)
        # [Exercise 1] Feature extraction with hand-made filters (stride 1, no padding, bias -1)

        **과제.** [1] 다음과 같은 숫자 3 에 적용할 수 있는 필터를 최소 5개 만들고, 그 가운데 특징(feature)을
        가장 잘 추출 할 수 있는 필터를 검증하시오. [2] 숫자 1 에 대해서도 같은 작업을 하시오.

        **Task.** [1] Design at least five 3 x 3 filters for the digit 3 below and verify which one extracts
        the digit's feature best. [2] Do the same for the digit 1.

        특징 추출 / feature extraction: 컨벌루션(스트라이드 1, 패딩 없음) → 바이어스 -1 → ReLU → 2 x 2 max pooling
        (스트라이드 2). Convolution (stride 1, no padding) → bias -1 → ReLU → 2 x 2 max pooling (stride 2).

        **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
        지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
        `raise NotImplementedError` line. `DIGIT_3` 과 `DIGIT_1` 은 바꾸지 마세요: 채점기는 자신의 사본으로
        다시 계산합니다. Do not change `DIGIT_3` and `DIGIT_1`: the grader recomputes everything on its own copies.
        """,
    ),
    code(
        "digits",
        """
        import numpy as np

        DIGIT_3 = np.array([[0, 1, 1, 1, 1, 0],
                            [0, 0, 0, 0, 1, 0],
                            [0, 1, 1, 1, 1, 0],
                            [0, 0, 0, 0, 1, 0],
                            [0, 0, 0, 0, 1, 0],
                            [0, 1, 1, 1, 1, 0]])

        DIGIT_1 = np.array([[0, 0, 0, 1, 0, 0],
                            [0, 0, 1, 1, 0, 0],
                            [0, 0, 0, 1, 0, 0],
                            [0, 0, 0, 1, 0, 0],
                            [0, 0, 0, 1, 0, 0],
                            [0, 0, 1, 1, 1, 0]])

        print(DIGIT_3, DIGIT_1, sep='\\n\\n')
        """,
    ),
    md(
        "task-extract",
        """
        ## 1. `extract_features(image, filt, bias=-1)`

        `(feature_map, pooled)` 를 반환하시오 / return `(feature_map, pooled)`:

        - `feature_map = relu(conv(image, filt) + bias)`: 필터를 뒤집지 않는 cross-correlation (Keras `Conv2D`
          와 같음), 스트라이드 1, 패딩 없음. Cross-correlation as Keras `Conv2D` computes it (no flip), stride 1,
          no padding; shape `(H - 2, W - 2)` for an `H x W` image; `relu(x) = max(x, 0)`.
        - `pooled`: `feature_map` 의 2 x 2 max pooling, 스트라이드 2 (겹치지 않는 2 x 2 블록의 최댓값).
          2 x 2 max pooling with stride 2 (the max of each non-overlapping 2 x 2 block): a 4 x 4 map gives 2 x 2.
        - `bias` 인자를 사용하세요 (기본값 -1) / honour the `bias` argument (default -1).
        """,
    ),
    code(
        "extract-features",
        """
        def extract_features(image, filt, bias=-1):
            # YOUR CODE HERE
            raise NotImplementedError
        """,
    ),
    md(
        "task-filters-3",
        """
        ## 2. 숫자 3 의 필터 / Filters for the digit 3

        `filters_3`: 서로 다른 3 x 3 필터 최소 5개의 리스트 / a list of at least five **distinct** 3 x 3 filters
        (numpy arrays).
        """,
    ),
    code(
        "filters-3",
        """
        # YOUR CODE HERE
        raise NotImplementedError
        """,
    ),
    md(
        "task-filters-1",
        """
        ## 3. 숫자 1 의 필터 / Filters for the digit 1

        `filters_1`: 서로 다른 3 x 3 필터 최소 5개의 리스트 / a list of at least five **distinct** 3 x 3 filters.
        """,
    ),
    code(
        "filters-1",
        """
        # YOUR CODE HERE
        raise NotImplementedError
        """,
    ),
    md(
        "task-scores",
        """
        ## 4. 검증 / Which filter is best?

        각 필터의 선택도(selectivity) / the selectivity of each filter:

        `score = pooled(자기 숫자 / own digit).sum() - pooled(다른 숫자 / other digit).sum()`

        - `scores_3`: `filters_3` 의 각 필터에 대해 (DIGIT_3 이 자기 숫자) / for each filter of `filters_3`
          (own digit DIGIT_3, other DIGIT_1); `scores_1` 은 그 반대 / `scores_1` the other way round.
        - `best_filter_3`, `best_filter_1`: 점수가 가장 높은 필터의 인덱스 / index of the highest score
          (e.g. `int(np.argmax(scores_3))`). 가장 좋은 필터의 점수는 양수여야 합니다 / its score must be positive.
        """,
    ),
    code(
        "scores",
        """
        # YOUR CODE HERE
        raise NotImplementedError
        """,
    ),
    md(
        "question",
        """
        ## 5. 질문 / Question

        가장 좋은 필터가 왜 그 숫자의 특징을 가장 잘 추출하는지, 아래 셀에 설명하시오 (사람이 채점합니다).
        Explain in the cell below why your best filter for each digit extracts its feature best
        (graded by a person).
        """,
        ANSWER_HOW,
    ),
    answer_cell("answer-best-filter", "best_filter"),
]

CNN_SOLUTION_EXTRACT = textwrap.dedent("""
    def extract_features(image, filt, bias=-1):
        image = np.asarray(image, dtype=np.float64)
        filt = np.asarray(filt, dtype=np.float64)
        k = filt.shape[0]
        out_h, out_w = image.shape[0] - k + 1, image.shape[1] - k + 1
        feature_map = np.zeros((out_h, out_w))
        for i in range(out_h):
            for j in range(out_w):
                feature_map[i, j] = np.sum(image[i:i + k, j:j + k] * filt) + bias
        feature_map = np.maximum(feature_map, 0.0)          # ReLU
        pooled = np.zeros((out_h // 2, out_w // 2))          # 2 x 2 max pooling, stride 2
        for i in range(out_h // 2):
            for j in range(out_w // 2):
                pooled[i, j] = feature_map[2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
        return feature_map, pooled
    """)

CNN_SOLUTION_FILTERS_3 = textwrap.dedent("""
    filters_3 = [
        np.array([[0, 0, 0],          # 0: horizontal line
                  [1, 1, 1],
                  [0, 0, 0]]),
        np.array([[0, 1, 0],          # 1: vertical line
                  [0, 1, 0],
                  [0, 1, 0]]),
        np.array([[1, 1, 1],          # 2: top edge of a horizontal stroke
                  [0, 0, 0],
                  [-1, -1, -1]]),
        np.array([[1, 1, 1],          # 3: top-right corner
                  [0, 0, 1],
                  [0, 0, 1]]),
        np.array([[1, 1, 1],          # 4: two bars joined on the right, open on the left: the 3's arms
                  [-1, -1, 1],
                  [1, 1, 1]]),
        np.array([[0, 0, 1],          # 5: right column
                  [0, 0, 1],
                  [0, 0, 1]]),
    ]
    """)

CNN_SOLUTION_FILTERS_1 = textwrap.dedent("""
    filters_1 = [
        np.array([[0, 1, 0],          # 0: vertical line
                  [0, 1, 0],
                  [0, 1, 0]]),
        np.array([[-1, 1, -1],        # 1: vertical line, nothing beside it
                  [-1, 1, -1],
                  [-1, 1, -1]]),
        np.array([[1, 0, 0],          # 2: left column
                  [1, 0, 0],
                  [1, 0, 0]]),
        np.array([[1, -1, -1],        # 3: lone stroke, empty to its right
                  [1, -1, -1],
                  [1, -1, -1]]),
        np.array([[1, -1, -1],        # 4: lone stroke standing on the 1's foot
                  [1, -1, -1],
                  [1, 1, -1]]),
        np.array([[0, 1, 0],          # 5: the 1's flag
                  [1, 1, 0],
                  [0, 1, 0]]),
    ]
    """)

CNN_SOLUTION_SCORES = textwrap.dedent("""
    def selectivity(filt, own, other):
        return float(extract_features(own, filt)[1].sum() - extract_features(other, filt)[1].sum())

    scores_3 = [selectivity(f, DIGIT_3, DIGIT_1) for f in filters_3]
    scores_1 = [selectivity(f, DIGIT_1, DIGIT_3) for f in filters_1]
    best_filter_3 = int(np.argmax(scores_3))
    best_filter_1 = int(np.argmax(scores_1))

    print('scores_3 =', scores_3, ' best_filter_3 =', best_filter_3)
    print('scores_1 =', scores_1, ' best_filter_1 =', best_filter_1)
    print(extract_features(DIGIT_3, filters_3[best_filter_3])[1])
    print(extract_features(DIGIT_1, filters_1[best_filter_1])[1])
    """)

CNN_SOLUTION_ANSWER = """
    **숫자 3:** 필터 4 (`[[1,1,1],[-1,-1,1],[1,1,1]]`) 는 오른쪽에서 이어진 두 개의 가로 획과 그 사이의 빈 왼쪽
    부분을 함께 찾습니다. 이 모양은 3 의 가로 획들이 오른쪽 세로 획에 붙는 부분에만 있고, 1 에서는 가운데 빈
    칸에 획이 있어 음수 가중치가 응답을 지웁니다. 그래서 3 에서의 pooled 합과 1 에서의 합의 차이(선택도 8)가
    가장 큽니다.

    **숫자 1:** 필터 4 (`[[1,-1,-1],[1,-1,-1],[1,1,-1]]`) 는 양옆이 비어 있는 하나의 세로 획과 그 아래 받침을
    찾습니다. 3 은 가로 획이 세로 획 양옆으로 이어지므로 음수 가중치 때문에 응답이 0 이 됩니다 (선택도 5).

    **Digit 3:** filter 4 looks for two bars joined on the right with an empty gap on the left, the shape
    of the 3's arms meeting its right stroke; on the 1 the negative weights cancel the response, so its
    pooled sum on the 3 minus that on the 1 (selectivity 8) is the largest. **Digit 1:** filter 4 looks for a
    lone vertical stroke with nothing to its right, standing on the 1's foot; the 3's horizontal bars hit
    the negative weights, so it stays silent on the 3 (selectivity 5).
    """


def _answer(cells: list[nbformat.NotebookNode], text: str) -> list[nbformat.NotebookNode]:
    return replace(cells, answer_best_filter=text)


CNN_SOLUTION = _answer(
    replace(
        CNN_STARTER,
        extract_features=CNN_SOLUTION_EXTRACT,
        filters_3=CNN_SOLUTION_FILTERS_3,
        filters_1=CNN_SOLUTION_FILTERS_1,
        scores=CNN_SOLUTION_SCORES,
    ),
    CNN_SOLUTION_ANSWER,
)

CNN_MISTAKES = {
    "no_bias": dict(
        extract_features=sub(CNN_SOLUTION_EXTRACT, "* filt) + bias", "* filt)   # bias forgotten")
    ),
    "no_relu": dict(
        extract_features=sub(
            CNN_SOLUTION_EXTRACT,
            "    feature_map = np.maximum(feature_map, 0.0)          # ReLU\n",
            "",
        )
    ),
    "pool_average": dict(
        extract_features=sub(
            CNN_SOLUTION_EXTRACT,
            "feature_map[2 * i:2 * i + 2, 2 * j:2 * j + 2].max()",
            "feature_map[2 * i:2 * i + 2, 2 * j:2 * j + 2].mean()",
        )
    ),
    "pool_stride1": dict(
        extract_features=sub(
            CNN_SOLUTION_EXTRACT,
            "    pooled = np.zeros((out_h // 2, out_w // 2))          # 2 x 2 max pooling, stride 2\n"
            "    for i in range(out_h // 2):\n"
            "        for j in range(out_w // 2):\n"
            "            pooled[i, j] = feature_map[2 * i:2 * i + 2, 2 * j:2 * j + 2].max()\n",
            "    pooled = np.zeros((out_h - 1, out_w - 1))            # 2 x 2 max pooling, stride 1\n"
            "    for i in range(out_h - 1):\n"
            "        for j in range(out_w - 1):\n"
            "            pooled[i, j] = feature_map[i:i + 2, j:j + 2].max()\n",
        )
    ),
    # picked by eye instead of by the scores
    "best_not_argmax": dict(
        scores=sub(
            CNN_SOLUTION_SCORES,
            "best_filter_3 = int(np.argmax(scores_3))",
            "best_filter_3 = 3   # the corner filter looks best",
        )
    ),
    # four filters per digit
    "fewer_filters": dict(
        filters_3="""
            filters_3 = [
                np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]),      # horizontal line
                np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),   # top edge
                np.array([[1, 1, 1], [0, 0, 1], [0, 0, 1]]),      # top-right corner
                np.array([[1, 1, 1], [-1, -1, 1], [1, 1, 1]]),    # the 3's arms
            ]
            """,
        filters_1="""
            filters_1 = [
                np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]]),       # vertical line
                np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]), # lone vertical line
                np.array([[1, -1, -1], [1, -1, -1], [1, -1, -1]]), # stroke, empty to its right
                np.array([[1, -1, -1], [1, -1, -1], [1, 1, -1]]),  # stroke on the 1's foot
            ]
            """,
    ),
    # the last filter of filters_3 repeats the first one (as floats)
    "duplicate_filters": dict(
        filters_3=sub(
            CNN_SOLUTION_FILTERS_3,
            "    np.array([[0, 0, 1],          # 5: right column\n"
            "              [0, 0, 1],\n"
            "              [0, 0, 1]]),\n",
            "    np.array([[0.0, 0.0, 0.0],    # 5: horizontal line again\n"
            "              [1.0, 1.0, 1.0],\n"
            "              [0.0, 0.0, 0.0]]),\n",
        )
    ),
    # scores from the feature maps instead of the pooled maps
    "scores_featuremap_sum": dict(
        scores=sub(
            CNN_SOLUTION_SCORES,
            "extract_features(own, filt)[1].sum() - extract_features(other, filt)[1].sum()",
            "extract_features(own, filt)[0].sum() - extract_features(other, filt)[0].sum()",
        )
    ),
    # every filter for the 1 also fires on the 3: the best score is 0
    "best_nonpositive": dict(
        filters_1="""
        filters_1 = [
            np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]]),     # vertical line
            np.array([[0, 1, 0], [1, 1, 0], [0, 1, 0]]),     # flag
            np.array([[0, 1, 0], [0, 1, 0], [1, 1, 1]]),     # foot
            np.array([[0, 1, -1], [0, 1, -1], [0, 1, -1]]),  # stroke, empty to the right
            np.array([[0, 0, 0], [0, 1, 0], [1, 1, 0]]),     # bottom corner
        ]
        """
    ),
    "answer_missing": dict(answer_best_filter=""),
}

CNN_EXAMPLES = {
    # perfect, vectorised, own filters
    "kim_minji": dict(
        extract_features="""
            def extract_features(image, filt, bias=-1):
                image = np.asarray(image, dtype=float)
                filt = np.asarray(filt, dtype=float)
                windows = np.lib.stride_tricks.sliding_window_view(image, filt.shape)
                feature_map = np.maximum((windows * filt).sum(axis=(2, 3)) + bias, 0)
                h, w = feature_map.shape
                pooled = feature_map[:h // 2 * 2, :w // 2 * 2].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
                return feature_map, pooled
            """,
        filters_3="""
            filters_3 = [np.array(f) for f in (
                [[1, 1, 1], [-1, -1, 1], [1, 0, 1]],
                [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
                [[1, 1, 1], [0, 0, 1], [0, 0, 1]],
                [[0, 0, 1], [0, 0, 1], [0, 0, 1]],
                [[1, 1, 0], [0, 1, 0], [1, 1, 0]],
            )]
            """,
        filters_1="""
            filters_1 = [np.array(f) for f in (
                [[1, -1, 0], [1, -1, 0], [1, 1, -1]],
                [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]],
                [[1, 0, 0], [1, 0, 0], [1, 0, 0]],
                [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
                [[0, 1, 0], [1, 1, 0], [0, 1, 0]],
            )]
            """,
        scores=CNN_SOLUTION_SCORES,
        answer_best_filter="""
            3: 가로 획 두 개가 오른쪽 세로 획에 붙는 모양을 찾는 필터가 3 에만 강하게 반응합니다.
            1: 오른쪽이 비어 있는 세로 획 + 받침 모양은 1 에만 있습니다. 3 의 가로 획은 음수 가중치에 걸립니다.
            """,
    ),
    # average pooling
    "lee_jun": dict(
        extract_features=CNN_MISTAKES["pool_average"]["extract_features"],
        filters_3=CNN_SOLUTION_FILTERS_3,
        filters_1=CNN_SOLUTION_FILTERS_1,
        scores=CNN_SOLUTION_SCORES,
        answer_best_filter="The best filters have the largest difference between the two digits.",
    ),
    # bias forgotten and only four filters per digit
    "choi_yuna": dict(
        extract_features=CNN_MISTAKES["no_bias"]["extract_features"],
        filters_3=CNN_MISTAKES["fewer_filters"]["filters_3"],
        filters_1=CNN_MISTAKES["fewer_filters"]["filters_1"],
        scores=CNN_SOLUTION_SCORES,
        answer_best_filter="3 은 가로선이 많아서 가로 필터가 잘 맞고, 1 은 세로선이라 세로 필터가 잘 맞는다.",
    ),
    # best index chosen by eye, answer left empty
    "jung_hoon": dict(
        extract_features=CNN_SOLUTION_EXTRACT,
        filters_3=CNN_SOLUTION_FILTERS_3,
        filters_1=CNN_SOLUTION_FILTERS_1,
        scores=sub(
            sub(
                CNN_SOLUTION_SCORES, "best_filter_3 = int(np.argmax(scores_3))", "best_filter_3 = 0"
            ),
            "best_filter_1 = int(np.argmax(scores_1))",
            "best_filter_1 = 1",
        ),
    ),
    # no ReLU, and a filter listed twice
    "oh_daeun": dict(
        extract_features=CNN_MISTAKES["no_relu"]["extract_features"],
        filters_3=CNN_MISTAKES["duplicate_filters"]["filters_3"],
        filters_1=CNN_SOLUTION_FILTERS_1,
        scores=CNN_SOLUTION_SCORES,
        answer_best_filter="오른쪽 세로선과 가로선이 만나는 부분을 찾는 필터가 가장 좋다.",
    ),
    "han_seo": dict(),
}


def main() -> int:
    for name, starter, solution, mistakes, examples in (
        ("conv2d_simple", CONV_STARTER, CONV_SOLUTION, CONV_MISTAKES, CONV_EXAMPLES),
        ("cnn_filters", CNN_STARTER, CNN_SOLUTION, CNN_MISTAKES, CNN_EXAMPLES),
    ):
        file = f"{name}.ipynb"
        write(ROOT / "assignments" / name / file, starter)
        write(ROOT / "solutions" / name / file, solution)
        for mistake, changes in mistakes.items():
            cells = replace(solution, **changes)
            if cells == solution:
                raise SystemExit(
                    f"mistake {name}/{mistake} changes nothing: its replace() text is stale"
                )
            write(ROOT / "tests" / "fixtures" / "mistakes" / name / f"{mistake}.ipynb", cells)
        for student, changes in examples.items():
            write(
                ROOT / "examples" / "submissions" / name / f"{student}.ipynb",
                replace(starter, **changes),
            )

    # A submission that is not valid JSON: the solution cut off half-way.
    text = nbformat.writes(notebook(CONV_SOLUTION))
    broken = ROOT / "examples" / "submissions" / "conv2d_simple" / "broken_park.ipynb"
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    print("wrote", broken.relative_to(ROOT), "(truncated on purpose)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
