"""Fault injection (`hascreen lab break SCENARIO [NODE]`) and repair (`hascreen lab heal`).

Each scenario produces the real symptom with the real daemons: a duplicate key really stops MariaDB's SQL
thread, a different auth_pass really makes keepalived log "invalid passwd", a partition is a real nft
drop rule on the bridge. Only the DRBD scenarios act on the simulator (there is no DRBD kernel module).
`heal` brings back the healthy state whatever was broken: links up, no nft rules, crashed nodes
restarted, one VRRP master (node-a) holding the VIP, DRBD Connected UpToDate/UpToDate, and the replica
running, without delay, and in sync with the master (resynchronised from a dump when needed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from tui.lab import daemons, drbd_sim, lifecycle, network, nodes
from tui.lab.layout import (
    CLUSTER_NODES,
    DRBD_RESOURCE,
    MASTER_NODE,
    NODE_IPS,
    PACEMAKER_VIP_RESOURCE,
    REPLICA_NODE,
    SUBNET_PREFIX,
    VIP,
    LabDir,
)
from tui.lab.processes import LabError, in_node

REPLICA_LAG_DELAY_S = 3600


@dataclass(frozen=True)
class Scenario:
    note: str
    inject: Callable[[LabDir, str | None], str]
    needs_node: bool = False
    nodes: tuple[str, ...] = ()


# ---------------------------------------------------------------- MySQL


def _master_sql(lab: LabDir, sql: str) -> str:
    return daemons.mysql(lifecycle.holder_of(lab, MASTER_NODE), sql).stdout


def _wait_replica(lab: LabDir, predicate, what: str, timeout: float = 15.0) -> dict[str, str]:
    holder = lifecycle.holder_of(lab, REPLICA_NODE)
    seen: dict[str, str] = {}

    def check() -> bool:
        seen.clear()
        seen.update(daemons.slave_status(holder))
        return predicate(seen)

    daemons.wait_for(check, timeout, what)
    return seen


def _next_id(lab: LabDir) -> int:
    out = _master_sql(lab, "SELECT COALESCE(MAX(id), 0) + 1 FROM app.items;").split()
    return int(out[-1])


def break_replica_conflict(lab: LabDir, _node: str | None) -> str:
    new_id = _next_id(lab)
    # The row first appears on the replica only (not logged), then the master inserts the same key.
    daemons.mysql(lifecycle.holder_of(lab, REPLICA_NODE),
                  f"SET SESSION sql_log_bin=0; INSERT INTO app.items (id, name) VALUES ({new_id}, 'replica only');")
    _master_sql(lab, f"INSERT INTO app.items (id, name) VALUES ({new_id}, 'from master');")
    _wait_replica(lab, lambda s: s.get("Slave_SQL_Running") == "No" and s.get("Last_SQL_Errno") == "1062",
                  "the replica's SQL thread to stop with error 1062")
    return f"replica-conflict: id {new_id} exists on {REPLICA_NODE}; its SQL thread stopped with error 1062"


def break_replica_stopped(lab: LabDir, _node: str | None) -> str:
    daemons.mysql(lifecycle.holder_of(lab, REPLICA_NODE), "STOP SLAVE;")
    _wait_replica(lab, lambda s: s.get("Slave_IO_Running") == "No" and s.get("Slave_SQL_Running") == "No",
                  "replication to stop")
    return f"replica-stopped: STOP SLAVE on {REPLICA_NODE}"


def break_replica_lag(lab: LabDir, _node: str | None) -> str:
    holder = lifecycle.holder_of(lab, REPLICA_NODE)
    daemons.mysql(holder, f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={REPLICA_LAG_DELAY_S}; START SLAVE;")
    new_id = _next_id(lab)
    _master_sql(lab, f"INSERT INTO app.items (id, name) VALUES ({new_id}, 'delayed');")
    _wait_replica(lab, lambda s: s.get("Seconds_Behind_Master", "NULL").isdigit()
                  and int(s["Seconds_Behind_Master"]) > 0, "Seconds_Behind_Master > 0")
    return f"replica-lag: {REPLICA_NODE} applies events {REPLICA_LAG_DELAY_S} s late (MASTER_DELAY)"


def _resync_replica(lab: LabDir) -> None:
    """Rebuild the replica's app database from a consistent dump of the master, then replicate again."""
    master = lifecycle.holder_of(lab, MASTER_NODE)
    replica = lifecycle.holder_of(lab, REPLICA_NODE)
    daemons.mysql(replica, "STOP SLAVE; RESET SLAVE ALL;")
    dump = in_node(master, "mariadb-dump --single-transaction --gtid --master-data=2 --databases app",
                   timeout=60).stdout
    found = re.search(r"gtid_slave_pos\s*=\s*'([^']*)'", dump)
    if not found:
        raise LabError("resync: the master's dump carries no GTID position")
    daemons.mysql(replica, "SET SESSION sql_log_bin=0;\n" + dump +
                  f"\nSET GLOBAL gtid_slave_pos='{found.group(1)}';\n" + daemons.change_master_sql() +
                  "START SLAVE;\n", timeout=60)


def _heal_mysql_roles(lab: LabDir) -> list[str]:
    """After a failover the roles are swapped: node-a the writable master again, node-b read-only (its
    replication is then repaired like any other)."""
    master = lifecycle.holder_of(lab, MASTER_NODE)
    replica = lifecycle.holder_of(lab, REPLICA_NODE)
    done = []
    if daemons.mysql_value(master, "SELECT @@read_only") != "0" or daemons.slave_status(master):
        daemons.mysql(master, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=OFF;")
        done.append(f"{MASTER_NODE} is the writable master again")
    if daemons.mysql_value(replica, "SELECT @@read_only") != "1":
        daemons.mysql(replica, "SET GLOBAL read_only=ON;")
        done.append(f"{REPLICA_NODE} read-only again")
    return done


def _heal_replication(lab: LabDir) -> list[str]:
    replica = lifecycle.holder_of(lab, REPLICA_NODE)
    master = lifecycle.holder_of(lab, MASTER_NODE)
    done = _heal_mysql_roles(lab)
    status = daemons.slave_status(replica)
    if not daemons.replication_healthy(status):
        if (status.get("Last_SQL_Errno", "0") == "0" and status.get("Last_IO_Errno", "0") == "0"
                and status.get("SQL_Delay", "0") == "0" and status.get("Master_Host") == NODE_IPS[MASTER_NODE]):
            daemons.mysql(replica, "START SLAVE;")
            done.append("replication restarted")
        else:
            _resync_replica(lab)
            done.append("replica resynchronised from a dump of the master")

    def caught_up() -> bool:
        # Both positions are empty strings on a fresh lab without writes, and equal once caught up.
        master_pos = daemons.mysql_value(master, "SELECT @@gtid_binlog_pos")
        return daemons.replication_healthy(daemons.slave_status(replica)) and \
            daemons.mysql_value(replica, "SELECT @@gtid_slave_pos") == master_pos

    daemons.wait_for(caught_up, 20, "the replica to catch up with the master")
    checks = [daemons.mysql_value(h, "CHECKSUM TABLE app.items").split()[-1] for h in (master, replica)]
    if checks[0] != checks[1]:
        _resync_replica(lab)
        daemons.wait_for(caught_up, 20, "the replica to catch up after a resync")
        done.append("replica resynchronised (table checksums differed)")
    return done


# ---------------------------------------------------------------- VRRP


def break_vrrp_auth_mismatch(lab: LabDir, _node: str | None) -> str:
    holder = lifecycle.holder_of(lab, REPLICA_NODE)
    daemons.configure_keepalived(lab, REPLICA_NODE, auth_pass=daemons.VRRP_WRONG_PASS)
    daemons.stop_keepalived(holder)
    daemons.start_keepalived(holder)
    holders = [lifecycle.holder_of(lab, n) for n in CLUSTER_NODES]
    daemons.wait_for(lambda: all(daemons.has_vip(h) for h in holders), 15, "both nodes to claim the VIP")
    return f"vrrp-auth-mismatch: {REPLICA_NODE} uses a different auth_pass; both nodes are MASTER"


def break_kill_keepalived(lab: LabDir, node: str | None) -> str:
    assert node
    holder = lifecycle.holder_of(lab, node)
    daemons.stop_keepalived(holder, sig="KILL")
    other = next(n for n in CLUSTER_NODES if n != node)
    other_holder = lifecycle.holder_of(lab, other)
    daemons.wait_for(lambda: daemons.has_vip(other_holder), 15, f"{other} to take the VIP")
    stale = " (its VIP stays: a duplicate)" if daemons.has_vip(holder) else ""
    return f"kill-keepalived: keepalived on {node} killed with SIGKILL{stale}"


def _heal_pacemaker(lab: LabDir) -> list[str]:
    done = []
    holders = {n: lifecycle.holder_of(lab, n) for n in CLUSTER_NODES}
    for node, holder in holders.items():
        if not daemons.pacemaker_running(holder):
            in_node(holder, f"ip addr del {VIP}/{SUBNET_PREFIX} dev eth0 2>/dev/null; true", check=False)
            daemons.start_pacemaker(holder)
            done.append(f"corosync and pacemaker started on {node}")
    if daemons.has_vip(holders[REPLICA_NODE]) or not daemons.has_vip(holders[MASTER_NODE]):
        # Drop constraints left by `crm_resource --move` / `--ban`; the VIP prefers node-a again.
        in_node(holders[MASTER_NODE], f"crm_resource --clear --resource {PACEMAKER_VIP_RESOURCE} --quiet; "
                f"crm_resource --cleanup --resource {PACEMAKER_VIP_RESOURCE} --quiet", check=False, timeout=30)
        done.append("move/ban constraints cleared")
    daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]) and not daemons.has_vip(holders[REPLICA_NODE]),
                     60, f"{MASTER_NODE} to hold the VIP (pacemaker)")
    return done


def _heal_heartbeat(lab: LabDir) -> list[str]:
    done = []
    holders = {n: lifecycle.holder_of(lab, n) for n in CLUSTER_NODES}
    for node, holder in holders.items():
        if not daemons.heartbeat_running(holder):
            in_node(holder, f"ip addr del {VIP}/{SUBNET_PREFIX} dev eth0 2>/dev/null; true", check=False)
            daemons.start_heartbeat(holder)
            done.append(f"heartbeat started on {node}")
    if daemons.has_vip(holders[REPLICA_NODE]) or not daemons.has_vip(holders[MASTER_NODE]):
        # e.g. after hb_standby on node-a: take the resources back (a no-op while heartbeat still starts).
        in_node(holders[MASTER_NODE], "/usr/share/heartbeat/hb_takeover all", check=False, timeout=30)
        done.append(f"hb_takeover on {MASTER_NODE}")
    daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]) and not daemons.has_vip(holders[REPLICA_NODE]),
                     30, f"{MASTER_NODE} to hold the VIP (heartbeat)")
    return done


def _heal_vrrp(lab: LabDir) -> list[str]:
    done = []
    holders = {n: lifecycle.holder_of(lab, n) for n in CLUSTER_NODES}
    for node in CLUSTER_NODES:
        if daemons.end_release(lab, node):  # a failover stopped between its release and its end
            done.append(f"keepalived release file back to 0 on {node}")
    for node, holder in holders.items():
        if daemons.keepalived_auth_pass(lab, node) != daemons.VRRP_AUTH_PASS:
            daemons.configure_keepalived(lab, node)
            daemons.stop_keepalived(holder)
            done.append(f"auth_pass restored on {node}")
    # a keepalived still shutting down (a failover's SIGTERM a moment ago) looks alive at the first glance
    # and is gone at the next: look again and start what is missing, twice at most
    for attempt in (1, 2):
        for node, holder in holders.items():
            if not daemons.keepalived_pids(holder):
                # A keepalived that died by SIGKILL left its VIP behind: a restart must not inherit it.
                in_node(holder, f"ip addr del {VIP}/{SUBNET_PREFIX} dev eth0 2>/dev/null; true", check=False)
                daemons.start_keepalived(holder)
                done.append(f"keepalived started on {node}")
        # two MASTERs after a partition settle by priority (node-a wins) within a few adverts
        try:
            daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]) != daemons.has_vip(holders[REPLICA_NODE]),
                             8, "one VIP holder")
        except daemons.LabError:
            pass
        if (daemons.keepalived_pids(holders[MASTER_NODE]) and daemons.has_vip(holders[REPLICA_NODE])
                and not daemons.has_vip(holders[MASTER_NODE])):
            # nopreempt: a restarted node-a stays BACKUP; hand the VIP back by restarting node-b's keepalived
            daemons.wait_for(lambda: daemons.vrrp_state(holders[MASTER_NODE]) == "BACKUP", 10,
                             f"{MASTER_NODE} to join as VRRP BACKUP")
            daemons.stop_keepalived(holders[REPLICA_NODE])
            daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE]), 10, f"{MASTER_NODE} to take the VIP")
            daemons.start_keepalived(holders[REPLICA_NODE])
            done.append(f"VIP handed back to {MASTER_NODE} (nopreempt)")
        try:
            daemons.wait_for(lambda: daemons.has_vip(holders[MASTER_NODE])
                             and not daemons.has_vip(holders[REPLICA_NODE])
                             and daemons.vrrp_state(holders[MASTER_NODE]) == "MASTER"
                             and daemons.vrrp_state(holders[REPLICA_NODE]) == "BACKUP",
                             10 * attempt, f"{MASTER_NODE} to be the only VRRP master")
            break
        except daemons.LabError:
            if attempt == 2:
                raise
            if (daemons.keepalived_pids(holders[REPLICA_NODE])
                    and daemons.vrrp_state(holders[REPLICA_NODE]) == "MASTER"
                    and daemons.vrrp_state(holders[MASTER_NODE]) == "MASTER"):
                # still two MASTERs after the partition: the replica restarts as BACKUP (nopreempt) and
                # stays one while it hears node-a's adverts
                daemons.stop_keepalived(holders[REPLICA_NODE])
                in_node(holders[REPLICA_NODE], f"ip addr del {VIP}/{SUBNET_PREFIX} dev eth0 2>/dev/null; true",
                        check=False)
                daemons.start_keepalived(holders[REPLICA_NODE])
                done.append(f"keepalived restarted on {REPLICA_NODE} (two VRRP masters)")
    # The master announces the VIP once more, so a gateway that learned a wrong MAC during the fault
    # (duplicate VIP, both MASTER) follows at once instead of after its neighbour entry times out.
    in_node(holders[MASTER_NODE], f"setsid -f arping -q -U -c1 -I eth0 {VIP} >/dev/null 2>&1 </dev/null",
            check=False)
    return done


# ---------------------------------------------------------------- the wire and the nodes


def _drbd_reachability(lab: LabDir, node: str, reachable: bool) -> None:
    if node not in CLUSTER_NODES:
        return
    with drbd_sim.locked_state(str(lab.drbd_shared / drbd_sim.STATE_FILE_NAME)) as state:
        for res in state["resources"].values():
            res["nodes"][node]["reachable"] = reachable
            drbd_sim.settle(res, time.time())


def break_partition(lab: LabDir, node: str | None) -> str:
    assert node
    network.partition(node)
    # The DRBD simulator cannot see nft rules: tell it that the peer link is gone.
    _drbd_reachability(lab, node, False)
    return f"partition: everything to and from {node} is dropped on the bridge (nft)"


def break_link_down(lab: LabDir, node: str | None) -> str:
    assert node
    network.set_port(node, False)
    _drbd_reachability(lab, node, False)
    return f"link-down: {node}'s bridge port is down (carrier lost)"


def break_node_crash(lab: LabDir, node: str | None) -> str:
    assert node
    holder = lifecycle.holder_of(lab, node)
    nodes.kill_holder(holder)
    # A crashed host answers nothing; its namespace would still answer ARP and ping, so cut its port too.
    network.set_port(node, False)
    if node in CLUSTER_NODES:
        with drbd_sim.locked_state(str(lab.drbd_shared / drbd_sim.STATE_FILE_NAME)) as state:
            for res in state["resources"].values():
                res["nodes"][node].update(loaded=False, role="Secondary")
                drbd_sim.settle(res, time.time())
    return f"node-crash: every process of {node} killed (SIGKILL to its PID 1), port down"


def break_node_return(lab: LabDir, node: str | None) -> str:
    """A crashed node powers on again with its disks as they were: its MySQL starts writable if it was the
    master (it still believes it is), keepalived joins as BACKUP (nopreempt), DRBD comes up Secondary.
    Nothing else is touched: what to do with it is the operator's job (see `promote`)."""
    assert node
    state = lifecycle.load_state(lab)
    holder = state.get("nodes", {}).get(node, {}).get("holder")
    if holder and nodes.holder_alive(holder):
        raise LabError(f"{node} is running: node-return is for a node that crashed (lab break node-crash {node})")
    holder = lifecycle.restart_node(lab, node)
    network.set_port(node, True)
    if node in CLUSTER_NODES:
        with drbd_sim.locked_state(str(lab.drbd_shared / drbd_sim.STATE_FILE_NAME)) as drbd:
            for res in drbd["resources"].values():
                res["nodes"][node].update(loaded=True, up=True, role="Secondary", reachable=True)
                drbd_sim.settle(res, time.time())
    return f"node-return: {node} is up again with its old state (its MySQL as it was when it crashed)"


# ---------------------------------------------------------------- DRBD (simulated)


def _drbdadm(lab: LabDir, node: str, args: str) -> None:
    daemons.drbd_cmd(lifecycle.holder_of(lab, node), args, check=True)


def break_drbd_disconnect(lab: LabDir, _node: str | None) -> str:
    _drbdadm(lab, MASTER_NODE, f"disconnect {DRBD_RESOURCE}")
    return f"drbd-disconnect: {MASTER_NODE} StandAlone, {REPLICA_NODE} Connecting"


def break_drbd_split_brain(lab: LabDir, _node: str | None) -> str:
    _drbdadm(lab, MASTER_NODE, f"disconnect {DRBD_RESOURCE}")
    _drbdadm(lab, REPLICA_NODE, f"primary {DRBD_RESOURCE}")
    _drbdadm(lab, MASTER_NODE, f"connect {DRBD_RESOURCE}")
    return "drbd-split-brain: both nodes were Primary while disconnected; both StandAlone now"


def break_drbd_resync(lab: LabDir, _node: str | None) -> str:
    _drbdadm(lab, MASTER_NODE, f"invalidate-remote {DRBD_RESOURCE}")
    return f"drbd-resync: full resync {MASTER_NODE} → {REPLICA_NODE} running (~45 s)"


def _heal_drbd(lab: LabDir) -> list[str]:
    daemons.init_drbd_state(lab)
    return ["DRBD reset to Connected UpToDate/UpToDate (simulated)"]


# ---------------------------------------------------------------- registry and heal

_NODES = tuple(NODE_IPS)
SCENARIOS: dict[str, Scenario] = {
    "replica-conflict": Scenario("duplicate key on the replica stops its SQL thread (1062)", break_replica_conflict),
    "replica-stopped": Scenario("STOP SLAVE on the replica", break_replica_stopped),
    "replica-lag": Scenario("replica applies events an hour late (Seconds_Behind_Master > 0)", break_replica_lag),
    "vrrp-auth-mismatch": Scenario("node-b gets another auth_pass: both MASTER", break_vrrp_auth_mismatch),
    "partition": Scenario("nft drop on the node's bridge port", break_partition, True, _NODES),
    "link-down": Scenario("the node's bridge port down (carrier loss)", break_link_down, True, _NODES),
    "kill-keepalived": Scenario("kill -9 keepalived: stale VIP, duplicate VIP", break_kill_keepalived, True,
                                CLUSTER_NODES),
    "drbd-disconnect": Scenario("drbdadm disconnect on node-a (simulated DRBD)", break_drbd_disconnect),
    "drbd-split-brain": Scenario("both Primary while disconnected, then reconnect (simulated)",
                                 break_drbd_split_brain),
    "drbd-resync": Scenario("full resync node-a → node-b, progress over time (simulated)", break_drbd_resync),
    "node-crash": Scenario("kill every process of the node", break_node_crash, True, _NODES),
    "node-return": Scenario("a crashed node powers on again as it was (after node-crash)", break_node_return, True,
                            _NODES),
}


KEEPALIVED_ONLY = ("vrrp-auth-mismatch", "kill-keepalived")


def inject(lab: LabDir, name: str, node: str | None) -> str:
    scenario = SCENARIOS[name]
    state = lifecycle.load_state(lab)
    if not state:
        raise LabError("the lab is not up")
    if name in KEEPALIVED_ONLY and state.get("profile") != "keepalived":
        raise LabError(f"{name} needs the keepalived profile (this lab runs {state.get('profile')})")
    message = scenario.inject(lab, node)
    state = lifecycle.load_state(lab)
    state.setdefault("breaks", []).append(f"{name} {node}" if node else name)
    lifecycle.save_state(lab, state)
    return message


def heal(lab: LabDir) -> str:
    began = time.monotonic()
    state = lifecycle.load_state(lab)
    if not state:
        raise LabError("the lab is not up")
    done: list[str] = []
    if network.partitioned_ports():
        network.clear_partitions()
        done.append("nft partition rules removed")
    for node in NODE_IPS:
        holder = state.get("nodes", {}).get(node, {}).get("holder")
        if not holder or not nodes.holder_alive(holder):
            lifecycle.restart_node(lab, node)
            done.append(f"{node} restarted")
        if not network.port_is_up(node):
            network.set_port(node, True)
            done.append(f"{node} link up")
    done += _heal_drbd(lab)
    heal_manager = {"heartbeat": _heal_heartbeat, "pacemaker": _heal_pacemaker}.get(state.get("profile", ""),
                                                                                    _heal_vrrp)
    done += heal_manager(lab)
    done += _heal_replication(lab)
    state = lifecycle.load_state(lab)
    state["breaks"] = []
    lifecycle.save_state(lab, state)
    return f"healed in {time.monotonic() - began:.1f} s: " + ("; ".join(done) or "nothing was broken")
