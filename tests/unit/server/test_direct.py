"""What the server draws straight onto a client's terminal (tui.server.direct): the SGR of each run as the
client itself would draw it (palette colours stay palette indexes), the rows at their place, the cursor left
where the client would leave it, and nothing at all when a row cannot be drawn exactly. The terminal it opens
is only the one the client named; the bytes are checked by writing them into a real pty.
"""

from __future__ import annotations

import os
import pty
import select

import pytest

from tui.protocol.messages import ATTR_BOLD, ATTR_REVERSE, ATTR_UNDERLINE
from tui.server.direct import REPAINT_EVERYTHING, DirectTerminal, Placement, run_sgr


def test_palette_colours_stay_palette_indexes():
    assert run_sgr("red", "default", 0, truecolor=False) == "\x1b[0;31m"
    assert run_sgr("brightred", "default", 0, truecolor=False) == "\x1b[0;91m"
    assert run_sgr("default", "blue", 0, truecolor=False) == "\x1b[0;44m"
    assert run_sgr("yellow", "brightcyan", ATTR_BOLD | ATTR_UNDERLINE, truecolor=False) == "\x1b[0;1;4;33;106m"
    assert run_sgr("default", "default", ATTR_REVERSE, truecolor=False) == "\x1b[0;7m"


def test_truecolour_only_where_the_terminal_shows_it():
    assert run_sgr("ff8700", "default", 0, truecolor=True) == "\x1b[0;38;2;255;135;0m"
    assert run_sgr("default", "00ff00", 0, truecolor=True) == "\x1b[0;48;2;0;255;0m"
    # the client's Textual would turn it into a 256-colour index; the server leaves such a row to it
    assert run_sgr("ff8700", "default", 0, truecolor=False) is None
    assert run_sgr("notacolour", "default", 0, truecolor=True) is None
    assert run_sgr("zzzzzz", "default", 0, truecolor=True) is None
    assert run_sgr("-1ffff", "default", 0, truecolor=True) is None  # int() would take it
    assert run_sgr(" f0000", "default", 0, truecolor=True) is None


def _terminal(origin=(0, 1)) -> DirectTerminal:
    terminal = DirectTerminal(-1)
    terminal.declare(7, True, origin[0], origin[1], truecolor=False)
    return terminal


def test_rows_go_to_their_place_and_the_cursor_where_the_client_leaves_it():
    terminal = _terminal(origin=(0, 1))
    rows = {"3": [["$ ls", "default", "default", 0], ["x", "red", "default", 0], [" " * 5, "default", "default", 0]]}
    data = terminal.render(rows, Placement(x=10, y=2, width=10, height=8, cursor=(5, 3), cursor_shown=True))
    assert data == (b"\x1b[?25l\x1b[7;11H\x1b[0m$ ls\x1b[0;31mx\x1b[0m     \x1b[0m\x1b[7;16H\x1b[?25h")


def test_a_pane_without_the_cursor_puts_it_back_where_it_was():
    terminal = _terminal()
    rows = {"0": [["ab", "default", "default", 0]]}
    data = terminal.render(rows, Placement(x=0, y=0, width=2, height=1, cursor=None, cursor_shown=False))
    assert data == b"\x1b[?25l\x1b7\x1b[2;1H\x1b[0mab\x1b[0m\x1b8"


@pytest.mark.parametrize("rows", [
    {"0": [["abc", "default", "default", 0]]},  # narrower than the region: a resize is under way
    {"0": [["ab\x1bc", "default", "default", 0]]},  # a control character
    {"5": [["ab", "default", "default", 0]]},  # below the region
    {"0": [["ab", "ff0000", "default", 0]]},  # truecolour on a terminal without it
])
def test_what_cannot_be_drawn_exactly_is_left_to_the_client(rows):
    assert _terminal().render(rows, Placement(0, 0, 2, 2, None, False)) is None


def test_wide_characters_count_two_cells():
    rows = {"0": [["日本", "default", "default", 0]]}
    assert _terminal().render(rows, Placement(0, 0, 4, 1, None, False)) is not None
    assert _terminal().render(rows, Placement(0, 0, 2, 1, None, False)) is None


def test_draws_into_the_terminal_the_client_named_and_nothing_while_off():
    master, slave = pty.openpty()
    try:
        terminal = DirectTerminal.open(os.getpid(), slave, os.fstat(slave).st_rdev)
        try:
            placement = Placement(0, 0, 2, 1, (2, 0), True)
            rows = {"0": [["hi", "default", "default", 0]]}
            assert terminal.draw(rows, placement) is None  # not declared on yet
            terminal.declare(3, True, 4, 5, truecolor=False)
            assert terminal.draw(rows, placement) == 3
            written = os.read(master, 4096)
            assert b"\x1b[6;5H\x1b[0mhi" in written and written.endswith(b"\x1b[6;7H\x1b[?25h")
            terminal.declare(4, False, 4, 5, truecolor=False)
            assert terminal.draw(rows, placement) is None
            assert select.select([master], [], [], 0.1)[0] == []
        finally:
            terminal.close()
    finally:
        os.close(master)
        os.close(slave)


def test_opens_only_the_terminal_the_client_named():
    master, slave = pty.openpty()
    other_master, other_slave = pty.openpty()
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(OSError):  # a different terminal's device number
            DirectTerminal.open(os.getpid(), slave, os.fstat(other_slave).st_rdev)
        with pytest.raises(OSError):  # not a terminal at all
            DirectTerminal.open(os.getpid(), write_end, os.fstat(write_end).st_rdev)
        with pytest.raises(OSError):  # no such descriptor
            DirectTerminal.open(os.getpid(), 60000, os.fstat(slave).st_rdev)
        with pytest.raises(OSError):
            DirectTerminal.open(0, slave, os.fstat(slave).st_rdev)
    finally:
        for fd in (master, slave, other_master, other_slave, read_end, write_end):
            os.close(fd)


def test_a_full_terminal_never_blocks_the_server_and_a_partial_write_ends_direct_drawing():
    master, slave = pty.openpty()
    try:
        terminal = DirectTerminal.open(os.getpid(), slave, os.fstat(slave).st_rdev)
        terminal.declare(1, True, 0, 0, truecolor=False)
        placement = Placement(0, 0, 4000, 1, None, False)
        rows = {"0": [["x" * 4000, "default", "default", 0]]}
        # nobody reads the master: the terminal fills up, and each draw returns at once
        results = [terminal.draw(rows, placement) for _ in range(100)]
        cut = results.index(REPAINT_EVERYTHING)  # the write the terminal took only part of
        assert cut > 0 and set(results[:cut]) == {1}
        assert set(results[cut + 1:]) == {None} and terminal.fd == -1  # no more direct drawing
    finally:
        os.close(master)
        os.close(slave)
