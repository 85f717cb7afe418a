"""What the user reads when a host cannot be reached, through the CLI and a real session server: OpenSSH's
own wording for refused connections, timeouts and unknown host names, and a host-key refusal that keeps its
fingerprint and exact remedy whole, in the `ssh HOST` reply and in the session's log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sshd_harness import free_port

HASCREEN = str(Path(sys.executable).with_name("hascreen"))


def hascreen(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([HASCREEN, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd="/")


@pytest.fixture
def env(ssh_world, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    ssh_world.ssh_config.write_text("Host *\n    ConnectTimeout 2\n")
    return dict(base, HOME=str(ssh_world.home), HASCREEN_DIR=str(tmp_path / "sockets"),
                XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))


def write_hosts(path: Path, known_hosts: Path, key: Path, **hosts: tuple[str, int]) -> Path:
    lines = [f"defaults: {{user: root, known_hosts: {known_hosts}}}", "hosts:"]
    lines += [f"  {name}: {{address: {address}, port: {port}, identity: {key}}}"
              for name, (address, port) in hosts.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def vip_reasons(argv: list[str], hosts: Path, env: dict[str, str]) -> dict[str, str]:
    """`hascreen health --json`: the one-line reason of each host's VIP row (the first probe of a host)."""
    done = subprocess.run([*argv, "health", "--hosts", str(hosts), "--json"], env=env, capture_output=True,
                          text=True, timeout=60, cwd="/")
    assert done.stderr == "", done.stderr
    return {row["node"]: row["reason"] for row in json.loads(done.stdout)["rows"] if row["layer"] == "vip"}


def test_refused_and_unresolvable_read_like_openssh(ssh_world, env, tmp_path):
    port = free_port()  # nothing listens there
    hosts = write_hosts(tmp_path / "hosts.yaml", ssh_world.known_hosts, ssh_world.client_key,
                        closed=("127.0.0.1", port), nameless=("no-such-host.invalid", 22))
    hosts.write_text(hosts.read_text() + "clusters:\n  c: {members: [closed, nameless], manager: none, "
                     "vip: {address: 127.0.0.9, prefix: 8, interface: lo}}\n")
    reasons = vip_reasons([HASCREEN], hosts, env) if os.geteuid() != 0 else {}
    if os.geteuid() == 0:
        # the closed port on this machine's loopback; the name lookup in a network namespace of its own,
        # so that no DNS query leaves the machine
        reasons["closed"] = vip_reasons([HASCREEN], hosts, env)["closed"]
        reasons["nameless"] = vip_reasons(["unshare", "--net", HASCREEN], hosts, env)["nameless"]
    assert f"ssh: connect to host 127.0.0.1 port {port}: Connection refused" in reasons["closed"]
    assert "ssh: Could not resolve hostname no-such-host.invalid: " in reasons["nameless"]
    assert "Unknown error" not in reasons["nameless"]


def test_a_silent_server_times_out_like_openssh(ssh_world, env, tmp_path):
    """A listener that never sends its banner: `ssh` says "Connection timed out" (ConnectTimeout 2)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hosts = write_hosts(tmp_path / "hosts.yaml", ssh_world.known_hosts, ssh_world.client_key,
                            mute=("127.0.0.1", port))
        env = dict(env, HASCREEN_HOSTS=str(hosts))
        assert hascreen("-d", "-m", "-S", "mute", env=env).returncode == 0
        try:
            reply = hascreen("-X", "mute", "ssh", "mute", env=env)
        finally:
            hascreen("-X", "mute", "kill-server", env=env)
    assert reply.returncode == 1
    assert f"ssh mute: ssh: connect to host 127.0.0.1 port {port}: Connection timed out" in reply.stderr


def test_host_key_refusal_is_whole_in_the_reply_and_in_the_session_log(ssh_world, sshd, env, tmp_path):
    hosts = write_hosts(tmp_path / "hosts.yaml", ssh_world.known_hosts, ssh_world.client_key,
                        node=(sshd.address, sshd.port))
    env = dict(env, HASCREEN_HOSTS=str(hosts))
    assert hascreen("-d", "-m", "-S", "keys", env=env).returncode == 0
    try:
        reply = hascreen("-X", "keys", "ssh", "node", env=env)
    finally:
        hascreen("-X", "keys", "kill-server", env=env)
    assert reply.returncode == 1
    known_hosts_line = sshd.known_hosts_line.strip()
    for whole in (sshd.fingerprint, f"echo '{known_hosts_line}' >> {ssh_world.known_hosts}",
                  f"ssh-keyscan -p {sshd.port} {sshd.address} >> {ssh_world.known_hosts}"):
        assert whole in reply.stderr, reply.stderr
    log = (tmp_path / "sockets" / ".keys.log").read_text()
    assert "hascreen.ssh: node: refused: host key of node" in log
    assert sshd.fingerprint in log and f"echo '{known_hosts_line}' >> {ssh_world.known_hosts}" in log
