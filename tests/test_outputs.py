"""The output budget (grader.outputs): what a notebook's outputs keep of a flood.

Unit tests feed fake iopub messages through the grader's real nbclient subclass, no
kernel; one slow test runs a real notebook that floods progress bars and then draws.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.execute import _CappedClient, cell_label
from grader.outputs import OutputBudget, OutputLimits, collapse
from grader.results import cell_ref, first_line

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000).decode()


def _msg(kind: str, **content: Any) -> dict[str, Any]:
    return {"msg_type": kind, "parent_header": {"msg_id": "m1"}, "header": {"msg_type": kind}, "content": content}


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return _msg("stream", name=name, text=text)


def image() -> dict[str, Any]:
    return _msg("display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}, metadata={})


def html(size: int) -> dict[str, Any]:
    return _msg("display_data", data={"text/html": "<b>" + "x" * size + "</b>"}, metadata={})


def error(frames: int = 3, frame_size: int = 100) -> dict[str, Any]:
    frames_ = [f"frame {i} " + "y" * frame_size for i in range(frames)]
    return _msg("error", ename="ValueError", evalue="bad", traceback=frames_)


class Run:
    """One cell's outputs through the grader's client, as nbclient would feed them."""

    def __init__(self, max_output_kb: int = 64) -> None:
        self.client = _CappedClient(nbformat.v4.new_notebook())
        self.client.budget = OutputBudget(OutputLimits.from_kb(max_output_kb))
        self.client.clear_before_next_output = False  # what execute_cell sets before a cell runs
        self.cells: dict[int, list[Any]] = {}

    def feed(self, *msgs: dict[str, Any], cell: int = 0) -> list[Any]:
        outs = self.cells.setdefault(cell, [])
        for m in msgs:
            self.client.output(outs, m, None, cell)
        return outs

    def text(self, cell: int = 0, name: str = "stdout") -> str:
        return "".join(o["text"] for o in self.cells[cell] if o["output_type"] == "stream" and o["name"] == name)

    def notes(self) -> list[str]:
        assert self.client.budget is not None
        return self.client.budget.notes(lambda i: f"cell#{i}")


def size(outs: list[Any]) -> int:
    return len(json.dumps(outs))


# ------------------------------------------------------------------ collapsing


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain\ntext\n", "plain\ntext\n"),
        ("1/3\r2/3\r3/3\n", "3/3\n"),
        ("50%\r", "50%\r"),  # still being written: the next write replaces it
        ("a\r\nb\r\n", "a\nb\n"),  # Windows line ends
        ("abc\b\bX\n", "aX\n"),
        ("\b\bok\n", "ok\n"),
        ("old bar\b\b\b\b\b\b\b\r 2/9 [==>....]\n", " 2/9 [==>....]\n"),  # Keras' dynamic progress bar
        ("first\nx\ry\rz", "first\nz"),
    ],
)
def test_collapse_shows_what_a_notebook_shows(raw: str, shown: str) -> None:
    assert collapse(raw) == shown


def test_a_progress_bar_across_messages_collapses_to_its_last_state() -> None:
    run = Run()
    updates = (("\b" * 40) + f"\r{i:5d}/1500 [" + "=" * (i // 50) + "] - loss: 0.3" for i in range(1500))
    outs = run.feed(*(stream(u) for u in updates))
    outs = run.feed(stream("\n"))
    assert run.text() == " 1499/1500 [" + "=" * 29 + "] - loss: 0.3\n"
    assert len(outs) == 1 and run.notes() == []


# ------------------------------------------------------------------ streams: head and tail


def test_a_stream_flood_keeps_head_and_tail_and_says_how_much_was_dropped() -> None:
    run = Run(max_output_kb=64)  # 32 KB head, 32 KB tail
    lines = [f"line {i:06d} " + "." * 80 + "\n" for i in range(20000)]  # ~1.8 MB
    run.feed(*(stream(line) for line in lines))
    text = run.text()
    assert text.startswith(lines[0] + lines[1])
    assert text.endswith(lines[-2] + lines[-1])
    assert 60 * 1024 < len(text) < 66 * 1024
    head, sep, tail = text.partition("[grader: ")
    assert sep and tail.startswith("1.7 MB of output dropped here]\nline ")
    (note,) = run.notes()
    assert note.startswith("cell#0: 1.7 MB of printed output was dropped")
    assert "first 32 KB and last 32 KB were kept" in note


def test_stdout_and_stderr_each_coalesce_into_one_output() -> None:
    run = Run()
    outs = run.feed(stream("a\n"), stream("warn\n", "stderr"), stream("b\n"), stream("warn2\n", "stderr"))
    assert [(o["name"], o["text"]) for o in outs] == [("stdout", "a\nb\n"), ("stderr", "warn\nwarn2\n")]


def test_stream_text_after_a_figure_comes_after_it() -> None:
    run = Run()
    outs = run.feed(stream("before\n"), image(), stream("after\n"))
    assert [o["output_type"] for o in outs] == ["stream", "display_data", "stream"]
    assert outs[2]["text"] == "after\n"


def test_later_cells_share_a_notebook_cap_but_keep_a_little_each() -> None:
    run = Run(max_output_kb=16)  # 16 KB per cell, 128 KB for the notebook
    for cell in range(20):
        run.feed(*(stream(f"{cell} " + "z" * 1000 + "\n") for _ in range(40)), cell=cell)
    total = sum(size(run.cells[c]) for c in run.cells)
    assert total < 128 * 1024 + 12 * 9 * 1024
    assert all(run.text(c).startswith(f"{c} z") and run.text(c).endswith("z\n") for c in run.cells)
    assert len(run.notes()) == 20
    run.feed(*(stream("w" * 1000 + "\n") for _ in range(40)), cell=20)
    assert run.notes()[-1] == "1 more cells lost output the same way"


def test_clear_output_gives_the_cell_its_budget_back() -> None:
    run = Run(max_output_kb=16)
    outs = run.feed(*(stream("q" * 1000 + "\n") for _ in range(40)))
    assert "dropped here" in run.text()
    outs.clear()  # what nbclient does for clear_output()
    run.feed(stream("fresh\n"))
    assert run.text() == "fresh\n"
    run.feed(*(stream("q" * 1000 + "\n") for _ in range(40)), image())
    run.client.clear_before_next_output = True  # clear_output(wait=True): cleared at the next output
    run.feed(stream("again\n"), image())
    assert [o["output_type"] for o in outs] == ["stream", "display_data"] and run.text() == "again\n"
    assert "KB of printed output was dropped" in run.notes()[0]  # what was dropped before is still said


def test_a_single_huge_message_is_cut_to_head_and_tail() -> None:
    run = Run(max_output_kb=16)
    run.feed(stream("H" * 10 + "m" * 3_000_000 + "T" * 10))
    text = run.text()
    assert text.startswith("HHHHHHHHHH") and text.endswith("TTTTTTTTTT") and len(text) < 17 * 1024
    assert "MB of output dropped here" in text


# ------------------------------------------------------------------ figures and errors


def test_a_text_flood_never_drops_a_figure_or_an_error() -> None:
    run = Run(max_output_kb=16)
    outs = run.feed(*(stream("epoch " + "=" * 500 + "\n") for _ in range(5000)), image(), error())
    kinds = [o["output_type"] for o in outs]
    assert "display_data" in kinds and kinds[-1] == "error"
    fig = next(o for o in outs if o["output_type"] == "display_data")
    assert fig["data"]["image/png"] == PNG
    assert outs[-1]["ename"] == "ValueError" and len(outs[-1]["traceback"]) == 3


def test_html_floods_do_not_count_against_images() -> None:
    run = Run(max_output_kb=16)  # 64 KB of non-image displays
    outs = run.feed(*(html(2000) for _ in range(500)), image())
    assert outs[-1]["output_type"] == "display_data" and "image/png" in outs[-1]["data"]
    assert sum(1 for o in outs if "text/html" in o.get("data", {})) < 40
    (note,) = run.notes()
    assert "display(s) without an image were dropped" in note


def test_images_have_a_count_cap_of_their_own() -> None:
    run = Run()
    budget = run.client.budget
    assert budget is not None
    outs = run.feed(*(image() for _ in range(budget.limits.image_count + 5)))
    assert len(outs) == budget.limits.image_count
    (note,) = run.notes()
    assert "5 image(s) were dropped" in note


def test_a_huge_traceback_is_shortened_but_kept() -> None:
    run = Run(max_output_kb=16)
    outs = run.feed(error(frames=3000, frame_size=200))
    (err,) = outs
    assert err["output_type"] == "error" and err["ename"] == "ValueError"
    assert sum(len(f) for f in err["traceback"]) <= run.client.budget.limits.error_chars + 200  # type: ignore[union-attr]
    assert err["traceback"][0].startswith("frame 0 ") and err["traceback"][-1].startswith("frame 2999 ")
    assert any("frame(s) of the traceback dropped here" in f for f in err["traceback"])


def test_forged_error_outputs_are_capped_per_cell() -> None:
    run = Run()
    outs = run.feed(*(error() for _ in range(50)))
    assert len(outs) == 10
    assert "40 extra error output(s) were dropped" in run.notes()[0]


# ------------------------------------------------------------------ cells as people find them


def test_cells_are_named_by_execution_count_and_first_line() -> None:
    cell = nbformat.v4.new_code_cell("\n\n  model.fit(x_train, y_train, epochs=50, validation_split=0.2, verbose=1)\nx")
    cell.execution_count = 7
    assert cell_label(cell) == "In [7] `model.fit(x_train, y_train, epochs=50, validation_split=0.2…`"
    cell.execution_count = None
    assert cell_label(cell).startswith("In [ ] `model.fit(")
    assert first_line("\x1b[31mred\n") == "?[31mred"
    assert cell_ref(3, "") == "In [3]"


# ------------------------------------------------------------------ a real kernel


FLOOD_THEN_FIGURE = """\
import sys, time
for i in range(23000):
    sys.stdout.write("\\r" + f"{i:6d}/23000 [" + "=" * (i % 60) + ">" + "." * (59 - i % 60) + "] - loss: 0.1234")
    if i % 2000 == 1999:
        sys.stdout.write("\\n")
    sys.stdout.write(" " * 30 + "\\n" if i % 7 == 0 else "")
    sys.stdout.flush()
"""

FIGURE = """\
import matplotlib.pyplot as plt
plt.plot([0, 1], [1, 0])
plt.show()
"""


@pytest.mark.slow
def test_a_progress_bar_flood_then_a_figure_keeps_the_figure(tmp_path: Path) -> None:
    from grader.execute import KernelSession
    from grader.spec import DEFAULT_PROFILES, Limits

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# training"),
        nbformat.v4.new_code_cell(FLOOD_THEN_FIGURE + FIGURE),
    ]
    with KernelSession(
        limits=Limits(max_output_kb=256, cell_timeout_s=120),
        profile=DEFAULT_PROFILES["fast"],
        data_dir=None,
        sandboxed=False,
        cwd=tmp_path,
    ) as session:
        result = session.run_notebook(nb)
    outs = nb.cells[1].outputs
    printed = sum(len(o.get("text", "")) for o in outs if o["output_type"] == "stream")
    assert printed < 300 * 1024
    assert any("image/png" in o.get("data", {}) for o in outs if o["output_type"] == "display_data"), [
        o["output_type"] for o in outs
    ]
    assert [c.status for c in result.cells] == ["ok"]
    assert any("In [1] `import sys, time`" in e and "was dropped" in e for e in result.events), result.events
