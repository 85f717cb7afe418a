"""The audit trail of procedures: one JSON line per step and per result, fsync'd, rotated by size, and a
reader for the console and for the anti-flapping rule.

Path: $HASCREEN_AUDIT_LOG, else ~/.local/state/hascreen/audit.log. Writers in several processes (the
server and `hascreen run`) append under an exclusive flock, so lines never interleave and rotation happens
once. Records carry commands already masked; the writer masks again with the run's secrets as a guard.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tui.procedures.model import mask_text

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUPS = 5


def default_audit_path() -> Path:
    explicit = os.environ.get("HASCREEN_AUDIT_LOG")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hascreen" / "audit.log"


class AuditLog:
    def __init__(self, path: Path | str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 backups: int = DEFAULT_BACKUPS) -> None:
        self.path = Path(path) if path else default_audit_path()
        self.max_bytes = max_bytes
        self.backups = backups

    def write(self, record: dict[str, Any], masks: Sequence[str] = ()) -> None:
        """Append one record as a JSON line and fsync it; rotate first when the file is too big."""
        record = {"ts": time.time(), **record}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
        line = mask_text(line, masks) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._rotate_if_needed(len(line.encode()))
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _rotate_if_needed(self, incoming: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + incoming <= self.max_bytes or size == 0:
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def files_oldest_first(self) -> list[Path]:
        rotated = [self.path.with_name(f"{self.path.name}.{i}") for i in range(self.backups, 0, -1)]
        return [p for p in [*rotated, self.path] if p.exists()]

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, oldest first; a damaged line is reported as such, not fatal."""
        for path in self.files_oldest_first():
            with open(path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        record = {"event": "unreadable", "file": str(path), "line": number}
                    if isinstance(record, dict):
                        yield record

    def tail(self, limit: int = 50, cluster: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` records (optionally of one cluster), oldest first, for the console."""
        picked = [r for r in self.records() if cluster is None or r.get("cluster") == cluster]
        return picked[-limit:]

    def last_failover(self, cluster: str, identity: str | None = None) -> dict[str, Any] | None:
        """The result record of the last successful failover of this cluster (for anti-flapping: who,
        when), else None. With an identity, records are matched by it (another cluster that happens to
        have the same name does not count); records written before identities existed match by name."""
        last = None
        for record in self.records():
            if record.get("event") != "result" or not record.get("failover") or record.get("outcome") != "succeeded":
                continue
            recorded = record.get("cluster_id")
            if identity is not None and recorded is not None:
                same = recorded == identity
            else:
                same = record.get("cluster") == cluster
            if same:
                last = record
        return last


def format_record(record: dict[str, Any]) -> str:
    """One human line for the console's audit view."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record.get("ts", 0))))
    who = record.get("who", "?")
    head = f"{when} {who} {record.get('cluster', '-')} {record.get('procedure', '-')} {record.get('event', '?')}"
    if record.get("event") == "step":
        rc = record.get("exit_code")
        return (f"{head} #{record.get('step')} {record.get('host') or 'local'}: {record.get('command')} "
                f"→ rc={'-' if rc is None else rc} {record.get('duration') or 0:.2f}s")
    if record.get("event") == "result":
        # reason is null for a run that simply succeeded: nothing to print, never "None"
        return f"{head}: {record.get('outcome') or '?'} {record.get('reason') or ''}".rstrip()
    return head
