"""Regenerate the showcase SVGs in screenshots/ from the real app.

It starts a real hascreen server (`hascreen -d -m`, local bash shells, a private HASCREEN_DIR), attaches the
Textual client with run_test, drives it with Pilot through the same keys a user presses, and saves
App.save_screenshot() for each state:

    screenshots/console-split.svg   two windows and a side-by-side split
    screenshots/first-attach.svg    a new session's first screen: the one-line hint (version, C-a ? for help)

Run: .venv/bin/python scripts/screenshots.py [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.client.app import HascreenApp  # noqa: E402
from tui.commands import COMMANDS  # noqa: E402
from tui.config import load_keymap  # noqa: E402
from tui.protocol.messages import make_input  # noqa: E402

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
SIZE = (120, 34)
BASHRC = r"""
PS1='\[\e[1;32m\]ops@jumphost\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ '
alias ls='ls --color=always'
"""
LOG_LINES = r"""printf '\e[2mNov 22 09:14:02\e[0m node-a \e[36mkeepalived[812]\e[0m: VRRP_Instance(VI_1) Entering \e[1;32mMASTER\e[0m STATE\n\e[2mNov 22 09:14:02\e[0m node-a \e[36mkeepalived[812]\e[0m: Sending gratuitous ARP on eth0 for 10.213.77.100\n\e[2mNov 22 09:14:03\e[0m node-a \e[36mkernel\e[0m: drbd r0: \e[1;33mPrimary/Secondary\e[0m UpToDate/UpToDate\n\e[2mNov 22 09:14:05\e[0m node-b \e[36mmariadbd[1044]\e[0m: Slave SQL thread initialized, starting replication\n\e[2mNov 22 09:14:09\e[0m node-b \e[36mmariadbd[1044]\e[0m: \e[1;31m[ERROR]\e[0m Slave SQL: Duplicate entry 3 for key PRIMARY, Error_code: 1062\n'"""


class Session:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="hs-shot-", dir="/tmp"))
        os.chmod(self.directory, 0o700)
        (self.directory / ".bashrc").write_text(BASHRC)
        self.name = "ops"
        self.env = dict(os.environ, HASCREEN_DIR=str(self.directory), HOME=str(self.directory), SHELL="/bin/bash",
                        TERM="xterm-256color", LANG="C.UTF-8")
        self.env["HASCREEN_HOSTS"] = ""  # local shells only, even while a lab is up on this machine

    def hascreen(self, *args: str) -> subprocess.CompletedProcess:
        # run from HOME so every shell starts in ~ and the prompt is the same on every run
        return subprocess.run([HASCREEN, *args], env=self.env, capture_output=True, text=True, timeout=20,
                              cwd=self.directory)

    def socket(self) -> Path | None:
        return next((p for p in self.directory.iterdir() if p.name.endswith("." + self.name)), None)

    def start(self) -> None:
        result = self.hascreen("-d", "-m", "-S", self.name)
        if result.returncode != 0:
            raise SystemExit(f"cannot start a server: {result.stderr}")
        deadline = time.monotonic() + 10
        while self.socket() is None:
            if time.monotonic() > deadline:
                raise SystemExit("the server made no socket")
            time.sleep(0.05)

    def stop(self) -> None:
        self.hascreen("-X", self.name, "kill-server")
        shutil.rmtree(self.directory, ignore_errors=True)


class Driver:
    def __init__(self, app: HascreenApp, pilot: Any) -> None:
        self.app, self.pilot = app, pilot

    async def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}; pane: {self.text()!r}")
            await self.pilot.pause(0.05)

    async def keys(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def type(self, text: str, enter: bool = True) -> None:
        await self.pilot.press(*[c if c != " " else "space" for c in text], *(["enter"] if enter else []))

    async def prefix(self, key: str) -> None:
        await self.pilot.press("ctrl+a", key)

    async def rename(self, name: str) -> None:
        await self.prefix("A")
        await self.wait(lambda: self.app.ui_open, "the rename prompt")
        await self.type(name)
        await self.wait(lambda: name in self.app.tab_bar.names, f"window {name}")

    def run(self, command_line: str) -> None:
        """Type a whole shell command at once: paste it, then Enter (much faster than key by key)."""
        self.app.send({"t": "paste", "text": command_line})
        self.app.send(make_input(b"\r"))

    def text(self) -> str:
        return self.app.pane_area.pane_text()


@contextlib.asynccontextmanager
async def attached(session: Session, mode: str = "attach") -> AsyncIterator[Driver]:
    app = HascreenApp(session.socket(), load_keymap("screen", known_commands=COMMANDS), mode, session.name,
                      startup_message=True)
    async with app.run_test(size=SIZE) as pilot:
        driver = Driver(app, pilot)
        await driver.wait(lambda: "jumphost" in driver.text(), "the first prompt")
        yield driver


async def console_split(driver: Driver) -> None:
    await driver.rename("logs")
    driver.run("clear; " + LOG_LINES)
    await driver.wait(lambda: "1062" in driver.text(), "the log lines")
    await driver.prefix("c")
    await driver.wait(lambda: len(driver.app.tab_bar.names) == 2, "window 1")
    await driver.wait(lambda: "jumphost" in driver.text(), "the prompt of window 1")
    await driver.rename("shell")
    driver.run("grep -h PRETTY /etc/os-release; ls /etc/keepalived /etc/drbd.d 2>/dev/null")
    await driver.wait(lambda: "keepalived.conf" in driver.text(), "the listing")
    await driver.prefix("vertical_line")
    await driver.wait(lambda: len(driver.app.pane_area.regions) == 2, "the split")
    await driver.prefix("tab")
    await driver.prefix("0")
    await driver.wait(lambda: all(r.pane >= 0 for r in driver.app.pane_area.regions), "window 0 in the right region")
    await driver.prefix("tab")
    await driver.pilot.pause(0.5)


async def first_attach(driver: Driver) -> None:
    await driver.wait(lambda: any(n.startswith("hascreen ") for n in driver.app.notices), "the startup hint")
    await driver.pilot.pause(0.3)


STATES: dict[str, Callable[[Driver], Awaitable[None]]] = {
    "console-split": console_split,
    "first-attach": first_attach,
}
MODES = {"first-attach": "new"}  # the hint belongs to a session's first attach


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(STATES))
    args = parser.parse_args()
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for name, drive in STATES.items():
        if args.only and name != args.only:
            continue
        session = Session()
        session.start()
        try:
            async with attached(session, MODES.get(name, "attach")) as driver:
                await drive(driver)
                path = driver.app.save_screenshot(filename=f"{name}.svg", path=str(out))
                print(f"wrote {Path(path).relative_to(ROOT)}")
        finally:
            session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
