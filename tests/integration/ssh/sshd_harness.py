"""Real OpenSSH sshd servers on loopback for tui.ssh's integration tests (fixtures via conftest.py).

Each `Sshd` has its own host key, sshd_config (pubkey only, no PAM, StrictModes no, LogLevel DEBUG1 so the
log shows auth attempts and direct-tcpip forwards) and log file, listens on a free loopback port, runs
under `timeout` so a crashed test run cannot leave it behind, and is killed at teardown. Tests get a
throw-away HOME (with ~/.ssh) and never touch root's real ~/.ssh.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
SSHD_LIFETIME_S = 900  # upper bound on any sshd's life, whatever happens to the test run


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def keygen(path: Path, comment: str = "hascreen-test") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


def fingerprint(pub: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(pub)], check=True, capture_output=True, text=True, timeout=10
    )
    return out.stdout.split()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _children(pid: int) -> list[int]:
    """All descendants of pid (from /proc), so a test can stop sshd and its per-connection children."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


@dataclass
class TestHost:
    """Duck-typed stand-in for tui.config's Host (tui.ssh accepts any object with these fields)."""

    __test__ = False  # not a pytest test class

    name: str
    address: str | None = None
    port: int | None = None
    user: str | None = None
    jump: str | None = None
    identity: str | None = None
    keepalive: object = None
    remote_multiplexer: str | None = None


class Sshd:
    """One running OpenSSH server on loopback."""

    def __init__(
        self, root: Path, authorized_key: Path, address: str = "127.0.0.1", name: str = "sshd"
    ) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.address = address
        self.port = free_port(address)
        self.host_key = keygen(self.dir / "ssh_host_ed25519_key", comment=name)
        self.log_path = self.dir / "sshd.log"
        shutil.copy(authorized_key, self.dir / "authorized_keys")
        self.tmux_tmpdir = self.dir / "tmux"
        self.tmux_tmpdir.mkdir(mode=0o700)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            "\n".join(
                [
                    f"ListenAddress {address}:{self.port}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "AllowTcpForwarding yes",
                    "PrintMotd no",
                    "PrintLastLog no",
                    "LogLevel DEBUG1",
                    "MaxStartups 50",
                    # A remote tmux (remote_multiplexer tests) keeps its server socket in our temp dir.
                    f"SetEnv TMUX_TMPDIR={self.tmux_tmpdir}",
                    "",
                ]
            )
        )
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def pid(self) -> int:
        """The sshd listener itself (the child of the `timeout` wrapper)."""
        assert self.proc is not None
        return wait_until(lambda: next(iter(_children(self.proc.pid)), None), 10, what="sshd pid")

    @property
    def fingerprint(self) -> str:
        return fingerprint(Path(str(self.host_key) + ".pub"))

    @property
    def known_hosts_line(self) -> str:
        key = Path(str(self.host_key) + ".pub").read_text().split()
        return f"[{self.address}]:{self.port} {key[0]} {key[1]}\n"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # OpenSSH's privilege-separation directory
        self.proc = subprocess.Popen(
            # -E (not -e): with -e, DEBUG1 lines of the session child leak into the client's stderr.
            [
                "timeout",
                "-k",
                "5",
                str(SSHD_LIFETIME_S),
                SSHD,
                "-D",
                "-E",
                str(self.log_path),
                "-f",
                str(self.config),
            ],
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )

        def banner() -> bool:
            try:
                with socket.create_connection((self.address, self.port), timeout=1) as sock:
                    return sock.recv(64).startswith(b"SSH-2.0")
            except OSError:
                return False

        wait_until(banner, 15, interval=0.05, what=f"sshd on {self.address}:{self.port}")

    def freeze(self) -> list[int]:
        """SIGSTOP the listener and every per-connection child: the link looks dead, nothing closes."""
        pids = [self.pid, *_children(self.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                for pid in _children(self.proc.pid):
                    os.kill(pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        self._log.close()


@dataclass
class SshWorld:
    home: Path
    client_key: Path
    known_hosts: Path
    ssh_config: Path
    root: Path

    def trust(self, *servers: Sshd) -> None:
        with open(self.known_hosts, "a") as f:
            for server in servers:
                f.write(server.known_hosts_line)


@pytest.fixture
def ssh_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SshWorld:
    """A temp HOME with ~/.ssh (client key, empty known_hosts, empty config) and no ssh-agent."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    client_key = keygen(tmp_path / "client_ed25519", comment="hascreen-test-client")
    known_hosts = home / ".ssh" / "known_hosts"
    known_hosts.write_text("")
    ssh_config = home / ".ssh" / "config"
    ssh_config.write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return SshWorld(home, client_key, known_hosts, ssh_config, tmp_path)


@pytest.fixture
def sshd_factory(ssh_world: SshWorld):
    """Start sshd servers on demand; all of them (and their children) are killed at teardown."""
    servers: list[Sshd] = []
    pids: list[int] = []

    def start(address: str = "127.0.0.1", name: str | None = None) -> Sshd:
        server = Sshd(
            ssh_world.root, Path(str(ssh_world.client_key) + ".pub"), address, name or f"sshd{len(servers)}"
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        # Per-connection children call setsid(), so killing the process group misses them.
        if server.proc is not None:
            pids.extend(_children(server.proc.pid))
        server.stop()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sshd(sshd_factory) -> Sshd:
    return sshd_factory()


@pytest.fixture
def ssh_agent(ssh_world: SshWorld, monkeypatch: pytest.MonkeyPatch):
    """A real ssh-agent holding the client key; SSH_AUTH_SOCK points at it."""
    sock = ssh_world.root / "agent.sock"
    proc = subprocess.Popen(
        ["timeout", "-k", "5", str(SSHD_LIFETIME_S), "ssh-agent", "-D", "-a", str(sock)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(sock.exists, 10, what="ssh-agent socket")
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(
            ["ssh-add", str(ssh_world.client_key)], env=env, check=True, capture_output=True, timeout=10
        )
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield sock
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
