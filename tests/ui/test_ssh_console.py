"""The client against a real OpenSSH sshd on loopback: a host-key refusal opens whole (fingerprint and the
exact command), C-a R asks before ending a connected pane's remote shell, and a procedure step's output is
shown while the step still runs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.ssh.sshd_harness import Sshd, keygen
from tests.ui.conftest import LiveSession

HOSTS = """\
defaults: {user: root, health_interval: 5, known_hosts: %(known)s}
hosts:
  node-a: {address: 127.0.0.1, port: %(port)d, identity: %(key)s}
  node-b: {address: 127.0.0.1, port: %(port)d, identity: %(key)s}
clusters:
  db: {members: [node-a, node-b], manager: none}
"""

PROCEDURES = """\
procedures:
  slow-step:
    note: a step that prints a line, then waits for the test
    danger: safe
    steps:
      - host: node-a
        note: wait for the go file
        timeout: 30
        argv: [sh, -c, "echo first-$((6*7)); i=0; while [ ! -e %(go)s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo second-$((7*7))"]
"""


class SshSession(LiveSession):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="hs-sshd-", dir="/tmp"))
        self.client_key = keygen(self.root / "client_ed25519")
        self.sshd = Sshd(self.root, Path(str(self.client_key) + ".pub"), name="node")
        self.known_hosts = self.directory / "known_hosts"
        self.known_hosts.write_text("")
        self.go = self.directory / "go"
        hosts = self.directory / "hosts.yaml"
        hosts.write_text(HOSTS % {"known": self.known_hosts, "port": self.sshd.port, "key": self.client_key})
        procedures = self.directory / "procedures.yaml"
        procedures.write_text(PROCEDURES % {"go": self.go})
        self.env.update(HASCREEN_HOSTS=str(hosts), HASCREEN_PROCEDURES=str(procedures))
        self.env.pop("SSH_AUTH_SOCK", None)

    def trust(self) -> None:
        self.known_hosts.write_text(self.sshd.known_hosts_line)

    def stop(self) -> None:
        super().stop()
        self.sshd.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def ssh_session():
    session = SshSession()
    session.start()
    yield session
    session.stop()


async def command(console, line: str) -> None:
    await console.prefix(":")
    await console.wait(lambda: type(console.app.screen).__name__ == "Prompt", "the : prompt")
    await console.type(line)


async def test_an_unknown_host_key_opens_whole_with_the_fingerprint_and_the_command(ssh_session):
    async with ssh_session.console(size=(100, 30)) as console:
        await command(console, "ssh node-a")
        await console.wait(lambda: type(console.app.screen).__name__ == "MessageBox", "the refusal", 20)
        box = console.app.screen
        text = box.text
        assert ssh_session.sshd.fingerprint in text
        key_line = ssh_session.sshd.known_hosts_line.strip()
        assert f"echo '{key_line}' >> {ssh_session.known_hosts}" in text
        assert "refusing to connect" in text and len(text.splitlines()) > 2
        shown = str(box.query_one("#message-text").render())
        assert ssh_session.sshd.fingerprint in shown
        await console.press("c")  # into the paste buffer, to paste into a shell
        await console.wait(lambda: type(console.app.screen).__name__ != "MessageBox", "the box closed")
        assert console.app.paste_buffer == text
        assert console.tab_names == ["sh"]  # nothing was opened


async def test_reconnect_asks_while_the_pane_is_connected(ssh_session):
    ssh_session.trust()
    async with ssh_session.console(size=(100, 30)) as console:
        await command(console, "ssh node-a")
        await console.wait(lambda: console.tab_names == ["sh", "node-a"] and console.active == 1, "the window")
        await console.run("echo ssh-$((6*7))", "ssh-42")
        await console.prefix("R")
        await console.wait(lambda: type(console.app.screen).__name__ == "Confirm", "the question")
        assert console.app.screen.question == "Really reconnect window 1 (node-a)? Its remote shell ends [y/n]"
        await console.press("n")
        await console.settle()
        assert not any("reconnecting" in n for n in console.app.notices)
        await console.run("echo still-$((6*7))", "still-42")  # the same shell
        await console.prefix("R")
        await console.wait(lambda: type(console.app.screen).__name__ == "Confirm", "the question again")
        await console.press("y")
        await console.wait(lambda: any(n == "reconnecting to node-a" for n in console.app.notices), "the reconnect")
        await console.wait_text("reconnected to node-a", timeout=20)


async def test_a_running_step_shows_its_output_as_it_comes(ssh_session):
    ssh_session.trust()
    async with ssh_session.console(size=(120, 30)) as console:
        await command(console, "run-procedure slow-step db")
        await console.wait(lambda: any("proc:slow-step" in n for n in console.tab_names), "the procedure window")
        await console.wait_text("press Enter to run slow-step", timeout=20)
        await console.press("enter")
        await console.wait_text("first-42", what="the step's first line while it runs", timeout=20)
        assert "second-49" not in console.text and "rc=" not in console.text
        ssh_session.go.touch()
        await console.wait_text("Result: succeeded", timeout=20)
        text = console.text
        assert text.index("first-42") < text.index("second-49") < text.index("✓ rc=0")
        assert text.count("first-42") == 1  # not printed again when the step ended
