"""The pacemaker profile: corosync (knet, two_node) + Pacemaker run the VIP as an IPaddr2 resource.

Rebuilds the session lab with `up --profile pacemaker` and restores the default profile afterwards."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.integration.conftest import wait_until


@pytest.fixture(scope="module")
def pacemaker_lab(lab):
    try:
        lab.must("up", "--profile", "pacemaker", timeout=180)
        yield lab
    finally:
        lab.must("up", timeout=180)


def has_vip(lab, node: str) -> bool:
    return f" {lab.vip}/24 " in lab.ssh(node, "ip -o -4 addr show dev eth0").stdout


def vip_location(lab) -> list[str]:
    done = lab.ssh("node-b", "crm_mon -1 --output-as=xml")
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(done.stdout)
    res = root.find(".//resources/resource[@id='vip']")
    return [node.get("name") for node in res.findall("node")] if res is not None else []


def test_pacemaker_runs_the_vip_and_moves_it(pacemaker_lab):
    lab = pacemaker_lab
    config = pytest.importorskip("tui.config.hosts")
    cluster = config.load_hosts(str(lab.hosts_yaml)).clusters["db"]
    assert cluster.manager == "pacemaker" and cluster.pacemaker.resources == ("vip",)
    done = lab.ssh("node-a", "crm_mon -1 --output-as=xml")
    online = {n.get("name") for n in ET.fromstring(done.stdout).findall(".//nodes/node") if n.get("online") == "true"}
    assert online == {"node-a", "node-b"}
    assert vip_location(lab) == ["node-a"]
    assert has_vip(lab, "node-a") and not has_vip(lab, "node-b")
    moved = lab.ssh("node-a", "crm_resource --move --resource vip --node node-b")
    assert moved.returncode == 0, moved.stderr
    wait_until(lambda: vip_location(lab) == ["node-b"] and has_vip(lab, "node-b") and not has_vip(lab, "node-a"),
               30, "the VIP to move to node-b")
    lab.must("heal")  # clears the move constraint: the VIP goes back to node-a, which it prefers
    assert vip_location(lab) == ["node-a"]
    assert has_vip(lab, "node-a") and not has_vip(lab, "node-b")


def test_node_crash_fails_the_vip_over(pacemaker_lab):
    lab = pacemaker_lab
    with lab.broken("node-crash", "node-a"):
        wait_until(lambda: has_vip(lab, "node-b"), 40, "node-b to take the VIP")
        assert "OFFLINE" in lab.ssh("node-b", "crm_mon -1").stdout
    wait_until(lambda: vip_location(lab) == ["node-a"], 40, "the VIP back on node-a")
