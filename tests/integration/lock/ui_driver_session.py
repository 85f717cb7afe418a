"""What the two lock-screen drivers (ui_lock_driver.py, ui_passwordless_driver.py) share: the real client
with its stylesheet, the panes' text, and bounded waits and typing on a Pilot. They run as other users,
as scripts, so this sits beside them and is imported by name."""

import time
from pathlib import Path

from tui.client.app import HascreenApp

REPO = Path(__file__).resolve().parents[3]


class WiredApp(HascreenApp):
    CSS_PATH = str(REPO / "tui" / "client" / "hascreen.tcss")  # relative paths resolve next to the script


def pane_text(app) -> str:
    return "\n".join("".join(str(run[0]) for run in row) for pane in app.pane_area.panes.values()
                     for row in pane.rows.values())


class PilotSteps:
    """Bounded waits and typing; a wait that times out is recorded in `seen["timeout"]`."""

    def __init__(self, pilot, seen: dict) -> None:
        self.pilot = pilot
        self.seen = seen

    async def wait(self, predicate, what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            await self.pilot.pause(0.05)
        self.seen["timeout"] = what
        raise TimeoutError(what)

    async def type_text(self, text: str) -> None:
        await self.pilot.press(*[c if c != " " else "space" for c in text], "enter")
