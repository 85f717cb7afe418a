"""SshPane against real OpenSSH sshd: PTY I/O, remote resize, exit, keepalive-detected drops and reconnects."""

from __future__ import annotations

import asyncio
import re

import pytest
from sshd_harness import TestHost, keygen

from tui.ssh import SshPool


class PaneProbe:
    """Collects a pane's output and exits; waits (bounded) for bytes to show up."""

    def __init__(self, pane) -> None:
        self.output = bytearray()
        self.exits: list[str] = []
        pane.on_output = self.output.extend
        pane.on_exit = self.exits.append
        self.pane = pane
        self.mark = 0

    async def wait_for(self, pattern: bytes, timeout: float = 10.0) -> re.Match[bytes]:
        """Wait for a regex in the output after the last match; moves the mark past it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = re.compile(pattern).search(bytes(self.output), self.mark)
            if found:
                self.mark = found.end()
                return found
            if asyncio.get_running_loop().time() > deadline:
                tail = bytes(self.output[-600:])
                raise AssertionError(f"no {pattern!r} within {timeout}s; output ends with {tail!r}")
            await asyncio.sleep(0.02)

    async def shell(self, line: str, expect: bytes, timeout: float = 10.0) -> re.Match[bytes]:
        self.pane.write(line.encode() + b"\r")
        return await self.wait_for(expect, timeout)


def _host(sshd, ssh_world, **extra) -> TestHost:
    return TestHost("node", sshd.address, sshd.port, "root", identity=str(ssh_world.client_key), **extra)


async def test_pane_types_reads_resizes_and_exits(ssh_world, sshd):
    ssh_world.trust(sshd)
    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node")
    probe = PaneProbe(pane)
    try:
        await pane.start(80, 24)
        assert pane.label == "node"
        # $((6*7)) so that the match is the shell's output, not the echo of what we typed.
        await probe.shell("echo hi $((6*7)) $TERM", rb"hi 42 xterm-256color")
        await probe.shell("stty size", rb"[\r\n]24 80\r\n")
        pane.resize(100, 30)
        await probe.shell("stty size", rb"[\r\n]30 100\r\n")
        await probe.shell("exit 7", rb"exit")
        await asyncio.wait_for(_until(lambda: probe.exits), 10)
    finally:
        await pane.close()
        await pool.close()
    assert probe.exits == ["exit status 7"]
    assert isinstance(bytes(probe.output), bytes)


async def _until(predicate, interval: float = 0.02) -> None:
    while not predicate():
        await asyncio.sleep(interval)


async def test_back_pressure_pauses_the_channel(ssh_world, sshd):
    ssh_world.trust(sshd)
    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node")
    probe = PaneProbe(pane)
    try:
        await pane.start(80, 24)
        await probe.shell("echo ready $((1+1))", rb"ready 2")
        pane.pause_reading()
        before = len(probe.output)
        pane.write(b"seq 1 200000; echo end-$((3*5))\r")
        await asyncio.sleep(1.0)
        # Paused: at most what was already in flight arrived (far less than the ~1.3 MB of output).
        assert len(probe.output) - before < 300_000
        pane.resume_reading()
        await probe.wait_for(rb"end-15", timeout=30)
    finally:
        await pane.close()
        await pool.close()


async def test_two_panes_and_the_runner_share_one_connection(ssh_world, sshd):
    ssh_world.trust(sshd)
    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    panes = [pool.open_pane("node"), pool.open_pane("node")]
    probes = [PaneProbe(p) for p in panes]
    try:
        await asyncio.gather(*(p.start(80, 24) for p in panes))
        await probes[0].shell("echo a$((1+1))", rb"a2")
        await probes[1].shell("echo b$((1+2))", rb"b3")
        assert (await pool.runner.run("node", ["echo", "probe"])).stdout == "probe\n"
    finally:
        for pane in panes:
            await pane.close()
        await pool.close()
    assert len(re.findall("Accepted publickey", sshd.log())) == 1


async def test_keepalive_detects_a_dead_link_then_the_panes_reconnect(ssh_world, sshd):
    ssh_world.trust(sshd)
    host = _host(sshd, ssh_world, keepalive={"interval": 1, "count_max": 2})
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts, connect_timeout=2)
    panes = [pool.open_pane("node"), pool.open_pane("node")]
    probes = [PaneProbe(p) for p in panes]
    frozen: list[int] = []
    try:
        for pane, probe in zip(panes, probes, strict=True):
            await pane.start(80, 24)
            await probe.shell("echo before $((6*7))", rb"before 42")
        frozen = sshd.freeze()  # no FIN, no RST: only keepalive can notice
        for probe in probes:
            found = await probe.wait_for(
                rb"\[hascreen\] disconnected \xe2\x80\x94 reconnecting in 1s \(([^)]*)\)", 15
            )
            assert b"keepalive" in found.group(1)
        await probes[0].wait_for(
            rb"\[hascreen\] reconnect failed \([^\r]*\) \xe2\x80\x94 retrying in \d+s", 15
        )
        sshd.thaw(frozen)
        frozen = []
        for probe in probes:
            await probe.wait_for(
                rb"\[hascreen\] reconnected to node after \d+s \(\d+ attempts\); new shell", 40
            )
            await probe.shell("echo after $((6*9))", rb"after 54")
        assert [p.exits for p in probes] == [[], []] and [p.reconnects for p in panes] == [1, 1]
    finally:
        sshd.thaw(frozen)
        for pane in panes:
            await pane.close()
        await pool.close()
    # Both panes came back on one shared new connection.
    assert len(re.findall("Accepted publickey", sshd.log())) == 2


async def test_reconnect_now_reopens_at_once(ssh_world, sshd):
    ssh_world.trust(sshd)
    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node")
    probe = PaneProbe(pane)
    try:
        await pane.start(80, 24)
        await probe.shell("echo one $((1+1))", rb"one 2")
        pane.reconnect_now()
        await probe.wait_for(rb"disconnected \xe2\x80\x94 reconnecting now \(reconnect requested\)", 10)
        await probe.wait_for(rb"reconnected to node after \d+s \(1 attempt\)", 10)
        await probe.shell("echo two $((1+2))", rb"two 3")
    finally:
        await pane.close()
        await pool.close()
    assert len(re.findall("Accepted publickey", sshd.log())) == 2


async def test_remote_tmux_keeps_the_shell_across_a_reconnect(ssh_world, sshd):
    ssh_world.trust(sshd)
    host = _host(sshd, ssh_world, remote_multiplexer="tmux")
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node", pane_id="t1")
    probe = PaneProbe(pane)
    try:
        await pane.start(80, 24)
        await probe.shell("echo ready $((2+3))", rb"ready 5", timeout=15)  # tmux and its shell are up
        await probe.shell("export HS_MARK=kept-$((40+2)); echo mark=$HS_MARK", rb"mark=kept-42")
        pane.reconnect_now()
        await probe.wait_for(
            rb"reconnected to node after \d+s \(1 attempt\); re-entered tmux session hascreen-t1", 10
        )
        await probe.shell("echo mark=$HS_MARK", rb"mark=kept-42")
    finally:
        await pane.close()
        await pool.close()
        killer = await asyncio.create_subprocess_exec(
            "tmux", "kill-server", env={"TMUX_TMPDIR": str(sshd.tmux_tmpdir), "PATH": "/usr/bin:/bin"}
        )
        await asyncio.wait_for(killer.wait(), 10)


async def test_unknown_host_key_refuses_the_pane(ssh_world, sshd):
    from tui.ssh import HostKeyUnknown

    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node")
    try:
        with pytest.raises(HostKeyUnknown, match=re.escape(sshd.fingerprint)):
            await pane.start(80, 24)
    finally:
        await pane.close()
        await pool.close()


async def test_a_host_key_changed_during_the_outage_stops_the_reconnects(ssh_world, sshd):
    ssh_world.trust(sshd)
    pool = SshPool({"node": _host(sshd, ssh_world)}, known_hosts=ssh_world.known_hosts)
    pane = pool.open_pane("node")
    probe = PaneProbe(pane)
    try:
        await pane.start(80, 24)
        await probe.shell("echo up $((2*2))", rb"up 4")
        # The "reinstalled" host: known_hosts now pins another key for the same endpoint.
        other = keygen(ssh_world.root / "other_key").with_suffix(".pub").read_text().split()
        ssh_world.known_hosts.write_text(f"[{sshd.address}]:{sshd.port} {other[0]} {other[1]}\n")
        pane.reconnect_now()
        await probe.wait_for(rb"REMOTE HOST IDENTIFICATION HAS CHANGED", 10)
        await probe.wait_for(rb"not reconnecting: host key refused", 10)
        await asyncio.wait_for(_until(lambda: probe.exits), 10)
        assert probe.exits == ["host key refused"]
        assert sshd.fingerprint.encode() in probe.output
    finally:
        await pane.close()
        await pool.close()
    assert len(re.findall("Accepted publickey", sshd.log())) == 1, "never authenticated to the changed host"
