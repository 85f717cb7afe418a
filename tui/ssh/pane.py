"""`SshPane`: an interactive shell on a remote PTY, as a PaneBackend (docs/interfaces.md), that survives links.

Owns one pane's SSH channel on the host's shared connection: the PTY request (TERM=xterm-256color),
bytes in and out (encoding=None), remote resizes, back-pressure (pausing the channel's reads), and
reconnecting. When the link drops (keepalive timeout, reset, reboot), the pane stays alive: it writes
an in-place notice through on_output, retries with exponential backoff (1, 2, 4 ... 30 s), says
what happened when it is back, and `reconnect_now()` skips the wait. The scrollback lives in the
server's emulator, so nothing is lost on this side. A host key that changed during the outage stops
the retries (never connect to a possible man-in-the-middle). With `remote_multiplexer` (tmux, screen,
dtach) the remote shell runs inside a named session that a reconnect re-enters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
import time
import uuid
from collections.abc import Callable

import asyncssh

from tui.runner import HostUnreachable
from tui.ssh.host_keys import HostKeyChanged, HostKeyUnknown

log = logging.getLogger(__name__)

TERM_TYPE = "xterm-256color"
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
NOTICE_PREFIX = "[hascreen]"


def remote_session_name(pane_id: str) -> str:
    """`hascreen-<pane>` restricted to characters every multiplexer and shell accepts."""
    return "hascreen-" + re.sub(r"[^A-Za-z0-9_-]", "-", pane_id)[:40]


def remote_multiplexer_command(kind: str | None, pane_id: str) -> str | None:
    """The remote command for the pane's shell: None for the login shell, else a re-enterable session.

    Falls back to the login shell (with a note) when the multiplexer is not installed on the host."""
    if not kind:
        return None
    name = remote_session_name(pane_id)
    if kind == "tmux":
        inner = f"exec tmux new-session -A -s {shlex.quote(name)}"
    elif kind == "screen":
        inner = f"exec screen -xRR -S {shlex.quote(name)}"
    elif kind == "dtach":
        sock = f'"${{XDG_RUNTIME_DIR:-/tmp}}"/{shlex.quote(name + ".dtach")}'
        inner = f'exec dtach -A {sock} -r winch "${{SHELL:-/bin/sh}}"'
    else:
        raise ValueError(f"unknown remote multiplexer {kind!r}")
    note = shlex.quote(
        f"{NOTICE_PREFIX} {kind} not found on this host: plain login shell (not kept on reconnect)"
    )
    return (
        f"if command -v {kind} >/dev/null 2>&1; then {inner}; "
        f'else echo {note} >&2; exec "${{SHELL:-/bin/sh}}" -l; fi'
    )


class _PaneSession(asyncssh.SSHClientSession):
    """Forwards one channel's events to its pane; stale sessions (before a reconnect) are ignored."""

    def __init__(self, pane: SshPane, conn: asyncssh.SSHClientConnection) -> None:
        self._pane = pane
        self.conn = conn
        self.exit_reason: str | None = None

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self._pane._data_from(self, data)

    def exit_status_received(self, status: int) -> None:
        self.exit_reason = f"exit status {status}"

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_reason = f"killed by signal {signal}" + (" (core dumped)" if core_dumped else "")

    def connection_lost(self, exc: Exception | None) -> None:
        self._pane._session_ended(self, exc)


def _ignore_output(data: bytes) -> None:
    pass


def _ignore_exit(reason: str) -> None:
    pass


class SshPane:
    """PaneBackend for a shell on `host`, borrowing the host's connection from an SshPool."""

    def __init__(
        self, pool, host: str, *, pane_id: str | None = None, backoff_max: float = BACKOFF_MAX
    ) -> None:
        self._pool = pool
        self.host = host
        self.label = host
        self.pane_id = pane_id or uuid.uuid4().hex[:8]
        self.on_output: Callable[[bytes], None] = _ignore_output
        self.on_exit: Callable[[str], None] = _ignore_exit
        self._backoff_max = backoff_max
        self._size = (80, 24)
        self._chan: asyncssh.SSHClientChannel | None = None
        self._session: _PaneSession | None = None
        self._paused = False
        self._closing = False
        self._exited = False
        self._reconnect_task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._skip_next_wait = False
        self._multiplexer: str | None = None
        self.reconnects = 0

    # ------------------------------------------------------------- PaneBackend

    async def start(self, cols: int, rows: int) -> None:
        """Open the remote shell. Raises HostUnreachable (HostKeyUnknown/HostKeyChanged included)."""
        self._size = (cols, rows)
        await self._open_channel()

    def write(self, data: bytes) -> None:
        # While disconnected, keys are dropped on purpose: replaying blind typing later is dangerous.
        chan = self._chan
        if chan is None or not data:
            return
        with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
            chan.write(data)

    def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._chan is not None:
            with contextlib.suppress(asyncssh.Error, OSError):
                self._chan.change_terminal_size(cols, rows)

    def pause_reading(self) -> None:
        self._paused = True
        if self._chan is not None:
            self._chan.pause_reading()

    def resume_reading(self) -> None:
        self._paused = False
        if self._chan is not None:
            self._chan.resume_reading()

    async def close(self) -> None:
        self._closing = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        chan, self._chan = self._chan, None
        self._session = None
        if chan is not None:
            chan.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(chan.wait_closed(), 5)

    # -------------------------------------------------------------- reconnects

    @property
    def connected(self) -> bool:
        return self._chan is not None

    def reconnect_now(self) -> None:
        """The `reconnect` command: retry at once if waiting, else open a fresh connection to the host."""
        if self._closing or self._exited:
            return
        self._skip_next_wait = True
        if self._reconnect_task is not None:
            self._wake.set()
        else:
            # A link that hangs without keepalive noticing yet: drop it; every pane of the host reconnects.
            self._pool.drop(self.host)

    async def _open_channel(self) -> None:
        conn = await self._pool.connection(self.host)
        settings = self._pool.settings(self.host)
        self._multiplexer = settings.remote_multiplexer
        command = remote_multiplexer_command(settings.remote_multiplexer, self.pane_id)
        session = _PaneSession(self, conn)
        cols, rows = self._size
        try:
            chan, _ = await conn.create_session(
                lambda: session,
                command,
                term_type=TERM_TYPE,
                term_size=(cols, rows),
                request_pty="force",
                encoding=None,
            )
        except asyncssh.ChannelOpenError as exc:
            raise HostUnreachable(self.host, f"cannot open a shell channel: {exc.reason}") from exc
        except (asyncssh.Error, OSError) as exc:
            raise HostUnreachable(self.host, f"cannot open a shell: {exc}") from exc
        self._session = session
        self._chan = chan
        if self._paused:
            chan.pause_reading()
        if self._size != (cols, rows):  # resized while the channel was opening
            chan.change_terminal_size(*self._size)

    def _data_from(self, session: _PaneSession, data: bytes) -> None:
        if session is self._session:
            self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        # The connection is shared: a failing consumer must not raise into asyncssh and kill it.
        try:
            self.on_output(data)
        except Exception:
            log.exception("on_output of ssh pane %s (%s) failed", self.pane_id, self.host)

    def _notice(self, text: str) -> None:
        self._deliver(f"\r\n{NOTICE_PREFIX} {text}\r\n".encode())

    def _session_ended(self, session: _PaneSession, exc: Exception | None) -> None:
        if session is not self._session or self._closing:
            return
        self._chan = None
        self._session = None
        if session.exit_reason is not None:
            self._finish(session.exit_reason)
            return
        if self._pool.closed:
            self._finish("ssh connections closed")
            return
        if exc is None and not self._pool.was_dropped(session.conn):
            self._finish("session closed by the host")
            return
        reason = str(exc) if exc else (self._pool.lost_reason(self.host) or "connection closed")
        if self._skip_next_wait:
            reason = "reconnect requested"
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop(reason))

    def _finish(self, reason: str) -> None:
        if not self._exited:
            self._exited = True
            try:
                self.on_exit(reason)
            except Exception:
                log.exception("on_exit of ssh pane %s (%s) failed", self.pane_id, self.host)

    async def _wait(self, delay: float) -> None:
        if self._skip_next_wait:
            self._skip_next_wait = False
            return
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._skip_next_wait = False

    async def _reconnect_loop(self, reason: str) -> None:
        down_since = time.monotonic()
        delay = BACKOFF_FIRST
        attempts = 0
        if self._skip_next_wait:
            self._notice(f"disconnected — reconnecting now ({reason})")
        else:
            self._notice(f"disconnected — reconnecting in {delay:g}s ({reason})")
        try:
            while not self._closing:
                await self._wait(delay)
                attempts += 1
                try:
                    await self._open_channel()
                except (HostKeyChanged, HostKeyUnknown) as exc:
                    self._notice(exc.reason.replace("\n", "\r\n"))
                    self._notice("not reconnecting: host key refused")
                    self._finish("host key refused")
                    return
                except HostUnreachable as exc:
                    if self._pool.closed:
                        self._finish("ssh connections closed")
                        return
                    delay = min(delay * 2, self._backoff_max)
                    self._notice(f"reconnect failed ({exc.reason}) — retrying in {delay:g}s")
                    continue
                self.reconnects += 1
                down = time.monotonic() - down_since
                shell = (
                    f"re-entered {self._multiplexer} session {remote_session_name(self.pane_id)}"
                    if self._multiplexer
                    else "new shell: the old one ended with the link"
                )
                tries = "attempt" if attempts == 1 else "attempts"
                self._notice(f"reconnected to {self.host} after {down:.0f}s ({attempts} {tries}); {shell}")
                return
        finally:
            if self._reconnect_task is asyncio.current_task():
                self._reconnect_task = None
