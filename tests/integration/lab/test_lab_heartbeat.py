"""The heartbeat profile: Heartbeat 3 (v1 haresources) holds the VIP instead of keepalived.

Rebuilds the session lab with `up --profile heartbeat` and restores the default profile afterwards."""

from __future__ import annotations

import pytest

from tests.integration.conftest import wait_until


@pytest.fixture(scope="module")
def heartbeat_lab(lab):
    try:
        lab.must("up", "--profile", "heartbeat", timeout=180)
        yield lab
    finally:
        lab.must("up", timeout=180)


def has_vip(lab, node: str) -> bool:
    return f" {lab.vip}/24 " in lab.ssh(node, "ip -o -4 addr show dev eth0").stdout


def test_heartbeat_holds_and_hands_over_the_vip(heartbeat_lab):
    lab = heartbeat_lab
    config = pytest.importorskip("tui.config.hosts")
    assert config.load_hosts(str(lab.hosts_yaml)).clusters["db"].manager == "heartbeat"
    for node in ("node-a", "node-b"):
        assert lab.ssh(node, "cl_status hbstatus").returncode == 0
        assert lab.ssh(node, "pidof keepalived").returncode == 1
    assert lab.ssh("node-a", "cl_status nodestatus node-b").stdout.strip() == "active"
    wait_until(lambda: has_vip(lab, "node-a") and not has_vip(lab, "node-b"), 20, "the VIP on node-a only")
    # node-a gives its resources away: the VIP moves to node-b.
    assert lab.ssh("node-a", "/usr/share/heartbeat/hb_standby all", timeout=30).returncode == 0
    wait_until(lambda: has_vip(lab, "node-b") and not has_vip(lab, "node-a"), 30, "the VIP to move to node-b")
    assert "all" in lab.ssh("node-b", "cl_status rscstatus").stdout
    lab.must("heal")
    wait_until(lambda: has_vip(lab, "node-a") and not has_vip(lab, "node-b"), 30, "the VIP back on node-a")


def test_keepalived_scenarios_are_refused_under_heartbeat(heartbeat_lab):
    done = heartbeat_lab.cli("break", "vrrp-auth-mismatch")
    assert done.returncode == 1
    assert "keepalived profile" in done.stderr
