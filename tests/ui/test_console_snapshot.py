"""An SVG snapshot of the console (pytest-textual-snapshot): a split with the window list open, drawn by the
real client from a real server. Regenerate after an intended change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import time


def test_console_split_with_window_list(live, snap_compare):
    app = live.app()

    async def run_before(pilot) -> None:
        async def wait(predicate, what: str) -> None:
            deadline = time.monotonic() + 10
            while not predicate():
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                await pilot.pause(0.03)

        await wait(lambda: app.connected.is_set() and app.pane_area.regions, "the first layout")
        await wait(lambda: "$" in app.pane_area.pane_text(), "the prompt")
        await pilot.press("ctrl+a", "vertical_line")
        await wait(lambda: len(app.pane_area.regions) == 2, "the split")
        await pilot.press("ctrl+a", "tab", "ctrl+a", "c")
        await wait(lambda: len(app.tab_bar.names) == 2 and all(r.pane >= 0 for r in app.pane_area.regions),
                   "window 1 in the new region")
        await wait(lambda: app.pane_area.pane_text().startswith("$"), "the prompt of window 1")
        await pilot.press("ctrl+a", "quotation_mark")
        await wait(lambda: app.ui_open, "the window list")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 20), run_before=run_before)
