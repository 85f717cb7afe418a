"""A recorded-output Runner for the procedure unit tests: every answer is a real output copied from
/work/shared/samples or recorded on the lab (in fixtures/, see its README), chosen by a small scripted
cluster state, so a failover really moves the VIP, DRBD and the writable MariaDB between the nodes."""

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
    """Two nodes ctl-0 (VIP holder, DRBD Primary, writable MariaDB master) and ctl-1 (its GTID replica,
    DRBD Secondary, keepalived BACKUP). The MariaDB and keepalived answers were recorded on the lab
    (lab-* fixtures); each command that changes a layer changes which recorded answer a node gives."""

    def __init__(self) -> None:
        self.runner = ScriptedRunner()
        self.holders = {"ctl-0"}
        self.keepalived = {"ctl-0": True, "ctl-1": True}
        self.read_only = {"ctl-0": False, "ctl-1": True}
        self.drbd_primary = "ctl-0"
        self.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-healthy.txt")  # ctl-1
        self.old_master_status = ""  # ctl-0: not a replica until the failover re-points it
        self.replica_variables = "lab-mariadb-10.11-variables-replica.txt"  # ctl-1's SHOW GLOBAL VARIABLES
        r = self.runner
        r.on("*", "true", "")
        r.on("*", "ip -o addr show dev eth0", self._ip_addr)
        r.on("*", "drbdadm status wwwdata", self._drbd_status)
        r.on("*", "drbdadm secondary wwwdata", lambda h, a: self._set(drbd_primary=None) or "")
        r.on("*", "drbdadm primary wwwdata", lambda h, a: self._set(drbd_primary=h) or "")
        r.on("*", "SHOW SLAVE STATUS", lambda h, a: self.replica_status if h == "ctl-1" else self.old_master_status)
        r.on("ctl-0", "SHOW MASTER STATUS", fixture("mysql80-refman-show-master-status-vertical.txt"))
        r.on("*", "SHOW BINLOG STATUS", fixture("lab-mariadb-10.11-show-binlog-status-vertical.txt"))
        r.on("*", "SHOW GLOBAL VARIABLES", self._variables)
        r.on("*", "SET GLOBAL read_only=ON", lambda h, a: self.read_only.__setitem__(h, True) or "")
        r.on("*", "SET GLOBAL read_only=OFF", lambda h, a: self.read_only.__setitem__(h, False) or "")
        r.on("*", "SELECT @@gtid_binlog_pos", fixture("lab-mariadb-10.11-gtid-binlog-pos.txt"))
        r.on("*", "MASTER_GTID_WAIT", fixture("lab-mariadb-10.11-master-gtid-wait-done.txt"))
        r.on("*", "STOP REPLICA; RESET REPLICA ALL", self._reset_replica)
        r.on("*", "pkill -0 -F /run/keepalived.pid",
             lambda h, a: RunResult(0 if self.keepalived[h] else 1, "", ""))
        r.on("*", "cat -- /etc/keepalived/keepalived.conf", fixture("lab-keepalived-nopreempt.conf"))
        r.on("*", "systemctl start keepalived", lambda h, a: self.keepalived.__setitem__(h, True) or "")
        r.on("*", "test -r /root/.hascreen-repl", "")
        r.on("*", "pw=$(cat /root/.hascreen-repl)", self._repoint)
        r.on("*", "-N -B -e 'SELECT 1'", "1\n")  # what mysql -N -B prints for SELECT 1
        r.on("*", "pkill -TERM -F /run/keepalived.pid", self._stop_keepalived)
        r.on("*", "arping -U", fixture("arping-U-c3-vxlan0-gratuitous-no-replies.txt"))

    def _set(self, **values: object) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def _ip_addr(self, host: str, argv: list[str]) -> str:
        if host in self.holders:
            return fixture(HOLDS_VIP) if host == "ctl-0" else fixture(GOT_VIP)
        return fixture(NO_VIP)

    def _drbd_status(self, host: str, argv: list[str]) -> str:
        # the recorded Primary view and Secondary view of the same pair
        return fixture("cfs-drbdadm-status-pcmk1-uptodate.txt" if host == self.drbd_primary
                       else "cfs-drbdadm-status-pcmk2-uptodate.txt")

    def _variables(self, host: str, argv: list[str]) -> str:
        text = fixture("lab-mariadb-10.11-variables-master.txt" if host == "ctl-0" else self.replica_variables)
        recorded = "OFF" if host == "ctl-0" else "ON"
        now = "ON" if self.read_only[host] else "OFF"
        return text.replace(f"read_only\t{recorded}", f"read_only\t{now}")

    def _reset_replica(self, host: str, argv: list[str]) -> str:
        if host == "ctl-1":
            self.replica_status = ""
        else:
            self.old_master_status = ""
        return ""

    def _repoint(self, host: str, argv: list[str]) -> str:
        # ctl-0 replicating from ctl-1 (server_id 2), or ctl-1 from ctl-0 (server_id 1) again
        if host == "ctl-0":
            self.old_master_status = fixture("lab-mariadb-10.11-slave-status-former-master.txt")
        else:
            self.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-healthy.txt")
        return ""

    def _stop_keepalived(self, host: str, argv: list[str]) -> str:
        self.keepalived[host] = False
        self.holders.discard(host)
        self.holders.add("ctl-1" if host == "ctl-0" else "ctl-0")
        return ""


CLUSTER = {
    "name": "web",
    "members": ["ctl-0", "ctl-1"],
    "manager": "keepalived",
    "drbd": {"resources": ["wwwdata"]},
    "mysql": {"master": "ctl-0", "replicas": ["ctl-1"], "option_file": "/root/.my.cnf",
              "replication_user": "repl", "replication_password_file": "/root/.hascreen-repl"},
    "keepalived": {"instance": "VI_1", "start_command": "systemctl start keepalived"},
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
