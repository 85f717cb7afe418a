"""The whole-stack failover on the lab (keepalived profile): failover then failback five times in a row,
with the VIP, the DRBD Primary and the writable MySQL sampled every 100 ms on both nodes DURING the runs
(never on two nodes at once), a write made through the VIP just before each switch present on the new
master afterwards, the health consistency row ok after each, keepalived running on both nodes at every
sample (the VIP moves through keepalived's release file, never by stopping keepalived).
The same with a file/position replica, and the refusals of the preflight.
"""

from __future__ import annotations

import time

import pytest
from procedure_lab_state import LayerSampler, active_spans, next_id, overlaps, sql, switch_and_check

from tests.integration.conftest import wait_until


async def test_failover_and_failback_five_times_never_two_active_nodes(healthy, cli, app_writer):
    sampler = LayerSampler(healthy, keepalived=True)
    sampler.start()
    texts = []
    began = time.monotonic()
    try:
        time.sleep(0.5)
        for _ in range(5):
            texts.append(await switch_and_check(healthy, cli, app_writer, "node-b"))
            texts.append(await switch_and_check(healthy, cli, app_writer, "node-a"))
        time.sleep(0.3)
    finally:
        samples = sampler.stop()
    elapsed = time.monotonic() - began
    for key, series in samples.items():
        # sampled all along, about every 100 ms (the probe itself adds a few ms)
        assert len(series) >= elapsed / 0.4, f"{key}: only {len(series)} samples in {elapsed:.0f} s"
        gaps = [b[0] - a[0] for a, b in zip(series, series[1:], strict=False)]
        assert max(gaps) < 1.0, f"{key}: a {max(gaps):.2f} s gap between samples"
    for layer in ("vip", "writable", "drbd"):
        assert not overlaps(samples, layer), overlaps(samples, layer)
        # and each layer really moved: both nodes were active at some point
        assert active_spans(samples[("node-a", layer)]) and active_spans(samples[("node-b", layer)])
    for node in ("node-a", "node-b"):
        # the VIP moves through the release file: no node is ever without its keepalived
        down = [stamp for stamp, running in samples[(node, "keepalived")] if not running]
        assert not down, f"keepalived not running on {node} at {len(down)} samples, first at {down[0]:.3f}"
    assert "echo 1 > /etc/keepalived/release" in texts[0] and "pkill -TERM" not in texts[0]
    assert "GTID (Slave_Pos)" in texts[0]
    assert "MASTER_GTID_WAIT" in texts[0] and "MASTER_USE_GTID=slave_pos" in texts[0]
    # the lab's replica is still on GTID after ten switches
    assert "Using_Gtid: Slave_Pos" in healthy.ssh("node-b", "mariadb -e 'SHOW SLAVE STATUS\\G'").stdout


async def test_failover_and_failback_with_a_file_position_replica(healthy, cli, app_writer):
    sql(healthy, "node-b", "STOP SLAVE; CHANGE MASTER TO MASTER_USE_GTID=no; START SLAVE")
    try:
        text = await switch_and_check(healthy, cli, app_writer, "node-b")
        assert "replication mode of node-b: file/position" in text
        assert "MASTER_POS_WAIT" in text and "MASTER_LOG_FILE=" in text
        text = await switch_and_check(healthy, cli, app_writer, "node-a")
        assert "MASTER_POS_WAIT" in text
    finally:
        healthy.must("heal")
        sql(healthy, "node-b", "STOP SLAVE; CHANGE MASTER TO MASTER_USE_GTID=slave_pos; START SLAVE")


@pytest.mark.parametrize(("scenario", "node", "reason"), [
    ("kill-keepalived", "node-b", "keepalived runs on the target node-b: no"),
    ("replica-lag", None, "replica is behind the master"),
    ("drbd-resync", None, "DRBD r0 on node-b UpToDate+Connected"),
    ("drbd-split-brain", None, "split brain"),
])
async def test_switchover_refuses_with_the_reason(healthy, cli, scenario, node, reason):
    with healthy.broken(scenario, node):
        code, text = await cli("failover", "--cluster", "db", "--yes")
        assert code == 1, text
        assert "REFUSED: preflight failed" in text and reason in text, text
        assert "SET GLOBAL read_only" not in "".join(r.get("command", "") for r in cli.registry.audit.tail())


async def test_switchover_refuses_an_errant_gtid_on_the_target(healthy, cli):
    sql(healthy, "node-b", "CREATE DATABASE errant_probe; DROP DATABASE errant_probe")  # written on the replica
    try:
        code, text = await cli("failover", "--cluster", "db", "--yes")
        assert code == 1, text
        assert "✗ no errant GTIDs on node-b: 0-2-" in text and "the master never had" in text
    finally:
        # give node-b the master's binlog state again: its errant transaction leaves its history
        state = sql(healthy, "node-a", "SELECT @@gtid_binlog_state")
        sql(healthy, "node-b", f"RESET MASTER; SET GLOBAL gtid_binlog_state='{state}'")
    code, text = await cli("failover", "--cluster", "db", "--dry-run")
    assert code == 0 and "✓ no errant GTIDs on node-b: none" in text, text


@pytest.fixture
def rebuilt_afterwards(lab):
    """The emergency path leaves node-b's writes as master in the GTID history, which `heal` does not undo
    (a later failover to node-b would rightly refuse them as errant): the next test gets a new lab."""
    yield
    lab.must("up", timeout=180)


async def test_promote_after_the_master_crashed_then_the_old_master_rejoins_as_a_gtid_replica(
        rebuilt_afterwards, healthy, cli, app_writer):
    row_id = next_id(healthy)
    assert app_writer(row_id).returncode == 0
    wait_until(lambda: sql(healthy, "node-b", f"SELECT COUNT(*) FROM app.items WHERE id={row_id}") == "1", 10,
               "the row on the replica")
    with healthy.broken("node-crash", "node-a"):
        wait_until(lambda: healthy.ssh("node-b", "ip -o addr show dev eth0").stdout.count(f" {healthy.vip}/"),
                   20, "keepalived on node-b to take the VIP")
        code, text = await cli("promote", "--cluster", "db", "--yes")
        assert code == 1, text
        assert "✗ node-a confirmed powered off: not confirmed" in text and "--powered-off db" in text
        assert "✓ node-b applied all it received" in text
        assert sql(healthy, "node-b", "SELECT @@read_only") == "1"  # nothing was done
        code, text = await cli("promote", "--cluster", "db", "--yes", "--powered-off", "db", "--ack-flapping")
        assert code == 0, text
        assert "✓ MySQL on node-b writable: read_only=OFF" in text and "✓ DRBD r0 Primary on node-b: Primary" in text
        assert "Next: (1) when node-a returns" in text
        assert sql(healthy, "node-b", f"SELECT name FROM app.items WHERE id={row_id}") == "via vip"
        assert app_writer(row_id + 1).returncode == 0  # the VIP takes writes again, on node-b
        # the old master powers on again, still writable: what promote's `Next:` says, step by step
        healthy.must("break", "node-return", "node-a")
        assert sql(healthy, "node-a", "SELECT @@read_only") == "0"
        sql(healthy, "node-a", "SET GLOBAL read_only=ON")
        code, text = await cli("mysql-resync", "--cluster", "db", "--replica", "node-a", "--yes")
        assert code == 0, text
        assert "GTID (Slave_Pos)" in text and "MASTER_USE_GTID=slave_pos" in text
        status = healthy.ssh("node-a", "mariadb -e 'SHOW SLAVE STATUS\\G'").stdout
        assert "Using_Gtid: Slave_Pos" in status and f"Master_Host: {healthy.ips['node-b']}" in status
        wait_until(lambda: sql(healthy, "node-a", f"SELECT COUNT(*) FROM app.items WHERE id={row_id + 1}") == "1",
                   10, "the row written after the promotion on the rejoined node-a")
