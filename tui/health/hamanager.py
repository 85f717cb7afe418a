"""HA manager parsers and verdicts: Heartbeat (`cl_status`) and Pacemaker (`crm_mon`, `pcs status`, `crm status`).

Heartbeat: `cl_status hbstatus`, `listnodes`, `nodestatus NODE`, `rscstatus` (formats from heartbeat's
cl_status.c; rscstatus answers none|local|foreign|all|transition for the node it runs on).
Pacemaker: `crm_mon -1 --output-as=xml` (the `<pacemaker-result>` schema and the legacy `<crm_mon>` one) and
the text of `crm_mon -1` / `pcs status` / `crm status` (1.1 and 2.x layouts), both into `PacemakerStatus`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from tui.health.model import CLUSTER_WIDE, HealthRow, State

# ---------------------------------------------------------------------------------------------- heartbeat
HB_RESOURCE_STATES = ("none", "local", "foreign", "all", "transition")
HB_NODE_STATES = ("active", "up", "dead", "ping", "init")


def parse_hbstatus(text: str) -> bool | None:
    """True running, False stopped, None unknown. "apparently running ... refuses my connection" is None."""
    if "Heartbeat is running" in text or re.search(r"^version:\s", text, re.MULTILINE):
        return True
    if "Heartbeat is stopped" in text:
        return False
    return None


def parse_listnodes(text: str) -> list[str]:
    """`cl_status listnodes` (one name a line), also `-m` (header) and `-v` ("name<TAB>status<TAB>(nodetype:
    ...)" with indented link lines). Log lines ("... ERROR: ...") are skipped."""
    nodes = []
    for raw in text.splitlines():
        if not raw.strip() or raw[0] in " \t" or raw.startswith("The nodes are"):
            continue
        words = raw.split()
        verbose = len(words) >= 3 and words[1] in HB_NODE_STATES and words[2].startswith("(nodetype:")
        if len(words) == 1 or verbose:
            nodes.append(words[0])
    return nodes


def parse_nodestatus(text: str) -> str | None:
    for line in text.splitlines():
        words = line.strip().split()
        if len(words) == 1 and words[0] in HB_NODE_STATES:
            return words[0]
        human = re.match(r"The cluster node \S+ is (\w+)", line.strip())
        if human:
            return human.group(1)
    return None


def parse_rscstatus(text: str) -> str | None:
    for line in text.splitlines():
        word = line.strip()
        if word in HB_RESOURCE_STATES:
            return word
        human = re.match(r"This node is holding (\w+) resources", word)
        if human:
            return human.group(1)
    return None


@dataclass
class HeartbeatNodeView:
    running: bool | None = None
    resources: str | None = None  # rscstatus answer
    node_states: dict[str, str] = field(default_factory=dict)  # nodestatus of every listed node
    error: str | None = None

    @property
    def holds_resources(self) -> bool:
        return self.resources in ("local", "foreign", "all")


def evaluate_heartbeat(views: dict[str, HeartbeatNodeView], cluster: str, *, observed_at: float) -> list[HealthRow]:
    rows = []
    for node, view in views.items():
        def row(state: State, value: str, reason: str = "", node: str = node) -> HealthRow:
            return HealthRow(cluster, node, "ha", state, value, reason, observed_at)

        if view.running is None:
            rows.append(row(State.UNKNOWN, "unknown", view.error or "cl_status gave no answer"))
        elif not view.running:
            rows.append(row(State.CRIT, "heartbeat stopped", "Heartbeat is stopped on this node"))
        elif view.resources == "transition":
            rows.append(row(State.WARN, "resources in transition", "resources are moving (takeover in progress)"))
        else:
            dead = sorted(peer for peer, st in view.node_states.items() if st == "dead")
            value = f"holds {view.resources or '?'} resources"
            if dead:
                rows.append(row(State.WARN, value, f"heartbeat sees {', '.join(dead)} dead"))
            else:
                rows.append(row(State.OK, value))
    holders = sorted(node for node, view in views.items() if view.running and view.holds_resources)
    answered = [v for v in views.values() if v.running is not None]
    value = "active " + (",".join(holders) or "none")
    if _overlapping([views[n].resources or "" for n in holders]):
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "ha", State.CRIT, value,
                              f"resources held on both {' and '.join(holders)} (split brain)", observed_at))
    elif not holders and answered:
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "ha", State.CRIT, value,
                              "no node holds the heartbeat resources", observed_at))
    elif holders:
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "ha", State.OK, value, "", observed_at))
    return rows


def _overlapping(held: list[str]) -> bool:
    """Two nodes hold the same resource group: one holds "all" while another holds anything, or one holds
    its "local" group while another holds that group as "foreign". Two "local" answers are normal when each
    node is primary for its own group."""
    if len(held) < 2:
        return False
    return "all" in held or ("local" in held and "foreign" in held) or held.count("foreign") >= 2


# ---------------------------------------------------------------------------------------------- pacemaker
@dataclass
class PcmkNode:
    name: str
    online: bool | None = None
    standby: bool = False
    maintenance: bool = False
    pending: bool = False
    unclean: bool = False
    is_dc: bool = False
    type: str = "member"
    resources_running: int | None = None


@dataclass
class PcmkResource:
    id: str
    agent: str | None = None
    role: str | None = None  # Started, Stopped, Promoted/Master, Unpromoted/Slave, FAILED ...
    nodes: list[str] = field(default_factory=list)
    active: bool | None = None
    failed: bool = False
    managed: bool = True
    maintenance: bool = False
    target_role: str | None = None
    parent: str | None = None
    pending: str | None = None

    @property
    def promoted(self) -> bool:
        return self.role in ("Promoted", "Master")


@dataclass
class PcmkFailure:
    op_key: str
    node: str
    exitstatus: str
    exitcode: str | None = None
    status: str | None = None
    exitreason: str = ""


@dataclass
class PacemakerStatus:
    schema: str  # pacemaker-result | crm_mon-legacy | text
    dc: str | None = None
    dc_present: bool | None = None
    with_quorum: bool | None = None
    maintenance_mode: bool = False
    nodes: list[PcmkNode] = field(default_factory=list)
    resources: list[PcmkResource] = field(default_factory=list)
    failures: list[PcmkFailure] = field(default_factory=list)
    fail_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (node, resource) -> count
    bans: list[tuple[str, str]] = field(default_factory=list)  # (resource, node)
    node_attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    resources_configured: int | None = None
    resources_disabled: int | None = None
    version: str | None = None
    errors: list[str] = field(default_factory=list)

    def node(self, name: str) -> PcmkNode | None:
        return next((node for node in self.nodes if node.name == name), None)

    @property
    def usable(self) -> bool:
        return not self.errors or bool(self.nodes)


def _bool(value: str | None) -> bool:
    return (value or "").lower() == "true"


def parse_crm_mon_xml(text: str) -> PacemakerStatus:
    """`crm_mon -1 --output-as=xml` (or the legacy `crm_mon --as-xml`). Errors never raise."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        return PacemakerStatus(schema="unknown", errors=[f"not XML: {exc}"])
    if root.tag == "pacemaker-result":
        status = PacemakerStatus(schema="pacemaker-result")
    elif root.tag == "crm_mon":
        status = PacemakerStatus(schema="crm_mon-legacy")
    else:
        return PacemakerStatus(schema="unknown", errors=[f"unexpected XML root <{root.tag}>"])
    result = root.find("status")
    if result is not None and result.get("code") not in (None, "0"):
        messages = [e.text or "" for e in result.iter("error")]
        status.errors.append(f"crm_mon failed ({result.get('code')} {result.get('message') or 'no message'}): "
                             + "; ".join(m.strip() for m in messages if m.strip()))
    summary = root.find("summary")
    if summary is not None:
        dc = summary.find("current_dc")
        if dc is not None:
            status.dc_present = _bool(dc.get("present"))
            status.dc = dc.get("name") if status.dc_present else None
            status.with_quorum = _bool(dc.get("with_quorum")) if dc.get("with_quorum") is not None else None
            status.version = dc.get("version") or None
        options = summary.find("cluster_options")
        if options is not None:
            status.maintenance_mode = _bool(options.get("maintenance-mode"))
        configured = summary.find("resources_configured")
        if configured is not None:
            status.resources_configured = _int(configured.get("number"))
            status.resources_disabled = _int(configured.get("disabled"))
    for node in root.findall("nodes/node"):
        status.nodes.append(PcmkNode(
            name=node.get("name", "?"), online=_bool(node.get("online")), standby=_bool(node.get("standby")),
            maintenance=_bool(node.get("maintenance")), pending=_bool(node.get("pending")),
            unclean=_bool(node.get("unclean")), is_dc=_bool(node.get("is_dc")), type=node.get("type", "member"),
            resources_running=_int(node.get("resources_running")),
        ))
    resources = root.find("resources")
    if resources is not None:
        _walk_resources(resources, None, status.resources)
    for failure in root.findall("failures/failure"):
        status.failures.append(PcmkFailure(
            op_key=failure.get("op_key", "?"), node=failure.get("node", "?"),
            exitstatus=failure.get("exitstatus", "?"), exitcode=failure.get("exitcode"),
            status=failure.get("status"), exitreason=failure.get("exitreason", ""),
        ))
    for node in root.findall("node_history/node"):
        for history in node.findall("resource_history"):
            count = _int(history.get("fail-count"))
            if count:
                status.fail_counts[(node.get("name", "?"), history.get("id", "?"))] = count
    for ban in root.findall("bans/ban"):
        status.bans.append((ban.get("resource", "?"), ban.get("node", "?")))
    for node in root.findall("node_attributes/node"):
        status.node_attributes[node.get("name", "?")] = {
            attr.get("name", "?"): attr.get("value", "") for attr in node.findall("attribute")}
    return status


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _walk_resources(element: ET.Element, parent: str | None, out: list[PcmkResource]) -> None:
    for child in element:
        if child.tag == "resource":
            out.append(PcmkResource(
                id=child.get("id", "?"), agent=child.get("resource_agent"), role=child.get("role"),
                nodes=[n.get("name", "?") for n in child.findall("node")],
                active=_bool(child.get("active")), failed=_bool(child.get("failed")),
                managed=child.get("managed", "true") != "false", maintenance=_bool(child.get("maintenance")),
                target_role=child.get("target_role"), parent=parent, pending=child.get("pending"),
            ))
        elif child.tag in ("clone", "group", "bundle", "replica"):
            _walk_resources(child, child.get("id") if child.tag != "replica" else parent, out)


_TEXT_ERROR = re.compile(r"(Error:|Connection to cluster failed|Could not connect|not running)", re.IGNORECASE)
_RESOURCE_LINE = re.compile(r"^\s*(?:\*\s+)?(\S+)(?:\s+\([^)]*\))?\s*\((\S+)\):\s*(\S+)\s*(\S*)")
_LIST_LINE = re.compile(r"^\s*(?:\*\s+)?(Online|OFFLINE|GuestOnline|RemoteOnline|RemoteOFFLINE|Masters|Slaves|"
                        r"Promoted|Unpromoted|Started|Stopped):\s*\[\s*(.*?)\s*\]")
_SET_HEADER = re.compile(r"^\s*(?:\*\s+)?(?:Clone Set|Master/Slave Set|Resource Group|Container bundle set):\s+"
                         r"([^\s:]+)")


def parse_crm_mon_text(text: str) -> PacemakerStatus:
    """The text of `crm_mon -1`, `pcs status` or `crm status` (Pacemaker 1.1 and 2.x layouts)."""
    status = PacemakerStatus(schema="text")
    nodes: dict[str, PcmkNode] = {}

    def node(name: str) -> PcmkNode:
        return nodes.setdefault(name, PcmkNode(name=name))

    saw_summary = False
    parent: str | None = None
    parent_indent = -1
    in_failures = False
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip().lstrip("* ").strip()
        if not stripped:
            continue
        dc = re.search(r"Current DC:\s*(.*)$", line)
        if dc:
            saw_summary = True
            value = dc.group(1)
            status.dc_present = not value.startswith("NONE")
            status.dc = value.split()[0] if status.dc_present else None
            status.with_quorum = "partition with quorum" in value
            version = re.search(r"\(version ([^)]*)\)", value)
            status.version = version.group(1) if version else None
            continue
        if re.search(r"Resource management is DISABLED", line):
            status.maintenance_mode = True
            continue
        if re.match(r"^(Failed (Resource )?Actions|Failed actions):", stripped, re.IGNORECASE):
            in_failures = True
            continue
        if in_failures:
            failure = re.match(r"^(\S+) on (\S+) '([^']*)' \((\d+)\)(?::\s*(.*))?", stripped)
            if failure:
                extra = failure.group(5) or ""
                fstatus = re.search(r"status='?([^,']+)", extra)
                status.failures.append(PcmkFailure(failure.group(1), failure.group(2), failure.group(3),
                                                   failure.group(4), fstatus.group(1) if fstatus else None))
                continue
            if raw.startswith(("    ", "\t")):
                continue  # wrapped continuation of the previous failure record
            in_failures = False
        if re.match(r"^(Stack|Last updated|Last change|Cluster name|Version):", stripped) or \
                re.match(r"^\d+ (nodes|resource)", stripped, re.IGNORECASE):
            saw_summary = True
            if stripped.startswith("Version:"):
                status.version = stripped.partition(":")[2].strip()
            configured = re.match(r"^(\d+) resources? (?:instances )?configured(?: \((\d+) DISABLED\))?",
                                  stripped, re.IGNORECASE)
            if configured:
                status.resources_configured = int(configured.group(1))
                status.resources_disabled = int(configured.group(2) or 0)
            continue
        listed = _LIST_LINE.match(line)
        if listed:
            kind, names = listed.group(1), listed.group(2).split()
            if kind in ("Online", "GuestOnline", "RemoteOnline"):
                for name in names:
                    node(name).online = True
            elif kind in ("OFFLINE", "RemoteOFFLINE"):
                for name in names:
                    node(name).online = False
            elif parent is not None:
                role = {"Masters": "Master", "Slaves": "Slave"}.get(kind, kind)
                for name in names:
                    status.resources.append(PcmkResource(id=parent, role=role, nodes=[name] if role != "Stopped"
                                                         else [], active=role != "Stopped", parent=parent))
            continue
        long_node = re.match(r"^(?:Node|GuestNode|RemoteNode)\s+([^\s:(@]+)\S*?(?:\s+\(\d+\))?:\s*(\w+)", stripped)
        if long_node:
            entry = node(long_node.group(1))
            word = long_node.group(2).lower()
            entry.online = word in ("online", "standby", "maintenance")
            entry.standby = word == "standby"
            entry.maintenance = word == "maintenance"
            entry.unclean = "UNCLEAN" in stripped
            continue
        header = _SET_HEADER.match(line)
        if header:
            parent = header.group(1)
            parent_indent = len(line) - len(line.lstrip())
            continue
        resource = _RESOURCE_LINE.match(line)
        if resource:
            rid, agent, role, where = resource.groups()
            if len(line) - len(line.lstrip()) <= parent_indent:
                parent, parent_indent = None, -1  # a top-level resource ends the previous group/clone
            failed = role == "FAILED"
            status.resources.append(PcmkResource(
                id=rid, agent=agent, role=role, nodes=[where] if where and role != "Stopped" else [],
                active=role not in ("Stopped",), failed=failed, parent=parent,
                maintenance="(maintenance)" in line, managed="(unmanaged)" not in line,
            ))
            continue
        if not saw_summary and _TEXT_ERROR.search(line):
            status.errors.append(stripped)
    status.nodes = list(nodes.values())
    if status.dc is not None and status.node(status.dc) is not None:
        status.node(status.dc).is_dc = True  # type: ignore[union-attr]
    if not saw_summary and not status.nodes and not status.errors:
        status.errors.append("no cluster status in output")
    return status


def parse_crm_mon(text: str) -> PacemakerStatus:
    return parse_crm_mon_xml(text) if text.lstrip().startswith("<") else parse_crm_mon_text(text)


def pacemaker_active_nodes(status: PacemakerStatus, resource: str | None = None) -> set[str]:
    """Where the service runs: the configured resource, else the promoted instance of a promotable clone,
    else where an IPaddr/IPaddr2 resource is started."""
    if resource:
        return {n for r in status.resources if resource in (r.id, r.parent) and r.active and r.role != "Stopped"
                and (r.promoted or not any(x.promoted for x in status.resources if x.parent == r.parent))
                for n in r.nodes}
    promoted = {n for r in status.resources if r.promoted for n in r.nodes}
    if promoted:
        return promoted
    return {n for r in status.resources if r.agent and "IPaddr" in r.agent and r.role == "Started" for n in r.nodes}


def evaluate_pacemaker(status: PacemakerStatus, cluster: str, members: list[str], *, observed_at: float,
                       reporter: str = "") -> list[HealthRow]:
    """Per-member node rows and one cluster row (quorum, DC, maintenance, failures) from one crm_mon view."""
    if not status.usable:
        return [HealthRow(cluster, CLUSTER_WIDE, "ha", State.UNKNOWN, "unknown", "; ".join(status.errors)
                          or "no pacemaker status", observed_at)]
    rows = []
    for member in members:
        node = status.node(member)
        if node is None:
            rows.append(HealthRow(cluster, member, "ha", State.UNKNOWN, "not in cluster",
                                  f"{member} is not a node of the pacemaker cluster", observed_at))
        elif node.unclean:
            rows.append(HealthRow(cluster, member, "ha", State.CRIT, "UNCLEAN", "node UNCLEAN (needs fencing)",
                                  observed_at))
        elif node.online is False:
            rows.append(HealthRow(cluster, member, "ha", State.CRIT, "OFFLINE", "pacemaker node OFFLINE",
                                  observed_at))
        elif node.standby:
            rows.append(HealthRow(cluster, member, "ha", State.WARN, "standby",
                                  "node in standby: it cannot take over", observed_at))
        elif node.maintenance:
            rows.append(HealthRow(cluster, member, "ha", State.WARN, "maintenance", "node in maintenance",
                                  observed_at))
        else:
            rows.append(HealthRow(cluster, member, "ha", State.OK, "online" + (" (DC)" if node.is_dc else ""), "",
                                  observed_at))
    findings: list[tuple[State, str]] = []
    if status.dc_present is False:
        findings.append((State.CRIT, "no DC elected (cluster not formed)"))
    elif status.with_quorum is False:
        findings.append((State.CRIT, "partition WITHOUT quorum"))
    for res in status.resources:
        if res.failed:
            findings.append((State.CRIT, f"resource {res.id} FAILED on {','.join(res.nodes) or '?'}"))
    for fail in status.failures:
        findings.append((State.WARN, f"failed action {fail.op_key} on {fail.node}: '{fail.exitstatus}' "
                                     f"({fail.exitcode})"))
    for res in status.resources:
        offline = [n for n in res.nodes if (status.node(n) and status.node(n).online is False)]  # type: ignore[union-attr]
        if offline and res.active:
            findings.append((State.WARN, f"resource {res.id} reported on offline node {','.join(offline)}"))
    if status.maintenance_mode:
        findings.append((State.WARN, "maintenance-mode: the cluster will not start, stop or recover services"))
    for (node_name, rsc), count in status.fail_counts.items():
        if count >= 1000000:
            findings.append((State.WARN, f"{rsc} fail-count INFINITY on {node_name}: banned there until cleanup"))
    stopped = [r.id for r in status.resources if r.role == "Stopped" and not r.parent
               and (r.target_role or "").lower() != "stopped"]
    if stopped:
        findings.append((State.WARN, f"stopped: {', '.join(sorted(set(stopped)))}"))
    order = {State.CRIT: 2, State.WARN: 1}
    findings.sort(key=lambda item: -order[item[0]])
    state = findings[0][0] if findings else State.OK
    reason = "; ".join(dict.fromkeys(r for s, r in findings if s == state))
    value = f"DC {status.dc or 'none'}" + (" quorum" if status.with_quorum else "")
    if reporter:
        value += f" (via {reporter})"
    rows.append(HealthRow(cluster, CLUSTER_WIDE, "ha", state, value, reason, observed_at))
    return rows
