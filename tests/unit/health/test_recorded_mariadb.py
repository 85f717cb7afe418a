"""Real MariaDB 10.11 outputs of the probe's own `mysql -e` command, recorded on this machine (see
tests/fixtures/samples/recorded-local/README.md), parsed, judged and replayed through probe_cluster."""

from __future__ import annotations

from pathlib import Path

from health_replay import ReplayRunner

from tui.config.hosts import Cluster, MysqlSettings
from tui.health import ProbeSettings, State, probe_cluster
from tui.health.mysql import evaluate_replica, judge_channel, parse_overview

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "recorded-local" / "mariadb-10.11"


def read(name: str) -> str:
    return (RECORDED / name).read_text()


def test_master_overview() -> None:
    overview = parse_overview(read("master-healthy.txt"))
    assert overview.read_only is False
    assert (overview.master.file, overview.master.position) == ("mysql-bin.000001", 1178)
    assert overview.replica.channels == [] and overview.replica.errors == []


def test_replica_overview_healthy() -> None:
    overview = parse_overview(read("replica-healthy.txt"))
    assert overview.read_only is True and overview.master.binlog_enabled  # the replica logs too
    chan = overview.replica.channels[0]
    assert (chan.io_running, chan.sql_running, chan.seconds_behind, chan.master_port) == ("Yes", "Yes", 0, "33061")
    assert judge_channel(chan) == (State.OK, "")


def test_replica_duplicate_key_reason_is_the_one_line_of_the_issue() -> None:
    overview = parse_overview(read("replica-dup-1062.txt"))
    rows = evaluate_replica(overview.replica, "db", "node-b", observed_at=0, read_only=overview.read_only)
    assert rows[0].state is State.CRIT
    assert rows[0].reason == "replica SQL thread stopped: Duplicate entry '3' for key 'PRIMARY' (1062)"
    assert "lag NULL" in rows[0].value


def test_replica_with_master_down_is_connecting_and_lag_unknown() -> None:
    chan = parse_overview(read("replica-master-down.txt")).replica.channels[0]
    assert (chan.io_running, chan.last_io_errno, chan.seconds_behind) == ("Connecting", 2003, None)
    state, reason = judge_channel(chan)
    assert state is State.WARN
    assert "connecting to 127.0.0.1:33061" in reason and "Connection refused" in reason and "(2003)" in reason


async def test_probe_with_the_master_down() -> None:
    runner = ReplayRunner()
    runner.answer("node-a", "mysql", read("master-down.stdout"), exit_code=1, stderr=read("master-down.stderr"))
    runner.answer("node-b", "mysql", read("replica-master-down.txt"))
    cluster = Cluster(name="db", members=("node-a", "node-b"), manager="none",
                      mysql=MysqlSettings(master="node-a", replicas=("node-b",), option_file="/root/.my.cnf"))
    health = await probe_cluster(runner, cluster, settings=ProbeSettings(timeout=1))
    rows = {r.node: r for r in health.rows}
    assert rows["node-a"].state is State.CRIT and "ERROR 2002" in rows["node-a"].reason
    assert rows["node-b"].state is State.WARN
    assert health.active == {"mysql": set()}


async def test_probe_healthy_pair() -> None:
    runner = ReplayRunner()
    runner.answer("node-a", "mysql", read("master-healthy.txt"))
    runner.answer("node-b", "mysql", read("replica-healthy.txt"))
    cluster = Cluster(name="db", members=("node-a", "node-b"), manager="none",
                      mysql=MysqlSettings(master="node-a", replicas=("node-b",)))
    health = await probe_cluster(runner, cluster, settings=ProbeSettings(timeout=1))
    assert [r.state for r in health.rows] == [State.OK, State.OK]
    assert "at master position" in next(r for r in health.rows if r.node == "node-b").value
    assert health.active == {"mysql": {"node-a"}}
