"""The command registry: parsing command lines, argument checks, and screen's stuff escapes."""

import pytest

from tui.commands import COMMANDS, CommandError, parse_command_line
from tui.server.commands import unescape_stuff


def test_parse_quoted_arguments():
    invocation = parse_command_line("stuff 'echo hi\\n'")
    assert invocation.name == "stuff" and invocation.args == ("echo hi\\n",)


@pytest.mark.parametrize("line, reason", [
    ("", "empty"), ("frobnicate", "unknown command"), ("split", "wrong number"),
    ("rename-window a b", "wrong number"), ("stuff 'unclosed", "cannot parse"),
])
def test_bad_command_lines(line, reason):
    with pytest.raises(CommandError, match=reason):
        parse_command_line(line)


def test_every_command_has_a_note_and_a_scope():
    for spec in COMMANDS.values():
        assert spec.note and spec.scope in ("server", "client")


def test_stuff_escapes():
    assert unescape_stuff(r"ls\n") == "ls\n"
    assert unescape_stuff("^C^[") == "\x03\x1b"
    assert unescape_stuff(r"a\\b") == "a\\b"
