"""Two verdicts a pager needs: a deliberately delayed replica is not caught up (warn, not ok), and a member
that does not answer is crit, while a refused host key stays unknown (it is our configuration)."""

import asyncio
from pathlib import Path

from tui.config.hosts import load_hosts
from tui.health.model import State
from tui.health.mysql import evaluate_replica, parse_replica_status
from tui.health.probes import probe_cluster
from tui.runner import HostUnreachable

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "recorded-local" / "mariadb-10.11"
REPO = Path(__file__).resolve().parents[3]


def test_a_delayed_replica_warns_with_its_delay():
    status = parse_replica_status((SAMPLES / "show-slave-status-delayed-replica.txt").read_text())
    [row] = evaluate_replica(status, "db", "node-b", observed_at=0.0)
    assert row.state is State.WARN
    assert "3600s late (MASTER_DELAY)" in row.reason and "3s behind" in row.reason


def test_a_healthy_replica_stays_ok():
    status = parse_replica_status((SAMPLES / "replica-healthy.txt").read_text())
    assert evaluate_replica(status, "db", "node-b", observed_at=0.0)[0].state is State.OK


class DownRunner:
    """node-b does not answer at all; node-a's host key is refused."""

    async def run(self, host, argv, *, timeout=10.0, stdin=None):
        if host == "node-b":
            raise HostUnreachable(host, "connect to 10.213.77.12 port 22: No route to host")
        raise HostUnreachable(host, "host key of node-a (10.213.77.11) is unknown: not in known_hosts")


def test_an_unanswering_member_is_crit_and_a_refused_host_key_unknown():
    cluster = load_hosts(REPO / "hosts.yaml").clusters["db"]
    health = asyncio.run(probe_cluster(DownRunner(), cluster))
    host_rows = {row.node: row for row in health.rows if row.layer == "host"}
    assert host_rows["node-b"].state is State.CRIT and "No route to host" in host_rows["node-b"].reason
    assert host_rows["node-a"].state is State.UNKNOWN and "host key" in host_rows["node-a"].reason
