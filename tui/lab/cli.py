"""`hascreen lab up|down|status|break SCENARIO [NODE]|heal` — argparse front end of the lab.

Exit codes: 0 ok, 1 failure, 2 usage. Commands that change the lab take an exclusive lock on
/run/hascreen-lab.lock (without waiting); the test fixture holds that lock itself and tells us so with
HASCREEN_LAB_LOCK_HELD=1.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
from pathlib import Path

from tui.lab import lifecycle, scenarios
from tui.lab.layout import DEFAULT_LIFETIME_S, LOCK_FILE, LabDir, lab_dir_from_env
from tui.lab.processes import LabError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hascreen lab", description="A real HA cluster in network namespaces "
                                "(sshd, MariaDB master/replica, keepalived VRRP; DRBD is simulated).")
    p.add_argument("--dir", help="lab directory (default $HASCREEN_LAB_DIR or /var/lib/hascreen-lab)")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build the lab (tears down any previous one first)")
    up.add_argument("--profile", choices=lifecycle.PROFILES, default="keepalived")
    up.add_argument("--lifetime", type=int, default=DEFAULT_LIFETIME_S,
                    help="seconds after which every lab process ends by itself (default 12 h)")
    up.add_argument("--monitoring", action="store_true",
                    help="also run Prometheus (host side) and node/mysqld/ha_cluster exporters in the nodes")
    down = sub.add_parser("down", help="remove every process, namespace and file of the lab")
    down.add_argument("--purge", action="store_true", help="also remove the cached MariaDB template datadir")
    sub.add_parser("status", help="what runs, per node and daemon")
    brk = sub.add_parser("break", help="inject a fault: " + ", ".join(scenarios.SCENARIOS))
    brk.add_argument("scenario", choices=sorted(scenarios.SCENARIOS))
    brk.add_argument("node", nargs="?", help="the node, for scenarios that take one")
    sub.add_parser("heal", help="restore the healthy state")
    sub.add_parser("scenarios", help="list the break scenarios")
    return p


@contextlib.contextmanager
def _lab_lock():
    if os.environ.get("HASCREEN_LAB_LOCK_HELD") == "1":
        yield
        return
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(f"the lab is in use by another session (lock {LOCK_FILE} is held)") from None
        yield


def main(argv: list[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    lab = LabDir(Path(args.dir).absolute() if args.dir else lab_dir_from_env().absolute())
    try:
        if args.command == "status":
            ok, lines = lifecycle.status(lab)
            print("\n".join(lines))
            return 0 if ok else 1
        if args.command == "scenarios":
            for name, spec in sorted(scenarios.SCENARIOS.items()):
                print(f"{name:20} {'NODE  ' if spec.needs_node else '      '}{spec.note}")
            return 0
        if os.geteuid() != 0:
            print("hascreen lab: needs root (network namespaces, mounts, daemons)", file=sys.stderr)
            return 1
        with _lab_lock():
            if args.command == "up":
                lifecycle.up(lab, profile=args.profile, lifetime_s=args.lifetime, with_monitoring=args.monitoring)
            elif args.command == "down":
                lifecycle.down(lab, purge=args.purge)
            elif args.command == "break":
                spec = scenarios.SCENARIOS[args.scenario]
                if spec.needs_node and not args.node:
                    print(f"hascreen lab break {args.scenario}: give a node ({', '.join(spec.nodes)})",
                          file=sys.stderr)
                    return 2
                if args.node and args.node not in spec.nodes:
                    print(f"hascreen lab break {args.scenario}: node must be one of {', '.join(spec.nodes)}"
                          if spec.needs_node else f"hascreen lab break {args.scenario}: takes no node",
                          file=sys.stderr)
                    return 2
                print(scenarios.inject(lab, args.scenario, args.node))
            elif args.command == "heal":
                print(scenarios.heal(lab))
    except LabError as exc:
        print(f"hascreen lab: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `hascreen lab status | head`
        return 0
    return 0
