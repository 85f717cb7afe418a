"""One SSH connection per host, shared by that host's panes and health probes (like ControlMaster).

Owns `SshPool`: it resolves a host's settings (hosts.yaml + ~/.ssh/config), opens the connection with
strict known_hosts checking, keepalive, the ssh-agent and IdentityFiles, goes through jump hosts with
the jump host's own pooled connection as the tunnel, and reopens a connection that was lost. Panes
(`open_pane`) and the command runner (`runner`) only ever borrow connections from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from tui.runner import HostUnreachable
from tui.ssh.host_keys import HostKeyChanged, HostKeyUnknown, explain_host_key_failure, load_known_hosts
from tui.ssh.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEEPALIVE_COUNT_MAX,
    DEFAULT_KEEPALIVE_INTERVAL,
    HostSettings,
    HostSettingsError,
    parse_hop,
    resolve_host_settings,
)

log = logging.getLogger("hascreen.ssh")  # under "hascreen": the server log takes it


def _fast_ciphers_first() -> list[str]:
    """asyncssh's default ciphers with AES-GCM ahead of chacha20-poly1305.

    asyncssh builds chacha20-poly1305 from three fresh `cryptography` cipher objects per packet; AES-GCM
    reuses one. Measured with bench/ssh_echo.py: keystroke echo ~0.58 ms with AES-GCM against ~0.73 ms
    with chacha20. Both are AEAD ciphers that OpenSSH offers by default, so security is unchanged."""
    defaults = [alg.decode("ascii") for alg in get_default_encryption_algs()]
    gcm = [alg for alg in defaults if "gcm" in alg]
    return gcm + [alg for alg in defaults if alg not in gcm]


PREFERRED_CIPHERS = _fast_ciphers_first()

# Longer jump chains are refused (loops are caught by name before that).
MAX_JUMP_DEPTH = 8

HostLookup = Callable[[str], object | None]


def connect_error_text(settings: HostSettings, exc: OSError) -> str:
    """A failed TCP connect in OpenSSH's words, so that it reads (and greps) like `ssh` would say it:
    "ssh: Could not resolve hostname X: Name or service not known" (asyncio's errno there is a
    getaddrinfo code, which os.strerror calls "Unknown error -2"), "ssh: connect to host X port 22:
    Connection refused", "... Connection timed out", "... No route to host"."""
    if isinstance(exc, socket.gaierror):
        return f"ssh: Could not resolve hostname {settings.address}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError) and not exc.errno:
        why = "Connection timed out"
    elif exc.errno:  # asyncio's text is "Connect call failed (addr)"; the errno says why
        why = os.strerror(exc.errno)
    else:
        why = str(exc)
    return f"ssh: connect to host {settings.address} port {settings.port}: {why}"


def _as_lookup(hosts: object) -> HostLookup:
    """Accept a HostsConfig (has .hosts), a mapping name → Host, or a callable name → Host | None."""
    if hosts is None:
        return lambda name: None
    table = getattr(hosts, "hosts", None)
    if isinstance(table, Mapping):
        return table.get
    if isinstance(hosts, Mapping):
        return hosts.get
    if callable(hosts):
        return hosts  # type: ignore[return-value]
    raise TypeError(f"hosts must be a HostsConfig, a mapping or a callable, not {type(hosts).__name__}")


@dataclass
class _AdHocHop:
    """A ProxyJump hop that is not in hosts.yaml: `[user@]host[:port]`, resolved through ~/.ssh/config."""

    name: str
    user: str | None
    port: int | None
    jump: tuple[str, ...]
    address: None = None


@dataclass
class _Entry:
    conn: asyncssh.SSHClientConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_lost_reason: str | None = None
    generation: int = 0
    failure: HostUnreachable | None = None
    failed_at: float = 0.0


class _PoolClient(asyncssh.SSHClient):
    """Tells the pool why a connection ended (keepalive timeout, reset ...)."""

    def __init__(self, pool: SshPool, key: str) -> None:
        self._pool = pool
        self._key = key
        self._conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._pool._connection_lost(self._key, self._conn, exc)


class SshPool:
    """Shared SSH connections, keyed by host name (hosts.yaml name or ~/.ssh/config alias)."""

    def __init__(
        self,
        hosts: object = None,
        *,
        known_hosts: str | os.PathLike[str] | None = None,
        ssh_config: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
        agent_path: str | None = None,
        keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL,
        keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_commands_per_host: int = 4,
    ) -> None:
        self._lookup = _as_lookup(hosts)
        home_ssh = Path(os.path.expanduser("~")) / ".ssh"
        # Strict host keys: there is deliberately no way to turn checking off.
        self.known_hosts_path = Path(known_hosts) if known_hosts is not None else home_ssh / "known_hosts"
        if ssh_config is None:
            self.ssh_config_paths = [home_ssh / "config"]
        elif isinstance(ssh_config, str | os.PathLike):
            self.ssh_config_paths = [Path(ssh_config)]
        else:
            self.ssh_config_paths = [Path(p) for p in ssh_config]
        self._agent_path = agent_path
        self._keepalive = (keepalive_interval, keepalive_count_max)
        self._connect_timeout = connect_timeout
        self.max_commands_per_host = max_commands_per_host
        self._entries: dict[str, _Entry] = {}
        self._adhoc: dict[str, _AdHocHop] = {}
        self._runner: object | None = None
        self._closed = False
        # Connections closed on purpose (drop); their channels end without an error to tell why.
        self._dropped: weakref.WeakSet[asyncssh.SSHClientConnection] = weakref.WeakSet()

    # ----------------------------------------------------------------- settings

    def settings(self, name: str) -> HostSettings:
        """Resolved settings for a host; raises HostUnreachable if they are unusable."""
        try:
            host = self._adhoc.get(name) or self._lookup(name)
        except KeyError:  # a lookup callable may raise instead of returning None
            host = None
        try:
            return resolve_host_settings(
                getattr(host, "name", None) or name,
                host,
                ssh_config=self.ssh_config_paths,
                agent_path=self._agent_path,
                keepalive_interval=self._keepalive[0],
                keepalive_count_max=self._keepalive[1],
                connect_timeout=self._connect_timeout,
            )
        except HostSettingsError as exc:
            raise HostUnreachable(name, str(exc)) from exc

    def _known(self, name: str) -> bool:
        try:
            return self._lookup(name) is not None
        except KeyError:
            return False

    def _hop_key(self, spec: str, previous: tuple[str, ...]) -> str:
        """The pool key for one jump hop: a hosts.yaml name as is, else an ad-hoc ssh-config hop."""
        if not previous and self._known(spec):
            return spec
        user, host, port = parse_hop(spec)
        if user is None and port is None and not previous and host == spec:
            return spec  # a bare ~/.ssh/config alias: its own ProxyJump (if any) applies
        key = ",".join((*previous, spec))
        self._adhoc.setdefault(key, _AdHocHop(name=host, user=user, port=port, jump=previous))
        return key

    # -------------------------------------------------------------- connections

    def is_connected(self, name: str) -> bool:
        entry = self._entries.get(name)
        return bool(entry and entry.conn is not None and not entry.conn.is_closed())

    def was_dropped(self, conn: asyncssh.SSHClientConnection) -> bool:
        """True for a connection the pool dropped on purpose: its users reconnect instead of exiting."""
        return conn in self._dropped

    @property
    def closed(self) -> bool:
        return self._closed

    def lost_reason(self, name: str) -> str | None:
        entry = self._entries.get(name)
        return entry.last_lost_reason if entry else None

    async def connection(self, name: str, *, _via: tuple[str, ...] = ()) -> asyncssh.SSHClientConnection:
        """The host's shared connection, opened (or reopened) on demand. Raises HostUnreachable."""
        if self._closed:
            raise HostUnreachable(name, "the SSH pool is closed")
        if name in _via:  # checked before taking the lock, which the outer hop already holds
            raise HostUnreachable(name, "jump hosts form a loop: " + " -> ".join((*_via, name)))
        if len(_via) > MAX_JUMP_DEPTH:
            raise HostUnreachable(name, f"jump chain deeper than {MAX_JUMP_DEPTH} hops")
        entry = self._entries.setdefault(name, _Entry())
        asked_at = time.monotonic()
        async with entry.lock:
            if entry.conn is not None and not entry.conn.is_closed():
                return entry.conn
            # Single flight: callers that queued behind an attempt that just failed share its failure,
            # so five panes of a dead host do not wait for five connect timeouts in a row.
            if entry.failure is not None and entry.failed_at >= asked_at:
                raise entry.failure
            try:
                entry.conn = await self._open(name, (*_via, name))
            except HostUnreachable as exc:
                if isinstance(exc, (HostKeyUnknown, HostKeyChanged)) and (
                        entry.failure is None or entry.failure.reason != exc.reason):
                    # the whole refusal (fingerprint, the exact remedy) once per change, for the log reader
                    log.warning("%s: refused: %s", name, exc.reason)
                entry.failure, entry.failed_at = exc, time.monotonic()
                raise
            entry.failure = None
            entry.generation += 1
            return entry.conn

    async def _open(self, name: str, chain: tuple[str, ...]) -> asyncssh.SSHClientConnection:
        settings = self.settings(name)
        tunnel: asyncssh.SSHClientConnection | None = None
        if settings.jump:
            hops = settings.jump
            try:
                hop_key = self._hop_key(hops[-1], hops[:-1])
            except HostSettingsError as exc:
                raise HostUnreachable(name, str(exc)) from exc
            try:
                tunnel = await self.connection(hop_key, _via=chain)
            except HostUnreachable as exc:
                raise HostUnreachable(name, f"via jump host {hops[-1]}: {exc.reason}") from exc
        known = load_known_hosts(self.known_hosts_path)
        options: dict[str, object] = {
            "known_hosts": known,
            "config": [],  # already applied by resolve_host_settings (looked up by host name)
            "tunnel": tunnel,
            "keepalive_interval": settings.keepalive_interval,
            "keepalive_count_max": settings.keepalive_count_max,
            "connect_timeout": settings.connect_timeout,
            "agent_path": settings.agent_path or None,
            "encryption_algs": settings.ciphers or PREFERRED_CIPHERS,
            "client_factory": lambda: _PoolClient(self, name),
        }
        if settings.user:
            options["username"] = settings.user
        if settings.identities:
            options["client_keys"] = list(settings.identities)
            # A passphrase-protected key file is skipped (its unlocked copy in the agent is used), as ssh does.
            options["ignore_encrypted"] = True
        assert options["known_hosts"] is not None  # never let a refactor turn host-key checking off
        try:
            return await asyncio.wait_for(
                asyncssh.connect(settings.address, settings.port, **options),  # type: ignore[arg-type]
                settings.connect_timeout + 5,
            )
        except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
            raise await explain_host_key_failure(settings, self.known_hosts_path, tunnel, exc) from exc
        except asyncssh.PermissionDenied as exc:
            raise HostUnreachable(
                name,
                f"authentication failed for {settings.user or 'default user'}@{settings.endpoint}: {exc.reason}",
            ) from exc
        except asyncssh.DisconnectError as exc:
            raise HostUnreachable(name, f"{settings.endpoint}: {exc.reason}") from exc
        except TimeoutError as exc:
            raise HostUnreachable(name, connect_error_text(settings, exc)) from exc
        except asyncssh.ChannelOpenError as exc:
            raise HostUnreachable(
                name, f"jump host could not reach {settings.endpoint}: {exc.reason}"
            ) from exc
        except OSError as exc:
            raise HostUnreachable(name, connect_error_text(settings, exc)) from exc
        except (asyncssh.Error, ValueError) as exc:
            # ValueError: asyncssh's way to report an unreadable IdentityFile and similar.
            raise HostUnreachable(name, f"{settings.endpoint}: {exc}") from exc

    def _connection_lost(self, key: str, conn: object, exc: Exception | None) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        if entry.conn is conn:  # else it was dropped on purpose and already has its reason
            entry.conn = None
            entry.last_lost_reason = str(exc) if exc else "connection closed"

    def drop(self, name: str) -> None:
        """Abort the host's connection now (the `reconnect` command); its users reconnect."""
        entry = self._entries.get(name)
        if entry and entry.conn is not None:
            conn, entry.conn = entry.conn, None
            entry.last_lost_reason = "reconnect requested"
            self._dropped.add(conn)
            conn.abort()

    # ----------------------------------------------------------------- users

    @property
    def runner(self):  # -> SshRunner (imported lazily: runner imports pool)
        if self._runner is None:
            from tui.ssh.command_runner import SshRunner

            self._runner = SshRunner(self, max_per_host=self.max_commands_per_host)
        return self._runner

    def open_pane(self, host: str, *, pane_id: str | None = None):  # -> SshPane
        """A PaneBackend for an interactive shell on host (not started yet)."""
        from tui.ssh.pane import SshPane

        return SshPane(self, host, pane_id=pane_id)

    async def close(self) -> None:
        """Close every connection (targets before their jump hosts: targets were registered first)."""
        self._closed = True
        conns = [e.conn for e in self._entries.values() if e.conn is not None]
        for entry in self._entries.values():
            entry.conn = None
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)
