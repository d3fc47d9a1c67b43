"""Generate the notebooks of the three training exercises (dropout_rates, bn_vs_dropout,
callbacks) from seed 000: [Self Study 1], [Self Study 2] and the Callback Example.

Writes, from the cell texts below:
  assignments/<name>/<name>.ipynb                 starter (cells to fill raise NotImplementedError)
  solutions/<name>/<name>.ipynb                   reference solution
  tests/fixtures/mistakes/<name>/<mistake>.ipynb  the solution with exactly one mistake
                                                  (or an accepted variant that must pass)

Run from the repository root:  python tools/make_notebooks_training.py
Notebooks are written without outputs and with stable cell ids, so re-running it gives
the same files. Each mistake notebook's expected failing tests are listed by hand in
tests/fixtures/mistakes/<name>/EXPECTED.toml (keep both in step).
"""

# ruff: noqa: E501  (notebook text: markdown table rows and code lines cannot be wrapped)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from nbgen import ANSWER_HOW, answer_cell, code, md, notebook, replace, write  # noqa: E402,F401
from nbgen import sub as _sub  # noqa: E402


def sub(text: str, old: str, new: str) -> str:
    return _sub(text, old, new, dedent=True)














FILL = """
    **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
    지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
    `raise NotImplementedError` line. Do not rename anything: the grader reads these names.

    **채점 / Grading:** 채점기는 빠른 채점을 위해 학습 epoch 수를 줄여 실행하거나 데이터의 일부만 쓸 수
    있습니다. 코드에는 과제가 말하는 그대로 `epochs=50` 을 쓰세요. The grader may run fewer epochs or a
    part of the data to grade quickly; write `epochs=50` as the exercise says. 학습 로그는
    `verbose=2` 로 epoch 마다 한 줄만 출력하세요 / keep `verbose=2` (one log line per epoch).
"""

# =====================================================================================
# dropout_rates  (seed 000, [Self Study 1])
# =====================================================================================

DROPOUT_STARTER = [
    md("intro", """
        # [Self Study 1] Dropout 비율과 오버피팅 — `dropout_rates`
        # [Self Study 1] Dropout rate and overfitting — `dropout_rates`

        **과제.** MNIST 에 대해서 `SGD()`, `loss='sparse_categorical_crossentropy'`, `epochs=50` 환경에서
        `Dropout(...)` 비율을 0.25, 0.5, 0.75 로 변경하여 오버피팅을 확인하시오.

        **Task.** On MNIST, with `SGD()`, `loss='sparse_categorical_crossentropy'` and `epochs=50`, train the
        model below once for each dropout rate 0.25, 0.5 and 0.75, and compare how much each run overfits.

        - 모델 / model: `Flatten(input_shape=(28, 28, 1))` → `Dense(100, activation='relu')` →
          `Dropout(rate)` → `Dense(10, activation='softmax')`
        - 컴파일 / compile: `optimizer=SGD()`, `loss='sparse_categorical_crossentropy'`, `metrics=['accuracy']`
        - 학습 / fit: `epochs=50`, `validation_split=0.2`, 기본 배치 크기 / the default batch size
        - 오버피팅 간격 / overfitting gap of a run: `val_loss[-1] - loss[-1]` (마지막 epoch / the last epoch)
        """, FILL, """
        | 이름 / name | 내용 / what |
        |---|---|
        | `models` | dict: 비율 → 학습한 모델 / rate → trained model; 키는 실수 `0.25`, `0.5`, `0.75` / keys are the floats |
        | `histories` | dict: 비율 → `fit` 이 돌려준 History (또는 그 `.history` dict) / rate → the History `fit` returned (or its `.history`) |
        | `overfit_gap` | dict: 비율 → `val_loss[-1] - loss[-1]` / rate → gap |
        | `least_overfit_rate` | 간격이 가장 작은 비율 / the rate with the smallest gap |
        | 답 / answer | 아래 **답 / Answer (answer:dropout)** 셀 / the cell marked **Answer (answer:dropout)** below |
        """),
    code("imports", """
        import numpy as np
        import matplotlib.pyplot as plt
        import tensorflow as tf
        from tensorflow.keras.datasets import mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense, Dropout
        from tensorflow.keras.optimizers import SGD
        """),
    code("load-data", """
        (x_train, t_train), (x_test, t_test) = mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        print('t_train.shape = ', t_train.shape, ' , t_test.shape = ', t_test.shape)

        RATES = [0.25, 0.5, 0.75]
        """),
    md("task-build", """
        ## 1. 모델 만들기 / Build the model

        `build_model(rate)` 는 위 구조의 모델을 만들어 `SGD()`, `sparse_categorical_crossentropy`,
        `metrics=['accuracy']` 로 컴파일하여 돌려줍니다. `build_model(rate)` returns the model above,
        compiled with `SGD()`, `sparse_categorical_crossentropy` and `metrics=['accuracy']`.
        """),
    code("build-model", """
        def build_model(rate):
            # YOUR CODE HERE
            raise NotImplementedError
        """),
    md("task-train", """
        ## 2. 비율마다 학습 / Train one model per rate

        각 비율마다 새 모델을 만들어 `epochs=50`, `validation_split=0.2` 로 학습하고, 모델과 History 를
        `models[rate]`, `histories[rate]` 에 저장하시오 (키는 실수 `0.25`, `0.5`, `0.75`).
        For each rate build a new model, fit it with `epochs=50` and `validation_split=0.2`, and store the
        model and the History in `models[rate]` and `histories[rate]` (keys: the floats `0.25`, `0.5`, `0.75`).
        """),
    code("train", """
        models = {}
        histories = {}

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    md("task-gap", """
        ## 3. 오버피팅 비교 / Compare overfitting

        `overfit_gap[rate] = val_loss[-1] - loss[-1]` (마지막 epoch 의 검증 손실 - 학습 손실 / validation loss
        minus training loss at the last epoch), 그리고 간격이 가장 작은 비율 `least_overfit_rate`.
        And `least_overfit_rate`, the rate whose gap is the smallest.
        """),
    code("gap", """
        overfit_gap = {}
        least_overfit_rate = None

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    code("plot", """
        # 그대로 실행하세요 / run as it is
        plt.figure(figsize=(12, 3.5))
        for pos, rate in enumerate(RATES, start=1):
            h = histories[rate]
            h = h.history if hasattr(h, 'history') else h
            plt.subplot(1, 3, pos)
            plt.plot(h['loss'], label='loss')
            plt.plot(h['val_loss'], label='val_loss')
            plt.title(f'Dropout({rate}): gap {overfit_gap[rate]:.3f}')
            plt.xlabel('epoch')
            plt.legend()
        plt.tight_layout()
        plt.show()
        """),
    md("task-answer", """
        ## 4. 설명 / Explain

        아래 셀에 답하시오: 어떤 비율이 가장 덜 오버피팅 되었고, 그 이유는 무엇인가? 비율이 너무 크면 어떤
        일이 생기는가? Answer in the cell below: which rate overfits least, and why? What happens when the
        rate is too large?
        """, ANSWER_HOW),
    answer_cell("answer-dropout", "dropout"),
]

DROPOUT_BUILD = """
    def build_model(rate):
        model = Sequential()
        model.add(Flatten(input_shape=(28, 28, 1)))
        model.add(Dense(100, activation='relu'))
        model.add(Dropout(rate))
        model.add(Dense(10, activation='softmax'))
        model.compile(optimizer=SGD(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        return model
    """

DROPOUT_TRAIN = """
    models = {}
    histories = {}

    for rate in RATES:
        model = build_model(rate)
        hist = model.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
        models[rate] = model
        histories[rate] = hist
    """

DROPOUT_GAP = """
    overfit_gap = {}
    for rate in RATES:
        h = histories[rate].history
        overfit_gap[rate] = h['val_loss'][-1] - h['loss'][-1]

    least_overfit_rate = min(overfit_gap, key=overfit_gap.get)
    print(overfit_gap, least_overfit_rate)
    """

DROPOUT_ANSWER = """
    비율이 클수록 학습 중에 더 많은 연결을 끊으므로 모델이 학습 데이터를 외우기 어려워지고, 검증 손실과 학습
    손실의 차이(오버피팅)가 줄어든다. 하지만 비율이 너무 크면 (0.75) 학습 자체가 느려져 정확도가 떨어진다.
    A larger rate drops more units during training, so the network cannot memorise the training set and
    the gap between validation and training loss shrinks; too large a rate (0.75) slows learning and
    costs accuracy (underfitting).
    """

DROPOUT_SOLUTION = replace(
    DROPOUT_STARTER, build_model=DROPOUT_BUILD, train=DROPOUT_TRAIN, gap=DROPOUT_GAP, answer_dropout=DROPOUT_ANSWER
)

DROPOUT_MISTAKES = {
    # Adam instead of SGD
    "adam_optimizer": dict(build_model=sub(sub(
        DROPOUT_BUILD, "optimizer=SGD()", "optimizer=Adam()"),
        "def build_model(rate):", "from tensorflow.keras.optimizers import Adam\n\ndef build_model(rate):")),
    # SGD with the callback example's learning rate instead of SGD()'s default 0.01
    "sgd_learning_rate": dict(build_model=sub(DROPOUT_BUILD, "optimizer=SGD()", "optimizer=SGD(learning_rate=0.1)")),
    # the rate is never used: every model drops 25 %
    "rate_ignored": dict(build_model=sub(DROPOUT_BUILD, "model.add(Dropout(rate))", "model.add(Dropout(0.25))")),
    # dict keys as strings
    "string_keys": dict(
        train=sub(sub(DROPOUT_TRAIN, "models[rate] = model", "models[str(rate)] = model"),
                  "histories[rate] = hist", "histories[str(rate)] = hist"),
        gap="""
            overfit_gap = {}
            for key, hist in histories.items():
                h = hist.history
                overfit_gap[key] = h['val_loss'][-1] - h['loss'][-1]

            least_overfit_rate = min(overfit_gap, key=overfit_gap.get)
            print(overfit_gap, least_overfit_rate)
            """,
        plot="""
            plt.figure(figsize=(12, 3.5))
            for pos, rate in enumerate(RATES, start=1):
                h = histories[str(rate)].history
                plt.subplot(1, 3, pos)
                plt.plot(h['loss'], label='loss')
                plt.plot(h['val_loss'], label='val_loss')
                plt.title(f'Dropout({rate})')
                plt.legend()
            plt.tight_layout()
            plt.show()
            """),
    # the gap the wrong way round
    "gap_reversed": dict(gap=sub(DROPOUT_GAP, "h['val_loss'][-1] - h['loss'][-1]", "h['loss'][-1] - h['val_loss'][-1]")),
    # the largest gap picked
    "least_is_argmax": dict(gap=sub(DROPOUT_GAP, "min(overfit_gap, key=overfit_gap.get)",
                                    "max(overfit_gap, key=overfit_gap.get)")),
    # fewer epochs than the exercise names
    "epochs_10": dict(train=sub(DROPOUT_TRAIN, "epochs=50", "epochs=10")),
    # scaling inside the loop: every run sees its inputs divided by 255 once more
    "scaled_in_loop": dict(
        load_data="""
            (x_train, t_train), (x_test, t_test) = mnist.load_data()
            RATES = [0.25, 0.5, 0.75]
            """,
        train=sub(DROPOUT_TRAIN, "    model = build_model(rate)\n",
                  "    x_train = x_train / 255.0\n    model = build_model(rate)\n")),
    # no written answer
    "answer_missing": dict(answer_dropout=""),
    # accepted variant: the .history dicts stored instead of the History objects
    "history_dicts_ok": dict(
        train=sub(DROPOUT_TRAIN, "histories[rate] = hist", "histories[rate] = hist.history"),
        gap=sub(DROPOUT_GAP, "h = histories[rate].history", "h = histories[rate]")),
}

# =====================================================================================
# bn_vs_dropout  (seed 000, [Self Study 2]; seed 002, Batch Normalization)
# =====================================================================================

BN_STARTER = [
    md("intro", """
        # [Self Study 2] BatchNormalization 과 Dropout 비교 — `bn_vs_dropout`
        # [Self Study 2] BatchNormalization versus Dropout — `bn_vs_dropout`

        **과제.** MNIST 에 대해서 `Dropout(...)` 이 아닌 `BatchNormalization()` 레이어를 이용하여 학습하고,
        Dropout 모델과 비교하시오.

        **Task.** On MNIST, train the dropout model (rate 0.25) and a model where `BatchNormalization()`
        replaces `Dropout`, with the same optimizer, loss and epochs, and compare them.

        - Dropout 모델 / dropout model: `Flatten(input_shape=(28, 28, 1))` → `Dense(100, activation='relu')` →
          `Dropout(0.25)` → `Dense(10, activation='softmax')`
        - BN 모델 / BN model: `Flatten(input_shape=(28, 28, 1))` → `Dense(100)` → `BatchNormalization()` →
          `Activation('relu')` → `Dense(10, activation='softmax')` (Dropout 없음 / no Dropout layer)
        - 두 모델 모두 / both models: `optimizer=SGD()`, `loss='sparse_categorical_crossentropy'`,
          `metrics=['accuracy']`, `epochs=50`, `validation_split=0.2`, 같은 입력 스케일 / inputs scaled alike
        """, FILL, """
        | 이름 / name | 내용 / what |
        |---|---|
        | `model_dropout`, `model_bn` | 학습한 두 모델 / the two trained models |
        | `history_dropout`, `history_bn` | `fit` 이 돌려준 History (또는 `.history` dict) / the History `fit` returned (or its `.history`) |
        | `comparison` | `{'dropout': {...}, 'bn': {...}}`, 각각 마지막 epoch 의 `loss`, `val_loss`, `accuracy`, `val_accuracy` / each with the last epoch's values |
        | 답 / answer | 아래 **답 / Answer (answer:bn_vs_dropout)** 셀 / the cell marked **Answer (answer:bn_vs_dropout)** below |
        """),
    code("imports", """
        import numpy as np
        import matplotlib.pyplot as plt
        import tensorflow as tf
        from tensorflow.keras.datasets import mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense, Dropout, BatchNormalization, Activation
        from tensorflow.keras.optimizers import SGD
        """),
    code("load-data", """
        (x_train, t_train), (x_test, t_test) = mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        """),
    md("task-dropout", """
        ## 1. Dropout 모델 / The dropout model

        `model_dropout` 을 만들고 컴파일하여 학습하고, History 를 `history_dropout` 에 저장하시오.
        Build, compile and fit `model_dropout`; store the History in `history_dropout`.
        """),
    code("dropout-model", """
        # YOUR CODE HERE
        raise NotImplementedError
        """),
    md("task-bn", """
        ## 2. BatchNormalization 모델 / The BatchNormalization model

        `Dense(100)` (활성화 함수 없이 / no activation) 다음에 `BatchNormalization()`, 그 다음에
        `Activation('relu')`. Dropout 은 쓰지 않습니다. 같은 optimizer, loss, epochs, validation split.
        `Dense(100)` without activation, then `BatchNormalization()`, then `Activation('relu')`; no Dropout.
        Same optimizer, loss, epochs and validation split as above.
        """),
    code("bn-model", """
        # YOUR CODE HERE
        raise NotImplementedError
        """),
    md("task-compare", """
        ## 3. 비교 / Compare

        `comparison = {'dropout': {...}, 'bn': {...}}`: 각 모델의 마지막 epoch 의 `loss`, `val_loss`,
        `accuracy`, `val_accuracy`. For each model, the last epoch's `loss`, `val_loss`, `accuracy`,
        `val_accuracy` from its history.
        """),
    code("compare", """
        comparison = {}

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    code("plot", """
        # 그대로 실행하세요 / run as it is
        for name, values in comparison.items():
            print(name, {k: round(v, 4) for k, v in values.items()})

        plt.figure(figsize=(10, 3.5))
        for pos, (name, h) in enumerate([('Dropout(0.25)', history_dropout), ('BatchNormalization', history_bn)], start=1):
            h = h.history if hasattr(h, 'history') else h
            plt.subplot(1, 2, pos)
            plt.plot(h['loss'], label='loss')
            plt.plot(h['val_loss'], label='val_loss')
            plt.title(name)
            plt.xlabel('epoch')
            plt.legend()
        plt.tight_layout()
        plt.show()
        """),
    md("task-answer", """
        ## 4. 설명 / Explain

        아래 셀에 답하시오: 두 모델의 정확도와 오버피팅을 비교하고, BatchNormalization 이 학습에 어떤 영향을
        주었는지 설명하시오. Answer in the cell below: compare the accuracy and the overfitting of the two
        models and explain what BatchNormalization changed in training.
        """, ANSWER_HOW),
    answer_cell("answer-bn-vs-dropout", "bn_vs_dropout"),
]

BN_DROPOUT_MODEL = """
    model_dropout = Sequential()
    model_dropout.add(Flatten(input_shape=(28, 28, 1)))
    model_dropout.add(Dense(100, activation='relu'))
    model_dropout.add(Dropout(0.25))
    model_dropout.add(Dense(10, activation='softmax'))

    model_dropout.compile(optimizer=SGD(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history_dropout = model_dropout.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
    """

BN_BN_MODEL = """
    model_bn = Sequential()
    model_bn.add(Flatten(input_shape=(28, 28, 1)))
    model_bn.add(Dense(100))
    model_bn.add(BatchNormalization())
    model_bn.add(Activation('relu'))
    model_bn.add(Dense(10, activation='softmax'))

    model_bn.compile(optimizer=SGD(), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history_bn = model_bn.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
    """

BN_COMPARE = """
    comparison = {}
    for name, hist in [('dropout', history_dropout), ('bn', history_bn)]:
        h = hist.history
        comparison[name] = {key: h[key][-1] for key in ['loss', 'val_loss', 'accuracy', 'val_accuracy']}
    """

BN_ANSWER = """
    BatchNormalization 모델은 같은 epoch 에서 학습 손실이 더 빨리 줄고 정확도가 더 높다. 층의 입력 분포를
    평균 0, 표준편차 1 로 맞추어 주므로 같은 학습율로도 더 빨리 학습된다. 반면 Dropout 이 없으므로 학습
    손실과 검증 손실의 차이(오버피팅)는 Dropout 모델보다 클 수 있다.
    The BatchNormalization model learns faster (lower loss, higher accuracy at the same epoch): it keeps
    each layer's inputs at mean 0 and standard deviation 1, so the same learning rate goes further. Without
    Dropout its gap between validation and training loss can be larger than the dropout model's.
    """

BN_SOLUTION = replace(
    BN_STARTER, dropout_model=BN_DROPOUT_MODEL, bn_model=BN_BN_MODEL, compare=BN_COMPARE,
    answer_bn_vs_dropout=BN_ANSWER,
)

BN_MISTAKES = {
    # Dropout kept next to the new BatchNormalization layer
    "dropout_left_in_bn": dict(bn_model=sub(BN_BN_MODEL, "model_bn.add(Activation('relu'))\n",
                                            "model_bn.add(Activation('relu'))\nmodel_bn.add(Dropout(0.25))\n")),
    # BatchNormalization after the activation
    "bn_after_relu": dict(bn_model=sub(sub(
        BN_BN_MODEL, "model_bn.add(Dense(100))\n", "model_bn.add(Dense(100, activation='relu'))\n"),
        "model_bn.add(Activation('relu'))\n", "")),
    # BatchNormalization on the inputs, before the hidden layer
    "bn_before_dense": dict(bn_model=sub(sub(
        BN_BN_MODEL, "model_bn.add(Dense(100))\n", ""),
        "model_bn.add(Activation('relu'))\n", "model_bn.add(Dense(100, activation='relu'))\n")),
    # another optimizer for the BN model
    "adam_for_bn": dict(bn_model=sub(sub(
        BN_BN_MODEL, "model_bn.compile(optimizer=SGD()", "model_bn.compile(optimizer=Adam()"),
        "model_bn = Sequential()", "from tensorflow.keras.optimizers import Adam\n\nmodel_bn = Sequential()")),
    # data loaded again for the second model and not scaled
    "bn_unscaled": dict(bn_model=sub(
        BN_BN_MODEL, "model_bn = Sequential()", "(x_train, t_train), (x_test, t_test) = mnist.load_data()\n\nmodel_bn = Sequential()")),
    # the two entries of the comparison swapped
    "comparison_swapped": dict(compare=sub(BN_COMPARE, "[('dropout', history_dropout), ('bn', history_bn)]",
                                           "[('dropout', history_bn), ('bn', history_dropout)]")),
    # the histories stored under each other's names
    "histories_swapped": dict(compare="""
        history_dropout, history_bn = history_bn, history_dropout

        comparison = {}
        for name, hist in [('dropout', history_dropout), ('bn', history_bn)]:
            h = hist.history
            comparison[name] = {key: h[key][-1] for key in ['loss', 'val_loss', 'accuracy', 'val_accuracy']}
        """),
    # no written answer
    "answer_missing": dict(answer_bn_vs_dropout=""),
    # accepted variant: Dense(100, use_bias=False) before BatchNormalization (its beta is the bias)
    "dense_no_bias_ok": dict(bn_model=sub(BN_BN_MODEL, "model_bn.add(Dense(100))\n",
                                          "model_bn.add(Dense(100, use_bias=False))\n")),
}

# =====================================================================================
# callbacks  (seed 000, Callback Example [1] and [2]; seed 003)
# =====================================================================================

CB_STARTER = [
    md("intro", """
        # [Callback Example] ModelCheckpoint 와 EarlyStopping — `callbacks`
        # [Callback Example] ModelCheckpoint and EarlyStopping — `callbacks`

        **과제.** 은닉층은 100개 노드를 가지는 신경망을 가지고서 Fashion MNIST 데이터를 학습하는 경우,
        다음 조건을 만족하는 코드를 각각 구현하고 결과를 확인하시오.

        - [1] `SGD(learning_rate=0.1)`, `loss='sparse_categorical_crossentropy'`, `epochs=50`,
          `val_loss` 에 대해서 `ModelCheckpoint` 콜백 구현 (`save_best_only=True`)
        - [2] `SGD(learning_rate=0.1)`, `loss='sparse_categorical_crossentropy'`, `epochs=50`,
          `val_loss` 에 대해서 `ModelCheckpoint`, `EarlyStopping(monitor='val_loss', patience=5)` 콜백 구현

        **Task.** Train a network with one hidden layer of 100 nodes on Fashion-MNIST
        (`Flatten(input_shape=(28, 28))` → `Dense(100, activation='relu')` → `Dense(10, activation='softmax')`),
        `SGD(learning_rate=0.1)`, `loss='sparse_categorical_crossentropy'`, `epochs=50`, `validation_split=0.2`:
        [1] with a `ModelCheckpoint` on `val_loss` with `save_best_only=True`; [2] with a `ModelCheckpoint`
        and `EarlyStopping(monitor='val_loss', patience=5)`. Each run trains a new model.
        Keras 3 는 `.keras` (또는 `.h5`) 파일만 저장합니다 (노트의 `.hdf5` 는 안 됩니다) /
        Keras 3 saves `.keras` (or `.h5`) files, not the `.hdf5` of the notes.
        """, FILL, """
        | 이름 / name | 내용 / what |
        |---|---|
        | `history_ckpt` | [1] 의 History (또는 `.history` dict) / the History of run [1] (or its `.history`) |
        | `checkpoint_path_1` | [1] 이 저장한 파일 / the file run [1] saved |
        | `history_es` | [2] 의 History / the History of run [2] |
        | `checkpoint_path_2` | [2] 가 저장한 파일 / the file run [2] saved |
        | `stopped_epoch` | [2] 가 실제로 학습한 epoch 수 / the number of epochs run [2] ran |

        저장된 체크포인트는 각 학습에서 `val_loss` 가 가장 작았던 모델이어야 합니다.
        Each saved checkpoint must hold the model with the lowest `val_loss` of its run.
        """),
    code("imports", """
        import numpy as np
        import matplotlib.pyplot as plt
        import tensorflow as tf
        from tensorflow.keras.datasets import fashion_mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense
        from tensorflow.keras.optimizers import SGD
        from tensorflow.keras.callbacks import ModelCheckpoint, EarlyStopping
        """),
    code("load-data", """
        (x_train, t_train), (x_test, t_test) = fashion_mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        """),
    md("task-build", """
        ## 0. 모델 만들기 / Build the model

        `build_model()` 은 은닉층 100 노드의 새 모델을 만들어 `SGD(learning_rate=0.1)`,
        `sparse_categorical_crossentropy`, `metrics=['accuracy']` 로 컴파일하여 돌려줍니다.
        `build_model()` returns a new model with one hidden layer of 100 nodes, compiled with
        `SGD(learning_rate=0.1)`, `sparse_categorical_crossentropy` and `metrics=['accuracy']`.
        """),
    code("build-model", """
        def build_model():
            # YOUR CODE HERE
            raise NotImplementedError
        """),
    md("task-1", """
        ## [1] ModelCheckpoint

        `val_loss` 가 좋아질 때마다 `checkpoint_path_1` 에 모델을 저장하시오 (`save_best_only=True`).
        `epochs=50`, `validation_split=0.2`; History 는 `history_ckpt` 에.
        Save the model to `checkpoint_path_1` whenever `val_loss` improves (`save_best_only=True`);
        `epochs=50`, `validation_split=0.2`; the History goes to `history_ckpt`.
        """),
    code("run-1", """
        checkpoint_path_1 = 'checkpoint_1.keras'

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    md("task-2", """
        ## [2] ModelCheckpoint + EarlyStopping

        새 모델로, `checkpoint_path_2` 에 저장하는 `ModelCheckpoint` 와
        `EarlyStopping(monitor='val_loss', patience=5)` 를 함께 쓰시오. History 는 `history_es` 에,
        실제로 학습한 epoch 수는 `stopped_epoch` 에 저장하시오.
        With a new model, use a `ModelCheckpoint` saving to `checkpoint_path_2` together with
        `EarlyStopping(monitor='val_loss', patience=5)`. Store the History in `history_es` and the number of
        epochs the run actually trained in `stopped_epoch`.
        """),
    code("run-2", """
        checkpoint_path_2 = 'checkpoint_2.keras'

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    code("stopped", """
        stopped_epoch = None

        # YOUR CODE HERE
        raise NotImplementedError
        """),
    code("plot", """
        # 그대로 실행하세요 / run as it is
        plt.figure(figsize=(10, 3.5))
        for pos, (name, h) in enumerate([('[1] ModelCheckpoint', history_ckpt), ('[2] + EarlyStopping', history_es)], start=1):
            h = h.history if hasattr(h, 'history') else h
            plt.subplot(1, 2, pos)
            plt.plot(h['loss'], label='loss')
            plt.plot(h['val_loss'], label='val_loss')
            plt.title(name)
            plt.xlabel('epoch')
            plt.legend()
        plt.tight_layout()
        plt.show()
        print('stopped_epoch =', stopped_epoch)
        """),
]

CB_BUILD = """
    def build_model():
        model = Sequential()
        model.add(Flatten(input_shape=(28, 28)))
        model.add(Dense(100, activation='relu'))
        model.add(Dense(10, activation='softmax'))
        model.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        return model
    """

CB_RUN1 = """
    checkpoint_path_1 = 'checkpoint_1.keras'

    model_1 = build_model()
    checkpoint = ModelCheckpoint(checkpoint_path_1,
                                 monitor='val_loss',
                                 verbose=1,
                                 save_best_only=True,
                                 mode='auto')
    history_ckpt = model_1.fit(x_train, t_train, epochs=50, validation_split=0.2,
                               callbacks=[checkpoint], verbose=2)
    """

CB_RUN2 = """
    checkpoint_path_2 = 'checkpoint_2.keras'

    model_2 = build_model()
    checkpoint = ModelCheckpoint(checkpoint_path_2,
                                 monitor='val_loss',
                                 verbose=1,
                                 save_best_only=True,
                                 mode='auto')
    stopping = EarlyStopping(monitor='val_loss', patience=5)
    history_es = model_2.fit(x_train, t_train, epochs=50, validation_split=0.2,
                             callbacks=[checkpoint, stopping], verbose=2)
    """

CB_STOPPED = """
    # the number of epochs run [2] trained (EarlyStopping.stopped_epoch is a 0-based index, 0 if it never stopped)
    stopped_epoch = len(history_es.history['loss'])
    """

CB_SOLUTION = replace(CB_STARTER, build_model=CB_BUILD, run_1=CB_RUN1, run_2=CB_RUN2, stopped=CB_STOPPED)

ARG = " " * len("checkpoint = ModelCheckpoint(")  # indentation of its continued arguments

CB_MISTAKES = {
    # EarlyStopping watching the training loss
    "es_monitor_loss": dict(run_2=sub(CB_RUN2, "EarlyStopping(monitor='val_loss', patience=5)",
                                      "EarlyStopping(monitor='loss', patience=5)")),
    # [1] saves every epoch, not only the best
    "no_save_best_only": dict(run_1=sub(CB_RUN1, ARG + "save_best_only=True,\n", "")),
    # Keras' 0-based EarlyStopping.stopped_epoch taken for the number of epochs
    "stopped_epoch_keras": dict(stopped="""
        stopped_epoch = stopping.stopped_epoch
        """),
    # both runs save to the same file, as the notes' code does: [2] overwrites [1]'s checkpoint
    "same_checkpoint_file": dict(
        run_1=sub(CB_RUN1, "checkpoint_path_1 = 'checkpoint_1.keras'", "checkpoint_path_1 = 'modelcheckpoint_test.keras'"),
        run_2=sub(CB_RUN2, "checkpoint_path_2 = 'checkpoint_2.keras'", "checkpoint_path_2 = 'modelcheckpoint_test.keras'")),
    # SGD() with its default learning rate 0.01 instead of 0.1
    "sgd_default_lr": dict(build_model=sub(CB_BUILD, "SGD(learning_rate=0.1)", "SGD()")),
    # checkpoint_path_1 names another file than the one the callback wrote
    "wrong_checkpoint_path": dict(run_1=sub(CB_RUN1, "ModelCheckpoint(checkpoint_path_1,", "ModelCheckpoint('best_1.keras',")),
    # accepted variant: EarlyStopping's 0-based index + 1 (right whenever it fired; in smoke the 2-epoch cap keeps
    # patience=5 from firing, and the check must not cost the point for it: ASSIGNMENTS.md, 2026-12-01)
    "stopped_epoch_es_plus_one_ok": dict(stopped="""
        stopped_epoch = stopping.stopped_epoch + 1
        print('stopped_epoch =', stopped_epoch)
        """),
    # accepted variant: weights-only checkpoints (.weights.h5), the Histories kept
    "weights_only_ok": dict(
        run_1=sub(sub(CB_RUN1, "'checkpoint_1.keras'", "'checkpoint_1.weights.h5'"),
                  "save_best_only=True,\n", "save_best_only=True,\n" + ARG + "save_weights_only=True,\n"),
        run_2=sub(sub(CB_RUN2, "'checkpoint_2.keras'", "'checkpoint_2.weights.h5'"),
                  "save_best_only=True,\n", "save_best_only=True,\n" + ARG + "save_weights_only=True,\n")),
}


def main() -> int:
    for name, starter, solution, mistakes in (
        ("dropout_rates", DROPOUT_STARTER, DROPOUT_SOLUTION, DROPOUT_MISTAKES),
        ("bn_vs_dropout", BN_STARTER, BN_SOLUTION, BN_MISTAKES),
        ("callbacks", CB_STARTER, CB_SOLUTION, CB_MISTAKES),
    ):
        file = f"{name}.ipynb"
        write(ROOT / "assignments" / name / file, starter)
        write(ROOT / "solutions" / name / file, solution)
        for mistake, changes in mistakes.items():
            cells = replace(solution, **changes)
            if cells == solution:
                raise SystemExit(f"mistake {name}/{mistake} changes nothing: its replace() text is stale")
            write(ROOT / "tests" / "fixtures" / "mistakes" / name / f"{mistake}.ipynb", cells)
    return 0


if __name__ == "__main__":
    sys.exit(main())
