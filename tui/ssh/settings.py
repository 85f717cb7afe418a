"""Where and how to reach one host: hosts.yaml settings merged with ~/.ssh/config, OpenSSH style.

Owns `HostSettings` (the resolved address, port, user, identities, jump chain, keepalive, remote
multiplexer) and `resolve_host_settings`, which looks the hosts.yaml name up in the OpenSSH client config
(Host, HostName, User, Port, IdentityFile, ProxyJump, IdentityAgent, ServerAlive*, ConnectTimeout).
Explicit hosts.yaml values win over the config file, as command-line options do for `ssh`.

The hosts.yaml entry is duck-typed (name, address, port, user, jump, identity, keepalive,
remote_multiplexer; any may be missing) so this package does not depend on tui.config's classes.
tui.config fills defaults in (address = the name, port 22, keepalive 15, remote_multiplexer "none"), so
those values count as "not set" and ~/.ssh/config's HostName, Port and ServerAliveInterval apply, as
they would for `ssh NAME`. (An explicit `port: 22` next to a different Port in ~/.ssh/config therefore
loses; write the address or port in one place.)
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# asyncssh's OpenSSH config parser; a public module of the pinned asyncssh 2.24.1 but not re-exported.
from asyncssh.config import SSHClientConfig

DEFAULT_SSH_PORT = 22
DEFAULT_KEEPALIVE_INTERVAL = 15.0
DEFAULT_KEEPALIVE_COUNT_MAX = 3
DEFAULT_CONNECT_TIMEOUT = 10.0
REMOTE_MULTIPLEXERS = ("tmux", "screen", "dtach")


class HostSettingsError(ValueError):
    """A host's settings cannot be used (bad port, unknown multiplexer, unreadable ssh config ...)."""


@dataclass(frozen=True)
class HostSettings:
    """Everything needed to open (and reopen) the SSH connection to one host."""

    name: str
    address: str
    port: int = DEFAULT_SSH_PORT
    user: str = ""
    identities: tuple[str, ...] = ()
    # Hops to go through, first to last, each a hosts.yaml name or an OpenSSH `[user@]host[:port]`.
    jump: tuple[str, ...] = ()
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    agent_path: str | None = None
    remote_multiplexer: str | None = None
    ciphers: str | None = None  # ~/.ssh/config Ciphers, passed through as OpenSSH spells it

    @property
    def endpoint(self) -> str:
        """`addr` or `[addr]:port`, as known_hosts and ssh-keyscan name it."""
        return self.address if self.port == DEFAULT_SSH_PORT else f"[{self.address}]:{self.port}"


def _attr(obj: object, name: str) -> object:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _keepalive_from_host(value: object) -> tuple[float | None, int | None]:
    """hosts.yaml `keepalive`: seconds (0 = off), or {interval, count_max}; None = not set."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return (DEFAULT_KEEPALIVE_INTERVAL if value else 0.0), None
    if isinstance(value, int | float):
        if value < 0:
            raise HostSettingsError(f"keepalive must be >= 0 seconds, got {value}")
        return float(value), None
    interval = _attr(value, "interval")
    count_max = _attr(value, "count_max")
    return (None if interval is None else float(interval)), (None if count_max is None else int(count_max))


def _split_jump(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        if value.strip().lower() == "none":
            return ()
        return tuple(hop.strip() for hop in value.split(",") if hop.strip())
    if isinstance(value, Sequence):
        return tuple(str(hop) for hop in value)
    raise HostSettingsError(f"jump must be a host name or a list of them, got {value!r}")


_HOP_RE = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]]+\]|[^:\s@]+)(?::(?P<port>\d+))?$")


def parse_hop(spec: str) -> tuple[str | None, str, int | None]:
    """`[user@]host[:port]` (OpenSSH ProxyJump syntax) → (user, host, port)."""
    match = _HOP_RE.match(spec.strip())
    if not match:
        raise HostSettingsError(f"cannot parse jump host {spec!r} (want [user@]host[:port])")
    port = int(match["port"]) if match["port"] else None
    return match["user"], match["host"].strip("[]"), port


def load_ssh_config(paths: Sequence[Path], name: str, user: str | None, port: int | None) -> SSHClientConfig:
    """The OpenSSH client config as it applies to `name` (what `ssh name` would use)."""
    readable = [Path(p) for p in paths if Path(p).is_file()]
    try:
        local_user = getpass.getuser()
    except (KeyError, OSError):
        local_user = "root" if os.getuid() == 0 else str(os.getuid())
    try:
        return SSHClientConfig.load(
            None, readable, False, False, False, local_user, user if user else (), name, port if port else ()
        )
    except (OSError, ValueError) as exc:
        raise HostSettingsError(f"ssh config {', '.join(map(str, readable))}: {exc}") from exc


def resolve_host_settings(
    name: str,
    host: object | None,
    *,
    ssh_config: Sequence[Path] = (),
    agent_path: str | None = None,
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL,
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> HostSettings:
    """Merge the hosts.yaml entry (may be None: a plain ssh-config alias) with the OpenSSH config."""
    port_value = _attr(host, "port")
    try:
        yaml_port = int(port_value) if port_value not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise HostSettingsError(f"{name}: port must be a number, got {port_value!r}") from exc
    if yaml_port == DEFAULT_SSH_PORT:
        yaml_port = None  # tui.config's default: let ~/.ssh/config's Port apply
    yaml_user = _attr(host, "user") or None
    config = load_ssh_config(ssh_config, name, yaml_user, yaml_port)

    yaml_address = _attr(host, "address")
    if yaml_address == name:
        yaml_address = None  # tui.config's default: let ~/.ssh/config's HostName apply
    address = str(yaml_address or config.get("Hostname") or name)
    port = yaml_port or int(config.get("Port", DEFAULT_SSH_PORT) or DEFAULT_SSH_PORT)
    if not 0 < port < 65536:
        raise HostSettingsError(f"{name}: port {port} is out of range")
    user = str(yaml_user or config.get("User") or "")

    identity = _attr(host, "identity")
    if identity:
        named = [identity] if isinstance(identity, str | os.PathLike) else list(identity)  # type: ignore[call-overload]
        identities = tuple(os.path.expanduser(str(i)) for i in named)
        for path in identities:
            if not os.path.isfile(path):
                raise HostSettingsError(f"{name}: identity file {path} does not exist")
    else:
        # Like OpenSSH, IdentityFile lines naming keys that do not exist are skipped silently.
        configured = (os.path.expanduser(str(i)) for i in (config.get("IdentityFile") or ()))
        identities = tuple(path for path in configured if os.path.isfile(path))

    jump = _split_jump(_attr(host, "jump")) or _split_jump(config.get("ProxyJump"))

    keepalive_value = _attr(host, "keepalive")
    if keepalive_value == DEFAULT_KEEPALIVE_INTERVAL and config.get("ServerAliveInterval") is not None:
        keepalive_value = None  # tui.config's default: ~/.ssh/config's ServerAliveInterval applies
    interval, count_max = _keepalive_from_host(keepalive_value)
    if interval is None and config.get("ServerAliveInterval") is not None:
        interval = float(config.get("ServerAliveInterval"))  # type: ignore[arg-type]
    if count_max is None and config.get("ServerAliveCountMax") is not None:
        count_max = int(config.get("ServerAliveCountMax"))  # type: ignore[call-overload]

    agent = agent_path
    if agent is None:
        configured = config.get("IdentityAgent")
        agent = os.path.expanduser(str(configured)) if configured else os.environ.get("SSH_AUTH_SOCK", "")
    if agent and agent.lower() == "none":
        agent = ""

    multiplexer = _attr(host, "remote_multiplexer") or None
    if multiplexer == "none":
        multiplexer = None
    if multiplexer is not None and multiplexer not in REMOTE_MULTIPLEXERS:
        raise HostSettingsError(
            f"{name}: remote_multiplexer must be one of {', '.join(REMOTE_MULTIPLEXERS)}, got {multiplexer!r}"
        )
    timeout = config.get("ConnectTimeout")
    return HostSettings(
        name=name,
        address=address,
        port=port,
        user=user,
        identities=identities,
        jump=jump,
        keepalive_interval=keepalive_interval if interval is None else interval,
        keepalive_count_max=keepalive_count_max if count_max is None else count_max,
        connect_timeout=float(timeout) if timeout else connect_timeout,  # type: ignore[arg-type]
        agent_path=agent or None,
        remote_multiplexer=str(multiplexer) if multiplexer else None,
        ciphers=str(config.get("Ciphers")) if config.get("Ciphers") else None,
    )
