"""HealthTracker (timeline, staleness, alerts), consistency verdicts, Nagios exit codes and renderers."""

from __future__ import annotations

import json

import pytest

from tui.health import ClusterHealth, HealthRow, HealthTracker, State, exit_code, render_json, render_text
from tui.health.consistency import evaluate_consistency
from tui.health.model import CLUSTER_WIDE, STATE_SYMBOLS, worst


def row(node: str, layer: str, state: State, t: float, value: str = "v", reason: str = "", stale: bool = False,
        subject: str = "") -> HealthRow:
    return HealthRow("db", node, layer, state, value, reason, t, subject, stale)


def poll(t: float, *rows: HealthRow) -> ClusterHealth:
    return ClusterHealth("db", list(rows), t)


def test_tracker_records_state_changes_only() -> None:
    tracker = HealthTracker(interval=2)
    first = tracker.update(poll(0, row("a", "mysql", State.OK, 0), row("b", "mysql", State.WARN, 0, reason="lag")))
    assert [(e.node, e.old, e.new) for e in first] == [("b", None, State.WARN)]  # a new ok row is not news
    assert tracker.update(poll(2, row("a", "mysql", State.OK, 2), row("b", "mysql", State.WARN, 2))) == []
    third = tracker.update(poll(4, row("a", "mysql", State.CRIT, 4, reason="replica SQL thread stopped"),
                                row("b", "mysql", State.OK, 4)))
    assert [(e.node, e.old, e.new, e.reason) for e in third] == [
        ("a", State.OK, State.CRIT, "replica SQL thread stopped"), ("b", State.WARN, State.OK, "")]
    assert third[0].describe() == "db/a/mysql: ok→crit: replica SQL thread stopped"
    assert [e.node for e in HealthTracker.new_crits(third)] == ["a"]
    assert len(tracker.events) == 3 and tracker.state("db") is State.CRIT


def test_event_list_is_bounded() -> None:
    tracker = HealthTracker(max_events=5)
    for i in range(20):
        tracker.update(poll(i, row("a", "vrrp", State.CRIT if i % 2 else State.OK, i)))
    assert len(tracker.events) == 5
    assert tracker.recent_events(2)[-1].time == 19


def test_stale_row_keeps_last_value_and_age() -> None:
    tracker = HealthTracker(interval=2)
    tracker.update(poll(10, row("a", "drbd", State.OK, 10, value="Primary/Secondary")))
    events = tracker.update(poll(12, row("a", "drbd", State.UNKNOWN, 12, value="no data",
                                         reason="unreachable: no route", stale=True)))
    kept = tracker.latest("db")[0]
    assert (kept.value, kept.observed_at, kept.stale, kept.state) == ("Primary/Secondary", 10, True, State.UNKNOWN)
    assert kept.reason == "unreachable: no route" and kept.age(now=16) == 6
    assert [(e.old, e.new) for e in events] == [(State.OK, State.UNKNOWN)]
    tracker.update(poll(14, row("a", "drbd", State.OK, 14, value="Primary/Secondary")))
    assert tracker.latest()[0].stale is False and tracker.latest()[0].observed_at == 14


def test_mark_stale_after_n_intervals() -> None:
    tracker = HealthTracker(interval=2, stale_after=3)
    tracker.update(poll(0, row("a", "vip", State.OK, 0)))
    assert tracker.mark_stale(now=5) == []
    changed = tracker.mark_stale(now=7)
    assert [(r.stale, r.state) for r in changed] == [(True, State.UNKNOWN)]
    assert "no fresh data for 7s" in tracker.latest()[0].reason


def test_a_prometheus_row_is_judged_by_its_scrape_age_allowance_not_the_poll_interval() -> None:
    from dataclasses import replace

    tracker = HealthTracker(interval=2, stale_after=3)
    tracker.update(poll(0, replace(row("a", "vip", State.OK, 0), source="prometheus"), row("b", "vip", State.OK, 0)))
    changed = tracker.mark_stale(now=30, allowance={"prometheus": 60})
    assert [(r.node, r.source) for r in changed] == [("b", "ssh")]  # the ssh row only
    assert [r.node for r in tracker.mark_stale(now=67, allowance={"prometheus": 60})] == ["a"]


def test_rows_that_disappear_are_cleared() -> None:
    tracker = HealthTracker()
    tracker.update(poll(0, row("b", "host", State.UNKNOWN, 0, reason="unreachable"), row("a", "vip", State.OK, 0)))
    events = tracker.update(poll(2, row("a", "vip", State.OK, 2)))
    assert [(e.node, e.layer, e.old, e.new) for e in events] == [("b", "host", State.UNKNOWN, State.OK)]
    assert [r.node for r in tracker.latest()] == ["a"]


def test_row_round_trips_through_dict() -> None:
    original = row("a", "mysql", State.CRIT, 5.5, reason="x", stale=True, subject="chan")
    assert HealthRow.from_dict(json.loads(json.dumps(original.to_dict()))) == original


@pytest.mark.parametrize("states,code", [
    ([State.OK, State.OK], 0), ([State.OK, State.WARN], 1), ([State.WARN, State.CRIT, State.UNKNOWN], 2),
    ([State.OK, State.UNKNOWN], 3), ([State.UNKNOWN, State.WARN], 1), ([], 3),
])
def test_nagios_exit_codes(states: list[State], code: int) -> None:
    assert exit_code(row("a", "x", s, 0) for s in states) == code


def test_symbols_and_worst() -> None:
    assert [STATE_SYMBOLS[s] for s in (State.OK, State.WARN, State.CRIT, State.UNKNOWN)] == ["✓", "!", "✗", "?"]
    assert worst([State.OK, State.UNKNOWN]) is State.UNKNOWN and worst([]) is State.OK


def test_text_renderer() -> None:
    rows = [row("a", "mysql", State.CRIT, 0, value="IO Yes SQL No lag NULL",
                reason="replica SQL thread stopped: Duplicate entry '3' for key 'PRIMARY' (1062)"),
            row("b", "vip", State.OK, 0, value="absent", subject="10.0.0.1")]
    text = render_text(rows, now=30)
    lines = text.splitlines()
    assert lines[0] == ("HEALTH CRITICAL - 1 problem(s); db/a/mysql: replica SQL thread stopped: Duplicate entry "
                        "'3' for key 'PRIMARY' (1062)")
    assert lines[1].startswith("✗ crit    db a mysql") and "(ssh 30s)" in lines[1] and "(1062)" in lines[1]
    assert lines[2].startswith("✓ ok      db b vip[10.0.0.1]")
    assert render_text([], now=0).startswith("HEALTH UNKNOWN - no clusters checked")


def test_json_renderer() -> None:
    data = json.loads(render_json([row("a", "vrrp", State.WARN, 1, reason="r", stale=True)], now=3))
    assert (data["state"], data["exit_code"]) == ("warn", 1)
    first = data["rows"][0]
    assert (first["state"], first["symbol"], first["age"], first["stale"], first["reason"]) == ("warn", "!", 2.0,
                                                                                                 True, "r")


def test_consistency_verdicts() -> None:
    agree = evaluate_consistency("db", {"drbd": {"a"}, "vip": {"a"}, "mysql": {"a"}}, observed_at=0)
    assert (agree.state, agree.value, agree.node, agree.layer) == (State.OK, "a", CLUSTER_WIDE, "cluster")
    split = evaluate_consistency("db", {"drbd": {"a"}, "vrrp": {"a", "b"}}, observed_at=0)
    assert split.state is State.CRIT and "VRRP MASTER on a,b" in split.reason
    missing = evaluate_consistency("db", {"drbd": {"a"}, "mysql": set()}, observed_at=0)
    assert missing.state is State.WARN and "no writable MySQL master" in missing.reason
    unread = evaluate_consistency("db", {"drbd": {"a"}, "ha": None}, observed_at=0)
    assert unread.state is State.UNKNOWN and "ha unreadable" in unread.reason
    nobody = evaluate_consistency("db", {"drbd": set(), "vip": set()}, observed_at=0)
    assert nobody.state is State.WARN


def test_snapshot_is_plain_data_for_the_protocol() -> None:
    tracker = HealthTracker()
    tracker.update(poll(10, row("a", "vip", State.OK, 10, subject="10.0.0.1"),
                        row("b", "mysql", State.CRIT, 10, reason="replica SQL thread stopped")))
    snap = tracker.snapshot(now=12)
    assert json.loads(json.dumps(snap)) == snap
    db = snap["clusters"]["db"]
    assert db["state"] == "crit" and [r["node"] for r in db["rows"]] == ["a", "b"]
    assert db["rows"][1]["age"] == 2.0 and db["rows"][1]["symbol"] == "✗"
    assert snap["events"] == [{"time": 10, "cluster": "db", "node": "b", "layer": "mysql", "subject": "",
                               "old": None, "new": "crit", "reason": "replica SQL thread stopped", "value": "v"}]
