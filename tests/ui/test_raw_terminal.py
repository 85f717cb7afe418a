"""The client on a real terminal: `hascreen -r` runs in a pty of the test's own, with the raw-input driver.

Bytes written to the pty must reach the pane unchanged (Esc before ':' included, ^C and ^Z to the pane's
program rather than the client), the prefix must work on raw bytes, a bracketed paste with ESC inside must
arrive whole, and C-a d must leave the client with screen's message. A key's echo is drawn on the terminal as
its whole line, at its place, with the terminal's cursor left right after the key. A second client attached with -x
(through run_test) is the observer that reads the panes.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time

import pyte
import pytest

HASCREEN = os.path.join(os.path.dirname(sys.executable), "hascreen")

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/ptmx"), reason="needs ptys")


class PtyClient:
    """`hascreen -r NAME` on a pty; everything it draws is drained into `output`."""

    def __init__(self, live, cols: int = 100, rows: int = 30) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen([HASCREEN, "-r", live.name], stdin=slave, stdout=slave, stderr=slave,
                                        env=live.env, start_new_session=True, close_fds=True)
        os.close(slave)
        self.output = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    with self._lock:
                        self.output += data
                elif self.process.poll() is not None:
                    return
            except OSError:
                return

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._thread.join(timeout=5)
        os.close(self.master)


def wait_until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_raw_bytes_reach_the_pane_and_the_prefix_works(live):
    client = PtyClient(live)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        async with live.console(mode="multi") as observer:
            client.write(b"echo raw-$((2+3))\r")
            await observer.wait_text("raw-5")

            # Esc followed by ':' in the same read, and ^C: both for the program in the pane
            client.write(b"cat -v\r")
            await observer.wait_text("cat -v")
            client.write(b"\x1b:wq\r")
            await observer.wait_text("^[:wq", what="ESC : reaching cat -v intact")
            # alt+b (Textual would make it ctrl+left), shift+F3 (Textual loses it), U+009B (0x9b killed Textual)
            client.write(b"<\x1bb\x1b[1;2R\xc2\x9b>\r")
            await observer.wait_text("<^[b^[[1;2RM-BM-^[>", what="alt and function keys, byte for byte")
            client.write(b"\x03")
            await observer.wait(lambda: observer.text.rstrip().endswith("$"), "^C ending cat, a new prompt")
            assert client.process.poll() is None, "^C must not stop the client"

            # ^Z suspends the pane's job, not the client
            client.write(b"sleep 30\r")
            await observer.wait_text("sleep 30")
            client.write(b"\x1a")
            await observer.wait(lambda: "Stopped" in observer.text or "stopped" in observer.text, "the job stopped")
            assert client.process.poll() is None, "^Z must not suspend the client"
            client.write(b"kill %1\r")

            # a bracketed paste with an ESC inside arrives whole; the client wraps it again for the shell
            client.write(b"\x1b[200~echo pasted-$((3*3))\x1b[201~")
            await observer.wait_text("echo pasted-$((3*3))", what="the pasted text")
            client.write(b"\r")
            await observer.wait_text("pasted-9")

            # the prefix on raw bytes: C-a c makes a window, C-a " and raw arrow + Enter choose one
            client.write(b"\x01c")
            await observer.wait(lambda: len(observer.tab_names) == 2, "C-a c: a second window")
            client.write(b'\x01"')
            time.sleep(0.3)
            client.write(b"\x1b[A\r")
            await observer.wait(lambda: observer.active == 0, "window 0 chosen in the list with raw keys")

            # C-a d: the client leaves with screen's message, the session stays
            client.write(b"\x01d")
            wait_until(lambda: client.process.poll() is not None, "the client to exit after C-a d")
            assert client.process.returncode == 0
            client._thread.join(timeout=5)
            assert f"[detached from {live.name}]".encode() in client.output
            assert observer.app.exit_info is None, "the -x observer is still attached"
    finally:
        client.close()


async def test_arrows_reach_a_program_in_application_cursor_mode_as_it_expects(live):
    client = PtyClient(live)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        async with live.console(mode="multi") as observer:
            # DECCKM on, then cat -v shows what an arrow from the real terminal becomes in the pane
            client.write(b"printf '\\033[?1hcursor-%s\\n' app; cat -v\r")
            await observer.wait(lambda: "cursor-app" in observer.text.splitlines(), "DECCKM set")
            client.write(b"\x1b[A\x1b[D\r")
            await observer.wait_text("^[OA^[OD", what="the arrows as ESC O A / ESC O D")
            client.write(b"\x03")
    finally:
        client.close()


def quiet(client: PtyClient, seconds: float = 0.5, timeout: float = 10.0) -> int:
    """Wait until the client has drawn nothing for `seconds`; returns how much it had drawn by then."""
    deadline = time.monotonic() + timeout
    size, since = len(client.output), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if len(client.output) != size:
            size, since = len(client.output), time.monotonic()
        elif time.monotonic() - since >= seconds:
            return size
    raise AssertionError("the client never stopped drawing")


SGR = re.compile(rb"\x1b\[[0-9;]*m")


def test_an_echo_is_drawn_as_its_whole_line_with_the_cursor_after_the_key(live):
    client = PtyClient(live, cols=100, rows=30)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        client.write(b"printf 're''ady\\n'; cat\r")
        wait_until(lambda: b"ready" in SGR.sub(b"", bytes(client.output)), "cat to start")
        for typed in (b"Q", b"QZ"):
            mark = quiet(client)
            client.write(typed[-1:])
            wait_until(lambda mark=mark, typed=typed: typed in SGR.sub(b"", bytes(client.output[mark:])),
                       f"the echo of {typed!r}")
            # the first drawing that shows the key: a cursor move to the start of a line, the line whole
            # (the terminal's width), the cursor moved right after the key
            drawn = re.search(rb"\x1b\[(\d+);1H((?:[^\x1b]|\x1b\[[0-9;]*m)*?)\x1b\[(\d+);(\d+)H",
                              bytes(client.output[mark:]), re.S)
            assert drawn, bytes(client.output[mark:])
            line = SGR.sub(b"", drawn[2]).decode()
            assert line == typed.decode().ljust(100), line
            assert (int(drawn[3]), int(drawn[4])) == (int(drawn[1]), len(typed) + 1)
        client.write(b"\x03")
    finally:
        client.close()


def screen_of(output: bytes, cols: int, rows: int) -> list[str]:
    """What a terminal shows after these bytes (pyte as the outer terminal)."""
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(output)
    return screen.display


def test_output_behind_a_dialog_is_never_drawn_over_it_and_the_echo_is_after_it_closes(live):
    """The server draws echoes straight onto the client's terminal (tui.server.direct) only while the client
    shows its panes: a pane's output that arrives while the help screen is open must not cross it."""
    client = PtyClient(live, cols=100, rows=30)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        client.write(b"clear; sleep 1.5; printf '%090d\\n' 0 | tr 0 '#'; cat\r")
        time.sleep(0.5)
        client.write(b"\x01?")  # C-a ?: the help screen, before the row of '#' arrives
        wait_until(lambda: "Key bindings" in "\n".join(screen_of(bytes(client.output), 100, 30)), "the help")
        help_shown = len(client.output)
        time.sleep(2.0)  # the row of '#' was printed behind the help meanwhile
        quiet(client)
        shown = screen_of(bytes(client.output), 100, 30)
        hashes = [line for line in shown if "#" in line]
        assert hashes, "\n".join(shown)  # the row shows in the margin left of the dialog...
        for line in hashes:
            assert line.count("#") < 20 and ("│" in line or "╭" in line), "\n".join(shown)  # ...never across it
        # ...not even for a moment: nothing ever wrote the row whole while the help was open
        assert b"#" * 20 not in bytes(client.output[help_shown:])
        client.write(b"\x1b")  # the help closes: the panes show again, and an echo is drawn at once
        wait_until(lambda: "Key bindings" not in "\n".join(screen_of(bytes(client.output), 100, 30)),
                   "the help to close")
        quiet(client)
        client.write(b"QZ")
        wait_until(lambda: any(line.rstrip() == "QZ" for line in screen_of(bytes(client.output), 100, 30)),
                   "the echo of QZ")
        shown = screen_of(bytes(client.output), 100, 30)
        assert any(line.rstrip() == "#" * 90 for line in shown), "\n".join(shown)
        client.write(b"\x03")
    finally:
        client.close()
