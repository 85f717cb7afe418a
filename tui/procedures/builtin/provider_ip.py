"""provider-failover-ip: route a hosting provider's failover IP to the new active server, through the
provider's HTTP API (the Hetzner robot semantics from the seeds: GET {api_url}/failover/{ip} shows the
routing, POST active_server_ip=… moves it).

The call runs from the hascreen process itself (the API is on the internet, not on the nodes). The token
file holds `user:password` (HTTP Basic) or a bare token (Bearer); it is read at call time and never enters
a plan, an event or the audit log.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tui.procedures import interlocks
from tui.procedures.cluster_view import ProviderIpView
from tui.procedures.model import DISRUPTIVE, Check, Param, Procedure, RunContext, Step

HTTP_TIMEOUT = 60.0  # the robot takes ~20 s to answer a move


class ProviderApiError(Exception):
    pass


def _auth_header(token_file: str) -> str:
    path = os.path.expanduser(token_file)
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise ProviderApiError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise ProviderApiError(f"the token file {path} is empty")
    if ":" in token:
        return "Basic " + base64.b64encode(token.encode()).decode()
    return "Bearer " + token


def _request(provider: ProviderIpView, data: dict[str, str] | None) -> dict[str, Any]:
    url = f"{provider.api_url}/failover/{provider.ip}"
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    request.add_header("Authorization", _auth_header(provider.token_file))
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 — configured URL
            payload = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        raise ProviderApiError(f"{request.method} {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ProviderApiError(f"{request.method} {url}: {getattr(exc, 'reason', exc)}") from None
    try:
        parsed = json.loads(payload)
        return dict(parsed["failover"])
    except (ValueError, KeyError, TypeError):
        raise ProviderApiError(f"{request.method} {url}: unexpected answer {payload[:120]!r}") from None


async def current_routing(provider: ProviderIpView) -> dict[str, Any]:
    return await asyncio.to_thread(_request, provider, None)


async def move_routing(provider: ProviderIpView, active_server_ip: str) -> dict[str, Any]:
    return await asyncio.to_thread(_request, provider, {"active_server_ip": active_server_ip})


class ProviderFailoverIp(Procedure):
    name = "provider-failover-ip"
    note = "route the provider's failover IP to the active server (robot API)"
    danger = DISRUPTIVE
    params = (Param("to", "member to route to (default: the node holding the VIP)", member=True),)
    verify_timeout = 10.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        provider = ctx.cluster.provider_ip
        if provider is None:
            return [Check("provider_ip configured", False, "", "hosts.yaml has no provider_ip for this cluster")]
        checks: list[Check] = []
        target = ctx.args.get("to")
        if not target:
            checks += await interlocks.vip_single_holder(ctx)
            target = ctx.facts.get("holder")
        if target not in ctx.cluster.members:
            checks.append(Check("target node", False, str(target), "give --to with a cluster member"))
            return checks
        ip = provider.server_ips.get(target)
        checks.append(Check(f"main IP of {target} known", ip is not None, ip or "unknown",
                            "set provider_ip.server_ips or an IP address for the host"))
        try:
            routing = await current_routing(provider)
        except ProviderApiError as exc:
            checks.append(Check(f"provider API answers for {provider.ip}", False, "", str(exc)))
            return checks
        active = str(routing.get("active_server_ip"))
        checks.append(Check(f"provider API answers for {provider.ip}", True, f"routed to {active}"))
        checks.append(Check(f"{provider.ip} not yet routed to {target}", active != ip, active,
                            "already routed there: nothing to do"))
        ctx.facts.update(target=target, target_ip=ip, previous_ip=active)
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        provider = ctx.cluster.provider_ip
        if provider is None or "target_ip" not in ctx.facts:
            return []
        target_ip, previous = ctx.facts["target_ip"], ctx.facts["previous_ip"]

        async def move(c: RunContext) -> tuple[int, str]:
            try:
                answer = await move_routing(provider, target_ip)
            except ProviderApiError as exc:
                return 1, str(exc)
            return 0, json.dumps(answer, sort_keys=True)

        return [Step(None, kind="local", local=move, timeout=HTTP_TIMEOUT,
                     note=f"route {provider.ip} to {ctx.facts['target']} ({target_ip})",
                     describe=f"POST {provider.api_url}/failover/{provider.ip} active_server_ip={target_ip}",
                     rollback=f"POST active_server_ip={previous}")]

    async def verify(self, ctx: RunContext) -> list[Check]:
        provider = ctx.cluster.provider_ip
        assert provider is not None
        routing = await current_routing(provider)
        active = str(routing.get("active_server_ip"))
        return [Check(f"{provider.ip} routed to {ctx.facts['target']}", active == ctx.facts["target_ip"], active)]
