"""The one-line bars around the pane area: the tab bar (screen's caption) and the status/message line.

Both are plain Static widgets rendered from data the app hands them ("attributes down"): the tab bar from the
`layout` message's windows plus whether health has a crit (the alarm is never cut: window names give way
first); the status line from the latest notice (cut with a pointer to `C-a m` when too long), the prefix
indicator, the throttled marker of the focused pane and who holds the session.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widgets import Static

NAME_CAPS = (None, 12, 8, 5, 3)  # tried in turn until the window names fit beside the alarm


def _elide(name: str, cap: int | None) -> str:
    if cap is None or cell_len(name) <= cap:
        return name
    return set_cell_size(name, cap - 1) + "…"


class TabBar(Static):
    """screen's caption: the windows, then the health alarm (`✗ CRIT N`) at the right edge.

    The alarm is never cut: when the windows do not fit beside it their names are shortened, then
    dropped (the active window keeps its name longest), then windows far from the active one are
    left out with a `…`."""

    DEFAULT_CSS = """
    TabBar { height: 1; width: 1fr; background: $panel; color: $text; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.windows: list[dict[str, Any]] = []
        self.crit = 0

    def show(self, windows: list[dict[str, Any]] | None = None, crit: int | None = None) -> None:
        if windows is not None:
            self.windows = [window for window in windows if isinstance(window, dict)]
        if crit is not None:
            self.crit = crit
        self.update(self.caption())

    def on_resize(self) -> None:
        self.update(self.caption())

    @staticmethod
    def _label(window: dict[str, Any], cap: int | None, with_name: bool = True) -> tuple[str, str]:
        marker = "!" if window.get("bell") else ("@" if window.get("activity") else "")
        index = window.get("index")
        head = f" {'?' if index is None else index}{'*' if window.get('active') else ''}{marker}"
        label = f"{head} {_elide(str(window.get('name') or ''), cap)} " if with_name else f"{head} "
        style = "bold reverse" if window.get("active") else ("bold yellow" if marker else "")
        return label, style

    def _fitted(self, room: int | None) -> list[tuple[str, str]]:
        """(label, style) per shown window, each followed by a one-space gap, fitting room cells."""
        windows = self.windows

        def width(labels: list[tuple[str, str]]) -> int:
            return sum(cell_len(label) + 1 for label, _ in labels)

        candidates = [[self._label(w, cap) for w in windows] for cap in NAME_CAPS]
        candidates.append([self._label(w, 12, with_name=bool(w.get("active"))) for w in windows])
        candidates.append([self._label(w, None, with_name=False) for w in windows])
        for labels in candidates:
            if room is None or width(labels) <= room:
                return labels
        # still too wide: the windows nearest the active one, with … where some were left out
        labels = candidates[-1]
        active = next((i for i, w in enumerate(windows) if w.get("active")), 0)
        low = high = active
        def fits(first: int, last: int) -> bool:
            gaps = (first > 0) + (last < len(labels) - 1)  # a "…" on each side where windows were left out
            return width(labels[first:last + 1]) + 2 * gaps <= room

        grown = True
        while grown:
            grown = False
            if low > 0 and fits(low - 1, high):
                low, grown = low - 1, True
            if high < len(labels) - 1 and fits(low, high + 1):
                high, grown = high + 1, True
        shown = labels[low:high + 1]
        if low > 0:
            shown = [("…", "dim"), *shown]
        if high < len(labels) - 1:
            shown = [*shown, ("…", "dim")]
        return shown

    def caption(self, width: int | None = None) -> Text:
        width = width if width is not None else self.size.width
        alarm = f" ✗ CRIT {self.crit} " if self.crit else ""
        room = max(width - cell_len(alarm) - (1 if alarm else 0), 0) if width > 0 else None
        text = Text(no_wrap=True, overflow="ellipsis")
        for label, style in self._fitted(room):
            text.append(label, style=style)
            text.append(" ")
        if alarm:
            if room is not None:
                text.truncate(room, pad=True)
            text.append(" ")
            text.append(alarm, style="bold white on red")
        return text

    @property
    def names(self) -> list[str]:
        return [str(window.get("name") or "") for window in self.windows]

    @property
    def active_index(self) -> int | None:
        return next((window.get("index") for window in self.windows if window.get("active")), None)


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $boost; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.notice = ""
        self.notice_level = "info"
        self.prefix_waiting = False
        self.prefix_name = "C-a"
        self.throttled = False
        self.holder = ""
        self.readonly = False
        self.more_key = ""  # e.g. "C-a m": named at the end of a notice too long for the line

    def show(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.update(self.line())

    def line(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.prefix_waiting:
            text.append(f" {self.prefix_name} ", style="bold black on yellow")
            text.append(" ")
        right = []
        if self.throttled:
            right.append("(throttled)")
        if self.readonly:
            right.append("(read-only)")
        if self.holder:
            right.append(self.holder)
        tail = "  ".join(right)
        if self.notice:
            style = {"crit": "bold red", "warn": "yellow"}.get(self.notice_level, "")
            room = self.size.width - text.cell_len - (len(tail) + 2 if tail else 0)
            notice = self.notice
            if self.size.width and cell_len(notice) > room and self.more_key:
                more = f" … {self.more_key} shows it whole"
                notice = set_cell_size(notice, max(room - len(more), 0)).rstrip()
                text.append(notice, style=style)
                text.append(more, style="bold")
            else:
                text.append(notice, style=style)
        if tail:
            gap = max(self.size.width - text.cell_len - len(tail), 2)
            text.append(" " * gap)
            text.append(tail, style="dim")
        return text

    def on_resize(self) -> None:
        self.update(self.line())
