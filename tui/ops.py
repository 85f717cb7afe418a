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
