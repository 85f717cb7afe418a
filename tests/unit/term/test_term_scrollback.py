"""Scrollback of tui.term: what goes in (and what does not), its compact format, limits and style table."""

from __future__ import annotations

from tui.protocol.messages import ATTR_BOLD, ATTR_DIM
from tui.term import Terminal
from tui.term.scrollback import STYLE_TABLE_SOFT_LIMIT, Scrollback, SourceLine


def flood(term: Terminal, lines: list[str], chunk: int = 65536) -> None:
    data = "".join(line + "\r\n" for line in lines).encode()
    for cut in range(0, len(data), chunk):
        term.feed(data[cut:cut + chunk])
    assert term.internal_errors == 0


def test_flood_keeps_the_last_lines_up_to_the_limit():
    term = Terminal(80, 10, scrollback=1000)
    lines = [f"line {n:05d} " + "x" * 60 for n in range(5000)]
    flood(term, lines)
    assert term.scrollback_len == 1000
    # the screen shows the last 9 lines above the empty cursor row; history ends right before them
    assert term.display()[0].rstrip() == lines[-9]
    assert [run[0] for run in term.scrollback_rows(999, 1)[0]] == [lines[-10]]
    assert [run[0] for run in term.scrollback_rows(0, 1)[0]] == [lines[5000 - 9 - 1000]]


def test_coloured_flood_keeps_styles_in_history():
    term = Terminal(40, 5, scrollback=100)
    flood(term, [f"\x1b[1;31mERR\x1b[0m {n} \x1b[38;2;1;2;3mrgb\x1b[0m" for n in range(50)])
    first = term.scrollback_rows(0, 1)[0]
    assert first == [("ERR", "red", "default", ATTR_BOLD), (" 0 ", "default", "default", 0),
                     ("rgb", "010203", "default", 0)]


def test_wrapped_lines_become_several_history_rows():
    term = Terminal(10, 3, scrollback=100)
    flood(term, ["a" * 25] + ["z"] * 5)
    texts = ["".join(run[0] for run in row) for row in term.scrollback_rows(0, 3)]
    assert texts == ["a" * 10, "a" * 10, "a" * 5]


def test_trailing_default_blanks_are_trimmed_but_styled_blanks_kept():
    term = Terminal(20, 2, scrollback=10)
    flood(term, ["plain   ", "\x1b[44mbg   \x1b[0m   ", "next"])
    assert term.scrollback_rows(0, 2) == [[("plain", "default", "default", 0)],
                                          [("bg   ", "default", "blue", 0)]]


def test_alternate_screen_and_partial_scroll_regions_do_not_feed_history():
    term = Terminal(20, 4, scrollback=10)
    term.feed(b"\x1b[?1049h" + b"alt\r\n" * 20 + b"\x1b[?1049l")
    term.feed(b"\x1b[1;3r\x1b[3;1H" + b"region\r\n" * 20 + b"\x1b[r")
    assert term.scrollback_len == 0
    term.feed(b"\x1b[4;1H" + b"main\r\n" * 5)
    assert term.scrollback_len == 5


def test_scrollback_of_zero_keeps_nothing():
    term = Terminal(20, 3, scrollback=0)
    flood(term, ["x"] * 50)
    assert term.scrollback_len == 0
    assert term.scrollback_rows(0, 10) == []


def test_scrollback_rows_clips_its_range():
    term = Terminal(20, 3, scrollback=10)
    flood(term, [str(n) for n in range(6)])
    assert len(term.scrollback_rows(-5, 100)) == term.scrollback_len == 4
    assert term.scrollback_rows(50, 3) == []


def test_storage_is_compact_text_plus_shared_style_ids():
    history = Scrollback(limit=10)
    history.append_plain("just text   ")
    history.append_styled([("a", ("red", "default", 0)), ("b", ("red", "default", 0)), ("c", ("blue", "default", 1))])
    assert history.lines[0] == "just text"
    text, packed = history.lines[1]
    assert text == "abc" and isinstance(packed, bytes)
    assert len(history.table) == 3  # default, red, blue-bold
    assert history.runs(1) == [("ab", "red", "default", 0), ("c", "blue", "default", 1)]


def test_style_table_is_compacted_when_old_styles_fall_out():
    history = Scrollback(limit=5)
    for n in range(STYLE_TABLE_SOFT_LIMIT + 10):
        history.append_styled([(f"{n}", (f"{n % 0xFFFFFF:06x}", "default", 0))])
    assert len(history) == 5
    assert len(history.table) <= STYLE_TABLE_SOFT_LIMIT
    last = STYLE_TABLE_SOFT_LIMIT + 9
    assert history.runs(4) == [(f"{last}", f"{last % 0xFFFFFF:06x}", "default", 0)]


def test_clear_moves_the_screen_into_history_and_erase_saved_lines_keeps_it():
    term = Terminal(20, 5, scrollback=100)
    term.feed(b"one\r\ntwo\r\n$ clear\r\n\x1b[H\x1b[2J\x1b[3J$ ")
    assert [line[0][0] for line in term.scrollback_rows(0, 10)] == ["one", "two", "$ clear"]
    assert term.display()[0].rstrip() == "$"
    term.feed(b"\x1b[?1049h\x1b[2J\x1b[?1049l")  # clearing the alternate screen is not history
    assert term.scrollback_len == 3


def test_lines_kept_as_their_source_read_back_as_the_character_path_gives_them():
    lines = [f"\x1b[2m{n:04d}\x1b[0m \x1b[1;31mERR\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m \x1b[8msecret\x1b[28m shown  "
             f"\x1b[1mbold   \x1b[0m   " for n in range(60)] + ["\x1b[4;35mtail\x1b[24m   plain   "] * 10
    data = "".join(line + "\r\n" for line in lines).encode()
    block = Terminal(60, 8, scrollback=100)
    for cut in range(0, len(data), 4095):  # pty-sized pieces: the block path
        block.feed(data[cut:cut + 4095])
    reference = Terminal(60, 8, scrollback=100)
    for byte in data:  # one byte at a time: every character through the cells
        reference.feed(bytes([byte]))
    assert any(isinstance(line, SourceLine) for line in block._screen.history.lines)
    assert block.scrollback_len == reference.scrollback_len == 63
    assert block.scrollback_rows(0, 100) == reference.scrollback_rows(0, 100)
    assert block.scrollback_rows(0, 1)[0] == [
        ("0000", "default", "default", ATTR_DIM), (" ", "default", "default", 0), ("ERR", "red", "default", ATTR_BOLD),
        (" ", "default", "default", 0), ("rgb", "010203", "default", 0), ("        shown  ", "default", "default", 0),
        ("bold   ", "default", "default", ATTR_BOLD)]


def test_source_lines_survive_a_compaction_of_the_style_table():
    term = Terminal(40, 3, scrollback=5)
    history = term._screen.history
    for n in range(STYLE_TABLE_SOFT_LIMIT - 2):
        history.append_styled([("x", (f"{n:06x}", "default", 0))])
    term.feed(b"\x1b[3;1H")
    term.feed(b"\x1b[1;32mkept\x1b[0m as source\r\n" * 3)  # the first goes to history
    assert isinstance(history.lines[-1], SourceLine)
    for n in range(3):  # the table crosses its limit and is compacted
        history.append_styled([("y", (f"{n:06x}", "blue", 0))])
    assert len(history.table) < 10
    assert history.runs(1) == [("kept", "green", "default", ATTR_BOLD), (" as source", "default", "default", 0)]
    assert history.runs(4) == [("y", "000002", "blue", 0)]


def test_concealed_text_in_the_first_block_that_uses_sgr_8_stays_hidden():
    data = b"\x1b[24;1H" + b"".join(b"\x1b[1mline %d\x1b[0m \x1b[8msecret\x1b[28m shown\r\n" % n for n in range(30))
    block = Terminal(40, 24, scrollback=100)
    block.feed(data[:8])  # the cursor waits on the bottom row: the lines all come as one block
    block.feed(data[8:])
    reference = Terminal(40, 24, scrollback=100)
    for byte in data:
        reference.feed(bytes([byte]))
    assert [block.render_row(y) for y in range(24)] == [reference.render_row(y) for y in range(24)]
    assert block.scrollback_rows(0, 100) == reference.scrollback_rows(0, 100)
    shown = [run[0] for y in range(24) for run in block.render_row(y)]
    assert "secret" not in "".join(shown) and "shown" in "".join(shown)


def test_a_table_still_full_after_compaction_is_not_compacted_again_at_every_line():
    history = Scrollback(limit=20)
    compactions = []
    compact = history._compact_styles
    history._compact_styles = lambda: (compactions.append(len(history.table)), compact())[1]
    for n in range(60):  # 20 kept lines of 5000 truecolour runs each: 100,000 styles in use
        history.append_styled([(f"{k}", (f"{n * 5000 + k:06x}", "default", 0)) for k in range(5000)])
    assert 1 <= len(compactions) <= 3
    assert history.runs(19)[:2] == [("0", f"{59 * 5000:06x}", "default", 0), ("1", f"{59 * 5000 + 1:06x}", "default", 0)]
