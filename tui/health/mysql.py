"""MySQL/MariaDB replication parsers and their health verdicts.

Reads the `mysql` client's outputs: vertical (`\\G`) rows of SHOW SLAVE/REPLICA STATUS and SHOW ALL SLAVES
STATUS (multi-line values, the 5.0 layout, Slave_/Master_ and Replica_/Source_ names), SHOW MASTER STATUS /
SHOW BINLOG STATUS (vertical, boxed table or tab-separated batch output) and `SELECT @@read_only`.
`evaluate_replica` and `evaluate_master` give rows; Seconds_Behind_Master NULL is never read as 0.
GTIDs: `ServerInfo` (flavor, version, gtid_mode from SHOW GLOBAL VARIABLES), MySQL GTID set arithmetic,
MariaDB domain-server-seq lists, and `errant_gtids` (what a replica has that its master never had).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tui.health.model import HealthRow, State

_ROW_HEADER = re.compile(r"^\s*\*+\s*\d+\.\s*row\s*\*+\s*$")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_@][A-Za-z0-9_@.]*):(?: (.*)|)$")
_FOOTER = re.compile(r"^\s*(\d+ rows? in set|Empty set)\b")


def parse_vertical(text: str) -> list[dict[str, str]]:
    """Rows of a `\\G` output as dicts of raw string values (trailing blanks stripped, NULL kept as "NULL").

    The mysql client right-aligns the keys of one row, so every key of a row ends at the same column: a line
    whose colon is elsewhere ("Query: 'UPDATE ..." inside Last_Error) continues the previous value.
    """
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if _ROW_HEADER.match(line):
            current = []
            blocks.append(current)
        elif _FOOTER.match(line):
            current = None
        elif current is not None:
            current.append(line)
        elif line.strip() and _KEY_LINE.match(line):
            current = [line]  # output without a row header (mysql -E of some versions)
            blocks.append(current)
    return [_parse_block(block) for block in blocks]


def _parse_block(lines: list[str]) -> dict[str, str]:
    matches = [(_KEY_LINE.match(line), line) for line in lines]
    columns = Counter(len(m.group(1)) + len(m.group(2)) for m, _ in matches if m)
    colon = columns.most_common(1)[0][0] if columns else None
    row: dict[str, str] = {}
    last_key: str | None = None
    for match, line in matches:
        if match and len(match.group(1)) + len(match.group(2)) == colon:
            last_key = match.group(2)
            row[last_key] = (match.group(3) or "").rstrip()
        elif last_key is not None:
            row[last_key] = (row[last_key] + "\n" + line).rstrip()
    return row


# Canonical field -> the names different server versions use (first found wins).
_ALIASES = {
    "io_state": ("Slave_IO_State", "Replica_IO_State"),
    "io_running": ("Slave_IO_Running", "Replica_IO_Running"),
    "sql_running": ("Slave_SQL_Running", "Replica_SQL_Running"),
    "seconds_behind": ("Seconds_Behind_Master", "Seconds_Behind_Source"),
    "master_host": ("Master_Host", "Source_Host"),
    "master_port": ("Master_Port", "Source_Port"),
    "master_log_file": ("Master_Log_File", "Source_Log_File"),
    "read_master_log_pos": ("Read_Master_Log_Pos", "Read_Source_Log_Pos"),
    "relay_master_log_file": ("Relay_Master_Log_File", "Relay_Source_Log_File"),
    "exec_master_log_pos": ("Exec_Master_Log_Pos", "Exec_Source_Log_Pos"),
    "sql_state": ("Slave_SQL_Running_State", "Replica_SQL_Running_State"),
    "master_server_id": ("Master_Server_Id", "Source_Server_Id"),
}


@dataclass
class ReplicaChannel:
    """One replication channel (one row of SHOW SLAVE/REPLICA STATUS or SHOW ALL SLAVES STATUS)."""

    io_running: str  # Yes | No | Connecting | "" when the field is missing
    sql_running: str
    seconds_behind: int | None  # None when NULL or missing: lag unknown, never 0
    seconds_behind_raw: str | None
    last_errno: int
    last_error: str
    last_io_errno: int
    last_io_error: str
    last_sql_errno: int
    last_sql_error: str
    master_host: str
    master_port: str
    master_log_file: str
    read_master_log_pos: int | None
    relay_master_log_file: str
    exec_master_log_pos: int | None
    io_state: str
    sql_state: str
    connection_name: str
    naming: str  # "slave" (Slave_/Master_) or "replica" (Replica_/Source_)
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes"


@dataclass
class ReplicaStatus:
    channels: list[ReplicaChannel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return bool(self.channels)


def _get(row: dict[str, str], name: str) -> str | None:
    for key in _ALIASES[name]:
        if key in row:
            return row[key]
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_replica_status(text: str) -> ReplicaStatus:
    """SHOW SLAVE STATUS\\G, SHOW REPLICA STATUS\\G or SHOW ALL SLAVES STATUS\\G. Empty output = not a replica."""
    rows = parse_vertical(text)
    status = replica_status_from_rows(rows)
    if not rows and text.strip() and not _FOOTER.match(text.strip()):
        status.errors.append(f"not a vertical (\\G) result: {text.strip().splitlines()[0][:80]}")
    return status


def replica_status_from_rows(rows: list[dict[str, str]]) -> ReplicaStatus:
    status = ReplicaStatus()
    for row in rows:
        if _get(row, "io_running") is None and _get(row, "sql_running") is None:
            status.errors.append("row without Slave_IO_Running/Replica_IO_Running")
            continue
        sbm_raw = _get(row, "seconds_behind")
        status.channels.append(ReplicaChannel(
            io_running=_get(row, "io_running") or "",
            sql_running=_get(row, "sql_running") or "",
            seconds_behind=_int(sbm_raw),
            seconds_behind_raw=sbm_raw,
            last_errno=_int(row.get("Last_Errno")) or 0,
            last_error=row.get("Last_Error", ""),
            last_io_errno=_int(row.get("Last_IO_Errno")) or 0,
            last_io_error=row.get("Last_IO_Error", ""),
            last_sql_errno=_int(row.get("Last_SQL_Errno")) or 0,
            last_sql_error=row.get("Last_SQL_Error", ""),
            master_host=_get(row, "master_host") or "",
            master_port=_get(row, "master_port") or "",
            master_log_file=_get(row, "master_log_file") or "",
            read_master_log_pos=_int(_get(row, "read_master_log_pos")),
            relay_master_log_file=_get(row, "relay_master_log_file") or "",
            exec_master_log_pos=_int(_get(row, "exec_master_log_pos")),
            io_state=_get(row, "io_state") or "",
            sql_state=_get(row, "sql_state") or "",
            connection_name=row.get("Connection_name", row.get("Channel_Name", "")),
            naming="replica" if "Replica_IO_Running" in row else "slave",
            raw=row,
        ))
    return status


@dataclass
class MasterStatus:
    file: str | None = None
    position: int | None = None
    binlog_do_db: str = ""
    binlog_ignore_db: str = ""
    executed_gtid_set: str = ""
    gtid_binlog_pos: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def binlog_enabled(self) -> bool:
        return self.file is not None


def _parse_table(text: str) -> list[dict[str, str]]:
    """Boxed (`+---+`) or tab-separated batch output with a header line."""
    lines = [line for line in text.splitlines() if line.strip() and not _FOOTER.match(line)]
    if any(line.startswith("|") for line in lines):
        cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
    elif lines and "\t" in lines[0]:
        cells = [line.split("\t") for line in lines]
    else:
        return []
    header, *body = cells
    return [dict(zip(header, row, strict=False)) for row in body if len(row) == len(header)]


def parse_master_status(text: str) -> MasterStatus:
    """SHOW MASTER STATUS / SHOW BINLOG STATUS: vertical, boxed table or batch (tab-separated) output."""
    rows = parse_vertical(text) or _parse_table(text)
    status = MasterStatus()
    if not rows:
        if text.strip():
            status.errors.append(f"unrecognised output: {text.strip().splitlines()[0][:80]}")
        return status  # empty result: binary logging is off
    row = rows[0]
    if "File" not in row:
        status.errors.append("no File column")
        return status
    status.file = row.get("File") or None
    status.position = _int(row.get("Position"))
    status.binlog_do_db = row.get("Binlog_Do_DB", "")
    status.binlog_ignore_db = row.get("Binlog_Ignore_DB", "")
    status.executed_gtid_set = row.get("Executed_Gtid_Set", "").replace("\n", "")
    status.gtid_binlog_pos = row.get("Gtid_Binlog_Pos", "")
    return status


def parse_read_only(text: str) -> bool | None:
    """`SELECT @@read_only` in any output mode (-N -B, with header, boxed, \\G). None when unreadable."""
    for token in reversed(re.split(r"[\s|:]+", text.strip())):
        if token in ("1", "ON"):
            return True
        if token in ("0", "OFF"):
            return False
    return None


# ------------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class MysqlThresholds:
    lag_warn: int = 60
    lag_crit: int = 300


def summarize_error(error: str) -> str:
    """The useful part of a replication error, on one line: "Duplicate entry '3' for key 'PRIMARY'"."""
    text = " ".join(error.split())
    match = re.search(r"Error '(.*)' on query", text)
    if match:
        return match.group(1)
    for part in text.split("; "):
        if "Error_code" in part:
            return re.sub(r",?\s*Error_code:\s*\d+", "", part).strip()
    message = re.search(r"\bmessage:\s*(.+)$", text)  # "error reconnecting to master ... message: <why>"
    if message:
        return message.group(1)[:200]
    return text[:200]


def describe_channel(chan: ReplicaChannel) -> str:
    lag = f"{chan.seconds_behind}s" if chan.seconds_behind is not None else (chan.seconds_behind_raw or "?")
    text = f"IO {chan.io_running or '?'} SQL {chan.sql_running or '?'} lag {lag}"
    if chan.relay_master_log_file:
        text += f" exec {chan.relay_master_log_file}:{chan.exec_master_log_pos}"
    return text


def judge_channel(chan: ReplicaChannel, thresholds: MysqlThresholds = MysqlThresholds()) -> tuple[State, str]:
    if chan.io_running == "No" or chan.sql_running == "No":
        reasons = []
        state = State.CRIT
        if chan.io_running == "No":
            err = chan.last_io_error
            reasons.append("replica IO thread stopped"
                           + (f": {summarize_error(err)} ({chan.last_io_errno})" if chan.last_io_errno else ""))
        if chan.sql_running == "No":
            errno = chan.last_sql_errno or chan.last_errno
            err = chan.last_sql_error or chan.last_error
            if errno:
                reasons.append(f"replica SQL thread stopped: {summarize_error(err)} ({errno})")
            else:
                reasons.append("replica SQL thread stopped without an error (STOP SLAVE?)")
                if chan.io_running != "No":
                    state = State.WARN
        return state, "; ".join(reasons)
    if chan.io_running == "Connecting":
        reason = f"replica IO thread connecting to {chan.master_host}:{chan.master_port}"
        if chan.last_io_errno:
            reason += f": {summarize_error(chan.last_io_error)} ({chan.last_io_errno})"
        return State.WARN, reason
    if not chan.running:
        return State.UNKNOWN, f"replica threads in unexpected states IO={chan.io_running!r} SQL={chan.sql_running!r}"
    if chan.seconds_behind is None:
        return State.UNKNOWN, f"lag unknown: Seconds_Behind_Master is {chan.seconds_behind_raw or 'missing'}"
    if chan.seconds_behind >= thresholds.lag_crit:
        return State.CRIT, f"replica {chan.seconds_behind}s behind master (crit at {thresholds.lag_crit}s)"
    if chan.seconds_behind >= thresholds.lag_warn:
        return State.WARN, f"replica {chan.seconds_behind}s behind master (warn at {thresholds.lag_warn}s)"
    delay = _int(chan.raw.get("SQL_Delay"))
    if delay and chan.seconds_behind > 0:
        # a delayed replica is not a failover target: it holds events it has not applied yet
        return State.WARN, (f"delayed replica: applies events {delay}s late (MASTER_DELAY), "
                            f"{chan.seconds_behind}s behind master")
    return State.OK, ""


def evaluate_replica(
    status: ReplicaStatus, cluster: str, node: str, *, observed_at: float, read_only: bool | None = None,
    master: MasterStatus | None = None, thresholds: MysqlThresholds = MysqlThresholds(),
    server: ServerInfo | None = None, master_server: ServerInfo | None = None,
) -> list[HealthRow]:
    """Rows for a node that should replicate: one per channel, plus read_only, position and GTID findings
    (the mode it replicates in; errant GTIDs against the master, when both servers' variables are known)."""
    if status.errors and not status.channels:
        return [HealthRow(cluster, node, "mysql", State.UNKNOWN, "unknown", "; ".join(status.errors), observed_at)]
    if not status.channels:
        return [HealthRow(cluster, node, "mysql", State.CRIT, "not replicating",
                          "replication not configured on this replica (SHOW SLAVE STATUS is empty)", observed_at)]
    rows = []
    for chan in status.channels:
        state, reason = judge_channel(chan, thresholds)
        value = describe_channel(chan)
        if master is not None and master.file and chan.relay_master_log_file == master.file \
                and chan.exec_master_log_pos is not None and master.position is not None:
            behind = master.position - chan.exec_master_log_pos
            value += f" ({behind} bytes behind master)" if behind > 0 else " (at master position)"
        if read_only is False and state in (State.OK, State.UNKNOWN):
            state, reason = State.WARN, "replica is writable (read_only=OFF): writes here will diverge"
        if server is not None:
            using = chan.raw.get("Using_Gtid") or ("Auto_Position" if chan.raw.get("Auto_Position") == "1" else "")
            value += f" gtid {using}" if using and using != "No" else " file/pos"
            if server.flavor == "mysql":
                value += f" (gtid_mode {server.gtid_mode})"
            errant = errant_gtids(server, master_server) if master_server is not None else ""
            if errant and state in (State.OK, State.UNKNOWN, State.WARN):
                state = State.WARN
                reason = (reason + "; " if reason else "") + (
                    f"errant GTIDs {errant[:120]}: transactions the master never had (they block a failover here)")
        rows.append(HealthRow(cluster, node, "mysql", state, value, reason, observed_at, chan.connection_name))
    return rows


def evaluate_master(
    master: MasterStatus, cluster: str, node: str, *, observed_at: float, read_only: bool | None,
    replica: ReplicaStatus | None = None, server: ServerInfo | None = None,
) -> list[HealthRow]:
    """The row of the node that should be the writable master (with its GTID mode when known)."""
    if master.errors:
        return [HealthRow(cluster, node, "mysql", State.UNKNOWN, "unknown", "; ".join(master.errors), observed_at)]
    value = f"master {master.file}:{master.position}" if master.binlog_enabled else "master (binlog off)"
    if server is not None:
        value += f" gtid_mode {server.gtid_mode}" if server.flavor == "mysql" else " gtid " + (
            server.variables.get("gtid_binlog_pos") or "(none yet)")
    value += " rw" if read_only is False else " ro" if read_only else ""
    if read_only is None:
        return [HealthRow(cluster, node, "mysql", State.UNKNOWN, value, "read_only unknown", observed_at)]
    if read_only:
        return [HealthRow(cluster, node, "mysql", State.WARN, value,
                          "master is read-only (read_only=ON): applications cannot write", observed_at)]
    if not master.binlog_enabled:
        return [HealthRow(cluster, node, "mysql", State.WARN, value,
                          "binary log is off: replicas cannot follow this master", observed_at)]
    if replica is not None and any(chan.running for chan in replica.channels):
        return [HealthRow(cluster, node, "mysql", State.WARN, value,
                          "master is also replicating from another server", observed_at)]
    return [HealthRow(cluster, node, "mysql", State.OK, value, "", observed_at)]


@dataclass
class MysqlOverview:
    """One round trip's worth: read_only, SHOW MASTER STATUS, SHOW SLAVE STATUS and the GTID variables
    from one `mysql -e` run."""

    read_only: bool | None
    master: MasterStatus
    replica: ReplicaStatus
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> ServerInfo | None:
        return server_info(self.variables) if "version" in self.variables else None


READ_ONLY_ALIAS = "hascreen_read_only"


def overview_sql(modern: bool = False) -> str:
    """The statements the probe sends in one `mysql -e`; `modern` uses MySQL 8.4's names."""
    replica = "SHOW REPLICA STATUS" if modern else "SHOW SLAVE STATUS"
    master = "SHOW BINARY LOG STATUS" if modern else "SHOW MASTER STATUS"
    return f"SELECT @@read_only AS {READ_ONLY_ALIAS}\\G {master}\\G {replica}\\G {variables_sql()}\\G"


def parse_overview(text: str) -> MysqlOverview:
    """Split the concatenated vertical results of `overview_sql()` by what each row holds."""
    read_only: bool | None = None
    master = MasterStatus()
    replica_rows: list[str] = []
    rows = parse_vertical(text)
    variables: dict[str, str] = {}
    for row in rows:
        if READ_ONLY_ALIAS in row:
            read_only = parse_read_only(row[READ_ONLY_ALIAS])
        elif "Variable_name" in row:
            variables[row["Variable_name"]] = row.get("Value", "")
        elif "File" in row and "Position" in row:
            master.file = row.get("File") or None
            master.position = _int(row.get("Position"))
            master.binlog_do_db = row.get("Binlog_Do_DB", "")
            master.binlog_ignore_db = row.get("Binlog_Ignore_DB", "")
            master.executed_gtid_set = row.get("Executed_Gtid_Set", "").replace("\n", "")
            master.gtid_binlog_pos = row.get("Gtid_Binlog_Pos", "")
        else:
            replica_rows.append(row)
    replica = replica_status_from_rows(replica_rows)
    if not rows:
        replica.errors.append("no result rows" + (f": {text.strip().splitlines()[0][:80]}" if text.strip() else ""))
    return MysqlOverview(read_only, master, replica, variables)



# ------------------------------------------------------------------------------------------- GTID
# The variables a GTID-aware probe reads in one statement (both families answer it; missing names are absent).
GTID_VARIABLES = ("version", "version_comment", "server_id", "server_uuid", "gtid_mode", "gtid_executed",
                  "gtid_domain_id", "gtid_binlog_pos", "gtid_binlog_state", "gtid_slave_pos", "gtid_current_pos",
                  "read_only", "super_read_only", "log_bin")


def variables_sql() -> str:
    names = ",".join(f"'{name}'" for name in GTID_VARIABLES)
    return f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})"


def parse_variables(text: str) -> dict[str, str]:
    """SHOW VARIABLES output: batch (`-N -B`, or with its Variable_name header), boxed or vertical."""
    rows = parse_vertical(text)
    if rows and all("Variable_name" in row for row in rows):
        return {row["Variable_name"]: row.get("Value", "") for row in rows}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("+") or not line.strip():
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else line.split("\t")
        if len(cells) >= 2 and cells[0] not in ("Variable_name",):
            values[cells[0]] = "\t".join(cells[1:]).replace("\\n", "\n")
    return values


@dataclass(frozen=True)
class ServerInfo:
    """Which server this is and how it does GTIDs, from `variables_sql()`."""

    flavor: str  # "mariadb" | "mysql"
    version: tuple[int, int, int]
    variables: dict[str, str]

    @property
    def gtid_mode(self) -> str:
        """MySQL: its gtid_mode (ON, OFF, ...). MariaDB always writes GTIDs: "MariaDB" (whether a replica
        *uses* them is its Using_Gtid)."""
        if self.flavor == "mariadb":
            return "MariaDB"
        return self.variables.get("gtid_mode", "OFF") or "OFF"

    @property
    def gtid_on(self) -> bool:
        return self.flavor == "mariadb" or self.gtid_mode == "ON"

    @property
    def executed(self) -> str:
        """What this server holds, as a GTID set / position: gtid_executed (MySQL), gtid_binlog_state
        (MariaDB: every domain-server pair it logged)."""
        if self.flavor == "mariadb":
            return self.variables.get("gtid_binlog_state", "").replace("\n", "")
        return self.variables.get("gtid_executed", "").replace("\n", "")


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text.strip())
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else (0, 0, 0)


def server_info(variables: dict[str, str]) -> ServerInfo:
    version = variables.get("version", "")
    mariadb = "mariadb" in (version + " " + variables.get("version_comment", "")).lower()
    return ServerInfo("mariadb" if mariadb else "mysql", parse_version(version), dict(variables))


# MySQL GTID sets: "uuid:1-5:7,uuid2:1-3" (8.4 adds tags: "uuid:tag:1-3"); intervals are inclusive.
GtidSet = dict[str, list[tuple[int, int]]]


def parse_gtid_set(text: str) -> GtidSet:
    result: GtidSet = {}
    for part in text.replace("\n", "").split(","):
        part = part.strip()
        if not part:
            continue
        source, *rest = part.split(":")
        key = source.lower()
        for item in rest:
            if not re.match(r"^\d+(-\d+)?$", item):
                key = f"{source.lower()}:{item}"  # a tag applies to the intervals after it
                continue
            low, _, high = item.partition("-")
            result.setdefault(key, []).append((int(low), int(high or low)))
    return {key: _merge(intervals) for key, intervals in result.items()}


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def subtract_gtid_sets(left: GtidSet, right: GtidSet) -> GtidSet:
    """left − right, interval by interval."""
    result: GtidSet = {}
    for key, intervals in left.items():
        remaining = list(intervals)
        for low_r, high_r in right.get(key, []):
            next_remaining = []
            for low, high in remaining:
                if high_r < low or low_r > high:
                    next_remaining.append((low, high))
                    continue
                if low < low_r:
                    next_remaining.append((low, low_r - 1))
                if high > high_r:
                    next_remaining.append((high_r + 1, high))
            remaining = next_remaining
        if remaining:
            result[key] = remaining
    return result


def format_gtid_set(gtids: GtidSet) -> str:
    return ",".join(key + "".join(f":{low}" if low == high else f":{low}-{high}" for low, high in intervals)
                    for key, intervals in sorted(gtids.items()))


def parse_mariadb_gtids(text: str) -> list[tuple[int, int, int]]:
    """"0-1-100,1-2-5" → [(domain, server_id, seq_no)]."""
    found = []
    for part in text.replace("\n", "").split(","):
        match = re.match(r"^\s*(\d+)-(\d+)-(\d+)\s*$", part)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), int(match.group(3))))
    return found


def errant_gtids(replica: ServerInfo, master: ServerInfo, master_ids: set[str] | None = None) -> str:
    """Transactions the replica has and the master never had ("" when none), excluding those that came
    from the master's own server (its UUID or server_id, and any in master_ids): the method of Dolphie.
    MySQL: gtid_executed(replica) − gtid_executed(master). MariaDB: a (domain, server) pair of the
    replica's gtid_binlog_state whose sequence number the master's state does not reach."""
    if replica.flavor != master.flavor:
        return ""
    own = {i.lower() for i in (master_ids or set())}
    if master.flavor == "mysql":
        own.add(master.variables.get("server_uuid", "").lower())
        extra = subtract_gtid_sets(parse_gtid_set(replica.executed), parse_gtid_set(master.executed))
        return format_gtid_set({k: v for k, v in extra.items() if k.split(":")[0] not in own})
    own.add(master.variables.get("server_id", ""))
    have = {(d, s): n for d, s, n in parse_mariadb_gtids(master.executed)}
    errant = [f"{d}-{s}-{n}" for d, s, n in parse_mariadb_gtids(replica.executed)
              if str(s) not in own and have.get((d, s), -1) < n]
    return ",".join(errant)
