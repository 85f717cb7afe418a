"""The client's terminal input as raw bytes: a splitter and a Textual driver built on it.

Textual's key parser is lossy for a terminal multiplexer (slow or lost Esc, broken alt combinations, pastes
split at ESC, a crash on invalid UTF-8: see ARCHITECTURE.md "Keys: raw bytes to the panes"). So the driver
reads stdin itself and `RawInputSplitter` cuts the stream into:

- key bytes, posted to the app unchanged as `RawInput` (the app forwards them to the pane, or decodes them
  with tui.client.keys while a UI element has the focus);
- bracketed pastes, posted as Textual `Paste` events with their text intact (ESC included). A long paste is
  posted in parts as it arrives (`PastePart`, cut only between UTF-8 characters, each at most
  PASTE_PART_BYTES), the last one with `more=False`, so the server can hand it to the program as one paste;
- mouse reports, focus reports and terminal replies, which go through Textual's parser so widgets get
  ordinary mouse events.

The driver also keeps ISIG, IXON and IEXTEN off (Textual's LinuxDriver does that already) and turns off the
kitty keyboard protocol, so keys arrive as the legacy bytes programs in the panes expect.

Output: the terminal's own cursor shows the focused pane's cursor, as tmux does (its position, whether it is
shown, and its DECSCUSR shape, so blinking, bars and IME placement work). The app sets `show_cursor` and
`cursor_shape`; Textual moves the cursor to `App.cursor_position` at the end of every update; this driver
hides the cursor while an update is written and shows it again after. Small updates (an echo) are written
straight to the terminal when nothing is queued (`TerminalWriter`), saving a thread hand-off per keystroke.
"""

from __future__ import annotations

import asyncio
import os
import re
import termios
import threading
from dataclasses import dataclass
from queue import Queue
from typing import IO

from textual import constants, events
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from tui.protocol.messages import PASTE_PART_BYTES

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"

# Sequences the terminal sends that are not keys: SGR and X10 mouse, focus in/out, DECRPM and in-band resize
# replies. Everything else is a key and goes to the pane untouched.
_NOT_KEYS = re.compile(
    rb"\x1b\[<\d+;\d+;\d+[Mm]"  # SGR mouse
    rb"|\x1b\[M[\x20-\xff]{3}"  # X10 mouse
    rb"|\x1b\[[IO]"  # focus in / out
    rb"|\x1b\[\?\d+;\d+\$y"  # DECRPM reply (sync output / in-band resize support)
    rb"|\x1b\[48;\d+;\d+(?:;\d+;\d+)?t"  # in-band window resize
)
# A prefix of one of the above (or of the paste start) that may complete in the next read.
_INCOMPLETE = re.compile(rb"\x1b(?:\[(?:<[\d;]*|M.{0,2}|\?[\d;$]*|48[\d;]*|2(?:0(?:0)?)?)?)?\Z", re.S)


@dataclass(frozen=True)
class Piece:
    kind: str  # "keys" | "paste" | "terminal"
    data: bytes
    more: bool = False  # a paste part with more to come


def _utf8_safe_end(data: bytes | bytearray, end: int) -> int:
    """The largest cut <= end that does not split a UTF-8 character (invalid bytes are cut anywhere)."""
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte < 0x80:
            return end  # ASCII: everything before the cut is complete
        if byte >= 0xC0:  # a lead byte: does its character fit before the cut?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= need else end - back
    return end


class RawInputSplitter:
    """Incremental: feed() whatever read() returned; pieces come out in order, held bytes wait for more."""

    def __init__(self) -> None:
        self._held = b""
        self._paste: bytearray | None = None

    def feed(self, data: bytes) -> list[Piece]:
        if not self._held and self._paste is None and b"\x1b" not in data:
            return [Piece("keys", data)] if data else []  # plain keys, nearly every read: at once
        data = self._held + data
        self._held = b""
        pieces: list[Piece] = []
        keys = bytearray()
        i = 0
        while i < len(data):
            if self._paste is not None:
                end = data.find(PASTE_END, i)
                if end < 0:
                    # keep a possible partial end marker for the next read
                    tail = _partial_suffix(data[i:], PASTE_END)
                    self._paste += data[i : len(data) - tail]
                    self._held = data[len(data) - tail :]
                    pieces.extend(self._paste_parts())
                    return pieces
                self._paste += data[i:end]
                pieces.extend(self._paste_parts())
                pieces.append(Piece("paste", bytes(self._paste)))
                self._paste = None
                i = end + len(PASTE_END)
                continue
            escape = data.find(b"\x1b", i)
            if escape < 0:
                keys += data[i:]
                break
            keys += data[i:escape]
            rest = data[escape:]
            if rest.startswith(PASTE_START):
                if keys:
                    pieces.append(Piece("keys", bytes(keys)))
                    keys.clear()
                self._paste = bytearray()
                i = escape + len(PASTE_START)
                continue
            match = _NOT_KEYS.match(rest)
            if match:
                if keys:
                    pieces.append(Piece("keys", bytes(keys)))
                    keys.clear()
                pieces.append(Piece("terminal", match.group()))
                i = escape + match.end()
                continue
            if len(rest) > 1 and _INCOMPLETE.match(rest) and rest != b"\x1b[":
                self._held = rest  # e.g. "\x1b[<35;1" cut by the read; wait for the rest
                break
            keys += b"\x1b"
            i = escape + 1
        if keys:
            pieces.append(Piece("keys", bytes(keys)))
        return pieces

    def _paste_parts(self) -> list[Piece]:
        """Full parts of the paste in progress, cut between characters; the rest waits for more bytes."""
        parts = []
        assert self._paste is not None
        while len(self._paste) > PASTE_PART_BYTES:
            cut = _utf8_safe_end(self._paste, PASTE_PART_BYTES)
            parts.append(Piece("paste", bytes(self._paste[:cut]), more=True))
            del self._paste[:cut]
        return parts

    def flush(self) -> list[Piece]:
        """Give up waiting for the rest of a held sequence (called after a quiet read timeout)."""
        held, self._held = self._held, b""
        if self._paste is not None:
            return []
        return [Piece("keys", held)] if held else []


def _partial_suffix(data: bytes, marker: bytes) -> int:
    for length in range(min(len(marker) - 1, len(data)), 0, -1):
        if data.endswith(marker[:length]):
            return length
    return 0


INPUT_QUIET_SECONDS = 0.05  # after this long without input, a held partial sequence counts as keys
DIRECT_WRITE_CHARS = 4096  # an update this small goes out from the app's loop itself


class TerminalWriter(threading.Thread):
    """Output to the terminal in place of Textual's writer thread. Large writes go through this background
    thread, so a slow terminal never blocks the app's loop; a small one is written by the caller at once when
    the thread has nothing left to write (order is kept: only the app's loop writes, and only while nothing
    is pending)."""

    def __init__(self, file: IO[str]) -> None:
        super().__init__(daemon=True, name="hascreen-output")
        self._file = file
        self._queue: Queue[str | None] = Queue(30)
        self._state = threading.Lock()
        self._pending = 0  # writes handed to the thread and not yet written

    def write(self, text: str) -> None:
        with self._state:
            direct = self._pending == 0 and len(text) <= DIRECT_WRITE_CHARS
            if not direct:
                self._pending += 1
        if direct:
            self._file.write(text)
            self._file.flush()
        else:
            self._queue.put(text)

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def flush(self) -> None:
        return

    def run(self) -> None:
        while True:
            text = self._queue.get()
            if text is None:
                break
            self._file.write(text)
            if self._queue.empty():
                self._file.flush()
            with self._state:
                self._pending -= 1
        self._file.flush()

    def stop(self) -> None:
        with self._state:
            self._pending += 1
        self._queue.put(None)
        self.join()


class RawInput(Message):
    """Key bytes from the terminal, exactly as read."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data


class PastePart(events.Paste):
    """A Textual Paste that may be one part of a longer paste (`more`: parts follow). Handled as a Paste."""

    def __init__(self, text: str, more: bool = False) -> None:
        super().__init__(text)
        self.more = more


PastePart.handler_name = events.Paste.handler_name  # widgets and the app handle it as the Paste it is


class RawInputDriver(LinuxDriver):
    """LinuxDriver with its own input loop: raw key bytes for the panes, Textual events for the rest."""

    @classmethod
    def _patch_lflag(cls, attrs: int) -> int:
        # ^C ^Z ^\ and ^V belong to the pane's program, whatever TEXTUAL_ALLOW_SIGNALS says
        return attrs & ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)

    @classmethod
    def _patch_iflag(cls, attrs: int) -> int:
        # ^S ^Q too (no XON/XOFF flow control), and CR stays CR
        return attrs & ~(termios.IXON | termios.IXOFF | termios.ICRNL | termios.INLCR | termios.IGNCR)

    show_cursor = False  # the focused pane's cursor is visible and the console shows the panes
    cursor_shape = 0  # DECSCUSR of the focused pane
    _cursor_shown = False
    _shape_sent = 0

    @property
    def output_fd(self) -> int | None:
        """The file descriptor this driver draws on (the server may draw echoes on the same terminal)."""
        try:
            return self._file.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def terminal_written_by_server(self) -> None:
        """The server drew on the terminal (tui.server.direct) and may have shown the cursor: the next write
        hides it again if it should be hidden."""
        self._cursor_shown = True

    def start_application_mode(self) -> None:
        constants.DISABLE_KITTY_KEY = True  # type: ignore[misc]  # legacy key bytes, as panes expect
        super().start_application_mode()
        if self._writer_thread is not None:  # what Textual wrote so far goes out first, then ours takes over
            self._writer_thread.stop()
            writer = TerminalWriter(self._file)
            writer.start()
            self._writer_thread = writer  # type: ignore[assignment]

    def stop_application_mode(self) -> None:
        self.show_cursor = False
        if self._shape_sent:
            super().write("\x1b[0 q")  # the user's own cursor shape again
            self._shape_sent = 0
        super().stop_application_mode()

    def write(self, data: str) -> None:
        if self.show_cursor:
            shape = ""
            if self.cursor_shape != self._shape_sent:
                shape = f"\x1b[{self.cursor_shape} q"
                self._shape_sent = self.cursor_shape
            data = f"\x1b[?25l{data}{shape}\x1b[?25h"
            self._cursor_shown = True
        elif self._cursor_shown:
            data += "\x1b[?25l"
            self._cursor_shown = False
        super().write(data)

    def run_input_thread(self) -> None:
        """The terminal is read on the app's own loop (add_reader), so a keystroke reaches the pane without a
        thread hand-off; this thread (Textual's input thread) only waits until the driver stops."""
        self._input_stopped = False
        self._splitter = RawInputSplitter()
        self._parser = XTermParser(self._debug)
        self._idle_handle: asyncio.TimerHandle | None = None
        self._loop.call_soon_threadsafe(self._loop.add_reader, self.fileno, self._on_input_readable)
        self.exit_event.wait()
        self._input_stopped = True
        self._loop.call_soon_threadsafe(self._stop_reading_input)  # the loop may be waiting for this thread

    def _stop_reading_input(self) -> None:
        self._loop.remove_reader(self.fileno)
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None

    def _on_input_readable(self) -> None:
        if self._input_stopped:
            self._stop_reading_input()
            return
        try:
            data = os.read(self.fileno, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading_input()
            return
        self._dispatch(self._splitter.feed(data), self._parser)
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        self._idle_handle = self._loop.call_later(INPUT_QUIET_SECONDS, self._on_input_quiet)

    def _on_input_quiet(self) -> None:
        """No input for a moment: a held partial sequence is keys after all (a lone Esc), and the parser's
        own timeouts run."""
        self._idle_handle = None
        if self._input_stopped:
            return
        self._dispatch(self._splitter.flush(), self._parser)
        for event in self._parser.tick():
            self.process_message(event)

    def _dispatch(self, pieces: list[Piece], parser: XTermParser) -> None:
        for piece in pieces:
            if piece.kind == "keys":
                feed = getattr(self._app, "feed_terminal_bytes_on_loop", None)
                if feed is not None:
                    feed(piece.data)  # already on the app's loop: skipping the message queue saves ~0.3 ms
                else:
                    self.send_message(RawInput(piece.data))
            elif piece.kind == "paste":
                text = piece.data.decode("utf-8", "replace")
                self.process_message(PastePart(text, more=piece.more))
            else:
                for event in parser.feed(piece.data.decode("utf-8", "replace")):
                    self.process_message(event)
