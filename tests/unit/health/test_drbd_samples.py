"""DRBD parsers against every real sample in tests/fixtures/samples/drbd84 and drbd9 (facts from SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.health.drbd import evaluate_drbd as _evaluate
from tui.health.drbd import (
    parse_drbd,
    parse_drbd_events2,
    parse_drbd_status_json,
    parse_drbd_status_text,
    parse_proc_drbd,
)
from tui.health.model import State

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


def read(subdir: str, name: str) -> str:
    return (SAMPLES / subdir / name).read_text()


def evaluate(status):
    return _evaluate(status, "c", "n", observed_at=0.0)


# ------------------------------------------------------------------------------------------- /proc/drbd
# file -> (version, [(minor, cs, ro, ds, protocol, flags, oos)], verdict)
PROC_DRBD = {
    "node-exporter-fixture-connected-dual-primary.txt": (
        "8.4.3", [(1, "Connected", "Primary/Primary", "UpToDate/UpToDate", "C", "r-----", "12349")], State.CRIT),
    "linbit-ug84-three-minors-connected.txt": ("8.4.0", [
        (0, "Connected", "Secondary/Secondary", "UpToDate/UpToDate", "C", "r-----", "0"),
        (1, "Connected", "Primary/Secondary", "UpToDate/UpToDate", "C", "r---", "0"),
        (2, "Connected", "Secondary/Primary", "UpToDate/UpToDate", "C", "r---", "0")], State.OK),
    "linbit-ug84-initial-inconsistent.txt": (
        "8.4.1", [(0, "Connected", "Secondary/Secondary", "Inconsistent/Inconsistent", "C", "r-----", "524236")],
        State.CRIT),
    "cfs-wfconnection-secondary-unknown.txt": (
        "8.4.11-1", [(1, "WFConnection", "Secondary/Unknown", "Inconsistent/DUnknown", "C", "r----s", "524236")],
        State.CRIT),
    "cfs-connected-both-inconsistent.txt": (
        "8.4.11-1", [(1, "Connected", "Secondary/Secondary", "Inconsistent/Inconsistent", "C", "r-----", "524236")],
        State.CRIT),
    "cfs-syncsource-8.6pct.txt": (
        "8.4.11-1", [(1, "SyncSource", "Primary/Secondary", "UpToDate/Inconsistent", "C", "r-----", "481052")],
        State.WARN),
    "cfs-connected-primary-uptodate.txt": (
        "8.4.11-1", [(1, "Connected", "Primary/Secondary", "UpToDate/UpToDate", "C", "r-----", "0")], State.OK),
    "ovirt-wfconnection-primary-unknown.txt": (
        "8.4.4", [(0, "WFConnection", "Primary/Unknown", "UpToDate/DUnknown", "C", "r-----", "1271108708")],
        State.WARN),
    "splitbrain-node1-standalone-secondary-unknown.txt": (
        "8.4.0", [(0, "StandAlone", "Secondary/Unknown", "UpToDate/DUnknown", None, "r-----", "76")], State.CRIT),
    "splitbrain-node2-standalone-primary-unknown.txt": (
        "8.4.0", [(0, "StandAlone", "Primary/Unknown", "UpToDate/DUnknown", None, "r-----", "100")], State.CRIT),
    "checkmk-8.3.8-syncsource-42.4pct.txt": (
        "8.3.8", [(0, "SyncSource", "Primary/Secondary", "UpToDate/Inconsistent", "C", "r----", "301729988")],
        State.WARN),
    "checkmk-8.3.8-syncsource-stalled.txt": (
        "8.3.8", [(0, "SyncSource", "Primary/Secondary", "UpToDate/Inconsistent", "C", "r----", "523171100")],
        State.CRIT),
}


@pytest.mark.parametrize("name", sorted(PROC_DRBD))
def test_proc_drbd_sample(name: str) -> None:
    version, devices, verdict = PROC_DRBD[name]
    status = parse_proc_drbd(read("drbd84", name))
    assert status.version == version
    assert status.errors == []
    got = [(d.minor, d.cs, f"{d.role}/{d.peer_role}", f"{d.disk}/{d.peer_disk}", d.protocol, d.flags,
            d.counters["oos"]) for d in status.proc_devices]
    assert got == devices
    rows = evaluate(status)
    assert max(rows, key=lambda r: r.state.severity).state is verdict
    for row in rows:
        assert (row.reason != "") == (row.state is not State.OK)


def test_proc_drbd_counters_of_the_node_exporter_fixture() -> None:
    dev = parse_proc_drbd(read("drbd84", "node-exporter-fixture-connected-dual-primary.txt")).proc_devices[0]
    assert dev.counters == {"ns": "17324442", "nr": "10961011", "dw": "28263521", "dr": "118696670", "al": "1100",
                            "bm": "221", "lo": "12345", "pe": "12346", "ua": "12347", "ap": "12348", "ep": "1",
                            "wo": "d", "oos": "12349"}


def test_proc_drbd_dual_primary_is_accepted_when_policy_allows_it() -> None:
    from tui.health.drbd import DrbdThresholds, evaluate_drbd

    status = parse_proc_drbd(read("drbd84", "node-exporter-fixture-connected-dual-primary.txt"))
    strict = evaluate_drbd(status, "c", "n", observed_at=0)
    allowed = evaluate_drbd(status, "c", "n", observed_at=0, thresholds=DrbdThresholds(allow_dual_primary=True))
    assert "both Primary" in strict[0].reason
    assert "both Primary" not in allowed[0].reason


def test_proc_drbd_wrapped_git_hash_line_is_not_minor_2() -> None:
    status = parse_proc_drbd(read("drbd84", "splitbrain-node1-standalone-secondary-unknown.txt"))
    assert [d.minor for d in status.proc_devices] == [0]


def test_proc_drbd_sync_progress_comma_speed() -> None:
    dev = parse_proc_drbd(read("drbd84", "cfs-syncsource-8.6pct.txt")).proc_devices[0]
    assert dev.counters["ns"] == "43184" and dev.counters["dr"] == "45312"
    assert (dev.sync.percent, dev.sync.done, dev.sync.total, dev.sync.unit) == (8.6, 481052, 524236, "K")
    assert (dev.sync.finish, dev.sync.speed, dev.sync.speed_avg, dev.sync.stalled) == ("0:01:51", 4316, 4316, False)
    row = evaluate(parse_proc_drbd(read("drbd84", "cfs-syncsource-8.6pct.txt")))[0]
    assert "8.6%" in row.value and "SyncSource" in row.reason


def test_proc_drbd_83_sync_in_megabytes_with_delay_probe() -> None:
    dev = parse_proc_drbd(read("drbd84", "checkmk-8.3.8-syncsource-42.4pct.txt")).proc_devices[0]
    assert (dev.sync.percent, dev.sync.done, dev.sync.total, dev.sync.unit) == (42.4, 294656, 510908, "M")
    assert dev.sync.extra == {"delay_probe": "145637"}
    assert (dev.sync.finish, dev.sync.speed, dev.sync.speed_avg) == ("1:23:28", 60172, 51448)


def test_proc_drbd_stalled_resync_is_crit_not_syncing() -> None:
    status = parse_proc_drbd(read("drbd84", "checkmk-8.3.8-syncsource-stalled.txt"))
    dev = status.proc_devices[0]
    assert dev.sync.stalled and dev.sync.percent == 0.1 and dev.sync.extra == {"delay_probe": "135599"}
    row = evaluate(status)[0]
    assert row.state is State.CRIT and "stalled" in row.reason


# ------------------------------------------------------------------------------------ drbdadm status text
# file -> {resource: (role, [(peer, connection, peer_role, [(replication, peer_disk, done)])], disks)}, verdict
STATUS_TEXT = {
    "linbit-ug9-drbdadm-status-3-peers-one-connecting.txt": ({"home": ("Secondary", ["UpToDate"], [
        ("nina", "Connected", "Secondary", [(None, "UpToDate", None)]),
        ("nino", "Connected", "Secondary", [(None, "UpToDate", None)]),
        ("nono", "Connecting", None, [])])}, State.WARN),
    "linbit-ug9-drbdsetup-status-verbose-statistics-wrapped.txt": ({"home": ("Secondary", ["UpToDate"], [
        ("nina", "Connected", "Secondary", [("Established", "UpToDate", None)]),
        ("nino", "Connected", "Secondary", [("Established", "UpToDate", None)]),
        ("nono", "Connecting", None, [])])}, State.WARN),
    "linbit-ug9-drbdadm-status-initial-both-inconsistent.txt": ({"r0": ("Secondary", ["Inconsistent"], [
        ("bob", "Connected", "Secondary", [(None, "Inconsistent", None)])])}, State.CRIT),
    "linbit-ug9-drbdadm-status-primary-diskless-placeholders.txt": ({"<resource>": ("Primary", ["Diskless"], [
        ("<peer>", "Connected", "Secondary", [(None, "UpToDate", None)])])}, State.WARN),
    "linbit-ug9-drbdadm-status-all-healthy-secondary.txt": ({"data": ("Secondary", ["UpToDate"], [
        ("node-1", "Connected", "Primary", [(None, "UpToDate", None)])])}, State.OK),
    "drbd-utils-manpage-drbdsetup-status-plain.txt": ({"drbd0": ("Primary", ["UpToDate"], [
        ("host2.example.com", "Connected", "Secondary", [(None, "UpToDate", None)])])}, State.OK),
    "drbd-utils-manpage-drbdsetup-status-verbose.txt": ({"drbd0": ("Primary", ["UpToDate"], [
        ("host2.example.com", "WFReportParams", "Secondary", [("Connected", "UpToDate", None)])])}, State.WARN),
    "cfs-drbdadm-status-peer-connecting.txt": ({"wwwdata": ("Secondary", ["Inconsistent"], [
        ("pcmk-2", "Connecting", None, [])])}, State.CRIT),
    "cfs-drbdadm-status-both-inconsistent.txt": ({"wwwdata": ("Secondary", ["Inconsistent"], [
        ("pcmk-2", "Connected", "Secondary", [(None, "Inconsistent", None)])])}, State.CRIT),
    "cfs-drbdadm-status-primary-peer-inconsistent.txt": ({"wwwdata": ("Primary", ["UpToDate"], [
        ("pcmk-2", "Connected", "Secondary", [(None, "Inconsistent", None)])])}, State.WARN),
    "cfs-drbdadm-status-syncsource-no-done-field.txt": ({"wwwdata": ("Primary", ["UpToDate"], [
        ("pcmk-2", "Connected", "Secondary", [("SyncSource", "Inconsistent", None)])])}, State.WARN),
    "cfs-drbdadm-status-pcmk1-uptodate.txt": ({"wwwdata": ("Primary", ["UpToDate"], [
        ("pcmk-1", "Connected", "Secondary", [(None, "UpToDate", None)])])}, State.OK),
    "cfs-drbdadm-status-pcmk2-uptodate.txt": ({"wwwdata": ("Secondary", ["UpToDate"], [
        ("pcmk-1", "Connected", "Primary", [(None, "UpToDate", None)])])}, State.OK),
    "ibm-rdqm-drbdadm-status-3res-healthy.txt": ({
        "haqm1": ("Primary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)])]),
        "haqm2": ("Secondary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Primary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)])]),
        "haqm3": ("Secondary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Primary", [(None, "UpToDate", None)])])}, State.OK),
    "ibm-rdqm-drbdadm-status-stuck-sync-90.91.txt": ({
        "haqm1": ("Primary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Secondary", [("SyncSource", "Inconsistent", 90.91)])]),
        "haqm2": ("Secondary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Primary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)])]),
        "haqm3": ("Secondary", ["UpToDate"], [
            ("mqhavm14.hursley.ibm.com", "Connected", "Secondary", [(None, "UpToDate", None)]),
            ("mqhavm15.hursley.ibm.com", "Connected", "Primary", [(None, "UpToDate", None)])])}, State.WARN),
}


def shape(status) -> dict:
    return {
        res.name: (res.role, [d.disk for d in res.devices], [
            (c.name, c.connection, c.role, [(p.replication, p.peer_disk, p.done) for p in c.devices])
            for c in res.connections])
        for res in status.resources
    }


@pytest.mark.parametrize("name", sorted(STATUS_TEXT))
def test_drbdadm_status_text_sample(name: str) -> None:
    expected, verdict = STATUS_TEXT[name]
    status = parse_drbd_status_text(read("drbd9", name))
    assert status.errors == []
    assert shape(status) == expected
    rows = evaluate(status)
    assert max(r.state.severity for r in rows) == verdict.severity
    assert parse_drbd(read("drbd9", name)).source == "status_text"


def test_drbdsetup_verbose_wrapped_details() -> None:
    status = parse_drbd_status_text(read("drbd9", "linbit-ug9-drbdsetup-status-verbose-statistics-wrapped.txt"))
    home = status.resource("home")
    assert home.node_id == 1 and home.suspended == "no" and home.extra["write-ordering"] == "none"
    dev = home.devices[0]
    assert (dev.volume, dev.minor, dev.size, dev.extra["written"], dev.extra["bm-writes"]) == (0, 0, 1048412,
                                                                                           "1048412", "48")
    nina = home.connections[0]
    assert nina.node_id == 0
    assert nina.devices[0].extra["received"] == "1048412" and nina.devices[0].out_of_sync == 0
    assert home.connections[1].node_id == 2 and home.connections[2].node_id == 3


def test_drbdsetup_verbose_manpage_peer_details() -> None:
    status = parse_drbd_status_text(read("drbd9", "drbd-utils-manpage-drbdsetup-status-verbose.txt"))
    res = status.resource("drbd0")
    assert res.node_id == 1 and res.suspended == "no"
    assert (res.devices[0].minor, res.devices[0].extra["blocked"]) == (1, "no")
    peer = res.connections[0]
    assert peer.node_id == 0
    assert peer.extra["local"] == "ipv4:192.168.123.4:7788" and peer.extra["peer"] == "ipv4:192.168.123.2:7788"


def test_multi_volume_disk_prefix_is_read() -> None:
    status = parse_drbd_status_text(read("drbd9", "linbit-ug9-drbdadm-status-primary-diskless-placeholders.txt"))
    res = status.resource("<resource>")
    assert res.devices[0].volume == 0 and res.connections[0].devices[0].volume == 0
    assert "Diskless" in evaluate(status)[0].reason


def test_stuck_sync_names_the_peer_and_progress() -> None:
    rows = evaluate(parse_drbd_status_text(read("drbd9", "ibm-rdqm-drbdadm-status-stuck-sync-90.91.txt")))
    by_res = {r.subject: r for r in rows}
    assert by_res["haqm1"].state is State.WARN and "mqhavm15" in by_res["haqm1"].reason
    assert "90.9" in by_res["haqm1"].reason
    assert by_res["haqm2"].state is State.OK and by_res["haqm3"].state is State.OK


# --------------------------------------------------------------------------------------------- --json
def test_status_json_original() -> None:
    status = parse_drbd_status_json(read("drbd9", "drbdsetup-status-json-ha-cluster-exporter-original.txt"))
    assert status.errors == []
    assert [r.name for r in status.resources] == ["1-single-0", "1-single-1"]
    first, second = status.resources
    assert (first.node_id, first.role) == (2, "Secondary")
    dev = first.devices[0]
    assert (dev.volume, dev.minor, dev.disk, dev.quorum, dev.size, dev.extra["written"]) == (
        0, 2, "UpToDate", True, 409600, "548525")
    conn = first.connections[0]
    assert (conn.node_id, conn.name, conn.connection, conn.role) == (
        1, "SLE15-sp1-gm-drbd1145296-node1", "Connected", "Primary")
    pdev = conn.devices[0]
    assert (pdev.replication, pdev.peer_disk, pdev.out_of_sync, pdev.extra["percent-in-sync"]) == (
        "Established", "UpToDate", 0, "100.0")
    assert (second.devices[0].minor, second.devices[0].size, second.devices[0].extra["written"]) == (3, 10200,
                                                                                                       "546005")
    assert all(r.state is State.OK for r in evaluate(status))


def test_status_json_quorum_false_is_crit() -> None:
    status = parse_drbd_status_json(read("drbd9", "drbdsetup-status-json-ha-cluster-exporter-quorum-false.txt"))
    dev = status.resources[0].devices[0]
    assert (dev.extra["read"], dev.extra["written"], dev.extra["al-writes"], dev.extra["bm-writes"]) == (
        "654321", "123456", "123", "321")
    assert status.resources[0].connections[0].devices[0].extra["percent-in-sync"] == "100.0"
    assert status.resources[1].devices[0].quorum is False
    rows = {r.subject: r for r in evaluate(status)}
    assert rows["1-single-0"].state is State.OK
    assert rows["1-single-1"].state is State.CRIT and "quorum" in rows["1-single-1"].reason


# ---------------------------------------------------------------------------------------------- events2
# file -> (resource, role, [(peer, connection, role, [(replication, peer_disk, done, out_of_sync)])],
#          [(volume, disk, quorum)], verdict)
EVENTS2 = {
    "drbd-utils-test-events2-syncsource-37.50.txt": ("some-resource", "Secondary", [
        ("some-peer", "Connected", "Secondary", [("SyncSource", "Inconsistent", 37.5, None)])],
        [(0, "UpToDate", True)], State.WARN),
    "drbd-utils-test-events2-statistics-syncsource-oos2500.txt": ("some-resource", "Secondary", [
        ("some-peer", "Connected", "Secondary", [("SyncSource", "Inconsistent", 37.5, 2500)])],
        [(0, "UpToDate", True)], State.WARN),
    "drbd-utils-test-events2-standalone-to-connected-primary.txt": ("some-resource", "Primary", [
        ("some-peer", "Connected", "Secondary", [("Established", "UpToDate", None, None)])],
        [(0, "UpToDate", True)], State.OK),
    "drbd-utils-test-events2-diff-mode.txt": ("some-resource", "Primary", [
        ("some-peer", "Connected", "Secondary", [("Established", "UpToDate", None, None)])],
        [(0, "UpToDate", True)], State.OK),
    "drbd-utils-test-events2-quorum-lost.txt": ("some-resource", "Secondary", [], [(0, "UpToDate", False)],
                                                State.CRIT),
    "drbd-utils-test-events2-helper-before-resync-target-status1.txt": ("some-resource", "Secondary", [
        ("some-peer", "StandAlone", "Unknown", [("Off", "DUnknown", None, None)])],
        [(0, "Diskless", True)], State.CRIT),
    "linbit-ug9-events2-now-healthy-2-volumes.txt": ("r0", "Secondary", [
        ("remote-host", "Connected", "Secondary", [("Established", "UpToDate", None, None),
                                                   ("Established", "UpToDate", None, None)])],
        [(0, "UpToDate", None), (1, "UpToDate", None)], State.OK),
    "linbit-ug9-events2-stream-connection-lost.txt": ("r0", None, [("remote-host", "Connecting", None, [])], [],
                                                      State.WARN),
    "linbit-ug9-events2-statistics-now-wrapped.txt": ("r0", "Secondary", [
        ("remote-host", "Connected", "Secondary", [("Established", "UpToDate", None, 0),
                                                   ("Established", "UpToDate", None, 0)])],
        [(0, "UpToDate", None), (1, "UpToDate", None)], State.OK),
    "drbdtop-test-comment-events2-timestamp-statistics.txt": ("test0", "Primary", [
        ("peer", "Connected", "Secondary", [("SyncSource", "Inconsistent", None, 205655500)])],
        [(0, "UpToDate", None)], State.WARN),
}


@pytest.mark.parametrize("name", sorted(EVENTS2))
def test_events2_sample(name: str) -> None:
    resource, role, peers, devices, verdict = EVENTS2[name]
    status = parse_drbd_events2(read("drbd9", name))
    assert status.errors == []
    res = status.resource(resource)
    assert res.role == role
    assert [(d.volume, d.disk, d.quorum) for d in res.devices] == devices
    assert [(c.name, c.connection, c.role, [(p.replication, p.peer_disk, p.done, p.out_of_sync) for p in c.devices])
            for c in res.connections] == peers
    rows = evaluate(status)
    assert max(r.state.severity for r in rows) == verdict.severity
    assert parse_drbd(read("drbd9", name)).source == "events2"


def test_events2_resource_promotion_fields() -> None:
    status = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-syncsource-37.50.txt"))
    res = status.resource("some-resource")
    assert (res.may_promote, res.promotion_score) == (True, 10101)
    assert res.devices[0].minor == 1000 and res.devices[0].extra["backing_dev"] == "/dev/sda"
    assert res.connections[0].node_id == 1 and res.connections[0].extra["path-established"] == "yes"
    final = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-standalone-to-connected-primary.txt"))
    assert (final.resources[0].may_promote, final.resources[0].promotion_score) == (False, 10102)
    lost = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-quorum-lost.txt")).resources[0]
    assert (lost.may_promote, lost.promotion_score) == (False, 0)


def test_events2_statistics_counters() -> None:
    status = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-statistics-syncsource-oos2500.txt"))
    conn = status.resources[0].connections[0]
    pdev = conn.devices[0]
    assert (pdev.extra["received"], pdev.extra["sent"], pdev.extra["pending"], pdev.extra["unacked"]) == (
        "5", "10", "30", "40")
    assert (pdev.extra["dbdt1"], pdev.eta) == ("0.24", 10)
    assert (conn.extra["congested"], conn.extra["ap-in-flight"], conn.extra["rs-in-flight"]) == ("no", "10", "20")
    wrapped = parse_drbd_events2(read("drbd9", "linbit-ug9-events2-statistics-now-wrapped.txt")).resources[0]
    assert wrapped.extra["write-ordering"] == "drain"
    assert (wrapped.devices[0].size, wrapped.devices[0].extra["read"], wrapped.devices[0].extra["al-writes"]) == (
        6291228, "6397188", "34")
    assert (wrapped.devices[1].size, wrapped.devices[1].extra["written"]) == (104854364, "6634548")
    assert [p.extra["sent"] for p in wrapped.connections[0].devices] == ["131844", "6634548"]


def test_events2_diff_mode_never_stores_arrows() -> None:
    status = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-diff-mode.txt"))
    res = status.resources[0]
    values = [res.role, res.connections[0].connection, res.connections[0].role, res.devices[0].disk,
              res.connections[0].devices[0].replication, *res.extra.values()]
    assert not any("->" in str(v) for v in values)
    assert res.promotion_score == 10102


def test_events2_helper_calls_are_accepted() -> None:
    status = parse_drbd_events2(read("drbd9", "drbd-utils-test-events2-helper-before-resync-target-status1.txt"))
    assert [(h.resource, h.helper, h.status) for h in status.helpers] == [
        ("some-resource", "before-resync-target", 1)]


def test_events2_timestamps_and_conn_name_without_node_id() -> None:
    status = parse_drbd_events2(read("drbd9", "drbdtop-test-comment-events2-timestamp-statistics.txt"))
    res = status.resources[0]
    assert res.extra["write-ordering"] == "flush" and res.devices[0].size == 4056
    assert res.connections[0].node_id is None
    assert res.connections[0].devices[0].extra["sent"] == "2050743348"
