"""Keystroke echo latency over SSH: hascreen's SshPane against tmux running `ssh`, same sshd, same run.

Starts a throw-away OpenSSH sshd on loopback (the integration tests' harness), then types N single
characters into a login shell on it and times each round trip (write one key, wait for its echo byte):

- tmux: `tmux -L <private socket> new-session -d 'ssh -F cfg bench'`, with a tmux client attached inside a
  pty this script owns; a key is written to the client pty and awaited in the client pty's output;
- hascreen: `SshPane.write(key)` until `on_output` delivers the echo (the SSH part of the path only: the
  server's emulator and the client's drawing are not included).

The two are measured in alternating rounds so drift on the machine hits both alike. Prints median, p99 and
the ratios. Goal (issue #4): median <= 1.5x tmux's, p99 <= 16 ms.

    .venv/bin/python bench/ssh_echo.py [-n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "integration" / "ssh"))

from sshd_harness import Sshd, keygen  # noqa: E402

from tui.ssh import SshPool  # noqa: E402

KEYS = "abcdefghijklmnopqrstuvwxyz"
CLEAR_LINE = b"\x15"  # ^U: readline kills the typed line (not timed)
KEYS_PER_LINE = 50
GAP_S = 0.01  # pause between keystrokes, like (fast) typing
COLS, ROWS = 100, 30


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


# ---------------------------------------------------------------------- tmux + ssh


class TmuxSsh:
    """A tmux server running `ssh` in its pane, and a tmux client attached in a pty we own."""

    def __init__(self, ssh_config: Path, workdir: Path) -> None:
        self.socket = f"hascreen-bench-{os.getpid()}"
        self.env = dict(os.environ, TMUX_TMPDIR=str(workdir), TERM="xterm-256color")
        self.env.pop("TMUX", None)
        tmux = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), f"ssh -F {ssh_config} bench"],
            env=self.env,
            check=True,
            timeout=10,
        )
        subprocess.run([*tmux, "set-option", "-g", "status", "off"], env=self.env, check=True, timeout=10)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the attached tmux client
            os.execvpe("tmux", ["tmux", "-L", self.socket, "attach"], self.env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.tmux = tmux

    def read_until(self, needle: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        seen = b""
        while needle not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"tmux: no {needle!r} within {timeout}s; got {seen[-300:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                seen += os.read(self.fd, 65536)
        return seen

    def drain(self, idle: float = 0.005) -> None:
        while select.select([self.fd], [], [], idle)[0]:
            os.read(self.fd, 65536)

    def measure(self, count: int, start: int) -> list[float]:
        samples = []
        for i in range(start, start + count):
            if i % KEYS_PER_LINE == 0:
                os.write(self.fd, CLEAR_LINE)
                time.sleep(0.05)
                self.drain(0.02)
            key = KEYS[i % len(KEYS)].encode()
            t0 = time.perf_counter()
            os.write(self.fd, key)
            self.read_until(key, 5)
            samples.append(time.perf_counter() - t0)
            self.drain()
            time.sleep(GAP_S)
        return samples

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], env=self.env, timeout=10, check=False)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.fd)


# ---------------------------------------------------------------------- hascreen SshPane


class PaneEcho:
    """An SshPane whose output is watched for one awaited byte at a time."""

    def __init__(self, pool: SshPool) -> None:
        self.pane = pool.open_pane("bench")
        self.pane.on_output = self._output
        self.waiting: tuple[bytes, asyncio.Future[float]] | None = None
        self.seen = bytearray()

    def _output(self, data: bytes) -> None:
        now = time.perf_counter()
        self.seen += data
        if self.waiting and self.waiting[0] in data and not self.waiting[1].done():
            self.waiting[1].set_result(now)

    async def expect(self, needle: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pane: no {needle!r} within {timeout}s; got {bytes(self.seen[-300:])!r}")
            await asyncio.sleep(0.01)

    async def drain(self, idle: float = 0.005) -> None:
        while True:
            before = len(self.seen)
            await asyncio.sleep(idle)
            if len(self.seen) == before:
                return

    async def measure(self, count: int, start: int) -> list[float]:
        loop = asyncio.get_running_loop()
        samples = []
        for i in range(start, start + count):
            if i % KEYS_PER_LINE == 0:
                self.pane.write(CLEAR_LINE)
                await asyncio.sleep(0.05)
                await self.drain(0.02)
            key = KEYS[i % len(KEYS)].encode()
            future: asyncio.Future[float] = loop.create_future()
            self.waiting = (key, future)
            t0 = time.perf_counter()
            self.pane.write(key)
            t1 = await asyncio.wait_for(future, 5)
            samples.append(t1 - t0)
            self.waiting = None
            await self.drain()
            await asyncio.sleep(GAP_S)
        return samples


# ---------------------------------------------------------------------- main


async def run(count: int, rounds: int) -> int:
    if not shutil.which("tmux") or not os.path.exists("/usr/sbin/sshd"):
        print("needs tmux and openssh-server", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hascreen-bench-") as tmp:
        root = Path(tmp)
        key = keygen(root / "id_ed25519")
        sshd = Sshd(root, Path(str(key) + ".pub"), "127.0.0.1", "sshd")
        known_hosts = root / "known_hosts"
        known_hosts.write_text(sshd.known_hosts_line)
        ssh_config = root / "ssh_config"
        ssh_config.write_text(
            f"Host bench\n  HostName {sshd.address}\n  Port {sshd.port}\n  User root\n  IdentityFile {key}\n"
            f"  IdentitiesOnly yes\n  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking yes\n"
            "  ControlMaster no\n  ServerAliveInterval 15\n"
        )
        pool = SshPool({}, known_hosts=known_hosts, ssh_config=ssh_config, agent_path="")
        tmux = TmuxSsh(ssh_config, root)
        pane = PaneEcho(pool)
        try:
            tmux.drain(0.3)
            os.write(tmux.fd, b"echo tmux-ready-$((20+1))\r")
            tmux.read_until(b"tmux-ready-21", 15)
            await pane.pane.start(COLS, ROWS)
            pane.pane.write(b"echo pane-ready-$((20+2))\r")
            await pane.expect(b"pane-ready-22", 15)
            cipher = (await pool.connection("bench")).get_extra_info("send_cipher")
            tmux_ms: list[float] = []
            pane_ms: list[float] = []
            per_round = max(1, count // rounds)
            for r in range(rounds):
                tmux_ms += [s * 1000 for s in tmux.measure(per_round, r * per_round)]
                pane_ms += [s * 1000 for s in await pane.measure(per_round, r * per_round)]
        finally:
            tmux.close()
            await pane.pane.close()
            await pool.close()
            sshd.stop()
    t_med, p_med = statistics.median(tmux_ms), statistics.median(pane_ms)
    t_p99, p_p99 = percentile(tmux_ms, 99), percentile(pane_ms, 99)
    print(
        f"keystroke echo over ssh to a loopback sshd, {len(pane_ms)} keys each, {rounds} alternating rounds"
    )
    print(f"ciphers: tmux's ssh: OpenSSH's default; hascreen (asyncssh): {cipher}")
    print(f"{'':24}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(f"{'tmux + ssh':24}{t_med:10.3f}{t_p99:10.3f}{max(tmux_ms):10.3f}")
    print(f"{'hascreen SshPane':24}{p_med:10.3f}{p_p99:10.3f}{max(pane_ms):10.3f}")
    ratio_med, ratio_p99 = p_med / t_med, p_p99 / t_p99
    print(f"ratio hascreen/tmux: median {ratio_med:.2f}x, p99 {ratio_p99:.2f}x")
    ok = ratio_med <= 1.5 and p_p99 <= 16.0
    print(f"goal (median <= 1.5x tmux, p99 <= 16 ms): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=300, help="keystrokes per contender")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    return asyncio.run(run(args.count, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
