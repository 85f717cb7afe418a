"""Wires optional subsystems into a running server: SSH panes from hosts.yaml, the health poller,
procedures and the lock. Each installer adds command handlers and hooks to `server.commands`; a subsystem
whose configuration is absent is simply not installed, and its commands say so when used.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.server.daemon import Server

log = logging.getLogger("hascreen.server")

INSTALLERS: list = []


def install_integrations(server: Server) -> None:
    for installer in INSTALLERS:
        try:
            installer(server)
        except Exception:  # a broken subsystem must not keep the console from starting
            log.exception("cannot install %s", getattr(installer, "__name__", installer))
