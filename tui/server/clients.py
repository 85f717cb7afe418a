"""One connection to the server, as the daemon sees it: who is on the other end (the kernel-checked uid and
its access), what it asked for in its hello (display or control, its terminal size, read-only), a paste
whose parts are still arriving, and the way messages go out to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from tui.protocol.framing import FrameError, encode_frame
from tui.term.terminal import PasteEncoder

log = logging.getLogger("hascreen.server")


@dataclass
class PasteInProgress:
    """A paste that comes in parts (protocol `paste` with `more`): the pane it goes to and how far it got."""

    pane: int
    encoder: PasteEncoder
    size: int = 0  # bytes written to the pane so far
    cut: bool = False  # it passed PASTE_LIMIT; the rest is dropped


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

    @property
    def is_display(self) -> bool:
        return self.mode != "control"

    def send(self, message: dict[str, Any]) -> None:
        if self.writer.is_closing():
            return
        try:
            self.writer.write(encode_frame(message))
        except (FrameError, ConnectionError, RuntimeError) as exc:
            log.warning("client %d: cannot send %s: %s", self.id, message.get("t"), exc)

    @property
    def buffered(self) -> int:
        transport = self.writer.transport
        return transport.get_write_buffer_size() if transport and not transport.is_closing() else 0
