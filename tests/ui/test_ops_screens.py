"""The ops screens against a real server with a hosts.yaml whose nodes are down: the procedures palette
(C-a P) starts a procedure window that refuses in preflight, and the full-screen health window (C-a W)
shows the cluster with its unreachable rows and closes again with Esc."""

from __future__ import annotations

import pytest

from tests.down_cluster import write_down_cluster_hosts
from tests.ui.conftest import LiveSession  # noqa: F401  (the class behind the fixture)


@pytest.fixture
def ops_session():
    session = LiveSession()
    session.env["HASCREEN_HOSTS"] = str(write_down_cluster_hosts(session.directory))
    session.start()
    yield session
    session.stop()


async def test_palette_runs_a_procedure_that_refuses_when_the_nodes_are_down(ops_session):
    async with ops_session.console() as console:
        await console.prefix("P")
        await console.wait(lambda: type(console.app.screen).__name__ == "ProcedurePalette", "the palette")
        await console.press("1")  # the first procedure, arping
        await console.wait(lambda: type(console.app.screen).__name__ == "ParamChoice", "arping's --host")
        assert console.app.screen.values == ["", "down-a", "down-b"]  # its default, or a member
        await console.press("1")  # the default: the VIP holder
        await console.wait(lambda: any("proc:arping" in name for name in console.tab_names), "the procedure window")
        await console.wait_text("REFUSED", what="the refusal", timeout=30)
        assert "arping on db" in console.text


async def test_health_window_shows_the_cluster_and_closes(ops_session):
    async with ops_session.console() as console:
        await console.wait(lambda: console.app.health and console.app.health.get("clusters"), "health data", 30)
        await console.prefix("W")
        await console.wait(lambda: type(console.app.screen).__name__ == "HealthWindow", "the health window")
        body = str(console.app.screen.query_one("#health-body").render())
        assert "db" in body and "unreachable" in body
        await console.press("escape")
        await console.wait(lambda: type(console.app.screen).__name__ != "HealthWindow", "back to the panes")


def test_ssh_to_an_unreachable_host_says_why_and_loses_nothing(ops_session):
    result = ops_session.hascreen("-X", ops_session.name, "ssh", "down-a")
    assert result.returncode == 1 and "ssh down-a" in result.stderr
    assert "refused" in result.stderr.lower() or "connect" in result.stderr.lower()
    unknown = ops_session.hascreen("-X", ops_session.name, "ssh", "nowhere")
    assert unknown.returncode == 1 and "unknown host 'nowhere'" in unknown.stderr
    # the session and its first window are untouched
    assert ops_session.hascreen("-X", ops_session.name, "list-windows").stdout.startswith("0*")
