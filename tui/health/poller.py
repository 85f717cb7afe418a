"""The polling loop the server runs (it keeps going while clients are detached): every `interval` seconds,
probe all clusters concurrently, feed the `HealthTracker`, and hand new events to a callback (the server
turns a new crit into a tab-bar alert and, if configured, a bell). Also `check_clusters`, the one-shot
check behind `hascreen health`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from tui.health.model import HealthRow
from tui.health.probes import ClusterLike, HostLimiter, ProbeMemory, ProbeSettings, probe_cluster
from tui.health.tracker import HealthEvent, HealthTracker
from tui.runner import Runner


async def check_clusters(runner: Runner, clusters: Sequence[ClusterLike], *,
                         settings: ProbeSettings | None = None) -> list[HealthRow]:
    """Probe every cluster once, concurrently, and return all rows (for `hascreen health`)."""
    settings = settings or ProbeSettings()
    limiter = HostLimiter(settings.per_host_limit)
    results = await asyncio.gather(*(probe_cluster(runner, c, settings=settings, limiter=limiter) for c in clusters))
    return [row for health in results for row in health.rows]


class HealthPoller:
    def __init__(
        self, runner: Runner, clusters: Sequence[ClusterLike], *, interval: float = 5.0,
        settings: ProbeSettings | None = None, tracker: HealthTracker | None = None,
        on_events: Callable[[list[HealthEvent]], None] | None = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner = runner
        self.clusters = list(clusters)
        self.interval = interval
        self.settings = settings or ProbeSettings()
        self.tracker = tracker or HealthTracker(interval=interval)
        self.on_events = on_events
        self.clock = clock
        self.memory = ProbeMemory()
        self.limiter = HostLimiter(self.settings.per_host_limit)
        self.polls = 0
        self._stop = asyncio.Event()

    async def poll_once(self) -> list[HealthEvent]:
        results = await asyncio.gather(*(
            probe_cluster(self.runner, cluster, settings=self.settings, memory=self.memory, limiter=self.limiter,
                          clock=self.clock)
            for cluster in self.clusters))
        events: list[HealthEvent] = []
        for health in results:
            events.extend(self.tracker.update(health))
        self.tracker.mark_stale(self.clock())
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
