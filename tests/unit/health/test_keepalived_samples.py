"""keepalived parsers and verdicts against every real sample in tests/fixtures/samples/keepalived."""

from __future__ import annotations

from pathlib import Path

import pytest

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
from tui.health.model import State

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "keepalived"


def read(name: str) -> str:
    return (SAMPLES / name).read_text()


# file -> [(instance, version, state, vrid, priority, effective, interface, [vip addresses], [excluded])],
#         [(script, status)]
DATA = {
    "data-v1.3.5-master-track-script-bad.txt": (
        [("VI_1", 2, "MASTER", 51, 150, None, "eth0", ["10.32.75.200/32"], [])], [("check_haproxy", "BAD")]),
    "data-v2.0.10-master-script-good.txt": (
        [("VI_1", 2, "MASTER", 52, 50, 50, "ens192", ["2.2.2.2/32"], [])], [("chk_service", "GOOD")]),
    "data-v2.1.5-three-instances-master-backup-backup.txt": ([
        ("VI_EXT_1", 2, "MASTER", 10, 100, 100, "ens192", ["192.168.2.1"], []),
        ("VI_EXT_2", 2, "BACKUP", 20, 80, 80, "ens192", ["192.168.2.2"], []),
        ("VI_EXT_3", 2, "BACKUP", 30, 90, 90, "ens192", ["192.168.2.3"], [])], [("check_script", "GOOD")]),
    "data-v2.2.4-ipv4-ipv6-masters.txt": ([
        ("VI_IPV4", 2, "MASTER", 105, 100, 100, "ens224", ["10.0.0.167"], ["10.10.0.1"]),
        ("VI_IPV6", 3, "MASTER", 105, 100, 100, "ens254", ["1001:ac14:550:10:1::53"], [])],
        [("lookup_ipv4", "GOOD")]),
    "data-v2.2.7-vrrpv3-master-excluded-vip.txt": (
        [("VI_227_1", 3, "MASTER", 52, 50, 150, "ens3", ["10.1.0.1/24"], ["10.10.0.1"])], [("check_script", "GOOD")]),
    "data-issue2259-v2.2.x-fault-partial.txt": ([("vrrp", 2, "FAULT", None, None, None, None, [], [])], []),
}


@pytest.mark.parametrize("name", sorted(DATA))
def test_data_dump_sample(name: str) -> None:
    instances, scripts = DATA[name]
    data = parse_data_dump(read(name))
    assert data.errors == []
    assert [(i.name, i.version, i.state, i.vrid, i.priority, i.effective_priority, i.interface,
             [v.address for v in i.vips], [v.address for v in i.excluded_vips]) for i in data.instances] == instances
    assert [(s.name, s.status) for s in data.scripts] == scripts
    # The VRRP password never makes it into the parsed model.
    assert not any("Password" in inst.extra for inst in data.instances)


def test_data_dump_details() -> None:
    v135 = parse_data_dump(read("data-v1.3.5-master-track-script-bad.txt")).instances[0]
    assert (v135.auth_type, v135.last_transition, v135.extra["Using src_ip"]) == ("SIMPLE_PASSWORD", 1596892296.0,
                                                                                  "192.168.2.2")
    v215 = parse_data_dump(read("data-v2.1.5-three-instances-master-backup-backup.txt"))
    assert v215.instances[0].vips[0].installed is True and v215.instances[1].vips[0].installed is None
    assert (v215.instances[1].master_router, v215.instances[1].master_priority) == ("192.168.1.2", 100)
    assert [i.tracked_scripts for i in v215.instances] == [["check_script"]] * 3
    v224 = parse_data_dump(read("data-v2.2.4-ipv4-ipv6-masters.txt")).instances[0]
    assert v224.extra["Preempt"] == "disabled" and v224.last_transition == 1680682119.036834
    v227 = parse_data_dump(read("data-v2.2.7-vrrpv3-master-excluded-vip.txt")).instances[0]
    assert v227.extra["Flags"] == "none" and v227.extra["Advert interval"] == "4000 milli-sec"
    assert v227.vips[0].device == "ens3" and v227.tracked_scripts == ["chk_script"]
    fault = parse_data_dump(read("data-issue2259-v2.2.x-fault-partial.txt")).instances[0]
    assert (fault.wantstate, fault.faults, fault.extra["Read timeout"]) == ("FAULT", 1, "DISABLED")


def test_stats_dump_v135() -> None:
    stats, errors = parse_stats_dump(read("stats-v1.3.5-auth-and-packet-errors.txt"))
    assert errors == []
    vi = stats["VI_1"]
    assert (vi.adverts_received, vi.adverts_sent, vi.became_master, vi.released_master) == (1, 17, 1, 1)
    assert vi.packet_errors == {"length": 10, "ttl": 1, "invalid_type": 5, "advertisement_interval": 4,
                                "address_list": 3}
    assert vi.auth_errors == {"invalid_type": 3, "type_mismatch": 6, "failure": 7} and vi.auth_failures == 16
    assert (vi.priority_zero_received, vi.priority_zero_sent) == (9, 2)


def test_stats_dump_v215() -> None:
    stats, errors = parse_stats_dump(read("stats-v2.1.5-three-instances.txt"))
    assert errors == [] and list(stats) == ["VI_EXT_1", "VI_EXT_2", "VI_EXT_3"]
    got = {name: (s.adverts_received, s.adverts_sent, s.became_master, s.released_master, s.auth_errors,
                  s.priority_zero_received, s.priority_zero_sent) for name, s in stats.items()}
    assert got == {
        "VI_EXT_1": (11, 12, 2, 1, {"invalid_type": 2, "type_mismatch": 2, "failure": 2}, 1, 1),
        "VI_EXT_2": (10, 158, 2, 2, {"invalid_type": 20, "type_mismatch": 20, "failure": 20}, 12, 12),
        "VI_EXT_3": (23, 172, 4, 4, {"invalid_type": 10, "type_mismatch": 10, "failure": 2}, 1, 2),
    }
    assert set(stats["VI_EXT_3"].packet_errors.values()) == {30}


def test_json_dump_fault() -> None:
    data, stats = parse_json_dump(read("json-sigjson-single-instance-fault.txt"))
    assert data.errors == []
    inst = data.instances[0]
    assert (inst.name, inst.interface, inst.vrid, inst.priority, inst.effective_priority) == (
        "VI_1", "eth0", 99, 233, 233)
    assert (inst.state, inst.wantstate, inst.version, inst.last_transition) == ("FAULT", "FAULT", 3, 1677963907.144095)
    assert [(v.address, v.device, v.installed) for v in inst.vips] == [("192.168.1.250", "eth0", False)]
    assert stats["VI_1"].adverts_received == 0 and stats["VI_1"].auth_failures == 0
    view = VrrpNodeView(state=inst.state, priority=inst.priority, source="json")
    row = evaluate_vrrp_node(view, "c", "n", "VI_1", observed_at=0)
    assert row.state is State.CRIT and "FAULT" in row.reason


# syslog file -> (final states per instance, invalid passwd count, failing scripts at the end, kinds present)
SYSLOG = {
    "syslog-1x-bogus-vrrp-packet-flood.txt": ({}, 0, set(), {"bogus_packet"}),
    "syslog-1x-vrid-conflict-vip-mismatch.txt": ({}, 0, set(), {"bogus_packet", "vrid_mismatch"}),
    "syslog-2x-invalid-passwd-then-backup.txt": ({"VI_1": "BACKUP"}, 1, set(), {"invalid_passwd", "state"}),
    "syslog-1x-flapping-backup-transition-master.txt": ({"vi_2": "BACKUP"}, 0, set(), {"state", "transition"}),
    "syslog-2x-entering-master-sync-group-garp.txt": ({"VI_1": "MASTER", "VI_2": "MASTER"}, 0, set(), {"state"}),
    "syslog-1x-track-script-failed-to-backup.txt": (
        {"haproxy_keepalived_infra_check_haproxy": "BACKUP"}, 0, set(), {"state", "script_failed", "script_ok"}),
    "syslog-2x-startup-backup-init-scripts-failed.txt": (
        {"VI_1": "BACKUP"}, 0, {"track_uptime", "track_addr"}, {"state", "script_failed"}),
    "syslog-2x-entering-fault-state.txt": ({"VI_1": "FAULT", "VI_2": "FAULT"}, 0, set(), {"state"}),
}


@pytest.mark.parametrize("name", sorted(SYSLOG))
def test_syslog_sample(name: str) -> None:
    states, passwd, failing, kinds = SYSLOG[name]
    log = parse_syslog(read(name))
    assert log.last_state() == states
    assert log.count("invalid_passwd") == passwd
    assert log.failing_scripts() == failing
    assert {e.kind for e in log.events} == kinds


def test_syslog_flapping_counts_four_masters() -> None:
    log = parse_syslog(read("syslog-1x-flapping-backup-transition-master.txt"))
    assert log.masters_entered("vi_2") == 3 and log.count("transition") == 3
    assert [e.state for e in log.events if e.kind == "state"] == ["BACKUP", "MASTER"] * 3 + ["BACKUP"]
    view = VrrpNodeView(state="BACKUP", flaps=log.masters_entered("vi_2"), source="log")
    assert "flapping" in evaluate_vrrp_node(view, "c", "n", "vi_2", observed_at=0).reason


def test_syslog_invalid_passwd_is_crit_with_reason() -> None:
    log = parse_syslog(read("syslog-2x-invalid-passwd-then-backup.txt"))
    assert [e.host for e in log.events] == ["oadb02", "oadb02", "db02"]  # NetworkManager/systemd lines skipped
    assert [e.state for e in log.events if e.kind == "state"] == [None, "BACKUP"]  # "Entering  STATE" oddity
    view = VrrpNodeView(state="BACKUP", auth_failures=log.count("invalid_passwd"), source="log")
    row = evaluate_vrrp_node(view, "c", "n", "VI_1", observed_at=0)
    assert row.state is State.CRIT and "invalid passwd" in row.reason


def test_syslog_fault_is_crit() -> None:
    log = parse_syslog(read("syslog-2x-entering-fault-state.txt"))
    view = VrrpNodeView(state=log.last_state("VI_1")["VI_1"], source="log")
    assert evaluate_vrrp_node(view, "c", "n", "VI_1", observed_at=0).state is State.CRIT


def test_master_with_failing_track_script_warns() -> None:
    data = parse_data_dump(read("data-v1.3.5-master-track-script-bad.txt"))
    bad = [s.name for s in data.scripts if s.status == "BAD"]
    view = VrrpNodeView(state=data.instances[0].state, script_failing=bad, source="data")
    row = evaluate_vrrp_node(view, "c", "n", "VI_1", observed_at=0)
    assert row.state is State.WARN and "check_haproxy" in row.reason


def test_both_master_is_crit_and_single_master_ok() -> None:
    both = {"a": VrrpNodeView(state="MASTER"), "b": VrrpNodeView(state="MASTER", auth_failures=3)}
    row = evaluate_vrrp_cluster(both, "c", "VI_1", observed_at=0)
    assert row.state is State.CRIT and "a and b" in row.reason and "authentication" in row.reason
    one = {"a": VrrpNodeView(state="MASTER"), "b": VrrpNodeView(state="BACKUP")}
    assert evaluate_vrrp_cluster(one, "c", "VI_1", observed_at=0).state is State.OK
    none = {"a": VrrpNodeView(state="BACKUP"), "b": VrrpNodeView(state="FAULT")}
    assert evaluate_vrrp_cluster(none, "c", "VI_1", observed_at=0).state is State.CRIT
    unknown = {"a": VrrpNodeView(state="BACKUP"), "b": VrrpNodeView(error="unreachable")}
    assert evaluate_vrrp_cluster(unknown, "c", "VI_1", observed_at=0).state is State.UNKNOWN


@pytest.mark.parametrize("text,expected", [
    ("MASTER\n", {"": "MASTER"}),
    ("INSTANCE VI_1 BACKUP 100\n", {"VI_1": "BACKUP"}),
    ("INSTANCE VI_1 BACKUP 100\nINSTANCE VI_1 MASTER 100\n", {"VI_1": "MASTER"}),
    ("VI_1 FAULT\n", {"VI_1": "FAULT"}),
    ("garbage\n\x00\n", {}),
])
def test_notify_state_file(text: str, expected: dict) -> None:
    assert parse_notify_state(text) == expected
