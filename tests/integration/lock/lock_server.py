"""Starts a session server (`python -m tui.server`) with the lock integration installed.

Until the lead lists `install_lock` in tui.server.integrations, this wrapper adds it after the others; once
it is listed, the wrapper changes nothing (the `lock` handler is already there). Run as the session owner.
"""

import sys

from tui.server import integrations
from tui.server.lock_integration import install_lock

_original = integrations.install_integrations


def _install_all(server) -> None:
    _original(server)
    if "lock" not in server.commands.handlers:
        install_lock(server)


integrations.install_integrations = _install_all

from tui.server.__main__ import main  # noqa: E402

sys.exit(main())
