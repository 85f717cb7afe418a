"""What no client can do to the real server (started by the CLI, spoken to over its socket): exhaust its
memory or other clients' latency by never reading, hold a half-sent frame, crash it with deep JSON or with
names that are not valid Unicode; and how clients of different sizes each see a consistent screen.
The bounds here are functional (generous for a loaded 2-core machine), not benchmarks.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import make_command, make_hello, make_input

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
RSS_GROWTH_LIMIT_MB = 150  # a never-reading client costs the server at most its bounded queue (16 MiB) and so on
PING_MEDIAN_LIMIT_S = 0.050
PING_P90_LIMIT_S = 0.150  # margin for a loaded machine; unprotected, pings took seconds


def start(tmp_path: Path, name: str, *command: str) -> tuple[dict, Path]:
    env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sock"), SHELL="/bin/sh", PS1="$ ")
    subprocess.run([HASCREEN, "-d", "-m", "-S", name, *command], env=env, check=True, timeout=20)
    socket_path = next(p for p in (tmp_path / "sock").iterdir() if p.name.endswith(f".{name}"))
    return env, socket_path


@pytest.fixture
def served(tmp_path):
    started: list[tuple[dict, str]] = []

    def run(name: str = "lim", *command: str) -> tuple[dict, Path]:
        env, socket_path = start(tmp_path, name, *command)
        started.append((env, name))
        return env, socket_path

    yield run
    for env, name in started:
        subprocess.run([HASCREEN, "-X", name, "kill-server"], env=env, timeout=20, capture_output=True)


def server_log(socket_path: Path) -> str:
    name = socket_path.name.split(".", 1)[1]
    return (socket_path.parent / f".{name}.log").read_text(errors="replace")


def server_rss_mb(socket_path: Path) -> float:
    pid = int(socket_path.name.split(".", 1)[0])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def connect(socket_path: Path, mode: str = "multi", cols: int = 80, rows: int = 24, **extra):
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(encode_frame(make_hello(cols, rows, "xterm-256color", mode, **extra)))
    welcome = await asyncio.wait_for(read_frame(reader), 5)
    assert welcome["t"] == "welcome", welcome
    return reader, writer


async def read_until(reader, predicate, timeout=5.0):
    async def loop():
        while True:
            message = await read_frame(reader)
            if message is None:
                raise EOFError("server closed the connection")
            if predicate(message):
                return message

    return await asyncio.wait_for(loop(), timeout)


async def ping_rtts(reader, writer, count: int, interval: float = 0.05) -> list[float]:
    rtts = []
    for _ in range(count):
        started = time.monotonic()
        writer.write(encode_frame({"t": "ping"}))
        await read_until(reader, lambda m: m["t"] == "pong", timeout=30)
        rtts.append(time.monotonic() - started)
        await asyncio.sleep(interval)
    return rtts


async def assert_normal_client_works(socket_path: Path, marker: str) -> None:
    reader, writer = await connect(socket_path)
    writer.write(encode_frame(make_input(f"echo {marker}-$((6*7))\r".encode())))
    await read_until(reader, lambda m: m["t"] == "rows" and f"{marker}-42" in text_of(m), timeout=15)
    writer.close()


def text_of(rows_message: dict) -> str:
    return "\n".join("".join(run[0] for run in runs) for _, runs in sorted(rows_message["rows"].items(),
                                                                           key=lambda kv: int(kv[0])))


async def test_a_never_reading_client_costs_bounded_memory_and_no_one_elses_latency(served, tmp_path):
    env, socket_path = served("lim")
    reader, writer = await connect(socket_path, cols=250, rows=50)
    # history that is expensive to send: 3000 lines of 250 cells in 50 colour runs each (~1 MB per page)
    colours = tmp_path / "colours.py"
    colours.write_text("for i in range(3000):\n"
                       "    print(''.join('\\033[3%dm%s' % ((i + j) % 8, 'abcde') for j in range(50)) + '\\033[0m')\n")
    writer.write(encode_frame(make_input(f"{sys.executable} {colours}; echo DONE-$((4*5))\r".encode())))
    await read_until(reader, lambda m: m["t"] == "rows" and "DONE-20" in text_of(m), timeout=60)
    baseline = server_rss_mb(socket_path)
    # the hostile client: sends pings and 1000-line scrollback requests as fast as it can, reads nothing
    hostile = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hostile.connect(str(socket_path))
    hostile.sendall(encode_frame(make_hello(80, 24, "xterm", "multi")))
    hostile.setblocking(False)
    burst = (encode_frame({"t": "scrollback", "pane": 1, "start": 0, "count": 1000}) +
             encode_frame({"t": "ping"}) * 20)
    sent = 0
    deadline = time.monotonic() + 8
    rtts: list[float] = []
    while time.monotonic() < deadline:
        try:
            while True:
                sent += hostile.send(burst)
        except BlockingIOError:
            pass  # the server stopped reading it
        rtts += await ping_rtts(reader, writer, 5, interval=0.02)
    grown = server_rss_mb(socket_path) - baseline
    print(f"sent {sent >> 10} KiB; server RSS +{grown:.0f} MB; pings median {statistics.median(rtts) * 1000:.1f} ms, "
          f"p90 {statistics.quantiles(rtts, n=10)[-1] * 1000:.1f} ms, max {max(rtts) * 1000:.1f} ms over {len(rtts)}")
    assert grown < RSS_GROWTH_LIMIT_MB, f"the server grew by {grown:.0f} MB"
    assert statistics.median(rtts) < PING_MEDIAN_LIMIT_S, f"median ping {statistics.median(rtts) * 1000:.1f} ms"
    assert statistics.quantiles(rtts, n=10)[-1] < PING_P90_LIMIT_S
    assert sent > 256 << 10, f"the hostile client got only {sent} bytes out"
    hostile.close()
    await assert_normal_client_works(socket_path, "after-hostile")
    assert "Traceback" not in server_log(socket_path)
    writer.close()


async def test_a_half_sent_frame_after_the_hello_is_dropped(served):
    env, socket_path = served("half")
    reader, writer = await connect(socket_path)
    writer.write(struct.pack(">I", 8 << 20) + b"{" + b" " * (1 << 20))  # 1 MiB of an 8 MiB frame, then nothing
    await writer.drain()
    started = time.monotonic()
    error = await read_until(reader, lambda m: m["t"] == "error", timeout=40)
    assert error["fatal"] and "stalled" in error["message"]
    assert time.monotonic() - started < 40
    assert await asyncio.wait_for(read_frame(reader), 5) is None  # and the connection is closed
    assert "stalled" in server_log(socket_path)
    await assert_normal_client_works(socket_path, "after-half")


async def test_json_nested_5000_deep_is_a_clean_protocol_error(served):
    env, socket_path = served("deep")
    for nested in ("[" * 5000 + "]" * 5000, '{"t":"ping","x":' + "[" * 5000 + "]" * 5000 + "}",
                   '{"t":"command","name":"stuff","args":[],"id":' + "[" * 50 + "]" * 50 + "}"):
        reader, writer = await connect(socket_path)
        body = nested.encode()
        writer.write(struct.pack(">I", len(body)) + body)
        error = await read_until(reader, lambda m: m["t"] == "error", timeout=10)
        assert "nested" in error["message"] or "id must be" in error["message"]
        writer.close()
    log = server_log(socket_path)
    assert "Traceback" not in log and "RecursionError" not in log
    await assert_normal_client_works(socket_path, "after-deep")


async def test_names_that_are_not_valid_unicode_are_made_safe_where_they_enter(served, tmp_path):
    # the first program's file name is not UTF-8
    program_dir = tmp_path / "bin"
    program_dir.mkdir()
    program = os.path.join(os.fsencode(program_dir), b"prog-\xff\xfe")
    with open(program, "wb") as handle:
        handle.write(b"#!/bin/sh\nexec /bin/sh\n")
    os.chmod(program, 0o755)
    env, socket_path = served("names", os.fsdecode(program))
    reader, writer = await connect(socket_path)
    layout = await read_until(reader, lambda m: m["t"] == "layout")
    assert layout["windows"][0]["name"] == "prog-\ufffd\ufffd"
    # a window name and a command id with lone surrogates (valid JSON escapes), over the protocol
    body = b'{"t":"command","name":"rename-window","args":["w-\\udcff-\\ud800"],"id":"id-\\udc80"}'
    writer.write(struct.pack(">I", len(body)) + body)
    result = await read_until(reader, lambda m: m["t"] == "result")
    assert result["ok"] and result["id"] == "id-\ufffd"
    layout = await read_until(reader, lambda m: m["t"] == "layout" and m["windows"][0]["name"].startswith("w-"))
    assert layout["windows"][0]["name"] == "w-\ufffd-\ufffd"
    # a title from the program with bytes that are not UTF-8 (OSC 2); the window is not user-named now, so
    # make a fresh one
    writer.write(encode_frame(make_command("new-window", request_id=2)))
    await read_until(reader, lambda m: m["t"] == "result" and m["id"] == 2)
    writer.write(encode_frame(make_input(b"printf '\\033]2;t-\\377\\376\\007'\r")))
    layout = await read_until(reader, lambda m: m["t"] == "layout" and any(
        w["name"].startswith("t-") for w in m["windows"]), timeout=10)
    assert any(w["name"] == "t-\ufffd\ufffd" for w in layout["windows"])
    # new-window -n with a surrogate in an initial command line, as `hascreen -X` would pass it
    assert subprocess.run([HASCREEN, "-X", "names", "new-window", "-n", os.fsdecode(b"n-\xff")], env=env,
                          capture_output=True, timeout=20).returncode == 0
    layout = await read_until(reader, lambda m: m["t"] == "layout" and any(
        w["name"].startswith("n-") for w in m["windows"]), timeout=10)
    assert any(w["name"] == "n-\ufffd" for w in layout["windows"])
    writer.close()
    # every frame still encodes: a fresh attach gets its welcome, layout and rows
    await assert_normal_client_works(socket_path, "after-names")
    assert "Traceback" not in server_log(socket_path)


def test_a_session_name_that_is_not_utf8_is_refused_with_a_clear_message(tmp_path):
    env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sock"), SHELL="/bin/sh")
    done = subprocess.run([HASCREEN.encode(), b"-d", b"-m", b"-S", b"bad-\xff"], env=env, capture_output=True,
                          timeout=20)
    assert done.returncode != 0 and b"invalid session name" in done.stderr and b"Traceback" not in done.stderr
    sockets = tmp_path / "sock"
    assert not sockets.exists() or not [p for p in sockets.iterdir() if not p.name.startswith(".")]


async def test_two_clients_of_different_sizes_each_see_a_consistent_screen(served):
    env, socket_path = served("sizes")
    small_reader, small_writer = await connect(socket_path, cols=60, rows=12)
    big_reader, big_writer = await connect(socket_path, cols=100, rows=40)
    # the big client is the latest active: the session takes its size
    big_writer.write(encode_frame(make_input(b"seq 1 60; echo BIG-$((2*21))\r")))
    big_layout = await read_until(big_reader, lambda m: m["t"] == "layout" and m["rows"] == 40)
    assert big_layout["regions"][0]["h"] == 40

    async def small_view(marker: str) -> tuple[dict, dict[int, str], list]:
        """The small client's latest layout and screen once `marker` shows on it."""
        layout, screen, cursor = None, {}, None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = await read_until(small_reader, lambda m: m["t"] in ("layout", "rows"), timeout=15)
            if message["t"] == "layout":
                layout = message
            else:
                if message["full"]:
                    screen = {}
                screen.update({int(y): "".join(run[0] for run in runs) for y, runs in message["rows"].items()})
                cursor = message["cursor"]
            if layout and any(marker in line for line in screen.values()):
                return layout, screen, cursor
        raise AssertionError(f"{marker} never showed on the small client")

    for step, (marker, action) in enumerate([
        ("BIG-42", None),
        ("WIDER-7", lambda: big_writer.write(encode_frame({"t": "resize", "cols": 120, "rows": 50}))),
        ("PANEL-9", lambda: big_writer.write(encode_frame({"t": "resize", "cols": 90, "rows": 50}))),
    ]):
        if action is not None:
            action()
            await read_until(big_reader, lambda m: m["t"] == "layout", timeout=10)
            big_writer.write(encode_frame(make_input(f"echo {marker[:-2]}-$((1+{int(marker[-1]) - 1}))\r".encode())))
        layout, screen, cursor = await small_view(marker)
        # the small client's view fits its terminal, shows the prompt line with the cursor, and every row
        # it holds is within the view
        assert layout["cols"] <= 60 and layout["rows"] <= 12, (step, layout)
        for region in layout["regions"]:
            assert region["x"] + region["w"] <= 60 and region["y"] + region["h"] <= 12, (step, region)
        assert all(0 <= y < 12 for y in screen), (step, sorted(screen))
        assert cursor is not None and 0 <= cursor[1] < 12 and cursor[2], (step, cursor)
        assert screen.get(cursor[1], "").startswith("$"), (step, screen.get(cursor[1]))
    small_writer.close()
    big_writer.close()


async def test_one_user_cannot_hold_unbounded_connections(served):
    env, socket_path = served("many")
    held = []
    for _ in range(40):  # each holds a hello in progress; the server takes 32 per uid at once
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        # within the hello's 64 KiB (a larger one is refused at once, which would free its place)
        writer.write(struct.pack(">I", 32 << 10) + b"{")
        held.append((reader, writer))

    async def closed_by_server(reader: asyncio.StreamReader) -> bool:
        try:
            return await asyncio.wait_for(reader.read(1), 5) == b""
        except ConnectionResetError:  # closed with our bytes unread
            return True

    # all at once, well inside the hello timeout: the first 32 are still held when the last 8 are judged
    closed = await asyncio.gather(*(closed_by_server(reader) for reader, _ in held[32:]))
    assert closed == [True] * 8
    for _, writer in held:
        writer.close()
    await asyncio.sleep(0.5)
    await assert_normal_client_works(socket_path, "after-many")
    assert "already open" in server_log(socket_path)
