"""Tests that look: real reports opened in headless Chromium, asserting on what a person
sees (the text the browser lays out, the pictures it decoded, the pixels it drew).

A small cnn_filters batch (no data set needed) is graded end to end once; its student
pages and class summary are opened in Debian's `chromium`. Each page is loaded from a
copy with a probe script appended (the reports themselves carry no script) that writes
what the browser shows into the DOM, read back with `--dump-dom`; screenshots are taken
from the page as written. Set GRADER_SCREENSHOTS=DIR to keep the screenshots.

Skipped when chromium is not installed, unless GRADER_BROWSER_TESTS=1 (CI sets it and
installs chromium and a Korean font): then a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.cli import main as grade_main
from grader.gradebook import Gradebook
from grader.results import SubmissionResult

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "submissions" / "cnn_filters"
REQUIRED = os.environ.get("GRADER_BROWSER_TESTS") == "1"
KOREAN_ID = "김민준"

pytestmark = pytest.mark.slow


def _browser() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    reason = "chromium is not installed (apt-get install chromium, or GRADER_BROWSER_TESTS=1 ./setup.sh)"
    if REQUIRED:
        pytest.fail(f"GRADER_BROWSER_TESTS=1 but {reason}")
    pytest.skip(reason)


def _chromium(browser: str, profile: Path, *args: str) -> str:
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's own sandbox refuses root
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const out = {
    text: document.body.innerText,
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 60)),
    not_inline: imgs.filter(i => !i.src.startsWith("data:")).map(i => i.src.slice(0, 100)),
    svgs: [...document.querySelectorAll("svg")].map(s => {
      const r = s.getBoundingClientRect();
      return [r.width, r.height, s.querySelectorAll("rect").length];
    }),
    scripts: document.scripts.length,
    title: document.title,
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


class Page:
    """One report as the browser shows it."""

    def __init__(self, browser: str, path: Path, work: Path) -> None:
        self.path = path
        probed = work / f"probe-{path.name}"
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page.lower(), f"{path.name}: a report must carry no script"
        probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        dom = _chromium(browser, work / "profile", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
        found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
        assert found, f"{path.name}: the page did not finish loading in chromium"
        self.seen: dict[str, Any] = json.loads(html.unescape(found.group(1)))
        self.text: str = self.seen["text"]
        self.shot = work / f"{path.stem}.png"
        _chromium(browser, work / "profile", "--window-size=1200,2400", f"--screenshot={self.shot}", path.as_uri())
        keep = os.environ.get("GRADER_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(self.shot, Path(keep) / self.shot.name)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, SubmissionResult]]]:
    """A cnn_filters batch graded in its default profile: the reference-like example, a
    student with a Korean id whose notebook is lee_jun's (a pair for the similarity
    section), a partial one, and a file that is not a notebook."""
    tmp = tmp_path_factory.mktemp("browser")
    subs = tmp / "subs"
    subs.mkdir()
    for student in ("lee_jun", "choi_yuna", "kim_minji"):
        shutil.copy(EXAMPLES / f"{student}.ipynb", subs / f"{student}.ipynb")
    shutil.copy(EXAMPLES / "lee_jun.ipynb", subs / f"{KOREAN_ID}.ipynb")
    (subs / "broken.ipynb").write_bytes(b'{"cells": [{"cell_type": "code", "sou')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_HOME", str(tmp / "home"))
        mp.setenv("GRADER_DATA", str(REPO / ".grader" / "data"))
        code = grade_main(
            # English pages: the assertions below read English text (test_i18n reads the Korean)
            [
                str(REPO / "assignments" / "cnn_filters"),
                str(subs),
                "--reports",
                str(tmp / "reports"),
                "--workers",
                "2",
                "--lang",
                "en",
            ]
        )
        assert code == 0
        with Gradebook(tmp / "home" / "gradebook.sqlite") as book:
            results = {r.student: r for r in book.latest("cnn_filters")}
    yield tmp / "reports" / "cnn_filters", results


@pytest.fixture(scope="module")
def browser() -> str:
    return _browser()


RESIDUE = re.compile(r"\{\{|\}\}|\{%|%\}|\bNone\b|\bnan\b|\bNaN\b|\bundefined\b|\bTraceback\b")


def _looks_clean(page: Page) -> None:
    assert not RESIDUE.findall(page.text), f"{page.path.name}: template residue {RESIDUE.findall(page.text)}"
    assert page.seen["broken"] == [], f"{page.path.name}: pictures that did not load: {page.seen['broken']}"
    assert page.seen["not_inline"] == [], f"{page.path.name}: pictures not inline: {page.seen['not_inline']}"
    for width, height, _ in page.seen["svgs"]:
        assert width > 0 and height > 0, f"{page.path.name}: an inline picture has no size"


def _ink(png: Path, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of the pixels (in `box`) that are not the page's white background."""
    from PIL import Image

    with Image.open(png) as im:
        gray = im.convert("L")
        if box:
            gray = gray.crop(box)
        hist = gray.histogram()
    return 1.0 - sum(hist[245:]) / max(sum(hist), 1)


def test_a_student_page_shows_the_score_and_every_picture(
    browser: str, reports: tuple[Path, dict[str, SubmissionResult]], tmp_path: Path
) -> None:
    folder, results = reports
    for student in ("lee_jun", "choi_yuna"):
        r = results[student]
        assert r.error is None, r.error
        page = Page(browser, folder / f"{student}.html", tmp_path)
        _looks_clean(page)
        score = f"{r.score:g}"
        assert re.search(rf"(?m)^{re.escape(score)}\s*\n?/ {r.max_score:g}$", page.text), page.text[:800]
        assert f"{round(100 * r.score / r.max_score)}% of the automatic points" in page.text
        for c in r.checks:
            assert c.name in page.text
        assert _ink(page.shot) > 0.01, "the screenshot is blank"
        assert _ink(page.shot, (0, 0, 1200, 400)) > 0.02, "nothing drawn where the score is"


def test_a_page_in_korean_renders_its_text(
    browser: str, reports: tuple[Path, dict[str, SubmissionResult]], tmp_path: Path
) -> None:
    fc_list = shutil.which("fc-list")
    fonts = subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True, text=True).stdout if fc_list else ""
    if not fonts.strip():
        reason = "no font with Korean glyphs: apt-get install fonts-noto-cjk (GRADER_BROWSER_TESTS=1 ./setup.sh)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    folder, results = reports
    page = Page(browser, folder / f"{KOREAN_ID}.html", tmp_path)
    _looks_clean(page)
    assert KOREAN_ID in page.text
    assert results[KOREAN_ID].score == results["lee_jun"].score
    # The same page with the Korean id blanked out: what differs is the Korean text drawn.
    blank = tmp_path / "blank.html"
    blank.write_text(
        (folder / f"{KOREAN_ID}.html").read_text(encoding="utf-8").replace(KOREAN_ID, "\u3000" * len(KOREAN_ID)),
        encoding="utf-8",
    )
    shot = tmp_path / "blank.png"
    _chromium(browser, tmp_path / "profile", "--window-size=1200,2400", f"--screenshot={shot}", blank.as_uri())
    assert _ink(page.shot, (0, 0, 1200, 400)) > _ink(shot, (0, 0, 1200, 400)), "the Korean id drew nothing"


def test_the_class_summary_shows_the_class(
    browser: str, reports: tuple[Path, dict[str, SubmissionResult]], tmp_path: Path
) -> None:
    folder, results = reports
    page = Page(browser, folder / "index.html", tmp_path)
    _looks_clean(page)
    text = page.text
    graded = [r for r in results.values() if r.error is None]
    assert "Class summary" in text and f"{len(results)}\nsubmissions" in text
    assert "Score distribution" in text
    bars = [svg for svg in page.seen["svgs"] if svg[2] > 0]
    assert bars and bars[0][0] > 300, "the score histogram is not drawn"
    assert "Could not be graded" in text and "broken" in text
    assert "Checks: where the class loses points" in text and "Pass rate" in text
    assert "Profile full: what this run used" in text
    assert "Similar submissions" in text and "for a person to judge; never a penalty" in text.lower()
    assert re.search(rf"{KOREAN_ID} ↔ lee_jun\s+100%|lee_jun ↔ {KOREAN_ID}\s+100%", text), text[-3000:]
    for r in graded:
        assert r.student in text
    assert _ink(page.shot) > 0.02, "the screenshot is blank"


def test_json_exports_of_real_results_follow_the_schema(
    reports: tuple[Path, dict[str, SubmissionResult]], tmp_path: Path
) -> None:
    import jsonschema

    from grader import exports
    from grader.report import ReportContext
    from grader.spec import load_assignment

    _, results = reports
    spec = load_assignment(REPO / "assignments" / "cnn_filters")
    ctx = ReportContext.from_assignment(spec, "full", sandboxed=True)
    schema = json.loads((REPO / "docs" / "result-schema.json").read_text(encoding="utf-8"))
    for path in exports.export_json(list(results.values()), tmp_path / "json", ctx):
        doc = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert len(list((tmp_path / "json").iterdir())) == len(results)


def test_the_probe_sees_a_picture_that_does_not_load(browser: str, tmp_path: Path) -> None:
    """The picture check is real: a broken inline image and a file reference are caught."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    good = base64.b64encode(buf.getvalue()).decode()
    page = tmp_path / "pictures.html"
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>'
        f'<img alt="good" src="data:image/png;base64,{good}">'
        '<img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAAN">'
        '<img alt="file" src="figure.png"></body></html>',
        encoding="utf-8",
    )
    seen = Page(browser, page, tmp_path).seen
    assert seen["images"] == 3
    assert sorted(seen["broken"]) == ["broken", "file"]
    assert seen["not_inline"] and seen["not_inline"][0].endswith("figure.png")


# --- pictures (grader.pictures) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def picture_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, SubmissionResult]]]:
    """Pages with pictures of every kind but cnn_filters' (graded above): conv2d_simple's
    images beside the expected ones (lee_jun flips the kernel, so the differences show) and
    callbacks' training curves (the solution, in smoke: epochs capped 50 -> 2, a checkpoint)."""
    tmp = tmp_path_factory.mktemp("pictures")
    pages: dict[str, tuple[Path, SubmissionResult]] = {}
    runs = {
        "conv2d_simple": REPO / "examples" / "submissions" / "conv2d_simple" / "lee_jun.ipynb",
        "callbacks": REPO / "solutions" / "callbacks" / "callbacks.ipynb",
    }
    for assignment, notebook in runs.items():
        subs = tmp / assignment
        subs.mkdir()
        shutil.copy(notebook, subs / "student.ipynb")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GRADER_HOME", str(tmp / "home"))
            mp.setenv("GRADER_DATA", str(REPO / ".grader" / "data"))
            mp.setenv("GRADER_STRICT_PICTURES", "1")  # a drawing bug fails the test, not just an event
            argv = [str(REPO / "assignments" / assignment), str(subs), "--reports", str(tmp / "reports")]
            code = grade_main([*argv, "--profile", "smoke", "--lang", "en", "--workers", "1"])
            assert code == 0
            with Gradebook(tmp / "home" / "gradebook.sqlite") as book:
                (result,) = book.latest(assignment)
        pages[assignment] = (tmp / "reports" / assignment / "student.html", result)
    yield pages


def _picture_shot(browser: str, page: Page, work: Path) -> Path:
    """The pictures section alone, from a copy of the page that keeps only it (for a
    person to look at: GRADER_SCREENSHOTS keeps it)."""
    text = page.path.read_text(encoding="utf-8")
    start = text.index('<section class="pictures"')
    end = text.index("</section>", start)
    head = text[: text.index("<main>") + len("<main>")]
    alone = work / f"pictures-{page.path.parent.name}.html"
    alone.write_text(head + text[start : end + len("</section>")] + "</main></body></html>", encoding="utf-8")
    shot = work / f"pictures-{page.path.parent.name}.png"
    _chromium(browser, work / "profile", "--window-size=1200,2000", f"--screenshot={shot}", alone.as_uri())
    keep = os.environ.get("GRADER_SCREENSHOTS")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)
    return shot


def test_every_picture_on_a_graded_report_loads(
    browser: str,
    reports: tuple[Path, dict[str, SubmissionResult]],
    picture_reports: dict[str, tuple[Path, SubmissionResult]],
    tmp_path: Path,
) -> None:
    folder, results = reports
    pages = {"cnn_filters": (folder / "lee_jun.html", results["lee_jun"]), **picture_reports}
    for assignment, (path, result) in pages.items():
        assert result.pictures, f"{assignment}: the graded result has no picture"
        page = Page(browser, path, tmp_path)
        _looks_clean(page)  # no picture failed to decode (naturalWidth > 0), none is a file
        assert page.seen["images"] == len(result.pictures), f"{assignment}: {page.seen['images']} pictures shown"
        assert path.stat().st_size < 1024 * 1024, f"{assignment}: the page is {path.stat().st_size:,} bytes"
        shown = html.unescape(path.read_text(encoding="utf-8"))
        for p in result.pictures:
            assert p.caption in shown or p.caption_ko in shown, f"{assignment}: no caption for {p.check}"
        shot = _picture_shot(browser, page, tmp_path)
        assert _ink(shot, (0, 0, 1200, 600)) > 0.05, f"{assignment}: the pictures drew nothing"


def test_the_pictures_say_what_they_show(picture_reports: dict[str, tuple[Path, SubmissionResult]]) -> None:
    _, conv = picture_reports["conv2d_simple"]
    (grid,) = [p for p in conv.pictures if p.check == "test_filtered_images_match_x_train_2"]
    assert "beside the grader's" in grid.caption
    _, cb = picture_reports["callbacks"]
    captions = [p.caption for p in cb.pictures]
    assert len(captions) == 2, captions  # one picture per run, drawn once each
    for caption in captions:
        assert "from your run's record" in caption
        assert "Epochs capped 50 -> 2 by the smoke profile." in caption
        assert "The star marks the epoch the checkpoint holds" in caption
