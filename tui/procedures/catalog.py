"""Every procedure a run may name: the built-ins plus the user's procedures.yaml."""

from __future__ import annotations

from pathlib import Path

from tui.procedures.builtin import builtin_procedures
from tui.procedures.model import Procedure
from tui.procedures.user_defined import default_procedures_file, load_user_procedures


def procedure_catalog(user_file: Path | str | None = None) -> dict[str, Procedure]:
    """Built-ins and user-defined procedures by name; raises tui.config ConfigErrors for a bad file."""
    procedures = builtin_procedures()
    path = Path(user_file) if user_file else default_procedures_file()
    if path is not None:
        procedures.update(load_user_procedures(path, reserved=tuple(procedures)))
    return procedures
