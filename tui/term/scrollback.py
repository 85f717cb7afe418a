"""Compact scrollback: the lines that scrolled off the top of a pane's main screen.

Owns the storage format of history. A line is kept either as a bare `str` (every cell in the default style)
or as `(text, runs)` where `runs` is the bytes of an unsigned-int array of (style id, character count) pairs.
Style ids index a table of `(fg, bg, attrs)` triples shared by every line of the pane, so a colourful log
costs a few bytes per colour change instead of one Python object per cell. Trailing default-style blanks are
trimmed. A wide character is one character of `text` (it covers two cells when shown).

A line that a flood's block path cut from the program's output (or a redrawn row the screen still held as
its source) is kept as a `SourceLine` instead: its text as it arrived (SGR sequences included, which costs
about what text plus runs would) with the attributes in force at its start and the function that turns the
two into styled segments. Storing it costs no work per colour change; it is decoded only when read (a
client scrolling back), to the same runs as the compact form.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import chain
from typing import Any

Style = tuple[str, str, int]  # (fg, bg, ATTR_* bits)
Run = tuple[str, str, str, int]  # (text, fg, bg, attrs) as in tui.protocol.messages

DEFAULT_STYLE: Style = ("default", "default", 0)

# When the style table outgrows this (a truecolour flood), unused styles are dropped and ids renumbered; if
# the kept lines still use more than half of it, the next compaction waits until the table has doubled
# (otherwise every new style would walk the whole history again).
STYLE_TABLE_SOFT_LIMIT = 50_000


class SourceLine:
    """A history line kept as the text it was drawn from (see the module docstring); `read(source, start)`
    gives its (text, Style) segments left to right, concealed text already blank."""

    __slots__ = ("source", "start", "read")

    def __init__(self, source: str, start: Hashable,
                 read: Callable[[str, Any], list[tuple[str, Style]]]) -> None:
        self.source = source
        self.start = start
        self.read = read


class BlockRow(list):  # type: ignore[type-arg]
    """A screen row as (text, cell attrs) segments that also knows the output line it was cut from, so
    that when it scrolls off it goes to history as a `SourceLine` (no per-segment work). Treat it as
    immutable: whoever changes such a row builds a new list, or the source would no longer match it."""

    __slots__ = ("source", "start", "read")


class StyleTable:
    """Interns style triples: one id per distinct (fg, bg, attrs); id 0 is the default style."""

    def __init__(self) -> None:
        self.styles: list[Style] = [DEFAULT_STYLE]
        self.ids: dict[Style, int] = {DEFAULT_STYLE: 0}

    def intern(self, style: Style) -> int:
        found = self.ids.get(style)
        if found is None:
            found = self.ids[style] = len(self.styles)
            self.styles.append(style)
        return found

    def __len__(self) -> int:
        return len(self.styles)


class Scrollback:
    """A bounded FIFO of compact lines; index 0 is the oldest line still kept."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = max(0, int(limit))
        self.lines: deque[str | tuple[str, bytes] | SourceLine] = deque(maxlen=self.limit)
        self.table = StyleTable()
        self._key_ids: dict[Hashable, int] = {}
        self._compact_above = STYLE_TABLE_SOFT_LIMIT

    def __len__(self) -> int:
        return len(self.lines)

    def clear(self) -> None:
        self.lines.clear()
        self.table = StyleTable()
        self._key_ids.clear()
        self._compact_above = STYLE_TABLE_SOFT_LIMIT

    # ---- writing ------------------------------------------------------------------------------------

    def append_plain(self, text: str) -> None:
        """A line whose every character has the default style."""
        if self.limit:
            self.lines.append(text.rstrip(" "))

    def append_source(self, source: str, start: Hashable,
                      read: Callable[[str, Any], list[tuple[str, Style]]]) -> None:
        """A line kept as the text it was drawn from (see `SourceLine`)."""
        if self.limit:
            self.lines.append(SourceLine(source, start, read))

    def append_row(self, row: Sequence[tuple[str, Hashable]], style_of: Callable[[Any], Style]) -> None:
        """A line given as (text, key) segments, where style_of(key) gives the Style of a key (the
        screen's cell attributes); ids per key are memoised, so this is the cheap path for floods. A
        `BlockRow` is kept as its source line."""
        if not self.limit:
            return
        if type(row) is BlockRow:
            self.lines.append(SourceLine(row.source, row.start, row.read))
            return
        key_ids = self._key_ids
        if len(row) == 1:
            text, key = row[0]
            style_id = key_ids.get(key)
            if style_id is None:
                style_id = self._intern_key(key, style_of)
            if style_id == 0 or not text:
                self.lines.append(text.rstrip(" "))
                return
            self._store([text], [style_id, len(text)])
            return
        texts, keys = zip(*row, strict=True)
        try:
            ids = list(map(key_ids.__getitem__, keys))
            grew = False
        except KeyError:
            if len(key_ids) > 4096:
                key_ids.clear()
            intern = self.table.intern
            for key in keys:
                if key not in key_ids:
                    key_ids[key] = intern(style_of(key))
            ids = list(map(key_ids.__getitem__, keys))
            grew = True
        if ids[-1] == 0 and texts[-1].endswith(" "):
            self._store(list(texts), list(chain.from_iterable(zip(ids, map(len, texts), strict=True))))
            return
        self.lines.append(("".join(texts), array("I", chain.from_iterable(zip(ids, map(len, texts), strict=True))).tobytes()))
        if grew and len(self.table.styles) > self._compact_above:
            self._compact_styles()

    def _intern_key(self, key: Hashable, style_of: Callable[[Any], Style]) -> int:
        """The style id of a key, memoised (the table is compacted only after a line is stored, so the ids
        of the line being built stay valid)."""
        key_ids = self._key_ids
        if len(key_ids) > 4096:
            key_ids.clear()
        style_id = key_ids[key] = self.table.intern(style_of(key))
        return style_id

    def append_styled(self, segments: Iterable[tuple[str, Style]]) -> None:
        """A line given as (text, style) segments, left to right."""
        if not self.limit:
            return
        texts: list[str] = []
        pairs: list[int] = []
        intern = self.table.intern
        last_id = -1
        for text, style in segments:
            if not text:
                continue
            style_id = intern(style)
            if style_id == last_id:
                pairs[-1] += len(text)
                texts[-1] += text
            else:
                pairs.append(style_id)
                pairs.append(len(text))
                texts.append(text)
                last_id = style_id
        self._store(texts, pairs)

    def _store(self, texts: list[str], pairs: list[int]) -> None:
        # trim trailing blanks that carry no visible style
        while pairs and pairs[-2] == 0:
            tail = texts[-1]
            stripped = tail.rstrip(" ")
            if stripped:
                pairs[-1] -= len(tail) - len(stripped)
                texts[-1] = stripped
                break
            texts.pop()
            del pairs[-2:]
        if not pairs or (len(pairs) == 2 and pairs[0] == 0):
            self.lines.append("".join(texts))
        else:
            self.lines.append(("".join(texts), array("I", pairs).tobytes()))
        if len(self.table) > self._compact_above:
            self._compact_styles()

    def _compact_styles(self) -> None:
        """Drop styles no kept line uses any more and renumber the rest."""
        new_table = StyleTable()
        old_styles = self.table.styles
        remapped: deque[str | tuple[str, bytes] | SourceLine] = deque(maxlen=self.limit)
        for line in self.lines:
            if isinstance(line, (str, SourceLine)):
                remapped.append(line)
                continue
            text, packed = line
            pairs = array("I")
            pairs.frombytes(packed)
            for i in range(0, len(pairs), 2):
                pairs[i] = new_table.intern(old_styles[pairs[i]])
            remapped.append((text, pairs.tobytes()))
        self.lines = remapped
        self.table = new_table
        self._key_ids.clear()
        self._compact_above = max(STYLE_TABLE_SOFT_LIMIT, 2 * len(new_table))

    # ---- reading ------------------------------------------------------------------------------------

    def runs(self, index: int) -> list[Run]:
        line = self.lines[index]
        if isinstance(line, str):
            return [(line, "default", "default", 0)] if line else []
        if isinstance(line, SourceLine):
            return _source_runs(line)
        text, packed = line
        pairs = array("I")
        pairs.frombytes(packed)
        styles = self.table.styles
        result: list[Run] = []
        offset = 0
        for i in range(0, len(pairs), 2):
            count = pairs[i + 1]
            if not count:
                continue
            style = styles[pairs[i]]
            piece = text[offset:offset + count]
            offset += count
            if result and result[-1][1:] == style:
                result[-1] = (result[-1][0] + piece, *style)
            else:
                result.append((piece, *style))
        return result

    def text(self, index: int) -> str:
        line = self.lines[index]
        if isinstance(line, SourceLine):
            return "".join(run[0] for run in _source_runs(line))
        return line if isinstance(line, str) else line[0]

    def rows(self, start: int, count: int) -> list[list[Run]]:
        """Lines [start, start+count) clipped to what exists; 0 is the oldest."""
        start = max(0, start)
        stop = min(len(self.lines), start + max(0, count))
        return [self.runs(i) for i in range(start, stop)]


def _source_runs(line: SourceLine) -> list[Run]:
    """A SourceLine's runs, exactly as the compact form of the same segments reads back: trailing blanks in
    the default style trimmed, neighbours of one style joined."""
    segments = [(text, style) for text, style in line.read(line.source, line.start) if text]
    while segments and segments[-1][1] == DEFAULT_STYLE:
        stripped = segments[-1][0].rstrip(" ")
        if stripped:
            segments[-1] = (stripped, DEFAULT_STYLE)
            break
        segments.pop()
    return merge_runs([(text, *style) for text, style in segments])


def merge_runs(runs: Sequence[Run]) -> list[Run]:
    """Join neighbouring runs that have the same style."""
    merged: list[Run] = []
    for run in runs:
        if merged and merged[-1][1:] == run[1:]:
            previous = merged[-1]
            merged[-1] = (previous[0] + run[0], *previous[1:])  # type: ignore[assignment]
        else:
            merged.append(run)
    return merged
