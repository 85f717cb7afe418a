"""Wires optional subsystems into a running server: SSH panes from hosts.yaml, the health poller,
procedures and the lock. Each installer adds command handlers and hooks to `server.commands`; a subsystem
whose configuration is absent still installs, and its commands answer with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.server.daemon import Server

log = logging.getLogger("hascreen.server")


def install_integrations(server: Server) -> None:
    from tui.server.health_integration import install_health
    from tui.server.hosts_integration import install_hosts
    from tui.server.lock_integration import install_lock
    from tui.server.procedure_integration import install_procedures

    # install_lock comes last: it wraps server.broadcast to collect what happened while locked
    for installer in (install_hosts, install_health, install_procedures, install_lock):
        try:
            installer(server)
        except Exception:  # a broken subsystem must not keep the console from starting
            log.exception("cannot install %s", installer.__name__)
