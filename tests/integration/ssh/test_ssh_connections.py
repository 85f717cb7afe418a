"""SshPool against real OpenSSH sshd: ssh-agent and IdentityFile auth, ProxyJump, strict host keys."""

from __future__ import annotations

import asyncio
import re

import pytest
from sshd_harness import TestHost, fingerprint, free_port, keygen

from tui.runner import HostUnreachable
from tui.ssh import HostKeyChanged, HostKeyUnknown, SshPool


def _accepted(log: str) -> list[str]:
    return re.findall(r"Accepted publickey for root from \S+ port \d+ ssh2: ED25519 (SHA256:\S+)", log)


async def test_identity_file_and_host_from_ssh_config(ssh_world, sshd):
    ssh_world.trust(sshd)
    ssh_world.ssh_config.write_text(
        f"Host target\n  HostName {sshd.address}\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {ssh_world.client_key}\n"
    )
    pool = SshPool({})  # "target" is only in ~/.ssh/config; known_hosts and config come from $HOME
    try:
        result = await pool.runner.run("target", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    finally:
        await pool.close()
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert _accepted(sshd.log()) == [fingerprint(ssh_world.client_key.with_suffix(".pub"))]
    assert "kex: client->server cipher: aes256-gcm@openssh.com" in sshd.log()  # the fast AEAD first


async def test_ciphers_from_ssh_config_are_honoured(ssh_world, sshd):
    ssh_world.trust(sshd)
    ssh_world.ssh_config.write_text(
        f"Host target\n  HostName {sshd.address}\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {ssh_world.client_key}\n  Ciphers aes128-ctr\n"
    )
    pool = SshPool({})
    try:
        assert (await pool.runner.run("target", ["true"])).exit_code == 0
    finally:
        await pool.close()
    assert "kex: client->server cipher: aes128-ctr" in sshd.log()


async def test_key_from_ssh_agent(ssh_world, sshd, ssh_agent):
    ssh_world.trust(sshd)
    host = TestHost("node", address=sshd.address, port=sshd.port, user="root")
    # Control: the key is nowhere on disk where the client looks, so without the agent auth must fail.
    no_agent = SshPool({"node": host}, known_hosts=ssh_world.known_hosts, agent_path="")
    with pytest.raises(HostUnreachable, match="authentication failed"):
        await no_agent.runner.run("node", ["true"])
    await no_agent.close()

    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)  # agent from SSH_AUTH_SOCK
    try:
        result = await pool.runner.run("node", ["echo", "via agent"])
    finally:
        await pool.close()
    assert result.stdout == "via agent\n"
    assert _accepted(sshd.log()) == [fingerprint(ssh_world.client_key.with_suffix(".pub"))]


@pytest.mark.parametrize("where", ["ssh_config", "ssh_config_user_at_host_port", "hosts_yaml"])
async def test_proxyjump_goes_through_the_jump_host(ssh_world, sshd_factory, where):
    bastion = sshd_factory("127.0.0.1", "bastion")
    target = sshd_factory("127.0.0.2", "target")
    ssh_world.trust(bastion, target)
    key = ssh_world.client_key
    if where == "ssh_config":
        ssh_world.ssh_config.write_text(
            f"Host bastion\n  HostName 127.0.0.1\n  Port {bastion.port}\n  User root\n  IdentityFile {key}\n"
            f"Host inner\n  HostName 127.0.0.2\n  Port {target.port}\n  User root\n  IdentityFile {key}\n"
            "  ProxyJump bastion\n"
        )
        pool = SshPool({})
        jump_name = "bastion"
    elif where == "ssh_config_user_at_host_port":
        # A hop that is neither in hosts.yaml nor a Host alias: its key comes from a `Host 127.0.0.1` block.
        ssh_world.ssh_config.write_text(
            f"Host inner\n  HostName 127.0.0.2\n  Port {target.port}\n  User root\n  IdentityFile {key}\n"
            f"  ProxyJump root@127.0.0.1:{bastion.port}\n"
            f"Host 127.0.0.1\n  IdentityFile {key}\n"
        )
        pool = SshPool({})
        jump_name = f"root@127.0.0.1:{bastion.port}"
    else:
        hosts = {
            "gw": TestHost("gw", "127.0.0.1", bastion.port, "root", identity=str(key)),
            "inner": TestHost("inner", "127.0.0.2", target.port, "root", jump="gw", identity=str(key)),
        }
        pool = SshPool(hosts, known_hosts=ssh_world.known_hosts)
        jump_name = "gw"
    try:
        result = await pool.runner.run("inner", ["sh", "-c", 'echo "$SSH_CONNECTION"'])
        assert pool.is_connected(jump_name), "the jump connection is pooled and shared"
    finally:
        await pool.close()
    # The target saw the connection arrive from the bastion's forward, not from us directly.
    assert result.stdout.split()[2:] == ["127.0.0.2", str(target.port)]
    forwards = re.findall(r"direct_tcpip: originator \S* port \d+, target (\S+) port (\d+)", bastion.log())
    assert forwards == [("127.0.0.2", str(target.port))]
    assert len(_accepted(bastion.log())) == 1 and len(_accepted(target.log())) == 1


async def test_unknown_host_key_is_refused_with_its_fingerprint(ssh_world, sshd):
    host = TestHost("node", sshd.address, sshd.port, "root", identity=str(ssh_world.client_key))
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)
    try:
        with pytest.raises(HostKeyUnknown) as refused:
            await pool.runner.run("node", ["true"])
    finally:
        await pool.close()
    message = refused.value.reason
    assert sshd.fingerprint in message
    assert refused.value.fingerprint == sshd.fingerprint
    assert f"ssh-keyscan -p {sshd.port} {sshd.address}" in message
    log = sshd.log()
    assert f"Connection from {sshd.address}" in log  # the attempt did reach this sshd ...
    assert "userauth" not in log and "Accepted" not in log  # ... and never got as far as authenticating

    # The advice works: appending the offered line makes the host trusted.
    ssh_world.known_hosts.write_text(refused.value.known_hosts_line + "\n")
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)
    try:
        assert (await pool.runner.run("node", ["echo", "trusted now"])).stdout == "trusted now\n"
    finally:
        await pool.close()


async def test_unknown_host_behind_a_jump_host_is_refused_with_its_fingerprint(ssh_world, sshd_factory):
    bastion = sshd_factory("127.0.0.1", "bastion")
    target = sshd_factory("127.0.0.2", "target")
    ssh_world.trust(bastion)  # only the bastion is known
    key = str(ssh_world.client_key)
    hosts = {
        "gw": TestHost("gw", "127.0.0.1", bastion.port, "root", identity=key),
        "db": TestHost("db", "127.0.0.2", target.port, "root", jump="gw", identity=key),
    }
    pool = SshPool(hosts, known_hosts=ssh_world.known_hosts)
    try:
        with pytest.raises(HostKeyUnknown) as refused:
            await pool.runner.run("db", ["true"])
    finally:
        await pool.close()
    assert refused.value.fingerprint == target.fingerprint and target.fingerprint in refused.value.reason
    assert refused.value.known_hosts_line.startswith(f"[127.0.0.2]:{target.port} ssh-ed25519 ")
    assert "ssh-keyscan" not in refused.value.reason  # it could not reach the host from here
    assert "userauth" not in target.log() and f"target 127.0.0.2 port {target.port}" in bastion.log()


async def test_changed_host_key_is_refused_loudly(ssh_world, sshd):
    impostor = keygen(ssh_world.root / "old_host_key")
    old_key = impostor.with_suffix(".pub").read_text().split()
    ssh_world.known_hosts.write_text(f"[{sshd.address}]:{sshd.port} {old_key[0]} {old_key[1]}\n")
    host = TestHost("node", sshd.address, sshd.port, "root", identity=str(ssh_world.client_key))
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)
    try:
        with pytest.raises(HostKeyChanged) as refused:
            await pool.runner.run("node", ["true"])
    finally:
        await pool.close()
    message = refused.value.reason
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in message
    assert sshd.fingerprint in message
    assert refused.value.expected == [fingerprint(impostor.with_suffix(".pub"))]
    assert f"ssh-keygen -f {ssh_world.known_hosts} -R '[{sshd.address}]:{sshd.port}'" in message
    log = sshd.log()
    assert f"Connection from {sshd.address}" in log
    assert "userauth" not in log and "Accepted" not in log


async def test_runner_exit_codes_output_stdin_quoting_and_timeout(ssh_world, sshd):
    ssh_world.trust(sshd)
    host = TestHost("node", sshd.address, sshd.port, "root", identity=str(ssh_world.client_key))
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts, max_commands_per_host=2)
    run = pool.runner.run
    try:
        assert (await run("node", ["true"])).exit_code == 0
        with pytest.raises(ValueError):
            await run("node", [])
        with pytest.raises(TypeError):
            await run("node", "echo a shell string")
        assert (await run("node", ["sh", "-c", "exit 42"])).exit_code == 42
        assert (await run("node", ["sh", "-c", "kill -TERM $$"])).exit_code == 128 + 15
        tricky = 'it\'s a $HOME `id` "quoted" ; rm -rf /nonexistent'
        assert (await run("node", ["printf", "%s", tricky])).stdout == tricky
        dump = b"".join(b"row %d\n" % i for i in range(20000))
        piped = await run("node", ["sh", "-c", "wc -l; echo done >&2"], stdin=dump)
        assert (piped.stdout.strip(), piped.stderr) == ("20000", "done\n")
        slow = await run("node", ["sh", "-c", "echo started; sleep 30"], timeout=1.0)
        assert slow.exit_code == 124 and slow.stdout == "started\n" and "timed out" in slow.stderr
        # More concurrent commands than the per-host limit: they queue, none fails.
        results = await asyncio.gather(*(run("node", ["echo", str(i)]) for i in range(6)))
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]
    finally:
        await pool.close()
    assert len(_accepted(sshd.log())) == 1, "all commands shared one connection"


async def test_unreachable_host_raises_with_reason(ssh_world):
    port = free_port()
    host = TestHost("ghost", "127.0.0.1", port, "root", identity=str(ssh_world.client_key))
    pool = SshPool({"ghost": host}, known_hosts=ssh_world.known_hosts)
    try:
        with pytest.raises(HostUnreachable) as err:
            await pool.runner.run("ghost", ["true"])
    finally:
        await pool.close()
    assert err.value.host == "ghost"
    assert err.value.reason == f"ssh: connect to host 127.0.0.1 port {port}: Connection refused"


async def test_connection_lost_during_a_command_raises_host_unreachable(ssh_world, sshd):
    ssh_world.trust(sshd)
    host = TestHost(
        "node",
        sshd.address,
        sshd.port,
        "root",
        identity=str(ssh_world.client_key),
        keepalive={"interval": 1, "count_max": 1},
    )
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts, connect_timeout=2)
    frozen: list[int] = []
    try:
        assert (await pool.runner.run("node", ["true"])).exit_code == 0
        command = asyncio.ensure_future(pool.runner.run("node", ["sleep", "20"], timeout=30))
        await asyncio.sleep(0.5)
        frozen = sshd.freeze()
        with pytest.raises(HostUnreachable, match="keepalive"):
            await asyncio.wait_for(command, 15)
        with pytest.raises(HostUnreachable, match="timed out"):  # still frozen: the reconnect fails too
            await pool.runner.run("node", ["true"])
        sshd.thaw(frozen)
        frozen = []
        assert (await pool.runner.run("node", ["echo", "back"])).stdout == "back\n"
    finally:
        sshd.thaw(frozen)
        await pool.close()


async def test_streaming_runner_hands_over_output_while_the_command_runs(ssh_world, sshd, tmp_path):
    """The command waits for a file that the test creates only after the first line arrived: without
    streaming it would never get past its first line (and time out)."""
    ssh_world.trust(sshd)
    host = TestHost("node", sshd.address, sshd.port, "root", identity=str(ssh_world.client_key))
    pool = SshPool({"node": host}, known_hosts=ssh_world.known_hosts)
    go = tmp_path / "go"
    script = ("echo first; echo 'to stderr' >&2; i=0; "
              f"while [ ! -e {go} ] && [ $i -lt 200 ]; do sleep 0.05; "
              f"i=$((i+1)); done; [ -e {go} ] || exit 7; printf 'second\\nno newline at the end'")
    chunks: list[tuple[str, str]] = []

    def on_output(stream: str, text: str) -> None:
        chunks.append((stream, text))
        if "first" in text:
            go.touch()

    try:
        result = await pool.runner.run_streaming("node", ["sh", "-c", script], on_output=on_output, timeout=20)
        slow = await pool.runner.run_streaming("node", ["sh", "-c", "echo started; sleep 30"],
                                               on_output=lambda s, t: None, timeout=1.0)
    finally:
        await pool.close()
    assert result.exit_code == 0
    assert result.stdout == "first\nsecond\nno newline at the end" and result.stderr == "to stderr\n"
    assert "".join(t for s, t in chunks if s == "stdout") == result.stdout
    assert ("stderr", "to stderr\n") in chunks
    assert chunks.index(next(c for c in chunks if "first" in c[1])) < chunks.index(
        next(c for c in chunks if "second" in c[1]))
    assert slow.exit_code == 124 and slow.stdout == "started\n" and "timed out" in slow.stderr
