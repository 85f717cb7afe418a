"""The composition root of the server process: builds a `Server` and installs its integrations — the
session's own commands, SSH hosts from hosts.yaml, the health poller, procedures and the lock — each through
the extension points of tui.server.hooks. The daemon never imports an integration; this module does.

A subsystem whose configuration is absent still installs, and its commands answer with the reason; one that
fails to install is logged and left out, so a broken subsystem never keeps the console from starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tui.server.commands import install_core_commands
from tui.server.daemon import Server, ServerOptions
from tui.server.health_integration import HealthIntegration, install_health
from tui.server.hosts_integration import install_hosts
from tui.server.lock_integration import install_lock
from tui.server.procedure_integration import install_procedures

log = logging.getLogger("hascreen.server")

Installer = Callable[[Server], object]


def build_server(options: ServerOptions, extra: list[Installer] | None = None) -> Server:
    """A server with every integration installed; `extra` installers run last (tests add their own)."""
    server = Server(options)
    install_core_commands(server)
    hosts = _install("hosts", lambda: install_hosts(server))
    health: HealthIntegration | None = None
    if hosts is not None:
        health = _install("health", lambda: install_health(server, hosts))
        _install("procedures", lambda: install_procedures(server, hosts))
    _install("lock", lambda: install_lock(server, tracker=lambda: health.tracker if health else None))
    for installer in extra or []:
        _install(getattr(installer, "__name__", "an extra integration"), lambda installer=installer: installer(server))
    return server


def _install(what: str, install: Callable[[], object]):
    try:
        return install()
    except Exception:  # a broken subsystem must not keep the console from starting
        log.exception("cannot install %s", what)
        return None


def serve(options: ServerOptions, on_ready: Callable[[], None] | None = None) -> int:
    """Run a server in this process until its session ends."""

    async def main() -> None:
        server = build_server(options)
        if on_ready:
            asyncio.get_running_loop().call_soon(on_ready)
        await server.run()

    asyncio.run(main())
    return 0
