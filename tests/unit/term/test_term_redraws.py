"""Rows redrawn in place (top, vim, status lines) as segments: the same screen as the cell path.

A program like top redraws each row with `CUP row;1`, styled text and `EL`; the emulator replaces such a row
in one step (`TermScreen.rewrite_row`, `rewrite_rows` for a run of them) and keeps rows as segments while
text is drawn over them, erased, scrolled inside a region, inserted or deleted. Feeding one byte at a time never sees a complete
`text + EL` pair, so it takes the per-draw path: both must give the same rows, cursor and scrollback. Where
stock pyte behaves as xterm does (no backgrounds, the cursor inside the scroll region), its cells are the
reference too.
"""

from __future__ import annotations

import random

import pytest

from tests.unit.term.test_term_equivalence import FG_ONLY_SGRS, SGRS, assert_same_screen, stock_pyte
from tui.term import Terminal

WORDS = ("PID", "root", "mysqld", "12.5", "UpToDate", "keepalived", "MASTER", "─┬─", "état", "x" * 23)
REDRAW_SGRS = SGRS + ("45", "8", "28", "1;44", "7")


def styled_text(rng: random.Random, sgrs: tuple[str, ...], width: int) -> str:
    """About `width` visible characters of words with SGR changes between them."""
    parts = []
    visible = 0
    while visible < width:
        if rng.random() < 0.35:
            parts.append(f"\x1b[{rng.choice(sgrs)}m")
        word = rng.choice(WORDS)[: width - visible]
        sep = " " if visible + len(word) < width else ""
        parts.append(word + sep)
        visible += len(word) + len(sep)
    return "".join(parts)


def redraw_stream(rng: random.Random, cols: int, rows: int, frames: int, pyte_alike: bool = False) -> str:
    """Frames of whole-row redraws, with partial redraws, region scrolls, line and character edits, wide
    characters, erases and plain lines scrolling into history mixed in."""
    sgrs = FG_ONLY_SGRS if pyte_alike else REDRAW_SGRS
    reset = "\x1b[0m" if pyte_alike else ""  # stock pyte erases with the whole style, xterm with the colours
    out = []
    for _ in range(frames):
        roll = rng.random()
        if roll < 0.45:  # top: every row from its first column, ended by EL (some fill or overflow the row)
            for y in range(1, rows + 1):
                text = styled_text(rng, sgrs, rng.choice((0, 3, cols // 2, cols - 1, cols, cols + 4)))
                out.append(f"\x1b[{y};1H{text}{reset}\x1b[K")
        elif roll < 0.6:  # vim: lines scrolled in at the bottom of a region, IL/DL
            bottom = rng.randrange(2, rows + 1)
            out.append(f"\x1b[1;{bottom}r")
            for _ in range(rng.randrange(1, 6)):
                out.append(f"\x1b[{bottom};1H\r\n{styled_text(rng, sgrs, rng.randrange(cols))}{reset}\x1b[K")
            out.append(f"\x1b[{rng.randrange(1, bottom + 1)};1H\x1b[{rng.randrange(1, 3)}{rng.choice('LM')}"
                       f"\x1b[0m\x1b[r")
        elif roll < 0.75:  # a field redrawn in the middle of a row, with or without EL
            text = styled_text(rng, sgrs, rng.randrange(1, 12))
            out.append(f"\x1b[{rng.randrange(1, rows + 1)};{rng.randrange(1, cols + 1)}H{text}"
                       + rng.choice(("", reset + "\x1b[K", reset + "\x1b[1K")))
        elif roll < 0.8:  # what only cells can hold, then a redraw of the same row
            y = rng.randrange(1, rows + 1)
            out.append(f"\x1b[{y};1H中文 e\u0301 ok{reset}\x1b[K\x1b[{y};1H{styled_text(rng, sgrs, 5)}{reset}\x1b[K")
        elif roll < 0.87:
            y = rng.randrange(1, rows + 1)
            edits = ("\x1b[3@", "\x1b[2P", "\x1b[4X") if not pyte_alike else ("\x1b[2P",)
            out.append(f"{reset}\x1b[{y};{rng.randrange(1, cols)}H{rng.choice(edits)}")
        elif roll < 0.92:
            out.append(reset + rng.choice(("\x1b[J", "\x1b[1J", "\x1b[2J", "\x1b[2K")))
        else:  # plain lines at the bottom: they scroll the screen into history
            lines = [styled_text(rng, sgrs, rng.randrange(cols)) for _ in range(rng.randrange(1, rows))]
            out.append(f"\x1b[0m\x1b[{rows};1H\r\n" + "\r\n".join(lines) + "\x1b[0m\r\n")
    return "".join(out)


def fed_in_pieces(data: bytes, cols: int, rows: int, sizes: tuple[int, ...], rng: random.Random) -> Terminal:
    term = Terminal(cols, rows, scrollback=400)
    cut = 0
    while cut < len(data):
        step = rng.choice(sizes)
        term.feed(data[cut:cut + step])
        cut += step
    assert term.internal_errors == 0
    return term


def assert_same_terminal(ours: Terminal, reference: Terminal) -> None:
    assert ours.internal_errors == reference.internal_errors == 0
    assert [ours.render_row(y) for y in range(ours.rows)] == [reference.render_row(y) for y in range(ours.rows)]
    assert ours.cursor == reference.cursor
    assert ours.scrollback_len == reference.scrollback_len
    assert ours.scrollback_rows(0, 400) == reference.scrollback_rows(0, 400)


@pytest.mark.parametrize("seed", range(8))
def test_whole_row_redraws_equal_the_per_character_path(seed):
    rng = random.Random(300 + seed)
    cols, rows = rng.choice(((80, 24), (30, 6), (200, 50), (12, 3)))
    data = redraw_stream(rng, cols, rows, 40).encode()
    whole = Terminal(cols, rows, scrollback=400)
    rewritten = []  # rows put in place by rewrite_row, and runs of rows taken by rewrite_rows
    put_rows, rewrite_rows = whole._screen._put_rows, whole._screen.rewrite_rows

    def counting_rewrite_rows(*args):
        end = rewrite_rows(*args)
        if end > 0:
            rewritten.append(end)
        return end

    whole._screen._put_rows = lambda rows_: (rewritten.extend(rows_), put_rows(rows_))
    whole._screen.rewrite_rows = counting_rewrite_rows
    whole.feed(data)
    assert len(rewritten) > 10, "the whole-row shortcuts never ran on this stream"
    one_byte = fed_in_pieces(data, cols, rows, (1,), rng)
    assert_same_terminal(whole, one_byte)
    pty_sized = fed_in_pieces(data, cols, rows, (4095, 7, 300, 1024), rng)
    assert_same_terminal(pty_sized, one_byte)


@pytest.mark.parametrize("seed", range(6))
def test_whole_row_redraws_match_stock_pyte(seed):
    rng = random.Random(400 + seed)
    cols, rows = rng.choice(((80, 24), (40, 10), (200, 50)))
    data = redraw_stream(rng, cols, rows, 30, pyte_alike=True).encode()
    ours = fed_in_pieces(data, cols, rows, (65536, 4096, 100, 1), rng)
    assert_same_screen(ours, stock_pyte(cols, rows, data))


def test_a_redrawn_row_keeps_its_colours_and_the_erased_background():
    term = Terminal(20, 3)
    term.feed(b"\x1b[2;1Hold text that is long\x1b[2;1H\x1b[1;31mERR\x1b[0m ok\x1b[44m\x1b[K\x1b[0m")
    assert term.render_row(1) == [("ERR", "red", "default", 1), (" ok", "default", "default", 0),
                                  (" " * 14, "default", "blue", 0)]
    assert term.cursor == (6, 1)


def test_splicing_segments_equals_writing_cells():
    """Text written over a row held as segments: the same cells as writing one character per cell."""
    from tui.term.screen import DEFAULT_CELL, Cell, segments_cut, segments_splice

    styles = [DEFAULT_CELL, Cell(" ", fg="red"), Cell(" ", bg="blue"), Cell(" ", bold=True)]
    rng = random.Random(7)
    for _ in range(3000):
        segments = [(rng.choice("abcdef") * rng.randrange(1, 6), rng.choice(styles))
                    for _ in range(rng.randrange(0, 6))]
        cells = [(ch, style) for text, style in segments for ch in text]
        x = rng.randrange(0, 30)
        text = rng.choice("XYZ") * rng.randrange(1, 8)
        style = rng.choice(styles)
        expected = cells + [(" ", DEFAULT_CELL)] * (x - len(cells))
        expected[x:x + len(text)] = [(ch, style) for ch in text]
        spliced = segments_splice(segments, x, text, style)
        assert [(ch, style) for text, style in spliced for ch in text] == expected
        assert all(text for text, _ in spliced)
        cut = rng.randrange(0, 30)
        end = cut + rng.randrange(0, 10)
        head, tail = segments_cut(segments, cut, end)
        assert [(ch, style) for text, style in head for ch in text] == cells[:cut]
        assert [(ch, style) for text, style in tail for ch in text] == cells[end:]


@pytest.mark.parametrize("seed", range(4))
def test_resizing_rows_of_segments_equals_resizing_cells(seed):
    """A resize while rows are held as segments gives the same screen as when they are all cells."""
    rng = random.Random(500 + seed)
    cols, rows = 60, 16
    data = redraw_stream(rng, cols, rows, 12).encode()
    sizes = [(cols + 20, rows + 5), (cols - 25, rows - 6), (cols, rows)]
    ours = Terminal(cols, rows, scrollback=400)
    cells = Terminal(cols, rows, scrollback=400)
    for new_cols, new_rows in sizes:
        ours.feed(data)
        cells.feed(data)
        assert cells._screen.buffer is not None  # reading the cell buffer turns every row into cells
        ours.resize(new_cols, new_rows)
        cells.resize(new_cols, new_rows)
        assert_same_terminal(ours, cells)


# ---- rows held as their source ----------------------------------------------------------------------------
# rewrite_rows keeps a redrawn row as the text the program sent (and the attributes at its start) until
# something reads it. Every way of reading or changing such a row must see what the per-character path
# (one byte at a time, which never takes the shortcut) gives.

TOP_COLOURS = ("\x1b[1;31m", "\x1b[32m", "", "\x1b[7m", "\x1b[38;5;208m", "\x1b[1m\x1b[4m")


def top_frame(rng: random.Random, cols: int, rows: int, ascii_only: bool = True) -> str:
    """A frame as top sends it: every row from its first column, ended by EL; fields coloured and reset (so
    most rows end in the default style), some left coloured (the next row starts in that style)."""
    words = ("mysqld", "keepalived", "drbd0", "root") if ascii_only else ("mysqld", "état", "─┬─", "root")
    out = []
    for y in range(1, rows + 1):
        colour = rng.choice(TOP_COLOURS)
        end = rng.choice(("\x1b[0m", "\x1b[m", "", "\x1b[0m", "\x1b[39m", "\x1b[1m", "\x1b[0;1m"))
        text = f"{rng.randrange(99999):>6} {colour}{rng.random() * 100:5.1f}{end} {rng.choice(words)}"
        out.append(f"\x1b[{y};1H{text[:cols - 1]}\x1b[K")
    return "".join(out)


def held_as_source(term: Terminal) -> int:
    return sum(type(row) is tuple for row in term._screen._lazy_rows)


def by_bytes(data: bytes, cols: int, rows: int) -> Terminal:
    term = Terminal(cols, rows, scrollback=400)
    for byte in data:
        term.feed(bytes([byte]))
    return term


THEN = {
    "nothing": "",
    "text over the middle of a row": "\x1b[3;5HXY\x1b[31mZ",
    "text past the end of a row": "\x1b[2;30Hfar",
    "a row of the screen's width over one, then a shorter one": "\x1b[2;1H\x1b[7m" + "W" * 40 + "\x1b[0m\x1b[3;1Hshort",
    "EL from the middle, EL 1, EL 2": "\x1b[2;8H\x1b[K\x1b[3;4H\x1b[1K\x1b[4;1H\x1b[2K",
    "EL in a coloured background": "\x1b[2;8H\x1b[44m\x1b[K\x1b[0m",
    "ICH, DCH, ECH": "\x1b[2;2H\x1b[3@\x1b[3;2H\x1b[2P\x1b[4;2H\x1b[4X",
    "a wide and a combining character": "\x1b[2;3H中\x1b[3;3He\u0301",
    "a wide character, the row redrawn, the alternate screen": "\x1b[2;20H中\x1b[2;1Hshort\x1b[K\x1b[?1049h\x1b[?1049l",
    "insert mode": "\x1b[4h\x1b[2;2Hins\x1b[4l",
    "line feeds at the bottom: rows scroll into history": "\x1b[6;1H\n\n\nlast",
    "vim: the region scrolled at its bottom, then its new row": "\x1b[1;5r\x1b[5;1H\r\n\x1b[33mnew\x1b[K\x1b[r",
    "IL, DL, RI, SU, SD": "\x1b[2;1H\x1b[2L\x1b[4;1H\x1b[M\x1b[H\x1bM\x1b[2S\x1b[T",
    "ED 0, ED 1": "\x1b[3;5H\x1b[J\x1b[2;5H\x1b[1J",
    "ED 2 (the screen goes to history)": "\x1b[2J",
    "a row of SGR only, then ED 2": "\x1b[6;1H\x1b[1m\x1b[K\x1b[0m\x1b[2J",
    "a row of SGR only scrolled into history": "\x1b[1;1H\x1b[1m\x1b[K\x1b[0m\x1b[6;1H\n\n",
    "plain lines from the bottom row": "\x1b[6;1H\x1b[K\r\nplain one\r\nplain two\r\n",
    "the alternate screen and back": "\x1b[?1049h\x1b[1;1Halt\x1b[K\x1b[?1049l",
    "REP of the last character, DSR": "\x1b[3b\x1b[6n",
    "a concealed field": "\x1b[2;1H\x1b[8msecret\x1b[28m shown\x1b[K",
    "the reverse screen": "\x1b[?5h",
}


@pytest.mark.parametrize("then", THEN.values(), ids=THEN.keys())
@pytest.mark.parametrize("ascii_only", (True, False), ids=("ascii", "non-ascii"))
def test_rows_held_as_their_source_read_back_as_built_at_once(then, ascii_only):
    rng = random.Random(hash(then) % 1000)
    cols, rows = 40, 6
    first = top_frame(rng, cols, rows, ascii_only) + "\x1b[0m"
    second = top_frame(rng, cols, rows, ascii_only)  # redraws every row, starting in the style the last left
    whole = Terminal(cols, rows, scrollback=400)
    whole.feed(first.encode())
    whole.feed(second.encode())
    assert held_as_source(whole) >= rows - 1, "the redrawn rows were not held as their source"
    whole.feed(then.encode())
    reference = by_bytes((first + second + then).encode(), cols, rows)
    assert_same_terminal(whole, reference)
    assert whole.display() == reference.display()
    assert whole.take_replies() == reference.take_replies()


@pytest.mark.parametrize("size", ((60, 9), (20, 6), (40, 3), (15, 2)))
def test_resizing_rows_held_as_their_source(size):
    rng = random.Random(sum(size))
    cols, rows = 40, 6
    data = (top_frame(rng, cols, rows) + top_frame(rng, cols, rows)).encode()
    whole = Terminal(cols, rows, scrollback=400)
    whole.feed(data)
    assert held_as_source(whole) >= rows - 1
    reference = by_bytes(data, cols, rows)
    whole.resize(*size)
    reference.resize(*size)
    assert_same_terminal(whole, reference)
    after = (top_frame(rng, *size) + "\x1b[99;1Hbottom\x1b[K\r\n").encode()  # rows of the new size, clamped
    whole.feed(after)
    for byte in after:
        reference.feed(bytes([byte]))
    assert_same_terminal(whole, reference)


def test_a_redrawn_row_that_ends_in_a_background_colour_erases_with_it():
    term = Terminal(20, 3)
    term.feed(b"\x1b[1;1Hplain\x1b[K\x1b[2;1Hok \x1b[1;44mblue\x1b[K\x1b[3;1Hstill\x1b[K\x1b[0m")
    assert term.render_row(1) == [("ok ", "default", "default", 0), ("blue", "default", "blue", 1),
                                  (" " * 13, "default", "blue", 0)]
    assert term.render_row(2) == [("still", "default", "blue", 1), (" " * 15, "default", "blue", 0)]
    assert term.render_row(0) == [("plain" + " " * 15, "default", "default", 0)]


def test_vim_rows_after_a_ttys_onlcr_scroll_the_region_once_each():
    """`CUP bottom;1`, CR LF, the new row, EL; through a cooked pty the CR LF arrives as CR CR LF."""
    term = Terminal(20, 4, scrollback=50)
    term.feed(b"\x1b[1;3r" + b"".join(b"\x1b[3;1H\r\r\n\x1b[33m%d\x1b[0m line\x1b[K" % n for n in range(5))
              + b"\x1b[r")
    assert term.display() == ["2 line".ljust(20), "3 line".ljust(20), "4 line".ljust(20), " " * 20]
    assert term.render_row(2)[0] == ("4", "yellow", "default", 0)
    assert term.scrollback_len == 0  # a region smaller than the screen keeps no history


@pytest.mark.parametrize("seed", range(4))
def test_redraws_with_the_alternate_screen_and_ascii_pieces(seed):
    """The property test's frames, ASCII only (the scanner that needs no further check) and with the
    alternate screen entered and left between them, whole against one byte at a time."""
    rng = random.Random(600 + seed)
    cols, rows = rng.choice(((80, 24), (30, 6), (12, 3)))
    parts = []
    for _ in range(12):
        parts.append(top_frame(rng, cols, rows))
        parts.append(rng.choice(("\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h", "\x1b[?47l", "", "\x1b[0m\r\n\r\n",
                                 f"\x1b[{rows};1H\r\r\n\x1b[32mscrolled\x1b[K")))
    data = "".join(parts).encode()
    assert data.isascii()
    whole = Terminal(cols, rows, scrollback=400)
    whole.feed(data)
    assert_same_terminal(whole, by_bytes(data, cols, rows))
    pieces = fed_in_pieces(data, cols, rows, (4095, 300, 17), rng)
    assert_same_terminal(pieces, whole)
