"""End to end: the real `hascreen` binary driven in tmux with send-keys, read back with capture-pane.

One scenario, as a sysadmin's morning: start a session, make and name windows, split, run a command,
detach, list, lose the client to kill -9, reattach and find everything, then join from a second client.
And vim with a colour scheme scrolled in a pane: no default-background stripes (the emulator's bce).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

HASCREEN = str(Path(sys.executable).with_name("hascreen"))


class Tmux:
    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"hs-e2e-{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, HASCREEN_DIR=str(tmp_path / "sockets"), TERM="xterm-256color",
                        LANG="C.UTF-8", PS1="$ ", HOME=str(tmp_path))
        self.env.pop("TMUX", None)
        self.env["SHELL"] = "/bin/sh"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, check=check, timeout=20)

    def new(self, name: str, command: str, cols: int = 100, rows: int = 30) -> None:
        self.run("new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), command)

    def keys(self, target: str, *keys: str) -> None:
        self.run("send-keys", "-t", target, *keys)

    def text(self, target: str) -> str:
        return self.run("capture-pane", "-p", "-t", target, check=False).stdout

    def wait_text(self, target: str, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text(target)
            if needle in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} did not appear in {target} within {timeout} s:\n{screen}")

    def pane_pid(self, target: str) -> int:
        return int(self.run("display-message", "-p", "-t", target, "#{pane_pid}").stdout.strip())

    def hascreen(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HASCREEN, *args], env=self.env, capture_output=True, text=True, timeout=20)

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    session = Tmux(tmp_path)
    yield session
    session.hascreen("-X", "morning", "kill-server")
    session.kill()


def test_a_morning_with_hascreen(tmux: Tmux):
    tmux.new("one", f"{HASCREEN} -S morning; sleep 600")
    tmux.wait_text("one", "0* ")  # the tab bar shows window 0, active

    # a named second window
    tmux.keys("one", "C-a", "c")
    tmux.wait_text("one", "1* ")
    tmux.keys("one", "C-a", "A")
    tmux.wait_text("one", "name")
    tmux.keys("one", "C-u", "logs", "Enter")
    tmux.wait_text("one", "logs")

    # switch back with C-a 0 and run a command there
    tmux.keys("one", "C-a", "0")
    tmux.wait_text("one", "0* ")
    tmux.keys("one", "echo marker-$((6*7))", "Enter")
    tmux.wait_text("one", "marker-42")

    # split side by side and show the logs window in the new region
    tmux.keys("one", "C-a", "|")
    tmux.keys("one", "C-a", "Tab")
    tmux.keys("one", "C-a", "1")
    screen = tmux.wait_text("one", "1* logs")
    assert "marker-42" in screen  # both regions are drawn at once
    tmux.keys("one", "echo right-side", "Enter")
    tmux.wait_text("one", "right-side")

    # detach: the client says so and the session lives on
    tmux.keys("one", "C-a", "d")
    tmux.wait_text("one", "[detached from")
    listing = tmux.hascreen("-ls")
    assert ".morning" in listing.stdout and "(Detached)" in listing.stdout and "2 windows" in listing.stdout

    # reattach, then kill the client with -9: nothing is lost
    tmux.new("two", f"{HASCREEN} -r morning; sleep 600")
    tmux.wait_text("two", "marker-42")
    assert "(Attached)" in tmux.hascreen("-ls").stdout
    client_pids = subprocess.run(["pgrep", "-P", str(tmux.pane_pid("two")), "-f", "hascreen"],
                                 capture_output=True, text=True, timeout=10).stdout.split()
    assert client_pids, "the hascreen client process was not found"
    for pid in client_pids:
        os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while "(Detached)" not in tmux.hascreen("-ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "(Detached)" in tmux.hascreen("-ls").stdout

    tmux.new("three", f"{HASCREEN} -r; sleep 600", cols=100, rows=30)
    screen = tmux.wait_text("three", "marker-42")
    assert "right-side" in screen and "logs" in screen

    # a second client joins with -x and sees the same windows live
    tmux.new("four", f"{HASCREEN} -x morning; sleep 600", cols=100, rows=30)
    tmux.wait_text("four", "marker-42")
    tmux.keys("three", "echo typed-in-three", "Enter")
    tmux.wait_text("four", "typed-in-three")

    # -r refuses an attached session, and says what to do instead
    refused = tmux.hascreen("-r", "morning")
    assert refused.returncode != 0


SGR_RE = re.compile(r"\x1b\[([0-9;:]*)m")


def _background_after(bg: str | None, params: str) -> str | None:
    codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in (0, 49):
            bg = None
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code in (38, 48) and i + 1 < len(codes):
            width = 2 if codes[i + 1] == 5 else 4 if codes[i + 1] == 2 else 0
            if code == 48:
                bg = ";".join(map(str, codes[i + 1:i + 1 + width]))
            i += width
        i += 1
    return bg


def backgrounds_per_cell(captured: str) -> list[tuple[str, list[str | None]]]:
    """`capture-pane -e -N` output as (text, background of each character, None = default) per row. tmux
    emits only style changes and carries the style from one row to the next."""
    bg = None
    result = []
    for line in captured.split("\n"):
        text, cells, pos = [], [], 0
        for match in SGR_RE.finditer(line):
            chunk = line[pos:match.start()]
            text.append(chunk)
            cells += [bg] * len(chunk)
            bg = _background_after(bg, match.group(1))
            pos = match.end()
        text.append(line[pos:])
        cells += [bg] * len(line[pos:])
        result.append(("".join(text), cells))
    return result


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
def test_vim_with_a_colour_scheme_scrolled_with_ctrl_e_leaves_no_default_background(tmux: Tmux, tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("".join(f"line {n:03d} of a file longer than the screen\n" for n in range(1, 201)))
    tmux.new("vim", f"{HASCREEN} -S vimbce; sleep 600", cols=100, rows=30)
    try:
        tmux.wait_text("vim", "0* ")
        tmux.keys("vim", f"vim -u NONE -i NONE -n -c 'colorscheme desert' {path}", "Enter")
        tmux.wait_text("vim", "line 020 of")
        tmux.keys("vim", "C-e", "C-e", "C-e", "C-e", "C-e")
        screen = tmux.wait_text("vim", "line 030 of")
        deadline = time.monotonic() + 10
        while "line 005 of" in screen and time.monotonic() < deadline:
            time.sleep(0.1)
            screen = tmux.text("vim")
        assert "line 005 of" not in screen and "line 006 of" in screen  # scrolled by five lines
        captured = tmux.run("capture-pane", "-e", "-p", "-N", "-t", "vim").stdout
        rows = backgrounds_per_cell(captured)
        text_rows = [y for y, (text, _) in enumerate(rows) if re.match(r"line \d{3} of", text)]
        assert len(text_rows) >= 20
        # the file's rows, the rows scrolled in at the bottom and vim's command line below them
        for y in range(text_rows[0], text_rows[-1] + 2):
            text, cells = rows[y]
            assert len(cells) == 100, (y, text)
            stripe = [x for x, bg in enumerate(cells) if bg is None]
            assert not stripe, f"row {y} has default-background cells at columns {stripe[:5]}...: {text!r}"
    finally:
        tmux.hascreen("-X", "vimbce", "kill-server")
