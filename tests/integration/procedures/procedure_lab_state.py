"""Where the lab's layers are, read with the real ssh client: who holds the VIP, who is DRBD Primary."""

from __future__ import annotations

import re

NODES = ("node-a", "node-b")


def vip_holders(lab) -> set[str]:
    held = set()
    for node in NODES:
        out = lab.ssh(node, "ip -o addr show dev eth0").stdout
        if re.search(rf"inet {re.escape(lab.vip)}/", out):
            held.add(node)
    return held


def drbd_primaries(lab) -> set[str]:
    return {n for n in NODES if "r0 role:Primary" in lab.ssh(n, "drbdadm status r0").stdout}


def assert_invariants(lab) -> None:
    assert len(vip_holders(lab)) <= 1, f"two VIP holders: {vip_holders(lab)}"
    assert len(drbd_primaries(lab)) <= 1, f"two DRBD primaries: {drbd_primaries(lab)}"
