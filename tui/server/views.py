"""What one client sees of the session when its terminal differs from the session's size.

The session takes the size of the latest active full client (tmux's `window-size latest`); every other
client gets a consistent view of it: a larger terminal sees it padded (regions as they are, blank around
them), a smaller one sees it clipped — on the right, and vertically to a band of the session's rows that
follows the focused pane's cursor, so the prompt stays in view. The clipping is done here, per client, on
the `layout` and `rows` messages: the client draws what it gets and never sees a torn screen.
"""

from __future__ import annotations

from typing import Any


def view_top(previous: int, view_rows: int, session_rows: int, cursor_row: int | None) -> int:
    """The first session row a client of `view_rows` rows sees: as before where possible, moved just enough
    to show the cursor (a session row, or None when there is none to follow)."""
    if view_rows >= session_rows:
        return 0
    top = max(0, min(previous, session_rows - view_rows))
    if cursor_row is not None:
        if cursor_row < top:
            top = cursor_row
        elif cursor_row >= top + view_rows:
            top = cursor_row - view_rows + 1
    return max(0, min(top, session_rows - view_rows))


Views = dict[int, tuple[int, int]]  # pane → (its first row the client sees, how many rows it sees)


def clip_layout(layout: dict[str, Any], cols: int, rows: int, top: int) -> tuple[dict[str, Any], Views]:
    """The layout message as a client of cols×rows sees it from session row `top`, and for each pane shown,
    which of its rows the client sees. Regions outside the view are left out."""
    if cols >= layout["cols"] and rows >= layout["rows"] and top == 0:
        return layout, {r["pane"]: (0, r["h"]) for r in layout["regions"] if r["pane"] is not None}
    regions = []
    offsets: Views = {}
    for region in layout["regions"]:
        y0 = max(region["y"], top)
        y1 = min(region["y"] + region["h"], top + rows)
        x1 = min(region["x"] + region["w"], cols)
        if y1 <= y0 or x1 <= region["x"]:
            continue
        regions.append({**region, "y": y0 - top, "h": y1 - y0, "w": x1 - region["x"]})
        if region["pane"] is not None:
            offsets[region["pane"]] = (y0 - region["y"], y1 - y0)
    clipped = {**layout, "regions": regions, "cols": min(cols, layout["cols"]), "rows": min(rows, layout["rows"])}
    return clipped, offsets


def clip_rows(message: dict[str, Any], first: int, count: int) -> dict[str, Any]:
    """A rows message for a client that sees `count` rows of the pane from row `first`."""
    if first == 0 and count >= message["size"][1]:
        return message
    rows = {}
    for key, runs in message["rows"].items():
        y = int(key) - first
        if 0 <= y < count:
            rows[str(y)] = runs
    x, y, visible = message["cursor"]
    return {**message, "rows": rows, "cursor": [x, y - first, visible and 0 <= y - first < count]}
