"""keepalived (VRRP) parsers and their health verdicts.

Reads what keepalived leaves behind without disturbing it: the data dump (/tmp/keepalived.data, 1.3 to 2.2
layouts), the stats dump (/tmp/keepalived.stats), the JSON dump (/tmp/keepalived.json), its syslog lines
(state transitions, "received an invalid passwd!", FAULT, track script failures, bogus packets) and a notify
state file written by a notify script. `evaluate_vrrp_node` judges one node, `evaluate_vrrp_cluster` finds
two MASTERs or none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from tui.health.model import CLUSTER_WIDE, HealthRow, State

VRRP_STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP", "DELETED")
# keepalived's numeric states in the JSON dump.
_JSON_STATES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}


@dataclass
class VrrpVip:
    address: str
    device: str | None = None
    installed: bool | None = None  # 2.x prints "set" when the address is on the interface

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


@dataclass
class VrrpScript:
    name: str
    status: str | None = None  # GOOD | BAD | INIT ...
    command: str | None = None
    weight: int | None = None


@dataclass
class VrrpInstance:
    name: str
    state: str | None = None
    wantstate: str | None = None
    version: int | None = None
    interface: str | None = None
    vrid: int | None = None
    priority: int | None = None
    effective_priority: int | None = None
    master_router: str | None = None
    master_priority: int | None = None
    auth_type: str | None = None
    faults: int | None = None
    last_transition: float | None = None
    vips: list[VrrpVip] = field(default_factory=list)
    excluded_vips: list[VrrpVip] = field(default_factory=list)
    tracked_scripts: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class KeepalivedData:
    instances: list[VrrpInstance] = field(default_factory=list)
    scripts: list[VrrpScript] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def instance(self, name: str) -> VrrpInstance | None:
        return next((inst for inst in self.instances if inst.name == name), None)


def _int(value: object) -> int | None:
    match = re.match(r"\s*(-?\d+)", str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def _split_key(text: str) -> tuple[str, str]:
    """`Key = value`, `Key: value`, `Key : value`; a line without a separator is all key."""
    for sep in (" = ", " : ", ": "):
        if sep in text:
            key, _, value = text.partition(sep)
            return key.strip(), value.strip()
    if text.endswith((":", " =")):
        return text.rstrip(":= ").strip(), ""
    return text.strip(), ""


def _vip(item: str) -> VrrpVip:
    words = item.split()
    device = words[words.index("dev") + 1] if "dev" in words and words.index("dev") + 1 < len(words) else None
    installed = True if words and words[-1] == "set" else None
    return VrrpVip(address=words[0] if words else item, device=device, installed=installed)


def parse_data_dump(text: str) -> KeepalivedData:
    """Parse /tmp/keepalived.data (SIGUSR1 / --signum=DATA); partial dumps give what they hold."""
    data = KeepalivedData()
    instance: VrrpInstance | None = None
    script: VrrpScript | None = None
    list_key: str | None = None
    list_owner: object = None
    saw_any = False
    section: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("------<"):
            # Global definitions, Interfaces, sockpools ... are skipped: their "State =" is not VRRP's.
            section = stripped.strip("-<> ")
            instance = script = list_key = None
            continue
        if section not in (None, "VRRP Topology", "VRRP Scripts"):
            continue
        key, value = _split_key(stripped)
        if indent <= 1 and key == "VRRP Instance":
            instance = VrrpInstance(name=value)
            data.instances.append(instance)
            script, list_key, saw_any = None, None, True
            continue
        if indent <= 1 and key == "VRRP Script":
            script = VrrpScript(name=value)
            data.scripts.append(script)
            list_key, saw_any = None, True
            continue
        if indent >= 5 and list_key is not None:
            _add_list_item(list_owner, list_key, stripped)
            continue
        base_key = re.sub(r"\s*\(\d+\)$", "", key)
        # 1.3.x prints its script inside the instance: instance keys after it still belong to the instance.
        owner: object = script if script is not None and _is_script_key(base_key) else instance
        if owner is None:
            if indent <= 1:
                data.errors.append(f"unrecognised line: {stripped[:80]}")
            continue
        list_key, list_owner = base_key, owner
        if isinstance(owner, VrrpScript):
            _set_script(owner, base_key, value)
        elif isinstance(owner, VrrpInstance):
            _set_instance(owner, base_key, value)
    if not saw_any:
        data.errors.append("no 'VRRP Instance' in the data dump")
    return data


_SCRIPT_KEYS = {"Command", "Interval", "Timeout", "Weight", "Rise", "Fall", "Full", "Insecure", "Status",
                "Result", "Init state", "Script uid:gid", "State", "VRRP instances", "Tracking instances"}


def _is_script_key(key: str) -> bool:
    return key in _SCRIPT_KEYS


def _set_script(script: VrrpScript, key: str, value: str) -> None:
    if key == "Status":
        script.status = value
    elif key == "Command":
        script.command = value
    elif key == "Weight":
        script.weight = _int(value)


def _set_instance(inst: VrrpInstance, key: str, value: str) -> None:
    simple = {
        "State": "state", "Wantstate": "wantstate", "Interface": "interface", "Listening device": "interface",
        "Master router": "master_router", "Authentication type": "auth_type",
    }
    numeric = {
        "VRRP Version": "version", "Virtual Router ID": "vrid", "Priority": "priority",
        "Effective priority": "effective_priority", "Master priority": "master_priority",
        "Number of interface and track script faults": "faults",
    }
    if key in simple:
        setattr(inst, simple[key], value or None)
    elif key in numeric:
        setattr(inst, numeric[key], _int(value))
    elif key == "Last transition":
        match = re.match(r"([\d.]+)", value)
        inst.last_transition = float(match.group(1)) if match else None
    elif key != "Password":  # never keep the VRRP password
        inst.extra[key] = value


def _add_list_item(owner: object, key: str, item: str) -> None:
    if isinstance(owner, VrrpInstance):
        if key == "Virtual IP":
            owner.vips.append(_vip(item))
        elif key == "Virtual IP Excluded":
            owner.excluded_vips.append(_vip(item))
        elif key == "Tracked scripts":
            owner.tracked_scripts.append(item.split()[0])


# ------------------------------------------------------------------------------------------ stats dump
@dataclass
class VrrpStats:
    adverts_received: int | None = None
    adverts_sent: int | None = None
    became_master: int | None = None
    released_master: int | None = None
    packet_errors: dict[str, int] = field(default_factory=dict)
    auth_errors: dict[str, int] = field(default_factory=dict)  # invalid_type, type_mismatch, failure
    priority_zero_received: int | None = None
    priority_zero_sent: int | None = None

    @property
    def auth_failures(self) -> int:
        return sum(self.auth_errors.values())


def parse_stats_dump(text: str) -> tuple[dict[str, VrrpStats], list[str]]:
    """Parse /tmp/keepalived.stats (SIGUSR2 / --signum=STATS) into {instance: VrrpStats} and errors."""
    result: dict[str, VrrpStats] = {}
    errors: list[str] = []
    stats: VrrpStats | None = None
    section: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key == "VRRP Instance":
            stats = result[value] = VrrpStats()
            section = None
            continue
        if stats is None:
            errors.append(f"unrecognised line: {line.strip()[:80]}")
            continue
        if indent <= 2:
            section = key if not value else None
            if key == "Became master":
                stats.became_master = _int(value)
            elif key == "Released master":
                stats.released_master = _int(value)
            continue
        number = _int(value)
        if number is None:
            continue
        slug = key.lower().replace(" ", "_")
        if section == "Advertisements":
            if key == "Received":
                stats.adverts_received = number
            elif key == "Sent":
                stats.adverts_sent = number
        elif section == "Packet Errors":
            stats.packet_errors[slug] = number
        elif section == "Authentication Errors":
            stats.auth_errors[slug] = number
        elif section == "Priority Zero":
            if key == "Received":
                stats.priority_zero_received = number
            elif key == "Sent":
                stats.priority_zero_sent = number
    if not result:
        errors.append("no 'VRRP Instance' in the stats dump")
    return result, errors


# ------------------------------------------------------------------------------------------- JSON dump
def parse_json_dump(text: str) -> tuple[KeepalivedData, dict[str, VrrpStats]]:
    """Parse /tmp/keepalived.json (--signum=JSON): instances with numeric states, and their counters."""
    data = KeepalivedData()
    stats: dict[str, VrrpStats] = {}
    try:
        items = json.loads(text)
    except ValueError as exc:
        data.errors.append(f"not JSON: {exc}")
        return data, stats
    if not isinstance(items, list):
        data.errors.append("expected a JSON array")
        return data, stats
    for item in items:
        info = item.get("data") if isinstance(item, dict) else None
        if not isinstance(info, dict) or "iname" not in info:
            data.errors.append("entry without data.iname")
            continue
        inst = VrrpInstance(
            name=str(info["iname"]),
            state=_JSON_STATES.get(info.get("state"), None if info.get("state") is None else str(info.get("state"))),
            wantstate=_JSON_STATES.get(info.get("wantstate")),
            version=_int(info.get("version")), interface=info.get("ifp_ifname"), vrid=_int(info.get("vrid")),
            priority=_int(info.get("base_priority")), effective_priority=_int(info.get("effective_priority")),
            master_priority=_int(info.get("master_priority")), last_transition=info.get("last_transition"),
        )
        installed = info.get("vipset")
        inst.vips = [VrrpVip(v.address, v.device, bool(installed) if installed is not None else None)
                     for v in (_vip(str(x)) for x in info.get("vips", []) or [])]
        data.instances.append(inst)
        counters = item.get("stats") if isinstance(item.get("stats"), dict) else {}
        auth = {key: int(counters[key]) for key in ("invalid_authtype", "authtype_mismatch", "auth_failure")
                if isinstance(counters.get(key), int)}
        stats[inst.name] = VrrpStats(
            adverts_received=counters.get("advert_rcvd"), adverts_sent=counters.get("advert_sent"),
            became_master=counters.get("become_master"), released_master=counters.get("release_master"),
            auth_errors=auth, priority_zero_received=counters.get("pri_zero_rcvd"),
            priority_zero_sent=counters.get("pri_zero_sent"),
        )
    if not data.instances and not data.errors:
        data.errors.append("no instances in the JSON dump")
    return data, stats


# --------------------------------------------------------------------------------------------- syslog
_SYSLOG = re.compile(
    r"^(?P<ts>\w{3}\s+\d+\s+[\d:]+)\s+(?P<host>\S+)\s+(?P<prog>Keepalived(?:_\w+)?)(?:\[\d+\])?:\s+(?P<msg>.*)$"
)
_OTHER_SYSLOG = re.compile(r"^\w{3}\s+\d+\s+[\d:]+\s+\S+\s+[\w./-]+(?:\[\d+\])?:\s")
# keepalived -l (console) or a plain log file: "<timestamp>: (VI_1) Entering MASTER STATE"
_PLAIN = re.compile(r"^(?P<ts>.*?)(?P<msg>(?:VRRP_Instance\(|VRRP_Script\(|VRRP_Group\(|\([\w.:-]+\)\s|bogus VRRP).*)$")
_INSTANCE = re.compile(r"^(?:VRRP_Instance\((?P<a>[^)]+)\)|\((?P<b>[^)]+)\))\s*(?P<rest>.*)$")


@dataclass
class VrrpLogEvent:
    timestamp: str
    host: str
    instance: str | None
    kind: str  # state | transition | invalid_passwd | script_failed | script_ok | bogus_packet | vrid_mismatch
    state: str | None
    message: str


@dataclass
class KeepalivedLog:
    events: list[VrrpLogEvent] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event.kind == kind)

    def last_state(self, instance: str | None = None) -> dict[str, str]:
        states: dict[str, str] = {}
        for event in self.events:
            if event.kind == "state" and event.state and event.instance:
                states[event.instance] = event.state
        return {k: v for k, v in states.items() if instance is None or k == instance}

    def masters_entered(self, instance: str) -> int:
        return sum(1 for e in self.events if e.kind == "state" and e.instance == instance and e.state == "MASTER")

    def failing_scripts(self) -> set[str]:
        failing: set[str] = set()
        for event in self.events:
            if event.kind == "script_failed":
                failing.add(event.instance or "?")
            elif event.kind == "script_ok":
                failing.discard(event.instance or "?")
        return failing


def parse_syslog(text: str) -> KeepalivedLog:
    """Keepalived's syslog lines (1.x `VRRP_Instance(X)` and 2.x `(X)` forms); other programs' lines are skipped."""
    log = KeepalivedLog()
    for line in text.splitlines():
        match = _SYSLOG.match(line.strip())
        if match:
            timestamp, host, msg = match.group("ts"), match.group("host"), match.group("msg")
        elif _OTHER_SYSLOG.match(line.strip()):
            continue  # another program's syslog line
        else:
            plain = _PLAIN.match(line.strip())
            if not plain:
                continue
            timestamp, host, msg = plain.group("ts").strip(" :"), "", plain.group("msg")
        instance = None
        inst_match = _INSTANCE.match(msg)
        rest = msg
        if inst_match:
            instance = inst_match.group("a") or inst_match.group("b")
            rest = inst_match.group("rest")
        kind, state = _classify(rest)
        if kind is None:
            continue
        if kind in ("script_failed", "script_ok"):
            script = re.search(r"VRRP_Script\(([^)]+)\)", msg)
            instance = script.group(1) if script else instance
        log.events.append(VrrpLogEvent(timestamp, host, instance, kind, state, msg))
    return log


_TIMESTAMP_FORMATS = ("%a %b %d %H:%M:%S %Y", "%b %d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def event_time(timestamp: str, now: datetime) -> datetime | None:
    """A log line's timestamp as a naive local time, in the node's own clock (None when unreadable).
    Syslog's classic format has no year: it is taken from `now`, and a date in the future means last year."""
    text = re.sub(r"\.\d+", "", timestamp.strip().rstrip(":")).split("+")[0]
    text = re.sub(r"\s+", " ", text)
    for fmt in _TIMESTAMP_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt:
            parsed = parsed.replace(year=now.year)
            if parsed > now:
                parsed = parsed.replace(year=now.year - 1)
        return parsed
    return None


def recent_events(log: KeepalivedLog, now_text: str, window: float) -> KeepalivedLog:
    """Only the events of the last `window` seconds of the node's clock (`now_text`: `date '+%Y-%m-%d %H:%M:%S'`
    on the node). Events without a readable time are kept: better a stale alarm than a missed one."""
    try:
        now = datetime.strptime(now_text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return log
    recent = KeepalivedLog()
    for event in log.events:
        when = event_time(event.timestamp, now)
        if when is None or (now - when).total_seconds() <= window:
            recent.events.append(event)
    return recent


def _classify(rest: str) -> tuple[str | None, str | None]:
    entering = re.match(r"Entering\s+(\w*)\s*STATE", rest)
    if entering:
        word = entering.group(1).upper()
        return ("state", word) if word in VRRP_STATES else ("state", None)
    if re.match(r"Transition to MASTER STATE", rest):
        return "transition", "MASTER"
    if "received an invalid passwd" in rest:
        return "invalid_passwd", None
    if re.search(r"VRRP_Script\([^)]+\) failed", rest):
        return "script_failed", None
    if re.search(r"VRRP_Script\([^)]+\) succeeded", rest):
        return "script_ok", None
    if "bogus VRRP packet" in rest:
        return "bogus_packet", None
    if "VRID mismatch" in rest or "associated with VRID not present" in rest:
        return "vrid_mismatch", None
    return None, None


# ------------------------------------------------------------------------------------ notify state file
def parse_notify_state(text: str) -> dict[str, str]:
    """A notify script's state file: {instance: state}. Accepts the notify arguments as written by
    `echo "$@"` ("INSTANCE VI_1 MASTER 100"), "VI_1 MASTER", or a single state word (instance "")."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        upper = [w.upper() for w in words]
        if not words:
            continue
        index = next((i for i, w in enumerate(upper) if w in VRRP_STATES), None)
        if index is None:
            continue
        name = ""
        if index >= 1 and upper[0] in ("INSTANCE", "GROUP") and index >= 2:
            name = words[1]
        elif index >= 1 and upper[0] not in ("INSTANCE", "GROUP"):
            name = words[index - 1]
        states[name] = upper[index]
    return states


# ------------------------------------------------------------------------------------------- evaluation
@dataclass
class VrrpNodeView:
    """What the probe learnt about keepalived on one node, from whichever sources were available."""

    state: str | None = None  # the instance's state on this node
    priority: int | None = None
    source: str = ""  # json | data | notify | log | vip
    auth_failures: int = 0  # new invalid passwd lines / auth counter increase since last poll
    script_failing: list[str] = field(default_factory=list)
    flaps: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def evaluate_vrrp_node(view: VrrpNodeView, cluster: str, node: str, instance: str, *,
                       observed_at: float) -> HealthRow:
    def row(state: State, value: str, reason: str = "") -> HealthRow:
        return HealthRow(cluster, node, "vrrp", state, value, reason, observed_at, instance)

    if view.state is None:
        return row(State.UNKNOWN, "unknown", view.error or "no keepalived state found")
    value = view.state + (f" prio {view.priority}" if view.priority is not None else "")
    if view.source:
        value += f" ({view.source})"
    if view.auth_failures:
        return row(State.CRIT, value, f"VRRP authentication failures: {view.auth_failures} "
                                      "'received an invalid passwd' / auth errors (auth_pass differs between nodes?)")
    if view.state == "FAULT":
        # a failover passes through FAULT for a moment (the old MASTER released through its track file);
        # a node that stays there takes no part in the election
        return row(State.CRIT, value, f"instance {instance} in FAULT state (interface down, a track script "
                                      "failing, or a track file not 0, e.g. the release file a failover sets)")
    if view.state in ("INIT", "STOP", "DELETED"):
        return row(State.WARN, value, view.error or f"instance {instance} in {view.state} state")
    if view.script_failing and view.state == "MASTER":
        return row(State.WARN, value, f"MASTER while track script {', '.join(view.script_failing)} fails")
    if view.flaps >= 3:
        return row(State.WARN, value, f"flapping: entered MASTER {view.flaps} times in the last minute")
    return row(State.OK, value)


def evaluate_vrrp_cluster(views: dict[str, VrrpNodeView], cluster: str, instance: str, *,
                          observed_at: float) -> HealthRow:
    masters = sorted(node for node, view in views.items() if view.state == "MASTER")
    known = [view for view in views.values() if view.state is not None]
    value = "master " + (",".join(masters) or "none")
    if len(masters) >= 2:
        reason = f"VRRP {instance} MASTER on both {' and '.join(masters)} (split brain"
        reason += ": authentication failures)" if any(v.auth_failures for v in views.values()) else \
            ": adverts not received, partition or auth mismatch?)"
        return HealthRow(cluster, CLUSTER_WIDE, "vrrp", State.CRIT, value, reason, observed_at, instance)
    if not masters and known:
        state = State.CRIT if len(known) == len(views) else State.UNKNOWN
        return HealthRow(cluster, CLUSTER_WIDE, "vrrp", state, value, f"no VRRP MASTER for {instance}",
                         observed_at, instance)
    if not known:
        return HealthRow(cluster, CLUSTER_WIDE, "vrrp", State.UNKNOWN, value, "no node reported a VRRP state",
                         observed_at, instance)
    return HealthRow(cluster, CLUSTER_WIDE, "vrrp", State.OK, value, "", observed_at, instance)


def instance_nopreempt(config_text: str, instance: str) -> bool | None:
    """Whether keepalived.conf's `vrrp_instance INSTANCE` has `nopreempt` (None: the instance is not in
    the text). A restarted keepalived of a preempting instance takes its VIP back at once."""
    match = re.search(r"^\s*vrrp_instance\s+" + re.escape(instance) + r"\s*\{", config_text, re.MULTILINE)
    if match is None:
        return None
    depth, body = 1, []
    for char in config_text[match.end():]:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            break
        body.append(char)
    lines = [line.split("#", 1)[0].split("!", 1)[0].strip() for line in "".join(body).splitlines()]
    return any(line == "nopreempt" for line in lines)
