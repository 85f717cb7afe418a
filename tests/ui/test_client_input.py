"""The client's pure input pieces: key encoding/decoding, the raw-input splitter and the prefix machine."""

from __future__ import annotations

import pytest

from tui.client.keys import decode_keys, describe_key, encode_key, split_key_sequences
from tui.client.prefix import PrefixMachine, binding_table, prefix_byte_of
from tui.client.raw_input import Piece, RawInputSplitter
from tui.commands import COMMANDS
from tui.config import load_keymap


@pytest.mark.parametrize(("key", "app_cursor", "expected"), [
    ("a", False, b"a"),
    ("A", False, b"A"),
    ("ctrl+a", False, b"\x01"),
    ("ctrl+c", False, b"\x03"),
    ("ctrl+backslash", False, b"\x1c"),
    ("enter", False, b"\r"),
    ("tab", False, b"\t"),
    ("shift+tab", False, b"\x1b[Z"),
    ("escape", False, b"\x1b"),
    ("backspace", False, b"\x7f"),
    ("space", False, b" "),
    ("up", False, b"\x1b[A"),
    ("up", True, b"\x1bOA"),
    ("left", True, b"\x1bOD"),
    ("ctrl+right", False, b"\x1b[1;5C"),
    ("pageup", False, b"\x1b[5~"),
    ("delete", False, b"\x1b[3~"),
    ("f1", False, b"\x1bOP"),
    ("f5", False, b"\x1b[15~"),
    ("shift+f3", False, b"\x1b[1;2R"),
    ("alt+x", False, b"\x1bx"),
    ("alt+b", False, b"\x1bb"),
    ("quotation_mark", False, b'"'),
    ("vertical_line", False, b"|"),
    ("left_square_bracket", False, b"["),
])
def test_encode_key(key: str, app_cursor: bool, expected: bytes) -> None:
    assert encode_key(key, None, app_cursor) == expected


def test_encode_key_uses_the_character_for_unnamed_keys() -> None:
    assert encode_key("é", "é") == "é".encode()
    assert encode_key("unknown_thing", None) == b""


def test_split_and_decode_keys() -> None:
    data = b"a\x01\x1b[A\x1bOB\x1b[5~\x1bx\r\xc3\xa9 "
    assert split_key_sequences(data) == [b"a", b"\x01", b"\x1b[A", b"\x1bOB", b"\x1b[5~", b"\x1bx", b"\r",
                                         "é".encode(), b" "]
    names = [name for name, _char in decode_keys(data)]
    assert names == ["a", "ctrl+a", "up", "down", "pageup", "alt+x", "enter", "é", "space"]
    assert decode_keys(b"\x1b[1;5C") == [("ctrl+right", None)]
    assert describe_key(b"\x1a") == "C-z"


def test_decode_never_raises_on_garbage() -> None:
    garbage = bytes(range(256)) * 3 + b"\x1b[" + b"\x1b[99999999999x\x9b\xff"
    decode_keys(garbage)  # must not raise
    assert b"".join(split_key_sequences(garbage)) == garbage  # nothing is lost or invented


def test_splitter_passes_keys_unchanged_and_lone_escape_at_once() -> None:
    splitter = RawInputSplitter()
    assert splitter.feed(b"\x1b") == [Piece("keys", b"\x1b")]
    assert splitter.feed(b"\x1b:wq\r") == [Piece("keys", b"\x1b:wq\r")]
    assert splitter.feed(b"\x9b\xff\x00") == [Piece("keys", b"\x9b\xff\x00")]  # invalid UTF-8 is just bytes


def test_splitter_separates_mouse_focus_and_paste() -> None:
    splitter = RawInputSplitter()
    pieces = splitter.feed(b"ab\x1b[<64;10;5Mcd\x1b[I\x1b[200~x\x1b[Ay\x1b[201~z")
    assert pieces == [Piece("keys", b"ab"), Piece("terminal", b"\x1b[<64;10;5M"), Piece("keys", b"cd"),
                      Piece("terminal", b"\x1b[I"), Piece("paste", b"x\x1b[Ay"), Piece("keys", b"z")]


def test_splitter_holds_sequences_cut_by_a_read() -> None:
    splitter = RawInputSplitter()
    assert splitter.feed(b"k\x1b[<0;3") == [Piece("keys", b"k")]
    assert splitter.feed(b";4M") == [Piece("terminal", b"\x1b[<0;3;4M")]
    assert splitter.feed(b"\x1b[200~hello \x1b[20") == []
    assert splitter.feed(b"1~") == [Piece("paste", b"hello ")]
    assert splitter.feed(b"\x1b[2") == []
    assert splitter.flush() == [Piece("keys", b"\x1b[2")]  # it was a key after all


@pytest.fixture(scope="module")
def screen_keymap():
    return load_keymap("screen", known_commands=COMMANDS)


def test_prefix_machine_forwards_everything_but_the_prefix(screen_keymap) -> None:
    machine = PrefixMachine(prefix_byte_of(screen_keymap), binding_table(screen_keymap))
    result = machine.feed(b"ls -l\r\x03\x1a\x13\x11\x1c")
    assert result.forward == b"ls -l\r\x03\x1a\x13\x11\x1c" and result.binding is None and not result.waiting


def test_prefix_machine_runs_bindings_and_returns_the_rest(screen_keymap) -> None:
    machine = PrefixMachine(prefix_byte_of(screen_keymap), binding_table(screen_keymap))
    result = machine.feed(b"echo\x01")
    assert result.forward == b"echo" and result.waiting
    result = machine.feed(b'"\x1b[B\r')
    assert result.binding.command_line == "window-list" and result.rest == b"\x1b[B\r" and not result.waiting
    result = machine.feed(b"\x01\x03")  # C-a C-c = C-a c
    assert result.binding.command_line == "new-window"
    result = machine.feed(b"\x01\x01")
    assert result.binding.command_line == "last-window"
    result = machine.feed(b"\x01\t")
    assert result.binding.command_line == "focus-next"
    result = machine.feed(b"\x01z")
    assert result.binding is None and result.unbound == b"z"


def test_prefix_machine_follows_the_tmux_keymap() -> None:
    keymap = load_keymap("tmux", known_commands=COMMANDS)
    machine = PrefixMachine(prefix_byte_of(keymap), binding_table(keymap))
    assert machine.feed(b"\x01").forward == b"\x01"  # C-a is an ordinary key under tmux's C-b
    assert machine.feed(b"\x02c").binding.command == "new-window"


def test_cursor_keys_follow_the_panes_application_cursor_mode() -> None:
    from tui.client.keys import to_application_cursor

    assert to_application_cursor(b"k\x1b[A\x1b[1;5C\x1b[H\x1b[5~x") == b"k\x1bOA\x1b[1;5C\x1bOH\x1b[5~x"
    assert to_application_cursor(b"plain text") == b"plain text"


def test_a_long_paste_comes_out_in_parts_cut_between_characters() -> None:
    from tui.protocol.messages import PASTE_PART_BYTES

    text = ("日本語😀é-" * 200_000).encode()  # about 3 MB of 1- to 4-byte characters
    splitter = RawInputSplitter()
    pieces = []
    stream = b"\x1b[200~" + text + b"\x1b[201~after"
    for start in range(0, len(stream), 65536):  # as a terminal's reads deliver it
        pieces += splitter.feed(stream[start : start + 65536])
    pastes = [p for p in pieces if p.kind == "paste"]
    assert len(pastes) >= 3 and all(p.more for p in pastes[:-1]) and not pastes[-1].more
    assert all(len(p.data) <= PASTE_PART_BYTES for p in pastes)
    assert all(p.data.decode("utf-8") for p in pastes)  # each part decodes on its own: no cut character
    assert b"".join(p.data for p in pastes) == text
    assert pieces[-1] == Piece("keys", b"after")
