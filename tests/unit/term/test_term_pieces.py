"""Output that arrives in pty-sized pieces (a pty hands over about 4 KiB per read, cut anywhere, mostly inside
a line): the block path keeps the rows it put on screen as segments across pieces, and whatever comes next
(an edit of those rows, a resize, the alternate screen, a wide character, a reverse screen) must see exactly
what the character-by-character path gives, scrollback included.
"""

from __future__ import annotations

import random

import pytest

from tui.term import Terminal

COLOURS = ("\x1b[1;32m", "\x1b[33m", "\x1b[38;5;208m", "\x1b[38;2;10;200;90m", "\x1b[4;35m", "\x1b[7m")


def log_lines(rng: random.Random, count: int, cols: int) -> str:
    lines = []
    for n in range(count):
        colour = rng.choice(COLOURS)
        body = " ".join(rng.choice(("drbd0", "UpToDate", "MASTER", "état", "─", "x" * 30)) for _ in range(6))
        if rng.random() < 0.05:
            body += "w" * rng.randrange(cols, 2 * cols)  # wraps
        lines.append(f"{n:05d} {colour}[{n % 7}]\x1b[0m {body}\r\n" if n % 3 else f"{n:05d} plain {body}\r\n")
    return "".join(lines)


def by_pieces(data: bytes, size: int, cols: int, rows: int) -> Terminal:
    term = Terminal(cols, rows, scrollback=400)
    for cut in range(0, len(data), size):
        term.feed(data[cut:cut + size])
    return term


def by_bytes(data: bytes, cols: int, rows: int) -> Terminal:
    term = Terminal(cols, rows, scrollback=400)
    for byte in data:
        term.feed(bytes([byte]))
    return term


def assert_same(ours: Terminal, reference: Terminal) -> None:
    assert ours.internal_errors == reference.internal_errors == 0
    assert [ours.render_row(y) for y in range(ours.rows)] == [reference.render_row(y) for y in range(reference.rows)]
    assert ours.cursor == reference.cursor
    assert ours.scrollback_len == reference.scrollback_len
    assert ours.scrollback_rows(0, 400) == reference.scrollback_rows(0, 400)


AFTERWARDS = {
    "nothing": "",
    "a prompt without a newline": "host$ ",
    "an edit of a row the block put there": "\x1b[3;5Hedited\x1b[5;1H\x1b[2K\x1b[41mred\x1b[0m\x1b[8;3H\x1b[K",
    "scroll region and reverse index": "\x1b[2;6r\x1b[2;1H\x1bM\x1b[r\x1b[20;1H\r\nafter\r\n",
    "a wide character on the bottom row, then lines": "中文 wide\r\nnext line\r\nand more\r\n",
    "the alternate screen and back": "\x1b[?1049hfull screen\x1b[?1049l\r\nback\r\n",
    "clear screen": "\x1b[H\x1b[2Jcleared\r\n",
    "reverse screen mode": "\x1b[?5hreversed\r\n\x1b[?5l",
    "a coloured background scrolling in": "\x1b[44mblue\r\nstill blue\x1b[0m\r\n",
    "insert and delete lines": "\x1b[4;1H\x1b[2L\x1b[7;1H\x1b[1M\x1b[24;1H",
}


@pytest.mark.parametrize("afterwards", AFTERWARDS.values(), ids=AFTERWARDS.keys())
@pytest.mark.parametrize("size", (4095, 1000, 333))
def test_pieces_cut_inside_lines_give_the_character_path_screen(afterwards, size):
    rng = random.Random(size)
    cols, rows = 60, 24
    data = (log_lines(rng, 300, cols) + "partial line, then the rest " + log_lines(rng, 50, cols)
            + afterwards).encode()
    assert_same(by_pieces(data, size, cols, rows), by_bytes(data, cols, rows))


def test_a_resize_after_pieces_keeps_the_same_screen():
    rng = random.Random(7)
    data = (log_lines(rng, 200, 50) + "prompt$ ").encode()
    ours = by_pieces(data, 4095, 50, 20)
    reference = by_bytes(data, 50, 20)
    for term in (ours, reference):
        term.resize(40, 12)
        term.feed(b"\r\nafter the resize\r\n")
    assert_same(ours, reference)


@pytest.mark.parametrize("seed", range(4))
def test_random_piece_sizes_on_a_long_log(seed):
    rng = random.Random(seed)
    cols, rows = rng.choice(((80, 24), (200, 50), (37, 9)))
    data = log_lines(rng, 600, cols).encode()
    ours = Terminal(cols, rows, scrollback=400)
    cut = 0
    while cut < len(data):
        step = rng.randrange(1, 9000)
        ours.feed(data[cut:cut + step])
        cut += step
    assert_same(ours, by_bytes(data, cols, rows))
