"""A control connection: handshake as a non-display client, run commands, read results.

Used by `hascreen -ls` (to ask each server whether it is attached), `hascreen -X` (`control_request` for
`-X NAME unlock`, which sends an unlock message rather than a command) and `-d`. It never
receives pane contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import make_command, make_hello


class ControlError(Exception):
    """The server could not be reached or refused us; the message says which."""


@dataclass
class ControlResult:
    welcome: dict[str, Any]
    results: list[dict[str, Any]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def _control_connection(socket_path: Path, timeout: float):
    """Connect and handshake as a control client; yields (reader, writer, welcome). Every way of not getting
    an answer becomes a ControlError, and the connection is closed at the end."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(socket_path)), timeout)
    except (OSError, TimeoutError) as exc:
        raise ControlError(f"cannot connect to {socket_path}: {exc}") from None
    try:
        writer.write(encode_frame(make_hello(80, 24, "control", "control", user=getpass.getuser())))
        welcome = await asyncio.wait_for(read_frame(reader), timeout)
        if welcome is None:
            raise ControlError("the server closed the connection during the handshake")
        if welcome.get("t") == "error":
            raise ControlError(welcome.get("message", "refused"))
        yield reader, writer, welcome
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise ControlError(f"{socket_path.name}: no answer ({exc.__class__.__name__})") from None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def control_session(socket_path: Path, commands: list[tuple[str, list[str]]] | None = None,
                          timeout: float = 5.0) -> ControlResult:
    async with _control_connection(socket_path, timeout) as (reader, writer, welcome):
        result = ControlResult(welcome)
        for request_id, (name, args) in enumerate(commands or [], start=1):
            writer.write(encode_frame(make_command(name, *args, request_id=request_id)))
            while True:
                reply = await asyncio.wait_for(read_frame(reader), timeout)
                if reply is None:
                    # a command like kill-server or detach may end the connection: that is its answer
                    result.results.append({"t": "result", "id": request_id, "ok": True, "message": ""})
                    return result
                if reply.get("t") == "result" and reply.get("id") == request_id:
                    result.results.append(reply)
                    break
                if reply.get("t") == "error" and reply.get("fatal"):
                    raise ControlError(reply.get("message", "refused"))
        return result


async def control_request(socket_path: Path, message: dict[str, Any], answer: str, timeout: float = 30.0,
                          before_send=None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Handshake as a control client, then send one message and wait for the first reply of type `answer`.

    `before_send(welcome)` may build the message from the welcome (it returns the message to send, or None
    to send nothing and return the welcome alone). Returns (welcome, reply)."""
    async with _control_connection(socket_path, timeout) as (reader, writer, welcome):
        if before_send is not None:
            message = await before_send(welcome)
            if message is None:
                return welcome, {}
        writer.write(encode_frame(message))
        while True:
            reply = await asyncio.wait_for(read_frame(reader), timeout)
            if reply is None:
                raise ControlError("the server closed the connection without answering")
            if reply.get("t") == answer:
                return welcome, reply
            if reply.get("t") == "error":
                raise ControlError(reply.get("message", "refused"))
