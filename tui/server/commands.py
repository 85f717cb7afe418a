"""The session's own commands (tui.commands) on the server: windows, regions, detach, stuff, redraw,
list-windows and kill-server. `install_core_commands(server)` registers them in the server's `CommandTable`
(tui.server.hooks), as the other integrations register theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.model.layout import Rect
from tui.server.clients import Client
from tui.server.hooks import Handler, Reply

if TYPE_CHECKING:
    from tui.server.daemon import Server

_STUFF_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "e": "\x1b", "\\": "\\", "a": "\x07"}


def unescape_stuff(text: str) -> str:
    """screen's `stuff` escapes: \\n \\r \\t \\e \\a \\\\ and ^X for control characters."""
    text = re.sub(r"\\(.)", lambda m: _STUFF_ESCAPES.get(m.group(1), m.group(0)), text)
    return re.sub(r"\^([@A-Z\[\\\]^_?])", lambda m: chr(0x7F if m.group(1) == "?" else ord(m.group(1)) - 64), text)


class CoreCommands:
    def __init__(self, server: Server) -> None:
        self.server = server

    def handlers(self) -> dict[str, Handler]:
        return {
            "new-window": self.new_window,
            "rename-window": self.rename_window,
            "next-window": self._model(lambda s, a: s.next_window()),
            "prev-window": self._model(lambda s, a: s.prev_window()),
            "select-window": self._model(lambda s, a: s.select(a[0])),
            "last-window": self._model(lambda s, a: s.toggle_last()),
            "kill-window": self.kill_window,
            "split": self.split,
            "focus-next": self._model(lambda s, a: s.focus_step(1)),
            "focus-prev": self._model(lambda s, a: s.focus_step(-1)),
            "select-pane": self.select_pane,
            "remove-region": self._model(lambda s, a: s.remove_region()),
            "only-region": self._model(lambda s, a: s.only_region()),
            "resize-region": self._model(
                lambda s, a: s.resize_region(a[0], Rect(0, 0, self.server.cols, self.server.rows))),
            "detach": self.detach,
            "stuff": self.stuff,
            "redraw": self.redraw,
            "list-windows": self.list_windows,
            "kill-server": self.kill_server,
        }

    # ---- handlers ----------------------------------------------------------------------------------------
    def _model(self, change: Callable[[Any, list[str]], Any]) -> Handler:
        async def handler(client: Client | None, args: list[str]) -> Reply:
            change(self.server.session, args)
            self.server.layout_changed()
            return Reply(True)

        return handler

    async def new_window(self, client: Client | None, args: list[str]) -> Reply:
        name = None
        if args[:1] == ["-n"]:
            if len(args) < 2:
                return Reply(False, "new-window -n needs a name")
            name, args = args[1], args[2:]
        try:
            number = await self.server.new_window(args or None, name=name)
        except OSError as exc:
            return Reply(False, f"cannot start {' '.join(args) or 'a shell'}: {exc.strerror or exc}")
        return Reply(True, f"window {number}")

    async def rename_window(self, client: Client | None, args: list[str]) -> Reply:
        window = self.server.session.current_window
        if window is None:
            return Reply(False, "no window here")
        self.server.session.rename(window.number, args[0])
        self.server.layout_changed()
        return Reply(True)

    async def kill_window(self, client: Client | None, args: list[str]) -> Reply:
        window = self.server.session.current_window
        if window is None:
            return Reply(False, "no window here")
        await self.server.kill_pane(window.pane)
        return Reply(True, f"window {window.number} ({window.name}) killed")

    async def split(self, client: Client | None, args: list[str]) -> Reply:
        if args[0] not in ("-h", "-v"):
            return Reply(False, "split takes -h (top/bottom) or -v (side by side)")
        self.server.session.split(args[0][1])
        self.server.layout_changed()
        return Reply(True)

    async def select_pane(self, client: Client | None, args: list[str]) -> Reply:
        if not args[0].isdigit():
            return Reply(False, f"select-pane takes a pane number, not {args[0]!r}")
        session = self.server.session
        for region in session.regions:
            window = session.windows.get(region.window) if region.window is not None else None
            if window is not None and window.pane == int(args[0]):
                session.focus_region(region.id)
                self.server.layout_changed()
                return Reply(True)
        return Reply(False, f"pane {args[0]} is not on screen")

    async def detach(self, client: Client | None, args: list[str]) -> Reply:
        if client is not None and client.is_display:
            targets = [client]  # C-a d: this client only
        else:
            refusal = self.server.detach_refusal(client)
            if refusal is not None:
                return Reply(False, refusal)
            targets = self.server.display_clients()
        for target in targets:
            await self.server.detach_client(target)
        return Reply(True, f"detached {len(targets)} client(s)")

    async def stuff(self, client: Client | None, args: list[str]) -> Reply:
        pane = self.server.focused_pane()
        if pane is None:
            return Reply(False, "no window here")
        pane.backend.write(unescape_stuff(args[0]).encode("utf-8"))
        return Reply(True)

    async def redraw(self, client: Client | None, args: list[str]) -> Reply:
        for target in [client] if client is not None and client.is_display else self.server.display_clients():
            self.server.send_snapshot(target)
        return Reply(True)

    async def list_windows(self, client: Client | None, args: list[str]) -> Reply:
        session = self.server.session
        lines = []
        for window in sorted(session.windows.values(), key=lambda w: w.number):
            flag = "*" if window.number == session.focused.window else ("-" if window.number ==
                                                                       session.last_window else " ")
            lines.append(f"{window.number}{flag} {window.name}")
        return Reply(True, "\n".join(lines))

    async def kill_server(self, client: Client | None, args: list[str]) -> Reply:
        self.server.stop()
        return Reply(True, "session ended")


def install_core_commands(server: Server) -> CoreCommands:
    commands = CoreCommands(server)
    for name, handler in commands.handlers().items():
        server.commands.register(name, handler)
    return commands
