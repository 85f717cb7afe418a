"""Pane backends and the server-side pane: a program (local pty or SSH channel) plus its emulator.

`PtyBackend` runs a local program on a pseudo-terminal. `Pane` joins a backend to a `tui.term.Terminal` and
applies back-pressure: output goes into the term layer's `FeedQueue`, the scheduler in `tui.server.daemon`
feeds it to the emulator in bounded slices (sized by how long a slice takes, smallest while someone types in
another pane), and while too much is queued the backend stops reading, so the program blocks instead of the
server drowning. Nothing is dropped: every byte read is eventually fed.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from tui.term import Terminal
from tui.term.feeding import FeedQueue

READ_SIZE = 65536
READ_BUDGET = 16 * 1024  # at most this much (or a slice, if larger) per readable event: one pane cannot hold the loop
FLOOD_BYTES = 16 * 1024  # more output than this between two frames is a flood, not an interactive echo
FLOOD_WINDOW = 0.05  # ... and so is more than FLOOD_BYTES read within this many seconds (frames or not)
# a slice of output is parsed in one go (other panes' keystrokes and echoes wait meanwhile): it starts at
# SLICE_MIN_BYTES and doubles while a slice takes less than half of SLICE_SECONDS (lines that scroll straight
# into history are cheap in large blocks), and halves when one takes longer (e.g. cursor-heavy redraws) or
# the pane is no longer flooding
SLICE_MIN_BYTES = 8 * 1024
SLICE_MAX_BYTES = 64 * 1024
SLICE_SECONDS = 0.002
FLOOD_MEMORY = 1.0  # a pane that flooded counts as flooding this long after (its frames reset the count)


class PaneBackend(Protocol):
    on_output: Callable[[bytes], None]
    on_exit: Callable[[str], None]
    label: str

    async def start(self, cols: int, rows: int) -> None: ...
    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    async def close(self) -> None: ...


def _set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyBackend:
    """A local program on a pty. The program gets SIGWINCH from the kernel when the pty is resized."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
                 label: str | None = None) -> None:
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.label = label or os.path.basename(self.argv[0])
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.on_exit: Callable[[str], None] = lambda reason: None
        self._master = -1
        self._process: subprocess.Popen | None = None
        self._reading = False
        self._write_buffer = bytearray()
        self._closed = False
        self.read_budget = READ_BUDGET  # its pane raises it to its slice size while it floods

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self, cols: int, rows: int) -> None:
        master, slave = os.openpty()
        _set_winsize(master, cols, rows)
        try:
            self._process = subprocess.Popen(
                self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env, cwd=self.cwd,
                start_new_session=True, preexec_fn=_make_controlling_tty, close_fds=True,
            )
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self.resume_reading()

    def _on_readable(self) -> None:
        # a pty hands over at most ~4 KiB per read: read on while more is there (up to read_budget), so a
        # flood reaches the emulator in large blocks instead of one small block per turn of the loop
        total = 0
        while total < self.read_budget and self._reading:  # on_output pauses reading when the pane is behind
            try:
                data = os.read(self._master, READ_SIZE)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: the slave side closed, i.e. the program is gone
                    self.on_output(f"\r\n[hascreen] read error: {exc}\r\n".encode())
                data = b""
            if not data:
                self._finish()
                return
            self.on_output(data)
            total += len(data)

    def _finish(self) -> None:
        if self._closed:
            return
        self.pause_reading()
        asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        status = None
        for _ in range(50):  # the program closed its pty; give it up to ~1 s to exit
            status = self._process.poll() if self._process else 0
            if status is not None:
                break
            await asyncio.sleep(0.02)
        self._close_fd()
        if status is None:
            reason = "pty closed"
        elif status < 0:
            reason = f"killed by {signal.Signals(-status).name}"
        else:
            reason = f"exit status {status}"
        self.on_exit(reason)

    def write(self, data: bytes) -> None:
        if self._master < 0 or not data:
            return
        if self._write_buffer:
            self._write_buffer += data
            return
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            return
        if written < len(data):
            self._write_buffer += data[written:]
            asyncio.get_running_loop().add_writer(self._master, self._flush_writes)

    @property
    def write_backlog(self) -> int:
        """Bytes written to the program that it has not read yet (the server holds them)."""
        return len(self._write_buffer)

    def _flush_writes(self) -> None:
        try:
            written = os.write(self._master, self._write_buffer)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._write_buffer)
        del self._write_buffer[:written]
        if not self._write_buffer:
            asyncio.get_running_loop().remove_writer(self._master)

    def resize(self, cols: int, rows: int) -> None:
        if self._master >= 0:
            try:
                _set_winsize(self._master, cols, rows)
            except OSError:
                pass

    def pause_reading(self) -> None:
        if self._reading and self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
        self._reading = False

    def resume_reading(self) -> None:
        if not self._reading and self._master >= 0 and not self._closed:
            asyncio.get_running_loop().add_reader(self._master, self._on_readable)
            self._reading = True

    def _close_fd(self) -> None:
        if self._master >= 0:
            loop = asyncio.get_running_loop()
            self.pause_reading()
            if self._write_buffer:
                loop.remove_writer(self._master)
            os.close(self._master)
            self._master = -1

    async def close(self) -> None:
        """Hang up the program (SIGHUP to its session, SIGKILL if it lingers)."""
        if self._closed:
            return
        self._closed = True
        process = self._process
        if process and process.poll() is None:
            for sig, wait in ((signal.SIGHUP, 0.5), (signal.SIGKILL, 0.5)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                for _ in range(int(wait / 0.02)):
                    if process.poll() is not None:
                        break
                    await asyncio.sleep(0.02)
                if process.poll() is not None:
                    break
        self._close_fd()


class Pane:
    """A backend plus its emulator and the queue of output not yet parsed."""

    def __init__(self, pane_id: int, backend: PaneBackend, cols: int, rows: int, scrollback: int,
                 wake_feeder: Callable[[], None]) -> None:
        self.id = pane_id
        self.backend = backend
        self.terminal = Terminal(cols, rows, scrollback=scrollback)
        # slices sized by time keep the wait behind a flooding pane short (each turn of the loop parses one
        # slice); a flood past 256 KiB of backlog stops being read, so the program waits instead of the others
        self.queue = FeedQueue(slice_bytes=SLICE_MIN_BYTES, high_water=256 * 1024, low_water=64 * 1024)
        self.throttled = False
        self.exited: str | None = None
        self.sent_modes: tuple | None = None  # the modes clients last heard about
        self.sent_cursor: tuple | None = None  # the cursor (x, y, visible, shape) clients last heard about
        self.last_frame = 0.0  # loop time of the last rows sent for this pane
        self.fed_since_frame = 0  # bytes parsed since then: a pane past FLOOD_BYTES is drawn less often
        self.flooded_at = -FLOOD_MEMORY  # monotonic time it was last seen flooding
        self._burst_start = -FLOOD_WINDOW  # when the current window of reads began, and what it brought
        self._burst_bytes = 0
        self._wake_feeder = wake_feeder
        # extension point: called with every chunk of the program's output as it arrives (screen's `log`)
        self.output_listeners: list[Callable[[bytes], None]] = []
        backend.on_output = self._queue_output

    @property
    def size(self) -> tuple[int, int]:
        return self.terminal.cols, self.terminal.rows

    @property
    def pending(self) -> bool:
        return self.queue.backlog > 0

    def _queue_output(self, data: bytes) -> None:
        for listener in self.output_listeners:
            listener(data)
        self.queue.push(data)
        # a flood is seen by what arrives, too: with no client attached, frames come at every read and reset
        # fed_since_frame, so a detached pane would be fed read by read (4 KiB, cut inside lines)
        now = time.monotonic()
        if now - self._burst_start > FLOOD_WINDOW:
            self._burst_start = now
            self._burst_bytes = 0
        self._burst_bytes += len(data)
        if self._burst_bytes > FLOOD_BYTES:
            self.flooded_at = now
        if not self.throttled and self.queue.should_pause():
            self.throttled = True
            self.backend.pause_reading()
        self._wake_feeder()

    @property
    def flooding(self) -> bool:
        now = time.monotonic()
        if self.throttled or self.fed_since_frame > FLOOD_BYTES:
            self.flooded_at = now
            return True
        return now - self.flooded_at < FLOOD_MEMORY

    def feed_slice(self) -> None:
        """Parse one bounded slice of the queued output and answer the program's queries."""
        queue = self.queue
        before = queue.backlog
        started = time.perf_counter()
        queue.feed_slice(self.terminal)
        elapsed = time.perf_counter() - started
        fed = before - queue.backlog
        self.fed_since_frame += fed
        if elapsed > SLICE_SECONDS or not self.flooding:  # a new flood starts small
            self._set_slice(max(SLICE_MIN_BYTES, queue.slice_bytes // 2))
        elif elapsed < SLICE_SECONDS / 2 and fed >= queue.slice_bytes // 2:  # a full slice (lines end it)
            self._set_slice(min(SLICE_MAX_BYTES, queue.slice_bytes * 2))
        replies = self.terminal.take_replies()
        if replies:
            self.backend.write(replies)
        if self.throttled and self.queue.should_resume():
            self.throttled = False
            self.backend.resume_reading()

    def yield_to_typing(self) -> None:
        """Someone types in another pane: parse this flood in the smallest slices (its pace then leaves
        the CPU to the keystroke's round trip; it grows again once they stop)."""
        self._set_slice(SLICE_MIN_BYTES)

    def _set_slice(self, size: int) -> None:
        # a pty is read a slice at a time too: a block of many lines is what makes a flood cheap to parse
        self.queue.slice_bytes = size
        if isinstance(self.backend, PtyBackend):
            self.backend.read_budget = max(READ_BUDGET, size)

    def drop_backlog(self) -> None:
        while self.queue.take_slice():
            pass

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) != self.size and cols > 0 and rows > 0:
            self.terminal.resize(cols, rows)
            self.backend.resize(cols, rows)
