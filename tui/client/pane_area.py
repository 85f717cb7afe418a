"""The pane area: ONE line-API widget that draws every region of the current window.

State comes from the server: the latest `layout` (regions tiling the area, one focused) and, per pane, the
rows of cells from `rows` messages. Each pane row becomes a cached list of Segments; a screen line is composed
from the regions it crosses plus separator cells in the 1-cell gaps the server leaves between regions. When
rows change, only those lines are refreshed (refresh(Region) per dirty line), never the whole widget.

Keys that reach this widget as Textual events (Pilot tests, fallback) are encoded to bytes and posted up as
`PaneArea.KeyBytes`; the app runs them through the same prefix state machine as the raw driver's bytes.
Mouse: the wheel enters copy mode (or goes to the program when it asked for mouse events), a click focuses a
region, dragging a separator resizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.client.keys import encode_key
from tui.protocol.messages import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_DIM,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
)

_COLOR_NAMES = {"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"}
_style_cache: dict[tuple[str, str, int], Style] = {}


def _color(value: Any) -> str | None:
    if not isinstance(value, str) or value in ("", "default"):
        return None
    if value.startswith("bright") and value[6:] in _COLOR_NAMES:
        return "bright_" + value[6:]
    if value.startswith("bright_") or value in _COLOR_NAMES:
        return value
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return "#" + value
    return None


def run_style(fg: Any, bg: Any, attrs: Any) -> Style:
    """Rich Style for a run's colours and ATTR_* bits; unknown values fall back to the default colours."""
    key = (str(fg), str(bg), attrs if isinstance(attrs, int) else 0)
    style = _style_cache.get(key)
    if style is None:
        bits = key[2]
        style = Style(color=_color(fg), bgcolor=_color(bg), bold=bool(bits & ATTR_BOLD) or None,
                      dim=bool(bits & ATTR_DIM) or None, italic=bool(bits & ATTR_ITALIC) or None,
                      underline=bool(bits & ATTR_UNDERLINE) or None, reverse=bool(bits & ATTR_REVERSE) or None,
                      strike=bool(bits & ATTR_STRIKE) or None, blink=bool(bits & ATTR_BLINK) or None)
        _style_cache[key] = style
    return style


def runs_to_segments(runs: Any) -> list[Segment]:
    segments = []
    if not isinstance(runs, list):
        return segments
    for run in runs:
        if isinstance(run, list) and len(run) == 4 and isinstance(run[0], str):
            segments.append(Segment(run[0], run_style(run[1], run[2], run[3])))
    return segments


def runs_text(runs: Any) -> str:
    if not isinstance(runs, list):
        return ""
    return "".join(run[0] for run in runs if isinstance(run, list) and run and isinstance(run[0], str))


@dataclass
class PaneState:
    """What the client knows of one pane: rows of runs, cursor, modes. Replaced wholesale by a full snapshot."""

    rows: dict[int, list] = field(default_factory=dict)
    cursor: tuple[int, int, bool] = (0, 0, False)
    cursor_shape: int = 0  # DECSCUSR
    modes: dict[str, Any] = field(default_factory=dict)
    throttled: bool = False
    segments: dict[int, list[Segment]] = field(default_factory=dict)  # cache per row

    def row_segments(self, y: int) -> list[Segment]:
        cached = self.segments.get(y)
        if cached is None:
            cached = runs_to_segments(self.rows.get(y, []))
            self.segments[y] = cached
        return cached

    def text(self) -> str:
        """The pane's visible text, one line per row, trailing blanks stripped (tests and copy use it)."""
        if not self.rows:
            return ""
        last = max(self.rows)
        return "\n".join(runs_text(self.rows.get(y, [])).rstrip() for y in range(last + 1))


@dataclass(frozen=True)
class RegionBox:
    pane: int
    x: int
    y: int
    w: int
    h: int
    focused: bool

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


SEPARATOR = Style(color="bright_black")
SEPARATOR_FOCUSED = Style(color="bright_green", bold=True)
CURSOR = Style(reverse=True)
BLANK = Style()


class PaneArea(Widget, can_focus=True):
    """Draws the regions of the active window; see the module docstring."""

    DEFAULT_CSS = """
    PaneArea { width: 1fr; height: 1fr; }
    """

    class KeyBytes(Message):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    class Resized(Message):
        def __init__(self, cols: int, rows: int) -> None:
            super().__init__()
            self.cols = cols
            self.rows = rows

    class PaneMouse(Message):
        """A mouse event over a region: kind press|release|drag|move|scroll_up|scroll_down (as tui.term's
        encode_mouse), button 0 left, 1 middle, 2 right; x/y inside the pane."""

        def __init__(self, pane: int, kind: str, button: int, x: int, y: int, wants_mouse: bool) -> None:
            super().__init__()
            self.pane, self.kind, self.button, self.x, self.y = pane, kind, button, x, y
            self.wants_mouse = wants_mouse

    class SeparatorDrag(Message):
        """A separator was dragged: the region before it (left or above) should change by delta cells."""

        def __init__(self, pane: int, delta: int) -> None:
            super().__init__()
            self.pane = pane
            self.delta = delta

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.panes: dict[int, PaneState] = {}
        self.regions: list[RegionBox] = []
        self._lines: dict[int, Strip] = {}
        self._separators: dict[int, list[tuple[int, str, bool]]] = {}
        self._drag: tuple[int, str, int] | None = None  # (pane before the separator, axis, start coordinate)
        # the focused pane's cursor as a reverse-video cell; off while the terminal's own cursor shows it
        self.draw_cursor_cell = True

    # ---- state from the server ---------------------------------------------------------------------
    @property
    def focused_region(self) -> RegionBox | None:
        return next((region for region in self.regions if region.focused), None)

    @property
    def focused_pane(self) -> PaneState | None:
        region = self.focused_region
        return self.panes.get(region.pane) if region else None

    def apply_layout(self, message: dict[str, Any]) -> None:
        regions = []
        raw_regions = message.get("regions")
        for raw in raw_regions if isinstance(raw_regions, list) else []:
            if not isinstance(raw, dict):
                continue
            try:
                pane = raw.get("pane")  # None: an empty region (screen's split before C-a c)
                box = RegionBox(-1 if pane is None else int(pane), int(raw["x"]), int(raw["y"]),
                                int(raw["w"]), int(raw["h"]), bool(raw.get("focused")))
            except (KeyError, TypeError, ValueError):
                continue
            if box.x >= 0 and box.y >= 0 and 0 < box.w <= 1000 and 0 < box.h <= 1000:
                regions.append(box)
        self.regions = regions
        visible = {region.pane for region in regions}
        for pane in [pane for pane in self.panes if pane not in visible]:
            del self.panes[pane]  # the server sends a full snapshot when a pane shows up again
        self._compute_separators()
        self._lines.clear()
        self.refresh()

    def apply_rows(self, message: dict[str, Any]) -> list[int]:
        """Take a `rows` message into the pane's state; returns the widget's lines it changed, which are drawn
        anew from the state (`render_line`) but not yet refreshed in Textual (`refresh_lines`), so that the
        app can write an echo to the terminal before Textual's bookkeeping."""
        try:
            pane_id = int(message["pane"])
        except (KeyError, TypeError, ValueError):
            return []
        pane = self.panes.setdefault(pane_id, PaneState())
        dirty: set[int] = set()
        if message.get("full"):
            dirty |= set(pane.rows)
            pane.rows.clear()
            pane.segments.clear()
        rows = message.get("rows")
        if isinstance(rows, dict):
            for key, runs in rows.items():
                try:
                    y = int(key)
                except (TypeError, ValueError):
                    continue
                if not 0 <= y < 1000:
                    continue
                pane.rows[y] = runs if isinstance(runs, list) else []
                pane.segments.pop(y, None)
                dirty.add(y)
        cursor = message.get("cursor")
        if (isinstance(cursor, list) and len(cursor) == 3 and isinstance(cursor[0], int)
                and isinstance(cursor[1], int)):
            old = pane.cursor
            pane.cursor = (cursor[0], cursor[1], bool(cursor[2]))
            if old != pane.cursor:
                dirty |= {old[1], pane.cursor[1]}
        shape = message.get("cursor_shape")
        if isinstance(shape, int) and 0 <= shape <= 6:
            pane.cursor_shape = shape
        if isinstance(message.get("modes"), dict):
            pane.modes = message["modes"]
        if "throttled" in message:
            pane.throttled = bool(message["throttled"])
        changed = []
        for region in self.regions:
            if region.pane == pane_id:
                for y in dirty:
                    if 0 <= y < region.h:
                        self._lines.pop(region.y + y, None)
                        changed.append(region.y + y)
        return changed

    def refresh_lines(self, lines: list[int]) -> None:
        """Have Textual repaint these lines of the widget (after `apply_rows` changed them)."""
        width = self.size.width
        for y in lines:
            self.refresh(Region(0, y, width, 1))

    def terminal_cursor(self, origin: Region | None = None) -> tuple[int, int, int] | None:
        """(x, y, DECSCUSR shape) of the focused pane's cursor on the screen, None while it is hidden.
        `origin`: this widget's content region, when the caller has it already."""
        region = self.focused_region
        pane = self.panes.get(region.pane) if region else None
        if region is None or pane is None:
            return None
        cx, cy, visible = pane.cursor
        if not visible or not (0 <= cx < region.w and 0 <= cy < region.h):
            return None
        if origin is None:
            origin = self.content_region
        return origin.x + region.x + cx, origin.y + region.y + cy, pane.cursor_shape

    def pane_text(self, pane: int | None = None) -> str:
        if pane is None:
            region = self.focused_region
            pane = region.pane if region else -1
        state = self.panes.get(pane)
        return state.text() if state else ""

    # ---- drawing -----------------------------------------------------------------------------------
    def _compute_separators(self) -> None:
        """Characters for the gap cells between regions: '│' in vertical gaps, '─' in horizontal ones."""
        self._separators = {}
        if len(self.regions) < 2:
            return
        width = max(region.x + region.w for region in self.regions)
        height = max(region.y + region.h for region in self.regions)
        for y in range(height):
            cells = []
            for x in range(width):
                if any(region.contains(x, y) for region in self.regions):
                    continue
                left = next((r for r in self.regions if r.contains(x - 1, y)), None)
                right = next((r for r in self.regions if r.contains(x + 1, y)), None)
                up = next((r for r in self.regions if r.contains(x, y - 1)), None)
                down = next((r for r in self.regions if r.contains(x, y + 1)), None)
                if left or right:
                    char, near = "│", (left, right)
                elif up or down:
                    char, near = "─", (up, down)
                else:
                    char, near = "┼", ()
                cells.append((x, char, any(r is not None and r.focused for r in near)))
            if cells:
                self._separators[y] = cells
        self._mark_focus_arrows()

    def _mark_focus_arrows(self) -> None:
        """Arrows in the separators that point at the focused region, so it is visible in any split."""
        region = self.focused_region
        if region is None:
            return
        middle_y = region.y + region.h // 2
        middle_x = region.x + region.w // 2
        marks = {(region.x - 1, middle_y): "▶", (region.x + region.w, middle_y): "◀",
                 (middle_x, region.y - 1): "▼", (middle_x, region.y + region.h): "▲"}
        for (x, y), arrow in marks.items():
            cells = self._separators.get(y)
            if not cells:
                continue
            for i, (cell_x, _char, _focused) in enumerate(cells):
                if cell_x == x:
                    cells[i] = (x, arrow, True)

    def render_line(self, y: int) -> Strip:
        strip = self._lines.get(y)
        if strip is None:
            strip = self._compose_line(y)
            self._lines[y] = strip
        return strip

    def _compose_line(self, y: int) -> Strip:
        pieces: list[tuple[int, list[Segment]]] = []
        for region in self.regions:
            if region.y <= y < region.y + region.h:
                pieces.append((region.x, self._region_line(region, y - region.y)))
        for x, char, focused in self._separators.get(y, []):
            pieces.append((x, [Segment(char, SEPARATOR_FOCUSED if focused else SEPARATOR)]))
        pieces.sort(key=lambda piece: piece[0])
        segments: list[Segment] = []
        column = 0
        for x, piece in pieces:
            if x > column:
                segments.append(Segment(" " * (x - column), BLANK))
            elif x < column:
                continue  # overlapping regions from a bad layout: first one wins
            segments.extend(piece)
            column = x + Segment.get_line_length(piece)
        width = self.size.width
        return Strip(segments).adjust_cell_length(width, BLANK) if width else Strip(segments)

    def _region_line(self, region: RegionBox, row: int) -> list[Segment]:
        pane = self.panes.get(region.pane)
        if pane is None:
            return [Segment(" " * region.w, BLANK)]
        line = Strip(pane.row_segments(row)).adjust_cell_length(region.w, BLANK)
        cx, cy, visible = pane.cursor
        if self.draw_cursor_cell and region.focused and visible and cy == row and 0 <= cx < region.w:
            before, cell, after = line.divide([cx, cx + 1, region.w])
            cell = cell.apply_style(CURSOR) if cell.cell_length else Strip([Segment(" ", CURSOR)])
            return [*before, *cell, *after]
        return list(line)

    # ---- size, keys, mouse -------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()
        size: Size = event.size
        if size.width > 0 and size.height > 0:
            self.post_message(self.Resized(size.width, size.height))

    def on_key(self, event: events.Key) -> None:
        pane = self.focused_pane
        app_cursor = bool(pane and pane.modes.get("app_cursor"))
        data = encode_key(event.key, event.character, app_cursor)
        event.stop()
        event.prevent_default()
        if data:
            self.post_message(self.KeyBytes(data))

    def _region_at(self, x: int, y: int) -> RegionBox | None:
        return next((region for region in self.regions if region.contains(x, y)), None)

    def _separator_at(self, x: int, y: int) -> tuple[int, str] | None:
        """(pane before the separator, axis 'x' or 'y') for a gap cell, None elsewhere."""
        for cell_x, char, _focused in self._separators.get(y, []):
            if cell_x == x:
                if char in "│▶◀":
                    left = self._region_at(x - 1, y)
                    return (left.pane, "x") if left else None
                above = self._region_at(x, y - 1)
                return (above.pane, "y") if above else None
        return None

    def _mouse(self, event: events.MouseEvent, kind: str) -> None:
        region = self._region_at(event.x, event.y)
        if region is None or region.pane < 0:
            return
        pane = self.panes.get(region.pane)
        mode = pane.modes.get("mouse") if pane else 0
        if kind == "move" and mode != 1003:
            return  # plain motion only matters to programs that asked for all motion
        # Textual numbers buttons 1 left, 2 middle, 3 right; the protocol 0, 1, 2 like xterm
        button = max(event.button - 1, 0) if kind in ("press", "release", "drag") else 0
        self.post_message(self.PaneMouse(region.pane, kind, button, event.x - region.x, event.y - region.y,
                                         bool(mode)))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        separator = self._separator_at(event.x, event.y)
        if separator is not None:
            pane, axis = separator
            self._drag = (pane, axis, event.x if axis == "x" else event.y)
            self.capture_mouse()
            return
        self._mouse(event, "press")

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is not None:
            pane, axis, start = self._drag
            self._drag = None
            self.release_mouse()
            delta = (event.x if axis == "x" else event.y) - start
            if delta:
                self.post_message(self.SeparatorDrag(pane, delta))
            return
        self._mouse(event, "release")

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            self._mouse(event, "drag" if event.button else "move")

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._mouse(event, "scroll_up")

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._mouse(event, "scroll_down")
