"""Virtual IP presence: `ip -o addr` / `ip addr show` parsing, iputils `arping` results, VIP verdicts.

`parse_ip_addr` reads both the one-line (`-o`) and the multi-line layout; addresses are validated with
`ipaddress`. `evaluate_vip` says which node holds the VIP; two holders is a duplicate VIP (crit).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from tui.health.model import CLUSTER_WIDE, HealthRow, State

_LINK = re.compile(r"^(\d+):\s+([^:\s]+?)(?:@(\S+))?:\s+<([^>]*)>(.*)$")
_ONELINE = re.compile(r"^(\d+):\s+(\S+)\s+(inet6?)\s+(.*)$")
_ADDR = re.compile(r"^\s+(inet6?)\s+(.*)$")


@dataclass
class InterfaceAddress:
    ifindex: int | None
    ifname: str
    family: str  # inet | inet6
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    scope: str | None = None
    secondary: bool = False
    flags: list[str] = field(default_factory=list)  # dynamic, noprefixroute, deprecated, ...
    label: str | None = None

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return self.interface.ip


@dataclass
class LinkInfo:
    ifindex: int
    ifname: str
    peer: str | None
    flags: list[str]
    state: str | None


@dataclass
class IpAddrReport:
    addresses: list[InterfaceAddress] = field(default_factory=list)
    links: dict[str, LinkInfo] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def find(self, address: str) -> InterfaceAddress | None:
        try:
            wanted = ipaddress.ip_interface(address).ip
        except ValueError:
            return None
        return next((addr for addr in self.addresses if addr.ip == wanted), None)


def _address(ifindex: int | None, ifname: str, family: str, rest: str) -> InterfaceAddress:
    words = rest.replace("\\", " ").split()
    interface = ipaddress.ip_interface(words[0])  # ValueError for garbage; the caller records it
    addr = InterfaceAddress(ifindex, ifname, family, interface)
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("brd", "peer", "valid_lft", "preferred_lft", "metric", "proto"):
            i += 2
            continue
        if word == "scope" and i + 1 < len(words):
            addr.scope = words[i + 1]
            i += 2
            continue
        if word == "secondary":
            addr.secondary = True
        elif word in ("dynamic", "noprefixroute", "deprecated", "tentative", "temporary", "permanent",
                      "nodad", "optimistic", "dadfailed", "home", "mngtmpaddr", "stable-privacy"):
            addr.flags.append(word)
        elif word.startswith(ifname):
            addr.label = word
        i += 1
    return addr


def parse_ip_addr(text: str) -> IpAddrReport:
    """`ip -o addr show [dev IF]`, `ip -4 -o addr` or `ip addr show` output."""
    report = IpAddrReport()
    current: LinkInfo | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            link = _LINK.match(line)
            if link:
                ifindex, ifname, peer, flags, rest = link.groups()
                state = re.search(r"\bstate\s+(\S+)", rest)
                current = LinkInfo(int(ifindex), ifname, peer, flags.split(","), state.group(1) if state else None)
                report.links[ifname] = current
                continue
            oneline = _ONELINE.match(line)
            if oneline:
                ifindex, ifname, family, rest = oneline.groups()
                report.addresses.append(_address(int(ifindex), ifname.split("@")[0], family, rest))
                continue
            addr = _ADDR.match(line)
            if addr and current is not None:
                report.addresses.append(_address(current.ifindex, current.ifname, addr.group(1), addr.group(2)))
                continue
        except (ValueError, IndexError) as exc:
            report.errors.append(f"bad address line ({exc}): {line.strip()[:80]}")
            continue
        if line.startswith(" ") and current is not None:
            continue  # link/ether, valid_lft, altname ... lines
        report.errors.append(f"unrecognised line: {line.strip()[:80]}")
    return report


@dataclass
class ArpingResult:
    target: str | None = None
    source: str | None = None
    interface: str | None = None
    sent: int | None = None
    broadcasts: int | None = None
    received: int | None = None
    replies: list[tuple[str, str]] = field(default_factory=list)  # (ip, mac) of unicast/broadcast replies
    errors: list[str] = field(default_factory=list)

    @property
    def macs(self) -> set[str]:
        return {mac.lower() for _, mac in self.replies}


def parse_arping(text: str) -> ArpingResult:
    """iputils arping output; also the same text embedded in a log line as `output="...\\n..."`."""
    embedded = re.search(r'output="((?:[^"\\]|\\.)*)"', text)
    if embedded:
        text = embedded.group(1).replace("\\n", "\n").replace('\\"', '"')
    result = ArpingResult()
    for line in text.splitlines():
        line = line.strip()
        head = re.match(r"^ARPING\s+(\S+)(?:\s+from\s+(\S+))?(?:\s+(\S+))?", line)
        if head:
            result.target, result.source, result.interface = head.groups()
            continue
        sent = re.match(r"^Sent\s+(\d+)\s+probes?(?:\s+\((\d+)\s+broadcast)?", line)
        if sent:
            result.sent = int(sent.group(1))
            result.broadcasts = int(sent.group(2)) if sent.group(2) else None
            continue
        received = re.match(r"^Received\s+(\d+)\s+respons", line)
        if received:
            result.received = int(received.group(1))
            continue
        reply = re.match(r"^(?:Unicast|Broadcast)\s+reply\s+from\s+(\S+)\s+\[([0-9A-Fa-f:]+)\]", line)
        if reply:
            result.replies.append((reply.group(1), reply.group(2)))
            continue
        if line:
            result.errors.append(line[:120])
    if result.target is None and result.sent is None:
        result.errors.insert(0, "not an arping output")
    return result


def evaluate_vip(
    reports: dict[str, IpAddrReport | None], cluster: str, vip: str, *, observed_at: float,
    interface: str | None = None,
) -> list[HealthRow]:
    """Per-node presence rows plus one cluster row: no holder or two holders (duplicate VIP) is crit.
    A None report means the node could not be asked."""
    rows = []
    holders = []
    for node, report in reports.items():
        if report is None:
            rows.append(HealthRow(cluster, node, "vip", State.UNKNOWN, "unknown", "could not read addresses",
                                  observed_at, vip))
            continue
        found = report.find(vip)
        if found is not None:
            holders.append(node)
            value = f"holds {found.interface} on {found.ifname}" + (" (secondary)" if found.secondary else "")
            state, reason = State.OK, ""
            if interface and found.ifname != interface:
                state, reason = State.WARN, f"VIP on {found.ifname}, expected {interface}"
            rows.append(HealthRow(cluster, node, "vip", state, value, reason, observed_at, vip))
        elif report.errors and not report.addresses:
            rows.append(HealthRow(cluster, node, "vip", State.UNKNOWN, "unknown", "; ".join(report.errors),
                                  observed_at, vip))
        else:
            rows.append(HealthRow(cluster, node, "vip", State.OK, "absent", "", observed_at, vip))
    asked = [node for node, report in reports.items() if report is not None]
    value = "on " + (",".join(sorted(holders)) or "no node")
    if len(holders) >= 2:
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "vip", State.CRIT, value,
                              f"duplicate VIP {vip} on {' and '.join(sorted(holders))}", observed_at, vip))
    elif not holders:
        state = State.CRIT if len(asked) == len(reports) else State.UNKNOWN
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "vip", state, value, f"VIP {vip} is on no node",
                              observed_at, vip))
    else:
        rows.append(HealthRow(cluster, CLUSTER_WIDE, "vip", State.OK, value, "", observed_at, vip))
    return rows
