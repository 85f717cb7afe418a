"""The lab's DRBD simulator (there is no DRBD kernel module here): its output must match the real formats
(checked against real captured outputs in tests/fixtures/samples/ and against tui.health's parsers) and
its state machine must make the real transitions with the real exit codes. Runs the shim as a program,
two "nodes" sharing one state dir, as in the lab; needs no root."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.lab import drbd_sim

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
SIM = Path(drbd_sim.__file__)


class Cluster:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        drbd_sim.write_initial_state(state_dir / drbd_sim.STATE_FILE_NAME, "r0", ["node-a", "node-b"],
                                     primary="node-a", addresses={"node-a": "10.213.77.11", "node-b": "10.213.77.12"})
        bin_dir = state_dir / "bin"
        bin_dir.mkdir()
        for tool in ("drbdadm", "drbdsetup"):
            (bin_dir / tool).symlink_to(SIM)
        self.bin = bin_dir

    def run(self, node: str, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DRBD_SIM_DIR=str(self.dir), DRBD_SIM_NODE=node)
        return subprocess.run([sys.executable, str(self.bin / tool), *args], capture_output=True, text=True,
                              env=env, timeout=20)

    def out(self, node: str, tool: str, *args: str) -> str:
        done = self.run(node, tool, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def set_sync_rate(self, kib_per_s: int) -> None:
        with drbd_sim.locked_state(str(self.dir / drbd_sim.STATE_FILE_NAME)) as state:
            state["resources"]["r0"]["sync_rate"] = kib_per_s


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    return Cluster(tmp_path)


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_healthy_status_is_byte_for_byte_the_real_format(cluster):
    real = sample("drbd9/linbit-ug9-drbdadm-status-all-healthy-secondary.txt")
    expected = real.replace("data ", "r0 ").replace("node-1 ", "node-a ")
    assert cluster.out("node-b", "drbdadm", "status", "r0").rstrip("\n") + "\n" == expected
    real_primary = sample("drbd9/cfs-drbdadm-status-pcmk1-uptodate.txt")
    assert cluster.out("node-a", "drbdadm", "status").rstrip("\n") + "\n" == \
        real_primary.replace("wwwdata ", "r0 ").replace("pcmk-1 ", "node-b ")


def test_json_status_has_the_real_keys(cluster):
    real = json.loads(sample("drbd9/drbdsetup-status-json-ha-cluster-exporter-original.txt"))[0]
    ours = json.loads(cluster.out("node-b", "drbdsetup", "status", "--json"))[0]

    def keys(doc: dict) -> set[str]:
        return {k for k, v in doc.items() if not isinstance(v, list)}

    assert keys(ours) == keys(real)
    assert keys(ours["devices"][0]) == keys(real["devices"][0])
    assert keys(ours["connections"][0]) == keys(real["connections"][0])
    assert keys(ours["connections"][0]["peer_devices"][0]) == keys(real["connections"][0]["peer_devices"][0])
    assert ours["connections"][0]["peer-role"] == "Primary"
    assert ours["connections"][0]["peer_devices"][0]["replication-state"] == "Established"


def test_events2_now_matches_the_real_records(cluster):
    out = cluster.out("node-a", "drbdsetup", "events2", "--now", "r0")
    assert out.endswith("exists -\n")
    real = sample("drbd9/drbd-utils-test-events2-standalone-to-connected-primary.txt")

    def fields(text: str, kind: str) -> set[str]:
        return {tok.split(":")[0] for line in text.splitlines() if line.split()[1:2] == [kind]
                for tok in line.split()[2:]}

    for kind in ("resource", "connection", "device", "peer-device", "path"):
        assert fields(out, kind) - {"write-ordering"} <= fields(real, kind) | {"write-ordering"}, kind
    assert "connection:Connected role:Secondary" in out
    assert "replication:Established peer-disk:UpToDate" in out


def test_outputs_parse_with_the_health_parsers(cluster):
    health = pytest.importorskip("tui.health.drbd")
    for args in (["status"], ["status", "--json"], ["events2", "--now"], ["status", "--verbose", "--statistics"]):
        parsed = health.parse_drbd(cluster.out("node-a", "drbdsetup", *args))
        assert not parsed.errors, (args, parsed.errors)
        res = parsed.resource("r0")
        assert res.role == "Primary", args
        assert res.connections[0].connection == "Connected", args
        assert res.connections[0].devices[0].peer_disk == "UpToDate", args
    proc = health.parse_proc_drbd(cluster.out("node-b", "drbdadm", "proc"))
    assert not proc.errors
    dev = proc.proc_devices[0]
    assert (dev.cs, dev.role, dev.peer_role, dev.disk, dev.peer_disk, dev.protocol) == \
        ("Connected", "Secondary", "Primary", "UpToDate", "UpToDate", "C")


def test_primary_is_refused_while_the_peer_is_primary(cluster):
    done = cluster.run("node-b", "drbdadm", "primary", "r0")
    assert done.returncode == 11
    assert "State change failed" in done.stderr
    assert cluster.out("node-b", "drbdadm", "role", "r0").strip() == "Secondary"
    assert cluster.run("node-b", "drbdadm", "primary", "--force", "r0").returncode == 0


def test_down_resource_and_missing_module_exit_codes(cluster):
    assert cluster.run("node-b", "drbdadm", "down", "r0").returncode == 0
    gone = cluster.run("node-b", "drbdadm", "status", "r0")
    assert gone.returncode == 10 and "No such resource" in gone.stderr
    assert "connection:Connecting" in cluster.out("node-a", "drbdadm", "status", "r0")
    with drbd_sim.locked_state(str(cluster.dir / drbd_sim.STATE_FILE_NAME)) as state:
        state["resources"]["r0"]["nodes"]["node-b"]["loaded"] = False
    no_module = cluster.run("node-b", "drbdsetup", "status")
    assert no_module.returncode == 20 and "generic netlink" in no_module.stderr
    assert cluster.run("node-b", "drbdadm", "up", "r0").returncode == 0
    assert "peer-disk:UpToDate" in cluster.out("node-a", "drbdadm", "status", "r0")


def test_disconnect_then_connect_resyncs_what_the_primary_wrote(cluster):
    cluster.out("node-a", "drbdadm", "disconnect", "r0")
    assert "node-b connection:StandAlone" in cluster.out("node-a", "drbdadm", "status", "r0")
    assert "node-a connection:Connecting" in cluster.out("node-b", "drbdadm", "status", "r0")
    proc = cluster.out("node-a", "drbdadm", "proc")
    assert re.search(r" 0: cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown {3}r-----", proc)
    cluster.set_sync_rate(1)  # slow enough to see the resync
    cluster.out("node-a", "drbdadm", "connect", "r0")
    status = cluster.out("node-b", "drbdadm", "status", "r0")
    assert "disk:Inconsistent" in status
    assert re.search(r"replication:SyncTarget peer-disk:UpToDate done:\d+\.\d\d", status)


def test_split_brain_and_its_manual_recovery(cluster):
    cluster.out("node-a", "drbdadm", "disconnect", "r0")
    cluster.out("node-b", "drbdadm", "primary", "r0")  # allowed: the peer is not connected
    cluster.out("node-a", "drbdadm", "connect", "r0")
    for node, peer in (("node-a", "node-b"), ("node-b", "node-a")):
        status = cluster.out(node, "drbdadm", "status", "r0")
        assert f"{peer} connection:StandAlone" in status and "role:Primary" in status
    # The documented recovery: the victim discards its data, the survivor reconnects.
    cluster.set_sync_rate(1)
    cluster.out("node-b", "drbdadm", "secondary", "r0")
    cluster.out("node-b", "drbdadm", "connect", "--discard-my-data", "r0")
    cluster.out("node-a", "drbdadm", "connect", "r0")
    assert "replication:SyncSource peer-disk:Inconsistent" in cluster.out("node-a", "drbdadm", "status", "r0")
    assert "replication:SyncTarget" in cluster.out("node-b", "drbdadm", "status", "r0")


def test_resync_progress_advances_with_the_clock(cluster):
    cluster.set_sync_rate(20000)  # KiB/s: a 512 MiB resync takes ~26 s
    cluster.out("node-a", "drbdadm", "invalidate-remote", "r0")

    def progress() -> tuple[float, int]:
        doc = json.loads(cluster.out("node-a", "drbdsetup", "status", "--json"))[0]
        pd = doc["connections"][0]["peer_devices"][0]
        assert pd["replication-state"] == "SyncSource"
        done = float(re.search(r"done:(\d+\.\d\d)", cluster.out("node-a", "drbdadm", "status")).group(1))
        return done, pd["out-of-sync"]

    first = progress()
    time.sleep(1.2)
    second = progress()
    assert second[0] > first[0] and second[1] < first[1]
    proc = cluster.out("node-b", "drbdadm", "proc")
    assert re.search(r"cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C", proc)
    assert re.search(r"\t\[=*>\.*\] sync'ed: *\d+\.\d% \(\d+/524236\)K\n\tfinish: \d+:\d\d:\d\d speed: [\d,]+ \([\d,]+\) K/sec",
                     proc)


def test_bad_usage_is_a_clear_error(cluster):
    assert cluster.run("node-a", "drbdadm").returncode == 1
    unknown = cluster.run("node-a", "drbdadm", "status", "nope")
    assert unknown.returncode == 10 and "not defined" in unknown.stderr
    assert cluster.run("node-a", "drbdadm", "frobnicate", "r0").returncode == 1
