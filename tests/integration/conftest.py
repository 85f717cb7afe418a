"""The shared `lab` fixture: one real HA lab (network namespaces) per test session.

Several test sessions may want the lab at once, and the lab's namespaces have fixed names, so the fixture
takes an exclusive flock on /run/hascreen-lab.lock first (waiting at most LAB_LOCK_WAIT_S, then skipping),
runs `python -m tui.lab up`, yields a `Lab`, and runs `down` at the end. Nodes are reached the way a user
would: the real `ssh` client with the lab key and known_hosts (StrictHostKeyChecking yes).
Faults go only through the lab's own commands (`lab.cli("break", ...)`, `lab.cli("heal")`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCK_FILE = Path("/run/hascreen-lab.lock")
LAB_LOCK_WAIT_S = float(os.environ.get("HASCREEN_LAB_LOCK_WAIT", "900"))
NEEDED_TOOLS = ("ip", "nsenter", "unshare", "nft", "ssh", "ssh-keygen", "/usr/sbin/sshd", "mariadbd",
                "mariadb-install-db", "keepalived", "/usr/bin/python3")


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, mounts, daemons)"
    missing = [tool for tool in NEEDED_TOOLS if not shutil.which(tool)]
    if missing:
        return "lab packages missing: " + ", ".join(missing)
    if not Path("/proc/self/ns/net").exists():
        return "no network namespaces on this kernel"
    return None


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class Lab:
    dir: Path
    ips: dict[str, str]
    vip: str
    host_ip: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def hosts_yaml(self) -> Path:
        return self.dir / "hosts.yaml"

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    def ssh(self, node: str, command: str, *, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a node with the real ssh client (strict host key checking)."""
        argv = ["ssh", "-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
                f"root@{self.ips[node]}", command]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(argv, 255, exc.stdout or "", f"timed out after {timeout} s")

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run `python -m tui.lab ARGS` (the lab's own command line) under our lock."""
        return subprocess.run([sys.executable, "-m", "tui.lab", *args], capture_output=True, text=True,
                              timeout=timeout, cwd=REPO, env=self.env)

    def must(self, *args: str, timeout: float = 120.0) -> str:
        done = self.cli(*args, timeout=timeout)
        assert done.returncode == 0, f"lab {' '.join(args)} failed ({done.returncode}): {done.stderr}{done.stdout}"
        return done.stdout

    @contextlib.contextmanager
    def broken(self, scenario: str, node: str | None = None) -> Iterator[str]:
        """Break the lab for the body of the with-block; heal afterwards even when the test fails."""
        args = ["break", scenario] + ([node] if node else [])
        try:
            yield self.must(*args)
        finally:
            self.must("heal")


@contextlib.contextmanager
def _exclusive_lab_lock() -> Iterator[None]:
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a") as fh:
        deadline = time.monotonic() + LAB_LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"the lab stayed busy (another session held {LOCK_FILE} for {LAB_LOCK_WAIT_S:.0f} s)")
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from tui.lab import layout

    lab_dir = layout.lab_dir_from_env().absolute()
    env = dict(os.environ, HASCREEN_LAB_LOCK_HELD="1", HASCREEN_LAB_DIR=str(lab_dir))
    with _exclusive_lab_lock():
        handle = Lab(dir=lab_dir, ips=dict(layout.NODE_IPS), vip=layout.VIP, host_ip=layout.HOST_SIDE_IP, env=env)
        up = handle.cli("up", timeout=180)
        if up.returncode != 0:
            handle.cli("down")
            pytest.fail(f"lab up failed: {up.stderr}{up.stdout}")
        try:
            yield handle
        finally:
            handle.cli("down")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The first test that uses the lab may wait for the lock (bounded by LAB_LOCK_WAIT_S) and build the lab;
    # give it room beyond the default per-test timeout. Every wait inside the tests has its own bound.
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)
            item.add_marker(pytest.mark.timeout(LAB_LOCK_WAIT_S + 300))
