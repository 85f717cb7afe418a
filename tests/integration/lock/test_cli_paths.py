"""Every CLI path ends with one clear line on stderr, no traceback, and no session left behind; the socket
directory is refused unless it is ours and 0700, and the server never follows a symlink for its log.

The real `hascreen` binary in subprocesses (a pty from `script` where a terminal is needed); `hascreen -ls`
says whether a session was left. The cases with another user's directory need root (real local users).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from lock_harness import REPO, as_user, user_env, wait_until

HASCREEN = str(REPO / ".venv" / "bin" / "hascreen")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")


def run(directory: Path, *args: str, tty: bool = False, env_extra: dict[str, str] | None = None):
    config = directory.parent / "config.yaml"
    if not config.exists():
        config.write_text("{}\n")
    env = dict(os.environ, HASCREEN_DIR=str(directory), HASCREEN_CONFIG=str(config), TERM="xterm-256color",
               **(env_extra or {}))
    env.pop("TMUX", None)
    argv = [HASCREEN, *args]
    if tty:  # a pty of its own: `script` runs the command on one and copies its output
        argv = ["script", "-qefc", subprocess.list2cmdline(argv), "/dev/null"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def one_line(text: str) -> str:
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert "Traceback" not in text
    assert len(lines) == 1, lines
    return lines[0]


def no_sessions(directory: Path) -> bool:
    listing = run(directory, "-ls")
    return listing.returncode == 1 and "No Sockets found" in listing.stdout


@pytest.fixture
def sockets(tmp_path: Path) -> Path:
    directory = tmp_path / "sockets"
    directory.mkdir(mode=0o700)
    return directory


def test_new_session_without_a_terminal_starts_nothing(sockets: Path) -> None:
    result = run(sockets, "-S", "noterm")
    assert result.returncode == 1
    assert one_line(result.stderr) == "hascreen: attaching needs a terminal (use -d -m to start detached)"
    assert no_sessions(sockets)


def test_a_program_that_exits_at_once_is_named(sockets: Path) -> None:
    result = run(sockets, "-S", "brief", "true", tty=True)
    assert result.returncode == 1
    # `script` copies the client's screen setup to stdout; the message is the last thing it printed
    line = one_line(result.stdout.split("\x1b[?1006l")[-1] + result.stderr)
    assert line in ("hascreen: the session ended at once: true exited before anything could attach",
                    "hascreen: session brief ended before this client could attach (its server is gone)"), line
    assert no_sessions(sockets)


def test_a_detached_start_of_a_program_that_exits_at_once_leaves_nothing(sockets: Path) -> None:
    result = run(sockets, "-d", "-m", "-S", "brief", "true")
    # the CLI watches the new session for 0.1 s after its first window started: a program that ended in
    # that time is named (exit 1); one the server noticed later simply ended the session (exit 0, as screen)
    if result.returncode == 1:
        assert one_line(result.stderr) == ("hascreen: the session ended at once: true exited before anything "
                                           "could attach")
    else:
        assert result.returncode == 0 and result.stderr == ""
    wait_until(lambda: no_sessions(sockets), 15, "the ended session to be gone")


def test_a_program_that_cannot_start_is_reported(sockets: Path) -> None:
    result = run(sockets, "-d", "-m", "-S", "broken", "/nonexistent/program")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("hascreen: the server failed at start (status 1): ")
    assert "/nonexistent/program" in line and f"see {sockets}/.broken.log" in line
    assert no_sessions(sockets)


def test_a_stopped_server_is_said_not_to_answer(sockets: Path) -> None:
    assert run(sockets, "-d", "-m", "-S", "frozen").returncode == 0
    socket_path = next(p for p in sockets.iterdir() if p.name.endswith(".frozen"))
    pid = int(socket_path.name.split(".")[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        result = run(sockets, "-x", "frozen")
        assert result.returncode == 1
        assert one_line(result.stderr) == (f"hascreen: session {socket_path.name} does not answer: its server "
                                           f"(pid {pid}) is stopped or hung (kill -CONT {pid} resumes a stopped one)")
        assert socket_path.exists(), "a live server's socket must not be wiped"
    finally:
        os.kill(pid, signal.SIGCONT)
        run(sockets, "-X", "frozen", "kill-server")
    wait_until(lambda: no_sessions(sockets), 15, "the session to end")


def test_a_world_writable_socket_dir_is_refused_and_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o777)
    for args in (("-ls",), ("-d", "-m", "-S", "never")):
        result = run(directory, *args)
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert line.startswith(f"hascreen: the socket directory {directory} is mode 0777"), line
        assert "0700" in line
    assert stat.S_IMODE(directory.stat().st_mode) == 0o777, "the directory must not be chmod'ed"
    assert list(directory.iterdir()) == []


def test_a_symlinked_socket_dir_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    result = run(link, "-d", "-m", "-S", "never")
    assert result.returncode == 1
    assert "is a symbolic link" in one_line(result.stderr)
    assert list(real.iterdir()) == []


def test_a_planted_log_symlink_is_not_followed(sockets: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (sockets / ".planted.log").symlink_to(victim)
    result = run(sockets, "-d", "-m", "-S", "planted")
    assert result.returncode == 0, result.stderr
    try:
        assert "removed a symbolic link found at" in one_line(result.stderr)
        log = sockets / ".planted.log"
        assert not log.is_symlink() and log.is_file()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        wait_until(lambda: "lock installed" in log.read_text(), 15, "the server's log lines")
        assert victim.read_text() == "precious\n"
    finally:
        run(sockets, "-X", "planted", "kill-server")
    wait_until(lambda: no_sessions(sockets), 15, "the session to end")


@needs_root
def test_x_into_a_directory_closed_to_us_says_so(users, shared_root) -> None:
    alice, bob = users["alice"], users["bob"]
    closed = shared_root / f"hascreen-{alice.uid}"
    closed.mkdir(mode=0o700)
    os.chown(closed, alice.uid, -1)
    env = user_env(bob, shared_root, HASCREEN_DIR=str(shared_root / "bob-own"))
    (shared_root / "bob-own").mkdir(mode=0o700)
    os.chown(shared_root / "bob-own", bob.uid, -1)
    result = subprocess.run(as_user(bob, [HASCREEN, "-x", f"{alice.name}/ops"], env), capture_output=True,
                            text=True, timeout=60, cwd="/", stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert one_line(result.stderr) == (f"hascreen: cannot look into {alice.name}'s session directory {closed} "
                                       f"(permission denied): {alice.name} has not listed you under acl: in "
                                       f"their config")
