"""The real server, started by the CLI, spoken to over its unix socket: handshake, version mismatch,
malformed and oversized frames (which drop that one client and never the server or its session), commands
through `-X`, back-pressure under a flood, and the socket directory's permissions.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tui.protocol.framing import PROTOCOL_VERSION, encode_frame, read_frame
from tui.protocol.messages import decode_bytes, make_command, make_hello, make_input

HASCREEN = str(Path(sys.executable).with_name("hascreen"))


@pytest.fixture
def session(tmp_path):
    env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sock"), SHELL="/bin/sh", PS1="$ ")
    name = "proto"
    subprocess.run([HASCREEN, "-d", "-m", "-S", name], env=env, check=True, timeout=20)
    sockets = list((tmp_path / "sock").iterdir())
    socket_path = next(p for p in sockets if p.name.endswith(".proto"))
    yield env, name, socket_path
    subprocess.run([HASCREEN, "-X", name, "kill-server"], env=env, timeout=20, capture_output=True)


def cli(env, *args):
    return subprocess.run([HASCREEN, *args], env=env, capture_output=True, text=True, timeout=20)


async def connect(socket_path: Path, mode: str = "multi", **extra):
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(encode_frame(make_hello(80, 24, "xterm-256color", mode, **extra)))
    welcome = await asyncio.wait_for(read_frame(reader), 5)
    return reader, writer, welcome


async def read_until(reader, predicate, timeout=5.0):
    async def loop():
        while True:
            message = await read_frame(reader)
            if message is None:
                raise EOFError("server closed the connection")
            if predicate(message):
                return message

    return await asyncio.wait_for(loop(), timeout)


def is_rows(message) -> bool:
    return message["t"] == "rows"


def screen_text(rows_message) -> str:
    return "\n".join("".join(run[0] for run in runs) for _, runs in sorted(rows_message["rows"].items(),
                                                                           key=lambda kv: int(kv[0])))


def test_socket_directory_is_private(session):
    env, _, socket_path = session
    mode = stat.S_IMODE(socket_path.parent.stat().st_mode)
    assert mode == 0o700


async def test_attach_receives_layout_and_a_full_snapshot(session):
    _, _, socket_path = session
    reader, writer, welcome = await connect(socket_path)
    assert welcome["t"] == "welcome" and welcome["version"] == PROTOCOL_VERSION and welcome["windows"] == 1
    layout = await read_until(reader, lambda m: m["t"] == "layout")
    assert layout["windows"][0]["number"] == 0 and len(layout["regions"]) == 1
    rows = await read_until(reader, lambda m: m["t"] == "rows")
    assert rows["full"] and len(rows["rows"]) == layout["regions"][0]["h"]
    writer.close()


async def test_typed_input_reaches_the_shell_and_its_echo_comes_back(session):
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    writer.write(encode_frame(make_input(b"echo $((40+2))-ok\r")))
    await read_until(reader, lambda m: m["t"] == "rows" and "42-ok" in screen_text(m))
    writer.close()


async def test_version_mismatch_gets_a_clear_message(session):
    _, _, socket_path = session
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    hello = make_hello(80, 24, "xterm", "multi")
    hello["version"] = PROTOCOL_VERSION + 41
    writer.write(encode_frame(hello))
    error = await asyncio.wait_for(read_frame(reader), 5)
    assert error["t"] == "error" and error["fatal"] and "protocol version mismatch" in error["message"]
    writer.close()


@pytest.mark.parametrize("garbage", [
    b"\x00\x00\x00\x05hello",                       # not JSON
    struct.pack(">I", 1 << 30),                      # oversized length
    b"\x00\x00\x00\x02[]",                           # JSON but not a typed object
    encode_frame({"t": "input", "data": "%%%"}),     # bad base64 before hello
])
async def test_malformed_frames_drop_only_that_client(session, garbage):
    env, name, socket_path = session
    good_reader, good_writer, _ = await connect(socket_path)
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(garbage)
    await writer.drain()
    message = await asyncio.wait_for(read_frame(reader), 5)
    assert message["t"] == "error" and message["fatal"]
    assert await asyncio.wait_for(reader.read(), 5) == b""  # then the server hangs up on it
    # the server, the session and the other client are untouched
    good_writer.write(encode_frame(make_input(b"echo still-$((1+1))\r")))
    await read_until(good_reader, lambda m: m["t"] == "rows" and "still-2" in screen_text(m))
    assert "1 window" in cli(env, "-ls").stdout
    good_writer.close()


async def test_wrong_message_after_hello_is_answered_not_fatal(session):
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    writer.write(encode_frame({"t": "resize", "cols": -3, "rows": 5}))
    error = await read_until(reader, lambda m: m["t"] == "error")
    assert not error["fatal"] and "out of range" in error["message"]
    writer.write(encode_frame({"t": "ping"}))
    await read_until(reader, lambda m: m["t"] == "pong")
    writer.close()


async def test_attach_refuses_an_attached_session_unless_told_to_detach_it(session):
    _, _, socket_path = session
    first_reader, first_writer, _ = await connect(socket_path, mode="attach")
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(encode_frame(make_hello(80, 24, "xterm", "attach")))
    refusal = await asyncio.wait_for(read_frame(reader), 5)
    assert refusal["t"] == "error" and "Attached" in refusal["message"] and "-x" in refusal["message"]
    _, second_writer, welcome = await connect(socket_path, mode="attach", detach_others=True)
    assert welcome["t"] == "welcome"
    detached = await read_until(first_reader, lambda m: m["t"] == "detached")
    assert "detached by a new attach" in detached["reason"]
    second_writer.close()


def test_dash_x_commands_change_the_session(session):
    env, name, _ = session
    assert cli(env, "-X", name, "new-window", "-n", "logs").returncode == 0
    assert cli(env, "-X", name, "split", "-v").returncode == 0
    listing = cli(env, "-X", name, "list-windows").stdout
    assert "0- sh" in listing and "1* logs" in listing
    bad = cli(env, "-X", name, "select-window", "nope")
    assert bad.returncode == 1 and "no window 'nope'" in bad.stderr
    unknown = cli(env, "-X", name, "frobnicate")
    assert unknown.returncode == 1 and "unknown command" in unknown.stderr


async def test_a_flooding_pane_is_throttled_while_others_stay_responsive(session):
    env, name, socket_path = session
    reader, writer, _ = await connect(socket_path, mode="multi")
    # window 0 floods; a second window in a split answers keystrokes meanwhile
    writer.write(encode_frame(make_input(b"yes flood-flood-flood-flood-flood-flood-flood | head -c 40000000\r")))
    assert cli(env, "-X", name, "split", "-v").returncode == 0
    assert cli(env, "-X", name, "focus-next").returncode == 0
    assert cli(env, "-X", name, "new-window", "-n", "calm").returncode == 0
    await read_until(reader, lambda m: m["t"] == "layout" and any(w["name"] == "calm" for w in m["windows"]))
    writer.write(encode_frame(make_input(b"echo calm-$((3*3))\r")))
    await read_until(reader, lambda m: m["t"] == "rows" and "calm-9" in screen_text(m), timeout=15)
    writer.close()


def test_session_ends_when_its_last_window_exits(tmp_path):
    env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sock"))
    subprocess.run([HASCREEN, "-d", "-m", "-S", "brief", "sh", "-c", "sleep 0.3"], env=env, check=True, timeout=20)
    deadline = 50
    while deadline and "brief" in cli(env, "-ls").stdout:
        deadline -= 1
        subprocess.run(["sleep", "0.1"])
    assert "brief" not in cli(env, "-ls").stdout


def test_ls_wipes_dead_sockets(tmp_path):
    import socket as socketlib

    directory = tmp_path / "sock"
    directory.mkdir(mode=0o700)
    dead = socketlib.socket(socketlib.AF_UNIX)
    dead.bind(str(directory / "999.ghost"))
    dead.close()
    env = dict(os.environ, HASCREEN_DIR=str(directory))
    result = cli(env, "-ls")
    assert "Removed 999.ghost" in result.stdout and not (directory / "999.ghost").exists()


def test_decoding_helpers_round_trip():
    assert decode_bytes(make_input(b"\x01\xff")["data"]) == b"\x01\xff"
    assert json.loads(json.dumps(make_command("split", "-v")))["args"] == ["-v"]
