"""Live facts the interlocks need, read through a Runner: who holds the VIP, DRBD state per node, the
MySQL replica and master status, whether a host answers.

DRBD and MySQL outputs are parsed by tui.health (the one parser of each format in the project); this
module only picks the fields the interlocks need.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass

from tui.health.drbd import DrbdResource, parse_drbd
from tui.health.mysql import (
    ServerInfo,
    parse_master_status,
    parse_replica_status,
    parse_variables,
    server_info,
    variables_sql,
)
from tui.procedures.cluster_view import ClusterView
from tui.runner import HostUnreachable, Runner

PROBE_TIMEOUT = 8.0


def mysql_argv(cluster: ClusterView, *sql_and_flags: str) -> list[str]:
    """`mysql --defaults-extra-file=OPT ...`: credentials come from the option file on the remote host."""
    argv = ["mysql"]
    if cluster.mysql and cluster.mysql.option_file:
        argv.append(f"--defaults-extra-file={cluster.mysql.option_file}")
    argv += list(sql_and_flags)
    return argv


@dataclass(frozen=True)
class ReplicaStatus:
    host: str
    configured: bool
    io_running: str
    sql_running: str
    lag: int | None
    last_sql_errno: int
    last_sql_error: str
    last_io_error: str
    relay_master_log_file: str
    exec_master_log_pos: int | None
    master_host: str
    using_gtid: str = ""  # MariaDB Using_Gtid (No, Slave_Pos, Current_Pos); MySQL: "Auto_Position" or "No"
    master_server_id: str = ""
    relay_log_file: str = ""
    relay_log_pos: int | None = None

    @property
    def threads_running(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes"

    @property
    def caught_up(self) -> bool:
        return self.threads_running and self.lag == 0

    def describe(self) -> str:
        if not self.configured:
            return "not a replica"
        lag = "NULL" if self.lag is None else f"{self.lag}s"
        return f"IO {self.io_running}, SQL {self.sql_running}, lag {lag}"


def replica_status_from_text(host: str, text: str) -> ReplicaStatus:
    status = parse_replica_status(text)
    if not status.channels:
        return ReplicaStatus(host, False, "", "", None, 0, "", "", "", None, "", "No")
    channel = status.channels[0]
    return ReplicaStatus(
        host=host,
        configured=True,
        io_running=channel.io_running,
        sql_running=channel.sql_running,
        lag=channel.seconds_behind,
        last_sql_errno=channel.last_sql_errno,
        last_sql_error=channel.last_sql_error.strip(),
        last_io_error=channel.last_io_error.strip(),
        relay_master_log_file=channel.relay_master_log_file,
        exec_master_log_pos=channel.exec_master_log_pos,
        master_host=channel.master_host,
        using_gtid=channel.raw.get("Using_Gtid")
        or ("Auto_Position" if channel.raw.get("Auto_Position") == "1" else "No"),
        master_server_id=channel.raw.get("Master_Server_Id") or channel.raw.get("Source_Server_Id") or "",
        relay_log_file=channel.raw.get("Relay_Log_File", ""),
        relay_log_pos=int(channel.raw["Relay_Log_Pos"]) if channel.raw.get("Relay_Log_Pos", "").isdigit() else None,
    )


class ProbeFailed(Exception):
    """A probe command ran but failed (mysql down, drbdadm error); the message says which and why."""


async def replica_status(runner: Runner, cluster: ClusterView, host: str) -> ReplicaStatus:
    result = await runner.run(host, mysql_argv(cluster, "-e", "SHOW SLAVE STATUS\\G"), timeout=PROBE_TIMEOUT)
    if not result.ok:
        raise ProbeFailed(f"{host}: SHOW SLAVE STATUS failed (rc {result.exit_code}): {result.stderr.strip()[:200]}")
    return replica_status_from_text(host, result.stdout)


async def master_status(runner: Runner, cluster: ClusterView, host: str) -> tuple[str, int] | None:
    result = await runner.run(host, mysql_argv(cluster, "-e", "SHOW MASTER STATUS\\G"), timeout=PROBE_TIMEOUT)
    if not result.ok:
        raise ProbeFailed(f"{host}: SHOW MASTER STATUS failed (rc {result.exit_code}): {result.stderr.strip()[:200]}")
    status = parse_master_status(result.stdout)
    if status.file is None or status.position is None:
        return None
    return status.file, status.position


async def mysql_server(runner: Runner, cluster: ClusterView, host: str) -> ServerInfo:
    """Flavor, version and GTID variables of the server on host (one `SHOW GLOBAL VARIABLES`)."""
    result = await runner.run(host, mysql_argv(cluster, "-N", "-B", "-e", variables_sql()), timeout=PROBE_TIMEOUT)
    if not result.ok:
        raise ProbeFailed(f"{host}: SHOW GLOBAL VARIABLES failed (rc {result.exit_code}): {result.stderr.strip()[:200]}")
    variables = parse_variables(result.stdout)
    if "version" not in variables:
        raise ProbeFailed(f"{host}: SHOW GLOBAL VARIABLES gave no version: {result.stdout.strip()[:120]!r}")
    return server_info(variables)


async def acting_master(runner: Runner, cluster: ClusterView) -> str | None:
    """The member that is the MySQL master now (writable and not a replica): after a failover or a promote
    it is no longer the one hosts.yaml names. None when no member, or more than one, looks like it."""
    async def one(member: str) -> str | None:
        with contextlib.suppress(HostUnreachable, ProbeFailed):
            info = await mysql_server(runner, cluster, member)
            if info.variables.get("read_only") == "OFF" and not (await replica_status(runner, cluster, member)).configured:
                return member
        return None

    found = [m for m in await asyncio.gather(*(one(m) for m in cluster.members)) if m]
    return found[0] if len(found) == 1 else None


async def process_alive(runner: Runner, host: str, pidfile: str) -> bool:
    """The process of a pid file runs (`pkill -0 -F`: 0 it does; 1 it does not; a missing file: not)."""
    result = await runner.run(host, ["pkill", "-0", "-F", pidfile], timeout=PROBE_TIMEOUT)
    return result.exit_code == 0


async def read_text(runner: Runner, host: str, path: str) -> str | None:
    """A small remote file's text, or None when it cannot be read."""
    result = await runner.run(host, ["cat", "--", path], timeout=PROBE_TIMEOUT)
    return result.stdout if result.ok else None


def addresses_from_ip_o(text: str) -> set[str]:
    """IPv4/IPv6 addresses in `ip -o addr show` output."""
    return set(re.findall(r"\binet6?\s+([0-9a-fA-F.:]+)/\d+", text))


async def holds_address(runner: Runner, host: str, address: str, interface: str) -> bool:
    result = await runner.run(host, ["ip", "-o", "addr", "show", "dev", interface], timeout=PROBE_TIMEOUT)
    if not result.ok:
        raise ProbeFailed(f"{host}: ip addr show dev {interface} failed: {result.stderr.strip()[:200]}")
    return address in addresses_from_ip_o(result.stdout)


async def vip_holders(runner: Runner, cluster: ClusterView) -> tuple[list[str], dict[str, str]]:
    """(holders, {unreachable member: reason}) for the cluster's VIP, asked of every member at once."""
    assert cluster.vip is not None
    vip = cluster.vip

    async def one(member: str) -> tuple[str, bool | str]:
        try:
            return member, await holds_address(runner, member, vip.address, vip.interface)
        except HostUnreachable as exc:
            return member, exc.reason

    answers = await asyncio.gather(*(one(m) for m in cluster.members))
    holders = [m for m, held in answers if held is True]
    unreachable = {m: held for m, held in answers if isinstance(held, str)}
    return holders, unreachable


async def reachable(runner: Runner, host: str) -> tuple[bool, str]:
    try:
        result = await runner.run(host, ["true"], timeout=PROBE_TIMEOUT)
    except HostUnreachable as exc:
        return False, exc.reason
    return result.ok, "" if result.ok else f"rc {result.exit_code}"


async def drbd_resource(runner: Runner, host: str, resource: str, version: str = "9") -> DrbdResource | None:
    """One resource's state on host: `drbdadm status RES` (DRBD 9), or /proc/drbd for DRBD 8.x, whose
    minor is found with `drbdadm sh-minor RES`."""
    if version.startswith("8"):
        minor = await runner.run(host, ["drbdadm", "sh-minor", resource], timeout=PROBE_TIMEOUT)
        if not minor.ok or not minor.stdout.strip().isdigit():
            raise ProbeFailed(f"{host}: drbdadm sh-minor {resource} failed (rc {minor.exit_code}): "
                              f"{(minor.stderr or minor.stdout).strip()[:200]}")
        proc = await runner.run(host, ["cat", "/proc/drbd"], timeout=PROBE_TIMEOUT)
        if not proc.ok:
            raise ProbeFailed(f"{host}: cannot read /proc/drbd: {proc.stderr.strip()[:200]}")
        found = parse_drbd(proc.stdout).resource(f"drbd{int(minor.stdout.strip())}")
        if found is not None:
            found.name = resource
        return found
    result = await runner.run(host, ["drbdadm", "status", resource], timeout=PROBE_TIMEOUT)
    if not result.ok:
        raise ProbeFailed(f"{host}: drbdadm status {resource} failed (rc {result.exit_code}): "
                          f"{(result.stderr or result.stdout).strip()[:200]}")
    return parse_drbd(result.stdout).resource(resource)


def drbd_evidence_argv(resource: str, version: str = "9") -> list[str]:
    """The most detailed status command of the version (out-of-sync and bytes written per side)."""
    if version.startswith("8"):
        return ["cat", "/proc/drbd"]
    return ["drbdsetup", "status", resource, "--verbose", "--statistics"]


def peer_connection(res: DrbdResource) -> str:
    return ",".join(c.connection or "?" for c in res.connections) or "none"


def peer_disks(res: DrbdResource) -> str:
    return ",".join(p.peer_disk or "?" for c in res.connections for p in c.devices) or "?"


def local_disk(res: DrbdResource) -> str:
    return ",".join(d.disk or "?" for d in res.devices) or "?"


def is_standalone(res: DrbdResource) -> bool:
    return bool(res.connections) and all(c.connection == "StandAlone" for c in res.connections)


def resync_running(res: DrbdResource) -> bool:
    return any((p.replication or "").startswith(("Sync", "PausedSync", "WFBitMap", "StartingSync"))
               for c in res.connections for p in c.devices)


def resync_done_percent(res: DrbdResource) -> float | None:
    values = [p.done for c in res.connections for p in c.devices if p.done is not None]
    return min(values) if values else None
