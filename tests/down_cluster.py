"""A hosts.yaml whose one cluster has both nodes down (loopback ports 1 and 2): every health row goes crit
within a poll, with no lab. The console tests that need an alarm share it."""

from __future__ import annotations

from pathlib import Path

HOSTS = """\
defaults: {user: root, health_interval: 1, known_hosts: %(known)s}
hosts:
  down-a: {address: 127.0.0.1, port: 1}
  down-b: {address: 127.0.0.1, port: 2}
clusters:
  db:
    members: [down-a, down-b]
    manager: keepalived
    keepalived: {instance: VI_1}
    vip: {address: 10.213.77.100, prefix: 24, interface: eth0, gateway: 10.213.77.254}
"""


def write_down_cluster_hosts(directory: Path) -> Path:
    """Write the hosts.yaml (and an empty known_hosts) into `directory`; its path."""
    known = directory / "known_hosts"
    known.write_text("")
    hosts = directory / "hosts.yaml"
    hosts.write_text(HOSTS % {"known": known})
    return hosts
