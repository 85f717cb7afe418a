"""The lab's wire: one bridge in namespace lab-sw, a veth per node (eth0 inside), one veth to the host.

No default route anywhere inside, so nothing can leave 10.213.77.0/24. Faults on the wire (partition,
carrier loss) are applied here, in the bridge namespace, so the nodes cannot tell them from real ones.
"""

from __future__ import annotations

from pathlib import Path

from tui.lab.layout import (
    BRIDGE,
    GATEWAY,
    HOST_PORT,
    HOST_SIDE_IP,
    HOST_VETH,
    NODE_IPS,
    SUBNET_PREFIX,
    SWITCH_NS,
    netns_name,
    switch_port,
)
from tui.lab.processes import run

PARTITION_TABLE = "hascreen_lab_partition"


def namespaces() -> list[str]:
    """Every namespace the lab owns that exists right now."""
    wanted = {SWITCH_NS} | {netns_name(n) for n in NODE_IPS}
    base = Path("/run/netns")
    return sorted(p.name for p in base.iterdir() if p.name in wanted) if base.is_dir() else []


def build() -> None:
    run(["ip", "netns", "add", SWITCH_NS])
    run(["ip", "-n", SWITCH_NS, "link", "set", "lo", "up"])
    run(["ip", "-n", SWITCH_NS, "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "-n", SWITCH_NS, "link", "set", BRIDGE, "up"])
    for node, ip in NODE_IPS.items():
        ns = netns_name(node)
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", switch_port(node), "netns", SWITCH_NS, "type", "veth",
             "peer", "name", "eth0", "netns", ns])
        run(["ip", "-n", SWITCH_NS, "link", "set", switch_port(node), "master", BRIDGE, "up"])
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        if node == GATEWAY:  # the observer learns VIP moves from gratuitous ARP, like a router would
            run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1",
                 "net.ipv4.conf.default.arp_accept=1"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "addr", "add", f"{ip}/{SUBNET_PREFIX}", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", HOST_PORT, "netns", SWITCH_NS])
    run(["ip", "-n", SWITCH_NS, "link", "set", HOST_PORT, "master", BRIDGE, "up"])
    run(["sysctl", "-qw", f"net.ipv6.conf.{HOST_VETH}.disable_ipv6=1"])
    run(["ip", "addr", "add", f"{HOST_SIDE_IP}/{SUBNET_PREFIX}", "dev", HOST_VETH])
    run(["ip", "link", "set", HOST_VETH, "up"])


def teardown() -> None:
    for ns in namespaces():
        run(["ip", "netns", "del", ns], check=False)
    if Path(f"/sys/class/net/{HOST_VETH}").exists():
        run(["ip", "link", "del", HOST_VETH], check=False)


def host_link_exists() -> bool:
    return Path(f"/sys/class/net/{HOST_VETH}").exists()


def set_port(node: str, up: bool) -> None:
    run(["ip", "-n", SWITCH_NS, "link", "set", switch_port(node), "up" if up else "down"])


def port_is_up(node: str) -> bool:
    out = run(["ip", "-n", SWITCH_NS, "-o", "link", "show", switch_port(node)], check=False).stdout
    return ",UP" in out or "<UP" in out


def partition(node: str) -> None:
    """Drop everything to and from the node's bridge port: a partition without netem."""
    port = switch_port(node)
    rules = (
        f"table bridge {PARTITION_TABLE} {{\n"
        f"  chain forward {{ type filter hook forward priority 0; policy accept;\n"
        f'    iifname "{port}" drop\n    oifname "{port}" drop\n  }}\n}}\n'
    )
    run(["ip", "netns", "exec", SWITCH_NS, "nft", "-f", "-"], stdin=rules)


def partitioned_ports() -> list[str]:
    out = run(["ip", "netns", "exec", SWITCH_NS, "nft", "list", "ruleset"], check=False).stdout
    return sorted({word.strip('"') for line in out.splitlines() if "drop" in line
                   for word in line.split() if word.startswith('"p-')})


def clear_partitions() -> None:
    run(["ip", "netns", "exec", SWITCH_NS, "nft", "flush", "ruleset"], check=False)
