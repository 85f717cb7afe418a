"""mysql-resync (rebuild a broken replica from the master or from a healthy replica, at the right binlog
coordinates, the dump streaming over SSH from the source host to the broken replica) and mysql-skip-one
(skip the one event that stopped the SQL thread, with its drift warning).

Both keep the replica's replication mode: a GTID replica (MariaDB `MASTER_USE_GTID=slave_pos`, MySQL
auto-position) is rebuilt at the dump's GTID position and skips by GTID (MariaDB: gtid_slave_pos moves past
the failing transaction; MySQL: an empty transaction takes its GTID); a file/position replica uses the
dump's coordinates and the skip counter. Statements are worded for the server's version (tui.procedures.
mysql_dialect). Credentials never appear in SQL or argv: every client runs with `--defaults-extra-file` of
the cluster's option file on the host where it runs. Values captured during the run are checked (file name
pattern, integer position, GTID characters) before they enter a statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shlex
from typing import Any

from tui.health.mysql import ServerInfo, parse_mariadb_gtids, parse_vertical
from tui.procedures import interlocks, live, validation
from tui.procedures.model import DISRUPTIVE, Check, Param, Procedure, RunContext, Step
from tui.procedures.mysql_dialect import PASSWORD_MARKER, Dialect, piped_with_password
from tui.runner import HostUnreachable, RunResult

DUMP_DIR = "/var/tmp"
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
_CHANGE_MASTER_COMMENT = re.compile(
    r"CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)',\s*(?:MASTER|SOURCE)_LOG_POS=(\d+)")
_GTID_SLAVE_POS_COMMENT = re.compile(r"SET GLOBAL gtid_slave_pos\s*=\s*'([0-9,-]*)'")
_MARIADB_FAILING_GTID = re.compile(r"\bGtid (\d+-\d+-\d+)")
_MYSQL_FAILING_GTID = re.compile(r"failed executing transaction '([0-9a-fA-F-]{36}(?::[a-z_][a-z0-9_]*)?:\d+)'")


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
    gtid = _GTID_SLAVE_POS_COMMENT.search(result.stdout)
    if gtid:
        facts["gtid_pos"] = gtid.group(1)
    elif facts.get("gtid_mariadb"):
        raise ValueError("no gtid_slave_pos comment in the dump header (was --gtid honoured?)")


def capture_gtid_slave_pos(result: RunResult, facts: dict[str, Any]) -> None:
    value = result.stdout.strip()
    if value and not parse_mariadb_gtids(value):
        raise ValueError(f"unexpected gtid_slave_pos {value[:80]!r}")
    facts["gtid_pos"] = value


def gtid_after(current_pos: str, failing: str) -> str:
    """MariaDB: gtid_slave_pos with the failing transaction's domain moved to it (the others unchanged)."""
    if not re.match(r"^[0-9, -]*$", current_pos) or not re.match(r"^\d+-\d+-\d+$", failing):
        raise validation.ValidationError(f"unexpected GTID position {current_pos!r} / {failing!r}")
    domain = failing.split("-")[0]
    kept = [g for g in current_pos.replace(" ", "").split(",") if g and g.split("-")[0] != domain]
    return ",".join(sorted(kept + [failing], key=lambda g: int(g.split("-")[0])))


def relay_event_gtid(text: str) -> str | None:
    """The first GTID in SHOW RELAYLOG EVENTS output: MariaDB "BEGIN GTID 0-1-2", MySQL
    "SET @@SESSION.GTID_NEXT= 'uuid:n'"."""
    for row in parse_vertical(text):
        info = row.get("Info", "")
        match = re.search(r"\bGTID (\d+-\d+-\d+)", info) or re.search(r"GTID_NEXT\s*=\s*'([0-9a-fA-F:-]+)'", info)
        if match:
            return match.group(1)
    return None


def failing_gtid(info: ServerInfo, error: str) -> str | None:
    """The GTID of the transaction that stopped the SQL thread, from Last_SQL_Error."""
    pattern = _MYSQL_FAILING_GTID if info.flavor == "mysql" else _MARIADB_FAILING_GTID
    match = pattern.search(error)
    return match.group(1) if match else None


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
        # after a failover or a promote the master is no longer the one hosts.yaml names
        acting = await live.acting_master(ctx.runner, cluster)
        if acting is not None and acting != mysql.master:
            others = tuple(m for m in cluster.members if m != acting)
            mysql = dataclasses.replace(mysql, master=acting, replicas=others)
            cluster = dataclasses.replace(cluster, mysql=mysql)
            ctx.cluster = cluster
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
            ctx.facts["gtid"] = broken.using_gtid not in ("", "No")
            ctx.facts["using_gtid"] = broken.using_gtid
            ctx.facts["was_replica"] = broken.configured
        except (HostUnreachable, live.ProbeFailed) as exc:
            master_host = cluster.host_addresses.get(mysql.master, mysql.master)
            checks.append(Check(f"replica {replica} MySQL answers", False, "", str(exc)))
        checks += await self._replication_mode(ctx, replica, source_host)
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

    async def _replication_mode(self, ctx: RunContext, replica: str, source_host: str) -> list[Check]:
        """The servers' versions (for the wording) and the mode the replica keeps: GTID or file/position."""
        try:
            replica_info, source_info = await asyncio.gather(
                live.mysql_server(ctx.runner, ctx.cluster, replica), live.mysql_server(ctx.runner, ctx.cluster, source_host))
        except (HostUnreachable, live.ProbeFailed) as exc:
            return [Check("server versions", False, "", str(exc))]
        if ctx.facts.get("was_replica") is False and replica_info.gtid_on and source_info.gtid_on:
            # not a replica yet (a former master rejoining): GTID, which both servers have
            ctx.facts.update(gtid=True, using_gtid="Slave_Pos" if replica_info.flavor == "mariadb" else "Auto_Position")
        gtid = bool(ctx.facts.get("gtid"))
        ctx.facts.update(replica_info=replica_info, source_info=source_info,
                         gtid_mariadb=gtid and replica_info.flavor == "mariadb")
        version = ".".join(map(str, replica_info.version))
        return [Check(f"replication mode of {replica} (kept)", True,
                      f"{replica_info.flavor} {version}, " + (f"GTID ({ctx.facts.get('using_gtid')})" if gtid
                                                              else "file/position"))]

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
        if "databases" not in facts or not facts.get("master_host") or "replica_info" not in facts:
            return []
        replica, source, source_host = facts["replica"], facts["source"], facts["source_host"]
        on_replica, on_source = Dialect(facts["replica_info"]), Dialect(facts["source_info"])
        gtid, mariadb_gtid = bool(facts.get("gtid")), bool(facts.get("gtid_mariadb"))
        dump_file = f"{DUMP_DIR}/hascreen-resync-{ctx.cluster.name}.sql"
        opts = _option_args(ctx)
        dump = ["mysqldump", *opts, "--add-drop-database", "--routines", "--triggers", "--events"]
        if source == "master":
            if ctx.args.get("lock") == "read-lock":
                dump += ["--lock-all-tables", on_source.dump_source_data]  # FTWRL, binlog status, dump: one session
            else:
                dump += ["--single-transaction", on_source.dump_source_data]
            if mariadb_gtid:
                dump.append("--gtid")  # the header also carries gtid_slave_pos
        else:
            dump += ["--single-transaction"]
        dump += ["--databases", *facts["databases"]]
        fetch = ["sh", "-c", "umask 077 && " + shlex.join(self._ssh(facts["source_address"], dump))
                 + " > " + shlex.quote(dump_file)]
        # the restore must not log: its transactions would be errant GTIDs of the replica
        restore = ["sh", "-c", "{ echo 'SET SESSION sql_log_bin=0;'; cat " + shlex.quote(dump_file) + "; } | "
                   + shlex.join(["mysql", *opts])]
        mysql = ctx.cluster.mysql
        port = mysql.port if mysql else 3306
        # a former master rejoining has no replication user of its own: the one hosts.yaml names, with the
        # password read on the node (an existing replica keeps its user: RESET REPLICA leaves it)
        new_user = facts.get("was_replica") is False and mysql is not None and bool(
            mysql.replication_user and mysql.replication_password_file)
        change = on_replica.change_source(host=facts["master_host"], port=port, gtid=gtid,
                                          user=mysql.replication_user if new_user and mysql else None,
                                          password=PASSWORD_MARKER if new_user else None,
                                          log_file="{master_log_file}", log_pos="{master_log_pos}")
        if mariadb_gtid:
            change = "SET GLOBAL gtid_slave_pos='{gtid_pos}'; " + change
        if new_user and mysql and mysql.replication_password_file:
            point = Step(replica, piped_with_password(change, mysql.replication_password_file,
                                                      live.mysql_argv(ctx.cluster)),
                         f"point the replica at the master ({'GTID' if gtid else 'file/position'}) as "
                         f"{mysql.replication_user}, the password from {mysql.replication_password_file} on {replica}")
        else:
            point = _sql(ctx, replica, change, f"point the replica at the master "
                                               f"({'GTID' if gtid else 'file/position'}, as before)")
        steps = [_sql(ctx, replica, on_replica.stop_replica, f"stop replication on the broken replica {replica}",
                      rollback=f"on {replica}: {on_replica.start_replica}")]
        if source == "master":
            steps += [
                Step(replica, fetch, f"dump {source_host} over ssh into {dump_file} on {replica} "
                     "(coordinates in its header)", timeout=3600.0),
                Step(replica, ["grep", "-m", "2", "-E",
                               "^-- (CHANGE (MASTER|REPLICATION SOURCE) TO (MASTER|SOURCE)_LOG_FILE|"
                               "SET GLOBAL gtid_slave_pos)", dump_file],
                     "read the master coordinates" + (" and GTID position" if mariadb_gtid else "")
                     + " from the dump header", capture=capture_dump_coordinates),
            ]
        else:
            steps += [
                _sql(ctx, source_host, on_source.stop_replica, f"pause the healthy replica {source_host}",
                     rollback=f"on {source_host}: {on_source.start_replica}"),
                Step(source_host, live.mysql_argv(ctx.cluster, "-e", on_source.show_replica_status + "\\G"),
                     "record Relay_Master_Log_File and Exec_Master_Log_Pos", capture=capture_replica_coordinates),
            ]
            if mariadb_gtid:
                steps.append(Step(source_host, live.mysql_argv(ctx.cluster, "-N", "-B", "-e", "SELECT @@gtid_slave_pos"),
                                  "record its GTID position", capture=capture_gtid_slave_pos))
            steps += [
                Step(replica, fetch, f"dump {source_host} over ssh into {dump_file} on {replica}", timeout=3600.0),
                _sql(ctx, source_host, on_source.start_replica, f"resume the healthy replica {source_host}"),
            ]
        steps.append(_sql(ctx, replica, on_replica.reset_replica, "forget the old relay logs and position"))
        if gtid and not mariadb_gtid:
            steps.append(_sql(ctx, replica, on_replica.reset_binlogs,
                              "empty the replica's gtid_executed: the dump sets GTID_PURGED"))
        steps += [
            Step(replica, restore, f"restore the dump on {replica} (not logged)", timeout=3600.0),
            point,
            _sql(ctx, replica, on_replica.start_replica, "start replication"),
            Step(replica, ["rm", "-f", dump_file], "remove the dump file"),
        ]
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        replica = ctx.facts["replica"]
        checks = [await interlocks.replica_caught_up(ctx, replica)]
        status = await live.replica_status(ctx.runner, ctx.cluster, replica)
        before = ctx.facts.get("using_gtid") or "No"
        checks.append(Check(f"replica {replica} kept its mode", status.using_gtid == before, status.using_gtid,
                            f"was {before}"))
        return checks


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
        if not all(c.ok for c in checks):
            return checks
        try:
            info = await live.mysql_server(ctx.runner, ctx.cluster, replica)
        except (HostUnreachable, live.ProbeFailed) as exc:
            return checks + [Check(f"replica {replica} server version", False, "", str(exc))]
        ctx.facts["replica_info"] = info
        gtid = status.using_gtid not in ("", "No")
        ctx.facts["gtid"] = gtid
        if not gtid:
            checks.append(Check("skip method", True, f"{Dialect(info).skip_counter}=1 (file/position replica)"))
            return checks
        failing = failing_gtid(info, status.last_sql_error) or await self._gtid_at_relay_position(ctx, replica, status)
        checks.append(Check("GTID of the failing transaction", failing is not None, failing or "not in the error",
                            "a GTID replica skips by GTID: Last_SQL_Error names none (look it up in "
                            "the relay log, or use mysql-resync)"))
        if failing is not None:
            ctx.facts["failing_gtid"] = failing
            if info.flavor == "mariadb":
                current = info.variables.get("gtid_slave_pos", "")
                ctx.facts["new_gtid_pos"] = gtid_after(current, failing)
                checks.append(Check("skip method", True, f"gtid_slave_pos {current or '(empty)'} → "
                                                         f"{ctx.facts['new_gtid_pos']}"))
            else:
                checks.append(Check("skip method", True, f"an empty transaction with GTID {failing}"))
        return checks

    @staticmethod
    async def _gtid_at_relay_position(ctx: RunContext, replica: str, status: live.ReplicaStatus) -> str | None:
        """The GTID event where the SQL thread stopped: it restarts at Relay_Log_Pos, the failing group's start."""
        if not status.relay_log_file or status.relay_log_pos is None:
            return None
        try:
            file = validation.binlog_file(status.relay_log_file)
        except validation.ValidationError:
            return None
        sql = f"SHOW RELAYLOG EVENTS IN '{file}' FROM {int(status.relay_log_pos)} LIMIT 3"
        result = await ctx.runner.run(replica, live.mysql_argv(ctx.cluster, "-e", sql + "\\G"), timeout=10.0)
        return relay_event_gtid(result.stdout) if result.ok else None

    async def plan(self, ctx: RunContext) -> list[Step]:
        replica = ctx.facts.get("replica")
        if replica is None:
            return []
        info: ServerInfo | None = ctx.facts.get("replica_info")
        if info is None:
            return []
        dialect = Dialect(info)
        warning = ("skips ONE transaction; the replica then differs from the master for that row "
                   "(drift): consider mysql-resync later")
        if not ctx.facts.get("gtid"):
            return [
                _sql(ctx, replica, f"SET GLOBAL {dialect.skip_counter}=1", warning),
                _sql(ctx, replica, f"{dialect.start_replica} SQL_THREAD", "restart the SQL thread"),
            ]
        failing = ctx.facts.get("failing_gtid")
        if failing is None:
            return []
        if info.flavor == "mariadb":
            return [
                _sql(ctx, replica, f"{dialect.stop_replica}; SET GLOBAL gtid_slave_pos='{ctx.facts['new_gtid_pos']}'",
                     f"move gtid_slave_pos past {failing}: {warning}"),
                _sql(ctx, replica, dialect.start_replica, "start replication again"),
            ]
        return [
            _sql(ctx, replica, f"SET GTID_NEXT='{failing}'; BEGIN; COMMIT; SET GTID_NEXT='AUTOMATIC'",
                 f"an empty transaction takes the GTID {failing}: {warning}"),
            _sql(ctx, replica, f"{dialect.start_replica} SQL_THREAD", "restart the SQL thread"),
        ]

    async def verify(self, ctx: RunContext) -> list[Check]:
        replica = ctx.facts["replica"]
        status = await live.replica_status(ctx.runner, ctx.cluster, replica)
        return [
            Check(f"replica {replica} threads running", status.threads_running, status.describe(),
                  status.last_sql_error[:200]),
            Check(f"replica {replica} caught up", status.caught_up, status.describe()),
        ]
