"""The Textual client: `run_client` is what the CLI calls to attach a terminal to a session.

Only this package imports Textual. It talks to the server only through tui.protocol.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

REPAINT_FPS = 500
GIL_SWITCH_SECONDS = 0.001


def run_client(socket_path: Path, *, keymap: Any, mode: str, session: str, detach_others: bool = False,
               readonly: bool = False, health_panel: str = "right", health_show: bool | None = None,
               startup_message: bool = False) -> int:
    """Run the console on this terminal until detach or the end of the session; returns the exit code.

    After the app has left the alternate screen it prints screen's line: `[detached from NAME]`,
    `[session NAME ended]`, or the server's error on stderr (exit code 1). health_show: config.yaml's
    health.show (None: show the panel when hosts.yaml has clusters); startup_message: the one-line hint.
    """
    # Textual repaints on a 1/TEXTUAL_FPS timer (60 by default: ~8 ms added to every echo on average). The
    # server already caps frames at 60/s, so a faster repaint tick costs nothing extra under load and takes
    # the tick's wait off each keystroke's echo. Read once when Textual is first imported.
    os.environ.setdefault("TEXTUAL_FPS", str(REPAINT_FPS))
    # The input thread needs the GIL to hand a key over; while the main thread paints a flooding pane it
    # would wait up to the default 5 ms switch interval for it.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    from tui.client.app import HascreenApp
    from tui.client.raw_input import RawInputDriver

    # The modules just imported (most of the objects this process will ever hold) live as long as it does:
    # the collector need not walk them again. A full collection walked them all, a 15-20 ms stall for an
    # echo that arrived meanwhile.
    gc.freeze()
    app = HascreenApp(socket_path, keymap, mode, session, detach_others=detach_others, readonly=readonly,
                      health_panel=health_panel, driver_class=RawInputDriver, health_show=health_show,
                      startup_message=startup_message)
    app.run()
    info = app.exit_info
    if info is None:
        if app.return_code:
            print(f"[hascreen client failed with code {app.return_code}]", file=sys.stderr)
            return app.return_code
        return 0
    print(info.message, file=sys.stderr if info.stderr else sys.stdout, flush=True)
    return info.code


__all__ = ["run_client"]
