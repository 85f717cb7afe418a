"""Real keepalived 2.2.7 outputs recorded on this machine (two nodes in network namespaces, see
tests/fixtures/samples/recorded-local/README.md): dumps, console log, notify file and `ip addr`, parsed and
judged, then replayed through probe_cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from health_replay import ReplayRunner

from tui.config.hosts import Cluster, KeepalivedSettings, VipSettings
from tui.health import ProbeSettings, State, probe_cluster
from tui.health.keepalived import (
    VrrpNodeView,
    evaluate_vrrp_cluster,
    evaluate_vrrp_node,
    parse_data_dump,
    parse_json_dump,
    parse_notify_state,
    parse_stats_dump,
    parse_syslog,
)
from tui.health.model import CLUSTER_WIDE
from tui.health.vip import evaluate_vip, parse_ip_addr

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "recorded-local" / "keepalived-2.2.7"
VIP = "10.250.99.100"


def read(scenario: str, node: str, what: str) -> str:
    return (RECORDED / scenario / f"{node}-{what}").read_text()


# scenario -> node -> (state, priority, interface, holds VIP, invalid passwd lines, JSON auth_failure)
EXPECTED = {
    "healthy": {"a": ("MASTER", 150, "hsh-va", True, 0, 0), "b": ("BACKUP", 100, "hsh-vb", False, 0, 0)},
    "authfail": {"a": ("MASTER", 150, "hsh-va", True, 1, 1), "b": ("MASTER", 100, "hsh-vb", True, 5, 3)},
}


@pytest.mark.parametrize("scenario,node", [(s, n) for s in EXPECTED for n in EXPECTED[s]])
def test_recorded_node(scenario: str, node: str) -> None:
    state, priority, interface, holds, passwd, auth_failure = EXPECTED[scenario][node]
    data = parse_data_dump(read(scenario, node, "keepalived.data"))
    assert data.errors == []  # global definitions and interface sections are skipped, not misread
    inst = data.instance("VI_1")
    assert (inst.state, inst.wantstate, inst.vrid, inst.priority, inst.interface) == (state, state, 99, priority,
                                                                                      interface)
    assert [v.address for v in inst.vips] == [f"{VIP}/24"] and "Password" not in inst.extra
    json_data, json_stats = parse_json_dump(read(scenario, node, "keepalived.json"))
    assert (json_data.instances[0].state, json_data.instances[0].priority) == (state, priority)
    assert json_stats["VI_1"].auth_errors["auth_failure"] == auth_failure
    stats, errors = parse_stats_dump(read(scenario, node, "keepalived.stats"))
    assert errors == [] and stats["VI_1"].auth_errors["failure"] == auth_failure
    assert parse_notify_state(read(scenario, node, "notify-state")) == {"VI_1": state}
    log = parse_syslog(read(scenario, node, "console.log"))
    assert log.count("invalid_passwd") == passwd and log.last_state("VI_1") == {"VI_1": state}
    for name in ("ip-o-addr.txt", "ip-addr.txt"):
        report = parse_ip_addr(read(scenario, node, name))
        assert report.errors == [] and (report.find(VIP) is not None) is holds


def test_recorded_auth_failure_gives_two_masters_and_a_duplicate_vip() -> None:
    views = {n: VrrpNodeView(state="MASTER", auth_failures=1) for n in "ab"}
    assert evaluate_vrrp_cluster(views, "lab", "VI_1", observed_at=0).state is State.CRIT
    reports = {n: parse_ip_addr(read("authfail", n, "ip-o-addr.txt")) for n in "ab"}
    cluster_row = next(r for r in evaluate_vip(reports, "lab", VIP, observed_at=0) if r.node == CLUSTER_WIDE)
    assert cluster_row.state is State.CRIT and cluster_row.reason == f"duplicate VIP {VIP} on a and b"


def replay(scenario: str) -> ReplayRunner:
    runner = ReplayRunner()
    for node in "ab":
        script_output = (f"## hascreen:pid\n{4000 + ord(node)}\n## hascreen:notify\n"
                         f"{read(scenario, node, 'notify-state')}## hascreen:log\n{read(scenario, node, 'console.log')}")
        runner.answer(node, "pidof keepalived", script_output)
        runner.answer(node, "ip -o addr show", read(scenario, node, "ip-o-addr.txt"))
    return runner


CLUSTER = Cluster(name="lab", members=("a", "b"), manager="keepalived",
                  keepalived=KeepalivedSettings(instance="VI_1", log_file="/var/log/keepalived.log",
                                                notify_state_file="/run/keepalived.state"),
                  vip=VipSettings(address=VIP, prefix=24, interface="hsh-va"))


async def test_recorded_healthy_pair_through_the_probe() -> None:
    health = await probe_cluster(replay("healthy"), CLUSTER, settings=ProbeSettings(timeout=1))
    assert [r for r in health.rows if r.state is not State.OK] == []
    assert health.active == {"vrrp": {"a"}, "vip": {"a"}}


async def test_recorded_auth_failure_through_the_probe() -> None:
    health = await probe_cluster(replay("authfail"), CLUSTER, settings=ProbeSettings(timeout=1))
    rows = {(r.node, r.layer): r for r in health.rows}
    assert rows[("b", "vrrp")].state is State.CRIT and "invalid passwd" in rows[("b", "vrrp")].reason
    assert rows[(CLUSTER_WIDE, "vrrp")].state is State.CRIT and "a and b" in rows[(CLUSTER_WIDE, "vrrp")].reason
    assert rows[(CLUSTER_WIDE, "vip")].reason == f"duplicate VIP {VIP} on a and b"
    assert rows[(CLUSTER_WIDE, "cluster")].state is State.CRIT


async def test_fresh_json_dump_gives_state_and_auth_counter_increase() -> None:
    from tui.health import ProbeMemory

    dump = read("authfail", "b", "keepalived.json")
    assert '"auth_failure":3' in dump

    def runner_with(json_text: str) -> ReplayRunner:
        runner = ReplayRunner()
        for node in "ab":
            runner.answer(node, "pidof keepalived",
                          f"## hascreen:pid\n4{node}\n## hascreen:json\n{json_text if node == 'b' else ''}\n")
            runner.answer(node, "ip -o addr show", read("healthy", node, "ip-o-addr.txt"))
        return runner

    memory = ProbeMemory()
    first = await probe_cluster(runner_with(dump), CLUSTER, settings=ProbeSettings(timeout=1), memory=memory)
    row_b = next(r for r in first.rows if r.node == "b" and r.layer == "vrrp")
    assert row_b.value == "MASTER prio 100 (json)" and row_b.state is State.OK  # first sight: no rate yet
    grown = dump.replace('"auth_failure":3', '"auth_failure":7')
    second = await probe_cluster(runner_with(grown), CLUSTER, settings=ProbeSettings(timeout=1), memory=memory)
    row_b = next(r for r in second.rows if r.node == "b" and r.layer == "vrrp")
    assert row_b.state is State.CRIT and "authentication failures: 4" in row_b.reason


def test_a_node_released_through_its_track_file_is_fault_for_a_moment() -> None:
    """The lab's node-a (keepalived 2.2.7) while a failover releases it: its release track file holds 1, the
    instance is FAULT and has dropped the VIP; node-b is MASTER. Then 0: BACKUP, later MASTER on failback."""
    data = parse_data_dump((RECORDED / "released" / "a-keepalived.data").read_text())
    assert data.errors == []  # the "VRRP Track files" section is skipped, not misread as an instance
    inst = data.instance("VI_1")
    assert (inst.state, inst.wantstate, inst.faults, inst.vrid) == ("FAULT", "FAULT", 1, 77)
    json_data, _ = parse_json_dump((RECORDED / "released" / "a-keepalived.json").read_text())
    assert json_data.instances[0].state == "FAULT"
    released = evaluate_vrrp_node(VrrpNodeView(state="FAULT", source="json"), "db", "node-a", "VI_1", observed_at=0)
    assert released.state is State.CRIT and "track file" in released.reason
    # the cluster keeps exactly one MASTER through the switch
    switching = {"node-a": VrrpNodeView(state="FAULT"), "node-b": VrrpNodeView(state="MASTER")}
    assert evaluate_vrrp_cluster(switching, "db", "VI_1", observed_at=0).state is State.OK
    log = parse_syslog((RECORDED / "released" / "a-console.log").read_text())
    assert [e.state for e in log.events if e.kind == "state"] == ["FAULT", "BACKUP", "MASTER"]
