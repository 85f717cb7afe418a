"""A long multi-byte paste through the real client arrives whole: `hascreen -r` runs on a pty of the test's
own (the raw-input driver), the terminal side writes one bracketed paste of 10 MB of UTF-8 text, and a small
reader in the pane (raw mode, bracketed paste on) saves what the program got. It must be byte-exact: one
bracket pair, every character intact (no U+FFFD where the client cut it), newlines as CR as a terminal sends
them.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_raw_terminal import PtyClient, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/ptmx"), reason="needs ptys")

PASTE_BYTES = 10 * 1024 * 1024
READER = r'''
import os, sys, termios, tty
out = sys.argv[1]
tty.setraw(0)
os.write(1, b"\x1b[?2004hREADY-TO-READ\r\n")
data = bytearray()
while not data.endswith(b"\x1b[201~"):
    chunk = os.read(0, 1 << 20)
    if not chunk:
        break
    data += chunk
with open(out + ".tmp", "wb") as handle:
    handle.write(data)
os.rename(out + ".tmp", out)
os.write(1, b"\x1b[?2004lREADER-DONE\r\n")
'''


def multibyte_text(size: int) -> str:
    """Lines of mixed 1- to 4-byte characters (accents, arrows, CJK, emoji, box drawing) up to `size` bytes."""
    rng = random.Random(17)
    alphabet = ["a", "Z", "0", " ", "é", "ß", "→", "─", "日", "本", "語", "😀", "🚀", "Ω", "ж", "\t"]
    lines, total = [], 0
    while total < size:
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(20, 200)))
        lines.append(line)
        total += len(line.encode()) + 1
    return "\n".join(lines)


def test_ten_megabytes_of_multibyte_text_arrive_byte_exact(live) -> None:
    reader = live.directory / "reader.py"
    reader.write_text(READER)
    received = live.directory / "received"
    client = PtyClient(live)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        client.write(f"{sys.executable} {reader} {received}\r".encode())
        wait_until(lambda: b"READY-TO-READ" in client.output, "the reader in the pane", timeout=20)
        time.sleep(0.3)  # the server's emulator has seen mode 2004 along with READY
        text = multibyte_text(PASTE_BYTES)
        payload = text.encode()
        assert len(payload) >= PASTE_BYTES and len(text) < len(payload)  # really multi-byte

        def type_paste() -> None:  # the terminal sends it as one bracketed paste; writes block as the client reads
            data = memoryview(b"\x1b[200~" + payload + b"\x1b[201~")
            while data:
                written = os.write(client.master, data[: 1 << 16])
                data = data[written:]

        writer = threading.Thread(target=type_paste, daemon=True)
        writer.start()
        wait_until(received.exists, "the reader to get the whole paste", timeout=240)
        writer.join(timeout=10)
        got = received.read_bytes()
        expected = b"\x1b[200~" + text.replace("\n", "\r").encode() + b"\x1b[201~"
        assert got.count(b"\x1b[200~") == 1 and got.count(b"\x1b[201~") == 1, "one bracket pair"
        assert "\ufffd".encode() not in got
        assert len(got) == len(expected)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(expected).hexdigest()
        assert client.process.poll() is None, "the client is still running"
    finally:
        client.close()


async def test_a_client_gone_mid_paste_does_not_leave_the_program_inside_it(live) -> None:
    """The last part never comes: the server still closes the bracket, so the program leaves paste mode."""
    import asyncio

    from tui.protocol.framing import encode_frame, read_frame
    from tui.protocol.messages import make_hello, make_input

    reader_script = live.directory / "reader.py"
    reader_script.write_text(READER)
    received = live.directory / "received"
    reader, writer = await asyncio.open_unix_connection(str(live.socket_path()))
    writer.write(encode_frame(make_hello(100, 30, "xterm", "multi")))
    writer.write(encode_frame(make_input(f"{sys.executable} {reader_script} {received}\r".encode())))

    async def screen_shows(text: str) -> None:
        while True:
            message = await read_frame(reader)
            assert message is not None
            if message.get("t") == "rows" and any(text in "".join(run[0] for run in runs)
                                                  for runs in message.get("rows", {}).values()):
                return

    await asyncio.wait_for(screen_shows("READY-TO-READ"), 20)
    await asyncio.sleep(0.3)  # mode 2004 reaches the emulator with READY
    writer.write(encode_frame({"t": "paste", "text": "first part → ", "more": True}))
    await writer.drain()
    writer.close()  # gone before the last part
    await writer.wait_closed()
    wait_until(received.exists, "the reader to see the end of the paste", timeout=20)
    assert received.read_bytes() == "\x1b[200~first part → \x1b[201~".encode()


async def test_a_paste_to_a_program_that_does_not_read_is_held_back_then_cut(live) -> None:
    """Back-pressure: the server keeps at most a few MiB of a paste the program has not read (it stops reading
    that client meanwhile), cuts the rest when the program reads nothing for a while, and stays responsive."""
    import asyncio

    from tui.protocol.framing import encode_frame, read_frame
    from tui.protocol.messages import PASTE_PART_BYTES, make_hello, make_input

    socket_path = live.socket_path()
    pid = int(socket_path.name.split(".")[0])

    def rss_kib() -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(encode_frame(make_hello(100, 30, "xterm", "multi")))
    writer.write(encode_frame(make_input(b"stty raw -echo; echo NOT-READING; sleep 60\r")))

    async def wait_for(predicate, what: str, timeout: float = 30.0) -> dict:
        async def find() -> dict:
            while True:
                message = await read_frame(reader)
                assert message is not None, f"connection closed waiting for {what}"
                if predicate(message):
                    return message
        return await asyncio.wait_for(find(), timeout)

    await wait_for(lambda m: m.get("t") == "rows" and any("NOT-READING" in "".join(r[0] for r in runs)
                                                           for runs in m.get("rows", {}).values()), "the prompt")
    before = rss_kib()
    part = "x" * (PASTE_PART_BYTES - 1)
    for _ in range(24):  # 24 MiB the program never reads
        writer.write(encode_frame({"t": "paste", "text": part, "more": True}))
    writer.write(encode_frame({"t": "paste", "text": "end"}))
    sending = asyncio.ensure_future(writer.drain())
    # meanwhile another client is served at once
    other_reader, other_writer = await asyncio.open_unix_connection(str(socket_path))
    other_writer.write(encode_frame(make_hello(80, 24, "control", "control")))
    assert (await asyncio.wait_for(read_frame(other_reader), 10))["t"] == "welcome"
    other_writer.write(encode_frame({"t": "ping"}))
    assert (await asyncio.wait_for(read_frame(other_reader), 5))["t"] == "pong"
    other_writer.close()
    notice = await wait_for(lambda m: m.get("t") == "notice" and "paste cut" in m.get("text", ""), "the cut")
    assert notice["text"] == "paste cut: the program stopped reading it"
    await asyncio.wait_for(sending, 30)
    grown_mib = (rss_kib() - before) / 1024
    assert grown_mib < 16, f"the server grew by {grown_mib:.0f} MiB for a paste its program never read"
    writer.close()
