"""Pictures on the report (grader.pictures): drawn by the grader from numbers, within
their caps, stored in the result row, embedded in the page, and never a score's business.

The assignment checks that attach pictures are run here for real (their test files,
through the grader's pytest plugin) against a stand-in notebook that answers from a dict.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grader import pictures as gp
from grader.checks import run_pytest
from grader.errors import MissingName
from grader.i18n import msg
from grader.pictures import Panel, Sketchbook
from grader.pytest_plugin import CheckContext
from grader.results import (
    MAX_PICTURE_CHARS,
    MAX_PICTURE_PX,
    MAX_PICTURES,
    MAX_PICTURES_CHARS,
    Picture,
    SubmissionResult,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """A drawing bug fails these tests (in grading it is an event on the report)."""
    monkeypatch.setenv(gp.STRICT_ENV, "1")


class StandIn:
    """A notebook that answers `get`/`has`/`history`/`fit_for` from dicts."""

    def __init__(self, values: dict[str, Any] | None = None, histories: dict[Any, Any] | None = None) -> None:
        self.values = values or {}
        self.histories = histories or {}  # (name, key) -> (history, fit event)
        self.basis: set[str] = set()

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise MissingName(name)
        return self.values[name]

    def has(self, name: str) -> bool:
        return name in self.values

    def _run(self, name: str, key: Any) -> Any:
        k = (name, None if key is gp_no_key() else key)
        if k not in self.histories:
            raise MissingName(name)
        return self.histories[k]

    def history(self, name: str, key: Any = None, *, timeout: float | None = None) -> dict[str, list[float]]:
        return dict(self._run(name, key)[0])

    def fit_for(self, name: str, key: Any = None, *, timeout: float | None = None) -> dict[str, Any] | None:
        return self._run(name, key)[1]

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise MissingName(str(args[0]))


def gp_no_key() -> Any:
    from grader.witness import NO_KEY

    return NO_KEY


def _png(p: Picture) -> Image.Image:
    im = Image.open(io.BytesIO(base64.b64decode(p.png)))
    im.load()
    return im


HISTORY = {
    "loss": [1.0, 0.6, 0.4, 0.35],
    "accuracy": [0.7, 0.8, 0.88, 0.9],
    "val_loss": [0.9, 0.5, 0.45, 0.52],
    "val_accuracy": [0.72, 0.83, 0.86, 0.85],
}
CHECKPOINT = {"class": "ModelCheckpoint", "config": {"monitor": "val_loss", "save_best_only": True}}


def _fit(asked: int = 50, capped: int = 4, callbacks: list[Any] | None = None) -> dict[str, Any]:
    return {"event": "fit", "epochs_asked": asked, "epochs_capped_to": capped, "callbacks": callbacks or []}


# --- drawing -----------------------------------------------------------------------------


def test_a_grid_is_drawn_from_the_arrays_a_check_gave() -> None:
    rng = np.random.default_rng(0)
    sink: list[Any] = []
    book = Sketchbook(sink, "test_x")
    mine = rng.normal(size=(26, 26))
    book.grid(
        msg("Yours and the grader's", "학생과 채점기"), [("blur", [Panel("yours", mine), Panel("diff", mine, "diff")])]
    )
    mine[:] = 0  # recording copied the array: a check changing it later changes nothing
    assert np.abs(sink[0].rows[0][1][0].image).max() > 0
    pictures, events = gp.draw(sink, StandIn(), "full")
    assert events == []
    (p,) = pictures
    assert p.check == "test_x" and p.caption == "Yours and the grader's" and p.caption_ko == "학생과 채점기"
    assert p.ok
    im = _png(p)
    assert im.format == "PNG" and im.size == (p.width, p.height)
    assert len(np.unique(np.asarray(im.convert("L")))) > 20, "the picture shows the image, not a blank"


def test_pictures_are_downscaled_to_their_caps_or_refused() -> None:
    fig = gp.grid_figure([(f"row {i}", [Panel("x", np.random.default_rng(i).random((28, 28)))] * 8) for i in range(3)])
    full, w_full, _ = gp.encode(fig, max_chars=10**9, max_px=10**6)
    assert w_full == round(fig.get_size_inches()[0] * gp.DPIS[0])
    small, w_small, _ = gp.encode(fig, max_chars=len(full) - 1, max_px=10**6)
    assert len(small) < len(full) and w_small < w_full, "a smaller dpi was used"
    _, w, h = gp.encode(fig)  # the real caps: a 14-inch-wide grid comes down to the pixel cap
    assert max(w, h) <= MAX_PICTURE_PX
    with pytest.raises(ValueError, match="does not fit"):
        gp.encode(fig, max_chars=100)


def test_a_huge_array_is_subsampled_and_a_bad_one_becomes_a_note() -> None:
    sink: list[Any] = []
    Sketchbook(sink, "t").grid("big", [("", [Panel("big", np.ones((5000, 300))), Panel("3-D", np.ones((2, 2, 2)))])])
    big, bad = sink[0].rows[0][1]
    assert max(big.image.shape) <= gp.MAX_PANEL_SIDE
    assert bad.image is None and "shape (2, 2, 2)" in bad.title
    pictures, _ = gp.draw(sink, StandIn(), "full")
    assert pictures and pictures[0].ok


def test_curves_say_when_the_profile_capped_the_epochs() -> None:
    record = gp.run_record(HISTORY, _fit(50, 4), "fast")
    fig = gp.curves_figure("Run [1]", record)
    drawn = [t.get_text() for t in fig.texts]
    assert any("epochs capped 50 -> 4 by the fast profile" in t for t in drawn), drawn
    nb = StandIn(histories={("history", None): (HISTORY, _fit(50, 4))})
    sink: list[Any] = []
    Sketchbook(sink, "test_fit").curves("history", label=msg("Run [1]", "실행 [1]"))
    (p,), events = gp.draw(sink, nb, "fast")
    assert events == []
    assert "Epochs capped 50 -> 4 by the fast profile." in p.caption
    assert "from your run's record" in p.caption
    assert p.caption_ko.startswith("실행 [1]: ") and "fast 프로필이 에포크를 50에서 4(으)로 줄였습니다" in p.caption_ko
    assert p.ok and _png(p).size == (p.width, p.height)


def test_an_uncapped_run_carries_no_cap_mark() -> None:
    record = gp.run_record(HISTORY, _fit(4, 4), "full")
    assert gp.cap_note(record) is None
    assert not any("capped" in t.get_text() for t in gp.curves_figure("Run", record).texts)


def test_the_checkpoint_epoch_is_marked_where_the_checkpoint_exists() -> None:
    best = gp.run_record(HISTORY, _fit(callbacks=[CHECKPOINT]), "fast")
    assert (best.checkpoint_epoch, best.checkpoint_monitor) == (3, "val_loss")  # the lowest val_loss
    every = {"class": "ModelCheckpoint", "config": {"monitor": "val_accuracy", "save_best_only": False}}
    assert gp.run_record(HISTORY, _fit(callbacks=[every]), "fast").checkpoint_epoch == 4  # the last one saved
    acc = {"class": "ModelCheckpoint", "config": {"monitor": "val_accuracy", "save_best_only": True}}
    assert gp.run_record(HISTORY, _fit(callbacks=[acc]), "fast").checkpoint_epoch == 3  # highest accuracy
    assert gp.run_record(HISTORY, _fit(), "fast").checkpoint_epoch is None
    fig = gp.curves_figure("Run", best)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "checkpoint (epoch 3)" in labels


def test_a_history_the_notebook_lacks_draws_nothing_and_says_nothing() -> None:
    sink: list[Any] = []
    book = Sketchbook(sink, "t")
    book.curves("hist", label="CNN", or_names=("history",))
    book.curves("hist", label="CNN", or_names=("history",))  # asked twice: drawn once
    assert len(sink) == 1
    assert gp.draw(sink, StandIn(), "fast") == ([], [])
    nb = StandIn(histories={("history", None): (HISTORY, None)})  # the second name, no traced fit
    (p,), _ = gp.draw(sink, nb, "fast")
    assert p.ok and p.caption.startswith("CNN: loss and accuracy per epoch")


def test_a_drawing_bug_is_an_event_on_the_report_never_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gp.STRICT_ENV)
    sink: list[Any] = []
    Sketchbook(sink, "test_a").grid("fine", [("", [Panel("x", np.eye(3))])])
    Sketchbook(sink, "test_b").grid("broken", [("", [Panel("x", np.eye(3), "no such style")])])

    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(gp, "curves_figure", broken)
    Sketchbook(sink, "test_c").curves("history", label="Run")
    nb = StandIn(histories={("history", None): (HISTORY, None)})
    pictures, events = gp.draw(sink, nb, "fast")
    assert [p.check for p in pictures] == ["test_a"]
    assert len(events) == 2
    assert "a picture for test_b could not be drawn" in events[0] and "changes no score" in events[0]
    assert "test_c" in events[1] and "RuntimeError: a bug" in events[1]
    monkeypatch.setenv(gp.STRICT_ENV, "1")  # in the project's own tests the bug is raised
    with pytest.raises(RuntimeError, match="a bug"):
        gp.draw(sink[2:], nb, "fast")


def test_a_slow_kernel_costs_its_curves_not_the_grade(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gp, "ASK_BUDGET_S", 0.0)  # the budget for asking the kernel is spent at once
    sink: list[Any] = []
    Sketchbook(sink, "test_a").curves("history", label="Run")
    Sketchbook(sink, "test_b").grid("grid", [("", [Panel("x", np.eye(3))])])  # needs no kernel: still drawn
    nb = StandIn(histories={("history", None): (HISTORY, None)})
    pictures, events = gp.draw(sink, nb, "fast")
    assert [p.check for p in pictures] == ["test_b"]
    assert len(events) == 1 and "1 training-curve picture(s) were left out" in events[0]


def test_a_very_long_history_is_cut_and_says_so() -> None:
    long = {"loss": [1.0 / (i + 1) for i in range(5000)], "val_loss": [1.2 / (i + 1) for i in range(5000)]}
    sink: list[Any] = []
    Sketchbook(sink, "t").curves("history", label="Run")
    (p,), _ = gp.draw(sink, StandIn(histories={("history", None): (long, None)}), "full")
    assert f"The first {gp.MAX_EPOCHS_DRAWN} of its 5000 epochs are shown." in p.caption and p.ok


def test_draw_stops_at_the_reports_cap_and_says_how_many_were_left_out() -> None:
    sink: list[Any] = []
    for i in range(MAX_PICTURES + 3):
        Sketchbook(sink, f"test_{i}").grid("p", [("", [Panel("x", np.eye(4) * i)])])
    pictures, events = gp.draw(sink, StandIn(), "full")
    assert len(pictures) == MAX_PICTURES
    assert any("3 picture(s) were left out" in e for e in events)


# --- the result row ------------------------------------------------------------------------


def _result(**kw: Any) -> SubmissionResult:
    base = dict(
        student="s",
        assignment="a",
        assignment_version="1",
        spec_digest="d",
        submission_digest="d",
        profile="fast",
        sandboxed=True,
        score=1.0,
        max_score=2.0,
    )
    return SubmissionResult(**{**base, **kw})


def _picture(chars: int = 1000, check: str = "t") -> Picture:
    png = "iVBORw0KGgo" + "A" * (chars - 11)
    return Picture(check=check, caption="c", png=png, width=100, height=80, caption_ko="캡션")


def test_the_result_row_keeps_pictures_within_their_caps() -> None:
    big = MAX_PICTURE_CHARS - 10
    many = tuple(_picture(big, f"t{i}") for i in range(MAX_PICTURES + 5))
    r = _result(pictures=many)
    assert sum(len(p.png) for p in r.pictures) <= MAX_PICTURES_CHARS
    assert 0 < len(r.pictures) <= MAX_PICTURES
    assert any("picture(s) were not stored" in e for e in r.events)
    row = json.dumps(r.to_dict(), ensure_ascii=False)
    assert len(row) < 1_000_000
    back = SubmissionResult.from_dict(json.loads(row))
    assert back.pictures == r.pictures and back.score == r.score


def test_pictures_give_way_when_the_rest_of_the_row_is_already_large() -> None:
    from grader.results import MAX_ANSWER_CHARS, MAX_ANSWERS, Answer

    answers = tuple(Answer(f"a{i}", "x" * MAX_ANSWER_CHARS) for i in range(MAX_ANSWERS))  # ~512,000 characters
    many = tuple(_picture(MAX_PICTURE_CHARS - 10, f"t{i}") for i in range(MAX_PICTURES))
    r = _result(answers=answers, pictures=many)
    assert 0 < len(r.pictures) < 4, "only what fits beside the answers is kept"
    assert len(json.dumps(r.to_dict(), ensure_ascii=False)) < 1_000_000
    assert any("picture(s) were not stored" in e for e in r.events)


def test_a_picture_that_is_not_a_small_png_in_base64_is_not_stored() -> None:
    good = _picture()
    bad = [
        replace(good, png="iVBORw0KGgo" + '"><script>x</script>'),  # not base64: never reaches a src attribute
        replace(good, png="R0lGODlh" + "A" * 100),  # a GIF
        replace(good, png="iVBORw0KGgo" + "A" * MAX_PICTURE_CHARS),  # too long
        replace(good, width=MAX_PICTURE_PX + 1),
        replace(good, height=0),
    ]
    r = _result(pictures=(good, *bad))
    assert r.pictures == (good,)
    assert any("5 picture(s) were not stored" in e for e in r.events)


def test_pictures_never_change_the_score_of_a_result() -> None:
    plain = _result()
    with_pictures = _result(pictures=(_picture(),))
    assert with_pictures.score == plain.score and with_pictures.max_score == plain.max_score


# --- the report ----------------------------------------------------------------------------


def _drawn_picture() -> Picture:
    sink: list[Any] = []
    Sketchbook(sink, "test_filtered_images_match_x_train_2").grid(
        msg("Your images <b>and</b> ours", "학생 이미지와 채점기 이미지"), [("", [Panel("x", np.eye(5))])]
    )
    (p,), _ = gp.draw(sink, StandIn(), "full")
    return p


def test_the_pictures_partial_embeds_data_uris_with_captions_in_either_language() -> None:
    from grader.report import _env

    p = _drawn_picture()
    r = _result(pictures=(p,))
    page = _env().get_template("_pictures.html").render(r=r)
    assert f'src="data:image/png;base64,{p.png}"' in page
    assert f'width="{p.width}" height="{p.height}"' in page
    assert "Your images &lt;b&gt;and&lt;/b&gt; ours" in page and "<b>and" not in page  # captions are escaped
    assert "test_filtered_images_match_x_train_2" in page and "Pictures" in page
    korean = _env().get_template("_pictures.html").render(r=r, lang="ko")
    assert "학생 이미지와 채점기 이미지" in korean and ">그림<" in korean
    assert _env().get_template("_pictures.html").render(r=_result()).strip() == ""


def test_a_student_page_shows_its_pictures_inline() -> None:
    from grader.report import ReportContext, render_student

    p = _drawn_picture()
    ctx = ReportContext("a", "A", "1", "fast", ("test_filtered_images_match_x_train_2",))
    page = render_student(_result(pictures=(p,)), ctx)
    assert page.count("data:image/png;base64,") == 1
    assert "<img" in page and 'src="http' not in page and "<script" not in page.lower()


# --- the assignments' checks ------------------------------------------------------------------


def _run_checks(tmp_path: Path, test_file: Path, nb: StandIn, data: Any = None) -> CheckContext:
    ctx = CheckContext(notebook=nb, profile="full", seed=1, data=data)
    run_pytest([test_file], tmp_path, ctx)
    return ctx


def test_cnn_filters_shows_the_best_filters_feature_maps_and_scores_as_without_pictures(tmp_path: Path) -> None:
    good = np.array([[0, 1, 1], [0, 0, 1], [0, 1, 1]], dtype=float) - 0.3
    values = {
        "filters_3": [good, -good, np.eye(3), np.ones((3, 3)), np.zeros((3, 3))],
        "filters_1": [np.ones((3, 3)), -good, np.eye(3), good.T, np.zeros((3, 3))],
        "best_filter_3": 0,
        "best_filter_1": 4,  # an all-zero filter: no positive score, the check fails
    }
    test_file = REPO / "assignments" / "cnn_filters" / "tests" / "hidden" / "test_cnn_filters_hidden.py"
    ctx = _run_checks(tmp_path, test_file, StandIn(values))
    outcome = ctx.outcomes["test_best_filter_score_positive"]
    assert outcome.status == "failed" and "best_filter_1" in outcome.message
    grids = [s for s in ctx.sketches if s.check == "test_best_filter_score_positive"]
    assert len(grids) == 1 and len(grids[0].rows) == 2  # both digits, also the one that fails
    (p,), events = gp.draw(grids, ctx.notebook, "full")
    assert events == [] and p.ok and "가장 좋은 필터" in p.caption_ko


def test_conv2d_simple_shows_yours_the_expected_and_the_difference(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x_train = rng.integers(0, 256, size=(4, 28, 28)).astype(np.uint8)

    class Data:
        def load(self, name: str) -> Any:
            return (x_train, np.zeros(4)), (x_train[:1], np.zeros(1))

    img = x_train[2].astype(float)

    def corr(f: np.ndarray) -> np.ndarray:
        return np.array([[np.sum(img[i : i + 3, j : j + 3] * f) for j in range(26)] for i in range(26)])

    values = {
        "horizontal_filtered_image": corr(np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=float)),
        "vertical_filtered_image": corr(np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float))[::-1],
        "blur_filtered_image": np.zeros((28, 28)),
    }  # sharpen is missing
    test_file = REPO / "assignments" / "conv2d_simple" / "tests" / "hidden" / "test_conv2d_simple_hidden.py"
    ctx = _run_checks(tmp_path, test_file, StandIn(values), Data())
    outcome = ctx.outcomes["test_filtered_images_match_x_train_2"]
    assert outcome.status == "partial" and abs(outcome.fraction - 0.25) < 1e-9
    (grid,) = [s for s in ctx.sketches if s.check == "test_filtered_images_match_x_train_2"]
    titles = {label: [p.title for p in panels] for label, panels in grid.rows}
    assert titles["horizontal"] == ["yours", "expected", "✓ matches"]
    assert titles["vertical"][2].startswith("difference (max ")
    assert titles["blur"][2] == "shape (28, 28), expected (26, 26)"
    assert titles["sharpen"] == ["not defined", "expected"]
    (p,), events = gp.draw([grid], ctx.notebook, "full")
    assert events == [] and p.ok
