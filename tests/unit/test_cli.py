"""The command line's own answers: --version, --help, check-config, and the errors of -r/-X with no session."""

import os
import subprocess
import sys
from pathlib import Path

from tui import __version__

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
REPO = Path(__file__).resolve().parents[2]


def run(*args, env_extra=None, tmp=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([HASCREEN, *args], env=env, capture_output=True, text=True, timeout=30, cwd=tmp)


def test_version_and_help():
    assert run("--version").stdout.strip() == f"hascreen {__version__}"
    help_text = run("--help").stdout
    for flag in ("-ls", "-r [NAME]", "-x [NAME]", "-d -r NAME", "-d -m -S NAME", "-X NAME COMMAND"):
        assert flag in help_text


def test_check_config_accepts_the_shipped_example():
    result = run("check-config", "--hosts", str(REPO / "hosts.yaml"))
    assert result.returncode == 0 and "1 cluster" in result.stdout


def test_check_config_reports_every_error_with_file_and_line(tmp_path):
    bad = tmp_path / "hosts.yaml"
    bad.write_text("hosts:\n  a: {address: 10.0.0.300, prot: 22}\n")
    result = run("check-config", "--hosts", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: hosts.a.prot: unknown key (did you mean \"port\"?)" in result.stderr
    assert f"{bad}:2: hosts.a.address:" in result.stderr


def test_reattach_and_remote_command_without_sessions(tmp_path):
    env = {"HASCREEN_DIR": str(tmp_path / "none")}
    resumed = run("-r", env_extra=env)
    assert resumed.returncode == 1 and "no session to be resumed" in resumed.stderr
    listing = run("-ls", env_extra=env)
    assert listing.returncode == 1 and "No Sockets found" in listing.stdout
    remote = run("-X", "ghost", "detach", env_extra=env)
    assert remote.returncode == 1 and "no sessions match ghost" in remote.stderr


def test_socket_dir_owned_by_someone_else_is_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 12345, 12345)
    result = run("-ls", env_extra={"HASCREEN_DIR": str(foreign)})
    assert result.returncode == 1 and "belongs to uid 12345" in result.stderr


def test_a_bad_hosts_yaml_starts_nothing(tmp_path):
    bad = tmp_path / "hosts.yaml"
    bad.write_text("hosts:\n  a: {address: 10.0.0.1}\nclusters:\n  db: {members: [a, ghost], manager: none}\n")
    sockets = tmp_path / "sock"
    result = run("-d", "-m", "-S", "never", "--hosts", str(bad), env_extra={"HASCREEN_DIR": str(sockets)})
    assert result.returncode == 2
    assert f"{bad}:4:" in result.stderr and "ghost" in result.stderr
    assert not [p for p in sockets.iterdir() if not p.name.startswith(".")]


def test_a_bad_keymap_starts_nothing(tmp_path):
    keymap = tmp_path / "broken.yaml"
    keymap.write_text("prefix: C-a\nbindings:\n  c: {command: frobnicate, note: nothing}\n")
    sockets = tmp_path / "sock"
    env = {"HASCREEN_DIR": str(sockets), "HASCREEN_HOSTS": str(REPO / "hosts.yaml")}
    result = run("-S", "never", "--keymap", str(keymap), env_extra=env)
    assert result.returncode == 2
    assert f"{keymap}:3:" in result.stderr and "frobnicate" in result.stderr
    assert not [p for p in sockets.iterdir() if not p.name.startswith(".")]


def test_the_user_config_is_checked_before_anything_starts(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("scrollback: 500\nhealth:\n  panel: middle\n")
    sockets = tmp_path / "sock"
    result = run("-d", "-m", "-S", "never", env_extra={"HASCREEN_DIR": str(sockets), "HASCREEN_CONFIG": str(config)})
    assert result.returncode == 2 and f"{config}:3: health.panel:" in result.stderr
    assert not [p for p in sockets.iterdir() if not p.name.startswith(".")]


def test_the_keymap_named_in_the_user_config_is_the_one_loaded(tmp_path):
    keymap = tmp_path / "mine.yaml"
    keymap.write_text("prefix: C-b\nbindings:\n  c: {command: no-such-command, note: broken on purpose}\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"keymap: {keymap}\n")
    env = {"HASCREEN_DIR": str(tmp_path / "sock"), "HASCREEN_CONFIG": str(config), "HASCREEN_KEYMAP": ""}
    result = run("-S", "never", env_extra=env)
    assert result.returncode == 2 and f"{keymap}:3:" in result.stderr


def test_r_on_an_attached_session_says_so_and_how_to_get_in(tmp_path):
    """screen's habit: `-r NAME` on a session attached elsewhere names it "Attached" and the way in."""
    import pty
    import time

    env = {"HASCREEN_DIR": str(tmp_path / "sock"), "HASCREEN_HOSTS": ""}
    assert run("-d", "-m", "-S", "busy", env_extra=env).returncode == 0
    primary, secondary = pty.openpty()
    client = subprocess.Popen([HASCREEN, "-r", "busy"], stdin=secondary, stdout=secondary, stderr=secondary,
                              env=dict(os.environ, TERM="xterm-256color", **env), start_new_session=True)
    os.close(secondary)
    try:
        deadline = time.monotonic() + 30
        while "(Attached)" not in run("-ls", env_extra=env).stdout:
            assert time.monotonic() < deadline, "the first client never attached"
            os.read(primary, 65536) if _readable(primary) else time.sleep(0.1)
        for argv in (["-r", "busy"], ["-r"]):
            second = run(*argv, env_extra=env)
            assert second.returncode == 1
            assert "There is a session on:" in second.stderr and ".busy\t(Attached)" in second.stderr
            assert "hascreen -d -r" in second.stderr and "hascreen -x" in second.stderr
            assert "no session to be resumed" not in second.stderr
    finally:
        run("-X", "busy", "kill-server", env_extra=env)
        client.wait(timeout=15)
        os.close(primary)


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0.1)[0])


def test_attach_via_runs_ssh_t_with_one_quoted_remote_command(tmp_path):
    """What `attach --via` hands to ssh (a recording `ssh` first on PATH stands in for the real one, which
    tests/integration/lock/test_remote_reattach.py drives against a real sshd)."""
    record = tmp_path / "argv"
    fake = tmp_path / "bin" / "ssh"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {record}\n")
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:{os.environ['PATH']}"}
    assert run("attach", "--via", "bob@jumphost", "ops; rm -rf ~", env_extra=env).returncode == 0
    assert record.read_text().splitlines() == ["-t", "bob@jumphost", "--", "hascreen -r 'ops; rm -rf ~'"]
    assert run("attach", "--via", "bob@jumphost", env_extra=env).returncode == 0
    assert record.read_text().splitlines() == ["-t", "bob@jumphost", "--", "hascreen -r"]


def test_health_source_flag_needs_a_prometheus_and_reports_one_that_is_down(tmp_path):
    import json
    import socket

    no_url = run("health", "--hosts", str(REPO / "hosts.yaml"), "--source", "prometheus")
    assert no_url.returncode == 3 and "needs a Prometheus URL" in no_url.stderr
    assert run("health", "--hosts", str(REPO / "hosts.yaml"), "--source", "snmp").returncode == 2
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: connection refused
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(f"defaults:\n  prometheus: http://127.0.0.1:{port}\nhosts:\n  a: {{address: 127.0.0.1}}\n"
                     "  b: {address: 127.0.0.2}\nclusters:\n  db:\n    members: [a, b]\n    manager: none\n"
                     "    health_source: prometheus\n    mysql: {master: a, replicas: [b]}\n")
    down = run("health", "--hosts", str(hosts), "--json")
    report = json.loads(down.stdout)
    assert down.returncode == 3 and report["rows"]
    assert all(r["source"] == "prometheus" and r["state"] == "unknown" for r in report["rows"])
    assert "did not answer" in report["rows"][0]["reason"] and "Traceback" not in down.stderr
