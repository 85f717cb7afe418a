"""The `Runner` contract: run an argv on a named host and get back exit code, stdout and stderr; and the
`MetricsSource` contract: one instant query to a Prometheus server.

Domain packages (`tui.health`, `tui.procedures`) receive a Runner (and health a MetricsSource) and never
open connections themselves. `tui.ssh` implements the Runner over asyncssh, `tui.prometheus_http` the
MetricsSource over HTTP; tests may implement them over recorded outputs or the lab.
A runner that can also hand over output while a command runs is a `StreamingRunner` (the procedure
engine uses it to show a long step's lines live). This module is stdlib-only so that every layer may import it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class RunResult:
    """What one command produced on one host."""

    exit_code: int
    stdout: str
    stderr: str
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class HostUnreachable(Exception):
    """The host could not be reached (connect refused, timeout, host key refused ...)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class Runner(Protocol):
    """Runs argv (a list, never a shell string) on a host known to hosts.yaml."""

    async def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        stdin: bytes | None = None,
    ) -> RunResult:
        """Run argv on host. Raises HostUnreachable when the host cannot be reached; a command that
        times out returns exit_code 124 (like coreutils `timeout`)."""
        ...


# Called with ("stdout" | "stderr", decoded text) for each chunk as it arrives; chunks split lines anywhere.
OutputCallback = Callable[[str, str], None]


@runtime_checkable
class StreamingRunner(Protocol):
    """A Runner that can also report output while the command runs."""

    async def run_streaming(
        self,
        host: str,
        argv: Sequence[str],
        *,
        on_output: OutputCallback,
        timeout: float = 10.0,
        stdin: bytes | None = None,
    ) -> RunResult:
        """Like `Runner.run`, calling on_output for every chunk of stdout/stderr as it arrives; the
        RunResult still holds the whole output."""
        ...


def render_argv(argv: Sequence[str]) -> str:
    """The exact shell line for argv, every argument quoted; what plans and audit logs show."""
    return shlex.join(list(argv))


class MetricsUnavailable(Exception):
    """A metrics server (Prometheus) could not be asked: refused, timed out, not HTTP ..."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class MetricsSource(Protocol):
    """Asks a Prometheus-compatible server one instant query; `tui.health` gets one, like a Runner, and
    never makes the HTTP request itself."""

    async def instant_query(self, base_url: str, expr: str, *, timeout: float = 5.0) -> str:
        """The body of GET {base_url}/api/v1/query?query=expr (JSON text; also for an HTTP error status
        whose body Prometheus filled). Raises MetricsUnavailable when no answer came."""
        ...
