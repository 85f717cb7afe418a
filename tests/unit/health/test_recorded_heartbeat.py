"""Real `cl_status` outputs of heartbeat 3.0.6, recorded on this machine with two nodes in namespaces (see
tests/fixtures/samples/recorded-local/README.md), parsed, judged and replayed through probe_cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from health_replay import ReplayRunner

from tui.config.hosts import Cluster, HeartbeatSettings
from tui.health import ProbeSettings, State, probe_cluster
from tui.health.hamanager import (
    HeartbeatNodeView,
    evaluate_heartbeat,
    parse_hbstatus,
    parse_listnodes,
    parse_nodestatus,
    parse_rscstatus,
)
from tui.health.model import CLUSTER_WIDE

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "recorded-local" / "heartbeat-3.0.6"


def read(name: str) -> str:
    return (RECORDED / name).read_text()


def rc(name: str) -> int:
    return int(read(name.replace(".txt", ".rc")))


@pytest.mark.parametrize("node", ["a", "b"])
def test_recorded_cl_status_answers(node: str) -> None:
    assert parse_hbstatus(read(f"{node}-hbstatus.txt")) is True and rc(f"{node}-hbstatus.txt") == 0
    assert parse_hbstatus(read(f"{node}-hbstatus_-v.txt")) is True
    assert parse_listnodes(read(f"{node}-listnodes.txt")) == ["hsh-hb-b", "hsh-hb-a"]
    assert parse_listnodes(read(f"{node}-listnodes_-v.txt")) == ["hsh-hb-b", "hsh-hb-a"]
    for peer in ("hsh-hb-a", "hsh-hb-b"):
        assert parse_nodestatus(read(f"{node}-nodestatus_{peer}.txt")) == "active"
    expected = {"a": "local", "b": "transition"}[node]
    assert parse_rscstatus(read(f"{node}-rscstatus.txt")) == expected
    assert parse_rscstatus(read(f"{node}-rscstatus_-m.txt")) == expected


def test_recorded_takeover_after_the_peer_stopped() -> None:
    assert parse_rscstatus(read("b-after-rscstatus.txt")) == "all"
    assert parse_nodestatus(read("b-after-nodestatus_hsh-hb-a.txt")) == "dead"
    assert rc("b-after-nodestatus_hsh-hb-a.txt") == 1 and rc("b-after-nodestatus_hsh-hb-b.txt") == 0


def test_recorded_views_judged() -> None:
    start = {"hsh-hb-a": HeartbeatNodeView(True, parse_rscstatus(read("a-rscstatus.txt"))),
             "hsh-hb-b": HeartbeatNodeView(True, parse_rscstatus(read("b-rscstatus.txt")))}
    rows = {r.node: r for r in evaluate_heartbeat(start, "hb", observed_at=0)}
    assert rows["hsh-hb-a"].state is State.OK and rows["hsh-hb-b"].state is State.WARN
    assert rows[CLUSTER_WIDE].value == "active hsh-hb-a"
    stopped = parse_hbstatus((RECORDED.parent / "cl_status-hbstatus-stopped.txt").read_text())
    after = {"hsh-hb-a": HeartbeatNodeView(stopped),
             "hsh-hb-b": HeartbeatNodeView(True, parse_rscstatus(read("b-after-rscstatus.txt")),
                                           {"hsh-hb-a": parse_nodestatus(read("b-after-nodestatus_hsh-hb-a.txt"))})}
    rows = {r.node: r for r in evaluate_heartbeat(after, "hb", observed_at=0)}
    assert rows["hsh-hb-a"].state is State.CRIT
    assert rows["hsh-hb-b"].state is State.WARN and "hsh-hb-a dead" in rows["hsh-hb-b"].reason
    assert (rows[CLUSTER_WIDE].state, rows[CLUSTER_WIDE].value) == (State.OK, "active hsh-hb-b")


async def test_recorded_outputs_through_the_probe() -> None:
    runner = ReplayRunner()
    for node, host in (("a", "node-a"), ("b", "node-b")):
        nodes = "".join(f"{peer} {read(f'b-after-nodestatus_{peer}.txt') if node == 'b' else 'x'}"
                        for peer in ("hsh-hb-a", "hsh-hb-b"))
        if node == "a":
            text = f"## hascreen:hbstatus\n{(RECORDED.parent / 'cl_status-hbstatus-stopped.txt').read_text()}" \
                   "## hascreen:rscstatus\n## hascreen:nodes\n"
        else:
            text = (f"## hascreen:hbstatus\n{read('b-after-hbstatus.txt')}## hascreen:rscstatus\n"
                    f"{read('b-after-rscstatus.txt')}## hascreen:nodes\n{nodes}")
        runner.answer(host, "cl_status", text)
    cluster = Cluster(name="hb", members=("node-a", "node-b"), manager="heartbeat",
                      heartbeat=HeartbeatSettings(node_names={"node-a": "hsh-hb-a", "node-b": "hsh-hb-b"}))
    health = await probe_cluster(runner, cluster, settings=ProbeSettings(timeout=1))
    rows = {r.node: r for r in health.rows}
    assert rows["node-a"].state is State.CRIT and rows["node-a"].value == "heartbeat stopped"
    assert rows["node-b"].state is State.WARN and "node-a dead" in rows["node-b"].reason
    assert health.active == {"ha": {"node-b"}}
