"""Manual scores for free-text answers (`answer:<id>` cells), imported from a CSV a
person filled in. Columns: student, answer, score, and optionally max and comment."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .errors import GraderError
from .gradebook import Gradebook
from .i18n import msg


def import_scores(book: Gradebook, assignment: str, path: Path) -> int:
    """Validate the whole file first, then store it in one transaction; return rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(
            msg(f"cannot read the scores file: {exc}", f"점수 파일을 읽을 수 없습니다: {exc}"), path
        ) from None
    reader = csv.DictReader(text.splitlines())
    need = {"student", "answer", "score"}
    if not reader.fieldnames or not need <= {f.strip() for f in reader.fieldnames}:
        raise GraderError(
            msg(
                "the first row must name the columns student, answer, score (and optionally max, comment)",
                "첫 행에 열 이름 student, answer, score (필요하면 max, comment도)가 있어야 합니다",
            ),
            path,
        )
    known = {r.student: {a.id for a in r.answers} for r in book.latest(assignment)}
    rows = []
    for n, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        student, answer = row["student"], row["answer"]
        if student not in known:
            raise GraderError(
                msg(
                    f"row {n}: no graded submission of {assignment} by {student!r}",
                    f"{n}행: {student!r} 학생의 채점된 {assignment} 제출물이 없습니다",
                ),
                path,
            )
        if answer not in known[student]:
            have = ", ".join(sorted(known[student]))
            raise GraderError(
                msg(
                    f"row {n}: {student} has no answer {answer!r} (answers: {have or 'none'})",
                    f"{n}행: {student}에게 {answer!r} 답안이 없습니다 (답안: {have or '없음'})",
                ),
                path,
            )
        try:
            score = float(row["score"])
            top = float(row["max"]) if row.get("max") else None
        except ValueError:
            raise GraderError(
                msg(
                    f"row {n}: score and max must be numbers, got {row['score']!r}",
                    f"{n}행: score와 max는 숫자여야 하는데 {row['score']!r}입니다",
                ),
                path,
            ) from None
        if not math.isfinite(score) or score < 0 or (top is not None and score > top):
            raise GraderError(
                msg(
                    f"row {n}: score {score:g} is not between 0 and the row's max",
                    f"{n}행: 점수 {score:g}이(가) 0과 그 행의 max 사이에 있지 않습니다",
                ),
                path,
            )
        rows.append((student, answer, score, top, row.get("comment", "")))
    with book.db:
        for student, answer, score, top, comment in rows:
            book.db.execute(
                "INSERT OR REPLACE INTO manual_scores VALUES (?,?,?,?,?,?,strftime('%s','now'))",
                (assignment, student, answer, score, top, comment),
            )
    return len(rows)


def pending(book: Gradebook, assignment: str) -> list[tuple[str, str]]:
    """(student, answer id) pairs that still wait for a person's score."""
    done = book.manual(assignment)
    return [
        (r.student, a.id) for r in book.latest(assignment) for a in r.answers if a.id not in done.get(r.student, {})
    ]
