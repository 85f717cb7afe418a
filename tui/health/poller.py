"""The polling loop the server runs (it keeps going while clients are detached): every `interval` seconds,
read all clusters concurrently from their health source (tui.health.sources: SSH probes, Prometheus, or
both), feed the `HealthTracker`, and hand new events to a callback (the server turns a new crit into a
tab-bar alert and, if configured, a bell). Also `check_clusters`, the one-shot check behind `hascreen health`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from tui.health.model import HealthRow
from tui.health.probes import ClusterLike, HostLimiter, ProbeMemory, ProbeSettings
from tui.health.sources import read_clusters
from tui.health.tracker import HealthEvent, HealthTracker
from tui.runner import MetricsSource, Runner


async def check_clusters(runner: Runner, clusters: Sequence[ClusterLike], *,
                         settings: ProbeSettings | None = None, metrics: MetricsSource | None = None,
                         source: str | None = None, addresses: Mapping[str, str] | None = None) -> list[HealthRow]:
    """Read every cluster once, concurrently, and return all rows (for `hascreen health`); `source`
    overrides each cluster's health_source; `addresses` maps host names to hosts.yaml addresses (how
    Prometheus targets are matched)."""
    results = await read_clusters(runner, clusters, metrics=metrics, override=source, addresses=addresses,
                                  settings=settings)
    return [row for health in results for row in health.rows]


class HealthPoller:
    def __init__(
        self, runner: Runner, clusters: Sequence[ClusterLike], *, interval: float = 5.0,
        settings: ProbeSettings | None = None, tracker: HealthTracker | None = None,
        on_events: Callable[[list[HealthEvent]], None] | None = None, clock: Callable[[], float] = time.time,
        metrics: MetricsSource | None = None, addresses: Mapping[str, str] | None = None,
    ) -> None:
        self.runner = runner
        self.clusters = list(clusters)
        self.interval = interval
        self.settings = settings or ProbeSettings()
        self.tracker = tracker or HealthTracker(interval=interval)
        self.on_events = on_events
        self.clock = clock
        self.metrics = metrics
        self.addresses = dict(addresses or {})
        self.memory = ProbeMemory()
        self.limiter = HostLimiter(self.settings.per_host_limit)
        self.polls = 0
        self._stop = asyncio.Event()

    async def poll_once(self) -> list[HealthEvent]:
        results = await read_clusters(self.runner, self.clusters, metrics=self.metrics, addresses=self.addresses,
                                      settings=self.settings, memory=self.memory, limiter=self.limiter,
                                      clock=self.clock)
        events: list[HealthEvent] = []
        for health in results:
            events.extend(self.tracker.update(health))
        self.tracker.mark_stale(self.clock(), allowance={"prometheus": self.settings.metrics_max_age})
        self.polls += 1
        if events and self.on_events is not None:
            self.on_events(events)
        return events

    async def run(self) -> None:
        """Poll until `stop()`; a poll that overruns the interval starts the next one right away."""
        while not self._stop.is_set():
            started = self.clock()
            await self.poll_once()
            delay = max(0.0, self.interval - (self.clock() - started))
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
