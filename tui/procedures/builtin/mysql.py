"""mysql-resync (rebuild a broken replica from the master or from a healthy replica, at the right binlog
coordinates, the dump streaming over SSH from the source host to the broken replica) and mysql-skip-one
(skip the one event that stopped the SQL thread, with its drift warning).

Credentials never appear in SQL or argv: every client runs with `--defaults-extra-file` of the cluster's
option file on the host where it runs. Coordinates captured during the run are checked (file name pattern,
integer position) before they enter the CHANGE MASTER statement.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from tui.procedures import interlocks, live, validation
from tui.procedures.model import DISRUPTIVE, Check, Param, Procedure, RunContext, Step
from tui.runner import HostUnreachable, RunResult

DUMP_DIR = "/var/tmp"
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
_CHANGE_MASTER_COMMENT = re.compile(
    r"CHANGE MASTER TO MASTER_LOG_FILE='([^']+)',\s*MASTER_LOG_POS=(\d+)")


def _option_args(ctx: RunContext) -> list[str]:
    mysql = ctx.cluster.mysql
    return [f"--defaults-extra-file={mysql.option_file}"] if mysql and mysql.option_file else []


def _sql(ctx: RunContext, host: str, sql: str, note: str, **kw: Any) -> Step:
    return Step(host, live.mysql_argv(ctx.cluster, "-e", sql), note, **kw)


def capture_dump_coordinates(result: RunResult, facts: dict[str, Any]) -> None:
    match = _CHANGE_MASTER_COMMENT.search(result.stdout)
    if not match:
        raise ValueError("no CHANGE MASTER comment in the dump header (was --master-data=2 honoured?)")
    facts["master_log_file"] = validation.binlog_file(match.group(1))
    facts["master_log_pos"] = validation.binlog_position(match.group(2))


def capture_replica_coordinates(result: RunResult, facts: dict[str, Any]) -> None:
    status = live.replica_status_from_text("source", result.stdout)
    if status.sql_running == "Yes":
        raise ValueError("the source replica's SQL thread is still running; coordinates would move")
    facts["master_log_file"] = validation.binlog_file(status.relay_master_log_file)
    facts["master_log_pos"] = validation.binlog_position(status.exec_master_log_pos)


class MysqlResync(Procedure):
    name = "mysql-resync"
    note = "rebuild a broken replica from a dump of the master or of a healthy replica"
    danger = DISRUPTIVE
    params = (
        Param("replica", "the broken replica to rebuild (default: the only replica)", member=True),
        Param("source", "'master' or the name of a healthy replica to dump from", default="master"),
        Param("lock", "dump from the master with 'single-transaction' (InnoDB) or a 'read-lock' held by "
              "mysqldump's own session", default="single-transaction", choices=("single-transaction", "read-lock")),
        Param("databases", "comma-separated databases to copy (default: every non-system database)"),
    )
    verify_timeout = 60.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        cluster = ctx.cluster
        mysql = cluster.mysql
        if mysql is None or not mysql.master:
            return [Check("MySQL configured", False, "", "hosts.yaml gives no mysql.master for this cluster")]
        replica = ctx.args.get("replica") or (mysql.replicas[0] if len(mysql.replicas) == 1 else None)
        if replica is None or replica not in mysql.replicas:
            return [Check("replica to rebuild", False, str(replica),
                          f"give --replica, one of: {', '.join(mysql.replicas) or 'none configured'}")]
        if replica == mysql.master:
            return [Check("replica is not the master", False, replica, "refusing to overwrite the master")]
        source = ctx.args.get("source") or "master"
        source_host = mysql.master if source == "master" else source
        if source != "master" and (source not in mysql.replicas or source == replica):
            return [Check("source replica", False, source,
                          f"must be another replica: {', '.join(r for r in mysql.replicas if r != replica)}")]
        ctx.facts.update(replica=replica, source=source, source_host=source_host)
        checks = [await interlocks.reachable(ctx, replica), await interlocks.reachable(ctx, source_host)]
        if not all(c.ok for c in checks):
            return checks
        # The master must write binlogs, else there are no coordinates to resume from.
        try:
            coords = await live.master_status(ctx.runner, cluster, mysql.master)
        except (HostUnreachable, live.ProbeFailed) as exc:
            coords = None
            checks.append(Check(f"master {mysql.master} binlog", False, "", str(exc)))
        else:
            checks.append(Check(f"master {mysql.master} binlog enabled", coords is not None,
                                f"{coords[0]}:{coords[1]}" if coords else "off",
                                "" if coords else "SHOW MASTER STATUS is empty: log-bin is off"))
        # Where the broken replica should connect: what it used before, else the master's address.
        try:
            broken = await live.replica_status(ctx.runner, cluster, replica)
            master_host = broken.master_host or cluster.host_addresses.get(mysql.master, mysql.master)
            checks.append(Check(f"replica {replica} state", True, broken.describe()))
        except (HostUnreachable, live.ProbeFailed) as exc:
            master_host = cluster.host_addresses.get(mysql.master, mysql.master)
            checks.append(Check(f"replica {replica} MySQL answers", False, "", str(exc)))
        ctx.facts["master_host"] = self._valid_master_host(master_host) or self._valid_master_host(
            cluster.host_addresses.get(mysql.master, mysql.master))
        if ctx.facts["master_host"] is None:
            checks.append(Check("master address for CHANGE MASTER", False, str(master_host), "not an IP or host name"))
        if source != "master":
            status_check = await interlocks.replica_caught_up(ctx, source)
            checks.append(Check(f"source replica {source} healthy", status_check.ok, status_check.value,
                                status_check.reason))
        databases = ctx.args.get("databases")
        if databases:
            ctx.facts["databases"] = [validation.sql_identifier(d.strip()) for d in databases.split(",") if d.strip()]
        else:
            checks.append(await self._list_databases(ctx, source_host))
        # The dump streams replica ← source over SSH: the replica must reach the source without a prompt.
        address = cluster.host_addresses.get(source_host, source_host)
        ctx.facts["source_address"] = address
        try:
            result = await ctx.runner.run(replica, self._ssh(address, ["true"]), timeout=15.0)
            ok, reason = result.ok, result.stderr.strip()[:200]
        except HostUnreachable as exc:
            ok, reason = False, exc.reason
        checks.append(Check(f"{replica} can ssh to {source_host} ({address})", ok, "yes" if ok else "no",
                            reason or "BatchMode ssh failed"))
        return checks

    @staticmethod
    def _valid_master_host(value: str) -> str | None:
        for check in (validation.ip_address, validation.host_name):
            try:
                return check(value)
            except validation.ValidationError:
                pass
        return None

    async def _list_databases(self, ctx: RunContext, host: str) -> Check:
        sql = ("SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ("
               + ",".join(f"'{s}'" for s in SYSTEM_SCHEMAS) + ") ORDER BY schema_name")
        try:
            result = await ctx.runner.run(host, live.mysql_argv(ctx.cluster, "-N", "-B", "-e", sql), timeout=10.0)
        except HostUnreachable as exc:
            return Check(f"databases on {host}", False, "", exc.reason)
        if not result.ok:
            return Check(f"databases on {host}", False, "", result.stderr.strip()[:200])
        try:
            names = [validation.sql_identifier(line.strip()) for line in result.stdout.splitlines() if line.strip()]
        except validation.ValidationError as exc:
            return Check(f"databases on {host}", False, "", f"{exc}; give --databases")
        ctx.facts["databases"] = names
        return Check(f"databases on {host}", bool(names), ", ".join(names) or "none",
                     "" if names else "nothing to copy")

    @staticmethod
    def _ssh(address: str, remote_argv: list[str]) -> list[str]:
        return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "--", address, shlex.join(remote_argv)]

    async def plan(self, ctx: RunContext) -> list[Step]:
        facts = ctx.facts
        if "databases" not in facts or not facts.get("master_host"):
            return []
        replica, source, source_host = facts["replica"], facts["source"], facts["source_host"]
        dump_file = f"{DUMP_DIR}/hascreen-resync-{ctx.cluster.name}.sql"
        opts = _option_args(ctx)
        dump = ["mysqldump", *opts, "--add-drop-database", "--routines", "--triggers", "--events"]
        if source == "master":
            if ctx.args.get("lock") == "read-lock":
                dump += ["--lock-all-tables", "--master-data=2"]  # FTWRL, SHOW MASTER STATUS, dump: one session
            else:
                dump += ["--single-transaction", "--master-data=2"]
        else:
            dump += ["--single-transaction"]
        dump += ["--databases", *facts["databases"]]
        fetch = ["sh", "-c", "umask 077 && " + shlex.join(self._ssh(facts["source_address"], dump))
                 + " > " + shlex.quote(dump_file)]
        restore = ["sh", "-c", shlex.join(["mysql", *opts]) + " < " + shlex.quote(dump_file)]
        change = ("CHANGE MASTER TO MASTER_HOST='" + facts["master_host"]
                  + "', MASTER_LOG_FILE='{master_log_file}', MASTER_LOG_POS={master_log_pos}")
        steps = [_sql(ctx, replica, "STOP SLAVE", f"stop replication on the broken replica {replica}",
                      rollback=f"on {replica}: START SLAVE")]
        if source == "master":
            steps += [
                Step(replica, fetch, f"dump {source_host} over ssh into {dump_file} on {replica} "
                     "(coordinates in its header)", timeout=3600.0),
                Step(replica, ["grep", "-m", "1", "-E", "^-- CHANGE MASTER TO", dump_file],
                     "read the master coordinates from the dump header", capture=capture_dump_coordinates),
            ]
        else:
            steps += [
                _sql(ctx, source_host, "STOP SLAVE", f"pause the healthy replica {source_host}",
                     rollback=f"on {source_host}: START SLAVE"),
                Step(source_host, live.mysql_argv(ctx.cluster, "-e", "SHOW SLAVE STATUS\\G"),
                     "record Relay_Master_Log_File and Exec_Master_Log_Pos", capture=capture_replica_coordinates),
                Step(replica, fetch, f"dump {source_host} over ssh into {dump_file} on {replica}", timeout=3600.0),
                _sql(ctx, source_host, "START SLAVE", f"resume the healthy replica {source_host}"),
            ]
        steps += [
            _sql(ctx, replica, "RESET SLAVE", "forget the old relay logs and position"),
            Step(replica, restore, f"restore the dump on {replica}", timeout=3600.0),
            _sql(ctx, replica, change, "point the replica at the master coordinates (one statement)"),
            _sql(ctx, replica, "START SLAVE", "start replication"),
            Step(replica, ["rm", "-f", dump_file], "remove the dump file"),
        ]
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        return [await interlocks.replica_caught_up(ctx, ctx.facts["replica"])]


class MysqlSkipOne(Procedure):
    name = "mysql-skip-one"
    note = "skip the one replication event that stopped the SQL thread (leaves drift)"
    danger = DISRUPTIVE
    params = (Param("replica", "the stopped replica (default: the only replica)", member=True),)
    verify_timeout = 20.0

    async def preflight(self, ctx: RunContext) -> list[Check]:
        mysql = ctx.cluster.mysql
        if mysql is None:
            return [Check("MySQL configured", False, "", "hosts.yaml gives no mysql for this cluster")]
        replica = ctx.args.get("replica") or (mysql.replicas[0] if len(mysql.replicas) == 1 else None)
        if replica is None or replica not in mysql.replicas:
            return [Check("replica", False, str(replica), f"give --replica, one of: {', '.join(mysql.replicas)}")]
        ctx.facts["replica"] = replica
        try:
            status = await live.replica_status(ctx.runner, ctx.cluster, replica)
        except (HostUnreachable, live.ProbeFailed) as exc:
            return [Check(f"replica {replica} status", False, "", str(exc))]
        checks = [
            Check("SQL thread stopped", status.configured and status.sql_running == "No", status.describe(),
                  "skipping is only for a stopped SQL thread"),
            Check("Last_SQL_Error present", bool(status.last_sql_error),
                  f"{status.last_sql_errno}: {status.last_sql_error[:300]}" if status.last_sql_error else "empty",
                  "no error to skip: find out why the thread stopped first"),
        ]
        ctx.facts["error"] = status.last_sql_error
        return checks

    async def plan(self, ctx: RunContext) -> list[Step]:
        replica = ctx.facts.get("replica")
        if replica is None:
            return []
        warning = ("skips ONE event; the replica then differs from the master for that row "
                   "(drift): consider mysql-resync later")
        return [
            _sql(ctx, replica, "SET GLOBAL sql_slave_skip_counter=1", warning),
            _sql(ctx, replica, "START SLAVE SQL_THREAD", "restart the SQL thread"),
        ]

    async def verify(self, ctx: RunContext) -> list[Check]:
        replica = ctx.facts["replica"]
        status = await live.replica_status(ctx.runner, ctx.cluster, replica)
        return [
            Check(f"replica {replica} threads running", status.threads_running, status.describe(),
                  status.last_sql_error[:200]),
            Check(f"replica {replica} caught up", status.caught_up, status.describe()),
        ]
