"""Every user action is a named command with a note; keymaps and the `:` prompt bind to these names, and
GNU Screen's names for the common ones (SCREEN_ALIASES) work on the `:` line too."""

from tui.commands.registry import (
    COMMANDS,
    SCREEN_ALIASES,
    CommandError,
    CommandSpec,
    Invocation,
    parse_command_line,
)

__all__ = ["COMMANDS", "SCREEN_ALIASES", "CommandError", "CommandSpec", "Invocation", "parse_command_line"]
