"""Running commands for the lab: on the host, and inside a node through its holder process; and finding
the host's processes by their argv.

A node is a network namespace plus a holder process (PID 1 of the node's own pid, uts and mount
namespaces). `in_node` enters all of them with nsenter, so `hostname`, `ps`, /run and the MySQL
socket are the node's own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


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


def pids_by_argv(matches: Callable[[list[bytes]], bool]) -> list[int]:
    """Pids of the host's processes whose argv (a list of bytes) `matches` says yes to; processes that end
    while they are looked at are skipped."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if matches(argv):
            found.append(int(entry.name))
    return found
