"""The whole-stack failover on the lab (keepalived profile): failover then failback five times in a row,
with the VIP, the DRBD Primary and the writable MySQL sampled every 100 ms on both nodes DURING the runs
(never on two nodes at once), a write made through the VIP just before each switch present on the new
master afterwards, the health consistency row ok after each, keepalived running on both nodes at the end.
The same with a file/position replica, and the refusals of the preflight.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
import time

import pytest

NODES = ("node-a", "node-b")
APP_USER = "hsapp"


class LayerSampler:
    """One ssh session per node and layer, each printing `epoch value` every 100 ms until stopped."""

    LOOPS = {
        "vip": "ip -o addr show dev eth0 | grep -c ' {vip}/'",
        "writable": "mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null || echo x",
        "drbd": "drbdadm status r0 2>/dev/null | head -n 1",
    }

    def __init__(self, lab) -> None:
        self.lab = lab
        self.procs: dict[tuple[str, str], subprocess.Popen[str]] = {}

    def start(self) -> None:
        for node in NODES:
            for layer, probe in self.LOOPS.items():
                script = (f"while :; do v=$({probe.format(vip=self.lab.vip)}); "
                          "echo \"$(date +%s.%N) $v\"; sleep 0.1; done")
                argv = ["ssh", "-F", "/dev/null", "-i", str(self.lab.key), "-o", "IdentitiesOnly=yes",
                        "-o", f"UserKnownHostsFile={self.lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", f"root@{self.lab.ips[node]}", script]
                self.procs[(node, layer)] = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    def stop(self) -> dict[tuple[str, str], list[tuple[float, bool]]]:
        samples = {}
        for key, proc in self.procs.items():
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
            samples[key] = [self._parse(key[1], line) for line in out.splitlines() if line.strip()]
        return samples

    @staticmethod
    def _parse(layer: str, line: str) -> tuple[float, bool]:
        stamp, _, value = line.partition(" ")
        active = {"vip": value.strip() == "1", "writable": value.strip() == "0",
                  "drbd": "role:Primary" in value}[layer]
        return float(stamp), active


def active_spans(samples: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """[first, last] sample time of each run of active samples: the layer surely was active then."""
    spans, start, last = [], None, None
    for stamp, active in samples:
        if active:
            start = stamp if start is None else start
            last = stamp
        elif start is not None:
            spans.append((start, last))
            start = None
    if start is not None:
        spans.append((start, last))
    return spans


def overlaps(samples, layer: str) -> list[str]:
    a = active_spans(samples[("node-a", layer)])
    b = active_spans(samples[("node-b", layer)])
    return [f"{layer} on both nodes {max(s1, s2):.3f}..{min(e1, e2):.3f}"
            for s1, e1 in a for s2, e2 in b if max(s1, s2) <= min(e1, e2)]


def sql(lab, node: str, statement: str) -> str:
    done = lab.ssh(node, "mariadb -N -B -e " + shlex.quote(statement))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def app_writer(lab):
    """An application account, writing through the VIP from the gateway host."""
    password = secrets.token_hex(8)
    sql(lab, "node-a", f"CREATE OR REPLACE USER {APP_USER}@'10.213.77.%' IDENTIFIED BY '{password}'; "
                       f"GRANT SELECT, INSERT ON app.* TO {APP_USER}@'10.213.77.%'")

    def write(row_id: int) -> subprocess.CompletedProcess[str]:
        return lab.ssh("gw", f"MYSQL_PWD={password} mariadb -h {lab.vip} -u {APP_USER} --connect-timeout=3 "
                             f"-e \"INSERT INTO app.items (id, name) VALUES ({row_id}, 'via vip')\"")

    return write


def next_id(lab) -> int:
    return int(sql(lab, "node-a" if sql(lab, "node-a", "SELECT @@read_only") == "0" else "node-b",
                   "SELECT COALESCE(MAX(id), 0) + 1 FROM app.items"))


async def switch_and_check(lab, cli, app_writer, target: str) -> str:
    old = "node-a" if target == "node-b" else "node-b"
    row_id = next_id(lab)
    written = app_writer(row_id)
    assert written.returncode == 0, written.stderr
    code, text = await cli("failover", "--cluster", "db", "--yes", "--ack-flapping")
    assert code == 0, text
    assert f"✓ layers agree (health consistency): {target}" in text, text
    assert f"✓ {old} replicates from {target}" in text, text
    assert f"✓ keepalived runs on {old}: yes" in text and f"✓ keepalived runs on {target}: yes" in text
    assert sql(lab, target, f"SELECT name FROM app.items WHERE id={row_id}") == "via vip"
    return text


async def test_failover_and_failback_five_times_never_two_active_nodes(healthy, cli, app_writer):
    sampler = LayerSampler(healthy)
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
