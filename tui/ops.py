"""The ops subcommands of `hascreen`: check-config, health and run, and whether the lab demo can run here.

Like tui.cli this is composition: it loads hosts.yaml, builds the SSH pool and hands its Runner to the
domain packages (tui.health, tui.procedures), which never open connections themselves. tui.cli dispatches
to it; it never imports tui.cli.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.config.errors import ConfigErrors
from tui.config.hosts import HostsConfig, load_hosts, summarize
from tui.config.paths import HOSTS_LOOKUP, find_hosts_file


def load_hosts_or_report(explicit: Path | None) -> HostsConfig | None:
    """hosts.yaml from the lookup order, or None after printing every error (file:line: key: message)."""
    path = find_hosts_file(explicit)
    if path is None:
        print(f"hascreen: no hosts.yaml found (tried {HOSTS_LOOKUP}; the lab's exists only while "
              "`hascreen lab up` runs)", file=sys.stderr)
        return None
    try:
        return load_hosts(path)
    except ConfigErrors as exc:
        print(exc, file=sys.stderr)
        return None
    except OSError as exc:
        print(f"hascreen: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


def check_config(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hascreen check-config", description="validate hosts.yaml")
    parser.add_argument("--hosts", type=Path)
    args = parser.parse_args(argv)
    config = load_hosts_or_report(args.hosts)
    if config is None:
        return 2
    print(summarize(config))
    return 0


def _ssh_pool(config: HostsConfig):
    from tui.ssh import SshPool

    return SshPool(config.hosts, known_hosts=config.defaults.known_hosts)


def health_command(argv: list[str]) -> int:
    """One-shot health for scripts and monitoring; exits like a Nagios plugin (0 OK … 3 UNKNOWN)."""
    import asyncio

    from tui.health.poller import check_clusters
    from tui.health.report import exit_code, render_json, render_text

    parser = argparse.ArgumentParser(prog="hascreen health", description="one-shot cluster health check")
    parser.add_argument("--hosts", type=Path)
    parser.add_argument("--cluster", action="append", help="only this cluster (repeatable)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--source", choices=("ssh", "prometheus", "auto"),
                        help="read every cluster from this source instead of its health_source in hosts.yaml")
    args = parser.parse_args(argv)
    config = load_hosts_or_report(args.hosts)
    if config is None:
        return 3
    clusters = [c for name, c in config.clusters.items() if not args.cluster or name in args.cluster]
    unknown = sorted(set(args.cluster or ()) - set(config.clusters))
    if unknown or not clusters:
        print(f"UNKNOWN: no such cluster {', '.join(unknown) or '(none configured)'}", file=sys.stderr)
        return 3

    missing_url = [c.name for c in clusters if args.source in ("prometheus", "auto") and not c.prometheus_url]
    if missing_url:
        print(f"UNKNOWN: --source {args.source} needs a Prometheus URL (`prometheus:` in hosts.yaml defaults or "
              f"the cluster) for {', '.join(missing_url)}", file=sys.stderr)
        return 3

    async def check() -> list:
        from tui.prometheus_http import PrometheusHttp

        pool = _ssh_pool(config)
        try:
            return await check_clusters(pool.runner, clusters, metrics=PrometheusHttp(), source=args.source,
                                        addresses={name: host.address for name, host in config.hosts.items()})
        finally:
            await pool.close()

    rows = asyncio.run(check())
    print(render_json(rows) if args.json else render_text(rows))
    return exit_code(rows)


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None when it can (root, network namespaces, the daemons)."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, bind mounts and daemons per node)"
    missing = [tool for tool in ("ip", "nsenter", "unshare", "sshd", "mariadbd", "keepalived", "arping")
               if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]
    if missing:
        return f"the lab needs {', '.join(missing)} (run scripts/setup.sh as root)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        return f"network namespaces are not available here: {probe.stderr.strip()}"
    return None


def run_command(argv: list[str]) -> int:
    """`hascreen run NAME --cluster C ...`: the procedures engine from a script, over the shared SSH pool."""
    import asyncio

    from tui.procedures.cli import run_from_cli

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--hosts", type=Path)
    known, rest = pre.parse_known_args(argv)
    if not rest or rest[0] in ("-h", "--help"):
        from tui.procedures.cli import build_parser

        build_parser().print_help()
        return 0
    config = load_hosts_or_report(known.hosts)
    if config is None:
        return 1

    async def run() -> int:
        pool = _ssh_pool(config)
        try:
            return await run_from_cli(pool.runner, config, rest, sys.stdout)
        finally:
            await pool.close()

    return asyncio.run(run())
