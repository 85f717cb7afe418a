"""Key names to the raw bytes terminals send, and canonical names that catch duplicate spellings."""

import pytest

from tui.config.keys import KeyNameError, describe_bytes, key_to_bytes, parse_key


@pytest.mark.parametrize(
    ("name", "canonical", "primary"),
    [
        ("c", "c", b"c"),
        ("A", "A", b"A"),
        ('"', '"', b'"'),
        ("C-c", "C-c", b"\x03"),
        ("^C", "C-c", b"\x03"),
        ("C-C", "C-c", b"\x03"),
        ("^a", "C-a", b"\x01"),
        ("C-a", "C-a", b"\x01"),
        ("C-b", "C-b", b"\x02"),
        ("C-h", "C-h", b"\x08"),
        ("C-]", "C-]", b"\x1d"),
        ("C-space", "C-@", b"\x00"),
        ("C-@", "C-@", b"\x00"),
        ("tab", "tab", b"\t"),
        ("Tab", "tab", b"\t"),
        ("C-i", "tab", b"\t"),
        ("C-m", "enter", b"\r"),
        ("return", "enter", b"\r"),
        ("C-[", "escape", b"\x1b"),
        ("esc", "escape", b"\x1b"),
        ("backspace", "backspace", b"\x7f"),
        ("C-?", "backspace", b"\x7f"),
        ("space", "space", b" "),
        (" ", "space", b" "),
        ("up", "up", b"\x1b[A"),
        ("left", "left", b"\x1b[D"),
        ("PgUp", "pageup", b"\x1b[5~"),
        ("pagedown", "pagedown", b"\x1b[6~"),
        ("home", "home", b"\x1b[H"),
        ("f1", "f1", b"\x1bOP"),
        ("f5", "f5", b"\x1b[15~"),
        ("f12", "f12", b"\x1b[24~"),
        ("M-x", "M-x", b"\x1bx"),
        ("M-C-a", "M-C-a", b"\x1b\x01"),
        ("é", "é", "é".encode()),
    ],
)
def test_key_names_parse_to_canonical_names_and_bytes(name, canonical, primary):
    key = parse_key(name)
    assert key.name == canonical
    assert key.primary == primary
    assert key_to_bytes(name) == primary


def test_cursor_keys_match_both_normal_and_application_mode():
    assert parse_key("up").sequences == (b"\x1b[A", b"\x1bOA")
    assert parse_key("down").sequences == (b"\x1b[B", b"\x1bOB")


def test_home_and_end_cover_the_common_terminal_variants():
    assert {b"\x1b[H", b"\x1bOH", b"\x1b[1~", b"\x1b[7~"} == set(parse_key("home").sequences)
    assert {b"\x1b[F", b"\x1bOF", b"\x1b[4~", b"\x1b[8~"} == set(parse_key("end").sequences)


@pytest.mark.parametrize("name", ["", "C-1", "C-", "M-", "pgupp", "ab", "M-up", "M-M-x", "M-escape", "\x85"])
def test_bad_key_names_are_refused_with_a_reason(name):
    with pytest.raises(KeyNameError) as info:
        parse_key(name)
    assert str(info.value)


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"\x03", "C-c"), (b"\t", "tab"), (b"\x1bOA", "up"), (b"x", "x"), (b"\x1bx", "M-x"), (b"\x7f", "backspace")],
)
def test_describe_bytes_names_keys_back(data, name):
    assert describe_bytes(data) == name


def test_describe_bytes_falls_back_to_repr_for_unknown_input():
    assert describe_bytes(b"\xff\xfe") == repr(b"\xff\xfe")
