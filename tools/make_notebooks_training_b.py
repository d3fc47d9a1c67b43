# ruff: noqa: E501 (cell texts are prose and code as students see them)
"""Generate the notebooks of three training exercises: sparse_labels, fashion_vs_mnist, cnn_mistakes.

Writes, from the cell texts below:
  assignments/<name>/<name>.ipynb                 starter (cells to fill raise NotImplementedError)
  solutions/<name>/<name>.ipynb                   reference solution
  tests/fixtures/mistakes/<name>/<mistake>.ipynb  the solution with exactly one mistake

Run from the repository root:  python tools/make_notebooks_training_b.py
Notebooks are written without outputs and with stable cell ids, so re-running it gives
the same files. Each mistake notebook's expected failing tests are listed by hand in
tests/fixtures/mistakes/<name>/EXPECTED.toml (keep both in step).

The exercises name their epochs (30 or 50) as the notes do; the grader's profiles cap
them (smoke: 2), so the notebooks stay quick in the project's own tests.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

ROOT = Path(os.environ.get("GRADER_REPO", Path(__file__).resolve().parent.parent))

from nbgen import ANSWER_HOW, answer_cell, code, md, notebook, replace, write  # noqa: E402,F401
from nbgen import sub as _sub  # noqa: E402


def sub(text: str, old: str, new: str) -> str:
    return _sub(text, old, new, dedent=True)














FILL = """
    # YOUR CODE HERE
    raise NotImplementedError
    """

# =====================================================================================
# sparse_labels  (seed 000, [예제 3] "MNIST 예제 변경"; seed 003 is the original)
# =====================================================================================

SPARSE_STARTER = [
    md("intro", """
        # [예제 3] MNIST 예제 변경 — 정답을 one-hot encoding 하지 않고 학습하기
        # [Exercise 3] Changing the MNIST example — training without one-hot labels

        **과제.** 기존에 구현하였던 MNIST 예제에서 정답을 one-hot encoding 방식으로 변환시키지 않고 입력으로
        넣어주는 경우, 기존 소스에서 변경이 필요한 부분을 재작성해서 구현하시오.

        **Task.** The MNIST example below (`Dense(512, relu)` on 784 inputs, `Dense(10, softmax)`, adam) turns
        the labels into one-hot vectors with `to_categorical` and trains with `categorical_crossentropy`.
        Rewrite the parts that must change so that the labels are fed **as integers (0 ~ 9), without one-hot
        encoding**. Everything else stays as in the original.

        **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
        지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
        `raise NotImplementedError` line. 이름을 바꾸지 마세요 / Do not rename anything: the grader reads
        these names.

        | 이름 / name | 내용 / what |
        |---|---|
        | `Y_train`, `Y_test` | 정수 정답의 1차원 배열 / 1-D arrays of integer labels, shape `(N,)` |
        | `model` | `sparse_categorical_crossentropy` 로 compile 된 모델 / the model, compiled with `sparse_categorical_crossentropy` |
        | `history` | `model.fit(...)` 의 결과 / what `model.fit(...)` returned |
        | `test_accuracy` | `model.evaluate(X_test, Y_test)` 의 정확도 (0 ~ 1 사이의 실수) / the accuracy `model.evaluate` returns, a float in [0, 1] |

        **규칙 / Rule:** `to_categorical` 은 어디에서도 쓰지 마세요 — 예시로 출력만 하는 것도 안 됩니다.
        Do not use `to_categorical` anywhere, not even to print an example: the grader records every call.
        """),
    md("original", """
        ## 기존 코드 (참고) / The original code (for reference)

        ```python
        from tensorflow.keras.utils import to_categorical

        # 바이너리화 과정 / one-hot encoding
        Y_train = to_categorical(Y_class_train, 10)
        Y_test = to_categorical(Y_class_test, 10)
        print(Y_train[0])

        model = Sequential()
        model.add(Dense(512, input_dim=784, activation='relu'))   # 은닉층
        model.add(Dense(10, activation='softmax'))                # 출력층
        model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

        modelpath = "./model/{epoch:02d}-{val_loss:.4f}.hdf5"
        checkpointer = ModelCheckpoint(filepath=modelpath, monitor='val_loss', verbose=1, save_best_only=True)
        early_stopping_callback = EarlyStopping(monitor='val_loss', patience=10)
        history = model.fit(X_train, Y_train, validation_data=(X_test, Y_test),
                            epochs=30, batch_size=200, verbose=0,
                            callbacks=[early_stopping_callback, checkpointer])
        print("\\n Test Accuracy: %.4f" % (model.evaluate(X_test, Y_test)[1]))
        ```

        Keras 3 는 `.hdf5` 확장자를 받지 않으므로 체크포인트 파일은 `.keras` 로 저장합니다.
        Keras 3 rejects the `.hdf5` extension: save the checkpoints as `.keras`.
        """),
    code("imports", """
        import os
        import sys

        import numpy
        import tensorflow as tf
        import matplotlib.pyplot as plt
        from tensorflow.keras.datasets import mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Dense
        from tensorflow.keras.callbacks import ModelCheckpoint, EarlyStopping

        # seed 값 설정 / seeds
        seed = 0
        numpy.random.seed(seed)
        tf.random.set_seed(3)
        """),
    code("load-data", """
        # MNIST 데이터셋 불러오기 / load MNIST
        (X_train, Y_class_train), (X_test, Y_class_test) = mnist.load_data()

        print("학습셋 이미지 수 : %d 개" % (X_train.shape[0]))
        print("테스트셋 이미지 수 : %d 개" % (X_test.shape[0]))

        # 28 x 28 이미지를 784 개의 1차원 배열로 바꾸고 0 ~ 1 로 정규화 / flatten to 784 and scale to [0, 1]
        X_train = X_train.reshape(X_train.shape[0], 784).astype('float64') / 255.0
        X_test = X_test.reshape(X_test.shape[0], 784).astype('float64') / 255.0

        print("class : %d " % (Y_class_train[0]))
        """),
    md("task-labels", """
        ## 1. 정답 / The labels

        `Y_train`, `Y_test` 를 one-hot encoding 없이 만드시오: 불러온 정수 정답(0 ~ 9)을 그대로 쓰는 1차원 배열,
        shape `(N,)`. Make `Y_train` and `Y_test` without one-hot encoding: the integer labels (0 ~ 9) as loaded,
        1-D arrays of shape `(N,)`. `to_categorical` 은 쓰지 마세요 / no `to_categorical`.
        """),
    code("labels", FILL),
    md("task-model", """
        ## 2. 모델과 compile / The model and its compilation

        모델은 기존과 같습니다 / same model as before: `Dense(512, input_dim=784, activation='relu')` →
        `Dense(10, activation='softmax')`, `optimizer='adam'`, `metrics=['accuracy']`.
        정수 정답에 맞는 손실 함수로 compile 하시오 / compile it with the loss that takes integer labels.

        28 x 28 이미지에 `Flatten(input_shape=(28, 28))` 을 두고 `Dense(512, activation='relu')` 를 쓰는 것도 같은
        네트워크이므로 인정됩니다 (채점기는 네트워크가 계산하는 것을 비교합니다). `Flatten(input_shape=(28, 28))`
        followed by `Dense(512, activation='relu')` on the 28 x 28 images is the same network and is accepted too:
        the grader compares what a network computes, not how it is written.
        """),
    code("model", FILL),
    md("task-fit", """
        ## 3. 학습과 평가 / Training and evaluation

        기존과 같이 학습하시오 / train as before: `ModelCheckpoint` (파일 `./model/{epoch:02d}-{val_loss:.4f}.keras`,
        `monitor='val_loss'`, `save_best_only=True`), `EarlyStopping(monitor='val_loss', patience=10)`,
        `validation_data=(X_test, Y_test)`, `epochs=30`, `batch_size=200`. 결과를 `history` 에 저장하고,
        `test_accuracy = model.evaluate(X_test, Y_test)[1]` 로 테스트 정확도를 구하시오.
        Store the result in `history` and the test accuracy from `model.evaluate` in `test_accuracy`.
        """),
    code("fit", FILL),
    md("plot-intro", """
        ## 4. 학습 곡선 / Learning curves (그대로 실행 / run as it is)
        """),
    code("plot", """
        y_vloss = history.history['val_loss']
        y_loss = history.history['loss']

        x_len = numpy.arange(len(y_loss))
        plt.plot(x_len, y_vloss, marker='.', c="red", label='Testset_loss')
        plt.plot(x_len, y_loss, marker='.', c="blue", label='Trainset_loss')
        plt.legend(loc='upper right')
        plt.grid()
        plt.xlabel('epoch')
        plt.ylabel('loss')
        plt.show()
        """),
]

SPARSE_LABELS = """
    # one-hot encoding 없이 정수 정답을 그대로 사용 / the integer labels, as loaded
    Y_train = Y_class_train
    Y_test = Y_class_test

    print(Y_train.shape, Y_train[:10])
    """

SPARSE_MODEL = """
    model = Sequential()
    model.add(Dense(512, input_dim=784, activation='relu'))   # 은닉층 / hidden layer
    model.add(Dense(10, activation='softmax'))                # 출력층 / output layer

    # 정수 정답 -> sparse_categorical_crossentropy
    model.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    """

SPARSE_FIT = """
    MODEL_DIR = './model/'
    if not os.path.exists(MODEL_DIR):
        os.mkdir(MODEL_DIR)

    modelpath = "./model/{epoch:02d}-{val_loss:.4f}.keras"
    checkpointer = ModelCheckpoint(filepath=modelpath, monitor='val_loss', verbose=1, save_best_only=True)
    early_stopping_callback = EarlyStopping(monitor='val_loss', patience=10)

    history = model.fit(X_train, Y_train, validation_data=(X_test, Y_test),
                        epochs=30, batch_size=200, verbose=0,
                        callbacks=[early_stopping_callback, checkpointer])

    test_accuracy = model.evaluate(X_test, Y_test)[1]
    print("\\n Test Accuracy: %.4f" % test_accuracy)
    """

SPARSE_SOLUTION = replace(SPARSE_STARTER, labels=SPARSE_LABELS, model=SPARSE_MODEL, fit=SPARSE_FIT)

SPARSE_MISTAKES = {
    # right in every way, but to_categorical is still called once to print an example
    "to_categorical_printed": dict(labels="""
        from tensorflow.keras.utils import to_categorical

        Y_train = Y_class_train
        Y_test = Y_class_test

        # 예전 방식과 비교해 보기 / compare with the old one-hot labels
        print(Y_train[0], '->', to_categorical(Y_train[:1], 10))
        """),
    # the same through keras.utils (a different module object from tensorflow.keras.utils)
    "to_categorical_keras_utils": dict(labels="""
        import keras

        Y_train = Y_class_train
        Y_test = Y_class_test
        print(keras.utils.to_categorical(Y_test[:3], 10))
        """),
    # the original notebook handed in: one-hot labels and categorical_crossentropy
    "original_unchanged": dict(
        labels="""
            from tensorflow.keras.utils import to_categorical

            Y_train = to_categorical(Y_class_train, 10)
            Y_test = to_categorical(Y_class_test, 10)
            print(Y_train[0])
            """,
        model=sub(SPARSE_MODEL, "loss='sparse_categorical_crossentropy'", "loss='categorical_crossentropy'"),
    ),
    # integer labels, but the loss was not changed: fit raises a shape error
    "loss_still_categorical": dict(
        model=sub(SPARSE_MODEL, "loss='sparse_categorical_crossentropy'", "loss='categorical_crossentropy'"),
    ),
    # labels as a column, shape (N, 1): Keras accepts them, the contract asks for 1-D
    "labels_column": dict(labels="""
        Y_train = Y_class_train.reshape(-1, 1)
        Y_test = Y_class_test.reshape(-1, 1)
        print(Y_train.shape)
        """),
    # model.evaluate returns [loss, accuracy]: index 0 is the loss
    "test_accuracy_is_loss": dict(fit=sub(
        SPARSE_FIT, "test_accuracy = model.evaluate(X_test, Y_test)[1]",
        "test_accuracy = model.evaluate(X_test, Y_test)[0]")),
    # the number of the notes copied instead of evaluating
    "test_accuracy_copied": dict(fit=sub(
        SPARSE_FIT, "test_accuracy = model.evaluate(X_test, Y_test)[1]",
        "model.evaluate(X_test, Y_test)\ntest_accuracy = 0.9832   # 노트의 결과")),
    # a smaller hidden layer "to train faster"
    "hidden_128": dict(model=sub(SPARSE_MODEL, "Dense(512, input_dim=784", "Dense(128, input_dim=784")),
    # accepted variant: the lecturer's way, Flatten(input_shape=(28, 28)) on the 28 x 28 images, then Dense(512)
    "flatten_network_ok": dict(
        load_data="""
            # MNIST 데이터셋 불러오기 / load MNIST
            (X_train, Y_class_train), (X_test, Y_class_test) = mnist.load_data()

            # 0 ~ 1 로 정규화 (28 x 28 그대로, Flatten 층이 펴 줌) / scale to [0, 1]; the Flatten layer flattens
            X_train = X_train.astype('float32') / 255.0
            X_test = X_test.astype('float32') / 255.0
            """,
        model="""
            from tensorflow.keras.layers import Flatten

            model = Sequential()
            model.add(Flatten(input_shape=(28, 28)))
            model.add(Dense(512, activation='relu'))
            model.add(Dense(10, activation='softmax'))
            model.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
            model.summary()
            """,
    ),
}


# =====================================================================================
# fashion_vs_mnist  (seed 000, Fashion MNIST Example; seed 001, 3.3)
# =====================================================================================

FVM_STARTER = [
    md("intro", """
        # Fashion MNIST 예제 — MNIST 와 비교하기
        # Fashion MNIST example — comparing with MNIST

        Fashion MNIST는 MNIST에 영향을 받아서 만들어진 데이터이며, 손 글씨가 아닌 옷과 신발등의 흑백 이미지로서
        MNIST보다는 좀 더 어려운 문제로 평가 되고 있음.

        **과제.** MNIST Example 에서 데이터만 `fashion_mnist.load_data()` 로 바꾸어 (모델과 학습 설정은 그대로)
        정확도와 오버피팅을 MNIST 와 비교하시오. loss 값은 증가하는데, 정확도는 일정하게 유지되는 현상을
        설명하시오.

        **Task.** Run the MNIST example unchanged on Fashion-MNIST (only the data changes: same model, same
        training set-up, same scaling), compare test accuracy and overfitting with MNIST, and explain why the
        validation loss can rise while the accuracy stays flat.

        **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
        지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
        `raise NotImplementedError` line. 이름을 바꾸지 마세요 / Do not rename anything: the grader reads
        these names.

        | 이름 / name | 내용 / what |
        |---|---|
        | `history_mnist`, `history_fashion` | 각 `fit(...)` 의 결과 / what each `fit(...)` returned |
        | `test_acc_mnist`, `test_acc_fashion` | 테스트셋 정확도 (`model.evaluate(...)[1]`, 0 ~ 1) / test accuracy, a float in [0, 1] |
        | `overfit_gap_mnist`, `overfit_gap_fashion` | 오버피팅 정도 = 마지막 epoch 의 `val_loss - loss` / overfitting gap = `val_loss[-1] - loss[-1]` of the run's history |
        | 답 / answer | 아래 **답 / Answer (answer:loss_vs_accuracy)** 셀 / the cell marked **Answer (answer:loss_vs_accuracy)** below |
        """),
    md("mnist-example", """
        ## MNIST Example (학습 설정 / the set-up)

        ```python
        model = Sequential()
        model.add(Flatten(input_shape=(28, 28)))
        model.add(Dense(100, activation='relu'))
        model.add(Dense(10, activation='softmax'))
        model.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        hist = model.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
        ```

        입력은 `/ 255.0` 으로 0 ~ 1 로 정규화합니다 (두 데이터 모두). Inputs are scaled by `/ 255.0` — both data sets.

        채점하는 것은 두 실행이 **같은** 구조와 학습 설정을 쓰는지입니다: 위의 설정을 권하지만, 강의 노트의 다른
        설정 (예: `Adam(learning_rate=1e-3)`, `epochs=30`, `validation_split=0.3`) 도 두 실행이 똑같이 쓰면 인정됩니다.
        What is graded is that both runs share **one** architecture and one training set-up: the set-up above is
        the proposal, and another one from the course notes (such as `Adam(learning_rate=1e-3)`, `epochs=30`,
        `validation_split=0.3`) is accepted as long as both runs use it.
        """),
    code("imports", """
        import numpy as np
        import matplotlib.pyplot as plt
        import tensorflow as tf
        from tensorflow.keras.datasets import mnist, fashion_mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense
        from tensorflow.keras.optimizers import SGD
        """),
    md("task-mnist", """
        ## 1. MNIST

        `mnist.load_data()` 로 데이터를 불러와 `/ 255.0` 으로 정규화하고, 위의 MNIST Example 을 학습하시오.
        Load MNIST, scale it by `/ 255.0` and train the MNIST example above (a model such as `model_mnist`):
        `history_mnist = model_mnist.fit(...)`, `test_acc_mnist = model_mnist.evaluate(x_test, t_test)[1]`.
        """),
    code("mnist", FILL),
    md("task-fashion", """
        ## 2. Fashion MNIST

        `fashion_mnist.load_data()` 로 같은 작업을 하시오 — 모델 구조, 학습 설정, 정규화는 MNIST 와 똑같이, 모델은
        새로 만들어서 (MNIST 로 학습한 모델을 이어서 학습하지 말 것). Do the same with `fashion_mnist.load_data()`:
        same architecture, same set-up, same scaling, and a **new** model (do not continue training the MNIST
        one): `history_fashion`, `test_acc_fashion`.
        """),
    code("fashion", FILL),
    md("task-gaps", """
        ## 3. 오버피팅 비교 / Overfitting

        각 학습의 오버피팅 정도를 그 학습의 history 로 구하시오: 마지막 epoch 의 `val_loss - loss`.
        From each run's history, the overfitting gap: `val_loss[-1] - loss[-1]`
        → `overfit_gap_mnist`, `overfit_gap_fashion`.
        """),
    code("gaps", FILL),
    md("plot-intro", """
        ## 4. 학습 곡선 / Learning curves (그대로 실행 / run as it is)
        """),
    code("plot", """
        def as_dict(h):
            return h.history if hasattr(h, 'history') else h

        plt.figure(figsize=(12, 4))
        for pos, (title, h) in enumerate([('MNIST', history_mnist), ('Fashion MNIST', history_fashion)], start=1):
            h = as_dict(h)
            plt.subplot(1, 3, pos)
            plt.title(title + ' loss')
            plt.plot(h['loss'], label='loss')
            plt.plot(h['val_loss'], label='val_loss')
            plt.xlabel('epoch')
            plt.legend()
        plt.subplot(1, 3, 3)
        plt.title('val_accuracy')
        plt.plot(as_dict(history_mnist)['val_accuracy'], label='MNIST')
        plt.plot(as_dict(history_fashion)['val_accuracy'], label='Fashion MNIST')
        plt.xlabel('epoch')
        plt.legend()
        plt.tight_layout()
        plt.show()

        print('test accuracy  MNIST %.4f   Fashion %.4f' % (test_acc_mnist, test_acc_fashion))
        print('overfit gap    MNIST %.4f   Fashion %.4f' % (overfit_gap_mnist, overfit_gap_fashion))
        """),
    md("question", """
        ## 5. 질문 / Question

        두 결과의 정확도와 오버피팅을 비교하고, loss 값은 증가하는데 정확도는 일정하게 유지되는 현상을 아래 셀에
        설명하시오 (사람이 채점합니다). Compare the two runs, and explain in the cell below why the validation
        loss can rise while the accuracy stays flat (graded by a person).
        """, ANSWER_HOW),
    answer_cell("answer-loss-vs-accuracy", "loss_vs_accuracy"),
]

FVM_MNIST = """
    (x_train, t_train), (x_test, t_test) = mnist.load_data()
    x_train = x_train / 255.0
    x_test = x_test / 255.0


    def build_model():
        model = Sequential()
        model.add(Flatten(input_shape=(28, 28)))
        model.add(Dense(100, activation='relu'))
        model.add(Dense(10, activation='softmax'))
        model.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        return model


    model_mnist = build_model()
    history_mnist = model_mnist.fit(x_train, t_train, epochs=50, validation_split=0.2, verbose=2)
    test_acc_mnist = model_mnist.evaluate(x_test, t_test)[1]
    print('MNIST test accuracy:', test_acc_mnist)
    """

FVM_FASHION = """
    (x_train_f, t_train_f), (x_test_f, t_test_f) = fashion_mnist.load_data()
    x_train_f = x_train_f / 255.0
    x_test_f = x_test_f / 255.0

    model_fashion = build_model()
    history_fashion = model_fashion.fit(x_train_f, t_train_f, epochs=50, validation_split=0.2, verbose=2)
    test_acc_fashion = model_fashion.evaluate(x_test_f, t_test_f)[1]
    print('Fashion MNIST test accuracy:', test_acc_fashion)
    """

FVM_GAPS = """
    overfit_gap_mnist = history_mnist.history['val_loss'][-1] - history_mnist.history['loss'][-1]
    overfit_gap_fashion = history_fashion.history['val_loss'][-1] - history_fashion.history['loss'][-1]
    print(overfit_gap_mnist, overfit_gap_fashion)
    """

FVM_ANSWER = """
    **비교.** 같은 모델과 설정에서 Fashion MNIST 의 테스트 정확도(약 0.88)는 MNIST(약 0.98)보다 낮고, 마지막
    epoch 의 `val_loss - loss` 도 Fashion 쪽이 훨씬 큽니다: 옷 이미지는 클래스끼리(셔츠/티셔츠/풀오버/코트)
    더 비슷해서 일반화가 어렵고, 학습 데이터에 더 빨리 과적합합니다.

    **loss 는 증가하는데 정확도는 일정한 이유.** 정확도는 가장 큰 확률의 클래스가 맞았는지만 보지만, cross-entropy
    loss 는 정답 클래스에 준 확률의 크기를 봅니다. 학습이 계속되면 모델은 점점 더 확신하게(softmax 출력이 0 이나
    1 에 가깝게) 되어, 이미 맞히던 검증 데이터는 계속 맞히지만 (정확도 그대로), 틀리는 소수의 데이터에는 정답
    확률을 아주 작게 주어 `-log p` 가 크게 커집니다. 그래서 평균 loss 는 올라가도 맞힌 개수는 거의 변하지 않습니다 —
    이것이 오버피팅의 신호입니다.

    **Why the loss rises while the accuracy stays flat.** Accuracy only asks whether the top class is right;
    cross-entropy also measures how much probability the right class gets. As training goes on the model
    becomes over-confident: the validation images it already classifies correctly stay correct (accuracy
    flat), but the few it gets wrong receive a tiny probability for their true class, and `-log p` of those
    grows without bound, so the mean validation loss rises — a sign of overfitting.
    """

FVM_SOLUTION = replace(
    FVM_STARTER, mnist=FVM_MNIST, fashion=FVM_FASHION, gaps=FVM_GAPS, answer_loss_vs_accuracy=FVM_ANSWER
)

FVM_MISTAKES = {
    # train gap minus validation gap: the sign is reversed
    "gap_reversed": dict(gaps="""
        overfit_gap_mnist = history_mnist.history['loss'][-1] - history_mnist.history['val_loss'][-1]
        overfit_gap_fashion = history_fashion.history['loss'][-1] - history_fashion.history['val_loss'][-1]
        print(overfit_gap_mnist, overfit_gap_fashion)
        """),
    # the accuracy gap instead of the loss gap
    "gap_from_accuracy": dict(gaps="""
        overfit_gap_mnist = history_mnist.history['accuracy'][-1] - history_mnist.history['val_accuracy'][-1]
        overfit_gap_fashion = history_fashion.history['accuracy'][-1] - history_fashion.history['val_accuracy'][-1]
        print(overfit_gap_mnist, overfit_gap_fashion)
        """),
    # copy-paste: both gaps from the MNIST history
    "gap_copy_paste": dict(gaps="""
        overfit_gap_mnist = history_mnist.history['val_loss'][-1] - history_mnist.history['loss'][-1]
        overfit_gap_fashion = history_mnist.history['val_loss'][-1] - history_mnist.history['loss'][-1]
        print(overfit_gap_mnist, overfit_gap_fashion)
        """),
    # the scaling line was not copied for Fashion-MNIST
    "fashion_not_scaled": dict(fashion=sub(
        FVM_FASHION, "x_train_f = x_train_f / 255.0\nx_test_f = x_test_f / 255.0\n", "")),
    # a bigger network "because Fashion is harder": not the MNIST example any more
    "fashion_bigger_model": dict(fashion=sub(
        FVM_FASHION, "model_fashion = build_model()\n", textwrap.dedent("""\
            model_fashion = Sequential()
            model_fashion.add(Flatten(input_shape=(28, 28)))
            model_fashion.add(Dense(256, activation='relu'))
            model_fashion.add(Dense(128, activation='relu'))
            model_fashion.add(Dense(10, activation='softmax'))
            model_fashion.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',
                                  metrics=['accuracy'])
            """))),
    # a different optimizer and fewer epochs for Fashion-MNIST
    "fashion_other_setup": dict(fashion=sub(sub(
        FVM_FASHION, "model_fashion = build_model()\n",
        "model_fashion = build_model()\nmodel_fashion.compile(optimizer='adam', loss='sparse_categorical_crossentropy',"
        " metrics=['accuracy'])\n"),
        "epochs=50", "epochs=20")),
    # the MNIST model trained further on Fashion-MNIST (no fresh model)
    "same_model_reused": dict(fashion=sub(
        FVM_FASHION, "model_fashion = build_model()\n", "model_fashion = model_mnist   # 같은 모델을 그대로 사용\n")),
    # copy-paste: the MNIST model evaluated on the Fashion-MNIST test set
    "wrong_model_evaluated": dict(fashion=sub(
        FVM_FASHION, "test_acc_fashion = model_fashion.evaluate(x_test_f, t_test_f)[1]",
        "test_acc_fashion = model_mnist.evaluate(x_test_f, t_test_f)[1]")),
    # no answer written
    "answer_missing": dict(answer_loss_vs_accuracy=""),
    # accepted variant: the course author's own MNIST set-up, Adam(1e-3), 30 epochs, validation_split=0.3, on both
    "author_setup_ok": dict(
        mnist=sub(sub(
            FVM_MNIST,
            "model.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',",
            "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3), loss='sparse_categorical_crossentropy',"),
            "epochs=50, validation_split=0.2", "epochs=30, validation_split=0.3"),
        fashion=sub(FVM_FASHION, "epochs=50, validation_split=0.2", "epochs=30, validation_split=0.3"),
    ),
}


# =====================================================================================
# cnn_mistakes  (seed 000, [예제 3] first part)
# =====================================================================================

CNNM_STARTER = [
    md("intro", """
        # [예제 3] 1 conv CNN — 틀린 예측 찾기
        # [Exercise 3] A one-convolution CNN — finding the false predictions

        **과제.** 1conv / 1 flatten CNN 구조를 이용하여 test data 에 대해 predict 수행 후에,
        `index_label_prediction` 값을 출력하는 코드를 구현하고, 임의의 false prediction 이미지를 출력하시오.

        1 conv layer ⇒ 5 x 5 크기의 32개 필터, 1 stride, 2 x 2 max pooling, padding 있음

        **Task.** Build the CNN `Conv2D(32 filters, 5 x 5, stride 1, padding='same', relu)` →
        `MaxPool2D(2 x 2)` → `Flatten()` → `Dense(10, softmax)`, train it on MNIST as the notes' CNN,
        predict the test set, list every false prediction as `(index, label, prediction)` and show one of the
        falsely predicted images.

        **채울 셀 / Cells to fill:** `# YOUR CODE HERE` 가 있는 셀만 채우고 `raise NotImplementedError` 줄은
        지우세요. Fill in only the cells marked `# YOUR CODE HERE` and delete their
        `raise NotImplementedError` line. 이름을 바꾸지 마세요 / Do not rename anything: the grader reads
        these names.

        | 이름 / name | 내용 / what |
        |---|---|
        | `model` | 위 구조의 CNN / the CNN above |
        | `predictions` | `x_test` 의 예측 정답, 정수의 1차원 배열 shape `(N,)` (확률이 아님) / predicted labels for `x_test`, a 1-D integer array (not probabilities) |
        | `index_label_prediction` | 틀린 예측 **모두**의 `(index, label, prediction)` 리스트 / a list of `(index, label, prediction)` for **every** test image the model gets wrong |
        | 그림 / figure | 틀린 예측 이미지 하나 (`plt.imshow` + `plt.show()`) / one falsely predicted image |
        """),
    code("imports", """
        import tensorflow as tf
        from tensorflow.keras.layers import Flatten, Dense, Conv2D, MaxPool2D
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.optimizers import Adam
        from tensorflow.keras.datasets import mnist
        import numpy as np
        from datetime import datetime
        import matplotlib.pyplot as plt
        print(tf.__version__)
        """),
    code("load-data", """
        (x_train, t_train), (x_test, t_test) = mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        print('t_train.shape = ', t_train.shape, ' , t_test.shape = ', t_test.shape)
        """),
    md("task-model", """
        ## 1. 모델과 학습 / The model and its training

        - `Conv2D(input_shape=(28, 28, 1), kernel_size=5, filters=32, strides=(1, 1), activation='relu', padding='SAME')`
          → `MaxPool2D(pool_size=(2, 2))` → `Flatten()` → `Dense(10, activation='softmax')`
        - `model.compile(optimizer=Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', metrics=['accuracy'])`
        - `hist = model.fit(x_train.reshape(-1, 28, 28, 1), t_train, batch_size=50, epochs=50, validation_split=0.2)`

        `model.summary()` 의 Total params 는 63,562 (Conv2D 832 + Dense 62,730) 이어야 합니다 — 노트의 63,050 은
        3 x 3 필터의 경우입니다. `model.summary()` should show 63,562 parameters (Conv2D 832 + Dense 62,730); the
        notes' 63,050 is for 3 x 3 filters.
        """),
    code("model", FILL),
    md("task-predict", """
        ## 2. 예측과 틀린 예측 목록 / Predictions and the list of false predictions

        - `predictions`: `model.predict(...)` 는 각 클래스의 확률을 줍니다; 가장 큰 확률의 클래스
          (`np.argmax(..., axis=1)`) 를 예측 정답으로 하는 1차원 배열. `model.predict` gives class
          probabilities: `predictions` holds the predicted **labels**, one per test image.
        - `index_label_prediction`: 예측이 정답 `t_test` 와 다른 **모든** test 이미지에 대해 `(index, label, prediction)`.
          One tuple `(index, label, prediction)` for **every** test image whose prediction differs from its
          label `t_test[index]`, and nothing else.
        """),
    code("predict", FILL),
    md("task-show", """
        ## 3. 틀린 예측 이미지 / One false prediction

        `index_label_prediction` 에서 임의의 하나를 골라 이미지를 출력하시오 (제목에 label 과 prediction).
        Pick one entry of `index_label_prediction` and show its image with `plt.imshow(..., cmap='gray')` and
        `plt.show()`, with the label and the prediction in the title.
        """),
    code("show", FILL),
]

CNNM_MODEL = """
    model = Sequential()
    model.add(Conv2D(input_shape=(28, 28, 1), kernel_size=5, filters=32, strides=(1, 1),
                     activation='relu', padding='SAME'))
    model.add(MaxPool2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation='softmax'))

    model.compile(optimizer=Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    model.summary()

    start_time = datetime.now()
    hist = model.fit(x_train.reshape(-1, 28, 28, 1), t_train, batch_size=50, epochs=50,
                     validation_split=0.2, verbose=2)
    print('elapsed time => ', datetime.now() - start_time)
    """

CNNM_PREDICT = """
    prediction_probs = model.predict(x_test.reshape(-1, 28, 28, 1))
    predictions = np.argmax(prediction_probs, axis=1)

    index_label_prediction = []
    for index in range(len(predictions)):
        if predictions[index] != t_test[index]:
            index_label_prediction.append((index, t_test[index], predictions[index]))

    print('false predictions:', len(index_label_prediction), 'of', len(predictions))
    print(index_label_prediction[:10])
    """

CNNM_SHOW = """
    import random

    index, label, prediction = random.choice(index_label_prediction)
    plt.imshow(x_test[index], cmap='gray')
    plt.title('index %d: label %d, prediction %d' % (index, label, prediction))
    plt.axis('off')
    plt.show()
    """

CNNM_SOLUTION = replace(CNNM_STARTER, model=CNNM_MODEL, predict=CNNM_PREDICT, show=CNNM_SHOW)

CNNM_MISTAKES = {
    # the padding of the notes forgotten: 'valid' gives 24x24 feature maps
    "padding_valid": dict(model=sub(CNNM_MODEL, "activation='relu', padding='SAME'))", "activation='relu'))")),
    # the 3x3 kernel of the notes' basic architecture instead of 5x5
    "kernel_3x3": dict(model=sub(CNNM_MODEL, "kernel_size=5", "kernel_size=3")),
    # default batch size instead of the notes' 50
    "default_batch_size": dict(model=sub(CNNM_MODEL, "batch_size=50, ", "")),
    # predictions left as probabilities (2-D); the list is built with argmax inline
    "probabilities": dict(predict="""
        predictions = model.predict(x_test.reshape(-1, 28, 28, 1))

        index_label_prediction = []
        for index in range(len(predictions)):
            if np.argmax(predictions[index]) != t_test[index]:
                index_label_prediction.append((index, t_test[index], np.argmax(predictions[index])))
        print(len(index_label_prediction))
        """),
    # == instead of !=: the correct predictions are listed
    "lists_correct_ones": dict(predict=sub(
        CNNM_PREDICT, "if predictions[index] != t_test[index]:", "if predictions[index] == t_test[index]:")),
    # compared with the training labels (a typo), so the list is mostly wrong
    "train_labels": dict(predict=sub(sub(
        CNNM_PREDICT, "if predictions[index] != t_test[index]:", "if predictions[index] != t_train[index]:"),
        "append((index, t_test[index], predictions[index]))", "append((index, t_train[index], predictions[index]))")),
    # only the first 100 test images are checked
    "first_100_only": dict(predict=sub(CNNM_PREDICT, "for index in range(len(predictions)):",
                                       "for index in range(100):   # 앞의 100 개만")),
    # (index, prediction, label): the order of the tuple swapped
    "tuple_order": dict(predict=sub(
        CNNM_PREDICT, "append((index, t_test[index], predictions[index]))",
        "append((index, predictions[index], t_test[index]))")),
    # no image shown
    "no_figure": dict(show="""
        index, label, prediction = index_label_prediction[0]
        print('index', index, 'label', label, 'prediction', prediction)
        """),
}


def main() -> int:
    for name, starter, solution, mistakes in (
        ("sparse_labels", SPARSE_STARTER, SPARSE_SOLUTION, SPARSE_MISTAKES),
        ("fashion_vs_mnist", FVM_STARTER, FVM_SOLUTION, FVM_MISTAKES),
        ("cnn_mistakes", CNNM_STARTER, CNNM_SOLUTION, CNNM_MISTAKES),
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
