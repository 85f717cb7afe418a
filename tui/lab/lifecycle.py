"""Bringing the lab up, down, and reporting what runs.

`up` always calls `down` first, so a crashed run never blocks the next one. `down` removes every process
(by killing each node's holder, which ends its pid namespace), namespace, veth and file of the lab.
The MariaDB template datadir in the cache dir is kept on purpose (it saves ~2 s per `up`); `down --purge`
removes it too.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tui.config.paths import find_hosts_file
from tui.lab import daemons, monitoring, network, nodes
from tui.lab.layout import (
    CLUSTER_NODES,
    DEFAULT_LIFETIME_S,
    GATEWAY,
    MANAGER_PROCESSES,
    MASTER_NODE,
    NODE_IPS,
    PROFILE_BIND_DIRS,
    REPLICA_NODE,
    TEMPLATE_CACHE,
    LabDir,
)
from tui.lab.processes import LabError, in_node

MARKER = ".hascreen-lab"
PROFILES = ("keepalived", "heartbeat", "pacemaker")
IMPLEMENTED_PROFILES = ("keepalived", "heartbeat", "pacemaker")


def load_state(lab: LabDir) -> dict:
    try:
        return json.loads(lab.state.read_text())
    except (OSError, ValueError):
        return {}


def save_state(lab: LabDir, state: dict) -> None:
    tmp = lab.state.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, lab.state)


def holder_of(lab: LabDir, node: str) -> int:
    state = load_state(lab)
    pid = state.get("nodes", {}).get(node, {}).get("holder")
    if not pid or not nodes.holder_alive(pid):
        raise LabError(f"{node} is not running (is the lab up? did the node crash?)")
    return int(pid)


def up(lab: LabDir, *, profile: str = "keepalived", lifetime_s: int = DEFAULT_LIFETIME_S,
       say: Callable[[str], None] = print, with_monitoring: bool = False) -> float:
    """Build the whole lab (with Prometheus and the exporters when asked); returns the seconds it took."""
    if profile not in IMPLEMENTED_PROFILES:
        raise LabError(f"profile {profile!r} is not implemented yet (implemented: {', '.join(IMPLEMENTED_PROFILES)})")
    if with_monitoring and monitoring.missing_packages(profile):
        raise LabError("--monitoring: missing " + ", ".join(monitoring.missing_packages(profile))
                       + " (Debian packages prometheus*, installed by scripts/setup.sh as root)")
    began = time.monotonic()
    down(lab, say=lambda _msg: None)
    spent = daemons.ensure_mysql_template()
    if spent:
        say(f"initialised the MariaDB template datadir in {spent:.1f} s (cached in {TEMPLATE_CACHE})")
    lab.root.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.root, 0o755)
    (lab.root / MARKER).write_text("hascreen lab directory: `hascreen lab down` removes it\n")
    state: dict = {"profile": profile, "started": time.time(), "lifetime_s": lifetime_s, "nodes": {}, "breaks": [],
                   "monitoring": with_monitoring}
    save_state(lab, state)
    network.build()
    daemons.write_lab_key(lab)
    host_keys = {}
    for node in NODE_IPS:
        nodes.prepare_dirs(lab, node, _extra_dirs(profile, node))
        host_keys[node] = daemons.configure_sshd(lab, node)
    daemons.trust_between_nodes(lab, host_keys)
    daemons.init_drbd_state(lab)
    hb_key = secrets.token_hex(16)
    for node in CLUSTER_NODES:
        daemons.configure_mysql(lab, node)
        if profile == "keepalived":
            daemons.configure_keepalived(lab, node)
        elif profile == "heartbeat":
            daemons.configure_heartbeat(lab, node, hb_key)
        else:
            daemons.configure_pacemaker(lab, node)
        daemons.install_drbd_shims(lab, node)
        if with_monitoring:
            monitoring.configure_node(lab, node, daemons.mysql_secrets()["root"])
    for node in NODE_IPS:
        unshare_pid, holder = nodes.start_holder(lab, node, lifetime_s, _extra_dirs(profile, node))
        state["nodes"][node] = {"unshare": unshare_pid, "holder": holder}
    save_state(lab, state)
    holders = {n: state["nodes"][n]["holder"] for n in NODE_IPS}
    for node in CLUSTER_NODES:
        daemons.start_mysql(holders[node])
    for node in NODE_IPS:
        daemons.start_sshd(holders[node])
    for node in CLUSTER_NODES:
        start_manager(profile, holders[node])
        if profile == "keepalived" and node == MASTER_NODE:
            # both instances are BACKUP + nopreempt: the first one up becomes MASTER, so node-a goes first
            daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]), 30, f"the VIP on {MASTER_NODE}")
    for node in CLUSTER_NODES:
        daemons.wait_mysql(holders[node])
    daemons.start_replication(holders[REPLICA_NODE])
    _write_client_files(lab, host_keys, profile)
    wait_healthy(lab, holders)
    if with_monitoring:
        monitoring.start(lab, holders, profile, lifetime_s)
        say(f"monitoring: Prometheus at {monitoring.prometheus_url()}")
    took = time.monotonic() - began
    state["up_seconds"] = round(took, 2)
    save_state(lab, state)
    say(f"lab up in {took:.1f} s: {lab.hosts_yaml}  (try: ssh -F {lab.ssh_config} node-a)")
    say(_hosts_lookup_note(lab))
    return took


def _hosts_lookup_note(lab: LabDir) -> str:
    """Whether `hascreen` and `hascreen health` will find the lab's hosts.yaml by themselves."""
    found = find_hosts_file()
    if found is not None and found.absolute() == lab.hosts_yaml.absolute():
        return "hascreen, hascreen health and hascreen run use it until `hascreen lab down`"
    if os.environ.get("HASCREEN_HOSTS") is not None:
        first = "$HASCREEN_HOSTS comes first in the hosts lookup"
    elif found is not None:
        first = f"{found} comes first in the hosts lookup"
    else:
        first = "the hosts lookup looks in $HASCREEN_LAB_DIR or /var/lib/hascreen-lab, not in this --dir"
    return f"note: {first}; give --hosts {lab.hosts_yaml} to use the lab"


def _extra_dirs(profile: str, node: str) -> tuple[str, ...]:
    return PROFILE_BIND_DIRS.get(profile, ()) if node in CLUSTER_NODES else ()


def start_manager(profile: str, holder: int) -> None:
    """Start the node's VIP manager: keepalived, heartbeat, or corosync + pacemaker."""
    if profile == "heartbeat":
        daemons.start_heartbeat(holder)
    elif profile == "pacemaker":
        daemons.start_pacemaker(holder)
    else:
        daemons.start_keepalived(holder)


def manager_running(profile: str, holder: int) -> bool:
    if profile == "heartbeat":
        return daemons.heartbeat_running(holder)
    if profile == "pacemaker":
        return daemons.pacemaker_running(holder)
    return bool(daemons.keepalived_pids(holder))


def _write_client_files(lab: LabDir, host_keys: dict[str, str], profile: str) -> None:
    from tui.lab import client_files

    lab.known_hosts.write_text(client_files.known_hosts(host_keys))
    lab.ssh_config.write_text(client_files.ssh_config(lab))
    lab.hosts_yaml.write_text(client_files.hosts_yaml(lab, profile))


def wait_healthy(lab: LabDir, holders: dict[str, int], timeout: float = 60.0) -> None:
    """Wait until sshd answers on every node, node-a holds the VIP and replication runs."""
    for node in NODE_IPS:
        daemons.wait_for(lambda n=node: _port_open(NODE_IPS[n], 22), timeout, f"sshd on {node}")
    daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]) and not daemons.has_vip(holders[REPLICA_NODE]),
                     timeout, f"the VIP on {MASTER_NODE} only")
    daemons.wait_for(lambda: daemons.replication_healthy(daemons.slave_status(holders[REPLICA_NODE])),
                     timeout, "replication running on node-b")


def _port_open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def down(lab: LabDir, *, purge: bool = False, say: Callable[[str], None] = print) -> float:
    """Remove every process, namespace, veth and file of the lab; safe to call at any time."""
    began = time.monotonic()
    state = load_state(lab)
    pids = {int(info["holder"]) for info in state.get("nodes", {}).values() if info.get("holder")}
    pids |= set(nodes.find_holders(None))
    monitoring.stop(lab)
    for pid in pids:
        if nodes.holder_alive(pid):
            nodes.kill_holder(pid)
    network.teardown()
    if lab.root.exists():
        if not (lab.root / MARKER).exists() and any(lab.root.iterdir()):
            raise LabError(f"{lab.root} does not look like a lab directory (no {MARKER}); not removing it")
        shutil.rmtree(lab.root)
    if purge:
        shutil.rmtree(TEMPLATE_CACHE, ignore_errors=True)
    took = time.monotonic() - began
    say(f"lab down in {took:.1f} s")
    return took


def restart_node(lab: LabDir, node: str) -> int:
    """Start a crashed node again (a reboot): new holder, same disks; returns the new holder pid."""
    state = load_state(lab)
    old = state.get("nodes", {}).get(node, {}).get("holder")
    if old and nodes.holder_alive(old):
        nodes.kill_holder(old)
    profile = state.get("profile", "keepalived")
    unshare_pid, holder = nodes.start_holder(lab, node, int(state.get("lifetime_s", DEFAULT_LIFETIME_S)),
                                             _extra_dirs(profile, node))
    state.setdefault("nodes", {})[node] = {"unshare": unshare_pid, "holder": holder}
    save_state(lab, state)
    # The node's eth0 kept its addresses when the old holder died: a reboot starts without the VIP.
    in_node(holder, f"ip -4 addr flush dev eth0 && ip addr add {NODE_IPS[node]}/24 dev eth0 && ip link set eth0 up")
    in_node(holder, "rm -f /run/*.pid /run/mysqld/*.pid /run/mysqld/*.sock /run/keepalived.state", check=False)
    if node in CLUSTER_NODES:
        daemons.start_mysql(holder)
    daemons.start_sshd(holder)
    if node in CLUSTER_NODES:
        start_manager(profile, holder)
        daemons.wait_mysql(holder)
        if state.get("monitoring"):
            monitoring.start_node(node, holder, profile, int(state.get("lifetime_s", DEFAULT_LIFETIME_S)))
    return holder


def status(lab: LabDir) -> tuple[bool, list[str]]:
    """(everything expected is running, lines to print)."""
    state = load_state(lab)
    if not state:
        return False, [f"lab is down (no state in {lab.root})"]
    lines = [f"lab dir {lab.root}, profile {state.get('profile')}, up {time.time() - state['started']:.0f} s ago,"
             f" holders end after {state.get('lifetime_s')} s"]
    ok = True
    for node, ip in NODE_IPS.items():
        pid = state.get("nodes", {}).get(node, {}).get("holder")
        if not pid or not nodes.holder_alive(pid):
            lines.append(f"{node:7} {ip:14} DOWN (holder gone)")
            ok = False
            continue
        procs = set(nodes.node_processes(pid))
        profile = state.get("profile", "keepalived")
        wanted = ["sshd"] + (["mariadbd", *MANAGER_PROCESSES[profile]] if node in CLUSTER_NODES else [])
        parts = [f"{d}:{'up' if d in procs else 'DOWN'}" for d in wanted]
        ok &= all(d in procs for d in wanted)
        if node in CLUSTER_NODES and profile == "heartbeat":
            parts.append("hb:" + ("up" if daemons.heartbeat_running(pid) else "DOWN"))
        elif node in CLUSTER_NODES and profile == "keepalived":
            parts.append(f"vrrp:{daemons.vrrp_state(pid) or '?'}")
        if node in CLUSTER_NODES:
            parts.append("vip:yes" if daemons.has_vip(pid) else "vip:no")
            drbd = daemons.drbd_cmd(pid, "cstate r0")
            role = daemons.drbd_cmd(pid, "role r0")
            parts.append(f"drbd:{role.stdout.strip() or '?'}/{drbd.stdout.strip() or drbd.stderr.strip()}")
        if node == REPLICA_NODE and "mariadbd" in procs:
            st = daemons.slave_status(pid)
            parts.append(f"replication:io={st.get('Slave_IO_Running', '?')},sql={st.get('Slave_SQL_Running', '?')},"
                         f"errno={st.get('Last_SQL_Errno', '?')},behind={st.get('Seconds_Behind_Master', '?')}")
        link = "link:up" if network.port_is_up(node) else "link:DOWN"
        lines.append(f"{node:7} {ip:14} holder {pid}  {link}  " + "  ".join(parts))
    if state.get("monitoring"):
        monitored, line = monitoring.status_line(lab, state.get("profile", "keepalived"))
        ok &= monitored
        lines.append(line)
    parted = network.partitioned_ports()
    if parted:
        lines.append("partitioned bridge ports: " + ", ".join(parted))
    if state.get("breaks"):
        lines.append("active breaks: " + ", ".join(state["breaks"]))
    return ok, lines


def leftovers(lab: LabDir) -> list[str]:
    """What of the lab still exists (empty after a clean down): used by tests and `status`."""
    found = [f"namespace {ns}" for ns in network.namespaces()]
    found += [f"holder pid {pid}" for pid in nodes.find_holders(lab)]
    found += monitoring.leftovers(lab)
    if network.host_link_exists():
        found.append("host veth")
    if lab.root.exists():
        found.append(f"directory {lab.root}")
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {line.split()[4]}" for line in mounts.splitlines() if str(lab.root) in line
              or "/run/netns/lab-" in line]
    return found


__all__ = ["GATEWAY", "down", "leftovers", "status", "up", "restart_node", "holder_of"]
