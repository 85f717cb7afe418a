"""Benchmark of tui.term against tmux, on the same generated files in the same run (issue #3).

Usage:  .venv/bin/python bench/term_throughput.py [--quick] [--profile] [--no-tmux]

Generates in a temporary directory: a plain log of 100-character lines (50 MB), a colourful log (20 MB) and a
cursor-heavy stream like top/vim redraws (10 MB); --quick divides the sizes by 10. For each file it measures
  - hascreen's Terminal (200x50, 10k scrollback) fed in 64 KiB slices as the server feeds it (the bytes are
    first given the pty's ONLCR translation, \\n -> \\r\\n, as a pane would receive them), and
  - tmux (200x50, history-limit 10000) running `cat FILE` until capture-pane shows a marker printed after it,
and prints MB/s (best of --repeat runs each, alternating) and the ratio. Then the memory cost of 10,000 lines of 100-character coloured scrollback:
RSS growth of a fresh Python process holding one Terminal vs the tmux server's RSS growth (VmRSS).
--profile prints a cProfile of feeding the plain file (top 15 by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.term import FEED_SLICE_BYTES, Terminal  # noqa: E402

COLS, ROWS, HISTORY = 200, 50, 10_000
MB = 1024 * 1024
MARKER = "DONE-MARKER-7f3a"
WORDS = ("connection", "closed", "by", "remote", "host", "session", "opened", "for", "user", "root",
         "drbd0:", "peer", "UpToDate", "keepalived", "VRRP_Instance", "entering", "MASTER", "STATE",
         "mysqld", "replication", "started", "heartbeat", "resource", "takeover", "complete", "error",
         "warning", "timeout", "retrying", "in", "5s", "sshd[1234]:", "Accepted", "publickey")
# 24-bit colours come from a theme, as programs that emit them (bat, delta, lsd, editors) use a fixed palette
THEME = [(0x28 + 7 * i, 0x80 + 3 * i, 0xff - 9 * i) for i in range(24)] + [(0xe0, 0x6c, 0x75), (0x98, 0xc3, 0x79)]
SERVICES = ("sshd", "kernel", "drbd", "keepalived", "mysqld", "crmd", "pengine", "corosync", "systemd")


# ---- file generation ----------------------------------------------------------------------------------

def _message(rng: random.Random, width: int) -> str:
    words = []
    size = 0
    while size < width:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:width].ljust(width)


def make_plain(path: Path, size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    lines = []
    total = 0
    n = 0
    while total < size:
        head = f"Nov 22 10:{n // 3600 % 60:02d}:{n // 60 % 60:02d} node-{'ab'[n % 2]} {rng.choice(SERVICES)}: "
        line = (head + _message(rng, 100 - len(head)))[:100] + "\n"
        lines.append(line)
        total += len(line)
        n += 1
    path.write_text("".join(lines))


def make_colourful(path: Path, size: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    levels = (("\x1b[1;32m", "INFO "), ("\x1b[1;33m", "WARN "), ("\x1b[1;31m", "ERROR"), ("\x1b[36m", "DEBUG"))
    out = []
    total = 0
    n = 0
    while total < size:
        colour, level = rng.choice(levels)
        service = rng.choice(SERVICES)
        ts = f"2026-11-22T10:{n // 60 % 60:02d}:{n % 60:02d}"
        parts = [f"\x1b[2m{ts}\x1b[0m ", f"{colour}{level}\x1b[0m ", f"\x1b[38;5;{rng.randrange(16, 232)}m"
                 f"{service:<10}\x1b[0m "]
        visible = len(ts) + 1 + 6 + 11
        while visible < 100:
            word = rng.choice(WORDS)[: 100 - visible]
            style = rng.random()
            if style < 0.15:
                r, g, b = rng.choice(THEME)
                word_text = f"\x1b[38;2;{r};{g};{b}m{word}\x1b[0m"
            elif style < 0.25:
                word_text = f"\x1b[1m{word}\x1b[22m"
            elif style < 0.3:
                word_text = f"\x1b[4;35m{word}\x1b[0m"
            else:
                word_text = word
            sep = " " if visible + len(word) < 100 else ""
            parts.append(word_text + sep)
            visible += len(word) + len(sep)
        line = "".join(parts) + "\n"
        out.append(line)
        total += len(line.encode())
        n += 1
    path.write_text("".join(out))


def make_cursor_heavy(path: Path, size: int, seed: int = 3) -> None:
    """Frames like top (absolute moves, reverse header, coloured fields, erase to end of line) and like vim
    (scroll region, scrolling inside it, insert/delete lines, status line)."""
    rng = random.Random(seed)
    out = []
    total = 0
    frame = 0
    while total < size:
        parts = ["\x1b[?25l"]
        if frame % 3:
            parts.append(f"\x1b[H\x1b[1mtop - 10:{frame % 60:02d}:00 up 12 days, load average: "
                         f"{rng.random():.2f}, {rng.random():.2f}\x1b[0m\x1b[K")
            parts.append(f"\x1b[2;1HTasks: \x1b[1m{rng.randrange(300)}\x1b[0m total\x1b[K")
            parts.append("\x1b[6;1H\x1b[7m    PID USER      PR  NI    VIRT    RES  %CPU COMMAND" + " " * 148
                         + "\x1b[0m")
            for y in range(7, ROWS + 1):
                cpu = rng.random() * 100
                colour = "\x1b[1;31m" if cpu > 80 else "\x1b[32m" if cpu < 10 else ""
                parts.append(f"\x1b[{y};1H{rng.randrange(1, 65535):>7} {'root':<8} 20   0 "
                             f"{rng.randrange(10**6):>7} {rng.randrange(10**5):>6} {colour}{cpu:5.1f}\x1b[0m "
                             f"{rng.choice(SERVICES)}\x1b[K")
        else:
            parts.append(f"\x1b[1;{ROWS - 1}r")
            for _ in range(10):
                parts.append(f"\x1b[{ROWS - 1};1H\r\n\x1b[33m{rng.randrange(9999):>4}\x1b[0m "
                             f"{_message(rng, 80).rstrip()}\x1b[K")
            parts.append(f"\x1b[{rng.randrange(1, 40)};1H\x1b[2L\x1b[34m~\x1b[0m\x1b[1M")
            parts.append(f"\x1b[r\x1b[{ROWS};1H\x1b[7m\"file.txt\" {frame} lines\x1b[0m\x1b[K"
                         f"\x1b[{rng.randrange(1, ROWS)};{rng.randrange(1, COLS)}H")
        parts.append("\x1b[?25h")
        chunk = "".join(parts)
        out.append(chunk)
        total += len(chunk.encode())
        frame += 1
    path.write_text("".join(out))


# ---- hascreen ------------------------------------------------------------------------------------------

def feed_terminal(data: bytes, scrollback: int = HISTORY) -> tuple[float, Terminal]:
    term = Terminal(COLS, ROWS, scrollback)
    view = memoryview(data)
    start = time.perf_counter()
    for offset in range(0, len(data), FEED_SLICE_BYTES):
        term.feed(view[offset:offset + FEED_SLICE_BYTES])
        term.take_dirty()
    return time.perf_counter() - start, term


def onlcr(path: Path) -> bytes:
    return path.read_bytes().replace(b"\n", b"\r\n")


# ---- tmux ----------------------------------------------------------------------------------------------

class Tmux:
    count = 0

    def __init__(self, workdir: Path) -> None:
        Tmux.count += 1
        self.socket = f"bench{os.getpid()}-{Tmux.count}"
        self.conf = workdir / "tmux.conf"
        self.conf.write_text(f"set -g history-limit {HISTORY}\nset -g status off\n")
        self._run("new-session", "-d", "-s", "idle", "-x", str(COLS), "-y", str(ROWS), "sleep 3600")
        self.server_pid = int(self._run("display-message", "-p", "-t", "idle", "#{pid}").strip())

    def _run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def cat(self, path: Path, name: str, timeout: float = 600.0) -> float:
        """Seconds from starting `cat path` in a new 200x50 pane until its end shows on the pane."""
        command = f"cat {path}; printf {MARKER}; sleep 3600"
        start = time.perf_counter()
        self._run("new-session", "-d", "-s", name, "-x", str(COLS), "-y", str(ROWS), command)
        deadline = start + timeout
        while time.perf_counter() < deadline:
            if MARKER in self._run("capture-pane", "-p", "-t", name):
                return time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"tmux did not finish {path.name} within {timeout}s")

    def kill_session(self, name: str) -> None:
        self._run("kill-session", "-t", name)

    def rss_kib(self) -> int:
        return _vmrss_kib(self.server_pid)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def _vmrss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# ---- memory --------------------------------------------------------------------------------------------

MEMORY_CHILD = r"""
import gc, sys
sys.path.insert(0, sys.argv[1])
from tui.term import Terminal
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
data = open(sys.argv[2], 'rb').read().replace(b'\n', b'\r\n')
term = Terminal(200, 50, 10000)
term.feed(b'warm up\r\n')
gc.collect()
before = rss()
for i in range(0, len(data), 65536):
    term.feed(data[i:i + 65536])
gc.collect()
print(rss() - before, term.scrollback_len)
"""


def memory_terminal(path: Path) -> tuple[int, int]:
    result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(ROOT), str(path)], check=True,
                            capture_output=True, text=True, timeout=300)
    growth, lines = result.stdout.split()
    return int(growth), int(lines)


def memory_tmux(workdir: Path, path: Path) -> int:
    """VmRSS growth of a fresh tmux server while one pane takes in `path` (the pane exists before)."""
    tmux = Tmux(workdir)
    try:
        command = f"sleep 1; cat {path}; printf {MARKER}; sleep 3600"
        tmux._run("new-session", "-d", "-s", "memory", "-x", str(COLS), "-y", str(ROWS), command)
        time.sleep(0.5)
        before = tmux.rss_kib()
        deadline = time.perf_counter() + 120
        while MARKER not in tmux._run("capture-pane", "-p", "-t", "memory"):
            if time.perf_counter() > deadline:
                raise TimeoutError("tmux did not finish the memory file")
            time.sleep(0.05)
        time.sleep(0.2)
        return tmux.rss_kib() - before
    finally:
        tmux.close()


# ---- main ----------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="files 10x smaller")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of feeding the plain file")
    parser.add_argument("--no-tmux", action="store_true", help="measure only hascreen")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file and side; the best counts")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    use_tmux = not args.no_tmux and shutil.which("tmux") is not None

    with tempfile.TemporaryDirectory(prefix="term-bench-") as tmp:
        work = Path(tmp)
        files = {
            "plain log (100-char lines)": (work / "plain.log", 50 * MB // scale, make_plain),
            "colourful log (SGR 16/256/24-bit)": (work / "colour.log", 20 * MB // scale, make_colourful),
            "cursor-heavy (top/vim redraws)": (work / "cursor.txt", 10 * MB // scale, make_cursor_heavy),
        }
        print(f"generating files in {work} ...", flush=True)
        for path, size, maker in files.values():
            maker(path, size)
        memory_file = work / "memory.log"
        make_colour_lines(memory_file, 10_000)

        tmux = Tmux(work) if use_tmux else None
        rows = []
        try:
            for index, (label, (path, _size, _maker)) in enumerate(files.items()):
                data = onlcr(path)
                megabytes = path.stat().st_size / MB
                ours_best = theirs_best = 0.0
                errors = 0
                for attempt in range(args.repeat):  # best of N, alternating, against noise from other work
                    elapsed, term = feed_terminal(data)
                    ours_best = max(ours_best, megabytes / elapsed)
                    errors += term.internal_errors
                    del term
                    if tmux is not None:
                        seconds = tmux.cat(path, f"run{index}-{attempt}")
                        tmux.kill_session(f"run{index}-{attempt}")
                        theirs_best = max(theirs_best, megabytes / seconds)
                rows.append((label, megabytes, ours_best, theirs_best or None, errors))
            ours_kib, kept = memory_terminal(memory_file)
            tmux_kib = memory_tmux(work, memory_file) if tmux is not None else None
        finally:
            if tmux is not None:
                tmux.close()

        print()
        print(f"{'stream':<36} {'size MB':>8} {'hascreen MB/s':>14} {'tmux MB/s':>10} {'ratio':>7}")
        for label, megabytes, ours, theirs, errors in rows:
            ratio = f"{ours / theirs:6.2f}x" if theirs else "    n/a"
            tmux_text = f"{theirs:10.1f}" if theirs else f"{'n/a':>10}"
            flag = "" if not errors else f"  ({errors} internal errors!)"
            print(f"{label:<36} {megabytes:8.1f} {ours:14.1f} {tmux_text} {ratio}{flag}")
        print()
        print(f"memory: RSS growth for 10,000 lines of 100-char coloured scrollback ({kept} lines kept)")
        print(f"  hascreen Terminal: {ours_kib:8d} KiB  ({ours_kib * 1024 / 10_000:6.0f} bytes/line)")
        if tmux_kib is not None:
            ratio = ours_kib / tmux_kib if tmux_kib > 0 else float("inf")
            print(f"  tmux server:       {tmux_kib:8d} KiB  ({tmux_kib * 1024 / 10_000:6.0f} bytes/line)")
            print(f"  ratio hascreen/tmux: {ratio:.2f}x (goal <= 1.5x, bar <= 3x)")

        if args.profile:
            plain = onlcr(files["plain log (100-char lines)"][0])
            profiler = cProfile.Profile()
            profiler.enable()
            feed_terminal(plain)
            profiler.disable()
            report = io.StringIO()
            pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(15)
            print("\nprofile: feeding the plain log (top 15 by own time)")
            print(report.getvalue())
            cursor = onlcr(files["cursor-heavy (top/vim redraws)"][0])
            profiler = cProfile.Profile()
            profiler.enable()
            feed_terminal(cursor)
            profiler.disable()
            report = io.StringIO()
            pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(15)
            print("\nprofile: feeding the cursor-heavy stream (top 15 by own time)")
            print(report.getvalue())
    return 0


def make_colour_lines(path: Path, count: int) -> None:
    """Exactly `count` coloured lines of 100 visible characters."""
    rng = random.Random(5)
    lines = []
    for n in range(count):
        ts = f"10:{n // 60 % 60:02d}:{n % 60:02d}"
        body = _message(rng, 100 - len(ts) - 7)
        colour = rng.choice(("\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[38;5;208m", "\x1b[38;2;10;200;90m"))
        lines.append(f"\x1b[2m{ts}\x1b[0m {colour}[{n % 1000:03d}]\x1b[0m {body[:50]}\x1b[1m{body[50:]}\x1b[0m\n")
    path.write_text("".join(lines))


if __name__ == "__main__":
    sys.exit(main())
