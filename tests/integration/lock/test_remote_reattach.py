"""Remote reattach through a real OpenSSH sshd on 127.0.0.1: `ssh -t host hascreen -r NAME` and
`hascreen attach --via user@host NAME`, with the real client drawing in a tmux pane (tmux is only the
terminal here). The session belongs to a test user; root's ssh client logs in as that user with a key.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from lock_harness import PYTHON, REPO, as_user, capture, tmux, user_env, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users and runs sshd: needs root")

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sshd(shared_root: Path, users):
    """sshd with a temp host key, pubkey only, bob's authorized key; hascreen on PATH for the sessions."""
    base = shared_root / "sshd"
    base.mkdir(mode=0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "host_key")], check=True,
                   timeout=30)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "client_key")], check=True,
                   timeout=30)
    (base / "authorized_keys").write_text((base / "client_key.pub").read_text())
    (base / "authorized_keys").chmod(0o644)
    port = free_port()
    bob_dir = shared_root / "bob-sessions"
    (base / "sshd_config").write_text("\n".join([
        f"ListenAddress 127.0.0.1:{port}", f"HostKey {base / 'host_key'}", f"PidFile {base / 'sshd.pid'}",
        f"AuthorizedKeysFile {base / 'authorized_keys'}", "PubkeyAuthentication yes",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        f"AllowUsers {users['bob'].name}", "PrintMotd no", "PrintLastLog no",
        # the remote side of the jump: hascreen on PATH and the sessions' directory, as a login would set
        f"SetEnv PATH={REPO / '.venv' / 'bin'}:/usr/bin:/bin HASCREEN_DIR={bob_dir}", "",
    ]))
    host_key = (base / "host_key.pub").read_text().split()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (base / "ssh_config").write_text("\n".join([
        "Host jumphost", "  HostName 127.0.0.1", f"  Port {port}", f"  User {users['bob'].name}",
        f"  IdentityFile {base / 'client_key'}", "  IdentitiesOnly yes", f"  UserKnownHostsFile {base / 'known_hosts'}",
        "  StrictHostKeyChecking yes", "  BatchMode yes", "",
    ]))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    process = subprocess.Popen(["timeout", "-k", "5", "300", "/usr/sbin/sshd", "-D", "-E", str(base / "sshd.log"),
                                "-f", str(base / "sshd_config")], start_new_session=True)

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                return sock.recv(64).startswith(b"SSH-2.0")
        except OSError:
            return False

    try:
        wait_until(answers, 15, "sshd")
        yield base, bob_dir
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        subprocess.run(["pkill", "-KILL", "-u", users["bob"].name], capture_output=True, timeout=10)


def start_bob_session(users, bob_dir: Path, shared_root: Path) -> None:
    bob = users["bob"]
    bob_dir.mkdir(mode=0o700)
    os.chown(bob_dir, bob.uid, -1)
    env = user_env(bob, shared_root, HASCREEN_DIR=str(bob_dir))
    result = subprocess.run(as_user(bob, [str(REPO / ".venv" / "bin" / "hascreen"), "-d", "-m", "-S", "remote",
                                          "--", "sh", "-c", "echo REMOTE-$((2*21)); exec sh"], env),
                            capture_output=True, text=True, timeout=30, cwd="/")
    assert result.returncode == 0, result.stderr


def stop_bob_session(users, bob_dir: Path, shared_root: Path) -> None:
    bob = users["bob"]
    env = user_env(bob, shared_root, HASCREEN_DIR=str(bob_dir))
    subprocess.run(as_user(bob, [str(REPO / ".venv" / "bin" / "hascreen"), "-X", "remote", "kill-server"], env),
                   capture_output=True, timeout=30, cwd="/")


def attached_over_ssh(name: str, command: list[str], env: dict[str, str] | None = None) -> str:
    line = " ".join(shlex.quote(arg) for arg in command)
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", f"env {prefix} {line}; sleep 30")
    return wait_until(lambda: (text := capture(name)) and "REMOTE-42" in text and text, 30,
                      f"the remote session's screen in tmux ({capture(name)!r})")


def test_ssh_t_jumphost_hascreen_r(users, shared_root, sshd, terminal) -> None:
    base, bob_dir = sshd
    start_bob_session(users, bob_dir, shared_root)
    try:
        screen = attached_over_ssh("jump", ["ssh", "-t", "-F", str(base / "ssh_config"), "jumphost",
                                            "hascreen", "-r", "remote"])
        assert "REMOTE-42" in screen
        tmux("send-keys", "-t", "jump", "echo TYPED-$((3*3))", "Enter")
        wait_until(lambda: "TYPED-9" in capture("jump"), 15, "the typed echo over ssh")
        tmux("send-keys", "-t", "jump", "C-a", "d")
        wait_until(lambda: "[detached from remote]" in capture("jump"), 15, "the detach message")
        # the session lives on at the far end, detached, with what was typed in it
        env = user_env(users["bob"], shared_root, HASCREEN_DIR=str(bob_dir))
        listing = subprocess.run(as_user(users["bob"], [str(REPO / ".venv" / "bin" / "hascreen"), "-ls"], env),
                                 capture_output=True, text=True, timeout=30, cwd="/").stdout
        assert ".remote" in listing and "(Detached)" in listing
    finally:
        stop_bob_session(users, bob_dir, shared_root)


def test_attach_via_wraps_ssh_t(users, shared_root, sshd, terminal, tmp_path: Path) -> None:
    base, bob_dir = sshd
    start_bob_session(users, bob_dir, shared_root)
    # `attach --via` runs plain `ssh -t`; a PATH entry in front points ssh at this test's config only
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/ssh -F {shlex.quote(str(base / 'ssh_config'))} \"$@\"\n")
    wrapper.chmod(0o755)
    try:
        screen = attached_over_ssh("via", [PYTHON, "-m", "tui", "attach", "--via", "jumphost", "remote"],
                                   env={"PATH": f"{wrapper.parent}:/usr/bin:/bin"})
        assert "REMOTE-42" in screen
        tmux("send-keys", "-t", "via", "C-a", "d")
        wait_until(lambda: "[detached from remote]" in capture("via"), 15, "the detach message")
    finally:
        stop_bob_session(users, bob_dir, shared_root)
