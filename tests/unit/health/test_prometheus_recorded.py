"""Health from Prometheus, on instant-query answers recorded from the lab (tests/fixtures/prometheus):
every break scenario turns the right row, a missing / stale / NaN series reads unknown with the reason
(never 0 or ok), a Prometheus that is down or answers an error is unknown (prometheus) or replaced by SSH
(auto), every row says where it came from and when its data was scraped, and the consistency row is the
same whichever source fed it. The HTTP client is the real one, against a loopback server."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from pathlib import Path

import pytest
from health_replay import ReplayRunner
from test_probes import healthy_runner, keepalived_cluster

from tui.config.hosts import Cluster, DrbdSettings, MysqlSettings, PacemakerSettings
from tui.health import check_clusters, exit_code
from tui.health.model import CLUSTER_WIDE, State
from tui.health.prometheus import parse_answer, series_query
from tui.prometheus_http import PrometheusHttp
from tui.runner import MetricsUnavailable

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "prometheus"
URL = "http://prometheus.test:9090"
ADDRESSES = {"node-a": "10.213.77.11", "node-b": "10.213.77.12"}


def recorded(name: str) -> str:
    profile = name.split("-", 1)[0]
    path = RECORDED / profile / f"{name}.json"
    return path.read_text() if path.exists() else (RECORDED / f"{name}.json").read_text()


class RecordedMetrics:
    """A MetricsSource that answers every query with one recorded body (or raises, for a down server)."""

    def __init__(self, body: str | Exception) -> None:
        self.body = body
        self.asked: list[tuple[str, str]] = []

    async def instant_query(self, base_url: str, expr: str, *, timeout: float = 5.0) -> str:
        self.asked.append((base_url, expr))
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


def without(body: str, series: str, instance: str) -> str:
    """A recorded answer with one series taken out (what an exporter that stops exporting it gives)."""
    data = json.loads(body)
    data["data"]["result"] = [r for r in data["data"]["result"]
                              if not (r["metric"].get("__name__") == series and r["metric"]["instance"] == instance)]
    return json.dumps(data)


def lab_cluster(source: str = "prometheus", manager: str = "keepalived") -> Cluster:
    if manager == "pacemaker":
        return Cluster(name="db", members=("node-a", "node-b"), manager="pacemaker",
                       drbd=DrbdSettings(resources=("r0",)),
                       mysql=MysqlSettings(master="node-a", replicas=("node-b",), option_file="/root/.my.cnf"),
                       pacemaker=PacemakerSettings(resources=("vip",)), health_source=source, prometheus_url=URL)
    return keepalived_cluster(drbd=DrbdSettings(resources=("r0",)), health_source=source, prometheus_url=URL)


def rows_of(body: str | Exception, source: str = "prometheus", manager: str = "keepalived", runner=None):
    metrics = RecordedMetrics(body)
    rows = asyncio.run(check_clusters(runner or ReplayRunner(), [lab_cluster(source, manager)], metrics=metrics,
                                      addresses=ADDRESSES))
    return rows, metrics


def by_key(rows) -> dict:
    return {(r.node, r.layer, r.subject): r for r in rows}


def find(rows, node: str, layer: str) -> list:
    return [r for r in rows if r.node == node and r.layer == layer]


def test_the_healthy_lab_is_ok_from_prometheus_alone_with_source_and_scrape_time() -> None:
    rows, metrics = rows_of(recorded("keepalived-healthy"))
    assert [r for r in rows if r.state is not State.OK] == []
    assert {r.layer for r in rows} == {"drbd", "mysql", "vrrp", "vip", "cluster"}
    assert metrics.asked == [(URL, series_query())]  # one query for the whole cluster
    evaluated = parse_answer(recorded("keepalived-healthy")).evaluated_at
    data_rows = [r for r in rows if r.layer != "cluster"]
    assert all(r.source == "prometheus" for r in data_rows)
    assert all(evaluated - 3 < r.observed_at < evaluated for r in data_rows)  # the scrape's time, not the poll's
    consistency = by_key(rows)[(CLUSTER_WIDE, "cluster", "consistency")]
    assert consistency.state is State.OK and consistency.value == "node-a"
    assert by_key(rows)[("node-a", "vrrp", "VI_1")].value.startswith("MASTER")


SCENARIOS = [
    # recorded answer, (node, layer) of the row that must turn, its state, words its reason must contain
    ("keepalived-replica-conflict", ("node-b", "mysql"), State.CRIT, ["1062"]),
    ("keepalived-replica-stopped", ("node-b", "mysql"), State.CRIT, ["stopped"]),
    ("keepalived-replica-lag", ("node-b", "mysql"), State.WARN, ["MASTER_DELAY"]),
    ("keepalived-vrrp-auth-mismatch", ("*", "vrrp"), State.CRIT, ["MASTER"]),
    ("keepalived-kill-keepalived", ("*", "vip"), State.CRIT, ["node-a", "node-b"]),
    ("keepalived-drbd-disconnect", ("node-a", "drbd"), State.CRIT, ["StandAlone"]),
    ("keepalived-drbd-split-brain", ("*", "drbd"), State.CRIT, ["split"]),
    ("keepalived-drbd-resync", ("node-a", "drbd"), State.WARN, ["resync"]),
    ("keepalived-partition", ("node-b", "host"), State.CRIT, ["up=0"]),
    ("keepalived-node-crash", ("node-b", "host"), State.CRIT, ["up=0"]),
    ("pacemaker-drbd-split-brain", ("*", "drbd"), State.CRIT, ["split"]),
    ("pacemaker-node-crash", ("node-b", "host"), State.CRIT, ["up=0"]),
]


@pytest.mark.parametrize("name, where, state, words", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_each_recorded_break_turns_the_right_row(name, where, state, words) -> None:
    manager = name.split("-", 1)[0]
    rows, _ = rows_of(recorded(name), manager=manager)
    matching = [r for r in find(rows, *where) if r.state is state]
    assert matching, [(r.node, r.layer, r.state.value, r.reason) for r in rows if r.state is not State.OK]
    reason = " ".join(r.reason for r in matching)
    for word in words:
        assert word.lower() in reason.lower(), (word, reason)
    assert exit_code(rows) == (2 if state is State.CRIT else 1) or state is State.WARN


def test_a_target_that_is_down_leaves_its_layers_unknown_not_ok() -> None:
    rows, _ = rows_of(recorded("keepalived-partition"))
    node_b = [r for r in rows if r.node == "node-b" and r.layer != "host"]
    assert node_b and all(r.state is State.UNKNOWN and r.stale for r in node_b)
    assert any("down (up=0)" in r.reason for r in node_b)


def test_the_lag_series_mysqld_exporter_drops_while_null_is_unknown_never_zero() -> None:
    body = without(recorded("keepalived-healthy"), "mysql_slave_status_seconds_behind_master", "10.213.77.12:9104")
    rows, _ = rows_of(body)
    row = by_key(rows)[("node-b", "mysql", "")]
    assert row.state is State.UNKNOWN and "lag unknown" in row.reason and "NULL" in row.reason


def test_a_missing_series_is_unknown_with_its_name() -> None:
    body = without(recorded("keepalived-healthy"), "hascreen_vrrp_state", "10.213.77.12:9100")
    rows, _ = rows_of(body)
    row = by_key(rows)[("node-b", "vrrp", "VI_1")]
    assert row.state is State.UNKNOWN and "hascreen_vrrp_state missing" in row.reason and row.stale


def test_stale_samples_are_unknown_with_their_age() -> None:
    rows, _ = rows_of(recorded("keepalived-healthy-evaluated-120s-later"))
    data_rows = [r for r in rows if r.layer not in ("cluster", "host")]
    assert data_rows and all(r.state is State.UNKNOWN for r in data_rows)
    assert all("stale" in r.reason and ("120s ago" in r.reason or "121s ago" in r.reason)
               for r in data_rows if r.node != CLUSTER_WIDE)
    assert exit_code(rows) == 3


def test_a_nan_sample_is_unknown_never_a_number() -> None:
    rows, _ = rows_of(recorded("keepalived-nan-sync-percent"))
    node_a = find(rows, "node-a", "drbd")
    assert node_a and all(r.state is State.UNKNOWN and "NaN" in r.reason for r in node_a)
    assert all(r.state is State.OK for r in find(rows, "node-b", "drbd"))


def test_an_error_answer_is_unknown_with_prometheus_words() -> None:
    rows, _ = rows_of(recorded("error-bad-query"))
    assert rows and all(r.state is State.UNKNOWN for r in rows if r.layer != "cluster")
    assert "bad_data" in rows[0].reason and "unclosed left parenthesis" in rows[0].reason


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connection refused


def test_a_prometheus_that_is_down_is_unknown_and_auto_falls_back_to_ssh() -> None:
    url = refused_url()
    with pytest.raises(MetricsUnavailable) as info:
        asyncio.run(PrometheusHttp().instant_query(url, "up", timeout=2))
    assert "refused" in str(info.value).lower()
    cluster = keepalived_cluster(drbd=DrbdSettings(resources=("wwwdata",)), health_source="prometheus",
                                 prometheus_url=url)
    rows = asyncio.run(check_clusters(healthy_runner(), [cluster], metrics=PrometheusHttp(), addresses=ADDRESSES))
    assert rows and all(r.state is State.UNKNOWN and r.source == "prometheus" for r in rows if r.layer != "cluster")
    assert "did not answer" in rows[0].reason and exit_code(rows) == 3
    auto = asyncio.run(check_clusters(healthy_runner(), [cluster], metrics=PrometheusHttp(), addresses=ADDRESSES,
                                      source="auto"))
    assert exit_code(auto) == 0 and {r.source for r in auto} == {"ssh"}


def test_auto_takes_each_layer_from_where_it_answers_and_the_consistency_row_is_the_same() -> None:
    body = without(recorded("keepalived-healthy"), "mysql_up", "10.213.77.12:9104")
    runner = healthy_runner()
    rows, _ = rows_of(body, source="auto", runner=runner)
    sources = {r.layer: r.source for r in rows if r.layer != "cluster"}
    assert sources == {"drbd": "prometheus", "vrrp": "prometheus", "vip": "prometheus", "mysql": "ssh"}
    assert {argv[0] for _, argv in runner.calls} == {"mysql"}  # SSH asked only for the missing layer
    assert exit_code(rows) == 0
    ssh_rows = asyncio.run(check_clusters(healthy_runner(), [keepalived_cluster()]))
    merged = by_key(rows)[(CLUSTER_WIDE, "cluster", "consistency")]
    over_ssh = by_key(ssh_rows)[(CLUSTER_WIDE, "cluster", "consistency")]
    assert (merged.state, merged.value) == (over_ssh.state, over_ssh.value) == (State.OK, "node-a")


def test_the_pacemaker_lab_reads_ha_and_drbd_from_ha_cluster_exporter() -> None:
    rows, _ = rows_of(recorded("pacemaker-healthy"), manager="pacemaker")
    assert [r for r in rows if r.state is not State.OK] == []
    assert {r.layer for r in rows} == {"drbd", "mysql", "ha", "cluster"}
    assert by_key(rows)[(CLUSTER_WIDE, "cluster", "consistency")].value == "node-a"
    stale, _ = rows_of(recorded("pacemaker-healthy-evaluated-120s-later"), manager="pacemaker")
    assert exit_code(stale) == 3


def test_an_ssh_cluster_never_asks_prometheus() -> None:
    metrics = RecordedMetrics(recorded("keepalived-healthy"))
    rows = asyncio.run(check_clusters(healthy_runner(), [keepalived_cluster()], metrics=metrics))
    assert metrics.asked == [] and {r.source for r in rows} == {"ssh"}


def test_parse_answer_never_raises_on_garbage() -> None:
    for text in ("", "nope", "[]", '{"status": "success"}', '{"status":"success","data":{"resultType":"matrix",'
                 '"result":[]}}', '{"status":"success","data":{"resultType":"vector","result":[{"metric":1}]}}'):
        snapshot = parse_answer(text)
        assert snapshot.error or snapshot.by_host == {}


class _OneAnswer(http.server.BaseHTTPRequestHandler):
    body = b""
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def test_the_http_client_makes_one_plain_get_of_the_instant_query_api() -> None:
    _OneAnswer.body = recorded("keepalived-replica-conflict").encode()
    _OneAnswer.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        cluster = lab_cluster()
        cluster = Cluster(**{**cluster.__dict__, "prometheus_url": url})
        rows = asyncio.run(check_clusters(ReplayRunner(), [cluster], metrics=PrometheusHttp(), addresses=ADDRESSES))
    finally:
        server.shutdown()
        server.server_close()
    assert len(_OneAnswer.paths) == 1 and _OneAnswer.paths[0].startswith("/api/v1/query?query=")
    assert by_key(rows)[("node-b", "mysql", "")].state is State.CRIT
