"""The lab's lifecycle: what `up` builds and writes, per-node isolation, and that `down` leaves nothing."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import wait_until


def test_up_writes_a_hosts_file_that_the_config_loader_accepts(lab):
    config = pytest.importorskip("tui.config.hosts")
    hosts = config.load_hosts(str(lab.hosts_yaml))
    assert {h: hosts.hosts[h].address for h in ("node-a", "node-b", "gw")} == lab.ips
    db = hosts.clusters["db"]
    assert db.members == ("node-a", "node-b")
    assert db.manager == "keepalived"
    assert db.drbd.resources == ("r0",)
    assert db.mysql.master == "node-a" and db.mysql.replicas == ("node-b",)
    assert db.mysql.option_file == "/root/.my.cnf"
    assert db.keepalived.instance == "VI_1"
    assert db.vip.address == lab.vip and db.vip.interface == "eth0" and db.vip.gateway == lab.ips["gw"]
    assert hosts.hosts["node-a"].identity == str(lab.key)


def test_lab_key_is_private_and_known_hosts_pins_every_node(lab):
    assert stat.S_IMODE(os.stat(lab.key).st_mode) == 0o600
    known = lab.known_hosts.read_text()
    for ip in lab.ips.values():
        assert ip in known
    # The ssh_config a user gets works with the real client and strict host keys.
    done = subprocess.run(["ssh", "-F", str(lab.ssh_config), "node-b", "hostname"], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "node-b"


def test_a_wrong_host_key_is_refused(lab, tmp_path):
    other = tmp_path / "known_hosts"
    # node-a's address paired with node-b's host key: ssh must refuse the connection.
    line_b = next(line for line in lab.known_hosts.read_text().splitlines() if line.startswith("node-b,"))
    other.write_text(f"{lab.ips['node-a']} {' '.join(line_b.split()[1:])}\n")
    done = subprocess.run(["ssh", "-F", "/dev/null", "-i", str(lab.key), "-o", f"UserKnownHostsFile={other}",
                           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{lab.ips['node-a']}",
                           "true"], capture_output=True, text=True, timeout=20)
    assert done.returncode == 255
    assert "host key" in done.stderr.lower() or "identification has changed" in done.stderr.lower()


def test_each_node_looks_like_its_own_host(lab):
    marker = f"only-on-node-a-{os.getpid()}"
    assert lab.ssh("node-a", f"echo {marker} > /tmp/lab-marker && hostname").stdout.strip() == "node-a"
    assert lab.ssh("node-b", "cat /tmp/lab-marker 2>/dev/null; hostname").stdout.strip() == "node-b"
    ps = lab.ssh("node-b", "ps -e -o comm=").stdout.split()
    assert "mariadbd" in ps and "keepalived" in ps and "sshd" in ps
    assert "sleep" not in ps and len(ps) < 30  # only the node's own processes are visible
    gw_ps = lab.ssh("gw", "ps -e -o comm=").stdout.split()
    assert "mariadbd" not in gw_ps and "keepalived" not in gw_ps
    # No default route: nothing can leave the lab subnet.
    assert "default" not in lab.ssh("node-a", "ip route").stdout
    assert lab.ssh("node-a", "test -S /run/mysqld/mysqld.sock && stat -c %a /root/.my.cnf").stdout.strip() == "600"


def test_status_reports_every_daemon(lab):
    out = lab.must("status")
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    for daemon in ("sshd:up", "mariadbd:up", "keepalived:up", "vrrp:MASTER", "vip:yes", "drbd:Primary/Connected"):
        assert daemon in lines["node-a"]
    assert "vrrp:BACKUP" in lines["node-b"] and "io=Yes,sql=Yes" in lines["node-b"]
    assert "sshd:up" in lines["gw"]


def _leftovers(lab) -> list[str]:
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith("lab-")]
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    found += [f"process {line}" for line in ps.splitlines() if "hascreen-lab-holder" in line
              and str(lab.dir) in line]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {line.split()[4]}" for line in mounts.splitlines()
              if str(lab.dir) in line or "/run/netns/lab-" in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += ["veth hslab0" for line in links.splitlines() if "hslab0" in line]
    if lab.dir.exists():
        found.append(f"dir {lab.dir}: {sorted(p.name for p in lab.dir.iterdir())}")
    return found


def test_up_down_up_cycle_leaves_nothing_behind(lab):
    assert _leftovers(lab), "the lab should exist before the cycle (else this test proves nothing)"
    for _ in range(2):
        lab.must("down")
        assert _leftovers(lab) == []
        out = lab.must("up", timeout=180)
        assert "lab up in" in out
    # After the cycle the lab answers again, with fresh host keys pinned in the new known_hosts.
    wait_until(lambda: lab.ssh("node-a", "hostname").stdout.strip() == "node-a", 20, "node-a over ssh")


def test_holders_have_a_bounded_lifetime(lab):
    args = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    holders = [line.split() for line in args.splitlines() if "hascreen-lab-holder" in line and str(lab.dir) in line]
    assert len(holders) == 3
    for argv in holders:
        lifetime = int(argv[argv.index("hascreen-lab-holder") - 1])
        assert 0 < lifetime <= 12 * 3600


def test_commands_refuse_bad_usage(lab):
    assert lab.cli("break", "no-such-scenario").returncode == 2
    assert lab.cli("break", "partition").returncode == 2  # needs a node
    assert lab.cli("break", "partition", "node-z").returncode == 2
    assert lab.cli("up", "--profile", "nonsense").returncode == 2
