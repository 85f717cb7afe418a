"""End to end in tmux, the real binary at 80 columns: a new session says its version and where the help is;
with ten windows and a cluster in crit the tab bar still shows `✗ CRIT N`; every reattach (`-r`) shows the
health panel when hosts.yaml has clusters, and config.yaml's `health.show: false` hides it."""

from __future__ import annotations

import shutil

import pytest

from tests.down_cluster import write_down_cluster_hosts
from tests.e2e.test_screen_e2e import HASCREEN, Tmux

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

@pytest.fixture
def alarms(tmp_path):
    session = Tmux(tmp_path)
    hosts = write_down_cluster_hosts(tmp_path)
    (tmp_path / "config.yaml").write_text("health: {show: auto}\n")
    session.env.update(HASCREEN_HOSTS=str(hosts), HASCREEN_CONFIG=str(tmp_path / "config.yaml"))
    yield session
    session.hascreen("-X", "alarms", "kill-server")
    session.kill()


def first_line(tmux: Tmux, target: str) -> str:
    return tmux.text(target).splitlines()[0]


def test_the_crit_and_the_panel_cannot_be_missed(alarms: Tmux, tmp_path):
    alarms.new("one", f"{HASCREEN} -S alarms; sleep 600", cols=80, rows=24)
    alarms.wait_text("one", "hascreen 0.1.0 · C-a ? help")  # the startup hint
    for _ in range(9):
        assert alarms.hascreen("-X", "alarms", "new-window").returncode == 0
    alarms.wait_text("one", "9* ", timeout=10)
    alarms.wait_text("one", "✗ CRIT", timeout=30)
    top = first_line(alarms, "one")
    assert "✗ CRIT" in top and top.rstrip().split("✗ CRIT")[1].strip().isdigit(), top
    assert "9* sh" in top  # the active window keeps its name; the others gave theirs up first
    assert "down-a" in alarms.text("one")  # the panel, on the first attach

    alarms.keys("one", "C-a", "d")
    alarms.wait_text("one", "[detached from")
    alarms.new("two", f"{HASCREEN} -r alarms; sleep 600", cols=80, rows=24)
    alarms.wait_text("two", "✗ CRIT", timeout=20)
    screen = alarms.wait_text("two", "down-a", timeout=20)  # -r: the panel again
    assert "hascreen 0.1.0" not in screen  # the hint is for a new session only

    alarms.keys("two", "C-a", "d")
    alarms.wait_text("two", "[detached from")
    (tmp_path / "config.yaml").write_text("health: {show: false}\nstartup_message: false\n")
    alarms.new("three", f"{HASCREEN} -r alarms; sleep 600", cols=80, rows=24)
    alarms.wait_text("three", "✗ CRIT", timeout=20)  # the alarm stays in the tab bar
    assert "down-a" not in alarms.text("three")  # the user said no panel
