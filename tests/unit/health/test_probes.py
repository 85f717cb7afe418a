"""probe_cluster over a replaying Runner fed with real recorded outputs: verdicts, cross-layer consistency,
unreachable and hung hosts, the per-host limit, and what a poller remembers between polls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from health_replay import HANG, ReplayRunner

from tui.config.hosts import (
    Cluster,
    DrbdSettings,
    HeartbeatSettings,
    KeepalivedSettings,
    MysqlSettings,
    PacemakerSettings,
    VipSettings,
)
from tui.health import ProbeMemory, ProbeSettings, State, probe_cluster
from tui.health.model import CLUSTER_WIDE
from tui.health.probes import mysql_argv
from tui.runner import HostUnreachable, RunResult

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
FAST = ProbeSettings(timeout=0.3, per_host_limit=2)


def sample(path: str) -> str:
    return (SAMPLES / path).read_text()


def sections(**parts: str) -> str:
    """What the probes' `sh -c` scripts print: one marker line per section."""
    return "".join(f"## hascreen:{name}\n{text}" + ("" if text.endswith("\n") or not text else "\n")
                   for name, text in parts.items())


def ip_o_addr(address: str | None) -> str:
    text = "2: eth0    inet 10.213.77.11/24 brd 10.213.77.255 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    if address:
        text += f"2: eth0    inet {address}/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n"
    return text


MASTER_OVERVIEW = ("*************************** 1. row ***************************\nhascreen_read_only: 0\n"
                   + sample("mysql/mysql80-refman-show-master-status-vertical.txt"))
REPLICA_OVERVIEW = ("*************************** 1. row ***************************\nhascreen_read_only: 1\n"
                    + sample("mysql/pmp-running-001-healthy.txt"))
BROKEN_REPLICA = ("*************************** 1. row ***************************\nhascreen_read_only: 1\n"
                  + sample("mysql/blog-sql-error-1062-duplicate-entry.txt"))


def keepalived_cluster(**changes) -> Cluster:
    fields = dict(
        name="db", members=("node-a", "node-b"), manager="keepalived",
        drbd=DrbdSettings(resources=("wwwdata",)),
        mysql=MysqlSettings(master="node-a", replicas=("node-b",), option_file="/root/.my.cnf"),
        keepalived=KeepalivedSettings(instance="VI_1", log_file="/var/log/keepalived.log",
                                      notify_state_file="/run/keepalived.state"),
        vip=VipSettings(address="10.213.77.100", prefix=24, interface="eth0"),
    )
    fields.update(changes)
    return Cluster(**fields)


def healthy_runner(**overrides: str) -> ReplayRunner:
    runner = ReplayRunner()
    answers = {
        ("node-a", "drbdadm status"): sample("drbd9/cfs-drbdadm-status-pcmk1-uptodate.txt"),
        ("node-b", "drbdadm status"): sample("drbd9/cfs-drbdadm-status-pcmk2-uptodate.txt"),
        ("node-a", "mysql"): MASTER_OVERVIEW,
        ("node-b", "mysql"): REPLICA_OVERVIEW,
        ("node-a", "pidof keepalived"): sections(pid="4242", notify="INSTANCE VI_1 MASTER 150", log=""),
        ("node-b", "pidof keepalived"): sections(pid="4343", notify="INSTANCE VI_1 BACKUP 100", log=""),
        ("node-a", "ip -o addr show dev eth0"): ip_o_addr("10.213.77.100"),
        ("node-b", "ip -o addr show dev eth0"): ip_o_addr(None),
    }
    for (host, fragment), text in answers.items():
        runner.answer(host, fragment, overrides.get(f"{host}:{fragment}", text))
    return runner


def by_key(health) -> dict:
    return {(r.node, r.layer, r.subject): r for r in health.rows}


async def test_healthy_keepalived_cluster_is_all_ok_and_consistent() -> None:
    runner = healthy_runner()
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    bad = [r for r in health.rows if r.state is not State.OK]
    assert bad == []
    assert health.active == {"drbd": {"node-a"}, "mysql": {"node-a"}, "vrrp": {"node-a"}, "vip": {"node-a"}}
    rows = by_key(health)
    assert rows[(CLUSTER_WIDE, "cluster", "consistency")].value == "node-a"
    assert rows[("node-a", "vrrp", "VI_1")].value == "MASTER (notify)"
    assert rows[("node-a", "vip", "10.213.77.100")].value == "holds 10.213.77.100/24 on eth0 (secondary)"
    assert health.state is State.OK


async def test_drbd_json_is_tried_first_then_drbdadm() -> None:
    runner = healthy_runner()
    await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    drbd_calls = [argv for host, argv in runner.calls if host == "node-a" and argv[0].startswith("drbd")]
    assert drbd_calls == [["drbdsetup", "status", "--json"], ["drbdadm", "status", "wwwdata"]]


async def test_mysql_credentials_only_from_the_option_file() -> None:
    runner = healthy_runner()
    await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    mysql_calls = [argv for _, argv in runner.calls if argv[0] == "mysql"]
    assert len(mysql_calls) == 2
    for argv in mysql_calls:
        assert argv[1] == "--defaults-extra-file=/root/.my.cnf"
        assert not any(a.startswith(("-p", "--password", "-u", "--user")) for a in argv)
    assert mysql_argv(None, "SELECT 1") == ["mysql", "-e", "SELECT 1"]


async def test_replica_sql_error_reason_and_consistency() -> None:
    runner = healthy_runner(**{"node-b:mysql": BROKEN_REPLICA})
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    row = by_key(health)[("node-b", "mysql", "")]
    assert row.state is State.CRIT
    assert row.reason == "replica SQL thread stopped: Duplicate entry '6213' for key 'PRIMARY' (1062)"
    assert health.state is State.CRIT


async def test_layers_that_disagree_make_a_crit_row_naming_them() -> None:
    # DRBD Primary on node-b while VRRP MASTER, VIP and the writable master are on node-a.
    runner = healthy_runner(**{
        "node-a:drbdadm status": sample("drbd9/cfs-drbdadm-status-pcmk2-uptodate.txt"),
        "node-b:drbdadm status": sample("drbd9/cfs-drbdadm-status-pcmk1-uptodate.txt"),
    })
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    row = by_key(health)[(CLUSTER_WIDE, "cluster", "consistency")]
    assert row.state is State.CRIT
    assert "DRBD Primary=node-b" in row.reason and "VIP holder=node-a" in row.reason
    assert "VRRP MASTER=node-a" in row.reason and "writable MySQL master=node-a" in row.reason


async def test_both_master_with_invalid_passwd_is_crit() -> None:
    log = sample("keepalived/syslog-2x-invalid-passwd-then-backup.txt")
    runner = healthy_runner(**{
        "node-b:pidof keepalived": sections(pid="4343", notify="INSTANCE VI_1 MASTER 100", log=log),
        "node-b:ip -o addr show dev eth0": ip_o_addr("10.213.77.100"),
    })
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    rows = by_key(health)
    assert rows[("node-b", "vrrp", "VI_1")].state is State.CRIT
    assert "invalid passwd" in rows[("node-b", "vrrp", "VI_1")].reason
    cluster_vrrp = rows[(CLUSTER_WIDE, "vrrp", "VI_1")]
    assert cluster_vrrp.state is State.CRIT and "node-a and node-b" in cluster_vrrp.reason
    vip_row = rows[(CLUSTER_WIDE, "vip", "10.213.77.100")]
    assert vip_row.state is State.CRIT and vip_row.reason.startswith("duplicate VIP 10.213.77.100")


async def test_auth_failures_are_counted_once_with_memory() -> None:
    log = sample("keepalived/syslog-2x-invalid-passwd-then-backup.txt")
    runner = healthy_runner(**{"node-b:pidof keepalived": sections(pid="1", notify="VI_1 BACKUP", log=log)})
    memory = ProbeMemory()
    first = await probe_cluster(runner, keepalived_cluster(), settings=FAST, memory=memory)
    second = await probe_cluster(runner, keepalived_cluster(), settings=FAST, memory=memory)
    assert by_key(first)[("node-b", "vrrp", "VI_1")].state is State.CRIT
    assert by_key(second)[("node-b", "vrrp", "VI_1")].state is State.OK  # no new invalid passwd lines


async def test_keepalived_stopped_and_state_from_vip_fallback() -> None:
    runner = healthy_runner(**{
        "node-a:pidof keepalived": sections(pid="4242", notify="", log=""),
        "node-b:pidof keepalived": sections(pid="", notify="", log=""),
    })
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    rows = by_key(health)
    assert rows[("node-a", "vrrp", "VI_1")].value == "MASTER (vip)"
    assert rows[("node-b", "vrrp", "VI_1")].state is State.WARN  # STOP
    assert "STOP" in rows[("node-b", "vrrp", "VI_1")].value


async def test_unreachable_host_rows_are_unknown_and_stale_and_the_host_is_crit() -> None:
    runner = healthy_runner()
    runner.rules.insert(0, ("node-b", "", HostUnreachable("node-b", "no route")))
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    node_b = [r for r in health.rows if r.node == "node-b"]
    data_rows = [r for r in node_b if r.layer != "host"]
    assert data_rows and all(r.state is State.UNKNOWN and r.stale for r in data_rows)
    assert [r.state for r in node_b if r.layer == "host"] == [State.CRIT]  # the pair lost its partner
    assert any("unreachable: no route" in r.reason for r in node_b)
    assert health.unreachable == {"node-b": "unreachable: no route"}
    node_a = [r for r in health.rows if r.node == "node-a"]
    assert node_a and all(r.state is State.OK for r in node_a)
    # node-b was not asked again after the first failure in this poll
    assert sum(1 for host, _ in runner.calls if host == "node-b") <= FAST.per_host_limit


async def test_hung_host_times_out_without_blocking_the_others() -> None:
    runner = healthy_runner()
    runner.rules.insert(0, ("node-b", "", HANG))
    health = await asyncio.wait_for(probe_cluster(runner, keepalived_cluster(), settings=FAST), timeout=10)
    node_b = [r for r in health.rows if r.node == "node-b"]
    assert node_b and all(r.state is State.UNKNOWN for r in node_b if r.layer != "host")
    assert [r.state for r in node_b if r.layer == "host"] == [State.CRIT]
    assert any("no answer within" in r.reason for r in node_b)
    assert all(r.state is State.OK for r in health.rows if r.node == "node-a")


async def test_one_script_per_host_per_poll_holds_every_layer() -> None:
    runner = healthy_runner()
    runner.delay = 0.02
    health = await probe_cluster(runner, keepalived_cluster(), settings=ProbeSettings(timeout=2, per_host_limit=1))
    assert dict(runner.scripts) == {"node-a": 1, "node-b": 1}  # one channel per host, not one per command
    assert runner.max_in_flight["node-a"] == 1 and runner.max_in_flight["node-b"] == 1
    ran = {argv[0] for host, argv in runner.calls if host == "node-a"}
    assert ran == {"drbdsetup", "drbdadm", "mysql", "sh", "ip"}  # all four layers' commands, in that one run
    assert [r for r in health.rows if r.state is not State.OK] == []


async def test_a_failed_or_hung_section_is_that_layers_unknown_with_the_reason() -> None:
    runner = healthy_runner()
    runner.rules.insert(0, ("node-b", "mysql", HANG))  # the script's `timeout` ends it; the others still answer
    runner.rules.insert(0, ("node-b", "drbdadm status", RunResult(20, "", "drbd module not loaded\n")))
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    rows = by_key(health)
    assert rows[("node-b", "mysql", "")].state is State.UNKNOWN
    assert rows[("node-b", "mysql", "")].reason == "mysql timed out after 0.3s"
    drbd_row = next(r for r in health.rows if r.node == "node-b" and r.layer == "drbd")
    assert drbd_row.state is State.UNKNOWN and "drbd module not loaded" in drbd_row.reason
    assert rows[("node-b", "vrrp", "VI_1")].state is State.OK and rows[("node-a", "mysql", "")].state is State.OK
    assert "node-b" not in health.unreachable


async def test_drbd_84_split_brain_from_both_sides() -> None:
    runner = ReplayRunner()
    runner.answer("node-a", "cat /proc/drbd", sample("drbd84/splitbrain-node1-standalone-secondary-unknown.txt"))
    runner.answer("node-b", "cat /proc/drbd", sample("drbd84/splitbrain-node2-standalone-primary-unknown.txt"))
    cluster = Cluster(name="old", members=("node-a", "node-b"), manager="none",
                      drbd=DrbdSettings(resources=("drbd0",), version="8.4"))
    health = await probe_cluster(runner, cluster, settings=FAST)
    rows = by_key(health)
    split = rows[(CLUSTER_WIDE, "drbd", "drbd0")]
    assert split.state is State.CRIT and split.reason == "split brain: StandAlone on node-a and node-b"
    assert rows[("node-a", "drbd", "drbd0")].state is State.CRIT


async def test_drbd_resync_that_does_not_move_becomes_stalled() -> None:
    runner = ReplayRunner()
    runner.answer("node-a", "drbdsetup status --json", "", exit_code=20, stderr="drbdsetup: module not loaded")
    runner.answer("node-a", "drbdadm status", sample("drbd9/ibm-rdqm-drbdadm-status-stuck-sync-90.91.txt"))
    cluster = Cluster(name="mq", members=("node-a",), manager="none", drbd=DrbdSettings(resources=("haqm1",)))
    memory = ProbeMemory(stall_polls=2)
    states = []
    for _ in range(3):
        health = await probe_cluster(runner, cluster, settings=FAST, memory=memory)
        states.append(by_key(health)[("node-a", "drbd", "haqm1")])
    assert [r.state for r in states] == [State.WARN, State.WARN, State.CRIT]
    assert "stalled at 90.9%" in states[-1].reason


async def test_heartbeat_cluster() -> None:
    runner = ReplayRunner()
    hb = "Heartbeat is running on this machine.\n"
    runner.answer("node-a", "cl_status", sections(hbstatus=hb, rscstatus="all", nodes="node-a active\nnode-b active"))
    runner.answer("node-b", "cl_status", sections(hbstatus=hb, rscstatus="none", nodes="node-a active\nnode-b active"))
    cluster = Cluster(name="hb", members=("node-a", "node-b"), manager="heartbeat", heartbeat=HeartbeatSettings())
    health = await probe_cluster(runner, cluster, settings=FAST)
    assert all(r.state is State.OK for r in health.rows)
    assert health.active == {"ha": {"node-a"}}
    stopped = ReplayRunner()
    stopped.answer("node-a", "cl_status", sections(
        hbstatus=sample("recorded-local/cl_status-hbstatus-stopped.txt"), rscstatus="", nodes=""))
    stopped.answer("node-b", "cl_status", sections(hbstatus=hb, rscstatus="all", nodes="node-a dead\nnode-b active"))
    rows = by_key(await probe_cluster(stopped, cluster, settings=FAST))
    assert rows[("node-a", "ha", "")].state is State.CRIT
    assert rows[("node-b", "ha", "")].state is State.WARN and "node-a dead" in rows[("node-b", "ha", "")].reason


async def test_pacemaker_cluster_uses_the_first_usable_view() -> None:
    runner = ReplayRunner()
    runner.answer("cluster01", "crm_mon", sample("recorded-local/crm_mon-xml-not-connected.txt"), exit_code=102)
    runner.answer("cluster02", "crm_mon", sample("pacemaker/cts-crm_mon-basic-xml.txt"))
    cluster = Cluster(name="pcmk", members=("cluster01", "cluster02"), manager="pacemaker",
                      pacemaker=PacemakerSettings(resources=("promotable-clone",)))
    health = await probe_cluster(runner, cluster, settings=FAST)
    rows = by_key(health)
    assert rows[(CLUSTER_WIDE, "ha", "")].value == "DC cluster02 quorum (via cluster02)"
    assert rows[("cluster01", "ha", "")].state is State.WARN  # its own crm_mon cannot connect
    assert "Connection refused" in rows[("cluster01", "ha", "")].reason
    assert health.active == {"ha": {"cluster02"}}


@pytest.mark.parametrize("member_count", [1, 3])
async def test_a_layer_bug_becomes_an_unknown_row(member_count: int) -> None:
    class Exploding:
        resources = property(lambda self: (_ for _ in ()).throw(RuntimeError("boom")))
        version = "9"

    cluster = Cluster(name="x", members=tuple(f"n{i}" for i in range(member_count)), manager="none",
                      drbd=Exploding())  # type: ignore[arg-type]
    health = await probe_cluster(ReplayRunner(), cluster, settings=FAST)
    assert [(r.layer, r.state, r.reason) for r in health.rows] == [("host", State.UNKNOWN, "RuntimeError: boom")]


async def test_check_clusters_one_shot_gives_exit_code() -> None:
    from tui.health import check_clusters, exit_code

    ok_rows = await check_clusters(healthy_runner(), [keepalived_cluster()], settings=FAST)
    assert exit_code(ok_rows) == 0
    broken = healthy_runner(**{"node-b:mysql": BROKEN_REPLICA})
    assert exit_code(await check_clusters(broken, [keepalived_cluster()], settings=FAST)) == 2
    down = ReplayRunner()
    for host in ("node-a", "node-b"):
        down.unreachable(host)  # connection refused: both members down is CRITICAL
    assert exit_code(await check_clusters(down, [keepalived_cluster()], settings=FAST)) == 2
    unknown_keys = ReplayRunner()
    for host in ("node-a", "node-b"):
        unknown_keys.unreachable(host, "host key of it is unknown: not in known_hosts")
    assert exit_code(await check_clusters(unknown_keys, [keepalived_cluster()], settings=FAST)) == 3


async def test_poller_feeds_the_tracker_and_reports_new_crits() -> None:
    from tui.health import HealthPoller, HealthTracker

    runner = healthy_runner()
    seen: list = []
    poller = HealthPoller(runner, [keepalived_cluster()], interval=0.01, settings=FAST, on_events=seen.append)
    assert await poller.poll_once() == [] and seen == []
    runner.rules.insert(0, ("node-b", "mysql", RunResult(0, BROKEN_REPLICA, "")))
    events = await poller.poll_once()
    crits = HealthTracker.new_crits(events)
    assert [(e.node, e.layer) for e in crits] == [("node-b", "mysql")]
    assert seen == [events]
    task = asyncio.ensure_future(poller.run())
    for _ in range(500):  # bounded: at most ~5 s
        if poller.polls >= 4:
            break
        await asyncio.sleep(0.01)
    poller.stop()
    await asyncio.wait_for(task, timeout=5)
    assert poller.polls >= 4 and poller.tracker.state("db") is State.CRIT


async def test_drbd_tool_failure_is_unknown_with_the_message_not_stale() -> None:
    runner = healthy_runner()
    runner.rules.insert(0, ("node-b", "drbdadm status", RunResult(10, "", "'wwwdata' not defined in your config\n")))
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    row = by_key(health)[("node-b", "drbd", "wwwdata")]
    assert row.state is State.UNKNOWN and not row.stale
    assert row.reason == "drbdadm exit 10: 'wwwdata' not defined in your config"


async def test_a_transport_error_on_one_host_stays_on_that_host() -> None:
    class Flaky(ReplayRunner):
        async def run(self, host, argv, *, timeout=10.0, stdin=None):
            if host == "node-b":  # node-b's one script per poll loses its channel
                raise ConnectionResetError("channel closed")
            return await super().run(host, argv, timeout=timeout, stdin=stdin)

    runner = Flaky()
    runner.rules = healthy_runner().rules
    health = await probe_cluster(runner, keepalived_cluster(), settings=FAST)
    rows = by_key(health)
    assert rows[("node-b", "mysql", "")].state is State.UNKNOWN
    assert "ConnectionResetError: channel closed" in rows[("node-b", "mysql", "")].reason
    assert rows[("node-b", "vrrp", "VI_1")].state is State.UNKNOWN
    assert all(r.state is State.OK for r in health.rows if r.node == "node-a")
