"""The fast paths (ASCII draw, block path into scrollback, tokenizer) against stock pyte and each other.

Stock `pyte.Screen` + `pyte.ByteStream` is the reference for the visible screen: on mixed streams made of what
both implement identically, every cell (character and attributes) and the cursor must match. Where we follow
xterm and stock pyte does not (bce, DECRC that does not pop, the cursor outside the scroll region, pending
wrap ended by cursor moves) the stream for that comparison leaves the difference out (`pyte_alike=True`);
the whole-versus-one-byte-at-a-time comparison of our own stream takes everything. The block path
is also checked against the per-character path of our own stream (feeding one byte at a time never takes
it), including the scrollback contents.
"""

from __future__ import annotations

import random

import pyte
import pytest

from tui.term import Terminal
from tui.term.screen import TermScreen

PYTE_FIELDS = ("data", "fg", "bg", "bold", "italics", "underscore", "strikethrough", "reverse", "blink")
SGRS = ("0", "1", "3", "4", "7", "9", "22", "23", "24", "27", "31", "32;44", "33", "39", "49", "92", "101",
        "38;5;208", "48;5;17", "38;2;10;20;30", "1;35", "")
FG_ONLY_SGRS = tuple(sgr for sgr in SGRS if not any(code in sgr for code in ("44", "101", "48;")))
WORDS = ("alpha", "beta", "gamma", "drbd0", "UpToDate", "MASTER", "x" * 37, "keepalived[42]:", "0123456789")


def random_line(rng: random.Random, cols: int, sgrs: tuple[str, ...] = SGRS) -> str:
    parts = []
    for _ in range(rng.randrange(0, 8)):
        if rng.random() < 0.3:
            parts.append(f"\x1b[{rng.choice(sgrs)}m")
        parts.append(rng.choice(WORDS) + " ")
    if rng.random() < 0.1:
        parts.append("w" * rng.randrange(cols, 3 * cols))  # wraps
    return "".join(parts)


# what our emulator does as xterm does and stock pyte does not: repros of issue 14, fed whole and sliced
XTERM_ONLY = (
    "\x1b[44m\x1b[L\x1b[0m", "\x1b[41m\x1b[2M\x1b[3P\x1b[2@\x1b[S\x1b[T\x1bM\x1b[0m", "\x1b[5;5H\x1b78a\x1b8b\x1b8c",
    "\x1b[2;3H\x1b[?1049h\x1b[?1049l\x1b[4;5H\x1b[?1049lX", "\x1b[3;5r\x1b[1;1H\x1b[AX\x1b[r",
    "\x1b[2;3r\x1b[99;1HA\x1bDB\x1b[r", "\x1b[1;999HA\x1b[BB", "\x1b[?7l\x1b[1;999HAB\x1b[?7hC",
    "\x1b(0\x1b7\x1b(B\x1b8lqk\x1b(B", "\x1b[7mREV\x1b[0m\x1b[?5h\x1b[?5l", "\x1b[2;4r\x1b[?6h\x1b[9;1HX\x1b[?6l\x1b[r",
    "\x1b#8", "\x1b[8mhidden\x1b[28m", "A\x1b[38;2;300;-1;20mB", "x\r\n\u0301\r\n", "\x1b(0q0-h\x1b(B",
    "\x1b[46m\r\n\x1b[0m", "\x1b[45mwide " + "z" * 90 + "\r\n\x1b[0m",
)


def mixed_stream(rng: random.Random, cols: int, rows: int, length: int, pyte_alike: bool = False) -> str:
    """A random mix of text, colours, cursor moves, edits, scroll regions and controls. With `pyte_alike`,
    only what stock pyte does as we do: no backgrounds (bce), default style before erases, no scroll regions,
    no DECRC, no CUU/CUD, and a CR before the controls that would end a pending wrap."""
    sgrs = FG_ONLY_SGRS if pyte_alike else SGRS
    out = []
    while sum(map(len, out)) < length:
        roll = rng.random()
        if roll < 0.45:  # runs of complete lines: the block path's food
            out.append("".join(random_line(rng, cols, sgrs) + "\r\n" for _ in range(rng.randrange(1, 3 * rows))))
        elif roll < 0.55:
            out.append(f"\x1b[{rng.randrange(1, rows + 3)};{rng.randrange(1, cols + 3)}H")
        elif roll < 0.6:
            # pyte erases with the cursor's full style, xterm with its colours only
            reset = "\x1b[0m" if pyte_alike else ""
            out.append(reset + rng.choice(("\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[0m\x1b[J", "\x1b[0m\x1b[2J")))
        elif roll < 0.65:
            reset = "\x1b[0m" if pyte_alike else ""
            out.append(f"{reset}\x1b[{rng.randrange(1, 4)}{rng.choice('LMP@XCD' if pyte_alike else 'LMP@XABCD')}")
        elif roll < 0.7:
            if not pyte_alike:
                top = rng.randrange(1, rows)
                out.append(rng.choice((f"\x1b[{top};{rng.randrange(top + 1, rows + 1)}r", "\x1b[r")))
        elif roll < 0.75:
            if pyte_alike:
                out.append("\r" + rng.choice(("\x1b7", "\x1bM", "\x1bD", "\x1bE", "\t", "\x08", "\r", "\n")))
            else:
                out.append(rng.choice(("\x1b7", "\x1b8", "\x1bM", "\x1bD", "\x1bE", "\t", "\x08", "\r", "\n")))
        elif roll < 0.8:
            out.append(rng.choice(("中文", "e\u0301", "日本語テキスト")) + " ")
        elif roll < 0.83 and not pyte_alike:
            out.append(rng.choice(XTERM_ONLY))
        else:
            out.append(random_line(rng, cols, sgrs))
    return "".join(out)


def stock_pyte(cols: int, rows: int, data: bytes) -> pyte.Screen:
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(data)
    return screen


def assert_same_screen(ours: Terminal, reference: pyte.Screen) -> None:
    screen: TermScreen = ours._screen
    assert (screen.cursor.x, screen.cursor.y) == (reference.cursor.x, reference.cursor.y)
    for y in range(reference.lines):
        for x in range(reference.columns):
            mine = screen.buffer[y][x]
            theirs = reference.buffer[y][x]
            assert tuple(getattr(mine, f) for f in PYTE_FIELDS) == tuple(theirs), (x, y)


@pytest.mark.parametrize("seed", range(12))
def test_visible_screen_matches_stock_pyte(seed):
    rng = random.Random(seed)
    cols, rows = rng.choice(((80, 24), (40, 10), (200, 50), (13, 4)))
    data = mixed_stream(rng, cols, rows, 20_000, pyte_alike=True).encode()
    reference = stock_pyte(cols, rows, data)
    ours = Terminal(cols, rows, scrollback=500)
    cut = 0
    while cut < len(data):
        step = rng.choice((1, 7, 100, 4096, 65536))
        ours.feed(data[cut:cut + step])
        cut += step
    assert ours.internal_errors == 0
    assert_same_screen(ours, reference)


def test_a_flood_of_plain_lines_matches_stock_pyte_and_fills_history():
    lines = [f"{n:06d} " + "abcdefghij" * 9 for n in range(3000)]
    data = ("prompt$ cat log\r\n" + "\r\n".join(lines) + "\r\nprompt$ ").encode()
    reference = stock_pyte(100, 30, data)
    ours = Terminal(100, 30, scrollback=10_000)
    for cut in range(0, len(data), 65536):
        ours.feed(data[cut:cut + 65536])
    assert_same_screen(ours, reference)
    # 3001 complete lines written, the last 29 still on screen above the prompt row
    assert ours.scrollback_len == 3001 - 29
    assert ours.scrollback_rows(0, 2) == [[("prompt$ cat log", "default", "default", 0)],
                                          [(lines[0], "default", "default", 0)]]
    assert ours.scrollback_rows(ours.scrollback_len - 1, 5) == [[(lines[-30], "default", "default", 0)]]


@pytest.mark.parametrize("seed", range(6))
def test_block_path_equals_the_character_path_including_scrollback(seed):
    rng = random.Random(100 + seed)
    cols, rows = rng.choice(((80, 24), (30, 6), (120, 40)))
    data = mixed_stream(rng, cols, rows, 15_000).encode()
    fast = Terminal(cols, rows, scrollback=300)
    calls = []
    original = fast._screen.absorb_rows
    fast._screen.absorb_rows = lambda rows_: (calls.append(len(rows_)), original(rows_))[1]
    fast.feed(data)
    slow = Terminal(cols, rows, scrollback=300)
    for byte in data:
        slow.feed(bytes([byte]))
    assert calls, "the block path never ran on this stream"
    assert fast.internal_errors == slow.internal_errors == 0
    assert [fast.render_row(y) for y in range(rows)] == [slow.render_row(y) for y in range(rows)]
    assert fast.cursor == slow.cursor
    assert fast.scrollback_len == slow.scrollback_len > 0
    assert fast.scrollback_rows(0, 300) == slow.scrollback_rows(0, 300)


def test_narrow_class_holds_only_single_cell_characters():
    from wcwidth import wcwidth

    from tui.term.screen import NARROW_TEXT

    matched = [chr(code) for code in range(0x20, 0x10000) if NARROW_TEXT.fullmatch(chr(code))]
    assert len(matched) > 1000
    assert all(wcwidth(ch) == 1 for ch in matched)
    for outsider in ("中", "\u0301", "\u200d", "\x1b", "\x7f", "\U0001f600", "\u00a0"):
        assert not NARROW_TEXT.fullmatch(outsider)


def test_non_ascii_log_lines_take_the_block_path_and_match_stock_pyte():
    lines = [f"● node-{n % 3} — état: démarré ─ Статус ✓ {n}" for n in range(400)]
    data = ("\r\n".join(lines) + "\r\n$ ").encode()
    reference = stock_pyte(60, 12, data)
    ours = Terminal(60, 12, scrollback=1000)
    calls = []
    original = ours._screen.absorb_rows
    ours._screen.absorb_rows = lambda rows_: (calls.append(len(rows_)), original(rows_))[1]
    ours.feed(data)
    assert calls
    assert_same_screen(ours, reference)
    assert ours.scrollback_rows(0, 1) == [[(lines[0], "default", "default", 0)]]


def test_a_block_longer_than_the_screen_matches_the_character_path_before_rep_and_after_a_stop():
    # lines that scroll straight into history are kept as their source; what comes after must not notice:
    # REP after trailing empty lines repeats the last character drawn (on a row now in history), and a
    # coloured background that stops the block early leaves rows on screen that must be drawn in full
    coloured = "".join(f"\x1b[1;3{n % 8}m{n:03d}\x1b[0m text \x1b[38;5;{n}mmore\x1b[0m\r\n" for n in range(40))
    cases = (coloured + "\x1b[32mlast Z\x1b[0m\r\n" + "\r\n" * 12 + "\x1b[3b\r\n",
             coloured + "\x1b[44mblue\r\n" + coloured[:200] + "\x1b[0m\r\nend\r\n")
    for text in cases:
        data = text.encode()
        fast = Terminal(30, 10, scrollback=100)
        fast.feed(data)
        slow = Terminal(30, 10, scrollback=100)
        for byte in data:
            slow.feed(bytes([byte]))
        assert [fast.render_row(y) for y in range(10)] == [slow.render_row(y) for y in range(10)]
        assert fast.cursor == slow.cursor
        assert fast.scrollback_rows(0, 100) == slow.scrollback_rows(0, 100)
