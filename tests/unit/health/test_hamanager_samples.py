"""Pacemaker and Heartbeat parsers and verdicts against every real sample in tests/fixtures/samples/pacemaker
and the outputs recorded on this machine (tests/fixtures/samples/recorded-local)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.health.hamanager import (
    HeartbeatNodeView,
    evaluate_heartbeat,
    evaluate_pacemaker,
    pacemaker_active_nodes,
    parse_crm_mon,
    parse_crm_mon_text,
    parse_crm_mon_xml,
    parse_hbstatus,
    parse_listnodes,
    parse_nodestatus,
    parse_rscstatus,
)
from tui.health.model import CLUSTER_WIDE, State

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


def read(name: str, subdir: str = "pacemaker") -> str:
    return (SAMPLES / subdir / name).read_text()


# file -> (schema, dc, with_quorum, maintenance, {node: (online, standby)}, promoted/active nodes, cluster verdict,
#          reason part)
PACEMAKER = {
    "cts-crm_mon-basic-text.txt": (
        "text", "cluster02", True, False,
        {"cluster01": (True, False), "cluster02": (True, False), "httpd-bundle-0": (True, False),
         "httpd-bundle-1": (True, False)}, {"cluster02"}, State.OK, ""),
    "cts-crm_mon-basic-xml.txt": (
        "pacemaker-result", "cluster02", True, False,
        {"cluster01": (True, False), "cluster02": (True, False), "httpd-bundle-0": (True, False),
         "httpd-bundle-1": (True, False), "httpd-bundle-2": (False, False)}, {"cluster02"}, State.OK, ""),
    "cts-crm_mon-partially-active-failed-action-text.txt": (
        "text", "cluster02", True, False,
        {"cluster01": (True, False), "cluster02": (True, False), "httpd-bundle-0": (True, False),
         "httpd-bundle-1": (True, False)}, {"cluster01", "cluster02"}, State.CRIT, "dummy-2 FAILED on cluster02"),
    "cts-crm_mon-partially-active-failed-action-xml.txt": (
        "pacemaker-result", "cluster02", True, False,
        {"cluster01": (True, False), "cluster02": (True, False), "httpd-bundle-0": (True, False),
         "httpd-bundle-1": (True, False)}, {"cluster01", "cluster02"}, State.CRIT, "dummy-2 FAILED on cluster02"),
    "cts-crm_mon-node-offline-maintenance-mode-text.txt": (
        "text", "cluster02", True, True, {"cluster01": (True, False), "cluster02": (False, False)}, set(),
        State.WARN, "maintenance-mode"),
    "cts-crm_mon-node-offline-maintenance-mode-xml.txt": (
        "pacemaker-result", "cluster02", True, True, {"cluster01": (True, False), "cluster02": (False, False)},
        set(), State.WARN, "rsc2 reported on offline node cluster02"),
    "pcs-test-crm_mon-minimal-no-dc-no-nodes.xml.txt": (
        "pacemaker-result", None, None, False, {}, set(), State.CRIT, "no DC"),
    "ha-cluster-exporter-crm_mon-legacy-2.0.0-hana-sr.xml.txt": (
        "crm_mon-legacy", "node01", True, False, {"node01": (True, False), "node02": (True, False)}, {"node01"},
        State.WARN, "fail-count INFINITY on node01"),
    "cfs-pcs-status-2.1.2-healthy-promoted-unpromoted.txt": (
        "text", "pcmk-1", True, False, {"pcmk-1": (True, False), "pcmk-2": (True, False)}, {"pcmk-1"}, State.OK, ""),
    "cfs-pcs-status-2.1.2-node-standby-drbd-promoted.txt": (
        "text", "pcmk-1", True, False, {"pcmk-1": (True, False), "pcmk-2": (True, True)}, {"pcmk-1"}, State.OK, ""),
    "cfs-pcs-status-2.1.2-node-offline-failover.txt": (
        "text", "pcmk-1", True, False, {"pcmk-1": (True, False), "pcmk-2": (False, False)}, {"pcmk-1"}, State.OK,
        ""),
    "ovirt-crm-status-1.1.10-healthy-master-slave.txt": (
        "text", "ovirt-storage02", True, False,
        {"ovirt-storage01": (True, False), "ovirt-storage02": (True, False)}, {"ovirt-storage01"}, State.OK, ""),
    "ovirt-crm-status-1.1.10-node-offline-failed-action.txt": (
        "text", "ovirt-storage01", False, False,
        {"ovirt-storage01": (True, False), "ovirt-storage02": (False, False)}, {"ovirt-storage01"}, State.CRIT,
        "WITHOUT quorum"),
    "ibm-rdqm-crm-status-1.1.20-healthy.txt": (
        "text", "mqhavm13.hursley.ibm.com", True, False,
        {f"mqhavm{n}.hursley.ibm.com": (True, False) for n in (13, 14, 15)},
        {f"mqhavm{n}.hursley.ibm.com" for n in (13, 14, 15)}, State.OK, ""),
    "ibm-rdqm-crm-status-1.1.20-failed-resource-action.txt": (
        "text", "mqhavm13.hursley.ibm.com", True, False,
        {f"mqhavm{n}.hursley.ibm.com": (True, False) for n in (13, 14, 15)},
        {f"mqhavm{n}.hursley.ibm.com" for n in (13, 14, 15)}, State.WARN,
        "failed action haqm1_monitor_0 on mqhavm14.hursley.ibm.com: 'not installed' (5)"),
}


@pytest.mark.parametrize("name", sorted(PACEMAKER))
def test_pacemaker_sample(name: str) -> None:
    schema, dc, quorum, maintenance, nodes, active, verdict, reason = PACEMAKER[name]
    status = parse_crm_mon(read(name))
    assert status.errors == []
    assert (status.schema, status.dc, status.with_quorum, status.maintenance_mode) == (schema, dc, quorum, maintenance)
    assert {n.name: (n.online, n.standby) for n in status.nodes} == nodes
    assert pacemaker_active_nodes(status) == active
    rows = evaluate_pacemaker(status, "c", sorted(nodes)[:2], observed_at=0)
    cluster_row = next(r for r in rows if r.node == CLUSTER_WIDE)
    assert cluster_row.state is verdict
    assert reason in cluster_row.reason


def test_pacemaker_not_running_error_text_is_unknown() -> None:
    status = parse_crm_mon_text(read("cfs-pcs-status-error-pacemaker-not-running.txt"))
    assert status.errors[0] == "Error: error running crm_mon, is pacemaker running?"
    assert "Connection to cluster failed" in status.errors[-1]
    rows = evaluate_pacemaker(status, "c", ["pcmk-1"], observed_at=0)
    assert [r.state for r in rows] == [State.UNKNOWN] and "is pacemaker running" in rows[0].reason


def test_recorded_crm_mon_xml_not_connected_is_unknown() -> None:
    status = parse_crm_mon_xml(read("crm_mon-xml-not-connected.txt", "recorded-local"))
    assert status.schema == "pacemaker-result"
    assert "102" in status.errors[0] and "Connection refused" in status.errors[0]
    assert evaluate_pacemaker(status, "c", ["a"], observed_at=0)[0].state is State.UNKNOWN


def test_basic_xml_details() -> None:
    status = parse_crm_mon_xml(read("cts-crm_mon-basic-xml.txt"))
    assert (status.resources_configured, status.resources_disabled) == (32, 4)
    assert status.node("cluster02").is_dc and not status.node("cluster01").is_dc
    assert status.bans == [("dummy", "cluster01")]
    assert status.node_attributes["cluster01"]["pingd"] == "1000"
    inactive = [r for r in status.resources if r.parent == "inactive-group"]
    assert {(r.id, r.role, r.target_role) for r in inactive} == {
        ("inactive-dummy-1", "Stopped", "stopped"), ("inactive-dummy-2", "Stopped", "stopped")}
    promotable = [(r.role, r.nodes) for r in status.resources if r.id == "promotable-rsc" and r.active]
    assert promotable == [("Promoted", ["cluster02"]), ("Unpromoted", ["cluster01"])]


def test_failed_action_xml_details() -> None:
    status = parse_crm_mon_xml(read("cts-crm_mon-partially-active-failed-action-xml.txt"))
    assert {r.id for r in status.resources if r.failed} == {"httpd", "dummy-2"}
    failure = status.failures[0]
    assert (failure.op_key, failure.node, failure.exitstatus, failure.exitcode, failure.status) == (
        "dummy-2_monitor_0", "cluster02", "Unimplemented", "3", "Done")
    stopped = {r.id for r in status.resources if r.role == "Stopped"}
    assert {"dummy-3", "dummy-4", "smart-mon", "ping"} <= stopped


def test_failed_action_text_details() -> None:
    status = parse_crm_mon_text(read("cts-crm_mon-partially-active-failed-action-text.txt"))
    assert [(f.op_key, f.node, f.exitstatus, f.exitcode, f.status) for f in status.failures] == [
        ("dummy-2_monitor_0", "cluster02", "Unimplemented", "3", "Done")]
    assert {(r.id, r.nodes[0]) for r in status.resources if r.failed} == {("httpd", "httpd-bundle-1"),
                                                                          ("dummy-2", "cluster02")}
    assert (status.resources_configured, status.resources_disabled) == (16, 1)


def test_wrapped_failed_action_1_1_20() -> None:
    status = parse_crm_mon_text(read("ibm-rdqm-crm-status-1.1.20-failed-resource-action.txt"))
    assert [(f.op_key, f.node, f.exitstatus, f.exitcode, f.status) for f in status.failures] == [
        ("haqm1_monitor_0", "mqhavm14.hursley.ibm.com", "not installed", "5", "complete")]
    assert pacemaker_active_nodes(status, "haqm1") == {"mqhavm13.hursley.ibm.com"}
    assert pacemaker_active_nodes(status, "ms_drbd_haqm2") == {"mqhavm14.hursley.ibm.com"}


def test_ovirt_1_1_10_failed_actions_and_sets() -> None:
    status = parse_crm_mon_text(read("ovirt-crm-status-1.1.10-node-offline-failed-action.txt"))
    assert [(f.op_key, f.node, f.exitstatus, f.exitcode) for f in status.failures] == [
        ("p_exportfs_ovirt_storage_monitor_30000", "ovirt-storage01", "not running", "7")]
    healthy = parse_crm_mon_text(read("ovirt-crm-status-1.1.10-healthy-master-slave.txt"))
    ms = [(r.role, r.nodes) for r in healthy.resources if r.id == "ms_drbd_ovirt_storage"]
    assert ms == [("Master", ["ovirt-storage01"]), ("Slave", ["ovirt-storage02"])]
    group = [r.id for r in healthy.resources if r.parent == "g_ovirt_storage"]
    assert group == ["p_fs_ovirt_storage", "p_ip_ovirt_storage", "p_nfs_ovirt_storage"]
    assert healthy.resources_configured == 7


def test_legacy_schema_details() -> None:
    status = parse_crm_mon_xml(read("ha-cluster-exporter-crm_mon-legacy-2.0.0-hana-sr.xml.txt"))
    assert status.fail_counts == {("node01", "rsc_SAPHana_PRD_HDB00"): 1000000, ("node01", "rsc_ip_PRD_HDB00"): 2,
                                  ("node02", "rsc_SAPHana_PRD_HDB00"): 300}
    slave = next(r for r in status.resources if r.role == "Slave")
    assert (slave.nodes, slave.pending) == (["node02"], "Monitoring")
    assert status.node_attributes["node02"]["hana_prd_sync_state"] == "SOK"
    assert status.version == "1.1.18+20180430.b12c320f5-3.15.1-b12c320f5"


def test_standby_and_offline_node_rows() -> None:
    standby = parse_crm_mon_text(read("cfs-pcs-status-2.1.2-node-standby-drbd-promoted.txt"))
    rows = {r.node: r for r in evaluate_pacemaker(standby, "c", ["pcmk-1", "pcmk-2"], observed_at=0)}
    assert rows["pcmk-2"].state is State.WARN and "standby" in rows["pcmk-2"].reason
    assert rows["pcmk-1"].state is State.OK and "(DC)" in rows["pcmk-1"].value
    offline = parse_crm_mon_text(read("cfs-pcs-status-2.1.2-node-offline-failover.txt"))
    rows = {r.node: r for r in evaluate_pacemaker(offline, "c", ["pcmk-1", "pcmk-2"], observed_at=0)}
    assert rows["pcmk-2"].state is State.CRIT and rows["pcmk-2"].value == "OFFLINE"


# ------------------------------------------------------------------------------------------------ heartbeat
def test_recorded_hbstatus_stopped() -> None:
    assert parse_hbstatus(read("cl_status-hbstatus-stopped.txt", "recorded-local")) is False


@pytest.mark.parametrize("text,expected", [
    ("Heartbeat is running on this machine.\n", True),
    ("Heartbeat is stopped on this machine.\n", False),
    ("Heartbeat is apparently running on this machine, but refuses my connection\n", None),
    ("version:\t3.0.6\nmanaged by:\t\"haresources\"\n", True),
    ("", None),
])
def test_hbstatus(text: str, expected: bool | None) -> None:
    assert parse_hbstatus(text) is expected


def test_cl_status_answers() -> None:
    assert parse_listnodes("node-a\nnode-b\n") == ["node-a", "node-b"]
    assert parse_listnodes("The nodes are as follow:\nnode-a\n") == ["node-a"]
    assert parse_listnodes("Nov 22 15:18:12 vm cl_status: [7649]: ERROR: Cannot signon with heartbeat\n") == []
    assert parse_nodestatus("active\n") == "active" and parse_nodestatus("dead\n") == "dead"
    assert parse_nodestatus("The cluster node node-b is dead\n") == "dead"
    assert parse_nodestatus("Error. May be due to incorrect node name\n") is None
    assert [parse_rscstatus(w) for w in ("all\n", "local\n", "foreign\n", "none\n", "transition\n")] == [
        "all", "local", "foreign", "none", "transition"]
    assert parse_rscstatus("This node is holding local resources.\n") == "local"
    assert parse_rscstatus("garbage") is None


def test_heartbeat_verdicts() -> None:
    healthy = {"a": HeartbeatNodeView(True, "all", {"a": "active", "b": "active"}),
               "b": HeartbeatNodeView(True, "none", {"a": "active", "b": "active"})}
    rows = evaluate_heartbeat(healthy, "c", observed_at=0)
    assert all(r.state is State.OK for r in rows) and rows[-1].value == "active a"
    split = {"a": HeartbeatNodeView(True, "all", {"b": "dead"}), "b": HeartbeatNodeView(True, "all", {"a": "dead"})}
    rows = evaluate_heartbeat(split, "c", observed_at=0)
    assert rows[-1].state is State.CRIT and "both a and b" in rows[-1].reason
    assert rows[0].state is State.WARN and "b dead" in rows[0].reason
    stopped = {"a": HeartbeatNodeView(False), "b": HeartbeatNodeView(True, "all")}
    assert evaluate_heartbeat(stopped, "c", observed_at=0)[0].state is State.CRIT
    nobody = {"a": HeartbeatNodeView(True, "none"), "b": HeartbeatNodeView(True, "none")}
    assert evaluate_heartbeat(nobody, "c", observed_at=0)[-1].state is State.CRIT


def test_heartbeat_local_and_foreign_is_the_same_group_twice() -> None:
    views = {"a": HeartbeatNodeView(True, "local"), "b": HeartbeatNodeView(True, "foreign")}
    assert evaluate_heartbeat(views, "c", observed_at=0)[-1].state is State.CRIT
    two_groups = {"a": HeartbeatNodeView(True, "local"), "b": HeartbeatNodeView(True, "local")}
    assert evaluate_heartbeat(two_groups, "c", observed_at=0)[-1].state is State.OK
