"""Failover and arping through the CLI function and the engine, on recorded outputs: plan, refusals,
confirmation levels, force, anti-flapping, the cluster lock, abort, resume, audit records."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from tui.procedures.builtin.switchover import Failover
from tui.procedures.cli import run_from_cli
from tui.procedures.cluster_view import build_cluster_view
from tui.procedures.engine import ClusterBusy, ConfirmationError, ProcedureRun
from tui.procedures.model import RunContext
from tui.runner import RunResult


def fixture(name: str) -> str:
    return (Path(__file__).parent / "fixtures" / name).read_text()


async def cli(world, hosts_config, registry, *words, answers=()):
    out = io.StringIO()
    replies = list(answers)

    async def input_fn(prompt: str):
        out.write(prompt)
        return replies.pop(0) if replies else None

    code = await run_from_cli(world.runner, hosts_config, list(words), out, input_fn=input_fn, registry=registry)
    return code, out.getvalue()


async def test_dry_run_shows_preflight_and_exact_plan_and_runs_nothing(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--dry-run")
    assert code == 0, text
    assert "✓ VIP 192.168.122.200 held by exactly one node: ctl-0" in text
    assert "✓ DRBD wwwdata on ctl-1 UpToDate+Connected: Secondary Connected UpToDate/UpToDate" in text
    assert "✓ MySQL replica ctl-1 caught up: IO Yes, SQL Yes, lag 0s" in text
    assert "✓ keepalived runs on the target ctl-1: yes" in text
    assert "✓ keepalived VI_1 on ctl-0 is nopreempt: nopreempt" in text
    assert "✓ replication mode of ctl-1: GTID (Slave_Pos)" in text
    assert "✓ no errant GTIDs on ctl-1: none" in text
    plan = text[text.index("Plan:"):]
    # the loss-free order: stop writes, catch up, DRBD, promote MySQL, VIP, arping, re-point the old master
    order = ["[ctl-0] mysql --defaults-extra-file=/root/.my.cnf -N -B -e 'SET GLOBAL read_only=ON'",
             "[ctl-0] mysql --defaults-extra-file=/root/.my.cnf -N -B -e 'SELECT @@gtid_binlog_pos'",
             "MASTER_GTID_WAIT(", "[ctl-0] drbdadm secondary wwwdata", "[ctl-1] drbdadm primary wwwdata",
             "[ctl-1] mysql --defaults-extra-file=/root/.my.cnf -N -B -e 'STOP REPLICA; RESET REPLICA ALL'",
             "[ctl-1] mysql --defaults-extra-file=/root/.my.cnf -N -B -e 'SET GLOBAL read_only=OFF'",
             "[ctl-0] pkill -TERM -F /run/keepalived.pid", "wait for the VIP on ctl-1",
             "[ctl-0] sh -c 'systemctl start keepalived'", "wait for keepalived on ctl-0 as BACKUP",
             "[ctl-1] arping -U -f -c 3 -I eth0 -s 192.168.122.200 192.168.122.1",
             "make ctl-0 a replica of ctl-1 (GTID)"]
    positions = [plan.index(item) for item in order]
    assert positions == sorted(positions), [item for item in order]
    assert "MASTER_USE_GTID=slave_pos" in plan and "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos" in plan
    assert not [c for c in world.runner.commands() if c.startswith(("pkill -TERM", "arping", "drbdadm primary"))
                or "SET GLOBAL" in c]
    assert registry.audit.tail() == []  # a dry run writes nothing


async def test_failover_runs_moves_vip_arpings_verifies_and_audits(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 0, text
    assert world.holders == {"ctl-1"}
    assert "✓ VIP 192.168.122.200 on ctl-1: yes" in text
    assert "✓ VIP 192.168.122.200 gone from ctl-0: gone" in text
    assert "✓ layers agree (health consistency): ctl-1" in text
    assert "✓ ctl-0 replicates from ctl-1: IO Yes, SQL Yes, lag 0s" in text
    assert world.keepalived == {"ctl-0": True, "ctl-1": True}  # started again on the old node
    assert world.read_only == {"ctl-0": True, "ctl-1": False} and world.drbd_primary == "ctl-1"
    order = world.runner.commands()
    kill = order.index("pkill -TERM -F /run/keepalived.pid")
    arping = next(i for i, c in enumerate(order) if c.startswith("arping"))
    assert kill < arping
    records = registry.audit.tail()
    steps = [r for r in records if r["event"] == "step"]
    assert [s["host"] for s in steps] == ["ctl-0", "ctl-0", "ctl-1", "ctl-0", "ctl-1", "ctl-1", "ctl-1", "ctl-0",
                                          None, "ctl-0", None, "ctl-1", "ctl-0"]
    assert not any("hascreen-repl" in s["command"] and "$pw" not in s["command"] for s in steps)
    assert all(s["exit_code"] == 0 and s["duration"] >= 0 for s in steps)
    assert records[-1]["event"] == "result" and records[-1]["outcome"] == "succeeded"
    assert records[-1]["failover"] is True


@pytest.mark.parametrize(("replica_fixture", "reason"), [
    ("pmp-delay-001-lag-10s.txt", "replica is behind the master"),
    ("pmp-delay-002-running-but-sbm-null.txt", "lag unknown (Seconds_Behind_Master is NULL): never read as 0"),
    ("blog-sql-error-1062-duplicate-entry.txt", "replication threads not running: Error 'Duplicate entry"),
])
async def test_failover_refuses_when_the_replica_is_not_caught_up(world, hosts_config, registry,
                                                                 replica_fixture, reason):
    world.replica_status = fixture(replica_fixture)
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1
    assert "REFUSED: preflight failed" in text and reason in text
    assert "pkill -TERM" not in " ".join(world.runner.commands())
    assert "SET GLOBAL" not in " ".join(world.runner.commands())
    assert world.holders == {"ctl-0"}
    assert registry.audit.tail()[-1]["outcome"] == "refused"


async def test_failover_refuses_on_duplicate_vip(world, hosts_config, registry):
    world.holders = {"ctl-0", "ctl-1"}
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1
    assert "duplicate VIP" in text and "ctl-0, ctl-1" in text


@pytest.mark.parametrize("drbd_fixture", ["cfs-drbdadm-status-peer-connecting.txt",
                                          "cfs-drbdadm-status-primary-peer-inconsistent.txt"])
async def test_failover_refuses_when_drbd_peer_not_ready(world, hosts_config, registry, drbd_fixture):
    world.runner.on("ctl-1", "drbdadm status wwwdata", fixture(drbd_fixture))
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1
    assert "✗ DRBD wwwdata on ctl-1 UpToDate+Connected" in text


async def test_failover_refuses_when_peer_unreachable(world, hosts_config, registry):
    world.runner.down.add("ctl-1")
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1
    assert "unreachable: ctl-1" in text


async def test_force_states_the_risk_and_needs_the_cluster_name(world, hosts_config, registry):
    # recorded on the lab after a write on the replica itself: 0-2-4 is an errant GTID
    world.replica_variables = "lab-mariadb-10.11-variables-replica-errant.txt"
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--force",
                           answers=["wrong"])
    assert "✗ no errant GTIDs on ctl-1: 0-2-4 — transactions on the target the master never had" in text
    assert code == 1 and "forcing needs the cluster name" in text
    assert world.holders == {"ctl-0"}
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--force",
                           answers=["web"])
    assert code == 0, text
    assert "FORCE: running failover on web with failed preflight checks may cause" in text
    assert registry.audit.tail()[-1]["forced"] is True


async def test_disruptive_needs_the_cluster_name_typed(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", answers=[""])
    assert code == 1 and "type the cluster name 'web'" in text
    assert world.holders == {"ctl-0"}


async def test_second_failover_within_the_period_needs_acknowledgement(world, hosts_config, registry):
    assert (await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes"))[0] == 0
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1 and "acknowledge flapping" in text
    assert world.holders == {"ctl-1"}
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes",
                           "--ack-flapping")
    assert code == 0, text
    assert world.holders == {"ctl-0"}


async def test_a_forced_run_within_the_flap_period_shows_the_flap_warning(world, hosts_config, registry):
    assert (await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes"))[0] == 0
    world.replica_status = fixture("pmp-delay-001-lag-10s.txt")  # now preflight fails: forcing is needed
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--force",
                           answers=["web", "no"])
    assert code == 1
    assert "! the last failover of web (by " in text and "was 0 min ago" in text and "None" not in text


async def test_only_one_disruptive_run_per_cluster(world, hosts_config, registry):
    registry.acquire("web", "other-run")
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1 and "still running" in text
    assert world.holders == {"ctl-0"}
    registry.release("web", "other-run")
    with pytest.raises(ClusterBusy):  # the flock also holds across registries (another process)
        registry.acquire("web", "a")
        type(registry)(audit=registry.audit, lock_dir=registry.lock_dir).acquire("web", "b")


async def test_failed_step_stops_and_says_how_to_continue(world, hosts_config, registry):
    from tui.runner import RunResult
    world.runner.on("ctl-0", "pkill -TERM", RunResult(1, "", "pkill: pidfile not valid"))
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 2
    assert "step 8 (stop keepalived on ctl-0" in text and "failed (rc 1)" in text
    assert "continue with --from-step 8" in text
    assert not [c for c in world.runner.commands() if c.startswith("arping")]
    # past the point of no automatic return: nothing undone by itself, every layer's state said
    assert "automatic rollback" not in text
    assert ("State now: VIP: ctl-0; DRBD wwwdata: ctl-0 Secondary, ctl-1 Primary; keepalived: ctl-0 running, "
            "ctl-1 running; MySQL: ctl-0 ro not a replica, ctl-1 rw not a replica") in text


async def test_a_catch_up_timeout_makes_the_old_master_writable_again(world, hosts_config, registry):
    world.runner.on("ctl-1", "MASTER_GTID_WAIT", fixture("lab-mariadb-10.11-master-gtid-wait-timeout.txt"))
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 2
    assert "step 3 (wait (≤ 30 s) until ctl-1 applied everything" in text
    assert "did not apply everything within 30 s (wait returned -1)" in text
    assert "rolled back: nothing moved yet: ctl-0 is the writable master again" in text
    assert world.read_only == {"ctl-0": False, "ctl-1": True} and world.holders == {"ctl-0"}
    assert world.drbd_primary == "ctl-0"
    steps = [r for r in registry.audit.tail() if r["event"] == "step"]
    assert steps[-1]["command"].endswith("-e 'SET GLOBAL read_only=OFF'") and steps[-1]["exit_code"] == 0


async def test_abort_between_steps_and_events_replay_for_a_reattached_client(world, hosts_config, registry):
    cluster = build_cluster_view(hosts_config.clusters["web"], hosts_config.hosts)
    run = ProcedureRun(Failover(), RunContext(world.runner, cluster), registry=registry)
    await run.prepare()
    assert run.confirmation()["level"] == "type-cluster"
    with pytest.raises(ConfirmationError):
        run.confirm("nope")
    run.confirm("web")
    run.subscribe(lambda event: run.abort() if event.kind == "step-end" else None)
    state = await run.execute()
    assert state == "aborted" and "before step 2" in run.reason
    assert "continue with --from-step 2" in run.hint
    replay = [event.kind async for event in run.watch()]
    assert replay[0] == "state" and "plan" in replay and replay.count("step-start") == 1
    assert run.snapshot()["state"] == "aborted"


async def test_arping_from_holder_checks_address_first(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "arping", "--cluster", "web", "--host", "ctl-1",
                           "--yes")
    assert code == 1 and "arping -s needs the address on the interface" in text
    code, text = await cli(world, hosts_config, registry, "arping", "--cluster", "web", "--yes")
    assert code == 0, text
    assert world.runner.commands("ctl-0")[-2:] == [
        "arping -U -f -c 3 -I eth0 -s 192.168.122.200 192.168.122.1", "ip -o addr show dev eth0"]


async def test_unknown_procedure_argument_is_refused(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--victim", "x")
    assert code == 1 and "unknown argument --victim" in text
    code, text = await cli(world, hosts_config, registry, "nope", "--cluster", "web")
    assert code == 1 and "unknown procedure" in text


async def test_audit_lines_are_json_with_masked_secrets(tmp_path):
    from tui.procedures.audit import AuditLog
    log = AuditLog(tmp_path / "a.log", max_bytes=400, backups=2)
    for i in range(10):
        log.write({"event": "step", "cluster": "c", "command": f"curl -u user:s3cret {i}"}, masks=["s3cret"])
    raw = "".join(p.read_text() for p in log.files_oldest_first())
    assert "s3cret" not in raw and "********" in raw
    assert len(log.files_oldest_first()) == 3  # current + 2 rotated, older ones dropped
    assert all(json.loads(line)["event"] == "step" for line in raw.splitlines())
    (tmp_path / "a.log").open("a").write("{not json\n")
    assert log.tail(1)[0]["event"] == "unreadable"


async def test_heartbeat_and_pacemaker_failover_plans(world, hosts_config, registry):
    hosts_config.clusters["web"]["manager"] = "heartbeat"
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--dry-run")
    assert code == 0 and "[ctl-0] /usr/share/heartbeat/hb_standby all" in text
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--method", "stop",
                           "--dry-run")
    assert code == 0 and "[ctl-0] /usr/libexec/heartbeat/heartbeat -k" in text
    hosts_config.clusters["web"]["manager"] = "pacemaker"
    hosts_config.clusters["web"]["pacemaker"] = {"resources": ["ClusterIP"]}
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--dry-run")
    assert code == 0, text
    assert "[ctl-0] crm_resource --move --resource ClusterIP --node ctl-1" in text
    assert "drbdadm" not in text[text.index("Plan:"):]  # pacemaker moves DRBD with its resources
    assert "--clear" not in text.split("Plan:")[1].split("wait for")[0].replace("or `crm_resource --clear", "")
    hosts_config.clusters["web"]["manager"] = "none"
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--dry-run")
    assert code == 1 and "hosts.yaml gives no manager" in text


async def test_abort_ends_a_wait_step_early(world, hosts_config, registry):
    cluster = build_cluster_view(hosts_config.clusters["web"], hosts_config.hosts)
    world.runner.on("ctl-0", "pkill -TERM", "")  # keepalived "stops" but the VIP never moves
    run = ProcedureRun(Failover(), RunContext(world.runner, cluster, args={"wait": "60"}), registry=registry)
    await run.prepare()
    run.confirm("web")
    run.subscribe(lambda event: run.abort() if event.kind == "step-start" and event.data["index"] == 9 else None)
    state = await asyncio.wait_for(run.execute(), 10)
    assert state == "aborted" and "at step 9" in run.reason
    assert not [c for c in world.runner.commands() if c.startswith("arping")]


async def test_service_prepares_runs_the_server_holds(world, hosts_config, registry):
    from tui.procedures.service import ProcedureRequestError, ProcedureService
    service = ProcedureService(hosts_config, world.runner, registry=registry)
    assert {"failover", "arping", "mysql-resync"} <= {p["name"] for p in service.catalog()}
    with pytest.raises(ProcedureRequestError, match="unknown cluster"):
        await service.start("failover", "nope")
    with pytest.raises(ProcedureRequestError, match="unknown argument --bogus"):
        await service.start("failover", "web", ["--bogus", "1"])
    run = await service.start("failover", None, ["--to", "ctl-1"], who="alice")
    assert service.get(run.run_id) is run and service.active() == [run]
    assert run.confirmation()["level"] == "type-cluster"
    run.confirm("web")
    assert await run.execute() == "succeeded"
    assert service.active() == [] and registry.audit.tail()[-1]["who"] == "alice"


async def test_a_failing_probe_refuses_instead_of_crashing(world, hosts_config, registry):
    from tui.runner import RunResult
    world.runner.on("ctl-0", "drbdadm status wwwdata", RunResult(20, "", "Module drbd not loaded"))
    code, text = await cli(world, hosts_config, registry, "drbd-connect", "--cluster", "web", "--node", "ctl-0",
                           "--yes")
    assert code == 1
    assert "drbdadm status wwwdata failed (rc 20): Module drbd not loaded" in text


async def test_list_audit_and_flap_period_from_the_environment(world, hosts_config, registry, monkeypatch):
    code, text = await cli(world, hosts_config, registry, "list")
    assert code == 0 and "failover               disruptive" in text and "arping                 safe" in text
    assert (await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes"))[0] == 0
    code, text = await cli(world, hosts_config, registry, "audit", "--cluster", "web")
    assert code == 0 and "web failover step #8 ctl-0: pkill -TERM -F /run/keepalived.pid → rc=0" in text
    assert "web failover result: succeeded" in text and "None" not in text
    from tui.procedures.engine import RunRegistry
    monkeypatch.setenv("HASCREEN_FLAP_PERIOD", "0")
    quick = RunRegistry(audit=registry.audit, lock_dir=registry.lock_dir)
    assert quick.flap_period == 0 and quick.recent_failover("web") is None
    assert registry.recent_failover("web") is not None


async def test_flapping_is_keyed_by_cluster_identity_and_read_from_the_audit_log(world, hosts_config, registry):
    assert (await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes", "--ack-flapping"))[0] == 0
    record = registry.audit.tail()[-1]
    identity = build_cluster_view(hosts_config.clusters["web"], hosts_config.hosts).identity
    assert record["outcome"] == "succeeded" and record["cluster_id"] == identity and len(identity) == 16
    # a restarted server (a new registry on the same audit log) still sees it, and says who and when
    restarted = type(registry)(audit=registry.audit, lock_dir=registry.lock_dir)
    code, text = await cli(world, hosts_config, restarted, "failover", "--cluster", "web", "--yes")
    assert code == 1 and f"the last failover of web (by {record['who']}, " in text and "acknowledge flapping" in text
    # another cluster that is also called "web" (other members, other VIP) is not flapping
    other = dict(hosts_config.clusters["web"], members=["ctl-1", "ctl-0"],
                 vip={"address": "192.168.122.201", "interface": "eth0", "gateway": "192.168.122.1"})
    assert build_cluster_view(other, hosts_config.hosts).identity != identity
    assert build_cluster_view(dict(hosts_config.clusters["web"], name="renamed"), hosts_config.hosts).identity == identity
    assert restarted.recent_failover("web", identity="0" * 16) is None
    assert restarted.recent_failover("web", identity=identity)["who"] == record["who"]


async def test_failover_refuses_when_keepalived_would_preempt_or_is_stopped_on_the_target(world, hosts_config,
                                                                                         registry):
    # the lab's keepalived.conf without its nopreempt line: a restarted ctl-0 would take the VIP back
    preempting = fixture("lab-keepalived-nopreempt.conf").replace("    nopreempt\n", "")
    world.runner.on("ctl-0", "cat -- /etc/keepalived/keepalived.conf", preempting)
    world.keepalived["ctl-1"] = False
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1
    assert "✗ keepalived VI_1 on ctl-0 is nopreempt: preempts — back as BACKUP" in text
    assert "✗ keepalived runs on the target ctl-1: no — start keepalived on ctl-1 first" in text
    assert not [c for c in world.runner.commands() if c.startswith("pkill -TERM") or "SET GLOBAL" in c]


def _with_release_file(world, hosts_config, release: dict[str, str]) -> None:
    """keepalived.release_file configured: writing 1 puts the node's instance in FAULT (the peer takes the
    VIP), 0 ends it; keepalived is never stopped."""
    keepalived = dict(hosts_config.clusters["web"]["keepalived"], release_file="/etc/keepalived/release")
    hosts_config.clusters["web"] = dict(hosts_config.clusters["web"], keepalived=keepalived)
    world.runner.on("*", "cat -- /etc/keepalived/release", lambda h, a: release[h] + "\n")

    def write(value: str):
        def answer(host: str, argv: list[str]) -> str:
            release[host] = value
            if value == "1":
                world.holders.discard(host)
                world.holders.add("ctl-1" if host == "ctl-0" else "ctl-0")
            return ""
        return answer

    world.runner.on("*", "echo 1 > /etc/keepalived/release", write("1"))
    world.runner.on("*", "echo 0 > /etc/keepalived/release", write("0"))


async def test_failover_with_a_release_file_moves_the_vip_without_stopping_keepalived(world, hosts_config, registry):
    release = {"ctl-0": "0", "ctl-1": "0"}
    _with_release_file(world, hosts_config, release)
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 0, text
    assert "✓ keepalived release file on ctl-0 reads 0: /etc/keepalived/release: 0" in text
    assert "✓ keepalived release file on ctl-1 reads 0" in text
    assert world.holders == {"ctl-1"} and release == {"ctl-0": "0", "ctl-1": "0"}
    assert "✓ layers agree (health consistency): ctl-1" in text
    order = world.runner.commands()
    assert not [c for c in order if c.startswith("pkill -TERM") or "systemctl start keepalived" in c]
    released = order.index("sh -c 'echo 1 > /etc/keepalived/release'")
    back = order.index("sh -c 'echo 0 > /etc/keepalived/release'")
    promoted = order.index("mysql --defaults-extra-file=/root/.my.cnf -N -B -e 'SET GLOBAL read_only=OFF'")
    arping = next(i for i, c in enumerate(order) if c.startswith("arping"))
    assert promoted < released < back < arping  # DRBD/MySQL first, as without a release file
    assert [s["host"] for s in registry.audit.tail() if s["event"] == "step"][7:11] == ["ctl-0", None, "ctl-0", None]


@pytest.mark.parametrize(("node", "value", "shown"), [("ctl-1", "1", "1"), ("ctl-0", None, "missing")])
async def test_failover_refuses_a_release_file_that_is_missing_or_not_0(world, hosts_config, registry,
                                                                      node, value, shown):
    release = {"ctl-0": "0", "ctl-1": "0"}
    _with_release_file(world, hosts_config, release)
    if value is None:
        world.runner.on(node, "cat -- /etc/keepalived/release", RunResult(1, "", "No such file or directory"))
    else:
        release[node] = value
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 1, text
    assert f"✗ keepalived release file on {node} reads 0: /etc/keepalived/release: {shown} — " in text
    assert not [c for c in world.runner.commands() if "echo 1 >" in c or "SET GLOBAL" in c]


async def test_a_vip_that_does_not_move_ends_the_release_on_the_old_node(world, hosts_config, registry):
    release = {"ctl-0": "0", "ctl-1": "0"}
    _with_release_file(world, hosts_config, release)
    world.runner.on("ctl-0", "echo 1 > /etc/keepalived/release",
                    lambda h, a: release.__setitem__(h, "1") or "")  # FAULT, but the peer never takes the VIP
    code, text = await cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes", "--wait", "1")
    assert code == 2, text
    assert "rolled back: end the release on ctl-0" in text
    assert release["ctl-0"] == "0"
    writes = [c for c in world.runner.commands("ctl-0") if "/etc/keepalived/release" in c and "echo" in c]
    assert writes == ["sh -c 'echo 1 > /etc/keepalived/release'", "sh -c 'echo 0 > /etc/keepalived/release'"]
