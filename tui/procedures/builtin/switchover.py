"""failover: the planned switchover of every layer a cluster has, in the order that loses nothing —
stop writes on the old master, wait until the target applied all of it, move DRBD (with the hooks of
hosts.yaml), promote MySQL on the target, move the VIP the way its manager expects (keepalived: its
release track file puts the old node in FAULT and back to BACKUP, keepalived running all along; without
one, keepalived is stopped there and started again as BACKUP), arping, make the old master a replica of the new one, and
verify with the health consistency rule. Failback is the same procedure toward the other node.

At no moment are two nodes VIP holder, DRBD Primary or writable MySQL master: each layer is released
on the old node before the target takes it. A failure while nothing has moved yet (the catch-up wait)
makes the old master writable again by itself; later failures stop and report every layer's state.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from typing import Any

from tui.health.consistency import evaluate_consistency
from tui.health.keepalived import instance_nopreempt, parse_notify_state
from tui.health.model import State
from tui.health.mysql import ServerInfo, errant_gtids, parse_master_status, parse_read_only
from tui.procedures import interlocks, live, validation
from tui.procedures.builtin.vip import HB_DAEMON, HB_STANDBY, arping_step, gateway_sees
from tui.procedures.model import DISRUPTIVE, Check, Param, Procedure, RunContext, Step
from tui.procedures.mysql_dialect import PASSWORD_MARKER, Dialect, piped_with_password
from tui.runner import HostUnreachable, RunResult

_GTID_TEXT = re.compile(r"^[0-9A-Za-z:,_-]*$")
# Client sessions to end after read_only (drain: kill): not replication, not the server's own threads.
_CLIENT_SESSIONS = ("SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() "
                    "AND user NOT IN ('system user', 'event_scheduler') AND command NOT IN "
                    "('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Killed')")


def _capture_master_position(gtid: bool, info: ServerInfo):
    """Capture of the old master's position once it is read-only: its GTIDs, or file:position."""

    def capture(result: RunResult, facts: dict[str, Any]) -> None:
        if gtid:
            value = result.stdout.strip().replace("\n", "")
            if not _GTID_TEXT.match(value):
                raise ValueError(f"unexpected GTID text {value[:80]!r}")
            facts["master_gtid"] = value
            return
        status = parse_master_status(result.stdout)
        if status.file is None or status.position is None:
            raise ValueError("binary log status is empty: log-bin is off")
        facts["master_log_file"] = validation.binlog_file(status.file)
        facts["master_log_pos"] = validation.binlog_position(status.position)

    return capture


def _capture_applied(dialect: Dialect, gtid: bool, timeout: int):
    def capture(result: RunResult, facts: dict[str, Any]) -> None:
        if not dialect.applied_ok(result.stdout, gtid=gtid):
            raise ValueError(f"the target did not apply everything within {timeout} s "
                             f"(wait returned {result.stdout.strip()[-40:] or 'nothing'})")

    return capture


def _capture_new_master_position(result: RunResult, facts: dict[str, Any]) -> None:
    status = parse_master_status(result.stdout)
    if status.file is None or status.position is None:
        raise ValueError("the target's binary log status is empty: log-bin is off, nothing to replicate from")
    facts["new_log_file"] = validation.binlog_file(status.file)
    facts["new_log_pos"] = validation.binlog_position(status.position)


class Failover(Procedure):
    name = "failover"
    note = "planned switchover of the whole stack (MySQL, DRBD, VIP) to the peer; failback is the same"
    danger = DISRUPTIVE
    is_failover = True
    params = (
        Param("to", "node that takes over (default: the peer of the current holder)", member=True),
        Param("method", "heartbeat only: 'stop' heartbeat on the active node, or 'standby'",
              choices=("stop", "standby")),
        Param("wait", "seconds to wait for the VIP to move", default="20"),
    )
    verify_timeout = 20.0

    # ------------------------------------------------------------------------------- preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        cluster = ctx.cluster
        if cluster.manager is None:
            return [Check("HA manager configured", False, "", "hosts.yaml gives no manager for this cluster")]
        checks = await interlocks.vip_single_holder(ctx)
        holder = ctx.facts.get("holder")
        if holder is None or not all(c.ok for c in checks):
            return checks  # unreachable member or no single holder: nothing further can make it safe
        target = ctx.args.get("to") or cluster.peer_of(holder)
        if target is None or target not in cluster.members or target == holder:
            checks.append(Check("target node", False, str(target), f"give --to with a member other than {holder}"))
            return checks
        ctx.facts["target"] = target
        checks.append(await interlocks.reachable(ctx, target))
        if not checks[-1].ok:
            return checks
        if cluster.manager == "keepalived":
            checks += await self._keepalived_checks(ctx, holder, target)
        if cluster.drbd_resources:
            checks += await interlocks.drbd_peer_ready(ctx, target)
            checks += await interlocks.drbd_no_split_brain(ctx)
            checks += await self._drbd_primary_is(ctx, holder)
        if cluster.mysql:
            checks += await self._mysql_checks(ctx, holder, target)
        return checks

    async def _keepalived_checks(self, ctx: RunContext, holder: str, target: str) -> list[Check]:
        cluster = ctx.cluster
        checks = []
        for node, role in ((target, "target"), (holder, "VIP holder")):
            try:
                alive = await live.process_alive(ctx.runner, node, cluster.keepalived_pidfile)
            except HostUnreachable:
                alive = False
            checks.append(Check(f"keepalived runs on the {role} {node}", alive, "yes" if alive else "no",
                                "" if alive else f"start keepalived on {node} first: the VIP could land nowhere"))
        if cluster.keepalived_release_file:
            for node in (holder, target):
                checks.append(await self._release_file_check(ctx, node))
        else:
            checks.append(Check("keepalived start command", bool(cluster.keepalived_start),
                                cluster.keepalived_start or "none",
                                "set keepalived.release_file (preferred) or keepalived.start_command in "
                                f"hosts.yaml: without a release file the failover restarts keepalived on {holder}"))
        instance = cluster.keepalived_instance
        text = await live.read_text(ctx.runner, holder, cluster.keepalived_config)
        nopreempt = instance_nopreempt(text, instance) if text is not None and instance else None
        checks.append(Check(f"keepalived {instance} on {holder} is nopreempt", nopreempt is True,
                            {True: "nopreempt", False: "preempts", None: "unreadable"}[nopreempt],
                            f"back as BACKUP, a preempting {holder} would take the VIP back at once: "
                            f"set `state BACKUP` and `nopreempt` in {cluster.keepalived_config} on both nodes"))
        return checks

    async def _release_file_check(self, ctx: RunContext, node: str) -> Check:
        path = ctx.cluster.keepalived_release_file
        try:
            text = await live.read_text(ctx.runner, node, path)
        except HostUnreachable:
            text = None
        value = "missing" if text is None else (text.strip() or "empty")
        return Check(f"keepalived release file on {node} reads 0", value == "0", f"{path}: {value}",
                     f"{path} must exist on {node} and hold 0 (a keepalived track_file with weight 0 in the "
                     f"instance; not 0 means {node} is released or in FAULT already)")

    async def _drbd_primary_is(self, ctx: RunContext, holder: str) -> list[Check]:
        checks = []
        for resource in ctx.cluster.drbd_resources:
            states = await interlocks.drbd_states(ctx, resource)
            primaries = sorted(n for n, r in states.items() if not isinstance(r, str) and r is not None
                               and r.role == "Primary")
            checks.append(Check(f"DRBD {resource} Primary is the VIP holder", primaries == [holder],
                                ",".join(primaries) or "none", f"expected {holder}: the layers disagree already"))
        return checks

    async def _mysql_checks(self, ctx: RunContext, holder: str, target: str) -> list[Check]:
        cluster = ctx.cluster
        mysql = cluster.mysql
        assert mysql is not None
        try:
            old, new = await asyncio.gather(live.mysql_server(ctx.runner, cluster, holder),
                                            live.mysql_server(ctx.runner, cluster, target))
        except (HostUnreachable, live.ProbeFailed) as exc:
            return [Check("MySQL answers on both nodes", False, "", str(exc))]
        ctx.facts.update(old_server=old, new_server=new)
        writable = parse_read_only(old.variables.get("read_only", "")) is False
        checks = [Check(f"MySQL on {holder} is the writable master", writable,
                        "read_only=" + old.variables.get("read_only", "?"),
                        "the VIP holder's MySQL is read-only: the layers disagree already")]
        caught = await interlocks.replica_caught_up(ctx, target)
        checks.append(caught)
        try:
            status = await live.replica_status(ctx.runner, cluster, target)
        except (HostUnreachable, live.ProbeFailed):
            status = None
        if status is not None and status.configured:
            gtid = status.using_gtid not in ("", "No")
            ctx.facts["gtid"] = gtid
            # by server id (Master_Host may be a DNS name or a replication network address)
            source_id = status.master_server_id
            if source_id:
                source_ok = source_id == old.variables.get("server_id")
                seen = f"{status.master_host} (server_id {source_id})"
            else:
                source_ok = status.master_host in (holder, cluster.host_addresses.get(holder))
                seen = status.master_host
            checks.append(Check(f"{target} replicates from {holder}", source_ok, seen,
                                f"{target} replicates from another server than {holder} "
                                f"(server_id {old.variables.get('server_id', '?')})"))
            checks.append(Check(f"replication mode of {target}", True,
                                f"GTID ({status.using_gtid})" if gtid else "file/position"))
        errant = errant_gtids(new, old)
        checks.append(Check(f"no errant GTIDs on {target}", not errant, errant or "none",
                            "transactions on the target the master never had: they would become "
                            "the new master's history (inspect, then remove or inject them on the master)"))
        if mysql.replication_user and mysql.replication_password_file:
            path = mysql.replication_password_file
            result = await ctx.runner.run(holder, ["test", "-r", path], timeout=8.0)
            checks.append(Check(f"replication password file on {holder}", result.ok, path,
                                f"{path} missing on {holder}: it becomes a replica of {target} with it"))
        else:
            checks.append(Check("old master re-pointed automatically", True,
                                "no: mysql.replication_user/replication_password_file not set; a manual step"))
        return checks

    # ------------------------------------------------------------------------------- plan
    async def plan(self, ctx: RunContext) -> list[Step]:
        holder, target = ctx.facts.get("holder"), ctx.facts.get("target")
        if holder is None or target is None:
            return []
        cluster = ctx.cluster
        steps: list[Step] = []
        old_info: ServerInfo | None = ctx.facts.get("old_server")
        new_info: ServerInfo | None = ctx.facts.get("new_server")
        mysql_on = cluster.mysql is not None and old_info is not None and new_info is not None
        if mysql_on:
            assert old_info is not None and new_info is not None
            steps += self._stop_writes(ctx, holder, old_info)
        ctx.facts["rollback_until"] = len(steps)  # failures up to here: the old master is made writable again
        if cluster.drbd_moved_by == "hascreen":  # else heartbeat/pacemaker move it with the VIP
            for resource in cluster.drbd_resources:
                steps += self._drbd_steps(ctx, holder, target, resource)
        if mysql_on:
            assert new_info is not None
            steps += self._promote_mysql(ctx, target, new_info)
        steps += self._move_vip(ctx, holder, target)
        if cluster.vip is not None:
            steps.append(arping_step(ctx, target))
        if mysql_on:
            assert old_info is not None
            steps.append(self._repoint_old_master(ctx, holder, target, old_info))
        return steps

    def _sql(self, ctx: RunContext, host: str, sql: str, note: str, **kw: Any) -> Step:
        return Step(host, live.mysql_argv(ctx.cluster, "-N", "-B", "-e", sql), note, **kw)

    def _stop_writes(self, ctx: RunContext, holder: str, info: ServerInfo) -> list[Step]:
        mysql = ctx.cluster.mysql
        assert mysql is not None
        dialect = Dialect(info)
        gtid = bool(ctx.facts.get("gtid"))
        target = ctx.facts["target"]
        super_ro = "super_read_only" in info.variables
        set_ro = "SET GLOBAL read_only=ON" + (", super_read_only=ON" if super_ro else "")
        steps = [self._sql(ctx, holder, set_ro, f"stop writes on the old master {holder}",
                           rollback=f"on {holder}: SET GLOBAL read_only=OFF")]
        ctx.facts["writable_sql"] = "SET GLOBAL " + ("super_read_only=OFF, " if super_ro else "") + "read_only=OFF"
        if mysql.drain == "kill":
            kill = (shlex.join(live.mysql_argv(ctx.cluster, "-N", "-B", "-e", _CLIENT_SESSIONS))
                    + " | while read -r id; do " + shlex.join(live.mysql_argv(ctx.cluster, "-e"))
                    + ' "KILL $id" 2>/dev/null || true; done')
            steps.append(Step(holder, ["sh", "-c", kill], "end the client sessions still open on the old master "
                              "(hosts.yaml mysql.drain: kill)"))
        if gtid:
            what = "@@gtid_binlog_pos" if info.flavor == "mariadb" else "@@gtid_executed"
            steps.append(self._sql(ctx, holder, f"SELECT {what}", "record the old master's last GTIDs",
                                   capture=_capture_master_position(True, info)))
        else:
            steps.append(Step(holder, live.mysql_argv(ctx.cluster, "-e", dialect.show_binlog_status + "\\G"),
                              "record the old master's binlog position", capture=_capture_master_position(False, info)))
        new_dialect = Dialect(ctx.facts["new_server"])
        timeout = mysql.catchup_timeout
        wait_sql = new_dialect.wait_applied(gtid="{master_gtid}" if gtid else None, log_file="{master_log_file}",
                                            log_pos="{master_log_pos}", timeout=timeout)
        steps.append(self._sql(ctx, target, wait_sql,
                               f"wait (≤ {timeout} s) until {target} applied everything the old master wrote",
                               timeout=timeout + 15.0, capture=_capture_applied(new_dialect, gtid, timeout)))
        return steps

    def _drbd_steps(self, ctx: RunContext, holder: str, target: str, resource: str) -> list[Step]:
        cluster = ctx.cluster
        steps = [Step(holder, ["sh", "-c", hook], f"stop the users of DRBD {resource} on {holder} (hosts.yaml hook)",
                      rollback=f"on {holder}: start what this hook stopped", timeout=120.0)
                 for hook in cluster.drbd_before_demote]
        steps.append(Step(holder, ["drbdadm", "secondary", resource], f"demote DRBD {resource} on {holder}",
                          rollback=f"on {holder}: drbdadm primary {resource}"))
        steps.append(Step(target, ["drbdadm", "primary", resource], f"promote DRBD {resource} on {target}",
                          rollback=f"on {target}: drbdadm secondary {resource}"))
        steps += [Step(target, ["sh", "-c", hook], f"start the users of DRBD {resource} on {target} (hosts.yaml hook)",
                       timeout=120.0) for hook in cluster.drbd_after_promote]
        return steps

    def _promote_mysql(self, ctx: RunContext, target: str, info: ServerInfo) -> list[Step]:
        dialect = Dialect(info)
        gtid = bool(ctx.facts.get("gtid"))
        steps = [self._sql(ctx, target, f"{dialect.stop_replica}; {dialect.reset_replica_all}",
                           f"stop replication on {target} and forget its source",
                           rollback=f"on {target}: CHANGE MASTER back to the old master, START SLAVE")]
        if not gtid:
            steps.append(Step(target, live.mysql_argv(ctx.cluster, "-e", dialect.show_binlog_status + "\\G"),
                              f"record {target}'s binlog position (where the old master will start)",
                              capture=_capture_new_master_position))
        writable = "SET GLOBAL " + ("super_read_only=OFF, " if "super_read_only" in info.variables else "") \
            + "read_only=OFF"
        steps.append(self._sql(ctx, target, writable, f"make {target} the writable master",
                               rollback=f"on {target}: SET GLOBAL read_only=ON"))
        return steps

    def _move_vip(self, ctx: RunContext, holder: str, target: str) -> list[Step]:
        cluster = ctx.cluster
        steps: list[Step] = []
        release = cluster.keepalived_release_file if cluster.manager == "keepalived" else None
        if release:
            step = Step(holder, _write_release(release, 1),
                        f"release the VIP on {holder}: its keepalived (still running) goes FAULT through the "
                        f"release file and drops the VIP, {target} becomes VRRP MASTER",
                        rollback=f"on {holder}: echo 0 > {release}")
            ctx.facts["release_step"] = step
            steps.append(step)
        elif cluster.manager == "keepalived":
            steps.append(Step(holder, ["pkill", "-TERM", "-F", cluster.keepalived_pidfile],
                              f"stop keepalived on {holder}: it drops the VIP, {target} becomes VRRP MASTER",
                              rollback=f"on {holder}: {cluster.keepalived_start}"))
        elif cluster.manager == "heartbeat":
            method = ctx.args.get("method") or cluster.heartbeat_method
            if method == "stop":
                steps.append(Step(holder, [HB_DAEMON, "-k"], f"stop heartbeat on {holder}; {target} takes over",
                                  rollback=f"on {holder}: start heartbeat"))
            else:
                steps.append(Step(holder, [HB_STANDBY, "all"], f"{holder} gives its resources to {target}",
                                  rollback=f"on {target}: {HB_STANDBY} all"))
        elif cluster.manager == "pacemaker":
            resource = cluster.pacemaker_resource
            if resource is None:
                raise ValueError("pacemaker failover needs pacemaker.resources in hosts.yaml")
            steps.append(Step(holder, ["crm_resource", "--move", "--resource", resource, "--node", target],
                              f"move {resource} to {target} (its cli-prefer constraint stays until the next "
                              f"move or `crm_resource --clear --resource {resource}`)",
                              rollback=f"crm_resource --move --resource {resource} --node {holder}"))
        if cluster.vip is not None:
            wait = float(ctx.args.get("wait") or 20)

            async def moved(c: RunContext) -> list[Check]:
                checks = await interlocks.vip_moved(c, target, holder)
                if release:
                    checks.append(await _vrrp_state_is(c, target, "MASTER"))
                elif c.cluster.manager == "keepalived":
                    gone = not await live.process_alive(c.runner, holder, c.cluster.keepalived_pidfile)
                    checks.append(Check(f"keepalived on {holder} has exited", gone, "yes" if gone else "not yet"))
                return checks

            steps.append(Step(None, kind="wait", until=moved, timeout=wait,
                              note=f"wait for the VIP on {target} and gone from {holder}",
                              describe=f"poll `ip -o addr show dev {cluster.vip.interface}` on {holder} and {target}"))
        if release:
            step = Step(holder, _write_release(release, 0),
                        f"end the release on {holder}: keepalived there leaves FAULT and joins as BACKUP (nopreempt)")
            ctx.facts["unrelease_step"] = step
            steps.append(step)
        elif cluster.manager == "keepalived":
            steps.append(Step(holder, ["sh", "-c", cluster.keepalived_start],
                              f"start keepalived again on {holder}: it joins as BACKUP (nopreempt)", timeout=30.0))
        if cluster.manager == "keepalived":
            async def backup(c: RunContext) -> list[Check]:
                alive = await live.process_alive(c.runner, holder, c.cluster.keepalived_pidfile)
                checks = [Check(f"keepalived runs on {holder}", alive, "yes" if alive else "no")]
                if c.cluster.keepalived_state_file:
                    checks.append(await _vrrp_state_is(c, holder, "BACKUP"))
                if c.cluster.vip is not None:
                    checks += await interlocks.vip_moved(c, target, holder)
                return checks

            steps.append(Step(None, kind="wait", until=backup, timeout=20.0,
                              note=f"wait for keepalived on {holder} as BACKUP, the VIP still only on {target}",
                              describe=f"poll keepalived's pid file and state on {holder}, the VIP on both"))
        return steps

    def _repoint_old_master(self, ctx: RunContext, holder: str, target: str, info: ServerInfo) -> Step:
        cluster = ctx.cluster
        mysql = cluster.mysql
        assert mysql is not None
        dialect = Dialect(info)
        gtid = bool(ctx.facts.get("gtid"))
        address = validation.ip_address(cluster.host_addresses[target]) if target in cluster.host_addresses \
            else validation.host_name(target)
        prefix = ""
        if gtid and info.flavor == "mariadb":
            # a former master's own transactions are in its binlog, not in gtid_slave_pos
            prefix = "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos; "
        if not (mysql.replication_user and mysql.replication_password_file):
            change = dialect.change_source(host=address, port=mysql.port, user="REPL_USER", password="REPL_PASSWORD",
                                           gtid=gtid, log_file="{new_log_file}", log_pos="{new_log_pos}")
            return Step(holder, kind="manual", note=f"make {holder} a replica of {target}",
                        describe=f"on {holder}: {prefix}{change}; {dialect.start_replica}")
        change = dialect.change_source(host=address, port=mysql.port, user=mysql.replication_user,
                                       password=PASSWORD_MARKER, gtid=gtid, log_file="{new_log_file}",
                                       log_pos="{new_log_pos}")
        argv = piped_with_password(f"{prefix}{change}; {dialect.start_replica}", mysql.replication_password_file,
                                   live.mysql_argv(cluster))
        return Step(holder, argv,
                    f"make {holder} a replica of {target} ({'GTID' if gtid else 'file/position'}); "
                    f"the password comes from {mysql.replication_password_file} on {holder}",
                    rollback=f"on {holder}: {dialect.stop_replica}; {dialect.reset_replica_all}")

    # ------------------------------------------------------------------------------- failure
    def automatic_rollback(self, ctx: RunContext, steps: list[Step], failed_index: int) -> list[Step]:
        holder = ctx.facts.get("holder")
        if holder is None:
            return []
        released = [i for i, s in enumerate(steps) if s is ctx.facts.get("release_step")]
        unreleased = [i for i, s in enumerate(steps) if s is ctx.facts.get("unrelease_step")]
        if released and unreleased and released[0] < failed_index <= unreleased[0]:
            # the old holder's keepalived must not stay in FAULT: it rejoins the election (as BACKUP, or
            # MASTER again when the target never took the VIP); the state report says where each layer is
            path = ctx.cluster.keepalived_release_file
            assert path is not None
            return [Step(holder, _write_release(path, 0),
                         f"end the release on {holder}: its keepalived leaves FAULT and rejoins the election")]
        if failed_index >= ctx.facts.get("rollback_until", 0) or "writable_sql" not in ctx.facts:
            return []
        return [self._sql(ctx, holder, ctx.facts["writable_sql"],
                          f"nothing moved yet: {holder} is the writable master again")]

    async def state_report(self, ctx: RunContext) -> list[str]:
        layers = await cluster_layers(ctx)
        return [f"{label}: {value}" for label, value in layers["report"]]

    # ------------------------------------------------------------------------------- verify
    async def verify(self, ctx: RunContext) -> list[Check]:
        holder, target = ctx.facts["holder"], ctx.facts["target"]
        probes = [cluster_layers(ctx), gateway_sees(ctx, target)]
        layers, gateway = await asyncio.gather(*probes)
        checks: list[Check] = []
        row = evaluate_consistency(ctx.cluster.name, layers["active"], observed_at=0.0)
        checks.append(Check("layers agree (health consistency)", row.state == State.OK and row.value == target,
                            row.value, row.reason or f"expected every layer on {target}"))
        checks += gateway
        if ctx.cluster.mysql and ctx.facts.get("old_server") is not None:
            try:
                status = await live.replica_status(ctx.runner, ctx.cluster, holder)
            except (HostUnreachable, live.ProbeFailed) as exc:
                checks.append(Check(f"{holder} replicates from {target}", False, "", str(exc)))
            else:  # re-pointed by step 7, or by the operator's hand when it was a manual step
                checks.append(Check(f"{holder} replicates from {target}", status.caught_up, status.describe(),
                                    status.last_io_error[:160] or status.last_sql_error[:160]))
        if ctx.cluster.manager == "keepalived":
            for node in (holder, target):
                alive = await live.process_alive(ctx.runner, node, ctx.cluster.keepalived_pidfile)
                checks.append(Check(f"keepalived runs on {node}", alive, "yes" if alive else "no"))
            if ctx.cluster.keepalived_state_file:  # FAULT was a moment of the switch: none is left in it
                checks += [await _vrrp_state_is(ctx, target, "MASTER"), await _vrrp_state_is(ctx, holder, "BACKUP")]
        return checks


def _write_release(path: str, value: int) -> list[str]:
    """argv writing 1 (release: the instance goes FAULT) or 0 to keepalived's release track file."""
    return ["sh", "-c", f"echo {int(value)} > {shlex.quote(path)}"]


async def _vrrp_state_is(ctx: RunContext, node: str, wanted: str) -> Check:
    """The node's VRRP state from the notify state file (a check that passes when no file is configured)."""
    path = ctx.cluster.keepalived_state_file
    if not path:
        return Check(f"{node} is VRRP {wanted}", True, "not known (no notify_state_file)")
    text = await live.read_text(ctx.runner, node, path) or ""
    state = next(iter(parse_notify_state(text).values()), "?")
    return Check(f"{node} is VRRP {wanted}", state == wanted, state)


async def cluster_layers(ctx: RunContext) -> dict[str, Any]:
    """Every layer's active nodes as the consistency rule wants them, and a report line per layer."""
    cluster = ctx.cluster
    active: dict[str, set[str] | None] = {}
    report: list[tuple[str, str]] = []

    async def per_node(probe) -> dict[str, object]:
        async def one(node: str) -> tuple[str, object]:
            try:
                return node, await probe(node)
            except (HostUnreachable, live.ProbeFailed) as exc:
                return node, exc

        return dict(await asyncio.gather(*(one(n) for n in cluster.members)))

    if cluster.vip is not None:
        vip = cluster.vip
        held = await per_node(lambda n: live.holds_address(ctx.runner, n, vip.address, vip.interface))
        active["vip"] = None if any(isinstance(v, Exception) for v in held.values()) \
            else {n for n, v in held.items() if v is True}
        report.append(("VIP", ",".join(sorted(n for n, v in held.items() if v is True)) or "nobody"))
    for resource in cluster.drbd_resources:
        states = await interlocks.drbd_states(ctx, resource)
        readable = all(not isinstance(r, str) for r in states.values())
        primaries = {n for n, r in states.items() if not isinstance(r, str) and r is not None and r.role == "Primary"}
        active["drbd"] = (active.get("drbd") or set()) | primaries if readable else None
        report.append((f"DRBD {resource}", ", ".join(
            f"{n} {r if isinstance(r, str) else (r.role if r else 'absent')}" for n, r in sorted(states.items()))))
    if cluster.manager == "keepalived":
        alive = await per_node(lambda n: live.process_alive(ctx.runner, n, cluster.keepalived_pidfile))
        line = ", ".join(f"{n} {'running' if v is True else 'STOPPED'}" for n, v in sorted(alive.items()))
        if cluster.keepalived_state_file:
            path = cluster.keepalived_state_file
            texts = await per_node(lambda n: live.read_text(ctx.runner, n, path))
            states = {n: next(iter(parse_notify_state(t).values()), "?") if isinstance(t, str) else "?"
                      for n, t in texts.items()}
            active["vrrp"] = {n for n, s in states.items() if s == "MASTER" and alive.get(n) is True}
            line += "; VRRP " + ", ".join(f"{n} {s}" for n, s in sorted(states.items()))
        report.append(("keepalived", line))
    if cluster.mysql is not None:
        async def mysql_state(node: str) -> tuple[bool | None, str]:
            info = await live.mysql_server(ctx.runner, cluster, node)
            status = await live.replica_status(ctx.runner, cluster, node)
            return parse_read_only(info.variables.get("read_only", "")), status.describe()

        states = await per_node(mysql_state)
        if any(isinstance(v, Exception) for v in states.values()):
            active["mysql"] = None
        else:
            active["mysql"] = {n for n, v in states.items() if isinstance(v, tuple) and v[0] is False}
        report.append(("MySQL", ", ".join(
            f"{n} {'unreachable' if isinstance(v, Exception) else ('rw' if v[0] is False else 'ro') + ' ' + v[1]}"
            for n, v in sorted(states.items()))))
    return {"active": active, "report": report}
