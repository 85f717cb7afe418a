"""What a user's terminal gets from the `hascreen` command itself: no dependency warning or traceback on any
entry point, an unexpected error as one line that names the log, no hosts.yaml picked up unasked (the
repository's example, a hosts.yaml in the current directory), and `hascreen` on the default PATH after
setup.sh (as root)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when we return: connections are refused


def hascreen(*args: str, env: dict[str, str], cwd: Path, python: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "tui", *args] if python else [HASCREEN, *args]
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def plain_env(tmp_path: Path) -> dict[str, str]:
    """A user with no hosts.yaml anywhere: no config dir, no lab, $HASCREEN_HOSTS unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("HASCREEN_HOSTS", "PYTHONWARNINGS")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"),
               HASCREEN_LAB_DIR=str(tmp_path / "no-lab"), HASCREEN_DIR=str(tmp_path / "sockets"))
    return env


@pytest.fixture
def unreachable_hosts(tmp_path: Path) -> Path:
    """A cluster on 127.0.0.1 at a closed port: health loads asyncssh and reports UNKNOWN."""
    port = closed_port()
    (tmp_path / "known_hosts").write_text("")
    path = tmp_path / "hosts.yaml"
    path.write_text(
        f"defaults: {{user: root, port: {port}, known_hosts: {tmp_path / 'known_hosts'}}}\n"
        "hosts:\n  a: {address: 127.0.0.1}\n  b: {address: 127.0.0.1}\n"
        "clusters:\n  c: {members: [a, b], manager: none, vip: {address: 127.0.0.9, prefix: 8, interface: lo}}\n")
    return path


@pytest.mark.parametrize("python", [False, True], ids=["console-script", "python-m-tui"])
def test_no_warning_or_traceback_on_any_subcommand(plain_env, unreachable_hosts, tmp_path, python):
    hosts = str(unreachable_hosts)
    runs = {
        "--version": hascreen("--version", env=plain_env, cwd=tmp_path, python=python),
        "check-config": hascreen("check-config", "--hosts", hosts, env=plain_env, cwd=tmp_path, python=python),
        "health": hascreen("health", "--hosts", hosts, "--json", env=plain_env, cwd=tmp_path, python=python),
        "run": hascreen("run", "failover", "--cluster", "c", "--hosts", hosts, "--dry-run", env=plain_env,
                        cwd=tmp_path, python=python),
        "lab status": hascreen("lab", "status", env=plain_env, cwd=tmp_path, python=python),
    }
    for name, done in runs.items():
        assert "Warning" not in done.stderr and "Traceback" not in done.stderr, f"{name}: {done.stderr}"
    assert runs["--version"].stderr == "" and runs["--version"].returncode == 0
    assert runs["check-config"].stderr == "" and runs["check-config"].returncode == 0
    # the hosts are unreachable: rows on stdout (UNKNOWN, and a cluster without its VIP is CRIT), exit 2,
    # nothing on stderr
    assert runs["health"].returncode == 2 and runs["health"].stderr == ""
    assert '"state": "unknown"' in runs["health"].stdout
    assert runs["run"].returncode == 1 and "would refuse" in runs["run"].stdout and runs["run"].stderr == ""
    assert runs["lab status"].stderr == ""


def test_warnings_are_back_when_asked_for(plain_env, unreachable_hosts, tmp_path):
    """The filter is what keeps them away: with -W/PYTHONWARNINGS a developer sees them again."""
    env = dict(plain_env, PYTHONWARNINGS="default")
    done = hascreen("health", "--hosts", str(unreachable_hosts), env=env, cwd=tmp_path)
    assert "CryptographyDeprecationWarning" in done.stderr


def test_an_unexpected_error_is_one_line_and_the_traceback_goes_to_the_log(plain_env, tmp_path):
    log = tmp_path / "log" / "hascreen.log"
    script = ("from tui.entry import run_entry\n"
              "def main(argv):\n    return {}['missing-key']\n"
              "raise SystemExit(run_entry(main, [], crash_status=3))\n")
    done = subprocess.run([sys.executable, "-c", script], env=dict(plain_env, HASCREEN_LOG=str(log)),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 3
    assert done.stderr.strip() == f"hascreen: internal error: KeyError: 'missing-key' (details in {log})"
    text = log.read_text()
    assert "Traceback" in text and "line 3, in main" in text
    assert (log.stat().st_mode & 0o777) == 0o600


def test_no_hosts_yaml_anywhere_means_none_not_the_example(plain_env):
    """In the repository (whose hosts.yaml is the lab example) and with a hosts.yaml in the current
    directory, nothing is picked up unasked."""
    done = hascreen("health", env=plain_env, cwd=REPO)
    assert done.returncode == 3 and "no hosts.yaml found" in done.stderr
    assert "the running lab's hosts.yaml" in done.stderr and "./hosts.yaml" not in done.stderr
    done = hascreen("run", "failover", "--cluster", "db", "--dry-run", env=plain_env, cwd=REPO)
    assert done.returncode == 1 and "no hosts.yaml found" in done.stderr


def test_a_session_started_in_the_repository_is_a_plain_multiplexer(plain_env):
    env = dict(plain_env)
    started = hascreen("-d", "-m", "-S", "plain", env=env, cwd=REPO)
    assert started.returncode == 0, started.stderr
    try:
        reply = hascreen("-X", "plain", "ssh", "node-a", env=env, cwd=REPO)
        assert reply.returncode == 1 and "no hosts.yaml" in reply.stderr
    finally:
        hascreen("-X", "plain", "kill-server", env=env, cwd=REPO)


def test_the_lab_hosts_file_is_found_while_it_exists(plain_env, tmp_path):
    lab = Path(plain_env["HASCREEN_LAB_DIR"])
    lab.mkdir()
    (lab / "hosts.yaml").write_text("hosts:\n  lab-node: {address: 10.213.77.11}\n")
    done = hascreen("check-config", env=plain_env, cwd=tmp_path)
    assert done.returncode == 0 and str(lab / "hosts.yaml") in done.stdout and "lab-node" in done.stdout
    # a user's own file comes first
    own = Path(plain_env["XDG_CONFIG_HOME"]) / "hascreen" / "hosts.yaml"
    own.parent.mkdir(parents=True)
    own.write_text("hosts:\n  mine: {address: 192.0.2.7}\n")
    done = hascreen("check-config", env=plain_env, cwd=tmp_path)
    assert done.returncode == 0 and "mine" in done.stdout and "lab-node" not in done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh links /usr/local/bin/hascreen only as root")
def test_setup_puts_hascreen_on_the_default_path(tmp_path):
    """ssh's and login's default PATH (/usr/local/bin first) finds hascreen: `ssh -t host hascreen -r`."""
    link = Path("/usr/local/bin/hascreen")
    assert link.is_symlink(), "run scripts/setup.sh as root first (scripts/test.sh does)"
    assert link.resolve().name.startswith("python") or link.readlink().name == "hascreen"
    done = subprocess.run(["hascreen", "--version"], env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("hascreen ") and done.stderr == ""
