"""A fifth integration, defined only here, joins the real server through the composition root's `extra`
installers and tui.server.hooks — daemon.py is not touched. It observes a client attaching, the frames that
go to it (and marks them, as the lock withholds them), a command, a window's program starting and ending,
and layout changes; a bug in it never reaches the client.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import make_command, make_hello, make_input
from tui.server.composition import build_server
from tui.server.daemon import Server, ServerOptions


class Observer:
    """Registers for hooks only; never assigns to the server."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def install(self, server: Server) -> None:
        hooks = server.hooks
        hooks.client_attached.register(lambda client: self.events.append(("attached", client.user)))
        hooks.client_detached.register(lambda client: self.events.append(("detached", client.id)))
        hooks.frame_out.register(self.frame_out)
        hooks.message_received.register(self.message_received)
        hooks.pane_created.register(lambda pane: self.events.append(("pane", pane.id)))
        hooks.pane_exited.register(lambda pane, reason: self.events.append(("exited", pane.id, reason)))
        hooks.layout_changed.register(lambda: self.events.append(("layout",)))
        hooks.welcome.register(lambda client: {"observer": "on"})
        hooks.client_attached.register(self.broken)  # a bug in an integration is logged and skipped

    def frame_out(self, message: dict, client) -> dict:
        self.events.append(("frame", message["t"], client.id))
        return {**message, "observed": True} if message["t"] == "rows" else message

    def message_received(self, client, message: dict) -> str | None:
        self.events.append(("message", message["t"], message.get("name")))
        return "the observer refuses split" if message.get("name") == "split" else None

    def broken(self, client) -> None:
        raise RuntimeError("an integration bug")


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HASCREEN_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("HASCREEN_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.delenv("HASCREEN_HOSTS", raising=False)
    (tmp_path / "config.yaml").write_text("{}\n")
    observer = Observer()
    socket_path = tmp_path / "s.ext"
    server = build_server(ServerOptions(session="ext", socket_path=socket_path, shell=["/bin/sh"]),
                          extra=[observer.install])
    task = asyncio.get_running_loop().create_task(server.run())
    for _ in range(250):
        if socket_path.exists():
            break
        await asyncio.sleep(0.02)
    yield server, observer, socket_path
    server.stop()
    await asyncio.wait_for(task, 15)


async def read_until(reader, predicate, timeout: float = 5.0) -> dict:
    async def find() -> dict:
        while True:
            message = await read_frame(reader)
            assert message is not None, "the server closed the connection"
            if predicate(message):
                return message

    return await asyncio.wait_for(find(), timeout)


async def test_a_test_only_integration_sees_attach_frames_and_commands(served) -> None:
    server, observer, socket_path = served
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(encode_frame(make_hello(80, 24, "xterm", "attach")))
    welcome = await read_until(reader, lambda m: m["t"] == "welcome")
    assert welcome["observer"] == "on"
    rows = await read_until(reader, lambda m: m["t"] == "rows")
    assert rows["observed"] is True  # the frame went through the integration on its way out
    assert ("attached", welcome["user"]) in observer.events
    assert any(e[:2] == ("frame", "rows") for e in observer.events)
    assert ("pane", 1) in observer.events
    writer.write(encode_frame(make_command("split", "-v", request_id=1)))
    result = await read_until(reader, lambda m: m["t"] == "result")
    assert result["ok"] is False and result["message"] == "the observer refuses split"
    writer.write(encode_frame(make_command("new-window", request_id=2)))
    result = await read_until(reader, lambda m: m["t"] == "result")
    assert result["ok"] is True
    writer.write(encode_frame(make_input(b"exit\r")))
    for _ in range(250):
        if any(e[0] == "exited" for e in observer.events) and server.session.windows.keys() == {0}:
            break
        await asyncio.sleep(0.02)
    assert [e[:2] for e in observer.events if e[0] == "exited"] == [("exited", 2)]
    assert ("layout",) in observer.events
    writer.close()
    for _ in range(250):
        if any(e[0] == "detached" for e in observer.events):
            break
        await asyncio.sleep(0.02)
    assert any(e[0] == "detached" for e in observer.events)
