"""keepalived VRRP, the VIP and the wire in the lab: faults checked with `ip addr`, `ip neigh`, ping,
keepalived's own log and its JSON dump, over SSH."""

from __future__ import annotations

import json
import subprocess

from tests.integration.conftest import wait_until


def has_vip(lab, node: str) -> bool:
    done = lab.ssh(node, "ip -o -4 addr show dev eth0")
    assert done.returncode == 0, done.stderr
    return f" {lab.vip}/24 " in done.stdout


def mac(lab, node: str) -> str:
    return lab.ssh(node, "cat /sys/class/net/eth0/address").stdout.strip()


def gw_sees_vip_at(lab) -> str:
    """The MAC the gateway resolves the VIP to (after a ping refreshes the entry)."""
    lab.ssh("gw", f"ping -c1 -W1 {lab.vip} >/dev/null 2>&1; true")
    out = lab.ssh("gw", f"ip neigh show {lab.vip}").stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else ""


def can_ping(lab, src: str, dst_ip: str) -> bool:
    return lab.ssh(src, f"ping -c1 -W1 {dst_ip} >/dev/null 2>&1").returncode == 0


def json_dump(lab, node: str) -> list[dict]:
    done = lab.ssh(node, "rm -f /tmp/keepalived.json; kill -$(keepalived --signum=JSON) $(cat /run/keepalived.pid)"
                   " && for i in $(seq 50); do [ -s /tmp/keepalived.json ] && break; sleep 0.1; done;"
                   " cat /tmp/keepalived.json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_one_master(lab) -> None:
    wait_until(lambda: has_vip(lab, "node-a") and not has_vip(lab, "node-b"), 15, "the VIP on node-a only")
    assert lab.ssh("node-a", "cat /run/keepalived.state").stdout.strip() == "MASTER"
    assert lab.ssh("node-b", "cat /run/keepalived.state").stdout.strip() == "BACKUP"
    wait_until(lambda: gw_sees_vip_at(lab) == mac(lab, "node-a"), 10, "gw resolving the VIP to node-a")


def test_healthy_pair_has_one_master(lab):
    assert_one_master(lab)
    dump = json_dump(lab, "node-b")
    assert dump[0]["data"]["iname"] == "VI_1"
    assert dump[0]["data"]["state"] == 1  # BACKUP
    assert dump[0]["stats"]["auth_failure"] == 0
    assert "Entering BACKUP STATE" in lab.ssh("node-b", "cat /var/log/keepalived.log").stdout


def test_vrrp_auth_mismatch_makes_both_master(lab):
    with lab.broken("vrrp-auth-mismatch"):
        assert has_vip(lab, "node-a") and has_vip(lab, "node-b")
        wait_until(lambda: "received an invalid passwd" in lab.ssh("node-a", "cat /var/log/keepalived.log").stdout,
                   10, "'invalid passwd' in node-a's keepalived log")
        wait_until(lambda: json_dump(lab, "node-b")[0]["stats"]["auth_failure"] > 0, 10, "auth_failure counting")
        assert json_dump(lab, "node-b")[0]["data"]["state"] == 2  # MASTER
    assert_one_master(lab)


def test_kill_keepalived_leaves_a_stale_duplicate_vip(lab):
    with lab.broken("kill-keepalived", "node-a"):
        assert lab.ssh("node-a", "pidof keepalived").returncode == 1
        assert has_vip(lab, "node-a")  # nobody removed it: SIGKILL
        wait_until(lambda: has_vip(lab, "node-b"), 10, "node-b to take the VIP")
        # node-b's gratuitous ARP moved the gateway to node-b while node-a still holds the address.
        wait_until(lambda: gw_sees_vip_at(lab) == mac(lab, "node-b"), 10, "gw resolving the VIP to node-b")
    assert_one_master(lab)


def test_partition_isolates_the_node(lab):
    with lab.broken("partition", "node-b"):
        rules = subprocess.run(["ip", "netns", "exec", "lab-sw", "nft", "list", "ruleset"],
                               capture_output=True, text=True, timeout=10).stdout
        assert '"p-node-b"' in rules and "drop" in rules
        assert not can_ping(lab, "node-a", lab.ips["node-b"])
        assert not can_ping(lab, "gw", lab.ips["node-b"])
        assert can_ping(lab, "gw", lab.ips["node-a"])
        assert lab.ssh("node-b", "true", timeout=10).returncode == 255
    assert can_ping(lab, "node-a", lab.ips["node-b"])
    assert_one_master(lab)


def test_link_down_moves_the_vip(lab):
    with lab.broken("link-down", "node-a"):
        assert lab.ssh("node-a", "true", timeout=10).returncode == 255
        wait_until(lambda: has_vip(lab, "node-b"), 10, "node-b to take the VIP")
        wait_until(lambda: gw_sees_vip_at(lab) == mac(lab, "node-b"), 10, "gw resolving the VIP to node-b")
        assert not can_ping(lab, "gw", lab.ips["node-a"])
    assert_one_master(lab)


def test_node_crash_and_restart(lab):
    with lab.broken("node-crash", "node-a"):
        assert lab.ssh("node-a", "true", timeout=10).returncode == 255
        wait_until(lambda: has_vip(lab, "node-b"), 10, "node-b to take the VIP")
        assert can_ping(lab, "gw", lab.vip)
        assert "connection:Connecting" in lab.ssh("node-b", "drbdadm status r0").stdout
        io = lab.ssh("node-b", "mysql -e 'SHOW SLAVE STATUS\\G'").stdout
        wait_until(lambda: "Slave_IO_Running: Yes" not in lab.ssh("node-b", "mysql -e 'SHOW SLAVE STATUS\\G'").stdout,
                   30, f"the replica to lose its master (was: {io[:80]!r})")
    assert lab.ssh("node-a", "hostname").stdout.strip() == "node-a"
    assert_one_master(lab)
