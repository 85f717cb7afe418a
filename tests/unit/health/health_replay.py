"""A Runner for tests that replays recorded outputs keyed by (host, argv); never part of tui/.

Rules map (host, a fragment of the rendered command line) to an answer: a RunResult, a HostUnreachable to
raise, or HANG (the call never returns; the probe's own timeout must save the caller). Commands without a
rule answer like a shell would for a missing program (exit 127). Every call is recorded, and the maximum
number of calls in flight per host is tracked so tests can check the per-host limit.

The probes send each host one script (`tui.health.host_script`); this runner plays the host's shell: it
answers every section by the same rules, in order, skips a fallback whose condition is not met, turns a
section that hangs into the exit code 124 of the script's `timeout`, and prints the sections as the real
script does. `calls` lists the sections' argv (what a host ran); `scripts` counts the runs themselves.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from tui.health.host_script import plan_of, render_outputs, should_run
from tui.runner import HostUnreachable, RunResult, render_argv

HANG = object()


class ReplayRunner:
    def __init__(self, delay: float = 0.0) -> None:
        self.rules: list[tuple[str, str, object]] = []
        self.calls: list[tuple[str, list[str]]] = []
        self.delay = delay  # seconds each answer takes, to make concurrency observable
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.scripts: dict[str, int] = defaultdict(int)

    def answer(self, host: str, fragment: str, stdout: str = "", exit_code: int = 0, stderr: str = "") -> None:
        self.rules.append((host, fragment, RunResult(exit_code, stdout, stderr)))

    def unreachable(self, host: str, reason: str = "connection refused") -> None:
        self.rules.append((host, "", HostUnreachable(host, reason)))

    def hang(self, host: str, fragment: str = "") -> None:
        self.rules.append((host, fragment, HANG))

    async def run(self, host: str, argv: Sequence[str], *, timeout: float = 10.0,
                  stdin: bytes | None = None) -> RunResult:
        assert isinstance(argv, list | tuple) and all(isinstance(a, str) for a in argv), argv
        self.in_flight[host] += 1
        self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            plan = plan_of(argv)
            if plan is None:
                return await self._answer(host, argv)
            self.scripts[host] += 1
            whole_host = self._rule(host, "\0")  # a rule for every command of the host (fragment "")
            if whole_host is not None:
                self.calls.append((host, list(argv)))
                return await self._outcome(whole_host)
            outputs: list[tuple[str, RunResult]] = []
            codes: dict[str, int] = {}
            for section in plan.sections:
                if not should_run(section, codes):
                    continue
                result = await self._answer(host, section.argv, hang_exit=124)
                codes[section.name] = result.exit_code
                outputs.append((section.name, result))
            return RunResult(0, render_outputs(plan, outputs), "")
        finally:
            self.in_flight[host] -= 1

    def _rule(self, host: str, line: str) -> object | None:
        for rule_host, fragment, outcome in self.rules:
            if rule_host == host and fragment in line:
                return outcome
        return None

    async def _outcome(self, outcome: object) -> RunResult:
        if outcome is HANG:
            await asyncio.Event().wait()  # forever: only a timeout or cancellation ends it
        if isinstance(outcome, HostUnreachable):
            raise outcome
        assert isinstance(outcome, RunResult)
        return outcome

    async def _answer(self, host: str, argv: Sequence[str], hang_exit: int | None = None) -> RunResult:
        self.calls.append((host, list(argv)))
        outcome = self._rule(host, render_argv(argv))
        if outcome is None:
            return RunResult(127, "", f"sh: 1: {argv[0]}: not found\n")
        if outcome is HANG and hang_exit is not None:
            return RunResult(hang_exit, "", "")  # the script's `timeout` ended the hung command
        return await self._outcome(outcome)
