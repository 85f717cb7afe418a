"""Screenshots of the lock screen and of the handoff summary: screenshots/lock-screen.svg and
screenshots/handoff-summary.svg, from the real Textual client attached to a real session server.

Run as root (it creates and removes a throw-away user, hs-shot-alice, who owns the session and lets root in
with `acl: {root: full}`):  .venv/bin/python scripts/screenshots_lock.py

The owner locks the session (`hascreen -X ops lock`, as her), root's client shows the lock screen (saved); while
it is locked a window opens and closes (a notice the server broadcasts) and one unlock attempt fails; then
root's client unlocks — the message its lock screen sends after PAM accepted root's own password — which is a
handoff hs-shot-alice → root, and the summary (with the failed attempt) is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.client.app import HascreenApp  # noqa: E402
from tui.client.lock_screen import HandoffSummary, LockScreen  # noqa: E402
from tui.commands import COMMANDS  # noqa: E402
from tui.config import load_keymap  # noqa: E402
from tui.protocol.control import control_session  # noqa: E402
from tui.protocol.messages import make_command  # noqa: E402

OWNER = "hs-shot-alice"
OUT = REPO / "screenshots"
SIZE = (100, 30)


class ShotApp(HascreenApp):
    CSS_PATH = str(REPO / "tui" / "client" / "hascreen.tcss")  # relative paths resolve next to this script


async def wait(pilot, predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"timed out waiting for {what}")


async def shoot(socket_path: Path) -> None:
    keymap = load_keymap("screen", known_commands=COMMANDS)
    app = ShotApp(socket_path, keymap, "multi", "ops")
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: app.connected.is_set() and app.pane_area.regions, "the first layout")
        await control_session(socket_path, [("stuff", ["clear; echo 'db-a: SHOW SLAVE STATUS ... "
                                                       "Seconds_Behind_Master: 0'\\n"])])
        await wait(pilot, lambda: "Seconds_Behind" in "".join(
            str(run[0]) for pane in app.pane_area.panes.values() for row in pane.rows.values() for run in row),
                   "the pane text")
        # the owner locks the session from her own terminal (hascreen -X ops lock, run as her)
        lock = subprocess.run(["runuser", "-u", OWNER, "--", "env", f"HASCREEN_DIR={socket_path.parent}",
                               str(REPO / ".venv" / "bin" / "hascreen"), "-X", "ops", "lock"],
                              capture_output=True, text=True, timeout=30, cwd="/")
        if lock.returncode != 0:
            raise SystemExit(f"hascreen -X ops lock failed: {lock.stderr}")
        await wait(pilot, lambda: isinstance(app.screen, LockScreen), "the lock screen")
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "lock-screen.svg"))
        # something happens while locked: a window opens and closes
        await control_session(socket_path, [("new-window", ["-n", "backup-check", "true"])])
        app.send({"t": "unlock", "method": "pam", "ok": False})  # a wrong password first
        await pilot.pause(1.5)  # the rate limiter's first delay is one second
        app.send({"t": "unlock", "method": "pam", "ok": True})
        await wait(pilot, lambda: isinstance(app.screen, HandoffSummary), "the handoff summary")
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "handoff-summary.svg"))
        app.send(make_command("detach"))
        await pilot.pause(0.2)


def main() -> int:
    if os.geteuid() != 0:
        print("run as root: it creates the throw-away user", OWNER, file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    subprocess.run(["userdel", "-r", "-f", OWNER], capture_output=True, timeout=30)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", OWNER], check=True, timeout=30)
    owner = pwd.getpwnam(OWNER)
    root = Path(tempfile.mkdtemp(prefix="hs-shot-"))
    root.chmod(0o755)
    server = None
    try:
        config = Path(owner.pw_dir) / ".config" / "hascreen" / "config.yaml"
        config.parent.mkdir(parents=True)
        config.write_text("acl:\n  root: full\n")
        for path in (config.parent.parent, config.parent, config):
            os.chown(path, owner.pw_uid, -1)
        directory = root / f"hascreen-{owner.pw_uid}"
        directory.mkdir(mode=0o700)
        os.chown(directory, owner.pw_uid, -1)
        env = {"HOME": owner.pw_dir, "USER": OWNER, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PS1": "$ ",
               "SHELL": "/bin/sh", "HASCREEN_SHARED_ROOT": str(root)}
        server = subprocess.Popen(
            ["runuser", "-u", OWNER, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], "timeout", "120",
             str(REPO / ".venv" / "bin" / "python"), "-m", "tui.server", "--session", "ops", "--socket-dir",
             str(directory), "--log", str(directory / ".ops.log"), "--", "/bin/sh"],
            cwd=owner.pw_dir, start_new_session=True)
        deadline = time.monotonic() + 15
        while not list(directory.glob("*.ops")) and time.monotonic() < deadline:
            time.sleep(0.05)
        sockets = list(directory.glob("*.ops"))
        if not sockets:
            print("the session server did not start", file=sys.stderr)
            return 1
        asyncio.run(shoot(sockets[0]))
        print(f"wrote {OUT / 'lock-screen.svg'} and {OUT / 'handoff-summary.svg'}")
        return 0
    finally:
        if server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=10)
        subprocess.run(["pkill", "-KILL", "-u", OWNER], capture_output=True, timeout=10)
        subprocess.run(["userdel", "-r", "-f", OWNER], capture_output=True, timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
