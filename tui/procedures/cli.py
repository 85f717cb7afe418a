"""`hascreen run NAME --cluster C [--dry-run] [--yes] [--force] [--ack-flapping] [--from-step N]
[--PARAM VALUE ...]`: the same engine and audit log as the console, for scripts and terminals.

Exit codes: 0 succeeded (or a dry run whose preflight holds), 1 refused (preflight, confirmation, busy
cluster, bad arguments), 2 failed or aborted during the steps, 3 the steps ran but verification failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

from tui.procedures.audit import format_record
from tui.procedures.catalog import procedure_catalog
from tui.procedures.cluster_view import build_cluster_view, read_field
from tui.procedures.engine import ConfirmationError, ProcedureRun, RunRegistry, describe_plan
from tui.procedures.model import RunContext, RunEvent
from tui.procedures.validation import ValidationError
from tui.runner import Runner

EXIT_OK, EXIT_REFUSED, EXIT_FAILED, EXIT_VERIFY_FAILED = 0, 1, 2, 3
OUTPUT_LINES = 20

InputFn = Callable[[str], Awaitable[str | None]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hascreen run", description="run a procedure on a cluster")
    parser.add_argument("name", help="procedure name, or 'list', or 'audit'")
    parser.add_argument("--cluster", help="cluster from hosts.yaml")
    parser.add_argument("--dry-run", action="store_true", help="preflight and plan only")
    parser.add_argument("--yes", action="store_true", help="confirm without a prompt (types the cluster name)")
    parser.add_argument("--force", action="store_true", help="run despite failed preflight checks (states the risk)")
    parser.add_argument("--ack-flapping", action="store_true", help="acknowledge a second failover within the period")
    parser.add_argument("--from-step", type=int, default=1, help="continue a failed or aborted run at step N")
    parser.add_argument("--procedures", help="procedures.yaml with user-defined procedures")
    parser.add_argument("--limit", type=int, default=50, help="audit: how many records")
    return parser


def split_procedure_args(extra: Sequence[str]) -> dict[str, str]:
    """['--to', 'node-b', '--victim=node-a'] → {'to': 'node-b', 'victim': 'node-a'}."""
    args: dict[str, str] = {}
    items = list(extra)
    while items:
        item = items.pop(0)
        if not item.startswith("--") or len(item) < 3:
            raise ValueError(f"unexpected argument {item!r} (procedure arguments are --name VALUE)")
        key, eq, value = item[2:].partition("=")
        if not eq:
            if not items or items[0].startswith("--"):
                raise ValueError(f"--{key} needs a value")
            value = items.pop(0)
        args[key] = value
    return args


async def _stdin_input(prompt: str) -> str | None:
    def read() -> str | None:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    return await asyncio.to_thread(read)


class EventPrinter:
    """Turns run events into terminal lines."""

    def __init__(self, out: TextIO, total_steps: Callable[[], int]) -> None:
        self.out = out
        self.total_steps = total_steps

    def __call__(self, event: RunEvent) -> None:
        data = event.data
        write = self.out.write
        if event.kind == "check":
            write(f"  {data['line']}\n")
        elif event.kind == "step-start":
            write(f"▶ [{data['index']}/{self.total_steps()}] {data['host'] or 'local'}: {data['command']}\n")
        elif event.kind == "step-output":
            write(f"    {data['line']}\n")
        elif event.kind == "step-end":
            streamed = data.get("streamed", 0)
            if streamed and not data.get("streamed_all", True):
                write(f"    … {streamed} lines shown live; the output ends with:\n")
            if not streamed or not data.get("streamed_all", True):  # else every line was shown as it came
                self._write_tail(data)
            mark = "✓" if data["ok"] else "✗"
            write(f"  {mark} rc={data['exit_code']} {data['duration']:.2f}s\n")
        elif event.kind == "verify":
            write(f"  {data['line']}\n")
        elif event.kind == "message":
            write(f"! {data['text']}\n")
        elif event.kind == "manual-wait":
            write(f"☐ {data['describe'] or data['note']}\n")
        elif event.kind == "state" and data["state"] in ("preflight", "verifying"):
            write({"preflight": "Preflight:\n", "verifying": "Verification:\n"}[data["state"]])
        self.out.flush()

    def _write_tail(self, data: dict[str, Any]) -> None:
        for stream in ("stdout", "stderr"):
            lines = (data.get(stream) or "").rstrip("\n").splitlines()
            if len(lines) > OUTPUT_LINES:
                lines = [f"… {len(lines) - OUTPUT_LINES} lines", *lines[-OUTPUT_LINES:]]
            for line in lines:
                self.out.write(f"    {line}\n")


async def run_from_cli(runner: Runner, hosts_config: Any, argv_or_parsed: Sequence[str] | argparse.Namespace,
                       out: TextIO, *, input_fn: InputFn | None = None, registry: RunRegistry | None = None,
                       extra_args: dict[str, str] | None = None) -> int:
    """Run one procedure from the command line; returns the exit code (see the module docstring).

    argv_or_parsed: the words after `hascreen run`, or a Namespace from build_parser() (procedure arguments
    then come in `extra_args` or the Namespace's `extra` list)."""
    input_fn = input_fn or _stdin_input
    try:
        if isinstance(argv_or_parsed, argparse.Namespace):
            opts = argv_or_parsed
            proc_args = dict(extra_args or split_procedure_args(getattr(opts, "extra", []) or []))
        else:
            opts, extra = build_parser().parse_known_args(list(argv_or_parsed))
            proc_args = split_procedure_args(extra)
    except (ValueError, SystemExit) as exc:
        out.write(f"hascreen run: {exc}\n")
        return EXIT_REFUSED
    registry = registry or RunRegistry()

    if opts.name == "audit":
        for record in registry.audit.tail(opts.limit, opts.cluster):
            out.write(format_record(record) + "\n")
        return EXIT_OK
    try:
        catalog = procedure_catalog(opts.procedures)
    except Exception as exc:  # ConfigErrors from a bad procedures.yaml: every problem, file:line: key
        out.write(f"hascreen run: procedures file:\n{exc}\n")
        return EXIT_REFUSED
    if opts.name == "list":
        for name, proc in sorted(catalog.items()):
            out.write(f"{name:22} {proc.danger:10} {proc.note}\n")
        return EXIT_OK
    procedure = catalog.get(opts.name)
    if procedure is None:
        out.write(f"hascreen run: unknown procedure {opts.name!r} (known: {', '.join(sorted(catalog))})\n")
        return EXIT_REFUSED
    clusters = read_field(hosts_config, "clusters") or {}
    if not opts.cluster or opts.cluster not in clusters:
        out.write(f"hascreen run: --cluster must name a cluster of hosts.yaml ({', '.join(clusters) or 'none'})\n")
        return EXIT_REFUSED
    try:
        cluster = build_cluster_view(clusters[opts.cluster], read_field(hosts_config, "hosts") or {})
        bound = procedure.bind_args(proc_args)
    except (ValidationError, ValueError) as exc:
        out.write(f"hascreen run: {exc}\n")
        return EXIT_REFUSED

    ctx = RunContext(runner=runner, cluster=cluster, args=bound)
    run = ProcedureRun(procedure, ctx, registry=registry, from_step=opts.from_step)
    run.subscribe(EventPrinter(out, lambda: len(run.steps)))
    out.write(f"{procedure.name} on {cluster.name} ({procedure.danger}): {procedure.note}\n")
    await run.prepare()
    out.write("Plan:\n")
    for line in describe_plan(run.steps) or ["  (nothing to do)"]:
        out.write(f"  {line}\n")
    conf = run.confirmation()
    if opts.dry_run:
        out.write("dry run: nothing executed\n")
        if conf["level"] == "refused":
            out.write(f"would refuse: {conf['reason']}\n")
            return EXIT_REFUSED
        return EXIT_OK

    code = await _confirm(run, opts, conf, out, input_fn)
    if code is not None:
        return code

    manual_tasks: list[asyncio.Task[None]] = []

    def on_manual(event: RunEvent) -> None:
        if event.kind == "manual-wait":
            manual_tasks.append(asyncio.ensure_future(_answer_manual(run, input_fn)))

    run.subscribe(on_manual)
    state = await run.execute()
    for task in manual_tasks:
        task.cancel()
    out.write(f"Result: {state}")
    out.write(f" — {run.reason}\n" if run.reason else "\n")
    if run.hint:
        out.write(f"Next: {run.hint}\n")
    return {"succeeded": EXIT_OK, "refused": EXIT_REFUSED, "verify-failed": EXIT_VERIFY_FAILED}.get(state, EXIT_FAILED)


async def _answer_manual(run: ProcedureRun, input_fn: InputFn) -> None:
    answer = await input_fn("type 'done' when this step is done (anything else aborts): ")
    run.ack_manual(answer is not None and answer.strip().lower() == "done")


async def _confirm(run: ProcedureRun, opts: argparse.Namespace, conf: dict[str, Any], out: TextIO,
                   input_fn: InputFn) -> int | None:
    """None when confirmed; else the exit code after refusing the run."""
    typed: str | None = None
    if conf["level"] == "refused":
        out.write(f"REFUSED: {conf['reason']}\n")
        if not opts.force:
            run.refuse(conf["reason"])
            out.write("(--force overrides after stating the risk)\n")
            return EXIT_REFUSED
        out.write(f"FORCE: {conf['force_risk']}\n")
    if conf["level"] in ("refused", "type-cluster"):
        prompt = conf.get("prompt") if conf["level"] == "type-cluster" else None
        typed = run.cluster if opts.yes else await input_fn(
            f"{prompt}: " if prompt else f"forcing: type the cluster name '{run.cluster}': ")
    elif not opts.yes:
        answer = await input_fn(f"{conf['prompt']} (Enter runs, anything else cancels): ")
        if answer is None or answer.strip():
            run.refuse("cancelled by the operator")
            out.write("cancelled\n")
            return EXIT_REFUSED
    ack = opts.ack_flapping
    if conf.get("needs_flap_ack") and not ack:
        out.write(f"! {conf.get('flap_warning')}\n")
        answer = None if opts.yes else await input_fn("type 'flapping' to acknowledge: ")
        ack = answer is not None and answer.strip() == "flapping"
    try:
        run.confirm(typed, force=opts.force, ack_flapping=ack)
    except ConfirmationError as exc:
        run.refuse(str(exc))
        out.write(f"REFUSED: {exc}\n")
        return EXIT_REFUSED
    return None
