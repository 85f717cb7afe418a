"""The simulated DRBD resource r0 in the lab, reached over SSH like a real one, and its break scenarios."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from tests.integration.conftest import wait_until


def status(lab, node: str) -> str:
    done = lab.ssh(node, "drbdadm status r0")
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_healthy(lab) -> None:
    assert status(lab, "node-a").startswith("r0 role:Primary\n  disk:UpToDate\n  node-b role:Secondary\n"
                                            "    peer-disk:UpToDate\n")
    assert status(lab, "node-b").startswith("r0 role:Secondary\n  disk:UpToDate\n  node-a role:Primary\n"
                                            "    peer-disk:UpToDate\n")


def test_the_shims_are_on_sshds_path(lab):
    assert lab.ssh("node-a", "command -v drbdadm").stdout.strip() == "/usr/local/sbin/drbdadm"
    assert lab.ssh("node-b", "command -v drbdsetup").stdout.strip() == "/usr/local/sbin/drbdsetup"
    assert_healthy(lab)
    doc = json.loads(lab.ssh("node-b", "drbdsetup status --json r0").stdout)
    assert doc[0]["connections"][0]["name"] == "node-a"
    assert lab.ssh("gw", "command -v drbdadm").stdout.strip() != "/usr/local/sbin/drbdadm"  # observer: no shim


@pytest.mark.skipif(not shutil.which("drbdadm", path="/usr/sbin:/sbin"), reason="drbd-utils not installed")
def test_drbdadm_dump_is_the_real_one(lab):
    done = lab.ssh("node-a", "drbdadm dump r0")
    assert done.returncode == 0, done.stderr
    assert "resource r0" in done.stdout and "10.213.77.12:7789" in done.stdout


def test_drbd_disconnect(lab):
    with lab.broken("drbd-disconnect"):
        assert "  node-b connection:StandAlone" in status(lab, "node-a")
        assert "  node-a connection:Connecting" in status(lab, "node-b")
        events = lab.ssh("node-b", "drbdsetup events2 --now r0").stdout
        assert "connection:Connecting" in events and events.endswith("exists -\n")
    assert_healthy(lab)


def test_drbd_split_brain(lab):
    with lab.broken("drbd-split-brain"):
        for node, peer in (("node-a", "node-b"), ("node-b", "node-a")):
            text = status(lab, node)
            assert text.startswith("r0 role:Primary\n")
            assert f"  {peer} connection:StandAlone" in text
        assert " cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown " in lab.ssh("node-b", "drbdadm proc").stdout
    assert_healthy(lab)


def test_drbd_resync_progresses(lab):
    with lab.broken("drbd-resync"):
        def done_pct() -> float:
            found = re.search(r"replication:SyncTarget peer-disk:UpToDate done:(\d+\.\d\d)", status(lab, "node-b"))
            assert found, status(lab, "node-b")
            return float(found.group(1))

        first = done_pct()
        assert "disk:Inconsistent" in status(lab, "node-b")
        time.sleep(1.5)
        wait_until(lambda: done_pct() > first, 10, "the resync to advance")
        oos = [json.loads(lab.ssh("node-a", "drbdsetup status --json r0").stdout)[0]["connections"][0]
               ["peer_devices"][0]["out-of-sync"] for _ in range(2) if time.sleep(1.1) is None]
        assert oos[1] < oos[0]
    assert_healthy(lab)
