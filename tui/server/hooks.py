"""The server's extension points: the named hooks the daemon emits, and the command table.

Integrations (SSH hosts, health, procedures, the lock, and anything else the composition root installs)
register callbacks here; they never replace a method of the server. The daemon calls:

| hook | when | callback | result |
|---|---|---|---|
| `client_attached` | a display client has its welcome, before its first snapshot | `(client)` | - |
| `client_detached` | a display client is gone (detached, dropped or lost) | `(client)` | - |
| `message_received` | a client sends input, paste, mouse or a command | `(client, message)` | a refusal reason or None |
| `frame_out` | pane contents (`rows`, `scrollback`) are about to go to one client | `(message, client)` | the message, a replacement, or None to withhold it |
| `broadcast` | a message is about to go to every display client | `(message)` | - |
| `pane_created` | a window's program started | `(pane)` | - |
| `pane_exited` | a window's program ended (its window is about to go) | `(pane, reason)` | - |
| `layout_changed` | windows, regions, names or the session size changed | `()` | - |
| `welcome` | a welcome message is built | `(client)` | a dict merged into it |
| `stopping` | the session ends | `async ()` | - |

A callback that raises is logged and skipped: an integration's bug never takes the server or a client down.
Commands are registered by name in the `CommandTable` (`server.commands.register`); client message types
that the core protocol leaves to an integration (e.g. `unlock`) with `server.handle_message`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.commands import COMMANDS, CommandError, parse_command_line
from tui.commands.registry import check_invocation
from tui.model import ModelError
from tui.protocol.framing import clean_text

if TYPE_CHECKING:
    from tui.server.clients import Client

log = logging.getLogger("hascreen.server")


class Hook:
    """One named event: callbacks run in registration order, each isolated from the others' failures."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def register(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(callback)
        return callback

    def _call(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
        try:
            return True, callback(*args)
        except Exception:
            log.exception("hook %s: %s failed; skipped", self.name, getattr(callback, "__qualname__", callback))
            return False, None

    def emit(self, *args: Any) -> None:
        for callback in self._callbacks:
            self._call(callback, args)

    def __bool__(self) -> bool:
        return bool(self._callbacks)


class VetoHook(Hook):
    """Callbacks may refuse: the first reason (a string) wins."""

    def first_refusal(self, *args: Any) -> str | None:
        for callback in self._callbacks:
            ok, reason = self._call(callback, args)
            if not ok:
                return "refused: internal error (see the server log)"  # fail closed
            if reason:
                return str(reason)
        return None


class FilterHook(Hook):
    """Callbacks pass a value along, each may replace it; None stops it (the message is withheld)."""

    def apply(self, value: Any, *args: Any) -> Any:
        for callback in self._callbacks:
            ok, value = self._call(callback, (value, *args))
            if not ok or value is None:
                return None  # fail closed: a broken filter withholds rather than leaks
        return value


class CollectHook(Hook):
    """Callbacks contribute dicts that are merged in registration order."""

    def collect(self, *args: Any) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for callback in self._callbacks:
            ok, part = self._call(callback, args)
            if ok and part:
                merged.update(part)
        return merged


class AsyncHook(Hook):
    async def emit_async(self, *args: Any) -> None:
        for callback in self._callbacks:
            try:
                await callback(*args)
            except Exception:
                log.exception("hook %s: %s failed; skipped", self.name, getattr(callback, "__qualname__", callback))


class ServerHooks:
    def __init__(self) -> None:
        self.client_attached = Hook("client_attached")
        self.client_detached = Hook("client_detached")
        self.message_received = VetoHook("message_received")
        self.frame_out = FilterHook("frame_out")
        self.broadcast = Hook("broadcast")
        self.pane_created = Hook("pane_created")
        self.pane_exited = Hook("pane_exited")
        self.layout_changed = Hook("layout_changed")
        self.welcome = CollectHook("welcome")
        self.stopping = AsyncHook("stopping")


# ---- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    ok: bool
    message: str = ""


Handler = Callable[["Client | None", list[str]], Awaitable[Reply]]


class CommandTable:
    """Named commands (tui.commands) → handlers. Every handler returns a `Reply`; a `ModelError` or
    `CommandError` becomes a failed reply with the reason, so a bad command from a key, the `:` prompt or
    `hascreen -X` never raises into the connection loop."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        if name not in COMMANDS:
            raise ValueError(f"{name}: not a command of tui.commands")
        if name in self._handlers:
            raise ValueError(f"{name}: already registered")
        self._handlers[name] = handler

    def __contains__(self, name: str) -> bool:
        return name in self._handlers

    async def run_line(self, line: str, client: Client | None) -> Reply:
        try:
            invocation = parse_command_line(line)
        except CommandError as exc:
            return Reply(False, str(exc))
        return await self.run(invocation.name, list(invocation.args), client)

    async def run(self, name: str, args: list[str], client: Client | None) -> Reply:
        args = [clean_text(arg) for arg in args]  # initial commands come from argv: any bytes
        try:
            invocation = check_invocation(name, args)
        except CommandError as exc:
            return Reply(False, str(exc))
        if invocation.spec.scope == "client":
            return Reply(False, f"{name} is a client command: bind it to a key or use the : prompt")
        handler = self._handlers.get(name)
        if handler is None:
            return Reply(False, f"{name}: not available in this session ({COMMANDS[name].note})")
        try:
            return await handler(client, list(invocation.args))
        except (ModelError, CommandError) as exc:
            return Reply(False, str(exc))
