"""The real server draws a keystroke's echo straight onto the terminal a client names (tui.server.direct), as
screen's and tmux's servers do: here the client's terminal is a pty this test holds, and what the server
writes is read from its master side. The echo lands at the pane's place with the cursor after it, and its
frame says it was drawn; nothing is drawn while the client says a dialog covers its panes, for a terminal
other than the one named, or while the session is locked; a malformed declaration is answered and the
connection goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import time

import pytest

from tests.integration.server.test_server_protocol import (  # noqa: F401 (session: a fixture)
    connect,
    is_rows,
    read_until,
    session,
)
from tui.protocol.framing import encode_frame
from tui.protocol.messages import make_input

ORIGIN = (0, 1)  # where the test's "client" says its pane area starts (a tab bar above it)


def declaration(gen: int, on: bool, fd: int, rdev: int | None = None) -> bytes:
    return encode_frame({"t": "direct", "gen": gen, "on": on, "x": ORIGIN[0], "y": ORIGIN[1], "fd": fd,
                         "rdev": os.fstat(fd).st_rdev if rdev is None else rdev, "truecolor": False})


def read_terminal(master: int, seconds: float) -> bytes:
    """Whatever the server wrote onto the test's terminal within `seconds` (bounded)."""
    data = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], left)
        if not ready:
            break
        data += os.read(master, 65536)
    return data


@pytest.fixture
def terminal():
    """A pty that plays the client's terminal: (master, slave); the server is told to draw on the slave."""
    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


@contextlib.asynccontextmanager
async def attached(socket_path):
    """A client attached and settled (the prompt drawn, no frame pending): (reader, writer, its snapshot)."""
    reader, writer, _ = await connect(socket_path)
    try:
        snapshot = await read_until(reader, lambda m: is_rows(m) and m["full"] and "$" in str(m["rows"]))
        await asyncio.sleep(0.3)
        yield reader, writer, snapshot
    finally:
        writer.close()


async def test_the_echo_is_drawn_on_the_named_terminal_at_its_place(session, terminal):  # noqa: F811
    master, slave = terminal
    async with attached(session[2]) as (reader, writer, snapshot):
        prompt_x, prompt_y, _ = snapshot["cursor"]
        writer.write(declaration(5, True, slave))
        await asyncio.sleep(0.2)
        read_terminal(master, 0.1)
        writer.write(encode_frame(make_input(b"Q")))
        frame = await read_until(reader, lambda m: is_rows(m) and "Q" in str(m["rows"]))
        assert frame["drawn"] == 5
        drawn = await asyncio.to_thread(read_terminal, master, 0.5)
        row = f"\x1b[{ORIGIN[1] + prompt_y + 1};{ORIGIN[0] + 1}H".encode()
        assert row in drawn and b"$ Q" in drawn.split(row, 1)[1]
        cursor = f"\x1b[{ORIGIN[1] + prompt_y + 1};{ORIGIN[0] + prompt_x + 2}H\x1b[?25h".encode()
        assert drawn.endswith(cursor), drawn  # the terminal's cursor right after the echo

        # a dialog opens on the client: it says so, and the next echoes come as frames only
        writer.write(declaration(6, False, slave))
        for key in ("Z", "Y"):
            writer.write(encode_frame(make_input(key.encode())))
            frame = await read_until(reader, lambda m, key=key: is_rows(m) and key in str(m["rows"]))
            assert "drawn" not in frame
        assert await asyncio.to_thread(read_terminal, master, 0.3) == b""


async def test_nothing_is_drawn_on_a_terminal_other_than_the_one_named(session, terminal):  # noqa: F811
    master, slave = terminal
    other_master, other_slave = pty.openpty()
    try:
        async with attached(session[2]) as (reader, writer, _):
            writer.write(declaration(1, True, slave, rdev=os.fstat(other_slave).st_rdev))
            writer.write(encode_frame(make_input(b"W")))
            frame = await read_until(reader, lambda m: is_rows(m) and "W" in str(m["rows"]))
            assert "drawn" not in frame
            assert await asyncio.to_thread(read_terminal, master, 0.3) == b""
            assert await asyncio.to_thread(read_terminal, other_master, 0.1) == b""
    finally:
        os.close(other_master)
        os.close(other_slave)


async def test_nothing_is_drawn_while_the_session_is_locked(session, terminal):  # noqa: F811
    master, slave = terminal
    async with attached(session[2]) as (reader, writer, _):
        writer.write(declaration(1, True, slave))
        # output that arrives after the lock: the pane prints it a moment after the command is typed
        writer.write(encode_frame(make_input(b"sleep 1; echo SECRET-$((6*7))\r")))
        await read_until(reader, lambda m: is_rows(m) and "SECRET-$" in str(m["rows"]))
        writer.write(encode_frame({"t": "lock", "passphrase": "correct horse"}))
        lock = await read_until(reader, lambda m: m["t"] == "lock")
        assert lock["locked"]
        read_terminal(master, 0.1)
        await asyncio.sleep(1.5)  # the pane printed SECRET-42 meanwhile
        drawn = await asyncio.to_thread(read_terminal, master, 0.3)
        assert b"SECRET-42" not in drawn and drawn == b""


async def test_a_malformed_declaration_is_answered_and_the_connection_goes_on(session, terminal):  # noqa: F811
    master, slave = terminal
    async with attached(session[2]) as (reader, writer, _):
        writer.write(encode_frame({"t": "direct", "gen": 1, "on": True, "x": -5, "y": 1, "fd": slave,
                                   "rdev": os.fstat(slave).st_rdev, "truecolor": False}))
        error = await read_until(reader, lambda m: m["t"] == "error")
        assert not error["fatal"] and "out of range" in error["message"]
        writer.write(encode_frame({"t": "direct", "gen": 1, "on": "yes", "x": 0, "y": 1, "fd": slave,
                                   "rdev": 0, "truecolor": False}))
        error = await read_until(reader, lambda m: m["t"] == "error")
        assert not error["fatal"] and "'on'" in error["message"]
        writer.write(encode_frame(make_input(b"echo still-$((2+3))\r")))
        await read_until(reader, lambda m: is_rows(m) and "still-5" in str(m["rows"]))
        assert await asyncio.to_thread(read_terminal, master, 0.2) == b""
