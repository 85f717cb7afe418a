"""A real hascreen server for UI tests, and the Textual client attached to it through run_test + Pilot.

The server is the real one, started like a script would: `hascreen -d -m -S NAME` with a private
HASCREEN_DIR, /bin/sh as the shell and a fixed prompt. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tui.client.app import HascreenApp
from tui.commands import COMMANDS
from tui.config import load_keymap

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
WAIT = 10.0


class LiveSession:
    def __init__(self, shell: str = "/bin/sh") -> None:
        # a short private directory: unix socket paths are limited to 108 bytes
        self.directory = Path(tempfile.mkdtemp(prefix="hs-ui-", dir="/tmp"))
        os.chmod(self.directory, 0o700)
        self.name = "ui" + uuid.uuid4().hex[:6]
        self.env = dict(os.environ, HASCREEN_DIR=str(self.directory), SHELL=shell, PS1="$ ", TERM="xterm-256color",
                        LANG="C.UTF-8", HOME=str(self.directory))
        self.env.pop("ENV", None)

    def hascreen(self, *args: str) -> subprocess.CompletedProcess:
        # cwd: the private directory, so the repository's ./hosts.yaml (the lab's) is not picked up and the
        # console does not show the lab's health whenever another test session has the lab up
        return subprocess.run([HASCREEN, *args], env=self.env, capture_output=True, text=True, timeout=20,
                              cwd=self.directory)

    def start(self, *extra: str) -> None:
        result = self.hascreen("-d", "-m", "-S", self.name, *extra)
        assert result.returncode == 0, f"hascreen -d -m failed: {result.stdout}{result.stderr}"
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.socket_path() is not None:
                return
            time.sleep(0.05)
        raise AssertionError(f"no socket for {self.name} in {self.directory}")

    def socket_path(self) -> Path | None:
        found = [path for path in self.directory.iterdir() if path.name.endswith("." + self.name)]
        return found[0] if found else None

    def stop(self) -> None:
        if self.socket_path() is not None:
            self.hascreen("-X", self.name, "kill-server")
        deadline = time.monotonic() + 5
        while self.socket_path() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)

    def app(self, mode: str = "attach", keymap: Any = "screen", **kwargs: Any) -> HascreenApp:
        """keymap: a name for load_keymap, or a Keymap object."""
        path = self.socket_path()
        assert path is not None
        if isinstance(keymap, str):
            keymap = load_keymap(keymap, known_commands=COMMANDS)
        return HascreenApp(path, keymap, mode, self.name, **kwargs)

    @contextlib.asynccontextmanager
    async def console(self, size: tuple[int, int] = (100, 30), **kwargs: Any) -> AsyncIterator[Console]:
        app = self.app(**kwargs)
        async with app.run_test(size=size) as pilot:
            console = Console(app, pilot)
            await console.wait(lambda: bool(app.pane_area.regions) and app.tab_bar.names, "the first layout")
            await console.wait_text("$", what="the shell prompt")
            yield console


class Console:
    """The app and its pilot, with bounded waits on what the user would see."""

    def __init__(self, app: HascreenApp, pilot: Any) -> None:
        self.app = app
        self.pilot = pilot

    async def wait(self, predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await self.pilot.pause(0.03)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; tab bar {self.tab_names}, "
                             f"regions {len(self.app.pane_area.regions)}, notices {self.app.notices[-3:]}, "
                             f"pane text:\n{self.text}")

    async def wait_text(self, needle: str, what: str | None = None, timeout: float = WAIT) -> str:
        await self.wait(lambda: needle in self.text, what or f"{needle!r} in the focused pane", timeout)
        return self.text

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def prefix(self, key: str) -> None:
        await self.pilot.press("ctrl+a", key)

    async def type(self, text: str, enter: bool = True) -> None:
        await self.pilot.press(*[char if char != " " else "space" for char in text])
        if enter:
            await self.pilot.press("enter")

    async def run(self, command: str, marker: str) -> str:
        """Type a shell command and wait until its output shows `marker`."""
        await self.type(command)
        return await self.wait_text(marker)

    @property
    def text(self) -> str:
        return self.app.pane_area.pane_text()

    @property
    def tab_names(self) -> list[str]:
        return self.app.tab_bar.names

    @property
    def active(self) -> Any:
        return self.app.tab_bar.active_index

    @property
    def regions(self) -> list[Any]:
        return self.app.pane_area.regions

    async def settle(self) -> None:
        await asyncio.sleep(0)
        await self.pilot.pause(0.05)


@pytest.fixture
def live():
    """A fresh real server per test (a test may kill or detach it)."""
    session = LiveSession()
    session.start()
    yield session
    session.stop()


@pytest.fixture
def unstarted_live():
    """A LiveSession the test starts itself (e.g. with --hosts); stopped afterwards."""
    sessions: list[LiveSession] = []

    def make() -> LiveSession:
        session = LiveSession()
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.stop()
