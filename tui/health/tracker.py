"""The health timeline: the latest row per (cluster, node, layer, subject), the state changes between polls
as a bounded event list, and staleness.

The server owns one `HealthTracker`; every poll's `ClusterHealth` goes through `update()`, which returns
the new events (so the server can raise an alert on a new crit). A stale row (unreachable host) keeps the
last known value and its old `observed_at`, so the panel shows how old the data is.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from tui.health.model import ClusterHealth, HealthRow, State, worst


@dataclass(frozen=True)
class HealthEvent:
    time: float
    cluster: str
    node: str
    layer: str
    subject: str
    old: State | None  # None: first time this row was seen
    new: State
    reason: str
    value: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["old"] = self.old.value if self.old is not None else None
        data["new"] = self.new.value
        return data

    def describe(self) -> str:
        who = f"{self.cluster}/{self.node}/{self.layer}" + (f"/{self.subject}" if self.subject else "")
        old = self.old.value if self.old is not None else "new"
        text = f"{who}: {old}→{self.new.value}"
        return text + (f": {self.reason}" if self.reason else "")


class HealthTracker:
    def __init__(self, interval: float = 5.0, stale_after: int = 3, max_events: int = 1000) -> None:
        self.interval = interval
        self.stale_after = stale_after  # intervals without fresh data before a row is stale
        self.rows: dict[tuple[str, str, str, str], HealthRow] = {}
        self.events: deque[HealthEvent] = deque(maxlen=max_events)
        self._keys_by_cluster: dict[str, set[tuple[str, str, str, str]]] = {}

    def update(self, health: ClusterHealth, now: float | None = None) -> list[HealthEvent]:
        """Take one poll's rows for one cluster; returns the state changes it caused."""
        now = health.observed_at if now is None else now
        new_events: list[HealthEvent] = []
        seen = set()
        for row in health.rows:
            seen.add(row.key)
            previous = self.rows.get(row.key)
            if row.stale and previous is not None and not previous.stale:
                # Keep what we last knew, marked stale and unknown, with its original age.
                row = replace(previous, state=State.UNKNOWN, stale=True, reason=row.reason or previous.reason)
            elif row.stale and previous is not None:
                row = replace(previous, reason=row.reason or previous.reason)
            self.rows[row.key] = row
            old_state = previous.state if previous is not None else None
            if old_state != row.state:
                event = HealthEvent(now, row.cluster, row.node, row.layer, row.subject, old_state, row.state,
                                    row.reason, row.value)
                # A first sighting that is ok is not news; anything else is.
                if old_state is not None or row.state is not State.OK:
                    new_events.append(event)
        # Rows of this cluster that the poll no longer produced (e.g. a host came back and its "host"
        # row vanished) are dropped, with an event when they were not ok.
        previous_keys = self._keys_by_cluster.get(health.cluster, set())
        self._keys_by_cluster[health.cluster] = seen
        for key in sorted(previous_keys - seen):
            gone = self.rows.pop(key)
            if gone.state is not State.OK:
                new_events.append(HealthEvent(now, gone.cluster, gone.node, gone.layer, gone.subject, gone.state,
                                              State.OK, "cleared", gone.value))
        self.events.extend(new_events)
        return new_events

    def mark_stale(self, now: float | None = None, allowance: Mapping[str, float] | None = None) -> list[HealthRow]:
        """Mark rows older than `stale_after` intervals stale (the poller itself is stuck or slow).
        `allowance` gives, per row source, how much older its data may be: a Prometheus row is observed at
        its scrape time, whose freshness its source already judged (ProbeSettings.metrics_max_age)."""
        now = time.time() if now is None else now
        limit = self.interval * self.stale_after
        changed = []
        for key, row in list(self.rows.items()):
            if not row.stale and now - row.observed_at > limit + (allowance or {}).get(row.source, 0.0):
                stale = replace(row, stale=True, state=State.UNKNOWN,
                                reason=f"no fresh data for {now - row.observed_at:.0f}s")
                self.rows[key] = stale
                changed.append(stale)
                self.events.append(HealthEvent(now, row.cluster, row.node, row.layer, row.subject, row.state,
                                               State.UNKNOWN, stale.reason, row.value))
        return changed

    def latest(self, cluster: str | None = None) -> list[HealthRow]:
        rows = [row for row in self.rows.values() if cluster is None or row.cluster == cluster]
        return sorted(rows, key=lambda r: r.key)

    def state(self, cluster: str | None = None) -> State:
        return worst(row.state for row in self.latest(cluster))

    def recent_events(self, count: int = 50) -> list[HealthEvent]:
        return list(self.events)[-count:]

    def snapshot(self, now: float | None = None, events: int = 50) -> dict:
        """Plain data for the protocol: rows (with age) grouped by cluster, and the recent events."""
        now = time.time() if now is None else now
        clusters: dict[str, dict] = {}
        for row in self.latest():
            entry = clusters.setdefault(row.cluster, {"state": State.OK.value, "rows": []})
            entry["rows"].append({**row.to_dict(), "age": round(row.age(now), 1), "symbol": row.state.symbol})
        for name, entry in clusters.items():
            entry["state"] = self.state(name).value
        return {"clusters": clusters, "events": [e.to_dict() for e in self.recent_events(events)]}

    @staticmethod
    def new_crits(events: Iterable[HealthEvent]) -> list[HealthEvent]:
        """Events that should raise an alert (tab bar, bell): something just became crit."""
        return [e for e in events if e.new is State.CRIT and e.old is not State.CRIT]
