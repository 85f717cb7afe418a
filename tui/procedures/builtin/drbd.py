"""DRBD procedures: drbd-connect, drbd-promote, drbd-demote, split-brain recovery (the operator picks
the victim after seeing each side's evidence) and the guided 16-step runbook for replacing both nodes'
hardware without a split brain (from the seeds: the secondary first, fail over, then the old primary).
"""

from __future__ import annotations

from tui.health.drbd import parse_drbd
from tui.procedures import interlocks, live, validation
from tui.procedures.builtin.switchover import Failover
from tui.procedures.model import DISRUPTIVE, SAFE, Check, Param, Procedure, RunContext, Step
from tui.runner import HostUnreachable


def _resources(ctx: RunContext) -> list[str]:
    wanted = ctx.args.get("resource")
    if wanted:
        return [validation.resource_name(wanted)]
    return list(ctx.cluster.drbd_resources)


def _node(ctx: RunContext, key: str = "node") -> str:
    node = ctx.args.get(key)
    if not node or node not in ctx.cluster.members:
        raise ValueError(f"--{key} must be one of {', '.join(ctx.cluster.members)}")
    return node


async def _state_check(ctx: RunContext, node: str, resource: str, want: str) -> Check:
    """want: 'connected' (Connected or resyncing), 'uptodate' (Connected, UpToDate/UpToDate),
    'primary', 'secondary'."""
    name = f"DRBD {resource} on {node} {want}"
    try:
        res = await live.drbd_resource(ctx.runner, node, resource, ctx.cluster.drbd_version)
    except (HostUnreachable, live.ProbeFailed) as exc:
        return Check(name, False, "", str(exc))
    if res is None:
        return Check(name, False, "absent", "resource down")
    conn, disk, peer = live.peer_connection(res), live.local_disk(res), live.peer_disks(res)
    value = f"{res.role} {conn} {disk}/{peer}"
    done = live.resync_done_percent(res)
    if done is not None and live.resync_running(res):
        value += f" sync {done:.1f}%"
    ok = {
        "connected": conn == "Connected",
        "uptodate": conn == "Connected" and disk == "UpToDate" and peer == "UpToDate" and not live.resync_running(res),
        "primary": res.role == "Primary",
        "secondary": res.role == "Secondary",
    }[want]
    return Check(name, ok, value)


class DrbdConnect(Procedure):
    name = "drbd-connect"
    note = "reconnect a disconnected (StandAlone) DRBD resource"
    danger = SAFE
    params = (Param("node", "node where the resource is StandAlone", required=True, member=True),
              Param("resource", "one resource (default: all of the cluster)"))
    verify_timeout = 30.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        checks = [await interlocks.reachable(ctx, node)]
        checks += await interlocks.drbd_no_split_brain(ctx)
        for resource in _resources(ctx):
            res = await live.drbd_resource(ctx.runner, node, resource, ctx.cluster.drbd_version)
            conn = live.peer_connection(res) if res else "absent"
            checks.append(Check(f"DRBD {resource} on {node} StandAlone", conn == "StandAlone", conn,
                                "nothing to connect" if conn != "StandAlone" else ""))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        node = _node(ctx)
        return [Step(node, ["drbdadm", "connect", r], f"connect {r} on {node}") for r in _resources(ctx)]

    async def verify(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        return [await _state_check(ctx, node, r, "connected") for r in _resources(ctx)]


class DrbdPromote(Procedure):
    name = "drbd-promote"
    note = "make a node DRBD Primary (refused while the peer is Primary)"
    danger = DISRUPTIVE
    params = (Param("node", "node to promote", required=True, member=True),
              Param("resource", "one resource (default: all of the cluster)"))

    async def preflight(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        checks = [await interlocks.reachable(ctx, node)]
        checks += await interlocks.drbd_no_split_brain(ctx)
        for resource in _resources(ctx):
            states = await interlocks.drbd_states(ctx, resource)
            for member, res in sorted(states.items()):
                if member == node:
                    disk = live.local_disk(res) if res and not isinstance(res, str) else str(res)
                    checks.append(Check(f"DRBD {resource} on {node} UpToDate", disk == "UpToDate", disk,
                                        "promoting stale or inconsistent data"))
                else:
                    role = res.role if res and not isinstance(res, str) else str(res)
                    checks.append(Check(f"DRBD {resource} peer {member} not Primary", role != "Primary",
                                        str(role), "two primaries: demote the peer first"))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        node = _node(ctx)
        return [Step(node, ["drbdadm", "primary", r], f"promote {r} on {node}",
                     rollback=f"on {node}: drbdadm secondary {r}") for r in _resources(ctx)]

    async def verify(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        checks = [await _state_check(ctx, node, r, "primary") for r in _resources(ctx)]
        return checks + await interlocks.drbd_no_split_brain(ctx)


class DrbdDemote(Procedure):
    name = "drbd-demote"
    note = "make a node DRBD Secondary (its services must be stopped)"
    danger = DISRUPTIVE
    params = (Param("node", "node to demote", required=True, member=True),
              Param("resource", "one resource (default: all of the cluster)"))

    async def preflight(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        checks = [await interlocks.reachable(ctx, node)]
        for resource in _resources(ctx):
            checks.append(await _state_check(ctx, node, resource, "primary"))
        if ctx.cluster.vip:
            held = await live.holds_address(ctx.runner, node, ctx.cluster.vip.address, ctx.cluster.vip.interface)
            checks.append(Check(f"{node} does not hold the VIP", not held, "holds it" if held else "no",
                                "services still run on this node: fail over first"))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        node = _node(ctx)
        return [Step(node, ["drbdadm", "secondary", r], f"demote {r} on {node}",
                     rollback=f"on {node}: drbdadm primary {r}") for r in _resources(ctx)]

    async def verify(self, ctx: RunContext) -> list[Check]:
        node = _node(ctx)
        return [await _state_check(ctx, node, r, "secondary") for r in _resources(ctx)]


def split_brain_evidence(text: str, resource: str, minor: int | None = None) -> str:
    """Role, connection, disk, out-of-sync amount and bytes written, from `drbdsetup status --verbose
    --statistics` or /proc/drbd (minor given): what the operator weighs to pick the victim."""
    res = parse_drbd(text).resource(resource if minor is None else f"drbd{minor}")
    if res is None:
        return "no status"
    parts = [f"role {res.role}", f"connection {live.peer_connection(res)}", f"disk {live.local_disk(res)}"]
    oos = [p.out_of_sync for c in res.connections for p in c.devices if p.out_of_sync is not None]
    if oos:
        parts.append(f"out-of-sync {sum(oos)} KiB")
    written = [d.extra.get("written") for d in res.devices if d.extra.get("written")]
    if written:
        parts.append(f"written {','.join(written)} KiB")
    return ", ".join(parts)


class DrbdSplitBrain(Procedure):
    name = "drbd-split-brain"
    note = "recover from a split brain: the victim discards its changes and resyncs from the survivor"
    danger = DISRUPTIVE
    params = (Param("victim", "the node whose changes since the split are thrown away", member=True),
              Param("resource", "one resource (default: all of the cluster)"))
    verify_timeout = 120.0

    @staticmethod
    async def _minor(ctx: RunContext, node: str, resource: str) -> int | None:
        if not ctx.cluster.drbd_version.startswith("8"):
            return None
        result = await ctx.runner.run(node, ["drbdadm", "sh-minor", resource], timeout=8.0)
        return int(result.stdout.strip()) if result.ok and result.stdout.strip().isdigit() else None

    async def preflight(self, ctx: RunContext) -> list[Check]:
        checks: list[Check] = []
        split = []
        for resource in _resources(ctx):
            states = await interlocks.drbd_states(ctx, resource)
            views = {n: r for n, r in states.items() if r is not None and not isinstance(r, str)}
            standalone = [n for n, r in views.items() if live.is_standalone(r)]
            is_split = len(standalone) == len(ctx.cluster.members) or (
                len([n for n, r in views.items() if r.role == "Primary"]) > 1)
            checks.append(Check(f"DRBD {resource} is in split brain", is_split,
                                " ".join(f"{n}:{r.role}/{live.peer_connection(r)}" for n, r in sorted(views.items())),
                                "no split brain to recover (use drbd-connect for a plain disconnect)"))
            if is_split:
                split.append(resource)
            for node in ctx.cluster.members:  # the evidence the operator decides on
                try:
                    argv = live.drbd_evidence_argv(resource, ctx.cluster.drbd_version)
                    result = await ctx.runner.run(node, argv, timeout=8.0)
                    evidence = split_brain_evidence(result.stdout, resource, await self._minor(ctx, node, resource))
                except HostUnreachable as exc:
                    evidence = f"unreachable: {exc.reason}"
                checks.append(Check(f"evidence {resource} on {node}", True, evidence))
        ctx.facts["split"] = split
        victim = ctx.args.get("victim")
        if not victim or victim not in ctx.cluster.members:
            checks.append(Check("victim chosen", False, f"{victim} is not a member" if victim else "none given",
                                f"read the evidence, then pick --victim from {', '.join(ctx.cluster.members)}"))
            return checks
        ctx.facts["victim"] = victim
        ctx.facts["survivor"] = ctx.cluster.peer_of(victim)
        if ctx.cluster.vip:
            held = await live.holds_address(ctx.runner, victim, ctx.cluster.vip.address, ctx.cluster.vip.interface)
            checks.append(Check(f"victim {victim} does not hold the VIP", not held, "holds it" if held else "no",
                                "the victim serves clients: stop its services or fail over first"))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        victim, survivor = ctx.facts.get("victim"), ctx.facts.get("survivor")
        if not victim or not survivor:
            return []
        steps = []
        for resource in ctx.facts.get("split") or _resources(ctx):
            steps += [
                Step(victim, ["drbdadm", "secondary", resource], f"{victim} gives up Primary for {resource}",
                     ok_exit_codes=(0,)),
                Step(victim, ["drbdadm", "connect", "--discard-my-data", resource],
                     f"{victim} discards its changes to {resource} and reconnects"),
                Step(survivor, ["drbdadm", "connect", resource], f"{survivor} reconnects {resource}",
                     ok_exit_codes=(0, 10)),  # 10: already connecting
            ]
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        checks = []
        for resource in ctx.facts.get("split") or _resources(ctx):
            for node in ctx.cluster.members:
                checks.append(await _state_check(ctx, node, resource, "uptodate"))
        return checks + await interlocks.drbd_no_split_brain(ctx)


class DrbdReplaceNode(Procedure):
    """The seeds' 16 steps for replacing both nodes' hardware (disks kept) with no downtime and no split
    brain; manual steps are checklist items, automatic checks sit between them."""

    name = "drbd-replace-node"
    note = "guided runbook: replace the hardware of both DRBD nodes, secondary first, without a split brain"
    danger = DISRUPTIVE
    params = (Param("sync-timeout", "seconds to wait for each resync", default="3600"),)
    verify_timeout = 30.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        checks: list[Check] = []
        if len(ctx.cluster.members) != 2 or not ctx.cluster.drbd_resources:
            return [Check("two-node DRBD cluster", False, ", ".join(ctx.cluster.members), "needs 2 nodes and drbd")]
        resource = ctx.cluster.drbd_resources[0]
        states = await interlocks.drbd_states(ctx, resource)
        primaries = [n for n, r in states.items() if r is not None and not isinstance(r, str) and r.role == "Primary"]
        if len(primaries) != 1:
            return [Check("exactly one DRBD Primary", False, ", ".join(primaries) or "none")]
        primary = primaries[0]
        secondary = ctx.cluster.peer_of(primary) or ""
        ctx.facts.update(primary=primary, secondary=secondary)
        checks.append(Check("exactly one DRBD Primary", True, primary))
        checks += await interlocks.drbd_peer_ready(ctx, secondary)
        checks += await interlocks.drbd_no_split_brain(ctx)
        if ctx.cluster.vip:
            checks += await interlocks.vip_single_holder(ctx)
            if ctx.facts.get("holder") not in (None, primary):
                checks.append(Check("VIP on the DRBD Primary", False, ctx.facts["holder"], "services and data apart"))
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        p, s = ctx.facts.get("primary"), ctx.facts.get("secondary")
        if not p or not s:
            return []
        sync = float(ctx.args.get("sync-timeout") or 3600)
        resources = list(ctx.cluster.drbd_resources)

        def synced(node: str):
            async def check(c: RunContext) -> list[Check]:
                return [await _state_check(c, node, r, "uptodate") for r in resources]
            return check

        def connected(node: str):
            async def check(c: RunContext) -> list[Check]:
                return [await _state_check(c, node, r, "connected") for r in resources]
            return check

        def roles(primary: str, secondary: str):
            async def check(c: RunContext) -> list[Check]:
                out = [await _state_check(c, primary, r, "primary") for r in resources]
                out += [await _state_check(c, secondary, r, "secondary") for r in resources]
                return out + await interlocks.drbd_no_split_brain(c)
            return check

        def manual(number: int, text: str) -> Step:
            return Step(None, kind="manual", note=f"({number}) {text}", describe=f"MANUAL ({number}): {text}")

        def replace_half(first: int, node: str, other: str) -> list[Step]:
            return [
                manual(first + 1, f"replace the hardware of {node}; install its existing disks and replication card"),
                manual(first + 2, f"boot {node} WITH the replication link connected (without it: split brain risk)"),
                Step(None, kind="wait", until=connected(node), timeout=600.0, note=f"({first + 3}) {node} "
                     f"connects and syncs with {other}", describe=f"poll drbdadm status on {node} until Connected"),
                Step(None, kind="wait", until=synced(node), timeout=sync, note=f"({first + 4}) syncing finishes: "
                     "redundancy restored", describe=f"poll drbdadm status on {node} until UpToDate/UpToDate"),
                manual(first + 5, f"check every other network link of {node}; update udev for the new MACs"),
            ]

        steps = [manual(1, f"shut down the secondary {s} ({p} keeps serving)"), *replace_half(1, s, p)]
        steps.append(Step(None, kind="check", until=roles(p, s), note="(7) DRBD runs without errors on both nodes",
                          describe="check roles and UpToDate/Connected on both nodes"))
        if ctx.cluster.manager:
            ctx.facts["holder"], ctx.facts["target"] = p, s
            switch = await Failover().plan(ctx)  # DRBD, then the VIP the way the manager moves it
            for st in switch:
                st.note = f"(8) {st.note}"
            steps += switch
        else:
            steps.append(manual(8, f"stop the HA manager on {p}: a fail-over to {s} occurs"))
        steps += [
            manual(9, f"shut down the old primary {p}"),
            *replace_half(9, p, s),
            Step(None, kind="check", until=roles(s, p), note=f"(15) the old primary {p} is now Secondary",
                 describe="check roles on both nodes"),
            manual(16, f"optional: fail back later with `hascreen run failover --cluster {ctx.cluster.name}`"),
        ]
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        checks = []
        for node in ctx.cluster.members:
            for resource in ctx.cluster.drbd_resources:
                checks.append(await _state_check(ctx, node, resource, "uptodate"))
        return checks + await interlocks.drbd_no_split_brain(ctx)
