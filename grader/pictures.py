"""Pictures on the student's report, drawn on the trusted side.

A check records what it wants shown (`Sketchbook`, the `pictures` fixture): arrays it
already holds (the student's values the witness handed over, the grader's reference,
the trusted evaluator's predictions, the grader's own copy of the data), or the name of
a training history to plot. Nothing is drawn while a check runs: drawing after all the
checks (`draw`, called by grader.grade in the worker process) keeps it out of every
check's time limit, so a picture can never change a score. Nothing the student's code
drew is ever shown: every pixel is made here, with matplotlib's Agg canvas (no pyplot,
no global state), from numbers.

Pictures are PNG, stored base64 in the result row and embedded in the page as data URIs,
so one HTML file is the whole report. Each is downscaled (a lower dpi) until it fits
`results.MAX_PICTURE_CHARS` and `results.MAX_PICTURE_PX`; a report holds at most
`results.MAX_PICTURES` of them, `results.MAX_PICTURES_CHARS` in all.

Failures: a picture whose data the notebook does not have (no such history) is simply
not drawn; the checks already say what is missing. A failure to draw is the grader's
bug: it never costs a point, it is logged with its traceback, and the report lists it
under "What happened while grading". With GRADER_STRICT_PICTURES=1 (the project's own
tests) it raises instead.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from textwrap import fill
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .i18n import Msg, msg, pick
from .results import MAX_PICTURE_CHARS, MAX_PICTURE_PX, MAX_PICTURES, MAX_PICTURES_CHARS, Picture

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

STRICT_ENV = "GRADER_STRICT_PICTURES"
MAX_PANEL_SIDE = 512  # an array side a panel accepts (MNIST is 28); larger ones are subsampled
MAX_PANELS = 48  # per grid
MAX_SKETCHES = 40  # recorded per submission; drawing stops at results.MAX_PICTURES anyway
DPIS = (100, 90, 80, 64, 50)  # tried in turn until a picture fits its caps
# What the kernel is asked for pictures (histories) comes after the checks, inside the
# worker's own time limit: each request gets REQUEST_TIMEOUT_S, all together ASK_BUDGET_S,
# so a slow or hostile kernel costs pictures, never the submission's grade.
REQUEST_TIMEOUT_S = 5.0
ASK_BUDGET_S = 20.0
MAX_EPOCHS_DRAWN = 1_000
STYLES = ("gray", "ink", "signed", "diff", "note")

# colours: the report's own (grader/templates/base.html)
_INK, _MUTED, _LINE = "#1f2328", "#59636e", "#d1d9e0"
_TRAIN, _VAL, _MARK, _WARN = "#0550ae", "#cf222e", "#1a7f37", "#8a5a00"


# --- what checks record -------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """One small image of a grid. `style`: "gray" (an image, its own range, white high),
    "ink" (the same, black high: binary drawings on paper), "signed" (a
    filter or map whose sign matters: blue below 0, red above, values written when it is
    small), "diff" (a difference, centred on 0), "note" (no image: `title` says why)."""

    title: str
    image: np.ndarray | None = None
    style: str = "gray"


@dataclass(frozen=True)
class Grid:
    """Rows of panels, each row with a label on its left."""

    check: str
    caption: str
    rows: tuple[tuple[str, tuple[Panel, ...]], ...]


@dataclass(frozen=True)
class Curves:
    """A training run to plot: the History the notebook holds at the first of `names` it
    has (or `name[key]`), read after the checks with the fit that made it (epoch cap,
    checkpoint)."""

    check: str
    names: tuple[str, ...]
    key: Any
    label: str


Sketch = Grid | Curves


def _panel(p: Panel) -> Panel:
    """A copy the check can no longer change, small enough to draw: a float array of at
    most two dimensions and MAX_PANEL_SIDE a side."""
    if p.style not in STYLES:
        raise ValueError(f"unknown panel style {p.style!r}")
    if p.image is None or p.style == "note":
        return Panel(str(p.title)[:120], None, "note")
    arr = np.array(p.image, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or 0 in arr.shape:
        return Panel(f"{str(p.title)[:80]}: shape {arr.shape}", None, "note")
    step = max(1, math.ceil(max(arr.shape) / MAX_PANEL_SIDE))
    return Panel(str(p.title)[:120], arr[::step, ::step], p.style)


@dataclass
class Sketchbook:
    """The `pictures` fixture: what one check asks to show. `sink` is the run's list
    (grader.pytest_plugin.CheckContext.sketches); None outside the grader, where nothing
    is kept. Recording copies the arrays and never raises into the check."""

    sink: list[Any] | None
    check: str
    problems: list[str] = field(default_factory=list)

    def grid(self, caption: str, rows: Sequence[tuple[str, Sequence[Panel]]]) -> None:
        """Show rows of images (see Panel), captioned with `caption` (a grader.i18n.msg)."""
        if self.sink is None or len(self.sink) >= MAX_SKETCHES:
            return
        try:
            kept = tuple((str(label)[:60], tuple(_panel(p) for p in panels)) for label, panels in rows)
            if sum(len(panels) for _, panels in kept) > MAX_PANELS:
                raise ValueError(f"more than {MAX_PANELS} panels in one picture")
            self.sink.append(Grid(self.check, caption, kept))
        except Exception as exc:  # a grader bug: reported by draw(), never the check's failure
            if os.environ.get(STRICT_ENV) == "1":
                raise
            log.exception("picture for %s not recorded", self.check)
            self.sink.append(_Broken(self.check, caption, f"{type(exc).__name__}: {exc}"[:300]))

    def curves(self, name: str, key: Any = None, *, label: str, or_names: Sequence[str] = ()) -> None:
        """Plot the training history held at `name` (or `name[key]`; where the notebook
        has no `name`, the first of `or_names` it has) once the checks are done: loss and
        accuracy per epoch, training and validation, the profile's epoch cap and the
        checkpoint's epoch marked. A run asked for twice is drawn once."""
        if self.sink is None or len(self.sink) >= MAX_SKETCHES:
            return
        names = (str(name), *(str(n) for n in or_names))
        if any(isinstance(s, Curves) and (s.names, s.key) == (names, key) for s in self.sink):
            return
        self.sink.append(Curves(self.check, names, key, label))


class _OutOfTime(Exception):
    """The kernel used up ASK_BUDGET_S: the remaining curves are left out."""


@dataclass(frozen=True)
class _Broken:
    """A sketch that could not even be recorded (a grader bug), reported by draw()."""

    check: str
    caption: str
    error: str


# --- drawing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What a training-curves picture shows, read from the run's record."""

    history: dict[str, list[float]]
    epochs_asked: int | None = None
    epochs_capped_to: int | None = None
    profile: str = ""
    checkpoint_epoch: int | None = None  # 1-based
    checkpoint_monitor: str = ""
    stopped_early: bool = False


def run_record(history: dict[str, list[float]], fit: dict[str, Any] | None, profile: str) -> RunRecord:
    """The curves' marks from the fit event behind the history (grader.kernel: "fit"):
    the epoch cap, and the epoch a ModelCheckpoint's file holds (the best epoch of its
    monitor with save_best_only, else the last), as the history records them."""
    fit = fit or {}
    asked, capped = fit.get("epochs_asked"), fit.get("epochs_capped_to")
    ints = isinstance(asked, int) and isinstance(capped, int) and not isinstance(asked, bool)
    epoch, monitor = None, ""
    for cb in fit.get("callbacks") or []:
        if not isinstance(cb, dict) or cb.get("class") != "ModelCheckpoint":
            continue
        config: dict[str, Any] = cb["config"] if isinstance(cb.get("config"), dict) else {}
        monitor = str(config.get("monitor") or "val_loss")
        series = history.get(monitor)
        if not series:
            monitor = ""
            continue
        if config.get("save_best_only"):
            mode = str(config.get("mode") or "auto")
            maximise = mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure")))
            epoch = int(np.argmax(series) if maximise else np.argmin(series)) + 1
        else:
            epoch = len(series)
    return RunRecord(
        history=history,
        epochs_asked=asked if ints else None,
        epochs_capped_to=capped if ints else None,
        profile=profile,
        checkpoint_epoch=epoch,
        checkpoint_monitor=monitor,
        stopped_early=bool(fit.get("stopped_early")),
    )


def cap_note(record: RunRecord) -> Msg | None:
    """ "epochs capped 50 -> 2 by the fast profile", when the profile capped this run."""
    asked, capped = record.epochs_asked, record.epochs_capped_to
    if asked is None or capped is None or asked == capped:
        return None
    return msg(
        f"epochs capped {asked} -> {capped} by the {record.profile} profile",
        f"{record.profile} 프로필이 에포크를 {asked}에서 {capped}(으)로 줄였습니다",
    )


def _figure(width_in: float, height_in: float, layout: Literal["constrained"] | None = None) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), facecolor="white", layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _metric_pairs(history: dict[str, list[float]]) -> list[tuple[str, list[str]]]:
    """Panels of a curves picture: loss first, then each metric, each with its val_."""
    bases = [k for k in history if not k.startswith("val_")]
    bases += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    bases = sorted(dict.fromkeys(bases), key=lambda k: (k != "loss", k))[:3]
    return [(b, [k for k in (b, f"val_{b}") if k in history]) for b in bases]


def curves_figure(title: str, record: RunRecord) -> Figure:
    """Loss and accuracy per epoch of one run, training and validation, with the
    profile's epoch cap written on it and the checkpoint's epoch marked."""
    from matplotlib.ticker import MaxNLocator

    pairs = _metric_pairs(record.history)
    fig = _figure(3.3 * max(len(pairs), 1) + 0.4, 3.0)
    n = max((len(v) for v in record.history.values()), default=0)
    epochs = np.arange(1, n + 1)
    note = cap_note(record)
    fig.suptitle(title, fontsize=10.5, color=_INK, x=0.01, ha="left", y=0.98)
    if note is not None:
        fig.text(0.01, 0.90, f"⚠ {note}", fontsize=9.5, color=_WARN, ha="left", va="top")
    axes: list[Axes] = [fig.add_subplot(1, max(len(pairs), 1), i + 1) for i in range(max(len(pairs), 1))]
    for ax, (base, keys) in zip(axes, pairs, strict=False):
        for key in keys:
            val = key.startswith("val_")
            ax.plot(
                epochs,
                record.history[key],
                color=_VAL if val else _TRAIN,
                lw=1.6,
                ls="--" if val else "-",
                marker="o" if n <= 20 else None,
                ms=3.5,
                label="validation" if val else "training",
            )
        if record.checkpoint_epoch is not None and record.checkpoint_monitor in keys:
            e = record.checkpoint_epoch
            y = record.history[record.checkpoint_monitor][e - 1]
            ax.axvline(e, color=_MARK, lw=1, ls=":")
            ax.plot([e], [y], marker="*", ms=13, color=_MARK, ls="none", label=f"checkpoint (epoch {e})", zorder=5)
        ax.set_title(base, fontsize=10, color=_INK)
        ax.set_xlabel("epoch", fontsize=9, color=_MUTED)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
        if n == 1:
            ax.set_xlim(0.5, 1.5)
        ax.tick_params(labelsize=8, colors=_MUTED)
        ax.grid(True, color=_LINE, lw=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(fontsize=8, frameon=False, loc="best")
    if not pairs:
        axes[0].text(0.5, 0.5, "the history records no metric", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
    fig.tight_layout(rect=(0, 0, 1, 0.88 if note is not None else 0.93))
    return fig


def _show(ax: Axes, p: Panel) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(_LINE)
    if p.image is None:
        ax.set_facecolor("#f6f8fa")
        ax.set_box_aspect(1)
        ax.text(
            0.5, 0.5, fill(p.title, 16), ha="center", va="center", fontsize=8.5, color=_MUTED, transform=ax.transAxes
        )
        return
    ax.set_title(fill(p.title, 26), fontsize=8.5, color=_INK, pad=3)
    arr = p.image
    finite = arr[np.isfinite(arr)]
    if p.style in ("gray", "ink"):
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        cmap = "gray" if p.style == "gray" else "gray_r"
        ax.imshow(arr, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        return
    top = float(np.abs(finite).max()) if finite.size else 1.0
    top = top if top > 0 else 1.0
    ax.imshow(arr, cmap="RdBu_r", vmin=-top, vmax=top, interpolation="nearest")
    if p.style == "signed" and max(arr.shape) <= 6:
        for (i, j), v in np.ndenumerate(arr):
            text = f"{v:.2g}" if np.isfinite(v) else "?"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if abs(v) > 0.6 * top else _INK)


def grid_figure(rows: Sequence[tuple[str, Sequence[Panel]]]) -> Figure:
    """Rows of panels, the row's label on its left; "note" panels say why there is no image.
    Laid out by hand on a fixed grid: every cell is the same square with room for a
    two-line title above it, so matplotlib's constrained layout, which measured every
    text first, is not needed (it was half the drawing time of a six-panel row)."""
    ncols = max((len(panels) for _, panels in rows), default=1) or 1
    nrows = max(len(rows), 1)
    labelled = any(label for label, _ in rows)
    side, title, gap, margin = 1.55, 0.3, 0.1, 0.05
    left = 1.0 if labelled else 0.1
    width, height = left + ncols * side + margin, nrows * (side + title) + 2 * margin
    fig = _figure(width, height)
    box = side - gap
    for r, (label, panels) in enumerate(rows):
        bottom = height - margin - (r + 1) * (side + title) + gap / 2
        for c in range(ncols):
            ax = fig.add_axes(((left + c * side + gap / 2) / width, bottom / height, box / width, box / height))
            if c >= len(panels):
                ax.set_axis_off()
                continue
            _show(ax, panels[c])
            if c == 0 and label:
                ax.set_ylabel(label, fontsize=9, color=_INK, rotation=0, ha="right", va="center", labelpad=8)
    return fig


def encode(fig: Figure, max_chars: int = MAX_PICTURE_CHARS, max_px: int = MAX_PICTURE_PX) -> tuple[str, int, int]:
    """(base64 PNG, width, height) of `fig` at the highest dpi of DPIS that fits both
    caps, as a palette PNG (a tenth of the size of matplotlib's RGBA for these plots).
    The canvas's pixels go straight to Pillow (no PNG written and read back) and are
    reduced to 256 colours by octree: a third of the time of savefig and median cut,
    and smaller files. ValueError when even the smallest does not fit."""
    from PIL import Image

    for dpi in DPIS:
        w, h = (round(v * dpi) for v in fig.get_size_inches())
        if max(w, h) > max_px:
            continue
        fig.set_dpi(dpi)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
        pal = Image.fromarray(np.ascontiguousarray(rgba[..., :3])).quantize(
            colors=256, method=Image.Quantize.FASTOCTREE
        )
        out = io.BytesIO()
        pal.save(out, format="PNG")
        width, height = pal.size
        data = base64.b64encode(out.getvalue()).decode("ascii")
        if len(data) <= max_chars:
            return data, width, height
    raise ValueError(f"the picture does not fit in {max_chars:,} characters at {DPIS[-1]} dpi")


def warm_up() -> None:
    """Import matplotlib and Pillow and draw one small picture with text, so that a warm
    worker (grader.pool) has paid for the imports and the font cache before its job:
    half a second of every submission's pictures otherwise."""
    fig = grid_figure([("warm", [Panel("warm", np.eye(3), "gray"), Panel("up", None, "note")])])
    encode(fig)


def picture(fig: Figure, check: str, caption: str) -> Picture:
    from .i18n import korean

    data, width, height = encode(fig)
    return Picture(check=check, caption=str(caption), caption_ko=korean(caption), png=data, width=width, height=height)


def _curves_picture(sketch: Curves, notebook: Any, profile: str, until: float) -> Picture | None:
    from .errors import CheckFailure
    from .witness import NO_KEY

    key = NO_KEY if sketch.key is None else sketch.key
    for name in sketch.names:
        if time.monotonic() >= until:
            raise _OutOfTime
        try:
            history = notebook.history(name, key, timeout=min(REQUEST_TIMEOUT_S, until - time.monotonic()))
            fit = notebook.fit_for(name, key, timeout=min(REQUEST_TIMEOUT_S, until - time.monotonic()))
            break
        except CheckFailure:
            continue  # no such history in the notebook (or it would not say): the checks report it
    else:
        return None
    shown = {k: v[:MAX_EPOCHS_DRAWN] for k, v in history.items()}
    record = run_record(shown, fit, profile)
    where = name if sketch.key is None else f"{name}[{sketch.key!r}]"
    fig = curves_figure(f"{sketch.label}  ({where})", record)
    en = [f"{sketch.label}: loss and accuracy per epoch, training and validation, from your run's record."]
    ko = [f"{pick(sketch.label, 'ko')}: 에포크별 손실과 정확도(훈련, 검증), 실행 기록에서 가져옴."]
    note = cap_note(record)
    if note is not None:
        en.append(f"{note[:1].upper()}{note[1:]}.")
        ko.append(f"{note.ko}.")
    if record.checkpoint_epoch is not None:
        m, e = record.checkpoint_monitor, record.checkpoint_epoch
        en.append(f"The star marks the epoch the checkpoint holds: {e} (by {m}).")
        ko.append(f"별표는 체크포인트에 저장된 에포크입니다: {e} ({m} 기준).")
    n = len(next(iter(history.values())))
    if n > MAX_EPOCHS_DRAWN:
        en.append(f"The first {MAX_EPOCHS_DRAWN} of its {n} epochs are shown.")
        ko.append(f"전체 {n} 에포크 중 처음 {MAX_EPOCHS_DRAWN} 에포크만 보입니다.")
    if record.stopped_early:
        en.append(f"Training stopped early, after {n} epochs.")
        ko.append(f"훈련이 {n} 에포크 후 조기 종료되었습니다.")
    return picture(fig, sketch.check, msg(" ".join(en), " ".join(ko)))


def draw(sketches: Sequence[Any], notebook: Any, profile: str) -> tuple[list[Picture], list[str]]:
    """The pictures the checks asked for, in order, within the report's caps, and the
    events to report (pictures left out, pictures the grader failed to draw). Runs
    after the checks: nothing here can change a score."""
    pictures: list[Picture] = []
    events: list[str] = []
    total = 0
    left_out = 0
    slow = 0
    until = time.monotonic() + ASK_BUDGET_S
    for sketch in sketches:
        if len(pictures) >= MAX_PICTURES:
            left_out += 1
            continue
        try:
            if isinstance(sketch, _Broken):
                raise RuntimeError(sketch.error)
            if isinstance(sketch, Curves):
                pic = _curves_picture(sketch, notebook, profile, until)
            else:
                pic = picture(grid_figure(sketch.rows), sketch.check, sketch.caption)
        except _OutOfTime:
            slow += 1
            continue
        except Exception as exc:
            if os.environ.get(STRICT_ENV) == "1":
                raise
            log.exception("picture for %s not drawn", getattr(sketch, "check", "?"))
            check = getattr(sketch, "check", "?")
            events.append(
                msg(
                    f"grader: a picture for {check} could not be drawn ({type(exc).__name__}: {str(exc)[:200]}); "
                    "a fault of the grader's, which changes no score",
                    f"grader: {check}의 그림을 그리지 못했습니다 ({type(exc).__name__}: {str(exc)[:200]}); "
                    "채점기의 문제이며 점수에는 영향이 없습니다",
                )
            )
            continue
        if pic is None:
            continue
        if total + len(pic.png) > MAX_PICTURES_CHARS:
            left_out += 1
            continue
        total += len(pic.png)
        pictures.append(pic)
    if slow:
        events.append(
            msg(
                f"{slow} training-curve picture(s) were left out: the notebook's kernel took more than "
                f"{ASK_BUDGET_S:g} s to hand over its histories",
                f"학습 곡선 그림 {slow}개를 넣지 않았습니다: 노트북 커널이 기록(History)을 넘기는 데 "
                f"{ASK_BUDGET_S:g}초 넘게 걸렸습니다",
            )
        )
    if left_out:
        events.append(
            msg(
                f"{left_out} picture(s) were left out: a report holds at most {MAX_PICTURES} pictures, "
                f"{MAX_PICTURES_CHARS // 1000:,} KB in all",
                f"그림 {left_out}개를 넣지 않았습니다: 보고서에는 그림을 최대 {MAX_PICTURES}개, "
                f"모두 합쳐 {MAX_PICTURES_CHARS // 1000:,} KB까지 넣습니다",
            )
        )
    return pictures, events
