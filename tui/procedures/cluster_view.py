"""A flat, validated view of one cluster as procedures need it, built from whatever tui.config hands over.

tui.procedures may not import tui.config (layer rules), so the cluster and host objects are read by
attribute or key ("duck typing"): a `Cluster` dataclass from tui.config, a plain dict from a test or a
user-defined procedure file all work. Values that will reach a command line are validated here, once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.procedures import validation


def read_field(obj: Any, name: str, default: Any = None) -> Any:
    """obj.name or obj[name], else default."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class VipView:
    address: str
    interface: str
    gateway: str | None
    gateway_host: str | None = None  # a host in hosts.yaml whose neighbour table shows the ARP update
    arping_count: int = 3


@dataclass(frozen=True)
class MysqlView:
    master: str | None
    replicas: tuple[str, ...]
    option_file: str | None
    port: int = 3306
    replication_user: str | None = None
    replication_password_file: str | None = None  # on the nodes; read by their shell, never by hascreen
    drain: str = "none"  # "none" | "kill": client sessions of the old master after read_only
    catchup_timeout: int = 30


@dataclass(frozen=True)
class ProviderIpView:
    api_url: str
    ip: str
    token_file: str
    server_ips: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterView:
    name: str
    members: tuple[str, ...]
    manager: str | None
    drbd_resources: tuple[str, ...] = ()
    drbd_version: str = "9"  # "9": drbdadm status; "8.4": /proc/drbd
    mysql: MysqlView | None = None
    vip: VipView | None = None
    keepalived_pidfile: str = "/run/keepalived.pid"
    keepalived_start: str = ""  # a shell command line from hosts.yaml (run as `sh -c`)
    keepalived_config: str = "/etc/keepalived/keepalived.conf"
    keepalived_instance: str | None = None
    keepalived_state_file: str | None = None  # written by a notify script: MASTER / BACKUP / FAULT
    keepalived_release_file: str | None = None  # track_file: 1 puts the instance in FAULT (drops the VIP), 0 back
    drbd_before_demote: tuple[str, ...] = ()  # shell commands on the old Primary before `drbdadm secondary`
    drbd_after_promote: tuple[str, ...] = ()  # shell commands on the new Primary after `drbdadm primary`
    fencing: str = "confirm"  # promote: "confirm" (the operator types the cluster name) or "stonith"
    drbd_moved_by: str = "hascreen"  # "hascreen": the failover runs drbdadm; "manager": heartbeat/pacemaker do
    heartbeat_method: str = "standby"
    pacemaker_resource: str | None = None
    provider_ip: ProviderIpView | None = None
    host_addresses: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """The cluster's identity, not its name: a hash of its members with their addresses and its VIP.
        Two hosts.yaml files that call different clusters `db` get different identities (anti-flapping
        and the audit log tell them apart); renaming a cluster keeps it."""
        members = ",".join(sorted(f"{m}={self.host_addresses.get(m, m)}" for m in self.members))
        text = f"{members};vip={self.vip.address if self.vip else ''}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def peer_of(self, node: str) -> str | None:
        others = [m for m in self.members if m != node]
        return others[0] if len(others) == 1 else None


def _resource_names(drbd: Any) -> tuple[str, ...]:
    resources = read_field(drbd, "resources", None)
    if resources is None and isinstance(drbd, list | tuple):
        resources = drbd
    names: list[str] = []
    if isinstance(resources, Mapping):
        names = list(resources)
    elif isinstance(resources, list | tuple):
        for item in resources:
            names.append(item if isinstance(item, str) else str(read_field(item, "name")))
    return tuple(validation.resource_name(n) for n in names)


def _gateway_host(vip: Any, gateway: str | None, hosts: Mapping[str, Any] | None) -> str | None:
    """vip.gateway_host, else the host of hosts.yaml whose address is the gateway (to read its ARP table)."""
    explicit = read_field(vip, "gateway_host")
    if explicit:
        return validation.host_name(explicit)
    for name, host in (hosts or {}).items():
        if gateway and str(read_field(host, "address")) == str(gateway):
            return validation.host_name(name)
    return None


def build_cluster_view(cluster: Any, hosts: Mapping[str, Any] | None = None) -> ClusterView:
    """Validate and flatten a cluster; raises validation.ValidationError with the offending value."""
    name = validation.host_name(read_field(cluster, "name"))
    members = tuple(validation.host_name(m) for m in (read_field(cluster, "members") or ()))
    manager = read_field(cluster, "manager")
    if manager == "none":
        manager = None
    if manager is not None and manager not in ("keepalived", "heartbeat", "pacemaker"):
        raise validation.ValidationError(f"manager {manager!r} is not keepalived, heartbeat or pacemaker")

    vip = None
    vip_obj = read_field(cluster, "vip")
    if vip_obj is not None and read_field(vip_obj, "address"):
        gateway = read_field(vip_obj, "gateway")
        vip = VipView(
            address=validation.ip_address_with_optional_prefix(read_field(vip_obj, "address")),
            interface=validation.interface_name(read_field(vip_obj, "interface") or "eth0"),
            gateway=validation.ip_address(gateway) if gateway else None,
            gateway_host=_gateway_host(vip_obj, gateway, hosts),
            arping_count=max(1, min(10, int(read_field(vip_obj, "arping_count", 3) or 3))),
        )

    mysql = None
    mysql_obj = read_field(cluster, "mysql")
    if mysql_obj is not None:
        master = read_field(mysql_obj, "master")
        option_file = read_field(mysql_obj, "option_file")
        mysql = MysqlView(
            master=validation.host_name(master) if master else None,
            replicas=tuple(validation.host_name(r) for r in (read_field(mysql_obj, "replicas") or ())),
            option_file=validation.absolute_path(option_file) if option_file else None,
            port=int(read_field(mysql_obj, "port", 3306) or 3306),
            replication_user=validation.sql_identifier(read_field(mysql_obj, "replication_user"))
            if read_field(mysql_obj, "replication_user") else None,
            replication_password_file=validation.absolute_path(read_field(mysql_obj, "replication_password_file"))
            if read_field(mysql_obj, "replication_password_file") else None,
            drain=str(read_field(mysql_obj, "drain", "none") or "none"),
            catchup_timeout=int(read_field(mysql_obj, "catchup_timeout", 30) or 30),
        )

    keepalived = read_field(cluster, "keepalived")
    pidfile = read_field(keepalived, "pidfile") or "/run/keepalived.pid"
    start = read_field(keepalived, "start_command") or ""
    if not isinstance(start, str):
        start = " ".join(start)
    keepalived_config = read_field(keepalived, "config_file") or "/etc/keepalived/keepalived.conf"
    state_file = read_field(keepalived, "notify_state_file")
    release_file = read_field(keepalived, "release_file")
    instance = read_field(keepalived, "instance")
    drbd_obj = read_field(cluster, "drbd")

    heartbeat = read_field(cluster, "heartbeat")
    hb_method = read_field(heartbeat, "failover_method") or "standby"
    pacemaker = read_field(cluster, "pacemaker")
    pcmk_resource = read_field(pacemaker, "resource") or next(iter(read_field(pacemaker, "resources") or ()), None)

    addresses: dict[str, str] = {}
    for member in members:
        host = (hosts or {}).get(member)
        address = read_field(host, "address")
        if address:
            addresses[member] = str(address)

    provider = None
    provider_obj = read_field(cluster, "provider_ip")
    if provider_obj is not None and read_field(provider_obj, "api_url"):
        server_ips = dict(read_field(provider_obj, "server_ips") or {})
        for member in members:
            if member not in server_ips and member in addresses:
                try:
                    server_ips[member] = validation.ip_address(addresses[member])
                except validation.ValidationError:
                    pass  # a DNS name as SSH address: the provider needs an IP, given in server_ips
        url = str(read_field(provider_obj, "api_url"))
        if not url.startswith(("http://", "https://")):
            raise validation.ValidationError(f"provider_ip.api_url {url!r} must start with http:// or https://")
        provider = ProviderIpView(
            api_url=url.rstrip("/"),
            ip=validation.ip_address(read_field(provider_obj, "ip")),
            token_file=str(read_field(provider_obj, "token_file") or ""),
            server_ips={k: validation.ip_address(v) for k, v in server_ips.items()},
        )

    return ClusterView(
        name=name,
        members=members,
        manager=manager,
        drbd_resources=_resource_names(read_field(cluster, "drbd")),
        drbd_version=str(read_field(read_field(cluster, "drbd"), "version", "9") or "9"),
        mysql=mysql,
        vip=vip,
        keepalived_pidfile=validation.absolute_path(pidfile),
        keepalived_start=start,
        keepalived_config=validation.absolute_path(keepalived_config),
        keepalived_instance=validation.resource_name(instance) if instance else None,
        keepalived_state_file=validation.absolute_path(state_file) if state_file else None,
        keepalived_release_file=validation.absolute_path(release_file) if release_file else None,
        drbd_before_demote=tuple(read_field(drbd_obj, "before_demote", ()) or ()),
        drbd_after_promote=tuple(read_field(drbd_obj, "after_promote", ()) or ()),
        fencing=str(read_field(read_field(cluster, "fencing"), "method", "confirm") or "confirm"),
        drbd_moved_by=str(read_field(drbd_obj, "moved_by", None)
                          or ("hascreen" if manager in (None, "keepalived") else "manager")),
        heartbeat_method=hb_method,
        pacemaker_resource=validation.resource_name(pcmk_resource) if pcmk_resource else None,
        provider_ip=provider,
        host_addresses=addresses,
    )
