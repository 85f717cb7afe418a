"""Drawing a pane's changed rows straight onto a client's terminal, as screen's and tmux's servers do.

A keystroke's echo otherwise takes one more process hop: the server sends the row to the client, which wakes,
decodes it and writes it to its terminal. For an echo-sized change the server can write those bytes itself,
then send the frame as always, marked `drawn`, so the client only brings Textual's picture in step. The
frame waits DRAWN_FRAME_DELAY first (`Client.send_later`, which keeps the order of frames): on two cores a
client woken at once took the CPU the user's terminal needed to show the echo. What makes that safe:

- **Whose terminal.** Only a client of the server's own uid asks for it, and the server opens the terminal
  the client already has open (`/proc/PID/fd/N` of the peer's SO_PEERCRED pid) and checks it is a tty and
  the same device the client named. Another user's client never gets direct writes.
- **What is on the client's screen.** The client declares (`direct` message) whether the panes are what its
  screen shows (its main screen: no dialog, copy mode or lock screen on top) and where its pane area
  starts. Each declaration has a generation; the server marks each drawn frame with the generation it drew
  for, and a client that receives a frame drawn for an older generation (its screen changed while the
  write was on its way) repaints its whole screen.
- **What the server writes.** Only what the client is entitled to see: the rows go through the same
  `frame_out` hook (the lock withholds them) and views before they are drawn. Only small changes of a
  client that sees the session unclipped and is not behind on frames (none queued; no layout, and no frame
  of that pane that the client draws itself, sent in the last DIRECT_AFTER_FRAMES: so a newer row never
  shows before the client has drawn an older one); and only colours its terminal shows as the client itself
  would draw them.
- **Never blocking, never interleaving.** The terminal is opened non-blocking. A tty write holds the
  terminal's write lock for the whole call, so the bytes never interleave with one of the client's own
  writes; when the client is writing (the lock is taken) or the terminal is full, the write fails at once
  with EAGAIN and the frame goes the usual way. A partial write (the terminal filled up mid-row) ends
  direct drawing for that client and asks it to repaint everything.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from typing import Any

from tui.protocol.messages import ATTR_SGR
from tui.term.screen import cell_width

log = logging.getLogger("hascreen.server")

DIRECT_ROWS = 2  # a frame that changes more rows than this goes through the client (its repaint is cheap)
TERMINAL_MAJORS = frozenset({4, *range(136, 144)})  # Linux's virtual consoles and serial ttys, pty slaves
DIRECT_AFTER_FRAMES = 0.1  # seconds after a frame the client draws itself before the server draws there again
DRAWN_FRAME_DELAY = 0.002  # a drawn frame waits this long (while the terminal shows the echo) before it goes out
REPAINT_EVERYTHING = -1  # the `drawn` mark that tells the client its screen may be torn: repaint it all

_PALETTE = {"black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_sgr_cache: dict[tuple[str, str, int, bool], str | None] = {}


def _colour_params(value: str, base: int, truecolor: bool) -> str | None:
    """SGR parameters of one run colour (the protocol's names or six hex digits), "" for the default, None
    for one the client's terminal would not show as it is (hex without truecolour, or an unknown value)."""
    if value == "default":
        return ""
    if value in _PALETTE:
        return str(base + _PALETTE[value])
    if value.startswith("bright") and value[6:] in _PALETTE:
        return str(base + 60 + _PALETTE[value[6:]])
    if truecolor and len(value) == 6 and _HEX_DIGITS.issuperset(value):
        red, green, blue = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
        return f"{base + 8};2;{red};{green};{blue}"
    return None


def run_sgr(fg: str, bg: str, attrs: int, truecolor: bool) -> str | None:
    """The SGR sequence that draws a run as the client draws it (palette colours stay palette indexes), or
    None when the server cannot draw it exactly."""
    key = (fg, bg, attrs, truecolor)
    if key in _sgr_cache:
        return _sgr_cache[key]
    fg_params = _colour_params(fg, 30, truecolor) if isinstance(fg, str) else None
    bg_params = _colour_params(bg, 40, truecolor) if isinstance(bg, str) else None
    sequence = None
    if fg_params is not None and bg_params is not None and isinstance(attrs, int):
        params = ["0"] + [str(code) for bit, code in ATTR_SGR if attrs & bit]
        params += [p for p in (fg_params, bg_params) if p]
        sequence = f"\x1b[{';'.join(params)}m"
    if len(_sgr_cache) < 4096:
        _sgr_cache[key] = sequence
    return sequence


@dataclass
class Placement:
    """Where a pane's rows go on the client's terminal: its region's first cell (0-based, terminal
    coordinates) and size, and where the terminal's cursor is left afterwards (None: where it was)."""

    x: int
    y: int
    width: int
    height: int
    cursor: tuple[int, int] | None
    cursor_shown: bool


class DirectTerminal:
    """A client's terminal, opened by the server for direct drawing, and the client's latest declaration."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.gen = 0
        self.on = False
        self.origin = (0, 0)  # the client's pane area's first cell on its terminal
        self.truecolor = False
        # monotonic times until which the client may still be drawing frames it was sent: a layout (no direct
        # drawing at all), or a frame of a pane that it draws itself (no direct drawing of that pane)
        self.layout_busy_until = 0.0
        self.pane_busy_until: dict[int, float] = {}

    @classmethod
    def open(cls, pid: int, fd: int, rdev: int) -> DirectTerminal:
        """Open the terminal that process `pid` has as its fd `fd`; OSError when it cannot be opened or is
        not that terminal device (`rdev`, as the client's fstat gave it)."""
        if pid <= 0 or not 0 <= fd < 65536:
            raise OSError(f"no terminal to open (pid {pid}, fd {fd})")
        path = f"/proc/{pid}/fd/{fd}"
        # looked at before it is opened: opening some devices does something (a tape rewinds)
        target = os.stat(path)
        if not (stat.S_ISCHR(target.st_mode) and target.st_rdev == rdev and os.major(rdev) in TERMINAL_MAJORS):
            raise OSError("not the terminal the client named")
        terminal = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(terminal)
            if not (stat.S_ISCHR(info.st_mode) and os.isatty(terminal)):
                raise OSError("not a terminal")
            if info.st_rdev != rdev:
                raise OSError("not the terminal the client named")
        except OSError:
            os.close(terminal)
            raise
        return cls(terminal)

    def declare(self, gen: int, on: bool, x: int, y: int, truecolor: bool) -> None:
        self.gen, self.on, self.origin, self.truecolor = gen, on, (x, y), truecolor

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self.on = False

    def render(self, rows: dict[str, Any], placement: Placement) -> bytes | None:
        """The bytes that draw these rows (protocol runs, keyed by pane row) at `placement` and leave the
        cursor where the client would, or None when they cannot be drawn exactly."""
        origin_x, origin_y = self.origin
        # the cursor hides while the rows are drawn, as the client's own writes do; when it is not left at a
        # new place it goes back where it was (DECSC/DECRC)
        parts = ["\x1b[?25l" if placement.cursor is not None else "\x1b[?25l\x1b7"]
        for key, runs in rows.items():
            y = int(key)
            if not 0 <= y < placement.height:
                return None
            parts.append(f"\x1b[{origin_y + placement.y + y + 1};{origin_x + placement.x + 1}H")
            width = 0
            for text, fg, bg, attrs in runs:
                sgr = run_sgr(fg, bg, attrs, self.truecolor)
                if sgr is None or not text.isprintable():
                    return None
                width += len(text) if text.isascii() else cell_width(text)
                parts.append(sgr)
                parts.append(text)
            if width != placement.width:
                return None  # mid-resize: the client draws it
        parts.append("\x1b[0m")
        if placement.cursor is None:
            parts.append("\x1b8")
        else:
            cursor_x, cursor_y = placement.cursor
            parts.append(f"\x1b[{origin_y + placement.y + cursor_y + 1};{origin_x + placement.x + cursor_x + 1}H")
        if placement.cursor_shown:
            parts.append("\x1b[?25h")
        return "".join(parts).encode("utf-8", "replace")

    def draw(self, rows: dict[str, Any], placement: Placement) -> int | None:
        """Draw the rows; returns the `drawn` mark for the frame (the generation drawn for, or
        REPAINT_EVERYTHING after a partial write), or None when nothing was written."""
        if not self.on or self.fd < 0:
            return None
        data = self.render(rows, placement)
        if data is None:
            return None
        try:
            written = os.write(self.fd, data)
        except BlockingIOError:
            return None  # the client is writing, or its terminal is full: the frame goes the usual way
        except OSError as exc:
            log.info("direct drawing stopped: %s", exc)
            self.close()
            return None
        if written < len(data):
            log.info("direct drawing stopped: the terminal took %d of %d bytes", written, len(data))
            self.close()
            return REPAINT_EVERYTHING
        return self.gen
