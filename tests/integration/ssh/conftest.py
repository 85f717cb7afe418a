"""Fixtures for tui.ssh's integration tests: real sshd servers, a temp HOME, a real ssh-agent.

pytest runs with --import-mode=importlib (no sys.path changes), so this directory is put on sys.path
here, once, to let the tests and bench scripts share `sshd_harness`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sshd_harness import ssh_agent, ssh_world, sshd, sshd_factory  # noqa: E402

__all__ = ["ssh_agent", "ssh_world", "sshd", "sshd_factory"]
