"""hosts.yaml inside the server: SSH windows (`ssh HOST`), cluster layouts (`open-cluster NAME`) and the
`reconnect` command, all sharing one SshPool (one connection per host, like ControlMaster).

The hosts file is the one the CLI found (`--hosts`, $HASCREEN_HOSTS, ./hosts.yaml, ~/.config/...). When it is
missing or invalid the server still runs local shells, and these commands answer with the reason.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from tui.config.errors import ConfigErrors
from tui.config.hosts import HostsConfig, load_hosts
from tui.runner import HostUnreachable
from tui.server.hooks import Reply
from tui.ssh import SshPane, SshPool

if TYPE_CHECKING:
    from tui.server.clients import Client
    from tui.server.daemon import Server

log = logging.getLogger("hascreen.server")


class HostsIntegration:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.config: HostsConfig | None = None
        self.error: str | None = None
        self.pool: SshPool | None = None
        path = os.environ.get("HASCREEN_HOSTS")
        if not path:
            self.error = "no hosts.yaml (use --hosts FILE or $HASCREEN_HOSTS)"
            return
        try:
            self.config = load_hosts(path)
        except ConfigErrors as exc:
            self.error = f"hosts.yaml is invalid:\n{exc}"
            log.warning("%s", self.error)
            return
        except OSError as exc:
            self.error = f"cannot read {path}: {exc.strerror}"
            return
        known_hosts = self.config.defaults.known_hosts
        self.pool = SshPool(self.config.hosts, known_hosts=known_hosts)

    # ---- hooks -------------------------------------------------------------------------------------------
    def welcome(self, client: Client) -> dict[str, Any]:
        if self.config is None:
            return {"hosts": [], "clusters": [], "hosts_error": self.error}
        return {"hosts": sorted(self.config.hosts), "clusters": sorted(self.config.clusters),
                "cluster_members": {name: list(c.members) for name, c in self.config.clusters.items()},
                "hosts_file": self.config.file}

    def on_client_attached(self, client: Client) -> None:
        if self.error and self.config is None and "no hosts.yaml" not in self.error:
            client.send({"t": "notice", "text": self.error.splitlines()[0], "level": "warn"})

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    # ---- commands ----------------------------------------------------------------------------------------
    def _need_config(self) -> Reply | None:
        if self.config is None or self.pool is None:
            return Reply(False, self.error or "no hosts.yaml loaded")
        return None

    async def open_host(self, host: str, name: str | None = None) -> int:
        assert self.pool is not None
        backend = SshPane(self.pool, host)
        return await self.server.new_window(name=name, backend=backend)

    async def ssh(self, client: Client | None, args: list[str]) -> Reply:
        if (problem := self._need_config()) is not None:
            return problem
        host = args[0]
        if host not in self.config.hosts:  # type: ignore[union-attr]
            known = ", ".join(sorted(self.config.hosts)) or "none"  # type: ignore[union-attr]
            return Reply(False, f"unknown host {host!r}; hosts.yaml has: {known}")
        try:
            number = await self.open_host(host)
        except HostUnreachable as exc:
            return Reply(False, f"ssh {host}: {exc.reason}")
        return Reply(True, f"window {number}: ssh {host}")

    async def open_cluster(self, client: Client | None, args: list[str]) -> Reply:
        if (problem := self._need_config()) is not None:
            return problem
        config = self.config
        assert config is not None
        cluster = config.clusters.get(args[0])
        if cluster is None:
            return Reply(False, f"unknown cluster {args[0]!r}; hosts.yaml has: {', '.join(sorted(config.clusters))}")
        layout_name = args[1] if len(args) > 1 else cluster.layout
        layout = config.layouts.get(layout_name)
        if layout is None:
            return Reply(False, f"unknown layout {layout_name!r}; known: {', '.join(sorted(config.layouts))}")
        session = self.server.session
        failures = []
        opened = []
        for index, member in enumerate(cluster.members):
            if layout.kind == "split" and index > 0:
                session.split("v" if layout.direction == "vertical" else "h")
                session.focus_step(1)
            try:
                opened.append(await self.open_host(member))
            except HostUnreachable as exc:
                failures.append(f"{member}: {exc.reason}")
        self.server.layout_changed()
        if failures:
            return Reply(False, f"open-cluster {cluster.name}: " + "; ".join(failures))
        return Reply(True, f"cluster {cluster.name}: windows {', '.join(map(str, opened))}")

    async def reconnect(self, client: Client | None, args: list[str]) -> Reply:
        pane = self.server.focused_pane()
        backend = pane.backend if pane else None
        if not isinstance(backend, SshPane):
            return Reply(False, "the current window is not an SSH window")
        backend.reconnect_now()
        return Reply(True, f"reconnecting to {backend.host}")


def install_hosts(server: Server) -> HostsIntegration:
    integration = HostsIntegration(server)
    server.hooks.welcome.register(integration.welcome)
    server.hooks.client_attached.register(integration.on_client_attached)
    server.hooks.stopping.register(integration.close)
    server.commands.register("ssh", integration.ssh)
    server.commands.register("open-cluster", integration.open_cluster)
    server.commands.register("reconnect", integration.reconnect)
    return integration


