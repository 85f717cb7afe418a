"""Copy mode (C-a [): browse a pane's scrollback, search it, select text and copy it into the paste buffer.

The scrollback lives in the server; this screen asks for pages with `scrollback` messages and keeps only what
it was sent, so nothing is lost when the client goes away. The server numbers the pane's lines from the oldest
history line (0) to the last visible row (total - 1).

Keys: arrows (or hjkl), PgUp/PgDn, g/G top/bottom, 0/$ line start/end, / search backwards, n next match,
space marks the start and then the end of a selection (cell to cell, like screen) and the second space
copies it and leaves; Enter copies the selection (or the cursor line) and leaves; Esc or q leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from tui.client.dialogs import Prompt
from tui.client.pane_area import runs_text, runs_to_segments

PAGE = 500
SELECTION = Style(bgcolor="blue", color="white")
CURSOR = Style(reverse=True)


class CopyView(Widget, can_focus=True):
    def __init__(self, owner: CopyMode) -> None:
        super().__init__()
        self.owner = owner

    def render_line(self, y: int) -> Strip:
        owner = self.owner
        index = owner.top + y
        width = self.size.width
        if index >= owner.line_count:
            return Strip.blank(width)
        runs = owner.line_runs(index)
        strip = Strip(runs_to_segments(runs) if runs is not None else [Segment("…", Style(dim=True))])
        strip = strip.adjust_cell_length(width)
        columns = owner.selected_columns(index, width)
        if columns is not None:
            before, chosen, after = strip.divide([columns[0], columns[1], width])
            strip = Strip.join([before, chosen.apply_style(SELECTION), after])
        if index == owner.cursor_line:
            x = min(owner.cursor_col, max(width - 1, 0))
            before, cell, after = strip.divide([x, x + 1, width])
            strip = Strip.join([before, cell.apply_style(CURSOR), after])
        return strip


class CopyMode(Screen[None]):
    DEFAULT_CSS = """
    CopyMode CopyView { height: 1fr; }
    CopyMode #copy-status { height: 1; background: $warning; color: $text; }
    """

    def __init__(self, pane: int, request: Callable[[int, int, int], None], on_copy: Callable[[str], None],
                 natural_scroll: bool = False) -> None:
        super().__init__()
        self.pane = pane
        self.wheel_step = 3 if natural_scroll else -3  # lines to move on a wheel-up
        self.request = request
        self.on_copy = on_copy
        self.history_total: int | None = None
        self.history: dict[int, list] = {}
        self.requested: set[int] = set()
        self.top = 0
        self.cursor_line = 0
        self.cursor_col = 0
        self.mark: tuple[int, int] | None = None  # (line, column) where the selection started
        self.search_term = ""
        self.pending_search = False
        self.message = ""

    # ---- data ----------------------------------------------------------------------------------------
    @property
    def line_count(self) -> int:
        return self.history_total or 0

    def line_runs(self, index: int) -> list | None:
        runs = self.history.get(index)
        if runs is None:
            self._ensure(index)
        return runs

    def line_text(self, index: int) -> str | None:
        runs = self.line_runs(index)
        return None if runs is None else runs_text(runs)

    def _ensure(self, index: int) -> None:
        page = index // PAGE
        if page not in self.requested:
            self.requested.add(page)
            self.request(self.pane, page * PAGE, PAGE)

    def apply_scrollback(self, message: dict[str, Any]) -> None:
        total = message.get("total")
        first = self.history_total is None
        if isinstance(total, int) and total >= 0:
            self.history_total = total
        start = message.get("start") if isinstance(message.get("start"), int) else 0
        for offset, runs in enumerate(message.get("lines") or []):
            self.history[start + offset] = runs if isinstance(runs, list) else []
        if first:
            # start at the bottom: the cursor on the last line of the visible screen
            self.cursor_line = max(self.line_count - 1, 0)
            self._scroll_to_cursor()
        if self.pending_search and all(i in self.history for i in range(self.history_total or 0)):
            self.pending_search = False
            self._search()
        self._refresh_all()

    # ---- UI --------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield CopyView(self)
        yield Static("", id="copy-status")

    def on_mount(self) -> None:
        self.request(self.pane, 0, 0)  # learn the number of lines first
        self.query_one(CopyView).focus()
        self._refresh_all()

    @property
    def view_height(self) -> int:
        return max(self.query_one(CopyView).size.height, 1)

    def _scroll_to_cursor(self) -> None:
        height = self.view_height if self.is_mounted else 20
        if self.cursor_line < self.top:
            self.top = self.cursor_line
        elif self.cursor_line >= self.top + height:
            self.top = self.cursor_line - height + 1
        self.top = max(0, min(self.top, max(self.line_count - height, 0)))

    def _refresh_all(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(CopyView).refresh()
        selecting = "  selecting (space or Enter copies)" if self.mark is not None else ""
        self.query_one("#copy-status", Static).update(
            f"Copy mode: line {self.cursor_line + 1}/{self.line_count}{selecting}  {self.message}"
            "   (arrows PgUp PgDn / search, space marks, Enter copies, Esc leaves)")

    def selection_range(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(start, end) as (line, column), start before end; both ends included, like screen's marks."""
        if self.mark is None:
            return None
        here = (self.cursor_line, self.cursor_col)
        return (min(self.mark, here), max(self.mark, here))

    def selected_columns(self, index: int, width: int) -> tuple[int, int] | None:
        """The [start, end) columns of line `index` inside the selection, or None."""
        selection = self.selection_range()
        if selection is None or not selection[0][0] <= index <= selection[1][0]:
            return None
        start = selection[0][1] if index == selection[0][0] else 0
        end = selection[1][1] + 1 if index == selection[1][0] else width
        return (min(start, width), min(max(end, start), width))

    def move(self, lines: int = 0, cols: int = 0) -> None:
        self.cursor_line = max(0, min(self.cursor_line + lines, max(self.line_count - 1, 0)))
        self.cursor_col = max(0, min(self.cursor_col + cols, max(self.query_one(CopyView).size.width - 1, 0)))
        self._scroll_to_cursor()
        self._refresh_all()

    def copy(self) -> str:
        """Copy the selection (or the cursor line without one) into the paste buffer; returns the text."""
        selection = self.selection_range()
        if selection is None:
            text = (self.line_text(self.cursor_line) or "").rstrip()
        else:
            (first, start), (last, end) = selection
            lines = []
            for index in range(first, last + 1):
                line = self.line_text(index) or ""
                begin = start if index == first else 0
                stop = end + 1 if index == last else len(line)
                lines.append(line[begin:stop].rstrip())
            text = "\n".join(lines)
        self.on_copy(text)
        return text

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        key = event.key
        height = self.view_height
        moves = {"up": (-1, 0), "k": (-1, 0), "down": (1, 0), "j": (1, 0), "left": (0, -1), "h": (0, -1),
                 "right": (0, 1), "l": (0, 1), "pageup": (-height, 0), "ctrl+b": (-height, 0),
                 "pagedown": (height, 0), "ctrl+f": (height, 0)}
        if key in moves:
            self.move(*moves[key])
        elif key in ("g",):
            self.move(-self.line_count)
        elif key in ("G",):
            self.move(self.line_count)
        elif key in ("0", "home"):
            self.move(cols=-self.cursor_col)
        elif key in ("dollar_sign", "$", "end"):
            self.move(cols=len((self.line_text(self.cursor_line) or "").rstrip()) - 1 - self.cursor_col)
        elif key == "space":
            if self.mark is None:
                self.mark = (self.cursor_line, self.cursor_col)
                self.message = ""
                self._refresh_all()
            else:  # the second mark copies and leaves, as in screen
                self.copy()
                self.dismiss(None)
        elif key == "enter":
            self.copy()
            self.dismiss(None)
        elif key in ("escape", "q"):
            self.dismiss(None)
        elif key in ("slash", "/", "question_mark"):
            self.app.push_screen(Prompt("search backwards:"), self._start_search)
        elif key == "n" and self.search_term:
            self._search()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.move(self.wheel_step)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.move(-self.wheel_step)

    def _start_search(self, term: str | None) -> None:
        if not term:
            return
        self.search_term = term
        missing = [index for index in range(self.history_total or 0) if index not in self.history]
        if missing:
            self.pending_search = True
            for index in range(0, self.history_total or 0, PAGE):
                self._ensure(index)
            self.message = "loading scrollback…"
            self._refresh_all()
            return
        self._search()

    def _search(self) -> None:
        for index in range(self.cursor_line - 1, -1, -1):
            text = self.line_text(index)
            if text is not None and self.search_term in text:
                self.cursor_line = index
                self.cursor_col = text.index(self.search_term)
                self.message = f"found {self.search_term!r}"
                self._scroll_to_cursor()
                self._refresh_all()
                return
        self.message = f"{self.search_term!r} not found"
        self._refresh_all()
