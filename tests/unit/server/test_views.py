"""tui.server.views: what a client whose terminal differs from the session's size is sent."""

from __future__ import annotations

from tui.server.views import clip_layout, clip_rows, view_top


def layout(cols: int, rows: int, regions: list[tuple[int | None, int, int, int, int]]) -> dict:
    return {"t": "layout", "cols": cols, "rows": rows, "windows": [],
            "regions": [{"region": i, "pane": pane, "x": x, "y": y, "w": w, "h": h, "focused": i == 0}
                        for i, (pane, x, y, w, h) in enumerate(regions)]}


def test_a_larger_terminal_gets_the_layout_as_it_is_padded_around():
    message = layout(80, 24, [(1, 0, 0, 80, 24)])
    clipped, views = clip_layout(message, 120, 50, 0)
    assert clipped is message and views == {1: (0, 24)}


def test_a_shorter_terminal_sees_a_band_of_rows_and_regions_outside_it_are_left_out():
    # two regions one above the other, 100x40 session; the client is 60x12 and looks from row 25
    message = layout(100, 40, [(1, 0, 0, 100, 20), (2, 0, 21, 100, 19)])
    clipped, views = clip_layout(message, 60, 12, 25)
    assert clipped["cols"] == 60 and clipped["rows"] == 12
    assert [(r["pane"], r["x"], r["y"], r["w"], r["h"]) for r in clipped["regions"]] == [(2, 0, 0, 60, 12)]
    assert views == {2: (4, 12)}  # pane 2's rows 4..15 fill the view


def test_the_band_follows_the_cursor_and_stays_put_while_it_is_visible():
    assert view_top(0, 12, 40, 39) == 28  # cursor at the bottom: the band ends there
    assert view_top(28, 12, 40, 35) == 28  # still visible: no move
    assert view_top(28, 12, 40, 3) == 3  # above the band: it moves up just enough
    assert view_top(50, 12, 40, None) == 28  # clamped to the session
    assert view_top(7, 50, 40, 39) == 0  # a taller terminal sees everything


def test_rows_are_renumbered_into_the_view_and_a_cursor_outside_it_is_hidden():
    message = {"t": "rows", "pane": 2, "size": [100, 19], "full": False, "cursor": [3, 2, True],
               "rows": {"1": [["a", "default", "default", 0]], "4": [["b", "default", "default", 0]],
                        "16": [["c", "default", "default", 0]]}}
    clipped = clip_rows(message, 4, 12)
    assert clipped["rows"] == {"0": [["b", "default", "default", 0]]}
    assert clipped["cursor"] == [3, -2, False]
    assert clip_rows(message, 0, 19) is message
