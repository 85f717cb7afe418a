"""Health through Prometheus on the lab (`hascreen lab up --monitoring`): the real exporters and Prometheus
from Debian's packages. Every `lab break` scenario turns the right row through `hascreen health --source
prometheus` within two scrape intervals (plus the textfile feeder's second) plus one poll; `heal` brings
it back; `auto` agrees; and rebuilding the lab without --monitoring leaves no monitoring process behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.lab import monitoring

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
# The freshest data a poll can miss: a change lands in the textfile within 1 s (the feeder), in
# Prometheus at the next scrape; allow two scrape intervals for it, as the issue does.
DETECTION_BOUND_S = 2 * monitoring.SCRAPE_INTERVAL_S + 1.0
MONITORING_PROCESSES = ("prometheus", "prometheus-node-exporter", "prometheus-mysqld-exporter",
                        "ha_cluster_exporter", "textfile-feeder")


@pytest.fixture(scope="module")
def monitored_lab(lab):
    if monitoring.missing_packages("keepalived"):
        pytest.skip("monitoring packages missing: " + ", ".join(monitoring.missing_packages("keepalived")))
    up = lab.cli("up", "--monitoring", timeout=240)
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        yield lab
    finally:
        lab.cli("up", timeout=240)  # the plain lab again, for the other tests of this session


def health(lab, source: str = "prometheus") -> tuple[int, dict, float]:
    started = time.monotonic()
    result = subprocess.run([HASCREEN, "health", "--hosts", str(lab.hosts_yaml), "--json", "--source", source],
                            capture_output=True, text=True, timeout=60, env=lab.env)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), started


def rows_where(report: dict, **match) -> list[dict]:
    return [row for row in report["rows"] if all(str(row.get(k)) == str(v) for k, v in match.items())]


def wait_for(lab, predicate, timeout: float = 30.0, source: str = "prometheus") -> tuple[int, dict, float]:
    deadline = time.monotonic() + timeout
    code, report, started = health(lab, source)
    while not predicate(code, report) and time.monotonic() < deadline:
        time.sleep(0.3)
        code, report, started = health(lab, source)
    return code, report, started


def test_the_monitored_lab_is_ok_through_prometheus_and_auto(monitored_lab):
    code, report, _ = wait_for(monitored_lab, lambda code, _: code == 0)
    assert code == 0, [r for r in report["rows"] if r["state"] != "ok"]
    assert {r["source"] for r in report["rows"] if r["layer"] != "cluster"} == {"prometheus"}
    assert {"drbd", "mysql", "vrrp", "vip", "cluster"} <= {r["layer"] for r in report["rows"]}
    assert all(r["age"] < 30 for r in report["rows"])
    code, report, _ = health(monitored_lab, "auto")
    assert code == 0 and {r["source"] for r in report["rows"] if r["layer"] != "cluster"} == {"prometheus"}
    text = subprocess.run([HASCREEN, "health", "--hosts", str(monitored_lab.hosts_yaml), "--source", "prometheus"],
                          capture_output=True, text=True, timeout=60, env=monitored_lab.env).stdout
    assert "(prometheus " in text


SCENARIOS = [
    # scenario, node, (node, layer) of the row that must change, its state, words its reason must contain
    ("replica-conflict", None, ("node-b", "mysql"), "crit", ["1062"]),
    ("replica-stopped", None, ("node-b", "mysql"), "crit", ["stopped"]),
    ("replica-lag", None, ("node-b", "mysql"), "warn", ["MASTER_DELAY"]),
    ("vrrp-auth-mismatch", None, ("*", "vrrp"), "crit", ["MASTER"]),
    ("kill-keepalived", "node-a", ("*", "vip"), "crit", ["node-a", "node-b"]),
    ("drbd-disconnect", None, ("node-a", "drbd"), "crit", ["StandAlone"]),
    ("drbd-split-brain", None, ("*", "drbd"), "crit", ["split"]),
    ("drbd-resync", None, ("node-a", "drbd"), "warn", ["resync"]),
    ("partition", "node-b", ("node-b", "host"), "crit", ["up=0"]),
    ("node-crash", "node-b", ("node-b", "host"), "crit", ["up=0"]),
]
EXIT_CODES = {"warn": 1, "crit": 2}


@pytest.mark.parametrize("scenario, node, where, state, words", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_each_break_turns_the_right_row_through_prometheus(monitored_lab, scenario, node, where, state, words):
    wait_for(monitored_lab, lambda code, _: code == 0, timeout=60)
    row_node, layer = where
    with monitored_lab.broken(scenario, node):
        broken_at = time.monotonic()

        def changed(code, report):
            return code == EXIT_CODES[state] and any(
                r["state"] == state for r in rows_where(report, node=row_node, layer=layer))

        code, report, poll_started = wait_for(monitored_lab, changed)
        matching = [r for r in rows_where(report, node=row_node, layer=layer) if r["state"] == state]
        assert code == EXIT_CODES[state] and matching, [r for r in report["rows"] if r["state"] != "ok"]
        assert {r["source"] for r in matching} == {"prometheus"}
        reason = " ".join(r["reason"] for r in matching).lower()
        for word in words:
            assert word.lower() in reason, (word, reason)
        # the poll that saw it began within two scrape intervals of the break
        assert poll_started - broken_at <= DETECTION_BOUND_S, (poll_started - broken_at, DETECTION_BOUND_S)
    code, report, _ = wait_for(monitored_lab, lambda code, _: code == 0, timeout=60)
    assert code == 0, [(r["node"], r["layer"], r["state"], r["reason"]) for r in report["rows"] if r["state"] != "ok"]


def _monitoring_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            names = {Path(arg.decode(errors="replace")).name for arg in argv[:2]}
            if names & set(MONITORING_PROCESSES) and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(b" ".join(argv).decode(errors="replace"))
    return found


def test_the_lab_without_monitoring_leaves_no_monitoring_process(monitored_lab):
    assert _monitoring_processes()  # they run now
    rebuilt = monitored_lab.cli("up", timeout=240)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _monitoring_processes() == []
    assert not (monitored_lab.dir / "monitoring").exists()
    again = monitored_lab.cli("up", "--monitoring", timeout=240)  # back, for any test after this one
    assert again.returncode == 0, again.stderr


def test_the_pacemaker_lab_through_ha_cluster_exporter(monitored_lab):
    if monitoring.missing_packages("pacemaker"):
        pytest.skip("prometheus-hacluster-exporter is not installed")
    up = monitored_lab.cli("up", "--profile", "pacemaker", "--monitoring", timeout=240)
    assert up.returncode == 0, up.stderr + up.stdout
    code, report, _ = wait_for(monitored_lab, lambda code, _: code == 0, timeout=90)
    assert code == 0, [(r["node"], r["layer"], r["state"], r["reason"]) for r in report["rows"] if r["state"] != "ok"]
    ha_rows = rows_where(report, layer="ha")
    assert ha_rows and {r["source"] for r in ha_rows} == {"prometheus"}
    with monitored_lab.broken("drbd-split-brain"):
        code, report, _ = wait_for(monitored_lab, lambda code, report: any(
            r["state"] == "crit" for r in rows_where(report, node="*", layer="drbd")))
        assert code == 2 and any("split" in r["reason"] for r in rows_where(report, node="*", layer="drbd"))
