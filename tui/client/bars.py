"""The one-line bars around the pane area: the tab bar (screen's caption) and the status/message line.

Both are plain Static widgets rendered from data the app hands them ("attributes down"): the tab bar from the
`layout` message's windows plus whether health has a crit; the status line from the latest notice, the prefix
indicator, the throttled marker of the focused pane and who holds the session.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


class TabBar(Static):
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

    def caption(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for window in self.windows:
            marker = ""
            if window.get("bell"):
                marker = "!"
            elif window.get("activity"):
                marker = "@"
            label = f" {window.get('index', '?')}{'*' if window.get('active') else ''}{marker} {window.get('name', '')} "
            style = "bold reverse" if window.get("active") else ("bold yellow" if marker else "")
            text.append(label, style=style)
            text.append(" ")
        if self.crit:
            text.append(f" ✗ CRIT {self.crit} ", style="bold white on red")
        return text

    @property
    def names(self) -> list[str]:
        return [str(window.get("name", "")) for window in self.windows]

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

    def show(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.update(self.line())

    def line(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.prefix_waiting:
            text.append(f" {self.prefix_name} ", style="bold black on yellow")
            text.append(" ")
        if self.notice:
            style = {"crit": "bold red", "warn": "yellow"}.get(self.notice_level, "")
            text.append(self.notice, style=style)
        right = []
        if self.throttled:
            right.append("(throttled)")
        if self.readonly:
            right.append("(read-only)")
        if self.holder:
            right.append(self.holder)
        if right:
            tail = "  ".join(right)
            gap = max(self.size.width - text.cell_len - len(tail), 2)
            text.append(" " * gap)
            text.append(tail, style="dim")
        return text

    def on_resize(self) -> None:
        self.update(self.line())
