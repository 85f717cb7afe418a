"""arping (a gratuitous ARP for the VIP from its holder toward the gateway, iputils syntax), and the VIP
helpers the failover shares: the arping step, the gateway's neighbour entry, the heartbeat paths.
"""

from __future__ import annotations

import re

from tui.procedures import interlocks, live
from tui.procedures.model import SAFE, Check, Param, Procedure, RunContext, Step
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
