"""The vocabulary of the procedure engine: checks, steps, parameters, the Procedure base class, the run
context and the small event records a run emits.

A `Procedure` answers three questions against live state: may it run (`preflight` → `Check`s), what
exactly will it do (`plan` → `Step`s, each an argv on one host, or a manual checklist item, or a local
action such as a provider API call), and did it work (`verify` → `Check`s).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tui.procedures.cluster_view import ClusterView
from tui.runner import Runner, render_argv

SAFE = "safe"
DISRUPTIVE = "disruptive"

MASK = "********"


@dataclass(frozen=True)
class Check:
    """One live condition, shown ✓/✗ with the value seen."""

    name: str
    ok: bool
    value: str = ""
    reason: str = ""  # why it fails (or a note when it holds)

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        text = f"{mark} {self.name}"
        if self.value:
            text += f": {self.value}"
        if self.reason and not self.ok:
            text += f" — {self.reason}"
        return text


@dataclass(frozen=True)
class Param:
    """A procedure argument (`--name VALUE`). `member`: the value names a member of the cluster, so a
    client can offer the members as the choices."""

    name: str
    help: str
    required: bool = False
    default: str | None = None
    choices: tuple[str, ...] = ()
    member: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "help": self.help, "required": self.required, "default": self.default,
                "choices": list(self.choices), "member": self.member}


# A step may fill facts for later steps (coordinates read from a dump, say): capture(result, facts).
Capture = Callable[[Any, dict[str, Any]], None]
# A local action (a provider API call) returns (exit_code, output).
LocalAction = Callable[["RunContext"], Awaitable[tuple[int, str]]]
# An automatic check between runbook steps.
StepCheck = Callable[["RunContext"], Awaitable[list[Check]]]


@dataclass
class Step:
    """One step of a plan. kind: 'command' (argv on host), 'wait' (poll `until` checks), 'manual'
    (a checklist item the operator confirms), 'check' (automatic checks), 'local' (a local action).

    argv items may hold `{fact}` placeholders filled from facts captured by earlier steps; the plan
    shows them as they are, so the operator sees where the value will come from."""

    host: str | None
    argv: Sequence[str] = ()
    note: str = ""
    masks: Sequence[str] = ()
    kind: str = "command"
    timeout: float = 60.0
    stdin: bytes | None = None
    ok_exit_codes: Sequence[int] = (0,)
    capture: Capture | None = None
    until: StepCheck | None = None
    local: LocalAction | None = None
    describe: str = ""  # shown instead of argv for local/check/wait steps
    rollback: str = ""  # how to undo this step when a later one fails

    def render(self, facts: dict[str, Any] | None = None) -> str:
        if self.kind == "command":
            argv = resolve_argv(self.argv, facts) if facts is not None else list(self.argv)
            return mask_text(render_argv(argv), self.masks)
        return mask_text(self.describe or self.note, self.masks)

    def to_dict(self, facts: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"host": self.host, "kind": self.kind, "note": self.note, "command": self.render(facts)}


def resolve_argv(argv: Sequence[str], facts: dict[str, Any] | None) -> list[str]:
    """Fill `{name}` placeholders from facts; unknown names stay as they are (and are refused by
    the engine before running)."""
    out = []
    for arg in argv:
        if facts and "{" in arg:
            for key, value in facts.items():
                arg = arg.replace("{" + key + "}", str(value))
        out.append(arg)
    return out


def unresolved_placeholders(argv: Sequence[str]) -> list[str]:
    import re

    found: list[str] = []
    for arg in argv:
        found += re.findall(r"\{([a-z_][a-z0-9_]*)\}", arg)
    return found


def mask_text(text: str, masks: Sequence[str]) -> str:
    for secret in masks:
        if secret:
            text = text.replace(secret, MASK)
    return text


@dataclass
class RunContext:
    """What a procedure sees: a Runner, the cluster, its arguments, and facts learned on the way."""

    runner: Runner
    cluster: ClusterView
    args: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    poll_interval: float = 0.05
    should_stop: Callable[[], bool] = lambda: False  # set by the run: an abort ends a wait early

    async def wait_until(self, check: StepCheck, timeout: float) -> list[Check]:
        """Poll check until all hold or timeout; returns the last checks."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            checks = await check(self)
            if checks and all(c.ok for c in checks):
                return checks
            if time.monotonic() >= deadline or self.should_stop():
                return checks
            await asyncio.sleep(self.poll_interval)


class Procedure:
    """Base class of built-in and user-defined procedures."""

    name: str = ""
    note: str = ""
    danger: str = SAFE
    is_failover: bool = False  # subject to the anti-flapping acknowledgement
    params: tuple[Param, ...] = ()
    verify_timeout: float = 30.0

    def bind_args(self, args: dict[str, str]) -> dict[str, str]:
        """Check args against params: unknown or missing ones raise ValueError."""
        known = {p.name: p for p in self.params}
        for key in args:
            if key not in known:
                raise ValueError(f"{self.name}: unknown argument --{key} (known: {', '.join(known) or 'none'})")
        bound = dict(args)
        for p in self.params:
            if p.name not in bound:
                if p.required:
                    raise ValueError(f"{self.name}: missing argument --{p.name} ({p.help})")
                if p.default is not None:
                    bound[p.name] = p.default
            elif p.choices and bound[p.name] not in p.choices:
                raise ValueError(f"{self.name}: --{p.name} must be one of {', '.join(p.choices)}")
        return bound

    async def preflight(self, ctx: RunContext) -> list[Check]:
        return []

    async def plan(self, ctx: RunContext) -> list[Step]:
        raise NotImplementedError

    async def verify(self, ctx: RunContext) -> list[Check]:
        return []

    def automatic_rollback(self, ctx: RunContext, steps: list[Step], failed_index: int) -> list[Step]:
        """Steps the engine runs by itself when step failed_index failed (undoing what is safe to undo
        without the operator); none by default."""
        return []

    def success_hint(self, ctx: RunContext) -> str:
        """What the operator should do next after a success (shown as `Next:`); nothing by default."""
        return ""

    async def state_report(self, ctx: RunContext) -> list[str]:
        """After a failure: one line per layer saying where it stands now; none by default."""
        return []

    def recovery_hint(self, ctx: RunContext, steps: list[Step], failed_index: int) -> str:
        """How to continue or roll back after step failed_index failed."""
        undo = [s.rollback for s in reversed(steps[:failed_index]) if s.rollback]
        text = f"fix the cause, then continue with --from-step {failed_index + 1}"
        if undo:
            text += "; or roll back: " + "; then ".join(undo)
        return text


@dataclass(frozen=True)
class RunEvent:
    """One thing that happened in a run; `data` is JSON-safe. kinds: state, check, plan, step-start,
    step-output (one line of a running step's output), step-end, manual-wait, message, verify, result."""

    run_id: str
    seq: int
    kind: str
    ts: float
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
