"""Cluster health inside the server: it polls every cluster of hosts.yaml from its health source (over the
shared SSH connections, or Prometheus through `tui.prometheus_http`),
keeps polling while no client is attached, keeps the timeline of state changes, and pushes `health`
messages to clients (a snapshot on attach, then one per poll). A new crit becomes a crit notice and, when
configured, a bell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from tui.health.poller import HealthPoller
from tui.health.tracker import HealthEvent, HealthTracker
from tui.prometheus_http import PrometheusHttp
from tui.server.hooks import Reply

if TYPE_CHECKING:
    from tui.server.clients import Client
    from tui.server.daemon import Server
    from tui.server.hosts_integration import HostsIntegration

log = logging.getLogger("hascreen.server")


class HealthIntegration:
    def __init__(self, server: Server, hosts: HostsIntegration) -> None:
        self.server = server
        self.poller: HealthPoller | None = None
        self.task: asyncio.Task | None = None
        self.bell_on_crit = os.environ.get("HASCREEN_HEALTH_BELL", "") == "1"
        self._refresh = asyncio.Event()
        config, pool = hosts.config, hosts.pool
        if config is None or pool is None or not config.clusters:
            return
        interval = float(os.environ.get("HASCREEN_HEALTH_INTERVAL", config.defaults.health_interval))
        self.poller = HealthPoller(pool.runner, list(config.clusters.values()), interval=interval,
                                   tracker=HealthTracker(interval=interval), metrics=PrometheusHttp(),
                                   addresses={name: host.address for name, host in config.hosts.items()})
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def tracker(self) -> HealthTracker | None:
        return self.poller.tracker if self.poller else None

    async def _run(self) -> None:
        poller = self.poller
        assert poller is not None
        while True:
            started = time.monotonic()
            try:
                events = await poller.poll_once()
            except Exception:  # a probe bug must not stop health for good
                log.exception("health poll failed")
                events = []
            self._publish(events)
            delay = max(0.0, poller.interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh.wait(), delay)
            self._refresh.clear()

    def message(self) -> dict[str, Any]:
        tracker = self.tracker
        if tracker is None:
            return {"t": "health", "clusters": [], "events": []}
        snapshot = tracker.snapshot()
        clusters = [{"name": name, **entry} for name, entry in sorted(snapshot["clusters"].items())]
        events = [{**event.to_dict(), "text": event.describe()} for event in tracker.recent_events(50)]
        return {"t": "health", "clusters": clusters, "events": events, "polls": self.poller.polls}

    def _publish(self, events: list[HealthEvent]) -> None:
        for crit in HealthTracker.new_crits(events):
            self.server.broadcast({"t": "notice", "text": crit.describe(), "level": "crit"})
            if self.bell_on_crit:
                self.server.broadcast({"t": "bell", "pane": None})
        self.server.broadcast(self.message())

    def on_client_attached(self, client: Client) -> None:
        if self.poller is not None:
            client.send(self.message())

    async def refresh(self, client: Client | None, args: list[str]) -> Reply:
        if self.poller is None:
            return Reply(False, "no clusters to poll (hosts.yaml has none, or none was loaded)")
        self._refresh.set()
        return Reply(True, "polling every cluster now")

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


def install_health(server: Server, hosts: HostsIntegration) -> HealthIntegration:
    integration = HealthIntegration(server, hosts)
    server.hooks.client_attached.register(integration.on_client_attached)
    server.hooks.stopping.register(integration.close)
    server.commands.register("health-refresh", integration.refresh)
    return integration
