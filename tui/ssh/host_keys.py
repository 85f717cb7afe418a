"""Strict host-key checking: the known_hosts file, and the refusals when a host is unknown or changed.

Owns `load_known_hosts` (always a real SSHKnownHosts object: never None, which would turn checking off,
and never empty bytes, which asyncssh would silently replace by ~/.ssh/known_hosts), and
`explain_host_key_failure`, which turns asyncssh's terse "Host key is not trusted" into either
`HostKeyUnknown` (with the offered key's SHA256 fingerprint and how to accept it) or `HostKeyChanged`
(OpenSSH's loud warning). The offered key is fetched by a separate key-exchange-only connection
(`asyncssh.get_server_host_key`), which never authenticates.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shlex
from pathlib import Path

import asyncssh

from tui.runner import HostUnreachable
from tui.ssh.settings import HostSettings


class HostKeyUnknown(HostUnreachable):
    """known_hosts has no key for this host: refused, never prompted."""

    def __init__(
        self, host: str, reason: str, *, fingerprint: str | None, known_hosts_line: str | None
    ) -> None:
        super().__init__(host, reason)
        self.fingerprint = fingerprint
        self.known_hosts_line = known_hosts_line


class HostKeyChanged(HostUnreachable):
    """known_hosts has a different key for this host: possible man-in-the-middle, refused loudly."""

    def __init__(self, host: str, reason: str, *, fingerprint: str | None, expected: list[str]) -> None:
        super().__init__(host, reason)
        self.fingerprint = fingerprint
        self.expected = expected


def load_known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    """Read known_hosts; a missing file means "nothing is trusted yet", not "trust everything"."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    return asyncssh.import_known_hosts(text)


def _ip_or_empty(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def trusted_keys_for(known: asyncssh.SSHKnownHosts, settings: HostSettings) -> list[asyncssh.SSHKey]:
    """The host keys and CA keys known_hosts holds for this host (matched as OpenSSH matches)."""
    port = None if settings.port == 22 else settings.port
    matched = known.match(settings.address, _ip_or_empty(settings.address), port)
    unique: dict[bytes, asyncssh.SSHKey] = {}
    for key in [*matched[0], *matched[1]]:  # host and address may both match the same entry
        unique.setdefault(key.public_data, key)
    return list(unique.values())


async def fetch_offered_key(
    settings: HostSettings, tunnel: object | None, timeout: float
) -> asyncssh.SSHKey | None:
    """The key the server presents; a key exchange only, no authentication. None if unreachable."""
    try:
        return await asyncio.wait_for(
            asyncssh.get_server_host_key(settings.address, settings.port, tunnel=tunnel, config=[]),
            timeout,
        )
    except (TimeoutError, OSError, asyncssh.Error):
        return None


def _known_hosts_line(settings: HostSettings, key: asyncssh.SSHKey) -> str:
    return f"{settings.endpoint} {key.export_public_key().decode('ascii').strip()}"


async def explain_host_key_failure(
    settings: HostSettings, known_hosts_path: Path, tunnel: object | None, error: Exception
) -> HostUnreachable:
    """Build the refusal for a connection that failed the host-key check (or found no common key type)."""
    known = load_known_hosts(known_hosts_path)
    trusted = trusted_keys_for(known, settings)
    offered = await fetch_offered_key(settings, tunnel, settings.connect_timeout)
    fingerprint = offered.get_fingerprint("sha256") if offered else None
    offered_text = (
        f"{offered.get_algorithm()} key {fingerprint}" if offered else "a key (could not fetch it again)"
    )
    kh = shlex.quote(str(known_hosts_path))
    if offered is None and isinstance(error, asyncssh.KeyExchangeFailed):
        # No key to show either way: a plain key-exchange failure (no common algorithm ...).
        return HostUnreachable(settings.name, f"{settings.endpoint}: key exchange failed: {error}")
    if not trusted:
        line = _known_hosts_line(settings, offered) if offered else None
        scan = "ssh-keyscan " + (f"-p {settings.port} " if settings.port != 22 else "") + settings.address
        lines = [
            f"host key of {settings.name} ({settings.endpoint}) is unknown: not in {known_hosts_path}; refusing to connect.",
            f"The server offered {offered_text}.",
            "Check that fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then accept it with",
        ]
        if line:
            lines.append(f"  echo {shlex.quote(line)} >> {kh}")
        if not settings.jump:
            lines.append(f"  or: {scan} >> {kh}   (and compare the fingerprint with ssh-keygen -lf {kh})")
        return HostKeyUnknown(settings.name, "\n".join(lines), fingerprint=fingerprint, known_hosts_line=line)
    expected = [key.get_fingerprint("sha256") for key in trusted]
    if offered is not None and any(key == offered for key in trusted):
        # The key matches after all: the failure was something else (e.g. no common algorithm).
        return HostUnreachable(settings.name, f"key exchange failed: {error}")
    lines = [
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        f"The host key of {settings.name} ({settings.endpoint}) does not match {known_hosts_path}.",
        "Someone could be eavesdropping on you right now (man-in-the-middle), or the host was reinstalled.",
        f"The server offered {offered_text}; known_hosts expects {', '.join(expected)}.",
        "hascreen did NOT connect. If the change is expected and you checked the new fingerprint, remove the old key with",
        f"  ssh-keygen -f {kh} -R {shlex.quote(settings.endpoint)}",
    ]
    return HostKeyChanged(settings.name, "\n".join(lines), fingerprint=fingerprint, expected=expected)
