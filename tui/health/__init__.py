"""Cluster health: pure parsers of the HA tools' outputs, verdicts as rows, probes over a Runner, the same
verdicts from Prometheus's answers, a timeline.

Stdlib only; probes receive a `tui.runner.Runner` (one script per host per poll, `host_script`) and the
Prometheus path a `tui.runner.MetricsSource`; neither opens connections. Entry points:
`probe_cluster(runner, cluster) -> ClusterHealth`, `check_clusters` (one shot), `HealthPoller` (the server's
loop), both choosing each cluster's source in `sources`; `HealthTracker` (timeline), `exit_code`,
`render_text`, `render_json`. The parsers live in `drbd`, `mysql`, `keepalived`, `hamanager`, `vip` and
`prometheus`.
"""

from tui.health.model import CLUSTER_WIDE, STATE_SYMBOLS, ClusterHealth, HealthRow, State, worst
from tui.health.poller import HealthPoller, check_clusters
from tui.health.probes import HostLimiter, ProbeMemory, ProbeSettings, probe_cluster
from tui.health.report import exit_code, render_json, render_text
from tui.health.tracker import HealthEvent, HealthTracker

__all__ = [
    "CLUSTER_WIDE", "STATE_SYMBOLS", "ClusterHealth", "HealthEvent", "HealthPoller", "HealthRow", "HealthTracker",
    "HostLimiter", "ProbeMemory", "ProbeSettings", "State", "check_clusters", "exit_code", "probe_cluster",
    "render_json", "render_text", "worst",
]
