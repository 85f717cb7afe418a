"""The hascreen server: the single owner of a session's state, and the only terminal emulator.

It owns the session model, every pane, the attached clients and the loops that tie them together:
- the feeder parses pane output in bounded slices, round robin, yielding between slices so keystrokes,
  attaches and health updates stay responsive while one pane floods;
- the frame pump sends changed rows of visible panes to clients, coalesced to at most 60 frames/s;
- each client connection is checked (SO_PEERCRED uid), handshaken (protocol version) and validated; a bad
  frame or message drops that client with a logged reason and never the server. What one client may cost
  (its outgoing queue, its request rate, a frame in progress, an idle control connection) is bounded
  (tui.server.clients), and requests are served one at a time with the event loop free in between. A
  keystroke's frame that arrives while its client's task waits for the next one is taken at once, on the
  loop's turn that read it (`_take_at_once`), and its echo is parsed and drawn as soon as the pane answers;
- access: the owner and the ACL's "full" users act; "read-only" observers only watch — they never type,
  run session commands, reshape the session or detach anyone but themselves. Only the holder (or the owner)
  detaches other clients;
- size: the latest active full client sets the session's size (tmux's `window-size latest`); every other
  client sees it clipped or padded to its own terminal (tui.server.views).
Everything else (the window commands, SSH hosts, health, procedures, the lock) is an integration that the
composition root (tui.server.composition) installs through the extension points of tui.server.hooks: the
daemon emits the hooks and runs the commands registered in its `CommandTable`, and knows nothing more of them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import pwd
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.commands import CommandError
from tui.commands.registry import check_invocation
from tui.model import ModelError, Session
from tui.protocol.framing import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    FrameError,
    clean_text,
    decode_body,
    read_frame,
    whole_frame_body,
)
from tui.protocol.messages import (
    PASTE_LIMIT,
    MessageError,
    decode_bytes,
    input_message_of,
    make_error,
    make_notice,
    make_result,
    validate_client_message,
)
from tui.server.clients import (
    READ_ONLY_BUDGET,
    ROWS_LIMIT,
    Client,
    ClientProtocol,
    LogLimiter,
    PasteInProgress,
    RequestBudget,
)
from tui.server.direct import (
    DIRECT_AFTER_FRAMES,
    DIRECT_ROWS,
    DRAWN_FRAME_DELAY,
    REPAINT_EVERYTHING,
    DirectTerminal,
    Placement,
)
from tui.server.hooks import CommandTable, ServerHooks
from tui.server.panes import Pane, PaneBackend, PtyBackend
from tui.server.socketdir import open_private_log, peer_credentials
from tui.server.views import clip_layout, clip_rows, view_top

log = logging.getLogger("hascreen.server")

FRAME_INTERVAL = 1 / 60
# frames are rate-limited by a token bucket: a flood gets 60 frames/s, while an echo after a quiet moment
# goes out at once instead of waiting for the next 1/60 s tick
FRAME_BURST = 4
# output up to this size from a pane that is not flooding is parsed and drawn as soon as it is read
ECHO_BYTES = 4096
# for this long after a keystroke, a flood in another pane pauses this long after each slice
TYPING_SECONDS = 1.0
TYPING_PAUSE = 0.001
# a pane that floods (throttled) is drawn at most this often, so the panes people type in keep the frames
FLOOD_FRAME_INTERVAL = 1 / 20
HELLO_TIMEOUT = 10.0
PASTE_BACKLOG = 4 << 20  # bytes of a paste the program may have unread before its client is read again
PASTE_STALL = 5.0  # seconds a program may read none of a paste before the rest of it is dropped
HELLO_MAX = 64 * 1024  # bytes of the first frame: a hello is small, whoever sends it
FRAME_TIMEOUT = 10.0  # a frame in progress must complete within this (plus its length at 128 KiB/s)
CONTROL_IDLE_TIMEOUT = 600.0  # a control connection (-X, -ls) silent this long is closed
# connections one uid may hold open at once: each may hold a frame in progress of up to 8 MiB
MAX_CONNECTIONS_PER_UID = 32
SCROLLBACK_PAGE = 1000  # lines per scrollback reply
# a frame up to this size may be a keystroke taken on arrival; a larger one goes to the client's task undecoded
# (so that nothing large is decoded twice)
INPUT_AT_ONCE_MAX = 1024
SCROLLBACK_SLICE = 200  # lines rendered between two yields to the event loop
# what observers may still ask for: nothing that changes the session or another client (a display
# observer's detach and redraw concern only itself)
READ_ONLY_COMMANDS = frozenset({"detach", "redraw", "list-windows"})
READ_ONLY_CONTROL_COMMANDS = frozenset({"list-windows"})


def _command_name(message: dict[str, Any]) -> str | None:
    """The command a `command` message names, screen's names resolved (`windows` is `list-windows`)."""
    args = message.get("args") or []
    if not isinstance(args, list):
        return None
    try:
        return check_invocation(str(message.get("name")), [str(a) for a in args]).name
    except CommandError:
        return None

MessageHandler = Callable[[Client, dict[str, Any]], Awaitable[None]]


@dataclass
class ServerOptions:
    session: str
    socket_path: Path
    shell: list[str] | None = None
    scrollback: int = 10_000
    cwd: str | None = None
    initial_commands: list[str] = field(default_factory=list)
    allowed_uids: dict[int, str] = field(default_factory=dict)  # uid → "full" | "read-only" (multi-user ACL)


class Server:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        # names are made valid Unicode where they enter (a session, window or program name may hold bytes
        # that are not UTF-8): every frame that carries them must encode
        self.session = Session(clean_text(options.session))
        self.created = time.time()
        self.owner_uid = os.getuid()
        self.owner = _user_name(self.owner_uid)
        self.holder = self.owner
        self.panes: dict[int, Pane] = {}
        self.clients: dict[int, Client] = {}
        self.cols, self.rows = 80, 24
        self._next_pane = 1
        self._next_client = 1
        self._feed_wakeup = asyncio.Event()
        self._typing: tuple[int, float] = (-1, float("-inf"))  # (pane, loop time) of the last keystroke
        self._frame_handle: asyncio.TimerHandle | None = None
        self._frame_tokens = float(FRAME_BURST)
        self._frame_tokens_at = 0.0
        self._layout_version_sent = -1
        self._geometry: dict[int, tuple[int, int, int, int]] = {}  # pane → (x, y, w, h) last sent
        self._shown_twice: set[int] = set()  # panes whose window shows in two regions
        self._visible: tuple[tuple[int, int, int], dict[int, tuple[int, int, int, int]]] = ((-1, 0, 0), {})
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self.hooks = ServerHooks()
        self.commands = CommandTable()
        self._message_handlers: dict[str, MessageHandler] = {}
        self._drop_log = LogLimiter()
        self._connection_log = LogLimiter(level=logging.INFO, burst=20)  # attaches and lost connections
        self._connections: collections.Counter[int] = collections.Counter()  # open connections per uid

    def handle_message(self, kind: str, handler: MessageHandler) -> None:
        """Let an integration answer a client message type that the core leaves to it (e.g. `unlock`).
        The handler decides who may send it."""
        if kind in self._message_handlers:
            raise ValueError(f"{kind}: already handled")
        self._message_handlers[kind] = handler

    # ---- lifecycle ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
        old_umask = os.umask(0o177)

        def connection() -> ClientProtocol:  # asyncio.start_unix_server's, with our protocol
            return ClientProtocol(asyncio.StreamReader(limit=1 << 20, loop=loop), self._accept, loop)

        try:
            server = await loop.create_unix_server(connection, path=str(self.options.socket_path))
        finally:
            os.umask(old_umask)
        self._spawn(self._feed_loop())
        try:
            if self.options.initial_commands:
                for line in self.options.initial_commands:
                    reply = await self.commands.run_line(line, None)
                    if not reply.ok:
                        log.warning("initial command %r: %s", line, reply.message)
            if not self.session.windows:
                await self.new_window()
            await self._stopping.wait()
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.options.socket_path.unlink()
            await self._shutdown()

    async def _shutdown(self) -> None:
        for client in list(self.clients.values()):
            client.send({"t": "detached", "reason": "session ended", "ended": True})
            await self._close_client(client)
        for pane in list(self.panes.values()):
            await pane.backend.close()
        await self.hooks.stopping.emit_async()
        for task in self._tasks:
            task.cancel()

    def stop(self) -> None:
        self._stopping.set()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task failed", exc_info=task.exception())

    # ---- panes and windows -------------------------------------------------------------------------------
    def _pane_size(self) -> tuple[int, int]:
        rect = next((rect for region, rect in self.session.layout(self.cols, self.rows)
                     if region is self.session.focused), None)
        return (rect.w, rect.h) if rect and rect.w > 0 and rect.h > 0 else (self.cols, self.rows)

    def default_shell(self) -> list[str]:
        if self.options.shell:
            return list(self.options.shell)
        shell = os.environ.get("SHELL") or pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
        return [shell]

    def pane_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TERM="xterm-256color", HASCREEN=self.options.session, STY=self.options.socket_path.name)
        env.pop("TMUX", None)
        return env

    async def new_window(self, argv: list[str] | None = None, name: str | None = None,
                         backend: PaneBackend | None = None) -> int:
        if backend is None:
            argv = argv or self.default_shell()
            backend = PtyBackend(argv, env=self.pane_env(), cwd=self.options.cwd)
        cols, rows = self._pane_size()
        pane_id = self._next_pane
        self._next_pane += 1
        pane = Pane(pane_id, backend, cols, rows, self.options.scrollback,
                    lambda pane_id=pane_id: self._pane_output(pane_id))
        backend.on_exit = lambda reason, pane_id=pane_id: self._pane_exited(pane_id, reason)
        await backend.start(cols, rows)
        self.panes[pane_id] = pane
        window = self.session.add_window(pane_id, clean_text(name or backend.label), user_named=bool(name))
        self.hooks.pane_created.emit(pane)
        self.layout_changed()
        return window.number

    def _pane_exited(self, pane_id: int, reason: str) -> None:
        pane = self.panes.get(pane_id)
        if pane is None:
            return
        pane.exited = reason
        self.hooks.pane_exited.emit(pane, reason)
        # the last output may still be queued: let the feeder drain it before the window goes
        self._spawn(self._remove_pane_when_drained(pane))

    async def _remove_pane_when_drained(self, pane: Pane) -> None:
        for _ in range(200):
            if not pane.pending:
                break
            await asyncio.sleep(0.01)
        window = self.session.window_by_pane(pane.id)
        self.panes.pop(pane.id, None)
        if window is not None:
            self.session.remove_window(window.number)
            self.broadcast(make_notice(f"window {window.number} ({window.name}) closed: {pane.exited}"))
        if not self.session.windows:
            log.info("last window closed; the session ends")
            self.stop()
        else:
            self.layout_changed()

    async def kill_pane(self, pane_id: int) -> None:
        pane = self.panes.get(pane_id)
        if pane:
            await pane.backend.close()
            self._pane_exited(pane_id, "killed")

    def focused_pane(self) -> Pane | None:
        window = self.session.current_window
        return self.panes.get(window.pane) if window else None

    # ---- feeding: pane output → emulators, in bounded slices ------------------------------------------------
    def _pane_output(self, pane_id: int) -> None:
        """A pane's program wrote something. An echo or a prompt (a few bytes from a pane that is not
        flooding) is parsed and drawn at once, without waiting for the feeder's and the frame timer's turns of
        the loop (each can be a flood's slice long); everything else waits for the feeder."""
        pane = self.panes.get(pane_id)
        if pane is None or pane.flooding or pane.queue.backlog > ECHO_BYTES:
            self._feed_wakeup.set()
            return
        try:
            pane.feed_slice()
        except Exception:  # the emulator must never take the server down
            log.exception("pane %d: emulator error; output skipped", pane.id)
            pane.drop_backlog()
        self._refill_frame_tokens(asyncio.get_running_loop().time())
        if self._frame_tokens < 1:
            self._after_feed(pane)  # the frame waits for a token
            return
        if self._frame_handle is not None:
            self._frame_handle.cancel()
        self._flush_frame()
        # the echo is out: now the title, the bell and the activity flags, and a frame for what they changed
        self._note_output(pane)
        if self.session.version != self._layout_version_sent:
            self.schedule_frame()

    async def _feed_loop(self) -> None:
        while True:
            await self._feed_wakeup.wait()
            self._feed_wakeup.clear()
            while True:
                # quiet panes first: a keystroke's echo must not wait behind a flood's slice
                busy = sorted((pane for pane in self.panes.values() if pane.pending),
                              key=lambda pane: pane.queue.backlog)
                if not busy:
                    break
                for pane in busy:
                    try:
                        pane.feed_slice()
                    except Exception:  # the emulator must never take the server down
                        log.exception("pane %d: emulator error; output skipped", pane.id)
                        pane.drop_backlog()
                    self._after_feed(pane)
                    # keystrokes, frames and attaches run between any two slices; while someone types in
                    # another pane, a flood's slice is followed by a short pause in which the loop waits
                    # for I/O, so the key and its echo are served in it instead of after the next slices
                    typed_pane, typed_at = self._typing
                    if (pane.id != typed_pane and pane.flooding
                            and asyncio.get_running_loop().time() - typed_at < TYPING_SECONDS):
                        pane.yield_to_typing()
                        await asyncio.sleep(TYPING_PAUSE)
                    else:
                        await asyncio.sleep(0)

    def _after_feed(self, pane: Pane) -> None:
        self._note_output(pane)
        self.schedule_frame()

    def _note_output(self, pane: Pane) -> None:
        """What a pane's output means to the session: a window title, a bell, activity in a hidden window."""
        terminal = pane.terminal
        window = self.session.window_by_pane(pane.id)
        if window is not None:
            title = terminal.title
            if title and not window.user_named and title != window.name:
                with contextlib.suppress(ModelError):
                    self.session.rename(window.number, title[:40], user=False)
            bell = terminal.take_bell()
            if window.number not in self.session.visible_windows():
                self.session.mark(pane.id, activity=True, bell=bell)
            elif bell:
                for client in self.display_clients():
                    client.send({"t": "bell", "pane": pane.id})

    # ---- frames: dirty rows → clients, ≤ 60/s --------------------------------------------------------------
    def _refill_frame_tokens(self, now: float) -> None:
        self._frame_tokens = min(FRAME_BURST, self._frame_tokens + (now - self._frame_tokens_at) / FRAME_INTERVAL)
        self._frame_tokens_at = now

    def schedule_frame(self, not_before: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill_frame_tokens(now)
        token_wait = 0.0 if self._frame_tokens >= 1 else (1 - self._frame_tokens) * FRAME_INTERVAL
        due = now + max(token_wait, not_before)
        if self._frame_handle is not None:
            if self._frame_handle.when() <= due:
                return
            self._frame_handle.cancel()  # fresh output deserves an earlier frame than the one planned
        self._frame_handle = loop.call_at(due, self._flush_frame)

    def layout_changed(self) -> None:
        self.hooks.layout_changed.emit()
        self.schedule_frame()

    def display_clients(self) -> list[Client]:
        return [c for c in self.clients.values() if c.is_display]

    def visible_panes(self) -> dict[int, tuple[int, int, int, int]]:
        """pane → (x, y, w, h) of every pane on screen. Kept until the session or its size changes: every
        frame asks, and the session's version changes with every change of its layout."""
        key = (self.session.version, self.cols, self.rows)
        if self._visible[0] != key:
            self._visible = (key, self._layout_visible_panes())
        return dict(self._visible[1])

    def _layout_visible_panes(self) -> dict[int, tuple[int, int, int, int]]:
        result = {}
        self._shown_twice = set()
        for region, rect in self.session.layout(self.cols, self.rows):
            if region.window is not None and region.window in self.session.windows:
                pane_id = self.session.windows[region.window].pane
                if pane_id in result:
                    self._shown_twice.add(pane_id)
                # a window shown in two regions takes the size of the focused one
                if pane_id not in result or region is self.session.focused:
                    result[pane_id] = (rect.x, rect.y, rect.w, rect.h)
        return result

    def _flush_frame(self) -> None:
        self._frame_handle = None
        now = asyncio.get_running_loop().time()
        self._refill_frame_tokens(now)
        sent_something = False
        visible = self.visible_panes()
        full_panes: set[int] = set()
        if self.session.version != self._layout_version_sent or visible != self._geometry:
            for pane_id, (_, _, w, h) in visible.items():
                pane = self.panes.get(pane_id)
                if pane and (w, h) != pane.size:
                    pane.resize(w, h)
                if self._geometry.get(pane_id) != visible[pane_id]:
                    full_panes.add(pane_id)
            self._geometry = visible
            self._layout_version_sent = self.session.version
            layout = self.layout_message()
            sent_something = True
        else:
            layout = None
        # each client sees the session through its own view (tui.server.views): one whose view had to move to
        # follow the cursor gets it anew in full, the others the layout (when it changed) and the dirty rows
        refreshed: set[int] = set()
        for client in self.display_clients():
            top = self._view_top(client)
            if top != client.view_top:
                client.view_top = top
                refreshed.add(client.id)
            elif layout is not None:
                self._send_layout(client, layout)
        flood_pending = False
        clients = self.display_clients()
        for pane_id in visible:
            pane = self.panes.get(pane_id)
            if pane is None:
                continue
            typed_pane, typed_at = self._typing
            # while someone types in another pane, a flood's frames come half as often: each one keeps the
            # client busy drawing for milliseconds, and a key that arrives meanwhile waits in the client
            interval = (FLOOD_FRAME_INTERVAL * 2 if typed_pane != pane_id and now - typed_at < TYPING_SECONDS
                        else FLOOD_FRAME_INTERVAL)
            if pane.flooding and pane_id not in full_panes and now - pane.last_frame < interval:
                flood_pending = True  # its rows stay dirty and go out in a later frame
                continue
            pane.last_frame = now
            pane.fed_since_frame = 0
            dirty = pane.terminal.take_dirty()
            full = pane_id in full_panes
            modes = pane.terminal.modes
            mode_key = (modes.app_cursor, modes.app_keypad, modes.bracketed_paste, modes.mouse, modes.mouse_sgr,
                        modes.alt_screen, pane.throttled)
            modes_changed = mode_key != pane.sent_modes
            pane.sent_modes = mode_key
            # a cursor that only moved, hid, showed or changed shape is a frame too
            cursor_key = (*pane.terminal.cursor, pane.terminal.cursor_visible, pane.terminal.cursor_shape)
            cursor_changed = cursor_key != pane.sent_cursor
            pane.sent_cursor = cursor_key
            if not clients or (not dirty and not full and not modes_changed and not cursor_changed):
                continue  # with no client attached, an attach brings a full snapshot anyway
            message = self.rows_message(pane, None if full else dirty)
            for client in clients:
                if client.id not in refreshed:
                    self._send_rows(client, pane, message)
            # a flooding pane is paced on its own (FLOOD_FRAME_INTERVAL): its frames must not use up the
            # tokens that let an echo in another pane go out at once
            sent_something = sent_something or not pane.flooding
        for client in self.display_clients():
            if client.id in refreshed:
                self.send_snapshot(client)
                sent_something = True
        if sent_something:
            self._frame_tokens -= 1  # only frames that carried something count against the rate
        if flood_pending:
            self.schedule_frame(not_before=FLOOD_FRAME_INTERVAL / 2)

    def _send_rows(self, client: Client, pane: Pane, message: dict[str, Any]) -> None:
        if self.hooks.frame_out:
            message = self.hooks.frame_out.apply(message, client)
            if message is None:
                return  # an integration withholds it from this client (e.g. the lock)
        if client.stalled:
            if client.buffered > ROWS_LIMIT // 4:
                return
            client.stalled = False
            self.send_snapshot(client)
            return
        if client.buffered > ROWS_LIMIT:
            client.stalled = True  # resent in full once the client has drained
            return
        view = client.view_offsets.get(pane.id)
        if view is None:
            return  # the pane is outside this client's view
        message = clip_rows(message, *view)
        if client.direct is not None:
            drawn = self._draw_direct(client, pane, message, view)
            if drawn is None:
                # the client draws this one: no direct drawing of this pane until it has (a frame held back
                # by that wait does not prolong it, or a steady typist would never get direct drawing again)
                busy_until = client.direct.pane_busy_until
                now = time.monotonic()
                if now >= busy_until.get(pane.id, 0.0):
                    busy_until[pane.id] = now + DIRECT_AFTER_FRAMES
            elif drawn == REPAINT_EVERYTHING:  # the terminal took part of it: the client repaints it all
                client.direct = None
                message = {**message, "drawn": drawn}
            else:
                client.send_later({**message, "drawn": drawn}, DRAWN_FRAME_DELAY)
                return
        client.send(message)

    def _declare_direct(self, client: Client, message: dict[str, Any]) -> None:
        """A client says where its terminal shows the panes (tui.server.direct). Only a display client of the
        server's own uid gets direct drawing; its terminal is opened at its first declaration that is on."""
        if client.uid != self.owner_uid or not client.is_display or client.direct_refused:
            return
        if client.direct is None:
            if not message["on"]:
                return
            try:
                client.direct = DirectTerminal.open(client.pid, message["fd"], message["rdev"])
            except OSError as exc:
                client.direct_refused = True
                log.info("client %d: its terminal cannot be drawn on directly (%s); frames only", client.id,
                         exc)
                return
        client.direct.declare(message["gen"], message["on"], message["x"], message["y"], message["truecolor"])

    def _draw_direct(self, client: Client, pane: Pane, message: dict[str, Any],
                     view: tuple[int, int]) -> int | None:
        """Draw a small change of a pane on the client's terminal at once (tui.server.direct): only for a
        client that sees the session unclipped, has been sent every earlier frame and had time to draw the
        last layout and the last frame of this pane it draws itself (so the terminal never shows a newer row
        before older ones), and only when the pane shows in one region. Another pane's flood does not stop it:
        that is when the echo gains most, as the client is busy drawing the flood."""
        rows = message["rows"]
        rect = self._geometry.get(pane.id)
        direct = client.direct
        now = time.monotonic()
        if (not direct.on or message["full"] or len(rows) > DIRECT_ROWS or client.buffered or rect is None
                or now < direct.layout_busy_until or now < direct.pane_busy_until.get(pane.id, 0.0)
                or view != (0, rect[3]) or client.cols < self.cols or client.rows < self.rows
                or pane.id in self._shown_twice):
            return None
        x, y, width, height = rect
        focused = self.focused_pane()
        cursor: tuple[int, int] | None = None
        cursor_shown = False
        if focused is not None and (focused_rect := self._geometry.get(focused.id)) is not None:
            cursor_x, cursor_y = focused.terminal.cursor
            cursor_shown = (focused.terminal.cursor_visible and 0 <= cursor_x < focused_rect[2]
                            and 0 <= cursor_y < focused_rect[3])
            if focused is pane and cursor_shown:
                cursor = (cursor_x, cursor_y)
        return direct.draw(rows, Placement(x, y, width, height, cursor, cursor_shown))

    def _send_layout(self, client: Client, layout: dict[str, Any]) -> None:
        clipped, client.view_offsets = clip_layout(layout, client.cols, client.rows, client.view_top)
        if client.direct is not None:
            client.direct.layout_busy_until = time.monotonic() + DIRECT_AFTER_FRAMES
        if not client.stalled:  # a stalled client gets the layout with its snapshot
            client.send(clipped)

    def _view_top(self, client: Client) -> int:
        """The first session row this client sees (0 unless its terminal is shorter than the session)."""
        if client.rows >= self.rows:
            return 0
        cursor_row = None
        window = self.session.current_window
        rect = self._geometry.get(window.pane) if window is not None else None
        pane = self.panes.get(window.pane) if window is not None else None
        if rect is not None and pane is not None:
            y = pane.terminal.cursor[1]
            if 0 <= y < rect[3]:
                cursor_row = rect[1] + y
        return view_top(client.view_top, client.rows, self.rows, cursor_row)

    def rows_message(self, pane: Pane, rows: set[int] | None) -> dict[str, Any]:
        terminal = pane.terminal
        wanted = range(terminal.rows) if rows is None else sorted(y for y in rows if 0 <= y < terminal.rows)
        modes = terminal.modes
        cursor_x, cursor_y = terminal.cursor
        return {
            "t": "rows",
            "pane": pane.id,
            "rows": {str(y): [list(run) for run in terminal.render_row(y)] for y in wanted},
            "cursor": [cursor_x, cursor_y, terminal.cursor_visible],
            "cursor_shape": terminal.cursor_shape,
            "full": rows is None,
            "throttled": pane.throttled,
            "size": [terminal.cols, terminal.rows],
            "modes": {
                "app_cursor": modes.app_cursor,
                "app_keypad": modes.app_keypad,
                "bracketed_paste": modes.bracketed_paste,
                "mouse": modes.mouse,
                "mouse_sgr": modes.mouse_sgr,
                "alt_screen": modes.alt_screen,
            },
        }

    def layout_message(self) -> dict[str, Any]:
        session = self.session
        focused_window = session.focused.window
        windows = [
            {"number": w.number, "name": w.name, "active": w.number == focused_window,
             "activity": w.activity, "bell": w.bell, "pane": w.pane,
             "throttled": self.panes[w.pane].throttled if w.pane in self.panes else False}
            for w in sorted(session.windows.values(), key=lambda w: w.number)
        ]
        regions = []
        for region, rect in session.layout(self.cols, self.rows):
            pane = session.windows[region.window].pane if region.window in session.windows else None
            regions.append({"region": region.id, "pane": pane, "window": region.window, "x": rect.x,
                            "y": rect.y, "w": rect.w, "h": rect.h, "focused": region is session.focused})
        return {"t": "layout", "session": session.name, "windows": windows, "active_window": focused_window,
                "regions": regions, "cols": self.cols, "rows": self.rows, "holder": self.holder}

    def send_snapshot(self, client: Client) -> None:
        client.view_top = self._view_top(client)
        self._send_layout(client, self.layout_message())
        for pane_id in self.visible_panes():
            pane = self.panes.get(pane_id)
            if pane is not None:
                self._send_rows(client, pane, self.rows_message(pane, None))

    def broadcast(self, message: dict[str, Any]) -> None:
        self.hooks.broadcast.emit(message)
        for client in self.display_clients():
            client.send(message)

    # ---- sizing: the most recently active full client decides (tmux's `latest`) -----------------------------
    def _adopt_size_of(self, client: Client) -> None:
        if client.readonly:
            return  # an observer never reshapes the session; it sees it clipped or padded
        client.last_active = time.monotonic()
        if (client.cols, client.rows) != (self.cols, self.rows):
            self.cols, self.rows = client.cols, client.rows
            self.layout_changed()

    # ---- clients -------------------------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock: socket.socket = writer.get_extra_info("socket")
        try:
            credentials = peer_credentials(sock)
        except OSError as exc:
            log.warning("refusing a client whose credentials cannot be read: %s", exc)
            writer.close()
            return
        if self._connections[credentials.uid] >= MAX_CONNECTIONS_PER_UID:
            self._drop_log.warn("refusing a connection from uid %d: %d already open", credentials.uid,
                                MAX_CONNECTIONS_PER_UID)
            writer.close()
            return
        self._connections[credentials.uid] += 1
        try:
            await self._accept_from(reader, writer, credentials.uid, credentials.pid)
        finally:
            self._connections[credentials.uid] -= 1

    async def _accept_from(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uid: int,
                           pid: int = 0) -> None:
        client = Client(self._next_client, reader, writer, uid, _user_name(uid), pid=pid)
        self._next_client += 1
        access = self.access_for(uid)
        if access is None:
            self._drop_log.warn("refused uid %d (%s): not the owner and not in the ACL", client.uid, client.user)
            # take the client's hello first: closing with it unread would reset the connection and lose
            # the refusal on the way
            with contextlib.suppress(Exception):
                await asyncio.wait_for(read_frame(reader, HELLO_MAX), 2.0)
            client.send(make_error(f"user {client.user} may not attach to {self.owner}'s session "
                                   f"{self.session.name}", fatal=True))
            await self._close_client(client)
            return
        client.readonly = access == "read-only"
        try:
            await self._serve_client(client)
        except (FrameError, MessageError) as exc:
            self._drop_log.warn("client %d (%s): dropped: %s", client.id, client.user, exc)
            client.send(make_error(f"protocol error: {exc}", fatal=True))
        except (ConnectionError, asyncio.IncompleteReadError):
            if not client.dropped:
                self._connection_log.warn("client %d (%s): connection lost", client.id, client.user)
        except Exception:
            log.exception("client %d: unexpected error; dropping the client", client.id)
            client.send(make_error("internal server error; see the server log", fatal=True))
        finally:
            await self._close_client(client)

    def access_for(self, uid: int) -> str | None:
        if uid == self.owner_uid:
            return "full"
        return self.options.allowed_uids.get(uid)

    async def _serve_client(self, client: Client) -> None:
        try:
            hello = await asyncio.wait_for(client.read_message(HELLO_MAX), HELLO_TIMEOUT)
        except TimeoutError:
            raise MessageError("no hello within 10 s") from None
        if hello is None:
            return
        if hello.get("t") == "hello" and hello.get("version") != PROTOCOL_VERSION:
            client.send(make_error(
                f"protocol version mismatch: this client speaks {hello.get('version')!r}, the server "
                f"{PROTOCOL_VERSION}; use the same hascreen version for both", fatal=True))
            return
        validate_client_message(hello)
        if hello["t"] != "hello":
            raise MessageError(f"expected hello, got {hello['t']!r}")
        client.mode = hello["mode"]
        client.cols, client.rows = hello["cols"], hello["rows"]
        client.readonly = client.readonly or bool(hello.get("readonly"))
        if client.readonly:
            client.budget = RequestBudget(*READ_ONLY_BUDGET)
        others = [c for c in self.display_clients() if c is not client]
        if client.mode == "attach" and others:
            if not hello.get("detach_others"):
                client.send(make_error(
                    f"There is a session on: {clean_text(self.options.socket_path.name)} (Attached). Use -x "
                    f"to join it or -d -r to detach the other client first.", fatal=True))
                return
            refusal = self.detach_refusal(client)
            if refusal is not None:
                log.warning("client %d (%s): may not detach the others: %s", client.id, client.user, refusal)
                client.send(make_error(f"{refusal}; use -x to join the session", fatal=True))
                return
            for other in others:
                other.send({"t": "detached", "reason": f"detached by a new attach from {client.user}"})
                await self._close_client(other)
        self.clients[client.id] = client
        client.send(self.welcome_message(client))
        if client.is_display:
            self._connection_log.warn("client %d (%s) attached, %dx%d", client.id, client.user, client.cols,
                                      client.rows)
            self._adopt_size_of(client)
            self.hooks.client_attached.emit(client)
            self.send_snapshot(client)
            protocol = client.protocol
            if protocol is not None:
                protocol.take_at_once = lambda data: self._take_at_once(client, data)
        # a display client may sit idle for days; a control connection (-X, -ls) may not, and no frame in
        # progress may stall (read_frame's frame_timeout)
        idle_limit = None if client.is_display else CONTROL_IDLE_TIMEOUT
        while True:
            await client.wait_until_drained()  # nothing more is read from it while too much is queued for it
            if client.writer.is_closing():
                return
            try:
                message = await asyncio.wait_for(client.read_message(MAX_FRAME, FRAME_TIMEOUT), idle_limit)
            except TimeoutError:
                raise MessageError(f"control connection idle for {idle_limit:.0f} s") from None
            if message is None:
                return
            try:
                validate_client_message(message)
                wait = client.budget.wait_for(_request_cost(message))
                if wait > 0:
                    await asyncio.sleep(wait)  # out of budget: its next requests wait, nobody else's
                await self._dispatch(client, message)
            except MessageError as exc:
                # a well-framed but wrong message is answered, not fatal: the client keeps its session
                client.warn("bad message: %s", exc)
                client.send(make_error(str(exc)))
            if client.writer.is_closing():
                return
            await asyncio.sleep(0)  # other clients, keystrokes and frames run between any two requests

    def welcome_message(self, client: Client) -> dict[str, Any]:
        return {
            "t": "welcome", "version": PROTOCOL_VERSION, "session": self.session.name,
            "socket": clean_text(self.options.socket_path.name), "server_pid": os.getpid(), "user": client.user,
            "owner": self.owner, "holder": self.holder, "readonly": client.readonly,
            "created": self.created, "windows": len(self.session.windows),
            "attached": len([c for c in self.display_clients() if c is not client]),
            **self.hooks.welcome.collect(client),
        }

    async def _dispatch(self, client: Client, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "ping":
            client.send({"t": "pong"})
            return
        if kind == "scrollback":
            reply = await self.scrollback_message(message)
            if self.hooks.frame_out:
                reply = self.hooks.frame_out.apply(reply, client) or _no_scrollback(message["pane"])
            client.send(reply)
            return
        if kind == "resize":
            resized = (message["cols"], message["rows"]) != (client.cols, client.rows)
            client.cols, client.rows = message["cols"], message["rows"]
            before = (self.cols, self.rows)
            self._adopt_size_of(client)  # an observer's terminal never reshapes the session
            if resized and before == (self.cols, self.rows) and client.is_display:
                self.send_snapshot(client)  # its view of the unchanged session is clipped or padded anew
            return
        if kind == "hello":
            raise MessageError("hello sent twice")
        if kind == "direct":
            self._declare_direct(client, message)
            return
        handler = self._message_handlers.get(kind)
        if handler is not None:
            await handler(client, message)
            return
        if kind == "input":
            self._dispatch_input(client, message)
            return
        reason = self.refusal(client, message)
        if reason is not None:
            if kind == "command" and "id" in message:
                client.send(make_result(message["id"], False, reason))
            else:
                client.send(make_notice(reason, "warn"))
            return
        if kind == "paste":
            written = self._paste(client, message["text"], more=message.get("more", False))
            if written is not None:
                await self._wait_for_paste_to_be_read(client, *written)
        elif kind == "mouse":
            pane = self.panes.get(message["pane"])
            if pane is not None:
                y = message["y"] + client.view_offsets.get(pane.id, (0, 0))[0]  # from the client's view to the pane
                data = pane.terminal.encode_mouse(message["kind"], message["button"], message["x"], y)
                if data:
                    pane.backend.write(data)
        elif kind == "command":
            reply = await self.commands.run(message["name"], message["args"], client)
            if "id" in message:
                client.send(make_result(message["id"], reply.ok, reply.message))
            elif not reply.ok:
                client.send(make_notice(reply.message, "warn"))
            elif reply.message:
                client.send(make_notice(reply.message))

    def _dispatch_input(self, client: Client, message: dict[str, Any]) -> None:
        """Keys for the focused pane (a validated `input` message)."""
        reason = self.refusal(client, message)
        if reason is not None:
            client.send(make_notice(reason, "warn"))
            return
        pane = self.focused_pane()
        if pane is not None:
            pane.backend.write(decode_bytes(message["data"]))
            self._typing = (pane.id, asyncio.get_running_loop().time())
        self._adopt_size_of(client)

    def _take_at_once(self, client: Client, data: bytes) -> bool:
        """A keystroke's frame, handled on the loop's turn that read it rather than a turn later by the
        client's task (tui.server.clients.ClientProtocol): only when `data` is one whole, small, valid `input`
        frame, the task waits for its next frame, and the client's request budget lets it run at once. All
        else (and any error) is left to the task, which reads and answers it as always."""
        if not client.waiting_for_frame or "input" in self._message_handlers:
            return False
        body = whole_frame_body(data, INPUT_AT_ONCE_MAX)
        if body is None:
            return False
        message = input_message_of(body)
        if message is None:
            try:
                message = validate_client_message(decode_body(body))
            except (FrameError, MessageError):
                return False
        if message["t"] != "input" or not client.budget.take(_request_cost(message)):
            return False
        try:
            self._dispatch_input(client, message)
        except Exception:
            log.exception("client %d: unexpected error; dropping the client", client.id)
            client.drop("internal server error; see the server log")
        return True

    def refusal(self, client: Client, message: dict[str, Any]) -> str | None:
        """Why this client may not send this message (input, paste, mouse, command), or None."""
        reason = self.hooks.message_received.first_refusal(client, message)
        if reason is None and client.readonly:
            allowed = READ_ONLY_COMMANDS if client.is_display else READ_ONLY_CONTROL_COMMANDS
            if not (message["t"] == "command" and _command_name(message) in allowed):
                reason = "read-only: your keys do not reach the panes or commands"
        return reason

    def _paste(self, client: Client, text: str, more: bool) -> tuple[Pane, PasteInProgress] | None:
        """One paste, whole or in parts, goes to the pane focused when it began, as one bracketed paste.
        Returns the pane written to and the paste."""
        if client.paste is None:
            pane = self.focused_pane()
            if pane is None:
                return None
            client.paste = PasteInProgress(pane.id, pane.terminal.paste_encoder())
        paste = client.paste
        if not more:
            client.paste = None
        pane = self.panes.get(paste.pane)
        if pane is None:
            return None  # its window closed during the paste
        if paste.size + len(text) > PASTE_LIMIT or paste.cut:
            if not paste.cut:
                paste.cut = True
                client.send(make_notice(f"paste cut at {PASTE_LIMIT >> 20} MiB", "warn"))
            text = ""
        data = paste.encoder.feed(text, final=not more)
        paste.size += len(data)
        pane.backend.write(data)
        return pane, paste

    async def _wait_for_paste_to_be_read(self, client: Client, pane: Pane, paste: PasteInProgress) -> None:
        """Back-pressure: while the program has more than PASTE_BACKLOG of the paste unread, this client's
        next messages wait (so a paste never piles up in the server). A program that reads nothing for
        PASTE_STALL seconds gets no more of it (the bracket still closes)."""
        backlog = getattr(pane.backend, "write_backlog", 0)  # an SSH channel buffers in asyncssh instead
        last, stalled_since = backlog, time.monotonic()
        while backlog > PASTE_BACKLOG and not paste.cut and not client.writer.is_closing():
            await asyncio.sleep(0.01)
            backlog = getattr(pane.backend, "write_backlog", 0)
            if backlog < last:
                last, stalled_since = backlog, time.monotonic()
            elif time.monotonic() - stalled_since > PASTE_STALL:
                paste.cut = True  # its remaining parts are dropped; the bracket still closes
                client.send(make_notice("paste cut: the program stopped reading it", "warn"))
                return

    def end_paste(self, client: Client) -> None:
        """Close a paste whose last part will not come (the client left, or was locked): the bracket ends."""
        if client.paste is not None:
            self._paste(client, "", more=False)

    def detach_refusal(self, client: Client | None) -> str | None:
        """Why this client may not detach the other clients, or None. The holder may (and the owner, whose
        process the server is); an observer never; another full user only once a handoff made it the holder."""
        if client is None:
            return None  # the server's own initial commands
        if client.readonly:
            return "read-only: you cannot detach other clients"
        if client.user == self.holder or client.uid == self.owner_uid:
            return None
        return f"only the holder ({self.holder}) can detach other clients"

    async def scrollback_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A page of a pane's history and screen, rendered a slice at a time so that other clients' requests
        and frames run in between (a page of colourful lines costs tens of ms)."""
        pane = self.panes.get(message["pane"])
        if pane is None:
            return _no_scrollback(message["pane"])
        terminal = pane.terminal
        history = terminal.scrollback_len
        total = history + terminal.rows
        start = max(0, min(message["start"], total))
        count = max(0, min(message["count"], SCROLLBACK_PAGE, total - start))
        lines: list[list[list[Any]]] = []
        position, end = start, min(start + count, history)
        while position < end:
            if lines:
                await asyncio.sleep(0)
            slice_end = min(end, position + SCROLLBACK_SLICE)
            lines.extend([list(run) for run in line] for line in terminal.scrollback_rows(position, slice_end - position))
            position = slice_end
        for y in range(max(start, history) - history, start + count - history):
            lines.append([list(run) for run in terminal.render_row(y)])
        return {"t": "scrollback", "pane": pane.id, "start": start, "total": total, "lines": lines}

    async def detach_client(self, client: Client, reason: str = "detached") -> None:
        client.send({"t": "detached", "reason": reason})
        await self._close_client(client)

    async def _close_client(self, client: Client) -> None:
        registered = self.clients.pop(client.id, None) is not None
        if client.direct is not None:
            client.direct.close()
            client.direct = None
        protocol = client.protocol
        if protocol is not None:
            protocol.take_at_once = None
        self.end_paste(client)  # a client gone mid-paste must not leave the program inside a bracketed paste
        if not client.writer.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                await asyncio.wait_for(client.writer.drain(), 2.0)
            client.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.writer.wait_closed(), 2.0)
        if registered and client.is_display:
            self.hooks.client_detached.emit(client)
        remaining = [c for c in self.display_clients() if not c.readonly]
        if client.is_display and remaining:
            self._adopt_size_of(max(remaining, key=lambda c: c.last_active))


def _request_cost(message: dict[str, Any]) -> float:
    """Tokens of a client's request budget: a scrollback page costs by its lines."""
    if message["t"] == "scrollback":
        return 1 + max(0, min(message["count"], SCROLLBACK_PAGE)) / 10
    return 1.0


def _no_scrollback(pane: Any) -> dict[str, Any]:
    return {"t": "scrollback", "pane": pane, "start": 0, "total": 0, "lines": []}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def configure_logging(path: Path) -> None:
    # never through a symlink: the log lives in the socket directory (tui.server.socketdir.open_private_log)
    removed: list[str] = []
    stream = os.fdopen(open_private_log(path, removed.append), "a", encoding="utf-8", errors="replace",
                       buffering=1)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("hascreen")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for note in removed:
        log.warning("log: %s", note)
