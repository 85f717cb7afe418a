"""The session model: window numbering and switching, and the split-region tree with weights."""

import pytest

from tui.model import ModelError, Rect, Session
from tui.model.layout import describe, split_sizes


def make_session(windows=2):
    session = Session("t")
    for pane in range(1, windows + 1):
        session.add_window(pane, f"w{pane}")
    return session


def test_window_numbers_reuse_the_lowest_free_number_like_screen():
    session = make_session(3)
    assert sorted(session.windows) == [0, 1, 2]
    session.remove_window(1)
    assert session.add_window(9, "again").number == 1


def test_next_prev_wrap_around_and_last_window_toggles():
    session = make_session(3)  # window 2 is shown
    assert session.next_window().number == 0
    assert session.prev_window().number == 2
    session.select("0")
    assert session.toggle_last().number == 2
    assert session.toggle_last().number == 0


def test_select_by_name_prefix_and_errors():
    session = make_session(2)
    session.rename(0, "db-master")
    assert session.select("db").number == 0
    with pytest.raises(ModelError, match="no window"):
        session.select("nope")


def test_program_titles_never_override_a_user_name():
    session = make_session(1)
    session.rename(0, "mine")
    session.rename(0, "vim README", user=False)
    assert session.windows[0].name == "mine"


def test_vertical_split_gives_side_by_side_regions_with_a_separator():
    session = make_session(1)
    session.split("v")
    layout = session.layout(81, 24)
    assert [rect for _, rect in layout] == [Rect(0, 0, 40, 24), Rect(41, 0, 40, 24)]
    assert layout[1][0].window is None  # screen leaves the new region blank


def test_horizontal_then_vertical_split_builds_a_tree():
    session = make_session(2)
    session.split("h")
    session.focus_step(1)
    session.select("0")
    session.split("v")
    tree = describe(session.root)
    assert tree["split"] == "h"
    assert tree["children"][1]["split"] == "v"
    rects = [rect for _, rect in session.layout(80, 25)]
    assert rects[0] == Rect(0, 0, 80, 12)
    assert rects[1].y == rects[2].y == 13 and rects[1].w + rects[2].w + 1 == 80


def test_remove_region_keeps_windows_and_collapses_the_split():
    session = make_session(2)
    session.split("v")
    session.focus_step(1)
    session.remove_region()
    assert len(session.regions) == 1
    assert len(session.windows) == 2
    assert describe(session.root)["region"] == session.focused.id


def test_only_region_and_errors_on_a_single_region():
    session = make_session(1)
    with pytest.raises(ModelError):
        session.remove_region()
    session.split("h")
    session.split("v")
    session.only_region()
    assert len(session.regions) == 1


def test_resize_region_changes_weights_and_sizes():
    session = make_session(1)
    session.split("v")
    session.resize_region("+10", Rect(0, 0, 81, 24))
    first, second = (rect for _, rect in session.layout(81, 24))
    assert first.w == 50 and second.w == 30
    session.resize_region("20", Rect(0, 0, 81, 24))
    assert session.layout(81, 24)[0][1].w == 20


def test_split_sizes_never_lose_cells():
    for total in range(5, 60):  # 3 children and 2 separators need at least 5 cells
        sizes = split_sizes(total, [1.0, 2.0, 1.5], 2)
        assert sum(sizes) == total - 2 and min(sizes) >= 1


def test_window_removed_while_shown_is_replaced_by_another():
    session = make_session(3)
    session.remove_window(2)
    assert session.focused.window in (0, 1)


def test_version_counts_changes():
    session = make_session(1)
    before = session.version
    session.split("v")
    assert session.version > before
