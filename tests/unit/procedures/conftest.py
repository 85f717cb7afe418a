"""A recorded-output Runner for the procedure unit tests: every answer is a real output copied from
/work/shared/samples (in fixtures/, byte-identical), chosen by a small scripted cluster state, so a
failover really moves the VIP between the two recorded `ip -o addr` outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tui.procedures.audit import AuditLog
from tui.procedures.engine import RunRegistry
from tui.runner import HostUnreachable, RunResult, render_argv

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


Answer = RunResult | str | Callable[[str, list[str]], RunResult | str]


@dataclass
class ScriptedRunner:
    """Answers by (host, substring of the rendered command line); later rules win. Records every call."""

    rules: list[tuple[str, str, Answer]] = field(default_factory=list)
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)

    def on(self, host: str, contains: str, answer: Answer) -> None:
        self.rules.append((host, contains, answer))

    async def run(self, host: str, argv: Sequence[str], *, timeout: float = 10.0,
                  stdin: bytes | None = None) -> RunResult:
        argv = list(argv)
        self.calls.append((host, argv))
        if host in self.down:
            raise HostUnreachable(host, "connection refused")
        line = render_argv(argv)
        for rule_host, contains, answer in reversed(self.rules):
            if rule_host in (host, "*") and contains in line:
                if callable(answer):
                    answer = answer(host, argv)
                return RunResult(0, answer, "") if isinstance(answer, str) else answer
        raise AssertionError(f"unexpected command on {host}: {line}")

    def commands(self, host: str | None = None) -> list[str]:
        return [render_argv(a) for h, a in self.calls if host is None or h == host]


HOLDS_VIP = "k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt"
NO_VIP = "k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt"
GOT_VIP = "k0s-ip-4-oneline-grep-eth0-controller1-after-failover.txt"


class World:
    """Two nodes ctl-0 (VIP holder, DRBD Primary) and ctl-1 (MySQL replica, DRBD Secondary)."""

    def __init__(self) -> None:
        self.runner = ScriptedRunner()
        self.holders = {"ctl-0"}
        self.replica_status = fixture("pmp-running-001-healthy.txt")
        r = self.runner
        r.on("*", "true", "")
        r.on("*", "ip -o addr show dev eth0", self._ip_addr)
        r.on("ctl-0", "drbdadm status wwwdata", fixture("cfs-drbdadm-status-pcmk1-uptodate.txt"))
        r.on("ctl-1", "drbdadm status wwwdata", fixture("cfs-drbdadm-status-pcmk2-uptodate.txt"))
        r.on("ctl-1", "SHOW SLAVE STATUS", lambda h, a: self.replica_status)
        r.on("ctl-0", "SHOW MASTER STATUS", fixture("mysql80-refman-show-master-status-vertical.txt"))
        r.on("*", "-N -B -e 'SELECT 1'", "1\n")  # what mysql -N -B prints for SELECT 1
        r.on("*", "pkill -TERM -F /run/keepalived.pid", self._stop_keepalived)
        r.on("*", "arping -U", fixture("arping-U-c3-vxlan0-gratuitous-no-replies.txt"))

    def _ip_addr(self, host: str, argv: list[str]) -> str:
        if host in self.holders:
            return fixture(HOLDS_VIP) if host == "ctl-0" else fixture(GOT_VIP)
        return fixture(NO_VIP)

    def _stop_keepalived(self, host: str, argv: list[str]) -> str:
        self.holders.discard(host)
        self.holders.add("ctl-1" if host == "ctl-0" else "ctl-0")
        return ""


CLUSTER = {
    "name": "web",
    "members": ["ctl-0", "ctl-1"],
    "manager": "keepalived",
    "drbd": {"resources": ["wwwdata"]},
    "mysql": {"master": "ctl-0", "replicas": ["ctl-1"], "option_file": "/root/.my.cnf"},
    "vip": {"address": "192.168.122.200", "interface": "eth0", "gateway": "192.168.122.1"},
}
HOSTS = {"ctl-0": {"address": "192.168.122.37"}, "ctl-1": {"address": "192.168.122.185"}}


@dataclass
class HostsConfig:
    clusters: dict
    hosts: dict


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def hosts_config() -> HostsConfig:
    return HostsConfig(clusters={"web": dict(CLUSTER)}, hosts=dict(HOSTS))


@pytest.fixture
def registry(tmp_path: Path) -> RunRegistry:
    return RunRegistry(audit=AuditLog(tmp_path / "audit.log"), lock_dir=tmp_path / "locks")
