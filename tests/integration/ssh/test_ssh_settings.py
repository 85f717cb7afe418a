"""How tui.ssh merges a hosts.yaml entry with ~/.ssh/config (pure: no sshd needed, but lives with its kin)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sshd_harness import TestHost

from tui.runner import HostUnreachable
from tui.ssh import HostSettingsError, SshPool, remote_multiplexer_command, resolve_host_settings
from tui.ssh.settings import parse_hop

SSH_CONFIG = """\
Host node-a
  HostName 10.213.77.11
  User admin
  Port 2201
  IdentityFile ~/.ssh/id_lab
  ProxyJump bastion
  ServerAliveInterval 5
  ServerAliveCountMax 7
Host *
  ConnectTimeout 4
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    path = tmp_path / "ssh_config"
    path.write_text(SSH_CONFIG)
    return path


def test_ssh_config_fills_what_hosts_yaml_leaves_out(config: Path, tmp_path: Path):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_lab").write_text("not read here")
    s = resolve_host_settings("node-a", TestHost("node-a"), ssh_config=[config])
    assert (s.address, s.port, s.user, s.jump) == ("10.213.77.11", 2201, "admin", ("bastion",))
    assert s.identities == (str(tmp_path / ".ssh" / "id_lab"),)
    assert (s.keepalive_interval, s.keepalive_count_max, s.connect_timeout) == (5.0, 7, 4.0)
    assert s.agent_path == "/run/agent.sock"
    assert s.endpoint == "[10.213.77.11]:2201"


def test_hosts_yaml_values_win_over_ssh_config(config: Path, tmp_path: Path):
    key = tmp_path / "id_yaml"
    key.write_text("not read here")
    host = TestHost(
        "node-a", address="10.0.0.5", port=2222, user="ops", jump="gw", identity=str(key), keepalive=30
    )
    s = resolve_host_settings("node-a", host, ssh_config=[config])
    assert (s.address, s.port, s.user, s.jump, s.identities) == (
        "10.0.0.5",
        2222,
        "ops",
        ("gw",),
        (str(key),),
    )
    assert s.keepalive_interval == 30.0 and s.endpoint == "[10.0.0.5]:2222"


def test_tui_config_hosts_defer_to_ssh_config_where_they_only_hold_defaults(config: Path, tmp_path: Path):
    from tui.config.hosts import Host  # the real hosts.yaml class, defaults filled in by tui.config

    plain = Host("node-a", "node-a")  # hosts.yaml said only `node-a: {}`
    s = resolve_host_settings("node-a", plain, ssh_config=[config])
    assert (s.address, s.port, s.user, s.jump) == ("10.213.77.11", 2201, "admin", ("bastion",))
    assert (s.keepalive_interval, s.remote_multiplexer) == (5.0, None)
    explicit = Host("node-a", "10.0.0.9", port=2222, user="ops", keepalive=0, remote_multiplexer="tmux")
    s = resolve_host_settings("node-a", explicit, ssh_config=[config])
    assert (s.address, s.port, s.user, s.keepalive_interval, s.remote_multiplexer) == (
        "10.0.0.9",
        2222,
        "ops",
        0.0,
        "tmux",
    )


def test_defaults_without_any_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    s = resolve_host_settings("db1", None, ssh_config=[tmp_path / "missing"])
    assert (s.address, s.port, s.user, s.jump, s.agent_path) == ("db1", 22, "", (), None)
    assert s.identities == ()
    assert (s.keepalive_interval, s.keepalive_count_max) == (15.0, 3)  # keepalive is on by default


def test_missing_identity_files_in_ssh_config_are_skipped(config: Path):
    s = resolve_host_settings("node-a", None, ssh_config=[config])  # ~/.ssh/id_lab does not exist
    assert s.identities == () and s.address == "10.213.77.11"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (TestHost("x", port="ssh"), "port must be a number"),
        (TestHost("x", port=70000), "out of range"),
        (TestHost("x", remote_multiplexer="byobu"), "remote_multiplexer must be one of"),
        (TestHost("x", keepalive=-1), "keepalive must be >= 0"),
        (TestHost("x", jump="a@@b"), "cannot parse jump host"),
        (
            TestHost("x", identity="/nonexistent/id_ed25519"),
            "identity file /nonexistent/id_ed25519 does not exist",
        ),
    ],
)
async def test_bad_settings_are_reported_not_crashed_on(tmp_path: Path, host: TestHost, message: str):
    pool = SshPool({"x": host}, known_hosts=tmp_path / "kh", ssh_config=[])
    with pytest.raises(HostUnreachable, match=message) as err:
        await pool.connection("x")
    assert err.value.host == "x"


def test_jump_specs_parse_like_openssh():
    assert parse_hop("root@127.0.0.1:2222") == ("root", "127.0.0.1", 2222)
    assert parse_hop("bastion") == (None, "bastion", None)
    assert parse_hop("ops@[::1]:22") == ("ops", "::1", 22)
    with pytest.raises(HostSettingsError):
        parse_hop("a b")


def test_remote_multiplexer_commands_reenter_a_named_session():
    assert remote_multiplexer_command(None, "p1") is None
    tmux = remote_multiplexer_command("tmux", "p1")
    assert "exec tmux new-session -A -s hascreen-p1" in tmux and "command -v tmux" in tmux
    assert "exec screen -xRR -S hascreen-p1" in remote_multiplexer_command("screen", "p1")
    assert "dtach -A" in remote_multiplexer_command("dtach", "p1")
    # A pane id cannot smuggle shell syntax into the remote command.
    smuggled = remote_multiplexer_command("tmux", "$(x; rm -rf")
    assert "-s hascreen---x--rm--rf;" in smuggled and "$(" not in smuggled


async def test_jump_loops_are_refused_not_deadlocked(tmp_path: Path):
    import asyncio

    hosts = {"a": TestHost("a", "127.0.0.1", jump="b"), "b": TestHost("b", "127.0.0.1", jump="a")}
    pool = SshPool(hosts, known_hosts=tmp_path / "kh", ssh_config=[])
    with pytest.raises(HostUnreachable, match="jump hosts form a loop: a -> b -> a"):
        await asyncio.wait_for(pool.connection("a"), 10)
