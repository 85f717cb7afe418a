"""DRBD parsers and their health verdicts.

Four real formats become one model (`DrbdStatus` → resources → local devices and peer connections):
- DRBD 8.x `/proc/drbd` (`parse_proc_drbd`; the raw per-minor fields are kept in `proc_devices`),
- DRBD 9 `drbdadm status` / `drbdsetup status [--verbose --statistics]` text (`parse_drbd_status_text`),
- `drbdsetup status --json` (`parse_drbd_status_json`),
- `drbdsetup events2` (`--now` or a stream, `--timestamps`, `--statistics`, `--diff`) (`parse_drbd_events2`).
Parsers never raise on bad input: what they cannot read goes to `errors`, and an empty result evaluates to
"unknown". `evaluate_drbd` turns one node's status into rows; `evaluate_drbd_cluster` adds the verdicts that
need both sides (split brain).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from tui.health.model import CLUSTER_WIDE, HealthRow, State

# 8.4 `cs:` values that mean "no connection to the peer" (the others imply Connected plus a replication state).
_UNCONNECTED_CS = {
    "StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe", "NetworkFailure",
    "ProtocolError", "TearDown", "WFConnection", "WFReportParams", "Connecting",
}
_SYNC_STATES = {"SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT", "StartingSyncS", "StartingSyncT",
                "WFBitMapS", "WFBitMapT", "WFSyncUUID"}
_VERIFY_STATES = {"VerifyS", "VerifyT"}
PROC_DRBD_PEER = "peer"  # /proc/drbd does not name the peer
_KERNEL_SPLIT_BRAIN = re.compile(r"Split-Brain detected", re.IGNORECASE)


@dataclass
class DrbdPeerDevice:
    volume: int | None = None
    replication: str | None = None
    peer_disk: str | None = None
    done: float | None = None  # resync percent
    out_of_sync: int | None = None  # KiB
    eta: int | None = None  # seconds
    resync_suspended: str | None = None
    stalled: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class DrbdConnection:
    name: str
    node_id: int | None = None
    connection: str | None = None
    role: str | None = None
    devices: list[DrbdPeerDevice] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class DrbdDevice:
    volume: int | None = None
    minor: int | None = None
    disk: str | None = None
    quorum: bool | None = None
    client: bool | None = None
    size: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class DrbdResource:
    name: str
    role: str | None = None
    node_id: int | None = None
    suspended: str | None = None
    may_promote: bool | None = None
    promotion_score: int | None = None
    devices: list[DrbdDevice] = field(default_factory=list)
    connections: list[DrbdConnection] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Drbd84Sync:
    percent: float | None = None
    done: int | None = None  # remaining, as printed: (done/total)
    total: int | None = None
    unit: str | None = None  # "K" or "M"
    finish: str | None = None
    speed: int | None = None  # K/sec
    speed_avg: int | None = None
    stalled: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Drbd84Device:
    """One minor of /proc/drbd, as printed."""

    minor: int
    cs: str
    role: str | None
    peer_role: str | None
    disk: str | None
    peer_disk: str | None
    protocol: str | None
    flags: str | None
    counters: dict[str, str] = field(default_factory=dict)
    sync: Drbd84Sync | None = None


@dataclass
class DrbdHelperCall:
    resource: str
    helper: str
    status: int | None  # None while only the call was seen


@dataclass
class DrbdStatus:
    source: str  # proc_drbd | status_text | status_json | events2
    version: str | None = None
    resources: list[DrbdResource] = field(default_factory=list)
    proc_devices: list[Drbd84Device] = field(default_factory=list)
    helpers: list[DrbdHelperCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def resource(self, name: str) -> DrbdResource | None:
        return next((res for res in self.resources if res.name == name), None)


def _int(value: object) -> int | None:
    try:
        return int(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    return None


# --------------------------------------------------------------------------------------------- /proc/drbd
_VERSION = re.compile(r"^version:\s*(\S+)")
_MINOR = re.compile(r"^\s*(\d+):\s+cs:(\S+)(.*)$")
_SYNC = re.compile(
    r"sync'ed:\s*([\d.]+)%\s*\(([\d,]+)/([\d,]+)\)([KMG])?", re.IGNORECASE
)
_FINISH = re.compile(r"finish:\s*(\S+)\s+speed:\s*([\d,]+)(?:\s*\(([\d,]+)\))?")


def parse_proc_drbd(text: str) -> DrbdStatus:
    """Parse /proc/drbd of DRBD 8.x. DRBD 9's /proc/drbd holds only the version: that yields no resources."""
    status = DrbdStatus(source="proc_drbd")
    current: Drbd84Device | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _VERSION.match(line)
        if match:
            status.version = match.group(1)
            continue
        match = _MINOR.match(line)
        # A wrapped GIT-hash line can start with a digit ("2 23:52:00"), so a device line needs "cs:".
        if match:
            current = _parse_minor_line(int(match.group(1)), match.group(2), match.group(3))
            status.proc_devices.append(current)
            continue
        if current is None:
            continue  # header lines (GIT-hash, srcversion, wrapped build dates, transports)
        stripped = line.strip()
        if stripped.startswith(("ns:", "nr:")) or re.match(r"^[a-z]{2}:\S+( [a-z]{2}:\S+)+$", stripped):
            for token in stripped.split():
                key, _, value = token.partition(":")
                current.counters[key] = value
            continue
        sync_match = _SYNC.search(stripped)
        if sync_match:
            current.sync = current.sync or Drbd84Sync()
            current.sync.percent = _float(sync_match.group(1))
            current.sync.done = _int(sync_match.group(2))
            current.sync.total = _int(sync_match.group(3))
            current.sync.unit = sync_match.group(4)
            rest = stripped[sync_match.end():].split()
            for key, value in zip(rest[::2], rest[1::2], strict=False):
                current.sync.extra[key.rstrip(":")] = value
            continue
        finish = _FINISH.search(stripped)
        if finish and current.sync is not None:
            current.sync.finish = finish.group(1)
            current.sync.speed = _int(finish.group(2))
            current.sync.speed_avg = _int(finish.group(3))
            continue
        if stripped == "stalled" and current.sync is not None:
            current.sync.stalled = True
            continue
        status.errors.append(f"unrecognised line: {stripped[:80]}")
    if status.version is None:
        status.errors.append("no 'version:' line: not a /proc/drbd output")
    elif not status.version.startswith("8.") and not status.proc_devices:
        status.errors.append(f"DRBD {status.version}: /proc/drbd has no device status (use drbdadm status)")
    status.resources = [_resource_from_84(dev) for dev in status.proc_devices]
    return status


def _parse_minor_line(minor: int, cs: str, rest: str) -> Drbd84Device:
    fields: dict[str, str] = {}
    loose: list[str] = []
    for token in rest.split():
        key, sep, value = token.partition(":")
        if sep:
            fields[key] = value
        else:
            loose.append(token)
    role, _, peer_role = fields.get("ro", fields.get("st", "")).partition("/")
    disk, _, peer_disk = fields.get("ds", "").partition("/")
    protocol = next((tok for tok in loose if tok in ("A", "B", "C")), None)
    flags = next((tok for tok in loose if tok not in ("A", "B", "C")), None)
    return Drbd84Device(
        minor=minor, cs=cs, role=role or None, peer_role=peer_role or None, disk=disk or None,
        peer_disk=peer_disk or None, protocol=protocol, flags=flags,
    )


def _resource_from_84(dev: Drbd84Device) -> DrbdResource:
    """Map one 8.4 minor onto the DRBD 9 model: one resource, one volume, one peer."""
    if dev.cs in _UNCONNECTED_CS:
        connection, replication = dev.cs, "Off"
    else:
        connection, replication = "Connected", ("Established" if dev.cs == "Connected" else dev.cs)
    peer_device = DrbdPeerDevice(
        volume=0, replication=replication, peer_disk=dev.peer_disk, out_of_sync=_int(dev.counters.get("oos")),
    )
    if dev.sync is not None:
        peer_device.done = dev.sync.percent
        peer_device.stalled = dev.sync.stalled
        peer_device.eta = _eta_seconds(dev.sync.finish)
    return DrbdResource(
        name=f"drbd{dev.minor}", role=dev.role,
        devices=[DrbdDevice(volume=0, minor=dev.minor, disk=dev.disk)],
        connections=[DrbdConnection(name=PROC_DRBD_PEER, connection=connection, role=dev.peer_role, devices=[peer_device])],
    )


def _eta_seconds(finish: str | None) -> int | None:
    if not finish:
        return None
    parts = finish.split(":")
    if not all(part.isdigit() for part in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


# ------------------------------------------------------------------------------------ drbdadm status text
def _tokens(text: str) -> list[tuple[str, str]]:
    pairs = []
    for token in text.split():
        key, sep, value = token.partition(":")
        if sep:
            pairs.append((key, value))
    return pairs


def parse_drbd_status_text(text: str) -> DrbdStatus:
    """Parse `drbdadm status` / `drbdsetup status [--verbose --statistics]` (also hand-wrapped doc copies)."""
    status = DrbdStatus(source="status_text")
    resource: DrbdResource | None = None
    connection: DrbdConnection | None = None
    last: object = None  # the object a continuation line belongs to
    for raw in text.splitlines():
        if not raw.strip():
            continue  # resources are separated by blank lines; the next one starts at column 0
        indent = len(raw) - len(raw.lstrip(" "))
        first, _, rest = raw.strip().partition(" ")
        if indent == 0:
            pairs = _tokens(rest)
            if ":" in first or not pairs:
                status.errors.append(f"unrecognised line: {raw.strip()[:80]}")
                resource = connection = last = None
                continue
            resource = DrbdResource(name=first)
            status.resources.append(resource)
            connection = None
            _apply(resource, pairs)
            last = resource
            continue
        if resource is None:
            status.errors.append(f"line outside a resource: {raw.strip()[:80]}")
            continue
        if indent == 2 and ":" not in first:
            connection = DrbdConnection(name=first)
            resource.connections.append(connection)
            _apply(connection, _tokens(rest))
            last = connection
        elif indent == 2:
            device = DrbdDevice()
            resource.devices.append(device)
            _apply(device, _tokens(raw))
            last = device
        elif indent == 4 and connection is not None and isinstance(last, DrbdConnection | DrbdPeerDevice):
            peer_device = DrbdPeerDevice()
            connection.devices.append(peer_device)
            _apply(peer_device, _tokens(raw))
            last = peer_device
        else:
            _apply(last, _tokens(raw))
    for res in status.resources:
        for conn in res.connections:
            if conn.connection is None and conn.role is not None:
                conn.connection = "Connected"  # drbdadm prints connection: only when it is not Connected
    if not status.resources and not status.errors:
        status.errors.append("no resources in output")
    return status


def _new_value(value: str) -> str:
    """`events2 --diff` prints `old->new`; only the new value is a state."""
    return value.rpartition("->")[2] if "->" in value else value


def _text(value: str) -> str:
    return value


# key printed by drbdadm/drbdsetup/events2 → (attribute, converter), and the keys that name the object
_FIELDS: dict[type, tuple[dict[str, tuple[str, object]], tuple[str, ...]]] = {
    DrbdResource: ({"role": ("role", _text), "node-id": ("node_id", _int), "suspended": ("suspended", _text),
                    "may_promote": ("may_promote", _yes_no), "promotion_score": ("promotion_score", _int)},
                   ("name",)),
    DrbdConnection: ({"connection": ("connection", _text), "role": ("role", _text),
                      "node-id": ("node_id", _int), "peer-node-id": ("node_id", _int)},
                     ("name", "conn-name")),
    DrbdDevice: ({"volume": ("volume", _int), "minor": ("minor", _int), "disk": ("disk", _text),
                  "quorum": ("quorum", _yes_no), "client": ("client", _yes_no), "size": ("size", _int)},
                 ("name",)),
    # older drbdadm prints the peer's disk as "disk:"
    DrbdPeerDevice: ({"volume": ("volume", _int), "replication": ("replication", _text),
                      "peer-disk": ("peer_disk", _text), "disk": ("peer_disk", _text), "done": ("done", _float),
                      "out-of-sync": ("out_of_sync", _int), "eta": ("eta", _int),
                      "resync-suspended": ("resync_suspended", _text)},
                     ("name", "conn-name", "peer-node-id")),
}


def _apply(target: object, pairs: list[tuple[str, str]]) -> None:
    """Set the fields a line names on the object it describes; unknown keys are kept in `extra`."""
    known = _FIELDS.get(type(target))
    if known is None:  # a continuation line with nothing to continue
        return
    fields, naming = known
    for key, value in pairs:
        value = _new_value(value)
        if key in fields:
            attribute, convert = fields[key]
            setattr(target, attribute, convert(value))  # type: ignore[operator]
        elif key not in naming:
            target.extra[key] = value  # type: ignore[attr-defined]


# -------------------------------------------------------------------------------------- status --json
def parse_drbd_status_json(text: str) -> DrbdStatus:
    """Parse `drbdsetup status --json` (a JSON array of resources)."""
    status = DrbdStatus(source="status_json")
    try:
        data = json.loads(text)
    except ValueError as exc:
        status.errors.append(f"not JSON: {exc}")
        return status
    if not isinstance(data, list):
        status.errors.append("expected a JSON array of resources")
        return status
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            status.errors.append("resource entry without a name")
            continue
        res = DrbdResource(
            name=item["name"], role=_str(item.get("role")), node_id=_int(item.get("node-id")),
            suspended=_str(item.get("suspended")),
        )
        if "write-ordering" in item:
            res.extra["write-ordering"] = str(item["write-ordering"])
        for dev in _list(item.get("devices")):
            res.devices.append(DrbdDevice(
                volume=_int(dev.get("volume")), minor=_int(dev.get("minor")), disk=_str(dev.get("disk-state")),
                quorum=_yes_no(dev["quorum"]) if "quorum" in dev else None,
                client=_yes_no(dev["client"]) if "client" in dev else None, size=_int(dev.get("size")),
                extra={k: str(v) for k, v in dev.items() if k in ("read", "written", "al-writes", "bm-writes")},
            ))
        for conn in _list(item.get("connections")):
            connection = DrbdConnection(
                name=str(conn.get("name", conn.get("peer-node-id", "?"))), node_id=_int(conn.get("peer-node-id")),
                connection=_str(conn.get("connection-state")), role=_str(conn.get("peer-role")),
            )
            for pdev in _list(conn.get("peer_devices", conn.get("peer-devices"))):
                in_sync = _float(pdev.get("percent-in-sync"))
                connection.devices.append(DrbdPeerDevice(
                    volume=_int(pdev.get("volume")), replication=_str(pdev.get("replication-state")),
                    peer_disk=_str(pdev.get("peer-disk-state")), out_of_sync=_int(pdev.get("out-of-sync")),
                    done=in_sync if pdev.get("has-sync-details") else None,
                    resync_suspended=_str(pdev.get("resync-suspended")),
                    extra={"percent-in-sync": str(in_sync)} if in_sync is not None else {},
                ))
            res.connections.append(connection)
        status.resources.append(res)
    return status


def _str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _list(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------------ events2
_EVENT = re.compile(
    r"^(?:(\d{4}-\d\d-\d\dT\S+)\s+)?(exists|create|change|destroy|call|response)\s+(\S+)(.*)$"
)


def parse_drbd_events2(text: str) -> DrbdStatus:
    """Replay `drbdsetup events2` output (initial `exists` dump and/or change stream) to its final state."""
    status = DrbdStatus(source="events2")
    resources: dict[str, DrbdResource] = {}
    order: list[str] = []
    pending: list[str] = []
    for raw in text.splitlines():
        if raw[:1] in (" ", "\t") and pending:
            pending[-1] += " " + raw.strip()  # hand-wrapped continuation of the previous event
        elif raw.strip():
            pending.append(raw.strip())
    for line in pending:
        match = _EVENT.match(line)
        if not match:
            status.errors.append(f"unrecognised event: {line[:80]}")
            continue
        _, kind, obj, rest = match.groups()
        if obj == "-":
            continue  # "exists -": end of the initial state dump
        fields = dict(_tokens(rest))
        name = fields.get("name")
        if name is None:
            status.errors.append(f"event without a name: {line[:80]}")
            continue
        if kind == "destroy" and obj == "resource":
            resources.pop(name, None)
            continue
        res = resources.get(name)
        if res is None:
            res = resources[name] = DrbdResource(name=name)
            order.append(name)
        pairs = [(key, value) for key, value in _tokens(rest) if key != "name"]
        if obj == "resource":
            _apply(res, pairs)
        elif obj == "device":
            volume = _int(fields.get("volume"))
            dev = next((d for d in res.devices if d.volume == volume), None)
            if kind == "destroy":
                res.devices = [d for d in res.devices if d is not dev]
                continue
            if dev is None:
                dev = DrbdDevice(volume=volume)
                res.devices.append(dev)
            _apply(dev, pairs)
        elif obj in ("connection", "peer-device", "path"):
            conn_key = fields.get("conn-name") or fields.get("peer-node-id") or "?"
            conn = next((c for c in res.connections if c.name == conn_key
                         or (c.node_id is not None and str(c.node_id) == fields.get("peer-node-id"))), None)
            if kind == "destroy" and obj == "connection":
                res.connections = [c for c in res.connections if c is not conn]
                continue
            if conn is None:
                conn = DrbdConnection(name=conn_key)
                res.connections.append(conn)
            if obj == "connection":
                _apply(conn, pairs)
            elif obj == "path":
                conn.extra["path-established"] = _new_value(fields.get("established", ""))
            else:
                volume = _int(fields.get("volume"))
                pdev = next((p for p in conn.devices if p.volume == volume), None)
                if kind == "destroy":
                    conn.devices = [p for p in conn.devices if p is not pdev]
                    continue
                if pdev is None:
                    pdev = DrbdPeerDevice(volume=volume)
                    conn.devices.append(pdev)
                _apply(pdev, pairs)
                if "done" not in fields and pdev.replication not in _SYNC_STATES:
                    pdev.done = None  # a finished resync leaves no progress behind
        elif obj == "helper":
            helper = fields.get("helper", "?")
            if kind == "call":
                status.helpers.append(DrbdHelperCall(name, helper, None))
            else:
                call = next((h for h in reversed(status.helpers) if h.helper == helper and h.status is None), None)
                code = _int(fields.get("status"))
                if call is None:
                    status.helpers.append(DrbdHelperCall(name, helper, code))
                else:
                    call.status = code
    status.resources = [resources[name] for name in order if name in resources]
    if not status.resources and not status.errors:
        status.errors.append("no DRBD objects in events2 output")
    return status


def parse_drbd(text: str) -> DrbdStatus:
    """Pick the parser by the shape of the output (for probes that accept several commands' outputs)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return parse_drbd_status_json(text)
    if stripped.startswith("version:"):
        return parse_proc_drbd(text)
    first = stripped.splitlines()[0] if stripped else ""
    if _EVENT.match(first):
        return parse_drbd_events2(text)
    return parse_drbd_status_text(text)


def kernel_reports_split_brain(kernel_log: str) -> bool:
    """True when the kernel log holds DRBD's "Split-Brain detected" message."""
    return bool(_KERNEL_SPLIT_BRAIN.search(kernel_log or ""))


# ------------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class DrbdThresholds:
    allow_dual_primary: bool = False


def describe_resource(res: DrbdResource) -> str:
    """The panel value: role/peer role, connection, disk/peer disk and sync progress, in one short line."""
    peers = res.connections
    peer_roles = ",".join(c.role or "?" for c in peers) or "-"
    disks = ",".join(d.disk or "?" for d in res.devices) or "?"
    peer_disks = ",".join(p.peer_disk or "?" for c in peers for p in c.devices) or "-"
    conns = ",".join(c.connection or "?" for c in peers) or "no peers"
    text = f"{res.role or '?'}/{peer_roles} {conns} {disks}/{peer_disks}"
    syncing = [p for c in peers for p in c.devices if p.replication in _SYNC_STATES | _VERIFY_STATES]
    for pdev in syncing:
        text += f" {pdev.replication}"
        if pdev.done is not None:
            text += f" {pdev.done:.1f}%"
        if pdev.eta is not None:
            text += f" eta {pdev.eta}s"
    oos = sum(p.out_of_sync or 0 for c in peers for p in c.devices)
    if oos:
        text += f" oos {oos}K"
    return text


def evaluate_drbd(
    status: DrbdStatus, cluster: str, node: str, *, observed_at: float, resources: list[str] | None = None,
    kernel_log: str = "", thresholds: DrbdThresholds = DrbdThresholds(),
) -> list[HealthRow]:
    """One row per DRBD resource on this node (only `resources` when given)."""

    def row(subject: str, state: State, value: str, reason: str = "") -> HealthRow:
        return HealthRow(cluster, node, "drbd", state, value, reason, observed_at, subject)

    wanted = list(resources) if resources else [res.name for res in status.resources]
    if not status.resources and not wanted:
        reason = "; ".join(status.errors) or "no DRBD resources"
        return [row("", State.UNKNOWN, "unknown", reason)]
    rows = []
    split_brain_msg = kernel_reports_split_brain(kernel_log)
    for name in wanted:
        res = status.resource(name)
        if res is None:
            reason = "; ".join(status.errors) if status.errors else f"resource {name} not in output (down?)"
            rows.append(row(name, State.UNKNOWN if status.errors else State.CRIT, "absent", reason))
            continue
        state, reason = _judge_resource(res, thresholds)
        if split_brain_msg:
            state, reason = State.CRIT, "split brain: kernel log says 'Split-Brain detected'"
        rows.append(row(name, state, describe_resource(res), reason))
    return rows


def _judge_resource(res: DrbdResource, thresholds: DrbdThresholds) -> tuple[State, str]:
    """The worst finding about one resource, as (state, reason)."""
    findings: list[tuple[State, str]] = []
    if res.role is None or res.role == "Unknown":
        findings.append((State.UNKNOWN, "local role unknown"))
    disks = [d for d in res.devices]
    local_uptodate = any(d.disk == "UpToDate" for d in disks)
    for dev in disks:
        label = f"volume {dev.volume}" if len(disks) > 1 else "local disk"
        if dev.quorum is False:
            findings.append((State.CRIT, f"{label}: lost quorum (I/O may be frozen)"))
        if dev.disk in ("Failed", "Detaching"):
            findings.append((State.CRIT, f"{label} {dev.disk}: backing device I/O error"))
        elif dev.disk == "Diskless" and not dev.client:
            findings.append((State.WARN, f"{label} Diskless: backing disk detached, I/O goes over the network"))
        elif dev.disk in ("Outdated", "Consistent", "Negotiating", "Attaching"):
            findings.append((State.WARN, f"{label} {dev.disk}"))
    for conn in res.connections:
        peer = "the peer" if conn.name == PROC_DRBD_PEER else f"peer {conn.name}"
        if conn.connection == "StandAlone":
            findings.append((State.CRIT, f"StandAlone towards {peer}: not replicating and will not reconnect "
                                         "(split brain or manual disconnect)"))
        elif conn.connection and conn.connection != "Connected":
            findings.append((State.WARN, f"{peer} not connected ({conn.connection})"))
        if (res.role == "Primary" and conn.role == "Primary" and conn.connection == "Connected"
                and not thresholds.allow_dual_primary):
            findings.append((State.CRIT, f"both Primary (this node and {peer}): dual-primary / split brain risk"))
        for pdev in conn.devices:
            if pdev.stalled:
                findings.append((State.CRIT, f"resync to {peer} stalled"
                                             + (f" at {pdev.done:.1f}%" if pdev.done is not None else "")))
            elif pdev.replication in _SYNC_STATES:
                done = f" {pdev.done:.1f}%" if pdev.done is not None else ""
                if pdev.resync_suspended not in (None, "no"):
                    findings.append((State.WARN, f"resync {pdev.replication}{done} with {peer} suspended "
                                                 f"({pdev.resync_suspended})"))
                else:
                    findings.append((State.WARN, f"resync {pdev.replication}{done} with {peer}"))
            elif conn.connection == "Connected" and pdev.peer_disk in ("Inconsistent", "Outdated", "Failed",
                                                                        "Diskless"):
                findings.append((State.WARN, f"{peer} disk {pdev.peer_disk}"))
            elif pdev.replication == "Established" and pdev.out_of_sync:
                findings.append((State.WARN, f"{pdev.out_of_sync} KiB out of sync with {peer}"))
    if not local_uptodate and disks:
        peer_uptodate = any(p.peer_disk == "UpToDate" for c in res.connections for p in c.devices
                            if c.connection == "Connected")
        if not peer_uptodate and not any(d.disk == "Diskless" for d in disks):
            findings.append((State.CRIT, "no UpToDate copy of the data on this node or a connected peer "
                                         f"(local {','.join(d.disk or '?' for d in disks)})"))
    if not findings:
        return State.OK, ""
    order = {State.CRIT: 3, State.WARN: 2, State.UNKNOWN: 1, State.OK: 0}
    findings.sort(key=lambda item: -order[item[0]])
    state = findings[0][0]
    reasons = [reason for st, reason in findings if st == state]
    return state, "; ".join(reasons)


def evaluate_drbd_cluster(
    statuses: dict[str, DrbdStatus], cluster: str, *, observed_at: float, resources: list[str] | None = None,
    kernel_logs: dict[str, str] | None = None,
) -> list[HealthRow]:
    """Verdicts that need every node's view: split brain (both StandAlone, both Primary, kernel message)."""
    rows = []
    names = list(resources) if resources else sorted({r.name for s in statuses.values() for r in s.resources})
    for name in names:
        views = {node: st.resource(name) for node, st in statuses.items() if st.resource(name) is not None}
        if len(views) < 2:
            continue
        primaries = sorted(node for node, res in views.items() if res.role == "Primary")
        standalone = sorted(node for node, res in views.items()
                            if res.connections and all(c.connection == "StandAlone" for c in res.connections))
        sb_logs = sorted(node for node, log in (kernel_logs or {}).items() if kernel_reports_split_brain(log))
        if len(standalone) >= 2:
            state, reason = State.CRIT, f"split brain: StandAlone on {' and '.join(standalone)}"
        elif len(primaries) >= 2:
            connected = all(any(c.connection == "Connected" for c in res.connections) for res in views.values())
            state = State.CRIT
            reason = (f"both Primary: {' and '.join(primaries)}"
                      + ("" if connected else " while disconnected (split brain)"))
        elif sb_logs:
            state, reason = State.CRIT, f"split brain reported by the kernel on {' and '.join(sb_logs)}"
        elif not primaries:
            state, reason = State.WARN, "no node is Primary"
        else:
            state, reason = State.OK, ""
        value = "primary " + (",".join(primaries) or "none")
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "drbd", state, value, reason, observed_at, name))
    return rows


def primary_nodes(statuses: dict[str, DrbdStatus]) -> set[str]:
    """Nodes where any resource is Primary (the consistency check's view of DRBD)."""
    return {node for node, st in statuses.items() if any(r.role == "Primary" for r in st.resources)}
