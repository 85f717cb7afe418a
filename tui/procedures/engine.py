"""The procedure engine: `ProcedureRun` walks one procedure through preflight → plan → confirmation →
steps → verification → result, emitting `RunEvent`s and writing the audit log; `RunRegistry` holds the
runs of a process (the server keeps them across client detaches), allows one disruptive run per cluster
(also across processes, through a flock) and enforces the anti-flapping acknowledgement for failovers.

States: new → preflight → awaiting-confirmation | refused → running → verifying →
succeeded | failed | aborted | verify-failed.

While a command step runs on a `StreamingRunner`, each complete line of its output is emitted as a
`step-output` event (masked, bounded per step) so a long step shows progress; `step-end` says how many
lines were streamed and whether that was all of them.
"""

from __future__ import annotations

import asyncio
import fcntl
import getpass
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tui.procedures.audit import AuditLog
from tui.procedures.model import (
    DISRUPTIVE,
    Check,
    Procedure,
    RunContext,
    RunEvent,
    Step,
    mask_text,
    resolve_argv,
    unresolved_placeholders,
)
from tui.runner import HostUnreachable, StreamingRunner, render_argv

OUTPUT_LIMIT = 16_000  # characters of stdout/stderr kept per step in events
STREAMED_LINES_LIMIT = 2_000  # `step-output` events per step; the step-end event still carries the tail
DEFAULT_FLAP_PERIOD = 3600.0

TERMINAL_STATES = ("refused", "succeeded", "failed", "aborted", "verify-failed")


class ConfirmationError(Exception):
    """The confirmation given does not satisfy the run's confirmation level; the message says why."""


class ClusterBusy(Exception):
    """Another disruptive procedure holds the cluster."""


class RunRegistry:
    """Runs of this process by id, the per-cluster lock for disruptive runs and the flap period."""

    def __init__(self, *, lock_dir: Path | str | None = None, flap_period: float | None = None,
                 audit: AuditLog | None = None) -> None:
        self.audit = audit or AuditLog()
        self.lock_dir = Path(lock_dir) if lock_dir else self.audit.path.parent / "locks"
        if flap_period is None:  # $HASCREEN_FLAP_PERIOD seconds, else one hour
            try:
                flap_period = float(os.environ.get("HASCREEN_FLAP_PERIOD", DEFAULT_FLAP_PERIOD))
            except ValueError:
                flap_period = DEFAULT_FLAP_PERIOD
        self.flap_period = flap_period
        self.runs: dict[str, ProcedureRun] = {}
        self._holders: dict[str, tuple[str, Any]] = {}  # cluster → (run id, open lock file)

    def add(self, run: ProcedureRun) -> None:
        self.runs[run.run_id] = run

    def active(self) -> list[ProcedureRun]:
        return [r for r in self.runs.values() if r.state not in TERMINAL_STATES]

    def acquire(self, cluster: str, run_id: str) -> None:
        holder = self._holders.get(cluster)
        if holder is not None:
            raise ClusterBusy(f"cluster {cluster}: disruptive procedure run {holder[0]} is still running")
        self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(self.lock_dir / f"{cluster}.lock", "a+")  # noqa: SIM115 — held while the run lasts
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            handle.close()
            raise ClusterBusy(f"cluster {cluster}: a disruptive procedure is running ({other})") from None
        handle.truncate(0)
        handle.write(f"run {run_id} pid {os.getpid()}\n")
        handle.flush()
        self._holders[cluster] = (run_id, handle)

    def release(self, cluster: str, run_id: str) -> None:
        holder = self._holders.get(cluster)
        if holder is None or holder[0] != run_id:
            return
        del self._holders[cluster]
        handle = holder[1]
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def recent_failover(self, cluster: str, now: float | None = None,
                        identity: str | None = None) -> dict[str, Any] | None:
        """The last successful failover of this cluster (by identity) when it is within the flap period:
        its audit record plus `age` in seconds; else None. It comes from the audit log, so it holds across
        the server, `hascreen run` and restarts."""
        last = self.audit.last_failover(cluster, identity)
        if last is None:
            return None
        age = (now or time.time()) - float(last.get("ts", 0))
        return dict(last, age=age) if age < self.flap_period else None


class ProcedureRun:
    """One run of one procedure on one cluster; the server holds it, clients watch its events."""

    def __init__(self, procedure: Procedure, ctx: RunContext, *, registry: RunRegistry,
                 who: str | None = None, from_step: int = 1, run_id: str | None = None) -> None:
        self.procedure = procedure
        self.ctx = ctx
        self.registry = registry
        self.audit = registry.audit
        self.who = who or getpass.getuser()
        self.from_step = max(1, from_step)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.state = "new"
        self.checks: list[Check] = []
        self.steps: list[Step] = []
        self.verify_checks: list[Check] = []
        self.reason = ""
        self.hint = ""
        self.forced = False
        self.flap_age: float | None = None
        self.flap_last: dict[str, Any] | None = None  # the audit record of the failover within the period
        self.events: list[RunEvent] = []
        self.current_step: int | None = None
        self.started_at = time.time()
        self._listeners: list[Callable[[RunEvent], None]] = []
        self._queues: list[asyncio.Queue[RunEvent | None]] = []
        self._abort = False
        self._manual: asyncio.Future[bool] | None = None
        self._confirmed = False
        self._seq_counter = itertools.count(1)
        ctx.should_stop = lambda: self._abort
        registry.add(self)

    # ---- events -------------------------------------------------------------------------------

    @property
    def cluster(self) -> str:
        return self.ctx.cluster.name

    @property
    def masks(self) -> list[str]:
        return [m for s in self.steps for m in s.masks if m]

    def subscribe(self, listener: Callable[[RunEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[RunEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def watch(self) -> AsyncIterator[RunEvent]:
        """Every event so far, then new ones until the run ends (for a reattached client)."""
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        for event in list(self.events):
            queue.put_nowait(event)
        if self.state in TERMINAL_STATES:
            queue.put_nowait(None)
        else:
            self._queues.append(queue)
        while True:
            event = await queue.get()
            if event is None:
                return
            yield event

    def _emit(self, kind: str, /, **data: Any) -> RunEvent:
        event = RunEvent(self.run_id, next(self._seq_counter), kind, time.time(), data)
        self.events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: S110 — a broken watcher (a dead client) must not stop the run
                pass
        for queue in self._queues:
            queue.put_nowait(event)
        return event

    def _set_state(self, state: str) -> None:
        self.state = state
        self._emit("state", state=state)
        if state in TERMINAL_STATES:
            for queue in self._queues:
                queue.put_nowait(None)
            self._queues.clear()

    def snapshot(self) -> dict[str, Any]:
        """The whole run as plain data (what a reattaching client draws first)."""
        return {
            "run_id": self.run_id, "procedure": self.procedure.name, "cluster": self.cluster,
            "danger": self.procedure.danger, "state": self.state, "reason": self.reason, "hint": self.hint,
            "checks": [c.__dict__ for c in self.checks],
            "plan": [s.to_dict(self.ctx.facts) for s in self.steps],
            "verify": [c.__dict__ for c in self.verify_checks],
            "current_step": self.current_step, "confirmation": self.confirmation(),
        }

    # ---- preflight and plan ---------------------------------------------------------------------

    async def prepare(self) -> None:
        """Run preflight and build the plan; ends awaiting confirmation or refused."""
        self._set_state("preflight")
        try:
            self.checks = await self.procedure.preflight(self.ctx)
        except HostUnreachable as exc:
            self.checks = [Check(f"{exc.host} reachable", False, "unreachable", exc.reason)]
        except ValueError as exc:  # validation of an argument or of the cluster
            self.checks = [Check("arguments", False, "", str(exc))]
        except Exception as exc:  # a probe that failed (ProbeFailed) or a bug: refuse, never crash
            self.checks = [Check("preflight probes", False, "", str(exc) or repr(exc))]
        for check in self.checks:
            self._emit("check", **check.__dict__, line=check.line())
        try:
            self.steps = await self.procedure.plan(self.ctx)
        except Exception as exc:
            self.steps = []
            self.checks.append(Check("plan", False, "", str(exc)))
            self._emit("check", **self.checks[-1].__dict__, line=self.checks[-1].line())
        self._emit("plan", steps=[dict(s.to_dict(), index=i + 1) for i, s in enumerate(self.steps)])
        if self.procedure.is_failover:
            self.flap_last = self.registry.recent_failover(self.cluster, identity=self.ctx.cluster.identity)
            self.flap_age = self.flap_last["age"] if self.flap_last else None
        self._set_state("awaiting-confirmation")

    @property
    def preflight_ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def confirmation(self) -> dict[str, Any]:
        """What the operator must give: level 'enter', 'type-cluster' or 'refused' (force possible)."""
        out: dict[str, Any] = {"needs_flap_ack": self.flap_age is not None}
        if self.flap_age is not None:  # also when refused: a forced run must acknowledge it too
            last = self.flap_last or {}
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last.get("ts", 0)))
            out["flap_warning"] = (f"the last failover of {self.cluster} (by {last.get('who', '?')}, {when}) was "
                                   f"{self.flap_age / 60:.0f} min ago (within {self.registry.flap_period / 60:.0f} "
                                   "min): acknowledge flapping")
        if not self.preflight_ok:
            failed = "; ".join(c.line() for c in self.failed_checks())
            return {**out, "level": "refused", "reason": f"preflight failed: {failed}",
                    "force_risk": self.force_risk()}
        level = "type-cluster" if self.procedure.danger == DISRUPTIVE else "enter"
        prompt = (f"type the cluster name '{self.cluster}' to run {self.procedure.name}"
                  if level == "type-cluster" else f"press Enter to run {self.procedure.name}")
        return {**out, "level": level, "prompt": prompt}

    def force_risk(self) -> str:
        return (f"running {self.procedure.name} on {self.cluster} with failed preflight checks may cause "
                "data loss, a split brain or two active nodes; you own the outcome")

    def confirm(self, typed: str | None = None, *, force: bool = False, ack_flapping: bool = False) -> None:
        """Accept the operator's confirmation or raise ConfirmationError saying what is missing."""
        if self.state != "awaiting-confirmation":
            raise ConfirmationError(f"run is {self.state}, not awaiting confirmation")
        conf = self.confirmation()
        if not self.steps:
            raise ConfirmationError("there is nothing to run: the plan is empty")
        if conf["level"] == "refused":
            if not force:
                raise ConfirmationError(f"refused: {conf['reason']}")
            if typed != self.cluster:
                raise ConfirmationError(f"forcing needs the cluster name '{self.cluster}' typed")
            self.forced = True
            self._emit("message", text=f"FORCED: {conf['force_risk']}")
        elif conf["level"] == "type-cluster" and typed != self.cluster:
            raise ConfirmationError(f"{self.procedure.name} is disruptive: type the cluster name '{self.cluster}'")
        if conf["needs_flap_ack"] and not ack_flapping:
            raise ConfirmationError(conf.get("flap_warning") or "a failover ran recently: acknowledge flapping")
        self._confirmed = True

    def refuse(self, reason: str) -> None:
        """Close a run that will not be confirmed (refused preflight, operator said no)."""
        self.reason = reason
        self._set_state("refused")
        self._audit_result("refused")

    # ---- execution ------------------------------------------------------------------------------

    def abort(self) -> None:
        """Stop before the next step (a running command is not interrupted)."""
        self._abort = True
        if self._manual is not None and not self._manual.done():
            self._manual.set_result(False)

    def ack_manual(self, done: bool = True) -> None:
        """The operator has done (True) or declined (False) the manual step that is waiting."""
        if self._manual is not None and not self._manual.done():
            self._manual.set_result(done)

    @property
    def waiting_for_manual(self) -> bool:
        return self._manual is not None and not self._manual.done()

    async def execute(self) -> str:
        """Run the confirmed plan and verification; returns the final state."""
        if not self._confirmed:
            raise ConfirmationError("run not confirmed")
        disruptive = self.procedure.danger == DISRUPTIVE
        if disruptive:
            try:
                self.registry.acquire(self.cluster, self.run_id)
            except ClusterBusy as exc:
                self.refuse(str(exc))
                return self.state
        try:
            return await self._execute_steps()
        except Exception as exc:  # never leave a run hanging in "running"
            self.reason = f"internal error: {exc!r}"
            self.hint = "check the cluster state by hand before retrying"
            self._set_state("failed")
            self._audit_result("failed")
            return self.state
        finally:
            if disruptive:
                self.registry.release(self.cluster, self.run_id)

    async def _execute_steps(self) -> str:
        self._set_state("running")
        for index, step in enumerate(self.steps):
            number = index + 1
            if number < self.from_step:
                self._emit("message", text=f"step {number} skipped (continuing from {self.from_step})")
                continue
            if self._abort:
                self.reason = f"aborted by the operator before step {number}"
                self.hint = f"continue with --from-step {number}, or roll back by hand"
                self._set_state("aborted")
                self._audit_result("aborted")
                return self.state
            self.current_step = number
            ok, exit_code = await self._run_step(number, step)
            if not ok:
                if self._abort:
                    self.reason = f"aborted by the operator at step {number}"
                    self.hint = f"continue with --from-step {number}"
                    self._set_state("aborted")
                    self._audit_result("aborted")
                    return self.state
                self.reason = f"step {number} ({step.note or step.kind}) on {step.host or 'local'} failed (rc {exit_code})"
                self.hint = self.procedure.recovery_hint(self.ctx, self.steps, index)
                await self._after_failure(index)
                self._set_state("failed")
                self._audit_result("failed")
                return self.state
        self.current_step = None
        self._set_state("verifying")
        self.verify_checks = await self._verify()
        for check in self.verify_checks:
            self._emit("verify", **check.__dict__, line=check.line())
        if all(c.ok for c in self.verify_checks):
            self.hint = self.procedure.success_hint(self.ctx)
            self._set_state("succeeded")
            self._audit_result("succeeded")
        else:
            bad = "; ".join(c.line() for c in self.verify_checks if not c.ok)
            self.reason = f"verification failed: {bad}"
            self.hint = "the steps ran; inspect the cluster (health view) before doing anything else"
            self._set_state("verify-failed")
            self._audit_result("verify-failed")
        return self.state

    async def _after_failure(self, failed_index: int) -> None:
        """Run the procedure's automatic rollback for a failure at this point (audited like any step),
        then say what state each layer is in now."""
        undo = self.procedure.automatic_rollback(self.ctx, self.steps, failed_index)
        for offset, step in enumerate(undo, 1):
            self._emit("message", text=f"automatic rollback: {step.note}")
            ok, exit_code = await self._run_step(len(self.steps) + offset, step)
            self.hint += (f"; rolled back: {step.note}" if ok
                          else f"; automatic rollback FAILED (rc {exit_code}): {step.note} — do it by hand")
        try:
            report = await self.procedure.state_report(self.ctx)
        except Exception as exc:  # the report is a courtesy; the failure itself is already recorded
            report = [f"state unknown: {exc}"]
        if report:
            self._emit("message", text="state now: " + "; ".join(report))
            self.hint += ". State now: " + "; ".join(report)

    async def _verify(self) -> list[Check]:
        deadline = time.monotonic() + self.procedure.verify_timeout
        while True:
            try:
                checks = await self.procedure.verify(self.ctx)
            except HostUnreachable as exc:
                checks = [Check(f"{exc.host} reachable", False, "unreachable", exc.reason)]
            except Exception as exc:  # a probe that failed: verification did not pass (yet)
                checks = [Check("verification probes", False, "", str(exc) or repr(exc))]
            if all(c.ok for c in checks) or time.monotonic() >= deadline:
                return checks
            await asyncio.sleep(self.ctx.poll_interval)

    async def _run_step(self, number: int, step: Step) -> tuple[bool, int]:
        command = step.render(self.ctx.facts)
        self._emit("step-start", index=number, host=step.host, kind=step.kind, note=step.note, command=command)
        started = time.monotonic()
        masks = list(step.masks) + self.masks
        streamer = _LineStreamer(lambda stream, line: self._emit(
            "step-output", index=number, host=step.host, stream=stream, line=mask_text(line, masks)))
        exit_code, stdout, stderr = await self._perform(step, streamer)
        streamer.flush()
        duration = time.monotonic() - started
        ok = exit_code in step.ok_exit_codes
        stdout, stderr = mask_text(stdout, masks), mask_text(stderr, masks)
        self._emit("step-end", index=number, host=step.host, exit_code=exit_code, ok=ok,
                   duration=round(duration, 4), stdout=stdout[-OUTPUT_LIMIT:], stderr=stderr[-OUTPUT_LIMIT:],
                   streamed=streamer.emitted, streamed_all=not streamer.cut)
        self.audit.write({
            "event": "step", "run": self.run_id, "who": self.who, "cluster": self.cluster,
            "procedure": self.procedure.name, "step": number, "host": step.host, "kind": step.kind,
            "command": command, "exit_code": exit_code, "duration": round(duration, 4),
            "stderr_tail": stderr[-500:], "forced": self.forced,
        }, masks)
        return ok, exit_code

    async def _perform(self, step: Step, streamer: _LineStreamer) -> tuple[int, str, str]:
        if step.kind == "command":
            argv = resolve_argv(step.argv, self.ctx.facts)
            missing = unresolved_placeholders(argv)
            if missing:
                return 1, "", f"facts not known: {', '.join(missing)} (an earlier step was skipped?)"
            runner = self.ctx.runner
            try:
                if isinstance(runner, StreamingRunner):
                    result = await runner.run_streaming(step.host or "", argv, timeout=step.timeout,
                                                        stdin=step.stdin, on_output=streamer.feed)
                else:
                    result = await runner.run(step.host or "", argv, timeout=step.timeout, stdin=step.stdin)
            except HostUnreachable as exc:
                return 255, "", f"host unreachable: {exc.reason}"
            if result.exit_code in step.ok_exit_codes and step.capture is not None:
                try:
                    step.capture(result, self.ctx.facts)
                except (ValueError, KeyError) as exc:
                    return 1, result.stdout, f"could not read the output: {exc}"
            return result.exit_code, result.stdout, result.stderr
        if step.kind in ("wait", "check"):
            assert step.until is not None
            try:
                if step.kind == "wait":
                    checks = await self.ctx.wait_until(step.until, step.timeout)
                else:
                    checks = await step.until(self.ctx)
            except HostUnreachable as exc:
                return 255, "", f"host unreachable: {exc.reason}"
            text = "\n".join(c.line() for c in checks)
            return (0 if checks and all(c.ok for c in checks) else 1), text, ""
        if step.kind == "manual":
            self._manual = asyncio.get_running_loop().create_future()
            self._emit("manual-wait", index=self.current_step, note=step.note, describe=step.describe)
            done = await self._manual
            self._manual = None
            return (0, "done", "") if done else (1, "", "manual step not confirmed")
        if step.kind == "local":
            assert step.local is not None
            try:
                exit_code, output = await asyncio.wait_for(step.local(self.ctx), step.timeout)
            except TimeoutError:
                return 124, "", f"timed out after {step.timeout:.0f} s"
            return exit_code, output, ""
        return 1, "", f"unknown step kind {step.kind}"

    def _audit_result(self, outcome: str) -> None:
        self.audit.write({
            "event": "result", "run": self.run_id, "who": self.who, "cluster": self.cluster,
            "cluster_id": self.ctx.cluster.identity,
            "procedure": self.procedure.name, "outcome": outcome, "reason": self.reason, "hint": self.hint,
            "failover": self.procedure.is_failover, "forced": self.forced,
            "preflight": [c.line() for c in self.checks], "verify": [c.line() for c in self.verify_checks],
            "plan": [s.render(self.ctx.facts) for s in self.steps],
            "duration": round(time.time() - self.started_at, 3),
        }, self.masks)


class _LineStreamer:
    """Cuts a running step's output chunks into lines per stream and hands on at most
    STREAMED_LINES_LIMIT of them; a chunk may end mid-line (the rest comes with the next chunk)."""

    def __init__(self, emit_line: Callable[[str, str], None]) -> None:
        self._emit_line = emit_line
        self._partial: dict[str, str] = {}
        self.emitted = 0
        self.cut = False

    def feed(self, stream: str, text: str) -> None:
        lines = (self._partial.pop(stream, "") + text).split("\n")
        if lines[-1]:
            self._partial[stream] = lines[-1]
        for line in lines[:-1]:
            self._line(stream, line)

    def flush(self) -> None:
        for stream, rest in sorted(self._partial.items()):
            self._line(stream, rest)
        self._partial.clear()

    def _line(self, stream: str, line: str) -> None:
        if self.emitted >= STREAMED_LINES_LIMIT:
            self.cut = True
            return
        self.emitted += 1
        self._emit_line(stream, line.rstrip("\r"))


def describe_plan(steps: list[Step], facts: dict[str, Any] | None = None) -> list[str]:
    """The plan as numbered lines, per host, in order (what --dry-run prints)."""
    lines = []
    for number, step in enumerate(steps, 1):
        where = step.host or "local"
        lines.append(f"{number:2}. [{where}] {step.render(facts)}")
        if step.note:
            lines.append(f"      {step.note}")
    return lines


__all__ = ["ClusterBusy", "ConfirmationError", "ProcedureRun", "RunRegistry", "describe_plan", "render_argv"]
