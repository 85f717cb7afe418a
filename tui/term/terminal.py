"""`Terminal`: the one emulator object the server keeps per pane (contract in docs/interfaces.md).

Owns the public face of tui.term: feed bytes, report dirty rows and render them as protocol runs, resize,
expose modes/title/bell/replies/cursor shape, read scrollback, and encode mouse events and pastes for the program.
`feed` never raises: a bug inside the emulator on some input is counted in `internal_errors` (the fuzz test
asserts it stays 0) and the pane keeps working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tui.protocol.messages import ATTR_REVERSE
from tui.term.screen import TermScreen
from tui.term.scrollback import Run
from tui.term.stream import TermStream

log = logging.getLogger(__name__)

MOUSE_KINDS = ("press", "release", "drag", "move", "scroll_up", "scroll_down")


@dataclass(frozen=True)
class TerminalModes:
    """The modes a program asked for, which decide how keys, mouse and pastes are encoded."""

    app_cursor: bool = False  # DECCKM: arrows send ESC O A instead of ESC [ A
    app_keypad: bool = False  # DECKPAM / mode 66
    bracketed_paste: bool = False  # mode 2004
    mouse: int = 0  # 0, 1000 (clicks), 1002 (+drag), 1003 (+all motion)
    mouse_sgr: bool = False  # mode 1006: SGR encoding of mouse reports
    alt_screen: bool = False  # 47/1047/1049 active


class Terminal:
    """A pane's emulator: pyte screen + fast stream + compact scrollback."""

    def __init__(self, cols: int, rows: int, scrollback: int = 10_000) -> None:
        self._screen = TermScreen(max(1, cols), max(1, rows), scrollback)
        self._stream = TermStream(self._screen)
        self.internal_errors = 0

    # ---- input ------------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Any bytes, split anywhere. Feed in bounded slices (see tui.term.feeding.FeedQueue)."""
        try:
            self._stream.feed(bytes(data))
        except Exception:  # the pane must survive any input; the fuzz test keeps this at zero
            self.internal_errors += 1
            log.exception("terminal emulator failed on input; state kept")
            self._stream._pending = ""
            self._stream._string = None

    # ---- screen -----------------------------------------------------------------------------------------

    @property
    def cols(self) -> int:
        return self._screen.columns

    @property
    def rows(self) -> int:
        return self._screen.lines

    @property
    def cursor(self) -> tuple[int, int]:
        screen = self._screen
        return (min(screen.cursor.x, screen.columns - 1), min(screen.cursor.y, screen.lines - 1))

    @property
    def cursor_visible(self) -> bool:
        return not self._screen.cursor.hidden

    @property
    def cursor_shape(self) -> int:
        """DECSCUSR as the program set it: 0 default, 1 blinking block, 2 block, 3 blinking underline,
        4 underline, 5 blinking bar, 6 bar."""
        return self._screen.cursor_shape

    def take_dirty(self) -> set[int]:
        dirty = {y for y in self._screen.dirty if 0 <= y < self._screen.lines}
        self._screen.dirty.clear()
        return dirty

    def render_row(self, y: int) -> list[Run]:
        """Row y as runs (text, fg, bg, attrs) covering exactly `cols` cells; [] outside the screen."""
        runs = self._screen.render_row(y)
        if self._screen.reverse_screen:
            return [(text, fg, bg, attrs ^ ATTR_REVERSE) for text, fg, bg, attrs in runs]
        return runs

    def display(self) -> list[str]:
        """Every row as plain text (for tests and debugging)."""
        return [self._screen.row_text(y) for y in range(self._screen.lines)]

    def resize(self, cols: int, rows: int) -> None:
        self._screen.resize(lines=max(1, rows), columns=max(1, cols))

    # ---- what the program asked for ---------------------------------------------------------------------

    @property
    def title(self) -> str | None:
        return self._screen.osc_title

    def take_bell(self) -> bool:
        rang = self._screen.bell_pending
        self._screen.bell_pending = False
        return rang

    def set_default_colours(self, fg: str, bg: str) -> None:
        """The default colours (6 hex digits each) that OSC 10/11 queries report; until set, light grey
        (aaaaaa) on black, the Linux console's, since the server cannot see the user's terminal."""
        for value in (fg, bg):
            if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
                raise ValueError(f"not a 6-digit hex colour: {value!r}")
        self._screen.default_fg, self._screen.default_bg = fg.lower(), bg.lower()

    def take_replies(self) -> bytes:
        replies = bytes(self._screen.replies)
        self._screen.replies.clear()
        return replies

    @property
    def modes(self) -> TerminalModes:
        s = self._screen
        return TerminalModes(app_cursor=s.app_cursor, app_keypad=s.app_keypad,
                             bracketed_paste=s.bracketed_paste, mouse=s.mouse_mode, mouse_sgr=s.mouse_sgr,
                             alt_screen=s.alt_active)

    # ---- scrollback -------------------------------------------------------------------------------------

    @property
    def scrollback_len(self) -> int:
        return len(self._screen.history)

    def scrollback_rows(self, start: int, count: int) -> list[list[Run]]:
        """History lines [start, start+count), 0 = oldest. Trailing default-style blanks are trimmed, so a
        line may cover fewer than `cols` cells (or more, if it was written before a narrowing resize)."""
        return self._screen.history.rows(start, count)

    # ---- encoding input for the program -----------------------------------------------------------------

    def encode_mouse(self, kind: str, button: int, x: int, y: int) -> bytes:
        """A mouse event at cell (x, y) of the pane (0-based) as the program asked to receive it.

        kind: press | release | drag (motion with a button held) | move (motion, no button) | scroll_up |
        scroll_down; button: 0 left, 1 middle, 2 right. Returns b"" when the program did not ask for
        this kind of event."""
        mode = self._screen.mouse_mode
        if not mode or kind not in MOUSE_KINDS:
            return b""
        if kind == "move" and mode != 1003:
            return b""
        if kind == "drag" and mode not in (1002, 1003):
            return b""
        button = button if button in (0, 1, 2) else 0
        if kind in ("scroll_up", "scroll_down"):
            code = 64 if kind == "scroll_up" else 65
        elif kind == "drag":
            code = 32 + button
        elif kind == "move":
            code = 35
        else:
            code = button
        x = min(max(0, x), self.cols - 1) + 1
        y = min(max(0, y), self.rows - 1) + 1
        if self._screen.mouse_sgr:
            final = "m" if kind == "release" else "M"
            return f"\x1b[<{code};{x};{y}{final}".encode()
        if kind == "release":
            code = 3
        # the legacy X10 encoding cannot express coordinates past 223
        return b"\x1b[M" + bytes([32 + code, 32 + min(x, 223), 32 + min(y, 223)])

    def encode_paste(self, text: str) -> bytes:
        """Text to paste: newlines become CR as a terminal sends them; bracketed when mode 2004 is on (a
        paste cannot end the bracket early: any ESC [ 201 ~ inside it is removed)."""
        body = text.replace("\r\n", "\r").replace("\n", "\r")
        if not self._screen.bracketed_paste:
            return body.encode("utf-8", "replace")
        while "\x1b[201~" in body:
            body = body.replace("\x1b[201~", "")
        return b"\x1b[200~" + body.encode("utf-8", "replace") + b"\x1b[201~"
