"""CPU cost of health polling: N simulated hosts (pairs of a keepalived + DRBD 9 + MariaDB + VIP cluster)
polled every 2 s by the real `HealthPoller`, answered with real recorded outputs (tests/fixtures/samples),
over two transports, each printed as its own row of one table:

- `local`: an in-process Runner that answers after a simulated network delay. This is what hascreen
  itself spends per poll: scheduling, parsing, evaluation, consistency and the tracker.
- `ssh`: the real client side, `SshPool(...).runner`, against a fleet of asyncssh servers on 127.0.0.1,
  one listener (own port) and one pooled SSH connection per simulated host, with a generated host key
  checked strictly against a written known_hosts and a generated client key that the fleet authorizes.
  The fleet runs in a separate process (this script with `--serve-fleet N`), so the figure is the
  poller's own CPU including the SSH transport (key exchange excluded: connections are opened before the
  measured window and reused, as the server reuses them). The fleet's CPU is shown alongside, for scale.

There is no tmux counterpart, so the figure is absolute: CPU % of one core of the polling process, from
time.process_time() over wall time, over `--seconds` of `HealthPoller.run()` after one warm-up poll.
Goal from issues 6 and 16: 500 hosts x 4 probes every 2 s under 50 %. Since issue 16 each host gets one
script per poll (`tui.health.host_script`), so `commands` counts SSH channels: one per host per poll.

    .venv/bin/python bench/health_poll.py [--hosts 100 500 2000] [--transport local ssh prometheus]
                                          [--clusters 2000] [--seconds 10] [--interval 2] [--latency 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import resource
import shlex
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

warnings.filterwarnings("ignore", message=".*DSA is deprecated.*")  # asyncssh on cryptography >= 48
import asyncssh  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.health import HealthPoller, ProbeSettings  # noqa: E402
from tui.health.host_script import plan_of, render_outputs, should_run  # noqa: E402
from tui.prometheus_http import PrometheusHttp  # noqa: E402
from tui.runner import RunResult  # noqa: E402
from tui.ssh import SshPool  # noqa: E402

SAMPLES = ROOT / "tests" / "fixtures" / "samples"
# Bounds for the ssh transport: fleet start-up, opening every connection, one poll, fleet shutdown.
FLEET_START_TIMEOUT = 120.0
CONNECT_ALL_TIMEOUT = 600.0
POLL_TIMEOUT = 300.0
FLEET_STOP_TIMEOUT = 15.0
CONNECTS_IN_FLIGHT = 32  # opening 500 connections at once would time some out on 2 cores


def sample(path: str) -> str:
    return (SAMPLES / path).read_text()


@dataclass(frozen=True)
class Drbd:
    resources: tuple[str, ...]
    version: str = "9"


@dataclass(frozen=True)
class Mysql:
    master: str
    replicas: tuple[str, ...]
    option_file: str = "/root/.my.cnf"


@dataclass(frozen=True)
class Keepalived:
    instance: str = "VI_1"
    log_file: str = "/var/log/keepalived.log"
    notify_state_file: str = "/run/keepalived.state"


@dataclass(frozen=True)
class Vip:
    address: str
    interface: str = "eth0"


@dataclass(frozen=True)
class SimCluster:
    name: str
    members: tuple[str, ...]
    manager: str = "keepalived"
    drbd: Drbd | None = None
    mysql: Mysql | None = None
    keepalived: Keepalived | None = None
    heartbeat: None = None
    pacemaker: None = None
    vip: Vip | None = None
    health_source: str = "ssh"
    prometheus_url: str | None = None


class FleetAnswers:
    """What a healthy fleet answers: the first member of each pair is primary/master/MASTER/VIP holder."""

    def __init__(self) -> None:
        json_status = sample("drbd9/drbdsetup-status-json-ha-cluster-exporter-original.txt")
        # The sample is a Secondary with a Primary peer: swap roles for the primary side.
        primary_json = json_status.replace('"role": "Secondary"', '"role": "@P@"').replace(
            '"peer-role": "Primary"', '"peer-role": "Secondary"').replace('"@P@"', '"Primary"')
        row = "*************************** 1. row ***************************\n"
        log = sample("keepalived/syslog-1x-track-script-failed-to-backup.txt")
        self.by_command = {
            (True, "drbdsetup"): primary_json,
            (False, "drbdsetup"): json_status,
            (True, "mysql"): row + "hascreen_read_only: 0\n" + sample("mysql/mysql80-refman-show-master-status-vertical.txt"),
            (False, "mysql"): row + "hascreen_read_only: 1\n" + sample("mysql/mariadb-docs-show-slave-status-gtid-lag-6s.txt"),
            (True, "sh"): f"## hascreen:pid\n4242\n## hascreen:notify\nINSTANCE VI_1 MASTER 150\n## hascreen:log\n{log}",
            (False, "sh"): f"## hascreen:pid\n4343\n## hascreen:notify\nINSTANCE VI_1 BACKUP 100\n## hascreen:log\n{log}",
        }

    def stdout(self, primary: bool, argv: Sequence[str]) -> str:
        """A host's answer to argv; a poll's one script per host is answered section by section."""
        plan = plan_of(argv)
        if plan is not None:
            outputs, codes = [], {}
            for section in plan.sections:
                if should_run(section, codes):
                    result = RunResult(0, self.stdout(primary, section.argv), "")
                    codes[section.name] = result.exit_code
                    outputs.append((section.name, result))
            return render_outputs(plan, outputs)
        if argv[0] == "ip":
            text = "2: eth0    inet 10.213.0.11/24 brd 10.213.0.255 scope global eth0\\       valid_lft forever\n"
            if primary:
                text += "2: eth0    inet 10.213.0.100/24 scope global secondary eth0\\       valid_lft forever\n"
            return text
        return self.by_command[(primary, argv[0])]


@dataclass
class FleetRunner:
    """The `local` transport: answers in-process after a simulated round trip."""

    latency: float
    primaries: set[str] = field(default_factory=set)
    calls: int = 0
    answers: FleetAnswers = field(default_factory=FleetAnswers)

    async def run(self, host: str, argv: Sequence[str], *, timeout: float = 10.0,
                  stdin: bytes | None = None) -> RunResult:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        return RunResult(0, self.answers.stdout(host in self.primaries, argv), "")


def fleet(hosts: int) -> tuple[list[SimCluster], set[str]]:
    clusters, primaries = [], set()
    for index in range(hosts // 2):
        a, b = f"h{index:04d}a", f"h{index:04d}b"
        primaries.add(a)
        clusters.append(SimCluster(
            name=f"c{index:04d}", members=(a, b), drbd=Drbd(resources=("1-single-0", "1-single-1")),
            mysql=Mysql(master=a, replicas=(b,)), keepalived=Keepalived(), vip=Vip(address="10.213.0.100"),
        ))
    return clusters, primaries


def raise_open_files_limit() -> None:
    """500 listeners or connections plus their sockets need more than a default soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ------------------------------------------------------------------ the fleet (its own process)


async def serve_fleet(hosts: int, keydir: Path) -> None:
    """`--serve-fleet N`: one asyncssh listener per simulated host on 127.0.0.1. Prints {host: port} as
    one JSON line, answers `stats` on stdin with {"commands", "cpu_s"}, and exits at end of stdin."""
    raise_open_files_limit()
    answers = FleetAnswers()
    host_key = asyncssh.read_private_key(keydir / "host_key")
    authorized = asyncssh.import_authorized_keys((keydir / "client_key.pub").read_text())
    clusters, primaries = fleet(hosts)
    commands = 0

    def answer(host: str, process: asyncssh.SSHServerProcess) -> None:
        nonlocal commands
        commands += 1
        try:
            argv = shlex.split(process.command or "")
            process.stdout.write(answers.stdout(host in primaries, argv))
            process.exit(0)
        except (KeyError, IndexError, ValueError) as exc:  # a command this fleet has no recording for
            process.stderr.write(f"fleet: no recorded output for {process.command!r}: {exc}\n")
            process.exit(127)

    names = [member for cluster in clusters for member in cluster.members]
    listeners = []
    for name in names:
        listeners.append(await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=authorized,
            process_factory=functools.partial(answer, name), encoding="utf-8", allow_scp=False,
        ))
    ports = {name: listener.sockets[0].getsockname()[1] for name, listener in zip(names, listeners, strict=True)}
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() == "stats":
            print(json.dumps({"commands": commands, "cpu_s": time.process_time()}), flush=True)
    for listener in listeners:
        listener.close()


class FleetProcess:
    """The parent's handle on a `--serve-fleet` child: start, read its ports, ask its stats, stop it."""

    def __init__(self, hosts: int, keydir: Path) -> None:
        self.hosts, self.keydir = hosts, keydir
        self.process: asyncio.subprocess.Process | None = None
        self.ports: dict[str, int] = {}

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-W", "ignore", str(Path(__file__).resolve()), "--serve-fleet", str(self.hosts),
            "--keydir", str(self.keydir),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), FLEET_START_TIMEOUT)
        if not line:
            raise RuntimeError(f"the fleet process exited (code {await self.process.wait()}) before listening")
        self.ports = json.loads(line)

    async def stats(self) -> dict:
        self.process.stdin.write(b"stats\n")
        await self.process.stdin.drain()
        return json.loads(await asyncio.wait_for(self.process.stdout.readline(), 30))

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), FLEET_STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def write_keys(workdir: Path) -> tuple[Path, Path]:
    """A fresh host key for the fleet and a client key it authorizes; returns (keydir, client key path)."""
    keydir = workdir / "keys"
    keydir.mkdir(mode=0o700)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(keydir / "host_key")
    host_key.write_public_key(keydir / "host_key.pub")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key.write_private_key(keydir / "client_key")
    client_key.write_public_key(keydir / "client_key.pub")
    for path in keydir.iterdir():
        path.chmod(0o600)
    return keydir, keydir / "client_key"


# ------------------------------------------------------------------ measuring


async def timed_window(poller: HealthPoller, seconds: float) -> tuple[float, float, int]:
    """Run the poller for `seconds`; its process's CPU seconds, the wall seconds, and the polls done."""
    polls_before = poller.polls
    cpu0, wall0 = time.process_time(), time.perf_counter()
    task = asyncio.ensure_future(poller.run())
    await asyncio.sleep(seconds)
    poller.stop()
    await asyncio.wait_for(task, timeout=POLL_TIMEOUT)
    return time.process_time() - cpu0, time.perf_counter() - wall0, poller.polls - polls_before


def figures(hosts: int, transport: str, cpu: float, wall: float, polls: int, commands: int,
            poller: HealthPoller, not_ok: int, **extra: object) -> dict:
    return {
        "hosts": hosts, "transport": transport, "polls": polls, "commands": commands, "cpu_s": cpu,
        "wall_s": wall, "cpu_pct": 100 * cpu / wall, "cpu_ms_per_poll": 1000 * cpu / max(polls, 1),
        "rows": len(poller.tracker.latest()), "not_ok_rows": not_ok, **extra,
    }


def not_ok_rows(poller: HealthPoller) -> int:
    return sum(1 for row in poller.tracker.latest() if row.state.value != "ok")


async def measure_local(hosts: int, seconds: float, interval: float, latency: float) -> dict:
    clusters, primaries = fleet(hosts)
    runner = FleetRunner(latency=latency, primaries=primaries)
    poller = HealthPoller(runner, clusters, interval=interval, settings=ProbeSettings(timeout=5, per_host_limit=4))
    await poller.poll_once()  # warm-up (imports, first allocations), not measured
    not_ok = not_ok_rows(poller)
    calls_before = runner.calls
    cpu, wall, polls = await timed_window(poller, seconds)
    return figures(hosts, "local", cpu, wall, polls, runner.calls - calls_before, poller, not_ok)


async def measure_ssh(hosts: int, seconds: float, interval: float) -> dict:
    raise_open_files_limit()
    clusters, _ = fleet(hosts)
    with tempfile.TemporaryDirectory(prefix="hascreen-bench-") as tmp:
        workdir = Path(tmp)
        keydir, client_key = write_keys(workdir)
        fleet_process = FleetProcess(hosts, keydir)
        pool: SshPool | None = None
        try:
            started = time.perf_counter()
            await fleet_process.start()
            host_key_line = (keydir / "host_key.pub").read_text().strip()
            known_hosts = workdir / "known_hosts"
            known_hosts.write_text("".join(f"[127.0.0.1]:{port} {host_key_line}\n"
                                           for port in fleet_process.ports.values()))
            ssh_config = workdir / "ssh_config"
            ssh_config.write_text("")  # the user's ~/.ssh/config must not steer the bench
            inventory = {name: {"name": name, "address": "127.0.0.1", "port": port, "identity": str(client_key)}
                         for name, port in fleet_process.ports.items()}
            pool = SshPool(inventory, known_hosts=known_hosts, ssh_config=ssh_config, agent_path="none",
                           connect_timeout=60, max_commands_per_host=4)
            gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

            async def connect(name: str) -> None:
                async with gate:
                    await pool.connection(name)

            await asyncio.wait_for(asyncio.gather(*(connect(name) for name in inventory)), CONNECT_ALL_TIMEOUT)
            setup = time.perf_counter() - started
            poller = HealthPoller(pool.runner, clusters, interval=interval,
                                  settings=ProbeSettings(timeout=5, per_host_limit=4))
            await asyncio.wait_for(poller.poll_once(), POLL_TIMEOUT)  # warm-up: channels, parsers
            not_ok = not_ok_rows(poller)
            fleet_before = await fleet_process.stats()
            cpu, wall, polls = await timed_window(poller, seconds)
            fleet_after = await fleet_process.stats()
            reused = all(pool.is_connected(name) for name in inventory)
            return figures(
                hosts, "ssh", cpu, wall, polls, fleet_after["commands"] - fleet_before["commands"], poller, not_ok,
                setup_s=setup, fleet_cpu_pct=100 * (fleet_after["cpu_s"] - fleet_before["cpu_s"]) / wall,
                connections=len(inventory) if reused else f"{sum(map(pool.is_connected, inventory))} left",
            )
        finally:
            if pool is not None:
                await pool.close()
            await fleet_process.stop()


# ------------------------------------------------------------------ the Prometheus path

RECORDED_ANSWER = ROOT / "tests" / "fixtures" / "prometheus" / "keepalived" / "keepalived-healthy.json"
RECORDED_NODES = {"10.213.77.11": "a", "10.213.77.12": "b"}


def cluster_address(index: int, side: str) -> str:
    return f"10.{100 + index // 250}.{index % 250}.{11 if side == 'a' else 12}"


EVALUATED_MARK, SCRAPED_MARK = b"1111111111.5", b"1111111110.5"  # replaced by the time of each request


def prometheus_answer(clusters: int) -> bytes:
    """The recorded healthy answer, its two nodes' series repeated for every simulated cluster, with marks
    where the evaluation and scrape times go (a recorded answer served as-is would be stale)."""
    recorded = json.loads(RECORDED_ANSWER.read_text())
    result = []
    for index in range(clusters):
        for item in recorded["data"]["result"]:
            host, _, port = item["metric"]["instance"].partition(":")
            metric = dict(item["metric"], instance=f"{cluster_address(index, RECORDED_NODES[host])}:{port}")
            value = SCRAPED_MARK.decode() if metric.get("hascreen") == "scraped_at" else item["value"][1]
            result.append({"metric": metric, "value": [float(EVALUATED_MARK), value]})
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def serve_prometheus(clusters: int) -> None:
    """`--serve-prometheus N`: answer every GET with the fleet's recorded answer; print the port."""
    import http.server

    template = prometheus_answer(clusters)

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            now = time.time()
            body = template.replace(EVALUATED_MARK, f"{now:.3f}".encode()).replace(
                SCRAPED_MARK, f"{now - 1:.3f}".encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    print(json.dumps({"port": server.server_address[1], "bytes": len(template)}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()


async def measure_prometheus(clusters: int, seconds: float, interval: float) -> dict:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "ignore", str(Path(__file__).resolve()), "--serve-prometheus", str(clusters),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        started = json.loads(await asyncio.wait_for(process.stdout.readline(), FLEET_START_TIMEOUT))
        url = f"http://127.0.0.1:{started['port']}"
        sims, addresses = [], {}
        for index in range(clusters):
            a, b = f"h{index:04d}a", f"h{index:04d}b"
            addresses[a], addresses[b] = cluster_address(index, "a"), cluster_address(index, "b")
            sims.append(SimCluster(
                name=f"c{index:04d}", members=(a, b), drbd=Drbd(resources=("r0",)),
                mysql=Mysql(master=a, replicas=(b,)), keepalived=Keepalived(), vip=Vip(address="10.213.77.100"),
                health_source="prometheus", prometheus_url=url))
        metrics = PrometheusHttp()
        poller = HealthPoller(FleetRunner(latency=0), sims, interval=interval, metrics=metrics, addresses=addresses,
                              settings=ProbeSettings(timeout=30, per_host_limit=4))
        await asyncio.wait_for(poller.poll_once(), POLL_TIMEOUT)  # warm-up
        not_ok = not_ok_rows(poller)
        queries_before = metrics.queries
        cpu, wall, polls = await timed_window(poller, seconds)
        return figures(2 * clusters, "prometheus", cpu, wall, polls, metrics.queries - queries_before, poller,
                       not_ok, clusters=clusters, answer_bytes=started["bytes"])
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), FLEET_STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--transport", nargs="+", choices=["local", "ssh", "prometheus"],
                        default=["local", "ssh", "prometheus"])
    parser.add_argument("--clusters", type=int, nargs="+", default=[2000], help="clusters, prometheus transport")
    parser.add_argument("--serve-prometheus", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.005, help="simulated round trip per command (s), local")
    parser.add_argument("--serve-fleet", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--keydir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fleet is not None:
        asyncio.run(serve_fleet(args.serve_fleet, args.keydir))
        return
    if args.serve_prometheus is not None:
        serve_prometheus(args.serve_prometheus)
        return
    print(f"interval {args.interval}s, {args.seconds}s measured per run after a warm-up poll; "
          f"local: simulated latency {args.latency * 1000:.0f} ms; ssh: asyncssh fleet on 127.0.0.1 "
          f"in another process, one connection per host; prometheus: the lab's recorded answer, replicated per "
          f"cluster, served on 127.0.0.1 by another process; CPU % is of one core, the poller's process only; "
          f"requests = SSH channels (ssh: one per host per poll) or HTTP queries (prometheus: one per poll)")
    print(f"{'hosts':>6} {'transport':>10} {'polls':>6} {'requests':>9} {'rows':>6} {'CPU %':>7} "
          f"{'CPU ms/poll':>12} {'not-ok':>7} {'setup s':>8} {'fleet CPU %':>12}")
    runs = [(hosts, transport) for hosts in args.hosts for transport in args.transport if transport != "prometheus"]
    runs += [(clusters, "prometheus") for clusters in args.clusters if "prometheus" in args.transport]
    for size, transport in runs:
        if transport == "local":
            result = asyncio.run(measure_local(size, args.seconds, args.interval, args.latency))
        elif transport == "ssh":
            result = asyncio.run(measure_ssh(size, args.seconds, args.interval))
        else:
            result = asyncio.run(measure_prometheus(size, args.seconds, args.interval))
        setup = f"{result['setup_s']:.1f}" if "setup_s" in result else "-"
        fleet_cpu = f"{result['fleet_cpu_pct']:.1f}%" if "fleet_cpu_pct" in result else "-"
        print(f"{result['hosts']:>6} {result['transport']:>10} {result['polls']:>6} {result['commands']:>9} "
              f"{result['rows']:>6} {result['cpu_pct']:>6.1f}% {result['cpu_ms_per_poll']:>12.1f} "
              f"{result['not_ok_rows']:>7} {setup:>8} {fleet_cpu:>12}", flush=True)
        if "answer_bytes" in result:
            print(f"       ({result['clusters']} clusters; one answer of {result['answer_bytes'] / 1e6:.1f} MB per poll)",
                  flush=True)
        if result.get("connections") not in (None, size):
            print(f"       (connections not all reused: {result['connections']})", flush=True)


if __name__ == "__main__":
    main()
