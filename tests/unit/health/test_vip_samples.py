"""`ip addr` and `arping` parsers and the VIP verdicts against every sample in tests/fixtures/samples/iproute."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.health.model import CLUSTER_WIDE, State
from tui.health.vip import evaluate_vip, parse_arping, parse_ip_addr

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


def read(name: str, subdir: str = "iproute") -> str:
    return (SAMPLES / subdir / name).read_text()


# file -> ([(ifindex, ifname, address, secondary, flags)], vip, holds)
IP_ADDR = {
    "k0s-ip-o-addr-eth0-secondary-vip.txt": (
        [(43, "eth0", "172.17.0.2/16", False, []), (43, "eth0", "172.17.0.102/16", True, [])], "172.17.0.102", True),
    "k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt": (
        [(2, "eth0", "192.168.122.37/24", False, ["dynamic", "noprefixroute"]),
         (2, "eth0", "192.168.122.200/24", True, [])], "192.168.122.200", True),
    "k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt": (
        [(2, "eth0", "192.168.122.185/24", False, ["dynamic", "noprefixroute"])], "192.168.122.200", False),
    "k0s-ip-4-oneline-grep-eth0-controller1-after-failover.txt": (
        [(2, "eth0", "192.168.122.185/24", False, ["dynamic", "noprefixroute"]),
         (2, "eth0", "192.168.122.200/24", True, [])], "192.168.122.200", True),
    "k0s-ip-addr-show-eth0-holder-secondary-vip.txt": (
        [(53, "eth0", "172.17.0.2/16", False, []), (53, "eth0", "172.17.0.102/16", True, [])], "172.17.0.102", True),
    "k0s-ip-addr-show-eth0-nonholder.txt": ([(55, "eth0", "172.17.0.3/16", False, [])], "172.17.0.102", False),
}


@pytest.mark.parametrize("name", sorted(IP_ADDR))
def test_ip_addr_sample(name: str) -> None:
    addresses, address, holds = IP_ADDR[name]
    report = parse_ip_addr(read(name))
    assert report.errors == []
    assert [(a.ifindex, a.ifname, str(a.interface), a.secondary, a.flags) for a in report.addresses] == addresses
    assert all(a.scope == "global" for a in report.addresses)
    assert (report.find(address) is not None) is holds


def test_multiline_link_details() -> None:
    report = parse_ip_addr(read("k0s-ip-addr-show-eth0-holder-secondary-vip.txt"))
    link = report.links["eth0"]
    assert (link.ifindex, link.peer, link.state) == (53, "if54", "UP")
    assert link.flags == ["BROADCAST", "MULTICAST", "UP", "LOWER_UP", "M-DOWN"]


def test_recorded_loopback_both_layouts_agree() -> None:
    multi = parse_ip_addr(read("ip-addr-show-lo.txt", "recorded-local"))
    one = parse_ip_addr(read("ip-o-addr-show-dev-lo.txt", "recorded-local"))
    assert multi.errors == [] and one.errors == []
    expected = [("lo", "127.0.0.1/8", "host"), ("lo", "::1/128", "host")]
    assert [(a.ifname, str(a.interface), a.scope) for a in multi.addresses] == expected
    assert [(a.ifname, str(a.interface), a.scope) for a in one.addresses] == expected


def test_failover_moves_the_vip_between_controllers() -> None:
    before = {"controller-0": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt")),
              "controller-1": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt"))}
    rows = evaluate_vip(before, "k0s", "192.168.122.200", observed_at=0, interface="eth0")
    cluster = next(r for r in rows if r.node == CLUSTER_WIDE)
    assert (cluster.state, cluster.value) == (State.OK, "on controller-0")
    after = {"controller-0": None,
             "controller-1": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller1-after-failover.txt"))}
    rows = evaluate_vip(after, "k0s", "192.168.122.200", observed_at=0)
    assert next(r for r in rows if r.node == CLUSTER_WIDE).value == "on controller-1"
    assert next(r for r in rows if r.node == "controller-0").state is State.UNKNOWN


def test_duplicate_vip_is_crit() -> None:
    both = {"controller-0": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt")),
            "controller-1": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller1-after-failover.txt"))}
    rows = evaluate_vip(both, "k0s", "192.168.122.200", observed_at=0)
    cluster = next(r for r in rows if r.node == CLUSTER_WIDE)
    assert cluster.state is State.CRIT
    assert cluster.reason == "duplicate VIP 192.168.122.200 on controller-0 and controller-1"


def test_vip_on_no_node_is_crit_and_wrong_interface_warns() -> None:
    none = {"a": parse_ip_addr(read("k0s-ip-addr-show-eth0-nonholder.txt")),
            "b": parse_ip_addr(read("k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt"))}
    cluster = next(r for r in evaluate_vip(none, "c", "172.17.0.102", observed_at=0) if r.node == CLUSTER_WIDE)
    assert cluster.state is State.CRIT and "on no node" in cluster.reason
    holder = {"a": parse_ip_addr(read("k0s-ip-o-addr-eth0-secondary-vip.txt"))}
    row = evaluate_vip(holder, "c", "172.17.0.102", observed_at=0, interface="eth1")[0]
    assert row.state is State.WARN and "expected eth1" in row.reason


# file -> (target, source, interface, sent, broadcasts, received)
ARPING = {
    "arping-U-c3-vxlan0-gratuitous-no-replies.txt": ("192.168.0.200", "192.168.0.200", "vxlan0", 3, 3, 0),
    "arping-U-c3-bond1-from-tiproxy-log.txt": ("10.2.12.2", "10.2.12.2", "bond1", 3, 3, 0),
    "arping-U-tiproxy-raw-log-line.txt": ("10.2.12.2", "10.2.12.2", "bond1", 3, 3, 0),
}


@pytest.mark.parametrize("name", sorted(ARPING))
def test_arping_sample(name: str) -> None:
    result = parse_arping(read(name))
    assert result.errors == []
    assert (result.target, result.source, result.interface, result.sent, result.broadcasts, result.received) == \
        ARPING[name]
    assert result.replies == []  # 0 responses is normal for a gratuitous (-U) ARP


def test_arping_duplicate_address_replies() -> None:
    # iputils' reply line format (arping.c: "%s reply from %s [%s]"), as printed by arping -D on a conflict.
    text = ("ARPING 10.213.77.100 from 0.0.0.0 eth0\n"
            "Unicast reply from 10.213.77.100 [02:00:0A:D5:4D:0C]  0.640ms\n"
            "Sent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n")
    result = parse_arping(text)
    assert result.replies == [("10.213.77.100", "02:00:0A:D5:4D:0C")] and result.received == 1
    assert result.macs == {"02:00:0a:d5:4d:0c"}
