"""Where the lab's layers are, read with the real ssh client: who holds the VIP, who is DRBD Primary; a
sampler that records the VIP, DRBD role and read_only (and whether keepalived runs) of both nodes every
100 ms while procedures run;
SQL on a node; an application account writing through the VIP from the gateway host; one checked failover
(`switch_and_check`: a write through the VIP first, the consistency row and the row on the new master after)."""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess

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


APP_USER = "hsapp"


class LayerSampler:
    """One ssh session per node and layer, each printing `epoch value` every 100 ms until stopped."""

    LOOPS = {
        "vip": "ip -o addr show dev eth0 | grep -c ' {vip}/'",
        "writable": "mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null || echo x",
        "drbd": "drbdadm status r0 2>/dev/null | head -n 1",
    }
    # keepalived profile: both keepalived processes (parent and VRRP child) alive, through their pid files
    KEEPALIVED_LOOP = ("kill -0 $(cat /run/keepalived.pid 2>/dev/null) 2>/dev/null "
                       "&& kill -0 $(cat /run/keepalived_vrrp.pid 2>/dev/null) 2>/dev/null && echo up || echo down")

    def __init__(self, lab, keepalived: bool = False) -> None:
        self.lab = lab
        self.loops = dict(self.LOOPS, **({"keepalived": self.KEEPALIVED_LOOP} if keepalived else {}))
        self.procs: dict[tuple[str, str], subprocess.Popen[str]] = {}

    def start(self) -> None:
        for node in NODES:
            for layer, probe in self.loops.items():
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
                  "drbd": "role:Primary" in value, "keepalived": value.strip() == "up"}[layer]
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


def make_app_writer(lab):
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


async def switch_and_check(lab, cli, app_writer, target: str, keepalived: bool = True) -> str:
    old = "node-a" if target == "node-b" else "node-b"
    row_id = next_id(lab)
    written = app_writer(row_id)
    assert written.returncode == 0, written.stderr
    code, text = await cli("failover", "--cluster", "db", "--yes", "--ack-flapping")
    assert code == 0, text
    assert f"✓ layers agree (health consistency): {target}" in text, text
    assert f"✓ {old} replicates from {target}" in text, text
    if keepalived:
        assert f"✓ keepalived runs on {old}: yes" in text and f"✓ keepalived runs on {target}: yes" in text
        # FAULT (the release) was only a moment: the verification sees MASTER and BACKUP
        assert f"✓ {target} is VRRP MASTER: MASTER" in text and f"✓ {old} is VRRP BACKUP: BACKUP" in text
    assert sql(lab, target, f"SELECT name FROM app.items WHERE id={row_id}") == "via vip"
    return text
