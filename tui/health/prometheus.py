"""Health from Prometheus: the one instant query, its answer parsed, and rows judged by the same evaluators
as the SSH probes.

Pure: the HTTP request is made by a `tui.runner.MetricsSource` (see tui.health.sources); this module only
reads the JSON text it returns. `series_query()` asks, in one request per Prometheus and poll, for every
series below plus each target's last scrape time (`timestamp(up)`, tagged hascreen="scraped_at").
`parse_answer(text)` never raises; `MetricsSnapshot.host(addresses)` selects one host's targets (a
target's `instance` label, without its port, must equal the host's name or address in hosts.yaml).
`evaluate_layer(layer, snapshot, cluster, ...)` gives a layer's rows and who it reports active, or the
reason the layer cannot be read from Prometheus (auto then asks SSH for it).

Missing is never zero: a series that is absent, NaN, or whose target's last scrape is older than
`max_age` makes that row `unknown` with the reason; mysqld_exporter drops the lag series while
Seconds_Behind_Master is NULL, so a running replica without it reads "lag unknown". Exporters read:
- mysqld_exporter: mysql_up, mysql_global_variables_read_only / log_bin, mysql_slave_status_* (threads,
  lag, errnos, SQL_Delay; the error texts are not exported, so reasons carry the errno only);
- node_exporter's textfile collector: hascreen_vrrp_state (keepalived's notify script),
  hascreen_ip_address (VIP presence), hascreen_drbd_* (DRBD state written from `drbdsetup status --json`);
- ha_cluster_exporter: ha_cluster_pacemaker_nodes / _resources, ha_cluster_drbd_resources / _connections
  / _connections_sync, and ha_cluster_drbd_split_brain, which exists only when DRBD's split-brain
  handler drops its files in the exporter's directory (absent means "not reported", never "no split").
node_exporter's own DRBD collector (node_drbd_*) is not read: it parses only the 8.4 /proc/drbd format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tui.health import drbd, hamanager, keepalived, mysql, vip
from tui.health.model import CLUSTER_WIDE, HealthRow, State

SOURCE = "prometheus"
SCRAPED_AT_LABEL = ("hascreen", "scraped_at")
SERIES = (
    "up", "mysql_up", "mysql_global_variables_read_only", "mysql_global_variables_log_bin",
    "mysql_slave_status_slave_io_running", "mysql_slave_status_slave_sql_running",
    "mysql_slave_status_seconds_behind_master", "mysql_slave_status_last_sql_errno",
    "mysql_slave_status_last_io_errno", "mysql_slave_status_sql_delay",
    "hascreen_vrrp_state", "hascreen_ip_address", "hascreen_drbd_resource", "hascreen_drbd_connection",
    "hascreen_drbd_sync_percent",
    "ha_cluster_drbd_resources", "ha_cluster_drbd_connections", "ha_cluster_drbd_connections_sync",
    "ha_cluster_drbd_split_brain", "ha_cluster_pacemaker_nodes", "ha_cluster_pacemaker_resources",
)
# ha_cluster_exporter lower-cases DRBD disk states; the evaluators expect DRBD's own spelling.
_DISK_STATES = {name.lower(): name for name in (
    "Diskless", "Attaching", "Detaching", "Failed", "Negotiating", "Inconsistent", "Outdated", "DUnknown",
    "Consistent", "UpToDate")}


def series_query() -> str:
    names = "|".join(SERIES)
    return f'{{__name__=~"{names}"}} or label_replace(timestamp(up), "hascreen", "scraped_at", "", "")'


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Target:
    """One scrape target (an exporter on a host): whether its last scrape worked, and when it was."""

    instance: str
    job: str
    up: bool | None = None
    scraped_at: float | None = None


@dataclass
class HostMetrics:
    """The samples and targets of one host."""

    targets: list[Target] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def series(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name]


@dataclass
class MetricsSnapshot:
    """One answer of Prometheus. `error` set: the whole answer is unusable (down, error, not JSON)."""

    evaluated_at: float | None = None
    by_host: dict[str, HostMetrics] = field(default_factory=dict)  # instance without its port -> metrics
    error: str | None = None

    def host(self, names: Iterable[str]) -> HostMetrics:
        found = HostMetrics()
        for name in dict.fromkeys(names):
            metrics = self.by_host.get(name)
            if metrics is not None:
                found.targets += metrics.targets
                found.samples += metrics.samples
        return found


def instance_host(instance: str) -> str:
    """`10.0.0.1:9100` -> `10.0.0.1`, `[fd00::1]:9100` -> `fd00::1`, `db1` -> `db1`."""
    if instance.startswith("["):
        return instance[1:].split("]", 1)[0]
    host, sep, port = instance.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else instance


def parse_answer(text: str) -> MetricsSnapshot:
    """Read an instant-query answer (`resultType` vector). Never raises."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return MetricsSnapshot(error=f"not a Prometheus answer (invalid JSON: {exc})")
    if not isinstance(data, dict):
        return MetricsSnapshot(error="not a Prometheus answer")
    if data.get("status") != "success":
        return MetricsSnapshot(error=f"Prometheus said {data.get('errorType', 'error')}: {data.get('error', data)}")
    body = data.get("data") or {}
    if body.get("resultType") != "vector" or not isinstance(body.get("result"), list):
        return MetricsSnapshot(error=f"unexpected result type {body.get('resultType')!r}")
    snapshot = MetricsSnapshot()
    targets: dict[tuple[str, str], Target] = {}
    for item in body["result"]:
        try:
            labels = dict(item["metric"])  # JSON label values are strings already
            at, raw = item["value"]
            value = float(raw)  # "NaN", "+Inf" are valid
            snapshot.evaluated_at = float(at)
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        instance = labels.get("instance", "")
        key = (instance, labels.get("job", ""))
        target = targets.get(key)
        if target is None:
            target = targets[key] = Target(instance, key[1])
            snapshot.by_host.setdefault(instance_host(instance), HostMetrics()).targets.append(target)
        if labels.get(SCRAPED_AT_LABEL[0]) == SCRAPED_AT_LABEL[1] and "__name__" not in labels:
            target.scraped_at = value
            continue
        name = labels.pop("__name__", "")
        if name == "up":
            target.up = value == 1
            continue
        snapshot.by_host[instance_host(instance)].samples.append(Sample(name, labels, value))
    return snapshot


# -------------------------------------------------------------------------------------- reading a layer
class LayerUnavailable(Exception):
    """This layer cannot be judged from Prometheus for this cluster; the message says why."""


@dataclass
class HostView:
    """One member's metrics as a layer sees them, with the checks every layer shares."""

    name: str
    metrics: HostMetrics
    now: float
    max_age: float

    def usable(self, series: str, jobs_hint: str) -> list[Sample]:
        """The series' samples, or LayerUnavailable: missing, its target down or stale, or NaN."""
        samples = self.metrics.series(series)
        if not samples:
            down = [t for t in self.metrics.targets if t.up is False]
            if not self.metrics.targets:
                raise LayerUnavailable(f"Prometheus has no target for {self.name}")
            if down:
                raise LayerUnavailable(f"{', '.join(t.instance for t in down)} down (up=0): {series} missing")
            raise LayerUnavailable(f"series {series} missing ({jobs_hint})")
        nan = [s for s in samples if math.isnan(s.value)]
        if nan:
            raise LayerUnavailable(f"{series} is NaN")
        age = self.age_of(samples)
        if age is not None and age > self.max_age:
            raise LayerUnavailable(f"stale: {series} last scraped {age:.0f}s ago (limit {self.max_age:g}s)")
        return samples

    def scraped_at(self, samples: Iterable[Sample]) -> float:
        """When the data behind these samples was scraped (the oldest of their targets)."""
        instances = {s.labels.get("instance") for s in samples}
        times = [t.scraped_at for t in self.metrics.targets if t.instance in instances and t.scraped_at]
        return min(times) if times else self.now

    def age_of(self, samples: Iterable[Sample]) -> float | None:
        instances = {s.labels.get("instance") for s in samples}
        times = [t.scraped_at for t in self.metrics.targets if t.instance in instances and t.scraped_at]
        return max(0.0, self.now - min(times)) if times else None

    def value(self, series: str, jobs_hint: str, **labels: str) -> float | None:
        samples = [s for s in self.usable(series, jobs_hint)
                   if all(s.labels.get(k) == v for k, v in labels.items())]
        return samples[0].value if samples else None


@dataclass
class LayerResult:
    rows: list[HealthRow]
    active: set[str] | None
    observed_at: float
    missing: dict[str, str] = field(default_factory=dict)  # member -> why Prometheus cannot speak for it


def _missing_rows(cluster: str, layer: str, missing: dict[str, str], at: float) -> list[HealthRow]:
    return [HealthRow(cluster, host, layer, State.UNKNOWN, "no data", reason, at, stale=True, source=SOURCE)
            for host, reason in missing.items()]


def _active(found: set[str], missing: dict[str, str]) -> set[str] | None:
    return found if found or not missing else None


def _stamp(rows: list[HealthRow], observed_at: float) -> list[HealthRow]:
    return [replace(r, source=SOURCE, observed_at=observed_at) for r in rows]


def _flag(value: float | None) -> str:
    return "" if value is None else ("Yes" if value == 1 else "No")


_MYSQL_HINT = "mysqld_exporter with --collect.slave_status"


def _replica_channels(view: HostView) -> mysql.ReplicaStatus:
    status = mysql.ReplicaStatus()
    running = view.metrics.series("mysql_slave_status_slave_sql_running")
    for sample in running:
        key = {k: sample.labels.get(k, "") for k in ("master_host", "channel_name", "connection_name")}

        def get(name: str, key: dict[str, str] = key) -> float | None:
            for s in view.metrics.series("mysql_slave_status_" + name):
                if all(s.labels.get(k, "") == v for k, v in key.items()):
                    if math.isnan(s.value):
                        raise LayerUnavailable(f"mysql_slave_status_{name} is NaN")
                    return s.value
            return None

        lag, delay = get("seconds_behind_master"), get("sql_delay")
        sql_errno, io_errno = int(get("last_sql_errno") or 0), int(get("last_io_errno") or 0)
        raw = {"SQL_Delay": str(int(delay))} if delay is not None else {}
        status.channels.append(mysql.ReplicaChannel(
            io_running=_flag(get("slave_io_running")), sql_running=_flag(sample.value),
            seconds_behind=None if lag is None else int(lag),
            seconds_behind_raw=None if lag is not None else "absent (mysqld_exporter drops it while NULL)",
            last_errno=sql_errno, last_error="", last_io_errno=io_errno, last_io_error="",
            last_sql_errno=sql_errno, last_sql_error="", master_host=key["master_host"], master_port="",
            master_log_file="", read_master_log_pos=None, relay_master_log_file="", exec_master_log_pos=None,
            io_state="", sql_state="", connection_name=key["connection_name"] or key["channel_name"],
            naming="slave", raw=raw))
    return status


def _mysql_layer(cluster: Any, views: dict[str, HostView], thresholds: mysql.MysqlThresholds) -> LayerResult:
    settings = cluster.mysql
    master = getattr(settings, "master", None)
    hosts = ([master] if master else []) + [r for r in getattr(settings, "replicas", ()) or () if r != master]
    rows: list[HealthRow] = []
    writable: set[str] = set()
    stamps, missing = [], {}
    for host in hosts:
        view = views[host]
        try:
            up = view.usable("mysql_up", _MYSQL_HINT)
            at = view.scraped_at(up)
            if up[0].value != 1:
                rows += _stamp([HealthRow(cluster.name, host, "mysql", State.CRIT, "no answer",
                                          "mysqld_exporter cannot reach MySQL (mysql_up 0)", at)], at)
                stamps.append(at)
                continue
            read_only_value = view.value("mysql_global_variables_read_only", "mysqld_exporter")
            replica = _replica_channels(view)
        except LayerUnavailable as exc:
            missing[host] = str(exc)
            continue
        stamps.append(at)
        read_only = None if read_only_value is None else read_only_value == 1
        if read_only is False and not any(ch.running for ch in replica.channels):
            writable.add(host)
        if host == master:
            rows += _stamp(_evaluate_master(cluster.name, host, view, read_only, replica, at), at)
        else:
            rows += _stamp(mysql.evaluate_replica(replica, cluster.name, host, observed_at=at,
                                                  read_only=read_only, thresholds=thresholds), at)
    at = min(stamps, default=_now(views))
    return LayerResult(rows + _missing_rows(cluster.name, "mysql", missing, at), _active(writable, missing), at,
                       missing)


def _now(views: dict[str, HostView]) -> float:
    return next(iter(views.values())).now if views else 0.0


def _evaluate_master(cluster: str, host: str, view: HostView, read_only: bool | None,
                     replica: mysql.ReplicaStatus, at: float) -> list[HealthRow]:
    log_bin = view.metrics.series("mysql_global_variables_log_bin")
    value = "master" + (" rw" if read_only is False else " ro" if read_only else "")
    if read_only is None:
        return [HealthRow(cluster, host, "mysql", State.UNKNOWN, value, "read_only unknown", at)]
    if read_only:
        return [HealthRow(cluster, host, "mysql", State.WARN, value,
                          "master is read-only (read_only=ON): applications cannot write", at)]
    if log_bin and log_bin[0].value == 0:
        return [HealthRow(cluster, host, "mysql", State.WARN, value,
                          "binary log is off: replicas cannot follow this master", at)]
    if any(chan.running for chan in replica.channels):
        return [HealthRow(cluster, host, "mysql", State.WARN, value,
                          "master is also replicating from another server", at)]
    return [HealthRow(cluster, host, "mysql", State.OK, value, "", at)]


def _vrrp_layer(cluster: Any, views: dict[str, HostView]) -> LayerResult:
    instance = getattr(cluster.keepalived, "instance", "") or ""
    nodes: dict[str, keepalived.VrrpNodeView] = {}
    stamps, missing = [], {}
    for host, view in views.items():
        node = nodes[host] = keepalived.VrrpNodeView(source=SOURCE)
        try:
            samples = view.usable("hascreen_vrrp_state", "node_exporter textfile from keepalived's notify script")
        except LayerUnavailable as exc:
            node.error = missing[host] = str(exc)
            continue
        stamps.append(view.scraped_at(samples))
        current = [s for s in samples if s.value == 1 and s.labels.get("vrrp_instance", instance) == instance]
        if current:
            node.state = current[0].labels.get("state", "").upper() or None
        else:
            node.error = missing[host] = f"no current hascreen_vrrp_state for {instance}"
    at = min(stamps, default=_now(views))
    rows = [keepalived.evaluate_vrrp_node(v, cluster.name, h, instance, observed_at=at) for h, v in nodes.items()]
    rows = [replace(r, stale=r.node in missing) for r in rows]
    rows.append(keepalived.evaluate_vrrp_cluster(nodes, cluster.name, instance, observed_at=at))
    masters = {h for h, v in nodes.items() if v.state == "MASTER"}
    return LayerResult(_stamp(rows, at), _active(masters, missing), at, missing)


def _vip_layer(cluster: Any, views: dict[str, HostView]) -> LayerResult:
    settings = cluster.vip
    address, interface = str(settings.address), getattr(settings, "interface", None)
    reports: dict[str, vip.IpAddrReport | None] = {}
    stamps, missing = [], {}
    for host, view in views.items():
        try:
            samples = view.usable("hascreen_ip_address", "node_exporter textfile of `ip -o addr`")
        except LayerUnavailable as exc:
            missing[host], reports[host] = str(exc), None
            continue
        stamps.append(view.scraped_at(samples))
        # only the VIP matters to the verdict: the node's other addresses are not parsed
        lines = [f"0: {s.labels.get('interface', '?')}    inet{'6' if ':' in address else ''} "
                 f"{s.labels.get('address')}/{s.labels.get('prefix') or 32} scope global"
                 for s in samples if s.value == 1 and s.labels.get("address") == address]
        reports[host] = vip.parse_ip_addr("\n".join(lines) + "\n")
    at = min(stamps, default=_now(views))
    rows = vip.evaluate_vip(reports, cluster.name, address, observed_at=at, interface=interface)
    rows = [r if r.node not in missing else HealthRow(cluster.name, r.node, "vip", State.UNKNOWN, "no data",
                                                      missing[r.node], at, address, stale=True) for r in rows]
    holders = {h for h, r in reports.items() if r is not None and r.find(address) is not None}
    return LayerResult(_stamp(rows, at), _active(holders, missing), at, missing)


def _drbd_status(view: HostView) -> drbd.DrbdStatus:
    """DRBD state from the textfile (hascreen_drbd_*) or from ha_cluster_exporter (ha_cluster_drbd_*)."""
    if view.metrics.series("hascreen_drbd_resource"):
        resources = view.usable("hascreen_drbd_resource", "node_exporter textfile of drbdsetup status --json")
        connections = view.metrics.series("hascreen_drbd_connection")
        syncs = view.metrics.series("hascreen_drbd_sync_percent")
        peer_key, kind = "peer", "hascreen"
    else:
        resources = view.usable("ha_cluster_drbd_resources", "ha_cluster_exporter, or the DRBD textfile")
        connections = view.metrics.series("ha_cluster_drbd_connections")
        syncs = view.metrics.series("ha_cluster_drbd_connections_sync")
        peer_key, kind = "peer_node_id", "ha_cluster"
    if any(math.isnan(s.value) for s in syncs):
        raise LayerUnavailable("DRBD sync percent is NaN")
    status = drbd.DrbdStatus(source=SOURCE)
    for sample in resources:
        if sample.value != 1:
            continue
        name = sample.labels.get("resource", "")
        disk = _DISK_STATES.get(sample.labels.get("disk_state", "").lower(), sample.labels.get("disk_state"))
        res = drbd.DrbdResource(name=name, role=sample.labels.get("role"), devices=[drbd.DrbdDevice(disk=disk)])
        for conn in (c for c in connections if c.labels.get("resource") == name and c.value == 1):
            peer = conn.labels.get(peer_key, "")
            peer_disk = _DISK_STATES.get(conn.labels.get("peer_disk_state", "").lower(), "DUnknown")
            if kind == "hascreen":
                state, replication = conn.labels.get("connection_state"), conn.labels.get("replication_state")
            else:
                # ha_cluster_exporter has no connection state: an unknown peer disk means not connected
                state = "Connected" if peer_disk != "DUnknown" else "Unconnected"
                replication = "Established" if state == "Connected" else "Off"
            done = next((s.value for s in syncs if s.labels.get("resource") == name and s.labels.get(peer_key) == peer),
                        None)
            device = drbd.DrbdPeerDevice(replication=replication, peer_disk=peer_disk,
                                         done=done if replication in ("SyncSource", "SyncTarget") else None)
            res.connections.append(drbd.DrbdConnection(name=peer, connection=state,
                                                       role=conn.labels.get("peer_role"), devices=[device]))
        status.resources.append(res)
    return status


def _drbd_layer(cluster: Any, views: dict[str, HostView], thresholds: drbd.DrbdThresholds) -> LayerResult:
    resources = list(getattr(cluster.drbd, "resources", ()) or ())
    statuses, rows, stamps, missing = {}, [], [], {}
    split: list[str] = []
    for host, view in views.items():
        try:
            statuses[host] = _drbd_status(view)
        except LayerUnavailable as exc:
            missing[host] = str(exc)
            continue
        stamps.append(view.scraped_at(view.metrics.series("hascreen_drbd_resource")
                                      or view.metrics.series("ha_cluster_drbd_resources")))
        split += [f"{host}:{s.labels.get('resource')}" for s in view.metrics.series("ha_cluster_drbd_split_brain")
                  if s.value == 1]
    at = min(stamps, default=_now(views))
    rows += _missing_rows(cluster.name, "drbd", missing, at)
    for host, status in statuses.items():
        rows += drbd.evaluate_drbd(status, cluster.name, host, observed_at=at, resources=resources,
                                   thresholds=thresholds)
    rows += drbd.evaluate_drbd_cluster(statuses, cluster.name, observed_at=at, resources=resources)
    if split:
        rows.append(HealthRow(cluster.name, CLUSTER_WIDE, "drbd", State.CRIT, "split brain",
                              "split brain reported by DRBD's handler (ha_cluster_drbd_split_brain): "
                              + ", ".join(split), at, "split-brain-handler"))
    primaries = {h for h, st in statuses.items()
                 if any(r.role == "Primary" for r in st.resources if not resources or r.name in resources)}
    return LayerResult(_stamp(rows, at), _active(primaries, missing), at, missing)


def _pacemaker_layer(cluster: Any, views: dict[str, HostView]) -> LayerResult:
    settings = getattr(cluster, "pacemaker", None)
    names = {h: (getattr(settings, "node_names", None) or {}).get(h, h) for h in views}
    problems = []
    for host, view in views.items():  # the first member whose exporter answers speaks for the cluster
        try:
            node_samples = view.usable("ha_cluster_pacemaker_nodes", "ha_cluster_exporter")
        except LayerUnavailable as exc:
            problems.append(f"{host}: {exc}")
            continue
        resource_samples = view.metrics.series("ha_cluster_pacemaker_resources")
        status = hamanager.PacemakerStatus(schema="ha_cluster_exporter")
        flags: dict[str, dict[str, bool]] = {}
        for s in node_samples:
            flags.setdefault(s.labels.get("node", ""), {})[s.labels.get("status", "")] = s.value == 1
        for node, f in flags.items():
            status.nodes.append(hamanager.PcmkNode(node, online=f.get("online"), standby=f.get("standby", False),
                                                   maintenance=f.get("maintenance", False),
                                                   pending=f.get("pending", False), unclean=f.get("unclean", False),
                                                   is_dc=f.get("dc", False)))
            if f.get("dc"):
                status.dc = node
        status.dc_present = status.dc is not None
        seen: dict[tuple[str, str], hamanager.PcmkResource] = {}
        for s in resource_samples:
            key = (s.labels.get("resource", ""), s.labels.get("node", ""))
            res = seen.get(key)
            if res is None:
                role = s.labels.get("role", "").capitalize() or None
                res = seen[key] = hamanager.PcmkResource(key[0], agent=s.labels.get("agent"), role=role,
                                                         nodes=[key[1]] if key[1] else [],
                                                         managed=s.labels.get("managed") != "false")
                status.resources.append(res)
            if s.labels.get("status") == "active":
                res.active = s.value == 1
            elif s.labels.get("status") == "failed" and s.value == 1:
                res.failed = True
        at = view.scraped_at(node_samples)
        rows = hamanager.evaluate_pacemaker(status, cluster.name, list(names.values()), observed_at=at,
                                            reporter=host)
        by_node = {v: k for k, v in names.items()}
        rows = [replace(r, node=by_node.get(r.node, r.node)) for r in rows]
        watched = list(getattr(settings, "resources", ()) or ())
        active: set[str] = set()
        for resource in watched or [None]:
            active |= hamanager.pacemaker_active_nodes(status, resource)
        return LayerResult(_stamp(rows, at), {by_node.get(n, n) for n in active}, at)
    raise LayerUnavailable("; ".join(problems))


def evaluate_layer(layer: str, snapshot: MetricsSnapshot, cluster: Any, addresses: Mapping[str, str], *,
                   max_age: float, drbd_thresholds: drbd.DrbdThresholds = drbd.DrbdThresholds(),
                   mysql_thresholds: mysql.MysqlThresholds = mysql.MysqlThresholds()) -> LayerResult:
    """One layer (drbd, mysql, vrrp, ha, vip) of one cluster from a snapshot; LayerUnavailable with the
    reason when Prometheus cannot answer for it."""
    if snapshot.error:
        raise LayerUnavailable(snapshot.error)
    now = snapshot.evaluated_at or 0.0
    hosts = list(cluster.members)
    if layer == "mysql":
        settings = cluster.mysql
        hosts = list(dict.fromkeys(([settings.master] if settings.master else []) + list(settings.replicas or ())))
    views = {h: HostView(h, snapshot.host([h, addresses.get(h, h)]), now, max_age) for h in hosts}
    if layer == "mysql":
        return _mysql_layer(cluster, views, mysql_thresholds)
    if layer == "vrrp":
        return _vrrp_layer(cluster, views)
    if layer == "vip":
        return _vip_layer(cluster, views)
    if layer == "drbd":
        return _drbd_layer(cluster, views, drbd_thresholds)
    if layer == "ha" and getattr(cluster, "manager", "") == "pacemaker":
        return _pacemaker_layer(cluster, views)
    raise LayerUnavailable(f"no exporter for the {layer} layer of a {getattr(cluster, 'manager', '?')} cluster")


def host_rows(snapshot: MetricsSnapshot, cluster: Any, addresses: Mapping[str, str],
              max_age: float) -> tuple[list[HealthRow], dict[str, str]]:
    """Per member: a crit row when every one of its targets is down (up=0), as an unreachable host is
    over SSH; an unknown row when Prometheus has no target for it or its scrapes are stale. Returns the
    rows and the members judged unreachable (with the reason)."""
    rows, unreachable = [], {}
    now = snapshot.evaluated_at or 0.0
    for host in cluster.members:
        metrics = snapshot.host([host, addresses.get(host, host)])
        if not metrics.targets:
            continue  # nothing scrapes this host: its layers say so (auto asks SSH)
        if all(t.up is False for t in metrics.targets):
            reason = "all its exporters down (up=0): " + ", ".join(t.instance for t in metrics.targets)
            times = [t.scraped_at for t in metrics.targets if t.scraped_at]
            at = min(times) if times else now
            rows.append(HealthRow(cluster.name, host, "host", State.CRIT, "unreachable", reason, at, stale=True,
                                  source=SOURCE))
            unreachable[host] = reason
    return rows, unreachable
