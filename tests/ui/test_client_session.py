"""The client's life with a real server beyond single bindings: refusals and -d -r, the end of a session,
a lost server, the pane area's size, the health panel, the mouse and the tmux keymap.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import tempfile
from pathlib import Path

from textual import events
from textual.widgets import Input

from tui.client.copy_mode import CopyMode
from tui.client.dialogs import Prompt
from tui.client.health_panel import HealthPanel, crit_count, health_text
from tui.client.pane_area import PaneArea
from tui.commands import COMMANDS
from tui.config import load_keymap


async def test_a_second_attach_is_refused_with_the_servers_message(live):
    async with live.console() as first:
        second = live.app(mode="attach")
        async with second.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                if second.exit_info is not None:
                    break
                await pilot.pause(0.03)
        assert second.exit_info is not None and second.exit_info.code == 1 and second.exit_info.stderr
        assert "-x" in second.exit_info.message and "-d -r" in second.exit_info.message
        assert first.app.exit_info is None


async def test_detach_others_takes_over_and_the_other_client_is_told(live):
    async with live.console() as first, live.console(detach_others=True) as second:
        await first.wait(lambda: first.app.exit_info is not None, "the first client detached")
        assert first.app.exit_info.message.startswith(f"[detached from {live.name}]")
        assert "new attach" in first.app.exit_info.message
        await second.run("echo still-$((1+1))", "still-2")


async def test_kill_server_ends_the_session_with_screens_message(live):
    async with live.console() as console:
        await console.prefix("colon")
        await console.wait(lambda: console.app.ui_open, "the command prompt")
        await console.type("kill-server")
        await console.wait(lambda: console.app.exit_info is not None, "the end of the session")
        assert console.app.exit_info.message == f"[session {live.name} ended]"
        assert console.app.exit_info.code == 0


async def test_a_killed_server_gives_a_clear_message(live):
    async with live.console() as console:
        server_pid = console.app.welcome["server_pid"]
        os.kill(server_pid, signal.SIGKILL)
        await console.wait(lambda: console.app.exit_info is not None, "the client to notice")
        info = console.app.exit_info
        assert info.code == 1 and "lost the connection" in info.message and live.name in info.message


async def test_the_server_gets_the_pane_area_size_not_the_terminals(live):
    async with live.console(size=(100, 30)) as console:
        area = console.app.pane_area
        assert (area.size.width, area.size.height) == (100, 28)  # minus tab bar and status line
        await console.wait(lambda: console.regions[0].w == 100 and console.regions[0].h == 28, "a 100x28 region")
        await console.run("stty size", "28 100")
        await console.pilot.resize_terminal(90, 25)
        await console.wait(lambda: console.regions[0].w == 90 and console.regions[0].h == 23, "a 90x23 region")
        # the health panel takes room from the panes, and the server follows
        await console.prefix("H")
        panel = console.app.health_panel
        await console.wait(lambda: panel.display and panel.size.width > 0, "the health panel")
        await console.wait(lambda: console.regions[0].w == 90 - panel.outer_size.width, "panes narrowed by the panel")
        await console.prefix("H")
        await console.wait(lambda: console.regions[0].w == 90, "the panes back to full width")


async def test_mouse_click_focuses_wheel_enters_copy_mode_drag_resizes(live):
    async with live.console(size=(100, 30)) as console:
        await console.prefix("vertical_line")
        await console.wait(lambda: len(console.regions) == 2, "two regions")
        await console.prefix("tab")
        await console.prefix("c")
        await console.wait(lambda: all(region.pane >= 0 for region in console.regions), "a window in each region")
        right = console.app.pane_area.focused_region
        left = next(region for region in console.regions if region is not right)
        assert left.x < right.x
        await console.pilot.click(PaneArea, offset=(left.x + 2, left.y + 2))
        await console.wait(lambda: console.app.pane_area.focused_region.pane == left.pane, "a click focusing the left")

        separator_x = left.x + left.w
        await console.pilot.mouse_down(PaneArea, offset=(separator_x, 5))
        await console.pilot.mouse_up(PaneArea, offset=(separator_x + 10, 5))
        await console.wait(lambda: min(console.regions, key=lambda r: r.x).w == left.w + 10, "the drag resize")

        area = console.app.pane_area
        area.post_message(events.MouseScrollUp(area, 3, 3, 0, -1, 0, False, False, False))
        await console.wait(lambda: isinstance(console.app.screen, CopyMode), "copy mode from the wheel")
        await console.press("escape")
        await console.wait(lambda: not console.app.ui_open, "copy mode left")


async def test_the_tmux_keymap_uses_its_own_prefix(live):
    async with live.console(keymap="tmux") as console:
        await console.press("ctrl+a")  # an ordinary key under C-b: reaches the shell, no window appears
        await console.press("ctrl+b", "c")
        await console.wait(lambda: len(console.tab_names) == 2, "C-b c: a new window")
        assert console.app.notices == [] or all("not bound" not in n for n in console.app.notices)


def test_health_panel_rows_show_state_symbols_values_and_reasons() -> None:
    message = {"clusters": [{"name": "db", "rows": [
        {"node": "node-a", "layer": "drbd", "state": "ok", "value": "Primary/UpToDate", "age": 2},
        {"node": "node-b", "layer": "mysql", "state": "crit", "value": "SQL thread stopped", "age": 4,
         "reason": "Duplicate entry '3' for key 'PRIMARY' (1062)"},
        {"node": "node-b", "layer": "vrrp", "state": "unknown", "value": "", "age": 300},
    ]}], "events": ["09:14 node-b mysql ok -> crit"]}
    text = health_text(message).plain
    assert "✓ node-a drbd Primary/UpToDate 2s" in text
    assert "✗ node-b mysql SQL thread stopped 4s" in text and "(1062)" in text
    assert "? node-b vrrp" in text and "5m" in text
    assert "ok -> crit" in text
    assert crit_count(message) == 1
    assert "no health data" in health_text(None).plain
    health_text({"clusters": [None, {"rows": [None, {"state": 5}]}], "events": "bad"})  # malformed: no crash


async def test_health_messages_fill_the_panel_and_raise_the_tab_bar_alert(live):
    async with live.console() as console:
        console.app.apply_message({"t": "health", "clusters": [{"name": "db", "rows": [
            {"node": "node-b", "layer": "mysql", "state": "crit", "value": "broken", "reason": "IO thread", "age": 1}]}],
            "events": []})
        await console.prefix("H")
        panel = console.app.query_one(HealthPanel)
        await console.wait(lambda: panel.display, "the panel")
        assert "broken" in health_text(panel.message).plain
        assert "CRIT 1" in console.app.tab_bar.caption().plain


async def test_mouse_events_reach_a_program_that_asks_for_them(live):
    async with live.console(size=(80, 24)) as console:
        # xterm mouse mode 1000 with SGR coordinates, then cat -v shows what the pane receives
        await console.type("printf '\\033[?1000h\\033[?1006hmouse-%s\\n' on; cat -v")
        await console.wait(lambda: "mouse-on" in console.text.splitlines(), "the program's first output")
        await console.wait(lambda: console.app.pane_area.focused_pane.modes.get("mouse") == 1000, "mouse mode on")
        await console.pilot.click(PaneArea, offset=(4, 6))
        await console.wait_text("^[[<0;5;7M", what="the click at cell (4, 6) as SGR")
        area = console.app.pane_area
        area.post_message(events.MouseScrollUp(area, 2, 3, 0, -1, 0, False, False, False))
        await console.wait_text("^[[<64;3;4M", what="the wheel going to the program, not to copy mode")
        assert not console.app.ui_open
        await console.press("ctrl+c")


async def test_natural_scroll_reverses_the_wheel(live):
    keymap = dataclasses.replace(load_keymap("screen", known_commands=COMMANDS), scroll="natural")
    async with live.console(keymap=keymap) as console:
        area = console.app.pane_area
        area.post_message(events.MouseScrollUp(area, 3, 3, 0, -1, 0, False, False, False))
        await console.settle()
        assert not console.app.ui_open, "with natural scrolling, wheel up does not go back in history"
        area.post_message(events.MouseScrollDown(area, 3, 3, 0, 1, 0, False, False, False))
        await console.wait(lambda: isinstance(console.app.screen, CopyMode), "copy mode from wheel down")


async def test_a_burst_of_raw_bytes_is_split_between_pane_and_ui_in_order(live):
    """One read holding the prefix, a UI element's keys and more keys for the pane (as tmux send-keys or a fast
    typist produce): C-a A opens the prompt, C-u clears it, 'logs' Enter renames, the rest reaches the shell."""
    async with live.console() as console:
        console.app.feed_terminal_bytes(b"\x01A\x15logs\recho after-$((5*5))\r")
        await console.wait(lambda: console.tab_names == ["logs"], "the rename from one burst")
        await console.wait_text("after-25", what="the keys after the prompt reaching the shell")


async def test_malformed_server_messages_never_crash_the_client(live):
    import random

    async with live.console() as console:
        app = console.app
        rng = random.Random(7)
        junk_values = [None, 1, -5, 10**12, "x", "", [], {}, [1, 2], ["a", "b", "c", "d"], {"0": 5}, True, 3.5]
        kinds = ["layout", "rows", "notice", "error", "result", "scrollback", "health", "procedure", "lock", "bell",
                 "welcome", "pong", "no-such-type"]
        fields = ["pane", "rows", "cursor", "full", "modes", "windows", "regions", "text", "level", "clusters",
                  "events", "run", "holder", "x", "y", "w", "h", "fatal", "message", "lines", "start", "total"]
        for _ in range(400):
            message = {"t": rng.choice(kinds)}
            for name in rng.sample(fields, rng.randint(0, 6)):
                message[name] = rng.choice(junk_values)
            if message["t"] == "error":
                message["fatal"] = False  # a fatal error would end the session on purpose
            app.apply_message(message)
        app.apply_message({"t": "rows", "pane": 1, "rows": {"0": [["ok", "nocolour", 12, "bold"], ["x"], 5]},
                           "cursor": ["a", 0, True]})
        app.apply_message({"t": "layout", "regions": [{"pane": "p", "x": 0}, None, {"pane": 1, "x": 0, "y": 0,
                           "w": 5, "h": 2, "focused": True}], "windows": [None, {"number": "zero"}]})
        await console.settle()
        for y in range(app.pane_area.size.height):
            app.pane_area.render_line(y)  # drawing what is left must not raise either
        assert app.exit_info is None
        app.apply_message({"t": "redraw-please"})
        await console.prefix("l")  # and the real server can still bring the screen back
        await console.wait(lambda: console.regions and console.regions[0].w == 100, "the redrawn layout")


async def test_a_protocol_version_mismatch_shows_the_servers_message(live, monkeypatch):
    import tui.client.app as client_app

    real_make_hello = client_app.make_hello

    def hello_from_the_future(*args, **kwargs):
        message = real_make_hello(*args, **kwargs)
        message["version"] = 999
        return message

    monkeypatch.setattr(client_app, "make_hello", hello_from_the_future)
    app = live.app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            if app.exit_info is not None:
                break
            await pilot.pause(0.03)
    assert app.exit_info is not None and app.exit_info.code == 1 and app.exit_info.stderr
    assert "version" in app.exit_info.message and "999" in app.exit_info.message


async def test_garbage_from_the_socket_ends_the_client_with_a_clear_message(tmp_path):
    """Not a hascreen server at all (the real one never sends this): a peer that answers with a bad frame."""
    import asyncio

    from tui.client.app import HascreenApp
    from tui.commands import COMMANDS as commands

    async def not_a_server(reader, writer):
        await reader.read(4096)
        writer.write(b"\x00\x00\x00\x05{nope")
        await writer.drain()

    path = Path(tempfile.mkdtemp(prefix="hs-bad-", dir="/tmp")) / "bad.sock"
    server = await asyncio.start_unix_server(not_a_server, path=str(path))
    try:
        app = HascreenApp(path, load_keymap("screen", known_commands=commands), "attach", "bad")
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                if app.exit_info is not None:
                    break
                await pilot.pause(0.03)
        assert app.exit_info is not None and app.exit_info.code == 1
        assert "bad data from the server" in app.exit_info.message and "not UTF-8 JSON" in app.exit_info.message
    finally:
        server.close()
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def test_health_panel_draws_the_trackers_real_snapshot() -> None:
    """The message the server builds (HealthTracker.snapshot, as in tui/server/health_integration.py)."""
    from tui.health.model import ClusterHealth, HealthRow, State
    from tui.health.tracker import HealthTracker

    tracker = HealthTracker(interval=2)
    now = 1_700_000_000.0
    tracker.update(ClusterHealth("db", [
        HealthRow("db", "node-a", "drbd", State.OK, "Primary UpToDate", observed_at=now, subject="r0"),
        HealthRow("db", "node-b", "mysql", State.OK, "lag 0", observed_at=now)], now), now)
    later = now + 4
    events = tracker.update(ClusterHealth("db", [
        HealthRow("db", "node-a", "drbd", State.OK, "Primary UpToDate", observed_at=later, subject="r0"),
        HealthRow("db", "node-b", "mysql", State.CRIT, "SQL thread stopped", observed_at=later,
                  reason="Duplicate entry '3' for key 'PRIMARY' (1062)"),
        HealthRow("db", "*", "cluster", State.WARN, "VIP on node-b, DRBD Primary node-a", observed_at=later,
                  reason="layers disagree")], later), later)
    snapshot = tracker.snapshot(now=later + 3)
    message = {"t": "health", "clusters": [{"name": name, **entry} for name, entry in snapshot["clusters"].items()],
               "events": [{**event.to_dict(), "text": event.describe()} for event in tracker.recent_events()]}
    text = health_text(message).plain
    assert text.splitlines()[0] == "✗ db"
    assert "✓ node-a drbd/r0 Primary UpToDate 3s" in text
    assert "✗ node-b mysql SQL thread stopped 3s" in text and "(1062)" in text
    assert "! cluster cluster VIP on node-b" in text and "layers disagree" in text
    assert any(event.describe() in text for event in events)
    assert crit_count(message) == 1


async def test_tab_bar_marks_bell_and_activity_in_other_windows(live):
    async with live.console() as console:
        await console.type("(sleep 1; printf 'ring\\a\\n'; sleep 1; echo busy) &")
        await console.prefix("c")
        await console.wait(lambda: console.active == 1, "window 1 in front")
        await console.wait(lambda: " 0! " in console.app.tab_bar.caption().plain, "the bell marker on window 0")
        caption = console.app.tab_bar.caption().plain
        assert " 1* " in caption and "!" not in caption.split(" 1* ")[1]


async def test_status_line_shows_throttled_prefix_and_holder(live):
    async with live.console() as console:
        status = console.app.status_line
        assert "held by" in status.line().plain
        pane = console.app.pane_area.focused_region.pane
        console.app.apply_message({"t": "rows", "pane": pane, "rows": {}, "throttled": True})
        assert "(throttled)" in status.line().plain
        console.app.apply_message({"t": "rows", "pane": pane, "rows": {}, "throttled": False})
        assert "(throttled)" not in status.line().plain
        await console.press("ctrl+a")
        assert status.line().plain.startswith(" C-a ")  # waiting for the key after the prefix
        await console.press("escape")  # unbound: a notice, and the indicator goes away
        assert not status.line().plain.startswith(" C-a ")


async def test_ssh_prompt_and_command_prompt_complete_host_names(unstarted_live):
    live = unstarted_live()
    hosts = live.directory / "hosts.yaml"
    # nothing listens on port 1 of loopback: the connection is refused at once
    hosts.write_text("hosts:\n  node-a: {address: 127.0.0.1, port: 1}\n  node-b: {address: 127.0.0.1, port: 1}\n")
    live.start("--hosts", str(hosts))
    async with live.console() as console:
        assert console.app.hosts == ["node-a", "node-b"]
        await console.prefix("s")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the ssh prompt")
        await console.type("no", enter=False)
        await console.press("tab")
        assert console.app.screen.query_one(Input).value == "node-"
        await console.type("a")
        await console.wait(lambda: any("node-a" in notice for notice in console.app.notices),
                           "the server's answer about node-a")
        await console.prefix("colon")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the command prompt")
        await console.type("ssh node-b", enter=False)
        await console.press("tab")
        assert console.app.screen.query_one(Input).value == "ssh node-b "
        await console.press("escape")


async def test_a_read_only_client_sees_but_does_not_type(live):
    async with live.console() as owner, live.console(mode="multi", readonly=True) as observer:
        await observer.type("echo from-observer")
        await observer.wait(lambda: any("read-only" in n for n in observer.app.notices), "the read-only notice")
        assert "(read-only)" in observer.app.status_line.line().plain
        await owner.run("echo from-owner-$((2*3))", "from-owner-6")
        await observer.wait_text("from-owner-6", what="the owner's output on the observer")
        assert "from-observer" not in owner.text
