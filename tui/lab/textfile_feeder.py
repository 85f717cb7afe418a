#!/usr/bin/python3
"""Lab-side feeder of node_exporter's textfile collector: keepalived's notify state and DRBD's state.

Installed on each cluster node as /usr/local/sbin/textfile-feeder and run there (stdlib only). Once a
second, until its lifetime ends, it publishes two files in the textfile directory, each written to a
temporary name and renamed, so node_exporter never reads half a file:
- keepalived.prom: `hascreen_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1` from the file keepalived's
  notify script writes (the lab's notify script writes the state word; a real one may write
  `INSTANCE NAME STATE PRIORITY`), and `hascreen_vrrp_state_file_mtime_seconds`. No file, no series.
  (Not `instance`: Prometheus renames a target's own `instance` label to `exported_instance`.)
- addresses.prom: `hascreen_ip_address{interface="eth0",address="10.213.77.100",prefix="24"} 1` per
  address of `ip -o addr show` (loopback left out): where the VIP is.
- drbd.prom: per resource `hascreen_drbd_resource{resource,role,disk_state} 1`, per peer
  `hascreen_drbd_connection{resource,peer,connection_state,peer_role,peer_disk_state,replication_state} 1`
  and `hascreen_drbd_sync_percent{resource,peer}` while a resync runs, from `drbdsetup status --json`
  (the lab's DRBD simulator). When drbdsetup fails, the file is removed: a missing series, never a zero.

    textfile-feeder DIR NOTIFY_STATE_FILE INSTANCE LIFETIME_S
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _series(name: str, labels: dict[str, object], value: float) -> str:
    inner = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
    return f"{name}{{{inner}}} {value:.15g}\n"


def keepalived_text(notify_file: str, instance: str) -> str | None:
    try:
        words = open(notify_file).read().split()  # noqa: SIM115 - read once, closed by refcount
        mtime = os.stat(notify_file).st_mtime
    except OSError:
        return None
    if not words:
        return None
    name, state = (words[1], words[2]) if words[0] == "INSTANCE" and len(words) >= 3 else (instance, words[0])
    return ("# HELP hascreen_vrrp_state VRRP state last written by keepalived's notify script (1 = current).\n"
            "# TYPE hascreen_vrrp_state gauge\n"
            + _series("hascreen_vrrp_state", {"vrrp_instance": name, "state": state.upper()}, 1)
            + "# HELP hascreen_vrrp_state_file_mtime_seconds When the notify script last wrote the state.\n"
            "# TYPE hascreen_vrrp_state_file_mtime_seconds gauge\n"
            + _series("hascreen_vrrp_state_file_mtime_seconds", {"vrrp_instance": name}, round(mtime, 3)))


def addresses_text() -> str | None:
    try:
        done = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    lines = ["# HELP hascreen_ip_address An address configured on this node (1 = present).\n",
             "# TYPE hascreen_ip_address gauge\n"]
    for line in done.stdout.splitlines():
        words = line.split()
        if len(words) >= 4 and words[2] in ("inet", "inet6") and words[1] != "lo":
            address, _, prefix = words[3].partition("/")
            lines.append(_series("hascreen_ip_address", {"interface": words[1], "address": address,
                                                         "prefix": prefix}, 1))
    return "".join(lines)


def drbd_text() -> str | None:
    try:
        done = subprocess.run(["drbdsetup", "status", "--json"], capture_output=True, text=True, timeout=5)
        resources = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not isinstance(resources, list):
        return None
    lines = ["# HELP hascreen_drbd_resource DRBD role and disk state per resource (1 = current).\n",
             "# TYPE hascreen_drbd_resource gauge\n"]
    connections, syncs = [], []
    for res in resources:
        disk = next((d.get("disk-state") for d in res.get("devices", [])), "Diskless")
        lines.append(_series("hascreen_drbd_resource", {"resource": res.get("name"), "role": res.get("role"),
                                                        "disk_state": disk}, 1))
        for conn in res.get("connections", []):
            device = next(iter(conn.get("peer_devices", [])), {})
            connections.append(_series("hascreen_drbd_connection", {
                "resource": res.get("name"), "peer": conn.get("name"),
                "connection_state": conn.get("connection-state"), "peer_role": conn.get("peer-role"),
                "peer_disk_state": device.get("peer-disk-state", "DUnknown"),
                "replication_state": device.get("replication-state", "Off")}, 1))
            if "percent-in-sync" in device and device.get("replication-state") in ("SyncSource", "SyncTarget"):
                syncs.append(_series("hascreen_drbd_sync_percent", {"resource": res.get("name"),
                                                                    "peer": conn.get("name")},
                                     float(device["percent-in-sync"])))
    lines += ["# HELP hascreen_drbd_connection DRBD connection to each peer (1 = current).\n",
              "# TYPE hascreen_drbd_connection gauge\n", *connections]
    if syncs:
        lines += ["# HELP hascreen_drbd_sync_percent Resync progress.\n",
                  "# TYPE hascreen_drbd_sync_percent gauge\n", *syncs]
    return "".join(lines)


def publish(directory: str, name: str, text: str | None) -> None:
    path = os.path.join(directory, name)
    if text is None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 1
    directory, notify_file, instance, lifetime = argv[0], argv[1], argv[2], float(argv[3])
    os.makedirs(directory, exist_ok=True)
    ends = time.monotonic() + lifetime
    while time.monotonic() < ends:
        publish(directory, "keepalived.prom", keepalived_text(notify_file, instance))
        publish(directory, "drbd.prom", drbd_text())
        publish(directory, "addresses.prom", addresses_text())
        time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
