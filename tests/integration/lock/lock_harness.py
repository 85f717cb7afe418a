"""Helpers and fixtures (exported through conftest.py) for the lock and multi-user tests: real local users, a PAM service file, sessions run as those
users, and protocol peers connected as any of them.

Needs root. Users are named hs-test-* and removed (with their homes) at the end, as are
/etc/pam.d/hascreen-test and every process started here, even when a test fails. Other users can run the
project's venv because /work and /work/main are mode 0755 and the venv is built from Debian's
/usr/bin/python3 (root's default python3 under /root is mode 0700 and unreachable for them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
PYTHON = str(REPO / ".venv" / "bin" / "python")
HERE = Path(__file__).resolve().parent
PAM_SERVICE = "hascreen-test"
PAM_FILE = Path("/etc/pam.d") / PAM_SERVICE
USERS_LOCK = Path("/run/lock/hascreen-lock-tests.lock")
TMUX_SOCKET = "hascreen-lock-tests"  # a tmux server of our own: the terminal clients run in
PROCESS_LIFETIME = "300"  # seconds: an upper bound on anything started here, whatever happens to pytest

USERS: dict[str, str | None] = {  # name → password (test-only accounts, deleted at teardown)
    "hs-test-alice": "alice-Pw-41!x",
    "hs-test-bob": "bob-Pw-73?y",
    "hs-test-carol": "carol-Pw-19#z",
    "hs-test-dave": "dave-Pw-55$w",
    "hs-test-nopw": None,  # no usable password (`!` in shadow), like root as `*` on sudo systems
}



def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _remove_user(name: str) -> None:
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, timeout=10)  # only that test user's
    subprocess.run(["userdel", "-r", "-f", name], capture_output=True, timeout=30)


@dataclass
class TestUser:
    __test__ = False
    name: str
    password: str
    uid: int
    home: Path

    @property
    def config(self) -> Path:
        return self.home / ".config" / "hascreen" / "config.yaml"

    @property
    def audit_log(self) -> Path:
        return self.home / ".local" / "state" / "hascreen" / "audit.log"

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)
        for path in (self.home / ".config", self.config.parent, self.config):
            os.chown(path, self.uid, -1)


@contextlib.contextmanager
def exclusive_test_users(timeout: float = 900.0) -> Iterator[None]:
    """The users and the PAM file are machine-wide: two runs of these tests at once (the lead's and a
    helper's) would delete each other's users. An flock serialises them; the wait is bounded."""
    with open(USERS_LOCK, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"another run of the lock tests held {USERS_LOCK} for {timeout:.0f}s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def unreachable_by_others(path: Path) -> Path | None:
    """The first directory on the way to `path` that other users cannot enter (e.g. /root, mode 0700)."""
    for directory in [*reversed(path.parents)]:
        if not directory.stat().st_mode & 0o001:
            return directory
    return None


@pytest.fixture(scope="session")
def users() -> Iterator[dict[str, TestUser]]:
    blocked = unreachable_by_others(Path(PYTHON))
    if blocked is not None:
        pytest.fail(f"the test users cannot run {PYTHON}: {blocked} is mode {blocked.stat().st_mode & 0o777:o} "
                    "(others may not enter it). Clone the repository where other users can read it, e.g. "
                    "/opt/hascreen, as the README says; colleagues need that too (hascreen -x alice/ops).",
                    pytrace=False)
    with exclusive_test_users():
        yield from _created_users()


def _created_users() -> Iterator[dict[str, TestUser]]:
    PAM_FILE.write_text("# hascreen tests: plain pam_unix, no delay after a failure\n"
                        "auth     required pam_unix.so nodelay\naccount  required pam_unix.so\n")
    created: list[str] = []
    try:
        result: dict[str, TestUser] = {}
        for name, password in USERS.items():
            _remove_user(name)  # left over from a killed run
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True, timeout=30)
            created.append(name)
            if password is not None:
                subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True,
                               capture_output=True, timeout=30)  # the password goes through stdin, not argv
            entry = pwd.getpwnam(name)
            result[name.removeprefix("hs-test-")] = TestUser(name, password or "", entry.pw_uid, Path(entry.pw_dir))
        yield result
    finally:
        for name in created:
            _remove_user(name)
        PAM_FILE.unlink(missing_ok=True)


def user_env(user: TestUser, shared_root: Path, **extra: str) -> dict[str, str]:
    # HASCREEN_HOSTS empty: no hosts file, even while a lab is up on this machine (see tests/conftest.py)
    return {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name, "SHELL": "/bin/sh",
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HASCREEN_SHARED_ROOT": str(shared_root),
            "HASCREEN_HOSTS": "", **extra}


def as_user(user: TestUser, argv: list[str], env: dict[str, str], terminal: bool = False) -> list[str]:
    """argv run as user with exactly env, bounded in time. `terminal`: it draws on a tty, so `timeout` must
    leave it in the foreground process group (else the tty stops it with SIGTTOU)."""
    bound = ["timeout", "--foreground", "-k", "5", PROCESS_LIFETIME] if terminal else \
        ["timeout", "-k", "5", PROCESS_LIFETIME]
    return ["runuser", "-u", user.name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *bound, *argv]


class Peer:
    """A protocol client running as some user (protocol_peer.py); frames arrive on a queue."""

    def __init__(self, user: TestUser, socket_path: Path, mode: str, env: dict[str, str],
                 hello: dict[str, Any] | None = None) -> None:
        self.user = user
        argv = [PYTHON, str(HERE / "protocol_peer.py"), str(socket_path), mode, json.dumps(hello or {})]
        self.process = subprocess.Popen(as_user(user, argv, env),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self.messages.put(json.loads(line))
        self.messages.put({"t": "_eof"})

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"send": message}) + "\n")
        self.process.stdin.flush()

    def command(self, name: str, *args: str) -> None:
        self.send({"t": "command", "name": name, "args": list(args)})

    def type(self, text: str) -> None:
        import base64

        self.send({"t": "input", "data": base64.b64encode(text.encode()).decode()})

    def check_password(self, password: str, service: str = PAM_SERVICE) -> bool | None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"pam": {"service": service}}) + "\n" + password + "\n")
        self.process.stdin.flush()
        return self.expect(lambda m: m.get("t") == "_pam", what="the PAM answer", timeout=30).get("ok")

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(message)
        return message

    def expect(self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is None:
                break
            if predicate(message):
                return message
            if message.get("t") == "_eof":
                break
        raise AssertionError(f"{self.user.name}: no {what} within {timeout}s; last messages: "
                             f"{[m.get('t') for m in self.seen[-15:]]}")

    def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Everything that arrives in the next `seconds` (a bounded listen, for "nothing arrives" checks)."""
        found = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is None:
                break
            found.append(message)
        return found

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def screen_text(messages: list[dict[str, Any]]) -> str:
    """All text of the rows frames among messages."""
    parts = []
    for message in messages:
        if message.get("t") == "rows":
            for runs in message.get("rows", {}).values():
                parts.append("".join(run[0] for run in runs))
    return "\n".join(parts)


@dataclass
class Session:
    owner: TestUser
    socket_dir: Path
    shared_root: Path
    process: subprocess.Popen
    name: str
    peers: list[Peer] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.socket_dir / f"{self.server_pid}.{self.name}"

    @property
    def server_pid(self) -> int:
        # runuser → env → timeout → python: the socket is named after the python process
        sockets = [p for p in self.socket_dir.iterdir() if p.name.endswith(f".{self.name}") and p.is_socket()]
        assert sockets, f"no socket for {self.name} in {self.socket_dir}"
        return int(sockets[0].name.split(".", 1)[0])

    @property
    def log(self) -> str:
        path = self.socket_dir / f".{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def connect(self, user: TestUser, mode: str = "multi", **hello: Any) -> Peer:
        peer = Peer(user, self.socket, mode, user_env(user, self.shared_root), hello)
        self.peers.append(peer)
        return peer


@pytest.fixture
def shared_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="hs-lock-"))
    root.chmod(0o755)  # like /tmp: each user's hascreen-UID directory below it keeps its own permissions
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def start_session(users: dict[str, TestUser], shared_root: Path) -> Iterator[Callable[..., Session]]:
    sessions: list[Session] = []

    def start(owner: TestUser, name: str = "ops", config: str = "", shell: str = "/bin/sh") -> Session:
        owner.write_config(config or "{}\n")
        owner.audit_log.unlink(missing_ok=True)
        socket_dir = shared_root / f"hascreen-{owner.uid}"
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chown(socket_dir, owner.uid, -1)
        env = user_env(owner, shared_root)
        process = subprocess.Popen(
            as_user(owner, [PYTHON, "-m", "tui.server", "--session", name, "--socket-dir", str(socket_dir),
                            "--log", str(socket_dir / f".{name}.log"), "--", shell], env),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            cwd=str(owner.home))
        session = Session(owner, socket_dir, shared_root, process, name)
        sessions.append(session)
        wait_until(lambda: any(p.name.endswith(f".{name}") for p in socket_dir.iterdir()) or process.poll() is not None,
                   15, f"the socket of {name}")
        assert process.poll() is None, f"server exited: {process.stderr.read() if process.stderr else ''}"
        return session

    yield start
    for session in sessions:
        for peer in session.peers:
            peer.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session.process.pid, signal.SIGTERM)
        try:
            session.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(session.process.pid, signal.SIGKILL)
            session.process.wait(timeout=5)


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", TMUX_SOCKET, *args], capture_output=True, text=True, timeout=15)


@pytest.fixture
def terminal():
    """A tmux server of our own, killed at the end: the terminal the ssh client runs in."""
    yield tmux
    tmux("kill-server")


def capture(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name).stdout
