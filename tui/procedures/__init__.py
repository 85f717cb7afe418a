"""The runbook engine and its procedures: preflight → plan (exact commands) → confirm → steps → verify,
all through a Runner, every step and result in the audit log.

For the server: `ProcedureService` (catalog, start, get, active), or the parts: `procedure_catalog()`, `build_cluster_view(cluster, hosts)`, `RunContext`, `RunRegistry`,
`ProcedureRun` (prepare / confirmation / confirm / execute / abort / ack_manual / watch / snapshot).
For the CLI: `run_from_cli` in tui.procedures.cli. Details in docs/procedures.md.
"""

from tui.procedures.audit import AuditLog, format_record
from tui.procedures.catalog import procedure_catalog
from tui.procedures.cluster_view import ClusterView, build_cluster_view
from tui.procedures.engine import ClusterBusy, ConfirmationError, ProcedureRun, RunRegistry, describe_plan
from tui.procedures.model import DISRUPTIVE, SAFE, Check, Param, Procedure, RunContext, RunEvent, Step
from tui.procedures.service import ProcedureRequestError, ProcedureService

__all__ = [
    "DISRUPTIVE", "SAFE", "AuditLog", "Check", "ClusterBusy", "ClusterView", "ConfirmationError", "Param",
    "Procedure", "ProcedureRequestError", "ProcedureRun", "ProcedureService", "RunContext", "RunEvent", "RunRegistry", "Step", "build_cluster_view",
    "describe_plan", "format_record", "procedure_catalog",
]
