"""Bounded, seeded fuzzing of tui.term: random bytes and mutated escape streams never raise, never trip an
internal error (Terminal.feed counts what it had to swallow), and keep the screen's invariants."""

from __future__ import annotations

import random

import pytest

from tui.term import Terminal
from tui.term.screen import cell_width

FRAGMENTS = [
    b"\x1b[", b"\x1b]", b"\x1b]0;title\x07", b"\x1b]2;x\x1b\\", b"\x1bP", b"\x1b\\", b"\x1b[?1049h", b"\x1b[?1049l",
    b"\x1b[?47h", b"\x1b[?1047l", b"\x1b[2;5r", b"\x1b[r", b"\x1b[L", b"\x1b[5M", b"\x1b[3@", b"\x1b[9P",
    b"\x1b[38;2;1;2;3m", b"\x1b[48;5;300m", b"\x1b[38:2::1:2:3m", b"\x1b[0m", b"\x1b[1;4;7m", b"\x1b[99999999999999A",
    b"\x1b[;;;;;H", b"\x1b[?25l", b"\x1b[?1000h", b"\x1b[?1006h", b"\x1b[?2004h", b"\x1b[6n", b"\x1b[c", b"\x1b[>c",
    b"\x1b7", b"\x1b8", b"\x1bM", b"\x1bD", b"\x1bE", b"\x1bc", b"\x1b(0", b"\x1b(B", b"\x0e", b"\x0f", b"\x1b#8",
    b"\x1b[?3h", b"\x1b[?5h", b"\x1b[?5l", b"\x1b[4h", b"\x1b[4l", b"\x1b[20h", b"\x1b[?6h", b"\x1b[?6l",
    b"\x1b[?7l", b"\x1b[?7h", b"\x1b[3S", b"\x1b[2T", b"\x1b[5b", b"\x1b[2Z", b"\x1b[3I", b"\x1b[s", b"\x1b[u",
    b"\x1b[!p", b"\x1b[2 q", b"\x1b[?1$p", b"\x1b[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18h", b"\x1b[3g",
    "中文".encode(), "e\u0301".encode(), "é─● état\r\n".encode(), "\U0001f600".encode(), "\u200d\ufe0f".encode(), b"\xe4\xb8", b"\xad",
    b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\r\n", b"\n", b"\r", b"\t", b"\x08", b"\x07", b"\x00", b"\x7f",
    b"\xc2\x9b1m", b"\xc2\x9d0;x\x07", b"plain text ", b"0123456789" * 9 + b"\r\n",
    b"\x1b]10;?\x07", b"\x1b]11;?;?\x1b\\", b"\x1bP$q q\x1b\\", b"\x1bP$qr\x1b\\", b"\x1b[18t", b"\x1b[14t",
    b"\x1b[8m", b"\x1b[28m", b"\x1b[44m", b"\x1b[49m", b"\x1b[?1048h", b"\x1b[?1048l", b"\x1b[5$p",
    b"\x1b[38;2;300;-1;20m", b"\xcc\x81",
]


def mutate(rng: random.Random, data: bytearray) -> bytearray:
    for _ in range(rng.randrange(1, 12)):
        if not data:
            break
        op = rng.random()
        at = rng.randrange(len(data))
        if op < 0.4:
            data[at] = rng.randrange(256)
        elif op < 0.7:
            del data[at:at + rng.randrange(1, 8)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
    return data


def check_invariants(term: Terminal) -> None:
    assert term.internal_errors == 0
    x, y = term.cursor
    assert 0 <= x < term.cols and 0 <= y < term.rows
    for row in range(term.rows):
        runs = term.render_row(row)
        assert sum(cell_width(text) for text, *_ in runs) == term.cols, row
        for text, fg, bg, attrs in runs:
            assert isinstance(text, str) and isinstance(fg, str) and isinstance(bg, str)
            assert 0 <= attrs < 128
    assert all(0 <= r < term.rows for r in term.take_dirty())
    assert term.scrollback_len <= 200
    for line in term.scrollback_rows(max(0, term.scrollback_len - 3), 3):
        assert all(isinstance(run[0], str) for run in line)
    assert len(term.take_replies()) <= 64 * 1024


@pytest.mark.parametrize("seed", range(3))
def test_fuzz_random_and_mutated_streams(seed):
    rng = random.Random(seed)
    term = Terminal(rng.randrange(1, 60), rng.randrange(1, 20), scrollback=200)
    for _ in range(100):  # 3 seeds x 100 iterations = 300 streams of a few KB
        kind = rng.random()
        if kind < 0.3:
            data = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        else:
            data = bytearray(b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(5, 200))))
            if kind < 0.8:
                data = mutate(rng, data)
        cut = 0
        while cut < len(data):
            step = rng.randrange(1, 600)
            term.feed(bytes(data[cut:cut + step]))
            cut += step
        if rng.random() < 0.1:
            term.resize(rng.randrange(1, 80), rng.randrange(1, 30))
        check_invariants(term)
        term.encode_mouse(rng.choice(("press", "release", "drag", "move", "scroll_up", "bogus")),
                          rng.randrange(-1, 4), rng.randrange(-5, 300), rng.randrange(-5, 300))
        term.encode_paste("x\x1b[201~y")


def test_a_stream_of_only_escapes_stays_bounded():
    term = Terminal(20, 5)
    term.feed(b"\x1b[" + b"1;" * 100_000)  # an endless parameter list
    term.feed(b"\x1b]0;" + b"t" * 200_000)  # an endless title
    term.feed(b"\x07visible")
    assert term.internal_errors == 0
    assert term.display()[0].startswith("visible") or "visible" in "".join(term.display())
    assert term.title is None
