"""Carries out named commands (tui.commands) on the server: windows, regions, detach, stuff, and the hooks
that SSH panes, health, procedures and the lock add.

Every handler returns a `Reply`; a `ModelError`/`CommandError` becomes a failed reply with the reason, so a bad
command from a key, the `:` prompt or `hascreen -X` never raises into the connection loop.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.commands import COMMANDS, CommandError, parse_command_line
from tui.commands.registry import check_invocation
from tui.model import ModelError
from tui.model.layout import Rect

if TYPE_CHECKING:
    from tui.server.daemon import Client, Server


@dataclass(frozen=True)
class Reply:
    ok: bool
    message: str = ""


Handler = Callable[["Client | None", list[str]], Awaitable[Reply]]

_STUFF_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "e": "\x1b", "\\": "\\", "a": "\x07"}


def unescape_stuff(text: str) -> str:
    """screen's `stuff` escapes: \\n \\r \\t \\e \\a \\\\ and ^X for control characters."""
    text = re.sub(r"\\(.)", lambda m: _STUFF_ESCAPES.get(m.group(1), m.group(0)), text)
    return re.sub(r"\^([@A-Z\[\\\]^_?])", lambda m: chr(0x7F if m.group(1) == "?" else ord(m.group(1)) - 64), text)


class CommandHandler:
    # commands that need nothing from the client and that read-only observers may not run either
    def __init__(self, server: Server) -> None:
        self.server = server
        self.handlers: dict[str, Handler] = {
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
        # hooks installed by integrations (ssh, health, procedures, lock) add or replace handlers here
        self.welcome_extra_providers: list[Callable[[], dict[str, Any]]] = []
        self.unlock_handler: Callable[[Client, dict[str, Any]], Awaitable[None]] | None = None
        self.permission_check: Callable[[Client, dict[str, Any]], bool] | None = None

    # ---- entry points ------------------------------------------------------------------------------------
    async def run_line(self, line: str, client: Client | None) -> Reply:
        try:
            invocation = parse_command_line(line)
        except CommandError as exc:
            return Reply(False, str(exc))
        return await self.run(invocation.name, list(invocation.args), client)

    async def run(self, name: str, args: list[str], client: Client | None) -> Reply:
        try:
            invocation = check_invocation(name, args)
        except CommandError as exc:
            return Reply(False, str(exc))
        if invocation.spec.scope == "client":
            return Reply(False, f"{name} is a client command: bind it to a key or use the : prompt")
        handler = self.handlers.get(name)
        if handler is None:
            return Reply(False, f"{name}: not available in this session ({COMMANDS[name].note})")
        try:
            return await handler(client, list(invocation.args))
        except (ModelError, CommandError) as exc:
            return Reply(False, str(exc))

    def may_act(self, client: Client, message: dict[str, Any]) -> bool:
        if self.permission_check is not None:
            return self.permission_check(client, message)
        return not client.readonly

    async def unlock(self, client: Client, message: dict[str, Any]) -> None:
        if self.unlock_handler is not None:
            await self.unlock_handler(client, message)

    def welcome_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        for provider in self.welcome_extra_providers:
            extras.update(provider())
        return extras

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
        targets = [client] if client is not None and client.is_display else self.server.display_clients()
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
