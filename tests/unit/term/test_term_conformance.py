"""Conformance of tui.term.Terminal: byte sequences in, expected screen text, attributes and cursor out."""

from __future__ import annotations

import pytest

from tui.protocol.messages import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_DIM,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
)
from tui.term import FeedQueue, Terminal
from tui.term.screen import cell_width


def rows(term: Terminal) -> list[str]:
    return [line.rstrip() for line in term.display()]


def feed(term: Terminal, text: str | bytes) -> Terminal:
    term.feed(text.encode() if isinstance(text, str) else text)
    assert term.internal_errors == 0
    return term


def cell_at(term: Terminal, x: int, y: int) -> tuple[str, str, str, int]:
    """The run covering cell x of row y, with its text narrowed to that cell's character."""
    col = 0
    for text, fg, bg, attrs in term.render_row(y):
        for ch in text:
            width = cell_width(ch)
            if col <= x < col + width:
                return (ch, fg, bg, attrs)
            col += width
    raise AssertionError(f"no cell {x},{y}")


# ---- text, wrapping, cursor --------------------------------------------------------------------------------

def test_plain_lines_and_cursor():
    term = feed(Terminal(20, 4), "hello\r\nworld")
    assert rows(term) == ["hello", "world", "", ""]
    assert term.cursor == (5, 1)


def test_autowrap_at_last_column():
    term = feed(Terminal(10, 3), "0123456789")
    assert term.cursor == (9, 0)  # pending wrap is shown on the last column
    feed(term, "AB")
    assert rows(term)[:2] == ["0123456789", "AB"]
    assert term.cursor == (2, 1)


def test_no_autowrap_overwrites_last_column():
    term = feed(Terminal(10, 3), "\x1b[?7l0123456789XYZ")
    assert rows(term)[0] == "012345678Z"
    assert rows(term)[1] == ""


def test_lone_linefeed_keeps_column():
    term = feed(Terminal(10, 3), "ab\ncd")
    assert rows(term)[:2] == ["ab", "  cd"]


def test_tab_backspace_and_carriage_return():
    term = feed(Terminal(20, 2), "a\tb\x08c\rZ")
    assert rows(term)[0] == "Z       c"


def test_cursor_movement_sequences():
    term = feed(Terminal(20, 5), "\x1b[3;5HX\x1b[2AY\x1b[10GZ\x1b[2;1H\x1b[3CW\x1b[5dV")
    assert rows(term) == ["     Y   Z", "   W", "    X", "", "    V"]
    assert term.cursor == (5, 4)


def test_cursor_position_is_clamped_and_never_raises_on_extra_params():
    term = feed(Terminal(10, 4), "\x1b[99;99H\x1b[1;2;3A\x1b[5;5;5;5C")
    assert term.cursor == (9, 2)


def test_repeat_scroll_up_down_and_back_tab():
    term = feed(Terminal(20, 4), "ab\x1b[3b")
    assert rows(term)[0] == "abbbb"
    feed(term, "\x1b[2;1Hline2\x1b[1S")
    assert rows(term)[0] == "line2"
    feed(term, "\x1b[1T")
    assert rows(term)[:2] == ["", "line2"]
    feed(term, "\x1b[4;12H\x1b[Z")
    assert term.cursor == (8, 3)


# ---- SGR ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sgr", "bit"), [
    ("1", ATTR_BOLD), ("2", ATTR_DIM), ("3", ATTR_ITALIC), ("4", ATTR_UNDERLINE), ("7", ATTR_REVERSE),
    ("9", ATTR_STRIKE), ("5", ATTR_BLINK), ("4:3", ATTR_UNDERLINE),
])
def test_each_attribute(sgr, bit):
    term = feed(Terminal(10, 2), f"\x1b[{sgr}mA\x1b[0mB")
    assert cell_at(term, 0, 0) == ("A", "default", "default", bit)
    assert cell_at(term, 1, 0) == ("B", "default", "default", 0)


@pytest.mark.parametrize(("sgr", "fg", "bg"), [
    ("31", "red", "default"), ("33;44", "yellow", "blue"), ("93;103", "brightyellow", "brightyellow"), ("91", "brightred", "default"),
    ("105", "default", "brightmagenta"), ("38;5;196", "ff0000", "default"), ("48;5;21", "default", "0000ff"),
    ("38;5;244", "808080", "default"), ("38;2;1;2;3", "010203", "default"), ("48;2;255;128;0", "default", "ff8000"),
    ("38:2::10:20:30", "0a141e", "default"), ("38:5:46", "00ff00", "default"),
    ("38;2;300;0;0", "ff0000", "default"), ("38;5;999", "default", "default"), ("38;5", "default", "default"),
])
def test_colours(sgr, fg, bg):
    term = feed(Terminal(10, 2), f"\x1b[{sgr}mA")
    assert cell_at(term, 0, 0)[1:3] == (fg, bg)


def test_sgr_resets():
    term = feed(Terminal(10, 2), "\x1b[1;2;3;31mA\x1b[22mB\x1b[23;39mC\x1b[mD")
    assert cell_at(term, 0, 0) == ("A", "red", "default", ATTR_BOLD | ATTR_DIM | ATTR_ITALIC)
    assert cell_at(term, 1, 0) == ("B", "red", "default", ATTR_ITALIC)
    assert cell_at(term, 2, 0) == ("C", "default", "default", 0)
    assert cell_at(term, 3, 0) == ("D", "default", "default", 0)


def test_reverse_is_an_attribute_not_a_swap():
    term = feed(Terminal(10, 2), "\x1b[31;42;7mR")
    assert cell_at(term, 0, 0) == ("R", "red", "green", ATTR_REVERSE)


def test_private_sgr_variants_are_not_plain_sgr():
    term = feed(Terminal(10, 2), "\x1b[>4;2mA")
    assert cell_at(term, 0, 0) == ("A", "default", "default", 0)


def test_runs_merge_and_cover_the_row():
    term = feed(Terminal(12, 2), "\x1b[1mab\x1b[1mcd\x1b[0mef")
    assert term.render_row(0) == [("abcd", "default", "default", ATTR_BOLD), ("ef" + " " * 6, "default", "default", 0)]
    assert term.render_row(1) == [(" " * 12, "default", "default", 0)]
    assert term.render_row(5) == []


# ---- wide characters and combining marks -------------------------------------------------------------------

def test_wide_characters_appear_once_and_cover_two_cells():
    term = feed(Terminal(10, 2), "a中文b")
    runs = term.render_row(0)
    assert "".join(r[0] for r in runs) == "a中文b" + " " * 4
    assert sum(cell_width(r[0]) for r in runs) == 10
    assert term.cursor == (6, 0)


def test_wide_character_that_does_not_fit_wraps():
    term = feed(Terminal(5, 2), "abcd中")
    assert rows(term) == ["abcd", "中"]
    assert sum(cell_width(r[0]) for r in term.render_row(0)) == 5


def test_combining_marks_join_the_previous_cell():
    term = feed(Terminal(10, 2), "e\u0301x")
    assert rows(term)[0] == "éx"
    assert term.cursor == (2, 0)


def test_zero_width_characters_do_not_stop_drawing():
    term = feed(Terminal(10, 2), "\u2764\ufe0fX\u200dY")
    assert "X" in rows(term)[0] and "Y" in rows(term)[0]


def test_emoji_is_wide():
    term = feed(Terminal(10, 2), "\U0001f600z")
    assert term.cursor == (3, 0)
    assert cell_at(term, 2, 0)[0] == "z"


# ---- editing -----------------------------------------------------------------------------------------------

def test_insert_and_delete_characters():
    term = feed(Terminal(10, 2), "abcdef\x1b[1;3H\x1b[2@")
    assert rows(term)[0] == "ab  cdef"
    feed(term, "\x1b[3P")
    assert rows(term)[0] == "abdef"
    feed(term, "\x1b[1;1H\x1b[2X")
    assert rows(term)[0] == "  def"


def test_insert_and_delete_lines():
    term = feed(Terminal(5, 4), "1\r\n2\r\n3\r\n4\x1b[2;1H\x1b[L")
    assert rows(term) == ["1", "", "2", "3"]
    feed(term, "\x1b[2M")
    assert rows(term) == ["1", "3", "", ""]


def test_erase_in_line_and_display():
    term = feed(Terminal(6, 3), "aaaaaa\r\nbbbbbb\r\ncccccc\x1b[2;3H\x1b[K")
    assert rows(term) == ["aaaaaa", "bb", "cccccc"]
    feed(term, "\x1b[1K")
    assert rows(term)[1] == ""
    feed(term, "\x1b[J")
    assert rows(term) == ["aaaaaa", "", ""]
    feed(term, "\x1b[2J")
    assert rows(term) == ["", "", ""]


def test_erase_with_background_colours_the_whole_row():
    term = feed(Terminal(6, 2), "\x1b[44m\x1b[2J")
    assert term.render_row(1) == [(" " * 6, "default", "blue", 0)]


# ---- scroll regions ----------------------------------------------------------------------------------------

def test_scroll_region_scrolls_only_inside_and_keeps_history_clean():
    term = feed(Terminal(5, 5), "top\x1b[5;1Hbot\x1b[2;4r\x1b[4;1Ha\r\nb\r\nc\r\nd")
    assert rows(term) == ["top", "b", "c", "d", "bot"]
    assert term.scrollback_len == 0


def test_reverse_index_at_top_of_region():
    term = feed(Terminal(5, 4), "1\r\n2\r\n3\r\n4\x1b[2;3r\x1b[2;1H\x1bM")
    assert rows(term) == ["1", "", "2", "4"]


# ---- alternate screen --------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [47, 1047, 1049])
def test_alternate_screen_gives_back_the_shell_screen(mode):
    term = feed(Terminal(10, 3), "$ vim\r\n$ ")
    feed(term, f"\x1b[?{mode}h")
    assert term.modes.alt_screen
    feed(term, "\x1b[2J\x1b[HVIM\r\n~\r\n~\r\n~\r\n~")
    assert rows(term)[0] != "$ vim"
    feed(term, f"\x1b[?{mode}l")
    assert not term.modes.alt_screen
    assert rows(term) == ["$ vim", "$", ""]
    assert term.scrollback_len == 0  # what scrolled on the alternate screen is not history


def test_1049_restores_the_cursor():
    term = feed(Terminal(10, 3), "abc\x1b[?1049h\x1b[3;8Hx\x1b[?1049l")
    assert term.cursor == (3, 0)


def test_alternate_screen_survives_resize():
    term = feed(Terminal(10, 4), "one\r\ntwo\r\n$ \x1b[?1049h\x1b[Halt")
    term.resize(12, 3)
    assert rows(term)[0] == "alt"
    feed(term, "\x1b[?1049l")
    assert rows(term) == ["one", "two", "$"]
    assert term.cursor == (2, 2)


# ---- resize ------------------------------------------------------------------------------------------------

def test_shrinking_keeps_the_cursor_line_and_pushes_the_top_to_history():
    term = feed(Terminal(10, 5), "a\r\nb\r\nc\r\n$ ")
    term.resize(10, 2)
    assert rows(term) == ["c", "$"]
    assert term.cursor == (2, 1)
    assert [r[0][0] for r in term.scrollback_rows(0, 10)] == ["a", "b"]


def test_shrinking_drops_empty_rows_below_the_cursor_first():
    term = feed(Terminal(10, 5), "a\r\n$ ")
    term.resize(10, 3)
    assert rows(term) == ["a", "$", ""]
    assert term.scrollback_len == 0


def test_growing_and_narrowing():
    term = feed(Terminal(10, 2), "0123456789")
    term.resize(4, 3)
    assert rows(term) == ["0123", "", ""]
    assert (term.cols, term.rows) == (4, 3)
    term.resize(8, 3)
    feed(term, "\x1b[1;5Hxyz")
    assert rows(term)[0] == "0123xyz"
    assert all(sum(cell_width(r[0]) for r in term.render_row(y)) == 8 for y in range(3))


def test_resize_marks_all_rows_dirty():
    term = Terminal(10, 3)
    term.take_dirty()
    term.resize(10, 4)
    assert term.take_dirty() == {0, 1, 2, 3}


# ---- dirty tracking ----------------------------------------------------------------------------------------

def test_dirty_rows_are_reported_once():
    term = Terminal(10, 4)
    term.take_dirty()
    feed(term, "\x1b[3;1Hx")
    assert term.take_dirty() == {2}
    assert term.take_dirty() == set()


# ---- titles, bell, replies ---------------------------------------------------------------------------------

def test_osc_titles():
    term = Terminal(10, 2)
    assert term.title is None
    feed(term, "\x1b]2;db-master\x07")
    assert term.title == "db-master"
    feed(term, "\x1b]0;both\x1b\\")
    assert term.title == "both"
    feed(term, "\x1b]1;icon only\x07")
    assert term.title == "both"
    feed(term, "\x1b]2;spl")
    feed(term, "it\x1b")
    feed(term, "\\after")
    assert term.title == "split"
    assert rows(term)[0] == "after"


def test_overlong_osc_is_skipped_without_eating_what_follows():
    term = feed(Terminal(10, 2), "\x1b]2;" + "x" * 100_000 + "\x07ok")
    assert rows(term)[0] == "ok"
    assert term.title is None


def test_dcs_payload_is_not_drawn():
    term = feed(Terminal(10, 2), "\x1bPq#0;2;0;0;0#0~~@@\x1b\\ok")
    assert rows(term)[0] == "ok"


def test_bell_is_reported_once():
    term = feed(Terminal(10, 2), "ding\x07")
    assert term.take_bell() is True
    assert term.take_bell() is False
    assert rows(term)[0] == "ding"


def test_device_attribute_and_status_replies():
    term = feed(Terminal(20, 5), "\x1b[c\x1b[>c\x1b[5n\x1b[3;7H\x1b[6n")
    assert term.take_replies() == b"\x1b[?1;2c\x1b[>0;0;0c\x1b[0n\x1b[3;7R"
    assert term.take_replies() == b""


def test_cursor_report_at_pending_wrap_stays_on_screen():
    term = feed(Terminal(5, 2), "abcde\x1b[6n")
    assert term.take_replies() == b"\x1b[1;5R"


# ---- modes and input encoding ------------------------------------------------------------------------------

def test_modes():
    term = Terminal(10, 2)
    modes = term.modes
    assert not (modes.app_cursor or modes.app_keypad or modes.bracketed_paste or modes.mouse_sgr)
    feed(term, "\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h")
    modes = term.modes
    assert modes.app_cursor and modes.app_keypad and modes.bracketed_paste and modes.mouse_sgr
    assert modes.mouse == 1002
    feed(term, "\x1b[?1l\x1b>\x1b[?2004l\x1b[?1002l\x1b[?1006l")
    assert term.modes == type(modes)()


def test_cursor_visibility():
    term = feed(Terminal(10, 2), "\x1b[?25l")
    assert term.cursor_visible is False
    feed(term, "\x1b[?25h")
    assert term.cursor_visible is True


def test_deccolm_does_not_resize_the_pane():
    term = feed(Terminal(10, 2), "\x1b[?3h")
    assert term.cols == 10


def test_mouse_encoding():
    term = Terminal(80, 24)
    assert term.encode_mouse("press", 0, 1, 2) == b""
    feed(term, "\x1b[?1000h")
    assert term.encode_mouse("press", 0, 1, 2) == b"\x1b[M" + bytes([32, 34, 35])
    assert term.encode_mouse("release", 0, 1, 2) == b"\x1b[M" + bytes([35, 34, 35])
    assert term.encode_mouse("drag", 0, 1, 2) == b""
    assert term.encode_mouse("scroll_up", 0, 0, 0) == b"\x1b[M" + bytes([96, 33, 33])
    feed(term, "\x1b[?1006h")
    assert term.encode_mouse("press", 2, 9, 4) == b"\x1b[<2;10;5M"
    assert term.encode_mouse("release", 2, 9, 4) == b"\x1b[<2;10;5m"
    feed(term, "\x1b[?1002h")
    assert term.encode_mouse("drag", 0, 3, 3) == b"\x1b[<32;4;4M"
    assert term.encode_mouse("move", 0, 3, 3) == b""
    feed(term, "\x1b[?1003h")
    assert term.encode_mouse("move", 0, 3, 3) == b"\x1b[<35;4;4M"


def test_paste_encoding():
    term = Terminal(10, 2)
    assert term.encode_paste("a\nb") == b"a\rb"
    feed(term, "\x1b[?2004h")
    assert term.encode_paste("x\x1b[201~y\r\n") == b"\x1b[200~xy\r\x1b[201~"


# ---- robustness of the byte stream -------------------------------------------------------------------------

def test_sequences_split_anywhere_give_the_same_screen():
    stream = "\x1b[1;31mred\x1b[0m \x1b]2;t\x07中文 e\u0301 \x1b[2;3H\x1b[?1049h\x1b[?1049lend".encode()
    whole = feed(Terminal(20, 4), stream)
    split = Terminal(20, 4)
    for byte in stream:
        split.feed(bytes([byte]))
    assert split.internal_errors == 0
    assert [split.render_row(y) for y in range(4)] == [whole.render_row(y) for y in range(4)]
    assert split.cursor == whole.cursor
    assert split.title == whole.title == "t"


def test_invalid_utf8_becomes_replacement_characters():
    term = feed(Terminal(10, 2), b"a\xff\xfeb\xe4\xb8")
    feed(term, b"\xadc")  # the rest of U+4E2D arrives in the next read
    assert rows(term)[0] == "a\ufffd\ufffdb中c"


def test_feed_queue_slices_and_back_pressure():
    queue = FeedQueue(slice_bytes=10, high_water=25, low_water=5)
    term = Terminal(40, 3)
    queue.push(b"0123456789" * 3)
    assert queue.should_pause()
    assert queue.feed_slice(term) is True
    assert rows(term)[0] == "0123456789"
    assert queue.feed_slice(term) is True
    assert queue.feed_slice(term) is False
    assert queue.should_resume()
    assert rows(term)[0] == "012345678901234567890123456789"


def test_feed_queue_slices_end_after_a_line_while_more_is_queued():
    queue = FeedQueue(slice_bytes=16)
    queue.push(b"one\r\ntwo\r\nthree and")
    queue.push(b" more\r\nprompt$ ")
    slices = []
    while queue.backlog:
        slices.append(queue.take_slice())
    # the first slice stops after "two\r\n" (the rest of the line joins the next one); the last one, the
    # prompt without a line feed, is not held back
    assert slices == [b"one\r\ntwo\r\n", b"three and more\r\n", b"prompt$ "]
    # lines longer than a slice are cut where they must be, and a line feed early in a slice does not cut it
    queue.push(b"x" * 20 + b"\n" + b"y" * 30)
    assert queue.take_slice() == b"x" * 16
    assert queue.take_slice() == b"x" * 4 + b"\n" + b"y" * 11
    assert b"".join(iter(queue.take_slice, b"")) == b"y" * 19 and queue.backlog == 0


def test_dec_line_drawing_charset():
    term = feed(Terminal(10, 3), "\x1b(0lqqk\x1b(Bx\r\n\x0e\x1b)0qq\x0fab")
    assert rows(term)[:2] == ["┌──┐x", "──ab"]


def test_reverse_screen_mode_renders_blank_cells_reversed():
    term = feed(Terminal(6, 2), "\x1b[?5hab")
    assert term.render_row(0) == [("ab    ", "default", "default", ATTR_REVERSE)]
    assert term.render_row(1) == [("      ", "default", "default", ATTR_REVERSE)]
    feed(term, "\x1b[?5l")
    assert term.render_row(0) == [("ab    ", "default", "default", 0)]


def test_a_flood_marks_every_row_dirty_and_draws_the_end():
    term = Terminal(20, 5)
    term.take_dirty()
    feed(term, "".join(f"line {n}\r\n" for n in range(1000)) + "$ ")
    assert term.take_dirty() == {0, 1, 2, 3, 4}
    assert rows(term) == ["line 996", "line 997", "line 998", "line 999", "$"]
    assert term.cursor == (2, 4)
