"""xterm conformance (issue 14): minimal byte sequences, judged against xterm's documented behaviour
(ctlseqs, the VT manuals). Each test feeds the bytes and asserts text, attributes and cursor as xterm gives
them; every repro is also fed one byte at a time and must give the same screen (see the end of the file).
Where xterm and tmux disagree the test follows xterm and says so."""

from __future__ import annotations

import pytest

from tui.protocol.messages import ATTR_REVERSE
from tui.term import Terminal
from tui.term.screen import cell_width


def feed(term: Terminal, text: str | bytes) -> Terminal:
    term.feed(text.encode() if isinstance(text, str) else text)
    assert term.internal_errors == 0
    return term


def rows(term: Terminal) -> list[str]:
    return [line.rstrip() for line in term.display()]


def cell(term: Terminal, x: int, y: int) -> tuple[str, str, str, int]:
    col = 0
    for text, fg, bg, attrs in term.render_row(y):
        for ch in text:
            width = cell_width(ch)
            if col <= x < col + width:
                return (ch, fg, bg, attrs)
            col += width
    raise AssertionError(f"no cell {x},{y}")


def backgrounds(term: Terminal, y: int) -> set[str]:
    return {bg for _, _, bg, _ in term.render_row(y)}


def filled(cols: int, rows_: int) -> str:
    """Rows of digits (row n is all n), cursor left at the top-left corner."""
    return "\r\n".join(str(n % 10) * cols for n in range(rows_)) + "\x1b[H"


# ---- 1. background colour erase (bce) ---------------------------------------------------------------------

def test_il_inserts_a_line_in_the_current_background():
    term = feed(Terminal(6, 3), filled(6, 3) + "\x1b[2;3H\x1b[44m\x1b[L\x1b[0m")
    assert rows(term) == ["000000", "", "111111"]
    assert term.render_row(1) == [(" " * 6, "default", "blue", 0)]
    assert term.cursor == (0, 1)  # IL homes the column


@pytest.mark.parametrize(("sequence", "blank_rows"), [
    ("\x1b[2;1H\x1b[2M", [2, 3]),  # DL: rows come in at the bottom
    ("\x1b[S", [3]),  # SU
    ("\x1b[2T", [0, 1]),  # SD
    ("\x1b[4;1H\n", [3]),  # LF at the bottom margin
    ("\x1b[4;1H\x1bD", [3]),  # IND
    ("\x1b[1;1H\x1bM", [0]),  # RI at the top margin
])
def test_scrolling_brings_in_rows_in_the_current_background(sequence, blank_rows):
    term = feed(Terminal(5, 4), filled(5, 4) + "\x1b[41m" + sequence + "\x1b[0m")
    for y in blank_rows:
        assert term.render_row(y) == [(" " * 5, "default", "red", 0)], y
    for y in set(range(4)) - set(blank_rows):
        assert backgrounds(term, y) == {"default"}, y


def test_ich_dch_and_ech_blanks_take_only_the_background():
    term = feed(Terminal(8, 2), "abcdefgh\x1b[1;3H\x1b[1;4;7;42m\x1b[2@")
    assert rows(term)[0] == "ab  cdef"
    assert cell(term, 2, 0) == (" ", "default", "green", 0)  # xterm's ClearCells keeps colours, not attributes
    assert cell(term, 4, 0) == ("c", "default", "default", 0)
    feed(term, "\x1b[43m\x1b[3P")
    assert rows(term)[0] == "abdef"
    assert [cell(term, x, 0)[2] for x in range(8)] == ["default"] * 5 + ["yellow"] * 3
    feed(term, "\x1b[1;1H\x1b[45m\x1b[2X")
    assert [cell(term, x, 0)[2] for x in range(3)] == ["magenta", "magenta", "default"]
    assert term.cursor == (0, 0)


def test_erase_in_line_keeps_the_background_but_not_reverse():
    term = feed(Terminal(6, 2), "\x1b[7;44m\x1b[K")
    assert term.render_row(0) == [(" " * 6, "default", "blue", 0)]


def test_a_coloured_line_end_scrolls_a_coloured_row_in_on_the_block_path_too():
    # many complete lines at the bottom row take the block path; the LF after "\e[46m" brings in a cyan row
    data = "".join(f"line {n}\r\n" for n in range(30)) + "\x1b[46mcyan\r\n\x1b[0mafter\r\n"
    whole = feed(Terminal(10, 4), data)
    assert rows(whole) == ["line 29", "cyan", "after", ""]
    # the row "cyan" was written on was a default blank: only its text is cyan; "after" went on a cyan row
    assert (cell(whole, 0, 1)[2], cell(whole, 7, 1)[2]) == ("cyan", "default")
    assert (cell(whole, 0, 2)[2], cell(whole, 7, 2)[2]) == ("default", "cyan")
    assert backgrounds(whole, 3) == {"default"}


# ---- 4. a cursor outside the scroll region stays outside ---------------------------------------------------

def test_cuu_above_the_region_is_not_pulled_into_it():
    term = feed(Terminal(10, 6), "\x1b[3;5r\x1b[1;1H\x1b[AX\x1b[r")
    assert rows(term)[0] == "X"
    assert term.cursor == (1, 0)


def test_cuu_and_cud_stop_at_the_margins_from_inside_and_at_the_screen_edge_from_outside():
    term = feed(Terminal(10, 8), "\x1b[3;5r\x1b[4;1H\x1b[9A")
    assert term.cursor == (0, 2)
    feed(term, "\x1b[9B")
    assert term.cursor == (0, 4)
    feed(term, "\x1b[7;1H\x1b[9B")
    assert term.cursor == (0, 7)
    feed(term, "\x1b[9A")
    assert term.cursor == (0, 2)  # xterm's CursorUp stops at the top margin from anywhere at or below it


def test_index_below_the_region_moves_down_without_scrolling():
    term = feed(Terminal(5, 6), "\x1b[2;3r\x1b[6;1HA\x1bDB\x1b[r")
    assert rows(term)[5] == "AB"
    assert term.cursor == (2, 5)
    term = feed(Terminal(5, 6), "\x1b[2;3r\x1b[5;1HA\nB\nC\x1b[r")
    assert rows(term)[4:] == ["A", " BC"]  # the LF on the last row, below the region, does nothing


def test_ri_above_the_region_moves_up_without_scrolling():
    term = feed(Terminal(5, 6), "top\x1b[3;5r\x1b[2;1H\x1bM\x1bMX\x1b[r")
    assert rows(term)[0] == "Xop"
    assert term.cursor == (1, 0)


# ---- 2, 3, 6: DECSC / DECRC and the cursor of 1049 --------------------------------------------------------

def test_decrc_restores_the_same_place_every_time():
    term = feed(Terminal(10, 6), "\x1b[5;5H\x1b7")
    for n in "123":
        feed(term, "\x1b8" + n)
    assert rows(term)[4] == "    3"
    assert term.cursor == (5, 4)
    feed(term, "\x1b[1;1H\x1b[u")  # CSI u (SCORC) is DECRC too
    assert term.cursor == (4, 4)


def test_decrc_restores_attributes_and_origin_mode():
    term = feed(Terminal(10, 6), "\x1b[2;5r\x1b[?6h\x1b[1;31m\x1b[2;3H\x1b7\x1b[0m\x1b[?6l\x1b[6;1H\x1b8X")
    assert cell(term, 2, 2) == ("X", "red", "default", 1)  # row 2 of the region = screen row 3
    feed(term, "\x1b[6n")
    assert term.take_replies() == b"\x1b[2;4R"  # origin mode is back: reported relative to the margin


def test_decrc_without_decsc_goes_home_with_default_attributes():
    term = feed(Terminal(10, 4), "\x1b[3;3H\x1b[1mA\x1b8B")
    assert cell(term, 0, 0) == ("B", "default", "default", 0)
    assert term.cursor == (1, 0)


def test_1049_reset_on_the_main_screen_restores_the_cursor_again():
    term = feed(Terminal(10, 6), "\x1b[2;3H\x1b[?1049h\x1b[?1049l\x1b[4;5H\x1b[?1049lX")
    assert rows(term)[1] == "  X"
    assert term.cursor == (3, 1)


def test_1049_saves_into_the_decsc_slot_of_the_main_screen():
    term = feed(Terminal(10, 6), "\x1b[3;4H\x1b[?1049h\x1b[5;5H\x1b7\x1b[1;1H\x1b8")
    assert term.cursor == (4, 4)  # the alternate screen has its own slot
    feed(term, "\x1b[?1049l\x1b[6;1H\x1b8")
    assert term.cursor == (3, 2)


def test_decrc_restores_the_dec_line_drawing_charset():
    term = feed(Terminal(10, 2), "\x1b(0\x1b7\x1b(B\x1b8lqk\x1b(B")
    assert rows(term)[0] == "┌─┐"


def test_decstr_clears_the_saved_cursor():
    term = feed(Terminal(10, 6), "\x1b[4;4H\x1b7\x1b[!p\x1b[2;2H\x1b8")
    assert term.cursor == (0, 0)


# ---- 5. pending wrap ---------------------------------------------------------------------------------------

def test_cud_ends_a_pending_wrap():
    term = feed(Terminal(6, 3), "\x1b[1;6HA\x1b[BB")
    assert rows(term) == ["     A", "     B", ""]
    assert term.cursor == (5, 1)


@pytest.mark.parametrize("move", ["\x1b[A", "\x1b[1d"])
def test_cuu_and_vpa_end_a_pending_wrap(move):
    term = feed(Terminal(6, 3), "\x1b[2;6HA" + move + "B")
    assert rows(term)[:2] == ["     B", "     A"]


def test_no_autowrap_leaves_no_pending_wrap_behind():
    term = feed(Terminal(6, 3), "\x1b[?7l\x1b[1;6HAB\x1b[?7hC")
    assert rows(term) == ["     C", "", ""]
    assert term.cursor == (5, 0)
    term = feed(Terminal(6, 3), "\x1b[?7lxyzxyzQ\x1b[?7hC")  # the fast path: a run that fills the row
    assert rows(term) == ["xyzxyC", "", ""]


def test_no_autowrap_on_the_slow_path_too():
    term = feed(Terminal(6, 3), "\x1b[?7l\x1b[1;4H中é\x1b[?7hC")  # a wide character: the per-character path
    assert rows(term) == ["   中C", "", ""]
    assert term.cursor == (5, 0)


# ---- 8. CUP in origin mode ---------------------------------------------------------------------------------

def test_cup_beyond_the_region_in_origin_mode_is_clamped():
    term = feed(Terminal(6, 6), "\x1b[2;4r\x1b[?6h\x1b[9;1HX")
    assert rows(term)[3] == "X"
    assert term.cursor == (1, 3)
    feed(term, "\x1b[2;99HY")
    assert rows(term)[2] == "     Y"


# ---- 9. DECALN ---------------------------------------------------------------------------------------------

def test_decaln_fills_with_e_resets_the_margins_and_homes_the_cursor():
    term = feed(Terminal(4, 3), "\x1b[1;31m\x1b[2;3r\x1b[3;3H\x1b#8")
    assert rows(term) == ["EEEE"] * 3
    assert term.cursor == (0, 0)
    assert cell(term, 3, 2) == ("E", "default", "default", 0)
    feed(term, "\x1b[3;1H\n\n")  # no region any more: LF at the last row scrolls the whole screen
    assert rows(term) == ["EEEE", "", ""]


# ---- 7. reverse screen (DECSCNM) ---------------------------------------------------------------------------

def test_a_visual_bell_keeps_reverse_video_cells():
    term = feed(Terminal(8, 2), "\x1b[7mREV\x1b[0m ok\x1b[?5h")
    assert cell(term, 0, 0) == ("R", "default", "default", 0)  # inverted twice while the screen is reversed
    assert cell(term, 4, 0) == ("o", "default", "default", ATTR_REVERSE)
    assert term.render_row(1) == [(" " * 8, "default", "default", ATTR_REVERSE)]
    feed(term, "\x1b[?5l")
    assert cell(term, 0, 0) == ("R", "default", "default", ATTR_REVERSE)
    assert cell(term, 4, 0) == ("o", "default", "default", 0)


# ---- 10. concealed text ------------------------------------------------------------------------------------

def test_concealed_text_is_not_shown_and_sgr_28_reveals_only_what_follows():
    term = feed(Terminal(20, 2), "pw: \x1b[8msecret\x1b[28m ok \x1b[8;4mx\x1b[0m")
    assert rows(term)[0] == "pw:" + " " * 8 + "ok"
    assert term.cursor == (15, 0)
    assert cell(term, 14, 0)[3] != 0  # the concealed cell keeps its other attributes (underline here)


def test_concealed_text_stays_hidden_in_scrollback_on_the_block_path():
    data = "".join(f"\x1b[8mhidden{n}\x1b[0m shown{n}\r\n" for n in range(20))
    term = feed(Terminal(20, 3), data)
    history = ["".join(run[0] for run in row) for row in term.scrollback_rows(0, term.scrollback_len)]
    assert history and all("hidden" not in line and "shown" in line for line in history)
    assert all("hidden" not in line for line in rows(term))


# ---- 11. malformed SGR -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sequence", ["\x1b[38;2;300;-1;20m", "\x1b[1-2m", "\x1b[1 ;4m", "\x1b[3?1h"])
def test_a_malformed_csi_is_swallowed_to_its_final_byte(sequence):
    term = feed(Terminal(20, 2), "A" + sequence + "B")
    assert rows(term)[0] == "AB"
    assert cell(term, 1, 0) == ("B", "default", "default", 0)
    assert term.cursor == (2, 0)


def test_a_malformed_csi_split_across_reads_is_swallowed_too():
    term = feed(Terminal(20, 2), "A\x1b[38;2;300;-")
    feed(term, "1;20mB")
    assert rows(term)[0] == "AB"


# ---- 12. combining marks -----------------------------------------------------------------------------------

def test_a_combining_mark_at_the_first_column_stays_on_its_row():
    term = feed(Terminal(6, 3), "x\r\n\u0301\r\n")
    assert rows(term)[0] == "x"
    assert rows(term)[1] == " \u0301"  # on the blank under the cursor, as xterm does
    assert term.cursor == (0, 2)


def test_a_combining_mark_after_the_last_column_joins_that_character():
    term = feed(Terminal(3, 2), "abe\u0301")
    assert rows(term) == ["abé", ""]


# ---- 13. the DEC line-drawing table ------------------------------------------------------------------------

def test_line_drawing_maps_only_what_xterm_maps():
    # tmux and the Linux console also turn + , - . 0 into arrows and a block and h into #: xterm does not
    term = feed(Terminal(20, 2), "\x1b(0q0-h+,.\x1b(B")
    assert rows(term)[0] == "─0-␤+,."
    term = feed(Terminal(40, 2), "\x1b(0`abcdefghijklmnopqrstuvwxyz{|}~\x1b(Bq")
    assert rows(term)[0] == "◆▒␉␌␍␊°±␤␋┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£·q"


def test_shift_out_uses_line_drawing_in_g1_after_a_reset():
    term = feed(Terminal(10, 2), "\x1bc\x0elqk\x0fq")
    assert rows(term)[0] == "┌─┐q"


# ---- 14, 15: replies programs wait for ---------------------------------------------------------------------

def test_osc_10_and_11_queries_report_the_default_colours_ended_as_asked():
    term = feed(Terminal(10, 2), "\x1b]10;?\x07\x1b]11;?\x1b\\")
    assert term.take_replies() == b"\x1b]10;rgb:aaaa/aaaa/aaaa\x07\x1b]11;rgb:0000/0000/0000\x1b\\"
    term.set_default_colours("FFFFFF", "1e1e2e")
    feed(term, "\x1b]10;?;?\x07")  # xterm: the second parameter is about the next colour (11)
    assert term.take_replies() == b"\x1b]10;rgb:ffff/ffff/ffff\x07\x1b]11;rgb:1e1e/1e1e/2e2e\x07"
    assert rows(term) == ["", ""]
    with pytest.raises(ValueError):
        term.set_default_colours("white", "000000")


def test_osc_colour_setting_is_not_a_query():
    term = feed(Terminal(10, 2), "\x1b]11;#102030\x07\x1b]10;rgb:1/2/3\x07")
    assert term.take_replies() == b""


def test_text_area_size_report():
    term = feed(Terminal(80, 24), "\x1b[18t")
    assert term.take_replies() == b"\x1b[8;24;80t"
    term.resize(100, 30)
    feed(term, "\x1b[18t\x1b[14t\x1b[19t")  # no cell size, no display size: only 18 is answered
    assert term.take_replies() == b"\x1b[8;30;100t"


@pytest.mark.parametrize(("setup", "query", "answer"), [
    ("", "\x1b[?7$p", "\x1b[?7;1$y"),
    ("\x1b[?7l", "\x1b[?7$p", "\x1b[?7;2$y"),
    ("\x1b[?1h", "\x1b[?1$p", "\x1b[?1;1$y"),
    ("", "\x1b[?6$p", "\x1b[?6;2$y"),
    ("\x1b[?6h", "\x1b[?6$p", "\x1b[?6;1$y"),
    ("\x1b[?25l", "\x1b[?25$p", "\x1b[?25;2$y"),
    ("", "\x1b[?25$p", "\x1b[?25;1$y"),
    ("\x1b[?1049h", "\x1b[?1049$p", "\x1b[?1049;1$y"),
    ("\x1b[?1002h", "\x1b[?1000$p\x1b[?1002$p", "\x1b[?1000;2$y\x1b[?1002;1$y"),
    ("\x1b[?1006h\x1b[?2004h", "\x1b[?1006$p\x1b[?2004$p", "\x1b[?1006;1$y\x1b[?2004;1$y"),
    ("\x1b[?5h", "\x1b[?5$p", "\x1b[?5;1$y"),
    ("\x1b=", "\x1b[?66$p", "\x1b[?66;1$y"),
    ("", "\x1b[?3$p", "\x1b[?3;4$y"),  # DECCOLM is ignored: permanently reset
    ("", "\x1b[?9999$p", "\x1b[?9999;0$y"),
    ("\x1b[4h", "\x1b[4$p", "\x1b[4;1$y"),
    ("", "\x1b[20$p", "\x1b[20;2$y"),
    ("", "\x1b[12$p", "\x1b[12;0$y"),
])
def test_decrqm_reports_the_modes_we_support(setup, query, answer):
    term = feed(Terminal(10, 2), setup)
    term.take_replies()
    feed(term, query)
    assert term.take_replies() == answer.encode()
    assert rows(term)[0] == ""


# ---- DECSCUSR and DECSTR -----------------------------------------------------------------------------------

def test_decscusr_sets_the_cursor_shape_and_decrqss_reads_it_back():
    term = feed(Terminal(10, 2), "\x1bP$q q\x1b\\")
    assert term.cursor_shape == 0
    assert term.take_replies() == b"\x1bP1$r0 q\x1b\\"
    feed(term, "\x1b[5 q")
    assert term.cursor_shape == 5
    feed(term, "\x1bP$q q\x1b\\")
    assert term.take_replies() == b"\x1bP1$r5 q\x1b\\"
    feed(term, "\x1b[9 q\x1b[ q")
    assert term.cursor_shape == 0  # 9 is not a shape; no parameter is 0, the default
    feed(term, "\x1b[4 q\x1bc")
    assert term.cursor_shape == 0  # a full reset
    assert rows(term)[0] == ""


def test_decrqss_for_the_margins_and_for_what_is_not_supported():
    term = feed(Terminal(10, 6), "\x1b[2;5r\x1bP$qr\x1b\\\x1bP$qm\x1b\\")
    assert term.take_replies() == b"\x1bP1$r2;5r\x1b\\\x1bP0$r\x1b\\"


def test_decstr_resets_modes_attributes_margins_and_charsets_but_not_the_screen():
    term = feed(Terminal(10, 6), "keep\x1b[2;4r\x1b[?6h\x1b[4h\x1b[?7l\x1b[?25l\x1b[1;31m\x1b(0\x1b[?1h\x1b=")
    feed(term, "\x1b[3;3H\x1b[!p")
    assert rows(term)[0] == "keep"
    assert term.cursor == (2, 3)  # the cursor stays put (it went to row 3 of the region, which starts at 2)
    assert term.cursor_visible and not term.modes.app_cursor and not term.modes.app_keypad
    feed(term, "\x1b[6;1Hq\x1b[?6$p\x1b[4$p\x1b[?7$p")
    assert cell(term, 0, 5) == ("q", "default", "default", 0)  # ASCII again, default attributes
    assert term.take_replies() == b"\x1b[?6;2$y\x1b[4;2$y\x1b[?7;1$y"  # xterm turns autowrap back on
    feed(term, "\n")  # no region any more: LF at the last row scrolls the whole screen
    assert rows(term)[4] == "q"


# ---- every repro above, fed whole and one byte at a time ---------------------------------------------------

REPROS = [
    filled(6, 4) + "\x1b[2;3H\x1b[44m\x1b[L\x1b[2M\x1b[3P\x1b[2@\x1b[2X\x1b[S\x1b[T\x1b[4;1H\n\x1bD\x1b[1;1H\x1bM\x1b[0m",
    "".join(f"line {n}\r\n" for n in range(30)) + "\x1b[46mcyan\r\n\x1b[0mafter\r\n\x1b[45m" + "w" * 20 + "\r\n",
    "\x1b[3;5r\x1b[1;1H\x1b[AX\x1b[r\x1b[2;3r\x1b[6;1HA\x1bDB\nC\x1b[r\x1b[3;5r\x1b[2;1H\x1bM\x1bMY\x1b[r",
    "\x1b[5;5H\x1b7" + "".join(f"\x1b8{n}" for n in range(3)) + "\x1b[2;3H\x1b[?1049h\x1b[?1049l\x1b[4;5H\x1b[?1049lX",
    "\x1b(0\x1b7\x1b(B\x1b8lqk\x1b(B\x1b[4;4H\x1b7\x1b[!p\x1b8Z",
    "\x1b[1;6HA\x1b[BB\x1b[?7l\x1b[1;6HAB\x1b[?7hC\x1b[?7lxyzxyzQ\x1b[?7h\x1b[3;4H中é",
    "\x1b[7mREV\x1b[0m\x1b[?5h\x1b[?5l\x1b[2;4r\x1b[?6h\x1b[9;1HX\x1b[?6l\x1b#8",
    "pw: \x1b[8msecret\x1b[28m ok\r\n" + "".join(f"\x1b[8mhidden{n}\x1b[0m shown{n}\r\n" for n in range(9)),
    "A\x1b[38;2;300;-1;20mB\x1b[1-2mC\x1b[3?1hD x\r\n\u0301\r\nabcde\u0301\x1b(0q0-h+,.`~\x1b(B",
    "\x1b]10;?\x07\x1b]11;?\x1b\\\x1b[18t\x1b[?7$p\x1b[4$p\x1b[5 q\x1bP$q q\x1b\\\x1bP$qr\x1b\\",
]


@pytest.mark.parametrize("data", REPROS)
def test_the_same_bytes_whole_or_one_at_a_time_give_the_same_screen(data):
    encoded = data.encode()
    whole = feed(Terminal(6, 6, scrollback=100), encoded)
    sliced = Terminal(6, 6, scrollback=100)
    for byte in encoded:
        sliced.feed(bytes([byte]))
    assert sliced.internal_errors == 0
    assert [sliced.render_row(y) for y in range(6)] == [whole.render_row(y) for y in range(6)]
    assert (sliced.cursor, sliced.cursor_visible, sliced.cursor_shape) == (
        whole.cursor, whole.cursor_visible, whole.cursor_shape)
    assert sliced.take_replies() == whole.take_replies()
    assert sliced.scrollback_rows(0, 100) == whole.scrollback_rows(0, 100)


def test_a_visual_bell_after_a_flood_inverts_every_row():
    # rows the block path put on screen are inverted like any other
    term = feed(Terminal(8, 3), "".join(f"l{n}\r\n" for n in range(20)) + "\x1b[7mR\x1b[0m\x1b[?5h")
    assert all(run[3] == ATTR_REVERSE for y in range(2) for run in term.render_row(y))
    assert cell(term, 0, 2) == ("R", "default", "default", 0)
    feed(term, "\x1b[?5l")
    assert all(run[3] == 0 for y in range(2) for run in term.render_row(y))
    assert cell(term, 0, 2) == ("R", "default", "default", ATTR_REVERSE)
