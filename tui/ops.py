"""The ops subcommands of `hascreen`: check-config, health, run and the lab demo.

Like tui.cli this is composition: it loads hosts.yaml, builds the SSH pool and hands its Runner to the
domain packages (tui.health, tui.procedures), which never open connections themselves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.config.errors import ConfigErrors
from tui.config.hosts import HostsConfig, load_hosts, summarize
from tui.config.paths import find_hosts_file


def load_hosts_or_report(explicit: Path | None) -> HostsConfig | None:
    """hosts.yaml from the lookup order, or None after printing every error (file:line: key: message)."""
    path = find_hosts_file(explicit)
    if path is None:
        print("hascreen: no hosts.yaml found (tried --hosts, $HASCREEN_HOSTS, ./hosts.yaml, "
              "~/.config/hascreen/hosts.yaml)", file=sys.stderr)
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


def _lab_unavailable_reason() -> str | None:
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


def lab_demo_session(argv: list[str]) -> int:
    """`hascreen lab demo`: bring the lab up and open the console on it, a window per node and the health
    panel shown. Without root or namespaces it says exactly why and opens local shells instead."""
    import os

    from tui import cli
    from tui.lab.cli import main as lab_main
    from tui.lab.layout import LabDir, lab_dir_from_env

    parser = argparse.ArgumentParser(prog="hascreen lab demo")
    parser.add_argument("--profile", choices=("keepalived", "heartbeat", "pacemaker"), default="keepalived")
    parser.add_argument("--keymap")
    parser.add_argument("-S", dest="session", default="lab")
    args = parser.parse_args(argv)
    directory = cli.ensure_socket_dir()
    reason = _lab_unavailable_reason()
    if reason is not None:
        print(f"hascreen: no lab: {reason}. Opening local shells instead.", file=sys.stderr)
        return cli.main(["-S", f"{args.session}-local"])
    existing = [p for p in cli.session_sockets(directory) if p.name.split(".", 1)[-1] == args.session]
    live = [p for p in existing if not cli._socket_is_dead(p)]
    if live:
        print(f"hascreen: joining the running lab session {live[0].name}", file=sys.stderr)
        return cli.attach(live[0], args.session, "multi", detach_others=False, args=args)
    status = lab_main(["up", "--profile", args.profile])
    if status != 0:
        print("hascreen: the lab did not come up (see above). Opening local shells instead.", file=sys.stderr)
        return cli.main(["-S", f"{args.session}-local"])
    hosts = LabDir(lab_dir_from_env()).hosts_yaml
    os.environ["HASCREEN_SHOW_HEALTH"] = "1"
    path = cli.start_server(directory, args.session, [], ["open-cluster db"], hosts=hosts)
    return cli.attach(path, args.session, "new", detach_others=False, args=args)


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
