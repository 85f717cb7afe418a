"""Running commands for the lab: on the host, and inside a node through its holder process.

A node is a network namespace plus a holder process (PID 1 of the node's own pid, uts and mount
namespaces). `in_node` enters all of them with nsenter, so `hostname`, `ps`, /run and the MySQL
socket are the node's own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LabError(Exception):
    """A lab step failed; the message says which and why."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 60.0, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]}: not installed ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from exc
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done


def node_argv(holder_pid: int, argv: Sequence[str]) -> list[str]:
    """argv that runs `argv` inside the node whose holder is `holder_pid`."""
    return ["nsenter", "-t", str(holder_pid), "-n", "-m", "-u", "-p", "--wd=/", "--", *argv]


def in_node(holder_pid: int, script: str, *, check: bool = True, timeout: float = 60.0,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a /bin/sh script inside the node."""
    return run(node_argv(holder_pid, ["/bin/sh", "-c", script]), check=check, timeout=timeout, stdin=stdin)
