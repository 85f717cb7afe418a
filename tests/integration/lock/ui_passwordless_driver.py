"""Drives the real Textual client (run_test + Pilot) as a user with no usable password: C-a x must ask for a
one-time lock passphrase first (twice), the lock screen then asks for that passphrase, a wrong one is
refused, the right one unlocks, the summary lists the failed attempt, and C-a d on the summary detaches.
Prints one JSON object with what the user saw. The passphrase comes on stdin (never argv).
"""

import asyncio
import json
import sys
from pathlib import Path

from ui_driver_session import PilotSteps, WiredApp, pane_text

from tui.client.lock_screen import HandoffSummary, LockPassphrasePrompt, LockScreen
from tui.commands import COMMANDS
from tui.config import load_keymap


async def main(socket_path: str) -> None:
    phrase = sys.stdin.readline().rstrip("\n")
    seen: dict = {}
    app = WiredApp(Path(socket_path), load_keymap("screen", known_commands=COMMANDS), "attach", "ops")

    async with app.run_test(size=(100, 30)) as pilot:
        steps = PilotSteps(pilot, seen)
        wait, type_text = steps.wait, steps.type_text

        try:
            await wait(lambda: app.connected.is_set() and app.pane_area.regions, "the first layout")
            await type_text("echo NOPW-$((5*5))")
            await wait(lambda: "NOPW-25" in pane_text(app), "the echo")
            await pilot.press("ctrl+a", "x")
            await wait(lambda: isinstance(app.screen, LockPassphrasePrompt), "the one-time passphrase prompt")
            seen["asked_first"] = True
            seen["pane_text_before_lock"] = "NOPW-25" in pane_text(app)
            await type_text(phrase)
            await type_text(phrase + "-typo")  # the two differ: asked again from the start
            await wait(lambda: "differ" in str(app.screen.query_one("#passphrase-error").render()), "the mismatch")
            await type_text(phrase)
            await type_text(phrase)
            await wait(lambda: isinstance(app.screen, LockScreen), "the lock screen")
            lock = app.screen
            await wait(lambda: not lock.own_password, "the lock screen noticing there is no password")
            seen["prompt"] = str(lock.query_one("#lock-prompt").render())
            await wait(lambda: "NOPW-25" not in pane_text(app), "the cleared panes")
            await type_text("wrong " + phrase)
            await wait(lambda: "wrong password" in str(lock.query_one("#lock-error").render()), "the refusal")
            seen["after_wrong"] = str(lock.query_one("#lock-error").render())
            await pilot.pause(1.3)  # the first delay after a failure is one second
            await type_text(phrase)
            await wait(lambda: isinstance(app.screen, HandoffSummary), "the summary after unlocking")
            summary = app.screen.summary
            seen["failed_attempts"] = summary.get("failed_attempts")
            await wait(lambda: "NOPW-25" in pane_text(app), "the panes after unlocking")
            await pilot.press("ctrl+a", "d")
            await wait(lambda: app.exit_info is not None, "the detach from the summary")
            seen["exit"] = app.exit_info.message
        except TimeoutError:
            pass
        finally:
            seen["notices"] = app.notices[-5:]
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
