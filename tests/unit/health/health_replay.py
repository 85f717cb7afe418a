"""A Runner for tests that replays recorded outputs keyed by (host, argv); never part of tui/.

Rules map (host, a fragment of the rendered command line) to an answer: a RunResult, a HostUnreachable to
raise, or HANG (the call never returns; the probe's own timeout must save the caller). Commands without a
rule answer like a shell would for a missing program (exit 127). Every call is recorded, and the maximum
number of calls in flight per host is tracked so tests can check the per-host limit.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from tui.runner import HostUnreachable, RunResult, render_argv

HANG = object()


class ReplayRunner:
    def __init__(self, delay: float = 0.0) -> None:
        self.rules: list[tuple[str, str, object]] = []
        self.calls: list[tuple[str, list[str]]] = []
        self.delay = delay  # seconds each answer takes, to make concurrency observable
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)

    def answer(self, host: str, fragment: str, stdout: str = "", exit_code: int = 0, stderr: str = "") -> None:
        self.rules.append((host, fragment, RunResult(exit_code, stdout, stderr)))

    def unreachable(self, host: str, reason: str = "connection refused") -> None:
        self.rules.append((host, "", HostUnreachable(host, reason)))

    def hang(self, host: str, fragment: str = "") -> None:
        self.rules.append((host, fragment, HANG))

    async def run(self, host: str, argv: Sequence[str], *, timeout: float = 10.0,
                  stdin: bytes | None = None) -> RunResult:
        assert isinstance(argv, list | tuple) and all(isinstance(a, str) for a in argv), argv
        line = render_argv(argv)
        self.calls.append((host, list(argv)))
        self.in_flight[host] += 1
        self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            for rule_host, fragment, outcome in self.rules:
                if rule_host == host and fragment in line:
                    if outcome is HANG:
                        await asyncio.Event().wait()  # forever: only a timeout or cancellation ends it
                    if isinstance(outcome, HostUnreachable):
                        raise outcome
                    assert isinstance(outcome, RunResult)
                    return outcome
            return RunResult(127, "", f"sh: 1: {argv[0]}: not found\n")
        finally:
            self.in_flight[host] -= 1
