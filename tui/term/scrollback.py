"""Compact scrollback: the lines that scrolled off the top of a pane's main screen.

Owns the storage format of history. A line is kept either as a bare `str` (every cell in the default style)
or as `(text, runs)` where `runs` is the bytes of an unsigned-int array of (style id, character count) pairs.
Style ids index a table of `(fg, bg, attrs)` triples shared by every line of the pane, so a colourful log
costs a few bytes per colour change instead of one Python object per cell. Trailing default-style blanks are
trimmed. A wide character is one character of `text` (it covers two cells when shown).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from operator import itemgetter
from typing import Any

Style = tuple[str, str, int]  # (fg, bg, ATTR_* bits)
Run = tuple[str, str, str, int]  # (text, fg, bg, attrs) as in tui.protocol.messages

DEFAULT_STYLE: Style = ("default", "default", 0)
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)

# When the style table outgrows this (a truecolour flood), unused styles are dropped and ids renumbered.
STYLE_TABLE_SOFT_LIMIT = 50_000


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
        self.lines: deque[str | tuple[str, bytes]] = deque(maxlen=self.limit)
        self.table = StyleTable()
        self._key_ids: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def clear(self) -> None:
        self.lines.clear()
        self.table = StyleTable()
        self._key_ids.clear()

    # ---- writing ------------------------------------------------------------------------------------

    def append_plain(self, text: str) -> None:
        """A line whose every character has the default style."""
        if self.limit:
            self.lines.append(text.rstrip(" "))

    def append_row(self, row: Sequence[tuple[str, Hashable]], style_of: Callable[[Any], Style]) -> None:
        """A line given as (text, key) segments, where style_of(key) gives the Style of a key (the
        screen's cell attributes); ids per key are memoised, so this is the cheap path for floods."""
        if not self.limit:
            return
        key_ids = self._key_ids
        if len(key_ids) > 4096:
            key_ids.clear()
        if len(row) == 1:
            text, key = row[0]
            style_id = key_ids.get(key)
            if style_id is None:
                style_id = key_ids[key] = self.table.intern(style_of(key))
            if style_id == 0 or not text:
                self.lines.append(text.rstrip(" "))
                return
            self._store([text], [style_id, len(text)])
            return
        keys = list(map(_SECOND, row))
        try:
            ids = list(map(key_ids.__getitem__, keys))
        except KeyError:
            intern = self.table.intern
            for key in keys:
                if key not in key_ids:
                    key_ids[key] = intern(style_of(key))
            ids = list(map(key_ids.__getitem__, keys))
        texts = list(map(_FIRST, row))
        pairs = array("I", bytes(8 * len(row)))
        pairs[0::2] = array("I", ids)
        pairs[1::2] = array("I", map(len, texts))
        if ids[-1] == 0 and texts[-1].endswith(" "):
            self._store(texts, pairs.tolist())
        else:
            self.lines.append(("".join(texts), pairs.tobytes()))
        if len(self.table) > STYLE_TABLE_SOFT_LIMIT:
            self._compact_styles()

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
        if len(self.table) > STYLE_TABLE_SOFT_LIMIT:
            self._compact_styles()

    def _compact_styles(self) -> None:
        """Drop styles no kept line uses any more and renumber the rest."""
        new_table = StyleTable()
        old_styles = self.table.styles
        remapped: deque[str | tuple[str, bytes]] = deque(maxlen=self.limit)
        for line in self.lines:
            if isinstance(line, str):
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

    # ---- reading ------------------------------------------------------------------------------------

    def runs(self, index: int) -> list[Run]:
        line = self.lines[index]
        if isinstance(line, str):
            return [(line, "default", "default", 0)] if line else []
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
        return line if isinstance(line, str) else line[0]

    def rows(self, start: int, count: int) -> list[list[Run]]:
        """Lines [start, start+count) clipped to what exists; 0 is the oldest."""
        start = max(0, start)
        stop = min(len(self.lines), start + max(0, count))
        return [self.runs(i) for i in range(start, stop)]


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
