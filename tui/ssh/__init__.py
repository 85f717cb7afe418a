"""SSH for hascreen: one shared asyncssh connection per host, PTY panes that reconnect, a command Runner.

Only this package and tui.server import asyncssh. Public names: `SshPool` (connections, `open_pane`,
`runner`), `SshPane` (a PaneBackend), `SshRunner` (a tui.runner.Runner), `HostSettings`, and the
host-key refusals `HostKeyUnknown` / `HostKeyChanged` (both are tui.runner.HostUnreachable).
"""

from tui.ssh.command_runner import SshRunner
from tui.ssh.host_keys import HostKeyChanged, HostKeyUnknown
from tui.ssh.pane import SshPane, remote_multiplexer_command
from tui.ssh.pool import SshPool
from tui.ssh.settings import HostSettings, HostSettingsError, resolve_host_settings

__all__ = [
    "HostKeyChanged",
    "HostKeyUnknown",
    "HostSettings",
    "HostSettingsError",
    "SshPane",
    "SshPool",
    "SshRunner",
    "remote_multiplexer_command",
    "resolve_host_settings",
]
