"""Health on the lab, through the public surface: `hascreen health --json` for every `lab break` scenario
(the right row turns crit with the right reason, `heal` brings it back, the exit code follows), and a
running console whose server pushes the crit within two poll intervals while no one is attached.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import make_hello

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
POLL_INTERVAL = 1.0


def health(lab, *extra: str) -> tuple[int, dict]:
    result = subprocess.run([HASCREEN, "health", "--hosts", str(lab.hosts_yaml), "--json", *extra],
                            capture_output=True, text=True, timeout=60, env=lab.env)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def rows_where(report: dict, **match) -> list[dict]:
    return [row for row in report["rows"] if all(str(row.get(k)) == str(v) for k, v in match.items())]


def wait_for_report(lab, predicate, timeout: float = 30.0) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    code, report = health(lab)
    while not predicate(code, report) and time.monotonic() < deadline:
        time.sleep(0.5)
        code, report = health(lab)
    return code, report


def test_a_healthy_lab_is_ok(lab):
    code, report = wait_for_report(lab, lambda code, _: code == 0)
    assert code == 0, [r for r in report["rows"] if r["state"] != "ok"]
    layers = {row["layer"] for row in report["rows"]}
    assert {"drbd", "mysql", "vrrp", "vip", "cluster"} <= layers


SCENARIOS = [
    # scenario, node, (node, layer) of the row that must change, its state, words its reason must contain
    ("replica-conflict", None, ("node-b", "mysql"), "crit", ["1062"]),
    ("replica-stopped", None, ("node-b", "mysql"), "crit", ["stopped"]),
    ("replica-lag", None, ("node-b", "mysql"), "warn", ["MASTER_DELAY"]),
    ("vrrp-auth-mismatch", None, ("*", "vrrp"), "crit", ["MASTER"]),
    ("kill-keepalived", "node-a", ("*", "vip"), "crit", ["node-a", "node-b"]),
    ("drbd-split-brain", None, ("*", "drbd"), "crit", ["split"]),
    ("drbd-resync", None, ("node-a", "drbd"), "warn", ["resync"]),
    ("partition", "node-b", ("node-b", "host"), "crit", []),
    ("node-crash", "node-b", ("node-b", "host"), "crit", []),
]
EXIT_CODES = {"warn": 1, "crit": 2}


@pytest.mark.parametrize("scenario, node, where, state, words", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_each_break_turns_the_right_row_and_heal_restores_it(lab, scenario, node, where, state, words):
    wait_for_report(lab, lambda code, _: code == 0)
    row_node, layer = where
    with lab.broken(scenario, node):
        def changed(code, report):
            return code == EXIT_CODES[state] and any(
                r["state"] == state for r in rows_where(report, node=row_node, layer=layer))

        code, report = wait_for_report(lab, changed)
        matching = [r for r in rows_where(report, node=row_node, layer=layer) if r["state"] == state]
        assert code == EXIT_CODES[state] and matching, report["rows"]
        reason = " ".join(r["reason"] for r in matching).lower()
        for word in words:
            assert word.lower() in reason, (word, reason)
    code, report = wait_for_report(lab, lambda code, _: code == 0, timeout=60)
    assert code == 0, [r for r in report["rows"] if r["state"] != "ok"]


def test_drbd_disconnect_is_reported_not_ok(lab):
    with lab.broken("drbd-disconnect"):
        code, report = wait_for_report(lab, lambda code, report: any(
            r["state"] in ("warn", "crit") for r in rows_where(report, layer="drbd")))
        assert code in (1, 2)
        assert any(r["state"] in ("warn", "crit") for r in rows_where(report, layer="drbd"))


def test_the_console_server_pushes_a_new_crit_within_two_polls(lab, tmp_path):
    env = dict(lab.env, HASCREEN_DIR=str(tmp_path / "sock"), HASCREEN_HEALTH_INTERVAL=str(POLL_INTERVAL))
    subprocess.run([HASCREEN, "-d", "-m", "-S", "ops", "--hosts", str(lab.hosts_yaml)], env=env, check=True,
                   timeout=30)
    socket_path = next((tmp_path / "sock").glob("*.ops"))

    async def watch() -> tuple[dict, float]:
        reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=1 << 24)
        writer.write(encode_frame(make_hello(120, 40, "xterm-256color", "multi")))

        async def next_health() -> dict:
            while True:
                message = await read_frame(reader)
                assert message is not None, "the server hung up"
                if message["t"] == "health":
                    return message

        def crit_rows(message):
            return [row for cluster in message["clusters"] for row in cluster["rows"]
                    if row["layer"] == "mysql" and row["state"] == "crit"]

        # wait for a healthy poll, then break replication and time the crit's arrival
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = await asyncio.wait_for(next_health(), 30)
            if message["clusters"] and not crit_rows(message):
                break
        lab.must("break", "replica-conflict")
        polls_at_break = message["polls"]
        while True:
            message = await asyncio.wait_for(next_health(), 30)
            if crit_rows(message):
                writer.close()
                return message, message["polls"] - polls_at_break

    try:
        message, polls = asyncio.run(asyncio.wait_for(watch(), 120))
        rows = [row for cluster in message["clusters"] for row in cluster["rows"] if row["state"] == "crit"]
        assert any("1062" in row["reason"] for row in rows)
        # counted in polls, not seconds: the poll under way when it broke may miss it, the next one may not
        assert polls <= 2
        assert any("1062" in event.get("text", "") or event.get("new") == "crit" for event in message["events"])
    finally:
        lab.must("heal")
        subprocess.run([HASCREEN, "-X", "ops", "kill-server"], env=env, timeout=30, capture_output=True)
