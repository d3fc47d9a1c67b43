"""Free-text answers (grader.answers): marked by a tag, a marker line or a visible label;
only declared ids recorded, clipped; unmarked answers shown to the person grading,
labelled as such. Fast: notebooks built by hand, no kernel."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from grader import answers
from grader.errors import SpecError
from grader.report import ReportContext, render_student
from grader.results import Answer, SubmissionResult
from grader.spec import load_assignment
from grader.witness import Notebook
from grader.witness import answers as witness_answers

REPO = Path(__file__).resolve().parent.parent
STARTER_ANSWER = "<!-- answer:why -->\n**답 / Answer (answer:why)**\n"


def nb(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    book = v4.new_notebook()
    book.cells = list(cells)
    return book


def mdc(text: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    return v4.new_markdown_cell(text, metadata={"tags": tags} if tags else {})


def starter() -> nbformat.NotebookNode:
    return nb(
        mdc("# Exercise"),
        v4.new_code_cell("x = 1"),
        mdc("## 4. Explain\n\nWhy does it work?"),
        mdc(STARTER_ANSWER, tags=["answer:why"]),
        mdc("## 5. Next part"),
        v4.new_code_cell("y = 2"),
    )


@pytest.mark.parametrize(
    "cell",
    [
        mdc("Because.", tags=["answer:why"]),
        mdc("<!-- answer:why -->\nBecause."),
        mdc("<!--answer: why-->\nBecause."),
        mdc("**답 / Answer (answer:why)**\n\nBecause."),
        mdc("### Answer (answer:why)\nBecause."),
        mdc("Answer (answer:why):\nBecause."),
        mdc(STARTER_ANSWER + "\nBecause.", tags=["answer:why"]),
    ],
    ids=["tag", "marker", "marker-spaces", "bold-label", "heading-label", "plain-label", "starter-cell"],
)
def test_a_tag_a_marker_line_or_a_label_each_identifies_an_answer(cell: nbformat.NotebookNode) -> None:
    assert answers.marked(nb(cell)) == {"why": "Because."}


def test_an_id_mentioned_in_running_text_is_not_a_marker() -> None:
    book = nb(
        mdc("Write in the cell marked `answer:why` below (answer:why) please, not here."),
        mdc("| answer | the cell tagged answer:why |"),
        mdc("```\n<!-- answer:why --> inside text\n```"),
    )
    assert answers.marked(book) == {}


def test_marked_cells_of_one_id_are_joined_and_empty_ones_read_as_empty() -> None:
    book = nb(mdc("<!-- answer:why -->\nFirst."), mdc("Second.", tags=["answer:why"]), mdc(STARTER_ANSWER))
    assert answers.marked(book) == {"why": "First.\n\nSecond."}
    assert answers.marked(nb(mdc(STARTER_ANSWER, tags=["answer:why"]))) == {"why": ""}


def test_witness_keeps_its_answers_and_notebook_answer() -> None:
    book = nb(mdc("<!-- answer:why -->\n**Answer (answer:why)**\nBecause."))
    assert witness_answers(book) == {"why": "Because."}
    assert Notebook(None, book).answer("why") == "Because."  # type: ignore[arg-type]
    assert Notebook(None, book).answer("other") is None  # type: ignore[arg-type]


def test_only_declared_answers_are_recorded_and_clipped() -> None:
    long = "x" * (answers.MAX_ANSWER_CHARS + 500)
    book = nb(mdc("<!-- answer:why -->\n" + long), mdc("<!-- answer:extra -->\nsneaked in"))
    got = answers.collect(book, ["why"])
    assert list(got) == ["why"]
    assert got["why"].startswith("x" * answers.MAX_ANSWER_CHARS)
    assert "500 more characters not shown" in got["why"]
    assert len(got["why"]) < answers.MAX_ANSWER_CHARS + 100


def test_unmarked_answer_after_the_question_is_shown_labelled() -> None:
    # Colab: the student added a new cell under the question instead of typing in the marked one
    sub = starter()
    sub.cells.insert(3, mdc("Because the filter is vertical."))
    sub.cells.insert(6, mdc("A note to myself in the next part."))
    got = answers.collect(sub, ["why"], starter())["why"]
    assert answers.is_fallback(got)
    assert got.split("\n\n", 1)[0] == f"{answers.FALLBACK_HEAD} the student's own markdown cells after the question"
    assert "Because the filter is vertical." in got
    assert "A note to myself" not in got  # past the starter's next section


def test_marker_removed_answer_left_in_place_is_found_near_the_question() -> None:
    sub = starter()
    sub.cells[3] = mdc("My answer, with the marker lines deleted.")  # and the tag lost (Colab)
    got = answers.collect(sub, ["why"], starter())["why"]
    assert answers.is_fallback(got) and "My answer, with the marker lines deleted." in got


def test_without_the_question_all_own_markdown_is_shown() -> None:
    sub = nb(mdc("# My notebook"), v4.new_code_cell("x = 1"), mdc("I think it is because of ReLU."))
    got = answers.collect(sub, ["why"], starter())["why"]
    assert got.startswith(f"{answers.FALLBACK_HEAD} all the markdown cells the student wrote")
    assert "# My notebook" in got and "because of ReLU" in got


def test_nothing_written_records_an_empty_answer_and_starter_text_is_not_an_answer() -> None:
    assert answers.collect(starter(), ["why"], starter()) == {"why": ""}
    assert answers.collect(nb(), ["why"], None) == {"why": ""}


def test_a_marked_answer_cannot_pass_for_a_fallback() -> None:
    book = nb(mdc(f"<!-- answer:why -->\n{answers.FALLBACK_HEAD} see below"))
    assert not answers.is_fallback(answers.collect(book, ["why"])["why"])


def test_record_uses_the_spec_and_its_starter() -> None:
    spec = load_assignment(REPO / "assignments" / "dropout_rates")
    assert spec.answers == ("dropout",)
    starter_nb = nbformat.read(spec.starter, as_version=4)
    assert answers.marked(starter_nb) == {"dropout": ""}
    sub = nbformat.read(spec.starter, as_version=4)
    at = next(i for i, c in enumerate(sub.cells) if "dropout" in answers.cell_ids(c))
    sub.cells.insert(at + 1, mdc("0.25 overfits least here."))
    got = witness_answers(sub, spec)
    assert answers.is_fallback(got["dropout"]) and "0.25 overfits least here." in got["dropout"]
    assert witness_answers(sub, load_assignment(REPO / "assignments" / "sparse_labels")) == {}


@pytest.mark.parametrize("name", ["cnn_filters", "dropout_rates", "bn_vs_dropout", "fashion_vs_mnist"])
def test_starters_carry_a_visible_answer_cell(name: str) -> None:
    spec = load_assignment(REPO / "assignments" / name)
    (answer_id,) = spec.answers
    book = nbformat.read(spec.starter, as_version=4)
    cells = [c for c in book.cells if answer_id in answers.cell_ids(c)]
    assert len(cells) == 1
    lines = cells[0].source.splitlines()
    assert lines[0] == f"<!-- answer:{answer_id} -->"
    assert re.fullmatch(rf"\*\*.*\(answer:{answer_id}\)\*\*", lines[1])
    assert cells[0].metadata.get("tags") == [f"answer:{answer_id}"]


def _spec(tmp_path: Path, answers_line: str, starter_cells: list[nbformat.NotebookNode]) -> Path:
    (tmp_path / "tests" / "public").mkdir(parents=True)
    (tmp_path / "tests" / "public" / "test_a.py").write_text("def test_a(nb):\n    pass\n")
    nbformat.write(nb(*starter_cells), str(tmp_path / "a.ipynb"))
    (tmp_path / "assignment.toml").write_text(
        f'[assignment]\ntitle = "a"\nversion = "1"\nnotebook = "a.ipynb"\n{answers_line}\n[points]\ntest_a = 1\n'
    )
    return tmp_path


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('answers = ["why", "why"]', "listed twice"),
        ('answers = ["no such"]', "is not an answer id"),
        ('answers = "why"', "must be list"),
        ('answers = ["how"]', "has no cell marked answer:how"),
    ],
)
def test_spec_validates_declared_answers(tmp_path: Path, line: str, error: str) -> None:
    with pytest.raises(SpecError, match=error):
        load_assignment(_spec(tmp_path, line, [mdc(STARTER_ANSWER)]))


def test_spec_accepts_declared_answers(tmp_path: Path) -> None:
    assert load_assignment(_spec(tmp_path, 'answers = ["why"]', [mdc(STARTER_ANSWER)])).answers == ("why",)
    assert load_assignment(_spec(tmp_path / "b", "", [])).answers == ()


def _ctx() -> ReportContext:
    return ReportContext(
        assignment="a", title="A", version="1", profile="fast", test_order=[], hidden=set(), points={},
        synthetic=False, sandboxed=True, generated_at="now",
    )


def _result(*items: Answer) -> SubmissionResult:
    return SubmissionResult(
        student="kim", assignment="a", assignment_version="1", spec_digest="d", submission_digest="s",
        profile="fast", sandboxed=True, score=0.0, max_score=0.0, answers=items,
    )


def _shown(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def test_report_labels_a_fallback_and_not_a_marked_answer() -> None:
    sub = starter()
    sub.cells.insert(3, mdc("Because <b>vertical</b>."))
    text = answers.collect(sub, ["why"], starter())["why"]
    page = render_student(_result(Answer("why", text)), _ctx())
    shown = _shown(page)
    assert "No cell is marked answer:why. Shown instead, for the person grading: the student's own markdown" in shown
    assert answers.FALLBACK_HEAD not in shown
    assert "Because &lt;b&gt;vertical&lt;/b&gt;." in page
    assert "pending manual score" in shown
    marked_page = _shown(render_student(_result(Answer("why", "Because.")), _ctx()))
    assert "No cell is marked" not in marked_page and "Because." in marked_page
    empty = _shown(render_student(_result(Answer("why", "")), _ctx()))
    assert "(no answer written)" in empty
