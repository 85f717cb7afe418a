"""promote: the emergency path when the master is dead or unreachable. The replica takes over only when
it has applied everything it received (relay log fully applied: GTID received = GTID applied, or the read
position = the executed one) and the old master is fenced: STONITH through pacemaker, or the operator
typing the cluster name to state that the node is powered off (hosts.yaml `fencing.method`). Lag NULL is
never read as 0: with the master gone the server cannot know its lag, so catch-up is proven by positions.
Afterwards it says exactly what to do with the old master when it returns.
"""

from __future__ import annotations

from tui.health.mysql import (
    ServerInfo,
    parse_gtid_set,
    parse_mariadb_gtids,
    parse_replica_status,
    subtract_gtid_sets,
)
from tui.procedures import interlocks, live
from tui.procedures.builtin.switchover import Failover, cluster_layers
from tui.procedures.builtin.vip import arping_step
from tui.procedures.model import DISRUPTIVE, Check, Param, Procedure, RunContext, Step
from tui.runner import HostUnreachable


def received_all_applied(status: live.ReplicaStatus, raw: dict[str, str], info: ServerInfo) -> tuple[bool, str]:
    """(the replica applied every transaction it received, what was compared)."""
    if status.using_gtid not in ("", "No") and info.flavor == "mariadb":
        received = {d: n for d, _s, n in parse_mariadb_gtids(raw.get("Gtid_IO_Pos", ""))}
        applied = {d: n for d, _s, n in parse_mariadb_gtids(info.variables.get("gtid_slave_pos", ""))}
        behind = [f"domain {d}: {applied.get(d, 0)} < {n}" for d, n in received.items() if applied.get(d, 0) < n]
        value = f"received {raw.get('Gtid_IO_Pos', '') or '(none)'}, applied {info.variables.get('gtid_slave_pos', '')}"
        return not behind, value + ("; " + ", ".join(behind) if behind else "")
    if status.using_gtid not in ("", "No"):
        retrieved = raw.get("Retrieved_Gtid_Set", "").replace("\n", "")
        missing = subtract_gtid_sets(parse_gtid_set(retrieved), parse_gtid_set(info.executed))
        return not missing, f"retrieved {retrieved or '(none)'}, executed {info.executed or '(none)'}"
    read = (raw.get("Master_Log_File") or raw.get("Source_Log_File", ""),
            raw.get("Read_Master_Log_Pos") or raw.get("Read_Source_Log_Pos", ""))
    done = (status.relay_master_log_file, str(status.exec_master_log_pos))
    return read == done, f"read {read[0]}:{read[1]}, executed {done[0]}:{done[1]}"


class Promote(Procedure):
    name = "promote"
    note = "emergency: the master is dead; promote the replica once it applied all it received and the old master is fenced"
    danger = DISRUPTIVE
    is_failover = True
    params = (
        Param("to", "the replica to promote (default: the peer of the dead master)", member=True),
        Param("powered-off", "fencing by confirmation: the cluster name, typed to state that the old master "
              "is powered off"),
        Param("wait", "seconds to wait for the VIP on the new master", default="20"),
    )
    verify_timeout = 20.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        cluster = ctx.cluster
        mysql = cluster.mysql
        if mysql is None:
            return [Check("MySQL configured", False, "", "promote is for a MySQL master that died")]
        candidate = ctx.args.get("to") or (mysql.replicas[0] if len(mysql.replicas) == 1 else None)
        if candidate is None or candidate not in cluster.members:
            return [Check("replica to promote", False, str(candidate), "give --to with a member")]
        old = cluster.peer_of(candidate)
        if old is None:
            return [Check("old master", False, "", "promote needs a two-node cluster (the peer is the old master)")]
        ctx.facts.update(target=candidate, holder=old)
        checks = [await interlocks.reachable(ctx, candidate)]
        if not checks[-1].ok:
            return checks
        checks += await self._fenced(ctx, old)
        checks += await self._caught_up(ctx, candidate)
        for resource in cluster.drbd_resources:
            try:
                res = await live.drbd_resource(ctx.runner, candidate, resource, cluster.drbd_version)
            except (HostUnreachable, live.ProbeFailed) as exc:
                checks.append(Check(f"DRBD {resource} on {candidate} UpToDate", False, "", str(exc)))
                continue
            disk = live.local_disk(res) if res else "absent"
            checks.append(Check(f"DRBD {resource} on {candidate} UpToDate", disk == "UpToDate", disk,
                                "promoting stale or inconsistent data"))
        return checks

    async def _fenced(self, ctx: RunContext, old: str) -> list[Check]:
        cluster = ctx.cluster
        answers = False
        try:
            result = await ctx.runner.run(old, live.mysql_argv(cluster, "-N", "-B", "-e", "SELECT 1"), timeout=8.0)
            answers = result.ok
        except HostUnreachable:
            pass
        checks = [Check(f"old master {old} does not answer", not answers, "answers" if answers else "no answer",
                        "the master is alive: use `failover` (the planned switchover loses nothing)")]
        if cluster.fencing == "stonith":
            checks.append(Check(f"{old} fenced", True, "by step 1: stonith_admin --off"))
        else:
            confirmed = ctx.args.get("powered-off") == cluster.name
            checks.append(Check(f"{old} confirmed powered off", confirmed,
                                "confirmed by the operator" if confirmed else "not confirmed",
                                f"make sure {old} is powered off (it must not come back as master), then "
                                f"confirm with --powered-off {cluster.name}"))
        return checks

    async def _caught_up(self, ctx: RunContext, candidate: str) -> list[Check]:
        cluster = ctx.cluster
        try:
            info = await live.mysql_server(ctx.runner, cluster, candidate)
            result = await ctx.runner.run(candidate, live.mysql_argv(cluster, "-e", "SHOW SLAVE STATUS\\G"),
                                          timeout=8.0)
        except (HostUnreachable, live.ProbeFailed) as exc:
            return [Check(f"MySQL on {candidate} answers", False, "", str(exc))]
        status = live.replica_status_from_text(candidate, result.stdout)
        if not status.configured:
            return [Check(f"{candidate} is a replica", False, "not a replica", "nothing to promote from")]
        raw = parse_replica_status(result.stdout).channels[0].raw
        ctx.facts.update(new_server=info, gtid=status.using_gtid not in ("", "No"))
        applied, value = received_all_applied(status, raw, info)
        lag = "NULL" if status.lag is None else f"{status.lag}s"
        return [
            Check(f"SQL thread of {candidate} without error", not status.last_sql_error, status.describe(),
                  f"stopped by an error: {status.last_sql_error[:160]}"),
            Check(f"{candidate} applied all it received", applied, value,
                  "its relay log still holds transactions: wait until they are applied, then retry"),
            Check(f"lag of {candidate}", True, f"{lag} (not read as 0: catch-up is proven by positions)"),
        ]

    async def plan(self, ctx: RunContext) -> list[Step]:
        old, candidate = ctx.facts.get("holder"), ctx.facts.get("target")
        info: ServerInfo | None = ctx.facts.get("new_server")
        if old is None or candidate is None or info is None:
            return []
        cluster = ctx.cluster
        steps: list[Step] = []
        if cluster.fencing == "stonith":
            steps.append(Step(candidate, ["stonith_admin", "--off", old], f"fence {old} (pacemaker STONITH)",
                              timeout=120.0))
        for resource in cluster.drbd_resources:
            steps.append(Step(candidate, ["drbdadm", "primary", resource], f"promote DRBD {resource} on {candidate}",
                              rollback=f"on {candidate}: drbdadm secondary {resource}"))
            steps += [Step(candidate, ["sh", "-c", hook], f"start the users of DRBD {resource} (hosts.yaml hook)",
                           timeout=120.0) for hook in cluster.drbd_after_promote]
        steps += Failover()._promote_mysql(ctx, candidate, info)
        if cluster.vip is not None:
            wait = float(ctx.args.get("wait") or 20)

            async def holds(c: RunContext) -> list[Check]:
                vip = c.cluster.vip
                assert vip is not None
                held = await live.holds_address(c.runner, candidate, vip.address, vip.interface)
                return [Check(f"VIP {vip.address} on {candidate}", held, "yes" if held else "no")]

            steps.append(Step(None, kind="wait", until=holds, timeout=wait,
                              note=f"wait for the VIP on {candidate} ({cluster.manager or 'the manager'} moves it "
                              "when the master is gone)",
                              describe=f"poll `ip -o addr show dev {cluster.vip.interface}` on {candidate}"))
            steps.append(arping_step(ctx, candidate))
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        candidate = ctx.facts["target"]
        layers = await cluster_layers(ctx)
        checks = []
        for layer, nodes in layers["active"].items():
            if layer == "vrrp":
                continue  # the dead node's state file cannot be read
            if nodes is None:  # a layer that cannot be read on the dead node: judge the candidate alone
                continue
            checks.append(Check(f"{layer} active on {candidate} only", nodes == {candidate}, ",".join(sorted(nodes))))
        checks += await self._candidate_layers(ctx, candidate)
        return checks

    async def _candidate_layers(self, ctx: RunContext, candidate: str) -> list[Check]:
        cluster = ctx.cluster
        checks = []
        info = await live.mysql_server(ctx.runner, cluster, candidate)
        writable = info.variables.get("read_only") == "OFF"
        checks.append(Check(f"MySQL on {candidate} writable", writable, "read_only=" + info.variables.get("read_only", "?")))
        for resource in cluster.drbd_resources:
            res = await live.drbd_resource(ctx.runner, candidate, resource, cluster.drbd_version)
            checks.append(Check(f"DRBD {resource} Primary on {candidate}", bool(res and res.role == "Primary"),
                                res.role if res else "absent"))
        if cluster.vip is not None:
            held = await live.holds_address(ctx.runner, candidate, cluster.vip.address, cluster.vip.interface)
            checks.append(Check(f"VIP on {candidate}", held, "yes" if held else "no"))
        return checks

    def success_hint(self, ctx: RunContext) -> str:
        old, new = ctx.facts["holder"], ctx.facts["target"]
        resources = " ".join(ctx.cluster.drbd_resources)
        steps = [f"when {old} returns, it still believes it is the master: keep it away from clients "
                 f"(do not start its keepalived/heartbeat or let applications reach its MySQL)"]
        if resources:
            steps.append(f"on {old}: `drbdadm secondary {resources}` then `drbdadm connect --discard-my-data "
                         f"{resources}` (or `hascreen run drbd-split-brain --cluster {ctx.cluster.name} "
                         f"--victim {old}`): its writes after the last sync are discarded")
        steps.append(f"on {old}: `SET GLOBAL read_only=ON`, then rebuild it as a replica of {new}: `hascreen run "
                     f"mysql-resync --cluster {ctx.cluster.name} --replica {old}` (keeps GTID; its errant "
                     "transactions, if any, are gone with the rebuild)")
        if ctx.cluster.manager == "keepalived":
            steps.append(f"start keepalived on {old}: it joins as BACKUP (nopreempt)")
        return "; ".join(f"({i}) {text}" for i, text in enumerate(steps, 1))
