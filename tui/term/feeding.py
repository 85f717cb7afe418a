"""Bounded feeding: how the server should hand a pane's output to its `Terminal`.

Owns the slicing and the back-pressure thresholds, not the scheduling (the server's event loop decides when
to call `feed_slice`). The server pushes what the channel delivers, feeds one slice per turn of its loop
(round-robin over panes), pauses reading the channel while `should_pause()` and resumes once
`should_resume()`. Nothing is ever dropped: back-pressure makes the program block instead.

While more output is queued than one slice holds, a slice ends after its last line feed (if that is in its
second half): the rest of the line comes with the next slice, a moment later. So a flood reaches the
emulator as whole lines, and its block path never draws a half line through cells only to scroll it back
as a block. The last slice of what is queued is never cut, so a prompt shows at once.

    queue = FeedQueue()
    backend.on_output = lambda data: (queue.push(data), backend.pause_reading() if queue.should_pause() else None)
    ... each tick: if queue.feed_slice(term): schedule another tick soon
                   if paused and queue.should_resume(): backend.resume_reading()
"""

from __future__ import annotations

from collections import deque

from tui.term.terminal import Terminal

FEED_SLICE_BYTES = 64 * 1024  # one slice: a few ms of plain text, ~10-20 ms of the heaviest redraw streams
HIGH_WATER_BYTES = 1024 * 1024  # stop reading the channel above this backlog
LOW_WATER_BYTES = 256 * 1024  # read again below this


class FeedQueue:
    """The bytes a pane produced that its Terminal has not parsed yet."""

    def __init__(self, slice_bytes: int = FEED_SLICE_BYTES, high_water: int = HIGH_WATER_BYTES,
                 low_water: int = LOW_WATER_BYTES) -> None:
        self.slice_bytes = max(1, slice_bytes)
        self.high_water = high_water
        self.low_water = min(low_water, high_water)
        self._chunks: deque[bytes] = deque()
        self.backlog = 0

    def push(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data))
            self.backlog += len(data)

    def take_slice(self) -> bytes:
        """Up to slice_bytes of the oldest pending output (chunks are split where needed), ending after a
        line feed while more is queued (see the module docstring)."""
        parts: list[bytes] = []
        room = self.slice_bytes
        while self._chunks and room:
            chunk = self._chunks[0]
            if len(chunk) <= room:
                parts.append(self._chunks.popleft())
                room -= len(chunk)
            else:
                parts.append(chunk[:room])
                self._chunks[0] = chunk[room:]
                room = 0
        data = b"".join(parts)
        if self._chunks and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            if cut > len(data) // 2:  # more is queued: the line's rest joins the next slice
                self._chunks.appendleft(data[cut:])
                data = data[:cut]
        self.backlog -= len(data)
        return data

    def feed_slice(self, terminal: Terminal) -> bool:
        """Feed one bounded slice; True while more output is waiting."""
        data = self.take_slice()
        if data:
            terminal.feed(data)
        return self.backlog > 0

    def should_pause(self) -> bool:
        return self.backlog >= self.high_water

    def should_resume(self) -> bool:
        return self.backlog <= self.low_water
