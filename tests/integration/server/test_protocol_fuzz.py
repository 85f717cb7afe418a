"""A seeded, bounded protocol fuzzer against the real server (started by the CLI, its program an echo loop
that ignores ^C, ^\\ and ^Z and outlives ^D, so that nothing typed at random can run anything or end the session): many connections, each a hello (mostly valid) and a burst of
frames that are valid, half valid (every message type with fields of the wrong type, out of range, nested,
with lone surrogates) or garbage (random bytes, bad lengths, truncated frames, deep JSON, invalid UTF-8).
Afterwards no traceback has reached the server's log, the server runs, and a normal client is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

from tui.commands import COMMANDS
from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import CLIENT_MESSAGES, make_hello, make_input

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
SEED = int(os.environ.get("HASCREEN_FUZZ_SEED", "20261207"))
CONNECTIONS = 120
FRAMES_PER_CONNECTION = 25
EXCLUDED_COMMANDS = {"kill-server", "kill-window"}  # they would end the session being fuzzed


def junk_value(rng: random.Random, depth: int = 0):
    choice = rng.randrange(12)
    if choice == 0:
        return rng.randint(-(2 ** 70), 2 ** 70)
    if choice == 1:
        return rng.choice([0, -1, 1, 999, 1000, 1001, 2 ** 31, -(2 ** 31)])
    if choice == 2:
        return rng.random() * rng.choice([1, 1e300, -1e-300])
    if choice == 3:
        return rng.choice([True, False, None])
    if choice == 4:
        return "fz-" + "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(0, 40)))
    if choice == 5:
        return rng.choice(["\udcff", "a\ud800b", "\x00\x1b[31m", "fz-\u202e", "fz-" + "x" * rng.randrange(0, 70000)])
    if choice == 6 and depth < 12:
        return [junk_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if choice == 7 and depth < 12:
        return {rng.choice(["t", "x", "pane", "\udc80"]): junk_value(rng, depth + 1) for _ in range(rng.randrange(0, 3))}
    if choice == 8:
        return "".join(rng.choice("ABCDEFGHabcdefgh0123456789+/=") for _ in range(rng.randrange(0, 60)))
    return rng.randrange(0, 300)


def field_value(rng: random.Random, expected):
    if rng.random() < 0.6:  # mostly the right type, with edge values
        if expected is int:
            return rng.choice([0, 1, 2, -1, 5, 80, 24, 299, 1000, 1001, 10 ** 9])
        if expected is str:
            return rng.choice(["", "fz", "pam", "passphrase", "press", "scroll_up", "attach", "control",
                               "\udcff", "ZWNobyBmego=", "not base64!"])
        if expected is list:
            return [junk_value(rng) for _ in range(rng.randrange(0, 4))]
    return junk_value(rng)


def fuzz_message(rng: random.Random) -> dict:
    kind = rng.choice(list(CLIENT_MESSAGES) + ["command"] * 4 + ["bogus", ""])
    if kind == "command" and rng.random() < 0.8:
        name = rng.choice(sorted(set(COMMANDS) - EXCLUDED_COMMANDS))
        args = [rng.choice(["-v", "-h", "-n", "1", "0", "+3", "-5", "fz-arg", "\udcff", "9" * 30])
                for _ in range(rng.randrange(0, 4))]
        message: dict = {"t": "command", "name": name, "args": args}
        if rng.random() < 0.5:
            message["id"] = rng.choice([1, "fz", "\ud800", [1], {"a": 1}, True, 2 ** 80])
        return message
    if kind == "resize" and rng.random() < 0.7:
        return {"t": "resize", "cols": rng.randrange(1, 260), "rows": rng.randrange(1, 80)}
    message = {"t": kind}
    for name, expected in CLIENT_MESSAGES.get(kind, {}).items():
        if rng.random() < 0.9:
            message[name] = field_value(rng, expected if isinstance(expected, type) else int)
    if rng.random() < 0.2:
        message[rng.choice(["extra", "id", "detach_others"])] = junk_value(rng)
    return message


def raw_frame(rng: random.Random) -> bytes:
    """A frame that is broken on the wire."""
    choice = rng.randrange(8)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if choice == 1:
        return struct.pack(">I", rng.choice([2 ** 32 - 1, 9 * 1024 * 1024]))
    if choice == 2:
        body = json.dumps({"t": "ping"}).encode()
        return struct.pack(">I", len(body) + rng.randrange(1, 50)) + body  # truncated: the rest never comes
    if choice == 3:
        depth = rng.randrange(500, 6000)
        body = ("[" * depth + "]" * depth).encode()
        return struct.pack(">I", len(body)) + body
    if choice == 4:
        body = b'{"t":"paste","text":"\xff\xfe"}'
        return struct.pack(">I", len(body)) + body
    if choice == 5:
        body = rng.choice([b"[]", b"null", b"42", b'"t"', b'{"t":1}', b"{}", b""])
        return struct.pack(">I", len(body)) + body
    if choice == 6:
        body = b'{"t":"command","name":"rename-window","args":["\\udcff\\ud800"],"id":"\\udc80"}'
        return struct.pack(">I", len(body)) + body
    return struct.pack(">I", 0)


async def fuzz_connection(socket_path: Path, rng: random.Random) -> None:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))

    async def discard() -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    drain = asyncio.create_task(discard())
    try:
        roll = rng.random()
        if roll < 0.75:
            mode = rng.choice(["multi", "multi", "control", "attach"])
            writer.write(encode_frame(make_hello(rng.randrange(1, 200), rng.randrange(1, 60), "xterm", mode,
                                                 readonly=rng.random() < 0.2, detach_others=rng.random() < 0.3)))
        elif roll < 0.85:
            writer.write(encode_frame(fuzz_message(rng)))  # no hello first
        else:
            writer.write(raw_frame(rng))
        for _ in range(rng.randrange(1, FRAMES_PER_CONNECTION)):
            if rng.random() < 0.85:
                try:
                    writer.write(encode_frame(fuzz_message(rng)))
                except Exception:  # a message our own encoder refuses (e.g. too big) goes raw
                    writer.write(raw_frame(rng))
            else:
                writer.write(raw_frame(rng))
                break  # after a broken frame the stream is out of step: the server drops it anyway
            if rng.random() < 0.3:
                await asyncio.sleep(0.005)
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(writer.drain(), 5)
        await asyncio.sleep(rng.choice([0, 0.01, 0.05]))
    except ConnectionError:
        pass
    finally:
        if rng.random() < 0.5:
            writer.transport.abort()
        else:
            writer.close()
        drain.cancel()


async def read_until_kind(reader, kind: str) -> dict:
    while True:
        message = await read_frame(reader)
        assert message is not None, "the server closed the normal client"
        if message["t"] == kind:
            return message


async def test_seeded_protocol_fuzz_leaves_no_traceback_and_a_working_server(tmp_path):
    (tmp_path / "config.yaml").write_text("{}\n")
    env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sock"), HASCREEN_CONFIG=str(tmp_path / "config.yaml"),
               HASCREEN_AUDIT_LOG=str(tmp_path / "audit.log"), SHELL="/bin/cat")
    env["HASCREEN_HOSTS"] = ""  # no hosts file: a lab that is up on the machine is no part of this session
    echo = tmp_path / "echo.py"
    echo.write_text("import os, signal\n"
                    "for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGHUP):\n"
                    "    signal.signal(sig, signal.SIG_IGN)\n"
                    "while True:\n"
                    "    data = os.read(0, 4096)\n"
                    "    if data:\n"
                    "        os.write(1, data)\n")
    subprocess.run([HASCREEN, "-d", "-m", "-S", "fuzz", sys.executable, str(echo)], env=env, check=True, timeout=20,
                   cwd=tmp_path)  # not the repository: its example hosts.yaml would be found
    socket_path = next(p for p in (tmp_path / "sock").iterdir() if p.name.endswith(".fuzz"))
    log_path = socket_path.parent / ".fuzz.log"
    rng = random.Random(SEED)
    try:
        for _ in range(CONNECTIONS // 4):
            await asyncio.wait_for(asyncio.gather(*(fuzz_connection(socket_path, random.Random(rng.random()))
                                                    for _ in range(4))), 60)
        assert socket_path.exists(), f"the server is gone (seed {SEED})"
        # a normal client is served: unlock if the fuzzer locked it, then type into cat
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        writer.write(encode_frame(make_hello(80, 24, "xterm", "multi")))
        welcome = await asyncio.wait_for(read_frame(reader), 10)
        assert welcome["t"] == "welcome", welcome
        for _ in range(20 if welcome.get("locked") else 0):  # the fuzzer's wrong attempts may delay it
            writer.write(encode_frame({"t": "unlock", "method": "pam", "ok": True}))
            lock = await asyncio.wait_for(read_until_kind(reader, "lock"), 10)
            if not lock["locked"]:
                break
            await asyncio.sleep(min(float(lock.get("retry_after") or 1), 5))
        # whatever regions and windows the fuzzer left: one region, showing the first window
        writer.write(encode_frame({"t": "command", "name": "only-region", "args": []}))
        layout = await asyncio.wait_for(read_until_kind(reader, "layout"), 10)
        assert layout["windows"], f"seed {SEED}: no window left"
        first = str(layout["windows"][0]["number"])
        writer.write(encode_frame({"t": "command", "name": "select-window", "args": [first], "id": 1}))
        result = await asyncio.wait_for(read_until_kind(reader, "result"), 10)
        assert result["ok"], result
        # ^Q first: a ^S typed at random stops the pane's tty output, as in any terminal; ^U: a line of
        # random text may have filled the tty's line buffer
        writer.write(encode_frame(make_input(b"\x11\x15\rfuzz-survived\r")))

        async def echoed() -> None:
            while True:
                message = await read_frame(reader)
                assert message is not None, "the server closed the normal client"
                if message["t"] == "rows" and any("fuzz-survived" in "".join(run[0] for run in runs)
                                                  for runs in message["rows"].values()):
                    return

        await asyncio.wait_for(echoed(), 20)
        writer.close()
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log, f"seed {SEED}: a traceback reached the log:\n{log[log.index('Traceback') - 500:][:3000]}"
        assert "internal server error" not in log
    finally:
        subprocess.run([HASCREEN, "-X", "fuzz", "kill-server"], env=env, timeout=20, capture_output=True)
