"""Keystroke-echo latency of a local pane, hascreen against tmux, measured end to end in the same run.

Each multiplexer's client runs in a pty this benchmark owns (200x50), with `cat` in its window. One key is
written to the client's pty and the clock stops when the echoed character comes back out of the client's
pty, through the whole path: client → server → pty → cat → tty echo → emulator → frame → client → terminal.
Keys go at 25 per second (faster than anyone types): hascreen caps frames at 60/s with a small burst allowance,
so a machine-gun of keys 5 ms apart would measure the frame cap rather than the echo path.

    .venv/bin/python bench/echo_latency.py [--keys 300] [--load]

--load adds a second window that floods output (responsiveness under flood, issue 3's third figure).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

COLS, ROWS = 200, 50
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
KEY_INTERVAL = 0.04


class PtyClient:
    """A program running on a pty we own, with helpers to write keys and wait for output."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = ROWS) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, COLS, 0, 0))
        os.set_blocking(self.fd, False)
        self.output = bytearray()

    def read_for(self, seconds: float) -> bytes:
        deadline = time.monotonic() + seconds
        chunks = bytearray()
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunks += os.read(self.fd, 65536)
                except OSError:
                    break
        return bytes(chunks)

    def wait_for(self, needle: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        buffer = bytearray()
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            try:
                buffer += os.read(self.fd, 65536)
            except OSError:
                return False
            if needle in buffer:
                return True
        return False

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def measure(client: PtyClient, keys: int) -> list[float]:
    samples = []
    for i in range(keys):
        char = ALPHABET[i % len(ALPHABET)].encode()
        start = time.perf_counter()
        os.write(client.fd, char)
        if not client.wait_for(char, 2.0):
            raise RuntimeError(f"no echo of {char!r} within 2 s")
        samples.append((time.perf_counter() - start) * 1000)
        # erase it again, so that a later repaint of the line cannot pass for the next key's echo
        os.write(client.fd, b"\x7f")
        client.read_for(KEY_INTERVAL)
    return samples


def run_tmux(keys: int, load: bool, env: dict[str, str]) -> list[float]:
    socket_name = f"hascreen-bench-{os.getpid()}"
    base = ["tmux", "-L", socket_name, "-f", "/dev/null"]
    try:
        subprocess.run([*base, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "cat"], check=True, env=env)
        if load:
            subprocess.run([*base, "split-window", "-h", "yes 0123456789.0123456789.0123456789"], check=True,
                           env=env)
            subprocess.run([*base, "select-pane", "-L"], check=True, env=env)
        client = PtyClient([*base, "attach"], env)
        try:
            client.read_for(1.0)
            return measure(client, keys)
        finally:
            client.close()
    finally:
        subprocess.run([*base, "kill-server"], env=env, stderr=subprocess.DEVNULL)


def run_hascreen(keys: int, load: bool, env: dict[str, str]) -> list[float]:
    hascreen = str(Path(sys.executable).with_name("hascreen"))
    directory = tempfile.mkdtemp(prefix="hascreen-bench-")
    os.chmod(directory, 0o700)
    env = dict(env, HASCREEN_DIR=directory, HASCREEN_HOSTS="")  # no health polling of a lab that may be up
    name = f"bench{os.getpid()}"
    try:
        subprocess.run([hascreen, "-d", "-m", "-S", name, "cat"], check=True, env=env)
        if load:
            subprocess.run([hascreen, "-X", name, "split", "-v"], check=True, env=env)
            subprocess.run([hascreen, "-X", name, "focus-next"], check=True, env=env)
            subprocess.run([hascreen, "-X", name, "new-window", "yes", "0123456789.0123456789.0123456789"],
                           check=True, env=env)
            subprocess.run([hascreen, "-X", name, "focus-next"], check=True, env=env)
        client = PtyClient([hascreen, "-r", name], env)
        try:
            client.read_for(2.0)
            return measure(client, keys)
        finally:
            client.close()
    finally:
        subprocess.run([hascreen, "-X", name, "kill-server"], env=env, stderr=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(directory, ignore_errors=True)


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--load", action="store_true", help="flood a second pane while measuring")
    args = parser.parse_args()
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
    env.pop("TMUX", None)
    results = {"tmux": run_tmux(args.keys, args.load, env), "hascreen": run_hascreen(args.keys, args.load, env)}
    tmux_median, tmux_p99 = summary(results["tmux"])
    print(f"keystroke echo, {args.keys} keys, {'with a flooding pane' if args.load else 'idle'} (ms)")
    print(f"{'':10} {'median':>8} {'p99':>8}")
    for name, samples in results.items():
        median, p99 = summary(samples)
        print(f"{name:10} {median:8.2f} {p99:8.2f}")
    median, p99 = summary(results["hascreen"])
    print(f"ratio hascreen/tmux: median {median / tmux_median:.2f}x, p99 {p99 / tmux_p99:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
