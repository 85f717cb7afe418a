"""Every user action is a named command with a note; keymaps and the `:` prompt bind to these names."""

from tui.commands.registry import COMMANDS, CommandError, CommandSpec, Invocation, parse_command_line

__all__ = ["COMMANDS", "CommandError", "CommandSpec", "Invocation", "parse_command_line"]
