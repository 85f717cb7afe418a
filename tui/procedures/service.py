"""What the server holds for procedures: the catalog, the registry of runs (they outlive client
detaches), and the translation of `:run-procedure NAME [CLUSTER] [--PARAM VALUE ...]` into a prepared
`ProcedureRun` whose events the server forwards to the procedure window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tui.procedures.catalog import procedure_catalog
from tui.procedures.cli import split_procedure_args
from tui.procedures.cluster_view import build_cluster_view, read_field
from tui.procedures.engine import ProcedureRun, RunRegistry
from tui.procedures.model import RunContext
from tui.runner import Runner


class ProcedureRequestError(ValueError):
    """A run-procedure request that cannot start (unknown name or cluster, bad argument)."""


class ProcedureService:
    def __init__(self, hosts_config: Any, runner: Runner, *, registry: RunRegistry | None = None,
                 procedures_file: Path | str | None = None) -> None:
        self.hosts_config = hosts_config
        self.runner = runner
        self.registry = registry or RunRegistry()
        self.procedures_file = procedures_file

    def catalog(self) -> list[dict[str, Any]]:
        """Name, note, danger and parameters of every procedure (the procedures panel)."""
        return [{"name": p.name, "note": p.note, "danger": p.danger,
                 "params": [a.to_dict() for a in p.params]}
                for p in procedure_catalog(self.procedures_file).values()]

    async def start(self, name: str, cluster: str | None, args: Sequence[str] = (), *, who: str | None = None,
                    from_step: int = 1) -> ProcedureRun:
        """Build, register and prepare (preflight + plan) a run; the caller then asks for the
        confirmation the run wants (`run.confirmation()`), calls `run.confirm(...)` and `run.execute()`."""
        try:
            catalog = procedure_catalog(self.procedures_file)
        except Exception as exc:  # a bad procedures.yaml: its errors, file:line: key
            raise ProcedureRequestError(str(exc)) from None
        procedure = catalog.get(name)
        if procedure is None:
            raise ProcedureRequestError(f"unknown procedure {name!r} (known: {', '.join(sorted(catalog))})")
        clusters = read_field(self.hosts_config, "clusters") or {}
        if cluster is None and len(clusters) == 1:
            cluster = next(iter(clusters))
        if cluster not in clusters:
            raise ProcedureRequestError(f"unknown cluster {cluster!r} (known: {', '.join(clusters) or 'none'})")
        try:
            view = build_cluster_view(clusters[cluster], read_field(self.hosts_config, "hosts") or {})
            bound = procedure.bind_args(split_procedure_args(args))
        except ValueError as exc:
            raise ProcedureRequestError(str(exc)) from None
        run = ProcedureRun(procedure, RunContext(self.runner, view, args=bound), registry=self.registry,
                           who=who, from_step=from_step)
        await run.prepare()
        return run

    def get(self, run_id: str) -> ProcedureRun | None:
        return self.registry.runs.get(run_id)

    def active(self) -> list[ProcedureRun]:
        return self.registry.active()
