"""The gradebook: SQLite in WAL mode, one transaction per graded submission.

A result is keyed by (assignment, student, submission digest, spec digest, profile):
a rerun skips what is already there, a killed run loses at most the submissions in
flight, and nothing is recorded twice. `synchronous=FULL` makes every commit durable
on power loss (the WAL is fsynced at each commit).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection
from pathlib import Path

from .results import SubmissionResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submission_digest TEXT NOT NULL,
    spec_digest TEXT NOT NULL,
    profile TEXT NOT NULL,
    version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    error TEXT,
    result_json TEXT NOT NULL,
    graded_at REAL NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (assignment, student, submission_digest, spec_digest, profile)
);
CREATE TABLE IF NOT EXISTS manual_scores (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL,
    comment TEXT,
    imported_at REAL NOT NULL,
    PRIMARY KEY (assignment, student, answer_id)
);
"""


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, assignment: str, student: str, submission_digest: str, spec_digest: str, profile: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM results WHERE assignment=? AND student=? AND submission_digest=?"
            " AND spec_digest=? AND profile=?",
            (assignment, student, submission_digest, spec_digest, profile),
        ).fetchone()
        return row is not None

    def record(self, result: SubmissionResult, run_id: str, replace: bool = False) -> None:
        """Store one result in its own transaction."""
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                f"{verb} INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    result.assignment,
                    result.student,
                    result.submission_digest,
                    result.spec_digest,
                    result.profile,
                    result.assignment_version,
                    result.score,
                    result.max_score,
                    result.error,
                    json.dumps(result.to_dict(), ensure_ascii=False),
                    time.time(),
                    run_id,
                ),
            )

    def latest(
        self, assignment: str, profile: str | None = None, pictures: bool = True, skip: Collection[str] = ()
    ) -> list[SubmissionResult]:
        """The most recent result of each student for an assignment (optionally one profile).
        `pictures=False` leaves the pictures out: a class's pictures are tens of megabytes,
        and only a student's own page needs them (`latest_of` reads them one at a time).
        `skip`: students whose latest result the caller holds already (not read twice)."""
        q = "SELECT student, rowid, graded_at FROM results WHERE assignment=?"
        args: list[object] = [assignment]
        if profile:
            q += " AND profile=?"
            args.append(profile)
        best: dict[str, tuple[float, int]] = {}
        for student, rowid, at in self.db.execute(q, args):
            if student not in best or at > best[student][0]:
                best[student] = (at, rowid)
        return [self._read(best[s][1], pictures) for s in sorted(best) if s not in skip]

    def latest_of(self, assignment: str, student: str, profile: str | None = None) -> SubmissionResult | None:
        """One student's most recent result, pictures and all (None when never graded)."""
        q = "SELECT rowid FROM results WHERE assignment=? AND student=?"
        args: list[object] = [assignment, student]
        if profile:
            q += " AND profile=?"
            args.append(profile)
        row = self.db.execute(q + " ORDER BY graded_at DESC LIMIT 1", args).fetchone()
        return None if row is None else self._read(int(row[0]), True)

    def _read(self, rowid: int, pictures: bool) -> SubmissionResult:
        (blob,) = self.db.execute("SELECT result_json FROM results WHERE rowid=?", (rowid,)).fetchone()
        data = json.loads(blob)
        if not pictures:
            data.pop("pictures", None)
        return SubmissionResult.from_dict(data)

    def count(self, assignment: str) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM results WHERE assignment=?", (assignment,)).fetchone()[0])

    def runs_per_student(self, assignment: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT student, COUNT(*) FROM results WHERE assignment=? GROUP BY student", (assignment,)
        )
        return {s: int(n) for s, n in rows}

    # -- manual scores for free-text answers
    def set_manual(
        self, assignment: str, student: str, answer_id: str, score: float, max_score: float | None, comment: str
    ) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO manual_scores VALUES (?,?,?,?,?,?,?)",
                (assignment, student, answer_id, score, max_score, comment, time.time()),
            )

    def manual(self, assignment: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for student, aid, score in self.db.execute(
            "SELECT student, answer_id, score FROM manual_scores WHERE assignment=?", (assignment,)
        ):
            out.setdefault(student, {})[aid] = float(score)
        return out
