"""failover (a planned switchover for keepalived, heartbeat or pacemaker, followed by arping) and
arping (a gratuitous ARP for the VIP from its holder toward the gateway, iputils syntax).
"""

from __future__ import annotations

import asyncio
import re

from tui.procedures import interlocks, live
from tui.procedures.model import DISRUPTIVE, SAFE, Check, Param, Procedure, RunContext, Step
from tui.runner import HostUnreachable

HB_STANDBY = "/usr/share/heartbeat/hb_standby"  # Debian's heartbeat 3.0.6 paths
HB_DAEMON = "/usr/libexec/heartbeat/heartbeat"


def arping_argv(ctx: RunContext) -> list[str]:
    vip = ctx.cluster.vip
    assert vip is not None
    # -f: stop at the gateway's first answer (it proves the announcement arrived): ~15 ms instead of
    # count seconds; without an answer it still sends `count` announcements, one a second.
    argv = ["arping", "-U", "-f", "-c", str(vip.arping_count), "-I", vip.interface, "-s", vip.address]
    argv.append(vip.gateway or vip.address)
    return argv


async def interface_mac(ctx: RunContext, host: str, interface: str) -> str | None:
    result = await ctx.runner.run(host, ["ip", "-o", "link", "show", "dev", interface], timeout=8.0)
    match = re.search(r"link/ether\s+([0-9a-f:]{17})", result.stdout)
    return match.group(1) if match else None


async def gateway_sees(ctx: RunContext, holder: str) -> list[Check]:
    """When hosts.yaml names the gateway host: its neighbour entry for the VIP is the holder's MAC."""
    vip = ctx.cluster.vip
    assert vip is not None
    if not vip.gateway_host:
        return []
    name = f"gateway {vip.gateway_host} maps {vip.address} to {holder}"
    try:
        mac = await interface_mac(ctx, holder, vip.interface)
        result = await ctx.runner.run(vip.gateway_host, ["ip", "neigh", "show", "to", vip.address], timeout=8.0)
    except HostUnreachable as exc:
        return [Check(name, False, "unreachable", exc.reason)]
    match = re.search(r"lladdr\s+([0-9a-f:]{17})", result.stdout)
    if not match:
        return [Check(name, True, "no entry (nothing stale)")]
    seen = match.group(1)
    return [Check(name, seen == mac, seen, "" if seen == mac else f"gateway still has {seen}, holder is {mac}")]


def arping_step(ctx: RunContext, host: str) -> Step:
    vip = ctx.cluster.vip
    assert vip is not None
    target = vip.gateway or "the segment"
    return Step(host, arping_argv(ctx), f"gratuitous ARP for {vip.address} toward {target}", timeout=15.0)


class Failover(Procedure):
    name = "failover"
    note = "planned switchover of the VIP and services to the peer, then arping"
    danger = DISRUPTIVE
    is_failover = True
    params = (
        Param("to", "node that takes over (default: the peer of the current holder)"),
        Param("method", "keepalived/heartbeat: 'stop' the manager on the active node, or heartbeat "
              "'standby'", choices=("stop", "standby")),
        Param("wait", "seconds to wait for the VIP to move", default="20"),
    )
    verify_timeout = 15.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        cluster = ctx.cluster
        checks: list[Check] = []
        if cluster.manager is None:
            return [Check("HA manager configured", False, "", "hosts.yaml gives no manager for this cluster")]
        checks += await interlocks.vip_single_holder(ctx)
        holder = ctx.facts.get("holder")
        if holder is None or not all(c.ok for c in checks):
            return checks  # unreachable member or no single holder: nothing further can make it safe
        target = ctx.args.get("to") or cluster.peer_of(holder)
        if target is None or target not in cluster.members or target == holder:
            checks.append(Check("target node", False, str(target),
                                f"give --to with a member other than {holder}"))
            return checks
        ctx.facts["target"] = target
        checks.append(await interlocks.reachable(ctx, target))
        if not checks[-1].ok:
            return checks
        if cluster.drbd_resources:
            checks += await interlocks.drbd_peer_ready(ctx, target)
            checks += await interlocks.drbd_no_split_brain(ctx)
        if cluster.mysql and cluster.mysql.replicas:
            to_check = [target] if target in cluster.mysql.replicas else list(cluster.mysql.replicas)
            for replica in to_check:
                checks.append(await interlocks.replica_caught_up(ctx, replica))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        holder, target = ctx.facts.get("holder"), ctx.facts.get("target")
        if holder is None or target is None:
            return []
        cluster = ctx.cluster
        method = ctx.args.get("method")
        steps: list[Step] = []
        if cluster.manager == "keepalived":
            start = " ".join(cluster.keepalived_start) or "start keepalived"
            steps.append(Step(holder, ["pkill", "-TERM", "-F", cluster.keepalived_pidfile],
                              f"stop keepalived on the MASTER {holder}; {target} takes the VIP",
                              rollback=f"on {holder}: {start}"))
        elif cluster.manager == "heartbeat":
            method = method or cluster.heartbeat_method
            if method == "stop":
                steps.append(Step(holder, [HB_DAEMON, "-k"], f"stop heartbeat on {holder}; {target} takes over",
                                  rollback=f"on {holder}: start heartbeat"))
            else:
                steps.append(Step(holder, [HB_STANDBY, "all"], f"{holder} gives its resources to {target}",
                                  rollback=f"on {target}: {HB_STANDBY} all"))
        elif cluster.manager == "pacemaker":
            resource = cluster.pacemaker_resource
            if resource is None:
                raise ValueError("pacemaker failover needs pacemaker.resource in hosts.yaml")
            steps.append(Step(holder, ["crm_resource", "--move", "--resource", resource, "--node", target],
                              f"move {resource} to {target} (a temporary location constraint)",
                              rollback=f"crm_resource --clear --resource {resource}"))
        wait = float(ctx.args.get("wait") or 20)

        async def moved(c: RunContext) -> list[Check]:
            return await interlocks.vip_moved(c, target, holder)

        steps.append(Step(None, kind="wait", until=moved, timeout=wait,
                          note=f"wait for the VIP on {target} and gone from {holder}",
                          describe=f"poll `ip -o addr show dev {cluster.vip.interface}` on {holder} and {target}"
                          if cluster.vip else ""))
        steps.append(arping_step(ctx, target))
        if cluster.manager == "pacemaker":
            steps.append(Step(holder, ["crm_resource", "--clear", "--resource", cluster.pacemaker_resource or ""],
                              "remove the temporary constraint so pacemaker may move it back later"))
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        holder, target = ctx.facts["holder"], ctx.facts["target"]
        probes = [interlocks.vip_moved(ctx, target, holder), gateway_sees(ctx, target)]
        if ctx.cluster.drbd_resources:
            probes.append(interlocks.drbd_no_split_brain(ctx))
        if ctx.cluster.mysql:
            probes.append(mysql_answers(ctx, target))
        results = await asyncio.gather(*probes)  # in parallel: this is the failover's own overhead
        return [check for checks in results for check in checks]


async def mysql_answers(ctx: RunContext, host: str) -> list[Check]:
    """The database answers on the node that now holds the VIP (the service behind it is up)."""
    try:
        result = await ctx.runner.run(host, live.mysql_argv(ctx.cluster, "-N", "-B", "-e", "SELECT 1"), timeout=8.0)
    except HostUnreachable as exc:
        return [Check(f"MySQL answers on {host}", False, "unreachable", exc.reason)]
    return [Check(f"MySQL answers on {host}", result.ok, "yes" if result.ok else f"rc {result.exit_code}",
                  result.stderr.strip()[:160])]


class Arping(Procedure):
    name = "arping"
    note = "gratuitous ARP for the VIP from the node that holds it, toward the gateway"
    danger = SAFE
    params = (Param("host", "node to send from (default: the VIP holder)", member=True),)
    verify_timeout = 5.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        cluster = ctx.cluster
        if cluster.vip is None:
            return [Check("VIP configured", False, "", "the cluster has no vip in hosts.yaml")]
        host = ctx.args.get("host")
        if host:
            if host not in cluster.members:
                return [Check("host is a member", False, host, f"members: {', '.join(cluster.members)}")]
            try:
                held = await live.holds_address(ctx.runner, host, cluster.vip.address, cluster.vip.interface)
            except live.ProbeFailed as exc:
                return [Check(f"{cluster.vip.address} on {host} {cluster.vip.interface}", False, "", str(exc))]
            ctx.facts["holder"] = host
            return [Check(f"{cluster.vip.address} on {host} {cluster.vip.interface}", held,
                          "yes" if held else "no", "" if held else "arping -s needs the address on the interface")]
        return await interlocks.vip_single_holder(ctx)

    async def plan(self, ctx: RunContext) -> list[Step]:
        holder = ctx.facts.get("holder")
        return [arping_step(ctx, holder)] if holder else []

    async def verify(self, ctx: RunContext) -> list[Check]:
        holder = ctx.facts["holder"]
        vip = ctx.cluster.vip
        assert vip is not None
        held = await live.holds_address(ctx.runner, holder, vip.address, vip.interface)
        checks = [Check(f"{vip.address} still on {holder}", held, "yes" if held else "no")]
        return checks + await gateway_sees(ctx, holder)
