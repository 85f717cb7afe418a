"""`hascreen health` output: Nagios-style exit codes and the text / JSON renderings of health rows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from tui.health.model import CLUSTER_WIDE, HealthRow, State, worst

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3
NAGIOS_LABELS = {State.OK: "OK", State.WARN: "WARNING", State.CRIT: "CRITICAL", State.UNKNOWN: "UNKNOWN"}
_EXIT_CODES = {State.OK: EXIT_OK, State.WARN: EXIT_WARNING, State.CRIT: EXIT_CRITICAL, State.UNKNOWN: EXIT_UNKNOWN}


def exit_code(rows: Iterable[HealthRow]) -> int:
    """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; no rows at all is UNKNOWN (nothing was checked)."""
    rows = list(rows)
    if not rows:
        return EXIT_UNKNOWN
    return _EXIT_CODES[worst(row.state for row in rows)]


def _age(row: HealthRow, now: float) -> str:
    seconds = row.age(now)
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def render_text(rows: Iterable[HealthRow], now: float | None = None) -> str:
    """One summary line (Nagios plugin style), then one line per row: symbol, who, value, age, reason."""
    now = time.time() if now is None else now
    rows = sorted(rows, key=lambda r: (r.cluster, r.node == CLUSTER_WIDE, r.node, r.layer, r.subject))
    state = worst(r.state for r in rows) if rows else State.UNKNOWN
    problems = [r for r in rows if r.state is not State.OK]
    summary = f"HEALTH {NAGIOS_LABELS[state]}"
    if problems:
        first = max(problems, key=lambda r: r.state.severity)
        summary += f" - {len(problems)} problem(s); {first.cluster}/{first.node}/{first.layer}: {first.reason}"
    elif not rows:
        summary += " - no clusters checked"
    lines = [summary]
    for row in rows:
        who = f"{row.cluster} {row.node} {row.layer}" + (f"[{row.subject}]" if row.subject else "")
        line = f"{row.state.symbol} {row.state.value:<7} {who:<40} {row.value}  ({row.source} {_age(row, now)}"
        line += ", stale)" if row.stale else ")"
        if row.reason:
            line += f"  {row.reason}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def render_json(rows: Iterable[HealthRow], now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = list(rows)
    code = exit_code(rows)
    state = next(s for s, c in _EXIT_CODES.items() if c == code)
    payload = {
        "state": state.value,
        "exit_code": code,
        "rows": [{**row.to_dict(), "age": round(row.age(now), 3), "symbol": row.state.symbol} for row in rows],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
