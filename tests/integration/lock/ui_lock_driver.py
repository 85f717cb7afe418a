"""Drives the real Textual client (run_test + Pilot) against a session, as whatever user runs it:
C-a x locks, a wrong password is refused, the right one unlocks. Prints one JSON object with what the
user saw at each step. The password comes on stdin (never argv). Used by test_lock_screen_ui.py through
`runuser`, so PAM checks the real user's own password.
"""

import asyncio
import json
import sys
from pathlib import Path

from ui_driver_session import PilotSteps, WiredApp, pane_text

from tui.client.lock_screen import HandoffSummary, LockScreen
from tui.commands import COMMANDS
from tui.config import load_keymap


async def main(socket_path: str, service: str) -> None:
    password = sys.stdin.readline().rstrip("\n")
    seen: dict = {}
    app = WiredApp(Path(socket_path), load_keymap("screen", known_commands=COMMANDS), "attach", "ops")

    async with app.run_test(size=(100, 30)) as pilot:
        steps = PilotSteps(pilot, seen)
        wait, type_text = steps.wait, steps.type_text

        try:
            await wait(lambda: app.connected.is_set() and app.pane_area.regions, "the first layout")
            await type_text("echo UI-$((4*4))")
            await wait(lambda: "UI-16" in pane_text(app), "the echo")
            await pilot.press("ctrl+a", "x")
            await wait(lambda: isinstance(app.screen, LockScreen), "the lock screen")
            await wait(lambda: "UI-16" not in pane_text(app), "the cleared panes")
            lock = app.screen
            assert lock.message.get("pam_service") == service, lock.message
            seen["locked_title"] = str(lock.query_one("#lock-title").render())
            seen["pane_text_while_locked"] = pane_text(app).strip()
            await type_text("not-" + password)
            await wait(lambda: "wrong password" in str(lock.query_one("#lock-error").render()), "the refusal")
            seen["after_wrong"] = str(lock.query_one("#lock-error").render())
            seen["still_locked"] = isinstance(app.screen, LockScreen)
            await pilot.pause(1.3)  # the first delay after a failure is one second
            await type_text(password)
            await wait(lambda: not isinstance(app.screen, LockScreen), "the unlock")
            await wait(lambda: "UI-16" in pane_text(app), "the panes after unlocking")
            seen["summary"] = isinstance(app.screen, HandoffSummary)
            if isinstance(app.screen, HandoffSummary):
                seen["summary_title"] = app.screen.title_text()
                await pilot.press("escape")
            seen["unlocked"] = True
        except TimeoutError:
            pass
        finally:
            seen["notices"] = app.notices[-5:]
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
