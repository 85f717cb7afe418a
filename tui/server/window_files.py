"""screen's window files: `hardcopy` writes the current window's screen to a file, `log` copies everything
the window's program prints to a file, as screen's `C-a h` and `C-a H` do.

Files go to the directory the session was started in (screen's default), named like screen's:
`hardcopy.N` and `screenlog.N` for window N; `hardcopy FILE` names its own file (relative to that
directory). A hardcopy is the visible screen as plain text (`-h` puts the scrollback before it); a log is
the program's output as it arrived, escape sequences included, appended to the file, like screen's. Both
are created 0600: a screen may show secrets. A log ends with its window or the session.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tui.server.hooks import Reply

if TYPE_CHECKING:
    from tui.server.clients import Client
    from tui.server.daemon import Server
    from tui.server.panes import Pane

log = logging.getLogger("hascreen.server")


def _open_private(path: Path, mode: str) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC), 0o600)
    return os.fdopen(fd, "ab" if mode == "a" else "wb", buffering=0)


class PaneLog:
    """One window's output going to its screenlog file."""

    def __init__(self, pane: Pane, path: Path) -> None:
        self.pane = pane
        self.path = path
        self.file: IO[bytes] | None = _open_private(path, "a")
        pane.output_listeners.append(self.write)

    def write(self, data: bytes) -> None:
        if self.file is None:
            return
        try:
            self.file.write(data)
        except OSError as exc:  # a full disk ends the log, never the window
            log.warning("log %s stopped: %s", self.path, exc)
            self.close()

    def close(self) -> None:
        if self.write in self.pane.output_listeners:
            self.pane.output_listeners.remove(self.write)
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None


class WindowFiles:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.logs: dict[int, PaneLog] = {}  # pane id → its log

    @property
    def directory(self) -> Path:
        return Path(self.server.options.cwd or os.getcwd())

    def _current(self) -> tuple[int, Pane] | None:
        session = self.server.session
        window = session.windows.get(session.focused.window) if session.focused.window is not None else None
        pane = self.server.panes.get(window.pane) if window is not None else None
        return (window.number, pane) if window is not None and pane is not None else None

    async def hardcopy(self, client: Client | None, args: list[str]) -> Reply:
        with_history = "-h" in args
        names = [a for a in args if a != "-h"]
        current = self._current()
        if current is None:
            return Reply(False, "hardcopy: no window here")
        number, pane = current
        path = self.directory / (names[0] if names else f"hardcopy.{number}")
        terminal = pane.terminal
        rows = terminal.scrollback_rows(0, terminal.scrollback_len) if with_history else []
        rows += [terminal.render_row(y) for y in range(terminal.rows)]
        lines = ["".join(run[0] for run in row).rstrip() for row in rows]
        while lines and not lines[-1]:
            lines.pop()
        try:
            with _open_private(path, "w") as out:
                out.write(("\n".join(lines) + "\n").encode("utf-8", "replace"))
        except OSError as exc:
            return Reply(False, f"hardcopy: cannot write {path}: {exc.strerror or exc}")
        return Reply(True, f'Screen image written to "{path}".')

    async def log(self, client: Client | None, args: list[str]) -> Reply:
        current = self._current()
        if current is None:
            return Reply(False, "log: no window here")
        number, pane = current
        running = self.logs.get(pane.id)
        wanted = {"on": True, "off": False}.get(args[0].lower()) if args else running is None
        if wanted is None:
            return Reply(False, "log takes on or off (nothing toggles it)")
        if not wanted:
            if running is None:
                return Reply(True, f"window {number} is not being logged")
            running.close()
            del self.logs[pane.id]
            return Reply(True, f'Logfile "{running.path}" closed.')
        if running is not None:
            return Reply(True, f'window {number} is already logged to "{running.path}"')
        path = self.directory / f"screenlog.{number}"
        try:
            self.logs[pane.id] = PaneLog(pane, path)
        except OSError as exc:
            return Reply(False, f"log: cannot open {path}: {exc.strerror or exc}")
        return Reply(True, f'Creating logfile "{path}".')

    def pane_exited(self, pane: Pane, reason: str) -> None:
        running = self.logs.pop(pane.id, None)
        if running is not None:
            running.close()

    async def stopping(self) -> None:
        for running in self.logs.values():
            running.close()
        self.logs.clear()


def install_window_files(server: Server) -> WindowFiles:
    files = WindowFiles(server)
    server.commands.register("hardcopy", files.hardcopy)
    server.commands.register("log", files.log)
    server.hooks.pane_exited.register(files.pane_exited)
    server.hooks.stopping.register(files.stopping)
    return files
