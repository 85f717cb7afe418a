"""The registry of named commands: their names, argument counts, where they run, and a one-line note.

`scope` says who carries a command out. "server" commands change session state and travel to the server
(`{"t": "command"}`); "client" commands open a UI element (a prompt, a list, copy mode) in the client, which
usually ends by sending a server command. Keymaps and the `:` prompt refer to commands only by name.

`SCREEN_ALIASES` lets GNU Screen's names for common commands work on the `:` line and with `hascreen -X`
(`title`, `screen`, `windows`, `kill`, `quit` ...): an alias is turned into the hascreen command it means
when the line is checked, so the rest of the program only ever sees hascreen's names.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass


class CommandError(ValueError):
    """An unknown command or wrong arguments; the message is fit to show the user."""


# `reconnect --if-down` refuses with exactly this while the pane is connected: the client then asks first
RECONNECT_ENDS_SHELL = "the pane is connected: reconnecting ends the remote shell in it"


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
    CommandSpec("reconnect", "reconnect the SSH connection of the current pane now (--if-down: only if it is "
                "not connected)", max_args=1, usage="reconnect [--if-down]"),
    CommandSpec("hardcopy", "write the current window's screen to a file (hardcopy.N; -h adds the scrollback)",
                max_args=2, usage="hardcopy [-h] [FILE]"),
    CommandSpec("log", "log the current window's output to screenlog.N (on, off, or toggle)", max_args=1,
                usage="log [on|off]"),
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
    CommandSpec("reconnect-confirm", "reconnect the current pane's SSH connection; asks first while it is "
                "connected (its remote shell ends)", scope="client"),
    CommandSpec("quit-confirm", "kill every window and end the session, after confirmation", scope="client"),
    CommandSpec("last-message", "show the recent messages whole, however long (screen's lastmsg)", scope="client"),
    CommandSpec("copy-mode", "scrollback and copy mode (arrows, PgUp/PgDn, / search, Esc leaves)", scope="client"),
    CommandSpec("paste", "paste the copy buffer into the current window", scope="client"),
    CommandSpec("help", "show every key binding with its note", scope="client"),
    CommandSpec("command-prompt", "enter any command by name", scope="client"),
    CommandSpec("ssh-prompt", "prompt for a host and open an SSH window to it", scope="client"),
    CommandSpec("toggle-health", "show or hide the cluster health panel", scope="client"),
    CommandSpec("health-window", "the cluster health and its event timeline, full screen", scope="client"),
    CommandSpec("procedures", "show the procedures panel of the focused cluster", scope="client"),
)


@dataclass(frozen=True)
class ScreenAlias:
    """GNU Screen's name for a command; `resolve(args)` gives the hascreen command line it means."""

    name: str
    usage: str
    resolve: Callable[[tuple[str, ...]], tuple[str, tuple[str, ...]]]

    @property
    def means(self) -> str:
        """The hascreen command(s) it stands for, for the help screen."""
        return self.resolve.__doc__ or ""


def _to(command: str, *, keep_args: bool = True, max_args: int | None = 0, usage: str = "",
        none: str | None = None) -> Callable[[tuple[str, ...]], tuple[str, tuple[str, ...]]]:
    """A resolver to one command; with no arguments and `none` set, to that command instead."""

    def resolve(args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        if max_args is not None and len(args) > max_args:
            raise CommandError(f"wrong number of arguments; usage: {usage}")
        if not args and none is not None:
            return none, ()
        return command, args if keep_args else ()

    resolve.__doc__ = command if none is None else f"{command} (without a name: {none})"
    return resolve


def _new_window_from_screen_args(args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """new-window [-n NAME] [COMMAND ...]"""
    words = list(args)
    if words[:1] == ["-t"]:
        if len(words) < 2:
            raise CommandError("-t needs a title; usage: screen [-t TITLE] [COMMAND ...]")
        words = ["-n", *words[1:]]
    elif words[:1] and words[0].startswith("-"):
        raise CommandError(f"{words[0]}: only -t TITLE is supported; usage: screen [-t TITLE] [COMMAND ...]")
    return "new-window", tuple(words)


def _aliases(*aliases: ScreenAlias) -> dict[str, ScreenAlias]:
    return {alias.name: alias for alias in aliases}


SCREEN_ALIASES: dict[str, ScreenAlias] = _aliases(
    ScreenAlias("title", "title [NAME]", _to("rename-window", max_args=1, usage="title [NAME]", none="rename-prompt")),
    ScreenAlias("screen", "screen [-t TITLE] [COMMAND ...]", _new_window_from_screen_args),
    ScreenAlias("windows", "windows", _to("list-windows", usage="windows")),
    ScreenAlias("select", "select [N|NAME]", _to("select-window", max_args=1, usage="select [N|NAME]",
                                                  none="select-prompt")),
    ScreenAlias("next", "next", _to("next-window", usage="next")),
    ScreenAlias("prev", "prev", _to("prev-window", usage="prev")),
    ScreenAlias("other", "other", _to("last-window", usage="other")),
    ScreenAlias("kill", "kill", _to("kill-window", usage="kill")),
    ScreenAlias("quit", "quit", _to("kill-server", usage="quit")),
    ScreenAlias("only", "only", _to("only-region", usage="only")),
    ScreenAlias("remove", "remove", _to("remove-region", usage="remove")),
    ScreenAlias("focus", "focus", _to("focus-next", usage="focus")),
    ScreenAlias("lockscreen", "lockscreen", _to("lock", usage="lockscreen")),
    ScreenAlias("copy", "copy", _to("copy-mode", usage="copy")),
    ScreenAlias("colon", "colon", _to("command-prompt", usage="colon")),
    ScreenAlias("lastmsg", "lastmsg", _to("last-message", usage="lastmsg")),
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
    """The invocation of a command or of one of screen's names for it (SCREEN_ALIASES)."""
    alias = SCREEN_ALIASES.get(name) if name not in COMMANDS else None
    if alias is not None:
        try:
            name, args = alias.resolve(tuple(args))
        except CommandError as exc:
            raise CommandError(f"{alias.name}: {exc}") from None
    spec = COMMANDS.get(name)
    if spec is None:
        raise CommandError(f"unknown command {name!r}")
    if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
        raise CommandError(f"{name}: wrong number of arguments; usage: {spec.usage or name}")
    return Invocation(name, tuple(args))
