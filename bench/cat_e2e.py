"""`cat` of a 20 MB stream in a real pane, hascreen against tmux, end to end, in the same run (issue 12).

Three deterministic streams (the generators of bench/term_throughput.py): a plain log, a colourful log
(16/256/truecolour SGR) and top/vim-like cursor-addressed redraws. Each is `cat`ted by a small program that
runs as the pane's own program (the real server, the real pty):

Both multiplexers' panes have the same size, so they do the same work: 200x50 detached and 200x49 attached
(tmux's status line takes one row of a 200x50 terminal; hascreen's tab bar and status line take two, so its
client's terminal has one or two rows more than tmux's).

- **detached**: a client attached once (so the pane has that size, as after a user's detach) and was
  detached again (`hascreen -d NAME`; for tmux a session created with -x 200 -y 50). The figure is the
  time `cat` takes, plus the time until the emulator has parsed the end: after `cat` the program asks for the
  cursor position (DSR 6) and waits for the answer, which the multiplexer can only give once it has parsed
  everything before the question.
- **attached**: a real client (`hascreen -r` / `tmux attach`) runs in a pty this bench owns, as the outer
  terminal. The figure is the time from the start of `cat` until a marker printed after it shows up
  in the client's output to that terminal.

The last column is the emulator alone (tui.term.Terminal fed in-process in 64 KiB slices, as
bench/term_throughput.py does): a diagnosis, not what a user gets.

    .venv/bin/python bench/cat_e2e.py [--mb 20] [--repeat 1] [--only plain,colour,cursor] [--modes detached,attached]
"""

from __future__ import annotations

import argparse
import os
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from echo_latency import COLS, ROWS, PtyClient  # noqa: E402
from term_throughput import MB, feed_terminal, make_colourful, make_cursor_heavy, make_plain, onlcr  # noqa: E402

MARKER = "CAT-E2E-END-5b1e9"
TMUX_CHROME_ROWS = 1  # tmux's status line
TIMEOUT = 300.0

# The pane's program: wait for GO, cat FILE, ask DSR 6 and wait for the answer, print the marker, write
# "cols rows cat_seconds parsed_seconds" to RESULT, then idle. Echo and canonical mode are off so that the
# answer is read byte by byte and not echoed back into the pane; output processing (ONLCR) stays as it is.
PANE_PROGRAM = r"""
import os, select, subprocess, sys, termios, time
path, go, result, marker = sys.argv[1:5]
attrs = termios.tcgetattr(0)
attrs[3] &= ~(termios.ICANON | termios.ECHO)
termios.tcsetattr(0, termios.TCSANOW, attrs)
deadline = time.monotonic() + 600
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.001)
cols, rows = os.get_terminal_size(0)
start = time.perf_counter()
subprocess.run(["cat", path])
catted = time.perf_counter()
os.write(1, b"\x1b[6n")
answer = b""
while not answer.endswith(b"R") and len(answer) < 64:
    ready, _, _ = select.select([0], [], [], 600)
    if not ready:
        break
    answer += os.read(0, 1)
parsed = time.perf_counter()
os.write(1, ("\r\n" + marker + "\r\n").encode())
with open(result + ".tmp", "w") as out:
    out.write(f"{cols} {rows} {catted - start} {parsed - start}\n")
os.rename(result + ".tmp", result)
time.sleep(3600)
"""


class Run:
    """One measurement: a pane that cats `path`; subclasses start it in hascreen or tmux."""

    def __init__(self, work: Path, name: str, path: Path, env: dict[str, str]) -> None:
        self.work = work
        self.name = name
        self.path = path
        self.env = env
        self.go = work / f"{name}.go"
        self.result = work / f"{name}.result"
        self.program = [sys.executable, str(work / "pane_program.py"), str(path), str(self.go), str(self.result),
                        MARKER]

    def wait_result(self) -> tuple[int, int, float, float]:
        deadline = time.monotonic() + TIMEOUT
        while not self.result.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no result within {TIMEOUT} s")
            time.sleep(0.002)
        cols, rows, catted, parsed = self.result.read_text().split()
        return int(cols), int(rows), float(catted), float(parsed)

    def detached(self) -> tuple[int, int, float, float]:
        self.start_detached()
        try:
            self.go.touch()
            return self.wait_result()
        finally:
            self.stop()

    def attached(self) -> tuple[int, int, float, float]:
        self.start_session()
        client = PtyClient(self.attach_argv(), self.env, rows=ROWS - TMUX_CHROME_ROWS + self.chrome_rows)
        try:
            client.read_for(2.0)  # the client has drawn its first screen
            marker = MARKER.encode()
            tail = b""
            start = time.perf_counter()
            self.go.touch()
            deadline = start + TIMEOUT
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"{self.name}: the end did not show within {TIMEOUT} s")
                ready, _, _ = select.select([client.fd], [], [], remaining)
                if not ready:
                    continue
                try:
                    data = os.read(client.fd, 1 << 20)
                except OSError as exc:
                    raise RuntimeError(f"{self.name}: the client went away") from exc
                window = tail + data
                if marker in window:
                    shown = time.perf_counter() - start
                    break
                tail = window[-len(marker):]
            cols, rows, catted, _parsed = self.wait_result()
            return cols, rows, catted, shown
        finally:
            client.close()
            self.stop()

    # per multiplexer
    chrome_rows = 0  # rows of a client's terminal the multiplexer keeps for itself (tab bar, status line)

    def start_session(self) -> None: ...
    def start_detached(self) -> None: ...
    def attach_argv(self) -> list[str]: ...
    def stop(self) -> None: ...


class HascreenRun(Run):
    chrome_rows = 2
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.hascreen = str(Path(sys.executable).with_name("hascreen"))
        self.directory = Path(tempfile.mkdtemp(prefix="hascreen-cat-"))
        self.directory.chmod(0o700)
        self.env = dict(self.env, HASCREEN_DIR=str(self.directory))
        self.session = f"cat{os.getpid()}{self.name}"

    def _cli(self, *args: str) -> None:
        subprocess.run([self.hascreen, *args], check=True, env=self.env, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start_session(self) -> None:
        self._cli("-d", "-m", "-S", self.session, *self.program)

    def attach_argv(self) -> list[str]:
        return [self.hascreen, "-r", self.session]

    def start_detached(self) -> None:
        self.start_session()
        # sizes the pane to 200x50, as a user's attach does
        client = PtyClient(self.attach_argv(), self.env, rows=ROWS + self.chrome_rows)
        try:
            client.read_for(2.0)
            self._cli("-d", self.session)
            client.read_for(0.5)
        finally:
            client.close()

    def stop(self) -> None:
        subprocess.run([self.hascreen, "-X", self.session, "kill-server"], env=self.env, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.directory, ignore_errors=True)


class TmuxRun(Run):
    chrome_rows = TMUX_CHROME_ROWS
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.base = ["tmux", "-L", f"cat-e2e-{os.getpid()}-{self.name}", "-f", "/dev/null"]

    def start_session(self) -> None:
        subprocess.run([*self.base, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-s", "bench",
                        shlex.join(self.program)], check=True, env=self.env, timeout=30)
        subprocess.run([*self.base, "set", "-g", "history-limit", "10000"], check=True, env=self.env, timeout=30)

    def start_detached(self) -> None:
        self.start_session()

    def attach_argv(self) -> list[str]:
        return [*self.base, "attach", "-t", "bench"]

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], env=self.env, timeout=30, stderr=subprocess.DEVNULL)


STREAMS = {
    "plain": ("plain log", make_plain),
    "colour": ("colourful log (16/256/truecolour)", make_colourful),
    "cursor": ("top-like cursor redraws", make_cursor_heavy),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="size of each stream in MB (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case and side; the best counts")
    parser.add_argument("--only", default="plain,colour,cursor", help="streams to run")
    parser.add_argument("--modes", default="detached,attached", help="detached, attached or both")
    parser.add_argument("--no-emulator", action="store_true", help="skip the in-process emulator figure")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed for the comparison", file=sys.stderr)
        return 2
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
    env.pop("TMUX", None)
    streams = [key for key in args.only.split(",") if key in STREAMS]
    modes = [mode for mode in args.modes.split(",") if mode in ("detached", "attached")]
    size = int(args.mb * MB)
    results: list[tuple[str, str, float, dict[str, float], dict[str, float], str]] = []
    emulator: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cat-e2e-") as tmp:
        work = Path(tmp)
        (work / "pane_program.py").write_text(PANE_PROGRAM)
        for key in streams:
            label, maker = STREAMS[key]
            path = work / f"{key}.txt"
            maker(path, size)
            megabytes = path.stat().st_size / MB
            if not args.no_emulator:
                seconds, _term = feed_terminal(onlcr(path))
                emulator[key] = megabytes / seconds
            for mode in modes:
                best_end = {"tmux": float("inf"), "hascreen": float("inf")}
                best_cat = dict(best_end)
                sizes = {}
                for attempt in range(args.repeat):
                    for side, kind in (("tmux", TmuxRun), ("hascreen", HascreenRun)):
                        run = kind(work, f"{key}{mode[0]}{attempt}{side[0]}", path, env)
                        cols, rows, catted, end = run.detached() if mode == "detached" else run.attached()
                        best_end[side] = min(best_end[side], end)
                        best_cat[side] = min(best_cat[side], catted)
                        sizes[side] = f"{cols}x{rows}"
                        print(f"  {label}, {mode}, {side}: cat {catted:.2f} s, end {end:.2f} s ({cols}x{rows})",
                              flush=True)
                results.append((label, mode, megabytes, best_cat, best_end,
                                f"{sizes['tmux']} / {sizes['hascreen']}"))
    print()
    print("cat FILE in a pane, end to end. 'end': detached, until the multiplexer has parsed the last byte (it"
          " answers a DSR sent after cat);\nattached, until the end shows on the outer terminal. 'cat': the time"
          " cat itself took. ratio = tmux time / hascreen time (above 1: hascreen faster)")
    print(f"{'stream':<34} {'mode':<8} {'MB':>4} {'tmux end':>8} {'MB/s':>6} {'hascreen end':>12} {'MB/s':>6} "
          f"{'ratio':>6} {'cat ratio':>9}  pane (tmux / hascreen)")
    for label, mode, megabytes, cat, end, sizes in results:
        print(f"{label:<34} {mode:<8} {megabytes:4.0f} {end['tmux']:7.2f}s {megabytes / end['tmux']:6.1f} "
              f"{end['hascreen']:11.2f}s {megabytes / end['hascreen']:6.1f} {end['tmux'] / end['hascreen']:5.2f}x "
              f"{cat['tmux'] / cat['hascreen']:8.2f}x  {sizes}")
    if emulator:
        print()
        print("emulator alone (diagnosis: tui.term.Terminal in-process, 64 KiB slices, no pty, no server, no client)")
        for key, speed in emulator.items():
            print(f"  {STREAMS[key][0]:<36} {speed:6.1f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
