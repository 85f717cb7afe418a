"""The `hascreen` command line, with GNU Screen's habits: the composition root of the package.

    hascreen [-S NAME] [CMD ...]     new session, attach          hascreen -ls            list (and wipe dead)
    hascreen -r [NAME]               reattach a detached session  hascreen -x [NAME]      join an attached one
    hascreen -d -r NAME              detach the other, attach     hascreen -d -m -S NAME  start detached
    hascreen -X NAME COMMAND [ARGS]  send a command               hascreen -d NAME        detach it remotely
    hascreen check-config | health | run | lab | attach --via    the ops subcommands

It is the composition root of the command: it starts servers (whose own composition root is
tui.server.composition), runs the client, and dispatches the ops subcommands to tui.ops and the lab's.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from tui import __version__
from tui.auth import (
    SocketAccessError,
    load_lock_settings,
    shared_socket_dir,
    socket_dir_for_user,
    split_user_session,
)
from tui.config.errors import ConfigErrors
from tui.protocol.control import ControlError, control_session
from tui.server.socketdir import (
    SocketDirError,
    ensure_socket_dir,
    match_sessions,
    session_sockets,
    socket_name,
    valid_session_name,
)

SUBCOMMANDS = ("check-config", "health", "run", "lab", "attach", "passwd")
SERVER_START_TIMEOUT = 10.0

USAGE = """\
hascreen [options] [CMD ...]         start a new session (running CMD in its first window) and attach
hascreen -ls                         list sessions; removes the sockets of dead servers
hascreen -r [NAME]                   reattach a detached session
hascreen -x [NAME]                   attach to a session that is already attached (both see it live)
hascreen -d -r NAME                  detach the other client, then attach
hascreen -d -m -S NAME [CMD ...]     start a session detached (for scripts)
hascreen -d NAME                     detach a session's clients
hascreen -X NAME COMMAND [ARGS]      send a command to a running session (e.g. new-window, stuff 'ls\\n')
hascreen check-config [--hosts F]    validate hosts.yaml and print a summary
hascreen health [--cluster C] [--json]  one-shot cluster health, Nagios exit codes
hascreen run NAME --cluster C [--dry-run] [--yes] [ARGS]  run a procedure
hascreen lab up|down|status|break SCENARIO|heal   the network-namespace HA lab
hascreen lab demo                    bring the lab up and open the console on it
hascreen attach --via USER@HOST [SESSION]  reattach a session on another machine over ssh
hascreen -x USER/SESSION             join another user's session (they list you under acl: in their config)
hascreen passwd                      set the lock passphrase (for hosts without PAM)
"""


def _normalise_screen_flags(argv: list[str]) -> list[str]:
    """screen spells some long options with one dash: -ls, -list, -wipe."""
    mapping = {"-ls": "--list", "-list": "--list", "-wipe": "--list"}
    return [mapping.get(arg, arg) for arg in argv]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hascreen", usage=USAGE, add_help=False,
                                     description="GNU Screen reborn as an ops console for HA clusters.")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("-S", dest="session", metavar="NAME")
    parser.add_argument("-r", dest="reattach", action="store_true")
    parser.add_argument("-x", dest="multi", action="store_true")
    parser.add_argument("-d", dest="detach", action="store_true")
    parser.add_argument("-D", dest="detach", action="store_true")
    parser.add_argument("-m", dest="detached_start", action="store_true")
    parser.add_argument("-X", dest="remote_command", action="store_true")
    parser.add_argument("--keymap", metavar="NAME|FILE")
    parser.add_argument("--hosts", metavar="FILE", type=Path)
    parser.add_argument("--scrollback", type=int)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return run_subcommand(argv[0], argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(_normalise_screen_flags(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.help:
        print(USAGE, end="")
        return 0
    if args.version:
        print(f"hascreen {__version__}")
        return 0
    try:
        directory = _own_socket_dir()
    except (SocketDirError, ConfigErrors, OSError) as exc:
        print(f"hascreen: {exc}", file=sys.stderr)
        return 1
    if args.list:
        return list_sessions(directory)
    if args.remote_command:
        return remote_command(directory, args)
    if args.reattach or args.multi:
        name = args.session or (args.rest[0] if args.rest else None)
        try:
            user, name = split_user_session(name)
            if user is not None and user != getpass.getuser():
                directory = socket_dir_for_user(user)  # never "fixed up": it is not ours
        except SocketAccessError as exc:
            print(f"hascreen: {exc}", file=sys.stderr)
            return 1
        return reattach(directory, name, args, multi=args.multi)
    if args.detach and not args.detached_start:
        name = args.session or (args.rest[0] if args.rest else None)
        return remote_detach(directory, name)
    return new_session(directory, args)


# ---- sessions -------------------------------------------------------------------------------------------


def _own_socket_dir() -> Path:
    """Our socket directory; a user who lists colleagues under `acl:` gets the shared scheme
    (/tmp/hascreen-UID, opened to exactly those users), since $XDG_RUNTIME_DIR is private to its owner."""
    if not os.environ.get("HASCREEN_DIR") and load_lock_settings().acl:
        return ensure_socket_dir(shared_socket_dir(), shared=True)
    return ensure_socket_dir()



def _describe(directory: Path, path: Path) -> tuple[str, dict | None]:
    try:
        result = asyncio.run(control_session(path, timeout=3.0))
    except ControlError as exc:
        return str(exc), None
    return "", result.welcome


def list_sessions(directory: Path) -> int:
    rows, removed = [], []
    for path in session_sockets(directory):
        error, welcome = _describe(directory, path)
        if welcome is None:
            if _socket_is_dead(path):
                path.unlink(missing_ok=True)
                removed.append(path.name)
            else:
                rows.append(f"\t{path.name}\t(Unreachable: {error})")
            continue
        created = datetime.fromtimestamp(welcome.get("created", 0)).strftime("%m/%d/%Y %I:%M:%S %p")
        state = "Attached" if welcome.get("attached") else "Detached"
        windows = welcome.get("windows", 0)
        rows.append(f"\t{path.name}\t({created})\t({state})\t{windows} window{'s' if windows != 1 else ''}")
    if rows:
        print("There is a session on:" if len(rows) == 1 else "There are sessions on:")
        print("\n".join(rows))
    for name in removed:
        print(f"\t{name}\t(Dead ???)\nRemoved {name}: its server is gone.")
    if not rows:
        print(f"No Sockets found in {directory}.")
        return 1
    print(f"{len(rows)} Socket{'s' if len(rows) != 1 else ''} in {directory}.")
    return 0


def _socket_is_dead(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


def _session_states(directory: Path, candidates: list[Path]) -> list[tuple[Path, dict]]:
    states = []
    for path in candidates:
        _, welcome = _describe(directory, path)
        if welcome is not None:
            states.append((path, welcome))
        elif _socket_is_dead(path):
            path.unlink(missing_ok=True)
    return states


def reattach(directory: Path, name: str | None, args: argparse.Namespace, multi: bool) -> int:
    states = _session_states(directory, match_sessions(directory, name))
    if not multi and not args.detach:
        detached = [(p, w) for p, w in states if not w.get("attached")]
        if name is None:
            states = detached
    if not states:
        if name:
            print(f"There is no session to be resumed matching {name}.", file=sys.stderr)
        else:
            print("There is no session to be resumed.", file=sys.stderr)
        return 1
    if len(states) > 1:
        print("There are several suitable sessions on:", file=sys.stderr)
        for path, welcome in states:
            state = "Attached" if welcome.get("attached") else "Detached"
            print(f"\t{path.name}\t({state})", file=sys.stderr)
        print("Type \"hascreen [-d] -r [pid.]name\" to resume one of them.", file=sys.stderr)
        return 1
    path, welcome = states[0]
    mode = "multi" if multi else "attach"
    return attach(path, welcome.get("session", path.name), mode, detach_others=args.detach, args=args)


def remote_detach(directory: Path, name: str | None) -> int:
    matches = match_sessions(directory, name)
    if len(matches) != 1:
        print(f"hascreen -d: {'no' if not matches else 'several'} sessions match {name or '(any)'}",
              file=sys.stderr)
        return 1
    try:
        asyncio.run(control_session(matches[0], [("detach", [])]))
    except ControlError as exc:
        print(f"hascreen: {exc}", file=sys.stderr)
        return 1
    print(f"[{matches[0].name} detached.]")
    return 0


def remote_command(directory: Path, args: argparse.Namespace) -> int:
    rest = list(args.rest)
    name = args.session
    if name is None:
        if not rest:
            print("hascreen -X: usage: hascreen -X NAME COMMAND [ARGS]", file=sys.stderr)
            return 2
        name = rest.pop(0)
    if not rest:
        print("hascreen -X: no command given", file=sys.stderr)
        return 2
    matches = match_sessions(directory, name)
    if len(matches) != 1:
        print(f"hascreen -X: {'no' if not matches else 'several'} sessions match {name}", file=sys.stderr)
        return 1
    try:
        result = asyncio.run(control_session(matches[0], [(rest[0], rest[1:])], timeout=30.0))
    except ControlError as exc:
        print(f"hascreen: {exc}", file=sys.stderr)
        return 1
    reply = result.results[0]
    if reply.get("message"):
        print(reply["message"], file=sys.stdout if reply.get("ok") else sys.stderr)
    return 0 if reply.get("ok") else 1


def _default_session_name() -> str:
    try:
        tty = os.ttyname(0).replace("/dev/", "").replace("/", "-")
    except OSError:
        tty = "notty"
    return f"{tty}.{socket.gethostname().split('.')[0]}"


def start_server(directory: Path, name: str, shell: list[str], initial: list[str],
                 hosts: Path | None = None, scrollback: int | None = None,
                 env_extra: dict[str, str] | None = None) -> Path:
    """Start a detached server process and wait until its socket answers."""
    if not valid_session_name(name):
        raise SystemExit(f"hascreen: invalid session name {name!r}")
    live = [p for p in session_sockets(directory)
            if p.name.split(".", 1)[-1] == name and not _socket_is_dead(p)]
    if live:
        raise SystemExit(f"hascreen: a session named {name} already exists ({live[0].name}); "
                         f"use -r or -x to attach to it")
    command = [sys.executable, "-m", "tui.server", "--session", name, "--socket-dir", str(directory)]
    log_path = directory / f".{name}.log"
    command += ["--log", str(log_path), "--initial", json.dumps(initial)]
    if hosts:
        command += ["--hosts", str(hosts.resolve())]
    if scrollback:
        command += ["--scrollback", str(scrollback)]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [*command, "--", *shell], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file,
            start_new_session=True, close_fds=True, env={**os.environ, **(env_extra or {})},
        )
    # the server names its socket PID.NAME, as screen does
    final = directory / socket_name(process.pid, name)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if final.exists():
            return final
        if process.poll() is not None:
            raise SystemExit(f"hascreen: the server exited at start (status {process.returncode}); "
                             f"see {log_path}")
        time.sleep(0.02)
    process.kill()
    raise SystemExit(f"hascreen: the server did not start within {SERVER_START_TIMEOUT:.0f} s; see {log_path}")


def new_session(directory: Path, args: argparse.Namespace) -> int:
    name = args.session or _default_session_name()
    shell = [arg for arg in args.rest if arg != "--"]
    # everything is checked before anything starts: a bad hosts.yaml, config.yaml or keymap exits 2 with
    # every error (file:line: key: message)
    try:
        settings = _user_config()
        hosts = _checked_hosts_file(args.hosts)
        keymap = None if args.detached_start else _load_keymap(args, settings)
    except ConfigErrors as exc:
        print(exc, file=sys.stderr)
        return 2
    server_env = {}
    if settings.health.interval:
        server_env["HASCREEN_HEALTH_INTERVAL"] = str(settings.health.interval)
    if settings.health.bell:
        server_env["HASCREEN_HEALTH_BELL"] = "1"
    path = start_server(directory, name, shell, [], hosts=hosts, scrollback=args.scrollback or settings.scrollback,
                        env_extra=server_env)
    if args.detached_start:
        return 0
    return attach(path, name, "new", detach_others=False, args=args, keymap=keymap)


def _user_config():
    from tui.config.user_config import load_user_config

    return load_user_config()


def _checked_hosts_file(explicit: Path | None) -> Path | None:
    """The hosts.yaml the lookup order finds, validated (ConfigErrors lists every problem)."""
    from tui.config.hosts import load_hosts
    from tui.config.paths import find_hosts_file

    path = find_hosts_file(explicit)
    if path is not None:
        try:
            load_hosts(path)
        except OSError as exc:
            raise SystemExit(f"hascreen: cannot read {path}: {exc.strerror}") from None
    return path


def _load_keymap(args: argparse.Namespace | None, settings=None):
    """--keymap, else $HASCREEN_KEYMAP, else config.yaml's keymap; its `scroll:` overrides the keymap's."""
    import dataclasses

    from tui.commands import COMMANDS
    from tui.config.keymap import load_keymap
    from tui.config.paths import user_keymap_file

    settings = settings or _user_config()
    name = (getattr(args, "keymap", None) if args else None) or os.environ.get("HASCREEN_KEYMAP") or settings.keymap
    keymap = load_keymap(name, user_file=user_keymap_file(), known_commands=COMMANDS)
    return dataclasses.replace(keymap, scroll=settings.scroll) if settings.scroll else keymap


def attach(path: Path, name: str, mode: str, detach_others: bool, args: argparse.Namespace | None,
           keymap=None) -> int:
    if not sys.stdin.isatty():
        print("hascreen: attaching needs a terminal (use -d -m to start detached)", file=sys.stderr)
        return 1
    from tui.client import run_client

    try:
        settings = _user_config()
        keymap = keymap or _load_keymap(args, settings)
    except ConfigErrors as exc:
        print(exc, file=sys.stderr)
        return 2
    return run_client(path, keymap=keymap, mode=mode, session=name, detach_others=detach_others,
                      health_panel=settings.health.panel, health_show=settings.health.show,
                      startup_message=settings.startup_message)


# ---- subcommands ----------------------------------------------------------------------------------------


def run_subcommand(name: str, argv: list[str]) -> int:
    if name == "lab":
        from tui.lab.cli import main as lab_main

        if argv[:1] == ["demo"]:
            return lab_demo(argv[1:])
        return lab_main(argv)
    if name == "check-config":
        from tui.ops import check_config

        return check_config(argv)
    if name == "health":
        from tui.ops import health_command

        return health_command(argv)
    if name == "run":
        from tui.ops import run_command

        return run_command(argv)
    if name == "attach":
        return attach_via(argv)
    if name == "passwd":
        from tui.auth.passphrase import passwd_command

        return passwd_command(argv)
    return 2


def attach_via(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hascreen attach")
    parser.add_argument("--via", required=True, metavar="USER@HOST")
    parser.add_argument("session", nargs="?")
    args = parser.parse_args(argv)
    remote = ["hascreen", "-r"] + ([args.session] if args.session else [])
    # ssh -t gives the remote hascreen a terminal; the session never leaves the remote server
    return subprocess.call(["ssh", "-t", args.via, "--", *remote])


def lab_demo(argv: list[str]) -> int:
    """`hascreen lab demo`: bring the lab up and open the console on it, a window per node and the health
    panel shown. Without root or namespaces it says exactly why and opens local shells instead."""
    from tui.lab.cli import main as lab_main
    from tui.lab.layout import LabDir, lab_dir_from_env
    from tui.ops import lab_unavailable_reason

    parser = argparse.ArgumentParser(prog="hascreen lab demo")
    parser.add_argument("--profile", choices=("keepalived", "heartbeat", "pacemaker"), default="keepalived")
    parser.add_argument("--keymap")
    parser.add_argument("-S", dest="session", default="lab")
    args = parser.parse_args(argv)
    directory = ensure_socket_dir()
    reason = lab_unavailable_reason()
    if reason is not None:
        print(f"hascreen: no lab: {reason}. Opening local shells instead.", file=sys.stderr)
        return main(["-S", f"{args.session}-local"])
    existing = [p for p in session_sockets(directory) if p.name.split(".", 1)[-1] == args.session]
    live = [p for p in existing if not _socket_is_dead(p)]
    if live:
        print(f"hascreen: joining the running lab session {live[0].name}", file=sys.stderr)
        return attach(live[0], args.session, "multi", detach_others=False, args=args)
    status = lab_main(["up", "--profile", args.profile])
    if status != 0:
        print("hascreen: the lab did not come up (see above). Opening local shells instead.", file=sys.stderr)
        return main(["-S", f"{args.session}-local"])
    hosts = LabDir(lab_dir_from_env()).hosts_yaml
    path = start_server(directory, args.session, [], ["open-cluster db"], hosts=hosts)
    return attach(path, args.session, "new", detach_others=False, args=args)
