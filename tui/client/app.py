"""HascreenApp: the Textual client of one hascreen session.

It owns the connection to the server (hello → welcome, then frames in both directions), applies server
messages to its widgets (tab bar, pane area, status line, health panel), runs terminal bytes through the
prefix state machine, and opens the client-side UI elements (window list, prompts, confirmations, help, copy
mode, the procedures' parameter questions, and a message box for a refusal too long or structured for the
status line). Commands go out with request ids, so their answers come back to this client alone. It keeps no session state of its own beyond what the server last sent and the paste buffer, so a
reattach loses nothing.

Keys: with the raw driver (tui.client.raw_input) terminal bytes arrive as `RawInput` messages; Pilot tests
and other drivers deliver Textual key events, which the pane area encodes back to bytes (`KeyBytes`). Both go
through `feed_pane_bytes` while the main screen is showing; while a UI element is open, raw bytes are decoded
into Textual key events instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import itertools
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual import events
from textual._wait import wait_for_idle  # what Pilot uses between keys
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Offset, Region
from textual.screen import Screen

from tui import __version__
from tui.client.bars import StatusLine, TabBar
from tui.client.copy_mode import CopyMode
from tui.client.dialogs import Confirm, HelpScreen, MessageBox, Prompt, WindowList
from tui.client.health_panel import HealthPanel, crit_count
from tui.client.keys import decode_key, describe_key, split_key_sequences, to_application_cursor
from tui.client.ops_screens import HealthWindow, ParamChoice, ProcedurePalette
from tui.client.pane_area import PaneArea
from tui.client.prefix import PrefixMachine, binding_table, prefix_byte_of
from tui.client.raw_input import RawInput, RawInputDriver
from tui.commands import COMMANDS, SCREEN_ALIASES, CommandError, Invocation, parse_command_line
from tui.commands.registry import RECONNECT_ENDS_SHELL
from tui.protocol.framing import FrameDecoder, FrameError, encode_frame
from tui.protocol.messages import input_frame, make_command, make_hello, make_paste_parts

NOTICE_SECONDS = 6.0
STARTUP_HINT_SECONDS = 15.0
MESSAGE_HISTORY = 20  # messages C-a m shows again, whole
DIRECT_LINES = 2  # a rows frame changing at most this many lines is written straight to the terminal
ECHO_REPAINT_DELAY = 0.002  # seconds before Textual repaints the lines written straight to the terminal
HANDSHAKE_TIMEOUT = 10.0


@dataclass
class ExitInfo:
    code: int
    message: str  # printed after the app has left the alternate screen
    stderr: bool = False


class MainScreen(Screen[None], inherit_bindings=False):
    """The console: tab bar, pane area (+ health panel), status line. No bindings: keys belong to panes."""

    BINDINGS: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TabBar(id="tabbar")
        with Horizontal(id="body"):
            yield PaneArea(id="panes")
            yield HealthPanel(id="health")
        yield StatusLine(id="status")

    def on_mount(self) -> None:
        self.query_one(PaneArea).focus()
        self.app.main_screen_ready()  # type: ignore[attr-defined]

    def on_screen_resume(self) -> None:
        self.app.sync_terminal_cursor()  # type: ignore[attr-defined]
        self.app.declare_direct()  # type: ignore[attr-defined]

    def on_screen_suspend(self) -> None:
        self.app.sync_terminal_cursor()  # type: ignore[attr-defined]
        self.app.declare_direct()  # type: ignore[attr-defined]


class ServerConnection(asyncio.Protocol):
    """The client's end of its connection to the server: frames are decoded and applied as soon as they are
    read, on the loop's turn that read them (a stream read by a task would add a turn of the loop to every
    frame, an echo's too). `closed` gets why the connection ended."""

    def __init__(self, app: HascreenApp) -> None:
        self.app = app
        self.decoder = FrameDecoder()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        app = self.app
        if app.exit_info is not None:
            return
        try:
            for message in self.decoder.feed(data):
                app.apply_message(message)
                if app.exit_info is not None:
                    return
        except FrameError as exc:
            app.finish(1, f"bad data from the server of session {app.session_name}: {exc}", stderr=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._read_what_is_left()
        if not self.closed.done():
            self.closed.set_result("the server closed the connection" if exc is None else str(exc))

    def _read_what_is_left(self) -> None:
        """A write of ours failed (typically: the server had already hung up, after `detached`), and asyncio
        drops the connection without reading on. What the server sent before it hung up says why; it is
        still in the socket (open until this returns), so it is read and applied here."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return
        for _ in range(64):  # at most 4 MiB: a goodbye is one small frame
            try:
                data = os.read(sock.fileno(), 1 << 16)
            except OSError:  # nothing more (the socket is non-blocking) or already gone
                return
            if not data:
                return
            self.data_received(data)


class HascreenApp(App[ExitInfo], inherit_bindings=False):
    CSS_PATH = "hascreen.tcss"
    TITLE = "hascreen"
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False  # a drag in a pane is for the program, a separator or copy mode, not Textual's selection
    BINDINGS: list[Any] = []

    def __init__(self, socket_path: Path, keymap: Any, mode: str, session: str, detach_others: bool = False,
                 readonly: bool = False, health_panel: str = "right", driver_class: Any = None,
                 health_show: bool | None = None, startup_message: bool = False) -> None:
        # ansi_color: the 16 ANSI colours of the panes reach the terminal as palette indexes (SGR 31 vs 91),
        # so the user's terminal theme applies, instead of being turned into Textual's fixed RGB theme
        super().__init__(driver_class=driver_class, ansi_color=True)
        self.socket_path = Path(socket_path)
        self.keymap = keymap
        self.mode = mode
        self.session_name = session
        self.detach_others = detach_others
        self.readonly = readonly
        self.health_side = health_panel if health_panel in ("left", "right", "bottom") else "right"
        self.health_show = health_show  # config.yaml health.show: None = when hosts.yaml has clusters
        self.startup_message = startup_message  # the one-line hint when the session was just started
        self._welcomed = False
        self._request_ids = itertools.count(1)
        self._awaiting: dict[int, Callable[[bool, str], None]] = {}  # request id → what to do with its result
        self.machine = PrefixMachine(prefix_byte_of(keymap), binding_table(keymap))
        self.paste_buffer = ""
        self.welcome: dict[str, Any] = {}
        self.windows: list[dict[str, Any]] = []
        self.holder = ""
        self.health: dict[str, Any] | None = None
        self.procedures: list[Any] = []
        self.connected = asyncio.Event()
        self.exit_info: ExitInfo | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._sent_size: tuple[int, int] | None = None
        self._direct_declared: tuple[bool, int, int, int, int] | None = None  # (on, x, y, w, h) last declared
        self._direct_gen = 0
        self._notice_count = 0
        self._ui_keys: deque[bytes] = deque()  # key chunks waiting for the open UI element
        self._ui_pump: asyncio.Task[None] | None = None
        self._widgets: dict[type[Any], Any] = {}
        self.notices: list[str] = []  # every notice shown, newest last (tests and the message history)
        self.messages: deque[tuple[str, str]] = deque(maxlen=MESSAGE_HISTORY)  # (level, whole text) for C-a m

    # ---- widgets --------------------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[Any]:
        self._main_screen = MainScreen()
        return self._main_screen

    @property
    def main_screen(self) -> MainScreen:
        return self._main_screen

    # the widgets are looked up once: the pane area is on the path of every key and every frame
    @property
    def pane_area(self) -> PaneArea:
        return self._widget(PaneArea)

    @property
    def tab_bar(self) -> TabBar:
        return self._widget(TabBar)

    @property
    def status_line(self) -> StatusLine:
        return self._widget(StatusLine)

    @property
    def health_panel(self) -> HealthPanel:
        return self._widget(HealthPanel)

    def _widget(self, kind: type[Any]) -> Any:
        widget = self._widgets.get(kind)
        if widget is None:
            widget = self._widgets[kind] = self.main_screen.query_one(kind)
        return widget

    @property
    def ui_open(self) -> bool:
        """True while a UI element (not the pane area) should get the keys."""
        return len(self.screen_stack) > 1

    def main_screen_ready(self) -> None:
        if self._reader_task is not None:
            return
        self.pane_area.draw_cursor_cell = not isinstance(self._driver, RawInputDriver)
        more = self.key_for("last-message")
        self.status_line.show(prefix_name=self.prefix_name, readonly=self.readonly,
                              more_key=f"{self.prefix_name} {more}" if more else "")
        self.health_panel.add_class(self.health_side)
        self._reader_task = asyncio.create_task(self._connect_and_read())

    # ---- connection -------------------------------------------------------------------------------------
    def _pane_area_size(self) -> tuple[int, int]:
        size = self.pane_area.size
        if size.width > 0 and size.height > 0:
            return size.width, size.height
        return max(self.size.width, 1), max(self.size.height - 2, 1)

    async def _connect_and_read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, connection = await loop.create_unix_connection(lambda: ServerConnection(self),
                                                                      str(self.socket_path))
        except (FileNotFoundError, ConnectionRefusedError):
            self.finish(1, f"hascreen: session {self.session_name} ended before this client could attach "
                           f"(its server is gone)", stderr=True)
            return
        except OSError as exc:
            self.finish(1, f"hascreen: cannot connect to session {self.session_name} at {self.socket_path}: "
                           f"{exc.strerror or exc}", stderr=True)
            return
        self._transport = transport
        for _ in range(50):  # let the first layout pass give the pane area its size
            if self.pane_area.size.width > 0:
                break
            await asyncio.sleep(0.01)
        cols, rows = self._pane_area_size()
        self._sent_size = (cols, rows)
        hello_extra: dict[str, Any] = {"session": self.session_name, "user": getpass.getuser(),
                                       "client_pid": os.getpid()}
        if self.detach_others:
            hello_extra["detach_others"] = True
        if self.readonly:
            hello_extra["readonly"] = True
        self.send(make_hello(cols, rows, os.environ.get("TERM", "xterm-256color"), self.mode, **hello_extra))
        self._lost_connection(await connection.closed)  # the frames are applied as they come (ServerConnection)

    def _lost_connection(self, why: str) -> None:
        if self.exit_info is not None:
            return
        if not self.socket_path.exists():
            self.finish(0, f"[session {self.session_name} ended]")
        else:
            self.finish(1, f"[lost the connection to session {self.session_name}: {why}; if its server still "
                           f"runs, `hascreen -r {self.session_name}` reattaches]", stderr=True)

    def send(self, message: dict[str, Any]) -> None:
        try:
            frame = encode_frame(message)
        except FrameError as exc:
            self.show_notice(f"cannot send to the server: {exc}", "crit")
            return
        self.send_frame(frame)

    def send_frame(self, frame: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._transport.write(frame)
        except (ConnectionError, OSError) as exc:
            self.show_notice(f"cannot send to the server: {exc}", "crit")

    def send_command(self, name: str, *args: str, on_result: Callable[[bool, str], None] | None = None) -> None:
        """A server command with a request id: its answer comes back as a `result` for this client only,
        shown in the status line, or handed to on_result(ok, message)."""
        request_id = next(self._request_ids)
        if on_result is not None:
            self._awaiting[request_id] = on_result
        self.send(make_command(name, *args, request_id=request_id))

    def finish(self, code: int, message: str, stderr: bool = False) -> None:
        if self.exit_info is None:
            self.exit_info = ExitInfo(code, message, stderr)
        if self._transport is not None:
            self._transport.close()
        self.exit(self.exit_info, return_code=code)

    async def on_unmount(self) -> None:
        if self._reader_task is not None and not self._reader_task.done():
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        if self._transport is not None:
            self._transport.close()

    # ---- server messages --------------------------------------------------------------------------------
    def apply_message(self, message: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_server_{message.get('t')}", None)
        if handler is None:
            return  # a newer server's message type: ignore rather than crash
        try:
            handler(message)
        except Exception as exc:  # a malformed message from a buggy or newer server must not end the console
            self.show_notice(f"ignored a malformed {message.get('t')} message: {exc!r}", "warn")

    def _on_server_welcome(self, message: dict[str, Any]) -> None:
        self.welcome = message
        if not self._welcomed:  # every attach (-r, -x, -d -r, a new session) decides the panel the same way
            self._welcomed = True
            clusters = message.get("clusters")
            shown = self.health_show if self.health_show is not None else bool(clusters)
            self.health_panel.set_class(shown, "shown")
            if self.startup_message and self.mode == "new":
                self.show_notice(self.startup_hint(), seconds=STARTUP_HINT_SECONDS)
        self.session_name = str(message.get("session") or self.session_name)
        self.connected.set()
        self.declare_direct()
        self._set_holder(message.get("holder"))
        size = self.pane_area.size
        if size.width > 0 and size.height > 0 and (size.width, size.height) != self._sent_size:
            # the pane area changed between the hello and now (terminal resized during the handshake)
            self._sent_size = (size.width, size.height)
            self.send({"t": "resize", "cols": size.width, "rows": size.height})
        if message.get("readonly"):
            self.readonly = True
            self.status_line.show(readonly=True)

    def _on_server_error(self, message: dict[str, Any]) -> None:
        text = str(message.get("message", "error"))
        if message.get("fatal") or not self.connected.is_set():
            self.finish(1, text, stderr=True)
        else:
            self.show_notice(text, "crit")

    def _on_server_layout(self, message: dict[str, Any]) -> None:
        raw_windows = message.get("windows")
        windows = [dict(window, index=window.get("index", window.get("number")))
                   for window in (raw_windows if isinstance(raw_windows, list) else []) if isinstance(window, dict)]
        self.windows = windows
        self.tab_bar.show(windows)
        for screen in self.screen_stack:
            if isinstance(screen, WindowList):
                screen.update_windows(windows)
        self.pane_area.apply_layout(message)
        if "holder" in message:
            self._set_holder(message.get("holder"))
        self._update_throttled()
        self.sync_terminal_cursor()
        self.declare_direct()

    def _on_server_rows(self, message: dict[str, Any]) -> None:
        area = self.pane_area
        changed = area.apply_rows(message)
        origin = area.content_region  # looked up once: it walks Textual's compositor
        cursor = self.sync_terminal_cursor(origin)
        drawn = message.get("drawn")
        if drawn is not None and isinstance(self._driver, RawInputDriver):
            self._driver.terminal_written_by_server()
        if drawn is not None:  # the server drew it on the terminal already (tui.server.direct)
            if drawn != self._direct_gen or not (self._direct_declared and self._direct_declared[0]):
                # it drew for what this screen showed before (a dialog opened, the terminal resized): its
                # write may have landed anywhere on what shows now
                self.screen.refresh()
            area.refresh_lines(changed)
        elif len(changed) <= DIRECT_LINES and self._write_lines_now(changed, origin, cursor):
            # Textual repaints the same lines a moment later: the CPU goes to delivering the echo first
            asyncio.get_running_loop().call_later(ECHO_REPAINT_DELAY, area.refresh_lines, changed)
        else:
            area.refresh_lines(changed)
        self._update_throttled()

    def _write_lines_now(self, lines: list[int], origin: Region, cursor: tuple[int, int, int] | None) -> bool:
        """An echo-sized change goes to the terminal at once, written by us, instead of after Textual's idle
        and update-timer turns (~0.5 ms). Textual still repaints the same lines on its next update (they are
        refreshed right after), so what it draws on top, a notification say, comes back within one of its
        frames. `origin`: the pane area's content region; `cursor`: the terminal cursor to leave behind
        (sync_terminal_cursor's answer)."""
        driver = self._driver
        if not isinstance(driver, RawInputDriver) or self.screen is not self._main_screen or not lines:
            return False
        area = self.pane_area
        parts = []
        for y in lines:
            if 0 <= y < origin.height:
                parts.append(f"\x1b[{origin.y + y + 1};{origin.x + 1}H")
                parts.append(area.render_line(y).render(self.console))
        if not parts:
            return False
        if cursor is not None:
            parts.append(f"\x1b[{cursor[1] + 1};{cursor[0] + 1}H")
        driver.write("".join(parts))
        return True

    def declare_direct(self) -> None:
        """Tell the server whether, and where, it may draw echo-sized changes straight onto this terminal
        (tui.server.direct): only with the raw driver, while the main screen (the panes) is what shows. Sent
        when that changes; each declaration gets the next generation number."""
        driver = self._driver
        if not isinstance(driver, RawInputDriver) or self._transport is None or not self.connected.is_set():
            return
        fd = driver.output_fd
        if fd is None:
            return
        area = self.pane_area
        on = self.screen is self._main_screen and area.size.width > 0 and area.size.height > 0
        origin = area.content_region if on else Region()
        # a resize makes a new generation too: a write the server made for the old size may have wrapped
        state = (on, origin.x, origin.y, area.size.width, area.size.height)
        if state == self._direct_declared:
            return
        try:
            rdev = os.fstat(fd).st_rdev
        except OSError:
            return
        self._direct_declared = state
        self._direct_gen += 1
        self.send({"t": "direct", "gen": self._direct_gen, "on": on, "x": origin.x, "y": origin.y, "fd": fd,
                   "rdev": rdev, "truecolor": self.console.color_system == "truecolor"})

    def sync_terminal_cursor(self, origin: Region | None = None) -> tuple[int, int, int] | None:
        """Show the focused pane's cursor with the terminal's own cursor (raw driver only): at its place, in
        its shape, and only while the console shows the panes (no dialog, copy mode or lock on top). Returns
        that cursor (x, y, shape) on the screen, None while none is shown. `origin`: the pane area's content
        region, when the caller has it already."""
        driver = self._driver
        if not isinstance(driver, RawInputDriver):
            return None
        cursor = self.pane_area.terminal_cursor(origin) if self.screen is self._main_screen else None
        if cursor is None:
            driver.show_cursor = False
            return None
        x, y, shape = cursor
        self.cursor_position = Offset(x, y)
        driver.show_cursor = True
        driver.cursor_shape = shape
        return cursor

    def _on_server_notice(self, message: dict[str, Any]) -> None:
        text = str(message.get("text", ""))
        level = str(message.get("level", "info"))
        self.show_notice(text, level)
        if level != "info" and "\n" in text.strip():  # a refusal with its remedy, say: shown whole
            self.show_message_box(text, level)

    def _on_server_result(self, message: dict[str, Any]) -> None:
        text = str(message.get("message") or "")
        handler = self._awaiting.pop(message.get("id"), None)  # type: ignore[arg-type]
        if handler is not None:
            handler(bool(message.get("ok")), text)
            return
        if not text:
            return
        level = "info" if message.get("ok") else "warn"
        self.show_notice(text, level)
        # the answer to this client's own command: a refusal that does not fit the status line opens whole
        if level == "warn" and ("\n" in text.strip() or cell_len(text) > max(self.status_line.size.width, 20)):
            self.show_message_box(text, level)

    def _on_server_scrollback(self, message: dict[str, Any]) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, CopyMode) and screen.pane == message.get("pane"):
                screen.apply_scrollback(message)

    def _on_server_health(self, message: dict[str, Any]) -> None:
        self.health = message
        self.health_panel.show(message)
        for screen in self.screen_stack:
            if isinstance(screen, HealthWindow):
                screen.show(message)
        self.tab_bar.show(crit=crit_count(message))

    def _on_server_procedure(self, message: dict[str, Any]) -> None:
        run = message.get("run")
        if isinstance(run, dict):
            self.procedures = [p for p in self.procedures if p.get("id") != run.get("id")] + [run]
            self.show_notice(f"procedure {run.get('name', '?')}: {run.get('state', '')}")

    def _on_server_lock(self, message: dict[str, Any]) -> None:
        from tui.client.lock_screen import apply_lock_message  # the lock helper's screens (issue 8)

        apply_lock_message(self, message)
        if "holder" in message:
            self._set_holder(message.get("holder"))

    def _on_server_bell(self, message: dict[str, Any]) -> None:
        self.bell()

    def _on_server_detached(self, message: dict[str, Any]) -> None:
        if message.get("ended"):
            self.finish(0, f"[session {self.session_name} ended]")
            return
        reason = str(message.get("reason") or "detached")
        suffix = "" if reason == "detached" else f" ({reason})"
        self.finish(0, f"[detached from {self.session_name}]{suffix}")

    def _on_server_pong(self, message: dict[str, Any]) -> None:
        pass

    def _set_holder(self, holder: Any) -> None:
        self.holder = str(holder or "")
        self.status_line.show(holder=f"held by {self.holder}" if self.holder else "")

    def _update_throttled(self) -> None:
        pane = self.pane_area.focused_pane
        throttled = bool(pane and pane.throttled)
        if throttled != self.status_line.throttled:
            self.status_line.show(throttled=throttled)

    def show_notice(self, text: str, level: str = "info", seconds: float = NOTICE_SECONDS) -> None:
        self.messages.append((level, text.strip()))
        text = text.strip().replace("\n", "  ")
        self.notices.append(text)
        del self.notices[:-50]
        self.status_line.show(notice=text, notice_level=level)
        self._notice_count += 1
        ticket = self._notice_count

        def clear() -> None:
            if ticket == self._notice_count:
                self.status_line.show(notice="")

        self.set_timer(seconds, clear)

    def show_message_box(self, text: str, level: str = "warn", title: str = "") -> None:
        """The whole text in a dialog (the status line holds one line); added to the one already open."""
        if isinstance(self.screen, MessageBox) and not title:
            self.screen.add(text.strip())
            return

        def closed(copy: bool | None) -> None:
            if copy:
                self.paste_buffer = box.text
                self.show_notice(f"copied {len(box.text)} characters to the paste buffer ({self.prefix_name} ] pastes)")

        box = MessageBox(text.strip(), level, title)
        self.push_screen(box, closed)

    @property
    def prefix_name(self) -> str:
        return str(getattr(self.keymap, "prefix", "C-a"))

    def key_for(self, command_line: str) -> str | None:
        """The key (after the prefix) bound to command_line in the loaded keymap, if any."""
        bindings = getattr(self.keymap, "bindings", {}) or {}
        return next((key for key, binding in bindings.items() if binding.command_line == command_line), None)

    def startup_hint(self) -> str:
        """screen's startup message, in one line: the version and where the help is."""
        prefix = self.prefix_name
        parts = [f"hascreen {__version__}"]
        for command, what in (("help", "help"), ("command-prompt", "commands"), ("detach", "detach")):
            key = self.key_for(command)
            if key is not None:
                parts.append(f"{prefix} {key} {what}")
        return " · ".join(parts)

    # ---- sizes ------------------------------------------------------------------------------------------
    def on_pane_area_resized(self, message: PaneArea.Resized) -> None:
        size = (message.cols, message.rows)
        if self._transport is not None and size != self._sent_size and self.connected.is_set():
            self._sent_size = size
            self.send({"t": "resize", "cols": size[0], "rows": size[1]})
        self.declare_direct()

    # ---- keys -------------------------------------------------------------------------------------------
    def on_raw_input(self, message: RawInput) -> None:
        self.feed_terminal_bytes(message.data)

    def on_pane_area_key_bytes(self, message: PaneArea.KeyBytes) -> None:
        self.feed_pane_bytes(message.data)

    def feed_terminal_bytes_on_loop(self, data: bytes) -> None:
        """The raw driver's fast path (on the app's loop, no message queue). Keys that can only go to the
        focused pane (nearly every keystroke) are sent at once; the others run with the app's context vars set,
        as Textual's own call_from_thread does, so that opening a screen from a binding works."""
        try:
            if self._only_for_the_pane(data):
                self.send_input(self._as_the_pane_expects(data))
                return
        except Exception as exc:  # a bug here must not silently eat keys: say so, keep the console
            self.show_notice(f"client error while handling keys: {exc!r}", "crit")
            return
        with self._context():
            try:
                self.feed_terminal_bytes(data)
            except Exception as exc:
                self.show_notice(f"client error while handling keys: {exc!r}", "crit")

    def _only_for_the_pane(self, data: bytes) -> bool:
        """True when these bytes go to the focused pane unchanged by the prefix machine or any UI element: no
        prefix byte in them or pending, no UI element open or keys queued for one, and a client that may type."""
        machine = self.machine
        return not (machine.waiting or machine.prefix_byte in data or self._ui_keys or self.ui_open
                    or self.readonly)

    def feed_terminal_bytes(self, data: bytes) -> None:
        if not data:
            return
        if self._ui_keys or self.ui_open:
            self._ui_keys.extend(split_key_sequences(data))
            if self._ui_pump is None or self._ui_pump.done():
                self._ui_pump = asyncio.create_task(self._pump_ui_keys())
        else:
            self.feed_pane_bytes(data)

    async def _pump_ui_keys(self) -> None:
        """Hand keys to the open UI element one at a time.

        Textual runs a widget's key bindings when the event bubbles up, after the widget may already have
        handled the keys behind it (C-u then 'logs' in one read would clear 'logs'), so a burst is fed key
        by key with a wait for idle in between, as Pilot does. Keys left when the UI closes go to the pane."""
        while self._ui_keys:
            if not self.ui_open:
                rest = b"".join(self._ui_keys)
                self._ui_keys.clear()
                self.feed_pane_bytes(rest)
                return
            decoded = decode_key(self._ui_keys.popleft())
            if decoded is not None:
                self.post_message(events.Key(*decoded))
            if self._ui_keys:
                await wait_for_idle(0, 0.25)  # bounded: a busy (flooding) console must not stall typing

    def feed_pane_bytes(self, data: bytes) -> None:
        result = self.machine.feed(data)
        if result.forward:
            self.send_input(self._as_the_pane_expects(result.forward))
        if result.binding is not None:
            self.run_command_line(result.binding.command_line)
        elif result.unbound is not None:
            prefix = getattr(self.keymap, "prefix", "C-a")
            self.show_notice(f"{prefix} {describe_key(result.unbound)}: not bound (C-a ? lists the keys)", "warn")
        if result.waiting != self.status_line.prefix_waiting:
            self.status_line.show(prefix_waiting=result.waiting)  # only on change: a repaint per key costs ms
        if result.rest:
            self.feed_terminal_bytes(result.rest)

    def _as_the_pane_expects(self, data: bytes) -> bytes:
        """Key bytes in the focused pane's cursor key mode (application cursor keys: ESC O A for Up)."""
        if b"\x1b[" not in data:
            return data  # no cursor key in them: nothing to look up (most keystrokes)
        pane = self.pane_area.focused_pane
        if pane is not None and pane.modes.get("app_cursor"):
            return to_application_cursor(data)
        return data

    def send_input(self, data: bytes) -> None:
        if self.readonly:
            self.show_notice("read-only: your keys do not reach the panes", "warn")
            return
        self.send_frame(input_frame(data))

    def on_paste(self, event: events.Paste) -> None:
        if not self.ui_open:
            # a long paste comes in parts (tui.client.raw_input.PastePart); the server joins them into one
            more = bool(getattr(event, "more", False))
            self.send({"t": "paste", "text": event.text, **({"more": True} if more else {})})

    # ---- commands ---------------------------------------------------------------------------------------
    def run_command_line(self, line: str) -> None:
        try:
            invocation = parse_command_line(line)
        except CommandError as exc:
            self.show_notice(str(exc), "warn")
            return
        self.run_invocation(invocation)

    def run_invocation(self, invocation: Invocation) -> None:
        if invocation.name == "send-prefix":
            # the prefix belongs to this client's keymap, so the client sends it
            self.send_input(bytes([self.machine.prefix_byte]))
            return
        if invocation.name == "lock":
            from tui.client.lock_screen import begin_lock  # asks for a one-time passphrase when needed

            begin_lock(self)
            return
        if invocation.spec.scope == "server":
            self.send_command(invocation.name, *invocation.args)
            return
        handler = getattr(self, "client_" + invocation.name.replace("-", "_"), None)
        if handler is None:
            self.show_notice(f"{invocation.name}: not available in this client", "warn")
        else:
            handler(*invocation.args)

    def client_window_list(self) -> None:
        def chosen(number: int | None) -> None:
            if number is not None:
                self.send_command("select-window", str(number))

        self.push_screen(WindowList(self.windows), chosen)

    def client_select_prompt(self) -> None:
        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.send_command("select-window", value.strip())

        self.push_screen(Prompt("Switch to window:", complete=self.complete_window), chosen)

    def client_rename_prompt(self) -> None:
        current = next((str(w.get("name", "")) for w in self.windows if w.get("active")), "")

        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.send_command("rename-window", value.strip())

        self.push_screen(Prompt("Set window's name to:", value=current), chosen)

    def client_kill_confirm(self) -> None:
        current = next((w for w in self.windows if w.get("active")), {})

        def chosen(yes: bool | None) -> None:
            if yes:
                self.send_command("kill-window")

        self.push_screen(Confirm(f"Really kill this window {current.get('index', '')} "
                                 f"({current.get('name', '')}) [y/n]"), chosen)

    def client_reconnect_confirm(self) -> None:
        """C-a R: reconnect at once when the pane is down; while it is connected ask first, as C-a k does,
        because a reconnect ends the remote shell (the server tells which, at the moment of the key)."""
        current = next((w for w in self.windows if w.get("active")), {})

        def answered(ok: bool, text: str) -> None:
            if ok or text != RECONNECT_ENDS_SHELL:
                self.show_notice(text, "info" if ok else "warn")
                return

            def chosen(yes: bool | None) -> None:
                if yes:
                    self.send_command("reconnect")

            self.push_screen(Confirm(f"Really reconnect window {current.get('index', '')} "
                                     f"({current.get('name', '')})? Its remote shell ends [y/n]"), chosen)

        self.send_command("reconnect", "--if-down", on_result=answered)

    def client_last_message(self) -> None:
        if not self.messages:
            self.show_notice("no messages yet")
            return
        self.show_message_box("\n\n".join(text for _, text in self.messages), "info",
                              title="recent messages, newest last")

    def client_quit_confirm(self) -> None:
        def chosen(yes: bool | None) -> None:
            if yes:
                self.send_command("kill-server")

        self.push_screen(Confirm(f"Really quit and kill all your windows ({len(self.windows)}) [y/n]"), chosen)

    def client_copy_mode(self) -> None:
        region = self.pane_area.focused_region
        if region is None or region.pane < 0:
            self.show_notice("no window in this region to copy from", "warn")
            return

        def request(pane: int, start: int, count: int) -> None:
            self.send({"t": "scrollback", "pane": pane, "start": start, "count": count})

        def copied(text: str) -> None:
            self.paste_buffer = text
            self.show_notice(f"copied {len(text)} characters to the paste buffer")

        natural = getattr(self.keymap, "scroll", "normal") == "natural"
        self.push_screen(CopyMode(region.pane, request, copied, natural_scroll=natural))

    def client_paste(self) -> None:
        if not self.paste_buffer:
            self.show_notice("the paste buffer is empty (copy with C-a [ first)", "warn")
            return
        for part in make_paste_parts(self.paste_buffer):
            self.send(part)

    def client_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))

    def client_command_prompt(self) -> None:
        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.run_command_line(value.strip())

        self.push_screen(Prompt(":", complete=self.complete_command_line), chosen)

    def client_ssh_prompt(self) -> None:
        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.send_command("ssh", value.strip())

        self.push_screen(Prompt("ssh to host:", complete=lambda text: [h for h in self.hosts if h.startswith(text)]),
                         chosen)

    def client_toggle_health(self) -> None:
        self.health_panel.toggle_class("shown")
        if self.health is None:
            self.show_notice("no health data from the server yet")

    def client_procedures(self) -> None:
        names = [str(name) for name in self.welcome.get("procedures") or []]
        if not names:
            self.show_notice("no procedures in this session (no hosts.yaml?)")
            return
        clusters = [str(c) for c in self.welcome.get("clusters") or []]
        cluster = self.focused_cluster(clusters)
        info = self.welcome.get("procedure_info") or {}

        def chosen(name: str | None) -> None:
            if name is None:
                return
            params = [p for p in (info.get(name) or {}).get("params") or [] if isinstance(p, dict)]
            if cluster is not None:
                self.ask_procedure_params(name, cluster, params)
                return

            def with_cluster(value: str | None) -> None:
                if value and value.strip():
                    self.ask_procedure_params(name, value.strip(), params)

            self.push_screen(Prompt(f"Run {name} on cluster:", complete=lambda text: [
                c for c in clusters if c.startswith(text)]), with_cluster)

        self.push_screen(ProcedurePalette(names, info, cluster), chosen)

    def ask_procedure_params(self, name: str, cluster: str, params: list[dict[str, Any]],
                             answers: tuple[str, ...] = ()) -> None:
        """Ask for each parameter in turn (a list where the choices are known), then start the run."""
        if len(answers) == len(params):
            self.send_command("run-procedure", name, cluster, *[a for a in answers if a])
            return
        param = params[len(answers)]
        key = str(param.get("name", ""))
        members = [str(m) for m in (self.welcome.get("cluster_members") or {}).get(cluster) or []]
        choices = [str(c) for c in param.get("choices") or []] or (members if param.get("member") else [])

        def answered(value: str | None) -> None:
            if value is None:
                self.show_notice(f"{name}: not started")
                return
            value = value.strip()
            if not value and param.get("required"):
                self.show_notice(f"{name} needs --{key}: {param.get('help', '')}", "warn")
                self.ask_procedure_params(name, cluster, params, answers)
                return
            self.ask_procedure_params(name, cluster, params, (*answers, f"{key}={value}" if value else ""))

        if choices:
            self.push_screen(ParamChoice(name, param, choices), answered)
            return
        default = param.get("default")
        hint = f"Enter: {default}" if default else ("required" if param.get("required") else "Enter: none")
        self.push_screen(Prompt(f"{name} --{key} ({param.get('help', '')}; {hint}):"), answered)

    def focused_cluster(self, clusters: list[str]) -> str | None:
        """The cluster of the focused window (a window named after a member host), else the only one."""
        if len(clusters) == 1:
            return clusters[0]
        members = self.welcome.get("cluster_members") or {}
        active = next((w.get("name") for w in self.windows if w.get("active")), None)
        return next((c for c in clusters if active in (members.get(c) or [])), None)

    def client_health_window(self) -> None:
        self.push_screen(HealthWindow(self.health))

    # ---- completion -------------------------------------------------------------------------------------
    @property
    def hosts(self) -> list[str]:
        return sorted(str(h) for h in self.welcome.get("hosts") or [])

    @property
    def clusters(self) -> list[str]:
        return sorted(str(c) for c in self.welcome.get("clusters") or [])

    def complete_window(self, text: str) -> list[str]:
        return [str(w.get("name")) for w in self.windows if str(w.get("name", "")).startswith(text)]

    def complete_command_line(self, text: str) -> list[str]:
        words = text.split(" ")
        if len(words) == 1:
            return sorted(name for name in [*COMMANDS, *SCREEN_ALIASES] if name.startswith(text))
        choices: list[str] = []
        command = words[0]
        if command == "ssh":
            choices = self.hosts
        elif command == "open-cluster" and len(words) == 2 or command == "run-procedure" and len(words) == 3:
            choices = self.clusters
        elif command == "select-window":
            choices = [str(w.get("name")) for w in self.windows]
        head = " ".join(words[:-1])
        return [f"{head} {choice}" for choice in choices if choice.startswith(words[-1])]

    # ---- mouse ------------------------------------------------------------------------------------------
    def on_pane_area_pane_mouse(self, message: PaneArea.PaneMouse) -> None:
        if message.wants_mouse and not self.readonly:
            self.send({"t": "mouse", "pane": message.pane, "kind": message.kind, "button": message.button,
                       "x": message.x, "y": message.y})
            return
        region = self.pane_area.focused_region
        if message.kind == "press" and region is not None and region.pane != message.pane:
            self.send_command("select-pane", str(message.pane))
        elif message.kind in ("scroll_up", "scroll_down"):
            back = "scroll_down" if getattr(self.keymap, "scroll", "normal") == "natural" else "scroll_up"
            if message.kind == back:
                if region is not None and region.pane != message.pane:
                    self.send_command("select-pane", str(message.pane))
                self.client_copy_mode()

    def on_pane_area_separator_drag(self, message: PaneArea.SeparatorDrag) -> None:
        self.send_command("select-pane", str(message.pane))
        self.send_command("resize-region", f"{message.delta:+d}")
