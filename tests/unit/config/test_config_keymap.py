"""Keymap loading: the shipped screen and tmux keymaps, user overrides, and malformed keymaps that must
fail at load naming file, line and key."""

from pathlib import Path

import pytest

from tui.commands import COMMANDS, parse_command_line
from tui.config import ConfigErrors, Keymap, load_keymap
from tui.config.paths import REPO_KEYMAPS_DIR

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "keymaps"


def load_fixture(name: str, user: str | None = None, known=COMMANDS) -> Keymap:
    user_file = FIXTURES / user if user else None
    return load_keymap(FIXTURES / name, user_file, known_commands=known)


def errors_of(name: str, user: str | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_fixture(name, user)
    return [str(error) for error in info.value.errors]


# --- the shipped keymaps ------------------------------------------------------------------------------

def test_screen_keymap_is_the_default_and_uses_c_a():
    keymap = load_keymap(known_commands=COMMANDS)
    assert keymap.name == "screen"
    assert keymap.prefix == "C-a"
    assert keymap.prefix_byte == b"\x01"
    assert keymap.files == (str(REPO_KEYMAPS_DIR / "screen.yaml"),)


SCREEN_KEYS = {
    "c": "new-window", "C-c": "new-window", "A": "rename-prompt",
    "n": "next-window", "C-n": "next-window", "space": "next-window",
    "p": "prev-window", "C-p": "prev-window", "backspace": "prev-window", "C-h": "prev-window",
    '"': "window-list", "'": "select-prompt", "C-a": "last-window",
    "k": "kill-confirm", "S": "split -h", "|": "split -v", "tab": "focus-next",
    "X": "remove-region", "Q": "only-region", "d": "detach", "C-d": "detach",
    "x": "lock", "C-x": "lock", "[": "copy-mode", "]": "paste", "?": "help",
    ":": "command-prompt", "a": "send-prefix", "l": "redraw",
}


@pytest.mark.parametrize(("key", "command"), sorted(SCREEN_KEYS.items()))
def test_screen_keymap_has_gnu_screens_bindings(key, command):
    keymap = load_keymap("screen", known_commands=COMMANDS)
    assert keymap.bindings[key].command_line == command


@pytest.mark.parametrize("digit", "0123456789")
def test_screen_digits_select_windows(digit):
    keymap = load_keymap("screen", known_commands=COMMANDS)
    binding = keymap.lookup(digit.encode())
    assert binding is not None and binding.command_line == f"select-window {digit}"


TMUX_KEYS = {
    "c": "new-window", "n": "next-window", "p": "prev-window", "l": "last-window", "w": "window-list",
    ",": "rename-prompt", "&": "kill-confirm", "%": "split -v", '"': "split -h", "o": "focus-next",
    "x": "remove-region", "d": "detach", "C-b": "send-prefix", "[": "copy-mode", "]": "paste",
    "?": "help", ":": "command-prompt", "'": "select-prompt", "r": "redraw",
}


@pytest.mark.parametrize(("key", "command"), sorted(TMUX_KEYS.items()))
def test_tmux_keymap_has_tmuxs_defaults(key, command):
    keymap = load_keymap("tmux", known_commands=COMMANDS)
    assert keymap.prefix == "C-b" and keymap.prefix_byte == b"\x02"
    assert keymap.bindings[key].command_line == command


@pytest.mark.parametrize("name", ["screen", "tmux"])
def test_every_shipped_binding_is_a_valid_command_line_with_a_note(name):
    keymap = load_keymap(name, known_commands=COMMANDS)
    assert len(keymap.bindings) > 30
    for binding in keymap.bindings.values():
        parse_command_line(binding.command_line)  # raises on a bad one
        assert binding.note
        assert binding.line > 0 and binding.file.endswith(f"{name}.yaml")


@pytest.mark.parametrize("name", ["screen", "tmux"])
def test_shipped_keymaps_bind_hascreens_own_commands(name):
    keymap = load_keymap(name, known_commands=COMMANDS)
    commands = {binding.command for binding in keymap.bindings.values()}
    assert {"ssh-prompt", "toggle-health", "procedures", "lock", "detach", "help"} <= commands


def test_keymaps_are_found_through_hascreen_keymaps(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text("prefix: C-t\nbindings:\n  c: {command: new-window, note: new}\n")
    monkeypatch.setenv("HASCREEN_KEYMAPS", str(tmp_path))
    keymap = load_keymap("mine", known_commands=COMMANDS)
    assert keymap.prefix_byte == b"\x14"
    assert keymap.files == (str(tmp_path / "mine.yaml"),)


def test_an_unknown_keymap_name_says_what_exists():
    with pytest.raises(ConfigErrors) as info:
        load_keymap("emacs", known_commands=COMMANDS)
    message = str(info.value)
    assert message.startswith("emacs: no such keymap")
    assert "screen" in message and "tmux" in message


def test_a_missing_keymap_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigErrors) as info:
        load_keymap(missing, known_commands=COMMANDS)
    assert str(info.value).startswith(f"{missing}: cannot read the file")


# --- matching raw bytes after the prefix ------------------------------------------------------------

def test_match_waits_on_a_lone_escape_then_resolves_arrows_and_characters():
    keymap = load_fixture("base.yaml")
    assert keymap.match(b"\x1b").incomplete
    assert keymap.match(b"\x1b[").incomplete
    up = keymap.match(b"\x1b[Axyz")
    assert up.binding is not None and up.binding.command_line == "focus-prev" and up.consumed == 3
    assert keymap.match(b"\x1bOA").binding.key == "up"
    assert keymap.match(b"\x1bn").binding.command_line == "next-window"
    assert keymap.match(b"cd").binding.command_line == "new-window"
    assert keymap.match(b"c").consumed == 1
    assert keymap.match("é".encode()).binding.command_line == "redraw"
    lone = keymap.match(b"\x1b", final=True)
    assert lone.binding is None and lone.consumed == 1


def test_match_consumes_an_unbound_key_whole():
    keymap = load_fixture("base.yaml")
    assert keymap.match(b"\x1b[B").binding is None  # down is not bound in base.yaml
    assert keymap.match(b"\x1b[B").consumed == 3
    assert keymap.match("ü!".encode()).consumed == 2
    assert keymap.match(b"z").binding is None


def test_help_rows_list_every_binding_with_its_note():
    keymap = load_keymap("screen", known_commands=COMMANDS)
    rows = keymap.help_rows()
    assert len(rows) == len(keymap.bindings)
    assert ("c", "new-window", "create a new window with a shell") in rows


# --- user overrides ------------------------------------------------------------------------------------

def test_user_file_overrides_adds_and_unbinds():
    keymap = load_fixture("base.yaml", "user-override.yaml")
    assert keymap.prefix == "C-b" and keymap.prefix_byte == b"\x02"
    assert keymap.scroll == "natural"
    assert keymap.bindings["c"].command_line == "new-window -n ops"
    assert keymap.bindings["c"].file == str(FIXTURES / "user-override.yaml")
    assert keymap.bindings["c"].line == 5
    assert "d" not in keymap.bindings and "k" not in keymap.bindings
    assert keymap.bindings["g"].command_line == "ssh node-a"
    assert keymap.bindings["C-a"].file == str(FIXTURES / "base.yaml")


def test_errors_in_base_and_user_file_are_reported_together():
    errors = errors_of("unknown-command.yaml", "user-bad.yaml")
    assert errors == [
        f"{FIXTURES / 'unknown-command.yaml'}:4: bindings.n.command: unknown command 'next-windw'"
        ' (did you mean "next-window"?)',
        f"{FIXTURES / 'user-bad.yaml'}:2: bindings.g.command: unknown command 'shh' (did you mean \"ssh\"?)",
    ]


def test_known_commands_may_be_a_plain_set_of_names():
    keymap = load_fixture("base.yaml", known={"new-window", "detach", "kill-confirm", "last-window",
                                              "focus-prev", "next-window", "redraw"})
    assert keymap.bindings["d"].command_line == "detach"
    with pytest.raises(ConfigErrors) as info:
        load_fixture("base.yaml", known={"new-window"})
    assert len(info.value.errors) == 6


def test_known_commands_may_give_arg_limits_as_tuples():
    known = {"new-window": (0, 0), "detach": (0, 0), "kill-confirm": (0, 0), "last-window": (0, 0),
             "focus-prev": (0, 0), "next-window": (0, 0), "redraw": (1, 1)}
    with pytest.raises(ConfigErrors) as info:
        load_fixture("base.yaml", known=known)
    assert [str(e) for e in info.value.errors] == [
        f"{FIXTURES / 'base.yaml'}:9: bindings.é.command: redraw takes 1 argument(s), got 0",
    ]


# --- malformed keymaps: each names file, line and key ----------------------------------------------

MALFORMED = [
    ("unknown-command.yaml", 4, "bindings.n.command", "unknown command 'next-windw' (did you mean \"next-window\"?)"),
    ("bad-key-name.yaml", 4, "bindings.C-1", "'C-1': Ctrl combines with a letter"),
    ("bad-key-name.yaml", 5, "bindings.pgupp", "'pgupp' is not a key name"),
    ("duplicate-spelling.yaml", 5, "bindings.^C",
     "duplicate binding: C-c is already bound on line 3 ('C-c' and '^C' are the same key)"),
    ("duplicate-tab.yaml", 4, "bindings.C-i", "duplicate binding: tab is already bound on line 3"),
    ("duplicate-yaml-key.yaml", 5, "bindings.c", "duplicate key: already given on line 3"),
    ("missing-note.yaml", 4, "bindings.d.note", "missing (required)"),
    ("short-form.yaml", 3, "bindings.d", "a binding needs a note"),
    ("wrong-arg-count.yaml", 3, "bindings.1.command", "select-window takes 1 argument(s), got 0"),
    ("wrong-arg-count.yaml", 4, "bindings.S.command", "split takes 1 argument(s), got 2"),
    ("bad-prefix.yaml", 1, "prefix", "'a' cannot be the prefix"),
    ("prefix-escape-sequence.yaml", 1, "prefix", "'up' cannot be the prefix"),
    ("unknown-top-key.yaml", 3, "bindigs", 'unknown key (did you mean "bindings"?)'),
    ("wrong-types.yaml", 2, "scroll", "'sideways' is not one of normal, natural"),
    ("wrong-types.yaml", 4, "bindings.c.note", "expected a string, got an integer (5)"),
    ("wrong-types.yaml", 5, "bindings.d.command", "expected a string, got a list"),
    ("wrong-types.yaml", 6, "bindings.x", "expected a mapping, got a list"),
    ("unknown-binding-field.yaml", 3, "bindings.c.comand", 'unknown key (did you mean "command"?)'),
    ("missing-prefix.yaml", 1, "prefix", "missing (required)"),
    ("bad-quoting.yaml", 3, "bindings.s.command", "cannot parse \"stuff 'unterminated\""),
]


@pytest.mark.parametrize(("fixture", "line", "key", "message"), MALFORMED,
                         ids=[f"{m[0]}:{m[1]}" for m in MALFORMED])
def test_malformed_keymap_names_file_line_and_key(fixture, line, key, message):
    expected_start = f"{FIXTURES / fixture}:{line}: {key}: "
    matching = [e for e in errors_of(fixture) if e.startswith(expected_start)]
    assert matching, f"no error at {expected_start!r} in {errors_of(fixture)}"
    assert message in matching[0][len(expected_start):]


def test_a_yaml_syntax_error_gives_file_and_line_only():
    assert errors_of("syntax-error.yaml") == [
        f"{FIXTURES / 'syntax-error.yaml'}:4: YAML syntax error: expected ',' or '}}', but got ':'",
    ]


def test_all_errors_of_a_file_come_at_once():
    errors = errors_of("wrong-types.yaml")
    assert [e.split(": ")[0].rsplit(":", 1)[1] for e in errors] == ["2", "4", "5", "6"]


def test_a_good_binding_next_to_a_bad_one_is_not_reported():
    errors = errors_of("wrong-arg-count.yaml")
    assert not any("bindings.c" in e for e in errors)  # new-window -n "two words" bash is fine
