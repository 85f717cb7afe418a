"""Guards: every sample is byte-identical to the shared collection (sha256 from SOURCES.md), every sample is
covered by a parser test table, and every parser survives every sample and garbage without raising."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest

from tui.health import drbd, hamanager, keepalived, mysql, vip

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
SUBDIRS = ("drbd84", "drbd9", "iproute", "keepalived", "mysql", "pacemaker")
ALL_SAMPLES = sorted(p for d in SUBDIRS for p in (SAMPLES / d).iterdir())


def test_there_are_95_samples() -> None:
    assert len(ALL_SAMPLES) == 95


def test_samples_are_byte_identical_to_sources_md() -> None:
    block = (SAMPLES / "SOURCES.md").read_text()
    expected = dict((path, digest) for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", block, re.MULTILINE))
    assert len(expected) == 95
    for path in ALL_SAMPLES:
        rel = f"{path.parent.name}/{path.name}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[rel], rel


TABLES = {
    "test_drbd_samples": ("PROC_DRBD", "STATUS_TEXT", "EVENTS2"),
    "test_mysql_samples": ("REPLICA",),
    "test_keepalived_samples": ("DATA", "SYSLOG"),
    "test_hamanager_samples": ("PACEMAKER",),
    "test_vip_samples": ("IP_ADDR", "ARPING"),
}


def _tabled() -> set[str]:
    """File names in the expected-facts tables of the sibling test modules (loaded by path)."""
    names: set[str] = set()
    for module_name, tables in TABLES.items():
        spec = importlib.util.spec_from_file_location(f"_facts_{module_name}", Path(__file__).with_name(
            f"{module_name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for table in tables:
            names |= set(getattr(module, table))
    return names


def test_every_sample_has_expected_facts() -> None:
    # Samples checked by dedicated tests rather than a table:
    dedicated = {
        "drbdsetup-status-json-ha-cluster-exporter-original.txt",
        "drbdsetup-status-json-ha-cluster-exporter-quorum-false.txt",
        "mysql80-refman-show-master-status-vertical.txt", "mariadb-docs-show-binlog-status-table.txt",
        "stats-v1.3.5-auth-and-packet-errors.txt", "stats-v2.1.5-three-instances.txt",
        "json-sigjson-single-instance-fault.txt", "cfs-pcs-status-error-pacemaker-not-running.txt",
    }
    missing = {p.name for p in ALL_SAMPLES} - _tabled() - dedicated
    assert missing == set()


PARSERS = [
    drbd.parse_proc_drbd, drbd.parse_drbd_status_text, drbd.parse_drbd_status_json, drbd.parse_drbd_events2,
    drbd.parse_drbd, mysql.parse_vertical, mysql.parse_replica_status, mysql.parse_master_status,
    mysql.parse_read_only, mysql.parse_overview, keepalived.parse_data_dump, keepalived.parse_stats_dump,
    keepalived.parse_json_dump, keepalived.parse_syslog, keepalived.parse_notify_state, hamanager.parse_hbstatus,
    hamanager.parse_listnodes, hamanager.parse_nodestatus, hamanager.parse_rscstatus, hamanager.parse_crm_mon,
    hamanager.parse_crm_mon_text, hamanager.parse_crm_mon_xml, vip.parse_ip_addr, vip.parse_arping,
]

GARBAGE = [
    "", "\n\n", "\x00\xff garbage \x1b[31m", "version: 10.0.0 (api:3)\n", "[1, 2", "{}", "[{}]", "<xml",
    "<other/>", "*** 1. row ***\n", "ERROR 2002 (HY000): Can't connect to local MySQL server through socket\n",
    "drbdsetup: command not found\n", "exists -\n", "change resource role:Primary\n", "a" * 10000,
    "1: eth0    inet not-an-ip/99 scope global\n", "-bash: cl_status: command not found\n",
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: f"{p.__module__.rsplit('.', 1)[1]}.{p.__name__}")
def test_parsers_never_raise(parser) -> None:
    for path in ALL_SAMPLES:
        parser(path.read_text())
    for text in GARBAGE:
        parser(text)


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_evaluates_to_unknown(text: str) -> None:
    rows = drbd.evaluate_drbd(drbd.parse_drbd(text), "c", "n", observed_at=0)
    assert rows and all(r.state.value == "unknown" for r in rows), rows
    replica = mysql.evaluate_replica(mysql.parse_replica_status(text), "c", "n", observed_at=0)
    assert replica[0].state.value in ("unknown", "crit")  # crit only for "not configured" (empty result)
    pcmk = hamanager.evaluate_pacemaker(hamanager.parse_crm_mon(text), "c", ["n"], observed_at=0)
    assert any(r.state.value == "unknown" for r in pcmk)


def test_unknown_drbd_version_is_unknown_not_a_crash() -> None:
    status = drbd.parse_proc_drbd("version: 9.2.4 (api:2/proto:86-122)\nGIT-hash: abc build by x\n"
                                  "Transports (api:18): tcp (9.2.4)\n")
    assert status.resources == [] and "use drbdadm status" in status.errors[-1]
    rows = drbd.evaluate_drbd(status, "c", "n", observed_at=0, resources=["r0"])
    assert [r.state.value for r in rows] == ["unknown"] and "9.2.4" in rows[0].reason


def test_truncated_outputs_give_partial_facts() -> None:
    text = (SAMPLES / "drbd84" / "cfs-syncsource-8.6pct.txt").read_text()
    cut = drbd.parse_proc_drbd(text[: text.index("[>")])
    assert cut.proc_devices[0].cs == "SyncSource" and cut.proc_devices[0].sync is None
    events = (SAMPLES / "drbd9" / "drbd-utils-test-events2-syncsource-37.50.txt").read_text()
    half = drbd.parse_drbd_events2(events[: len(events) // 2])
    assert half.resources[0].name == "some-resource"
    xml = (SAMPLES / "pacemaker" / "cts-crm_mon-basic-xml.txt").read_text()
    broken = hamanager.parse_crm_mon(xml[: len(xml) // 2])
    assert broken.errors and broken.errors[0].startswith("not XML")
    slave = (SAMPLES / "mysql" / "pmp-running-001-healthy.txt").read_text()
    partial = mysql.parse_replica_status(slave[: slave.index("Slave_SQL_Running")])
    chan = partial.channels[0]
    assert chan.io_running == "Yes" and chan.sql_running == "" and chan.seconds_behind is None
    assert mysql.judge_channel(chan)[0].value == "unknown"
