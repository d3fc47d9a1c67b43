"""The output budget of one notebook run: what the grader stores of a notebook's outputs.

A notebook's outputs are untrusted and can be huge (Keras' default `verbose=1` alone
prints megabytes of progress bars over a long `fit`). What grading needs from them is
small but must never be lost: the figures (some checks ask for one) and the error
outputs (they tell which cells failed). So each kind has a budget of its own:

- stream output (stdout/stderr) is capped per cell: its head and its tail are kept, with
  a line `[grader: N KB of output dropped here]` where the middle was; carriage returns
  and backspaces (progress bars) collapse to their last state before anything is
  counted, as Jupyter shows them. All cells together have a larger cap; once it is
  used, later cells keep a small head and tail each.
- images (a display with any `image/*` type) have a count and a byte cap of their own,
  and so have other displays (HTML tables, text reprs): text can never push out a figure.
- error outputs are always kept, their traceback shortened to a cap.

`OutputBudget.output` is called for every output message of a cell (nbclient's
`NotebookClient.output` delegates to it); `notes` says, per cell, what was dropped.
Sizes are counted in characters; what was dropped is reported in UTF-8 bytes.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OutputBudget", "OutputLimits", "collapse"]

MIN_CELL_STREAM = 8 * 1024  # what a cell keeps of its stream once the notebook's cap is used
MAX_ERRORS_PER_CELL = 10  # a cell raises once; more error outputs are forged
MAX_ENAME = 200
MAX_EVALUE = 4000
MAX_NOTES = 20  # cells named in the notes; more are counted
_MAX_BACKSPACE_WORK = 1 << 20  # longer lines with backspaces lose them without replaying them

Store = Callable[[dict[str, Any]], Any]  # nbclient's own output(): stores msg, returns the node or None


@dataclass(frozen=True)
class OutputLimits:
    stream_cell: int = 512 * 1024  # stdout + stderr one cell keeps (half head, half tail)
    stream_total: int = 4 * 1024 * 1024  # all cells' stream output together
    image_count: int = 500
    image_bytes: int = 32 * 1024 * 1024
    display_bytes: int = 2 * 1024 * 1024  # displays without an image (HTML, text reprs)
    error_chars: int = 64 * 1024  # one error output's traceback

    @classmethod
    def from_kb(cls, max_output_kb: int) -> OutputLimits:
        """The budget for the spec's `max_output_kb` (the stream cap of one cell)."""
        cell = max(2 * 1024, int(max_output_kb) * 1024)
        return cls(
            stream_cell=cell,
            stream_total=8 * cell,
            image_bytes=max(8 * 1024 * 1024, 64 * cell),
            display_bytes=4 * cell,
            error_chars=max(16 * 1024, cell // 8),
        )


def collapse(text: str) -> str:
    """`text` as a notebook shows it: on each line, what follows the last carriage
    return replaces what came before, and a backspace erases the character before it.
    A line still being written that ends with `\\r` keeps the `\\r`, so the next write
    (merged after it) replaces the line."""
    if "\r" not in text and "\b" not in text:
        return text
    lines = text.split("\n")
    last = len(lines) - 1
    for i, line in enumerate(lines):
        pending = False
        if "\r" in line:
            parts = line.split("\r")
            pending = i == last and parts[-1] == ""
            line = next((p for p in reversed(parts) if p), "")
        if "\b" in line:
            line = _backspace(line)
        lines[i] = line + "\r" if pending and line else line
    return "\n".join(lines)


def _backspace(line: str) -> str:
    if len(line) > _MAX_BACKSPACE_WORK:
        return line.replace("\b", "")
    buf: list[str] = []
    for ch in line:
        if ch == "\b":
            if buf:
                buf.pop()
        else:
            buf.append(ch)
    return "".join(buf)


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def kb(n: int) -> str:
    """A size as people read it in a report: 12 KB, 3.4 MB."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def marker(dropped: int) -> str:
    return f"[grader: {kb(dropped)} of output dropped here]\n"


class _Segment:
    """One stream output (a node in the cell's outputs) the budget writes into."""

    __slots__ = ("node", "name", "gen", "text", "tail", "dropped")

    def __init__(self, node: Any, name: str, gen: int, text: str, tail: bool) -> None:
        self.node = node
        self.name = name
        self.gen = gen
        self.text = text  # what is kept, without the marker
        self.tail = tail
        self.dropped = 0  # bytes dropped at this segment's start

    def render(self) -> None:
        self.node["text"] = (marker(self.dropped) if self.dropped else "") + self.text


@dataclass
class _Cell:
    head_cap: int
    tail_cap: int
    head_used: int = 0
    tail_used: int = 0
    head_closed: bool = False
    gen: int = 0  # bumped by every stored non-stream output: stream text after it is a new node
    outs: Any = None  # the cell's output list, to notice clear_output
    outs_len: int = 0
    current: dict[str, _Segment] = field(default_factory=dict)
    tails: deque[_Segment] = field(default_factory=deque)
    rich: list[tuple[bool, int]] = field(default_factory=list)  # (is image, size) stored
    errors: int = 0
    dropped_stream: int = 0
    dropped_images: int = 0
    dropped_displays: int = 0
    dropped_errors: int = 0

    @property
    def stored_stream(self) -> int:
        return self.head_used + self.tail_used


class OutputBudget:
    """Decides, message by message, what of a notebook's outputs is stored."""

    def __init__(self, limits: OutputLimits | None = None) -> None:
        self.limits = limits or OutputLimits()
        self._cells: dict[int, _Cell] = {}
        self._last_cell: int | None = None
        self._stream_left = self.limits.stream_total
        self._images = 0
        self._image_bytes = 0
        self._display_bytes = 0
        self._hooked = 0  # bytes sent to output widgets
        self.dropped_hooked = 0

    # ------------------------------------------------------------------ entry points
    def output(
        self, outs: list[Any], msg: dict[str, Any], cell_index: int, store: Store, *, fresh: bool = False
    ) -> Any:
        """Store what fits of one output message of cell `cell_index` into `outs`.

        `store(msg)` is the client's ordinary output handling (it builds the node and
        appends it); `fresh` says the client will clear the outputs before storing the
        next one (`clear_output(wait=True)`). Returns the node stored, or None."""
        kind = msg.get("msg_type")
        content = msg.get("content")
        if not isinstance(content, dict):
            return None
        c = self._cell(cell_index, outs)
        if fresh:
            self._reset(c)
        if kind == "stream":
            name = content.get("name")
            text = content.get("text")
            if name not in ("stdout", "stderr") or not isinstance(text, str):
                return None
            return self._stream(c, outs, msg, name, text, store)
        if kind == "error":
            return self._error(c, outs, msg, content, store)
        if kind in ("display_data", "execute_result"):
            return self._display(c, outs, msg, content, store)
        return self._store(c, outs, msg, store)

    def hooked(self, msg: dict[str, Any]) -> bool:
        """Whether an output captured by an output widget may be kept (all such outputs
        share the stream budget of the whole notebook)."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self._hooked + size > self.limits.stream_total:
            self.dropped_hooked += size
            return False
        self._hooked += size
        return True

    def notes(self, name_cell: Callable[[int], str]) -> list[str]:
        """One line per cell that lost output, for the report ("... was dropped")."""
        out = []
        lim = self.limits
        for index in sorted(self._cells):
            c = self._cells[index]
            parts = []
            if c.dropped_stream:
                parts.append(
                    f"{kb(c.dropped_stream)} of printed output was dropped "
                    f"(its first {kb(c.head_cap)} and last {kb(c.tail_cap)} were kept)"
                )
            if c.dropped_images:
                parts.append(
                    f"{c.dropped_images} image(s) were dropped: the notebook had shown "
                    f"{lim.image_count} images or {kb(lim.image_bytes)} of them already"
                )
            if c.dropped_displays:
                parts.append(
                    f"{c.dropped_displays} display(s) without an image were dropped "
                    f"(over {kb(lim.display_bytes)} of them in the notebook)"
                )
            if c.dropped_errors:
                parts.append(f"{c.dropped_errors} extra error output(s) were dropped")
            if parts:
                out.append(f"{name_cell(index)}: " + "; ".join(parts))
        if len(out) > MAX_NOTES:
            out = out[:MAX_NOTES] + [f"{len(out) - MAX_NOTES} more cells lost output the same way"]
        if self.dropped_hooked:
            out.append(f"{kb(self.dropped_hooked)} of output sent to output widgets was dropped")
        return out

    @property
    def dropped(self) -> bool:
        return bool(self.dropped_hooked) or any(
            c.dropped_stream or c.dropped_images or c.dropped_displays or c.dropped_errors
            for c in self._cells.values()
        )

    # ------------------------------------------------------------------ cells
    def _cell(self, index: int, outs: list[Any]) -> _Cell:
        c = self._cells.get(index)
        if c is None:
            if self._last_cell is not None and self._last_cell in self._cells:
                self._stream_left -= self._cells[self._last_cell].stored_stream
            cap = min(self.limits.stream_cell, max(MIN_CELL_STREAM, self._stream_left))
            c = self._cells[index] = _Cell(head_cap=cap // 2, tail_cap=cap - cap // 2)
            self._last_cell = index
        if c.outs is not outs or len(outs) < c.outs_len:
            # clear_output emptied the list (or it is a new one): what we counted is gone
            self._reset(c)
            c.outs = outs
        return c

    def _reset(self, c: _Cell) -> None:
        c.head_used = c.tail_used = 0
        c.head_closed = False
        c.gen += 1
        c.current.clear()
        c.tails.clear()
        for is_image, size in c.rich:
            if is_image:
                self._images -= 1
                self._image_bytes -= size
            else:
                self._display_bytes -= size
        c.rich.clear()
        c.outs_len = 0

    def _store(self, c: _Cell, outs: list[Any], msg: dict[str, Any], store: Store) -> Any:
        node = store(msg)
        c.outs_len = len(outs)
        return node

    # ------------------------------------------------------------------ kinds
    def _display(self, c: _Cell, outs: list[Any], msg: dict[str, Any], content: dict[str, Any], store: Store) -> Any:
        data = content.get("data")
        data = data if isinstance(data, dict) else {}
        is_image = any(isinstance(k, str) and k.startswith("image/") for k in data)
        size = sum(len(v) if isinstance(v, str) else len(json.dumps(v, default=str)) for v in data.values())
        size += len(json.dumps(content.get("metadata", {}), default=str))
        if is_image:
            lim = self.limits
            if self._images >= lim.image_count or self._image_bytes + size > lim.image_bytes:
                c.dropped_images += 1
                return None
        elif self._display_bytes + size > self.limits.display_bytes:
            c.dropped_displays += 1
            return None
        node = self._store(c, outs, msg, store)
        if node is not None:
            if is_image:
                self._images += 1
                self._image_bytes += size
            else:
                self._display_bytes += size
            c.rich.append((is_image, size))
            c.gen += 1
        return node

    def _error(self, c: _Cell, outs: list[Any], msg: dict[str, Any], content: dict[str, Any], store: Store) -> Any:
        if c.errors >= MAX_ERRORS_PER_CELL:
            c.dropped_errors += 1
            return None
        ename = str(content.get("ename", ""))[:MAX_ENAME]
        evalue = str(content.get("evalue", ""))
        if len(evalue) > MAX_EVALUE:
            evalue = evalue[:MAX_EVALUE] + "…"
        raw = content.get("traceback")
        frames = [str(f) for f in raw] if isinstance(raw, list) else []
        frames = _clip_frames(frames, self.limits.error_chars)
        clipped = {**content, "ename": ename, "evalue": evalue, "traceback": frames}
        node = self._store(c, outs, {**msg, "content": clipped}, store)
        if node is not None:
            c.errors += 1
            c.gen += 1
        return node

    def _stream(self, c: _Cell, outs: list[Any], msg: dict[str, Any], name: str, text: str, store: Store) -> Any:
        seg = c.current.get(name)
        if seg is not None and (seg.gen != c.gen or (c.head_closed and not seg.tail) or not _holds(outs, seg.node)):
            seg = None
        if seg is not None:
            cut = seg.text.rfind("\n") + 1
            new_text = seg.text[:cut] + collapse(seg.text[cut:] + text)
        else:
            new_text = collapse(text)
        if seg is not None and seg.tail:
            self._tail_write(c, seg, new_text)
            return seg.node
        if not c.head_closed:
            old = len(seg.text) if seg is not None else 0
            room = c.head_cap - (c.head_used - old)
            keep = new_text if len(new_text) <= room else new_text[: max(0, room)]
            rest = new_text[len(keep) :]
            if seg is not None:
                seg.text = keep
                seg.render()
            elif keep:
                seg = self._new_segment(c, outs, msg, name, keep, tail=False, store=store)
                if seg is None:
                    return None
            c.head_used += len(keep) - old
            if not rest:
                return seg.node if seg is not None else None
            c.head_closed = True
            new_text = rest
        tail = self._new_segment(c, outs, msg, name, "", tail=True, store=store)
        if tail is None:
            return None
        c.tails.append(tail)
        self._tail_write(c, tail, new_text)
        return tail.node

    def _new_segment(
        self, c: _Cell, outs: list[Any], msg: dict[str, Any], name: str, text: str, *, tail: bool, store: Store
    ) -> _Segment | None:
        node = self._store(c, outs, {**msg, "content": {"name": name, "text": text}}, store)
        if node is None:
            return None
        seg = _Segment(node, name, c.gen, text, tail)
        c.current[name] = seg
        return seg

    def _tail_write(self, c: _Cell, seg: _Segment, new_text: str) -> None:
        c.tail_used += len(new_text) - len(seg.text)
        seg.text = new_text
        touched = {id(seg): seg}
        while c.tail_used > c.tail_cap and c.tails:
            oldest = c.tails[0]
            excess = c.tail_used - c.tail_cap
            if excess >= len(oldest.text) and oldest is not seg:
                gone = oldest.text
                c.tails.popleft()
            elif oldest.text:
                cut = min(excess, len(oldest.text))
                nl = oldest.text.find("\n", cut, cut + 256)  # drop whole lines where that is cheap
                if nl != -1:
                    cut = nl + 1
                gone = oldest.text[:cut]
            else:
                break  # only the segment being written is left, and it is empty
            oldest.text = oldest.text[len(gone) :]
            n = _utf8(gone)
            oldest.dropped += n
            c.dropped_stream += n
            c.tail_used -= len(gone)
            touched[id(oldest)] = oldest
        for s in touched.values():
            s.render()


def _holds(outs: list[Any], node: Any) -> bool:
    """Whether `node` is still one of `outs` (clear_output may have emptied the list)."""
    return any(o is node for o in reversed(outs))


def _clip_frames(frames: list[str], cap: int) -> list[str]:
    """A traceback within `cap` characters: its first and last frames, with a line
    saying how many in between were dropped."""
    if sum(len(f) for f in frames) <= cap:
        return frames
    per = max(1, cap // 4)
    frames = [f if len(f) <= per else f[:per] + "…" for f in frames]
    head: list[str] = []
    tail: list[str] = []
    used = 0
    i, j = 0, len(frames) - 1
    while i <= j:  # the last frames say where it failed: take two from the end for one from the start
        for _ in range(2):
            if i <= j and used + len(frames[j]) <= cap:
                tail.insert(0, frames[j])
                used += len(frames[j])
                j -= 1
        if i <= j and used + len(frames[i]) <= cap:
            head.append(frames[i])
            used += len(frames[i])
            i += 1
        elif i <= j and (used + len(frames[j]) > cap):
            break
    dropped = j - i + 1
    if dropped <= 0:
        return head + tail
    return head + [f"[grader: {dropped} frame(s) of the traceback dropped here]"] + tail
