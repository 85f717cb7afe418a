"""hosts.yaml: the hosts, HA clusters and window layouts hascreen opens, as typed frozen dataclasses.

`load_hosts(path)` validates the whole file before anything starts and raises ConfigErrors with every
problem at once (file:line: key: message): unknown keys with "did you mean", wrong types, missing fields,
invalid IPs, clusters that name unknown hosts, duplicate names, jump hosts that are unknown or loop.
Secrets never live here: MySQL credentials stay in an option file on the remote host, the provider API
token in a token file; keys that look like secrets are refused with a pointer to the right place.
docs/config.md documents the schema; the repository's hosts.yaml is an annotated example (the lab).
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from tui.config.checker import Checker, did_you_mean, join_path
from tui.config.errors import ConfigErrors
from tui.config.located_yaml import YamlEntry, YamlNode, parse_yaml, read_config_text

MANAGERS = ("keepalived", "heartbeat", "pacemaker", "none")
REMOTE_MULTIPLEXERS = ("none", "screen", "tmux", "dtach")
HEALTH_SOURCES = ("ssh", "prometheus", "auto")
DRBD_VERSIONS = ("9", "8.4")
LAYOUT_KINDS = ("per-node", "split")
SPLIT_DIRECTIONS = ("vertical", "horizontal")

_SECRET_HINT = "secrets never go in hosts.yaml"
HOST_HINTS = {
    "password": f"{_SECRET_HINT}: use a key (identity) or the ssh-agent",
    "passphrase": f"{_SECRET_HINT}: load the key into the ssh-agent",
    "hostname": 'unknown key (did you mean "address"?)',
}
MYSQL_HINTS = {
    name: f"{_SECRET_HINT}: put the credentials in option_file on the remote host (e.g. /root/.my.cnf)"
    for name in ("password", "passwd", "pass", "user", "username")
}
PROVIDER_HINTS = {
    name: f"{_SECRET_HINT}: give token_file, a file that holds the token"
    for name in ("token", "api_key", "apikey", "password", "secret")
}

_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_IPV4_LIKE = re.compile(r"^[0-9.]+$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


@dataclass(frozen=True)
class Defaults:
    user: str | None = None
    port: int = 22
    keepalive: int = 15  # seconds between SSH keepalives; 0 turns them off
    health_interval: float = 5.0  # seconds between health polls
    known_hosts: str | None = None  # a known_hosts file to use instead of ~/.ssh/known_hosts
    prometheus: str | None = None  # the Prometheus URL of clusters that do not name their own


@dataclass(frozen=True)
class Host:
    name: str
    address: str  # an IP (canonical form) or a DNS name; the name itself when not given
    port: int = 22
    user: str | None = None  # None: ~/.ssh/config or the local user decides
    jump: str | None = None  # the name of another host in this file (ProxyJump)
    tags: tuple[str, ...] = ()
    identity: str | None = None  # absolute path of a private key file
    remote_multiplexer: str = "none"  # none | screen | tmux | dtach
    keepalive: int = 15


@dataclass(frozen=True)
class DrbdSettings:
    resources: tuple[str, ...]
    version: str = "9"  # "9" or "8.4": which status commands and formats to expect
    # Shell commands a failover runs on the old Primary before `drbdadm secondary` (stop the device's
    # users: umount, stop nfs) and on the new Primary after `drbdadm primary` (mount, start them).
    before_demote: tuple[str, ...] = ()
    after_promote: tuple[str, ...] = ()
    # Who moves the Primary role in a failover: "hascreen" (drbdadm secondary/primary + the hooks) or the
    # "manager" (a heartbeat drbddisk / pacemaker promotable resource). None: hascreen under keepalived
    # (which moves only addresses), the manager under heartbeat and pacemaker.
    moved_by: str | None = None


@dataclass(frozen=True)
class MysqlSettings:
    master: str
    replicas: tuple[str, ...] = ()
    option_file: str | None = None  # absolute path on the remote host, passed as --defaults-extra-file
    port: int = 3306
    # A failover re-points the old master at the new one: the replication user, and a file on the nodes
    # holding its password (read there by the shell, fed to mysql on stdin: never in argv or a log).
    replication_user: str | None = None
    replication_password_file: str | None = None
    drain: str = "none"  # after read_only on the old master: "none" (let them fail) or "kill" client sessions
    catchup_timeout: int = 30  # seconds the target may take to apply everything the old master wrote


@dataclass(frozen=True)
class KeepalivedSettings:
    instance: str  # the vrrp_instance name, e.g. VI_1
    config_file: str = "/etc/keepalived/keepalived.conf"
    dump_dir: str = "/tmp"  # where SIGUSR1/SIGUSR2/JSON dumps land (keepalived.data, .stats, .json)
    log_file: str | None = None
    notify_state_file: str | None = None  # a file a notify script writes the state to
    pidfile: str = "/run/keepalived.pid"
    # a keepalived track_file (weight 0) in the instance: a failover writes 1 to it on the old holder (FAULT:
    # it releases the VIP with keepalived running), then 0 (it rejoins as BACKUP)
    release_file: str | None = None
    start_command: str | None = None  # shell command that starts keepalived on a node (fallback failover)


@dataclass(frozen=True)
class HeartbeatSettings:
    config_dir: str = "/etc/ha.d"
    resources: tuple[str, ...] = ()  # resource groups from haresources to watch
    node_names: dict[str, str] = field(default_factory=dict)  # host -> node name (uname -n) if different


@dataclass(frozen=True)
class PacemakerSettings:
    resources: tuple[str, ...] = ()  # resources to watch and move
    node_names: dict[str, str] = field(default_factory=dict)  # host -> cluster node name if different


@dataclass(frozen=True)
class VipSettings:
    address: str
    prefix: int
    interface: str
    gateway: str | None = None

    @property
    def with_prefix(self) -> str:
        return f"{self.address}/{self.prefix}"


@dataclass(frozen=True)
class ProviderIpSettings:
    api_url: str
    ip: str
    token_file: str  # local path of a file holding the API token; the token never appears here


@dataclass(frozen=True)
class FencingSettings:
    """How `promote` makes sure a dead master stays dead: "confirm" (the operator types the cluster name
    to state that the node is powered off) or "stonith" (pacemaker's `stonith_admin --off NODE`)."""

    method: str = "confirm"


@dataclass(frozen=True)
class Cluster:
    name: str
    members: tuple[str, ...]
    manager: str  # keepalived | heartbeat | pacemaker | none
    drbd: DrbdSettings | None = None
    mysql: MysqlSettings | None = None
    keepalived: KeepalivedSettings | None = None
    heartbeat: HeartbeatSettings | None = None
    pacemaker: PacemakerSettings | None = None
    vip: VipSettings | None = None
    provider_ip: ProviderIpSettings | None = None
    fencing: FencingSettings | None = None
    layout: str = "per-node"  # the layout `open-cluster NAME` uses when none is given
    health_source: str = "ssh"  # ssh | prometheus | auto (Prometheus where it answers, SSH for the rest)
    prometheus_url: str | None = None  # the cluster's `prometheus:`, else defaults.prometheus


@dataclass(frozen=True)
class Layout:
    name: str
    kind: str  # "per-node": one window per member; "split": one window, one region per member
    direction: str = "vertical"  # for split: vertical = side by side (screen's |), horizontal = stacked
    note: str = ""


BUILTIN_LAYOUTS = {
    "per-node": Layout("per-node", "per-node", note="one window per cluster node"),
    "split": Layout("split", "split", "vertical", note="one window split side by side between the nodes"),
}


@dataclass(frozen=True)
class HostsConfig:
    hosts: dict[str, Host]
    clusters: dict[str, Cluster] = field(default_factory=dict)
    layouts: dict[str, Layout] = field(default_factory=lambda: dict(BUILTIN_LAYOUTS))
    defaults: Defaults = field(default_factory=Defaults)
    file: str = ""


TOP_KEYS = ("defaults", "hosts", "clusters", "layouts")
DEFAULTS_KEYS = ("user", "port", "keepalive", "health_interval", "known_hosts", "prometheus")
HOST_KEYS = ("address", "port", "user", "jump", "tags", "identity", "remote_multiplexer", "keepalive")
CLUSTER_KEYS = ("members", "manager", "drbd", "mysql", "keepalived", "heartbeat", "pacemaker", "vip",
                "provider_ip", "fencing", "layout", "health_source", "prometheus")
FENCING_KEYS = ("method",)
FENCING_METHODS = ("confirm", "stonith")
DRBD_KEYS = ("resources", "version", "before_demote", "after_promote", "moved_by")
MYSQL_KEYS = ("master", "replicas", "option_file", "port", "replication_user", "replication_password_file",
              "drain", "catchup_timeout")
MYSQL_DRAIN = ("none", "kill")
KEEPALIVED_KEYS = ("instance", "config_file", "dump_dir", "log_file", "notify_state_file", "pidfile",
                   "release_file", "start_command")
HEARTBEAT_KEYS = ("config_dir", "resources", "node_names")
PACEMAKER_KEYS = ("resources", "node_names")
VIP_KEYS = ("address", "prefix", "interface", "gateway")
PROVIDER_KEYS = ("api_url", "ip", "token_file")
LAYOUT_KEYS = ("kind", "direction", "note")


class _HostsReader:
    """Walks one hosts.yaml, collecting errors in its Checker."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.check = Checker(file)
        self.base_dir = Path(file).resolve().parent

    # small helpers -------------------------------------------------------------------------------

    def local_path(self, node: YamlNode, path: str) -> str | None:
        """A path on this machine: ~ expanded, relative paths taken from the hosts.yaml's directory."""
        value = self.check.path_string(node, path)
        if value is None:
            return None
        expanded = Path(os.path.expanduser(value))
        return str(expanded if expanded.is_absolute() else self.base_dir / expanded)

    def address(self, node: YamlNode, path: str) -> str | None:
        value = self.check.string(node, path)
        if value is None:
            return None
        if ":" in value or _IPV4_LIKE.match(value):
            return self.check.ip_address(node, path)
        name = value.rstrip(".")
        if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in name.split(".")):
            self.check.error(node.line, path, f"{value!r} is neither an IP address nor a valid DNS name")
            return None
        return value

    # sections ------------------------------------------------------------------------------------

    def defaults(self, entry: YamlEntry | None) -> Defaults:
        if entry is None:
            return Defaults()
        fields = self.check.mapping(entry.node, "defaults", allowed=DEFAULTS_KEYS)
        if not fields:
            return Defaults()
        values: dict[str, object] = {}
        if "user" in fields:
            values["user"] = self.check.word(fields["user"].node, "defaults.user", "user name")
        if "port" in fields:
            values["port"] = self.check.integer(fields["port"].node, "defaults.port", 1, 65535)
        if "keepalive" in fields:
            values["keepalive"] = self.check.integer(fields["keepalive"].node, "defaults.keepalive", 0, 3600)
        if "health_interval" in fields:
            values["health_interval"] = self.check.number(
                fields["health_interval"].node, "defaults.health_interval", 0.5, 3600)
        if "known_hosts" in fields:
            values["known_hosts"] = self.local_path(fields["known_hosts"].node, "defaults.known_hosts")
        if "prometheus" in fields:
            values["prometheus"] = self.prometheus_url(fields["prometheus"].node, "defaults.prometheus")
        return Defaults(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]

    def host(self, entry: YamlEntry, defaults: Defaults) -> tuple[Host, int | None] | None:
        """The host and the line of its `jump` key (for loop errors)."""
        path = join_path("hosts", entry.key)
        name = self.check.word(YamlNode("scalar", entry.key_line, entry.key, entry.key), path, "host name")
        if entry.node.is_null:
            fields: dict[str, YamlEntry] | None = {}
        else:
            fields = self.check.mapping(entry.node, path, allowed=HOST_KEYS, hints=HOST_HINTS)
        if fields is None or name is None:
            return None
        host = Host(name, name, defaults.port, defaults.user, keepalive=defaults.keepalive)
        values: dict[str, object] = {}
        jump_line = None
        for key, item in fields.items():
            key_path, node = join_path(path, key), item.node
            if key == "address":
                values[key] = self.address(node, key_path)
            elif key == "port":
                values[key] = self.check.integer(node, key_path, 1, 65535)
            elif key == "user":
                values[key] = self.check.word(node, key_path, "user name")
            elif key == "jump":
                values[key] = self.check.word(node, key_path, "host name")
                jump_line = node.line
            elif key == "tags":
                values[key] = self.check.string_list(node, key_path, words=True)
            elif key == "identity":
                values[key] = self.local_path(node, key_path)
            elif key == "remote_multiplexer":
                values[key] = "none" if node.is_null else self.check.string(
                    node, key_path, choices=REMOTE_MULTIPLEXERS)
            elif key == "keepalive":
                values[key] = self.check.integer(node, key_path, 0, 3600)
        if any(v is None for v in values.values()):
            return None
        host = replace(host, **values)  # type: ignore[arg-type]
        return host, jump_line

    def drbd(self, node: YamlNode, path: str) -> DrbdSettings | None:
        fields = self.check.mapping(node, path, allowed=DRBD_KEYS, required=("resources",))
        if fields is None or "resources" not in fields:
            return None
        resources = self.check.string_list(fields["resources"].node, join_path(path, "resources"),
                                           words=True, min_items=1)
        version = "9"
        if "version" in fields:
            vnode = fields["version"].node
            text = vnode.raw if vnode.kind == "scalar" else ""
            if text not in DRBD_VERSIONS:
                self.check.error(vnode.line, join_path(path, "version"),
                                 f"expected 9 or 8.4, got {vnode.describe()}")
                return None
            version = text
        hooks: dict[str, object] = {}
        if "moved_by" in fields:
            hooks["moved_by"] = self.check.string(fields["moved_by"].node, join_path(path, "moved_by"),
                                                  choices=("hascreen", "manager"))
            if hooks["moved_by"] is None:
                return None
        for key in ("before_demote", "after_promote"):
            if key in fields:
                commands = self.check.string_list(fields[key].node, join_path(path, key))
                if commands is None:
                    return None
                hooks[key] = commands
        return None if resources is None else DrbdSettings(resources, version, **hooks)  # type: ignore[arg-type]

    def mysql(self, node: YamlNode, path: str, members: tuple[str, ...] | None) -> MysqlSettings | None:
        fields = self.check.mapping(node, path, allowed=MYSQL_KEYS, required=("master",), hints=MYSQL_HINTS)
        if fields is None or "master" not in fields:
            return None
        ok = True
        master = self.member(fields["master"].node, join_path(path, "master"), members)
        replicas: tuple[str, ...] | None = ()
        if "replicas" in fields:
            rnode = fields["replicas"].node
            replicas = self.check.string_list(rnode, join_path(path, "replicas"), words=True)
            for index, replica in enumerate(replicas or ()):
                item = rnode.value[index]
                ok &= self.member(item, f"{path}.replicas[{index}]", members) is not None
                if replica == master:
                    self.check.error(item.line, f"{path}.replicas[{index}]", f"{replica!r} is the master")
                    ok = False
        option_file = None
        if "option_file" in fields:
            option_file = self.check.path_string(fields["option_file"].node, join_path(path, "option_file"),
                                                 absolute=True)
            ok &= option_file is not None
        port = 3306
        if "port" in fields:
            port = self.check.integer(fields["port"].node, join_path(path, "port"), 1, 65535)  # type: ignore[assignment]
            ok &= port is not None
        extra: dict[str, object] = {}
        if "replication_user" in fields:
            extra["replication_user"] = self.check.word(fields["replication_user"].node,
                                                        join_path(path, "replication_user"), "user name")
        if "replication_password_file" in fields:
            extra["replication_password_file"] = self.check.path_string(
                fields["replication_password_file"].node, join_path(path, "replication_password_file"), absolute=True)
        if "drain" in fields:
            extra["drain"] = self.check.string(fields["drain"].node, join_path(path, "drain"), choices=MYSQL_DRAIN)
        if "catchup_timeout" in fields:
            extra["catchup_timeout"] = self.check.integer(fields["catchup_timeout"].node,
                                                          join_path(path, "catchup_timeout"), 1, 3600)
        ok &= all(value is not None for value in extra.values())
        if not ok or master is None or replicas is None:
            return None
        return MysqlSettings(master, replicas, option_file, port, **extra)  # type: ignore[arg-type]

    def member(self, node: YamlNode, path: str, members: tuple[str, ...] | None) -> str | None:
        name = self.check.word(node, path, "host name")
        if name is not None and members is not None and name not in members:
            self.check.error(node.line, path, f"{name!r} is not a member of this cluster ({', '.join(members)})")
            return None
        return name

    def remote_paths(self, fields: dict[str, YamlEntry], path: str, keys: tuple[str, ...]) -> dict[str, str] | None:
        values: dict[str, str] = {}
        ok = True
        for key in keys:
            if key in fields:
                value = self.check.path_string(fields[key].node, join_path(path, key), absolute=True)
                if value is None:
                    ok = False
                else:
                    values[key] = value
        return values if ok else None

    def keepalived(self, node: YamlNode, path: str) -> KeepalivedSettings | None:
        fields = self.check.mapping(node, path, allowed=KEEPALIVED_KEYS, required=("instance",))
        if fields is None or "instance" not in fields:
            return None
        instance = self.check.word(fields["instance"].node, join_path(path, "instance"), "instance name")
        paths = self.remote_paths(fields, path, KEEPALIVED_KEYS[1:-1])
        start: dict[str, str | None] = {}
        if "start_command" in fields:
            start["start_command"] = self.check.string(fields["start_command"].node, join_path(path, "start_command"))
        if instance is None or paths is None or None in start.values():
            return None
        return KeepalivedSettings(instance, **paths, **start)  # type: ignore[arg-type]

    def node_names(self, node: YamlNode, path: str, members: tuple[str, ...] | None) -> dict[str, str] | None:
        fields = self.check.mapping(node, path)
        if fields is None:
            return None
        names: dict[str, str] = {}
        for key, item in fields.items():
            host = self.member(YamlNode("scalar", item.key_line, key, key), join_path(path, key), members)
            value = self.check.word(item.node, join_path(path, key), "node name")
            if host is None or value is None:
                return None
            names[host] = value
        return names

    def manager_section(self, node: YamlNode, path: str, members: tuple[str, ...] | None,
                        allowed: tuple[str, ...]) -> dict[str, object] | None:
        fields = self.check.mapping(node, path, allowed=allowed)
        if fields is None:
            return None
        values: dict[str, object] = {}
        for key, item in fields.items():
            key_path = join_path(path, key)
            if key == "resources":
                values[key] = self.check.string_list(item.node, key_path, words=True)
            elif key == "node_names":
                values[key] = self.node_names(item.node, key_path, members)
            elif key == "config_dir":
                values[key] = self.check.path_string(item.node, key_path, absolute=True)
        return None if any(v is None for v in values.values()) else values

    def vip(self, node: YamlNode, path: str) -> VipSettings | None:
        fields = self.check.mapping(node, path, allowed=VIP_KEYS, required=("address", "prefix", "interface"))
        if fields is None or not {"address", "prefix", "interface"} <= fields.keys():
            return None
        address = self.check.ip_address(fields["address"].node, join_path(path, "address"))
        high = 128 if address and ":" in address else 32
        prefix = self.check.integer(fields["prefix"].node, join_path(path, "prefix"), 0, high)
        interface = self.check.string(fields["interface"].node, join_path(path, "interface"))
        if interface is not None and not _INTERFACE.match(interface):
            self.check.error(fields["interface"].node.line, join_path(path, "interface"),
                             f"{interface!r} is not a network interface name")
            interface = None
        gateway = None
        if "gateway" in fields:
            gnode = fields["gateway"].node
            gateway = self.check.ip_address(gnode, join_path(path, "gateway"))
            if gateway and address and ipaddress.ip_address(gateway).version != ipaddress.ip_address(address).version:
                self.check.error(gnode.line, join_path(path, "gateway"), "the gateway and the address mix IPv4 and IPv6")
                gateway = None
            if gateway is None:
                return None
        if address is None or prefix is None or interface is None:
            return None
        return VipSettings(address, prefix, interface, gateway)

    def prometheus_url(self, node: YamlNode, path: str) -> str | None:
        """A Prometheus base URL: http(s), a host, no credentials, no query (hascreen adds /api/v1/query)."""
        url = self.check.string(node, path)
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            self.check.error(node.line, path, f"{url!r} is not an http(s) URL of a Prometheus server "
                                              "(e.g. http://prometheus.example:9090)")
            return None
        if parts.username or parts.password:
            self.check.error(node.line, path, f"{_SECRET_HINT}: no credentials in the Prometheus URL")
            return None
        if parts.query or parts.fragment:
            self.check.error(node.line, path, "give the server's base URL without ?query or #fragment")
            return None
        return url.rstrip("/")

    def health_source(self, fields: dict[str, YamlEntry], path: str, defaults: Defaults,
                      ) -> tuple[str | None, str | None]:
        """(health_source, Prometheus URL); a source that reads Prometheus needs a URL here or in defaults."""
        source = "ssh"
        if "health_source" in fields:
            node = fields["health_source"].node
            source = self.check.string(node, join_path(path, "health_source"), choices=HEALTH_SOURCES)
        url = defaults.prometheus
        if "prometheus" in fields:
            url = self.prometheus_url(fields["prometheus"].node, join_path(path, "prometheus"))
            if url is None:
                return source, None
        if source in ("prometheus", "auto") and url is None:
            self.check.error(fields["health_source"].node.line, join_path(path, "health_source"),
                             f"{source} reads Prometheus: give its URL as `prometheus: http://HOST:9090` "
                             "in this cluster or under defaults")
            return None, None
        return source, url

    def provider_ip(self, node: YamlNode, path: str) -> ProviderIpSettings | None:
        required = PROVIDER_KEYS
        fields = self.check.mapping(node, path, allowed=PROVIDER_KEYS, required=required, hints=PROVIDER_HINTS)
        if fields is None or not set(required) <= fields.keys():
            return None
        url = self.check.string(fields["api_url"].node, join_path(path, "api_url"))
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                self.check.error(fields["api_url"].node.line, join_path(path, "api_url"),
                                 f"{url!r} is not an http(s) URL")
                url = None
        ip = self.check.ip_address(fields["ip"].node, join_path(path, "ip"))
        token_file = self.local_path(fields["token_file"].node, join_path(path, "token_file"))
        if url is None or ip is None or token_file is None:
            return None
        return ProviderIpSettings(url, ip, token_file)

    def cluster(self, entry: YamlEntry, hosts: dict[str, Host], known_hosts: set[str],
                layouts: dict[str, Layout], defaults: Defaults = Defaults()) -> Cluster | None:
        path = join_path("clusters", entry.key)
        name = self.check.word(YamlNode("scalar", entry.key_line, entry.key, entry.key), path, "cluster name")
        fields = self.check.mapping(entry.node, path, allowed=CLUSTER_KEYS, required=("members", "manager"),
                                    line=entry.key_line)
        if fields is None or name is None:
            return None
        ok = True
        members: tuple[str, ...] | None = None
        if "members" in fields:
            mnode = fields["members"].node
            members = self.check.string_list(mnode, join_path(path, "members"), words=True, min_items=2)
            for index, member in enumerate(members or ()):
                if member not in known_hosts:
                    self.check.error(mnode.value[index].line, f"{path}.members[{index}]",
                                     f"unknown host {member!r}{did_you_mean(member, known_hosts)}")
                    ok = False
        manager = None
        if "manager" in fields:
            manager = self.check.string(fields["manager"].node, join_path(path, "manager"), choices=MANAGERS)
        if manager == "keepalived" and "keepalived" not in fields:
            self.check.error(fields["manager"].node.line, join_path(path, "keepalived"),
                             "manager is keepalived: add a keepalived section with its instance (e.g. VI_1)")
            ok = False
        sections: dict[str, object] = {}
        source, url = self.health_source(fields, path, defaults)
        sections["health_source"] = source
        if url is not None:
            sections["prometheus_url"] = url
        elif "prometheus" in fields:
            ok = False
        for key, item in fields.items():
            key_path, node = join_path(path, key), item.node
            if key == "drbd":
                sections[key] = self.drbd(node, key_path)
            elif key == "mysql":
                sections[key] = self.mysql(node, key_path, members)
            elif key == "keepalived":
                sections[key] = self.keepalived(node, key_path)
            elif key == "heartbeat":
                values = self.manager_section(node, key_path, members, HEARTBEAT_KEYS)
                sections[key] = None if values is None else HeartbeatSettings(**values)  # type: ignore[arg-type]
            elif key == "pacemaker":
                values = self.manager_section(node, key_path, members, PACEMAKER_KEYS)
                sections[key] = None if values is None else PacemakerSettings(**values)  # type: ignore[arg-type]
            elif key == "vip":
                sections[key] = self.vip(node, key_path)
            elif key == "provider_ip":
                sections[key] = self.provider_ip(node, key_path)
            elif key == "fencing":
                fencing = self.check.mapping(node, key_path, allowed=FENCING_KEYS)
                method = "confirm"
                if fencing is not None and "method" in fencing:
                    method = self.check.string(fencing["method"].node, join_path(key_path, "method"),
                                               choices=FENCING_METHODS)  # type: ignore[assignment]
                sections[key] = None if fencing is None or method is None else FencingSettings(method)
            elif key == "layout":
                layout = self.check.string(node, key_path)
                if layout is not None and layout not in layouts:
                    self.check.error(node.line, key_path,
                                     f"unknown layout {layout!r}{did_you_mean(layout, layouts)}")
                    layout = None
                sections[key] = layout
        if not ok or members is None or manager is None or any(v is None for v in sections.values()):
            return None
        return Cluster(name, members, manager, **sections)  # type: ignore[arg-type]

    def layouts(self, entry: YamlEntry | None) -> dict[str, Layout]:
        layouts = dict(BUILTIN_LAYOUTS)
        if entry is None:
            return layouts
        fields = self.check.mapping(entry.node, "layouts")
        for key, item in (fields or {}).items():
            path = join_path("layouts", key)
            name = self.check.word(YamlNode("scalar", item.key_line, key, key), path, "layout name")
            spec = self.check.mapping(item.node, path, allowed=LAYOUT_KEYS, required=("kind",), line=item.key_line)
            if spec is None or name is None or "kind" not in spec:
                continue
            kind = self.check.string(spec["kind"].node, join_path(path, "kind"), choices=LAYOUT_KINDS)
            direction, note = "vertical", ""
            if "direction" in spec:
                direction = self.check.string(spec["direction"].node, join_path(path, "direction"),
                                              choices=SPLIT_DIRECTIONS)
            if "note" in spec:
                note = self.check.string(spec["note"].node, join_path(path, "note"))
            if kind is not None and direction is not None and note is not None:
                layouts[name] = Layout(name, kind, direction, note)
        return layouts

    def jump_chains(self, hosts: dict[str, Host], jump_lines: dict[str, int], written: set[str]) -> None:
        """Unknown jump hosts and loops. `written` holds every name under hosts:, including hosts that
        had errors of their own (already reported, so not "unknown" here)."""
        for name, host in hosts.items():
            if host.jump is None:
                continue
            path = f"hosts.{name}.jump"
            line = jump_lines.get(name, 0)
            if host.jump == name:
                self.check.error(line, path, "a host cannot jump through itself")
                continue
            if host.jump not in hosts:
                if host.jump in written:
                    continue
                self.check.error(line, path, f"unknown host {host.jump!r}{did_you_mean(host.jump, hosts)}")
                continue
            chain = [name]
            current: str | None = host.jump
            while current is not None and current in hosts:
                if current in chain:
                    loop = " -> ".join([*chain[chain.index(current):], current])
                    if current == name:  # report a loop once for each host on it, not for hosts leading into it
                        self.check.error(line, path, f"jump hosts loop: {loop}")
                    break
                chain.append(current)
                current = hosts[current].jump

    # the whole file --------------------------------------------------------------------------------

    def read(self, root: YamlNode | None) -> HostsConfig | None:
        if root is None:
            self.check.error(0, "", "the file is empty: it needs at least a hosts section")
            return None
        top = self.check.mapping(root, "", allowed=TOP_KEYS, required=("hosts",), line=1)
        if top is None:
            return None
        defaults = self.defaults(top.get("defaults"))
        layouts = self.layouts(top.get("layouts"))
        hosts: dict[str, Host] = {}
        jump_lines: dict[str, int] = {}
        host_entries: dict[str, YamlEntry] = {}
        if "hosts" in top:
            host_entries = self.check.mapping(top["hosts"].node, "hosts") or {}
            if top["hosts"].node.kind == "map" and not host_entries:
                self.check.error(top["hosts"].key_line, "hosts", "no hosts defined")
        for entry in host_entries.values():
            result = self.host(entry, defaults)
            if result is not None:
                host, jump_line = result
                hosts[host.name] = host
                if jump_line is not None:
                    jump_lines[host.name] = jump_line
        # Jumps and members are checked against every name written under hosts:, even a host with its own
        # errors, so that one bad host does not also produce an "unknown host" wherever it is named.
        known_names = set(host_entries)
        self.jump_chains(hosts, jump_lines, known_names)
        clusters: dict[str, Cluster] = {}
        if "clusters" in top and not top["clusters"].node.is_null:
            for entry in (self.check.mapping(top["clusters"].node, "clusters") or {}).values():
                cluster = self.cluster(entry, hosts, known_names, layouts, defaults)
                if cluster is not None:
                    clusters[cluster.name] = cluster
        return HostsConfig(hosts, clusters, layouts, defaults, self.file)


def load_hosts(path: str | os.PathLike[str]) -> HostsConfig:
    """Read and validate a hosts.yaml; raises ConfigErrors listing every problem with file:line: key."""
    file = os.fspath(path)
    errors: list = []
    text = read_config_text(file, errors)
    if text is None:
        raise ConfigErrors(errors)
    parsed = parse_yaml(text, file)
    reader = _HostsReader(file)
    config = reader.read(parsed.root) if not _fatal(parsed.errors) else None
    errors = parsed.errors + reader.check.errors
    if errors or config is None:
        raise ConfigErrors(errors)
    return config


def _fatal(errors: list) -> bool:
    """A syntax error leaves no tree to check; other parse errors (duplicates) still allow checking."""
    return any(not e.key and e.message.startswith("YAML") for e in errors)


def summarize(config: HostsConfig) -> str:
    """A human summary for `hascreen check-config`."""
    def plural(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    lines = [f"{config.file or 'hosts.yaml'}: OK — {plural(len(config.hosts), 'host')}, "
             f"{plural(len(config.clusters), 'cluster')}, {plural(len(config.layouts), 'layout')}"]
    lines.append("hosts:")
    width = max((len(name) for name in config.hosts), default=0)
    for host in config.hosts.values():
        target = f"{host.user + '@' if host.user else ''}{host.address}:{host.port}"
        extras = []
        if host.jump:
            extras.append(f"via {host.jump}")
        if host.tags:
            extras.append("tags " + ",".join(host.tags))
        if host.remote_multiplexer != "none":
            extras.append(f"inside {host.remote_multiplexer}")
        if host.identity:
            extras.append(f"key {host.identity}")
        lines.append(f"  {host.name:<{width}}  {target}" + ("  " + "; ".join(extras) if extras else ""))
    if config.clusters:
        lines.append("clusters:")
    for cluster in config.clusters.values():
        lines.append(f"  {cluster.name}: {', '.join(cluster.members)}; manager {cluster.manager}; "
                     f"layout {cluster.layout}")
        if cluster.drbd:
            lines.append(f"    drbd {cluster.drbd.version}: {', '.join(cluster.drbd.resources)}")
        if cluster.mysql:
            replicas = ", ".join(cluster.mysql.replicas) or "no replicas"
            option = f"; options {cluster.mysql.option_file}" if cluster.mysql.option_file else ""
            lines.append(f"    mysql: master {cluster.mysql.master} -> {replicas} (port {cluster.mysql.port}){option}")
        if cluster.keepalived:
            lines.append(f"    keepalived: instance {cluster.keepalived.instance}")
        if cluster.heartbeat:
            lines.append(f"    heartbeat: {cluster.heartbeat.config_dir}")
        if cluster.pacemaker:
            lines.append(f"    pacemaker: resources {', '.join(cluster.pacemaker.resources) or '(all)'}")
        if cluster.vip:
            gateway = f" gw {cluster.vip.gateway}" if cluster.vip.gateway else ""
            lines.append(f"    vip {cluster.vip.with_prefix} on {cluster.vip.interface}{gateway}")
        if cluster.provider_ip:
            lines.append(f"    provider ip {cluster.provider_ip.ip} via {cluster.provider_ip.api_url}")
        if cluster.health_source != "ssh":
            lines.append(f"    health from {cluster.health_source} ({cluster.prometheus_url})")
    lines.append("layouts: " + ", ".join(
        f"{layout.name} ({layout.note or layout.kind})" for layout in config.layouts.values()))
    return "\n".join(lines)
