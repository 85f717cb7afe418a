"""Where each cluster's health comes from, per hosts.yaml's `health_source` (or `hascreen health --source`):

- `ssh`: the probes read the nodes over the Runner (tui.health.probes), one script per host per poll;
- `prometheus`: one instant query per Prometheus URL per poll, through the MetricsSource, judged by
  tui.health.prometheus; a layer or member it cannot speak for reads `unknown` with the reason;
- `auto`: Prometheus for each layer whose series answer (present, fresh, not NaN) for every member of
  the cluster, SSH for the other layers, in the same poll.
Every row carries its source and the time its data was observed. The cross-layer consistency row is
computed once over the merged layers, whichever source fed each. Procedures never come here: preflight,
plan and verification always read the nodes over SSH.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.health import prometheus
from tui.health.consistency import evaluate_consistency
from tui.health.model import CLUSTER_WIDE, ClusterHealth, HealthRow, State
from tui.health.probes import ClusterLike, HostLimiter, ProbeMemory, ProbeSettings, probe_cluster
from tui.runner import MetricsSource, MetricsUnavailable, Runner

SOURCES = ("ssh", "prometheus", "auto")


def layers_of(cluster: Any) -> list[str]:
    """The layers a cluster has, by the names rows and the consistency check use."""
    layers = []
    if getattr(cluster, "drbd", None) is not None:
        layers.append("drbd")
    if getattr(cluster, "mysql", None) is not None:
        layers.append("mysql")
    manager = getattr(cluster, "manager", "none")
    if manager == "keepalived" and getattr(cluster, "keepalived", None) is not None:
        layers.append("vrrp")
    elif manager in ("heartbeat", "pacemaker"):
        layers.append("ha")
    if getattr(cluster, "vip", None) is not None:
        layers.append("vip")
    return layers


def source_of(cluster: Any, override: str | None = None) -> tuple[str, str | None]:
    """(ssh | prometheus | auto, the Prometheus URL or None)."""
    return override or getattr(cluster, "health_source", "ssh") or "ssh", getattr(cluster, "prometheus_url", None)


async def fetch_snapshots(metrics: MetricsSource | None, urls: Sequence[str], timeout: float
                          ) -> dict[str, prometheus.MetricsSnapshot]:
    """One instant query per Prometheus, concurrently; an unanswered one becomes a snapshot with its error."""
    async def one(url: str) -> prometheus.MetricsSnapshot:
        if metrics is None:
            return prometheus.MetricsSnapshot(error="no Prometheus client in this process")
        try:
            return prometheus.parse_answer(await metrics.instant_query(url, prometheus.series_query(),
                                                                       timeout=timeout))
        except MetricsUnavailable as exc:
            return prometheus.MetricsSnapshot(error=f"Prometheus {url} did not answer: {exc.reason}")

    unique = list(dict.fromkeys(urls))
    return dict(zip(unique, await asyncio.gather(*(one(u) for u in unique)), strict=True))


def from_prometheus(cluster: Any, snapshot: prometheus.MetricsSnapshot, addresses: Mapping[str, str],
                    settings: ProbeSettings, observed_at: float, *, only_complete: bool = False,
                    ) -> tuple[list[HealthRow], dict[str, set[str] | None], dict[str, str], list[str]]:
    """Rows and active nodes of every layer Prometheus can speak for; with `only_complete`, a layer with
    any member it cannot speak for is left out. Returns (rows, active per layer, unreachable, layers left)."""
    rows: list[HealthRow] = []
    active: dict[str, set[str] | None] = {}
    left: list[str] = []
    at = snapshot.evaluated_at or observed_at
    for layer in layers_of(cluster):
        try:
            result = prometheus.evaluate_layer(layer, snapshot, cluster, addresses,
                                               max_age=settings.metrics_max_age, drbd_thresholds=settings.drbd,
                                               mysql_thresholds=settings.mysql)
        except prometheus.LayerUnavailable as exc:
            if only_complete:
                left.append(layer)
            else:
                rows.append(HealthRow(cluster.name, CLUSTER_WIDE, layer, State.UNKNOWN, "no data", str(exc), at,
                                      stale=True, source=prometheus.SOURCE))
                active[layer] = None
            continue
        if only_complete and result.missing:
            left.append(layer)
            continue
        rows += result.rows
        active[layer] = result.active
    unreachable: dict[str, str] = {}
    if not snapshot.error and not only_complete:
        host_rows, unreachable = prometheus.host_rows(snapshot, cluster, addresses, settings.metrics_max_age)
        rows += host_rows
    return rows, active, unreachable, left


async def read_cluster(runner: Runner, cluster: ClusterLike, snapshot: prometheus.MetricsSnapshot | None,
                       source: str, *, addresses: Mapping[str, str], settings: ProbeSettings,
                       memory: ProbeMemory | None, limiter: HostLimiter, clock: Callable[[], float]) -> ClusterHealth:
    """One cluster's health from its source (the snapshot is its Prometheus's answer of this poll)."""
    if source == "ssh" or snapshot is None:
        return await probe_cluster(runner, cluster, settings=settings, memory=memory, limiter=limiter, clock=clock)
    observed_at = clock()
    rows, active, unreachable, left = from_prometheus(cluster, snapshot, addresses, settings, observed_at,
                                                      only_complete=source == "auto")
    if left:
        ssh = await probe_cluster(runner, cluster, settings=settings, memory=memory, limiter=limiter, clock=clock,
                                  layers=left, consistency=False)
        rows += ssh.rows
        active.update(ssh.layers)
        unreachable.update(ssh.unreachable)
    if len(active) >= 2:
        rows.append(evaluate_consistency(cluster.name, active, observed_at=observed_at))
    return ClusterHealth(cluster.name, rows, observed_at, {k: v for k, v in active.items() if v is not None},
                         unreachable, active)


async def read_clusters(runner: Runner, clusters: Sequence[ClusterLike], *, metrics: MetricsSource | None = None,
                        override: str | None = None, addresses: Mapping[str, str] | None = None,
                        settings: ProbeSettings | None = None, memory: ProbeMemory | None = None,
                        limiter: HostLimiter | None = None, clock: Callable[[], float] = time.time,
                        ) -> list[ClusterHealth]:
    """Every cluster once, concurrently: one Prometheus query per URL, SSH where the source says so."""
    settings = settings or ProbeSettings()
    limiter = limiter or HostLimiter(settings.per_host_limit)
    chosen = [source_of(c, override) for c in clusters]
    urls = [url for kind, url in chosen if kind != "ssh" and url]
    snapshots = await fetch_snapshots(metrics, urls, settings.timeout) if urls else {}
    no_url = prometheus.MetricsSnapshot(error="no Prometheus URL configured (health_source needs `prometheus:`)")
    return list(await asyncio.gather(*(
        read_cluster(runner, cluster, snapshots.get(url, no_url) if kind != "ssh" else None, kind,
                     addresses=addresses or {}, settings=settings, memory=memory, limiter=limiter, clock=clock)
        for cluster, (kind, url) in zip(clusters, chosen, strict=True))))
