"""Pairs of submissions whose code is suspiciously alike, for a person to judge.

The method is MOSS's (Schleimer, Wilkerson, Aiken: "Winnowing: local algorithms for
document fingerprinting", SIGMOD 2003), on Python tokens:

1. Each notebook's code cells become one token stream (Python's `tokenize`): names
   become `N` (keywords stay), numbers `0`, strings `S`; comments, blank lines and
   spacing are dropped. Renaming variables or rewording comments changes nothing.
2. Every run of `k` tokens is hashed; winnowing keeps the smallest hash of each window
   of `window` consecutive hashes. Any passage shared by two notebooks that is at least
   `k + window - 1` tokens long shares at least one kept hash.
3. Hashes that occur anywhere in the starter notebook are dropped (everybody has the
   starter's code), and so are hashes that most of a large class shares (boilerplate).
4. A pair's score is the share of the smaller notebook's fingerprints that the other
   one has too (containment); Jaccard is reported beside it. Pairs at or above the
   threshold are kept, with their longest shared passages as line ranges of each
   notebook's code, to be shown side by side.

A score is evidence for a person to look at; it never changes a grade. Pure Python,
no kernel: it reads the notebooks' JSON and nothing else.
"""

from __future__ import annotations

import bisect
import io
import json
import keyword
import re
import tokenize
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .i18n import msg

__all__ = [
    "Excerpt",
    "Options",
    "Passage",
    "SimilarityReport",
    "SimilarPair",
    "code_cells",
    "compare",
    "compare_notebooks",
    "normalise",
]


@dataclass(frozen=True)
class Options:
    """How alike is suspicious, and how much of it a report shows."""

    k: int = 12  # tokens per hashed run (noise threshold: shorter matches are ignored)
    window: int = 8  # winnowing window: matches of k + window - 1 tokens are always found
    threshold: float = 0.5  # containment at or above which a pair is reported
    min_shared: int = 6  # and at least this many fingerprints in common
    common_share: float = 0.5  # fingerprints in more than this share of the class are boilerplate...
    common_min_class: int = 10  # ...in a class of at least this many submissions
    max_pairs: int = 20  # pairs shown (the report says how many more there were)
    max_passages: int = 3  # shared passages shown per pair
    max_passage_lines: int = 20  # lines shown of each side of a passage
    max_line_chars: int = 120
    max_code_chars: int = 300_000  # code read per notebook; cells past it are not compared
    max_positions: int = 32  # occurrences of one fingerprint followed when finding passages
    max_work: int = 2_000_000  # token comparisons spent finding one pair's passages

    def __post_init__(self) -> None:
        if self.k < 1 or self.window < 1:
            raise ValueError("k and window must be at least 1")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold is a share between 0 and 1")


@dataclass(frozen=True)
class Excerpt:
    """One side of a shared passage: where it is in a notebook, and its lines."""

    where: str  # "In [3], lines 4–12", or "In [3] line 4 to In [5] line 2"
    text: str  # the student's lines as written (clipped)


@dataclass(frozen=True)
class Passage:
    a: Excerpt
    b: Excerpt
    tokens: int  # length of the match in normalised tokens


@dataclass(frozen=True)
class SimilarPair:
    a: str  # student ids, a < b
    b: str
    score: float  # containment: shared fingerprints / fingerprints of the smaller notebook
    jaccard: float
    shared: int  # fingerprints in common (starter and boilerplate excluded)
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class SimilarityReport:
    compared: int  # submissions compared
    pairs: tuple[SimilarPair, ...]  # the highest-scoring pairs, at most Options.max_pairs
    total: int  # pairs at or above the threshold, before the cap
    threshold: float
    starter_ignored: bool  # the starter's code was known and left out
    options: Options = field(default_factory=lambda: Options())

    @property
    def hidden(self) -> int:
        """Pairs over the threshold that the cap left out."""
        return self.total - len(self.pairs)


# --- reading code ------------------------------------------------------------------------


def code_cells(notebook: Mapping[str, Any]) -> list[str]:
    """The sources of a notebook's code cells, in order (v4 JSON or an nbformat node)."""
    cells = notebook.get("cells", [])
    out: list[str] = []
    if not isinstance(cells, list):
        return out
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        out.append(source if isinstance(source, str) else "")
    return out


_MAGIC = re.compile(r"^\s*[%!]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FALLBACK = re.compile(
    r"""(?P<comment>\#[^\n]*)
      | (?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n]*'|"[^"\n]*"))
      | (?P<number>\d[\w.]*)
      | (?P<name>[^\W\d]\w*)
      | (?P<newline>\n)
      | (?P<op>[^\s])""",
    re.VERBOSE,
)
_DROP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_NEWLINE = ";"
_STRINGS = {tokenize.STRING} | {getattr(tokenize, n) for n in ("FSTRING_START",) if hasattr(tokenize, n)}
_STRING_PARTS = {getattr(tokenize, n) for n in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}


def _name(text: str) -> str:
    return text if keyword.iskeyword(text) else "N"


def normalise(source: str) -> list[tuple[str, int]]:
    """The cell's tokens as (normalised token, 1-based line): names `N` (keywords kept),
    numbers `0`, strings `S`, statement ends `;`, indent `>` and dedent `<`; comments
    and spacing dropped. Magics and shell lines are blanked. Code that `tokenize`
    refuses (a syntax error half-way) is read by a simple fallback instead, never
    raising: a broken notebook is still compared."""
    text = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
    out: list[tuple[str, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text + "\n").readline):
            kind, line = tok.type, tok.start[0]
            if kind in _DROP or kind in _STRING_PARTS:
                continue
            if kind == tokenize.NAME:
                out.append((_name(tok.string), line))
            elif kind == tokenize.NUMBER:
                out.append(("0", line))
            elif kind in _STRINGS:
                out.append(("S", line))
            elif kind == tokenize.NEWLINE or (kind == tokenize.OP and tok.string == ";"):
                out.append((_NEWLINE, line))
            elif kind == tokenize.INDENT:
                out.append((">", line))
            elif kind == tokenize.DEDENT:
                out.append(("<", line))
            elif tok.string.strip():
                out.append((tok.string, line))
        return out
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    out = []
    line = 1
    for m in _FALLBACK.finditer(text):
        group, value = m.lastgroup, m.group()
        if group == "name":
            out.append((_name(value), line))
        elif group == "number":
            out.append(("0", line))
        elif group == "string":
            out.append(("S", line))
        elif group == "newline":
            out.append((_NEWLINE, line))
        elif group == "op":
            out.append((_NEWLINE if value == ";" else value, line))
        line += value.count("\n")
    return out


@dataclass
class _Doc:
    """One notebook's code as a token stream, with a way back to its cells and lines."""

    tokens: list[str] = field(default_factory=list)
    token_line: list[int] = field(default_factory=list)  # index into `lines`
    lines: list[tuple[int, int, str]] = field(default_factory=list)  # (In [n], line in cell, text)
    starter: list[bool] = field(default_factory=list)  # per token: part of a run the starter has too

    def mark_starter(self, starter_hashes: set[int], k: int) -> None:
        self.starter = [False] * len(self.tokens)
        for i, h in enumerate(_kgram_hashes(self.tokens, k)):
            if h in starter_hashes:
                self.starter[i : i + k] = [True] * k


def _document(cells: Sequence[str], opts: Options) -> _Doc:
    doc = _Doc()
    used = 0
    count = 0
    for source in cells:
        if not source.strip():
            continue  # Run All skips empty cells: they get no `In [n]`
        count += 1
        if used + len(source) > opts.max_code_chars:
            break
        used += len(source)
        first = len(doc.lines)
        for n, text in enumerate(source.splitlines(), start=1):
            doc.lines.append((count, n, text))
        if source.lstrip().startswith("%%"):
            continue  # a cell magic (%%bash, %%html...): not Python
        for tok, line in normalise(source):
            doc.tokens.append(tok)
            doc.token_line.append(min(first + line - 1, len(doc.lines) - 1))
    return doc


# --- fingerprints ----------------------------------------------------------------------

_MOD = (1 << 61) - 1
_BASE = 1_000_003


def _kgram_hashes(tokens: Sequence[str], k: int) -> list[int]:
    """A rolling hash of every run of k tokens (deterministic across runs and machines)."""
    if len(tokens) < k:
        return []
    ids = [zlib.crc32(t.encode("utf-8", "surrogatepass")) for t in tokens]
    top = pow(_BASE, k - 1, _MOD)
    h = 0
    for i in range(k):
        h = (h * _BASE + ids[i]) % _MOD
    out = [h]
    for i in range(k, len(ids)):
        h = ((h - ids[i - k] * top) * _BASE + ids[i]) % _MOD
        out.append(h)
    return out


def _winnow(hashes: Sequence[int], window: int) -> dict[int, list[int]]:
    """Winnowing: the smallest hash of each window (the rightmost on ties), each
    selection recorded once, as {hash: [positions]}."""
    picked: dict[int, list[int]] = {}
    if not hashes:
        return picked
    if len(hashes) <= window:
        i = min(range(len(hashes)), key=lambda j: (hashes[j], -j))
        picked[hashes[i]] = [i]
        return picked
    last = -1
    for start in range(len(hashes) - window + 1):
        best = start
        for j in range(start + 1, start + window):
            if hashes[j] <= hashes[best]:
                best = j
        if best != last:
            picked.setdefault(hashes[best], []).append(best)
            last = best
    return picked


# --- comparing -------------------------------------------------------------------------


def compare_notebooks(
    notebooks: Mapping[str, Mapping[str, Any]],
    starter: Path | Mapping[str, Any] | None = None,
    opts: Options | None = None,
) -> SimilarityReport:
    """Compare every pair of notebooks ({student: notebook JSON}); the starter (a path to
    the .ipynb, or its JSON) is left out. A starter that cannot be read is reported as
    not ignored rather than stopping anything."""
    return compare_code({s: code_cells(nb) for s, nb in notebooks.items()}, starter, opts)


def compare_code(
    codes: Mapping[str, Sequence[str]],
    starter: Path | Mapping[str, Any] | None = None,
    opts: Options | None = None,
) -> SimilarityReport:
    """compare_notebooks for notebooks already reduced to their code cells
    ({student: sources}, submissions.Submission.code)."""
    starter_cells: list[str] | None = None
    if isinstance(starter, Path):
        try:
            starter_cells = code_cells(json.loads(starter.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            starter_cells = None
    elif starter is not None:
        starter_cells = code_cells(starter)
    return compare(codes, starter_cells, opts)


def compare(
    codes: Mapping[str, Sequence[str]],
    starter: Sequence[str] | None = None,
    opts: Options | None = None,
) -> SimilarityReport:
    """Compare every pair of submissions ({student: code cell sources})."""
    opts = opts or Options()
    ignore: set[int] = set()
    if starter is not None:
        ignore = set(_kgram_hashes(_document(starter, opts).tokens, opts.k))
    # Only each submission's set of fingerprints is kept; a token stream and the
    # fingerprints' positions are rebuilt for the few submissions shown side by side (a
    # class of 500 held as token streams was 35 MB, as positions 5 MB more).
    prints: dict[str, set[int]] = {}
    for s, cells in codes.items():
        picked = _winnow(_kgram_hashes(_document(cells, opts).tokens, opts.k), opts.window)
        prints[s] = {h for h in picked if h not in ignore}

    docs: dict[str, _Doc] = {}

    def doc_of(student: str) -> _Doc:
        if student not in docs:
            docs[student] = _document(codes[student], opts)
            docs[student].mark_starter(ignore, opts.k)
        return docs[student]

    def positions_of(student: str) -> dict[int, list[int]]:
        kept = prints[student]
        picked = _winnow(_kgram_hashes(doc_of(student).tokens, opts.k), opts.window)
        return {h: pos for h, pos in picked.items() if h in kept}

    students = sorted(prints)
    holders: dict[int, list[int]] = {}  # fingerprint -> the students holding it, by index, ascending
    for i, st in enumerate(students):
        for h in prints[st]:
            holders.setdefault(h, []).append(i)
    n = len(students)
    if n >= opts.common_min_class:
        common = {h for h, who in holders.items() if len(who) > opts.common_share * n}
        for h in common:
            del holders[h]
        for st in students:
            prints[st] -= common
    # Pairs are counted one student at a time (a Counter per student, against those after
    # it), and only the best `max_pairs` are kept as they are found: a class of 500
    # near-copies has over 100,000 pairs sharing something, and holding them all at once
    # was most of what `grade`'s memory grew by with the class.
    found: list[SimilarPair] = []
    total = 0

    def order(p: SimilarPair) -> tuple[float, int, str, str]:
        return (-p.score, -p.shared, p.a, p.b)

    for ai, a in enumerate(students):
        counts: dict[int, int] = {}
        for h in prints[a]:
            ids = holders[h]
            for bi in ids[bisect.bisect_right(ids, ai) :]:
                counts[bi] = counts.get(bi, 0) + 1
        na = len(prints[a])
        for bi, common_n in counts.items():
            if common_n < opts.min_shared:
                continue
            b = students[bi]
            nb = len(prints[b])
            score = common_n / min(na, nb)
            if score + 1e-12 < opts.threshold:
                continue
            total += 1
            found.append(SimilarPair(a, b, score, common_n / (na + nb - common_n), common_n))
        if len(found) > 4 * opts.max_pairs + 100:
            found = sorted(found, key=order)[: opts.max_pairs]
    found.sort(key=order)
    shown = tuple(
        SimilarPair(
            p.a,
            p.b,
            p.score,
            p.jaccard,
            p.shared,
            _passages(doc_of(p.a), doc_of(p.b), positions_of(p.a), positions_of(p.b), opts),
        )
        for p in found[: opts.max_pairs]
    )
    return SimilarityReport(
        compared=n,
        pairs=shown,
        total=total,
        threshold=opts.threshold,
        starter_ignored=starter is not None,
        options=opts,
    )


def _passages(
    da: _Doc, db: _Doc, pa: Mapping[int, list[int]], pb: Mapping[int, list[int]], opts: Options
) -> tuple[Passage, ...]:
    """The longest shared token runs, grown from each common fingerprint to as far as the
    normalised tokens agree and neither side is the starter's code, none overlapping
    another on either side."""
    ta, tb, ma, mb = da.tokens, db.tokens, da.starter, db.starter
    runs: list[tuple[int, int, int]] = []  # (start in a, start in b, length)
    work = 0  # a notebook that repeats one block thousands of times must not take minutes

    def free(i: int, j: int) -> bool:
        return 0 <= i < len(ta) and 0 <= j < len(tb) and ta[i] == tb[j] and not ma[i] and not mb[j]

    shared = sorted(pa.keys() & pb.keys())
    seeds = ((i, j) for h in shared for i in pa[h][: opts.max_positions] for j in pb[h][: opts.max_positions])
    for i, j in seeds:
        work += opts.k + len(runs)
        if work > opts.max_work:
            break
        if ta[i : i + opts.k] != tb[j : j + opts.k]:
            continue  # a hash collision
        if any(ri - rj == i - j and ri <= i < ri + rn for ri, rj, rn in runs):
            continue  # inside a run already found
        start, end = i, i + opts.k  # the seed; then grow it both ways
        while free(start - 1, start - 1 - i + j):
            start -= 1
        while free(end, end - i + j):
            end += 1
        while start < end and not free(start, start - i + j):
            start += 1  # the seed's own edges may be the starter's tokens
        while end > start and not free(end - 1, end - 1 - i + j):
            end -= 1
        work += end - start
        if end - start >= max(1, opts.k // 2):
            runs.append((start, start - i + j, end - start))
    chosen: list[tuple[int, int, int]] = []
    for i, j, n in sorted(set(runs), key=lambda r: (-r[2], r[0], r[1])):
        if any((i < ci + cn and ci < i + n) or (j < cj + cn and cj < j + n) for ci, cj, cn in chosen):
            continue
        chosen.append((i, j, n))
        if len(chosen) == opts.max_passages:
            break
    return tuple(Passage(_excerpt(da, i, n, opts), _excerpt(db, j, n, opts), n) for i, j, n in chosen)


def _excerpt(doc: _Doc, start: int, length: int, opts: Options) -> Excerpt:
    first, last = doc.token_line[start], doc.token_line[start + length - 1]
    c0, l0, _ = doc.lines[first]
    c1, l1, _ = doc.lines[last]
    if c0 == c1:
        if l0 == l1:
            where = msg(f"In [{c0}], line {l0}", f"In [{c0}], {l0}번째 줄")
        else:
            where = msg(f"In [{c0}], lines {l0}–{l1}", f"In [{c0}], {l0}–{l1}번째 줄")
    else:
        where = msg(f"In [{c0}] line {l0} to In [{c1}] line {l1}", f"In [{c0}] {l0}번째 줄 ~ In [{c1}] {l1}번째 줄")
    texts = [_clean(doc.lines[i][2], opts.max_line_chars) for i in range(first, last + 1)]
    if len(texts) > opts.max_passage_lines:
        more = len(texts) - opts.max_passage_lines
        texts = [*texts[: opts.max_passage_lines], f"… (+{more})"]
    return Excerpt(where, "\n".join(texts))


def _clean(line: str, limit: int) -> str:
    line = _CONTROL.sub("", line.expandtabs(4).rstrip())
    return line if len(line) <= limit else line[: limit - 1] + "…"
