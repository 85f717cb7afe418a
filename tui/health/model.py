"""The health data model every layer shares: states, one row of the side panel, a cluster's verdict.

A `HealthRow` is what the panel draws and what `hascreen health` prints: who (cluster, node), what
(layer, subject), the verdict (state), a short value and a one-line reason for every warn or crit, and
where the value came from (`source`: ssh or prometheus) with when it was observed (for its age).
Rows are plain frozen dataclasses so the server can ship them to clients as dicts (`to_dict`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class State(StrEnum):
    OK = "ok"
    WARN = "warn"
    CRIT = "crit"
    UNKNOWN = "unknown"

    @property
    def symbol(self) -> str:
        return STATE_SYMBOLS[self]

    @property
    def severity(self) -> int:
        return STATE_SEVERITY[self]


# Shown beside the colour so that the state survives a monochrome terminal.
STATE_SYMBOLS = {State.OK: "✓", State.WARN: "!", State.CRIT: "✗", State.UNKNOWN: "?"}

# Aggregation order, as monitoring plugins do it: any crit beats any warn beats any unknown beats ok.
STATE_SEVERITY = {State.OK: 0, State.UNKNOWN: 1, State.WARN: 2, State.CRIT: 3}

# Layers a row can belong to; "cluster" holds the cross-layer consistency verdicts.
LAYERS = ("drbd", "mysql", "vrrp", "ha", "vip", "host", "cluster")

# The node name used for rows that speak about the whole cluster rather than one member.
CLUSTER_WIDE = "*"


def worst(states: Iterable[State]) -> State:
    """The most severe state of an iterable; OK for an empty one."""
    result = State.OK
    for state in states:
        if STATE_SEVERITY[state] > STATE_SEVERITY[result]:
            result = state
    return result


@dataclass(frozen=True)
class HealthRow:
    """One line of the health panel: a verdict about one layer of one node (or the whole cluster)."""

    cluster: str
    node: str
    layer: str
    state: State
    value: str
    reason: str = ""
    observed_at: float = field(default_factory=time.time)
    subject: str = ""  # resource / instance / channel name when a layer has several on one node
    stale: bool = False
    source: str = "ssh"  # where the value came from: ssh (read on the node) or prometheus (a scrape)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of the row across polls (the tracker compares rows with the same key)."""
        return (self.cluster, self.node, self.layer, self.subject)

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.observed_at)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> HealthRow:
        return cls(
            cluster=str(data["cluster"]),
            node=str(data["node"]),
            layer=str(data["layer"]),
            state=State(data["state"]),
            value=str(data.get("value", "")),
            reason=str(data.get("reason", "")),
            observed_at=float(data.get("observed_at", 0.0)),
            subject=str(data.get("subject", "")),
            stale=bool(data.get("stale", False)),
            source=str(data.get("source", "ssh")),
        )


@dataclass
class ClusterHealth:
    """Everything one poll learnt about one cluster: the rows, and who each layer thinks is active."""

    cluster: str
    rows: list[HealthRow]
    observed_at: float
    # layer -> set of nodes that layer reports as active/primary/master (input of the consistency check)
    active: dict[str, set[str]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)  # node -> reason
    # every layer polled -> its active nodes, None when it could not be read (what the consistency row used)
    layers: dict[str, set[str] | None] = field(default_factory=dict)

    @property
    def state(self) -> State:
        return worst(row.state for row in self.rows)
