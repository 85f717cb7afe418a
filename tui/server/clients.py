"""One connection to the server, as the daemon sees it: who is on the other end (the kernel-checked uid and
its access), what it asked for in its hello (display or control, its terminal size, read-only), a paste
whose parts are still arriving, and how much it may cost the server.

Everything the server sends a client goes through `Client.send` into one bounded outgoing buffer (the
socket's transport buffer, measured in bytes):
- above `ROWS_LIMIT` the frame pump sends it no pane contents (it is `stalled`, and gets a full snapshot
  once it has drained below a quarter of that), so a slow terminal never makes the server hold a backlog;
- above `READ_PAUSE` the server stops reading its requests until it drains; if it does not drain within
  `STALL_TIMEOUT` it is dropped with a logged reason;
- a message that would take it past `HARD_LIMIT` is not queued: the client is dropped at once.
Requests are paced by a token bucket (`RequestBudget`): read-only observers get a small budget, full clients
a large one, and a client out of budget is simply not read until it has tokens again. Warnings about one
client are rate-limited (`warn`), so a misbehaving client cannot flood the log.

A client's frames are read by its task in the daemon (`Client.read_message`), one at a time. A keystroke's
frame can also be taken the moment its bytes arrive (`ClientProtocol.take_at_once`), on the loop's turn that
read them, when nothing it could overtake is ahead of it: no bytes the task has not read yet, and the task
waiting for its next frame (`Client.waiting_for_frame`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.protocol.framing import FRAME_HEADER, FrameError, decode_body, encode_frame, read_frame_body
from tui.server.direct import DirectTerminal
from tui.term.terminal import PasteEncoder

log = logging.getLogger("hascreen.server")

ROWS_LIMIT = 4 << 20
READ_PAUSE = 6 << 20
HARD_LIMIT = 16 << 20
STALL_TIMEOUT = 60.0
LOG_BURST = 5  # warnings about one client per LOG_WINDOW seconds; the rest are counted, then summarised
LOG_WINDOW = 10.0


class LogLimiter:
    """Log lines about one source: at most `burst` per LOG_WINDOW seconds; the rest are counted and the
    count is logged when the next window opens."""

    def __init__(self, prefix: str = "", level: int = logging.WARNING, burst: int = LOG_BURST) -> None:
        self.prefix = prefix
        self.level = level
        self.burst = burst
        self._window = 0.0
        self._count = 0
        self._suppressed = 0

    def warn(self, text: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._window >= LOG_WINDOW:
            if self._suppressed:
                log.log(self.level, "%s%d more message(s) suppressed", self.prefix, self._suppressed)
            self._window, self._count, self._suppressed = now, 0, 0
        if self._count >= self.burst:
            self._suppressed += 1
            return
        self._count += 1
        log.log(self.level, self.prefix.replace("%", "%%") + text, *args)


class RequestBudget:
    """A token bucket: `rate` requests per second, up to `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = time.monotonic()

    def wait_for(self, cost: float = 1.0) -> float:
        """Take `cost` tokens; returns how long to wait before the request may run (0: at once)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= cost
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def take(self, cost: float = 1.0) -> bool:
        """Take `cost` tokens if the request may run at once (wait_for would say 0); else take nothing."""
        now = time.monotonic()
        tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        if tokens < cost:
            return False
        self.tokens, self.at = tokens - cost, now
        return True


FULL_BUDGET = (2000.0, 2000.0)  # typing, pastes and mouse motion stay far below this
READ_ONLY_BUDGET = (100.0, 400.0)  # a scrollback page of 500 lines costs 51


@dataclass
class PasteInProgress:
    """A paste that comes in parts (protocol `paste` with `more`): the pane it goes to and how far it got."""

    pane: int
    encoder: PasteEncoder
    size: int = 0  # bytes written to the pane so far
    cut: bool = False  # it passed PASTE_LIMIT; the rest is dropped


class ClientProtocol(asyncio.StreamReaderProtocol):
    """The stream protocol of one client connection, with a way to take a frame on arrival: `take_at_once`
    (set by the server) gets the bytes of a read first while none of the earlier ones wait unread in the
    stream (`unread`), and returns True when it handled them; otherwise they go to the stream as usual."""

    def __init__(self, reader: asyncio.StreamReader, connected: Callable[..., Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(reader, connected, loop=loop)
        self.take_at_once: Callable[[bytes], bool] | None = None
        self.unread = 0  # bytes handed to the stream that the client's task has not read as frames yet

    def data_received(self, data: bytes) -> None:
        if self.unread == 0 and self.take_at_once is not None and self.take_at_once(data):
            return
        self.unread += len(data)
        super().data_received(data)


@dataclass(eq=False)
class Client:
    id: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    uid: int
    user: str
    mode: str = "control"
    cols: int = 80
    rows: int = 24
    readonly: bool = False
    last_active: float = field(default_factory=time.monotonic)
    stalled: bool = False
    paste: PasteInProgress | None = None  # a paste whose parts are still arriving
    dropped: str = ""  # why the server gave up on this client
    budget: RequestBudget = field(default_factory=lambda: RequestBudget(*FULL_BUDGET))
    view_top: int = 0  # the first session row this client sees when its terminal is shorter than the session
    view_offsets: dict[int, tuple[int, int]] = field(default_factory=dict)  # pane → (first row, rows) it sees
    waiting_for_frame: bool = False  # its task waits in read_message
    pid: int = 0  # the peer's pid (SO_PEERCRED) when it connected
    direct: DirectTerminal | None = None  # its terminal, when the server may draw on it (tui.server.direct)
    direct_refused: bool = False  # its terminal could not be opened: not tried again
    held: list[dict[str, Any]] = field(default_factory=list)  # messages `send_later` holds back, in order
    held_handle: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        self.log = LogLimiter(f"client {self.id} ({self.user}): ")
        transport = self.writer.transport
        if transport is not None:
            # drain() then waits while more than READ_PAUSE is queued, until it is below ROWS_LIMIT / 4
            transport.set_write_buffer_limits(high=READ_PAUSE, low=ROWS_LIMIT // 4)

    @property
    def is_display(self) -> bool:
        return self.mode != "control"

    @property
    def protocol(self) -> ClientProtocol | None:
        transport = self.writer.transport
        protocol = transport.get_protocol() if transport is not None else None
        return protocol if isinstance(protocol, ClientProtocol) else None

    async def read_message(self, max_frame: int, frame_timeout: float | None = None) -> dict[str, Any] | None:
        """Its next frame, decoded (tui.protocol.framing.read_frame); None on a clean EOF between frames."""
        self.waiting_for_frame = True
        try:
            body = await read_frame_body(self.reader, max_frame, frame_timeout)
        finally:
            self.waiting_for_frame = False
        if body is None:
            return None
        protocol = self.protocol
        if protocol is not None:
            protocol.unread -= FRAME_HEADER + len(body)
        return decode_body(body)

    def send_later(self, message: dict[str, Any], delay: float) -> None:
        """Send this message in `delay` seconds, or before anything else sent to this client sooner: held
        messages keep their order. A frame the server drew on the client's terminal already (tui.server.
        direct) waits like this, so the CPU goes to the terminal showing it before the client wakes up."""
        self.held.append(message)
        if self.held_handle is None:
            self.held_handle = asyncio.get_running_loop().call_later(delay, self.send_held)

    def send_held(self) -> None:
        if self.held_handle is not None:
            self.held_handle.cancel()
            self.held_handle = None
        held, self.held = self.held, []
        for message in held:
            self._send_now(message)

    def send(self, message: dict[str, Any]) -> None:
        if self.held:
            self.send_held()
        self._send_now(message)

    def _send_now(self, message: dict[str, Any]) -> None:
        if self.writer.is_closing():
            return
        try:
            frame = encode_frame(message)
        except FrameError as exc:
            self.warn("cannot send %s: %s", message.get("t"), exc)
            return
        if self.buffered + len(frame) > HARD_LIMIT:
            self.drop(f"not reading what the server sends ({self.buffered >> 20} MiB queued)")
            return
        try:
            self.writer.write(frame)
        except (ConnectionError, RuntimeError) as exc:
            self.warn("cannot send %s: %s", message.get("t"), exc)

    def drop(self, reason: str) -> None:
        """Give up on this client: its connection is closed at once, and the reason logged."""
        if self.dropped:
            return
        self.dropped = reason
        log.warning("client %d (%s): dropped: %s", self.id, self.user, reason)
        transport = self.writer.transport
        if transport is not None:
            transport.abort()  # nothing more is owed to it; its queued bytes go away with it

    @property
    def buffered(self) -> int:
        transport = self.writer.transport
        return transport.get_write_buffer_size() if transport and not transport.is_closing() else 0

    async def wait_until_drained(self) -> None:
        """Called before reading its next request: stops reading while too much is queued for it."""
        if self.buffered <= READ_PAUSE:
            return
        try:
            await asyncio.wait_for(self.writer.drain(), STALL_TIMEOUT)
        except TimeoutError:
            self.drop(f"not reading what the server sends ({self.buffered >> 10} KiB queued for "
                      f"{STALL_TIMEOUT:.0f} s)")
        except (ConnectionError, RuntimeError):
            pass

    def warn(self, text: str, *args: Any) -> None:
        """A rate-limited warning about this client."""
        self.log.warn(text, *args)
