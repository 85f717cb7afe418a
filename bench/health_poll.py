"""CPU cost of health polling: N simulated hosts (pairs of a keepalived + DRBD 9 + MariaDB + VIP cluster)
polled every 2 s by the real `HealthPoller`, through an in-process Runner that answers every command with
real recorded outputs (tests/fixtures/samples) after a simulated network delay.

It measures what hascreen itself spends per poll: scheduling, parsing, evaluation, consistency and the
tracker (SSH transport cost is not included: plug an asyncssh fleet into the same loop for that). There
is no tmux counterpart to compare with, so the figure is absolute: CPU % of one core, from
time.process_time() over wall time. Goal from issue 6: 500 hosts x 4 probes every 2 s under 50 %.

    .venv/bin/python bench/health_poll.py [--hosts 10 100 500] [--seconds 10] [--interval 2] [--latency 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.health import HealthPoller, ProbeSettings  # noqa: E402
from tui.runner import RunResult  # noqa: E402

SAMPLES = ROOT / "tests" / "fixtures" / "samples"


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


@dataclass
class FleetRunner:
    """Answers like a healthy fleet: the first member of each pair is primary/master/MASTER/VIP holder."""

    latency: float
    primaries: set[str] = field(default_factory=set)
    calls: int = 0

    def __post_init__(self) -> None:
        json_status = sample("drbd9/drbdsetup-status-json-ha-cluster-exporter-original.txt")
        # The sample is a Secondary with a Primary peer: swap roles for the primary side.
        primary_json = json_status.replace('"role": "Secondary"', '"role": "@P@"').replace(
            '"peer-role": "Primary"', '"peer-role": "Secondary"').replace('"@P@"', '"Primary"')
        row = "*************************** 1. row ***************************\n"
        log = sample("keepalived/syslog-1x-track-script-failed-to-backup.txt")
        self.answers = {
            (True, "drbdsetup"): primary_json,
            (False, "drbdsetup"): json_status,
            (True, "mysql"): row + "hascreen_read_only: 0\n" + sample("mysql/mysql80-refman-show-master-status-vertical.txt"),
            (False, "mysql"): row + "hascreen_read_only: 1\n" + sample("mysql/mariadb-docs-show-slave-status-gtid-lag-6s.txt"),
            (True, "sh"): f"## hascreen:pid\n4242\n## hascreen:notify\nINSTANCE VI_1 MASTER 150\n## hascreen:log\n{log}",
            (False, "sh"): f"## hascreen:pid\n4343\n## hascreen:notify\nINSTANCE VI_1 BACKUP 100\n## hascreen:log\n{log}",
        }

    async def run(self, host: str, argv: Sequence[str], *, timeout: float = 10.0,
                  stdin: bytes | None = None) -> RunResult:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        primary = host in self.primaries
        if argv[0] == "ip":
            vip = "10.213.0.100" if primary else None
            text = "2: eth0    inet 10.213.0.11/24 brd 10.213.0.255 scope global eth0\\       valid_lft forever\n"
            if vip:
                text += f"2: eth0    inet {vip}/24 scope global secondary eth0\\       valid_lft forever\n"
            return RunResult(0, text, "")
        return RunResult(0, self.answers[(primary, argv[0])], "")


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


async def measure(hosts: int, seconds: float, interval: float, latency: float) -> dict:
    clusters, primaries = fleet(hosts)
    runner = FleetRunner(latency=latency, primaries=primaries)
    poller = HealthPoller(runner, clusters, interval=interval, settings=ProbeSettings(timeout=5, per_host_limit=4))
    await poller.poll_once()  # warm-up (imports, first allocations), not measured
    not_ok = [r for r in poller.tracker.latest() if r.state.value != "ok"]
    calls_before, polls_before = runner.calls, poller.polls
    cpu0, wall0 = time.process_time(), time.perf_counter()
    task = asyncio.ensure_future(poller.run())
    await asyncio.sleep(seconds)
    poller.stop()
    await asyncio.wait_for(task, timeout=60)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    polls = poller.polls - polls_before
    return {
        "hosts": hosts, "polls": polls, "commands": runner.calls - calls_before, "cpu_s": cpu, "wall_s": wall,
        "cpu_pct": 100 * cpu / wall, "cpu_ms_per_poll": 1000 * cpu / max(polls, 1),
        "rows": len(poller.tracker.latest()), "not_ok_rows": len(not_ok),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.005, help="simulated round trip per command (s)")
    args = parser.parse_args()
    print(f"interval {args.interval}s, {args.seconds}s per run, simulated latency {args.latency * 1000:.0f} ms")
    print(f"{'hosts':>6} {'polls':>6} {'commands':>9} {'rows':>6} {'CPU %':>7} {'CPU ms/poll':>12}  not-ok rows")
    for hosts in args.hosts:
        result = asyncio.run(measure(hosts, args.seconds, args.interval, args.latency))
        print(f"{result['hosts']:>6} {result['polls']:>6} {result['commands']:>9} {result['rows']:>6} "
              f"{result['cpu_pct']:>6.1f}% {result['cpu_ms_per_poll']:>12.1f}  {result['not_ok_rows']}")


if __name__ == "__main__":
    main()
