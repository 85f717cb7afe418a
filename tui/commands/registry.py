"""The registry of named commands: their names, argument counts, where they run, and a one-line note.

`scope` says who carries a command out. "server" commands change session state and travel to the server
(`{"t": "command"}`); "client" commands open a UI element (a prompt, a list, copy mode) in the client, which
usually ends by sending a server command. Keymaps and the `:` prompt refer to commands only by name.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


class CommandError(ValueError):
    """An unknown command or wrong arguments; the message is fit to show the user."""


@dataclass(frozen=True)
class CommandSpec:
    name: str
    note: str
    scope: str = "server"  # "server" | "client"
    min_args: int = 0
    max_args: int | None = 0  # None: any number
    usage: str = ""


@dataclass(frozen=True)
class Invocation:
    name: str
    args: tuple[str, ...] = ()

    @property
    def spec(self) -> CommandSpec:
        return COMMANDS[self.name]

    def line(self) -> str:
        return shlex.join([self.name, *self.args])


def _specs(*specs: CommandSpec) -> dict[str, CommandSpec]:
    return {spec.name: spec for spec in specs}


COMMANDS: dict[str, CommandSpec] = _specs(
    # windows
    CommandSpec("new-window", "create a window with a new shell (or the given command)", max_args=None,
                usage="new-window [-n NAME] [COMMAND ...]"),
    CommandSpec("rename-window", "rename the current window", min_args=1, max_args=1, usage="rename-window NAME"),
    CommandSpec("next-window", "switch to the next window"),
    CommandSpec("prev-window", "switch to the previous window"),
    CommandSpec("select-window", "switch to a window by number or name", min_args=1, max_args=1,
                usage="select-window N|NAME"),
    CommandSpec("last-window", "switch to the window displayed previously"),
    CommandSpec("kill-window", "kill the current window and everything in it"),
    # regions
    CommandSpec("split", "split the current region: -h top/bottom (screen's S), -v side by side (|)",
                min_args=1, max_args=1, usage="split -h|-v"),
    CommandSpec("focus-next", "move the input focus to the next region"),
    CommandSpec("focus-prev", "move the input focus to the previous region"),
    CommandSpec("remove-region", "remove the current region (its window keeps running)"),
    CommandSpec("only-region", "remove all regions but the current one"),
    CommandSpec("resize-region", "grow or shrink the current region: +N, -N or N rows/columns",
                min_args=1, max_args=1, usage="resize-region +N|-N|N"),
    # session
    CommandSpec("detach", "detach this client; everything keeps running"),
    CommandSpec("lock", "lock the session for every attached client"),
    CommandSpec("send-prefix", "send a literal prefix key (C-a) to the program in the window", scope="client"),
    CommandSpec("stuff", "type the given text into the current window", min_args=1, max_args=1,
                usage="stuff TEXT"),
    CommandSpec("redraw", "redraw the whole screen"),
    CommandSpec("select-pane", "focus the region that shows the given pane (mouse click)", min_args=1, max_args=1,
                usage="select-pane PANE"),
    CommandSpec("list-windows", "list the windows of the session"),
    CommandSpec("kill-server", "kill every window and end the session"),
    CommandSpec("reconnect", "reconnect the SSH connection of the current pane now"),
    # hosts and clusters
    CommandSpec("ssh", "open an SSH window to a host from hosts.yaml", min_args=1, max_args=1, usage="ssh HOST"),
    CommandSpec("open-cluster", "open a cluster's layout from hosts.yaml", min_args=1, max_args=2,
                usage="open-cluster NAME [LAYOUT]"),
    CommandSpec("run-procedure", "run a procedure on a cluster", min_args=1, max_args=None,
                usage="run-procedure NAME [CLUSTER] [ARGS ...]"),
    CommandSpec("health-refresh", "poll every cluster now"),
    # client-side UI
    CommandSpec("window-list", "choose a window from a list", scope="client"),
    CommandSpec("select-prompt", "prompt for a window number or name", scope="client"),
    CommandSpec("rename-prompt", "prompt for a new window name", scope="client"),
    CommandSpec("kill-confirm", "kill the current window after confirmation", scope="client"),
    CommandSpec("copy-mode", "scrollback and copy mode (arrows, PgUp/PgDn, / search, Esc leaves)", scope="client"),
    CommandSpec("paste", "paste the copy buffer into the current window", scope="client"),
    CommandSpec("help", "show every key binding with its note", scope="client"),
    CommandSpec("command-prompt", "enter any command by name", scope="client"),
    CommandSpec("ssh-prompt", "prompt for a host and open an SSH window to it", scope="client"),
    CommandSpec("toggle-health", "show or hide the cluster health panel", scope="client"),
    CommandSpec("health-window", "the cluster health and its event timeline, full screen", scope="client"),
    CommandSpec("procedures", "show the procedures panel of the focused cluster", scope="client"),
)


def parse_command_line(line: str) -> Invocation:
    """Parse `name arg ...` with shell quoting and check it against the registry."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot parse {line!r}: {exc}") from None
    if not words:
        raise CommandError("empty command")
    return check_invocation(words[0], words[1:])


def check_invocation(name: str, args: list[str] | tuple[str, ...]) -> Invocation:
    spec = COMMANDS.get(name)
    if spec is None:
        raise CommandError(f"unknown command {name!r}")
    if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
        raise CommandError(f"{name}: wrong number of arguments; usage: {spec.usage or name}")
    return Invocation(name, tuple(args))
