"""The preflight and verification checks shared by procedures: VIP ownership, DRBD health and split
brain, replica catch-up, reachability. Each returns `Check`s with the value it saw, never raises for a
probe that failed: a failed probe is a failed check with its reason.
"""

from __future__ import annotations

import asyncio

from tui.procedures import live
from tui.procedures.model import Check, RunContext
from tui.runner import HostUnreachable


async def reachable(ctx: RunContext, host: str) -> Check:
    ok, reason = await live.reachable(ctx.runner, host)
    return Check(f"{host} reachable", ok, "yes" if ok else "no", reason)


async def vip_single_holder(ctx: RunContext) -> list[Check]:
    """Exactly one member holds the VIP; stores it as facts['holder']."""
    cluster = ctx.cluster
    if cluster.vip is None:
        return [Check("VIP configured", False, "", "the cluster has no vip in hosts.yaml")]
    try:
        holders, unreachable = await live.vip_holders(ctx.runner, cluster)
    except live.ProbeFailed as exc:
        return [Check(f"VIP {cluster.vip.address} holder", False, "", str(exc))]
    checks = []
    if unreachable:
        checks.append(Check("members reachable", False, "unreachable: " + ", ".join(
            f"{host} ({reason})" for host, reason in unreachable.items()),
            "cannot tell who holds the VIP on an unreachable node"))
    value = ", ".join(holders) or "nobody"
    if len(holders) == 1:
        ctx.facts["holder"] = holders[0]
        checks.append(Check(f"VIP {cluster.vip.address} held by exactly one node", True, value))
    elif not holders:
        checks.append(Check(f"VIP {cluster.vip.address} held by exactly one node", False, value,
                            "no node holds the VIP"))
    else:
        checks.append(Check(f"VIP {cluster.vip.address} held by exactly one node", False, value,
                            "duplicate VIP: more than one node holds it (VRRP auth mismatch or partition?)"))
    return checks


async def vip_moved(ctx: RunContext, new: str, old: str) -> list[Check]:
    assert ctx.cluster.vip is not None
    vip = ctx.cluster.vip

    async def held(host: str) -> bool | None:
        try:
            return await live.holds_address(ctx.runner, host, vip.address, vip.interface)
        except (HostUnreachable, live.ProbeFailed):
            return None

    on_new, on_old = await asyncio.gather(held(new), held(old))
    return [
        Check(f"VIP {vip.address} on {new}", on_new is True, {True: "yes", False: "no", None: "unknown"}[on_new]),
        Check(f"VIP {vip.address} gone from {old}", on_old is False,
              {True: "still there", False: "gone", None: "unknown (unreachable)"}[on_old],
              "two holders" if on_old else ""),
    ]


async def drbd_states(ctx: RunContext, resource: str) -> dict[str, object]:
    """{member: DrbdResource | None | exception text} for one resource, asked of all members at once."""

    async def one(member: str) -> tuple[str, object]:
        try:
            return member, await live.drbd_resource(ctx.runner, member, resource, ctx.cluster.drbd_version)
        except HostUnreachable as exc:
            return member, f"unreachable: {exc.reason}"
        except live.ProbeFailed as exc:
            return member, str(exc)

    return dict(await asyncio.gather(*(one(m) for m in ctx.cluster.members)))


async def drbd_no_split_brain(ctx: RunContext) -> list[Check]:
    checks = []
    for resource in ctx.cluster.drbd_resources:
        states = await drbd_states(ctx, resource)
        views = {n: r for n, r in states.items() if not isinstance(r, str) and r is not None}
        errors = {n: r for n, r in states.items() if isinstance(r, str)}
        primaries = sorted(n for n, r in views.items() if r.role == "Primary")
        standalone = sorted(n for n, r in views.items() if live.is_standalone(r))
        value = " ".join(f"{n}:{r.role}/{live.peer_connection(r)}" for n, r in sorted(views.items()))
        if errors:
            checks.append(Check(f"DRBD {resource} readable on all nodes", False,
                                "; ".join(errors.values()), "cannot rule out a split brain"))
        if len(standalone) >= 2:
            checks.append(Check(f"DRBD {resource} no split brain", False, value,
                                f"split brain: StandAlone on {' and '.join(standalone)}"))
        elif len(primaries) >= 2:
            checks.append(Check(f"DRBD {resource} no split brain", False, value,
                                f"two primaries: {' and '.join(primaries)}"))
        else:
            checks.append(Check(f"DRBD {resource} no split brain", True, value))
    return checks


async def drbd_peer_ready(ctx: RunContext, node: str) -> list[Check]:
    """On node: every resource Connected, local disk and peer disk UpToDate (safe to take over)."""
    checks = []
    for resource in ctx.cluster.drbd_resources:
        try:
            res = await live.drbd_resource(ctx.runner, node, resource, ctx.cluster.drbd_version)
        except (HostUnreachable, live.ProbeFailed) as exc:
            checks.append(Check(f"DRBD {resource} on {node} UpToDate+Connected", False, "", str(exc)))
            continue
        if res is None:
            checks.append(Check(f"DRBD {resource} on {node} UpToDate+Connected", False, "absent",
                                "resource not configured or down"))
            continue
        conn, disk, peer = live.peer_connection(res), live.local_disk(res), live.peer_disks(res)
        ok = conn == "Connected" and disk == "UpToDate" and peer == "UpToDate"
        reason = "" if ok else f"need Connected, UpToDate/UpToDate; got {conn}, {disk}/{peer}"
        checks.append(Check(f"DRBD {resource} on {node} UpToDate+Connected", ok,
                            f"{res.role} {conn} {disk}/{peer}", reason))
    return checks


async def replica_caught_up(ctx: RunContext, host: str) -> Check:
    name = f"MySQL replica {host} caught up"
    try:
        status = await live.replica_status(ctx.runner, ctx.cluster, host)
    except (HostUnreachable, live.ProbeFailed) as exc:
        return Check(name, False, "", str(exc))
    if not status.configured:
        return Check(name, False, "not a replica", "SHOW SLAVE STATUS is empty")
    reason = ""
    if not status.threads_running:
        reason = "replication threads not running"
        if status.last_sql_error:
            reason += f": {status.last_sql_error[:160]}"
        elif status.last_io_error:
            reason += f": {status.last_io_error[:160]}"
    elif status.lag is None:
        reason = "lag unknown (Seconds_Behind_Master is NULL): never read as 0"
    elif status.lag != 0:
        reason = "replica is behind the master"
    return Check(name, not reason, status.describe(), reason)
