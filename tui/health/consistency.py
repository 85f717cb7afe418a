"""Cross-layer consistency: the DRBD Primary, the HA manager's active node, the VRRP MASTER / VIP holder and
the writable MySQL master should all be the same node. Any disagreement is one cluster-wide row naming
which layer says what.
"""

from __future__ import annotations

from tui.health.model import CLUSTER_WIDE, HealthRow, State

# Layer key in ClusterHealth.active -> how the reason names it.
LAYER_LABELS = {
    "drbd": "DRBD Primary",
    "ha": "HA manager active node",
    "vrrp": "VRRP MASTER",
    "vip": "VIP holder",
    "mysql": "writable MySQL master",
}


def _names(nodes: set[str]) -> str:
    return ",".join(sorted(nodes)) or "none"


def evaluate_consistency(cluster: str, active: dict[str, set[str] | None], *, observed_at: float) -> HealthRow:
    """`active` maps a layer to the nodes it reports as active; None means the layer could not be read.
    Only layers the cluster has should be present."""
    known = {layer: nodes for layer, nodes in active.items() if nodes is not None}
    unread = sorted(layer for layer, nodes in active.items() if nodes is None)
    ordered = [layer for layer in LAYER_LABELS if layer in known] + sorted(set(known) - set(LAYER_LABELS))
    summary = "; ".join(f"{LAYER_LABELS.get(layer, layer)}={_names(known[layer])}" for layer in ordered)

    def row(state: State, value: str, reason: str = "") -> HealthRow:
        return HealthRow(cluster, CLUSTER_WIDE, "cluster", state, value, reason, observed_at, "consistency")

    if len(active) < 2:
        return row(State.OK, "single layer", "")
    multi = [layer for layer in ordered if len(known[layer]) > 1]
    singles = {layer: next(iter(known[layer])) for layer in ordered if len(known[layer]) == 1}
    distinct = set(singles.values())
    if multi or len(distinct) > 1:
        if multi:
            detail = ", ".join(f"{LAYER_LABELS.get(layer, layer)} on {_names(known[layer])}" for layer in multi)
            reason = f"layers disagree ({detail}): {summary}"
        else:
            reason = f"layers disagree: {summary}"
        return row(State.CRIT, "mismatch", reason)
    missing = [layer for layer in ordered if not known[layer]]
    if distinct and missing:
        node = next(iter(distinct))
        labels = ", ".join(LAYER_LABELS.get(layer, layer) for layer in missing)
        return row(State.WARN, f"{node}?", f"no {labels} while the others point at {node}: {summary}")
    if not distinct:
        return row(State.UNKNOWN if unread else State.WARN, "no active node",
                   "no layer reports an active node" + (f" (unreadable: {', '.join(unread)})" if unread else ""))
    node = next(iter(distinct))
    if unread:
        return row(State.UNKNOWN, node, f"cannot compare: {', '.join(unread)} unreadable; {summary}")
    return row(State.OK, node, "")
