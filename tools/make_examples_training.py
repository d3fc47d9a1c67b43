"""Sample submissions for the six training exercises, so that an instructor can try
`grade assignments/<name> examples/submissions/<name>` on any of them.

Each folder gets the reference solution, the untouched starter and three notebooks
with one typical mistake each, taken from tests/fixtures/mistakes/<name>/ (the slow
suite proves what each of those loses). Run from the repository root after the
notebook generators:  python tools/make_examples_training.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# assignment -> (student, mistake fixture) for the three mistaken submissions
MISTAKES = {
    "dropout_rates": {"lee_jun": "adam_optimizer", "choi_yuna": "gap_reversed", "oh_daeun": "epochs_10"},
    "bn_vs_dropout": {"lee_jun": "dropout_left_in_bn", "choi_yuna": "adam_for_bn", "oh_daeun": "histories_swapped"},
    "callbacks": {"lee_jun": "es_monitor_loss", "choi_yuna": "no_save_best_only", "oh_daeun": "wrong_checkpoint_path"},
    "sparse_labels": {
        "lee_jun": "loss_still_categorical",
        "choi_yuna": "to_categorical_keras_utils",
        "oh_daeun": "test_accuracy_is_loss",
    },
    "fashion_vs_mnist": {"lee_jun": "fashion_bigger_model", "choi_yuna": "gap_reversed", "oh_daeun": "answer_missing"},
    "cnn_mistakes": {"lee_jun": "lists_correct_ones", "choi_yuna": "kernel_3x3", "oh_daeun": "probabilities"},
}


def main() -> None:
    for name, mistakes in MISTAKES.items():
        out = ROOT / "examples" / "submissions" / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shutil.copyfile(ROOT / "solutions" / name / f"{name}.ipynb", out / "kim_minji.ipynb")
        shutil.copyfile(ROOT / "assignments" / name / f"{name}.ipynb", out / "han_seo.ipynb")
        fixtures = ROOT / "tests" / "fixtures" / "mistakes" / name
        for student, mistake in mistakes.items():
            shutil.copyfile(fixtures / f"{mistake}.ipynb", out / f"{student}.ipynb")
        print(f"wrote {out.relative_to(ROOT)}: {len(mistakes) + 2} submissions")


if __name__ == "__main__":
    main()
