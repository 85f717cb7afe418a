"""A sysadmin's first hour, in the real client against the real server: alarms that cannot be missed (the
health panel on every attach, the crit kept in an 80-column tab bar, rows laid out to the panel, events
newest first), the startup hint, screen's command names, hardcopy and log, keys that end programs asking
first, and procedures asking for their parameters."""

from __future__ import annotations

import time

import pytest
from rich.text import Text

from tests.down_cluster import write_down_cluster_hosts
from tests.ui.conftest import LiveSession
from tui.client.health_panel import health_text


@pytest.fixture
def down_cluster():
    """A session whose hosts.yaml has a cluster whose nodes are down: its rows are crit."""
    session = LiveSession()
    session.env["HASCREEN_HOSTS"] = str(write_down_cluster_hosts(session.directory))
    session.start()
    yield session
    session.stop()


def _shown(console) -> bool:
    return console.app.health_panel.has_class("shown")


# ---- the health panel on every attach ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["attach", "multi"])
async def test_the_panel_shows_on_every_attach_when_hosts_yaml_has_clusters(down_cluster, mode):
    async with down_cluster.console(mode=mode) as console:
        await console.wait(lambda: console.app.welcome, "the welcome")
        assert _shown(console), f"-{'r' if mode == 'attach' else 'x'} came up without the health panel"


async def test_the_user_setting_wins_both_ways(down_cluster, live):
    async with down_cluster.console(health_show=False) as console:
        await console.wait(lambda: console.app.welcome, "the welcome")
        assert not _shown(console)
    async with live.console() as console:  # no hosts.yaml: a plain multiplexer, no panel
        await console.wait(lambda: console.app.welcome, "the welcome")
        assert not _shown(console)
    async with live.console(health_show=True) as console:
        await console.wait(lambda: console.app.welcome, "the welcome")
        assert _shown(console)


# ---- a crit that cannot be missed -------------------------------------------------------------------------


async def test_at_80_columns_with_10_windows_the_tab_bar_keeps_the_crit(down_cluster):
    for _ in range(9):
        assert down_cluster.hascreen("-X", down_cluster.name, "new-window").returncode == 0
    async with down_cluster.console(size=(80, 24)) as console:
        await console.wait(lambda: len(console.tab_names) == 10, "ten windows")
        await console.wait(lambda: console.app.tab_bar.crit > 0, "a crit", timeout=30)
        caption = console.app.tab_bar.caption()
        assert caption.cell_len <= 80
        assert caption.plain.rstrip().endswith(f"✗ CRIT {console.app.tab_bar.crit}")
        assert "9*" in caption.plain  # the active window is still there
        # what is on the terminal, not only what the widget would draw
        await console.settle()
        line = "".join(segment.text for segment in console.app.tab_bar.render_line(0))
        assert f"✗ CRIT {console.app.tab_bar.crit}" in line


async def test_health_rows_fit_the_panel_and_events_come_newest_first(down_cluster):
    async with down_cluster.console(size=(120, 14)) as console:  # short: the panel scrolls
        app = console.app
        await console.wait(lambda: app.health and len(app.health.get("events") or []) >= 2, "two events", 30)
        panel = app.health_panel
        width = panel.scrollable_content_region.width
        # what the panel shows is laid out to the width its text gets (a scrollbar included), so nothing
        # wraps a second time at column 0
        body = panel.query_one("Static")
        assert panel.max_scroll_y > 0 and width == body.size.width
        assert max(len(line) for line in str(body.content).splitlines()) <= body.size.width
        lines = health_text(app.health, width=width).plain.splitlines()
        assert lines and max(len(line) for line in lines) <= width
        rows = [line for line in lines if line.startswith((" ✗", " !", " ?", " ✓"))]
        assert rows, lines
        # a row's continuation lines are indented under it, and no word is cut in two
        text = health_text(app.health, width=None).plain
        for line in lines:
            for word in line.split():
                assert word in text, f"{word!r} is not a whole word of the unwrapped panel"
        shown = str(panel.query_one("Static").render())
        events = [str(event["text"]) for event in app.health["events"][-10:]]
        listed = text.split("events (newest first)\n", 1)[1].splitlines()
        assert [line.endswith(event) for line, event in zip(listed, reversed(events), strict=True)] == \
            [True] * len(events), (listed, events)
        assert "events (newest first)" in shown


def test_wrapping_keeps_words_and_indents_the_rest():
    message = {"clusters": [{"name": "db", "state": "crit", "rows": [{
        "node": "node-b", "layer": "mysql", "subject": "replica", "state": "crit",
        "value": "IO Yes, SQL No, lag NULL", "age": 3,
        "reason": "Last_SQL_Error: Could not execute Write_rows_v1 event on table shop.orders; Duplicate "
                  "entry '42' for key 'PRIMARY', Error_code: 1062"}]}],
        "events": [{"time": 100.0, "new": "ok", "text": "old event"}, {"time": 200.0, "new": "crit",
                                                                       "text": "new event"}]}
    lines = health_text(message, width=30).plain.splitlines()
    assert all(len(line) <= 30 for line in lines), lines
    reason = [line for line in lines if line.startswith("   ") and "Duplicate" in line]
    assert reason, lines
    assert lines.index(next(line for line in lines if "new event" in line)) < lines.index(
        next(line for line in lines if "old event" in line))
    joined = " ".join(line.strip() for line in lines)
    assert "Write_rows_v1 event on table shop.orders;" in joined
    assert isinstance(health_text(message), Text)


# ---- the startup hint ----------------------------------------------------------------------------------


async def test_a_new_session_says_its_version_and_where_the_help_is(live):
    async with live.console(mode="new", startup_message=True) as console:
        await console.wait(lambda: console.app.notices, "the startup hint")
        assert console.app.notices[0] == "hascreen 0.1.0 · C-a ? help · C-a : commands · C-a d detach"
    async with live.console(mode="new", startup_message=False) as console:
        await console.settle()
        assert not any(n.startswith("hascreen ") for n in console.app.notices)
    async with live.console(mode="attach", startup_message=True) as console:  # a reattach: no hint
        await console.settle()
        assert not any(n.startswith("hascreen ") for n in console.app.notices)


# ---- screen's command names, hardcopy and log --------------------------------------------------------------


async def command(console, line: str) -> None:
    await console.prefix(":")
    await console.wait(lambda: type(console.app.screen).__name__ == "Prompt", "the : prompt")
    await console.type(line)


async def test_screens_names_work_and_the_help_lists_them(live):
    async with live.console() as console:
        await command(console, "title logs")
        await console.wait(lambda: console.tab_names == ["logs"], "the renamed window")
        await command(console, "screen -t top")
        await console.wait(lambda: console.tab_names == ["logs", "top"], "screen -t top")
        await command(console, "windows")
        await console.wait(lambda: any("0- logs" in n and "1* top" in n for n in console.app.notices), "windows")
        await command(console, "select 0")
        await console.wait(lambda: console.active == 0, "select 0")
        await console.prefix("?")
        await console.wait(lambda: type(console.app.screen).__name__ == "HelpScreen", "the help")
        help_text = console.app.screen.help_text().plain
        for usage in (":title [NAME]", ":screen [-t TITLE] [COMMAND ...]", ":windows", ":hardcopy [-h] [FILE]",
                      ":log [on|off]"):
            assert usage in help_text
        await console.press("escape")


async def test_hardcopy_and_log_write_screens_files(live):
    async with live.console() as console:
        await console.run("echo hard-$((6*7))", "hard-42")
        await command(console, "hardcopy")
        hardcopy = live.directory / "hardcopy.0"
        await console.wait(lambda: hardcopy.exists(), "hardcopy.0")
        assert "hard-42" in hardcopy.read_text() and (hardcopy.stat().st_mode & 0o777) == 0o600
        assert any('Screen image written to "' in n for n in console.app.notices)
        await command(console, "log")
        log_file = live.directory / "screenlog.0"
        await console.wait(lambda: log_file.exists(), "screenlog.0")
        await console.run("echo logged-$((6*7))", "logged-42")
        await console.wait(lambda: "logged-42" in log_file.read_text(errors="replace"), "the output in the log")
        await command(console, "log off")
        await console.wait(lambda: any("closed" in n for n in console.app.notices), "the log closed")
        await console.run("echo after-$((6*7))", "after-42")
        time.sleep(0.2)
        assert "after-42" not in log_file.read_text(errors="replace")


# ---- keys that end programs ask first ----------------------------------------------------------------------


async def test_quitting_asks_first(live):
    async with live.console() as console:
        await console.prefix("\\")
        await console.wait(lambda: type(console.app.screen).__name__ == "Confirm", "the question")
        assert "Really quit and kill all your windows (1) [y/n]" in str(console.app.screen.question)
        await console.press("n")
        await console.settle()
        assert live.socket_path() is not None and console.app.exit_info is None


async def test_reconnect_on_a_local_window_says_so_without_asking(live):
    async with live.console() as console:
        await console.prefix("R")
        await console.wait(lambda: any("not an SSH window" in n for n in console.app.notices), "the answer")
        assert type(console.app.screen).__name__ != "Confirm"


# ---- procedures ask for their parameters ------------------------------------------------------------------


async def test_the_palette_asks_for_the_split_brain_victim_among_the_members(down_cluster):
    async with down_cluster.console() as console:
        await console.prefix("P")
        await console.wait(lambda: type(console.app.screen).__name__ == "ProcedurePalette", "the palette")
        names = console.app.screen.names
        for _ in range(names.index("drbd-split-brain")):
            await console.press("down")
        await console.press("enter")
        await console.wait(lambda: type(console.app.screen).__name__ == "ParamChoice", "the victim question")
        screen = console.app.screen
        assert screen.param["name"] == "victim" and screen.values == ["", "down-a", "down-b"]
        await console.press("3")  # down-b
        await console.wait(lambda: type(console.app.screen).__name__ == "Prompt", "the resource prompt")
        await console.press("enter")  # the default: every resource of the cluster
        await console.wait(lambda: any("proc:drbd-split-brain" in n for n in console.tab_names), "the window")
        await console.wait(lambda: any("--victim down-b" in n for n in console.app.notices), "the run's argv")
        await console.wait_text("victim", what="the preflight", timeout=30)
        assert "None" not in console.text


async def test_escape_in_a_parameter_question_starts_nothing(down_cluster):
    async with down_cluster.console() as console:
        await console.prefix("P")
        await console.wait(lambda: type(console.app.screen).__name__ == "ProcedurePalette", "the palette")
        await console.press("1")  # arping: --host
        await console.wait(lambda: type(console.app.screen).__name__ == "ParamChoice", "the question")
        await console.press("escape")
        await console.wait(lambda: any("arping: not started" in n for n in console.app.notices), "the notice")
        assert not any("proc:" in n for n in console.tab_names)


async def test_a_long_message_cut_in_the_status_line_says_how_to_see_it_whole(live):
    for number in range(1, 6):
        live.hascreen("-X", live.name, "new-window", "-n", f"a-rather-long-window-name-{number}")
    async with live.console(size=(80, 24)) as console:
        await command(console, "windows")
        await console.wait(lambda: any("long-window-name-5" in n for n in console.app.notices), "the list")
        line = console.app.status_line.line().plain
        assert len(line) <= 80 and "… C-a m shows it whole" in line, line
        assert type(console.app.screen).__name__ != "MessageBox"  # an answer that is not a refusal stays there
        await console.prefix("m")
        await console.wait(lambda: type(console.app.screen).__name__ == "MessageBox", "the messages")
        assert "5* a-rather-long-window-name-5" in console.app.screen.text
        await console.press("escape")
        await console.wait(lambda: type(console.app.screen).__name__ != "MessageBox", "the box closed")


async def test_a_refusal_too_long_for_the_status_line_opens_whole(live):
    async with live.console(size=(80, 24)) as console:
        await command(console, "select no-such-window-" + "x" * 70)
        await console.wait(lambda: type(console.app.screen).__name__ == "MessageBox", "the refusal, whole")
        assert "no-such-window-" + "x" * 70 in console.app.screen.text
        await console.press("escape")


def test_screens_names_work_from_a_script_too(live):
    assert live.hascreen("-X", live.name, "title", "logs").returncode == 0
    assert live.hascreen("-X", live.name, "screen", "-t", "top").returncode == 0
    assert live.hascreen("-X", live.name, "windows").stdout.splitlines() == ["0- logs", "1* top"]
    wrong = live.hascreen("-X", live.name, "title", "a", "b")
    assert wrong.returncode == 1 and "title: wrong number of arguments; usage: title [NAME]" in wrong.stderr


def test_missing_fields_never_show_as_none():
    from tui.client.bars import TabBar

    message = {"clusters": [{"name": None, "state": "warn", "rows": [
        {"node": "node-a", "layer": "mysql", "state": "warn", "value": None, "reason": "lag 30s", "age": None}]}],
        "events": [{"time": None, "new": None, "text": "replica lag"}]}
    text = health_text(message, width=40).plain
    assert "None" not in text and "node-a mysql" in text and "replica lag" in text
    bar = TabBar()
    bar.windows = [{"index": 0, "name": None, "active": True}, {"index": 1, "name": "logs"}]
    assert bar.caption(80).plain.startswith(" 0*  ") and "None" not in bar.caption(80).plain
