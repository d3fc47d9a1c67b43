# ruff: noqa: E501 (cell texts are prose and code as students write them)
"""Generate submissions as real students hand them in: the course author's Colab notebooks
(../shared/seeds/) copied and edited, with everything a student leaves in.

Writes tests/fixtures/real/<assignment>/<name>.ipynb; what each must score is written by
hand in tests/fixtures/real/<assignment>/EXPECTED.toml (keep both in step), and
tests/test_real_notebooks.py grades them.

What makes them real (ASSIGNMENTS.md, "Real notebooks", 2026-12-01): Colab's notebook
format (nbformat 4.0 without cell ids, Colab metadata and cell ids in cell metadata,
`accelerator: GPU`), `%tensorflow_version 2.x`, `!nvidia-smi`, a Google Drive cell,
Keras' default `verbose=1` fits, the lecturer's `Flatten(input_shape=(28, 28))`,
`validation_data=(x_test, t_test)`, `.h5` checkpoints, stale outputs (an old run's
log, a stale error, an old figure), a scratch cell left failing at the end, and an
answer cell that lost its tag (Colab cannot edit tags) but kept its marker lines.

Run from the repository root:  python tools/make_notebooks_real.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "real"

# A 1x1 PNG: the stale figure a student's last Colab run left in a cell.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


def _id(name: str, n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"{name}/{n}".encode()).digest())[:12].decode()


def _lines(text: str) -> list[str]:
    text = textwrap.dedent(text).strip("\n")
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def md(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}


def code(text: str, outputs: list[dict[str, Any]] | None = None, count: int | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "outputs": outputs or [],
        "source": _lines(text),
    }


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": _lines(text)}


def error(ename: str, evalue: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"\u001b[0;31m{ename}\u001b[0m: {evalue}"]}


def figure() -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {"needs_background": "light"},
            "data": {"image/png": PNG, "text/plain": ["<Figure size 432x288 with 1 Axes>"]}}


def colab(name: str, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A notebook as Colab saves it: nbformat 4.0 (no cell ids), Colab's cell ids in metadata."""
    for n, cell in enumerate(cells):
        cell["metadata"]["id"] = _id(name, n)
        if cell["cell_type"] == "code" and cell["outputs"]:
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["metadata"]["outputId"] = _id(name + "/out", n)
    return {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"name": f"{name}.ipynb", "provenance": [], "collapsed_sections": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
            "gpuClass": "standard",
        },
        "cells": cells,
    }


def jupyter(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A notebook saved by a local Jupyter (nbformat 4.5, cell ids)."""
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n}"
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python", "version": "3.10.12"},
        },
        "cells": cells,
    }


def write(assignment: str, name: str, book: dict[str, Any]) -> None:
    nbformat.validate(nbformat.from_dict(book))
    path = OUT / assignment / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(book, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(ROOT))


NVIDIA_SMI = """
    Tue Nov 21 05:12:44 2023
    +-----------------------------------------------------------------------------+
    | NVIDIA-SMI 525.105.17   Driver Version: 525.105.17   CUDA Version: 12.0     |
    |-------------------------------+----------------------+----------------------+
    |   0  Tesla T4            Off  | 00000000:00:04.0 Off |                    0 |
    | N/A   44C    P8    10W /  70W |      0MiB / 15360MiB |      0%      Default |
    +-------------------------------+----------------------+----------------------+
    """

# =====================================================================================
# sparse_labels: seed 003's MNIST notebook in Colab, changed to integer labels, with the
# lecturer's Flatten(input_shape=(28, 28)) network. Full marks.
# =====================================================================================

SPARSE_COLAB = [
    md("""
        # MNIST 손글씨 인식 (정답을 one-hot encoding 하지 않고)

        [예제 3] 기존에 구현하였던 MNIST 예제에서 정답을 one-hot encoding 방식으로 변환시키지 않고 입력으로 넣어주는 경우,
        기존 소스에서 변경이 필요한 부분을 재작성해서 구현하시오.
        """),
    code("%tensorflow_version 2.x", [stream("TensorFlow 2.x selected.\n")], count=1),
    code("!nvidia-smi", [stream(NVIDIA_SMI)], count=2),
    code("""
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Dense, Flatten
        from tensorflow.keras.callbacks import ModelCheckpoint, EarlyStopping
        from tensorflow.keras.datasets import mnist

        import matplotlib.pyplot as plt
        import numpy
        import os
        import tensorflow as tf

        # seed 값 설정
        seed = 0
        numpy.random.seed(seed)
        tf.random.set_seed(3)
        """, count=3),
    code("""
        # MNIST 데이터셋 불러오기
        (X_train, Y_class_train), (X_test, Y_class_test) = mnist.load_data()

        print("학습셋 이미지 수 : %d 개" % (X_train.shape[0]))
        print("테스트셋 이미지 수 : %d 개" % (X_test.shape[0]))

        # 28 x 28 그대로 두고 0 ~ 1 로 정규화 (Flatten 층이 784 개로 펴 줌)
        X_train = X_train.astype('float32') / 255
        X_test = X_test.astype('float32') / 255
        """, [stream("학습셋 이미지 수 : 60000 개\n테스트셋 이미지 수 : 10000 개\n")], count=4),
    md("""
        ### 바이너리화 과정 없이 정수 정답을 그대로 사용
        `to_categorical` 대신 `sparse_categorical_crossentropy`
        """),
    code("""
        Y_train = Y_class_train
        Y_test = Y_class_test
        print(Y_train[:10])
        """, [stream("[5 0 4 1 9 2 1 3 1 4]\n")], count=5),
    code("""
        # 모델 프레임 설정
        model = Sequential()
        model.add(Flatten(input_shape=(28, 28)))
        model.add(Dense(512, activation='relu'))   # 은닉층
        model.add(Dense(10, activation='softmax'))  # 출력층
        model.summary()

        # 모델 실행 환경 설정
        model.compile(loss='sparse_categorical_crossentropy',
                      optimizer='adam',
                      metrics=['accuracy'])
        """, count=6),
    code("""
        # 모델 최적화 설정
        MODEL_DIR = './model/'
        if not os.path.exists(MODEL_DIR):
            os.mkdir(MODEL_DIR)

        modelpath = "./model/{epoch:02d}-{val_loss:.4f}.h5"
        checkpointer = ModelCheckpoint(filepath=modelpath, monitor='val_loss', verbose=1, save_best_only=True)
        early_stopping_callback = EarlyStopping(monitor='val_loss', patience=10)
        """, count=7),
    # an old run's log: stale, the grader runs the cell again
    code("""
        # 모델의 실행
        history = model.fit(X_train, Y_train, validation_data=(X_test, Y_test),
                            epochs=30, batch_size=200, callbacks=[early_stopping_callback, checkpointer])
        """, [stream("""
            Epoch 1/30
            300/300 [==============================] - ETA: 0s - loss: 0.2291 - accuracy: 0.9338
            Epoch 1: val_loss improved from inf to 0.11202, saving model to ./model/01-0.1120.h5
            300/300 [==============================] - 4s 9ms/step - loss: 0.2291 - accuracy: 0.9338 - val_loss: 0.1120 - val_accuracy: 0.9664
            Epoch 2/30
            300/300 [==============================] - 2s 7ms/step - loss: 0.0898 - accuracy: 0.9735 - val_loss: 0.0801 - val_accuracy: 0.9754
            """)], count=9),
    code("""
        # 테스트 정확도 출력
        test_accuracy = model.evaluate(X_test, Y_test)[1]
        print("\\n Test Accuracy: %.4f" % test_accuracy)
        """, [stream("313/313 [==============================] - 1s 2ms/step - loss: 0.0710 - accuracy: 0.9832\n\n Test Accuracy: 0.9832\n")], count=10),
    # a stale error: the runtime had been reset when this cell last ran in Colab
    code("""
        # 테스트 셋의 오차
        y_vloss = history.history['val_loss']

        # 학습셋의 오차
        y_loss = history.history['loss']

        # 그래프로 표현
        x_len = numpy.arange(len(y_loss))
        plt.plot(x_len, y_vloss, marker='.', c="red", label='Testset_loss')
        plt.plot(x_len, y_loss, marker='.', c="blue", label='Trainset_loss')

        # 그래프에 그리드를 주고 레이블을 표시
        plt.legend(loc='upper right')
        plt.grid()
        plt.xlabel('epoch')
        plt.ylabel('loss')
        plt.show()
        """, [error("NameError", "name 'history' is not defined")], count=8),
    # scratch left at the end: `np` was never imported (numpy is), so it fails when graded
    code("""
        # 하나 예측해 보기
        plt.imshow(X_test[0], cmap='gray')
        print(np.argmax(model.predict(X_test[:1])))
        """),
]

# =====================================================================================
# callbacks: seed 000's Callback Example as the lecturer writes his MNIST notebooks,
# validating on the test set. Exactly one check lost: the fit settings.
# =====================================================================================

CALLBACKS_TEST_SET = [
    md("""
        # Callback Example

        은닉층은 100개 노드를 가지는 신경망을 가지고서 FashionMNIST 데이터를 학습하는 경우, 다음 조건을 만족하는 코드를 각각 구현하고 결과를 확인 하시오

        [1] SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy', epochs=50, val_loss 에 대해서 ModelCheckpint 콜백 구현

        [2] SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy', epochs=50, val_loss 에 대해서 ModelCheckpint, EarlyStopping 콜백 구현
        """),
    code("%tensorflow_version 2.x", [stream("TensorFlow 2.x selected.\n")], count=1),
    code("""
        import tensorflow as tf
        from tensorflow.keras.datasets import fashion_mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense
        from tensorflow.keras.optimizers import SGD
        from tensorflow.keras.callbacks import ModelCheckpoint, EarlyStopping
        import matplotlib.pyplot as plt

        (x_train, t_train), (x_test, t_test) = fashion_mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        """, [stream("x_train.shape =  (60000, 28, 28)  , x_test.shape =  (10000, 28, 28)\n")], count=2),
    code("""
        def build_model():
            model = Sequential()
            model.add(Flatten(input_shape=(28, 28)))
            model.add(Dense(100, activation='relu'))
            model.add(Dense(10, activation='softmax'))
            model.compile(optimizer=SGD(learning_rate=0.1), loss='sparse_categorical_crossentropy',
                          metrics=['accuracy'])
            return model
        """, count=3),
    md("## [1] ModelCheckpoint"),
    code("""
        checkpoint_path_1 = './modelchpoint_test_1.keras'   # 저장할 file path

        model_1 = build_model()
        checkpoint = ModelCheckpoint(checkpoint_path_1,      # 저장할 file path
                                     monitor='val_loss',     # val_loss 값이 개선되었을때 호출
                                     verbose=1,              # log 출력
                                     save_best_only=True,    # best 값만 저장
                                     mode='auto')            # auto는 자동으로 best를 찾음
        history_ckpt = model_1.fit(x_train, t_train,
                                   epochs=50, validation_data=(x_test, t_test),
                                   callbacks=[checkpoint])
        """, count=4),
    md("## [2] ModelCheckpoint + EarlyStopping"),
    code("""
        checkpoint_path_2 = './modelchpoint_test_2.keras'

        model_2 = build_model()
        checkpoint = ModelCheckpoint(checkpoint_path_2, monitor='val_loss', verbose=1,
                                     save_best_only=True, mode='auto')
        stopping = EarlyStopping(monitor='val_loss',         # 관찰대상은 val_loss
                                 patience=5)                 # 5 epoch 동안 개선되지 않으면 조기종료
        history_es = model_2.fit(x_train, t_train,
                                 epochs=50, validation_data=(x_test, t_test),
                                 callbacks=[checkpoint, stopping])

        stopped_epoch = stopping.stopped_epoch + 1
        print('stopped_epoch =', stopped_epoch)
        """, count=5),
    code("""
        plt.plot(history_es.history['loss'], label='train loss')
        plt.plot(history_es.history['val_loss'], label='validation loss')
        plt.xlabel('epochs')
        plt.legend(loc='best')
        plt.grid()
        plt.show()
        """, [figure()], count=6),
]

# =====================================================================================
# cnn_mistakes: seed 000's one-convolution CNN as the notes run it, with Keras' default
# progress bars (verbose=1 on fit and predict). Full marks; in `full` its fit passes
# 512 KB of output, which must not cost the figure.
# =====================================================================================

CNN_VERBOSE = [
    md("""
        # [예제 3] 1 conv CNN

        1conv / 1 flatten CNN 구조를 이용하여 test data 에 대해 predict 수행 후에, index_label_prediction 값을 출력하는
        코드를 구현하고, 임의의 false prediction 이미지를 출력하시오

        1 conv layer ⇒ 5 x 5 크기의 32개 필터, 1 stride, 2 x 2 max pooling, padding 있음
        """),
    code("""
        import tensorflow as tf
        from tensorflow.keras.layers import Flatten, Dense, Conv2D, MaxPool2D
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.optimizers import Adam
        from tensorflow.keras.datasets import mnist
        import numpy as np
        from datetime import datetime
        import matplotlib.pyplot as plt
        print(tf.__version__)
        """, [stream("2.12.0\n")], count=1),
    code("""
        (x_train, t_train), (x_test, t_test) = mnist.load_data()

        x_train = x_train / 255.0
        x_test = x_test / 255.0

        print('x_train.shape = ', x_train.shape, ' , x_test.shape = ', x_test.shape)
        print('t_train.shape = ', t_train.shape, ' , t_test.shape = ', t_test.shape)
        """, count=2),
    code("""
        model = Sequential()

        model.add(Conv2D(input_shape=(28, 28, 1), kernel_size=5, filters=32, strides=(1, 1), activation='relu', use_bias=True, padding='SAME'))
        model.add(MaxPool2D(pool_size=(2, 2)))
        model.add(Flatten())
        model.add(Dense(10, activation='softmax'))

        model.compile(optimizer=Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        model.summary()
        """, count=3),
    code("""
        start_time = datetime.now()

        hist = model.fit(x_train.reshape(-1, 28, 28, 1), t_train, batch_size=50, epochs=50, validation_split=0.2)

        end_time = datetime.now()
        print('\\nElapsed Time => ', end_time - start_time)
        """, count=4),
    code("""
        model.evaluate(x_test.reshape(-1, 28, 28, 1), t_test)
        """, count=5),
    code("""
        ret_val = model.predict(x_test.reshape(-1, 28, 28, 1))
        predictions = np.argmax(ret_val, axis=1)

        index_label_prediction = []
        for index in range(len(predictions)):
            if predictions[index] != t_test[index]:
                index_label_prediction.append((index, t_test[index], predictions[index]))

        print(len(index_label_prediction))
        print(index_label_prediction[:10])
        """, count=6),
    code("""
        index, label, prediction = index_label_prediction[0]

        plt.imshow(x_test[index], cmap='gray')
        plt.title('label = ' + str(label) + ' , prediction = ' + str(prediction))
        plt.show()
        """, [figure()], count=7),
]

# =====================================================================================
# fashion_vs_mnist: the course author's own MNIST example set-up (Adam(1e-3), 30 epochs,
# validation_split=0.3) on both data sets, in Colab, with a Drive cell that fails and the
# answer cell of the starter, whose tag Colab lost (its marker lines kept). Full marks;
# the answer reaches the person grading.
# =====================================================================================

FVM_ANSWER = """
    <!-- answer:loss_vs_accuracy -->
    **답 / Answer (answer:loss_vs_accuracy)**

    Fashion MNIST 의 테스트 정확도가 MNIST 보다 낮고, val_loss - loss 도 더 큽니다.
    loss 는 정답 클래스의 확률까지 보지만 정확도는 가장 큰 확률의 클래스만 봅니다. 학습이 계속되면 모델이
    over-confident 해져서, 틀리는 몇 개의 검증 데이터에서 -log p 가 커지므로 정확도는 그대로인데 val_loss 는 증가합니다.
    """

FVM_COLAB = [
    md("""
        # Fashion MNIST Example

        Fashion MNIST는 MNIST에 영향을 받아서 만들어진 데이터이며, 손 글씨가 아닌 옷과 신발등의 흑백 이미지로서 MNIST보다는
        좀 더 어려운 문제로 평가 되고 있음. MNIST Example 에서 다음과 같이 변경하여 정확도와 오버피팅을 MNIST와 비교하시오.
        loss 값은 증가하는데, 정확도는 일정하게 유지되는 현상을 설명하시오.
        """),
    code("""
        from google.colab import drive
        drive.mount('/content/drive')
        """, [stream("Mounted at /content/drive\n")], count=1),
    code("%tensorflow_version 2.x", [stream("TensorFlow 2.x selected.\n")], count=2),
    code("""
        import numpy as np
        import matplotlib.pyplot as plt
        import tensorflow as tf
        from tensorflow.keras.datasets import mnist, fashion_mnist
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Flatten, Dense
        from tensorflow.keras.optimizers import Adam
        """, count=3),
    code("""
        def build_model():
            model = Sequential()
            model.add(Flatten(input_shape=(28, 28)))
            model.add(Dense(100, activation='relu'))
            model.add(Dense(10, activation='softmax'))
            model.compile(optimizer=Adam(learning_rate=1e-3), loss='sparse_categorical_crossentropy',
                          metrics=['accuracy'])
            return model
        """, count=4),
    md("## MNIST"),
    code("""
        (x_train, t_train), (x_test, t_test) = mnist.load_data()
        x_train, x_test = x_train / 255.0, x_test / 255.0

        model_mnist = build_model()
        history_mnist = model_mnist.fit(x_train, t_train, epochs=30, validation_split=0.3)
        test_acc_mnist = model_mnist.evaluate(x_test, t_test)[1]
        """, count=5),
    md("## Fashion MNIST"),
    code("""
        (x_train_f, t_train_f), (x_test_f, t_test_f) = fashion_mnist.load_data()
        x_train_f, x_test_f = x_train_f / 255.0, x_test_f / 255.0

        model_fashion = build_model()
        history_fashion = model_fashion.fit(x_train_f, t_train_f, epochs=30, validation_split=0.3)
        test_acc_fashion = model_fashion.evaluate(x_test_f, t_test_f)[1]
        """, count=6),
    code("""
        overfit_gap_mnist = history_mnist.history['val_loss'][-1] - history_mnist.history['loss'][-1]
        overfit_gap_fashion = history_fashion.history['val_loss'][-1] - history_fashion.history['loss'][-1]
        print(test_acc_mnist, test_acc_fashion, overfit_gap_mnist, overfit_gap_fashion)

        plt.plot(history_fashion.history['loss'], label='fashion loss')
        plt.plot(history_fashion.history['val_loss'], label='fashion val_loss')
        plt.legend()
        plt.show()
        """, [figure()], count=7),
    md("""
        ## 5. 질문 / Question

        두 결과의 정확도와 오버피팅을 비교하고, loss 값은 증가하는데 정확도는 일정하게 유지되는 현상을 아래 셀에
        설명하시오 (사람이 채점합니다).
        """),
    md(FVM_ANSWER),
]


def main() -> int:
    write("sparse_labels", "colab_flatten", colab("colab_flatten", SPARSE_COLAB))
    write("callbacks", "validation_on_test", colab("validation_on_test", CALLBACKS_TEST_SET))
    write("cnn_mistakes", "default_verbose", jupyter(CNN_VERBOSE))
    write("fashion_vs_mnist", "colab_author_setup", colab("colab_author_setup", FVM_COLAB))
    return 0


if __name__ == "__main__":
    sys.exit(main())
