"""Where everything of the lab lives: names, addresses, and the files in the lab directory.

One place for the subnet plan (10.213.77.0/24) and the lab directory layout, so that the builder,
the fault injector and the tests agree on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.config.paths import lab_dir

SUBNET_PREFIX = 24
HOST_SIDE_IP = "10.213.77.1"
VIP = "10.213.77.100"
NODE_IPS = {"node-a": "10.213.77.11", "node-b": "10.213.77.12", "gw": "10.213.77.254"}
CLUSTER_NODES = ("node-a", "node-b")  # gw is an observer: sshd only
MASTER_NODE = "node-a"
REPLICA_NODE = "node-b"
GATEWAY = "gw"
SWITCH_NS = "lab-sw"
BRIDGE = "br0"
HOST_VETH = "hslab0"  # root-namespace end of the host link
HOST_PORT = "p-host"  # its bridge port in lab-sw
VRRP_INSTANCE = "VI_1"
VRRP_ROUTER_ID = 77
VRRP_PRIORITY = {"node-a": 150, "node-b": 100}
SERVER_ID = {"node-a": 1, "node-b": 2}
DRBD_RESOURCE = "r0"
DEFAULT_LIFETIME_S = 12 * 3600
LOCK_FILE = Path("/run/hascreen-lab.lock")
TEMPLATE_CACHE = Path(os.environ.get("HASCREEN_LAB_CACHE", "/var/cache/hascreen-lab"))

# Directories bind-mounted per node, over the same path inside the node's mount namespace.
NODE_BIND_DIRS = (
    "/run",
    "/tmp",
    "/var/log",
    "/var/lib/mysql",
    "/etc/keepalived",
    "/etc/mysql",
    "/etc/drbd.d",
    "/root",
    "/usr/local/sbin",
)
# Extra per-node directories for the cluster nodes of a profile (copied from the host, then configured).
PROFILE_BIND_DIRS = {
    "keepalived": (),
    "heartbeat": ("/etc/ha.d", "/var/lib/heartbeat"),
    "pacemaker": ("/etc/corosync", "/var/lib/corosync", "/var/lib/pacemaker"),
}
# The processes that make up each profile's VIP manager (as `ps -o comm` names them).
MANAGER_PROCESSES = {"keepalived": ("keepalived",), "heartbeat": ("heartbeat",),
                     "pacemaker": ("corosync", "pacemakerd")}
PACEMAKER_VIP_RESOURCE = "vip"
HEARTBEAT_LOG = "/var/log/ha-log"
# Inside a node: where the shared DRBD simulator state appears (a bind of LabDir.drbd_shared).
NODE_DRBD_SHARED = "/run/drbd-shared"
NOTIFY_STATE_FILE = "/run/keepalived.state"
KEEPALIVED_LOG = "/var/log/keepalived.log"
KEEPALIVED_PID = "/run/keepalived.pid"
KEEPALIVED_VRRP_PID = "/run/keepalived_vrrp.pid"
# keepalived track_file (weight 0): 1 puts the instance in FAULT, so it releases the VIP with keepalived running.
KEEPALIVED_RELEASE_FILE = "/etc/keepalived/release"
OPTION_FILE = "/root/.my.cnf"
REPL_USER = "repl"
REPL_PASSWORD_FILE = "/root/.hascreen-repl"  # the replication password (0600): a failover re-points the old master
# -l logs to the console, which is redirected into the node's /var/log/keepalived.log (no syslog here).
KEEPALIVED_START = (f"setsid -f /usr/sbin/keepalived -n -l -D -G -P -f /etc/keepalived/keepalived.conf "
                    f"-p {KEEPALIVED_PID} -r {KEEPALIVED_VRRP_PID} >>{KEEPALIVED_LOG} 2>&1 </dev/null")


def netns_name(node: str) -> str:
    return f"lab-{node}"


def switch_port(node: str) -> str:
    return f"p-{node}"


def lab_dir_from_env() -> Path:
    """$HASCREEN_LAB_DIR, else /var/lib/hascreen-lab (tui.config.paths owns it: the hosts lookup finds the
    lab's hosts.yaml there while the lab is up)."""
    return lab_dir()


@dataclass(frozen=True)
class LabDir:
    """The files one lab writes; `down` removes the whole root."""

    root: Path

    @property
    def hosts_yaml(self) -> Path:
        return self.root / "hosts.yaml"

    @property
    def key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def state(self) -> Path:
        return self.root / "lab-state.json"

    @property
    def drbd_shared(self) -> Path:
        return self.root / "drbd"

    def node(self, name: str) -> Path:
        return self.root / "nodes" / name

    def node_mount_source(self, name: str, inside: str) -> Path:
        """Host path of the per-node directory mounted over `inside` (e.g. /var/log)."""
        return self.node(name) / inside.strip("/").replace("/", "_")
