"""Procedures end to end on the lab, through `run_from_cli` with the real SshRunner: each works on a
healthy cluster, and under each relevant `lab break` it refuses in preflight with the right reason or
completes and verifies. Every test ends by checking the invariants: one VIP holder, one DRBD Primary,
and no failover onto a lagging replica.
"""

from __future__ import annotations

import shlex

import pytest
from procedure_lab_state import drbd_primaries, vip_holders


@pytest.fixture(scope="module")
def peer_ssh(lab):
    """node-b must reach node-a over SSH for the dump to stream between them (the lab sets that up; this
    only repairs it if a test rebuilt a node's keys)."""
    check = lab.ssh("node-b", "ssh -o BatchMode=yes -o ConnectTimeout=3 10.213.77.11 true")
    if check.returncode != 0:
        key = lab.ssh("node-b", "test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' "
                      "-f /root/.ssh/id_ed25519; cat /root/.ssh/id_ed25519.pub").stdout.strip()
        known = lab.known_hosts.read_text()  # the nodes' real host keys, as the lab pinned them
        assert key and "ssh-ed25519" in known, "could not read keys"
        lab.ssh("node-a", f"grep -qF '{key}' /root/.ssh/authorized_keys || echo '{key}' >> /root/.ssh/authorized_keys")
        lab.ssh("node-b", f"umask 077; printf '%s' {shlex.quote(known)} > /root/.ssh/known_hosts")
        check = lab.ssh("node-b", "ssh -o BatchMode=yes -o ConnectTimeout=3 10.213.77.11 true")
    assert check.returncode == 0, check.stderr


async def test_failover_moves_vip_arpings_and_verifies(healthy, cli):
    code, text = await cli("failover", "--cluster", "db", "--dry-run")
    assert code == 0, text
    assert "[node-a] sh -c 'echo 1 > /etc/keepalived/release'" in text and "pkill -TERM" not in text
    code, text = await cli("failover", "--cluster", "db", "--yes")
    assert code == 0, text
    assert vip_holders(healthy) == {"node-b"}
    assert "✓ gateway gw maps 10.213.77.100 to node-b" in text
    steps = [r for r in cli.registry.audit.tail() if r["event"] == "step"]
    assert len(steps) == 13 and all(s["exit_code"] == 0 for s in steps)  # the whole stack moved
    # a second failover right away needs the flapping acknowledgement
    code, text = await cli("failover", "--cluster", "db", "--yes")
    assert code == 1 and ("acknowledge flapping" in text or "preflight failed" in text)
    assert vip_holders(healthy) == {"node-b"}


async def test_arping_from_the_holder(healthy, cli):
    code, text = await cli("arping", "--cluster", "db", "--yes")
    assert code == 0, text
    assert "[node-a] arping -U -f -c 3 -I eth0 -s 10.213.77.100 10.213.77.254" in text
    assert "✓ gateway gw maps 10.213.77.100 to node-a" in text


@pytest.mark.parametrize(("scenario", "node", "reason"), [
    ("replica-stopped", None, "replication threads not running"),
    ("replica-lag", None, "replica is behind the master"),
    ("vrrp-auth-mismatch", None, "duplicate VIP"),
    ("partition", "node-b", "node-b"),
    ("drbd-disconnect", None, "DRBD r0 on node-b UpToDate+Connected"),
    ("drbd-split-brain", None, "split brain"),
    ("drbd-resync", None, "DRBD r0 on node-b UpToDate+Connected"),
    ("kill-keepalived", "node-a", "duplicate VIP"),
    ("node-crash", "node-b", "node-b"),
])
async def test_failover_refuses_under_faults(healthy, cli, scenario, node, reason):
    with healthy.broken(scenario, node):
        before_vip, before_drbd = vip_holders(healthy), drbd_primaries(healthy)
        code, text = await cli("failover", "--cluster", "db", "--yes")
        assert code == 1, text
        assert "REFUSED: preflight failed" in text and reason in text, text
        assert "pkill" not in "".join(r.get("command", "") for r in cli.registry.audit.tail())
        assert vip_holders(healthy) == before_vip and drbd_primaries(healthy) == before_drbd


async def test_skip_one_repairs_a_duplicate_key_stop_and_refuses_otherwise(healthy, cli):
    code, text = await cli("mysql-skip-one", "--cluster", "db", "--yes")
    assert code == 1 and "skipping is only for a stopped SQL thread" in text
    with healthy.broken("replica-stopped"):
        code, text = await cli("mysql-skip-one", "--cluster", "db", "--yes")
        assert code == 1 and "no error to skip" in text
    with healthy.broken("replica-conflict"):
        code, text = await cli("mysql-skip-one", "--cluster", "db", "--yes")
        assert code == 0, text
        assert "Last_SQL_Error present: 1062" in text
        assert "✓ replica node-b caught up" in text


@pytest.mark.parametrize(("lock", "dump_flags"), [("single-transaction", "--single-transaction --master-data=2"),
                                                ("read-lock", "--lock-all-tables --master-data=2")])
async def test_resync_from_master_rebuilds_a_broken_replica(healthy, cli, peer_ssh, lock, dump_flags):
    with healthy.broken("replica-conflict"):
        code, text = await cli("mysql-resync", "--cluster", "db", "--lock", lock, "--yes")
        assert code == 0, text
        assert dump_flags in text
        assert "✓ MySQL replica node-b caught up: IO Yes, SQL Yes, lag 0s" in text
        status = healthy.ssh("node-b", "mysql -e 'SHOW SLAVE STATUS\\G'").stdout
        assert "Slave_SQL_Running: Yes" in status and "Last_SQL_Errno: 0" in status
        assert healthy.ssh("node-b", "test -e /var/tmp/hascreen-resync-db.sql").returncode != 0


async def test_split_brain_recovery_discards_the_victim_and_resyncs(healthy, cli):
    with healthy.broken("drbd-split-brain"):
        code, text = await cli("drbd-split-brain", "--cluster", "db", "--yes")
        assert code == 1 and "pick --victim" in text and "evidence r0 on node-b: role Primary" in text
        code, text = await cli("drbd-split-brain", "--cluster", "db", "--victim", "node-b", "--yes")
        assert code == 0, text
        assert drbd_primaries(healthy) == {"node-a"}
        assert "✓ DRBD r0 on node-b uptodate" in text


async def test_drbd_connect_after_a_disconnect_and_promote_refused_while_peer_primary(healthy, cli):
    code, text = await cli("drbd-promote", "--cluster", "db", "--node", "node-b", "--yes")
    assert code == 1 and "two primaries: demote the peer first" in text
    with healthy.broken("drbd-disconnect"):
        code, text = await cli("drbd-connect", "--cluster", "db", "--node", "node-a", "--yes")
        assert code == 0, text
        assert "✓ DRBD r0 on node-a connected" in text


async def test_no_failover_onto_a_lagging_replica_even_with_force_refused_without_name(healthy, cli):
    with healthy.broken("replica-lag"):
        code, text = await cli("failover", "--cluster", "db", "--force", answers=["wrong-name"])
        assert code == 1 and "forcing needs the cluster name" in text
        assert vip_holders(healthy) == {"node-a"}


async def test_drbd_demote_refuses_the_node_that_serves(healthy, cli):
    code, text = await cli("drbd-demote", "--cluster", "db", "--node", "node-a", "--yes")
    assert code == 1 and "services still run on this node: fail over first" in text
    assert drbd_primaries(healthy) == {"node-a"}


async def test_replacement_runbook_on_the_lab(healthy, cli):
    code, text = await cli("drbd-replace-node", "--cluster", "db", "--sync-timeout", "60", "--yes",
                           answers=["done"] * 9)
    assert code == 0, text
    assert vip_holders(healthy) == {"node-b"} and drbd_primaries(healthy) == {"node-b"}
    assert "(8) release the VIP on node-a: its keepalived (still running) goes FAULT" in text
    assert "✓ DRBD r0 on node-a secondary" in text and "✓ DRBD r0 on node-b primary" in text


async def test_user_defined_procedure_on_the_lab(healthy, cli, tmp_path):
    path = tmp_path / "procedures.yaml"
    path.write_text(
        "procedures:\n"
        "  vrrp-state:\n"
        "    note: show the VRRP state the notify script wrote\n"
        "    preflight: [vip-single-holder, drbd-no-split-brain]\n"
        "    steps:\n"
        "      - {host: all, argv: [cat, /run/keepalived.state]}\n"
        "    verify:\n"
        "      - command: {host: holder, argv: [grep, -q, MASTER, /run/keepalived.state]}\n")
    code, text = await cli("vrrp-state", "--cluster", "db", "--procedures", str(path), "--yes")
    assert code == 0, text
    assert "[node-a] cat /run/keepalived.state" in text and "[node-b] cat /run/keepalived.state" in text
    assert "✓ grep -q MASTER /run/keepalived.state on node-a: rc 0" in text
