"""Probes: run the right read-only commands on every member of a cluster, through a Runner, and judge them.

`probe_cluster(runner, cluster)` asks all members concurrently (one `asyncio.gather`). Each member gets ONE
script per poll (`tui.health.host_script`): every command below is a delimited section of it, bounded by
its own timeout, so a poll costs one SSH channel per host instead of one per command. A section that
fails or times out reads as that layer's unknown (with the reason); a host that is unreachable or does
not answer turns its own rows "unknown" (stale, with the reason) and never delays the others beyond the
timeout. The cluster object is duck-typed (`ClusterLike`), so this package does not depend on tui.config.

Commands (argv lists, one section each; the script quotes them):
- DRBD 9: `drbdsetup status --json`, and `drbdadm status` in the same script when that fails (or in a
  second run when its JSON is unusable); DRBD 8.4: `cat /proc/drbd`.
- MySQL: one `mysql [--defaults-extra-file=F] -e "SELECT @@read_only ...\\G SHOW MASTER STATUS\\G SHOW SLAVE
  STATUS\\G"` (credentials stay in the remote option file, never in argv); MySQL 8.4's statement names
  in the same script when that one fails.
- keepalived: one `sh -c` that prints `pidof keepalived`, the notify state file, the log tail and a fresh
  JSON dump if one exists; VIP presence from `ip -o addr show dev IF` (shared with the VIP layer). State comes
  from the notify file, else the JSON dump, else the log, else VIP presence. No signal is sent to keepalived.
- Heartbeat: one `sh -c` around `cl_status hbstatus / rscstatus / listnodes / nodestatus`.
- Pacemaker: `crm_mon -1 --output-as=xml` on each member; the first usable answer speaks for the cluster.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tui.health import drbd, hamanager, keepalived, mysql, vip
from tui.health.consistency import evaluate_consistency
from tui.health.host_script import Section, build_script, marker_of, split_output
from tui.health.model import CLUSTER_WIDE, ClusterHealth, HealthRow, State
from tui.runner import HostUnreachable, Runner, RunResult


class ClusterLike(Protocol):
    """What the probes read from tui.config's Cluster (any object with these attributes will do)."""

    name: str
    members: Sequence[str]
    manager: str  # keepalived | heartbeat | pacemaker | none
    drbd: Any
    mysql: Any
    keepalived: Any
    heartbeat: Any
    pacemaker: Any
    vip: Any


@dataclass(frozen=True)
class ProbeSettings:
    timeout: float = 5.0  # per command (a section of the host's script)
    per_host_limit: int = 2  # commands in flight per host (one script per cluster poll, plus rare fallbacks)
    log_lines: int = 200
    dump_max_age: float = 30.0  # seconds a keepalived JSON dump stays usable
    drbd: drbd.DrbdThresholds = drbd.DrbdThresholds()
    mysql: mysql.MysqlThresholds = mysql.MysqlThresholds()
    metrics_max_age: float = 90.0  # seconds: a Prometheus scrape older than this is stale (the row unknown)


class HostLimiter:
    """One semaphore per host, shared by every probe that runs on it (pass one to successive polls)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._gates: dict[str, asyncio.Semaphore] = {}

    def gate(self, host: str) -> asyncio.Semaphore:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = asyncio.Semaphore(self.limit)
        return gate


@dataclass
class ProbeMemory:
    """What a poller remembers between polls so that counters become rates: the last log line seen per
    (cluster, node), and the last resync progress per DRBD peer device (a resync that does not move
    across polls is "stalled")."""

    last_log_line: dict[tuple[str, str], str] = field(default_factory=dict)
    auth_counters: dict[tuple[str, str, str], int] = field(default_factory=dict)  # JSON dump auth failures
    resync: dict[tuple[str, str, str, str, int | None], tuple[float, int]] = field(default_factory=dict)
    stall_polls: int = 3


class _Failure(Exception):
    """A command could not give an answer (unreachable host or timeout); carries the reason."""


_SAFE_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


class _Poll:
    """One poll of one cluster: the sections each host's script runs, that one script per host, direct runs
    for the rare fallbacks, per-host limits, unreachable bookkeeping."""

    def __init__(self, runner: Runner, settings: ProbeSettings, limiter: HostLimiter) -> None:
        self.runner = runner
        self.settings = settings
        self.limiter = limiter
        self.unreachable: dict[str, str] = {}
        self._wanted: dict[str, list[Section]] = {}
        self._scripts: dict[str, asyncio.Task[dict[str, RunResult | None]]] = {}
        self._runs: dict[tuple[str, tuple[str, ...]], asyncio.Task[RunResult]] = {}

    @property
    def script_timeout(self) -> float:
        # Sections run one after another, each bounded by `timeout`: one hung tool still leaves time for the rest.
        return 2 * self.settings.timeout + 1.0

    def want(self, host: str, name: str, argv: Sequence[str], after_failure_of: str | None = None) -> None:
        """Add a section to the host's script (before the poll starts); the same section twice is one."""
        section = Section(name, tuple(argv), after_failure_of)
        sections = self._wanted.setdefault(host, [])
        known = next((s for s in sections if s.name == name), None)
        if known is not None:
            if known != section:
                raise ValueError(f"{host}: two different commands for section {name}")
            return
        if host in self._scripts:
            raise RuntimeError(f"{host}: section {name} wanted after the host's script started")
        sections.append(section)

    async def _run(self, host: str, argv: tuple[str, ...], timeout: float) -> RunResult:
        if host in self.unreachable:
            raise _Failure(self.unreachable[host])
        async with self.limiter.gate(host):
            if host in self.unreachable:
                raise _Failure(self.unreachable[host])
            try:
                # The runner has its own timeout; the outer one guards against a runner that hangs anyway.
                return await asyncio.wait_for(self.runner.run(host, list(argv), timeout=timeout), timeout + 1.0)
            except HostUnreachable as exc:
                # a row's reason is one line; the host-key advice (several lines) is for the ssh window
                first_line = exc.reason.splitlines()[0] if exc.reason else "unreachable"
                self.unreachable[host] = f"unreachable: {first_line}"
                raise _Failure(self.unreachable[host]) from exc
            except TimeoutError as exc:
                self.unreachable.setdefault(host, f"no answer within {timeout:g}s")
                raise _Failure(self.unreachable[host]) from exc
            except (OSError, ValueError, RuntimeError) as exc:
                # A transport error on one host must not take the whole layer down for the others.
                raise _Failure(f"{argv[0]} failed: {type(exc).__name__}: {exc}") from exc

    async def _run_script(self, host: str) -> dict[str, RunResult | None]:
        sections = self._wanted[host]
        argv = build_script(sections, self.settings.timeout)
        result = await self._run(host, tuple(argv), self.script_timeout)
        return split_output(sections, result, marker_of(argv))

    async def section(self, host: str, name: str) -> RunResult | None:
        """The section's own result from the host's script (None: a fallback that had no reason to run).
        Raises _Failure when the host did not answer or the section timed out."""
        task = self._scripts.get(host)
        if task is None:
            task = self._scripts[host] = asyncio.ensure_future(self._run_script(host))
        result = (await asyncio.shield(task))[name]
        if result is not None and result.exit_code == 124:
            argv0 = next(s.argv[0] for s in self._wanted[host] if s.name == name)
            raise _Failure(f"{argv0} timed out after {self.settings.timeout:g}s")
        return result

    async def run(self, host: str, argv: Sequence[str]) -> RunResult:
        """A command of its own (a second channel): only for fallbacks the script could not foresee."""
        key = (host, tuple(argv))
        task = self._runs.get(key)
        if task is None:
            task = self._runs[key] = asyncio.ensure_future(self._run(host, key[1], self.settings.timeout))
        result = await asyncio.shield(task)
        if result.exit_code == 124:
            raise _Failure(f"{argv[0]} timed out after {self.settings.timeout:g}s")
        return result


def _sections(text: str) -> dict[str, str]:
    """Split the output of our `sh -c` scripts at their `## name` marker lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        marker = re.match(r"^## hascreen:(\S+)$", line)
        if marker:
            current = sections.setdefault(marker.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def _script(parts: list[tuple[str, str]]) -> list[str]:
    body = "; ".join(f"echo '## hascreen:{name}'; {command}" for name, command in parts)
    return ["sh", "-c", body]


def _node_name(settings: Any, host: str) -> str:
    names = getattr(settings, "node_names", None) or {}
    return names.get(host, host)


async def probe_cluster(
    runner: Runner, cluster: ClusterLike, *, settings: ProbeSettings | None = None,
    memory: ProbeMemory | None = None, limiter: HostLimiter | None = None,
    clock: Callable[[], float] = time.time, layers: Collection[str] | None = None, consistency: bool = True,
) -> ClusterHealth:
    """Poll every layer of one cluster on all its members concurrently and return rows plus active nodes.
    `layers` limits the poll to those layers (drbd, mysql, vrrp, ha, vip); `consistency=False` leaves the
    cross-layer row to a caller that merges layers from elsewhere (tui.health.sources)."""
    settings = settings or ProbeSettings()
    poll = _Poll(runner, settings, limiter or HostLimiter(settings.per_host_limit))
    observed_at = clock()
    name = cluster.name
    members = list(cluster.members)
    probes: list[tuple[str, Callable[[], None], Callable[[], Any]]] = []
    if getattr(cluster, "drbd", None) is not None:
        probes.append(("drbd", lambda: _want_drbd(poll, cluster, members),
                       lambda: _probe_drbd(poll, cluster, members, observed_at, memory)))
    if getattr(cluster, "mysql", None) is not None:
        probes.append(("mysql", lambda: _want_mysql(poll, cluster), lambda: _probe_mysql(poll, cluster, observed_at)))
    manager = getattr(cluster, "manager", "none")
    if manager == "keepalived" and getattr(cluster, "keepalived", None) is not None:
        probes.append(("vrrp", lambda: _want_keepalived(poll, cluster, members),
                       lambda: _probe_keepalived(poll, cluster, members, observed_at, memory)))
    elif manager == "heartbeat":
        probes.append(("ha", lambda: _want_heartbeat(poll, members),
                       lambda: _probe_heartbeat(poll, cluster, members, observed_at)))
    elif manager == "pacemaker":
        probes.append(("ha", lambda: _want_pacemaker(poll, members),
                       lambda: _probe_pacemaker(poll, cluster, members, observed_at)))
    if getattr(cluster, "vip", None) is not None:
        probes.append(("vip", lambda: _want_ip(poll, cluster, members),
                       lambda: _probe_vip(poll, cluster, members, observed_at)))
    # Every layer names its sections first, so that each host's one script holds all of them.
    running: list[asyncio.Future[tuple[list[HealthRow], dict[str, set[str] | None]]]] = []
    failed: list[BaseException] = []
    for layer, want, probe in probes:
        if layers is not None and layer not in layers:
            continue
        try:
            want()
        except Exception as exc:  # noqa: BLE001 - a bug in one layer becomes that layer's unknown row
            failed.append(exc)
            continue
        running.append(asyncio.ensure_future(probe()))
    rows: list[HealthRow] = []
    active: dict[str, set[str] | None] = {}
    for outcome in [*failed, *await asyncio.gather(*running, return_exceptions=True)]:
        if isinstance(outcome, BaseException):
            # A bug in one layer must not hide the others: report it as unknown.
            rows.append(HealthRow(name, CLUSTER_WIDE, "host", State.UNKNOWN, "probe error",
                                  f"{type(outcome).__name__}: {outcome}", observed_at))
            continue
        layer_rows, layer_active = outcome
        rows.extend(layer_rows)
        active.update(layer_active)
    for host, reason in sorted(poll.unreachable.items()):
        # a member that does not answer leaves the pair without its failover partner: crit. A refused host
        # key is our configuration, not the node's health: unknown, with the reason.
        state = State.UNKNOWN if "host key" in reason.lower() else State.CRIT
        rows.append(HealthRow(name, host, "host", state, "unreachable", reason, observed_at, stale=True))
    if consistency and len(active) >= 2:
        rows.append(evaluate_consistency(name, active, observed_at=observed_at))
    return ClusterHealth(name, rows, observed_at, {k: v for k, v in active.items() if v is not None},
                         dict(poll.unreachable), dict(active))


def _unknown(cluster: str, host: str, layer: str, reason: str, observed_at: float, subject: str = "") -> HealthRow:
    return HealthRow(cluster, host, layer, State.UNKNOWN, "no data", reason, observed_at, subject, stale=True)


# ---------------------------------------------------------------------------------------------------- DRBD
def _drbd_text_argv(cluster: ClusterLike) -> list[str]:
    return ["drbdadm", "status", *(getattr(cluster.drbd, "resources", ()) or ())]


def _want_drbd(poll: _Poll, cluster: ClusterLike, members: list[str]) -> None:
    legacy = str(getattr(cluster.drbd, "version", "9")).startswith("8")
    for host in members:
        if legacy:
            poll.want(host, "proc_drbd", ["cat", "/proc/drbd"])
        else:
            poll.want(host, "drbd_json", ["drbdsetup", "status", "--json"])
            poll.want(host, "drbd_text", _drbd_text_argv(cluster), after_failure_of="drbd_json")


async def _probe_drbd(poll: _Poll, cluster: ClusterLike, members: list[str], observed_at: float,
                      memory: ProbeMemory | None) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = cluster.drbd
    resources = list(getattr(settings, "resources", ()) or ())
    legacy = str(getattr(settings, "version", "9")).startswith("8")

    async def one(host: str) -> drbd.DrbdStatus | str:
        try:
            # The host answered: a failing tool (module not loaded, resource down) is reported by the
            # evaluation as "unknown" with the tool's message, not as stale data.
            if legacy:
                result = await poll.section(host, "proc_drbd")
                assert result is not None
                if not result.ok:
                    return drbd.DrbdStatus(source="proc_drbd", errors=[_command_error(result)])
                return drbd.parse_proc_drbd(result.stdout)
            result = await poll.section(host, "drbd_json")
            assert result is not None
            status = drbd.parse_drbd_status_json(result.stdout) if result.ok else None
            if status is None or status.errors:
                # the script ran drbdadm only if drbdsetup failed; JSON it could not read needs a run of its own
                result = await poll.section(host, "drbd_text") or await poll.run(host, _drbd_text_argv(cluster))
                if not result.ok and not result.stdout.strip():
                    return drbd.DrbdStatus(source="status_text", errors=["drbdadm " + _command_error(result)])
                status = drbd.parse_drbd_status_text(result.stdout)
            return status
        except _Failure as exc:
            return str(exc)

    answers = await asyncio.gather(*(one(host) for host in members))
    rows: list[HealthRow] = []
    statuses: dict[str, drbd.DrbdStatus] = {}
    for host, answer in zip(members, answers, strict=True):
        if isinstance(answer, str):
            rows.append(_unknown(cluster.name, host, "drbd", answer, observed_at))
            continue
        statuses[host] = answer
        if memory is not None:
            _mark_stalled_resyncs(memory, cluster.name, host, answer)
        rows.extend(drbd.evaluate_drbd(answer, cluster.name, host, observed_at=observed_at, resources=resources,
                                       thresholds=poll.settings.drbd))
    rows.extend(drbd.evaluate_drbd_cluster(statuses, cluster.name, observed_at=observed_at, resources=resources))
    primaries = {host for host, st in statuses.items()
                 if any(r.role == "Primary" for r in st.resources if not resources or r.name in resources)}
    return rows, {"drbd": primaries if len(statuses) == len(members) or primaries else None}


def _mark_stalled_resyncs(memory: ProbeMemory, cluster: str, host: str, status: drbd.DrbdStatus) -> None:
    """Flag a resync whose progress did not move for `stall_polls` polls (DRBD 9 never prints "stalled")."""
    seen = set()
    for res in status.resources:
        for conn in res.connections:
            for pdev in conn.devices:
                if pdev.replication not in ("SyncSource", "SyncTarget") or pdev.done is None:
                    continue
                key = (cluster, host, res.name, conn.name, pdev.volume)
                seen.add(key)
                last_done, still = memory.resync.get(key, (-1.0, 0))
                still = still + 1 if pdev.done <= last_done else 0
                memory.resync[key] = (pdev.done, still)
                if still >= memory.stall_polls:
                    pdev.stalled = True
    for key in [k for k in memory.resync if k[:2] == (cluster, host) and k not in seen]:
        del memory.resync[key]


def _command_error(result: RunResult) -> str:
    text = (result.stderr or result.stdout).strip().splitlines()
    return f"exit {result.exit_code}: {text[-1][:120] if text else 'no output'}"


# --------------------------------------------------------------------------------------------------- MySQL
def mysql_argv(option_file: str | None, sql: str, client: str = "mysql") -> list[str]:
    """The mysql client call; credentials come only from the option file on the remote host."""
    argv = [client]
    if option_file:
        argv.append(f"--defaults-extra-file={option_file}")
    return [*argv, "-e", sql]


def _mysql_hosts(cluster: ClusterLike) -> list[str]:
    master_host = getattr(cluster.mysql, "master", None)
    replicas = list(getattr(cluster.mysql, "replicas", ()) or ())
    return ([master_host] if master_host else []) + [r for r in replicas if r != master_host]


def _want_mysql(poll: _Poll, cluster: ClusterLike) -> None:
    option_file = getattr(cluster.mysql, "option_file", None)
    for host in _mysql_hosts(cluster):
        poll.want(host, "mysql", mysql_argv(option_file, mysql.overview_sql()))
        poll.want(host, "mysql_modern", mysql_argv(option_file, mysql.overview_sql(modern=True)),
                  after_failure_of="mysql")


async def _probe_mysql(poll: _Poll, cluster: ClusterLike,
                       observed_at: float) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = cluster.mysql
    master_host = getattr(settings, "master", None)
    option_file = getattr(settings, "option_file", None)
    hosts = _mysql_hosts(cluster)

    async def one(host: str) -> mysql.MysqlOverview | str:
        try:
            result = await poll.section(host, "mysql")
            assert result is not None
            if not result.ok and "syntax" in result.stderr.lower():
                result = (await poll.section(host, "mysql_modern")
                          or await poll.run(host, mysql_argv(option_file, mysql.overview_sql(modern=True))))
            if not result.ok:
                return "mysql: " + _command_error(result)
            return mysql.parse_overview(result.stdout)
        except _Failure as exc:
            return str(exc)

    answers = dict(zip(hosts, await asyncio.gather(*(one(h) for h in hosts)), strict=True))
    rows: list[HealthRow] = []
    # Roles follow the servers, not hosts.yaml: after a failover the configured master is a replica.
    # The master is the member that is not a replica (the configured one when both or none are).
    not_replicas = [h for h, a in answers.items() if isinstance(a, mysql.MysqlOverview) and not a.replica.configured]
    acting_master = not_replicas[0] if len(not_replicas) == 1 else master_host
    master_view = answers.get(acting_master) if acting_master else None
    master_view = master_view if isinstance(master_view, mysql.MysqlOverview) else None
    master_status = master_view.master if master_view else None
    writable: set[str] = set()
    for host, answer in answers.items():
        if isinstance(answer, str):
            state = State.CRIT if answer.startswith("mysql: ") else State.UNKNOWN
            rows.append(HealthRow(cluster.name, host, "mysql", state, "no answer", answer, observed_at,
                                  stale=state is State.UNKNOWN))
            continue
        if answer.read_only is False and not any(ch.running for ch in answer.replica.channels):
            writable.add(host)
        if host == acting_master:
            rows.extend(mysql.evaluate_master(answer.master, cluster.name, host, observed_at=observed_at,
                                              read_only=answer.read_only, replica=answer.replica,
                                              server=answer.server))
        else:
            rows.extend(mysql.evaluate_replica(answer.replica, cluster.name, host, observed_at=observed_at,
                                               read_only=answer.read_only, master=master_status,
                                               thresholds=poll.settings.mysql, server=answer.server,
                                               master_server=master_view.server if master_view else None))
    # A mysql client error (server down) is a known fact; only an unreachable host leaves the layer unknown.
    complete = all(isinstance(a, mysql.MysqlOverview) or a.startswith("mysql: ") for a in answers.values())
    return rows, {"mysql": writable if complete or writable else None}


# ---------------------------------------------------------------------------------------------- keepalived
AUTH_FAILURE_WINDOW = 20.0  # seconds; adverts come every advert_int (1 s by default)
FLAP_WINDOW = 60.0  # seconds in which 3 MASTER entries count as flapping


def _keepalived_argv(cluster: ClusterLike, probe_settings: ProbeSettings) -> list[str]:
    settings = cluster.keepalived
    parts = [("pid", "pidof keepalived || true"), ("now", "date '+%Y-%m-%d %H:%M:%S'")]
    notify_file = getattr(settings, "notify_state_file", None)
    log_file = getattr(settings, "log_file", None)
    if notify_file:
        parts.append(("notify", f"cat {shlex.quote(notify_file)} 2>/dev/null || true"))
    if log_file:
        parts.append(("log", f"tail -n {int(probe_settings.log_lines)} {shlex.quote(log_file)} 2>/dev/null || true"))
    dump_dir = getattr(settings, "dump_dir", None)
    if dump_dir:
        # A JSON dump someone else triggered is used only while fresh; we never signal keepalived ourselves.
        dump = shlex.quote(dump_dir.rstrip("/") + "/keepalived.json")
        parts.append(("json", f'f={dump}; [ -f "$f" ] && [ $(( $(date +%s) - $(stat -c %Y "$f") )) -lt '
                              f'{int(probe_settings.dump_max_age)} ] && cat "$f" || true'))
    return _script(parts)


def _want_keepalived(poll: _Poll, cluster: ClusterLike, members: list[str]) -> None:
    argv = _keepalived_argv(cluster, poll.settings)
    for host in members:
        poll.want(host, "keepalived", argv)
    if getattr(cluster, "vip", None) is not None:
        _want_ip(poll, cluster, members)  # the last resort for a node's VRRP state: does it hold the VIP?


async def _probe_keepalived(poll: _Poll, cluster: ClusterLike, members: list[str], observed_at: float,
                            memory: ProbeMemory | None) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = cluster.keepalived
    instance = getattr(settings, "instance", "") or ""
    vip_settings = getattr(cluster, "vip", None)

    async def one(host: str) -> keepalived.VrrpNodeView:
        view = keepalived.VrrpNodeView()
        try:
            result = await poll.section(host, "keepalived")
        except _Failure as exc:
            view.error = str(exc)
            return view
        assert result is not None
        sections = _sections(result.stdout)
        running = bool(sections.get("pid", "").strip())
        if not running:
            view.error = "keepalived is not running"
            view.state = "STOP"
            view.source = "pidof"
            return view
        notify = keepalived.parse_notify_state(sections.get("notify", ""))
        state = notify.get(instance) or notify.get("")
        if state:
            view.state, view.source = state, "notify"
        log = keepalived.parse_syslog(sections.get("log", ""))
        fresh = keepalived.parse_syslog(_fresh_log(memory, cluster.name, host, sections.get("log", "")))
        # a mismatch logs a failure per advert; failures older than the window are history, not a fault
        fresh = keepalived.recent_events(fresh, sections.get("now", ""), AUTH_FAILURE_WINDOW)
        view.auth_failures = fresh.count("invalid_passwd")
        view.script_failing = sorted(log.failing_scripts())
        # flapping is several MASTER entries in a short time; older transitions are the log's history
        view.flaps = (keepalived.recent_events(log, sections.get("now", ""), FLAP_WINDOW).masters_entered(instance)
                      if instance else 0)
        if sections.get("json", "").strip():
            dump, counters = keepalived.parse_json_dump(sections["json"])
            inst = dump.instance(instance) if instance else (dump.instances[0] if dump.instances else None)
            if inst is not None and view.state is None:
                view.state, view.source, view.priority = inst.state, "json", inst.effective_priority
            stats = counters.get(inst.name) if inst is not None else None
            if stats is not None and memory is not None:
                key = (cluster.name, host, inst.name)
                previous = memory.auth_counters.get(key)
                memory.auth_counters[key] = stats.auth_failures
                if previous is not None and stats.auth_failures > previous:
                    view.auth_failures += stats.auth_failures - previous
        if view.state is None:
            states = log.last_state(instance or None)
            if states:
                view.state, view.source = next(reversed(states.values())), "log"
        if view.state is None and vip_settings is not None:
            report = await _ip_addr(poll, host)
            if isinstance(report, vip.IpAddrReport):
                holds = report.find(str(getattr(vip_settings, "address", ""))) is not None
                view.state, view.source = ("MASTER" if holds else "BACKUP"), "vip"
        return view

    views = dict(zip(members, await asyncio.gather(*(one(h) for h in members)), strict=True))
    rows = []
    for host, view in views.items():
        row = keepalived.evaluate_vrrp_node(view, cluster.name, host, instance, observed_at=observed_at)
        if view.error and view.state is None:
            row = HealthRow(row.cluster, row.node, row.layer, row.state, row.value, row.reason, row.observed_at,
                            row.subject, stale=True)
        rows.append(row)
    rows.append(keepalived.evaluate_vrrp_cluster(views, cluster.name, instance, observed_at=observed_at))
    masters = {host for host, view in views.items() if view.state == "MASTER"}
    complete = all(view.state is not None for view in views.values())
    return rows, {"vrrp": masters if complete or masters else None}


def _fresh_log(memory: ProbeMemory | None, cluster: str, host: str, text: str) -> str:
    """The part of a log tail newer than the last line this poller saw on that host (all of it without
    memory, or when that line scrolled out of the tail)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if memory is None:
        return text
    key = (cluster, host)
    previous = memory.last_log_line.get(key)
    if lines:
        memory.last_log_line[key] = lines[-1]
    if previous is None or previous not in lines:
        return text
    index = len(lines) - 1 - lines[::-1].index(previous)
    return "\n".join(lines[index + 1:])


# ----------------------------------------------------------------------------------------------------- VIP
def _want_ip(poll: _Poll, cluster: ClusterLike, members: list[str]) -> None:
    argv = ["ip", "-o", "addr", "show"]
    interface = getattr(cluster.vip, "interface", None)
    if interface and _SAFE_INTERFACE.match(interface):
        argv += ["dev", interface]
    for host in members:
        poll.want(host, "ip", argv)


async def _ip_addr(poll: _Poll, host: str) -> vip.IpAddrReport | str:
    try:
        result = await poll.section(host, "ip")
    except _Failure as exc:
        return str(exc)
    assert result is not None
    if not result.ok:
        return "ip: " + _command_error(result)
    return vip.parse_ip_addr(result.stdout)


async def _probe_vip(poll: _Poll, cluster: ClusterLike, members: list[str],
                     observed_at: float) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = cluster.vip
    address = str(getattr(settings, "address", ""))
    interface = getattr(settings, "interface", None)
    answers = await asyncio.gather(*(_ip_addr(poll, host) for host in members))
    reports: dict[str, vip.IpAddrReport | None] = {}
    rows: list[HealthRow] = []
    for host, answer in zip(members, answers, strict=True):
        reports[host] = answer if isinstance(answer, vip.IpAddrReport) else None
    rows.extend(vip.evaluate_vip(reports, cluster.name, address, observed_at=observed_at, interface=interface))
    for host, answer in zip(members, answers, strict=True):
        if isinstance(answer, str):
            rows = [r if r.node != host else _unknown(cluster.name, host, "vip", answer, observed_at, address)
                    for r in rows]
    holders = {host for host, rep in reports.items() if rep is not None and rep.find(address) is not None}
    complete = all(rep is not None for rep in reports.values())
    return rows, {"vip": holders if complete or holders else None}


# ----------------------------------------------------------------------------------------------- heartbeat
def _want_heartbeat(poll: _Poll, members: list[str]) -> None:
    argv = _script([
        ("hbstatus", "cl_status hbstatus 2>&1"),
        ("rscstatus", "cl_status rscstatus 2>&1"),
        ("nodes", 'for n in $(cl_status listnodes 2>/dev/null); do echo "$n $(cl_status nodestatus "$n" 2>&1)"; done'),
    ])
    for host in members:
        poll.want(host, "heartbeat", argv)


async def _probe_heartbeat(poll: _Poll, cluster: ClusterLike, members: list[str],
                           observed_at: float) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = getattr(cluster, "heartbeat", None)

    async def one(host: str) -> hamanager.HeartbeatNodeView:
        view = hamanager.HeartbeatNodeView()
        try:
            result = await poll.section(host, "heartbeat")
        except _Failure as exc:
            view.error = str(exc)
            return view
        assert result is not None
        sections = _sections(result.stdout)
        view.running = hamanager.parse_hbstatus(sections.get("hbstatus", ""))
        view.resources = hamanager.parse_rscstatus(sections.get("rscstatus", ""))
        for line in sections.get("nodes", "").splitlines():
            words = line.split()
            if len(words) == 2 and words[1] in hamanager.HB_NODE_STATES:
                view.node_states[words[0]] = words[1]
        if view.running is None:
            view.error = "cl_status: " + (sections.get("hbstatus", "").strip()[:120] or "no output")
        return view

    views = dict(zip(members, await asyncio.gather(*(one(h) for h in members)), strict=True))
    # Heartbeat names nodes by uname -n; map them back to host names for the "dead peer" check.
    for view in views.values():
        view.node_states = {next((h for h in members if _node_name(settings, h) == n), n): st
                            for n, st in view.node_states.items()}
    rows = hamanager.evaluate_heartbeat(views, cluster.name, observed_at=observed_at)
    rows = [HealthRow(r.cluster, r.node, r.layer, r.state, r.value, r.reason, r.observed_at, r.subject,
                      stale=views[r.node].error is not None) if r.node in views else r for r in rows]
    active = {host for host, view in views.items() if view.running and view.holds_resources}
    complete = all(view.running is not None for view in views.values())
    return rows, {"ha": active if complete or active else None}


# ----------------------------------------------------------------------------------------------- pacemaker
def _want_pacemaker(poll: _Poll, members: list[str]) -> None:
    for host in members:
        poll.want(host, "crm_mon", ["crm_mon", "-1", "--output-as=xml"])


async def _probe_pacemaker(poll: _Poll, cluster: ClusterLike, members: list[str],
                           observed_at: float) -> tuple[list[HealthRow], dict[str, set[str] | None]]:
    settings = getattr(cluster, "pacemaker", None)
    watched = list(getattr(settings, "resources", ()) or ())

    async def one(host: str) -> hamanager.PacemakerStatus | str:
        try:
            result = await poll.section(host, "crm_mon")
        except _Failure as exc:
            return str(exc)
        assert result is not None
        status = hamanager.parse_crm_mon(result.stdout or result.stderr)
        if not status.nodes and status.errors:
            return "crm_mon: " + "; ".join(status.errors)[:200]
        return status

    answers = dict(zip(members, await asyncio.gather(*(one(h) for h in members)), strict=True))
    view_host = next((h for h, a in answers.items() if isinstance(a, hamanager.PacemakerStatus)), None)
    if view_host is None:
        reasons = "; ".join(f"{h}: {a}" for h, a in answers.items())
        return [HealthRow(cluster.name, CLUSTER_WIDE, "ha", State.UNKNOWN, "unknown", reasons, observed_at,
                          stale=True)], {"ha": None}
    status = answers[view_host]
    assert isinstance(status, hamanager.PacemakerStatus)
    node_names = {host: _node_name(settings, host) for host in members}
    rows = hamanager.evaluate_pacemaker(status, cluster.name, list(node_names.values()), observed_at=observed_at,
                                        reporter=view_host)
    by_node = {v: k for k, v in node_names.items()}
    rows = [HealthRow(r.cluster, by_node.get(r.node, r.node), r.layer, r.state, r.value, r.reason, r.observed_at,
                      r.subject) for r in rows]
    for host, answer in answers.items():
        if isinstance(answer, str):
            # The node's own crm_mon failing (pacemaker stopped there) is worth a line beside the cluster view.
            rows = [r for r in rows if r.node != host or r.state is not State.OK]
            if not any(r.node == host for r in rows):
                rows.append(HealthRow(cluster.name, host, "ha", State.WARN, "no local status", answer, observed_at))
    active_names = set()
    for resource in watched or [None]:
        active_names |= hamanager.pacemaker_active_nodes(status, resource)
    return rows, {"ha": {by_node.get(n, n) for n in active_names}}
